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

#endif
