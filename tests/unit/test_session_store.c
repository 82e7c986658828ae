/*  test_session_store.c - SessionService's tables on a real LMDB store:
 *  secpol_session_revoke_all (the call TokenService makes when a password
 *  reset is consumed), the expiry entries that follow a session, and keys
 *  that stay apart whatever bytes the ids hold. */
#include "expiry.h"
#include "fixtures.h"
#include "session_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static const secpol_table_t *const s_tables[] = {
    &secpol_session_table, &secpol_session_subject_table, &secpol_expiry_table};
static secpol_test_store_t s_fx;
static secpol_arena_t *s_arena;

static int
s_setup (void **state)
{
    (void)state;
    return secpol_test_store_open_with_arena (&s_fx, &s_arena, s_tables, 3);
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_test_store_close_with_arena (&s_fx, &s_arena);
    return 0;
}

#define T0 1800000000

/*  Stores a session whose token hash is n repeated, created at T0 + n,
 *  ending at ends_at (idle deadline; 0 = never). */
static void
s_add (secpol_txn_t *txn, const char *ws, const char *subject, uint8_t n, int64_t ends_at,
       uint8_t hash[SECPOL_SECRET_TOKEN_HASH])
{
    static uint8_t ids[256][SECPOL_SESSION_ID_BYTES];
    memset (hash, n, SECPOL_SECRET_TOKEN_HASH);
    memset (ids[n], n, SECPOL_SESSION_ID_BYTES);
    Secpol__Store__V1__SessionRecord record = SECPOL__STORE__V1__SESSION_RECORD__INIT;
    record.workspace_id = (char *)ws;
    record.subject_id = (char *)subject;
    record.session_id.len = SECPOL_SESSION_ID_BYTES;
    record.session_id.data = ids[n];
    record.created_at = T0 + n;
    record.last_seen_at = T0 + n;
    record.idle_expires_at = ends_at;
    assert_int_equal (secpol_session_save (txn, s_arena, hash, &record, NULL), 0);
}

static bool
s_exists (secpol_txn_t *txn, const uint8_t hash[SECPOL_SECRET_TOKEN_HASH])
{
    Secpol__Store__V1__SessionRecord *record;
    int rc = secpol_session_load (txn, s_arena, hash, &record);
    assert_true (rc == 0 || rc == SECPOL_ENOTFOUND);
    return rc == 0;
}

static void
test_revoke_all_takes_one_subject_and_keeps_the_exception (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    uint8_t a1[32], a2[32], a3[32], other[32], prefix_twin[32], elsewhere[32];
    s_add (txn, "w", "ann", 1, T0 + 600, a1);
    s_add (txn, "w", "ann", 2, 0, a2); /* no end: not in the expiry index */
    s_add (txn, "w", "ann", 3, T0 + 900, a3);
    s_add (txn, "w", "bob", 4, T0 + 600, other);
    /* "w" + "annx" and "wa" + "nn" share bytes with "w" + "ann": lengths keep them apart */
    s_add (txn, "w", "annx", 5, T0 + 600, prefix_twin);
    s_add (txn, "wa", "nn", 6, T0 + 600, elsewhere);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 2 * 5);

    uint32_t revoked = 99;
    assert_int_equal (secpol_session_revoke_all (txn, "w", "ann", (const char *)a3, &revoked), 0);
    assert_int_equal (revoked, 2);
    assert_false (s_exists (txn, a1));
    assert_false (s_exists (txn, a2));
    assert_true (s_exists (txn, a3));
    assert_true (s_exists (txn, other));
    assert_true (s_exists (txn, prefix_twin));
    assert_true (s_exists (txn, elsewhere));
    /* a1's two expiry entries went with it; a2 had none */
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 2 * 4);
    assert_int_equal (secpol_test_count (txn, &secpol_session_subject_table), 4);

    /* NULL keeps none; a second call finds nothing */
    assert_int_equal (secpol_session_revoke_all (txn, "w", "ann", NULL, &revoked), 0);
    assert_int_equal (revoked, 1);
    assert_int_equal (secpol_session_revoke_all (txn, "w", "ann", NULL, &revoked), 0);
    assert_int_equal (revoked, 0);
    assert_int_equal (secpol_test_count (txn, &secpol_session_table), 3);
    secpol_txn_abort (&txn);
}

static void
test_revoke_all_counts_only_live_sessions_and_skips_swept_records (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    uint8_t ended[32], live[32], swept[32];
    s_add (txn, "w", "cid", 1, T0 + 60, ended);
    s_add (txn, "w", "cid", 2, T0 + 6000, live);
    s_add (txn, "w", "cid", 3, T0 + 60, swept);
    /* the sweep takes the record first and the index entry in a later batch */
    assert_int_equal (secpol_del (txn, &secpol_session_table, swept, 32), 0);
    uint32_t revoked = 0;
    assert_int_equal (secpol_session_revoke_all_at (txn, "w", "cid", NULL, T0 + 120, &revoked), 0);
    assert_int_equal (revoked, 1);
    assert_int_equal (secpol_test_count (txn, &secpol_session_table), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_session_subject_table), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 0);
    secpol_txn_abort (&txn);
}

static void
test_revoke_all_refuses_bad_ids (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    char long_id[SECPOL_SESSION_ID_MAX + 2];
    memset (long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    uint32_t revoked = 7;
    assert_int_equal (secpol_session_revoke_all (txn, "", "s", NULL, &revoked), SECPOL_EINVAL);
    assert_int_equal (revoked, 0);
    assert_int_equal (secpol_session_revoke_all (txn, "w", NULL, NULL, NULL), SECPOL_EINVAL);
    assert_int_equal (secpol_session_revoke_all (txn, long_id, "s", NULL, NULL), SECPOL_EINVAL);
    /* the longest ids work, and their keys fit */
    long_id[SECPOL_SESSION_ID_MAX] = '\0';
    uint8_t first[32], kept[32];
    s_add (txn, long_id, long_id, 1, T0 + 60, first);
    s_add (txn, long_id, long_id, 2, T0 + 60, kept);
    assert_int_equal (secpol_session_revoke_all (txn, long_id, long_id, kept, &revoked), 0);
    assert_int_equal (revoked, 1);
    assert_false (s_exists (txn, first));
    assert_true (s_exists (txn, kept));
    secpol_txn_abort (&txn);
}

/*  A touch moves both expiry entries: a sweep between the old and the new
 *  deadline leaves the session whole; one past the new deletes all of it. */
static void
test_a_moved_deadline_moves_both_expiry_entries (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    uint8_t hash[32];
    s_add (txn, "w", "dee", 1, T0 + 300, hash);
    Secpol__Store__V1__SessionRecord *old, *touched;
    assert_int_equal (secpol_session_load (txn, s_arena, hash, &old), 0);
    assert_int_equal (secpol_session_load (txn, s_arena, hash, &touched), 0);
    touched->last_seen_at = T0 + 200;
    touched->idle_expires_at = T0 + 500;
    assert_int_equal (secpol_session_save (txn, s_arena, hash, touched, old), 0);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 2);

    size_t deleted;
    bool more;
    assert_int_equal (secpol_expiry_sweep (txn, T0 + 400, 100, &deleted, &more), 0);
    assert_int_equal (deleted, 0);
    assert_true (s_exists (txn, hash));
    assert_int_equal (secpol_expiry_sweep (txn, T0 + 500, 100, &deleted, &more), 0);
    assert_int_equal (deleted, 2);
    assert_false (s_exists (txn, hash));
    assert_int_equal (secpol_test_count (txn, &secpol_session_subject_table), 0);
    secpol_txn_abort (&txn);
}

static void
test_ends_at_is_the_earlier_deadline (void **state)
{
    (void)state;
    Secpol__Store__V1__SessionRecord record = SECPOL__STORE__V1__SESSION_RECORD__INIT;
    assert_int_equal (secpol_session_ends_at (&record), 0);
    assert_false (secpol_session_ended (&record, INT64_MAX));
    record.expires_at = 100;
    assert_int_equal (secpol_session_ends_at (&record), 100);
    record.idle_expires_at = 50;
    assert_int_equal (secpol_session_ends_at (&record), 50);
    record.idle_expires_at = 150;
    assert_int_equal (secpol_session_ends_at (&record), 100);
    assert_false (secpol_session_ended (&record, 99));
    assert_true (secpol_session_ended (&record, 100));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_revoke_all_takes_one_subject_and_keeps_the_exception,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_revoke_all_counts_only_live_sessions_and_skips_swept_records, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_revoke_all_refuses_bad_ids, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_moved_deadline_moves_both_expiry_entries, s_setup,
                                         s_teardown),
        cmocka_unit_test (test_ends_at_is_the_earlier_deadline),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
