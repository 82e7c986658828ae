/*  test_store_grow.c - growing the map cannot be starved by readers.
 *
 *  secpol_store_grow() must wait until no read transaction of this process
 *  is open (mdb_env_set_mapsize's rule). With a reader-preferring lock, a
 *  stream of overlapping reads kept it waiting indefinitely (a write waited
 *  39 s behind slow reads). Here four threads keep read transactions open
 *  back to back, always overlapping; the grow must finish while they go on,
 *  long before they have run 400 more transactions.
 */
#include "fixtures.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static secpol_store_t *s_store;
static atomic_bool s_stop;
static atomic_long s_reads; /* read transactions completed */

static void *
s_reader (void *arg)
{
    (void)arg;
    while (!atomic_load (&s_stop)) {
        secpol_txn_t *txn = NULL;
        assert_int_equal (secpol_txn_begin (s_store, NULL, false, &txn), 0);
        struct timespec pause = {0, 2 * 1000 * 1000}; /* a slow read: 2 ms */
        nanosleep (&pause, NULL);
        secpol_txn_abort (&txn);
        atomic_fetch_add (&s_reads, 1);
    }
    return NULL;
}

static atomic_bool s_grown;

static void *
s_grower (void *arg)
{
    (void)arg;
    assert_int_equal (secpol_store_grow (s_store), 0);
    atomic_store (&s_grown, true);
    return NULL;
}

static void
test_grow_is_not_starved_by_overlapping_reads (void **state)
{
    (void)state;
    char dir[] = "/tmp/secpol-grow-XXXXXX";
    assert_non_null (mkdtemp (dir));
    secpol_store_options_t options = {.map_size = 1 << 20, .no_sync = true};
    assert_int_equal (secpol_store_open (&s_store, dir, &options), 0);
    size_t before = secpol_store_map_size (s_store);

    enum { READERS = 4 };
    pthread_t readers[READERS], grower;
    for (int i = 0; i < READERS; i++)
        assert_int_equal (pthread_create (&readers[i], NULL, s_reader, NULL), 0);
    long long give_up = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    while (atomic_load (&s_reads) < 40) { /* the readers overlap by now */
        if (secpol_test_now_ms () > give_up)
            fail_msg ("%ld reads in %d ms", atomic_load (&s_reads), SECPOL_TEST_DEADLINE_MS);
        usleep (1000); /* polls the condition; the deadline bounds it */
    }
    long at_start = atomic_load (&s_reads);
    assert_int_equal (pthread_create (&grower, NULL, s_grower, NULL), 0);
    while (!atomic_load (&s_grown) && atomic_load (&s_reads) - at_start < 400)
        usleep (1000);
    bool grown = atomic_load (&s_grown);
    long waited = atomic_load (&s_reads) - at_start;
    atomic_store (&s_stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join (readers[i], NULL);
    pthread_join (grower, NULL); /* the readers stopped: it finishes now in any case */
    print_message ("grow finished after %ld overlapping reads\n", waited);
    assert_true (grown);
    assert_int_equal (secpol_store_map_size (s_store), before * 2);
    secpol_store_close (&s_store);
    char command[64];
    snprintf (command, sizeof command, "rm -rf %s", dir);
    assert_int_equal (system (command), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_grow_is_not_starved_by_overlapping_reads),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
