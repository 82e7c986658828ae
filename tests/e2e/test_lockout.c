/*  test_lockout.c - LockoutService against a real secpold, through the C
 *  client: the lock at max_failures and its end, the sliding window to the
 *  second, window 0 and lock 0, failures while locked, prompt seconds, the
 *  three kinds apart, success and Unlock, a policy lowered mid-count, the
 *  lockout off, the same answer for every subject, bad requests, exact
 *  counting under concurrent failures, and the sweep of forgotten counters.
 *
 *  The test clock adds an offset to the wall clock, which goes on ticking:
 *  a check that must happen at an exact second sets the offset just after a
 *  second begins and confirms afterwards that the second has not changed
 *  (s_at, s_still), trying again otherwise.
 *
 *  Standards: OWASP ASVS 4.0.3 V2.2.1 (anti-automation: lockout), NIST SP
 *  800-63B 5.2.2 (at most 100 consecutive failures).
 */
#include "calls.h"
#include "daemon.h"
#include "expiry.h"
#include "lockout_rules.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/policy.pb-c.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#define S_PATH    "/secpol.v1.LockoutService/"
#define S_FAIL    S_PATH "RecordFailure"
#define S_SUCCESS S_PATH "RecordSuccess"
#define S_CHECK   S_PATH "CheckLockout"
#define S_UNLOCK  S_PATH "Unlock"
#define LOGIN     SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN
#define CLAIM     SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_CLAIM
#define TWO       SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR
#define ATTEMPTS  8 /* tries of a scenario that needs one second to hold */

typedef Secpol__V1__LockoutStatus status_t;

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

/*  Sets the offset so that the server's clock reads target, early in a
 *  wall-clock second (so that the calls that follow very likely see the
 *  same second; s_still tells). */
static void
s_at (secpol_client_t *client, int64_t target)
{
    for (;;) {
        struct timespec now;
        clock_gettime (CLOCK_REALTIME, &now);
        if (now.tv_nsec > 300 * 1000 * 1000) {
            struct timespec pause = {0, 1000L * 1000 * 1000 - now.tv_nsec + 1000 * 1000};
            nanosleep (&pause, NULL);
            continue;
        }
        if (secpol_test_clock_offset (client, target - now.tv_sec) == target)
            return;
    }
}

/*  True when the server's clock still reads target, the second s_at set:
 *  read, not set again (setting the offset anew from the wall clock made
 *  the server read target whatever second the calls before had seen). */
static bool
s_still (secpol_client_t *client, int64_t target)
{
    return secpol_test_server_now (client) == target;
}

/*  The server's clock now, early in a second. */
static int64_t
s_now (secpol_client_t *client)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    int64_t target = now.tv_sec + 1;
    s_at (client, target);
    return target;
}

/*  Sets one lockout group of workspace ws and the prompt seconds. */
static void
s_policy (secpol_client_t *client, const char *ws, const char *group, uint32_t max_failures,
          uint32_t window_minutes, uint32_t lock_minutes, uint32_t prompt_seconds)
{
    Secpol__V1__LockoutSettings settings = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    settings.max_failures = max_failures;
    settings.window_minutes = window_minutes;
    settings.lock_minutes = lock_minutes;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    if (strcmp (group, "login_lockout") == 0)
        policy.login_lockout = &settings;
    else if (strcmp (group, "claim_lockout") == 0)
        policy.claim_lockout = &settings;
    else
        policy.two_factor_lockout = &settings;
    policy.locked_login_prompt_seconds = prompt_seconds;
    char mask[128];
    snprintf (mask, sizeof mask, "%s,locked_login_prompt_seconds", group);
    secpol_test_set_policy (client, ws, "", &policy, mask);
}

static int
s_call (secpol_client_t *client, const char *path, const char *ws, const char *subject,
        Secpol__V1__LockoutKind kind, status_t **status_p)
{
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.kind = kind;
    status_t *status = NULL;
    int code = secpol_client_call (client, path, &request.base, (ProtobufCMessage **)&status);
    if (status_p)
        *status_p = status;
    else
        s_free (status);
    return code;
}

/*  A call that must succeed; caller frees the status. */
static status_t *
s_ok (secpol_client_t *client, const char *path, const char *ws, const char *subject,
      Secpol__V1__LockoutKind kind)
{
    status_t *status = NULL;
    int code = s_call (client, path, ws, subject, kind, &status);
    if (code != SECPOL_OK)
        fail_msg ("%s %s/%s: %s %s", path, ws, subject, secpol_status_name (code),
                  secpol_client_status (client)->message);
    return status;
}

/*  Asserts every field of a status. */
static void
s_expect (status_t *status, bool locked, uint32_t failures, uint32_t remaining, int64_t retry_after,
          uint32_t prompt)
{
    assert_non_null (status);
    if (status->locked != locked || status->failures != failures ||
        status->remaining_attempts != remaining || status->retry_after_seconds != retry_after ||
        status->prompt_seconds != prompt)
        fail_msg ("status locked=%d failures=%u remaining=%u retry_after=%lld prompt=%u; expected "
                  "%d %u %u %lld %u",
                  status->locked, status->failures, status->remaining_attempts,
                  (long long)status->retry_after_seconds, status->prompt_seconds, locked, failures,
                  remaining, (long long)retry_after, prompt);
    if (locked && retry_after == 0)
        assert_int_equal (status->locked_until, 0);
    s_free (status);
}

/*  Asserts a timed lock whose retry_after_seconds, outside a scenario that
 *  holds the clock, may have lost a second or two to the wall clock. */
static void
s_expect_locked_about (status_t *status, uint32_t failures, int64_t retry_after, uint32_t prompt)
{
    assert_non_null (status);
    assert_true (status->retry_after_seconds <= retry_after &&
                 status->retry_after_seconds >= retry_after - 2);
    s_expect (status, true, failures, 0, status->retry_after_seconds, prompt);
}

/*  Counts with a 10-minute window, max 3, lock 5 minutes: failures at t0
 *  and t0 + 1; at t0 + 599 both count, at t0 + 600 the first has left.
 *  Returns false when the clock moved at a moment that had to hold. */
static bool
s_window_scenario (secpol_client_t *client, const char *subject)
{
    int64_t t0 = s_now (client);
    s_expect (s_ok (client, S_FAIL, "w", subject, LOGIN), false, 1, 2, 0, 0);
    if (!s_still (client, t0))
        return false;
    s_at (client, t0 + 1);
    s_expect (s_ok (client, S_FAIL, "w", subject, LOGIN), false, 2, 1, 0, 0);
    if (!s_still (client, t0 + 1))
        return false;
    /* just inside: both count (a check is a read, so it may simply be asked again) */
    status_t *status;
    do {
        s_at (client, t0 + 599);
        status = s_ok (client, S_CHECK, "w", subject, LOGIN);
    } while (!s_still (client, t0 + 599) && (s_free (status), true));
    s_expect (status, false, 2, 1, 0, 0);
    /* just outside: the first has left the window */
    do {
        s_at (client, t0 + 600);
        status = s_ok (client, S_CHECK, "w", subject, LOGIN);
    } while (!s_still (client, t0 + 600) && (s_free (status), true));
    s_expect (status, false, 1, 2, 0, 0);
    /* so a failure now makes two (t0 + 1 and now), not three: no lock */
    s_expect (s_ok (client, S_FAIL, "w", subject, LOGIN), false, 2, 1, 0, 0);
    if (!s_still (client, t0 + 600))
        return false;
    /* the failure at t0 + 1, 599 seconds old, still counts: a third one locks */
    status = s_ok (client, S_FAIL, "w", subject, LOGIN);
    if (!s_still (client, t0 + 600)) {
        s_free (status);
        return false;
    }
    assert_true (status->just_locked);
    s_expect (status, true, 3, 0, 300, 30);
    return true;
}

static void
test_the_window_slides_to_the_second (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 3, 10, 5, 30);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        char subject[32];
        snprintf (subject, sizeof subject, "window-%d", attempt);
        secpol_test_clock_offset (client, 0);
        if (s_window_scenario (client, subject)) {
            secpol_client_destroy (&client);
            return;
        }
    }
    fail_msg ("the clock never held for one second in %d attempts", ATTEMPTS);
}

/*  Three failures lock for lock_minutes; failures while locked neither
 *  count nor extend; the lock ends to the second and counting starts
 *  afresh. */
static bool
s_lock_scenario (secpol_client_t *client, const char *subject)
{
    int64_t t0 = s_now (client);
    s_expect (s_ok (client, S_FAIL, "w", subject, LOGIN), false, 1, 2, 0, 0);
    s_expect (s_ok (client, S_FAIL, "w", subject, LOGIN), false, 2, 1, 0, 0);
    status_t *status = s_ok (client, S_FAIL, "w", subject, LOGIN);
    if (!s_still (client, t0)) {
        s_free (status);
        return false;
    }
    assert_true (status->just_locked);
    assert_int_equal (status->locked_until, t0 + 300);
    assert_int_equal (status->max_failures, 3);
    assert_int_equal (status->kind, LOGIN);
    s_expect (status, true, 3, 0, 300, 30);

    /* while locked a failure changes nothing, and no second call reports the lock */
    s_at (client, t0 + 100);
    status = s_ok (client, S_FAIL, "w", subject, LOGIN);
    if (!s_still (client, t0 + 100)) {
        s_free (status);
        return false;
    }
    assert_false (status->just_locked);
    assert_int_equal (status->locked_until, t0 + 300);
    s_expect (status, true, 3, 0, 200, 30);

    do {
        s_at (client, t0 + 299);
        status = s_ok (client, S_CHECK, "w", subject, LOGIN);
    } while (!s_still (client, t0 + 299) && (s_free (status), true));
    s_expect (status, true, 3, 0, 1, 30);
    do {
        s_at (client, t0 + 300);
        status = s_ok (client, S_CHECK, "w", subject, LOGIN);
    } while (!s_still (client, t0 + 300) && (s_free (status), true));
    s_expect (status, false, 0, 3, 0, 0);
    /* counting starts afresh */
    s_expect (s_ok (client, S_FAIL, "w", subject, LOGIN), false, 1, 2, 0, 0);
    return true;
}

static void
test_max_failures_lock_for_lock_minutes_and_failures_while_locked_change_nothing (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 3, 10, 5, 30);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        char subject[32];
        snprintf (subject, sizeof subject, "lock-%d", attempt);
        secpol_test_clock_offset (client, 0);
        if (s_lock_scenario (client, subject)) {
            secpol_client_destroy (&client);
            return;
        }
    }
    fail_msg ("the clock never held for one second in %d attempts", ATTEMPTS);
}

static void
test_window_zero_counts_until_a_success_and_lock_zero_waits_for_an_admin (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "claim_lockout", 3, 0, 0, 45);
    s_expect (s_ok (client, S_FAIL, "w", "pat", CLAIM), false, 1, 2, 0, 0);
    secpol_test_clock_offset (client, 365 * 86400); /* a year later the failure still counts */
    s_expect (s_ok (client, S_FAIL, "w", "pat", CLAIM), false, 2, 1, 0, 0);
    s_expect (s_ok (client, S_SUCCESS, "w", "pat", CLAIM), false, 0, 3, 0, 0);
    for (int k = 1; k <= 2; k++)
        s_expect (s_ok (client, S_FAIL, "w", "pat", CLAIM), false, (uint32_t)k, 3 - (uint32_t)k, 0,
                  0);
    status_t *status = s_ok (client, S_FAIL, "w", "pat", CLAIM);
    assert_true (status->just_locked);
    s_expect (status, true, 3, 0, 0, 45); /* locked_until 0: until an admin unlocks */
    secpol_test_clock_offset (client, 10 * 365 * 86400); /* still locked ten years on */
    s_expect (s_ok (client, S_CHECK, "w", "pat", CLAIM), true, 3, 0, 0, 45);
    s_expect (s_ok (client, S_SUCCESS, "w", "pat", CLAIM), true, 3, 0, 0, 45);
    s_expect (s_ok (client, S_UNLOCK, "w", "pat", CLAIM), false, 0, 3, 0, 0);
    s_expect (s_ok (client, S_CHECK, "w", "pat", CLAIM), false, 0, 3, 0, 0);
    secpol_client_destroy (&client);
}

static void
test_the_three_kinds_count_apart_with_their_own_settings (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 2, 15, 15, 30);
    s_policy (client, "w", "claim_lockout", 3, 60, 60, 30);
    s_policy (client, "w", "two_factor_lockout", 4, 15, 0, 30);
    for (int k = 0; k < 2; k++)
        s_free (s_ok (client, S_FAIL, "w", "pat", LOGIN));
    s_expect_locked_about (s_ok (client, S_CHECK, "w", "pat", LOGIN), 2, 900, 30);
    s_expect (s_ok (client, S_CHECK, "w", "pat", CLAIM), false, 0, 3, 0, 0);
    s_expect (s_ok (client, S_CHECK, "w", "pat", TWO), false, 0, 4, 0, 0);
    s_expect (s_ok (client, S_FAIL, "w", "pat", CLAIM), false, 1, 2, 0, 0);
    s_expect (s_ok (client, S_FAIL, "w", "pat", TWO), false, 1, 3, 0, 0);
    /* another workspace with the defaults (5, 15, 15) knows nothing of these */
    status_t *status = s_ok (client, S_CHECK, "w2", "pat", LOGIN);
    assert_int_equal (status->max_failures, 5);
    s_expect (status, false, 0, 5, 0, 0);
    /* unlocking one kind leaves the others */
    s_expect (s_ok (client, S_UNLOCK, "w", "pat", LOGIN), false, 0, 2, 0, 0);
    s_expect (s_ok (client, S_CHECK, "w", "pat", CLAIM), false, 1, 2, 0, 0);
    s_expect (s_ok (client, S_CHECK, "w", "pat", TWO), false, 1, 3, 0, 0);
    secpol_client_destroy (&client);
}

static void
test_a_success_resets_the_count_but_never_lifts_a_lock (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 3, 15, 15, 30);
    s_free (s_ok (client, S_FAIL, "w", "pat", LOGIN));
    s_free (s_ok (client, S_FAIL, "w", "pat", LOGIN));
    s_expect (s_ok (client, S_SUCCESS, "w", "pat", LOGIN), false, 0, 3, 0, 0);
    s_expect (s_ok (client, S_FAIL, "w", "pat", LOGIN), false, 1, 2, 0, 0);
    s_free (s_ok (client, S_FAIL, "w", "pat", LOGIN));
    status_t *status = s_ok (client, S_FAIL, "w", "pat", LOGIN);
    assert_true (status->locked);
    s_free (status);
    status = s_ok (client, S_SUCCESS, "w", "pat", LOGIN);
    assert_true (status->locked);
    assert_int_equal (status->failures, 3);
    s_free (status);
    status = s_ok (client, S_CHECK, "w", "pat", LOGIN);
    assert_true (status->locked);
    s_free (status);
    /* survives a restart */
    secpol_client_destroy (&client);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    status = s_ok (client, S_CHECK, "w", "pat", LOGIN);
    assert_true (status->locked);
    assert_int_equal (status->failures, 3);
    s_free (status);
    secpol_client_destroy (&client);
}

static void
test_a_policy_change_applies_at_the_next_call (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 10, 15, 15, 30);
    for (uint32_t k = 1; k <= 4; k++)
        s_expect (s_ok (client, S_FAIL, "w", "pat", LOGIN), false, k, 10 - k, 0, 0);
    /* lowered below the count: not locked yet, the next failure locks */
    s_policy (client, "w", "login_lockout", 3, 15, 1, 30);
    s_expect (s_ok (client, S_CHECK, "w", "pat", LOGIN), false, 3, 1, 0, 0);
    status_t *status = s_ok (client, S_FAIL, "w", "pat", LOGIN);
    assert_true (status->just_locked);
    s_expect (status, true, 3, 0, 60, 30); /* the locking answer's own clock: exactly */
    /* the prompt follows the policy at each call */
    s_policy (client, "w", "login_lockout", 3, 15, 1, 90);
    s_expect_locked_about (s_ok (client, S_CHECK, "w", "pat", LOGIN), 3, 60, 90);
    /* a lockout turned off reads as no failures, and a failure records nothing */
    s_free (s_ok (client, S_FAIL, "w", "sam", LOGIN));
    s_policy (client, "w", "login_lockout", 0, 15, 1, 90);
    s_expect (s_ok (client, S_CHECK, "w", "sam", LOGIN), false, 0, 0, 0, 0);
    status = s_ok (client, S_FAIL, "w", "pat", LOGIN);
    assert_int_equal (status->max_failures, 0);
    s_expect (status, false, 0, 0, 0, 0);
    s_policy (client, "w", "login_lockout", 3, 15, 1, 90);
    s_expect (s_ok (client, S_CHECK, "w", "pat", LOGIN), false, 0, 3, 0, 0);
    /* a counter nothing touched while off is there again */
    s_expect (s_ok (client, S_CHECK, "w", "sam", LOGIN), false, 1, 2, 0, 0);
    secpol_client_destroy (&client);
}

static void
test_every_subject_gets_an_answer_of_the_same_shape (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    /* "known" has failed and succeeded since; "never-seen" has never been named */
    s_free (s_ok (client, S_FAIL, "w", "known", LOGIN));
    s_free (s_ok (client, S_SUCCESS, "w", "known", LOGIN));
    s_free (s_ok (client, S_FAIL, "w", "known", CLAIM));
    s_free (s_ok (client, S_FAIL, "w2", "known", LOGIN));
    const char *paths[] = {S_CHECK, S_SUCCESS, S_UNLOCK, S_FAIL};
    for (size_t p = 0; p < 4; p++) {
        uint8_t packed[2][256];
        size_t sizes[2];
        const char *subjects[] = {"known", "never-seen"};
        for (int s = 0; s < 2; s++) {
            status_t *status = s_ok (client, paths[p], "w", subjects[s], LOGIN);
            sizes[s] = protobuf_c_message_get_packed_size (&status->base);
            assert_true (sizes[s] <= sizeof packed[s]);
            protobuf_c_message_pack (&status->base, packed[s]);
            s_free (status);
        }
        assert_int_equal (sizes[0], sizes[1]);
        assert_memory_equal (packed[0], packed[1], sizes[0]);
    }
    secpol_client_destroy (&client);
}

static void
test_bad_requests_are_named_and_count_nothing (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    assert_int_equal (s_call (client, S_FAIL, "", "pat", LOGIN, NULL), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "workspace_id");
    assert_int_equal (s_call (client, S_FAIL, "w", "", LOGIN, NULL), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "subject_id");
    assert_int_equal (s_call (client, S_CHECK, "w", "pat", 0, NULL), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "kind");
    assert_int_equal (s_call (client, S_FAIL, "w", "pat", 7, NULL), SECPOL_INVALID_ARGUMENT);
    char long_id[200];
    memset (long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal (s_call (client, S_FAIL, "w", long_id, LOGIN, NULL), SECPOL_INVALID_ARGUMENT);
    assert_int_equal (s_call (client, S_FAIL, "w", "bell\a", LOGIN, NULL), SECPOL_INVALID_ARGUMENT);
    /* nothing was counted */
    s_expect (s_ok (client, S_CHECK, "w", "pat", LOGIN), false, 0, 5, 0, 0);
    secpol_client_destroy (&client);
}

/*  One of the threads that fail at once. */
typedef struct {
    const char *endpoint;
    int calls;
    status_t *answers[64]; /* one per call, kept for the test thread */
    int code;              /* first failed code, SECPOL_OK when all passed */
} failer_t;

static void *
s_failer (void *arg)
{
    failer_t *failer = arg;
    secpol_client_t *client = secpol_client_new (failer->endpoint, 10000);
    if (!client) {
        failer->code = SECPOL_UNAVAILABLE;
        return NULL;
    }
    for (int k = 0; k < failer->calls; k++) {
        int code = s_call (client, S_FAIL, "w", "target", LOGIN, &failer->answers[k]);
        if (code != SECPOL_OK && failer->code == SECPOL_OK)
            failer->code = code;
    }
    secpol_client_destroy (&client);
    return NULL;
}

static void
test_200_concurrent_failures_count_exactly_and_one_reports_the_lock (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 50, 60, 60, 30);
    enum { THREADS = 8, CALLS = 25 };
    failer_t failers[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset (&failers[t], 0, sizeof failers[t]);
        failers[t].endpoint = daemon->endpoint;
        failers[t].calls = CALLS;
        assert_int_equal (pthread_create (&threads[t], NULL, s_failer, &failers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal (pthread_join (threads[t], NULL), 0);
    bool seen[51] = {false};
    int just_locked = 0, locked = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal (failers[t].code, SECPOL_OK);
        for (int k = 0; k < CALLS; k++) {
            status_t *status = failers[t].answers[k];
            assert_non_null (status);
            assert_true (status->failures >= 1 && status->failures <= 50);
            if (status->just_locked) {
                just_locked++;
                assert_int_equal (status->failures, 50);
            } else if (status->locked) {
                locked++;
                assert_int_equal (status->failures, 50);
            } else {
                /* each count below the lock is answered exactly once */
                assert_false (seen[status->failures]);
                seen[status->failures] = true;
            }
            s_free (status);
        }
    }
    assert_int_equal (just_locked, 1);
    assert_int_equal (locked, THREADS * CALLS - 50);
    for (int k = 1; k < 50; k++)
        assert_true (seen[k]);
    s_expect_locked_about (s_ok (client, S_CHECK, "w", "target", LOGIN), 50, 3600, 30);
    secpol_client_destroy (&client);
}

static void
test_a_flood_of_random_subjects_is_swept_after_the_window (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w", "login_lockout", 5, 15, 15, 30);
    s_policy (client, "w", "two_factor_lockout", 1, 15, 0, 30);
    enum { FLOOD = 10000, WINDOW = 64 };
    /* pipelined, WINDOW calls in flight */
    int sent = 0, done = 0;
    char first[40] = "";
    while (done < FLOOD) {
        while (sent < FLOOD && sent - done < WINDOW) {
            char subject[40];
            snprintf (subject, sizeof subject, "random-%08x-%d", (unsigned)rand (), sent);
            if (sent == 0)
                snprintf (first, sizeof first, "%s", subject);
            Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
            request.workspace_id = "w";
            request.subject_id = subject;
            request.kind = LOGIN;
            uint64_t id;
            assert_int_equal (secpol_client_send (client, S_FAIL, &request.base, &id), SECPOL_OK);
            sent++;
        }
        uint64_t id = 0;
        assert_int_equal (secpol_client_recv (client, SECPOL_TEST_DEADLINE_MS, &id, NULL),
                          SECPOL_OK);
        done++;
    }
    /* a counter with a lock until an admin unlocks is kept */
    s_free (s_ok (client, S_FAIL, "w", "admin-locked", TWO));

    secpol_test_clock_offset (client, 15 * 60 + 1);
    struct timespec start;
    clock_gettime (CLOCK_MONOTONIC, &start);
    while (secpol_test_daemon_swept (daemon) < FLOOD) {
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 > SECPOL_TEST_DEADLINE_MS)
            fail_msg ("swept %zu of %d within %d ms", secpol_test_daemon_swept (daemon), FLOOD,
                      SECPOL_TEST_DEADLINE_MS);
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep (&pause, NULL);
    }
    s_expect (s_ok (client, S_CHECK, "w", first, LOGIN), false, 0, 5, 0, 0);
    s_expect (s_ok (client, S_CHECK, "w", "admin-locked", TWO), true, 1, 0, 0, 30);
    secpol_client_destroy (&client);
    secpol_test_daemon_stop_keeping_data (daemon);
    const secpol_table_t *tables[] = {&secpol_lockout_table, &secpol_expiry_table};
    secpol_store_options_t options = {
        .tables = tables, .n_tables = 2, .url = secpol_test_daemon_store_url (daemon)};
    secpol_store_t *store = NULL;
    assert_int_equal (secpol_store_open (&store, daemon->data_dir, &options), 0);
    size_t counters = secpol_test_store_entries (store, &secpol_lockout_table);
    size_t expiry = secpol_test_store_entries (store, &secpol_expiry_table);
    secpol_store_close (&store);
    assert_int_equal (counters, 1); /* the admin lock */
    assert_int_equal (expiry, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_the_window_slides_to_the_second),
        SECPOL_TEST_WITH_DAEMON (
            test_max_failures_lock_for_lock_minutes_and_failures_while_locked_change_nothing),
        SECPOL_TEST_WITH_DAEMON (
            test_window_zero_counts_until_a_success_and_lock_zero_waits_for_an_admin),
        SECPOL_TEST_WITH_DAEMON (test_the_three_kinds_count_apart_with_their_own_settings),
        SECPOL_TEST_WITH_DAEMON (test_a_success_resets_the_count_but_never_lifts_a_lock),
        SECPOL_TEST_WITH_DAEMON (test_a_policy_change_applies_at_the_next_call),
        SECPOL_TEST_WITH_DAEMON (test_every_subject_gets_an_answer_of_the_same_shape),
        SECPOL_TEST_WITH_DAEMON (test_bad_requests_are_named_and_count_nothing),
        SECPOL_TEST_WITH_DAEMON (
            test_200_concurrent_failures_count_exactly_and_one_reports_the_lock),
        SECPOL_TEST_WITH_DAEMON (test_a_flood_of_random_subjects_is_swept_after_the_window),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
