/*  password_rules.c - the password rules of the three policy levels; see
 *  password_rules.h and docs/PASSWORDS.md. */
#define _GNU_SOURCE /* memmem */
#include "password_rules.h"

#include <ctype.h>
#include <pthread.h>
#include <pwquality.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/*  NIST SP 800-63B 5.1.1.2: at least 8 characters, at least 64 accepted,
 *  block-list check, no composition rules. OWASP ASVS 4.0.3 V2.1.1 asks 12
 *  for a stronger level; 15 is 800-63B rev. 4's minimum for single-factor
 *  passwords. See docs/PASSWORDS.md. */
static const secpol_password_level_t s_levels[] = {
    {SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_LOW, "LOW", 8, false, 0, 0},
    {SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_MEDIUM, "MEDIUM", 12, true, 4, 5},
    {SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH, "HIGH", 15, true, 3, 4},
};

/*  cracklib keeps state of its own while it reads its dictionary. */
static pthread_mutex_t s_cracklib_mutex = PTHREAD_MUTEX_INITIALIZER;

static void s_add (secpol_password_violation_t *out, size_t *n, const char *code, const char *fmt,
                   ...) __attribute__ ((format (printf, 4, 5)));
static bool s_pwquality (const secpol_password_level_t *level, const char *password,
                         bool dictionary, int *code, char *reason, size_t reason_size);
static bool s_check_core (const secpol_password_level_t *level, char *normal, size_t bytes,
                          int *code, char *reason, size_t reason_size);
static bool s_contains_user_input (const uint8_t *folded, size_t folded_size, const char *input);

const secpol_password_level_t *
secpol_password_level (int level)
{
    for (size_t i = 0; i < sizeof s_levels / sizeof s_levels[0]; i++)
        if ((int)s_levels[i].level == level)
            return &s_levels[i];
    return &s_levels[1];
}

uint8_t *
secpol_password_normalize (const char *password, size_t size, size_t *bytes, size_t *chars)
{
    *bytes = *chars = 0;
    if (u8_check ((const uint8_t *)password, size))
        return NULL;
    size_t length = 0;
    uint8_t *normal = u8_normalize (UNINORM_NFKC, (const uint8_t *)password, size, NULL, &length);
    if (!normal)
        return NULL;
    /* room for a NUL, so that the normal form is also a C string */
    uint8_t *text = malloc (length + 1);
    if (text) {
        memcpy (text, normal, length);
        text[length] = 0;
        *bytes = length;
        *chars = u8_mbsnlen (text, length);
    }
    secpol_password_free (normal, length);
    return text;
}

void
secpol_password_free (uint8_t *password, size_t size)
{
    if (password) {
        sodium_memzero (password, size);
        free (password);
    }
}

int
secpol_password_rules_check (secpol_password_violation_t *out, size_t *n_out,
                             const secpol_password_level_t *level, const char *password,
                             const char *const *user_inputs, size_t n_user_inputs)
{
    *n_out = 0;
    size_t n = 0, size = strlen (password);
    if (size > SECPOL_PASSWORD_MAX_BYTES) {
        s_add (out, &n, "TOO_LONG", "is longer than %d characters", SECPOL_PASSWORD_MAX_CHARS);
        *n_out = n;
        return 0;
    }
    size_t bytes, chars;
    uint8_t *normal = secpol_password_normalize (password, size, &bytes, &chars);
    if (!normal)
        return -1;
    int rc = 0;
    uint8_t *folded = NULL;
    size_t folded_size = 0;
    if (chars < level->min_chars)
        s_add (out, &n, "TOO_SHORT", "has %zu characters; the %s level needs at least %u", chars,
               level->name, level->min_chars);
    if (chars > SECPOL_PASSWORD_MAX_CHARS) {
        s_add (out, &n, "TOO_LONG", "has %zu characters; at most %d are accepted", chars,
               SECPOL_PASSWORD_MAX_CHARS);
        goto done; /* never truncated, and nothing more to learn from it */
    }
    if (chars == 0)
        goto done;
    char reason[128];
    int code;
    if (!s_pwquality (level, (const char *)normal, true, &code, reason, sizeof reason)) {
        rc = -1;
        goto done;
    }
    bool repetitive = code == PWQ_ERROR_PALINDROME;
    if (code == 0 && !s_check_core (level, (char *)normal, bytes, &code, reason, sizeof reason)) {
        rc = -1;
        goto done;
    }
    if (code == PWQ_ERROR_CRACKLIB_CHECK)
        s_add (out, &n, "COMMON", "is too easy to guess (%s)", reason);
    if (level->reject_user_inputs && n_user_inputs) {
        folded = u8_casefold (normal, bytes, NULL, UNINORM_NFKC, NULL, &folded_size);
        if (!folded) {
            rc = -1;
            goto done;
        }
        for (size_t i = 0; i < n_user_inputs; i++)
            if (s_contains_user_input (folded, folded_size, user_inputs[i])) {
                s_add (out, &n, "CONTAINS_USER_INPUT",
                       "contains a word of user_inputs[%zu] (a name or address of the user)", i);
                break;
            }
    }
    if (!repetitive && (level->max_repeat || level->max_sequence)) {
        if (!s_pwquality (level, (const char *)normal, false, &code, reason, sizeof reason)) {
            rc = -1;
            goto done;
        }
        repetitive = code == PWQ_ERROR_MAX_CONSECUTIVE || code == PWQ_ERROR_MAX_SEQUENCE ||
                     code == PWQ_ERROR_PALINDROME;
    }
    if (repetitive)
        s_add (out, &n, "REPETITIVE", "is too repetitive or sequential (%s)", reason);
done:
    if (folded)
        secpol_password_free (folded, folded_size);
    secpol_password_free (normal, bytes);
    *n_out = rc ? 0 : n;
    return rc;
}

static void
s_add (secpol_password_violation_t *out, size_t *n, const char *code, const char *fmt, ...)
{
    if (*n >= SECPOL_PASSWORD_VIOLATIONS_MAX)
        return;
    out[*n].code = code;
    va_list args;
    va_start (args, fmt);
    vsnprintf (out[*n].message, sizeof out[*n].message, fmt, args);
    va_end (args);
    (*n)++;
}

/*  One libpwquality check of password with every setting made here (no
 *  configuration file is read): the cracklib dictionary, or the level's
 *  repetition and sequence limits. libpwquality always rejects a
 *  palindrome, whatever the settings. Sets *code to the pwquality code (0
 *  when it passes) and reason to why (never quoting the password); returns
 *  false when the check could not run. */
static bool
s_pwquality (const secpol_password_level_t *level, const char *password, bool dictionary, int *code,
             char *reason, size_t reason_size)
{
    reason[0] = 0;
    *code = 0;
    pwquality_settings_t *settings = pwquality_default_settings ();
    if (!settings)
        return false;
    int rc = 0;
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_MIN_LENGTH, 6); /* its floor; ours ran */
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_DIG_CREDIT, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_UP_CREDIT, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_LOW_CREDIT, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_OTH_CREDIT, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_MIN_CLASS, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_MAX_CLASS_REPEAT, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_GECOS_CHECK, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_USER_CHECK, 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_DICT_CHECK, dictionary ? 1 : 0);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_MAX_REPEAT,
                                   dictionary ? 0 : level->max_repeat);
    rc |= pwquality_set_int_value (settings, PWQ_SETTING_MAX_SEQUENCE,
                                   dictionary ? 0 : level->max_sequence);
    if (rc) {
        pwquality_free_settings (settings);
        return false;
    }
    void *aux = NULL;
    pthread_mutex_lock (&s_cracklib_mutex);
    int result = pwquality_check (settings, password, NULL, NULL, &aux);
    if (result == PWQ_ERROR_CRACKLIB_CHECK)
        snprintf (reason, reason_size, "%s", aux ? (const char *)aux : "cracklib");
    pthread_mutex_unlock (&s_cracklib_mutex);
    pwquality_free_settings (settings);
    switch (result) {
        case PWQ_ERROR_CRACKLIB_CHECK:
            if (strstr (reason, "error loading dictionary"))
                return false; /* no dictionary: fail closed */
            break;
        case PWQ_ERROR_PALINDROME:
            snprintf (reason, reason_size, "it reads the same backwards");
            break;
        case PWQ_ERROR_MAX_CONSECUTIVE:
            snprintf (reason, reason_size, "a character repeats more than %d times in a row",
                      level->max_repeat);
            break;
        case PWQ_ERROR_MAX_SEQUENCE:
            snprintf (reason, reason_size, "it holds a run like 12345 or abcde longer than %d",
                      level->max_sequence);
            break;
        case PWQ_ERROR_MEM_ALLOC:
        case PWQ_ERROR_FATAL_FAILURE:
            return false;
        default:
            break;
    }
    *code = result > 0 ? 0 : result; /* a positive result is a score */
    return true;
}

/*  cracklib strips only a character or two of decoration, so that
 *  "password1234" or "passwordpassword" pass it. Checks again the core of
 *  the password: without the digits and punctuation around it, and its
 *  first half when it is one word twice. Sets *code as s_pwquality does
 *  (0 when the core passes or is under 6 bytes); normal is restored. */
static bool
s_check_core (const secpol_password_level_t *level, char *normal, size_t bytes, int *code,
              char *reason, size_t reason_size)
{
    *code = 0;
    size_t start = 0, end = bytes;
    while (start < end && (unsigned char)normal[start] < 0x80 &&
           !isalpha ((unsigned char)normal[start]))
        start++;
    while (end > start && (unsigned char)normal[end - 1] < 0x80 &&
           !isalpha ((unsigned char)normal[end - 1]))
        end--;
    if (end - start >= 12 && (end - start) % 2 == 0 &&
        memcmp (normal + start, normal + start + (end - start) / 2, (end - start) / 2) == 0)
        end = start + (end - start) / 2;
    if ((start == 0 && end == bytes) || end - start < 6)
        return true;
    char saved = normal[end];
    normal[end] = 0;
    bool ran = s_pwquality (level, normal + start, true, code, reason, reason_size);
    normal[end] = saved;
    if (*code != PWQ_ERROR_CRACKLIB_CHECK)
        *code = 0; /* only the dictionary's verdict on the core counts */
    return ran;
}

/*  True when the case-folded password contains a word of input: a run of
 *  at least SECPOL_PASSWORD_TOKEN_MIN letters or digits, compared after
 *  NFKC case folding. */
static bool
s_contains_user_input (const uint8_t *folded, size_t folded_size, const char *input)
{
    size_t size = 0;
    uint8_t *text =
        u8_casefold ((const uint8_t *)input, strlen (input), NULL, UNINORM_NFKC, NULL, &size);
    if (!text)
        return false;
    bool found = false;
    size_t at = 0;
    while (at < size && !found) {
        /* skip separators, then take one word */
        ucs4_t c;
        int step = u8_mbtouc (&c, text + at, size - at);
        if (!uc_is_alnum (c)) {
            at += (size_t)step;
            continue;
        }
        size_t start = at, chars = 0;
        while (at < size) {
            step = u8_mbtouc (&c, text + at, size - at);
            if (!uc_is_alnum (c))
                break;
            at += (size_t)step;
            chars++;
        }
        if (chars >= SECPOL_PASSWORD_TOKEN_MIN && at - start <= folded_size &&
            memmem (folded, folded_size, text + start, at - start))
            found = true;
    }
    free (text);
    return found;
}
