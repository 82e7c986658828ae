/*  test_store_pg.c - the PostgreSQL store against LMDB, the reference.
 *
 *  Handlers must not see which backend runs under them, so the PostgreSQL
 *  store (store_pg.h) is checked against the LMDB one: the same random
 *  sequence of puts, deletes, gets, cursor walks (seek, next, prev, last,
 *  delete under the cursor) and nested transactions that commit or abort
 *  runs on both, on keys made of the bytes where orders differ (0x00, 0x7f,
 *  0x80, 0xff, prefixes of each other, longer than a cursor page), and every
 *  answer must be the same. Then what only PostgreSQL has: two writers that
 *  read and write one record conflict (SQLSTATE 40001, SECPOL_ECONFLICT),
 *  values stay valid until the transaction ends, a reset read transaction
 *  renewed sees the latest commit, a newer schema is refused, a bad or
 *  unreachable URI fails clearly.
 */
#include "fixtures.h"
#include "pg.h"
#include "store.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static const secpol_table_t s_alpha = {"alpha"};
static const secpol_table_t s_beta = {"beta"};
static const secpol_table_t *const s_tables[] = {&s_alpha, &s_beta};

typedef struct {
    char lmdb_dir[64]; /* the reference LMDB store */
    char pg_dir[64];   /* secret.key of the PostgreSQL store */
    char schema[64];   /* its schema */
    char url[512];
    secpol_store_t *lmdb, *pg;
} pair_t;

static pair_t s_pair;

static int
s_setup (void **state)
{
    (void)state;
    memset (&s_pair, 0, sizeof s_pair);
    secpol_store_options_t options = {.tables = s_tables, .n_tables = 2, .no_sync = true};
    if (secpol_test_dir_make (s_pair.lmdb_dir, sizeof s_pair.lmdb_dir, "lmdb") ||
        secpol_test_dir_make (s_pair.pg_dir, sizeof s_pair.pg_dir, "pg") ||
        secpol_test_pg_schema_new (s_pair.schema, sizeof s_pair.schema, s_pair.url,
                                   sizeof s_pair.url) ||
        secpol_store_open (&s_pair.lmdb, s_pair.lmdb_dir, &options))
        return -1;
    options.url = s_pair.url;
    int rc = secpol_store_open (&s_pair.pg, s_pair.pg_dir, &options);
    if (rc)
        fprintf (stderr, "cannot open the PostgreSQL store: %s\n", secpol_strerror (rc));
    return rc ? -1 : 0;
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_store_close (&s_pair.lmdb);
    secpol_store_close (&s_pair.pg);
    secpol_test_dir_remove (s_pair.lmdb_dir);
    secpol_test_dir_remove (s_pair.pg_dir);
    secpol_test_pg_schema_drop (s_pair.schema);
    return 0;
}

/* --- the same operations on both --------------------------------------------- */

static uint64_t s_seed;

static uint32_t
s_random (uint32_t below)
{
    s_seed = s_seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(s_seed >> 33) % below;
}

/*  A key of 1-3 bytes from an alphabet where signed, locale or length-first
 *  orders would differ from memcmp's. */
static size_t
s_key (uint8_t key[3])
{
    static const uint8_t alphabet[] = {0x00, 0x01, 0x41, 0x61, 0x7f, 0x80, 0xfe, 0xff};
    size_t size = 1 + s_random (3);
    for (size_t i = 0; i < size; i++)
        key[i] = alphabet[s_random (sizeof alphabet)];
    return size;
}

static void
s_same_val (const char *what, int step, int rc, secpol_val_t a, secpol_val_t b)
{
    if (rc == 0 && (a.size != b.size || (a.size && memcmp (a.data, b.data, a.size)))) {
        for (size_t i = 0; i < a.size; i++)
            fprintf (stderr, "%02x", ((const uint8_t *)a.data)[i]);
        fprintf (stderr, " (LMDB) ");
        for (size_t i = 0; i < b.size; i++)
            fprintf (stderr, "%02x", ((const uint8_t *)b.data)[i]);
        fprintf (stderr, " (PostgreSQL)\n");
        fail_msg ("step %d %s: LMDB and PostgreSQL answer different records", step, what);
    }
}

static void
s_same_rc (const char *what, int step, int a, int b)
{
    if (a != b)
        fail_msg ("step %d %s: LMDB %s, PostgreSQL %s", step, what, secpol_strerror (a),
                  secpol_strerror (b));
}

/*  Runs one random session of steps in a write transaction on each store
 *  (pair index 0 LMDB, 1 PostgreSQL), nested transactions inside, a cursor
 *  walking meanwhile. */
static void
s_session (int steps, bool commit)
{
    secpol_store_t *stores[2] = {s_pair.lmdb, s_pair.pg};
    secpol_txn_t *top[2] = {NULL, NULL}, *nested[2] = {NULL, NULL};
    secpol_cursor_t *cursor[2] = {NULL, NULL};
    bool deleted = false; /* the cursor's entry was deleted under it */
    bool lost = true;     /* the cursor's last move failed: handlers seek again then */
    for (int s = 0; s < 2; s++)
        assert_int_equal (secpol_txn_begin (stores[s], NULL, true, &top[s]), 0);
    for (int step = 0; step < steps; step++) {
        secpol_txn_t *txn[2];
        for (int s = 0; s < 2; s++)
            txn[s] = nested[s] ? nested[s] : top[s];
        const secpol_table_t *table = s_random (4) ? &s_alpha : &s_beta;
        uint8_t key[3];
        size_t key_size = s_key (key);
        int rc[2];
        secpol_val_t k[2] = {{0}}, v[2] = {{0}};
        uint32_t op = s_random (100);
        if (op < 30) { /* put: the value names the step */
            char value[16];
            int length = snprintf (value, sizeof value, "v%d", step);
            for (int s = 0; s < 2; s++)
                rc[s] = secpol_put (txn[s], table, key, key_size, value, (size_t)length);
            s_same_rc ("put", step, rc[0], rc[1]);
        } else if (op < 40) {
            for (int s = 0; s < 2; s++)
                rc[s] = secpol_del (txn[s], table, key, key_size);
            s_same_rc ("del", step, rc[0], rc[1]);
        } else if (op < 50) {
            for (int s = 0; s < 2; s++)
                rc[s] = secpol_get (txn[s], table, key, key_size, &v[s]);
            s_same_rc ("get", step, rc[0], rc[1]);
            s_same_val ("get", step, rc[0], v[0], v[1]);
        } else if (op < 90) { /* the cursor: open on alpha, walk, close */
            if (!cursor[0] || s_random (10) == 0) {
                deleted = false;
                lost = true;
                for (int s = 0; s < 2; s++) {
                    secpol_cursor_close (&cursor[s]);
                    assert_int_equal (secpol_cursor_open (txn[s], &s_alpha, &cursor[s]), 0);
                }
            }
            uint32_t move = s_random (10);
            if (deleted && move >= 6)
                move = 3; /* after a delete under the cursor, handlers step on (or seek) */
            if (lost && move >= 3)
                move = s_random (3); /* past either end, handlers seek again */
            deleted = move == 9;
            for (int s = 0; s < 2; s++)
                rc[s] = move == 0   ? secpol_cursor_seek (cursor[s], key, key_size, &k[s], &v[s])
                        : move == 1 ? secpol_cursor_seek (cursor[s], NULL, 0, &k[s], &v[s])
                        : move == 2 ? secpol_cursor_last (cursor[s], &k[s], &v[s])
                        : move < 6  ? secpol_cursor_next (cursor[s], &k[s], &v[s])
                        : move < 9  ? secpol_cursor_prev (cursor[s], &k[s], &v[s])
                                    : secpol_cursor_del (cursor[s]);
            if (move == 9 && rc[0] == EINVAL)
                rc[0] = SECPOL_EINVAL; /* LMDB's word for "not positioned" */
            s_same_rc ("cursor", step, rc[0], rc[1]);
            lost = rc[0] != 0;
            s_same_val ("cursor key", step, move == 9 ? 1 : rc[0], k[0], k[1]);
            s_same_val ("cursor value", step, move == 9 ? 1 : rc[0], v[0], v[1]);
        } else if (op < 95 && !nested[0]) { /* a nested transaction begins */
            for (int s = 0; s < 2; s++) {
                secpol_cursor_close (&cursor[s]);
                assert_int_equal (secpol_txn_begin (stores[s], top[s], true, &nested[s]), 0);
            }
        } else if (nested[0]) { /* it ends: commit or roll back alone */
            bool keep = s_random (2);
            for (int s = 0; s < 2; s++) {
                secpol_cursor_close (&cursor[s]);
                if (keep)
                    assert_int_equal (secpol_txn_commit (&nested[s]), 0);
                else
                    secpol_txn_abort (&nested[s]);
            }
        }
    }
    for (int s = 0; s < 2; s++) {
        secpol_cursor_close (&cursor[s]);
        if (nested[s])
            assert_int_equal (secpol_txn_commit (&nested[s]), 0);
        if (commit)
            assert_int_equal (secpol_txn_commit (&top[s]), 0);
        else
            secpol_txn_abort (&top[s]);
    }
}

/*  Both stores, read in full in key order, hold the same records. */
static void
s_same_contents (void)
{
    secpol_store_t *stores[2] = {s_pair.lmdb, s_pair.pg};
    const secpol_table_t *tables[] = {&s_alpha, &s_beta};
    for (int t = 0; t < 2; t++) {
        secpol_txn_t *txn[2];
        secpol_cursor_t *cursor[2];
        int rc[2];
        secpol_val_t k[2], v[2];
        for (int s = 0; s < 2; s++) {
            assert_int_equal (secpol_txn_begin (stores[s], NULL, false, &txn[s]), 0);
            assert_int_equal (secpol_cursor_open (txn[s], tables[t], &cursor[s]), 0);
            rc[s] = secpol_cursor_seek (cursor[s], NULL, 0, &k[s], &v[s]);
        }
        int n = 0;
        for (;; n++) {
            s_same_rc ("scan", n, rc[0], rc[1]);
            if (rc[0])
                break;
            s_same_val ("scan key", n, 0, k[0], k[1]);
            s_same_val ("scan value", n, 0, v[0], v[1]);
            for (int s = 0; s < 2; s++)
                rc[s] = secpol_cursor_next (cursor[s], &k[s], &v[s]);
        }
        for (int s = 0; s < 2; s++) {
            secpol_cursor_close (&cursor[s]);
            secpol_txn_abort (&txn[s]);
        }
    }
}

static void
test_random_sessions_answer_as_lmdb_does (void **state)
{
    (void)state;
    s_seed = 20261201;
    /* a table larger than a cursor page (32 rows) first, then random sessions */
    secpol_store_t *stores[2] = {s_pair.lmdb, s_pair.pg};
    for (int s = 0; s < 2; s++) {
        secpol_txn_t *txn = NULL;
        assert_int_equal (secpol_txn_begin (stores[s], NULL, true, &txn), 0);
        for (int i = 0; i < 300; i++) {
            uint8_t key[2] = {(uint8_t)(i * 37), (uint8_t)(i * 11)};
            assert_int_equal (secpol_put (txn, &s_alpha, key, 1 + (size_t)(i % 2), "x", 1), 0);
        }
        assert_int_equal (secpol_txn_commit (&txn), 0);
    }
    s_same_contents ();
    for (int session = 0; session < 12; session++) {
        s_session (300, session % 4 != 3);
        s_same_contents ();
    }
}

/* --- what only PostgreSQL has -------------------------------------------------- */

/*  Two instances read one counter and write it back at the same time: under
 *  SERIALIZABLE one of them must fail to serialize, and the WRITE lane
 *  runs its batch again (SECPOL_ECONFLICT, secpol_txn_conflict). */
static void
test_two_writers_of_one_record_conflict (void **state)
{
    (void)state;
    char dir[64];
    assert_int_equal (secpol_test_dir_make (dir, sizeof dir, "pg2"), 0);
    secpol_store_options_t options = {.tables = s_tables, .n_tables = 2, .url = s_pair.url};
    secpol_store_t *other = NULL;
    assert_int_equal (secpol_store_open (&other, dir, &options), 0);
    secpol_txn_t *a = NULL, *b = NULL, *nested = NULL;
    assert_int_equal (secpol_txn_begin (s_pair.pg, NULL, true, &a), 0);
    assert_int_equal (secpol_txn_begin (other, NULL, true, &b), 0);
    assert_int_equal (secpol_get (a, &s_alpha, "n", 1, NULL), SECPOL_ENOTFOUND);
    assert_int_equal (secpol_txn_begin (other, b, true, &nested), 0); /* a request's savepoint */
    assert_int_equal (secpol_get (nested, &s_alpha, "n", 1, NULL), SECPOL_ENOTFOUND);
    assert_int_equal (secpol_put (a, &s_alpha, "n", 1, "1", 1), 0);
    assert_int_equal (secpol_txn_commit (&a), 0);
    /* b's write would lose a's: SERIALIZABLE refuses it, and the whole of b
     * must run again, not only the request's savepoint */
    assert_int_equal (secpol_put (nested, &s_alpha, "n", 1, "1", 1), SECPOL_ECONFLICT);
    assert_int_equal (secpol_txn_commit (&nested), SECPOL_ECONFLICT);
    assert_true (secpol_txn_conflict (b));
    assert_int_equal (secpol_get (b, &s_alpha, "n", 1, NULL), SECPOL_ECONFLICT);
    assert_int_equal (secpol_txn_commit (&b), SECPOL_ECONFLICT);
    /* run again, it sees a's write */
    assert_int_equal (secpol_txn_begin (other, NULL, true, &b), 0);
    secpol_val_t value;
    assert_int_equal (secpol_get (b, &s_alpha, "n", 1, &value), 0);
    assert_memory_equal (value.data, "1", 1);
    assert_int_equal (secpol_put (b, &s_alpha, "n", 1, "2", 1), 0);
    assert_int_equal (secpol_txn_commit (&b), 0);
    secpol_store_close (&other);
    secpol_test_dir_remove (dir);
}

static void
test_values_stay_valid_until_the_transaction_ends (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_pair.pg, NULL, true, &txn), 0);
    for (int i = 0; i < 100; i++) {
        char key[8];
        snprintf (key, sizeof key, "k%03d", i);
        assert_int_equal (secpol_put (txn, &s_beta, key, 4, key, 4), 0);
    }
    secpol_val_t values[100];
    for (int i = 0; i < 100; i++) {
        char key[8];
        snprintf (key, sizeof key, "k%03d", i);
        assert_int_equal (secpol_get (txn, &s_beta, key, 4, &values[i]), 0);
        /* later writes to the same table do not move what was read */
        assert_int_equal (secpol_put (txn, &s_beta, key, 4, "changed", 7), 0);
    }
    for (int i = 0; i < 100; i++) {
        char key[8];
        snprintf (key, sizeof key, "k%03d", i);
        assert_int_equal (values[i].size, 4);
        assert_memory_equal (values[i].data, key, 4);
    }
    assert_int_equal (secpol_txn_commit (&txn), 0);
}

static void
test_a_renewed_read_transaction_sees_the_latest_commit (void **state)
{
    (void)state;
    secpol_txn_t *reader = NULL, *writer = NULL;
    assert_int_equal (secpol_txn_begin (s_pair.pg, NULL, false, &reader), 0);
    assert_int_equal (secpol_get (reader, &s_alpha, "r", 1, NULL), SECPOL_ENOTFOUND);
    assert_int_equal (secpol_put (reader, &s_alpha, "r", 1, "x", 1), SECPOL_EREADONLY);
    assert_int_equal (secpol_txn_begin (s_pair.pg, NULL, true, &writer), 0);
    assert_int_equal (secpol_put (writer, &s_alpha, "r", 1, "x", 1), 0);
    assert_int_equal (secpol_txn_commit (&writer), 0);
    /* a snapshot: the open read transaction does not see it */
    assert_int_equal (secpol_get (reader, &s_alpha, "r", 1, NULL), SECPOL_ENOTFOUND);
    secpol_txn_reset (reader);
    assert_int_equal (secpol_txn_renew (reader), 0);
    assert_int_equal (secpol_get (reader, &s_alpha, "r", 1, NULL), 0);
    secpol_txn_abort (&reader);
}

/*  GetStats on PostgreSQL: entries per table and META's store_info, the
 *  same schema stamp as LMDB's. */
static void
test_stats_count_entries_and_say_when_the_store_was_made (void **state)
{
    (void)state;
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_pair.pg, NULL, true, &txn), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal (secpol_put (txn, &s_beta, &i, sizeof i, "x", 1), 0);
    assert_int_equal (secpol_txn_commit (&txn), 0);
    assert_int_equal (secpol_txn_begin (s_pair.pg, NULL, false, &txn), 0);
    secpol_store_stats_t stats;
    assert_int_equal (secpol_store_stats (txn, &stats), 0);
    secpol_txn_abort (&txn);
    assert_int_equal (stats.schema_version, SECPOL_SCHEMA_VERSION);
    assert_int_equal (secpol_store_schema (s_pair.pg), SECPOL_SCHEMA_VERSION);
    assert_true (stats.created_at > 0);
    assert_int_equal (stats.upgraded_from, 0);
    assert_int_equal (stats.n_tables, 3); /* meta, alpha, beta */
    assert_string_equal (stats.tables[2].name, "beta");
    assert_int_equal (stats.tables[2].entries, 40);
    assert_int_equal (stats.tables[1].entries, 0);
}

static void
test_a_newer_schema_and_bad_uris_are_refused (void **state)
{
    (void)state;
    secpol_store_close (&s_pair.pg);
    secpol_store_options_t options = {.tables = s_tables, .n_tables = 2, .url = s_pair.url};
    assert_int_equal (secpol_test_pg_exec (s_pair.url,
                                           "UPDATE secpol_kv SET v = '\\xffff0000'::bytea "
                                           "WHERE tbl = 'meta' AND k = 'pg_layout'::bytea"),
                      0);
    assert_int_equal (secpol_store_open (&s_pair.pg, s_pair.pg_dir, &options), SECPOL_ESCHEMA);
    assert_null (s_pair.pg);
    assert_non_null (strstr (secpol_strerror (SECPOL_ESCHEMA), "newer"));
    /* not a PostgreSQL URI */
    options.url = "mysql://localhost/secpol";
    assert_int_equal (secpol_store_open (&s_pair.pg, s_pair.pg_dir, &options), SECPOL_EINVAL);
    /* nothing listens there */
    options.url = "postgresql:///postgres?host=/nonexistent&connect_timeout=2";
    assert_int_equal (secpol_store_open (&s_pair.pg, s_pair.pg_dir, &options), SECPOL_EBACKEND);
    assert_null (s_pair.pg);
    char where[300];
    assert_string_equal (secpol_store_describe (
                             where, sizeof where,
                             "postgresql://secpol:hunter2@db.example:5433/policy?sslmode=require"),
                         "postgresql://secpol@db.example:5433/policy");
}

int
main (void)
{
    if (!secpol_test_pg_base ())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_random_sessions_answer_as_lmdb_does, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_two_writers_of_one_record_conflict, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_values_stay_valid_until_the_transaction_ends, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_renewed_read_transaction_sees_the_latest_commit,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_stats_count_entries_and_say_when_the_store_was_made,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_newer_schema_and_bad_uris_are_refused, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
