/*  otp_codes.h - the shapes of one-time codes: made, read, checked.
 *
 *  Pure functions and libsodium; any thread. Nothing here touches the
 *  store (otp_store.h) or computes a TOTP (otp_totp.h).
 */
#ifndef SECPOL_OTP_CODES_H_INCLUDED
#define SECPOL_OTP_CODES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define SECPOL_OTP_DIGITS   6                       /* digits of an email code and a TOTP */
#define SECPOL_OTP_CODE_MAX 64                      /* bytes of a code as typed, spaces included */
#define SECPOL_OTP_CODE_BUF (SECPOL_OTP_DIGITS + 1) /* a code with its NUL */

/*  Writes a new email code into out: SECPOL_OTP_DIGITS decimal digits,
 *  uniform over 0 to 999999 (randombytes_uniform), leading zeros kept. */
void secpol_otp_email_code_new (char out[SECPOL_OTP_CODE_BUF]);

/*  Reads a code as a person types it: digits with any spaces between
 *  them. Writes the SECPOL_OTP_DIGITS digits into out and returns true, or
 *  returns false (out empty) when text is longer than SECPOL_OTP_CODE_MAX,
 *  holds anything else, or has another number of digits. */
bool secpol_otp_digits_read (char out[SECPOL_OTP_CODE_BUF], const char *text);

/*  Recovery codes: 12 characters of Crockford's Base32 (0-9 A-Z without
 *  I L O U), 5 bits each: 60 random bits, shown in groups of four,
 *  XXXX-XXXX-XXXX. Read back as Crockford reads: case, '-' and spaces do
 *  not matter, O means 0, I and L mean 1. */
#define SECPOL_OTP_RECOVERY_CHARS 12 /* characters of a recovery code */
#define SECPOL_OTP_RECOVERY_COUNT 10 /* codes an enrollment gets */
#define SECPOL_OTP_RECOVERY_BUF   (SECPOL_OTP_RECOVERY_CHARS + 3) /* shown form, dashes, NUL */

/*  Writes a new recovery code, in its shown form, into out (each character
 *  uniform over the 32: randombytes_uniform). */
void secpol_otp_recovery_code_new (char out[SECPOL_OTP_RECOVERY_BUF]);

/*  Reads a recovery code as typed into its 12 canonical characters (upper
 *  case, no dash) in out. Returns false (out empty) when text is longer
 *  than SECPOL_OTP_CODE_MAX, holds another character, or has another
 *  number of them. */
bool secpol_otp_recovery_code_read (char out[SECPOL_OTP_RECOVERY_CHARS + 1], const char *text);

/*  NULL when purpose is acceptable (1 to SECPOL_OTP_PURPOSE_MAX bytes of
 *  [A-Za-z0-9_.:-]), else a static description of what is wrong. */
const char *secpol_otp_purpose_problem (const char *purpose);

#endif
