/*  otp_store.c - OtpService's tables, keys and code hashes; see otp_store.h. */
#include "otp_store.h"

#include "expiry.h"
#include "keys.h"

#include <sodium.h>
#include <string.h>

const secpol_table_t secpol_otp_email_table = {"otp_email"};

static int64_t
s_sweep_at (int64_t expires_at)
{
    return expires_at ? expires_at + SECPOL_OTP_EMAIL_KEPT : 0;
}

size_t
secpol_otp_key (uint8_t key[SECPOL_OTP_KEY_MAX], const char *workspace_id, const char *subject_id,
                const char *purpose)
{
    size_t ws = strlen (workspace_id), subject = strlen (subject_id), rest = strlen (purpose);
    key[0] = (uint8_t)ws;
    memcpy (key + 1, workspace_id, ws);
    key[1 + ws] = (uint8_t)subject;
    memcpy (key + 2 + ws, subject_id, subject);
    memcpy (key + 2 + ws + subject, purpose, rest);
    return 2 + ws + subject + rest;
}

void
secpol_otp_code_hash (uint8_t out[SECPOL_OTP_HASH_BYTES], secpol_store_t *store, const char *domain,
                      const uint8_t *key, size_t key_size, const char *code)
{
    uint8_t mac_key[SECPOL_KEY_BYTES];
    secpol_store_key (store, mac_key, SECPOL_KEY_OTP_MAC, 1);
    crypto_generichash_state state;
    crypto_generichash_init (&state, mac_key, sizeof mac_key, SECPOL_OTP_HASH_BYTES);
    /* each part with its length (domain with its NUL), so no two inputs run together */
    uint8_t size = (uint8_t)key_size;
    crypto_generichash_update (&state, (const unsigned char *)domain, strlen (domain) + 1);
    crypto_generichash_update (&state, &size, 1);
    crypto_generichash_update (&state, key, key_size);
    crypto_generichash_update (&state, (const unsigned char *)code, strlen (code));
    crypto_generichash_final (&state, out, SECPOL_OTP_HASH_BYTES);
    sodium_memzero (&state, sizeof state);
    sodium_memzero (mac_key, sizeof mac_key);
}

int
secpol_otp_email_load (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                       size_t key_size, Secpol__Store__V1__EmailOtpRecord **record_p)
{
    secpol_val_t value;
    int rc = secpol_get (txn, &secpol_otp_email_table, key, key_size, &value);
    if (rc)
        return rc;
    Secpol__Store__V1__EmailOtpRecord *record = secpol__store__v1__email_otp_record__unpack (
        secpol_arena_allocator (arena), value.size, value.data);
    if (!record || (record->code_hash.len != SECPOL_OTP_HASH_BYTES && !record->burned))
        return SECPOL_ECORRUPT;
    *record_p = record;
    return 0;
}

int
secpol_otp_email_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                       size_t key_size, const Secpol__Store__V1__EmailOtpRecord *record,
                       const Secpol__Store__V1__EmailOtpRecord *old)
{
    size_t size = secpol__store__v1__email_otp_record__get_packed_size (record);
    uint8_t *packed = secpol_arena_alloc (arena, size ? size : 1);
    secpol__store__v1__email_otp_record__pack (record, packed);
    int rc = secpol_put (txn, &secpol_otp_email_table, key, key_size, packed, size);
    if (rc)
        return rc;
    return secpol_expiry_move (txn, &secpol_otp_email_table, key, key_size,
                               old ? s_sweep_at (old->expires_at) : 0,
                               s_sweep_at (record->expires_at));
}

int
secpol_otp_email_delete (secpol_txn_t *txn, const uint8_t *key, size_t key_size,
                         const Secpol__Store__V1__EmailOtpRecord *record)
{
    int rc = secpol_del (txn, &secpol_otp_email_table, key, key_size);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    rc = secpol_expiry_remove (txn, &secpol_otp_email_table, key, key_size,
                               s_sweep_at (record->expires_at));
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}
