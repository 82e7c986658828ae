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
 *  Key material lives in sodium_malloc'd memory, locked and wiped on close.
 *  A backup of the data directory must include secret.key: without it,
 *  stored token hashes match nothing and encrypted secrets cannot be read.
 *
 *  Threads: derive from any thread; open and close from one.
 */
#ifndef SECPOL_KEYS_H_INCLUDED
#define SECPOL_KEYS_H_INCLUDED

#include <stdint.h>

#define SECPOL_KEY_BYTES 32 /* every derived key */

typedef struct secpol_keys secpol_keys_t;

/*  Loads <dir>/secret.key, or creates it (O_EXCL, 0600, random bytes) when
 *  it does not exist. A file of the wrong size or readable by others is
 *  refused. Returns 0 and sets *keys_p (caller owns it), SECPOL_ECORRUPT
 *  for a bad file, or an errno value. */
int secpol_keys_open (secpol_keys_t **keys_p, const char *dir) __attribute__ ((warn_unused_result));

/*  Wipes and frees. NULL-safe; nulls the pointer. */
void secpol_keys_close (secpol_keys_t **keys_p);

/*  Writes the subkey for context (exactly 8 characters, e.g. "tokenmac")
 *  and id into out. */
void secpol_keys_derive (const secpol_keys_t *keys, uint8_t out[SECPOL_KEY_BYTES],
                         const char context[8], uint64_t id);

#endif
