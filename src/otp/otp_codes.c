/*  otp_codes.c - the shapes of one-time codes; see otp_codes.h. */
#include "otp_codes.h"

#include "otp_store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void
secpol_otp_email_code_new (char out[SECPOL_OTP_CODE_BUF])
{
    uint32_t value = randombytes_uniform (1000000); /* 10^SECPOL_OTP_DIGITS, no modulo bias */
    snprintf (out, SECPOL_OTP_CODE_BUF, "%06u", (unsigned)value);
}

bool
secpol_otp_digits_read (char out[SECPOL_OTP_CODE_BUF], const char *text)
{
    size_t n = 0, length = strlen (text);
    out[0] = '\0';
    if (length > SECPOL_OTP_CODE_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == ' ')
            continue;
        if (c < '0' || c > '9' || n == SECPOL_OTP_DIGITS) {
            sodium_memzero (out, SECPOL_OTP_CODE_BUF);
            return false;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    if (n != SECPOL_OTP_DIGITS) {
        sodium_memzero (out, SECPOL_OTP_CODE_BUF);
        return false;
    }
    return true;
}

static const char s_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
secpol_otp_recovery_code_new (char out[SECPOL_OTP_RECOVERY_BUF])
{
    size_t at = 0;
    for (int i = 0; i < SECPOL_OTP_RECOVERY_CHARS; i++) {
        if (i && i % 4 == 0)
            out[at++] = '-';
        out[at++] = s_crockford[randombytes_uniform (32)];
    }
    out[at] = '\0';
}

bool
secpol_otp_recovery_code_read (char out[SECPOL_OTP_RECOVERY_CHARS + 1], const char *text)
{
    size_t n = 0, length = strlen (text);
    out[0] = '\0';
    if (length > SECPOL_OTP_CODE_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        c = c == 'O' ? '0' : (c == 'I' || c == 'L') ? '1' : c;
        if ((!(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z' && c != 'U')) ||
            n == SECPOL_OTP_RECOVERY_CHARS) {
            sodium_memzero (out, SECPOL_OTP_RECOVERY_CHARS + 1);
            return false;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    if (n != SECPOL_OTP_RECOVERY_CHARS) {
        sodium_memzero (out, SECPOL_OTP_RECOVERY_CHARS + 1);
        return false;
    }
    return true;
}

const char *
secpol_otp_purpose_problem (const char *purpose)
{
    size_t length = strlen (purpose);
    if (length == 0)
        return "is required: what the code is for, e.g. sign_in";
    if (length > SECPOL_OTP_PURPOSE_MAX)
        return "is longer than 64 bytes";
    if (strspn (purpose, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") !=
        length)
        return "may hold only letters, digits and _ . : -";
    return NULL;
}
