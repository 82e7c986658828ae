/*  otp_totp.h - HOTP and TOTP codes (RFC 4226, RFC 6238) through liboath,
 *  and what an authenticator app is given to enroll.
 *
 *  Codes are computed by liboath (Debian liboath-dev, OATH Toolkit), not
 *  here: this file picks the time steps, compares in constant time and
 *  formats what the app reads. Secrets are passed as bytes the caller owns
 *  and wipes; nothing here keeps a copy past a call (the Base32 text liboath
 *  allocates is wiped before it is freed).
 *
 *  Pure functions; any thread (liboath is initialised once, on first use).
 */
#ifndef SECPOL_OTP_TOTP_H_INCLUDED
#define SECPOL_OTP_TOTP_H_INCLUDED

#include "arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECPOL_TOTP_SECRET_BYTES 20 /* RFC 4226 section 4: 160 bits, the HMAC-SHA1 output */
#define SECPOL_TOTP_PERIOD       30 /* seconds of a time step (RFC 6238 default) */
#define SECPOL_TOTP_WINDOW       1  /* steps accepted either side of the server's */
#define SECPOL_TOTP_BASE32_MAX   64 /* Base32 of a secret, NUL included */
#define SECPOL_TOTP_CODE_MAX     11 /* a code of up to 10 digits, NUL included */

typedef enum {
    SECPOL_TOTP_SHA1 = 0,   /* what apps use, and enrollment offers */
    SECPOL_TOTP_SHA256 = 1, /* RFC 6238 Appendix B vectors only */
    SECPOL_TOTP_SHA512 = 2,
} secpol_totp_algorithm_t;

/*  The HOTP value of secret at counter with digits (6 to 8) digits into
 *  out (RFC 4226 section 5.3). Returns 0, or -1 when liboath refuses. */
int secpol_hotp_code (char out[SECPOL_TOTP_CODE_MAX], const uint8_t *secret, size_t secret_size,
                      uint64_t counter, unsigned digits) __attribute__ ((warn_unused_result));

/*  The TOTP value of secret at unix time (T0 = 0, step SECPOL_TOTP_PERIOD)
 *  with digits digits and algorithm into out (RFC 6238 section 4). Returns
 *  0, or -1 when liboath refuses. */
int secpol_totp_code (char out[SECPOL_TOTP_CODE_MAX], const uint8_t *secret, size_t secret_size,
                      int64_t time, unsigned digits, secpol_totp_algorithm_t algorithm)
    __attribute__ ((warn_unused_result));

/*  The time step of unix time now: floor (now / SECPOL_TOTP_PERIOD). */
uint64_t secpol_totp_step (int64_t now);

typedef enum {
    SECPOL_TOTP_NO_MATCH = 0, /* code matches no step of the window */
    SECPOL_TOTP_MATCH = 1,    /* it matches a step after last_step */
    SECPOL_TOTP_REPLAY = 2,   /* it matches only steps at or before last_step */
} secpol_totp_result_t;

/*  Checks code (6 digits, SHA1) against secret at now: the server's step
 *  and SECPOL_TOTP_WINDOW steps either side, each compared in constant
 *  time, all of them always. A code matching a step after last_step (0 =
 *  none yet) is a MATCH, with *step_p that step (the latest, should two
 *  match) and *drift_p its distance from the server's step; one matching
 *  only steps at or before last_step is a REPLAY. Returns -1 when liboath
 *  fails. */
int secpol_totp_check (const uint8_t *secret, size_t secret_size, int64_t now, const char *code,
                       uint64_t last_step, uint64_t *step_p, int *drift_p)
    __attribute__ ((warn_unused_result));

/*  RFC 4648 Base32 of secret without '=' padding into out. Returns 0, or
 *  -1 when it does not fit or liboath fails. */
int secpol_totp_base32 (char out[SECPOL_TOTP_BASE32_MAX], const uint8_t *secret, size_t secret_size)
    __attribute__ ((warn_unused_result));

/*  The key URI an app enrolls from (Google Authenticator key URI format):
 *      otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 *  with issuer and account percent-encoded (every byte but A-Z a-z 0-9 - . _ ~;
 *  a space is %20). issuer "" leaves out the prefix and the parameter.
 *  Neither may hold ':' (the caller checks). In arena. */
char *secpol_totp_uri (secpol_arena_t *arena, const char *issuer, const char *account,
                       const char *secret_base32);

#endif
