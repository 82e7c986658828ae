/*  secret_token.c - bearer tokens; see secret_token.h. */
#include "secret_token.h"

#include <sodium.h>
#include <string.h>

static const char s_base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*  The 6 check characters for the first length bytes of token. */
static void
s_check (char out[SECPOL_SECRET_TOKEN_CHECK], const char *token, size_t length)
{
    uint8_t digest[crypto_generichash_BYTES_MIN];
    crypto_generichash (digest, sizeof digest, (const unsigned char *)token, length, NULL, 0);
    uint32_t value = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
                     (uint32_t)digest[2] << 8 | digest[3];
    for (int i = SECPOL_SECRET_TOKEN_CHECK - 1; i >= 0; i--) {
        out[i] = s_base62[value % 62];
        value /= 62;
    }
}

void
secpol_secret_token_new (char out[SECPOL_SECRET_TOKEN_MAX], const char *prefix)
{
    size_t prefix_length = strnlen (prefix, SECPOL_SECRET_TOKEN_PREFIX_MAX);
    memcpy (out, prefix, prefix_length);
    char *p = out + prefix_length;
    for (int i = 0; i < SECPOL_SECRET_TOKEN_RANDOM; i++)
        *p++ = s_base62[randombytes_uniform (62)];
    s_check (p, out, (size_t)(p - out));
    p[SECPOL_SECRET_TOKEN_CHECK] = '\0';
}

bool
secpol_secret_token_check (const char *token, const char *prefix)
{
    size_t prefix_length = strnlen (prefix, SECPOL_SECRET_TOKEN_PREFIX_MAX);
    size_t length = prefix_length + SECPOL_SECRET_TOKEN_RANDOM + SECPOL_SECRET_TOKEN_CHECK;
    if (!token || strnlen (token, length + 1) != length ||
        memcmp (token, prefix, prefix_length) != 0)
        return false;
    for (size_t i = prefix_length; i < length; i++)
        if (!strchr (s_base62, token[i]) || token[i] == '\0')
            return false;
    char check[SECPOL_SECRET_TOKEN_CHECK];
    s_check (check, token, length - SECPOL_SECRET_TOKEN_CHECK);
    /* the check is not secret, but compare without branching anyway */
    return sodium_memcmp (check, token + length - SECPOL_SECRET_TOKEN_CHECK,
                          SECPOL_SECRET_TOKEN_CHECK) == 0;
}

void
secpol_secret_token_hash (uint8_t out[SECPOL_SECRET_TOKEN_HASH], secpol_store_t *store,
                          const char context[8], const char *token)
{
    uint8_t key[32];
    secpol_store_key (store, key, context, 1);
    crypto_generichash (out, SECPOL_SECRET_TOKEN_HASH, (const unsigned char *)token, strlen (token),
                        key, sizeof key);
    sodium_memzero (key, sizeof key);
}
