/*  keys.h - the data directory's secret, and keys derived from it.
 *
 *  Services store only keyed hashes of tokens and codes, and encrypt TOTP
 *  secrets: they need keys that survive restarts and never leave the
 *  machine. The store keeps one 32-byte master key in `secret.key` beside
 *  its LMDB files, created with random bytes (mode 0600) the first time the
 *  store opens, and each use derives its own subkey from it
 *  (crypto_kdf_derive_from_key: a context of 8 characters names the use),
 *  so that one leaked subkey exposes nothing else.
 *
 *  The file may live elsewhere (secpold --key-file PATH, SECPOL_KEY_FILE),
 *  say on a volume backed up apart from the data. Key material lives in
 *  sodium_malloc'd memory, locked and wiped on close. A backup of the data
 *  directory must include the key file: without it, stored token and code
 *  hashes match nothing and TOTP secrets cannot be decrypted (every
 *  authenticator app must then be enrolled again).
 *
 *  The contexts in use, one per purpose; never change one once shipped
 *  (what it keyed could no longer be read):
 *      "tokenmac"  link token hashes       (SECPOL_TOKEN_HASH_CONTEXT)
 *      "sessnmac"  session token hashes    (SECPOL_SESSION_HASH_CONTEXT)
 *      "otp__mac"  email OTP and recovery code hashes (SECPOL_KEY_OTP_MAC)
 *      "totpaead"  TOTP secrets, XChaCha20-Poly1305 (SECPOL_KEY_TOTP_AEAD)
 *
 *  Threads: derive from any thread; open and close from one.
 */
#ifndef SECPOL_KEYS_H_INCLUDED
#define SECPOL_KEYS_H_INCLUDED

#include <stdint.h>

#define SECPOL_KEY_BYTES 32 /* every derived key */

#define SECPOL_KEY_FILE      "secret.key" /* its name in the data directory, by default */
#define SECPOL_KEY_OTP_MAC   "otp__mac"   /* context: keyed hashes of OTP and recovery codes */
#define SECPOL_KEY_TOTP_AEAD "totpaead"   /* context: encryption of TOTP secrets at rest */

typedef struct secpol_keys secpol_keys_t;

/*  Loads <dir>/secret.key, or creates it (O_EXCL, 0600, random bytes) when
 *  it does not exist. A file of the wrong size or readable by others is
 *  refused. Returns 0 and sets *keys_p (caller owns it), SECPOL_ECORRUPT
 *  for a bad file, or an errno value. */
int secpol_keys_open (secpol_keys_t **keys_p, const char *dir) __attribute__ ((warn_unused_result));

/*  As secpol_keys_open, for the key file at path (its directory must
 *  exist). */
int secpol_keys_open_file (secpol_keys_t **keys_p, const char *path)
    __attribute__ ((warn_unused_result));

/*  Wipes and frees. NULL-safe; nulls the pointer. */
void secpol_keys_close (secpol_keys_t **keys_p);

/*  Writes the subkey for context (exactly 8 characters, e.g. "tokenmac")
 *  and id into out. */
void secpol_keys_derive (const secpol_keys_t *keys, uint8_t out[SECPOL_KEY_BYTES],
                         const char context[8], uint64_t id);

#endif
