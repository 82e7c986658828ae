/*  test_client_multi.c - one client, several secpold (secpol_client.h,
 *  "Several instances"): two real secpold, each on its own LMDB store (one
 *  process per LMDB store), and a client opened with both endpoints. Calls
 *  are spread over both; reads keep working when one instance stops; a read
 *  in flight on an instance that dies is answered by the other; a write in
 *  flight on an instance that dies fails UNAVAILABLE and is not re-sent: the
 *  surviving instance never saw it.
 *
 *  The two stores differ on purpose: a token issued on B alone is OK from B
 *  and NOT_FOUND from A, so each answer says which instance gave it. To have
 *  a call in flight on a stopped instance without a sleep, A is stopped
 *  (SIGSTOP), the call runs in a thread, and A is killed once that thread
 *  is blocked in poll(2) waiting for the reply (/proc/.../syscall).
 */
#define _GNU_SOURCE
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/admin.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define S_ISSUE   "/secpol.v1.TokenService/IssueToken"
#define S_VERIFY  "/secpol.v1.TokenService/VerifyToken"
#define S_CONSUME "/secpol.v1.TokenService/ConsumeToken"
#define S_STATS   "/secpol.v1.AdminService/GetStats"
#define S_TRIES   1000 /* calls to see both instances answer; round robin needs 2 */

typedef struct {
    secpol_test_daemon_t a, b;
    char endpoints[700]; /* "a,b" */
    char *token_b;       /* issued on b only */
} pair_t;

static int
s_setup (void **state)
{
    pair_t *self = calloc (1, sizeof *self);
    *state = self;
    if (!self || secpol_test_daemon_start (&self->a, NULL) ||
        secpol_test_daemon_start (&self->b, NULL))
        return -1;
    snprintf (self->endpoints, sizeof self->endpoints, "%s,%s", self->a.endpoint, self->b.endpoint);
    return 0;
}

static int
s_teardown (void **state)
{
    pair_t *self = *state;
    if (self) {
        secpol_test_daemon_stop (&self->a);
        secpol_test_daemon_stop (&self->b);
        free (self->token_b);
        free (self);
    }
    return 0;
}

static char *
s_issue (const secpol_test_daemon_t *daemon)
{
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    request.workspace_id = "ws";
    request.kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION;
    request.subject_id = "alice";
    Secpol__V1__IssueTokenResponse *response = NULL;
    assert_int_equal (
        secpol_client_call (client, S_ISSUE, &request.base, (ProtobufCMessage **)&response),
        SECPOL_OK);
    char *token = strdup (response->token);
    protobuf_c_message_free_unpacked (&response->base, NULL);
    secpol_client_destroy (&client);
    return token;
}

static int
s_token_call (secpol_client_t *client, const char *path, const char *token)
{
    return secpol_test_token_call (client, path, token,
                                   SECPOL__V1__TOKEN_KIND__TOKEN_KIND_ACCOUNT_VERIFICATION);
}

/*  Write requests the daemon has carried since it started. */
static uint64_t
s_write_requests (const secpol_test_daemon_t *daemon)
{
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__GetStatsResponse *stats = NULL;
    assert_int_equal (secpol_client_call (client, S_STATS, NULL, (ProtobufCMessage **)&stats),
                      SECPOL_OK);
    uint64_t requests = stats->writes ? stats->writes->requests : 0;
    protobuf_c_message_free_unpacked (&stats->base, NULL);
    secpol_client_destroy (&client);
    return requests;
}

static secpol_client_t *
s_open (const pair_t *self)
{
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = 30000;
    int error = -1;
    secpol_client_t *client = secpol_client_open (self->endpoints, &options, &error);
    assert_non_null (client);
    assert_int_equal (error, SECPOL_OK);
    assert_string_equal (secpol_client_endpoint (client), self->endpoints);
    return client;
}

/*  Verifies token_b until both instances answered; the last answer is B's
 *  (OK), so the next call goes to A. */
static void
s_see_both (secpol_client_t *client, const char *token_b)
{
    bool from_a = false, from_b = false;
    for (int i = 0; i < S_TRIES && !(from_a && from_b); i++) {
        int code = s_token_call (client, S_VERIFY, token_b);
        if (code == SECPOL_NOT_FOUND)
            from_a = true;
        else {
            assert_int_equal (code, SECPOL_OK);
            from_b = from_a; /* B after A: the next one goes to A again */
        }
    }
    assert_true (from_a && from_b);
}

static void
test_spreads_over_both (void **state)
{
    pair_t *self = *state;
    self->token_b = s_issue (&self->b);
    secpol_client_t *client = s_open (self);
    s_see_both (client, self->token_b);
    //  Both connected: calls alternate, one answer from each.
    int a = 0, b = 0;
    for (int i = 0; i < 10; i++) {
        int code = s_token_call (client, S_VERIFY, self->token_b);
        if (code == SECPOL_OK)
            b++;
        else if (code == SECPOL_NOT_FOUND)
            a++;
    }
    assert_int_equal (a, 5);
    assert_int_equal (b, 5);
    secpol_client_destroy (&client);
}

static void
test_reads_survive_a_stopped_instance (void **state)
{
    pair_t *self = *state;
    self->token_b = s_issue (&self->b);
    secpol_client_t *client = s_open (self);
    s_see_both (client, self->token_b);
    secpol_test_daemon_kill (&self->a, SIGTERM);
    //  Every read now gets B's answer, however soon after the stop.
    for (int i = 0; i < 20; i++)
        assert_int_equal (s_token_call (client, S_VERIFY, self->token_b), SECPOL_OK);
    //  Writes too: they go to B (the only one connected) and are done once.
    assert_int_equal (s_token_call (client, S_CONSUME, self->token_b), SECPOL_OK);
    assert_int_equal (s_token_call (client, S_VERIFY, self->token_b), SECPOL_NOT_FOUND);
    secpol_client_destroy (&client);
}

/*  A call made in a thread, so that the test can kill its instance while it
 *  waits for the reply. */
typedef struct {
    secpol_client_t *client;
    const char *path, *token;
    atomic_int tid;   /* the thread's id, once it runs */
    atomic_bool done; /* the call returned */
    int code;
    char message[512];
} in_flight_t;

static void *
s_in_flight (void *arg)
{
    in_flight_t *call = arg;
    atomic_store (&call->tid, (int)syscall (SYS_gettid));
    call->code = s_token_call (call->client, call->path, call->token);
    snprintf (call->message, sizeof call->message, "%s",
              secpol_client_status (call->client)->message);
    atomic_store (&call->done, true);
    return NULL;
}

/*  True while thread tid is blocked in poll(2)/ppoll(2) with a timeout
 *  (the client waiting for a reply; its sends never block here). */
static bool
s_waiting_in_poll (int tid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/self/task/%d/syscall", tid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    bool waiting = false;
    long nr;
    unsigned long args[3];
    if (fgets (line, sizeof line, file) &&
        sscanf (line, "%ld %lx %lx %lx", &nr, &args[0], &args[1], &args[2]) == 4)
        waiting = (nr == SYS_poll || nr == SYS_ppoll) && args[2] != 0;
    fclose (file);
    return waiting;
}

/*  Sends path(token_b) to A, stopped, and kills A while the call waits. */
static in_flight_t
s_call_into_dying (pair_t *self, secpol_client_t *client, const char *path)
{
    s_see_both (client, self->token_b); /* the next call goes to A */
    assert_int_equal (kill (self->a.pid, SIGSTOP), 0);
    in_flight_t call = {.client = client, .path = path, .token = self->token_b};
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_in_flight, &call), 0);
    int tid;
    while (!atomic_load (&call.done) &&
           ((tid = atomic_load (&call.tid)) == 0 || !s_waiting_in_poll (tid)))
        sched_yield ();
    bool returned_early = atomic_load (&call.done);
    secpol_test_daemon_kill (&self->a, SIGKILL);
    pthread_join (thread, NULL);
    if (returned_early) /* A is stopped: nothing may answer before it is killed */
        fail_msg ("%s returned before its instance died: %s %s", path,
                  secpol_status_name (call.code), call.message);
    return call;
}

static void
test_read_in_flight_goes_to_the_other (void **state)
{
    pair_t *self = *state;
    self->token_b = s_issue (&self->b);
    secpol_client_t *client = s_open (self);
    in_flight_t call = s_call_into_dying (self, client, S_VERIFY);
    //  Sent to A (NOT_FOUND there); OK can only be B's answer.
    if (call.code != SECPOL_OK)
        fail_msg ("VerifyToken: %s %s", secpol_status_name (call.code), call.message);
    secpol_client_destroy (&client);
}

static void
test_write_in_flight_is_not_sent_again (void **state)
{
    pair_t *self = *state;
    self->token_b = s_issue (&self->b);
    uint64_t writes_before = s_write_requests (&self->b);
    secpol_client_t *client = s_open (self);
    in_flight_t call = s_call_into_dying (self, client, S_CONSUME);
    assert_int_equal (call.code, SECPOL_UNAVAILABLE);
    assert_non_null (strstr (call.message, "not sent again"));
    assert_non_null (strstr (call.message, self->a.endpoint));
    //  B never got it: the token is still there and B carried no write.
    secpol_client_t *only_b = secpol_test_client (&self->b);
    assert_int_equal (s_token_call (only_b, S_VERIFY, self->token_b), SECPOL_OK);
    secpol_client_destroy (&only_b);
    assert_int_equal (s_write_requests (&self->b), writes_before);
    //  The client goes on with B.
    assert_int_equal (s_token_call (client, S_CONSUME, self->token_b), SECPOL_OK);
    secpol_client_destroy (&client);
}

static void
test_bad_endpoint_lists (void **state)
{
    (void)state;
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    const char *bad[] = {"ipc:///tmp/a,", ",ipc:///tmp/a", "ipc:///tmp/a,,ipc:///tmp/b", ",",
                         "ipc:///tmp/a,tcp://127.0.0.1:99999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int error = -1;
        secpol_client_t *client = secpol_client_open (bad[i], &options, &error);
        if (client)
            fail_msg ("opened \"%s\"", bad[i]);
        assert_int_equal (error, SECPOL_INVALID_ARGUMENT);
    }
    //  The idempotent table: reads yes, writes and touching reads no.
    assert_true (secpol_client_idempotent ("/secpol.v1.PolicyService/GetPolicy"));
    assert_true (secpol_client_idempotent ("/secpol.v1.TokenService/VerifyToken"));
    assert_false (secpol_client_idempotent ("/secpol.v1.TokenService/ConsumeToken"));
    assert_false (secpol_client_idempotent ("/secpol.v1.SessionService/ValidateSession"));
    assert_false (secpol_client_idempotent ("/secpol.v1.PasswordService/CheckPassword"));
    assert_false (secpol_client_idempotent (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_bad_endpoint_lists),
        cmocka_unit_test_setup_teardown (test_spreads_over_both, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reads_survive_a_stopped_instance, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_read_in_flight_goes_to_the_other, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_write_in_flight_is_not_sent_again, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
