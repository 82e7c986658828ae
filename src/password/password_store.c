/*  password_store.c - PasswordService's table; see password_store.h. */
#include "password_store.h"

#include <string.h>

const secpol_table_t secpol_password_account_table = {"password_account"};

size_t
secpol_password_key (uint8_t key[SECPOL_PASSWORD_KEY_MAX], const char *workspace_id,
                     const char *subject_id)
{
    size_t ws = strlen (workspace_id), subject = strlen (subject_id);
    key[0] = (uint8_t)ws;
    memcpy (key + 1, workspace_id, ws);
    memcpy (key + 1 + ws, subject_id, subject);
    return 1 + ws + subject;
}

int
secpol_password_account_load (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                              const char *subject_id,
                              Secpol__Store__V1__PasswordAccount **account_p)
{
    uint8_t key[SECPOL_PASSWORD_KEY_MAX];
    secpol_val_t value;
    int rc = secpol_get (txn, &secpol_password_account_table, key,
                         secpol_password_key (key, workspace_id, subject_id), &value);
    if (rc == SECPOL_ENOTFOUND) {
        *account_p = (Secpol__Store__V1__PasswordAccount *)secpol_arena_message (
            arena, &secpol__store__v1__password_account__descriptor);
        return 0;
    }
    if (rc)
        return rc;
    /* unpacked into the arena: value dies with the transaction */
    *account_p = secpol__store__v1__password_account__unpack (secpol_arena_allocator (arena),
                                                              value.size, value.data);
    return *account_p ? 0 : SECPOL_ECORRUPT;
}

int
secpol_password_account_save (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                              const char *subject_id,
                              const Secpol__Store__V1__PasswordAccount *account)
{
    size_t size = secpol__store__v1__password_account__get_packed_size (account);
    uint8_t *value = secpol_arena_alloc (arena, size ? size : 1);
    secpol__store__v1__password_account__pack (account, value);
    uint8_t key[SECPOL_PASSWORD_KEY_MAX];
    return secpol_put (txn, &secpol_password_account_table, key,
                       secpol_password_key (key, workspace_id, subject_id), value, size);
}
