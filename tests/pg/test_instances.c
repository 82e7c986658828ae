/*  test_instances.c - several secpold on one PostgreSQL database: one truth.
 *
 *  Three real secpold processes share one store (a fresh schema on the run's
 *  PostgreSQL 15 server, tests/support/pg.h) and one secret.key. Calls race
 *  through all three at once; SERIALIZABLE transactions (docs/SCALING.md)
 *  must make the answers exact: a single-use token is consumed exactly once,
 *  failures for one subject are all counted, a policy written through one
 *  instance is what the others serve, an instance killed under load loses
 *  no acknowledged write while the others keep serving, and a store stamped
 *  by a newer schema is refused with a clear error.
 */
#include "calls.h"
#include "daemon.h"
#include "pg.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define INSTANCES 3
#define TOKENS    40 /* single-use tokens raced for */
#define FAILURES  30 /* RecordFailure calls per instance */

#define S_ISSUE   "/secpol.v1.TokenService/IssueToken"
#define S_VERIFY  "/secpol.v1.TokenService/VerifyToken"
#define S_CONSUME "/secpol.v1.TokenService/ConsumeToken"
#define S_FAILURE "/secpol.v1.LockoutService/RecordFailure"
#define S_CHECK   "/secpol.v1.LockoutService/CheckLockout"
#define S_GET     "/secpol.v1.PolicyService/GetPolicy"

typedef struct {
    secpol_test_daemon_t daemons[INSTANCES]; /* [0] made the schema; the others beside it */
} deployment_t;

static int
s_setup (void **state)
{
    deployment_t *self = calloc (1, sizeof *self);
    *state = self;
    if (!self || !secpol_test_pg_wanted ()) {
        fprintf (stderr, "test_instances runs with SECPOL_TEST_STORE=postgresql (ctest -L pg)\n");
        return -1;
    }
    if (secpol_test_daemon_start (&self->daemons[0], NULL))
        return -1;
    for (int i = 1; i < INSTANCES; i++)
        if (secpol_test_daemon_start_beside (&self->daemons[i], &self->daemons[0], NULL))
            return -1;
    return 0;
}

static int
s_teardown (void **state)
{
    deployment_t *self = *state;
    if (self) {
        for (int i = INSTANCES - 1; i >= 0; i--) /* [0] last: it drops the schema */
            secpol_test_daemon_stop (&self->daemons[i]);
        free (self);
    }
    *state = NULL;
    return 0;
}

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked (message, NULL);
}

/* --- racing calls from one thread per instance ------------------------------ */

typedef struct racer racer_t;
struct racer {
    const char *endpoint;     /* the instance this thread calls */
    pthread_barrier_t *start; /* all threads begin together */
    char **tokens;            /* for the token race */
    int calls;                /* calls to make */
    int (*call) (secpol_client_t *client, racer_t *racer, int k); /* the k-th; its code */
    int codes[TOKENS > FAILURES ? TOKENS : FAILURES];             /* each call's status code */
    int broken;                                                   /* the client could not be made */
};

/*  A racing thread: its own client to its instance, then the calls, all
 *  threads starting together. */
static void *
s_racer (void *arg)
{
    racer_t *racer = arg;
    secpol_client_t *client = secpol_client_new (racer->endpoint, 10000);
    pthread_barrier_wait (racer->start);
    if (!client) {
        racer->broken = 1;
        return NULL;
    }
    for (int k = 0; k < racer->calls; k++)
        racer->codes[k] = racer->call (client, racer, k);
    secpol_client_destroy (&client);
    return NULL;
}

static int
s_consume (secpol_client_t *client, racer_t *racer, int k)
{
    Secpol__V1__ConsumeTokenRequest request = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
    request.token = racer->tokens[k];
    request.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_CONSUME, &request.base, &response);
    s_free (response);
    return code;
}

static int
s_record_failure (secpol_client_t *client, racer_t *racer, int k)
{
    (void)racer;
    (void)k;
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = "w";
    request.subject_id = "bob";
    request.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_FAILURE, &request.base, &response);
    s_free (response);
    return code;
}

/*  Runs one racer per instance, with calls calls of call each. */
static void
s_race (deployment_t *self, racer_t racers[INSTANCES], int calls,
        int (*call) (secpol_client_t *, racer_t *, int))
{
    pthread_barrier_t start;
    pthread_barrier_init (&start, NULL, INSTANCES);
    pthread_t threads[INSTANCES];
    for (int i = 0; i < INSTANCES; i++) {
        racers[i].endpoint = self->daemons[i].endpoint;
        racers[i].start = &start;
        racers[i].calls = calls;
        racers[i].call = call;
        assert_int_equal (pthread_create (&threads[i], NULL, s_racer, &racers[i]), 0);
    }
    for (int i = 0; i < INSTANCES; i++)
        pthread_join (threads[i], NULL);
    pthread_barrier_destroy (&start);
    for (int i = 0; i < INSTANCES; i++)
        assert_int_equal (racers[i].broken, 0);
}

static char *
s_issue (secpol_client_t *client, const char *subject)
{
    Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    request.workspace_id = "w";
    request.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
    request.subject_id = (char *)subject;
    Secpol__V1__IssueTokenResponse *response = NULL;
    int code = secpol_client_call (client, S_ISSUE, &request.base, (ProtobufCMessage **)&response);
    if (code != SECPOL_OK)
        fail_msg ("IssueToken: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    char *token = strdup (response->token);
    s_free (response);
    return token;
}

/*  DESIGN.md: "a single-use token succeeds exactly once, even under
 *  concurrent calls" - here across three processes. */
static void
test_a_single_use_token_is_consumed_exactly_once_across_instances (void **state)
{
    deployment_t *self = *state;
    secpol_client_t *client = secpol_test_client (&self->daemons[0]);
    char *tokens[TOKENS];
    for (int k = 0; k < TOKENS; k++) {
        char subject[32]; /* a new reset link revokes the subject's last: one each */
        snprintf (subject, sizeof subject, "alice-%d", k);
        tokens[k] = s_issue (client, subject);
    }
    secpol_client_destroy (&client);

    racer_t racers[INSTANCES] = {{0}};
    for (int i = 0; i < INSTANCES; i++)
        racers[i].tokens = tokens;
    s_race (self, racers, TOKENS, s_consume);
    for (int k = 0; k < TOKENS; k++) {
        int ok = 0;
        for (int i = 0; i < INSTANCES; i++) {
            if (racers[i].codes[k] == SECPOL_OK)
                ok++;
            else if (racers[i].codes[k] != SECPOL_NOT_FOUND)
                fail_msg ("token %d on instance %d: %s", k, i,
                          secpol_status_name (racers[i].codes[k]));
        }
        if (ok != 1)
            fail_msg ("token %d consumed %d times across %d instances", k, ok, INSTANCES);
        free (tokens[k]);
    }
}

/* --- failures for one subject --------------------------------------------------- */

static Secpol__V1__LockoutStatus *
s_check (secpol_client_t *client)
{
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = "w";
    request.subject_id = "bob";
    request.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    Secpol__V1__LockoutStatus *status = NULL;
    int code = secpol_client_call (client, S_CHECK, &request.base, (ProtobufCMessage **)&status);
    if (code != SECPOL_OK)
        fail_msg ("CheckLockout: %s", secpol_status_name (code));
    return status;
}

/*  Sets login_lockout of workspace w through client; returns the version. */
static uint64_t
s_lockout_policy (secpol_client_t *client, uint32_t max_failures)
{
    Secpol__V1__LockoutSettings settings = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    settings.max_failures = max_failures;
    settings.window_minutes = 60;
    settings.lock_minutes = 15;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.login_lockout = &settings;
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = "w";
    request.policy = &policy;
    Secpol__V1__Policy *out = NULL;
    int code = secpol_test_update_policy (client, &request, "login_lockout", &out);
    if (code != SECPOL_OK)
        fail_msg ("UpdatePolicy: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    uint64_t version = out->version;
    s_free (out);
    return version;
}

static void
test_concurrent_failures_for_one_subject_count_exactly (void **state)
{
    deployment_t *self = *state;
    secpol_client_t *client = secpol_test_client (&self->daemons[0]);
    s_lockout_policy (client, 100); /* NIST SP 800-63B: at most 100 */
    secpol_client_destroy (&client);

    racer_t racers[INSTANCES] = {{0}};
    s_race (self, racers, FAILURES, s_record_failure);
    for (int i = 0; i < INSTANCES; i++)
        for (int k = 0; k < FAILURES; k++)
            if (racers[i].codes[k] != SECPOL_OK)
                fail_msg ("RecordFailure %d on instance %d: %s", k, i,
                          secpol_status_name (racers[i].codes[k]));
    /* every instance reads the same exact count */
    for (int i = 0; i < INSTANCES; i++) {
        client = secpol_test_client (&self->daemons[i]);
        Secpol__V1__LockoutStatus *status = s_check (client);
        assert_int_equal (status->failures, INSTANCES * FAILURES);
        assert_int_equal (status->remaining_attempts, 100 - INSTANCES * FAILURES);
        assert_false (status->locked);
        s_free (status);
        secpol_client_destroy (&client);
    }
}

/*  No instance serves a policy another has replaced: nothing is cached
 *  across requests, every GetPolicy reads the store. */
/*  Each instance answers GetPolicy of "w" with version and max_failures,
 *  8 times (more than it has READ threads). */
static void
s_every_instance_serves (deployment_t *self, uint64_t version, uint32_t max_failures)
{
    for (int i = 0; i < INSTANCES; i++) {
        secpol_client_t *client = secpol_test_client (&self->daemons[i]);
        for (int call = 0; call < 8; call++) {
            Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
            request.workspace_id = "w";
            Secpol__V1__Policy *policy = NULL;
            assert_int_equal (
                secpol_client_call (client, S_GET, &request.base, (ProtobufCMessage **)&policy),
                SECPOL_OK);
            assert_int_equal (policy->version, version);
            assert_int_equal (policy->login_lockout->max_failures, max_failures);
            s_free (policy);
        }
        secpol_client_destroy (&client);
    }
}

static void
test_a_policy_written_through_one_instance_is_served_by_all (void **state)
{
    deployment_t *self = *state;
    uint64_t version = 0;
    uint32_t max_failures = 5; /* the default, before any write */
    for (uint32_t round = 1; round <= 3; round++) {
        /* Every instance serves what is stored now, several calls each so
         * that each READ thread has composed it (and keeps it: memo.h);
         * then another instance replaces it, and none may serve the old. */
        s_every_instance_serves (self, version, max_failures);
        secpol_client_t *writer = secpol_test_client (&self->daemons[round % INSTANCES]);
        version = s_lockout_policy (writer, 10 + round);
        max_failures = 10 + round;
        secpol_client_destroy (&writer);
        s_every_instance_serves (self, version, max_failures);
    }
}

/* --- an instance dies under load ------------------------------------------------ */

typedef struct {
    const char *endpoint;
    char *tokens[4096]; /* tokens whose IssueToken was acknowledged */
    atomic_int acked;
    atomic_bool stop;
    int last_code; /* the call that ended the writer */
    char last_message[256];
} writer_t;

static void *
s_write_until_gone (void *arg)
{
    writer_t *writer = arg;
    secpol_client_t *client = secpol_client_new (writer->endpoint, 3000);
    if (!client)
        return NULL;
    while (!atomic_load (&writer->stop) && atomic_load (&writer->acked) < 4096) {
        Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
        request.workspace_id = "w";
        request.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
        char subject[64]; /* a new reset link revokes the subject's last: one each */
        snprintf (subject, sizeof subject, "carol-%s-%d", writer->endpoint,
                  atomic_load (&writer->acked));
        request.subject_id = subject;
        Secpol__V1__IssueTokenResponse *response = NULL;
        int code =
            secpol_client_call (client, S_ISSUE, &request.base, (ProtobufCMessage **)&response);
        if (code != SECPOL_OK) { /* the instance is gone: no answer, no ack */
            writer->last_code = code;
            snprintf (writer->last_message, sizeof writer->last_message, "%s",
                      secpol_client_status (client)->message);
            s_free (response);
            break;
        }
        writer->tokens[atomic_load (&writer->acked)] = strdup (response->token);
        atomic_fetch_add (&writer->acked, 1);
        s_free (response);
    }
    secpol_client_destroy (&client);
    return NULL;
}

static void
test_killing_one_instance_under_load_loses_no_acknowledged_write (void **state)
{
    deployment_t *self = *state;
    static writer_t writers[INSTANCES];
    pthread_t threads[INSTANCES];
    for (int i = 0; i < INSTANCES; i++) {
        memset (&writers[i], 0, sizeof writers[i]);
        writers[i].endpoint = self->daemons[i].endpoint;
        assert_int_equal (pthread_create (&threads[i], NULL, s_write_until_gone, &writers[i]), 0);
    }
    /* wait until every writer has writes acknowledged, then pull the plug on [1] */
    long long deadline = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    for (int i = 0; i < INSTANCES; i++)
        while (atomic_load (&writers[i].acked) < 20) {
            if (secpol_test_now_ms () > deadline)
                fail_msg ("writer %d has %d acknowledged writes: %s %s", i,
                          atomic_load (&writers[i].acked),
                          secpol_status_name (writers[i].last_code), writers[i].last_message);
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep (&pause, NULL);
        }
    secpol_test_daemon_kill (&self->daemons[1], SIGKILL);
    /* the others keep serving: their writers go on acknowledging */
    int before[INSTANCES];
    for (int i = 0; i < INSTANCES; i++)
        before[i] = atomic_load (&writers[i].acked);
    for (int i = 0; i < INSTANCES; i += 2)
        while (atomic_load (&writers[i].acked) < before[i] + 20) {
            if (secpol_test_now_ms () > deadline + SECPOL_TEST_DEADLINE_MS)
                fail_msg ("instance %d stopped serving after another died: %s %s", i,
                          secpol_status_name (writers[i].last_code), writers[i].last_message);
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep (&pause, NULL);
        }
    for (int i = 0; i < INSTANCES; i++)
        atomic_store (&writers[i].stop, true);
    for (int i = 0; i < INSTANCES; i++)
        pthread_join (threads[i], NULL);
    /* every acknowledged write, the dead instance's too, is in the store */
    secpol_client_t *client = secpol_test_client (&self->daemons[2]);
    int checked = 0;
    for (int i = 0; i < INSTANCES; i++)
        for (int k = 0; k < atomic_load (&writers[i].acked); k++) {
            Secpol__V1__VerifyTokenRequest request = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
            request.token = writers[i].tokens[k];
            request.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
            ProtobufCMessage *response = NULL;
            int code = secpol_client_call (client, S_VERIFY, &request.base, &response);
            s_free (response);
            if (code != SECPOL_OK)
                fail_msg ("acknowledged token %d of writer %d: %s", k, i,
                          secpol_status_name (code));
            free (writers[i].tokens[k]);
            checked++;
        }
    secpol_client_destroy (&client);
    assert_true (checked >= INSTANCES * 20);
    /* the killed instance comes back on the same store and serves */
    assert_int_equal (secpol_test_daemon_restart (&self->daemons[1], NULL), 0);
}

/* --- one client with every instance's endpoint ------------------------------- */

static int
s_token_call (secpol_client_t *client, const char *path, const char *token)
{
    return secpol_test_token_call (client, path, token,
                                   SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET);
}

static void
test_a_client_of_every_instance_goes_on_when_one_dies (void **state)
{
    deployment_t *self = *state;
    char list[INSTANCES * 330] = "";
    for (int i = 0; i < INSTANCES; i++)
        snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s", i ? "," : "",
                  self->daemons[i].endpoint);
    int error = -1;
    secpol_client_t *client = secpol_client_open (list, NULL, &error);
    assert_non_null (client);
    /* writes spread over the instances, all into the one store */
    char *tokens[TOKENS];
    for (int k = 0; k < TOKENS; k++) {
        char subject[32];
        snprintf (subject, sizeof subject, "carol-%d", k);
        tokens[k] = s_issue (client, subject);
    }
    secpol_test_daemon_kill (&self->daemons[1], SIGKILL);
    /* the same client goes on with the others: every token reads back, is
     * consumed once, and is gone after */
    for (int k = 0; k < TOKENS; k++)
        assert_int_equal (s_token_call (client, S_VERIFY, tokens[k]), SECPOL_OK);
    for (int k = 0; k < TOKENS; k++)
        assert_int_equal (s_token_call (client, S_CONSUME, tokens[k]), SECPOL_OK);
    for (int k = 0; k < TOKENS; k++) {
        assert_int_equal (s_token_call (client, S_VERIFY, tokens[k]), SECPOL_NOT_FOUND);
        free (tokens[k]);
    }
    secpol_client_destroy (&client);
}

/* --- schema ----------------------------------------------------------------------- */

static void
test_a_store_of_a_newer_schema_is_refused (void **state)
{
    deployment_t *self = *state;
    /* a newer secpold stamped the store (little-endian uint32, as LMDB's) */
    assert_int_equal (secpol_test_pg_exec (self->daemons[0].store,
                                           "UPDATE secpol_kv SET v = '\\xff000000'::bytea "
                                           "WHERE tbl = 'meta' AND k = 'schema_version'::bytea"),
                      0);
    char *out = NULL;
    int code = secpol_test_run (&self->daemons[0], &out,
                                "'%s' --store '%s' --data-dir '%s/other' --endpoint "
                                "'ipc://%s/other.sock' 2>&1",
                                SECPOLD_PATH, self->daemons[0].store, self->daemons[0].dir,
                                self->daemons[0].dir);
    assert_int_equal (code, 1);
    assert_non_null (strstr (out, "cannot open store postgresql://"));
    assert_non_null (strstr (out, "newer secpold"));
    assert_null (strstr (out, "search_path")); /* the URI's options are not logged */
    free (out);
    /* put it back, so that the running instances stop as they should */
    char sql[200];
    uint32_t v = SECPOL_SCHEMA_VERSION;
    snprintf (sql, sizeof sql,
              "UPDATE secpol_kv SET v = '\\x%02x%02x%02x%02x'::bytea "
              "WHERE tbl = 'meta' AND k = 'schema_version'::bytea",
              v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24);
    assert_int_equal (secpol_test_pg_exec (self->daemons[0].store, sql), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_a_single_use_token_is_consumed_exactly_once_across_instances, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_concurrent_failures_for_one_subject_count_exactly,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_policy_written_through_one_instance_is_served_by_all, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_killing_one_instance_under_load_loses_no_acknowledged_write, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_client_of_every_instance_goes_on_when_one_dies,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_store_of_a_newer_schema_is_refused, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
