/*  test_lockout_rules.c - the counting rules of LockoutService as pure
 *  functions (lockout_rules.h): window edges, the lock and its end, window
 *  0 and lock 0, the lockout off, a lowered max_failures, the 100-failure
 *  bound, expiry times and keys. */
#include "lockout_rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define T0 1000000

static void
test_a_failure_counts_while_younger_than_the_window (void **state)
{
    (void)state;
    secpol_lockout_settings_t settings = {3, 10, 5};
    secpol_lockout_state_t counter = {0};
    assert_false (secpol_lockout_fail (&counter, &settings, T0));
    secpol_lockout_settle (&counter, &settings, T0 + 599);
    assert_int_equal (counter.n_failures, 1);
    secpol_lockout_settle (&counter, &settings, T0 + 600);
    assert_int_equal (counter.n_failures, 0);
    assert_true (secpol_lockout_empty (&counter));
}

static void
test_the_lock_holds_max_failures_and_ends_to_the_second (void **state)
{
    (void)state;
    secpol_lockout_settings_t settings = {3, 10, 5};
    secpol_lockout_state_t counter = {0};
    assert_false (secpol_lockout_fail (&counter, &settings, T0));
    assert_false (secpol_lockout_fail (&counter, &settings, T0 + 1));
    assert_true (secpol_lockout_fail (&counter, &settings, T0 + 2));
    assert_true (counter.locked);
    assert_int_equal (counter.locked_until, T0 + 2 + 300);
    assert_int_equal (secpol_lockout_expires_at (&counter, &settings), T0 + 302);
    /* while locked: nothing counts, nothing extends */
    assert_false (secpol_lockout_fail (&counter, &settings, T0 + 100));
    assert_int_equal (counter.n_failures, 3);
    assert_int_equal (counter.locked_until, T0 + 302);
    secpol_lockout_view_t view;
    secpol_lockout_settle (&counter, &settings, T0 + 301);
    secpol_lockout_view (&view, &counter, &settings, T0 + 301);
    assert_true (view.locked);
    assert_int_equal (view.retry_after_seconds, 1);
    assert_int_equal (view.remaining_attempts, 0);
    secpol_lockout_settle (&counter, &settings, T0 + 302);
    assert_true (secpol_lockout_empty (&counter));
    secpol_lockout_view (&view, &counter, &settings, T0 + 302);
    assert_false (view.locked);
    assert_int_equal (view.remaining_attempts, 3);
}

static void
test_zero_window_and_zero_lock (void **state)
{
    (void)state;
    secpol_lockout_settings_t settings = {2, 0, 0};
    secpol_lockout_state_t counter = {0};
    assert_false (secpol_lockout_fail (&counter, &settings, T0));
    assert_int_equal (secpol_lockout_expires_at (&counter, &settings), 0);
    assert_true (secpol_lockout_fail (&counter, &settings, T0 + 400 * 86400));
    assert_int_equal (counter.locked_until, 0);
    assert_int_equal (secpol_lockout_expires_at (&counter, &settings), 0);
    secpol_lockout_settle (&counter, &settings, INT64_MAX / 2);
    assert_true (counter.locked);
    assert_true (secpol_lockout_succeed (&counter, &settings, T0));
    assert_true (counter.locked);
}

static void
test_success_clears_unless_locked (void **state)
{
    (void)state;
    secpol_lockout_settings_t settings = {3, 10, 5};
    secpol_lockout_state_t counter = {0};
    secpol_lockout_fail (&counter, &settings, T0);
    secpol_lockout_fail (&counter, &settings, T0);
    assert_false (secpol_lockout_succeed (&counter, &settings, T0));
    assert_true (secpol_lockout_empty (&counter));
}

static void
test_lowered_max_locks_at_the_next_failure_and_off_forgets (void **state)
{
    (void)state;
    secpol_lockout_settings_t settings = {10, 10, 5};
    secpol_lockout_state_t counter = {0};
    for (int k = 0; k < 6; k++)
        secpol_lockout_fail (&counter, &settings, T0 + k);
    settings.max_failures = 3;
    secpol_lockout_settle (&counter, &settings, T0 + 6);
    secpol_lockout_view_t view;
    secpol_lockout_view (&view, &counter, &settings, T0 + 6);
    assert_false (view.locked);
    assert_int_equal (view.failures, 3);
    assert_int_equal (view.remaining_attempts, 1);
    assert_true (secpol_lockout_fail (&counter, &settings, T0 + 6));
    assert_int_equal (counter.n_failures, 3);
    assert_int_equal (counter.failures[2], T0 + 6);
    settings.max_failures = 0;
    secpol_lockout_settle (&counter, &settings, T0 + 7);
    assert_true (secpol_lockout_empty (&counter));
    assert_false (secpol_lockout_fail (&counter, &settings, T0 + 7));
    assert_true (secpol_lockout_empty (&counter));
    secpol_lockout_view (&view, &counter, &settings, T0 + 7);
    assert_int_equal (view.remaining_attempts, 0);
}

static void
test_at_most_100_failures_are_kept (void **state)
{
    (void)state;
    secpol_lockout_settings_t settings = {100, 0, 5};
    secpol_lockout_state_t counter = {0};
    for (int k = 0; k < 99; k++)
        assert_false (secpol_lockout_fail (&counter, &settings, T0 + k));
    assert_true (secpol_lockout_fail (&counter, &settings, T0 + 99));
    assert_int_equal (counter.n_failures, SECPOL_LOCKOUT_FAILURES_MAX);
}

static void
test_keys_are_unambiguous (void **state)
{
    (void)state;
    uint8_t a[SECPOL_LOCKOUT_KEY_MAX], b[SECPOL_LOCKOUT_KEY_MAX];
    size_t na = secpol_lockout_key (a, "ab", "c", 1);
    size_t nb = secpol_lockout_key (b, "a", "bc", 1);
    assert_int_equal (na, nb);
    assert_true (memcmp (a, b, na) != 0);
    nb = secpol_lockout_key (b, "ab", "c", 2);
    assert_true (memcmp (a, b, na) != 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_failure_counts_while_younger_than_the_window),
        cmocka_unit_test (test_the_lock_holds_max_failures_and_ends_to_the_second),
        cmocka_unit_test (test_zero_window_and_zero_lock),
        cmocka_unit_test (test_success_clears_unless_locked),
        cmocka_unit_test (test_lowered_max_locks_at_the_next_failure_and_off_forgets),
        cmocka_unit_test (test_at_most_100_failures_are_kept),
        cmocka_unit_test (test_keys_are_unambiguous),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
