/*  test_client.c - the C client library against a real secpold.
 *
 *  Synchronous calls by path and through protoc-c's generated typed stubs,
 *  status and field violations, the pipelined asynchronous API (call_id
 *  matching, sync calls while async calls are in flight), timeouts, and a
 *  server that stops answering.
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S_HEALTH "/secpol.v1.Health/Check"

//  A closure that does not keep the output: it must free it.
typedef struct {
    int calls;
    int status;
    char version[64];
} s_seen_t;

static void
s_health_closure (const Secpol__V1__HealthCheckResponse *response, void *closure_data)
{
    s_seen_t *seen = (s_seen_t *)closure_data;
    seen->calls++;
    seen->status = response ? (int)response->status : -1;
    if (response)
        snprintf (seen->version, sizeof seen->version, "%s", response->version);
    protobuf_c_message_free_unpacked ((ProtobufCMessage *)response, NULL);
}

//  --------------------------------------------------------------------------

static void
test_health_check_by_path (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    assert_string_equal (secpol_client_endpoint (client), daemon->endpoint);
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_HEALTH, &request.base, &response), SECPOL_OK);
    assert_non_null (response);
    assert_ptr_equal (response->descriptor, &secpol__v1__health_check_response__descriptor);
    Secpol__V1__HealthCheckResponse *health = (Secpol__V1__HealthCheckResponse *)response;
    assert_int_equal (health->status, SECPOL__V1__SERVING_STATUS__SERVING);
    assert_true (strlen (health->version) > 0);
    assert_true (health->now > 1700000000);
    protobuf_c_message_free_unpacked (response, NULL);

    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->code, SECPOL_OK);
    assert_int_equal (status->n_violations, 0);
    assert_true (status->call_id > 0);

    //  A NULL request is an empty one.
    secpol_client_set_request_id (client, "test-client-1");
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    secpol_client_destroy (&client);
    assert_null (client);
    secpol_client_destroy (&client); //  NULL-safe
    secpol_client_destroy (NULL);
}

static void
test_health_check_through_generated_typed_stub (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    ProtobufCService *health = secpol_client_service (client, &secpol__v1__health__descriptor);
    assert_non_null (health);
    assert_ptr_equal (secpol_client_service (client, &secpol__v1__health__descriptor), health);

    //  secpol_closure_keep: the caller owns the output.
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    Secpol__V1__HealthCheckResponse *response = NULL;
    secpol__v1__health__check (
        health, &request, (Secpol__V1__HealthCheckResponse_Closure)secpol_closure_keep, &response);
    assert_non_null (response);
    assert_int_equal (response->status, SECPOL__V1__SERVING_STATUS__SERVING);
    assert_int_equal (secpol_client_status (client)->code, SECPOL_OK);
    protobuf_c_message_free_unpacked (&response->base, NULL);

    //  A closure of its own, called exactly once, frees the output itself.
    s_seen_t seen = {0};
    secpol__v1__health__check (health, &request, s_health_closure, &seen);
    assert_int_equal (seen.calls, 1);
    assert_int_equal (seen.status, SECPOL__V1__SERVING_STATUS__SERVING);
    assert_true (strlen (seen.version) > 0);

    //  Another generated service over the same client.
    ProtobufCService *clock =
        secpol_client_service (client, &secpol__v1__test_clock_service__descriptor);
    Secpol__V1__SetOffsetRequest offset = SECPOL__V1__SET_OFFSET_REQUEST__INIT;
    offset.offset_seconds = 0;
    Secpol__V1__SetOffsetResponse *now = NULL;
    secpol__v1__test_clock_service__set_offset (
        clock, &offset, (Secpol__V1__SetOffsetResponse_Closure)secpol_closure_keep, &now);
    assert_non_null (now);
    assert_true (now->now > 1700000000);
    protobuf_c_message_free_unpacked (&now->base, NULL);

    //  protobuf_c_service_destroy on it does nothing: the client owns it.
    protobuf_c_service_destroy (health);
    secpol_client_destroy (&client);
}

static void
test_unknown_method_and_wrong_request_type (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    ProtobufCMessage *response = (ProtobufCMessage *)&response; //  must be reset
    //  Not in the registry: refused locally, nothing sent.
    assert_int_equal (secpol_client_call (client, "/secpol.v1.Nope/Check", NULL, &response),
                      SECPOL_INVALID_ARGUMENT);
    assert_null (response);
    assert_non_null (strstr (secpol_client_status (client)->message, "/secpol.v1.Nope/Check"));

    //  Sent anyway: the server answers UNIMPLEMENTED.
    assert_int_equal (secpol_client_call_path (client, "/secpol.v1.Health/NoSuchMethod",
                                               &secpol__v1__health_check_response__descriptor, NULL,
                                               &response),
                      SECPOL_UNIMPLEMENTED);
    assert_null (response);
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->code, SECPOL_UNIMPLEMENTED);
    assert_true (strlen (status->message) > 0);

    //  Through a typed stub of a service the server does not have.
    static const ProtobufCMethodDescriptor methods[] = {
        {"Check", &secpol__v1__health_check_request__descriptor,
         &secpol__v1__health_check_response__descriptor},
    };
    static const unsigned by_name[] = {0};
    static const ProtobufCServiceDescriptor nope = {PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC,
                                                    "secpol.v1.Nope",
                                                    "Nope",
                                                    "Secpol__V1__Nope",
                                                    "secpol.v1",
                                                    1,
                                                    methods,
                                                    by_name};
    ProtobufCService *service = secpol_client_service (client, &nope);
    s_seen_t seen = {0};
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    service->invoke (service, 0, &request.base, (ProtobufCClosure)s_health_closure, &seen);
    assert_int_equal (seen.calls, 1);
    assert_int_equal (seen.status, -1); //  closure got NULL
    assert_int_equal (secpol_client_status (client)->code, SECPOL_UNIMPLEMENTED);

    //  A request of another type than the method's input.
    Secpol__V1__GetPolicyRequest wrong = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    assert_int_equal (secpol_client_call (client, S_HEALTH, &wrong.base, &response),
                      SECPOL_INVALID_ARGUMENT);
    assert_non_null (
        strstr (secpol_client_status (client)->message, "secpol.v1.HealthCheckRequest"));
    uint64_t call_id = 1;
    assert_int_equal (secpol_client_send (client, S_HEALTH, &wrong.base, &call_id),
                      SECPOL_INVALID_ARGUMENT);
    assert_int_equal (call_id, 0);
    assert_int_equal (secpol_client_in_flight (client), 0);

    //  The client still works.
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    secpol_client_destroy (&client);
}

static void
test_invalid_argument_carries_field_violations (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    lockout.max_failures = 1000; //  NIST SP 800-63B: at most 100
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.login_lockout = &lockout;
    char *mask[] = {"login_lockout.max_failures"};
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = "w-client-test";
    request.policy = &policy;
    request.n_update_mask = 1;
    request.update_mask = mask;
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, "/secpol.v1.PolicyService/UpdatePolicy",
                                          &request.base, &response),
                      SECPOL_INVALID_ARGUMENT);
    assert_null (response);
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->code, SECPOL_INVALID_ARGUMENT);
    assert_true (status->n_violations >= 1);
    bool named = false;
    for (size_t i = 0; i < status->n_violations; i++) {
        assert_non_null (status->violation_fields[i]);
        assert_true (strlen (status->violation_descriptions[i]) > 0);
        if (strstr (status->violation_fields[i], "login_lockout.max_failures"))
            named = true;
    }
    assert_true (named);
    secpol_client_destroy (&client);
}

static void
test_pipelined_calls_each_matched_exactly_once (void **state)
{
    enum { N = 200 };
    secpol_client_t *client = secpol_test_client (*state);
    uint64_t sent[N];
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &sent[i]), SECPOL_OK);
        assert_true (sent[i] > 0);
        for (int j = 0; j < i; j++)
            assert_true (sent[j] != sent[i]);
    }
    assert_int_equal (secpol_client_in_flight (client), N);

    for (int received = 0; received < N; received++) {
        uint64_t call_id = 0;
        ProtobufCMessage *response = NULL;
        assert_int_equal (secpol_client_recv (client, 5000, &call_id, &response), SECPOL_OK);
        assert_non_null (response);
        assert_int_equal (((Secpol__V1__HealthCheckResponse *)response)->status,
                          SECPOL__V1__SERVING_STATUS__SERVING);
        protobuf_c_message_free_unpacked (response, NULL);
        assert_int_equal (secpol_client_status (client)->call_id, call_id);
        int index = -1;
        for (int i = 0; i < N; i++)
            if (sent[i] == call_id)
                index = i;
        assert_true (index >= 0);
        seen[index]++;
        assert_int_equal (seen[index], 1);
        assert_int_equal (secpol_client_in_flight (client), N - received - 1);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal (seen[i], 1);

    //  Nothing in flight: recv answers at once with no call id.
    int64_t start = zclock_mono ();
    uint64_t call_id = 7;
    assert_int_equal (secpol_client_recv (client, 5000, &call_id, NULL), SECPOL_UNAVAILABLE);
    assert_int_equal (call_id, 0);
    assert_true (zclock_mono () - start < 1000);
    secpol_client_destroy (&client);
}

static void
test_sync_call_while_async_calls_are_in_flight (void **state)
{
    enum { N = 50 };
    secpol_client_t *client = secpol_test_client (*state);
    uint64_t sent[N];
    for (int i = 0; i < N; i++)
        assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &sent[i]), SECPOL_OK);

    //  Their replies arrive while the sync calls wait, and are kept.
    Secpol__V1__SetOffsetRequest offset = SECPOL__V1__SET_OFFSET_REQUEST__INIT;
    for (int i = 0; i < 3; i++) {
        ProtobufCMessage *response = NULL;
        assert_int_equal (secpol_client_call (client, "/secpol.v1.TestClockService/SetOffset",
                                              &offset.base, &response),
                          SECPOL_OK);
        assert_ptr_equal (response->descriptor, &secpol__v1__set_offset_response__descriptor);
        protobuf_c_message_free_unpacked (response, NULL);
        assert_int_equal (secpol_client_in_flight (client), N);
    }
    //  Async calls sent after the stash still complete too.
    uint64_t late = 0;
    assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &late), SECPOL_OK);

    int seen[N + 1] = {0};
    for (int received = 0; received < N + 1; received++) {
        uint64_t call_id = 0;
        ProtobufCMessage *response = NULL;
        assert_int_equal (secpol_client_recv (client, 5000, &call_id, &response), SECPOL_OK);
        assert_ptr_equal (response->descriptor, &secpol__v1__health_check_response__descriptor);
        protobuf_c_message_free_unpacked (response, NULL);
        int index = call_id == late ? N : -1;
        for (int i = 0; i < N; i++)
            if (sent[i] == call_id)
                index = i;
        assert_true (index >= 0);
        assert_int_equal (++seen[index], 1);
    }
    assert_int_equal (secpol_client_in_flight (client), 0);
    secpol_client_destroy (&client);
}

static void
test_connect_to_dead_endpoint_returns_null_in_about_the_timeout (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    char endpoint[400];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/nobody.sock", daemon->dir);
    int64_t start = zclock_mono ();
    secpol_client_t *client = secpol_client_new (endpoint, 300);
    int64_t elapsed = zclock_mono () - start;
    assert_null (client);
    assert_true (elapsed >= 280);
    assert_true (elapsed < 1500);

    start = zclock_mono ();
    assert_null (secpol_client_new ("tcp://127.0.0.1:1", 200));
    elapsed = zclock_mono () - start;
    assert_true (elapsed >= 180 && elapsed < 1500);

    //  A malformed endpoint fails at once.
    start = zclock_mono ();
    assert_null (secpol_client_new ("nonsense://x", 5000));
    assert_true (zclock_mono () - start < 1000);
}

static void
test_server_that_stops_answering_times_calls_out (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    secpol_client_set_timeout (client, 300);
    assert_int_equal (secpol_client_timeout (client), 300);
    assert_int_equal (kill (daemon->pid, SIGSTOP), 0);

    //  Sync: UNAVAILABLE after the timeout.
    int64_t start = zclock_mono ();
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_UNAVAILABLE);
    int64_t elapsed = zclock_mono () - start;
    assert_null (response);
    assert_true (elapsed >= 280 && elapsed < 2000);
    assert_int_equal (secpol_client_in_flight (client), 0);

    //  Async: every call completes once, as UNAVAILABLE with its id.
    uint64_t sent[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &sent[i]), SECPOL_OK);
    for (int i = 0; i < 3; i++) {
        uint64_t call_id = 0;
        assert_int_equal (secpol_client_recv (client, 2000, &call_id, &response),
                          SECPOL_UNAVAILABLE);
        assert_int_equal (call_id, sent[i]); //  expiry order = send order here
        assert_null (response);
    }
    assert_int_equal (secpol_client_in_flight (client), 0);

    //  The server wakes up and answers the stale calls: those late replies
    //  are dropped, and new calls get their own answers.
    assert_int_equal (kill (daemon->pid, SIGCONT), 0);
    secpol_client_set_timeout (client, 5000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_OK);
        assert_ptr_equal (response->descriptor, &secpol__v1__health_check_response__descriptor);
        protobuf_c_message_free_unpacked (response, NULL);
    }
    uint64_t call_id = 0;
    assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &call_id), SECPOL_OK);
    uint64_t got = 0;
    assert_int_equal (secpol_client_recv (client, 5000, &got, NULL), SECPOL_OK);
    assert_int_equal (got, call_id);
    secpol_client_destroy (&client);
}

static void
test_recv_timeout_without_completion (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    assert_int_equal (kill (daemon->pid, SIGSTOP), 0);
    uint64_t sent = 0;
    assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &sent), SECPOL_OK);
    //  The call's own timeout (10 s) is far: recv gives up after 100 ms
    //  with no call id, and the call stays in flight.
    int64_t start = zclock_mono ();
    uint64_t call_id = 1;
    assert_int_equal (secpol_client_recv (client, 100, &call_id, NULL), SECPOL_UNAVAILABLE);
    assert_int_equal (call_id, 0);
    assert_true (zclock_mono () - start < 1000);
    assert_int_equal (secpol_client_in_flight (client), 1);
    assert_int_equal (kill (daemon->pid, SIGCONT), 0);
    assert_int_equal (secpol_client_recv (client, 5000, &call_id, NULL), SECPOL_OK);
    assert_int_equal (call_id, sent);
    secpol_client_destroy (&client);
}

static void
test_oversized_request_refused_locally (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    size_t size = SECPOL_CLIENT_MAX_MESSAGE + 1;
    char *big = malloc (size + 1);
    memset (big, 'a', size);
    big[size] = '\0';
    Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    request.workspace_id = big;
    ProtobufCMessage *response = NULL;
    assert_int_equal (
        secpol_client_call (client, "/secpol.v1.PolicyService/GetPolicy", &request.base, &response),
        SECPOL_RESOURCE_EXHAUSTED);
    //  A header secpold would not decode (request_id too long) is refused too.
    big[SECPOL_CLIENT_MAX_HEADER] = '\0';
    secpol_client_set_request_id (client, big);
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response),
                      SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (secpol_client_status (client)->message, "request_id"));
    secpol_client_set_request_id (client, NULL);
    free (big);
    //  The connection was not dropped.
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_health_check_by_path),
        SECPOL_TEST_WITH_DAEMON (test_health_check_through_generated_typed_stub),
        SECPOL_TEST_WITH_DAEMON (test_unknown_method_and_wrong_request_type),
        SECPOL_TEST_WITH_DAEMON (test_invalid_argument_carries_field_violations),
        SECPOL_TEST_WITH_DAEMON (test_pipelined_calls_each_matched_exactly_once),
        SECPOL_TEST_WITH_DAEMON (test_sync_call_while_async_calls_are_in_flight),
        SECPOL_TEST_WITH_DAEMON (test_connect_to_dead_endpoint_returns_null_in_about_the_timeout),
        SECPOL_TEST_WITH_DAEMON (test_server_that_stops_answering_times_calls_out),
        SECPOL_TEST_WITH_DAEMON (test_recv_timeout_without_completion),
        SECPOL_TEST_WITH_DAEMON (test_oversized_request_refused_locally),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
