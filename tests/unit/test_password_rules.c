/*  test_password_rules.c - the rules of the three password policy levels,
 *  as pure functions: lengths in code points after NFKC, the cracklib
 *  dictionary, user inputs, repetition.
 *
 *  Standards: NIST SP 800-63B 5.1.1.2 (at least 8 characters, at least 64
 *  accepted, no truncation, Unicode counted after normalisation, a
 *  block-list of common passwords, context-specific words such as the user
 *  name, repetitive or sequential characters); OWASP ASVS 4.0.3 V2.1.1-2.1.4,
 *  V2.1.7, V2.1.9 (no composition rules).
 */
#include "password_rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define LOW    SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_LOW
#define MEDIUM SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_MEDIUM
#define HIGH   SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH

static const char *const s_inputs[] = {"alice.smith@example.com", "Alice Smith"};

/*  The codes password breaks at level, joined with spaces ("" = none). */
static const char *
s_codes (int level, const char *password)
{
    static char joined[256];
    secpol_password_violation_t found[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n = 99;
    assert_int_equal (secpol_password_rules_check (found, &n, secpol_password_level (level),
                                                   password, s_inputs, 2),
                      0);
    joined[0] = 0;
    for (size_t i = 0; i < n; i++) {
        assert_non_null (found[i].message);
        assert_true (strlen (found[i].message) > 0);
        assert_null (strstr (found[i].message, password)); /* never quoted */
        snprintf (joined + strlen (joined), sizeof joined - strlen (joined), "%s%s", i ? " " : "",
                  found[i].code);
    }
    return joined;
}

static void
test_each_level_sets_its_least_length (void **state)
{
    (void)state;
    assert_string_equal (s_codes (LOW, "xk7#Qm2v"), "");
    assert_string_equal (s_codes (LOW, "xk7#Qm2"), "TOO_SHORT");
    assert_string_equal (s_codes (MEDIUM, "xk7#Qm2vL9pR"), "");
    assert_string_equal (s_codes (MEDIUM, "xk7#Qm2vL9p"), "TOO_SHORT");
    assert_string_equal (s_codes (HIGH, "xk7#Qm2vL9pRz4W"), "");
    assert_string_equal (s_codes (HIGH, "xk7#Qm2vL9pRz4"), "TOO_SHORT");
    /* unspecified is the default level, MEDIUM */
    assert_int_equal (secpol_password_level (0)->min_chars, 12);
    assert_int_equal (secpol_password_level (77)->min_chars, 12);
    assert_string_equal (s_codes (0, "xk7#Qm2vL9p"), "TOO_SHORT");
}

static void
test_no_composition_rules_a_long_passphrase_passes (void **state)
{
    (void)state;
    for (int level = LOW; level <= HIGH; level++) {
        assert_string_equal (s_codes (level, "correct horse battery staple"), "");
        assert_string_equal (s_codes (level, "all lower case words make a fine passphrase"), "");
    }
}

static void
test_common_passwords_fail_at_every_level (void **state)
{
    (void)state;
    assert_string_equal (s_codes (LOW, "password"), "COMMON");
    assert_string_equal (s_codes (LOW, "password123"), "COMMON");
    assert_string_equal (s_codes (MEDIUM, "password1234"), "COMMON");
    assert_string_equal (s_codes (HIGH, "password"), "TOO_SHORT COMMON");
    assert_string_equal (s_codes (LOW, "abcdefghijklmnop"), "COMMON");
    /* decorated and doubled words: the core is checked too */
    assert_string_equal (s_codes (MEDIUM, "!!sunshine2024!!"), "COMMON");
    assert_string_equal (s_codes (MEDIUM, "passwordpassword"), "COMMON");
}

static void
test_user_inputs_are_rejected_at_medium_and_high (void **state)
{
    (void)state;
    assert_string_equal (s_codes (LOW, "alicesmith-x7#Qm2vL9"), "");
    assert_string_equal (s_codes (MEDIUM, "alicesmith-x7#Qm2vL9"), "CONTAINS_USER_INPUT");
    assert_string_equal (s_codes (HIGH, "x7#Qm2vL9-EXAMPLE-zz"), "CONTAINS_USER_INPUT");
    /* case folded after NFKC: fullwidth letters are the same word */
    assert_string_equal (s_codes (HIGH, "x7#Qm2vL9-\xef\xbc\xa1\xef\xbd\x8c\xef\xbd\x89\xef\xbd"
                                        "\x83\xef\xbd\x85-zz"),
                         "CONTAINS_USER_INPUT");
    /* words under three characters do not count */
    const char *const short_input[] = {"al"};
    secpol_password_violation_t found[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n;
    assert_int_equal (secpol_password_rules_check (found, &n, secpol_password_level (HIGH),
                                                   "al-x7#Qm2vL9pRz4W", short_input, 1),
                      0);
    assert_int_equal (n, 0);
}

static void
test_repetition_and_sequences (void **state)
{
    (void)state;
    assert_string_equal (s_codes (LOW, "aaaaaaaaaaaaaaaa"), "REPETITIVE");
    assert_string_equal (s_codes (HIGH, "xk7#Qm2vL9pRzzzzz"), "REPETITIVE");
    assert_string_equal (s_codes (LOW, "xk7#Qm2vL9pRzzzzz"), "");
    assert_string_equal (s_codes (HIGH, "racecar12321racecar"), "REPETITIVE");
}

static void
test_lengths_count_code_points_after_nfkc (void **state)
{
    (void)state;
    /* 8 characters of 2 and 3 bytes each pass LOW; 7 do not */
    assert_string_equal (s_codes (LOW, "\xc3\xb1"
                                       "7\xe2\x82\xac\xc3\x9f\xe2\x88\x82\xce\xbb\xd0\x96q"),
                         "");
    assert_string_equal (s_codes (LOW, "\xc3\xb1"
                                       "7\xe2\x82\xac\xc3\x9f\xe2\x88\x82\xce\xbb\xd0\x96"),
                         "TOO_SHORT");
    /* e + combining acute is one character after normalisation */
    size_t bytes, chars;
    uint8_t *normal = secpol_password_normalize ("e\xcc\x81", 3, &bytes, &chars);
    assert_non_null (normal);
    assert_int_equal (chars, 1);
    assert_int_equal (bytes, 2);
    secpol_password_free (normal, bytes);
    /* the ligature U+FB01 is two characters under NFKC */
    normal = secpol_password_normalize ("\xef\xac\x81", 3, &bytes, &chars);
    assert_non_null (normal);
    assert_int_equal (chars, 2);
    assert_memory_equal (normal, "fi", 2);
    secpol_password_free (normal, bytes);
    assert_null (secpol_password_normalize ("\xff", 1, &bytes, &chars));
}

static void
test_64_accepted_128_the_most_never_truncated (void **state)
{
    (void)state;
    char password[600];
    /* 128 distinct-looking characters pass, 129 are TOO_LONG */
    const char *alphabet = "q8Zr#vT2mX!kL9wB";
    for (int i = 0; i < 129; i++)
        password[i] = alphabet[(i * 7 + i / 16) % 16];
    password[64] = 0;
    assert_string_equal (s_codes (HIGH, password), "");
    password[64] = alphabet[(64 * 7 + 4) % 16];
    password[128] = 0;
    assert_string_equal (s_codes (HIGH, password), "");
    password[128] = 'x';
    password[129] = 0;
    assert_string_equal (s_codes (LOW, password), "TOO_LONG");
    /* 128 four-byte characters (512 bytes) are still 128 characters */
    for (int i = 0; i < 128; i++)
        memcpy (password + 4 * i, i % 2 ? "\xf0\x9f\x94\x91" : "\xf0\x9f\x8c\xb2", 4);
    password[512] = 0;
    assert_string_equal (s_codes (LOW, password), "");
    /* past the wire cap it is TOO_LONG without being read */
    char *huge = malloc (SECPOL_PASSWORD_MAX_BYTES + 2);
    memset (huge, 'k', SECPOL_PASSWORD_MAX_BYTES + 1);
    huge[SECPOL_PASSWORD_MAX_BYTES + 1] = 0;
    assert_string_equal (s_codes (LOW, huge), "TOO_LONG");
    free (huge);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_each_level_sets_its_least_length),
        cmocka_unit_test (test_no_composition_rules_a_long_passphrase_passes),
        cmocka_unit_test (test_common_passwords_fail_at_every_level),
        cmocka_unit_test (test_user_inputs_are_rejected_at_medium_and_high),
        cmocka_unit_test (test_repetition_and_sequences),
        cmocka_unit_test (test_lengths_count_code_points_after_nfkc),
        cmocka_unit_test (test_64_accepted_128_the_most_never_truncated),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
