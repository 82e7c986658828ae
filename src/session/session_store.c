/*  session_store.c - SessionService's tables; see session_store.h.
 *
 *  The index value is the session's token hash followed by its end time
 *  (big-endian u64, 0 = never), so that revoking a subject's sessions
 *  removes their expiry entries without decoding a record.
 */
#include "session_store.h"

#include "expiry.h"

#include <string.h>

const secpol_table_t secpol_session_table = {"session"};
const secpol_table_t secpol_session_subject_table = {"session_subject"};

#define INDEX_VALUE_SIZE (SECPOL_SECRET_TOKEN_HASH + 8)

static void s_put_be64 (uint8_t *out, uint64_t value);
static uint64_t s_get_be64 (const uint8_t *in);
static int s_forget (secpol_txn_t *txn, const uint8_t *hash, const uint8_t *index_key,
                     size_t index_key_size, int64_t ends_at);

int64_t
secpol_session_ends_at (const Secpol__Store__V1__SessionRecord *record)
{
    int64_t idle = record->idle_expires_at, absolute = record->expires_at;
    if (idle > 0 && absolute > 0)
        return idle < absolute ? idle : absolute;
    return idle > 0 ? idle : absolute > 0 ? absolute : 0;
}

bool
secpol_session_ended (const Secpol__Store__V1__SessionRecord *record, int64_t now)
{
    int64_t ends_at = secpol_session_ends_at (record);
    return ends_at > 0 && ends_at <= now;
}

size_t
secpol_session_subject_prefix (uint8_t key[SECPOL_SESSION_PREFIX_MAX], const char *workspace_id,
                               const char *subject_id)
{
    size_t ws = strlen (workspace_id), subject = strlen (subject_id);
    key[0] = (uint8_t)ws;
    memcpy (key + 1, workspace_id, ws);
    key[1 + ws] = (uint8_t)subject;
    memcpy (key + 2 + ws, subject_id, subject);
    return 2 + ws + subject;
}

size_t
secpol_session_index_key (uint8_t key[SECPOL_SESSION_INDEX_KEY_MAX],
                          const Secpol__Store__V1__SessionRecord *record)
{
    if (!record->workspace_id || !record->subject_id ||
        strnlen (record->workspace_id, SECPOL_SESSION_ID_MAX + 1) > SECPOL_SESSION_ID_MAX ||
        strnlen (record->subject_id, SECPOL_SESSION_ID_MAX + 1) > SECPOL_SESSION_ID_MAX ||
        record->session_id.len != SECPOL_SESSION_ID_BYTES)
        return 0;
    size_t size = secpol_session_subject_prefix (key, record->workspace_id, record->subject_id);
    s_put_be64 (key + size, (uint64_t)record->created_at);
    memcpy (key + size + 8, record->session_id.data, SECPOL_SESSION_ID_BYTES);
    return size + 8 + SECPOL_SESSION_ID_BYTES;
}

int
secpol_session_load (secpol_txn_t *txn, secpol_arena_t *arena,
                     const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                     Secpol__Store__V1__SessionRecord **record_p)
{
    secpol_val_t value;
    int rc = secpol_get (txn, &secpol_session_table, hash, SECPOL_SECRET_TOKEN_HASH, &value);
    if (rc)
        return rc;
    Secpol__Store__V1__SessionRecord *record = secpol__store__v1__session_record__unpack (
        secpol_arena_allocator (arena), value.size, value.data);
    if (!record || record->session_id.len != SECPOL_SESSION_ID_BYTES)
        return SECPOL_ECORRUPT;
    *record_p = record;
    return 0;
}

int
secpol_session_save (secpol_txn_t *txn, secpol_arena_t *arena,
                     const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                     const Secpol__Store__V1__SessionRecord *record,
                     const Secpol__Store__V1__SessionRecord *old)
{
    uint8_t index_key[SECPOL_SESSION_INDEX_KEY_MAX];
    size_t index_key_size = secpol_session_index_key (index_key, record);
    if (!index_key_size)
        return SECPOL_EINVAL;
    size_t size = secpol__store__v1__session_record__get_packed_size (record);
    uint8_t *packed = secpol_arena_alloc (arena, size ? size : 1);
    secpol__store__v1__session_record__pack (record, packed);
    int rc = secpol_put (txn, &secpol_session_table, hash, SECPOL_SECRET_TOKEN_HASH, packed, size);
    if (rc)
        return rc;
    int64_t ends_at = secpol_session_ends_at (record);
    uint8_t index_value[INDEX_VALUE_SIZE];
    memcpy (index_value, hash, SECPOL_SECRET_TOKEN_HASH);
    s_put_be64 (index_value + SECPOL_SECRET_TOKEN_HASH, (uint64_t)ends_at);
    rc = secpol_put (txn, &secpol_session_subject_table, index_key, index_key_size, index_value,
                     sizeof index_value);
    if (rc)
        return rc;
    int64_t old_ends_at = old ? secpol_session_ends_at (old) : 0;
    rc = secpol_expiry_move (txn, &secpol_session_table, hash, SECPOL_SECRET_TOKEN_HASH,
                             old_ends_at, ends_at);
    if (!rc)
        rc = secpol_expiry_move (txn, &secpol_session_subject_table, index_key, index_key_size,
                                 old_ends_at, ends_at);
    return rc;
}

int
secpol_session_delete (secpol_txn_t *txn, const uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                       const Secpol__Store__V1__SessionRecord *record)
{
    uint8_t index_key[SECPOL_SESSION_INDEX_KEY_MAX];
    size_t index_key_size = secpol_session_index_key (index_key, record);
    if (!index_key_size)
        return SECPOL_EINVAL;
    int rc = secpol_del (txn, &secpol_session_subject_table, index_key, index_key_size);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    return s_forget (txn, hash, index_key, index_key_size, secpol_session_ends_at (record));
}

int
secpol_session_revoke_all (secpol_txn_t *txn, const char *workspace_id, const char *subject_id,
                           const void *except_session_hash, uint32_t *revoked)
{
    return secpol_session_revoke_all_at (txn, workspace_id, subject_id, except_session_hash, 0,
                                         revoked);
}

int
secpol_session_revoke_all_at (secpol_txn_t *txn, const char *workspace_id, const char *subject_id,
                              const void *except_session_hash, int64_t now, uint32_t *revoked)
{
    if (revoked)
        *revoked = 0;
    if (!workspace_id || !subject_id || !*workspace_id || !*subject_id ||
        strnlen (workspace_id, SECPOL_SESSION_ID_MAX + 1) > SECPOL_SESSION_ID_MAX ||
        strnlen (subject_id, SECPOL_SESSION_ID_MAX + 1) > SECPOL_SESSION_ID_MAX)
        return SECPOL_EINVAL;
    uint8_t prefix[SECPOL_SESSION_PREFIX_MAX];
    size_t prefix_size = secpol_session_subject_prefix (prefix, workspace_id, subject_id);
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_session_subject_table, &cursor);
    if (rc)
        return rc;
    uint8_t key[SECPOL_SESSION_INDEX_KEY_MAX + 1]; /* + 1: the byte that seeks past a key */
    size_t key_size = prefix_size;
    memcpy (key, prefix, prefix_size);
    uint32_t count = 0;
    secpol_val_t key_val, value;
    while ((rc = secpol_cursor_seek (cursor, key, key_size, &key_val, &value)) == 0) {
        if (!secpol_val_has_prefix (key_val, prefix, prefix_size))
            break;
        if (key_val.size > SECPOL_SESSION_INDEX_KEY_MAX || value.size != INDEX_VALUE_SIZE) {
            rc = SECPOL_ECORRUPT;
            break;
        }
        /* copy out: the cursor's bytes die with the next write to this table */
        key_size = key_val.size;
        memcpy (key, key_val.data, key_size);
        uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
        memcpy (hash, value.data, sizeof hash);
        int64_t ends_at = (int64_t)s_get_be64 ((const uint8_t *)value.data + sizeof hash);
        if (except_session_hash && memcmp (hash, except_session_hash, sizeof hash) == 0) {
            key[key_size++] = 0; /* keep this one: the next seek starts just past it */
            continue;
        }
        if ((rc = secpol_cursor_del (cursor)))
            break;
        rc = s_forget (txn, hash, key, key_size, ends_at);
        if (rc == SECPOL_ENOTFOUND) {
            rc = 0; /* the sweep already took the record: not a live session */
            continue;
        }
        if (rc)
            break;
        if (now == 0 || ends_at == 0 || ends_at > now)
            count++;
    }
    secpol_cursor_close (&cursor);
    if (rc == SECPOL_ENOTFOUND)
        rc = 0;
    if (!rc && revoked)
        *revoked = count;
    return rc;
}

/*  Deletes a session's record and both expiry entries (its index entry is
 *  already gone). Returns SECPOL_ENOTFOUND when the record was not there
 *  (its expiry entries are removed all the same), 0 or a store error. */
static int
s_forget (secpol_txn_t *txn, const uint8_t *hash, const uint8_t *index_key, size_t index_key_size,
          int64_t ends_at)
{
    int found = secpol_del (txn, &secpol_session_table, hash, SECPOL_SECRET_TOKEN_HASH);
    if (found && found != SECPOL_ENOTFOUND)
        return found;
    int rc =
        secpol_expiry_remove (txn, &secpol_session_table, hash, SECPOL_SECRET_TOKEN_HASH, ends_at);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    rc = secpol_expiry_remove (txn, &secpol_session_subject_table, index_key, index_key_size,
                               ends_at);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    return found;
}

static void
s_put_be64 (uint8_t *out, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(value >> (56 - 8 * i));
}

static uint64_t
s_get_be64 (const uint8_t *in)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | in[i];
    return value;
}
