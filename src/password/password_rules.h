/*  password_rules.h - the password rules of the three policy levels.
 *
 *  Pure functions of a candidate password, a level and the caller's user
 *  inputs: no store, no clock, no history (history and the change interval
 *  are PasswordService's, password_service.c). docs/PASSWORDS.md states each
 *  level's rules and their sources (NIST SP 800-63B 5.1.1.2, OWASP ASVS
 *  4.0.3 V2.1).
 *
 *  Lengths are Unicode code points of the NFKC normal form (libunistring);
 *  the common-password check is libpwquality's cracklib dictionary
 *  (cracklib-runtime). Nothing here logs, and every copy of a password made
 *  here is wiped before it is freed.
 *
 *  Threads: every function may be called from many threads at once (the
 *  cracklib part, which keeps state of its own, runs under a mutex).
 */
#ifndef SECPOL_PASSWORD_RULES_H_INCLUDED
#define SECPOL_PASSWORD_RULES_H_INCLUDED

#include "secpol/v1/policy.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECPOL_PASSWORD_MAX_CHARS      128  /* code points after NFKC: longer is TOO_LONG */
#define SECPOL_PASSWORD_MAX_BYTES      1024 /* bytes on the wire: longer is TOO_LONG unread */
#define SECPOL_PASSWORD_USER_INPUTS    16   /* user_inputs entries a request may carry */
#define SECPOL_PASSWORD_USER_INPUT_MAX 256  /* bytes in one user input */
#define SECPOL_PASSWORD_TOKEN_MIN      3    /* code points a user-input word needs to count */
#define SECPOL_PASSWORD_VIOLATIONS_MAX 8    /* rule violations one check reports at most */
#define SECPOL_PASSWORD_MESSAGE_MAX    160  /* bytes of one violation message */

/*  One broken rule: a stable code (TOO_SHORT, TOO_LONG, COMMON,
 *  CONTAINS_USER_INPUT, REPETITIVE) and a message for people. */
typedef struct {
    const char *code;                          /* static */
    char message[SECPOL_PASSWORD_MESSAGE_MAX]; /* never contains the password */
} secpol_password_violation_t;

/*  The rules of one level. */
typedef struct {
    Secpol__V1__PasswordPolicyLevel level; /* the level these rules are */
    const char *name;                      /* "LOW", "MEDIUM", "HIGH" */
    uint32_t min_chars;                    /* least code points after NFKC */
    bool reject_user_inputs;               /* CONTAINS_USER_INPUT applies */
    int max_repeat;                        /* longest run of one character; 0 = any */
    int max_sequence;                      /* longest monotonic sequence ("12345"); 0 = any */
} secpol_password_level_t;

/*  The rules of level; PASSWORD_POLICY_LEVEL_UNSPECIFIED and unknown values
 *  get MEDIUM, the policy default. Never NULL; static. */
const secpol_password_level_t *secpol_password_level (int level);

/*  Returns a malloc'd NFKC normal form of the UTF-8 password (size bytes)
 *  and sets *chars to its code points and *bytes to its length, or NULL
 *  when password is not valid UTF-8 or memory ran out. The caller wipes and
 *  frees it with secpol_password_free(). */
uint8_t *secpol_password_normalize (const char *password, size_t size, size_t *bytes, size_t *chars)
    __attribute__ ((warn_unused_result));

/*  Wipes size bytes of password and frees it. NULL-safe. */
void secpol_password_free (uint8_t *password, size_t size);

/*  Checks password (UTF-8, NUL-terminated) against the rules of level and
 *  the caller's user_inputs (n_user_inputs strings: user name, email,
 *  display name...). Writes up to SECPOL_PASSWORD_VIOLATIONS_MAX
 *  violations into out, in a stable order, and sets *n_out. Returns 0, or
 *  -1 with *n_out 0 when the check could not run (the cracklib dictionary
 *  cannot be loaded, or memory ran out): callers then fail closed. */
int secpol_password_rules_check (secpol_password_violation_t *out, size_t *n_out,
                                 const secpol_password_level_t *level, const char *password,
                                 const char *const *user_inputs, size_t n_user_inputs)
    __attribute__ ((warn_unused_result));

#endif
