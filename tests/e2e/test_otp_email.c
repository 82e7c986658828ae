/*  test_otp_email.c - OtpService's email codes against a real secpold:
 *  the policy switch, six uniform digits, single use, expiry (with the test
 *  clock), replacement that keeps the failure count, the burn after five
 *  wrong tries, the TWO_FACTOR lockout (a locked subject is refused even
 *  the right code, and the answer carries the counter), purposes kept
 *  apart, durability, and bad requests.
 *
 *  Standards: NIST SP 800-63B 5.1.3 (out-of-band codes: short-lived, used
 *  once) and 5.2.2 (rate limiting; a new code does not reset the failure
 *  count); OWASP ASVS 4.0.3 V2.7.
 */
#include "otp_test.h"

#include "secpol/v1/admin.pb-c.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBJECT "u1"
#define SIGN_IN "sign_in"

/*  Issues a code for subject and purpose; the response is the caller's. */
static Secpol__V1__IssueEmailOtpResponse *
s_issue (secpol_client_t *client, const char *subject, const char *purpose, int want)
{
    Secpol__V1__IssueEmailOtpRequest request = SECPOL__V1__ISSUE_EMAIL_OTP_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.purpose = (char *)purpose;
    return otp_call (client, OTP_PATH "IssueEmailOtp", &request.base, want);
}

static otp_verdict_t *
s_verify (secpol_client_t *client, const char *subject, const char *purpose, const char *code,
          int want)
{
    Secpol__V1__VerifyEmailOtpRequest request = SECPOL__V1__VERIFY_EMAIL_OTP_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.purpose = (char *)purpose;
    request.code = (char *)code;
    return otp_call (client, OTP_PATH "VerifyEmailOtp", &request.base, want);
}

static void
test_off_by_default_and_refused_when_off (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    /* email_two_step_enabled defaults to false */
    s_issue (client, SUBJECT, SIGN_IN, SECPOL_FAILED_PRECONDITION);
    assert_non_null (strstr (secpol_client_status (client)->message, "email_two_step_enabled"));
    otp_policy (client, true, 0, true, 5, 15);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    /* turned off meanwhile: the code cannot be verified either */
    otp_policy (client, false, 0, true, 5, 15);
    s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_FAILED_PRECONDITION);
    otp_policy (client, true, 0, true, 5, 15);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_a_code_is_six_digits_lives_its_ttl_and_works_once (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 120, true, 5, 15);
    int64_t before = otp_offset (client, 0);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    int64_t after = otp_offset (client, 0);
    assert_int_equal (strlen (issued->code), 6);
    assert_int_equal (strspn (issued->code, "0123456789"), 6);
    assert_true (issued->expires_at >= before + 120 && issued->expires_at <= after + 120);
    assert_false (issued->replaced);
    assert_non_null (issued->lockout);
    assert_int_equal (issued->lockout->failures, 0);
    char code[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);

    /* typed with a space: the same code */
    char spaced[8];
    snprintf (spaced, sizeof spaced, "%.3s %s", code, code + 3);
    otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, spaced, SECPOL_OK);
    assert_int_equal (verdict->attempts_left, 0);
    otp_expect (verdict, true, "", 0, false);
    /* used: the second try is a wrong code, and counts */
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), false, "invalid", 1, false);

    /* codes are uniform: 40 codes are not all alike, and each is six digits */
    char first[7] = "";
    bool differ = false;
    for (int i = 0; i < 40; i++) {
        issued = s_issue (client, SUBJECT, "spread", SECPOL_OK);
        assert_int_equal (strspn (issued->code, "0123456789"), 6);
        assert_int_equal (strlen (issued->code), 6);
        if (i == 0)
            snprintf (first, sizeof first, "%s", issued->code);
        else if (strcmp (first, issued->code) != 0)
            differ = true;
        otp_free (issued);
    }
    assert_true (differ);
    secpol_client_destroy (&client);
}

static void
test_a_code_expires (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 60, true, 5, 15);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7];
    snprintf (code, sizeof code, "%s", issued->code);
    int64_t expires_at = issued->expires_at;
    otp_free (issued);
    /* at expires_at it is dead, right code or not; each try counts */
    assert_true (otp_offset (client, 61) >= expires_at);
    otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK);
    assert_int_equal (verdict->attempts_left, 0);
    otp_expect (verdict, false, "expired", 1, false);
    /* an hour on, the sweep may have taken it: then it is no code at all */
    otp_offset (client, 61 + 3600 + 1);
    otp_verdict_t *late = s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK);
    assert_false (late->ok);
    assert_true (strcmp (late->reason, "expired") == 0 || strcmp (late->reason, "invalid") == 0);
    otp_free (late);
    /* a fresh code, inside its lifetime, works */
    otp_offset (client, 0);
    issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    otp_offset (client, 45);
    verdict = s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK);
    assert_true (verdict->ok);
    otp_free (verdict);
    secpol_client_destroy (&client);
}

static void
test_a_new_code_replaces_the_old_and_keeps_the_failures (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 0, true, 5, 15);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char old[7], wrong[7];
    snprintf (old, sizeof old, "%s", issued->code);
    otp_free (issued);
    otp_wrong_code (wrong, old);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK), false, "invalid", 1, false);

    /* the new code (another one: the old must be dead, not merely equal) */
    char code[7];
    do {
        issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
        assert_true (issued->replaced);
        /* NIST SP 800-63B: a new code does not reset the count */
        assert_int_equal (issued->lockout->failures, 1);
        assert_int_equal (issued->lockout->remaining_attempts, 4);
        snprintf (code, sizeof code, "%s", issued->code);
        otp_free (issued);
    } while (strcmp (code, old) == 0);
    otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, old, SECPOL_OK);
    assert_int_equal (verdict->attempts_left, 4); /* the new code's tries: the old one's are gone */
    otp_expect (verdict, false, "invalid", 2, false);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_a_code_works_once_even_under_concurrent_tries (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 0, true, 0, 0); /* lockout off: seven refusals lock nothing */
    for (int round = 0; round < 3; round++) {
        Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
        Secpol__V1__VerifyEmailOtpRequest request = SECPOL__V1__VERIFY_EMAIL_OTP_REQUEST__INIT;
        request.workspace_id = OTP_WS;
        request.subject_id = SUBJECT;
        request.purpose = SIGN_IN;
        request.code = issued->code;
        assert_int_equal (otp_race (*state, OTP_PATH "VerifyEmailOtp", &request.base, "invalid"),
                          1);
        otp_free (issued);
    }
    secpol_client_destroy (&client);
}

static void
test_five_wrong_tries_burn_a_code (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 0, true, 0, 0); /* lockout off: the burn alone */
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7], wrong[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    otp_wrong_code (wrong, code);
    for (uint32_t i = 1; i <= 5; i++) {
        otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK);
        assert_false (verdict->ok);
        assert_int_equal (verdict->attempts_left, 5 - i);
        assert_string_equal (verdict->reason, i < 5 ? "invalid" : "burned");
        assert_false (verdict->lockout->locked);
        otp_free (verdict);
    }
    otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK);
    assert_false (verdict->ok);
    assert_string_equal (verdict->reason, "burned");
    otp_free (verdict);
    /* four wrong tries leave the right code working */
    issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    otp_wrong_code (wrong, code);
    for (int i = 0; i < 4; i++)
        otp_free (s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK));
    verdict = s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK);
    assert_true (verdict->ok);
    otp_free (verdict);
    secpol_client_destroy (&client);
}

static void
test_a_locked_subject_is_refused_even_the_right_code (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 600, true, 3, 5); /* 3 failures lock for 5 minutes; codes live 10 */
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7], wrong[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    otp_wrong_code (wrong, code);
    otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK);
    assert_int_equal (verdict->lockout->remaining_attempts, 2);
    otp_expect (verdict, false, "invalid", 1, false);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK), false, "invalid", 2, false);
    verdict = s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK);
    assert_true (verdict->lockout->just_locked);
    assert_true (verdict->lockout->retry_after_seconds > 0);
    otp_expect (verdict, false, "invalid", 3, true);

    /* locked: the right code is refused, counted as nothing, spent as nothing */
    verdict = s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK);
    assert_int_equal (verdict->lockout->remaining_attempts, 0);
    otp_expect (verdict, false, "locked", 3, true);
    /* a new code while locked: issued, and the answer says locked */
    issued = s_issue (client, SUBJECT, "other", SECPOL_OK);
    assert_true (issued->lockout->locked);
    otp_free (issued);
    /* the lock ends (5 minutes on): the code, never spent, works */
    otp_offset (client, 5 * 60 + 1);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);

    /* an admin unlock also lets the right code through */
    otp_offset (client, 0);
    issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    otp_wrong_code (wrong, code);
    for (int i = 0; i < 3; i++)
        otp_free (s_verify (client, SUBJECT, SIGN_IN, wrong, SECPOL_OK));
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), false, "locked", 3, true);
    otp_unlock (client, SUBJECT);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_purposes_and_subjects_are_apart (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 0, true, 0, 0);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    otp_verdict_t *verdict = s_verify (client, SUBJECT, "email_change", code, SECPOL_OK);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    verdict = s_verify (client, "u2", SIGN_IN, code, SECPOL_OK);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    /* a subject never seen answers as any subject without a code */
    verdict = s_verify (client, "nobody-at-all", SIGN_IN, "000000", SECPOL_OK);
    assert_false (verdict->ok);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_an_issued_code_survives_a_restart (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    otp_policy (client, true, 0, true, 5, 15);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    secpol_client_destroy (&client);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);
    secpol_client_destroy (&client);
}

/*  --key-file: the master key in a directory of its own. */
static char s_key_dir[128], s_key_path[160];

static int
s_setup_key_file (void **state)
{
    snprintf (s_key_dir, sizeof s_key_dir, "/tmp/secpol-otp-key.%ld", (long)getpid ());
    snprintf (s_key_path, sizeof s_key_path, "%s/master.key", s_key_dir);
    if (mkdir (s_key_dir, 0700) != 0)
        return -1;
    static const char *args[] = {"--key-file", s_key_path, NULL};
    return secpol_test_daemon_setup_with (state, args);
}

static int
s_teardown_key_file (void **state)
{
    int rc = secpol_test_daemon_teardown (state);
    char path[300];
    snprintf (path, sizeof path, "%s/backup/secret.key", s_key_dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/backup/data.mdb", s_key_dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/backup", s_key_dir);
    rmdir (path);
    unlink (s_key_path);
    rmdir (s_key_dir);
    return rc;
}

/*  Fails unless the two files hold the same bytes. */
static void
s_same_file (const char *a, const char *b)
{
    uint8_t bytes[2][64];
    size_t sizes[2];
    const char *paths[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        FILE *file = fopen (paths[i], "rb");
        if (!file)
            fail_msg ("cannot open %s", paths[i]);
        sizes[i] = fread (bytes[i], 1, sizeof bytes[i], file);
        fclose (file);
    }
    assert_int_equal (sizes[0], 32);
    assert_int_equal (sizes[1], 32);
    assert_memory_equal (bytes[0], bytes[1], 32);
}

static void
test_the_key_file_option_and_what_losing_the_key_means (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    struct stat st;
    assert_int_equal (stat (s_key_path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    assert_int_equal (st.st_size, 32);
    char default_path[600];
    snprintf (default_path, sizeof default_path, "%s/secret.key", daemon->data_dir);
    assert_int_not_equal (stat (default_path, &st), 0); /* not made where it is not used */

    secpol_client_t *client = secpol_test_client (daemon);
    otp_policy (client, true, 0, true, 0, 0);
    Secpol__V1__IssueEmailOtpResponse *issued = s_issue (client, SUBJECT, SIGN_IN, SECPOL_OK);
    char code[7];
    snprintf (code, sizeof code, "%s", issued->code);
    otp_free (issued);
    issued = s_issue (client, SUBJECT, "other", SECPOL_OK);
    char other[7];
    snprintf (other, sizeof other, "%s", issued->code);
    otp_free (issued);
    secpol_client_destroy (&client);

    /* AdminService/Backup copies the key file in use beside data.mdb */
    char backup[200], copied[260];
    snprintf (backup, sizeof backup, "%s/backup", s_key_dir);
    Secpol__V1__BackupRequest request = SECPOL__V1__BACKUP_REQUEST__INIT;
    request.path = backup;
    client = secpol_test_client (daemon);
    otp_free (otp_call (client, "/secpol.v1.AdminService/Backup", &request.base, SECPOL_OK));
    secpol_client_destroy (&client);
    snprintf (copied, sizeof copied, "%s/secret.key", backup);
    s_same_file (copied, s_key_path);

    /* the same key file: the code matches */
    static const char *args[] = {"--key-file", s_key_path, NULL};
    assert_int_equal (secpol_test_daemon_restart (daemon, args), 0);
    client = secpol_test_client (daemon);
    otp_expect (s_verify (client, SUBJECT, SIGN_IN, code, SECPOL_OK), true, "", 0, false);
    secpol_client_destroy (&client);

    /* without it (a new key in the data dir): stored hashes match nothing */
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    assert_int_equal (stat (default_path, &st), 0);
    client = secpol_test_client (daemon);
    otp_expect (s_verify (client, SUBJECT, "other", other, SECPOL_OK), false, "invalid", 0, false);
    secpol_client_destroy (&client);
}

static void
test_bad_requests_are_named (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, true, 0, true, 5, 15);
    s_issue (client, "", SIGN_IN, SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "subject_id");
    s_issue (client, SUBJECT, "", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "purpose");
    s_issue (client, SUBJECT, "sign in", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "purpose");
    static const char *const bad_codes[] = {"", "12345", "1234567", "12a456", "١٢٣٤٥٦", "12-456"};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        s_verify (client, SUBJECT, SIGN_IN, bad_codes[i], SECPOL_INVALID_ARGUMENT);
        otp_expect_violation (client, "code");
    }
    /* nothing counted for a malformed request */
    otp_verdict_t *verdict = s_verify (client, SUBJECT, SIGN_IN, "000 000", SECPOL_OK);
    assert_int_equal (verdict->lockout->failures, 1);
    otp_free (verdict);
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_off_by_default_and_refused_when_off),
        SECPOL_TEST_WITH_DAEMON (test_a_code_is_six_digits_lives_its_ttl_and_works_once),
        SECPOL_TEST_WITH_DAEMON (test_a_code_expires),
        SECPOL_TEST_WITH_DAEMON (test_a_new_code_replaces_the_old_and_keeps_the_failures),
        SECPOL_TEST_WITH_DAEMON (test_a_code_works_once_even_under_concurrent_tries),
        SECPOL_TEST_WITH_DAEMON (test_five_wrong_tries_burn_a_code),
        SECPOL_TEST_WITH_DAEMON (test_a_locked_subject_is_refused_even_the_right_code),
        SECPOL_TEST_WITH_DAEMON (test_purposes_and_subjects_are_apart),
        SECPOL_TEST_WITH_DAEMON (test_an_issued_code_survives_a_restart),
        SECPOL_TEST_WITH_DAEMON (test_bad_requests_are_named),
        cmocka_unit_test_setup_teardown (test_the_key_file_option_and_what_losing_the_key_means,
                                         s_setup_key_file, s_teardown_key_file),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
