/*  token_store.c - TokenService's tables; see token_store.h. */
#include "token_store.h"

#include "expiry.h"

#include <string.h>

const secpol_table_t secpol_token_table = {"token"};
const secpol_table_t secpol_token_subject_table = {"token_subject"};

#define INDEX_VALUE_SIZE 8 /* be64 expires_at */

static bool s_id_fits (const char *id);
static size_t s_index_key (uint8_t key[SECPOL_TOKEN_INDEX_KEY_MAX], const char *workspace_id,
                           const char *subject_id, int kind,
                           const uint8_t hash[SECPOL_SECRET_TOKEN_HASH]);
static int s_forget (secpol_txn_t *txn, const uint8_t *hash, const uint8_t *index_key,
                     size_t index_key_size, int64_t expires_at);
static int s_drop_index_entry (secpol_txn_t *txn, secpol_cursor_t *cursor, secpol_val_t *key,
                               secpol_val_t *value, int64_t now, uint32_t *revoked);
static int64_t s_entry_expires_at (secpol_val_t value);
static int s_scan (secpol_txn_t *txn, const uint8_t *prefix, size_t prefix_size,
                   secpol_cursor_t **cursor_p, secpol_val_t *key, secpol_val_t *value);

bool
secpol_token_expired (int64_t expires_at, int64_t now)
{
    return expires_at > 0 && expires_at <= now;
}

int64_t
secpol_token_sweep_at (int64_t expires_at)
{
    if (expires_at <= 0)
        return 0;
    return expires_at > INT64_MAX - SECPOL_TOKEN_EXPIRED_KEPT
               ? INT64_MAX
               : expires_at + SECPOL_TOKEN_EXPIRED_KEPT;
}

size_t
secpol_token_subject_prefix (uint8_t key[SECPOL_TOKEN_PREFIX_KEY_MAX], const char *workspace_id,
                             const char *subject_id, int kind)
{
    size_t ws = strnlen (workspace_id, SECPOL_TOKEN_ID_MAX);
    size_t subject = strnlen (subject_id, SECPOL_TOKEN_ID_MAX);
    size_t n = 0;
    key[n++] = (uint8_t)ws;
    memcpy (key + n, workspace_id, ws);
    n += ws;
    key[n++] = (uint8_t)subject;
    memcpy (key + n, subject_id, subject);
    n += subject;
    if (kind)
        key[n++] = (uint8_t)kind;
    return n;
}

int
secpol_token_load (secpol_txn_t *txn, secpol_arena_t *arena,
                   const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                   Secpol__Store__V1__TokenRecord **record_p)
{
    secpol_val_t value;
    int rc = secpol_get (txn, &secpol_token_table, hash, SECPOL_SECRET_TOKEN_HASH, &value);
    if (rc)
        return rc;
    Secpol__Store__V1__TokenRecord *record = secpol__store__v1__token_record__unpack (
        secpol_arena_allocator (arena), value.size, value.data);
    if (!record || !s_id_fits (record->workspace_id) || !s_id_fits (record->community_id) ||
        !s_id_fits (record->subject_id) || record->kind < 1 || record->kind > 255)
        return SECPOL_ECORRUPT;
    *record_p = record;
    return 0;
}

int
secpol_token_save (secpol_txn_t *txn, secpol_arena_t *arena,
                   const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                   const Secpol__Store__V1__TokenRecord *record, bool is_new)
{
    if (!s_id_fits (record->workspace_id) || !s_id_fits (record->community_id) ||
        !s_id_fits (record->subject_id) || record->kind < 1 || record->kind > 255)
        return SECPOL_EINVAL;
    size_t size = secpol__store__v1__token_record__get_packed_size (record);
    uint8_t *packed = secpol_arena_alloc (arena, size ? size : 1);
    secpol__store__v1__token_record__pack (record, packed);
    int rc = secpol_put (txn, &secpol_token_table, hash, SECPOL_SECRET_TOKEN_HASH, packed, size);
    if (rc || !is_new)
        return rc;
    uint8_t key[SECPOL_TOKEN_INDEX_KEY_MAX], value[INDEX_VALUE_SIZE];
    size_t key_size =
        s_index_key (key, record->workspace_id, record->subject_id, record->kind, hash);
    uint64_t expires_at = (uint64_t)(record->expires_at > 0 ? record->expires_at : 0);
    for (int i = 0; i < 8; i++)
        value[i] = (uint8_t)(expires_at >> (56 - 8 * i));
    int64_t sweep_at = secpol_token_sweep_at (record->expires_at);
    rc = secpol_put (txn, &secpol_token_subject_table, key, key_size, value, sizeof value);
    if (rc == 0)
        rc = secpol_expiry_add (txn, &secpol_token_table, hash, SECPOL_SECRET_TOKEN_HASH, sweep_at);
    if (rc == 0)
        rc = secpol_expiry_add (txn, &secpol_token_subject_table, key, key_size, sweep_at);
    return rc;
}

int
secpol_token_delete (secpol_txn_t *txn, const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                     const Secpol__Store__V1__TokenRecord *record)
{
    if (!s_id_fits (record->workspace_id) || !s_id_fits (record->subject_id) || record->kind < 1 ||
        record->kind > 255)
        return SECPOL_EINVAL;
    uint8_t key[SECPOL_TOKEN_INDEX_KEY_MAX];
    size_t key_size =
        s_index_key (key, record->workspace_id, record->subject_id, record->kind, hash);
    int rc = secpol_del (txn, &secpol_token_subject_table, key, key_size);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    return s_forget (txn, hash, key, key_size, record->expires_at);
}

int
secpol_token_revoke (secpol_txn_t *txn, const char *workspace_id, const char *subject_id, int kind,
                     int64_t now, const uint8_t *except_hash, uint32_t *revoked)
{
    uint32_t count = 0;
    uint8_t prefix[SECPOL_TOKEN_PREFIX_KEY_MAX];
    size_t prefix_size = secpol_token_subject_prefix (prefix, workspace_id, subject_id, kind);
    secpol_cursor_t *cursor = NULL;
    secpol_val_t key, value;
    int rc = s_scan (txn, prefix, prefix_size, &cursor, &key, &value);
    while (rc == 0 && secpol_val_has_prefix (key, prefix, prefix_size)) {
        /* the hash ends every index key */
        const uint8_t *hash = (const uint8_t *)key.data + key.size - SECPOL_SECRET_TOKEN_HASH;
        if (key.size >= prefix_size + SECPOL_SECRET_TOKEN_HASH && except_hash &&
            memcmp (hash, except_hash, SECPOL_SECRET_TOKEN_HASH) == 0) {
            rc = secpol_cursor_next (cursor, &key, &value);
            continue;
        }
        rc = s_drop_index_entry (txn, cursor, &key, &value, now, &count);
    }
    secpol_cursor_close (&cursor);
    if (revoked)
        *revoked = count;
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}

int
secpol_token_make_room (secpol_txn_t *txn, const char *workspace_id, const char *subject_id,
                        int kind, int64_t now, uint32_t max, uint32_t *revoked)
{
    *revoked = 0;
    uint8_t prefix[SECPOL_TOKEN_PREFIX_KEY_MAX];
    size_t prefix_size = secpol_token_subject_prefix (prefix, workspace_id, subject_id, kind);
    secpol_cursor_t *cursor = NULL;
    secpol_val_t key, value;
    int rc = s_scan (txn, prefix, prefix_size, &cursor, &key, &value);
    uint32_t count = 0;
    uint8_t first[SECPOL_TOKEN_INDEX_KEY_MAX]; /* the entry that expires first */
    size_t first_size = 0;
    uint64_t first_at = UINT64_MAX;
    while (rc == 0 && secpol_val_has_prefix (key, prefix, prefix_size)) {
        count++;
        int64_t expires_at = s_entry_expires_at (value);
        uint64_t at = expires_at > 0 ? (uint64_t)expires_at : UINT64_MAX; /* 0 = never */
        if ((first_size == 0 || at < first_at) && key.size <= sizeof first) {
            memcpy (first, key.data, key.size);
            first_size = key.size;
            first_at = at;
        }
        rc = secpol_cursor_next (cursor, &key, &value);
    }
    if (rc == SECPOL_ENOTFOUND)
        rc = 0;
    if (rc == 0 && count >= max && first_size) {
        rc = secpol_cursor_seek (cursor, first, first_size, &key, &value);
        if (rc == 0)
            rc = s_drop_index_entry (txn, cursor, &key, &value, now, revoked);
        if (rc == SECPOL_ENOTFOUND)
            rc = 0;
    }
    secpol_cursor_close (&cursor);
    return rc;
}

/* --- helpers --------------------------------------------------------------------------- */

static bool
s_id_fits (const char *id)
{
    return id && strnlen (id, SECPOL_TOKEN_ID_MAX + 1) <= SECPOL_TOKEN_ID_MAX;
}

static size_t
s_index_key (uint8_t key[SECPOL_TOKEN_INDEX_KEY_MAX], const char *workspace_id,
             const char *subject_id, int kind, const uint8_t hash[SECPOL_SECRET_TOKEN_HASH])
{
    size_t size = secpol_token_subject_prefix (key, workspace_id, subject_id, kind);
    memcpy (key + size, hash, SECPOL_SECRET_TOKEN_HASH);
    return size + SECPOL_SECRET_TOKEN_HASH;
}

/*  Deletes what a token has besides its index entry: the record and both
 *  expiry entries. Entries already gone are no error. */
static int
s_forget (secpol_txn_t *txn, const uint8_t *hash, const uint8_t *index_key, size_t index_key_size,
          int64_t expires_at)
{
    int64_t sweep_at = secpol_token_sweep_at (expires_at);
    int rc = secpol_del (txn, &secpol_token_table, hash, SECPOL_SECRET_TOKEN_HASH);
    if (rc == 0 || rc == SECPOL_ENOTFOUND)
        rc = secpol_expiry_remove (txn, &secpol_token_table, hash, SECPOL_SECRET_TOKEN_HASH,
                                   sweep_at);
    if (rc == 0 || rc == SECPOL_ENOTFOUND)
        rc = secpol_expiry_remove (txn, &secpol_token_subject_table, index_key, index_key_size,
                                   sweep_at);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}

/*  Deletes the token of the index entry under the cursor (*key, *value),
 *  counting it in *revoked when it had not expired at now, and leaves the
 *  cursor on the entry after it, which *key and *value then describe.
 *  Returns 0, SECPOL_ENOTFOUND past the table's end, or a store error. */
static int
s_drop_index_entry (secpol_txn_t *txn, secpol_cursor_t *cursor, secpol_val_t *key,
                    secpol_val_t *value, int64_t now, uint32_t *revoked)
{
    /* key and value point into the table: copy before writing to it */
    uint8_t copy[SECPOL_TOKEN_INDEX_KEY_MAX];
    if (key->size < SECPOL_SECRET_TOKEN_HASH || key->size > sizeof copy)
        return SECPOL_ECORRUPT;
    size_t size = key->size;
    memcpy (copy, key->data, size);
    int64_t expires_at = s_entry_expires_at (*value);
    int rc = secpol_cursor_del (cursor);
    if (rc == 0)
        rc = s_forget (txn, copy + size - SECPOL_SECRET_TOKEN_HASH, copy, size, expires_at);
    if (rc)
        return rc;
    if (!secpol_token_expired (expires_at, now))
        ++*revoked;
    /* after a delete, the first key past the deleted one is the next entry */
    return secpol_cursor_seek (cursor, copy, size, key, value);
}

/*  Opens a cursor on the index at the first key >= prefix (into *key and
 *  *value). Returns 0, SECPOL_ENOTFOUND past the end, or a store error;
 *  *cursor_p is set whenever it was opened (close it in every case). */
static int
s_scan (secpol_txn_t *txn, const uint8_t *prefix, size_t prefix_size, secpol_cursor_t **cursor_p,
        secpol_val_t *key, secpol_val_t *value)
{
    int rc = secpol_cursor_open (txn, &secpol_token_subject_table, cursor_p);
    return rc ? rc : secpol_cursor_seek (*cursor_p, prefix, prefix_size, key, value);
}

static int64_t
s_entry_expires_at (secpol_val_t value)
{
    if (value.size != INDEX_VALUE_SIZE)
        return 0;
    const uint8_t *p = value.data;
    uint64_t when = 0;
    for (int i = 0; i < 8; i++)
        when = when << 8 | p[i];
    return when > INT64_MAX ? INT64_MAX : (int64_t)when;
}
