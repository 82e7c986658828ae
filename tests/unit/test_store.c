/*  test_store.c - the LMDB store against a real environment in a temp dir. */
#include "fixtures.h"
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* The tables these tests use: the store knows only what it is given. */
static const secpol_table_t s_alpha = {"alpha"};
static const secpol_table_t s_beta = {"beta"};
static const secpol_table_t s_unopened = {"unopened"};
static const secpol_table_t *const s_tables[] = {&s_alpha, &s_beta};

/*  A store in a temp dir per test, opened with s_tables; closed and removed
 *  however the test ends. */
static secpol_test_store_t s_fx;

static int
s_setup (void **state)
{
    (void)state;
    return secpol_test_store_open (&s_fx, s_tables, 2);
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_test_store_close (&s_fx);
    return 0;
}

static void
s_put_str (secpol_txn_t *txn, const secpol_table_t *table, const char *key, const char *value)
{
    assert_int_equal (secpol_put (txn, table, key, strlen (key), value, strlen (value)), 0);
}

static void
test_put_get_delete_survive_reopen (void **state)
{
    (void)state;
    assert_int_equal (secpol_store_schema (s_fx.store), SECPOL_SCHEMA_VERSION);

    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    s_put_str (txn, &s_alpha, "w1", "alpha");
    s_put_str (txn, &s_alpha, "w2", "beta");
    /* the same key in another table is another record */
    s_put_str (txn, &s_beta, "w1", "other");
    assert_int_equal (secpol_txn_commit (&txn), 0);
    assert_null (txn);

    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    assert_int_equal (secpol_del (txn, &s_alpha, "w2", 2), 0);
    assert_int_equal (secpol_del (txn, &s_alpha, "w2", 2), SECPOL_ENOTFOUND);
    assert_int_equal (secpol_txn_commit (&txn), 0);
    secpol_store_close (&s_fx.store);
    assert_null (s_fx.store);

    /* reopen: committed data is there, deleted data is not */
    assert_int_equal (secpol_test_store_reopen (&s_fx), 0);
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, false, &txn), 0);
    secpol_val_t value;
    assert_int_equal (secpol_get (txn, &s_alpha, "w1", 2, &value), 0);
    assert_int_equal (value.size, 5);
    assert_memory_equal (value.data, "alpha", 5);
    assert_int_equal (secpol_get (txn, &s_beta, "w1", 2, &value), 0);
    assert_memory_equal (value.data, "other", 5);
    assert_int_equal (secpol_get (txn, &s_alpha, "w2", 2, &value), SECPOL_ENOTFOUND);
    /* a read transaction refuses writes */
    assert_int_equal (secpol_put (txn, &s_alpha, "w3", 2, "x", 1), SECPOL_EREADONLY);
    secpol_txn_abort (&txn);
    assert_null (txn);
}

static void
test_nested_abort_rolls_back_alone (void **state)
{
    (void)state;
    secpol_store_t *store = s_fx.store;
    secpol_txn_t *top = NULL, *child = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, true, &top), 0);
    assert_int_equal (secpol_txn_begin (store, top, true, &child), 0);
    s_put_str (child, &s_alpha, "kept", "1");
    assert_int_equal (secpol_txn_commit (&child), 0);
    assert_int_equal (secpol_txn_begin (store, top, true, &child), 0);
    s_put_str (child, &s_alpha, "dropped", "2");
    secpol_txn_abort (&child);
    assert_int_equal (secpol_txn_commit (&top), 0);

    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    assert_int_equal (secpol_get (txn, &s_alpha, "kept", 4, NULL), 0);
    assert_int_equal (secpol_get (txn, &s_alpha, "dropped", 7, NULL), SECPOL_ENOTFOUND);
    secpol_txn_abort (&txn);
    /* a read-only transaction cannot parent a nested one */
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    assert_int_equal (secpol_txn_begin (store, txn, true, &child), SECPOL_EINVAL);
    secpol_txn_abort (&txn);
}

static void
test_cursor_prefix_scans_both_ways (void **state)
{
    (void)state;
    secpol_store_t *store = s_fx.store;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, true, &txn), 0);
    const char *keys[] = {"a/1", "b/1", "b/2", "b/3", "c/1"};
    for (int i = 0; i < 5; i++)
        s_put_str (txn, &s_alpha, keys[i], keys[i]);
    assert_int_equal (secpol_txn_commit (&txn), 0);

    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    secpol_cursor_t *cursor = NULL;
    assert_int_equal (secpol_cursor_open (txn, &s_alpha, &cursor), 0);
    secpol_val_t key, value;
    int seen = 0;
    for (int rc = secpol_cursor_seek (cursor, "b/", 2, &key, &value);
         rc == 0 && secpol_val_has_prefix (key, "b/", 2);
         rc = secpol_cursor_next (cursor, &key, &value))
        seen++;
    assert_int_equal (seen, 3);
    /* newest first: seek past the prefix, step back */
    assert_int_equal (secpol_cursor_seek (cursor, "b0", 2, &key, NULL), 0);
    assert_memory_equal (key.data, "c/1", 3);
    assert_int_equal (secpol_cursor_prev (cursor, &key, NULL), 0);
    assert_memory_equal (key.data, "b/3", 3);
    assert_int_equal (secpol_cursor_last (cursor, &key, NULL), 0);
    assert_memory_equal (key.data, "c/1", 3);
    assert_int_equal (secpol_cursor_next (cursor, &key, NULL), SECPOL_ENOTFOUND);
    assert_int_equal (secpol_cursor_seek (cursor, "d", 1, &key, NULL), SECPOL_ENOTFOUND);
    secpol_cursor_close (&cursor);
    assert_null (cursor);
    secpol_txn_abort (&txn);
}

static void
test_map_grows_instead_of_failing (void **state)
{
    (void)state;
    /* A deliberately tiny map: writes fill it, the caller grows and retries,
     * the way the WRITE lane does. */
    secpol_store_close (&s_fx.store);
    secpol_store_options_t options = s_fx.options;
    options.map_size = 64 * 1024;
    assert_int_equal (secpol_store_open (&s_fx.store, s_fx.dir, &options), 0);
    secpol_store_t *store = s_fx.store;
    size_t initial = secpol_store_map_size (store);
    char value[4000];
    memset (value, 'v', sizeof value);
    int grows = 0;
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf (key, sizeof key, "k%05d", i);
        for (;;) {
            secpol_txn_t *txn = NULL;
            assert_int_equal (secpol_txn_begin (store, NULL, true, &txn), 0);
            int rc = secpol_put (txn, &s_alpha, key, strlen (key), value, sizeof value);
            if (rc == 0)
                rc = secpol_txn_commit (&txn);
            else {
                assert_int_equal (rc, SECPOL_EMAPFULL);
                assert_true (secpol_txn_map_full (txn));
                secpol_txn_abort (&txn);
            }
            if (rc == 0)
                break;
            assert_int_equal (rc, SECPOL_EMAPFULL);
            assert_int_equal (secpol_store_grow (store), 0);
            grows++;
        }
    }
    assert_true (grows > 0);
    assert_true (secpol_store_map_size (store) > initial);
    /* every record is there after a reopen, which keeps the grown size */
    assert_int_equal (secpol_test_store_reopen (&s_fx), 0);
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, false, &txn), 0);
    assert_int_equal (secpol_get (txn, &s_alpha, "k00199", 6, NULL), 0);
    secpol_txn_abort (&txn);
}

static void
test_newer_schema_is_refused (void **state)
{
    (void)state;
    secpol_store_close (&s_fx.store);
    /* stamp a future schema straight through LMDB, as a newer secpold would */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_set_maxdbs (env, 16), 0);
    assert_int_equal (mdb_env_open (env, s_fx.dir, 0, 0600), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, 0, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, "meta", 0, &dbi), 0);
    uint32_t future = SECPOL_SCHEMA_VERSION + 1;
    MDB_val key = {strlen ("schema_version"), "schema_version"}, val = {sizeof future, &future};
    assert_int_equal (mdb_put (txn, dbi, &key, &val, 0), 0);
    assert_int_equal (mdb_txn_commit (txn), 0);
    mdb_env_close (env);

    assert_int_equal (secpol_test_store_reopen (&s_fx), SECPOL_ESCHEMA);
    assert_null (s_fx.store);
    assert_non_null (strstr (secpol_strerror (SECPOL_ESCHEMA), "newer"));
}

static void
test_bad_arguments (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    assert_int_equal (secpol_put (txn, &s_alpha, "", 0, "x", 1), SECPOL_EINVAL);
    assert_int_equal (secpol_put (txn, &s_unopened, "k", 1, "x", 1), SECPOL_EINVAL);
    secpol_txn_abort (&txn);
    /* a directory that does not exist is an errno error, not a crash */
    secpol_store_t *store = NULL;
    assert_int_equal (secpol_store_open (&store, "/nonexistent/secpol", &s_fx.options), ENOENT);
    assert_string_equal (secpol_strerror (ENOENT), strerror (ENOENT));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_put_get_delete_survive_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_nested_abort_rolls_back_alone, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_cursor_prefix_scans_both_ways, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_map_grows_instead_of_failing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_newer_schema_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_arguments, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
