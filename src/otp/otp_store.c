/*  otp_store.c - OtpService's tables, keys and code hashes; see otp_store.h. */
#include "otp_store.h"

#include "expiry.h"
#include "keys.h"
#include "otp_codes.h"

#include <sodium.h>
#include <string.h>

const secpol_table_t secpol_otp_email_table = {"otp_email"};
const secpol_table_t secpol_otp_totp_table = {"otp_totp"};
const secpol_table_t secpol_otp_totp_pending_table = {"otp_totp_pending"};

#define SEAL_SECRET_MAX 64
static const char s_seal_domain[] = "secpol.totp.v1"; /* associated data, before the key */

static void s_seal_key (secpol_store_t *store, uint8_t key[SECPOL_KEY_BYTES]);

static int64_t
s_sweep_at (int64_t expires_at)
{
    return expires_at ? expires_at + SECPOL_OTP_EMAIL_KEPT : 0;
}

/*  Loads the record of table under key into *message_p (in arena). Returns
 *  0, SECPOL_ENOTFOUND, SECPOL_ECORRUPT or a store error. */
static int
s_load (secpol_txn_t *txn, secpol_arena_t *arena, const secpol_table_t *table, const uint8_t *key,
        size_t key_size, const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **message_p)
{
    secpol_val_t value;
    int rc = secpol_get (txn, table, key, key_size, &value);
    if (rc)
        return rc;
    *message_p = protobuf_c_message_unpack (descriptor, secpol_arena_allocator (arena), value.size,
                                            value.data);
    return *message_p ? 0 : SECPOL_ECORRUPT;
}

/*  Stores message packed under key in table. Returns 0 or a store error. */
static int
s_save (secpol_txn_t *txn, secpol_arena_t *arena, const secpol_table_t *table, const uint8_t *key,
        size_t key_size, const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size (message);
    uint8_t *packed = secpol_arena_alloc (arena, size ? size : 1);
    protobuf_c_message_pack (message, packed);
    return secpol_put (txn, table, key, key_size, packed, size);
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
    Secpol__Store__V1__EmailOtpRecord *record = NULL;
    int rc =
        s_load (txn, arena, &secpol_otp_email_table, key, key_size,
                &secpol__store__v1__email_otp_record__descriptor, (ProtobufCMessage **)&record);
    if (rc)
        return rc;
    if (record->code_hash.len != SECPOL_OTP_HASH_BYTES && !record->burned)
        return SECPOL_ECORRUPT;
    *record_p = record;
    return 0;
}

int
secpol_otp_email_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                       size_t key_size, const Secpol__Store__V1__EmailOtpRecord *record,
                       const Secpol__Store__V1__EmailOtpRecord *old)
{
    int rc = s_save (txn, arena, &secpol_otp_email_table, key, key_size, &record->base);
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

/*  The associated data of a sealed secret: the domain, then the subject's
 *  key, into ad (at most sizeof s_seal_domain + SECPOL_OTP_KEY_MAX bytes). */
static size_t
s_associated_data (uint8_t *ad, const uint8_t *key, size_t key_size)
{
    memcpy (ad, s_seal_domain, sizeof s_seal_domain);
    memcpy (ad + sizeof s_seal_domain, key, key_size);
    return sizeof s_seal_domain + key_size;
}

static void
s_seal_key (secpol_store_t *store, uint8_t key[SECPOL_KEY_BYTES])
{
    secpol_store_key (store, key, SECPOL_KEY_TOTP_AEAD, 1);
}

void
secpol_otp_secret_seal (Secpol__Store__V1__SealedSecret *sealed, secpol_arena_t *arena,
                        secpol_store_t *store, const uint8_t *key, size_t key_size,
                        const uint8_t *secret, size_t size)
{
    uint8_t aead_key[SECPOL_KEY_BYTES];
    uint8_t ad[sizeof s_seal_domain + SECPOL_OTP_KEY_MAX];
    size_t ad_size = s_associated_data (ad, key, key_size);
    secpol__store__v1__sealed_secret__init (sealed);
    sealed->nonce.len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    sealed->nonce.data = secpol_arena_alloc (arena, sealed->nonce.len);
    randombytes_buf (sealed->nonce.data, sealed->nonce.len);
    sealed->ciphertext.data =
        secpol_arena_alloc (arena, size + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long length = 0;
    s_seal_key (store, aead_key);
    crypto_aead_xchacha20poly1305_ietf_encrypt (sealed->ciphertext.data, &length, secret, size, ad,
                                                ad_size, NULL, sealed->nonce.data, aead_key);
    sodium_memzero (aead_key, sizeof aead_key);
    sealed->ciphertext.len = (size_t)length;
}

int
secpol_otp_secret_open (uint8_t *secret, size_t size, secpol_store_t *store, const uint8_t *key,
                        size_t key_size, const Secpol__Store__V1__SealedSecret *sealed)
{
    if (!sealed || sealed->nonce.len != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
        sealed->ciphertext.len != size + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
        size > SEAL_SECRET_MAX)
        return SECPOL_ECORRUPT;
    uint8_t aead_key[SECPOL_KEY_BYTES];
    uint8_t ad[sizeof s_seal_domain + SECPOL_OTP_KEY_MAX];
    size_t ad_size = s_associated_data (ad, key, key_size);
    unsigned long long length = 0;
    s_seal_key (store, aead_key);
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt (
        secret, &length, NULL, sealed->ciphertext.data, sealed->ciphertext.len, ad, ad_size,
        sealed->nonce.data, aead_key);
    sodium_memzero (aead_key, sizeof aead_key);
    if (rc != 0 || length != size) {
        sodium_memzero (secret, size);
        return SECPOL_ECORRUPT;
    }
    return 0;
}

int
secpol_otp_totp_load (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key, size_t key_size,
                      Secpol__Store__V1__TotpRecord **record_p)
{
    Secpol__Store__V1__TotpRecord *record = NULL;
    int rc = s_load (txn, arena, &secpol_otp_totp_table, key, key_size,
                     &secpol__store__v1__totp_record__descriptor, (ProtobufCMessage **)&record);
    if (rc)
        return rc;
    if (!record->secret || record->n_recovery_codes > SECPOL_OTP_RECOVERY_COUNT)
        return SECPOL_ECORRUPT;
    *record_p = record;
    return 0;
}

int
secpol_otp_totp_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key, size_t key_size,
                      const Secpol__Store__V1__TotpRecord *record)
{
    return s_save (txn, arena, &secpol_otp_totp_table, key, key_size, &record->base);
}

int
secpol_otp_pending_load (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                         size_t key_size, Secpol__Store__V1__TotpPendingRecord **record_p)
{
    Secpol__Store__V1__TotpPendingRecord *record = NULL;
    int rc =
        s_load (txn, arena, &secpol_otp_totp_pending_table, key, key_size,
                &secpol__store__v1__totp_pending_record__descriptor, (ProtobufCMessage **)&record);
    if (rc)
        return rc;
    if (!record->secret)
        return SECPOL_ECORRUPT;
    *record_p = record;
    return 0;
}

int
secpol_otp_pending_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                         size_t key_size, const Secpol__Store__V1__TotpPendingRecord *record,
                         const Secpol__Store__V1__TotpPendingRecord *old)
{
    int rc = s_save (txn, arena, &secpol_otp_totp_pending_table, key, key_size, &record->base);
    if (rc)
        return rc;
    return secpol_expiry_move (txn, &secpol_otp_totp_pending_table, key, key_size,
                               old ? old->expires_at : 0, record->expires_at);
}

int
secpol_otp_pending_delete (secpol_txn_t *txn, const uint8_t *key, size_t key_size,
                           const Secpol__Store__V1__TotpPendingRecord *record)
{
    int rc = secpol_del (txn, &secpol_otp_totp_pending_table, key, key_size);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    rc = secpol_expiry_remove (txn, &secpol_otp_totp_pending_table, key, key_size,
                               record->expires_at);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}
