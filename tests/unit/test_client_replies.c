/*  test_client_replies.c - the C client never crashes on a bad reply.
 *
 *  A fake server (a real ROUTER socket in a czmq actor, on inproc) answers
 *  Health/Check properly, so the client connects, and answers every other
 *  method path with one kind of malformed or surprising reply, named by the
 *  path: "/fake/<kind>".
 */
#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S_ENDPOINT "inproc://fake-secpold"

static zactor_t *s_server;

//  No body frame at all (a body NULL sends an empty body frame).
#define S_NO_FRAME ((const ProtobufCMessage *)1)

//  Sends [identity][empty][header][body], without the delimiter when
//  delimiter is false.
static void
s_reply (zsock_t *router, zframe_t *identity, bool delimiter, uint64_t call_id, int code,
         const char *message, size_t n_violations, const ProtobufCMessage *body)
{
    Secpol__V1__FieldViolation violations[2] = {SECPOL__V1__FIELD_VIOLATION__INIT,
                                                SECPOL__V1__FIELD_VIOLATION__INIT};
    Secpol__V1__FieldViolation *pointers[2] = {&violations[0], &violations[1]};
    violations[0].field = "policy.hsts.max_age_days";
    violations[0].description = "must be at most 3650";
    violations[1].field = "policy.referrer_policy";
    violations[1].description = "unknown policy";
    Secpol__V1__ResponseHeader header = SECPOL__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = code;
    header.message = (char *)message;
    header.n_violations = n_violations;
    header.violations = pointers;
    uint8_t buf[512];
    size_t size = secpol__v1__response_header__pack (&header, buf);
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
    if (delimiter)
        zmsg_addmem (msg, "", 0);
    zmsg_addmem (msg, buf, size);
    if (body != S_NO_FRAME) {
        uint8_t body_buf[512];
        size_t body_size = body ? protobuf_c_message_pack (body, body_buf) : 0;
        zmsg_addmem (msg, body_buf, body_size);
    }
    zmsg_send (&msg, router);
}

static void
s_fake_server (zsock_t *pipe, void *args)
{
    (void)args;
    zsock_t *router = zsock_new_router (S_ENDPOINT);
    zsock_signal (pipe, router ? 0 : 1);
    if (!router)
        return;
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    Secpol__V1__HealthCheckResponse health = SECPOL__V1__HEALTH_CHECK_RESPONSE__INIT;
    health.status = SECPOL__V1__SERVING_STATUS__SERVING;
    health.version = "fake";
    const ProtobufCMessage *ok = &health.base;

    while (true) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which != router)
            break; //  $TERM or interrupted
        zmsg_t *request = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (request);
        zframe_t *empty = zmsg_pop (request);
        zframe_t *header_frame = zmsg_pop (request);
        Secpol__V1__RequestHeader *header =
            header_frame ? secpol__v1__request_header__unpack (NULL, zframe_size (header_frame),
                                                               zframe_data (header_frame))
                         : NULL;
        if (header) {
            const char *kind = header->method;
            uint64_t id = header->call_id;
            zmsg_t *msg = zmsg_new ();
            if (streq (kind, "/secpol.v1.Health/Check"))
                s_reply (router, identity, true, id, 0, "", 0, ok);
            else if (streq (kind, "/fake/one-frame")) {
                zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
                zmsg_addstr (msg, "");
                zmsg_send (&msg, router);
            } else if (streq (kind, "/fake/garbage-header")) {
                zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
                zmsg_addstr (msg, "");
                zmsg_addmem (msg, "\xff\xff\xff\xff", 4);
                zmsg_addstr (msg, "");
                zmsg_send (&msg, router);
            } else if (streq (kind, "/fake/no-delimiter"))
                s_reply (router, identity, false, id, 0, "", 0, ok);
            else if (streq (kind, "/fake/two-frames"))
                s_reply (router, identity, true, id, 0, "", 0, S_NO_FRAME);
            else if (streq (kind, "/fake/four-frames")) {
                zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
                zmsg_addstr (msg, "");
                Secpol__V1__ResponseHeader rh = SECPOL__V1__RESPONSE_HEADER__INIT;
                rh.call_id = id;
                uint8_t buf[64];
                zmsg_addmem (msg, buf, secpol__v1__response_header__pack (&rh, buf));
                zmsg_addstr (msg, "");
                zmsg_addstr (msg, "extra");
                zmsg_send (&msg, router);
            } else if (streq (kind, "/fake/bad-body")) {
                zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
                zmsg_addstr (msg, "");
                Secpol__V1__ResponseHeader rh = SECPOL__V1__RESPONSE_HEADER__INIT;
                rh.call_id = id;
                uint8_t buf[64];
                zmsg_addmem (msg, buf, secpol__v1__response_header__pack (&rh, buf));
                zmsg_addmem (msg, "\x0a\xff\xff\xff", 4); //  length past the end
                zmsg_send (&msg, router);
            } else if (streq (kind, "/fake/stray-then-ok")) {
                s_reply (router, identity, true, id + 1000, 0, "", 0, ok);
                s_reply (router, identity, true, 0, 13, "no such call", 0, NULL);
                s_reply (router, identity, true, id, 0, "", 0, ok);
            } else if (streq (kind, "/fake/twice"))
                for (int i = 0; i < 2; i++)
                    s_reply (router, identity, true, id, 0, "", 0, ok);
            else if (streq (kind, "/fake/code-99"))
                s_reply (router, identity, true, id, 99, "from the future", 0, NULL);
            else if (streq (kind, "/fake/code-negative"))
                s_reply (router, identity, true, id, -3, "", 0, NULL);
            else if (streq (kind, "/fake/violations"))
                s_reply (router, identity, true, id, 3, "2 fields are invalid", 2, NULL);
            else if (streq (kind, "/fake/error-with-body"))
                s_reply (router, identity, true, id, 5, "not found", 0, ok);
            //  "/fake/silence": no reply at all.
            zmsg_destroy (&msg);
            secpol__v1__request_header__free_unpacked (header, NULL);
        }
        zframe_destroy (&identity);
        zframe_destroy (&empty);
        zframe_destroy (&header_frame);
        zmsg_destroy (&request);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

static int
s_setup (void **state)
{
    (void)state;
    s_server = zactor_new (s_fake_server, NULL);
    return s_server ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    zactor_destroy (&s_server);
    return 0;
}

//  One call of kind with a short timeout; returns its code.
static int
s_call (secpol_client_t *client, const char *kind, ProtobufCMessage **response_p)
{
    return secpol_client_call_path (client, kind, &secpol__v1__health_check_response__descriptor,
                                    NULL, response_p);
}

static void
s_assert_still_works (secpol_client_t *client)
{
    ProtobufCMessage *response = NULL;
    assert_int_equal (s_call (client, "/secpol.v1.Health/Check", &response), SECPOL_OK);
    assert_string_equal (((Secpol__V1__HealthCheckResponse *)response)->version, "fake");
    protobuf_c_message_free_unpacked (response, NULL);
}

static void
test_replies_without_a_usable_header_are_dropped (void **state)
{
    (void)state;
    secpol_client_t *client = secpol_client_new (S_ENDPOINT, 2000);
    assert_non_null (client);
    const char *kinds[] = {"/fake/one-frame", "/fake/garbage-header", "/fake/no-delimiter",
                           "/fake/silence"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        //  The fake server answers at once over inproc; the call gives up
        //  after 200 ms, having dropped what came.
        secpol_client_set_timeout (client, 200);
        ProtobufCMessage *response = NULL;
        assert_int_equal (s_call (client, kinds[i], &response), SECPOL_UNAVAILABLE);
        assert_null (response);
        assert_int_equal (secpol_client_in_flight (client), 0);
        //  A reply that does come gets all the time a busy machine needs.
        secpol_client_set_timeout (client, 10000);
        s_assert_still_works (client);
    }
    secpol_client_destroy (&client);
}

static void
test_malformed_replies_to_a_call_are_internal (void **state)
{
    (void)state;
    secpol_client_t *client = secpol_client_new (S_ENDPOINT, 2000);
    assert_non_null (client);
    secpol_client_set_timeout (client, 10000); //  each of these replies comes
    const char *kinds[] = {"/fake/two-frames", "/fake/four-frames", "/fake/bad-body"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        ProtobufCMessage *response = NULL;
        assert_int_equal (s_call (client, kinds[i], &response), SECPOL_INTERNAL);
        assert_null (response);
        assert_true (strlen (secpol_client_status (client)->message) > 0);
        s_assert_still_works (client);
    }
    secpol_client_destroy (&client);
}

static void
test_stray_and_duplicate_replies_are_dropped (void **state)
{
    (void)state;
    secpol_client_t *client = secpol_client_new (S_ENDPOINT, 2000);
    assert_non_null (client);
    ProtobufCMessage *response = NULL;
    assert_int_equal (s_call (client, "/fake/stray-then-ok", &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    assert_int_equal (s_call (client, "/fake/twice", &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    //  The duplicate is still queued: the next call must get its own reply.
    assert_int_equal (s_call (client, "/fake/violations", &response), SECPOL_INVALID_ARGUMENT);

    //  Asynchronously too: one completion per call, strays ignored.
    uint64_t first = 0, second = 0, got = 0;
    assert_int_equal (secpol_client_send (client, "/secpol.v1.Health/Check", NULL, &first), 0);
    assert_int_equal (s_call (client, "/fake/stray-then-ok", &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    assert_int_equal (secpol_client_send (client, "/secpol.v1.Health/Check", NULL, &second), 0);
    assert_int_equal (secpol_client_recv (client, 2000, &got, NULL), SECPOL_OK);
    assert_int_equal (got, first);
    assert_int_equal (secpol_client_recv (client, 2000, &got, NULL), SECPOL_OK);
    assert_int_equal (got, second);
    assert_int_equal (secpol_client_recv (client, 100, &got, NULL), SECPOL_UNAVAILABLE);
    assert_int_equal (got, 0);
    secpol_client_destroy (&client);
}

static void
test_status_codes_messages_and_violations (void **state)
{
    (void)state;
    secpol_client_t *client = secpol_client_new (S_ENDPOINT, 2000);
    assert_non_null (client);
    ProtobufCMessage *response = NULL;

    assert_int_equal (s_call (client, "/fake/violations", &response), SECPOL_INVALID_ARGUMENT);
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_string_equal (status->message, "2 fields are invalid");
    assert_int_equal (status->n_violations, 2);
    assert_string_equal (status->violation_fields[0], "policy.hsts.max_age_days");
    assert_string_equal (status->violation_descriptions[0], "must be at most 3650");
    assert_string_equal (status->violation_fields[1], "policy.referrer_policy");

    //  The next call replaces the status.
    s_assert_still_works (client);
    assert_int_equal (status->code, SECPOL_OK);
    assert_int_equal (status->n_violations, 0);
    assert_string_equal (status->message, "");

    //  A code outside the canonical range is UNKNOWN, with the number kept.
    assert_int_equal (s_call (client, "/fake/code-99", &response), SECPOL_UNKNOWN);
    assert_non_null (strstr (status->message, "99"));
    assert_non_null (strstr (status->message, "from the future"));
    assert_int_equal (s_call (client, "/fake/code-negative", &response), SECPOL_UNKNOWN);

    //  An error status never hands out a response, even if a body came.
    response = (ProtobufCMessage *)&response;
    assert_int_equal (s_call (client, "/fake/error-with-body", &response), SECPOL_NOT_FOUND);
    assert_null (response);
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_replies_without_a_usable_header_are_dropped),
        cmocka_unit_test (test_malformed_replies_to_a_call_are_internal),
        cmocka_unit_test (test_stray_and_duplicate_replies_are_dropped),
        cmocka_unit_test (test_status_codes_messages_and_violations),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
