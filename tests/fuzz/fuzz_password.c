/*  fuzz_password.c - the password rules (password_rules.c) on arbitrary
 *  passwords and user inputs: NFKC normalisation and code-point counts
 *  (libunistring), the cracklib dictionary and repetition checks
 *  (libpwquality), the user-input word search.
 *
 *  Input: byte 0 chooses the level (bits 0-1: UNSPECIFIED, LOW, MEDIUM,
 *  HIGH; bit 2: an unknown value instead), byte 1 the number of user
 *  inputs (bits 0-1); the rest is split at NUL bytes into the password and
 *  then the user inputs (a string with a NUL never reaches the rules: the
 *  dispatcher refuses it). Invalid UTF-8 is refused by the dispatcher too:
 *  the rules must then fail (-1) rather than guess.
 *
 *  Invariants (abort when broken), for a valid UTF-8 password:
 *  - the check runs (0), with at most SECPOL_PASSWORD_VIOLATIONS_MAX
 *    violations, each with a known code (once) and a non-empty message;
 *  - TOO_LONG exactly when the password is over SECPOL_PASSWORD_MAX_BYTES
 *    bytes or over SECPOL_PASSWORD_MAX_CHARS code points after NFKC, and
 *    then it is the only violation; otherwise TOO_SHORT exactly when under
 *    the level's least length;
 *  - CONTAINS_USER_INPUT only at a level that rejects user inputs, and
 *    only with some user input;
 *  - NFKC is idempotent, and the rules give the same codes for the
 *    password and for its normal form;
 *  - the same input gives the same answer twice.
 */
#include "fuzz_support.h"

#include "password_rules.h"

#include <stdbool.h>
#include <string.h>
#include <unistr.h>

#define MAX_INPUTS 3

static const char *const s_codes[] = {"TOO_SHORT", "TOO_LONG", "COMMON", "REPETITIVE",
                                      "CONTAINS_USER_INPUT"};

static void s_check (const secpol_password_violation_t *found, size_t n);
static bool s_has (const secpol_password_violation_t *found, size_t n, const char *code);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4 * SECPOL_PASSWORD_MAX_BYTES)
        return 0;
    int level_byte = data[0];
    int level = level_byte & 4 ? 77 : level_byte & 3;
    size_t want_inputs = data[1] & 3;
    /* split the rest at NULs, each piece in its own buffer for ASan */
    char *pieces[1 + MAX_INPUTS] = {0};
    size_t n_pieces = 0, at = 2;
    while (n_pieces < 1 + want_inputs) {
        const uint8_t *end = memchr (data + at, 0, size - at);
        size_t length = end ? (size_t)(end - (data + at)) : size - at;
        pieces[n_pieces] = malloc (length + 1);
        memcpy (pieces[n_pieces], data + at, length);
        pieces[n_pieces][length] = 0;
        n_pieces++;
        at += length + (end ? 1 : 0);
        if (!end)
            break;
    }
    const char *password = pieces[0];
    const char *const *inputs = (const char *const *)pieces + 1;
    size_t n_inputs = n_pieces - 1;
    const secpol_password_level_t *rules = secpol_password_level (level);
    size_t bytes = strlen (password);
    bool valid = u8_check ((const uint8_t *)password, bytes) == NULL;
    for (size_t i = 0; i < n_inputs; i++)
        valid = valid && u8_check ((const uint8_t *)inputs[i], strlen (inputs[i])) == NULL;

    secpol_password_violation_t found[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n = 0;
    int rc = secpol_password_rules_check (found, &n, rules, password, inputs, n_inputs);
    if (!valid) {
        FUZZ_REQUIRE (bytes > SECPOL_PASSWORD_MAX_BYTES || rc == -1 || n_inputs,
                      "invalid UTF-8 judged: rc %d", rc);
        goto done;
    }
    FUZZ_REQUIRE (rc == 0, "the check did not run (is cracklib-runtime installed?)");
    s_check (found, n);

    size_t normal_bytes = 0, chars = 0;
    uint8_t *normal = NULL;
    bool too_long = bytes > SECPOL_PASSWORD_MAX_BYTES;
    if (!too_long) {
        normal = secpol_password_normalize (password, bytes, &normal_bytes, &chars);
        FUZZ_REQUIRE (normal, "valid UTF-8 does not normalise");
        too_long = chars > SECPOL_PASSWORD_MAX_CHARS;
    }
    FUZZ_REQUIRE (s_has (found, n, "TOO_LONG") == too_long,
                  "TOO_LONG is %d for %zu bytes, %zu chars", s_has (found, n, "TOO_LONG"), bytes,
                  chars);
    if (too_long)
        FUZZ_REQUIRE (n == 1, "TOO_LONG with %zu violations", n);
    else
        FUZZ_REQUIRE (s_has (found, n, "TOO_SHORT") == (chars < rules->min_chars),
                      "TOO_SHORT is %d for %zu chars at %s", s_has (found, n, "TOO_SHORT"), chars,
                      rules->name);
    if (s_has (found, n, "CONTAINS_USER_INPUT"))
        FUZZ_REQUIRE (rules->reject_user_inputs && n_inputs, "user inputs checked at %s",
                      rules->name);

    /* the same answer twice */
    secpol_password_violation_t again[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n_again = 0;
    FUZZ_REQUIRE (
        secpol_password_rules_check (again, &n_again, rules, password, inputs, n_inputs) == 0,
        "second check failed");
    FUZZ_REQUIRE (n_again == n, "%zu then %zu violations", n, n_again);
    for (size_t i = 0; i < n; i++)
        FUZZ_REQUIRE (strcmp (found[i].code, again[i].code) == 0 &&
                          strcmp (found[i].message, again[i].message) == 0,
                      "answer %zu changed", i);

    /* NFKC is idempotent, and the normal form gets the same codes */
    if (normal) {
        size_t twice_bytes, twice_chars;
        uint8_t *twice = secpol_password_normalize ((const char *)normal, normal_bytes,
                                                    &twice_bytes, &twice_chars);
        FUZZ_REQUIRE (twice && twice_bytes == normal_bytes && twice_chars == chars &&
                          memcmp (twice, normal, normal_bytes) == 0,
                      "NFKC is not idempotent");
        secpol_password_free (twice, twice_bytes);
        if (normal_bytes <= SECPOL_PASSWORD_MAX_BYTES) {
            FUZZ_REQUIRE (secpol_password_rules_check (again, &n_again, rules, (const char *)normal,
                                                       inputs, n_inputs) == 0,
                          "check of the normal form failed");
            FUZZ_REQUIRE (n_again == n, "normal form: %zu violations, not %zu", n_again, n);
            for (size_t i = 0; i < n; i++)
                FUZZ_REQUIRE (strcmp (found[i].code, again[i].code) == 0, "normal form: %s, not %s",
                              again[i].code, found[i].code);
        }
        secpol_password_free (normal, normal_bytes);
    }
done:
    for (size_t i = 0; i < n_pieces; i++)
        free (pieces[i]);
    return 0;
}

static void
s_check (const secpol_password_violation_t *found, size_t n)
{
    FUZZ_REQUIRE (n <= SECPOL_PASSWORD_VIOLATIONS_MAX, "%zu violations", n);
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof s_codes / sizeof s_codes[0]; k++)
            known |= strcmp (found[i].code, s_codes[k]) == 0;
        FUZZ_REQUIRE (known, "unknown code %s", found[i].code);
        FUZZ_REQUIRE (found[i].message[0], "%s without a message", found[i].code);
        for (size_t j = 0; j < i; j++)
            FUZZ_REQUIRE (strcmp (found[i].code, found[j].code) != 0, "%s twice", found[i].code);
    }
}

static bool
s_has (const secpol_password_violation_t *found, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (found[i].code, code) == 0)
            return true;
    return false;
}
