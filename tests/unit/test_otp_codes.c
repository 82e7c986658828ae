/*  test_otp_codes.c - OtpService's pure parts: HOTP and TOTP through
 *  liboath against the RFC test vectors, the ±1 window with replay, Base32
 *  without padding, the key URI an app enrolls from, and the shapes of
 *  email and recovery codes.
 *
 *  Vectors: RFC 4226 Appendix D (HOTP) and RFC 6238 Appendix B (TOTP,
 *  SHA1, SHA256, SHA512), copied from ../shared/testdata into tests/data/
 *  (rfc4226.tsv, rfc6238.tsv). Base32: RFC 4648 section 10. Key URI:
 *  Google Authenticator's Key Uri Format
 * (github.com/google/google-authenticator/wiki/Key-Uri-Format).
 */
#include "arena.h"
#include "otp_codes.h"
#include "otp_totp.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const char s_seed20[] = "12345678901234567890";
static const char s_seed32[] = "12345678901234567890123456789012";
static const char s_seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";

/*  Opens tests/data/name; fails the test when it is missing. */
static FILE *
s_open_vectors (const char *name)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/tests/data/%s", SECPOL_SOURCE_DIR, name);
    FILE *file = fopen (path, "r");
    if (!file)
        fail_msg ("cannot open %s", path);
    return file;
}

static void
test_rfc4226_appendix_d_hotp_vectors (void **state)
{
    (void)state;
    FILE *file = s_open_vectors ("rfc4226.tsv");
    char line[256];
    int rows = 0;
    while (fgets (line, sizeof line, file)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long long counter;
        char expected[16];
        assert_int_equal (sscanf (line, "%llu %15s", &counter, expected), 2);
        char code[SECPOL_TOTP_CODE_MAX];
        assert_int_equal (secpol_hotp_code (code, (const uint8_t *)s_seed20, 20, counter, 6), 0);
        assert_string_equal (code, expected);
        rows++;
    }
    fclose (file);
    assert_int_equal (rows, 10);
}

static void
test_rfc6238_appendix_b_totp_vectors (void **state)
{
    (void)state;
    FILE *file = s_open_vectors ("rfc6238.tsv");
    char line[256];
    int rows = 0, per_algorithm[3] = {0, 0, 0};
    while (fgets (line, sizeof line, file)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        long long time;
        char step_hex[32], expected[16], algorithm[16];
        assert_int_equal (
            sscanf (line, "%lld %31s %15s %15s", &time, step_hex, expected, algorithm), 4);
        assert_int_equal (secpol_totp_step (time), strtoull (step_hex, NULL, 16));
        secpol_totp_algorithm_t which = SECPOL_TOTP_SHA1;
        const char *seed = s_seed20;
        if (strcmp (algorithm, "SHA256") == 0)
            which = SECPOL_TOTP_SHA256, seed = s_seed32;
        else if (strcmp (algorithm, "SHA512") == 0)
            which = SECPOL_TOTP_SHA512, seed = s_seed64;
        else
            assert_string_equal (algorithm, "SHA1");
        char code[SECPOL_TOTP_CODE_MAX];
        assert_int_equal (
            secpol_totp_code (code, (const uint8_t *)seed, strlen (seed), time, 8, which), 0);
        if (strcmp (code, expected) != 0)
            fail_msg ("RFC 6238 %s at %lld: got %s, expected %s", algorithm, time, code, expected);
        rows++;
        per_algorithm[which]++;
    }
    fclose (file);
    assert_int_equal (rows, 18);
    assert_int_equal (per_algorithm[0], 6);
    assert_int_equal (per_algorithm[1], 6);
    assert_int_equal (per_algorithm[2], 6);
}

/*  The 6-digit SHA1 code of the RFC seed at step. */
static void
s_code_at (char code[SECPOL_TOTP_CODE_MAX], uint64_t step)
{
    assert_int_equal (secpol_totp_code (code, (const uint8_t *)s_seed20, 20,
                                        (int64_t)step * SECPOL_TOTP_PERIOD, 6, SECPOL_TOTP_SHA1),
                      0);
}

static void
test_the_window_is_one_step_either_side_and_replays_are_told (void **state)
{
    (void)state;
    const uint8_t *secret = (const uint8_t *)s_seed20;
    int64_t now = 1111111111; /* step 0x23523ED, 1 s into it */
    uint64_t current = secpol_totp_step (now), step;
    int drift;
    char code[SECPOL_TOTP_CODE_MAX];
    for (int d = -1; d <= 1; d++) {
        s_code_at (code, current + (uint64_t)(int64_t)d);
        assert_int_equal (secpol_totp_check (secret, 20, now, code, 0, &step, &drift),
                          SECPOL_TOTP_MATCH);
        assert_int_equal (step, current + (uint64_t)(int64_t)d);
        assert_int_equal (drift, d);
        /* that step used: a replay; a later step used: a replay too */
        assert_int_equal (secpol_totp_check (secret, 20, now, code, step, &step, &drift),
                          SECPOL_TOTP_REPLAY);
        assert_int_equal (secpol_totp_check (secret, 20, now, code, current + 1, &step, &drift),
                          SECPOL_TOTP_REPLAY);
    }
    for (int d = -3; d <= 3; d += 1) {
        if (d >= -1 && d <= 1)
            continue;
        s_code_at (code, current + (uint64_t)(int64_t)d);
        assert_int_equal (secpol_totp_check (secret, 20, now, code, 0, &step, &drift),
                          SECPOL_TOTP_NO_MATCH);
    }
    assert_int_equal (secpol_totp_check (secret, 20, now, "12345", 0, &step, &drift),
                      SECPOL_TOTP_NO_MATCH);
}

static void
test_base32_has_no_padding (void **state)
{
    (void)state;
    char text[SECPOL_TOTP_BASE32_MAX];
    assert_int_equal (secpol_totp_base32 (text, (const uint8_t *)s_seed20, 20), 0);
    assert_string_equal (text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /* RFC 4648 section 10: "foobar" is MZXW6YTBOI======, "f" is MY====== */
    assert_int_equal (secpol_totp_base32 (text, (const uint8_t *)"foobar", 6), 0);
    assert_string_equal (text, "MZXW6YTBOI");
    assert_int_equal (secpol_totp_base32 (text, (const uint8_t *)"f", 1), 0);
    assert_string_equal (text, "MY");
}

static void
test_the_key_uri_is_percent_encoded (void **state)
{
    (void)state;
    secpol_arena_t *arena = secpol_arena_new ();
    const char *secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_string_equal (secpol_totp_uri (arena, "Acme Co", "alice@example.com", secret),
                         "otpauth://totp/Acme%20Co:alice%40example.com?secret="
                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Co&algorithm=SHA1&"
                         "digits=6&period=30");
    assert_string_equal (secpol_totp_uri (arena, "Zoë & Co/1?", "a+b=c#d", secret),
                         "otpauth://totp/Zo%C3%AB%20%26%20Co%2F1%3F:a%2Bb%3Dc%23d?secret="
                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Zo%C3%AB%20%26%20Co%2F1%3F&"
                         "algorithm=SHA1&digits=6&period=30");
    assert_string_equal (secpol_totp_uri (arena, "", "bob", secret),
                         "otpauth://totp/bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
                         "algorithm=SHA1&digits=6&period=30");
    secpol_arena_destroy (&arena);
}

static void
test_email_codes_and_their_reading (void **state)
{
    (void)state;
    char code[SECPOL_OTP_CODE_BUF], read[SECPOL_OTP_CODE_BUF];
    int counts[10] = {0};
    for (int i = 0; i < 2000; i++) {
        secpol_otp_email_code_new (code);
        assert_int_equal (strlen (code), 6);
        assert_int_equal (strspn (code, "0123456789"), 6);
        counts[code[0] - '0']++;
        assert_true (secpol_otp_digits_read (read, code));
        assert_string_equal (read, code);
    }
    for (int d = 0; d < 10; d++) /* leading digits spread over 0-9 (zeros kept) */
        assert_true (counts[d] > 100 && counts[d] < 320);
    assert_true (secpol_otp_digits_read (read, " 012 345 "));
    assert_string_equal (read, "012345");
    assert_false (secpol_otp_digits_read (read, "01234"));
    assert_false (secpol_otp_digits_read (read, "0123456"));
    assert_false (secpol_otp_digits_read (read, "012-345"));
    assert_false (secpol_otp_digits_read (read, ""));
    assert_string_equal (read, "");
}

static void
test_recovery_codes_carry_60_bits_and_read_as_crockford (void **state)
{
    (void)state;
    char shown[SECPOL_OTP_RECOVERY_BUF], canonical[SECPOL_OTP_RECOVERY_CHARS + 1];
    char first[SECPOL_OTP_RECOVERY_BUF];
    secpol_otp_recovery_code_new (first);
    for (int i = 0; i < 200; i++) {
        secpol_otp_recovery_code_new (shown);
        assert_int_equal (strlen (shown), 14);
        assert_true (shown[4] == '-' && shown[9] == '-');
        assert_int_equal (strspn (shown, "0123456789ABCDEFGHJKMNPQRSTVWXYZ-"), 14);
        assert_string_not_equal (shown, first);
        assert_true (secpol_otp_recovery_code_read (canonical, shown));
        assert_int_equal (strlen (canonical), 12);
    }
    assert_true (secpol_otp_recovery_code_read (canonical, "abcd-efgh-jk0o"));
    assert_string_equal (canonical, "ABCDEFGHJK00");
    assert_true (secpol_otp_recovery_code_read (canonical, "iLl1 2345 6789"));
    assert_string_equal (canonical, "111123456789");
    assert_false (secpol_otp_recovery_code_read (canonical, "ABCD-EFGH-JKU0")); /* no U */
    assert_false (secpol_otp_recovery_code_read (canonical, "ABCD-EFGH-JK"));
    assert_false (secpol_otp_recovery_code_read (canonical, "ABCD-EFGH-JK00-0"));
    assert_false (secpol_otp_recovery_code_read (canonical, "ABCD_EFGH_JK00"));
}

static void
test_purposes (void **state)
{
    (void)state;
    assert_null (secpol_otp_purpose_problem ("sign_in"));
    assert_null (secpol_otp_purpose_problem ("email-change:v2.1"));
    assert_non_null (secpol_otp_purpose_problem (""));
    assert_non_null (secpol_otp_purpose_problem ("sign in"));
    assert_non_null (secpol_otp_purpose_problem ("é"));
    char long_purpose[66];
    memset (long_purpose, 'a', 65);
    long_purpose[65] = '\0';
    assert_non_null (secpol_otp_purpose_problem (long_purpose));
    long_purpose[64] = '\0';
    assert_null (secpol_otp_purpose_problem (long_purpose));
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rfc4226_appendix_d_hotp_vectors),
        cmocka_unit_test (test_rfc6238_appendix_b_totp_vectors),
        cmocka_unit_test (test_the_window_is_one_step_either_side_and_replays_are_told),
        cmocka_unit_test (test_base32_has_no_padding),
        cmocka_unit_test (test_the_key_uri_is_percent_encoded),
        cmocka_unit_test (test_email_codes_and_their_reading),
        cmocka_unit_test (test_recovery_codes_carry_60_bits_and_read_as_crockford),
        cmocka_unit_test (test_purposes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
