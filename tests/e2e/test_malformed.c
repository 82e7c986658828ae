/*  test_malformed.c - bad input to a running secpold gets a clear status,
 *  never a crash or a hang, and the daemon keeps serving.
 *
 *  Everything goes over real ZeroMQ sockets to a real secpold, frame by
 *  frame, the way a buggy or hostile client would send it. Each test has
 *  its own secpold, which must still answer afterwards and, at teardown,
 *  exit cleanly on SIGTERM.
 */
#include "daemon.h"

#include "secpol/secpol_status.h"
#include "service.h"

#include <czmq.h>
#include <sodium.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

/*  After every bad request the daemon must still answer Health/Check. */
static void
s_assert_serving (const secpol_test_daemon_t *daemon)
{
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 99, NULL);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.frames, 2);
    assert_int_equal (reply.code, SECPOL_OK);
    assert_int_equal (reply.call_id, 99);
    assert_true (reply.body_size > 0);
}

static void
test_single_frame (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    const void *frames[] = {"hello"};
    size_t sizes[] = {5};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 1, frames, sizes, false, 5000);
    assert_int_equal (reply.frames, 2);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "expected 3 frames"));
    assert_int_equal (reply.body_size, 0);
    s_assert_serving (daemon);
}

static void
test_five_frames (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 5, NULL);
    const void *frames[] = {header, "", "x", "y"};
    size_t sizes[] = {size, 0, 1, 1};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 4, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "got 5"));
    s_assert_serving (daemon);
}

static void
test_missing_delimiter (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    /* three frames, but the first is not the empty delimiter */
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 6, NULL);
    const void *frames[] = {"not-empty", header, ""};
    size_t sizes[] = {9, size, 0};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 3, frames, sizes, false, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    s_assert_serving (daemon);
}

static void
test_undecodable_header (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    const void *frames[] = {garbage, ""};
    size_t sizes[] = {sizeof garbage, 0};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "RequestHeader"));
    s_assert_serving (daemon);
}

static void
test_unknown_method (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Nope/Nothing", 4242, NULL);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_UNIMPLEMENTED);
    assert_int_equal (reply.call_id, 4242); /* the header decoded, so call_id is echoed */
    assert_non_null (strstr (reply.message, "/secpol.v1.Nope/Nothing"));
    s_assert_serving (daemon);
}

static void
test_empty_method (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    uint8_t header[128];
    size_t size = secpol_test_pack_header (header, sizeof header, "", 8, NULL);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "method"));
    s_assert_serving (daemon);
}

static void
test_undecodable_body (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 9, NULL);
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* length past the end */
    const void *frames[] = {header, garbage};
    size_t sizes[] = {size, sizeof garbage};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_int_equal (reply.call_id, 9);
    assert_non_null (strstr (reply.message, "HealthCheckRequest"));
    assert_int_equal (reply.body_size, 0);
    s_assert_serving (daemon);
}

static void
test_body_over_method_limit (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 10, NULL);
    size_t big = 1024 * 1024;
    char *body = calloc (1, big);
    const void *frames[] = {header, body};
    size_t sizes[] = {size, big};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    free (body);
    assert_int_equal (reply.code, SECPOL_RESOURCE_EXHAUSTED);
    assert_non_null (strstr (reply.message, "limit"));
    s_assert_serving (daemon);
}

static void
test_frame_over_hard_limit_drops_peer_only (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    /* Past ZMQ_MAXMSGSIZE libzmq drops the connection before secpold sees a
     * byte: the peer is disconnected, no reply comes, and the daemon goes on
     * serving everyone else. The test waits for the disconnect itself, so a
     * slow daemon cannot pass for one that dropped the peer. */
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert_non_null (dealer);
    zsock_set_linger (dealer, 0);
    zactor_t *monitor = zactor_new (zmonitor, dealer);
    assert_non_null (monitor);
    zstr_sendx (monitor, "LISTEN", "DISCONNECTED", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    assert_int_equal (zsock_connect (dealer, "%s", daemon->endpoint), 0);

    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 11, NULL);
    size_t huge = SECPOL_HARD_MAX_MESSAGE + 1;
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addmem (msg, header, size);
    zframe_t *body = zframe_new (NULL, huge);
    memset (zframe_data (body), 0, huge);
    zmsg_append (msg, &body);
    assert_int_equal (zmsg_send (&msg, dealer), 0);

    zpoller_t *poller = zpoller_new (monitor, NULL);
    bool dropped = zpoller_wait (poller, SECPOL_TEST_DEADLINE_MS) == monitor;
    zpoller_destroy (&poller);
    char *event = dropped ? zstr_recv (monitor) : NULL;
    if (!event || strcmp (event, "DISCONNECTED") != 0)
        fail_msg ("secpold did not drop the peer within %d ms (event: %s)", SECPOL_TEST_DEADLINE_MS,
                  event ? event : "none");
    zstr_free (&event);
    /* the daemon never saw the request, so nothing can answer it */
    assert_false (zsock_events (dealer) & ZMQ_POLLIN);
    zactor_destroy (&monitor);
    zsock_destroy (&dealer);
    s_assert_serving (daemon);
}

static int
s_setup_without_test_clock (void **state)
{
    return secpol_test_daemon_setup_with (state, (const char *[]){"--no-test-clock", NULL});
}

static void
test_test_clock_needs_flag (void **state)
{
    const secpol_test_daemon_t *daemon = *state; /* started without --test-clock */
    uint8_t header[128];
    size_t size = secpol_test_pack_header (header, sizeof header,
                                           "/secpol.v1.TestClockService/SetOffset", 12, NULL);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.frames, 2);
    assert_int_equal (reply.code, SECPOL_UNIMPLEMENTED);
    assert_non_null (strstr (reply.message, "--test-clock"));
    s_assert_serving (daemon);
}

static void
test_client_gone_before_reply (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    /* many requests, then the client vanishes: replies to nobody are dropped */
    enum { N = 500 };
    zsock_t *dealer = zsock_new_dealer (daemon->endpoint);
    assert_non_null (dealer);
    zsock_set_linger (dealer, 0);
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 13, NULL);
    for (int i = 0; i < N; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, "", 0);
        zmsg_addmem (msg, header, size);
        zmsg_addmem (msg, "", 0);
        assert_int_equal (zmsg_send (&msg, dealer), 0);
    }
    /* the first reply shows secpold has the requests and works on them;
     * the client goes away at once, leaving the rest unread */
    zpoller_t *poller = zpoller_new (dealer, NULL);
    bool answered = zpoller_wait (poller, SECPOL_TEST_DEADLINE_MS) == dealer;
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    assert_true (answered);
    s_assert_serving (daemon);
}

static void
test_random_frames_never_crash (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    /* a few hundred random frame sets from libsodium's generator */
    for (int round = 0; round < 300; round++) {
        uint8_t data[4][64];
        const void *frames[4];
        size_t sizes[4];
        int n = 1 + (int)randombytes_uniform (4);
        for (int i = 0; i < n; i++) {
            sizes[i] = randombytes_uniform (64);
            randombytes_buf (data[i], sizes[i]);
            frames[i] = data[i];
        }
        secpol_test_reply_t reply =
            secpol_test_exchange (daemon, n, frames, sizes, round % 2 == 0, 5000);
        assert_int_equal (reply.frames, 2);
        assert_true (reply.code != SECPOL_OK);
    }
    s_assert_serving (daemon);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_single_frame),
        SECPOL_TEST_WITH_DAEMON (test_five_frames),
        SECPOL_TEST_WITH_DAEMON (test_missing_delimiter),
        SECPOL_TEST_WITH_DAEMON (test_undecodable_header),
        SECPOL_TEST_WITH_DAEMON (test_unknown_method),
        SECPOL_TEST_WITH_DAEMON (test_empty_method),
        SECPOL_TEST_WITH_DAEMON (test_undecodable_body),
        SECPOL_TEST_WITH_DAEMON (test_body_over_method_limit),
        SECPOL_TEST_WITH_DAEMON (test_frame_over_hard_limit_drops_peer_only),
        cmocka_unit_test_setup_teardown (test_test_clock_needs_flag, s_setup_without_test_clock,
                                         secpol_test_daemon_teardown),
        SECPOL_TEST_WITH_DAEMON (test_client_gone_before_reply),
        SECPOL_TEST_WITH_DAEMON (test_random_frames_never_crash),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
