/*  test_lanes.c - the dispatcher's lanes, with real threads, sockets and LMDB.
 *
 *  The server runs in-process with a method table of test handlers bound to
 *  methods of the real contract (so no test-only .proto is needed):
 *    Health/Check               READ   passes the gate (below)
 *    TestClockService/SetOffset WRITE  passes the gate, then writes key
 *                                      "k<offset>"; a negative offset writes
 *                                      and then fails, so must roll back
 *    PolicyService/GetPolicy    SLOW   prepare derives a value outside any txn,
 *                                      the write part stores it
 *
 *  The gate holds a lane's thread inside a handler for as long as a test
 *  needs it busy (requests queued behind it, a stop while it runs): the
 *  test closes it, waits until a handler has reached it, and opens it once
 *  what it wanted queued is queued. No test waits for a time to pass but
 *  for a request's own deadline.
 */
#include "expiry.h"
#include "fixtures.h"
#include "lanes.h"
#include "server.h"

#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

#include <czmq.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const secpol_table_t s_lanes_table = {"lanes"}; /* what the write handlers write */
static char s_dir[64];
static char s_endpoint[128];
static volatile sig_atomic_t s_stop;
static pthread_t s_thread;
static secpol_server_t *s_server;
static secpol_method_table_t *s_table;

/*  Handlers wait here while the gate is closed; the test sees them come. */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    bool closed; /* handlers wait while it is */
    int arrived; /* handlers that reached it since it was closed */
    int passes;  /* handlers the closed gate lets through (s_gate_let_one) */
} s_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0};

/*  In a handler: waits while the gate is closed. */
static void
s_gate_pass (void)
{
    pthread_mutex_lock (&s_gate.mutex);
    if (s_gate.closed) {
        s_gate.arrived++;
        pthread_cond_broadcast (&s_gate.changed);
        while (s_gate.closed && s_gate.passes == 0)
            pthread_cond_wait (&s_gate.changed, &s_gate.mutex);
        if (s_gate.closed)
            s_gate.passes--;
    }
    pthread_mutex_unlock (&s_gate.mutex);
}

/*  Lets one handler waiting at the closed gate go on; the gate stays closed
 *  for the next. */
static void
s_gate_let_one (void)
{
    pthread_mutex_lock (&s_gate.mutex);
    s_gate.passes++;
    pthread_cond_broadcast (&s_gate.changed);
    pthread_mutex_unlock (&s_gate.mutex);
}

static void
s_gate_close (void)
{
    pthread_mutex_lock (&s_gate.mutex);
    s_gate.closed = true;
    s_gate.arrived = 0;
    s_gate.passes = 0;
    pthread_mutex_unlock (&s_gate.mutex);
}

/*  Lets every handler waiting at the gate go on, and the ones after them. */
static void
s_gate_open (void)
{
    pthread_mutex_lock (&s_gate.mutex);
    s_gate.closed = false;
    pthread_cond_broadcast (&s_gate.changed);
    pthread_mutex_unlock (&s_gate.mutex);
}

/*  Waits (bounded) until n handlers have reached the closed gate since it
 *  was closed: the last one's lane thread is busy with it from then on. */
static void
s_gate_wait_arrivals (int n)
{
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += SECPOL_TEST_DEADLINE_MS / 1000 + 1;
    pthread_mutex_lock (&s_gate.mutex);
    int rc = 0;
    while (s_gate.arrived < n && rc == 0)
        rc = pthread_cond_timedwait (&s_gate.changed, &s_gate.mutex, &until);
    int arrived = s_gate.arrived;
    pthread_mutex_unlock (&s_gate.mutex);
    if (arrived < n)
        fail_msg ("%d handlers, not %d, reached the gate within %d ms", arrived, n,
                  SECPOL_TEST_DEADLINE_MS);
}

/*  Waits (bounded) until a handler waits at the closed gate. */
static void
s_gate_wait_arrival (void)
{
    s_gate_wait_arrivals (1);
}

/*  Waits (bounded) until n jobs wait in the lane's queue (behind the
 *  handler held at the gate); returns the monotonic time, in ms, by which
 *  they were all received. */
static long long
s_wait_queued (secpol_lane_t lane, uint64_t n)
{
    long long give_up = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    for (;;) {
        long long now = secpol_test_now_ms ();
        secpol_lanes_stats_t stats;
        secpol_server_lanes_stats (s_server, &stats);
        if (stats.queued[lane] == n)
            return now;
        if (now > give_up)
            fail_msg ("%llu jobs queued in lane %d, not %llu, after %d ms",
                      (unsigned long long)stats.queued[lane], (int)lane, (unsigned long long)n,
                      SECPOL_TEST_DEADLINE_MS);
        struct timespec pause = {0, 1000 * 1000}; /* a poll of the real condition, bounded */
        nanosleep (&pause, NULL);
    }
}

/*  Teardown: a test that failed with the gate closed leaves no lane
 *  thread waiting at it. */
static int
s_gate_teardown (void **state)
{
    (void)state;
    s_gate_open ();
    return 0;
}

SECPOL_HANDLER (s_check, Secpol__V1__HealthCheckRequest, in, Secpol__V1__HealthCheckResponse, out)
{
    (void)in;
    s_gate_pass ();
    out->now = call->now;
    return SECPOL_OK;
}

SECPOL_HANDLER (s_write, Secpol__V1__SetOffsetRequest, in, Secpol__V1__SetOffsetResponse, out)
{
    s_gate_pass ();
    int64_t offset = in->offset_seconds;
    char key[32];
    snprintf (key, sizeof key, "k%lld", (long long)(offset < 0 ? -offset : offset));
    static char big[4000];
    int rc = secpol_put (call->txn, &s_lanes_table, key, strlen (key), big, sizeof big);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "put: %s", secpol_strerror (rc));
    if (offset < 0)
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION, "negative");
    out->now = offset;
    return SECPOL_OK;
}

SECPOL_HANDLER (s_slow_prepare, Secpol__V1__GetPolicyRequest, in, Secpol__V1__Policy, out)
{
    (void)out;
    if (call->txn != NULL)
        return secpol_call_fail (call, SECPOL_INTERNAL, "prepare got a transaction");
    call->slow_result = secpol_call_printf (call, "prepared:%s", in->workspace_id);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_slow_write, Secpol__V1__GetPolicyRequest, in, Secpol__V1__Policy, out)
{
    (void)in;
    const char *value = call->slow_result;
    int rc = secpol_put (call->txn, &s_lanes_table, "slow", 4, value, strlen (value));
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "put: %s", secpol_strerror (rc));
    out->updated_by = (char *)value;
    return SECPOL_OK;
}

/*  READ, and writes only when it must: NEEDS_WRITE on the READ lane, then
 *  the write on the WRITE lane. */
SECPOL_HANDLER (s_read_then_write, Secpol__V1__ListPolicyRevisionsRequest, in,
                Secpol__V1__ListPolicyRevisionsResponse, out)
{
    (void)in;
    if (!call->writable)
        return SECPOL_NEEDS_WRITE;
    int rc = secpol_put (call->txn, &s_lanes_table, "escalated", 9, "yes", 3);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "put: %s", secpol_strerror (rc));
    out->next_page_token = "written on the WRITE lane";
    return SECPOL_OK;
}

/*  Stores 1,000 records "exp<n>" expiring a second from now. */
SECPOL_HANDLER (s_store_expiring, Secpol__V1__DeletePolicyRequest, in,
                Secpol__V1__DeletePolicyResponse, out)
{
    (void)in;
    (void)out;
    for (int i = 0; i < 1000; i++) {
        char key[16];
        int n = snprintf (key, sizeof key, "exp%04d", i);
        int rc = secpol_put (call->txn, &s_lanes_table, key, (size_t)n, "v", 1);
        if (!rc)
            rc = secpol_expiry_add (call->txn, &s_lanes_table, key, (size_t)n, call->now + 1);
        if (rc)
            return secpol_call_fail (call, SECPOL_INTERNAL, "put: %s", secpol_strerror (rc));
    }
    return SECPOL_OK;
}

/*  Counts the "exp" records left, in warnings[0]. */
SECPOL_HANDLER (s_count_expiring, Secpol__V1__RenderSecurityHeadersRequest, in,
                Secpol__V1__RenderSecurityHeadersResponse, out)
{
    (void)in;
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (call->txn, &s_lanes_table, &cursor);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "cursor: %s", secpol_strerror (rc));
    int count = 0;
    secpol_val_t key;
    for (rc = secpol_cursor_seek (cursor, "exp", 3, &key, NULL);
         rc == 0 && secpol_val_has_prefix (key, "exp", 3);
         rc = secpol_cursor_next (cursor, &key, NULL))
        count++;
    secpol_cursor_close (&cursor);
    secpol_arena_append (call->arena, &out->n_warnings, (void ***)&out->warnings,
                         secpol_call_printf (call, "%d", count));
    return SECPOL_OK;
}

/* Three test services, one per generated descriptor the tests borrow. */
static const secpol_method_spec_t s_read_methods[] = {
    {.method = "Check", .lane = SECPOL_LANE_READ, .role = SECPOL_ROLE_ANY, .handler = &s_check},
};
static const secpol_method_spec_t s_write_methods[] = {
    {.method = "SetOffset",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_ANY,
     .handler = &s_write},
};
static const secpol_method_spec_t s_slow_methods[] = {
    {.method = "ListPolicyRevisions",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_ANY,
     .handler = &s_read_then_write},
    {.method = "DeletePolicy",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_ANY,
     .handler = &s_store_expiring},
    {.method = "RenderSecurityHeaders",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_ANY,
     .handler = &s_count_expiring},
    {.method = "GetPolicy",
     .lane = SECPOL_LANE_SLOW,
     .role = SECPOL_ROLE_ANY,
     .handler = &s_slow_write,
     .prepare = &s_slow_prepare},
};
static const secpol_table_t *const s_tables[] = {&s_lanes_table};
static const secpol_service_t s_read_service = {
    "read", &secpol__v1__health__descriptor, s_read_methods, 1, NULL, 0};
static const secpol_service_t s_write_service = {
    "write", &secpol__v1__test_clock_service__descriptor, s_write_methods, 1, s_tables, 1};
static const secpol_service_t s_slow_service = {
    "slow",         &secpol__v1__policy_service__descriptor,
    s_slow_methods, SECPOL_COUNT (s_slow_methods),
    NULL,           0};
static const secpol_service_t *const s_services[] = {&s_read_service, &s_write_service,
                                                     &s_slow_service};

static void *
s_run (void *arg)
{
    (void)arg;
    secpol_server_run (s_server, &s_stop);
    return NULL;
}

static unsigned s_max_queued; /* 0 = the server's default */
static unsigned s_drain_ms;   /* 0 = the server's default */
static unsigned s_max_batch;  /* 0 = the server's default (all waiting) */

static void
s_start (size_t map_size)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/secpol-lanes-XXXXXX");
    assert_non_null (mkdtemp (s_dir));
    snprintf (s_endpoint, sizeof s_endpoint, "ipc://%s/s.sock", s_dir);
    char data[128];
    snprintf (data, sizeof data, "%s/data", s_dir);
    s_table = secpol_method_table_new (s_services, 3);
    assert_non_null (s_table);
    secpol_server_config_t config = {
        .endpoints = {s_endpoint},
        .n_endpoints = 1,
        .data_dir = data,
        .read_workers = 1,
        .slow_workers = 1,
        .default_role = SECPOL_ROLE_ADMIN,
        .store = {.map_size = map_size},
        .max_queued = s_max_queued,
        .write_batch_max = s_max_batch,
        .drain_ms = s_drain_ms,
        .grace_ms = s_drain_ms ? 600000 : 0, /* a drain's end, not the grace's, under test */
        .methods = s_table,
    };
    char err[256];
    s_server = secpol_server_new (&config, err, sizeof err);
    assert_non_null (s_server);
    s_stop = 0;
    assert_int_equal (pthread_create (&s_thread, NULL, s_run, NULL), 0);
}

/*  Stops the server; leaves the store open for inspection in *store_p. */
static void
s_stop_server (secpol_store_t **store_p)
{
    s_stop = 1;
    pthread_join (s_thread, NULL);
    secpol_server_destroy (&s_server);
    secpol_method_table_destroy (&s_table);
    char data[128];
    snprintf (data, sizeof data, "%s/data", s_dir);
    const secpol_table_t *const tables[] = {&s_lanes_table, &secpol_expiry_table};
    const secpol_store_options_t options = {.tables = tables, .n_tables = 2};
    if (store_p)
        assert_int_equal (secpol_store_open (store_p, data, &options), 0);
}

static void
s_cleanup (void)
{
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    assert_int_equal (system (cmd), 0);
}

static void
s_send (zsock_t *dealer, const char *method, uint64_t call_id, uint32_t deadline_ms,
        const ProtobufCMessage *body)
{
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = (char *)method;
    header.call_id = call_id;
    header.deadline_ms = deadline_ms;
    uint8_t hbuf[256], bbuf[256];
    size_t hlen = secpol__v1__request_header__pack (&header, hbuf);
    size_t blen = body ? protobuf_c_message_pack (body, bbuf) : 0;
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addmem (msg, hbuf, hlen);
    zmsg_addmem (msg, bbuf, blen);
    assert_int_equal (zmsg_send (&msg, dealer), 0);
}

/*  Receives one reply; returns its code and call id; copies the body. */
static int
s_recv (zsock_t *dealer, uint64_t *call_id, uint8_t *body, size_t *body_size)
{
    zsock_set_rcvtimeo (dealer, SECPOL_TEST_DEADLINE_MS);
    zmsg_t *msg = zmsg_recv (dealer);
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 3);
    zframe_t *frame = zmsg_first (msg);
    assert_int_equal (zframe_size (frame), 0);
    frame = zmsg_next (msg);
    Secpol__V1__ResponseHeader *header =
        secpol__v1__response_header__unpack (NULL, zframe_size (frame), zframe_data (frame));
    assert_non_null (header);
    int code = header->code;
    *call_id = header->call_id;
    secpol__v1__response_header__free_unpacked (header, NULL);
    frame = zmsg_next (msg);
    if (body) {
        memcpy (body, zframe_data (frame), zframe_size (frame));
        *body_size = zframe_size (frame);
    }
    zmsg_destroy (&msg);
    return code;
}

static void
test_deadline_spent_in_queue (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    /* one READ worker, held by call 1: call 2 waits behind it longer than
     * its 50 ms budget, call 3 within its minute */
    s_gate_close ();
    s_send (dealer, "/secpol.v1.Health/Check", 1, 0, NULL);
    s_gate_wait_arrival ();
    s_send (dealer, "/secpol.v1.Health/Check", 2, 50, NULL);
    s_send (dealer, "/secpol.v1.Health/Check", 3, 60000, NULL);
    /* both were received by the time they are queued: their deadlines run
     * from before then */
    long long received_by = s_wait_queued (SECPOL_LANE_READ, 2);
    while (secpol_test_now_ms () <= received_by + 50 + 1) {
        struct timespec pause = {0, 1000 * 1000}; /* until call 2's deadline has passed */
        nanosleep (&pause, NULL);
    }
    s_gate_open ();
    int codes[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 3; i++) {
        uint64_t id;
        int code = s_recv (dealer, &id, NULL, NULL);
        assert_true (id >= 1 && id <= 3);
        codes[id] = code;
    }
    assert_int_equal (codes[1], SECPOL_OK);
    assert_int_equal (codes[2], SECPOL_DEADLINE_EXCEEDED);
    assert_int_equal (codes[3], SECPOL_OK);
    zsock_destroy (&dealer);
    s_stop_server (NULL);
    s_cleanup ();
}

static void
test_group_commit_rolls_back_failures_alone (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    /* the first write holds the writer while the other 199 queue up */
    const int n = 200;
    s_gate_close ();
    for (int i = 1; i <= n; i++) {
        Secpol__V1__SetOffsetRequest req = SECPOL__V1__SET_OFFSET_REQUEST__INIT;
        req.offset_seconds = i % 5 == 0 ? -i : i; /* every fifth fails */
        s_send (dealer, "/secpol.v1.TestClockService/SetOffset", (uint64_t)i, 0, &req.base);
        if (i == 1)
            s_gate_wait_arrival ();
    }
    s_wait_queued (SECPOL_LANE_WRITE, (uint64_t)n - 1);
    s_gate_open ();
    int ok = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        uint64_t id;
        int code = s_recv (dealer, &id, NULL, NULL);
        if (id % 5 == 0) {
            assert_int_equal (code, SECPOL_FAILED_PRECONDITION);
            failed++;
        } else {
            assert_int_equal (code, SECPOL_OK);
            ok++;
        }
    }
    assert_int_equal (ok, 160);
    assert_int_equal (failed, 40);
    uint64_t commits, requests;
    secpol_server_write_stats (s_server, &commits, &requests);
    assert_int_equal (requests, 160);
    assert_true (commits < 10); /* 1 + one batch of the rest, give or take */
    zsock_destroy (&dealer);

    secpol_store_t *store = NULL;
    s_stop_server (&store);
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    for (int i = 1; i <= n; i++) {
        char key[32];
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (secpol_get (txn, &s_lanes_table, key, strlen (key), NULL),
                          i % 5 == 0 ? SECPOL_ENOTFOUND : 0);
    }
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

/*  Sends writes 1..n (SetOffset i), the first held at the gate, and
 *  returns once the other n - 1 wait in the WRITE lane behind it. */
static void
s_queue_writes_behind_one (zsock_t *dealer, int n)
{
    s_gate_close ();
    for (int i = 1; i <= n; i++) {
        Secpol__V1__SetOffsetRequest req = SECPOL__V1__SET_OFFSET_REQUEST__INIT;
        req.offset_seconds = i;
        s_send (dealer, "/secpol.v1.TestClockService/SetOffset", (uint64_t)i, 0, &req.base);
        if (i == 1)
            s_gate_wait_arrival ();
    }
    s_wait_queued (SECPOL_LANE_WRITE, (uint64_t)n - 1);
}

/*  As s_queue_writes_behind_one, then opens the gate and checks every write
 *  is answered OK. */
static void
s_write_all_behind_one (zsock_t *dealer, int n)
{
    s_queue_writes_behind_one (dealer, n);
    s_gate_open ();
    for (int i = 0; i < n; i++) {
        uint64_t id;
        assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_OK);
    }
}

/*  By default a group commit carries every write waiting, with no fixed
 *  cap: 1999 writes queued behind one held at the gate (more than the 1024
 *  a batch once could hold) take its commit and then one or two more. */
static void
test_writer_takes_every_waiting_write (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER); /* room for 2000 each way, unread */
    zsock_set_sndhwm (dealer, 0);
    zsock_set_rcvhwm (dealer, 0);
    assert_int_equal (zsock_connect (dealer, "%s", s_endpoint), 0);
    s_write_all_behind_one (dealer, 2000);
    uint64_t commits, requests;
    secpol_server_write_stats (s_server, &commits, &requests);
    assert_int_equal (requests, 2000);
    assert_true (commits <= 3);
    zsock_destroy (&dealer);
    s_stop_server (NULL);
    s_cleanup ();
}

/*  --max-batch 1: one durable commit per write, even with many waiting. */
static void
test_max_batch_caps_a_commit (void **state)
{
    (void)state;
    s_max_batch = 1;
    s_start (0);
    s_max_batch = 0;
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    s_write_all_behind_one (dealer, 50);
    uint64_t commits, requests;
    secpol_server_write_stats (s_server, &commits, &requests);
    assert_int_equal (requests, 50);
    assert_int_equal (commits, 50);
    zsock_destroy (&dealer);
    secpol_store_t *store = NULL;
    s_stop_server (&store);
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    for (int i = 1; i <= 50; i++) {
        char key[32];
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (secpol_get (txn, &s_lanes_table, key, strlen (key), NULL), 0);
    }
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

static void
test_write_lane_grows_full_map (void **state)
{
    (void)state;
    s_start (64 * 1024); /* 16 pages of data at most */
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    for (int i = 1; i <= 100; i++) {
        Secpol__V1__SetOffsetRequest req = SECPOL__V1__SET_OFFSET_REQUEST__INIT;
        req.offset_seconds = i;
        s_send (dealer, "/secpol.v1.TestClockService/SetOffset", (uint64_t)i, 0, &req.base);
    }
    for (int i = 0; i < 100; i++) {
        uint64_t id;
        assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_OK);
    }
    assert_true (secpol_store_map_size (secpol_server_store (s_server)) > 64 * 1024);
    zsock_destroy (&dealer);
    secpol_store_t *store = NULL;
    s_stop_server (&store);
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    assert_int_equal (secpol_get (txn, &s_lanes_table, "k100", 4, NULL), 0);
    assert_int_equal (secpol_get (txn, &s_lanes_table, "k1", 2, NULL), 0);
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

static void
test_slow_lane_hands_its_write_to_the_writer (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    Secpol__V1__GetPolicyRequest req = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    req.workspace_id = "ws-9";
    s_send (dealer, "/secpol.v1.PolicyService/GetPolicy", 42, 0, &req.base);
    uint64_t id;
    uint8_t body[256];
    size_t size;
    assert_int_equal (s_recv (dealer, &id, body, &size), SECPOL_OK);
    assert_int_equal (id, 42);
    Secpol__V1__Policy *policy = secpol__v1__policy__unpack (NULL, size, body);
    assert_non_null (policy);
    assert_string_equal (policy->updated_by, "prepared:ws-9");
    secpol__v1__policy__free_unpacked (policy, NULL);
    zsock_destroy (&dealer);
    secpol_store_t *store = NULL;
    s_stop_server (&store);
    secpol_txn_t *txn = NULL;
    secpol_val_t value;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    assert_int_equal (secpol_get (txn, &s_lanes_table, "slow", 4, &value), 0);
    assert_int_equal (value.size, strlen ("prepared:ws-9"));
    assert_memory_equal (value.data, "prepared:ws-9", value.size);
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

static void
test_stop_drains_in_flight_requests (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    s_gate_close ();
    s_send (dealer, "/secpol.v1.Health/Check", 7, 0, NULL);
    s_gate_wait_arrival (); /* the request is running */
    s_stop = 1;             /* as SIGTERM would */
    /* the server is draining once it refuses a new request */
    s_send (dealer, "/secpol.v1.Health/Check", 8, 0, NULL);
    uint64_t id;
    assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_UNAVAILABLE);
    assert_int_equal (id, 8);
    /* the running one, let go now, is still answered */
    s_gate_open ();
    assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_OK);
    assert_int_equal (id, 7);
    zsock_destroy (&dealer);
    s_stop_server (NULL);
    s_cleanup ();
}

/*  A stop whose drain ends while the writer runs a batch it took: the job
 *  running finishes and is committed, the jobs of the batch not started yet
 *  are answered UNAVAILABLE ("did not run") and are not written, so every
 *  request is answered and none after the drain runs. */
static void
test_drain_end_cancels_the_rest_of_a_batch (void **state)
{
    (void)state;
    s_drain_ms = 1;
    s_start (0);
    s_drain_ms = 0;
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    /* write 1 holds the writer at the gate while 2..n queue; once it is let
     * through, the writer takes 2..n as one batch and write 2 stops there */
    const int n = 20;
    s_queue_writes_behind_one (dealer, n);
    s_gate_let_one ();
    uint64_t id;
    assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_OK);
    assert_int_equal (id, 1);
    s_gate_wait_arrivals (2);             /* write 2 runs, in a batch of all the rest */
    s_wait_queued (SECPOL_LANE_WRITE, 0); /* the writer took them all */
    s_stop = 1;                           /* as SIGTERM would; the drain lasts 1 ms */
    /* the server is draining once it refuses a new request */
    s_send (dealer, "/secpol.v1.Health/Check", 100, 0, NULL);
    assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_UNAVAILABLE);
    assert_int_equal (id, 100);
    long long drain_over = secpol_test_now_ms () + 1 + 1;
    while (secpol_test_now_ms () <= drain_over) {
        struct timespec pause = {0, 1000 * 1000}; /* until the 1 ms drain has ended */
        nanosleep (&pause, NULL);
    }
    s_gate_open ();
    bool answered[21] = {false};
    for (int i = 2; i <= n; i++) {
        int code = s_recv (dealer, &id, NULL, NULL);
        assert_true (id >= 2 && id <= (uint64_t)n && !answered[id]);
        answered[id] = true;
        assert_int_equal (code, id == 2 ? SECPOL_OK : SECPOL_UNAVAILABLE);
    }
    zsock_destroy (&dealer);
    secpol_store_t *store = NULL;
    s_stop_server (&store);
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    for (int i = 1; i <= n; i++) {
        char key[32];
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (secpol_get (txn, &s_lanes_table, key, strlen (key), NULL),
                          i <= 2 ? 0 : SECPOL_ENOTFOUND);
    }
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

static void
test_overload_is_refused_not_queued (void **state)
{
    (void)state;
    s_max_queued = 2;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    /* one READ worker busy with call 1; two wait; the rest are refused */
    s_gate_close ();
    s_send (dealer, "/secpol.v1.Health/Check", 1, 0, NULL);
    s_gate_wait_arrival (); /* call 1 is running: the queue is empty again */
    for (uint64_t id = 2; id <= 6; id++)
        s_send (dealer, "/secpol.v1.Health/Check", id, 0, NULL);
    /* the three over the bound are refused at once, while call 1 still
     * holds the worker */
    for (uint64_t want = 4; want <= 6; want++) {
        uint64_t id;
        assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_UNAVAILABLE);
        assert_int_equal (id, want);
    }
    /* the running one and the two queued are served */
    s_gate_open ();
    bool served[4] = {false};
    for (int i = 0; i < 3; i++) {
        uint64_t id;
        assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_OK);
        assert_true (id >= 1 && id <= 3 && !served[id]);
        served[id] = true;
    }
    zsock_destroy (&dealer);
    s_stop_server (NULL);
    s_cleanup ();
    s_max_queued = 0;
}

static void
test_method_table_refuses_unknown_and_duplicate_methods (void **state)
{
    (void)state;
    const secpol_method_spec_t unknown[] = {
        {.method = "NoSuchMethod", .lane = SECPOL_LANE_READ, .handler = &s_check},
    };
    const secpol_service_t bad = {"bad", &secpol__v1__health__descriptor, unknown, 1, NULL, 0};
    const secpol_service_t *const unknown_method[] = {&bad};
    assert_null (secpol_method_table_new (unknown_method, 1));
    const secpol_service_t *const twice[] = {&s_read_service, &s_read_service};
    assert_null (secpol_method_table_new (twice, 2));
    /* a handler bound to a method of other message types */
    const secpol_method_spec_t mistyped[] = {
        {.method = "Check", .lane = SECPOL_LANE_READ, .handler = &s_write},
    };
    const secpol_service_t wrong = {"wrong", &secpol__v1__health__descriptor, mistyped, 1, NULL, 0};
    const secpol_service_t *const wrong_types[] = {&wrong};
    assert_null (secpol_method_table_new (wrong_types, 1));
    /* two services owning one table name */
    static const secpol_table_t same_name = {"lanes"};
    static const secpol_table_t *const clash_tables[] = {&same_name};
    const secpol_service_t clash = {
        "clash", &secpol__v1__health__descriptor, s_read_methods, 1, clash_tables, 1};
    const secpol_service_t *const clashing[] = {&s_write_service, &clash};
    assert_null (secpol_method_table_new (clashing, 2));

    /* the real table: every method of every .proto is listed, sorted,
     * and Health/Check resolves with its generated types */
    secpol_method_table_t *table = secpol_method_table_default ();
    assert_non_null (table);
    /* every method of every secpol.v1 service is implemented: a service
     * whose line is missing from src/services.def fails here */
    for (size_t i = 0; i < secpol_method_table_size (table); i++) {
        const secpol_method_t *method = secpol_method_table_at (table, i);
        if (!method->spec)
            fail_msg ("%s is declared in proto/ but no service in src/services.def implements it",
                      method->path);
    }
    const secpol_method_t *check = secpol_method_table_find (table, "/secpol.v1.Health/Check");
    assert_non_null (check);
    assert_non_null (check->spec);
    assert_ptr_equal (check->descriptor->input, &secpol__v1__health_check_request__descriptor);
    assert_ptr_equal (check->descriptor->output, &secpol__v1__health_check_response__descriptor);
    assert_null (secpol_method_table_find (table, "/secpol.v1.Health/check"));
    assert_null (secpol_method_table_find (table, ""));
    for (size_t i = 1; i < secpol_method_table_size (table); i++)
        assert_true (strcmp (secpol_method_table_at (table, i - 1)->path,
                             secpol_method_table_at (table, i)->path) < 0);
    const secpol_method_t *set_offset =
        secpol_method_table_find (table, "/secpol.v1.TestClockService/SetOffset");
    assert_non_null (set_offset);
    assert_true (set_offset->spec->flags & SECPOL_METHOD_TEST_CLOCK);
    secpol_method_table_destroy (&table);
    assert_null (table);
}

static void
test_read_handler_goes_on_to_the_write_lane (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    Secpol__V1__ListPolicyRevisionsRequest request =
        SECPOL__V1__LIST_POLICY_REVISIONS_REQUEST__INIT;
    s_send (dealer, "/secpol.v1.PolicyService/ListPolicyRevisions", 1, 0, &request.base);
    uint8_t body[256];
    size_t size = 0;
    uint64_t id;
    assert_int_equal (s_recv (dealer, &id, body, &size), SECPOL_OK);
    assert_int_equal (id, 1);
    Secpol__V1__ListPolicyRevisionsResponse *response =
        secpol__v1__list_policy_revisions_response__unpack (NULL, size, body);
    assert_non_null (response);
    assert_string_equal (response->next_page_token, "written on the WRITE lane");
    secpol__v1__list_policy_revisions_response__free_unpacked (response, NULL);
    zsock_destroy (&dealer);
    secpol_store_t *store = NULL;
    s_stop_server (&store);
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    secpol_val_t value;
    assert_int_equal (secpol_get (txn, &s_lanes_table, "escalated", 9, &value), 0);
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

/*  Counts the expiring records through the READ lane. */
static int
s_count (zsock_t *dealer, uint64_t call_id)
{
    Secpol__V1__RenderSecurityHeadersRequest request =
        SECPOL__V1__RENDER_SECURITY_HEADERS_REQUEST__INIT;
    s_send (dealer, "/secpol.v1.PolicyService/RenderSecurityHeaders", call_id, 0, &request.base);
    uint8_t body[256];
    size_t size = 0;
    uint64_t id;
    assert_int_equal (s_recv (dealer, &id, body, &size), SECPOL_OK);
    Secpol__V1__RenderSecurityHeadersResponse *response =
        secpol__v1__render_security_headers_response__unpack (NULL, size, body);
    assert_non_null (response);
    assert_int_equal (response->n_warnings, 1);
    int count = atoi (response->warnings[0]);
    secpol__v1__render_security_headers_response__free_unpacked (response, NULL);
    return count;
}

static void
test_writer_sweeps_expired_records (void **state)
{
    (void)state;
    s_start (0);
    zsock_t *dealer = zsock_new_dealer (s_endpoint);
    Secpol__V1__DeletePolicyRequest request = SECPOL__V1__DELETE_POLICY_REQUEST__INIT;
    s_send (dealer, "/secpol.v1.PolicyService/DeletePolicy", 1, 0, &request.base);
    uint64_t id;
    assert_int_equal (s_recv (dealer, &id, NULL, NULL), SECPOL_OK);
    assert_int_equal (s_count (dealer, 2), 1000);
    /* Not yet expired: a sweep leaves them. Then a minute passes. */
    secpol_server_set_clock_offset (s_server, 60);
    int64_t deadline = zclock_mono () + 30000;
    int left;
    uint64_t call = 3;
    while ((left = s_count (dealer, call++)) > 0) {
        assert_true (zclock_mono () < deadline); /* the writer sweeps once a second */
        zclock_sleep (100);
    }
    assert_int_equal (left, 0);
    zsock_destroy (&dealer);
    secpol_store_t *store = NULL;
    s_stop_server (&store);
    /* the index is empty too */
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    secpol_cursor_t *cursor = NULL;
    assert_int_equal (secpol_cursor_open (txn, &secpol_expiry_table, &cursor), 0);
    assert_int_equal (secpol_cursor_seek (cursor, NULL, 0, NULL, NULL), SECPOL_ENOTFOUND);
    secpol_cursor_close (&cursor);
    secpol_txn_abort (&txn);
    secpol_store_close (&store);
    s_cleanup ();
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_deadline_spent_in_queue, s_gate_teardown),
        cmocka_unit_test_teardown (test_group_commit_rolls_back_failures_alone, s_gate_teardown),
        cmocka_unit_test_teardown (test_writer_takes_every_waiting_write, s_gate_teardown),
        cmocka_unit_test_teardown (test_max_batch_caps_a_commit, s_gate_teardown),
        cmocka_unit_test (test_write_lane_grows_full_map),
        cmocka_unit_test (test_slow_lane_hands_its_write_to_the_writer),
        cmocka_unit_test_teardown (test_stop_drains_in_flight_requests, s_gate_teardown),
        cmocka_unit_test_teardown (test_overload_is_refused_not_queued, s_gate_teardown),
        cmocka_unit_test_teardown (test_drain_end_cancels_the_rest_of_a_batch, s_gate_teardown),
        cmocka_unit_test (test_method_table_refuses_unknown_and_duplicate_methods),
        cmocka_unit_test (test_read_handler_goes_on_to_the_write_lane),
        cmocka_unit_test (test_writer_sweeps_expired_records),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
