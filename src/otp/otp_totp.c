/*  otp_totp.c - HOTP and TOTP through liboath; see otp_totp.h. */
#include "otp_totp.h"

#include "otp_codes.h"

#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_init_rc = -1;

static void
s_init (void)
{
    s_init_rc = oath_init () == OATH_OK ? 0 : -1;
}

static int
s_ready (void)
{
    pthread_once (&s_once, s_init);
    return s_init_rc;
}

int
secpol_hotp_code (char out[SECPOL_TOTP_CODE_MAX], const uint8_t *secret, size_t secret_size,
                  uint64_t counter, unsigned digits)
{
    out[0] = '\0';
    if (s_ready () || digits < 6 || digits > 8)
        return -1;
    return oath_hotp_generate ((const char *)secret, secret_size, counter, digits, false,
                               OATH_HOTP_DYNAMIC_TRUNCATION, out) == OATH_OK
               ? 0
               : -1;
}

int
secpol_totp_code (char out[SECPOL_TOTP_CODE_MAX], const uint8_t *secret, size_t secret_size,
                  int64_t time, unsigned digits, secpol_totp_algorithm_t algorithm)
{
    out[0] = '\0';
    if (s_ready () || digits < 6 || digits > 8 || time < 0)
        return -1;
    int flags = algorithm == SECPOL_TOTP_SHA256   ? OATH_TOTP_HMAC_SHA256
                : algorithm == SECPOL_TOTP_SHA512 ? OATH_TOTP_HMAC_SHA512
                                                  : 0;
    return oath_totp_generate2 ((const char *)secret, secret_size, (time_t)time, SECPOL_TOTP_PERIOD,
                                OATH_TOTP_DEFAULT_START_TIME, digits, flags, out) == OATH_OK
               ? 0
               : -1;
}

uint64_t
secpol_totp_step (int64_t now)
{
    return now > 0 ? (uint64_t)now / SECPOL_TOTP_PERIOD : 0;
}

int
secpol_totp_check (const uint8_t *secret, size_t secret_size, int64_t now, const char *code,
                   uint64_t last_step, uint64_t *step_p, int *drift_p)
{
    uint64_t current = secpol_totp_step (now);
    bool matched = false, replayed = false;
    *step_p = 0;
    *drift_p = 0;
    if (strlen (code) != SECPOL_OTP_DIGITS)
        return SECPOL_TOTP_NO_MATCH;
    /* every step of the window is computed and compared, whatever matched */
    for (int drift = -SECPOL_TOTP_WINDOW; drift <= SECPOL_TOTP_WINDOW; drift++) {
        if (drift < 0 && current < (uint64_t)-drift)
            continue;
        uint64_t step = current + (uint64_t)(int64_t)drift;
        char expected[SECPOL_TOTP_CODE_MAX];
        if (secpol_totp_code (expected, secret, secret_size, (int64_t)step * SECPOL_TOTP_PERIOD,
                              SECPOL_OTP_DIGITS, SECPOL_TOTP_SHA1)) {
            sodium_memzero (expected, sizeof expected);
            return -1;
        }
        bool equal = sodium_memcmp (expected, code, SECPOL_OTP_DIGITS) == 0;
        sodium_memzero (expected, sizeof expected);
        if (equal && step > last_step) {
            matched = true;
            *step_p = step; /* the latest step that matches wins */
            *drift_p = drift;
        } else if (equal)
            replayed = true;
    }
    return matched ? SECPOL_TOTP_MATCH : replayed ? SECPOL_TOTP_REPLAY : SECPOL_TOTP_NO_MATCH;
}

int
secpol_totp_base32 (char out[SECPOL_TOTP_BASE32_MAX], const uint8_t *secret, size_t secret_size)
{
    out[0] = '\0';
    if (s_ready ())
        return -1;
    char *text = NULL;
    size_t length = 0;
    if (oath_base32_encode ((const char *)secret, secret_size, &text, &length) != OATH_OK)
        return -1;
    while (length > 0 && text[length - 1] == '=')
        length--;
    int rc = -1;
    if (length < SECPOL_TOTP_BASE32_MAX) {
        memcpy (out, text, length);
        out[length] = '\0';
        rc = 0;
    }
    sodium_memzero (text, strlen (text));
    free (text);
    return rc;
}

/*  Appends text percent-encoded (RFC 3986: all but unreserved bytes) to out
 *  at *at; out has room for 3 bytes per byte of text. */
static void
s_percent (char *out, size_t *at, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned char c = *p;
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved)
            out[(*at)++] = (char)c;
        else {
            out[(*at)++] = '%';
            out[(*at)++] = hex[c >> 4];
            out[(*at)++] = hex[c & 15];
        }
    }
}

char *
secpol_totp_uri (secpol_arena_t *arena, const char *issuer, const char *account,
                 const char *secret_base32)
{
    size_t size = 128 + 3 * (2 * strlen (issuer) + strlen (account)) + strlen (secret_base32);
    char *label = secpol_arena_alloc (arena, size), *issuer_text = secpol_arena_alloc (arena, size);
    size_t at = 0, issuer_at = 0;
    if (*issuer) {
        s_percent (label, &at, issuer);
        label[at++] = ':';
    }
    s_percent (label, &at, account);
    label[at] = '\0';
    s_percent (issuer_text, &issuer_at, issuer);
    issuer_text[issuer_at] = '\0';
    return secpol_arena_printf (
        arena, "otpauth://totp/%s?secret=%s%s%s&algorithm=SHA1&digits=%d&period=%d", label,
        secret_base32, *issuer ? "&issuer=" : "", issuer_text, SECPOL_OTP_DIGITS,
        SECPOL_TOTP_PERIOD);
}
