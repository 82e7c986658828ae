/*  test_lockout_store.c - secpol_lockout_apply (lockout.h), the call other
 *  services make to count failures, on a real LMDB store: the four actions
 *  under the default policy, the record and its one expiry entry, the
 *  counter deleted when it has nothing to remember, the sweep, and bad
 *  arguments that touch nothing. */
#include "audit.h"
#include "expiry.h"
#include "fixtures.h"
#include "lockout.h"
#include "policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static const secpol_table_t *const s_tables[] = {&secpol_lockout_table, &secpol_expiry_table,
                                                 &secpol_audit_table, &secpol_policy_table,
                                                 &secpol_policy_revision_table};
static secpol_test_store_t s_fx;
static secpol_arena_t *s_arena;

#define T0    1800000000
#define LOGIN SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN

static int
s_setup (void **state)
{
    (void)state;
    return secpol_test_store_open_with_arena (&s_fx, &s_arena, s_tables, 4);
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_test_store_close_with_arena (&s_fx, &s_arena);
    return 0;
}

static Secpol__V1__LockoutStatus
s_apply (secpol_txn_t *txn, const char *subject, secpol_lockout_action_t action, int64_t now)
{
    Secpol__V1__LockoutStatus status = SECPOL__V1__LOCKOUT_STATUS__INIT;
    assert_int_equal (
        secpol_lockout_apply (txn, s_arena, "w", subject, LOGIN, action, now, &status), 0);
    return status;
}

static void
test_the_default_policy_locks_at_five_for_fifteen_minutes (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    for (int k = 1; k <= 4; k++) {
        Secpol__V1__LockoutStatus status = s_apply (txn, "pat", SECPOL_LOCKOUT_FAILURE, T0 + k);
        assert_false (status.locked);
        assert_int_equal (status.failures, k);
    }
    /* one record, one expiry entry that moved with each failure */
    assert_int_equal (secpol_test_count (txn, &secpol_lockout_table), 1);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 1);
    Secpol__V1__LockoutStatus status = s_apply (txn, "pat", SECPOL_LOCKOUT_FAILURE, T0 + 5);
    assert_true (status.locked && status.just_locked);
    assert_int_equal (status.locked_until, T0 + 5 + 15 * 60);
    assert_int_equal (status.prompt_seconds, 30);
    status = s_apply (txn, "pat", SECPOL_LOCKOUT_SUCCESS, T0 + 6);
    assert_true (status.locked);
    status = s_apply (txn, "pat", SECPOL_LOCKOUT_CHECK, T0 + 6);
    assert_int_equal (status.retry_after_seconds, 15 * 60 - 1);
    /* the sweep at the lock's end deletes record and entry */
    size_t deleted = 0;
    bool more = false;
    assert_int_equal (secpol_expiry_sweep (txn, T0 + 5 + 15 * 60 - 1, 100, &deleted, &more), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_lockout_table), 1);
    assert_int_equal (secpol_expiry_sweep (txn, T0 + 5 + 15 * 60, 100, &deleted, &more), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_lockout_table), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 0);
    secpol_txn_abort (&txn);
}

static void
test_a_counter_with_nothing_to_remember_is_deleted (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    s_apply (txn, "pat", SECPOL_LOCKOUT_FAILURE, T0);
    s_apply (txn, "sam", SECPOL_LOCKOUT_FAILURE, T0);
    s_apply (txn, "pat", SECPOL_LOCKOUT_SUCCESS, T0 + 1);
    s_apply (txn, "sam", SECPOL_LOCKOUT_UNLOCK, T0 + 1);
    s_apply (txn, "kim", SECPOL_LOCKOUT_SUCCESS, T0 + 1); /* never seen: nothing stored */
    assert_int_equal (secpol_test_count (txn, &secpol_lockout_table), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 0);
    secpol_txn_abort (&txn);
}

static void
test_bad_arguments_touch_nothing (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    Secpol__V1__LockoutStatus status = SECPOL__V1__LOCKOUT_STATUS__INIT;
    assert_int_equal (
        secpol_lockout_apply (txn, s_arena, "", "pat", LOGIN, SECPOL_LOCKOUT_FAILURE, T0, &status),
        SECPOL_EINVAL);
    assert_int_equal (
        secpol_lockout_apply (txn, s_arena, "w", "", LOGIN, SECPOL_LOCKOUT_FAILURE, T0, &status),
        SECPOL_EINVAL);
    assert_int_equal (
        secpol_lockout_apply (txn, s_arena, "w", "pat", 0, SECPOL_LOCKOUT_FAILURE, T0, &status),
        SECPOL_EINVAL);
    char long_id[200];
    memset (long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal (secpol_lockout_apply (txn, s_arena, "w", long_id, LOGIN,
                                            SECPOL_LOCKOUT_FAILURE, T0, &status),
                      SECPOL_EINVAL);
    assert_int_equal (secpol_test_count (txn, &secpol_lockout_table), 0);
    secpol_txn_abort (&txn);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_the_default_policy_locks_at_five_for_fifteen_minutes,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_counter_with_nothing_to_remember_is_deleted,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_arguments_touch_nothing, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
