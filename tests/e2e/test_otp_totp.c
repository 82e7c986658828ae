/*  test_otp_totp.c - OtpService's authenticator apps against a real
 *  secpold, with codes computed from the secret the daemon hands out by the
 *  `oathtool` command (OATH Toolkit, Debian oathtool), as an app would:
 *  enrollment and its URI, confirmation, verification, replay, the ±1
 *  window and ±2 refused (the test clock moves the daemon between steps),
 *  the drift recorded, recovery codes used once and regenerated, a pending
 *  enrollment that never replaces an active one, removal, the policy
 *  switch, the lockout, an unenrolled subject answered as a wrong code, and
 *  the secret absent from the LMDB file and the log.
 *
 *  Time: each check sets the daemon's clock to a chosen time 10 s into a
 *  30 s step (s_at), so that the steps the test names are the daemon's
 *  whatever the wall clock says, with 20 s to spare.
 *
 *  Standards: RFC 6238 (TOTP: sections 5.2 one use per code, and 6 drift),
 *  RFC 4226, Google Authenticator Key Uri Format, NIST SP 800-63B 5.1.4.
 */
#define _GNU_SOURCE /* memmem */
#include "otp_test.h"

#include <liboath/oath.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SUBJECT "u1"
#define BASE    INT64_C (2000000010) /* the start of step 66666667 */
#define STEP(n) (BASE + 30 * (int64_t)(n) + 10)

typedef struct {
    char secret[64];       /* Base32, from the daemon */
    char recovery[10][16]; /* the codes shown at confirmation */
} enrollment_t;

/*  Sets the daemon's clock to time (unix seconds) and checks it took. */
static void
s_at (secpol_client_t *client, int64_t time_at)
{
    int64_t now = otp_offset (client, time_at - (int64_t)time (NULL));
    if (now / 30 != time_at / 30 || now < time_at)
        fail_msg ("the daemon's clock reads %lld, not %lld", (long long)now, (long long)time_at);
}

/*  The code oathtool computes from secret (Base32, given on stdin) at time. */
static void
s_oathtool (char code[7], const char *secret, int64_t time_at)
{
    char command[256];
    snprintf (command, sizeof command,
              "printf '%%s\\n' '%s' | oathtool --totp -b --digits=6 --now=@%lld -", secret,
              (long long)time_at);
    FILE *pipe = popen (command, "r");
    assert_non_null (pipe);
    char line[32] = "";
    bool got = fgets (line, sizeof line, pipe) != NULL;
    int status = pclose (pipe);
    if (!got || status != 0)
        fail_msg ("oathtool failed (status %d)", status);
    line[strcspn (line, "\n")] = '\0';
    assert_int_equal (strlen (line), 6);
    memcpy (code, line, 7);
}

static Secpol__V1__BeginTotpEnrollmentResponse *
s_begin (secpol_client_t *client, const char *subject, const char *account, const char *issuer,
         int want)
{
    Secpol__V1__BeginTotpEnrollmentRequest request =
        SECPOL__V1__BEGIN_TOTP_ENROLLMENT_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.account_name = (char *)account;
    request.issuer = (char *)issuer;
    return otp_call (client, OTP_PATH "BeginTotpEnrollment", &request.base, want);
}

static Secpol__V1__ConfirmTotpEnrollmentResponse *
s_confirm (secpol_client_t *client, const char *subject, const char *code, int want)
{
    Secpol__V1__ConfirmTotpEnrollmentRequest request =
        SECPOL__V1__CONFIRM_TOTP_ENROLLMENT_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.code = (char *)code;
    return otp_call (client, OTP_PATH "ConfirmTotpEnrollment", &request.base, want);
}

static otp_verdict_t *
s_verify (secpol_client_t *client, const char *subject, const char *code, int want)
{
    Secpol__V1__VerifyTotpRequest request = SECPOL__V1__VERIFY_TOTP_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.code = (char *)code;
    return otp_call (client, OTP_PATH "VerifyTotp", &request.base, want);
}

/*  VerifyTotp of the code oathtool gives for secret at step n. */
static otp_verdict_t *
s_verify_step (secpol_client_t *client, const char *secret, int64_t step_n)
{
    char code[7];
    s_oathtool (code, secret, STEP (step_n));
    return s_verify (client, SUBJECT, code, SECPOL_OK);
}

static otp_verdict_t *
s_recover (secpol_client_t *client, const char *subject, const char *code, int want)
{
    Secpol__V1__VerifyRecoveryCodeRequest request = SECPOL__V1__VERIFY_RECOVERY_CODE_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.code = (char *)code;
    return otp_call (client, OTP_PATH "VerifyRecoveryCode", &request.base, want);
}

static Secpol__V1__TotpStatus *
s_status (secpol_client_t *client, const char *subject)
{
    Secpol__V1__GetTotpStatusRequest request = SECPOL__V1__GET_TOTP_STATUS_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    return otp_call (client, OTP_PATH "GetTotpStatus", &request.base, SECPOL_OK);
}

static Secpol__V1__RemoveTotpResponse *
s_remove (secpol_client_t *client, const char *subject, int want)
{
    Secpol__V1__RemoveTotpRequest request = SECPOL__V1__REMOVE_TOTP_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    return otp_call (client, OTP_PATH "RemoveTotp", &request.base, want);
}

static Secpol__V1__RegenerateRecoveryCodesResponse *
s_regenerate (secpol_client_t *client, const char *subject, int want)
{
    Secpol__V1__RegenerateRecoveryCodesRequest request =
        SECPOL__V1__REGENERATE_RECOVERY_CODES_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    return otp_call (client, OTP_PATH "RegenerateRecoveryCodes", &request.base, want);
}

/*  Begins and confirms an enrollment of SUBJECT at step n (the daemon's
 *  clock left there) into *e. */
static void
s_enroll (secpol_client_t *client, int64_t step_n, enrollment_t *e)
{
    s_at (client, STEP (step_n));
    Secpol__V1__BeginTotpEnrollmentResponse *begun =
        s_begin (client, SUBJECT, "alice@example.com", "Acme", SECPOL_OK);
    snprintf (e->secret, sizeof e->secret, "%s", begun->secret_base32);
    otp_free (begun);
    char code[7];
    s_oathtool (code, e->secret, STEP (step_n));
    Secpol__V1__ConfirmTotpEnrollmentResponse *confirmed =
        s_confirm (client, SUBJECT, code, SECPOL_OK);
    assert_true (confirmed->ok);
    assert_int_equal (confirmed->n_recovery_codes, 10);
    for (size_t i = 0; i < 10; i++)
        snprintf (e->recovery[i], sizeof e->recovery[i], "%s", confirmed->recovery_codes[i]);
    otp_free (confirmed);
}

static void
test_enroll_confirm_and_verify_with_oathtool (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    /* authenticator_app_enabled is on by default */
    s_at (client, STEP (0));
    Secpol__V1__BeginTotpEnrollmentResponse *begun =
        s_begin (client, SUBJECT, "alice@example.com", "Acme Co", SECPOL_OK);
    /* 20 bytes: 32 Base32 characters, no padding */
    assert_int_equal (strlen (begun->secret_base32), 32);
    assert_int_equal (strspn (begun->secret_base32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
    char *decoded = NULL;
    size_t decoded_size = 0;
    assert_int_equal (oath_base32_decode (begun->secret_base32, 32, &decoded, &decoded_size),
                      OATH_OK);
    assert_int_equal (decoded_size, 20);
    free (decoded);
    char uri[256];
    snprintf (uri, sizeof uri,
              "otpauth://totp/Acme%%20Co:alice%%40example.com?secret=%s&issuer=Acme%%20Co&"
              "algorithm=SHA1&digits=6&period=30",
              begun->secret_base32);
    assert_string_equal (begun->otpauth_uri, uri);
    assert_int_equal (begun->digits, 6);
    assert_int_equal (begun->period_seconds, 30);
    assert_string_equal (begun->algorithm, "SHA1");
    assert_true (begun->expires_at > STEP (0));
    char secret[64];
    snprintf (secret, sizeof secret, "%s", begun->secret_base32);
    otp_free (begun);

    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_true (status->pending);
    assert_false (status->enrolled);
    otp_free (status);
    /* a pending enrollment verifies nothing */
    char code[7];
    s_oathtool (code, secret, STEP (0));
    otp_expect (s_verify (client, SUBJECT, code, SECPOL_OK), false, "invalid", 1, false);

    Secpol__V1__ConfirmTotpEnrollmentResponse *confirmed =
        s_confirm (client, SUBJECT, code, SECPOL_OK);
    assert_true (confirmed->ok);
    assert_false (confirmed->replaced);
    assert_int_equal (confirmed->n_recovery_codes, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal (strlen (confirmed->recovery_codes[i]), 14);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal (confirmed->recovery_codes[i], confirmed->recovery_codes[j]);
    }
    otp_free (confirmed);
    status = s_status (client, SUBJECT);
    assert_true (status->enrolled);
    assert_false (status->pending);
    assert_int_equal (status->recovery_codes_left, 10);
    assert_true (status->confirmed_at >= STEP (0));
    otp_free (status);

    /* the confirming code is spent: its step is used */
    otp_expect (s_verify (client, SUBJECT, code, SECPOL_OK), false, "replayed", 2, false);
    /* the next step's code: accepted, and the counter cleared */
    s_at (client, STEP (1));
    otp_expect (s_verify_step (client, secret, 1), true, "", 0, false);
    /* and survives a restart */
    secpol_client_destroy (&client);
    assert_int_equal (secpol_test_daemon_restart (*state, NULL), 0);
    client = secpol_test_client (*state);
    s_at (client, STEP (2));
    otp_expect (s_verify_step (client, secret, 2), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_the_window_is_one_step_either_side_and_a_step_is_used_once (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, false, 0, true, 0, 0); /* lockout off: many refusals below */
    enrollment_t e;
    s_enroll (client, 0, &e);

    s_at (client, STEP (10));
    otp_verdict_t *verdict = s_verify_step (client, e.secret, 9);
    assert_int_equal (verdict->drift_steps, -1);
    otp_expect (verdict, true, "", 0, false);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_int_equal (status->drift_steps, -1);
    otp_free (status);
    verdict = s_verify_step (client, e.secret, 10);
    assert_int_equal (verdict->drift_steps, 0);
    otp_expect (verdict, true, "", 0, false);
    verdict = s_verify_step (client, e.secret, 11);
    assert_int_equal (verdict->drift_steps, 1);
    otp_expect (verdict, true, "", 0, false);
    status = s_status (client, SUBJECT);
    assert_int_equal (status->drift_steps, 1); /* RFC 6238 section 6: drift recorded */
    assert_true (status->last_used_at >= STEP (10));
    otp_free (status);
    /* each of those steps is used now, and so is every step before the last */
    for (int64_t n = 9; n <= 11; n++) {
        verdict = s_verify_step (client, e.secret, n);
        assert_false (verdict->ok);
        assert_string_equal (verdict->reason, "replayed");
        otp_free (verdict);
    }

    /* two steps off is refused either way */
    s_at (client, STEP (20));
    verdict = s_verify_step (client, e.secret, 22);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    verdict = s_verify_step (client, e.secret, 18);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    /* the clock moves past the old steps: 30 s on, one step on */
    s_at (client, STEP (21));
    verdict = s_verify_step (client, e.secret, 22);
    assert_int_equal (verdict->drift_steps, 1);
    otp_expect (verdict, true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_a_step_and_a_recovery_code_work_once_even_under_concurrent_tries (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, false, 0, true, 0, 0);
    enrollment_t e;
    s_enroll (client, 0, &e);
    s_at (client, STEP (1));
    char code[7];
    s_oathtool (code, e.secret, STEP (1));
    Secpol__V1__VerifyTotpRequest totp = SECPOL__V1__VERIFY_TOTP_REQUEST__INIT;
    totp.workspace_id = OTP_WS;
    totp.subject_id = SUBJECT;
    totp.code = code;
    assert_int_equal (otp_race (*state, OTP_PATH "VerifyTotp", &totp.base, "replayed"), 1);
    Secpol__V1__VerifyRecoveryCodeRequest recovery = SECPOL__V1__VERIFY_RECOVERY_CODE_REQUEST__INIT;
    recovery.workspace_id = OTP_WS;
    recovery.subject_id = SUBJECT;
    recovery.code = e.recovery[5];
    assert_int_equal (otp_race (*state, OTP_PATH "VerifyRecoveryCode", &recovery.base, "invalid"),
                      1);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_int_equal (status->recovery_codes_left, 9);
    otp_free (status);
    secpol_client_destroy (&client);
}

static void
test_recovery_codes_work_once_and_regenerate (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, false, 0, true, 0, 0);
    enrollment_t e;
    s_enroll (client, 0, &e);

    otp_verdict_t *verdict = s_recover (client, SUBJECT, e.recovery[0], SECPOL_OK);
    assert_int_equal (verdict->recovery_codes_left, 9);
    otp_expect (verdict, true, "", 0, false);
    verdict = s_recover (client, SUBJECT, e.recovery[0], SECPOL_OK); /* used */
    assert_int_equal (verdict->recovery_codes_left, 9);
    otp_expect (verdict, false, "invalid", 0, false);
    /* as a person types it: lower case, no dashes */
    char typed[16];
    size_t n = 0;
    for (const char *p = e.recovery[1]; *p; p++)
        if (*p != '-')
            typed[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    typed[n] = '\0';
    verdict = s_recover (client, SUBJECT, typed, SECPOL_OK);
    assert_int_equal (verdict->recovery_codes_left, 8);
    otp_expect (verdict, true, "", 0, false);
    /* another subject's code is no code */
    verdict = s_recover (client, "u2", e.recovery[2], SECPOL_OK);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);

    Secpol__V1__RegenerateRecoveryCodesResponse *fresh = s_regenerate (client, SUBJECT, SECPOL_OK);
    assert_int_equal (fresh->n_recovery_codes, 10);
    char new_code[16];
    snprintf (new_code, sizeof new_code, "%s", fresh->recovery_codes[3]);
    otp_free (fresh);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_int_equal (status->recovery_codes_left, 10);
    otp_free (status);
    verdict = s_recover (client, SUBJECT, e.recovery[2], SECPOL_OK); /* the old set is gone */
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    verdict = s_recover (client, SUBJECT, new_code, SECPOL_OK);
    assert_int_equal (verdict->recovery_codes_left, 9);
    otp_expect (verdict, true, "", 0, false);

    s_recover (client, SUBJECT, "ABCD-EFGH-JKU0", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "code");
    s_regenerate (client, "u2", SECPOL_FAILED_PRECONDITION); /* nothing enrolled */
    secpol_client_destroy (&client);
}

static void
test_a_pending_enrollment_never_replaces_an_active_one (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, false, 0, true, 0, 0);
    enrollment_t first;
    s_enroll (client, 0, &first);

    s_at (client, STEP (5));
    Secpol__V1__BeginTotpEnrollmentResponse *begun =
        s_begin (client, SUBJECT, "alice@example.com", "Acme", SECPOL_OK);
    char second[64];
    snprintf (second, sizeof second, "%s", begun->secret_base32);
    otp_free (begun);
    assert_string_not_equal (first.secret, second);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_true (status->enrolled && status->pending);
    otp_free (status);
    /* the active app still answers; the pending one does not */
    otp_expect (s_verify_step (client, first.secret, 5), true, "", 0, false);
    otp_verdict_t *verdict = s_verify_step (client, second, 6);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    /* a wrong confirmation changes nothing (and counts nothing) */
    char code[7];
    s_oathtool (code, first.secret, STEP (6));
    char wrong[7];
    s_oathtool (wrong, second, STEP (6));
    if (strcmp (code, wrong) != 0) {
        Secpol__V1__ConfirmTotpEnrollmentResponse *refused =
            s_confirm (client, SUBJECT, code, SECPOL_OK);
        assert_false (refused->ok);
        assert_string_equal (refused->reason, "invalid");
        assert_int_equal (refused->n_recovery_codes, 0);
        otp_free (refused);
    }
    otp_expect (s_verify_step (client, first.secret, 6), true, "", 0, false);
    verdict = s_recover (client, SUBJECT, first.recovery[0], SECPOL_OK);
    assert_true (verdict->ok);
    otp_free (verdict);

    /* confirmed: the second app replaces the first, with new recovery codes */
    s_at (client, STEP (7));
    s_oathtool (code, second, STEP (7));
    Secpol__V1__ConfirmTotpEnrollmentResponse *confirmed =
        s_confirm (client, SUBJECT, code, SECPOL_OK);
    assert_true (confirmed->ok);
    assert_true (confirmed->replaced);
    otp_free (confirmed);
    s_at (client, STEP (8));
    verdict = s_verify_step (client, first.secret, 8);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    verdict = s_recover (client, SUBJECT, first.recovery[1], SECPOL_OK);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    otp_expect (s_verify_step (client, second, 8), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_a_pending_enrollment_expires_and_confirm_needs_one (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    s_at (client, STEP (0));
    s_confirm (client, SUBJECT, "123456", SECPOL_FAILED_PRECONDITION);
    Secpol__V1__BeginTotpEnrollmentResponse *begun =
        s_begin (client, SUBJECT, "bob", "", SECPOL_OK);
    char secret[64];
    snprintf (secret, sizeof secret, "%s", begun->secret_base32);
    /* 30 minutes from the call, which the wall clock may have moved a few
     * seconds past STEP (0) (s_at keeps it in that step) */
    int64_t begun_at = begun->expires_at - 1800;
    assert_true (begun_at >= STEP (0) && begun_at / 30 == STEP (0) / 30);
    /* no issuer: the label is the account alone */
    assert_non_null (strstr (begun->otpauth_uri, "otpauth://totp/bob?secret="));
    assert_null (strstr (begun->otpauth_uri, "issuer="));
    otp_free (begun);
    s_at (client, STEP (61)); /* 1830 s on: past the 30 minutes */
    char code[7];
    s_oathtool (code, secret, STEP (61));
    s_confirm (client, SUBJECT, code, SECPOL_FAILED_PRECONDITION);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_false (status->pending);
    assert_false (status->enrolled);
    otp_free (status);
    secpol_client_destroy (&client);
}

static void
test_remove_ends_the_app_and_its_codes (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, false, 0, true, 0, 0);
    enrollment_t e;
    s_enroll (client, 0, &e);
    Secpol__V1__RemoveTotpResponse *removed = s_remove (client, SUBJECT, SECPOL_OK);
    assert_true (removed->removed);
    otp_free (removed);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT);
    assert_false (status->enrolled);
    assert_int_equal (status->recovery_codes_left, 0);
    otp_free (status);
    s_at (client, STEP (1));
    otp_verdict_t *verdict = s_verify_step (client, e.secret, 1);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    verdict = s_recover (client, SUBJECT, e.recovery[0], SECPOL_OK);
    assert_string_equal (verdict->reason, "invalid");
    otp_free (verdict);
    removed = s_remove (client, SUBJECT, SECPOL_OK);
    assert_false (removed->removed);
    otp_free (removed);
    /* a pending one alone is removed too */
    otp_free (s_begin (client, SUBJECT, "alice", "Acme", SECPOL_OK));
    removed = s_remove (client, SUBJECT, SECPOL_OK);
    assert_true (removed->removed);
    otp_free (removed);
    s_confirm (client, SUBJECT, "123456", SECPOL_FAILED_PRECONDITION);
    secpol_client_destroy (&client);
}

static void
test_apps_off_in_the_policy (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    enrollment_t e;
    s_enroll (client, 0, &e);
    otp_policy (client, false, 0, false, 5, 15);
    s_begin (client, SUBJECT, "alice", "Acme", SECPOL_FAILED_PRECONDITION);
    assert_non_null (strstr (secpol_client_status (client)->message, "authenticator_app_enabled"));
    s_confirm (client, SUBJECT, "123456", SECPOL_FAILED_PRECONDITION);
    s_at (client, STEP (1));
    char code[7];
    s_oathtool (code, e.secret, STEP (1));
    s_verify (client, SUBJECT, code, SECPOL_FAILED_PRECONDITION);
    s_recover (client, SUBJECT, e.recovery[0], SECPOL_FAILED_PRECONDITION);
    s_regenerate (client, SUBJECT, SECPOL_FAILED_PRECONDITION);
    Secpol__V1__TotpStatus *status = s_status (client, SUBJECT); /* still readable */
    assert_true (status->enrolled);
    otp_free (status);
    /* back on: the enrollment is as it was */
    otp_policy (client, false, 0, true, 5, 15);
    otp_expect (s_verify (client, SUBJECT, code, SECPOL_OK), true, "", 0, false);
    /* off again: removal still works */
    otp_policy (client, false, 0, false, 5, 15);
    Secpol__V1__RemoveTotpResponse *removed = s_remove (client, SUBJECT, SECPOL_OK);
    assert_true (removed->removed);
    otp_free (removed);
    secpol_client_destroy (&client);
}

static void
test_lockout_refuses_the_right_code_and_an_unenrolled_subject_looks_alike (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    otp_policy (client, false, 0, true, 3, 15);
    enrollment_t e;
    s_enroll (client, 0, &e);
    s_at (client, STEP (1));
    char code[7];
    s_oathtool (code, e.secret, STEP (1));
    char wrong[7];
    otp_wrong_code (wrong, code);
    /* the unenrolled subject and the enrolled one answer a wrong code alike */
    otp_verdict_t *ghost = s_verify (client, "ghost", wrong, SECPOL_OK);
    otp_verdict_t *real = s_verify (client, SUBJECT, wrong, SECPOL_OK);
    assert_int_equal (ghost->ok, real->ok);
    assert_string_equal (ghost->reason, real->reason);
    assert_int_equal (ghost->lockout->failures, real->lockout->failures);
    assert_int_equal (ghost->lockout->remaining_attempts, real->lockout->remaining_attempts);
    otp_expect (ghost, false, "invalid", 1, false);
    otp_expect (real, false, "invalid", 1, false);
    otp_expect (s_verify (client, SUBJECT, wrong, SECPOL_OK), false, "invalid", 2, false);
    otp_verdict_t *verdict = s_verify (client, SUBJECT, wrong, SECPOL_OK);
    assert_true (verdict->lockout->just_locked);
    otp_expect (verdict, false, "invalid", 3, true);
    /* locked: the right code and a right recovery code are refused, spent as nothing */
    otp_expect (s_verify (client, SUBJECT, code, SECPOL_OK), false, "locked", 3, true);
    otp_expect (s_recover (client, SUBJECT, e.recovery[0], SECPOL_OK), false, "locked", 3, true);
    otp_unlock (client, SUBJECT);
    otp_expect (s_verify (client, SUBJECT, code, SECPOL_OK), true, "", 0, false);
    verdict = s_recover (client, SUBJECT, e.recovery[0], SECPOL_OK);
    assert_int_equal (verdict->recovery_codes_left, 9);
    otp_expect (verdict, true, "", 0, false);
    secpol_client_destroy (&client);
}

/*  Fails when the file at path holds needle (size bytes). */
static void
s_file_lacks (const char *path, const void *needle, size_t size, const char *what)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    fseek (file, 0, SEEK_END);
    long length = ftell (file);
    fseek (file, 0, SEEK_SET);
    assert_true (length > 0);
    char *data = malloc ((size_t)length);
    assert_non_null (data);
    assert_int_equal (fread (data, 1, (size_t)length, file), (size_t)length);
    fclose (file);
    bool found = memmem (data, (size_t)length, needle, size) != NULL;
    free (data);
    if (found)
        fail_msg ("%s holds the %s in plain text", path, what);
}

static void
test_the_secret_is_never_stored_or_logged_in_plain_text (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    enrollment_t e;
    s_enroll (client, 0, &e);
    /* a second secret, left pending */
    Secpol__V1__BeginTotpEnrollmentResponse *begun =
        s_begin (client, SUBJECT, "alice", "Acme", SECPOL_OK);
    char pending[64];
    snprintf (pending, sizeof pending, "%s", begun->secret_base32);
    otp_free (begun);
    secpol_client_destroy (&client);
    /* committed before the replies came; a stop makes sure of the file */
    assert_int_equal (secpol_test_daemon_kill (daemon, SIGTERM), 0);
    const char *secrets[] = {e.secret, pending};
    for (int i = 0; i < 2; i++) {
        char *raw = NULL;
        size_t raw_size = 0;
        assert_int_equal (oath_base32_decode (secrets[i], strlen (secrets[i]), &raw, &raw_size),
                          OATH_OK);
        assert_int_equal (raw_size, 20);
        /* the store: data.mdb, or every record of the PostgreSQL store */
        if (secpol_test_daemon_store_holds (daemon, raw, raw_size))
            fail_msg ("the store holds the raw secret in plain text");
        if (secpol_test_daemon_store_holds (daemon, secrets[i], strlen (secrets[i])))
            fail_msg ("the store holds the Base32 secret in plain text");
        s_file_lacks (daemon->log_path, secrets[i], strlen (secrets[i]), "Base32 secret");
        free (raw);
    }
    for (int i = 0; i < 10; i++) {
        char canonical[16];
        size_t n = 0;
        for (const char *p = e.recovery[i]; *p; p++)
            if (*p != '-')
                canonical[n++] = *p;
        canonical[n] = '\0';
        if (secpol_test_daemon_store_holds (daemon, e.recovery[i], strlen (e.recovery[i])) ||
            secpol_test_daemon_store_holds (daemon, canonical, n))
            fail_msg ("the store holds a recovery code in plain text");
        s_file_lacks (daemon->log_path, canonical, n, "recovery code");
    }
    /* without its key file (a new one is made) no secret opens: the
     * subject must remove the app and enroll again (docs/OTP.md) */
    char key_path[400];
    snprintf (key_path, sizeof key_path, "%s/secret.key", daemon->data_dir);
    assert_int_equal (unlink (key_path), 0);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    s_at (client, STEP (1));
    char code[7];
    s_oathtool (code, e.secret, STEP (1));
    s_verify (client, SUBJECT, code, SECPOL_INTERNAL);
    assert_non_null (strstr (secpol_client_status (client)->message, "does not decrypt"));
    Secpol__V1__RemoveTotpResponse *removed = s_remove (client, SUBJECT, SECPOL_OK);
    assert_true (removed->removed);
    otp_free (removed);
    s_enroll (client, 2, &e);
    s_at (client, STEP (3));
    otp_expect (s_verify_step (client, e.secret, 3), true, "", 0, false);
    secpol_client_destroy (&client);
}

static void
test_bad_requests_are_named (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    s_begin (client, SUBJECT, "", "Acme", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "account_name");
    s_begin (client, SUBJECT, "a:b", "Acme", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "account_name");
    s_begin (client, SUBJECT, "alice", "Ac:me", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "issuer");
    s_begin (client, "", "alice", "Acme", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "subject_id");
    s_verify (client, SUBJECT, "12345", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "code");
    s_confirm (client, SUBJECT, "abcdef", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "code");
    s_remove (client, "", SECPOL_INVALID_ARGUMENT);
    otp_expect_violation (client, "subject_id");
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_enroll_confirm_and_verify_with_oathtool),
        SECPOL_TEST_WITH_DAEMON (test_the_window_is_one_step_either_side_and_a_step_is_used_once),
        SECPOL_TEST_WITH_DAEMON (
            test_a_step_and_a_recovery_code_work_once_even_under_concurrent_tries),
        SECPOL_TEST_WITH_DAEMON (test_recovery_codes_work_once_and_regenerate),
        SECPOL_TEST_WITH_DAEMON (test_a_pending_enrollment_never_replaces_an_active_one),
        SECPOL_TEST_WITH_DAEMON (test_a_pending_enrollment_expires_and_confirm_needs_one),
        SECPOL_TEST_WITH_DAEMON (test_remove_ends_the_app_and_its_codes),
        SECPOL_TEST_WITH_DAEMON (test_apps_off_in_the_policy),
        SECPOL_TEST_WITH_DAEMON (
            test_lockout_refuses_the_right_code_and_an_unenrolled_subject_looks_alike),
        SECPOL_TEST_WITH_DAEMON (test_the_secret_is_never_stored_or_logged_in_plain_text),
        SECPOL_TEST_WITH_DAEMON (test_bad_requests_are_named),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
