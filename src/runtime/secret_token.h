/*  secret_token.h - opaque bearer tokens: made, checked, and hashed.
 *
 *  Emailed link tokens, session tokens and the like share one shape, in
 *  the manner of GitHub's tokens:
 *
 *      <prefix><22 random base62 characters><6 base62 check characters>
 *      spl_4qYk0Lr6uVdWb1Zs8oXcGe3Fh2aN1x
 *
 *  - 22 characters drawn uniformly from 62 (libsodium randombytes_uniform)
 *    carry 130.9 bits: past the 128 the design asks for;
 *  - the check characters are 32 bits of BLAKE2b over prefix and random
 *    part, so a mistyped or truncated token is refused without a store
 *    lookup, and the prefix lets secret scanners recognise a leaked one;
 *  - base62 keeps tokens URL-safe and one double-click wide.
 *
 *  Only a keyed hash of a token is stored (BLAKE2b keyed with a subkey of
 *  the data directory's secret.key, keys.h), so the store never holds a
 *  usable token, and a lookup is by hash: no comparison on secret bytes.
 *
 *  Pure functions and libsodium; any thread.
 */
#ifndef SECPOL_SECRET_TOKEN_H_INCLUDED
#define SECPOL_SECRET_TOKEN_H_INCLUDED

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECPOL_SECRET_TOKEN_RANDOM     22 /* base62 characters of randomness */
#define SECPOL_SECRET_TOKEN_CHECK      6  /* base62 characters of checksum */
#define SECPOL_SECRET_TOKEN_PREFIX_MAX 8
/*  Buffer size for any token, NUL included. */
#define SECPOL_SECRET_TOKEN_MAX                                                                    \
    (SECPOL_SECRET_TOKEN_PREFIX_MAX + SECPOL_SECRET_TOKEN_RANDOM + SECPOL_SECRET_TOKEN_CHECK + 1)
#define SECPOL_SECRET_TOKEN_HASH 32 /* bytes of a stored hash */

/*  Writes a new token with prefix (1 to 8 characters of [a-z0-9_]) into
 *  out (SECPOL_SECRET_TOKEN_MAX bytes). */
void secpol_secret_token_new (char out[SECPOL_SECRET_TOKEN_MAX], const char *prefix);

/*  True when token has this prefix, the right length, only base62
 *  characters after it and a matching check: what a well-formed token
 *  looks like, decided without the store. */
bool secpol_secret_token_check (const char *token, const char *prefix);

/*  The keyed hash stored in place of token: BLAKE2b-256 keyed with the
 *  store's subkey for context (8 characters, e.g. "tokenmac"). */
void secpol_secret_token_hash (uint8_t out[SECPOL_SECRET_TOKEN_HASH], secpol_store_t *store,
                               const char context[8], const char *token);

#endif
