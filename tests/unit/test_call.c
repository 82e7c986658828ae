/*  test_call.c - how a handler's answer is built (runtime/call.c) and the
 *  arena lists it grows (runtime/arena.c): the violation list is capped at
 *  SECPOL_MAX_VIOLATIONS with the rest counted, whatever a hostile request
 *  makes a handler report, and lists grow by doubling, not by copying the
 *  whole list per entry. */
#include "call.h"

#include "secpol/v1/rpc.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static secpol_call_t s_call;

static int
s_setup (void **state)
{
    (void)state;
    memset (&s_call, 0, sizeof s_call);
    s_call.arena = secpol_arena_new ();
    return s_call.arena ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_arena_destroy (&s_call.arena);
    return 0;
}

static const char *
s_field (size_t i)
{
    return ((Secpol__V1__FieldViolation *)s_call.violations[i])->field;
}

static void
test_no_violation_is_ok (void **state)
{
    (void)state;
    assert_int_equal (secpol_call_check (&s_call), SECPOL_OK);
    assert_null (s_call.message);
}

static void
test_every_violation_is_named_under_the_cap (void **state)
{
    (void)state;
    secpol_call_violation (&s_call, "policy.hsts.max_age_days", "must be between %d and %d", 0,
                           730);
    assert_int_equal (secpol_call_check (&s_call), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (s_call.message, "invalid field: policy.hsts.max_age_days");
    secpol_call_violation (&s_call, "policy.referrer_policy", "is not a token");
    assert_int_equal (secpol_call_check (&s_call), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (s_call.message,
                         "invalid fields: policy.hsts.max_age_days, policy.referrer_policy");
    assert_int_equal (s_call.n_violations, 2);
    assert_string_equal (((Secpol__V1__FieldViolation *)s_call.violations[0])->description,
                         "must be between 0 and 730");
}

/*  A request that makes its handler report 10,000 bad fields gets the first
 *  SECPOL_MAX_VIOLATIONS of them and a count of the rest. */
static void
test_ten_thousand_violations_keep_the_first_hundred (void **state)
{
    (void)state;
    for (int k = 0; k < 10000; k++) {
        char field[32];
        snprintf (field, sizeof field, "f%d", k);
        secpol_call_violation (&s_call, field, "bad entry %d", k);
    }
    assert_int_equal (secpol_call_check (&s_call), SECPOL_INVALID_ARGUMENT);
    assert_int_equal (s_call.n_violations, SECPOL_MAX_VIOLATIONS);
    assert_int_equal (s_call.violations_dropped, 10000 - SECPOL_MAX_VIOLATIONS);
    for (size_t i = 0; i < s_call.n_violations; i++) {
        char expected[32];
        snprintf (expected, sizeof expected, "f%zu", i);
        assert_string_equal (s_field (i), expected);
    }
    /* the list grew by doubling: its array is at most twice the cap */
    assert_true (s_call.violations_capacity >= SECPOL_MAX_VIOLATIONS);
    assert_true (s_call.violations_capacity <= 2 * SECPOL_MAX_VIOLATIONS);

    /* the message names the kept fields once each, then the count */
    const char *message = s_call.message;
    assert_true (strncmp (message, "invalid fields: f0, f1, f2, ", 28) == 0);
    assert_non_null (strstr (message, ", f99 ... and 9900 more"));
    const char *tail = " ... and 9900 more";
    assert_string_equal (message + strlen (message) - strlen (tail), tail);
    assert_null (strstr (message, "f100"));
    assert_true (strlen (message) < 16 + SECPOL_MAX_VIOLATIONS * 6 + 32);
}

/*  The dispatcher empties the list (n_violations = 0, violations = NULL)
 *  before it runs a SLOW request's write part again: the next violation
 *  starts a fresh list, without the old dropped count. */
static void
test_an_emptied_list_starts_afresh (void **state)
{
    (void)state;
    for (int k = 0; k < SECPOL_MAX_VIOLATIONS + 5; k++)
        secpol_call_violation (&s_call, "update_mask", "bad");
    s_call.n_violations = 0;
    s_call.violations = NULL;
    assert_int_equal (secpol_call_check (&s_call), SECPOL_OK);
    secpol_call_violation (&s_call, "actor", "is too long");
    assert_int_equal (secpol_call_check (&s_call), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (s_call.message, "invalid field: actor");
    assert_int_equal (s_call.n_violations, 1);
    assert_string_equal (s_field (0), "actor");
}

/*  One more than the cap: exactly one is counted. */
static void
test_one_past_the_cap (void **state)
{
    (void)state;
    for (int k = 0; k <= SECPOL_MAX_VIOLATIONS; k++)
        secpol_call_violation (&s_call, "x", "bad");
    assert_int_equal (secpol_call_check (&s_call), SECPOL_INVALID_ARGUMENT);
    assert_int_equal (s_call.n_violations, SECPOL_MAX_VIOLATIONS);
    const char *tail = "x, x ... and 1 more";
    assert_string_equal (s_call.message + strlen (s_call.message) - strlen (tail), tail);
}

static void
test_push_grows_by_doubling (void **state)
{
    (void)state;
    secpol_arena_t *arena = s_call.arena;
    size_t count = 0, capacity = 0;
    void **items = NULL;
    size_t regrowths = 0;
    for (uintptr_t k = 1; k <= 100000; k++) {
        void **before = items;
        secpol_arena_push (arena, &count, &capacity, &items, (void *)k);
        regrowths += items != before;
    }
    assert_int_equal (count, 100000);
    for (uintptr_t k = 0; k < count; k++)
        assert_true (items[k] == (void *)(k + 1));
    assert_true (capacity >= count && capacity <= 2 * count);
    assert_true (regrowths <= 20); /* log2 (100000) copies, not 100000 */
}

/*  An array of unknown capacity (from an unpacked message) is copied on
 *  the first push, never written past its end. */
static void
test_push_onto_an_unpacked_array (void **state)
{
    (void)state;
    char *unpacked[3] = {"a", "b", "c"};
    char **items = unpacked;
    size_t count = 3, capacity = 0;
    secpol_arena_push (s_call.arena, &count, &capacity, (void ***)&items, "d");
    assert_true (items != unpacked);
    assert_int_equal (count, 4);
    assert_string_equal (items[0], "a");
    assert_string_equal (items[3], "d");
    assert_string_equal (unpacked[2], "c");

    /* secpol_arena_append keeps working on such arrays */
    items = unpacked;
    count = 3;
    secpol_arena_append (s_call.arena, &count, (void ***)&items, "e");
    assert_int_equal (count, 4);
    assert_string_equal (items[2], "c");
    assert_string_equal (items[3], "e");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_no_violation_is_ok, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_every_violation_is_named_under_the_cap, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_ten_thousand_violations_keep_the_first_hundred,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_emptied_list_starts_afresh, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_one_past_the_cap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_push_grows_by_doubling, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_push_onto_an_unpacked_array, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
