/*  test_malformed.c - bad input to a running secpold gets a clear status,
 *  never a crash or a hang, and the daemon keeps serving.
 *
 *  Everything goes over real ZeroMQ sockets to a real secpold, frame by
 *  frame, the way a buggy or hostile client would send it.
 */
#include "daemon.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <czmq.h>
#include <sodium.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

static secpol_test_daemon_t s_daemon;

typedef struct {
    int frames; /* reply frames after the delimiter; 0 = no reply */
    int code;   /* ResponseHeader.code */
    uint64_t call_id;
    char message[512];
    size_t body_size;
} reply_t;

static reply_t
s_exchange (int n, const void *const *frames, const size_t *sizes, bool delimiter, int timeout_ms)
{
    void *parts[4] = {0};
    size_t part_sizes[4] = {0};
    reply_t reply = {0};
    reply.code = -1;
    reply.frames =
        delimiter
            ? secpol_test_raw (&s_daemon, n, frames, sizes, timeout_ms, parts, part_sizes)
            : secpol_test_raw_frames (&s_daemon, n, frames, sizes, timeout_ms, parts, part_sizes);
    if (reply.frames >= 1) {
        Secpol__V1__ResponseHeader *header =
            secpol__v1__response_header__unpack (NULL, part_sizes[0], parts[0]);
        assert_non_null (header);
        reply.code = header->code;
        reply.call_id = header->call_id;
        snprintf (reply.message, sizeof reply.message, "%s", header->message);
        secpol__v1__response_header__free_unpacked (header, NULL);
    }
    if (reply.frames >= 2)
        reply.body_size = part_sizes[1];
    for (int i = 0; i < reply.frames && i < 4; i++)
        free (parts[i]);
    return reply;
}

static size_t
s_header (uint8_t *buf, const char *method, uint64_t call_id)
{
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = (char *)method;
    header.call_id = call_id;
    return secpol__v1__request_header__pack (&header, buf);
}

/*  After every bad request the daemon must still answer Health/Check. */
static void
s_assert_serving (void)
{
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 99);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    reply_t reply = s_exchange (2, frames, sizes, true, 5000);
    assert_int_equal (reply.frames, 2);
    assert_int_equal (reply.code, SECPOL_OK);
    assert_int_equal (reply.call_id, 99);
    assert_true (reply.body_size > 0);
}

static int
s_setup (void **state)
{
    (void)state;
    return secpol_test_daemon_start (&s_daemon, NULL);
}

static int
s_teardown (void **state)
{
    (void)state;
    /* the daemon must not have died along the way: a clean SIGTERM exit */
    int status = secpol_test_daemon_kill (&s_daemon, SIGTERM);
    secpol_test_daemon_stop (&s_daemon);
    return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

static void
test_single_frame (void **state)
{
    (void)state;
    const void *frames[] = {"hello"};
    size_t sizes[] = {5};
    reply_t reply = s_exchange (1, frames, sizes, false, 5000);
    assert_int_equal (reply.frames, 2);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "expected 3 frames"));
    assert_int_equal (reply.body_size, 0);
    s_assert_serving ();
}

static void
test_five_frames (void **state)
{
    (void)state;
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 5);
    const void *frames[] = {header, "", "x", "y"};
    size_t sizes[] = {size, 0, 1, 1};
    reply_t reply = s_exchange (4, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "got 5"));
    s_assert_serving ();
}

static void
test_missing_delimiter (void **state)
{
    (void)state;
    /* three frames, but the first is not the empty delimiter */
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 6);
    const void *frames[] = {"not-empty", header, ""};
    size_t sizes[] = {9, size, 0};
    reply_t reply = s_exchange (3, frames, sizes, false, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    s_assert_serving ();
}

static void
test_undecodable_header (void **state)
{
    (void)state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    const void *frames[] = {garbage, ""};
    size_t sizes[] = {sizeof garbage, 0};
    reply_t reply = s_exchange (2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "RequestHeader"));
    s_assert_serving ();
}

static void
test_unknown_method (void **state)
{
    (void)state;
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Nope/Nothing", 4242);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    reply_t reply = s_exchange (2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_UNIMPLEMENTED);
    assert_int_equal (reply.call_id, 4242); /* the header decoded, so call_id is echoed */
    assert_non_null (strstr (reply.message, "/secpol.v1.Nope/Nothing"));
    s_assert_serving ();
}

static void
test_empty_method (void **state)
{
    (void)state;
    uint8_t header[128];
    size_t size = s_header (header, "", 8);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    reply_t reply = s_exchange (2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reply.message, "method"));
    s_assert_serving ();
}

static void
test_undecodable_body (void **state)
{
    (void)state;
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 9);
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* length past the end */
    const void *frames[] = {header, garbage};
    size_t sizes[] = {size, sizeof garbage};
    reply_t reply = s_exchange (2, frames, sizes, true, 5000);
    assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
    assert_int_equal (reply.call_id, 9);
    assert_non_null (strstr (reply.message, "HealthCheckRequest"));
    assert_int_equal (reply.body_size, 0);
    s_assert_serving ();
}

static void
test_body_over_method_limit (void **state)
{
    (void)state;
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 10);
    size_t big = 1024 * 1024;
    char *body = calloc (1, big);
    const void *frames[] = {header, body};
    size_t sizes[] = {size, big};
    reply_t reply = s_exchange (2, frames, sizes, true, 5000);
    free (body);
    assert_int_equal (reply.code, SECPOL_RESOURCE_EXHAUSTED);
    assert_non_null (strstr (reply.message, "limit"));
    s_assert_serving ();
}

static void
test_frame_over_hard_limit_drops_peer_only (void **state)
{
    (void)state;
    /* Past ZMQ_MAXMSGSIZE libzmq drops the connection before secpold sees a
     * byte: no reply, and the daemon goes on serving everyone else. */
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 11);
    size_t huge = 6 * 1024 * 1024;
    char *body = calloc (1, huge);
    const void *frames[] = {header, body};
    size_t sizes[] = {size, huge};
    reply_t reply = s_exchange (2, frames, sizes, true, 1000);
    free (body);
    assert_int_equal (reply.frames, 0);
    s_assert_serving ();
}

static void
test_test_clock_needs_flag (void **state)
{
    (void)state;
    secpol_test_daemon_t plain;
    const char *args[] = {"--no-test-clock", NULL};
    assert_int_equal (secpol_test_daemon_start (&plain, args), 0);
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.TestClockService/SetOffset", 12);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    void *parts[4] = {0};
    size_t part_sizes[4];
    int n = secpol_test_raw (&plain, 2, frames, sizes, 5000, parts, part_sizes);
    assert_int_equal (n, 2);
    Secpol__V1__ResponseHeader *reply =
        secpol__v1__response_header__unpack (NULL, part_sizes[0], parts[0]);
    assert_non_null (reply);
    assert_int_equal (reply->code, SECPOL_UNIMPLEMENTED);
    assert_non_null (strstr (reply->message, "--test-clock"));
    secpol__v1__response_header__free_unpacked (reply, NULL);
    for (int i = 0; i < n; i++)
        free (parts[i]);
    secpol_test_daemon_stop (&plain);
    s_assert_serving ();
}

static void
test_client_gone_before_reply (void **state)
{
    (void)state;
    /* many requests, then the client vanishes: replies to nobody are dropped */
    zsock_t *dealer = zsock_new_dealer (s_daemon.endpoint);
    zsock_set_linger (dealer, 1000);
    uint8_t header[128];
    size_t size = s_header (header, "/secpol.v1.Health/Check", 13);
    for (int i = 0; i < 500; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, "", 0);
        zmsg_addmem (msg, header, size);
        zmsg_addmem (msg, "", 0);
        zmsg_send (&msg, dealer);
    }
    zsock_destroy (&dealer);
    s_assert_serving ();
}

static void
test_random_frames_never_crash (void **state)
{
    (void)state;
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
        reply_t reply = s_exchange (n, frames, sizes, round % 2 == 0, 5000);
        assert_int_equal (reply.frames, 2);
        assert_true (reply.code != SECPOL_OK);
    }
    s_assert_serving ();
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_single_frame),
        cmocka_unit_test (test_five_frames),
        cmocka_unit_test (test_missing_delimiter),
        cmocka_unit_test (test_undecodable_header),
        cmocka_unit_test (test_unknown_method),
        cmocka_unit_test (test_empty_method),
        cmocka_unit_test (test_undecodable_body),
        cmocka_unit_test (test_body_over_method_limit),
        cmocka_unit_test (test_frame_over_hard_limit_drops_peer_only),
        cmocka_unit_test (test_test_clock_needs_flag),
        cmocka_unit_test (test_client_gone_before_reply),
        cmocka_unit_test (test_random_frames_never_crash),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
