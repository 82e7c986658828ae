/*  test_housekeeping.c - expired records go, the file stops growing, stats
 *  tell, dead readers are cleared while secpold runs.
 *
 *  100,000 short-lived links (a one-minute lifetime) are issued, the test
 *  clock is moved past their expiry and the day an expired link still says
 *  so, and the writer's background sweep (expiry.h) deletes them in small
 *  batches: the store's live entries (AdminService/GetStats) come back to
 *  what they were before. A second round of 100,000 does the same and the
 *  data file does not grow: the pages the first round freed are reused.
 *
 *  A process that dies inside a read transaction leaves its LMDB reader
 *  slot behind; the writer clears it within seconds, without a restart.
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/admin.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define S_STATS "/secpol.v1.AdminService/GetStats"
#define S_ISSUE "/secpol.v1.TokenService/IssueToken"
#define S_KIND  SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION
/* 100,000 links a round; a tenth under AddressSanitizer (make
 * test-sanitize), where each write costs some twenty times as much and the
 * full count would take minutes: the sweep, the counts and the file size
 * are checked the same way */
#ifdef __SANITIZE_ADDRESS__
#define S_LINKS 10000
#else
#define S_LINKS 100000
#endif
#define S_WINDOW 512 /* calls in flight: under the 1024 replies secpold queues per client */
#define S_DAY    86400

static pid_t s_child; /* the reader process of the second test, killed by its teardown */

static int
s_teardown (void **state)
{
    if (s_child > 0) {
        kill (s_child, SIGKILL);
        waitpid (s_child, NULL, 0);
        s_child = 0;
    }
    return secpol_test_daemon_teardown (state);
}

static Secpol__V1__GetStatsResponse *
s_stats (secpol_client_t *client)
{
    Secpol__V1__GetStatsRequest request = SECPOL__V1__GET_STATS_REQUEST__INIT;
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_STATS, &request.base, &response), SECPOL_OK);
    return (Secpol__V1__GetStatsResponse *)response;
}

/*  Live entries of every table but META, and the data file's size. */
static uint64_t
s_entries (secpol_client_t *client, uint64_t *file_size)
{
    Secpol__V1__GetStatsResponse *stats = s_stats (client);
    uint64_t entries = 0;
    for (size_t i = 0; i < stats->store->n_tables; i++)
        entries += stats->store->tables[i]->entries;
    if (file_size)
        *file_size = stats->store->file_size;
    protobuf_c_message_free_unpacked (&stats->base, NULL);
    return entries;
}

/*  Issues S_LINKS links of round, S_WINDOW in flight. */
static void
s_issue_round (secpol_client_t *client, int round)
{
    size_t sent = 0, answered = 0;
    while (answered < S_LINKS) {
        while (sent < S_LINKS && sent - answered < S_WINDOW) {
            char subject[48];
            snprintf (subject, sizeof subject, "r%d-member-%zu", round, sent);
            Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
            request.workspace_id = "w-churn";
            request.kind = S_KIND;
            request.subject_id = subject;
            assert_int_equal (secpol_client_send (client, S_ISSUE, &request.base, NULL), SECPOL_OK);
            sent++;
        }
        uint64_t call_id = 0;
        int code = secpol_client_recv (client, 60000, &call_id, NULL);
        if (code != SECPOL_OK)
            fail_msg ("IssueToken answered %s: %s", secpol_status_name (code),
                      secpol_client_status (client)->message);
        answered++;
    }
}

/*  Waits until the live entries come down to baseline, failing when they
 *  stop going down for the test deadline. */
static void
s_wait_swept (secpol_client_t *client, uint64_t baseline)
{
    uint64_t last = s_entries (client, NULL);
    long long moved_at = secpol_test_now_ms ();
    for (uint64_t now = last; now > baseline; now = s_entries (client, NULL)) {
        if (now < last) {
            last = now;
            moved_at = secpol_test_now_ms ();
        } else if (secpol_test_now_ms () - moved_at > SECPOL_TEST_DEADLINE_MS)
            fail_msg ("the sweep stopped at %llu live entries, %llu at start",
                      (unsigned long long)now, (unsigned long long)baseline);
        struct timespec pause = {0, 20 * 1000000};
        nanosleep (&pause, NULL); /* a poll of the real condition, bounded above */
    }
    assert_int_equal (s_entries (client, NULL), baseline);
}

static void
test_expired_links_are_swept_and_the_file_stops_growing (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    secpol_client_set_timeout (client, 60000);

    /* links of this workspace live one minute */
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.email_verification_link_ttl_minutes = 1;
    char *mask[] = {"email_verification_link_ttl_minutes"};
    Secpol__V1__UpdatePolicyRequest update = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    update.workspace_id = "w-churn";
    update.policy = &policy;
    update.n_update_mask = 1;
    update.update_mask = mask;
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, "/secpol.v1.PolicyService/UpdatePolicy",
                                          &update.base, &response),
                      SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);

    uint64_t baseline = s_entries (client, NULL);
    uint64_t file_size[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        long long started = secpol_test_now_ms ();
        s_issue_round (client, round);
        long long issued = secpol_test_now_ms ();
        /* the link, its subject index and an expiry entry for each */
        assert_true (s_entries (client, NULL) >= baseline + 3 * (uint64_t)S_LINKS);
        /* past the minute and the day an expired link still says so */
        secpol_test_clock_offset (client, (int64_t)(round + 1) * 3 * S_DAY);
        s_wait_swept (client, baseline);
        s_entries (client, &file_size[round]);
        printf ("housekeeping round %d: %d links issued in %.1f s, swept in %.1f s; "
                "data.mdb %llu bytes\n",
                round + 1, (int)S_LINKS, (double)(issued - started) / 1000.0,
                (double)(secpol_test_now_ms () - issued) / 1000.0,
                (unsigned long long)file_size[round]);
    }
    /* the second round reused the pages the first one freed: without
     * reuse the file would double; LMDB's free list and fragmentation
     * leave a little difference, and a little more since a group commit
     * carries every write waiting (up to the S_WINDOW in flight here: a
     * larger transaction holds more pages at once; 1 to 6 % measured) */
    assert_true (file_size[1] < file_size[0] + file_size[0] / 10);

    Secpol__V1__GetStatsResponse *stats = s_stats (client);
    assert_true (stats->writes->swept >= 2 * 3 * (uint64_t)S_LINKS - 2 * (uint64_t)S_LINKS);
    assert_true (stats->writes->max_batch > 1); /* pipelined issues were group-committed */
    assert_true (stats->writes->last_commit_at_ms > 0);
    uint64_t bucketed = 0;
    for (size_t i = 0; i < stats->writes->n_batch_sizes; i++)
        bucketed += stats->writes->batch_sizes[i]->commits;
    assert_true (bucketed > 0 && bucketed <= stats->writes->commits);
    protobuf_c_message_free_unpacked (&stats->base, NULL);
    secpol_client_destroy (&client);
}

static void
test_a_dead_readers_slot_is_cleared_while_secpold_runs (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__GetStatsResponse *stats = s_stats (client);
    uint32_t readers_before = stats->store->readers_used;
    assert_int_equal (stats->writes->stale_readers_cleared, 0);
    protobuf_c_message_free_unpacked (&stats->base, NULL);

    /* another process opens the store, begins a read, says so, and is
     * killed inside its transaction */
    int ready[2];
    assert_int_equal (pipe (ready), 0);
    pid_t child = s_child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        if (!freopen ("/dev/null", "w", stdout)) /* keeps no pipe of the test's open */
            _exit (1);
        MDB_env *env = NULL;
        MDB_txn *txn = NULL;
        if (mdb_env_create (&env) || mdb_env_set_maxdbs (env, 64) ||
            mdb_env_open (env, daemon->data_dir, MDB_RDONLY, 0600) ||
            mdb_txn_begin (env, NULL, MDB_RDONLY, &txn))
            _exit (1);
        if (write (ready[1], "reading\n", 8) != 8)
            _exit (1);
        for (;;)
            pause ();
    }
    close (ready[1]);
    char line[32] = "";
    assert_true (secpol_test_read_line (ready[0], line, sizeof line, SECPOL_TEST_DEADLINE_MS));
    close (ready[0]);
    stats = s_stats (client);
    assert_int_equal (stats->store->readers_used, readers_before + 1);
    protobuf_c_message_free_unpacked (&stats->base, NULL);
    kill (child, SIGKILL);
    int status;
    assert_int_equal (waitpid (child, &status, 0), child);
    s_child = 0;

    /* the writer's periodic check frees its slot */
    long long deadline = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    uint64_t cleared = 0;
    while (cleared == 0 && secpol_test_now_ms () < deadline) {
        stats = s_stats (client);
        cleared = stats->writes->stale_readers_cleared;
        if (cleared)
            assert_int_equal (stats->store->readers_used, readers_before);
        protobuf_c_message_free_unpacked (&stats->base, NULL);
        struct timespec pause = {0, 50 * 1000000};
        nanosleep (&pause, NULL); /* a poll of the real condition, bounded above */
    }
    assert_int_equal (cleared, 1);
    secpol_client_destroy (&client);
}

/*  A daemon that logs warnings only: 200,000 writes would otherwise log a
 *  line each (the debug call line and the info write line). */
static int
s_setup_quiet (void **state)
{
    static const char *const args[] = {"--log-level", "warn", NULL};
    return secpol_test_daemon_setup_with (state, args);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_expired_links_are_swept_and_the_file_stops_growing,
                                         s_setup_quiet, secpol_test_daemon_teardown),
        cmocka_unit_test_setup_teardown (test_a_dead_readers_slot_is_cleared_while_secpold_runs,
                                         secpol_test_daemon_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
