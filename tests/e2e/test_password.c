/*  test_password.c - PasswordService against a real secpold, through the C
 *  client: each level's rules, user inputs, reuse with a limit of 3 (the
 *  fourth-last password may be reused), the change interval with the test
 *  clock (and an admin-forced change past it), the forced-reset generation,
 *  inactivity with the test clock, activity stored at most once an hour, a
 *  long Unicode password, bounded inputs, and no password in the LMDB file
 *  or the log.
 *
 *  Standards: NIST SP 800-63B 5.1.1.2 (length, block-list, context words,
 *  no truncation, Unicode after normalisation); OWASP ASVS 4.0.3 V2.1.1-2.1.9
 *  and V2.4.1 (argon2id history hashes); OWASP Password Storage Cheat Sheet
 *  (argon2id, 19 MiB, 2 passes).
 */
#define _GNU_SOURCE /* memmem */
#include "calls.h"
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/password.pb-c.h"
#include "secpol/v1/policy.pb-c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S_PATH     "/secpol.v1.PasswordService/"
#define S_CHECK    S_PATH "CheckPassword"
#define S_RECORD   S_PATH "RecordPasswordChange"
#define S_ACTIVITY S_PATH "RecordActivity"
#define S_STATUS   S_PATH "GetAccountStatus"
#define DAY        86400

#define LOW    SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_LOW
#define MEDIUM SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_MEDIUM
#define HIGH   SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH

typedef Secpol__V1__CheckPasswordResponse checked_t;
typedef Secpol__V1__AccountStatus status_t;

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

static void
s_level (secpol_client_t *client, const char *ws, int level)
{
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_policy = level;
    secpol_test_set_policy (client, ws, "", &policy, "password_policy");
}

static int
s_check_full (secpol_client_t *client, const char *ws, const char *subject, const char *password,
              bool admin_forced, checked_t **out_p)
{
    static char *inputs[] = {"alice.smith@example.com", "Alice Smith"};
    Secpol__V1__CheckPasswordRequest request = SECPOL__V1__CHECK_PASSWORD_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.password = (char *)password;
    request.n_user_inputs = 2;
    request.user_inputs = inputs;
    request.admin_forced = admin_forced;
    return secpol_client_call (client, S_CHECK, &request.base, (ProtobufCMessage **)out_p);
}

/*  The codes CheckPassword answers for password, joined with spaces. */
static const char *
s_codes_forced (secpol_client_t *client, const char *ws, const char *subject, const char *password,
                bool admin_forced)
{
    static char joined[256];
    checked_t *out = NULL;
    int code = s_check_full (client, ws, subject, password, admin_forced, &out);
    if (code != SECPOL_OK)
        fail_msg ("CheckPassword: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    joined[0] = 0;
    for (size_t i = 0; i < out->n_violations; i++) {
        assert_true (strlen (out->violations[i]->message) > 0);
        if (*password)
            assert_null (strstr (out->violations[i]->message, password));
        snprintf (joined + strlen (joined), sizeof joined - strlen (joined), "%s%s", i ? " " : "",
                  out->violations[i]->code);
    }
    assert_int_equal (out->ok, out->n_violations == 0);
    s_free (out);
    return joined;
}

static const char *
s_codes (secpol_client_t *client, const char *ws, const char *subject, const char *password)
{
    return s_codes_forced (client, ws, subject, password, false);
}

static int
s_record_code (secpol_client_t *client, const char *ws, const char *subject, const char *password,
               Secpol__V1__RecordPasswordChangeResponse **out_p)
{
    Secpol__V1__RecordPasswordChangeRequest request =
        SECPOL__V1__RECORD_PASSWORD_CHANGE_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.password = (char *)password;
    return secpol_client_call (client, S_RECORD, &request.base, (ProtobufCMessage **)out_p);
}

static void
s_record (secpol_client_t *client, const char *ws, const char *subject, const char *password)
{
    Secpol__V1__RecordPasswordChangeResponse *out = NULL;
    int code = s_record_code (client, ws, subject, password, &out);
    if (code != SECPOL_OK)
        fail_msg ("RecordPasswordChange: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    assert_true (out->password_changed_at > 0);
    s_free (out);
}

static status_t *
s_status (secpol_client_t *client, const char *ws, const char *subject)
{
    Secpol__V1__GetAccountStatusRequest request = SECPOL__V1__GET_ACCOUNT_STATUS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    status_t *out = NULL;
    int code = secpol_client_call (client, S_STATUS, &request.base, (ProtobufCMessage **)&out);
    if (code != SECPOL_OK)
        fail_msg ("GetAccountStatus: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    return out;
}

static int64_t
s_activity (secpol_client_t *client, const char *ws, const char *subject)
{
    Secpol__V1__RecordActivityRequest request = SECPOL__V1__RECORD_ACTIVITY_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    Secpol__V1__RecordActivityResponse *out = NULL;
    assert_int_equal (
        secpol_client_call (client, S_ACTIVITY, &request.base, (ProtobufCMessage **)&out),
        SECPOL_OK);
    int64_t at = out->last_active_at;
    s_free (out);
    return at;
}

/* --- rules of each level ---------------------------------------------------- */

static void
test_each_level_passes_and_fails_for_each_reason (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);

    /* the default level is MEDIUM */
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2vL9pR"), "");
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2vL9p"), "TOO_SHORT");

    s_level (client, "w1", LOW);
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2v"), "");
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2"), "TOO_SHORT");
    assert_string_equal (s_codes (client, "w1", "alice", "password"), "COMMON");
    assert_string_equal (s_codes (client, "w1", "alice", "aaaaaaaaaaaa"), "REPETITIVE");
    assert_string_equal (s_codes (client, "w1", "alice", "alicesmith-x7#Qm2vL9"), "");
    assert_string_equal (s_codes (client, "w1", "alice", "correct horse battery staple"), "");

    s_level (client, "w1", MEDIUM);
    assert_string_equal (s_codes (client, "w1", "alice", "password1234"), "COMMON");
    assert_string_equal (s_codes (client, "w1", "alice", "alicesmith-x7#Qm2vL9"),
                         "CONTAINS_USER_INPUT");
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2vL9pRzzzzzz"), "REPETITIVE");
    assert_string_equal (s_codes (client, "w1", "alice", "correct horse battery staple"), "");

    s_level (client, "w1", HIGH);
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2vL9pRz4W"), "");
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2vL9pRz4"), "TOO_SHORT");
    assert_string_equal (s_codes (client, "w1", "alice", "password"), "TOO_SHORT COMMON");
    assert_string_equal (s_codes (client, "w1", "alice", "x7#Qm2vL9-EXAMPLE-zz"),
                         "CONTAINS_USER_INPUT");
    assert_string_equal (s_codes (client, "w1", "alice", "xk7#Qm2vL9pRzzzzz"), "REPETITIVE");
    assert_string_equal (s_codes (client, "w1", "alice", "correct horse battery staple"), "");

    /* another workspace keeps the default */
    assert_string_equal (s_codes (client, "w2", "alice", "xk7#Qm2vL9pR"), "");
    secpol_client_destroy (&client);
}

static void
test_a_long_unicode_password_counts_code_points (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_level (client, "w1", HIGH);
    /* 100 characters of 2, 3 and 4 bytes (325 bytes): accepted, hashed, matched */
    char password[1200] = "";
    const char *pieces[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x91", "\xd0\x96", "q"};
    for (int i = 0; i < 100; i++)
        strcat (password, pieces[(i * 3 + i / 5) % 5]);
    assert_string_equal (s_codes (client, "w1", "alice", password), "");
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_reuse_limit = 3;
    secpol_test_set_policy (client, "w1", "", &policy, "password_reuse_limit");
    s_record (client, "w1", "alice", password);
    assert_string_equal (s_codes (client, "w1", "alice", password), "REUSED");
    /* 129 characters are refused whole, never truncated to 128 */
    char longer[1200] = "";
    for (int i = 0; i < 129; i++)
        strcat (longer, pieces[(i * 3 + i / 5) % 5]);
    assert_string_equal (s_codes (client, "w1", "alice", longer), "TOO_LONG");
    longer[strlen (longer) - 1] = 0; /* 128: the last piece was "q" */
    assert_string_equal (s_codes (client, "w1", "alice", longer), "");
    /* the NFKC form is what counts: fullwidth letters equal ASCII ones */
    s_record (client, "w1", "bob", "xk7#Qm2vL9pRz4W");
    assert_string_equal (s_codes (client, "w1", "bob",
                                  "\xef\xbd\x98\xef\xbd\x8b\xef\xbc\x97#\xef\xbc\xb1m2vL9pRz4W"),
                         "REUSED");
    secpol_client_destroy (&client);
}

/* --- history ------------------------------------------------------------------ */

static void
test_reuse_limit_three_the_fourth_last_may_return (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    const char *p[] = {"first-Kq8#vT2mXw", "second-Rz4#pL9nYb", "third-Hc6#sD3jWe",
                       "fourth-Mv5#tG7kQa"};
    /* limit 0: nothing is checked */
    s_record (client, "w1", "alice", p[0]);
    assert_string_equal (s_codes (client, "w1", "alice", p[0]), "");

    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_reuse_limit = 3;
    secpol_test_set_policy (client, "w1", "", &policy, "password_reuse_limit");
    for (int i = 0; i < 3; i++)
        s_record (client, "w1", "alice", p[i]);
    for (int i = 0; i < 3; i++)
        assert_string_equal (s_codes (client, "w1", "alice", p[i]), "REUSED");
    s_record (client, "w1", "alice", p[3]);
    /* p[0] is now the fourth-last: allowed; the last three are not */
    assert_string_equal (s_codes (client, "w1", "alice", p[0]), "");
    for (int i = 1; i < 4; i++)
        assert_string_equal (s_codes (client, "w1", "alice", p[i]), "REUSED");
    /* history is per subject and per workspace */
    assert_string_equal (s_codes (client, "w1", "bob", p[3]), "");
    assert_string_equal (s_codes (client, "w2", "alice", p[3]), "");
    /* it survives a restart */
    secpol_client_destroy (&client);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    assert_string_equal (s_codes (client, "w1", "alice", p[3]), "REUSED");
    secpol_client_destroy (&client);

    /* neither the store nor the log holds a password */
    for (int i = 0; i < 4; i++) {
        assert_false (secpol_test_daemon_store_holds (daemon, p[i], strlen (p[i])));
        assert_false (secpol_test_file_holds (daemon->log_path, p[i]));
    }
    assert_true (secpol_test_daemon_store_holds (daemon, "$argon2id$v=19$m=19456,t=2,p=1$", 31));
}

/* --- change interval, forced reset, inactivity -------------------------------- */

static void
test_change_interval_with_the_test_clock (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_change_interval_days = 2;
    secpol_test_set_policy (client, "w1", "", &policy, "password_change_interval_days");
    const char *fresh = "new-Kq8#vT2mXwLp";
    /* never changed: allowed */
    assert_string_equal (s_codes (client, "w1", "alice", fresh), "");
    s_record (client, "w1", "alice", "old-Rz4#pL9nYbQs");
    status_t *status = s_status (client, "w1", "alice");
    int64_t changed = status->password_changed_at;
    assert_int_equal (status->next_change_allowed_at, changed + 2 * DAY);
    s_free (status);

    checked_t *out = NULL;
    assert_int_equal (s_check_full (client, "w1", "alice", fresh, false, &out), SECPOL_OK);
    assert_false (out->ok);
    assert_int_equal (out->n_violations, 1);
    assert_string_equal (out->violations[0]->code, "CHANGED_TOO_RECENTLY");
    assert_int_equal (out->next_change_allowed_at, changed + 2 * DAY);
    s_free (out);
    /* an admin-forced change is exempt */
    assert_string_equal (s_codes_forced (client, "w1", "alice", fresh, true), "");

    secpol_test_clock_offset (client, 2 * DAY - 60);
    assert_string_equal (s_codes (client, "w1", "alice", fresh), "CHANGED_TOO_RECENTLY");
    secpol_test_clock_offset (client, 2 * DAY + 1);
    assert_string_equal (s_codes (client, "w1", "alice", fresh), "");
    status = s_status (client, "w1", "alice");
    assert_int_equal (status->next_change_allowed_at, 0);
    s_free (status);
    secpol_client_destroy (&client);
}

static void
test_raising_the_reset_generation_forces_a_reset (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_record (client, "w1", "alice", "alice-Kq8#vT2mXw");
    s_record (client, "w1", "bob", "bob-Rz4#pL9nYbQs");
    status_t *status = s_status (client, "w1", "alice");
    assert_false (status->must_reset_password);
    s_free (status);

    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.force_password_reset = 1;
    secpol_test_set_policy (client, "w1", "", &policy, "force_password_reset");
    const char *subjects[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        status = s_status (client, "w1", subjects[i]);
        assert_true (status->must_reset_password);
        s_free (status);
    }
    /* the next change clears it, for that subject alone */
    s_record (client, "w1", "alice", "alice-Hc6#sD3jWeNv");
    status = s_status (client, "w1", "alice");
    assert_false (status->must_reset_password);
    s_free (status);
    status = s_status (client, "w1", "bob");
    assert_true (status->must_reset_password);
    s_free (status);
    /* raising it again forces alice again */
    policy.force_password_reset = 2;
    secpol_test_set_policy (client, "w1", "", &policy, "force_password_reset");
    status = s_status (client, "w1", "alice");
    assert_true (status->must_reset_password);
    s_free (status);
    /* other workspaces are untouched */
    status = s_status (client, "w2", "alice");
    assert_false (status->must_reset_password);
    s_free (status);
    secpol_client_destroy (&client);
}

static void
test_inactivity_with_the_test_clock (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.max_inactive_days = 30;
    secpol_test_set_policy (client, "w1", "", &policy, "max_inactive_days");

    int64_t first = s_activity (client, "w1", "alice");
    assert_true (first > 0);
    /* within the hour the stored activity does not move (3000 s, not 3599:
     * the wall clock runs on between calls, seconds on a loaded sanitizer run) */
    secpol_test_clock_offset (client, 3000);
    assert_int_equal (s_activity (client, "w1", "alice"), first);
    secpol_test_clock_offset (client, 3601);
    int64_t second = s_activity (client, "w1", "alice");
    assert_true (second >= first + 3601);

    status_t *status = s_status (client, "w1", "alice");
    assert_int_equal (status->last_active_at, second);
    assert_false (status->inactive);
    s_free (status);

    secpol_test_clock_offset (client, 3601 + 30 * DAY - 60);
    status = s_status (client, "w1", "alice");
    assert_false (status->inactive);
    s_free (status);
    secpol_test_clock_offset (client, 3601 + 30 * DAY + 60);
    status = s_status (client, "w1", "alice");
    assert_true (status->inactive);
    s_free (status);
    /* activity makes the account active again */
    s_activity (client, "w1", "alice");
    status = s_status (client, "w1", "alice");
    assert_false (status->inactive);
    s_free (status);
    /* an unknown subject answers like any other, and is not inactive */
    status = s_status (client, "w1", "nobody");
    assert_false (status->inactive);
    assert_int_equal (status->last_active_at, 0);
    assert_int_equal (status->password_changed_at, 0);
    s_free (status);
    secpol_client_destroy (&client);
}

/* --- bounded input ------------------------------------------------------------- */

static void
test_bad_fields_are_named (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    checked_t *out = NULL;
    assert_int_equal (s_check_full (client, "", "alice", "xk7#Qm2vL9pR", false, &out),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "workspace_id");
    assert_int_equal (s_check_full (client, "w1", "", "xk7#Qm2vL9pR", false, &out),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "subject_id");
    /* an empty password is a rule violation, not a bad request */
    assert_string_equal (s_codes (client, "w1", "alice", ""), "TOO_SHORT");
    /* RecordPasswordChange refuses an empty or over-long password */
    assert_int_equal (s_record_code (client, "w1", "alice", "", NULL), SECPOL_INVALID_ARGUMENT);
    char longer[200];
    memset (longer, 'k', 129);
    longer[129] = 0;
    assert_int_equal (s_record_code (client, "w1", "alice", longer, NULL), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "password");
    /* too many user inputs */
    char *inputs[17];
    for (int i = 0; i < 17; i++)
        inputs[i] = "someone";
    Secpol__V1__CheckPasswordRequest request = SECPOL__V1__CHECK_PASSWORD_REQUEST__INIT;
    request.workspace_id = "w1";
    request.subject_id = "alice";
    request.password = "xk7#Qm2vL9pR";
    request.n_user_inputs = 17;
    request.user_inputs = inputs;
    assert_int_equal (secpol_client_call (client, S_CHECK, &request.base, NULL),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "user_inputs");
    secpol_client_destroy (&client);
}

/* --- a burst on the SLOW lane leaves the READ lane answering ------------------ */

#define BURST_THREADS 4
#define BURST_CALLS   6 /* CheckPassword calls per thread, each verifying 4 hashes */
#define READS         100
#define READ_BOUND_MS 2000 /* one GetPolicy during the burst: generous, for loaded machines */

typedef struct {
    const char *endpoint;
    atomic_int *done; /* CheckPassword calls answered, all threads */
    int failures;     /* calls not answered OK with REUSED */
} burst_t;

static void *
s_burst (void *arg)
{
    burst_t *burst = arg;
    /* not secpol_test_client: cmocka cannot fail a test from this thread */
    secpol_client_t *client = secpol_client_new (burst->endpoint, 20000);
    if (!client) {
        burst->failures = BURST_CALLS;
        return NULL;
    }
    for (int k = 0; k < BURST_CALLS; k++) {
        checked_t *out = NULL;
        /* the oldest of the four kept: every hash is verified before it matches */
        if (s_check_full (client, "w1", "alice", "burst-0-Kq8#vT2mXw", false, &out) != SECPOL_OK ||
            out->n_violations != 1 || strcmp (out->violations[0]->code, "REUSED") != 0)
            burst->failures++;
        s_free (out);
        atomic_fetch_add (burst->done, 1);
    }
    secpol_client_destroy (&client);
    return NULL;
}

static void
test_a_burst_of_checks_does_not_stall_get_policy (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_reuse_limit = 4;
    secpol_test_set_policy (client, "w1", "", &policy, "password_reuse_limit");
    char password[64];
    for (int i = 0; i < 4; i++) {
        snprintf (password, sizeof password, "burst-%d-Kq8#vT2mXw", i);
        s_record (client, "w1", "alice", password);
    }

    atomic_int done = 0;
    burst_t bursts[BURST_THREADS];
    pthread_t threads[BURST_THREADS];
    for (int t = 0; t < BURST_THREADS; t++) {
        bursts[t] = (burst_t){daemon->endpoint, &done, 0};
        assert_int_equal (pthread_create (&threads[t], NULL, s_burst, &bursts[t]), 0);
    }
    /* the SLOW lane is busy once a first check has come back */
    int64_t deadline = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    while (atomic_load (&done) == 0 && secpol_test_now_ms () < deadline) {
        struct timespec pause = {0, 1000000};
        nanosleep (&pause, NULL);
    }
    int started_with = atomic_load (&done);
    int failed_reads = 0;
    int64_t worst_ms = 0, total_ms = 0;
    for (int k = 0; k < READS; k++) {
        Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
        request.workspace_id = "w1";
        ProtobufCMessage *response = NULL;
        int64_t t0 = secpol_test_now_ms ();
        if (secpol_client_call (client, "/secpol.v1.PolicyService/GetPolicy", &request.base,
                                &response) != SECPOL_OK)
            failed_reads++;
        int64_t took = secpol_test_now_ms () - t0;
        total_ms += took;
        worst_ms = took > worst_ms ? took : worst_ms;
        s_free (response);
    }
    int done_after_reads = atomic_load (&done);
    for (int t = 0; t < BURST_THREADS; t++)
        pthread_join (threads[t], NULL);
    printf ("burst: %d GetPolicy calls during %d CheckPassword calls with 4 hashes each: "
            "mean %.2f ms, worst %lld ms\n",
            READS, BURST_THREADS * BURST_CALLS, (double)total_ms / READS, (long long)worst_ms);

    assert_true (started_with > 0);
    /* the reads ran while checks were still queued or running */
    assert_true (done_after_reads < BURST_THREADS * BURST_CALLS);
    assert_int_equal (failed_reads, 0);
    assert_true (worst_ms < READ_BOUND_MS);
    for (int t = 0; t < BURST_THREADS; t++)
        assert_int_equal (bursts[t].failures, 0);
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_each_level_passes_and_fails_for_each_reason),
        SECPOL_TEST_WITH_DAEMON (test_a_long_unicode_password_counts_code_points),
        SECPOL_TEST_WITH_DAEMON (test_reuse_limit_three_the_fourth_last_may_return),
        SECPOL_TEST_WITH_DAEMON (test_change_interval_with_the_test_clock),
        SECPOL_TEST_WITH_DAEMON (test_raising_the_reset_generation_forces_a_reset),
        SECPOL_TEST_WITH_DAEMON (test_inactivity_with_the_test_clock),
        SECPOL_TEST_WITH_DAEMON (test_bad_fields_are_named),
        SECPOL_TEST_WITH_DAEMON (test_a_burst_of_checks_does_not_stall_get_policy),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
