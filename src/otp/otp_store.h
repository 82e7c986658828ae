/*  otp_store.h - how OtpService keeps codes: tables, keys, keyed hashes.
 *
 *  Table secpol_otp_email_table ("otp_email") holds one packed
 *  secpol.store.v1.EmailOtpRecord per subject and purpose under the key
 *      u8 len(workspace_id) workspace_id u8 len(subject_id) subject_id purpose
 *  (the length prefixes keep keys unambiguous whatever bytes the ids hold;
 *  purpose comes last, so it needs none). A new code replaces the record.
 *  The record is indexed in the expiry table (expiry.h) at expires_at +
 *  SECPOL_OTP_EMAIL_KEPT, so that for an hour a late try can still be told
 *  "expired", and the sweep deletes it then. A code used is deleted at once
 *  with its entry.
 *
 *  Table secpol_otp_totp_table ("otp_totp") holds a subject's active
 *  authenticator app, a secpol.store.v1.TotpRecord (the sealed secret, the
 *  last accepted step, drift, recovery code hashes), under the key of
 *  workspace and subject (purpose ""). Table secpol_otp_totp_pending_table
 *  ("otp_totp_pending") holds an enrollment waiting for its confirmation
 *  under the same key, indexed in the expiry table at its expires_at, so
 *  the sweep deletes one never confirmed. The two tables keep a pending
 *  enrollment from ever touching the active one before it is confirmed.
 *
 *  TOTP secrets are sealed (secpol_otp_secret_seal) with XChaCha20-Poly1305
 *  (libsodium crypto_aead_xchacha20poly1305_ietf) under the subkey
 *  SECPOL_KEY_TOTP_AEAD, a random 24-byte nonce each, and the subject's key
 *  as associated data: a sealed secret copied to another subject's record
 *  does not open. The store never holds a secret in the clear.
 *
 *  Codes are never stored: only a keyed BLAKE2b-256 of what the code is
 *  for and the code (secpol_otp_code_hash), keyed with the store's subkey
 *  SECPOL_KEY_OTP_MAC of the master key (keys.h). A six-digit code has only
 *  a million values, so the key is what keeps a copy of the LMDB file from
 *  giving them away: without it no hash can be recomputed.
 *
 *  Threads: read functions in any transaction; write functions only in a
 *  write transaction (the WRITE lane).
 */
#ifndef SECPOL_OTP_STORE_H_INCLUDED
#define SECPOL_OTP_STORE_H_INCLUDED

#include "arena.h"
#include "store.h"

#include "secpol/store/v1/otp_record.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The tables OtpService owns. */
extern const secpol_table_t secpol_otp_email_table; /* one email code per subject and purpose */
extern const secpol_table_t secpol_otp_totp_table;  /* the active authenticator app of a subject */
extern const secpol_table_t secpol_otp_totp_pending_table; /* an enrollment to confirm */

#define SECPOL_OTP_ID_MAX          128  /* bytes of a workspace_id or subject_id */
#define SECPOL_OTP_PURPOSE_MAX     64   /* bytes of a purpose */
#define SECPOL_OTP_EMAIL_KEPT      3600 /* seconds an expired email code still says so */
#define SECPOL_OTP_EMAIL_TRIES_MAX 5    /* wrong tries that burn an email code */
#define SECPOL_OTP_HASH_BYTES      32   /* a stored code hash */
#define SECPOL_OTP_KEY_MAX         (2 + 2 * SECPOL_OTP_ID_MAX + SECPOL_OTP_PURPOSE_MAX)

/*  Writes the key of workspace_id, subject_id and purpose (purpose "" for
 *  the per-subject tables) into key and returns its length. ids must be at
 *  most SECPOL_OTP_ID_MAX bytes and purpose at most SECPOL_OTP_PURPOSE_MAX
 *  (the handlers check them first). */
size_t secpol_otp_key (uint8_t key[SECPOL_OTP_KEY_MAX], const char *workspace_id,
                       const char *subject_id, const char *purpose);

/*  The keyed hash stored in place of a code: BLAKE2b-256, keyed with the
 *  store's SECPOL_KEY_OTP_MAC subkey, of domain ("email", "recovery"; it
 *  keeps the kinds of code apart), the record's key (key_size bytes: which
 *  subject and purpose it is for, so a hash copied to another record
 *  matches nothing) and code. The subkey is wiped after use. */
void secpol_otp_code_hash (uint8_t out[SECPOL_OTP_HASH_BYTES], secpol_store_t *store,
                           const char *domain, const uint8_t *key, size_t key_size,
                           const char *code);

/*  Loads the email code record under key into *record_p (in arena).
 *  Returns 0, SECPOL_ENOTFOUND, SECPOL_ECORRUPT or a store error. */
int secpol_otp_email_load (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                           size_t key_size, Secpol__Store__V1__EmailOtpRecord **record_p)
    __attribute__ ((warn_unused_result));

/*  Stores record under key and moves its expiry entry from the one of old
 *  (the record it replaces; NULL = none) to the one of record. Returns 0
 *  or a store error. */
int secpol_otp_email_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                           size_t key_size, const Secpol__Store__V1__EmailOtpRecord *record,
                           const Secpol__Store__V1__EmailOtpRecord *old)
    __attribute__ ((warn_unused_result));

/*  Deletes the record under key (as loaded) with its expiry entry. Returns
 *  0 or a store error. */
int secpol_otp_email_delete (secpol_txn_t *txn, const uint8_t *key, size_t key_size,
                             const Secpol__Store__V1__EmailOtpRecord *record)
    __attribute__ ((warn_unused_result));

/*  Seals secret (size bytes, at most 64) for the subject under key
 *  (key_size bytes, from secpol_otp_key with purpose "") into *sealed, its
 *  fields in arena. */
void secpol_otp_secret_seal (Secpol__Store__V1__SealedSecret *sealed, secpol_arena_t *arena,
                             secpol_store_t *store, const uint8_t *key, size_t key_size,
                             const uint8_t *secret, size_t size);

/*  Opens sealed into secret (size bytes, the size it was sealed with). The
 *  caller wipes secret after use. Returns 0, or SECPOL_ECORRUPT when it
 *  does not open: the wrong size, another subject's secret, a record
 *  tampered with, or a key file other than the one it was sealed under. */
int secpol_otp_secret_open (uint8_t *secret, size_t size, secpol_store_t *store, const uint8_t *key,
                            size_t key_size, const Secpol__Store__V1__SealedSecret *sealed)
    __attribute__ ((warn_unused_result));

/*  Loads the active enrollment under key into *record_p (in arena).
 *  Returns 0, SECPOL_ENOTFOUND, SECPOL_ECORRUPT or a store error. */
int secpol_otp_totp_load (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                          size_t key_size, Secpol__Store__V1__TotpRecord **record_p)
    __attribute__ ((warn_unused_result));

/*  Stores the active enrollment under key. Returns 0 or a store error. */
int secpol_otp_totp_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                          size_t key_size, const Secpol__Store__V1__TotpRecord *record)
    __attribute__ ((warn_unused_result));

/*  Loads the pending enrollment under key into *record_p (in arena).
 *  Returns 0, SECPOL_ENOTFOUND, SECPOL_ECORRUPT or a store error. */
int secpol_otp_pending_load (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                             size_t key_size, Secpol__Store__V1__TotpPendingRecord **record_p)
    __attribute__ ((warn_unused_result));

/*  Stores a pending enrollment under key, moving its expiry entry from
 *  old's (the one it replaces; NULL = none). Returns 0 or a store error. */
int secpol_otp_pending_save (secpol_txn_t *txn, secpol_arena_t *arena, const uint8_t *key,
                             size_t key_size, const Secpol__Store__V1__TotpPendingRecord *record,
                             const Secpol__Store__V1__TotpPendingRecord *old)
    __attribute__ ((warn_unused_result));

/*  Deletes the pending enrollment under key (as loaded) with its expiry
 *  entry. Returns 0 or a store error. */
int secpol_otp_pending_delete (secpol_txn_t *txn, const uint8_t *key, size_t key_size,
                               const Secpol__Store__V1__TotpPendingRecord *record)
    __attribute__ ((warn_unused_result));

#endif
