/*  expiry.c - the expiry index and its sweep; see expiry.h. */
#include "expiry.h"

#include <string.h>

const secpol_table_t secpol_expiry_table = {"expiry"};

#define ENTRY_MAX (8 + 1 + SECPOL_TABLE_NAME_MAX + SECPOL_EXPIRY_KEY_MAX)

/*  Writes the index key of a record into entry; returns its length, 0 when
 *  the key or the table's name is too long. */
static size_t
s_entry (uint8_t entry[ENTRY_MAX], const secpol_table_t *table, const void *key, size_t key_size,
         int64_t expires_at)
{
    size_t name = table && table->name ? strlen (table->name) : 0;
    if (name == 0 || name > SECPOL_TABLE_NAME_MAX || key_size == 0 ||
        key_size > SECPOL_EXPIRY_KEY_MAX)
        return 0;
    uint64_t when = (uint64_t)expires_at;
    for (int i = 0; i < 8; i++)
        entry[i] = (uint8_t)(when >> (56 - 8 * i));
    entry[8] = (uint8_t)name;
    memcpy (entry + 9, table->name, name);
    memcpy (entry + 9 + name, key, key_size);
    return 9 + name + key_size;
}

int
secpol_expiry_add (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size,
                   int64_t expires_at)
{
    if (expires_at <= 0)
        return 0;
    uint8_t entry[ENTRY_MAX];
    size_t size = s_entry (entry, table, key, key_size, expires_at);
    if (!size)
        return SECPOL_EINVAL;
    return secpol_put (txn, &secpol_expiry_table, entry, size, "", 0);
}

int
secpol_expiry_remove (secpol_txn_t *txn, const secpol_table_t *table, const void *key,
                      size_t key_size, int64_t expires_at)
{
    if (expires_at <= 0)
        return 0;
    uint8_t entry[ENTRY_MAX];
    size_t size = s_entry (entry, table, key, key_size, expires_at);
    if (!size)
        return SECPOL_EINVAL;
    return secpol_del (txn, &secpol_expiry_table, entry, size);
}

int
secpol_expiry_move (secpol_txn_t *txn, const secpol_table_t *table, const void *key,
                    size_t key_size, int64_t old_expires_at, int64_t new_expires_at)
{
    if (old_expires_at == new_expires_at)
        return 0;
    int rc = secpol_expiry_remove (txn, table, key, key_size, old_expires_at);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    return secpol_expiry_add (txn, table, key, key_size, new_expires_at);
}

int
secpol_expiry_sweep (secpol_txn_t *txn, int64_t now, size_t budget, size_t *deleted, bool *more)
{
    *deleted = 0;
    *more = false;
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_expiry_table, &cursor);
    if (rc)
        return rc;
    secpol_val_t entry;
    rc = secpol_cursor_seek (cursor, NULL, 0, &entry, NULL);
    while (rc == 0) {
        const uint8_t *p = entry.data;
        uint64_t when = 0;
        for (int i = 0; entry.size >= 9 && i < 8; i++)
            when = when << 8 | p[i];
        if (entry.size >= 9 && (int64_t)when > now)
            break; /* ordered by time: the rest expire later */
        if (*deleted == budget) {
            *more = true;
            break;
        }
        size_t name = entry.size >= 9 ? p[8] : 0;
        if (entry.size > 9 + name) {
            const secpol_table_t *table = secpol_txn_table_named (txn, (const char *)p + 9, name);
            if (table) {
                rc = secpol_del (txn, table, p + 9 + name, entry.size - 9 - name);
                if (rc && rc != SECPOL_ENOTFOUND)
                    break;
            }
        }
        if ((rc = secpol_cursor_del (cursor)))
            break;
        ++*deleted;
        /* after a delete the cursor stands on the next entry */
        rc = secpol_cursor_seek (cursor, NULL, 0, &entry, NULL);
    }
    secpol_cursor_close (&cursor);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}
