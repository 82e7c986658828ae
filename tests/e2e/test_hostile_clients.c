/*  test_hostile_clients.c - a real secpold against clients that abuse it
 *  (issue 6 §3, §4): each case was reproduced against the old daemon.
 *
 *    - a client that sends requests and never reads replies holds a
 *      bounded amount of the daemon's memory, is refused
 *      RESOURCE_EXHAUSTED, and others are served meanwhile;
 *    - 200 connections against a 128-descriptor limit (ipc and tcp): the
 *      daemon neither dies nor spins, and serves again once they close;
 *    - 256 READ workers each holding a read transaction: no
 *      MDB_READERS_FULL;
 *    - SIGTERM right after 2,000 pipelined writes: every write is answered
 *      (OK or UNAVAILABLE), every OK write is stored, no other is.
 *
 *  Bounds are generous and counted, never timed tightly.
 */
#include "daemon.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

extern char **environ;

/* --- raw client helpers ----------------------------------------------------- */

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert_non_null (dealer);
    zsock_set_sndtimeo (dealer, 10000);
    zsock_set_rcvhwm (dealer, 100000);
    zsock_set_sndhwm (dealer, 100000);
    zsock_set_linger (dealer, 0);
    assert_int_equal (zsock_connect (dealer, "%s", endpoint), 0);
    return dealer;
}

/*  Sends one request: empty delimiter, header, packed message. */
static void
s_send (zsock_t *dealer, const char *method, uint64_t call_id, const ProtobufCMessage *message)
{
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = (char *)method;
    header.call_id = call_id;
    uint8_t head[256];
    size_t head_size = secpol__v1__request_header__pack (&header, head);
    size_t size = protobuf_c_message_get_packed_size (message);
    uint8_t *body = malloc (size ? size : 1);
    protobuf_c_message_pack (message, body);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "", 0);
    zmsg_addmem (msg, head, head_size);
    zmsg_addmem (msg, body, size);
    free (body);
    assert_int_equal (zmsg_send (&msg, dealer), 0);
}

/*  Receives one reply within timeout_ms: returns false on timeout, else
 *  sets *call_id, *code and copies the message into message. */
static bool
s_recv (zsock_t *dealer, int timeout_ms, uint64_t *call_id, int *code, char *message,
        size_t message_size)
{
    zsock_set_rcvtimeo (dealer, timeout_ms);
    zmsg_t *msg = zmsg_recv (dealer);
    if (!msg)
        return false;
    assert_int_equal (zmsg_size (msg), 3);
    zframe_t *frame = zmsg_first (msg);
    frame = zmsg_next (msg);
    Secpol__V1__ResponseHeader *header =
        secpol__v1__response_header__unpack (NULL, zframe_size (frame), zframe_data (frame));
    assert_non_null (header);
    *call_id = header->call_id;
    *code = header->code;
    if (message)
        snprintf (message, message_size, "%s", header->message ? header->message : "");
    secpol__v1__response_header__free_unpacked (header, NULL);
    zmsg_destroy (&msg);
    return true;
}

/*  Health/Check on a fresh connection; true when it answers OK in time. */
static bool
s_health_ok (const char *endpoint, int timeout_ms)
{
    zsock_t *dealer = s_dealer (endpoint);
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    s_send (dealer, "/secpol.v1.Health/Check", 7, &request.base);
    uint64_t call_id;
    int code = -1;
    bool ok = s_recv (dealer, timeout_ms, &call_id, &code, NULL, 0) && code == SECPOL_OK;
    zsock_destroy (&dealer);
    return ok;
}

/*  A /proc/<pid>/status field in kB ("VmHWM", "VmRSS"). */
static long
s_status_kb (pid_t pid, const char *field)
{
    long kb = secpol_test_proc_status_kb (pid, field);
    assert_true (kb > 0);
    return kb;
}

/*  CPU seconds (user + system) the process has used. */
static double
s_cpu_seconds (pid_t pid)
{
    char path[64], buf[1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    size_t n = fread (buf, 1, sizeof buf - 1, file);
    fclose (file);
    buf[n] = '\0';
    char *p = strrchr (buf, ')'); /* fields after the command name */
    assert_non_null (p);
    unsigned long utime = 0, stime = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    assert_int_equal (
        sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
    return (double)(utime + stime) / (double)sysconf (_SC_CLK_TCK);
}

static bool
s_file_contains (const char *path, const char *needle)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets (line, sizeof line, file))
        found = strstr (line, needle) != NULL;
    fclose (file);
    return found;
}

/*  The replies secpold has made for method, whatever their code (its
 *  secpol_requests_total, counted where every reply is handed out or
 *  dropped), from /metrics at the port its log names. */
static long long
s_replies_counted (const secpol_test_daemon_t *daemon, const char *method)
{
    FILE *log = fopen (daemon->log_path, "r");
    assert_non_null (log);
    char line[4096];
    int port = 0;
    while (!port && fgets (line, sizeof line, log)) {
        const char *at = strstr (line, "msg=\"metrics listening\" address=127.0.0.1:");
        if (at)
            port = atoi (strchr (at, ':') + 1);
    }
    fclose (log);
    assert_true (port > 0);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t)port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (connect (fd, (struct sockaddr *)&address, sizeof address), 0);
    static const char request[] = "GET /metrics HTTP/1.0\r\n\r\n";
    assert_int_equal (write (fd, request, sizeof request - 1), (ssize_t)sizeof request - 1);
    FILE *page = fdopen (fd, "r");
    assert_non_null (page);
    char prefix[256];
    snprintf (prefix, sizeof prefix, "secpol_requests_total{method=\"%s\",", method);
    long long total = 0;
    while (fgets (line, sizeof line, page))
        if (strncmp (line, prefix, strlen (prefix)) == 0)
            total += atoll (strrchr (line, ' ') + 1);
    fclose (page);
    return total;
}

/* --- a client that never reads ---------------------------------------------- */

/*  1 MiB per client instead of 16: the replies it holds then fill less than
 *  libzmq's queue to it (2 x --max-client-requests messages, at least 1024),
 *  so the refusals that follow reach it
 *  too and the test can read them. */
static int
s_setup_small_client_share (void **state)
{
    static const char *const args[] = {"--max-client-mb", "1", "--metrics-listen", "127.0.0.1:0",
                                       NULL};
    return secpol_test_daemon_setup_with (state, args);
}

static void
test_client_that_never_reads_is_bounded (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    /* A workspace whose policy is about 4 KiB on the wire (within the header cap). */
    char csp[4000];
    memset (csp, 'a', sizeof csp - 1);
    memcpy (csp, "default-src ", 12);
    csp[sizeof csp - 1] = '\0';
    zsock_t *setup = s_dealer (daemon->endpoint);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.content_security_policy = csp;
    char *mask[] = {"content_security_policy"};
    Secpol__V1__UpdatePolicyRequest update = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    update.workspace_id = "big";
    update.policy = &policy;
    update.n_update_mask = 1;
    update.update_mask = mask;
    s_send (setup, "/secpol.v1.PolicyService/UpdatePolicy", 1, &update.base);
    uint64_t call_id;
    int code = -1;
    char message[512];
    assert_true (s_recv (setup, 10000, &call_id, &code, message, sizeof message));
    if (code != SECPOL_OK)
        fail_msg ("UpdatePolicy answered %d: %s", code, message);
    zsock_destroy (&setup);
    assert_true (s_health_ok (daemon->endpoint, 10000));
    long before_kb = s_status_kb (daemon->pid, "VmHWM");

    /* 20,000 GetPolicy of ~4 KiB each is ~80 MiB of replies: the old
     * daemon queued them all for this peer. */
    zsock_t *hog = s_dealer (daemon->endpoint);
    zsock_set_rcvhwm (hog, 1000); /* libzmq's default: it stops reading, as the app does */
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    get.workspace_id = "big";
    const int sent = 20000;
    for (int i = 0; i < sent; i++)
        s_send (hog, "/secpol.v1.PolicyService/GetPolicy", (uint64_t)i + 1, &get.base);
    /* Others are served meanwhile. */
    assert_true (s_health_ok (daemon->endpoint, 20000));
    /* Wait until the hog's requests are all handled: secpold has made a
     * reply (sent, dropped or a refusal) for every one. */
    int64_t deadline = zclock_mono () + SECPOL_TEST_DEADLINE_MS;
    long long handled;
    while ((handled = s_replies_counted (daemon, "/secpol.v1.PolicyService/GetPolicy")) < sent) {
        if (zclock_mono () > deadline)
            fail_msg ("%lld of the hog's %d requests handled after %d ms", handled, sent,
                      SECPOL_TEST_DEADLINE_MS);
        zclock_sleep (50); /* polls the condition; the deadline bounds it */
    }
    assert_int_equal (handled, sent);
    long after_kb = s_status_kb (daemon->pid, "VmHWM");
    long growth_mib = (after_kb - before_kb) / 1024;
    print_message ("daemon peak RSS grew %ld MiB for a client holding %d unread replies\n",
                   growth_mib, sent);
    assert_true (growth_mib < 96); /* 1 MiB for the client, plus libzmq's queues */

    /* What the hog finds when it finally reads: some answers, then refusals
     * naming the reason. */
    int ok = 0, exhausted = 0, other = 0;
    bool named = false;
    char first_refusal[512] = "";
    while (s_recv (hog, 2000, &call_id, &code, message, sizeof message)) {
        if (code == SECPOL_OK)
            ok++;
        else if (code == SECPOL_RESOURCE_EXHAUSTED) {
            if (!exhausted++)
                snprintf (first_refusal, sizeof first_refusal, "%s", message);
            named = named || strstr (message, "this client") != NULL;
        } else
            other++;
    }
    print_message ("hog read %d OK, %d RESOURCE_EXHAUSTED (\"%s\"), %d other of %d\n", ok,
                   exhausted, first_refusal, other, sent);
    assert_true (exhausted > 0);
    assert_true (named);
    assert_int_equal (other, 0);
    assert_true (ok < sent / 2);
    zsock_destroy (&hog);
    assert_true (s_health_ok (daemon->endpoint, 10000));
}

/* --- descriptor exhaustion ---------------------------------------------------- */

typedef struct {
    pid_t pid;
    char dir[64];
    char log[128];
} limited_t;

/*  Starts secpold under a 128-descriptor limit (soft and hard) on endpoint
 *  and waits until it answers. */
static void
s_start_limited (limited_t *self, const char *endpoint)
{
    if (!self->dir[0]) {
        snprintf (self->dir, sizeof self->dir, "/tmp/secpol-fds-XXXXXX");
        assert_non_null (mkdtemp (self->dir));
    }
    snprintf (self->log, sizeof self->log, "%s/secpold.log", self->dir);
    char data[128];
    snprintf (data, sizeof data, "%s/data", self->dir);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_addopen (&actions, 2, self->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *argv[] = {"prlimit",    "--nofile=128:128",
                    "--",         SECPOLD_PATH,
                    "--endpoint", (char *)endpoint,
                    "--data-dir", data,
                    "--workers",  "2",
                    NULL};
    assert_int_equal (posix_spawnp (&self->pid, "prlimit", &actions, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy (&actions);
    int64_t deadline = zclock_mono () + 10000;
    while (!s_health_ok (endpoint, 200))
        assert_true (zclock_mono () < deadline);
}

/*  Stops the daemon (it must exit 0) and removes its dir; runs as the
 *  teardown, so also after a failed assertion. Returns -1 when the daemon
 *  did not exit cleanly. */
static int
s_stop_limited (limited_t *self)
{
    int rc = 0;
    if (self->pid > 0) {
        if (secpol_test_process_stopped (self->pid))
            kill (self->pid, SIGCONT);
        kill (self->pid, SIGTERM);
        int status = 0;
        if (waitpid (self->pid, &status, 0) != self->pid || !WIFEXITED (status) ||
            WEXITSTATUS (status) != 0) {
            fprintf (stderr, "secpold under prlimit did not exit cleanly (status %d); its log:\n",
                     status);
            char command[200];
            snprintf (command, sizeof command, "tail -20 %s >&2", self->log);
            if (system (command) != 0)
                fprintf (stderr, "(no log)\n");
            rc = -1;
        }
        self->pid = 0;
    }
    if (self->dir[0]) {
        char command[160];
        snprintf (command, sizeof command, "rm -rf %s", self->dir);
        if (system (command) != 0)
            rc = -1;
    }
    return rc;
}

static int
s_teardown_limited (void **state)
{
    limited_t *self = *state;
    int rc = s_stop_limited (self);
    free (self);
    return rc;
}

static int
s_setup_limited (void **state)
{
    *state = calloc (1, sizeof (limited_t));
    return *state ? 0 : -1;
}

static void
s_flood_connections (limited_t *limited, const char *endpoint, bool check_cpu)
{
    s_start_limited (limited, endpoint);
    enum { ATTACKERS = 200 };
    zsock_t *attackers[ATTACKERS];
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    for (int i = 0; i < ATTACKERS; i++) {
        attackers[i] = s_dealer (endpoint);
        zsock_set_sndtimeo (attackers[i], 0);
        zsock_set_sndhwm (attackers[i], 1);
        s_send (attackers[i], "/secpol.v1.Health/Check", 1, &request.base);
    }
    /* The daemon sheds what it cannot hold: wait until it says so. */
    int64_t deadline = zclock_mono () + 20000;
    while (!s_file_contains (limited->log, "connection limit reached")) {
        assert_true (zclock_mono () < deadline);
        assert_int_equal (waitpid (limited->pid, NULL, WNOHANG), 0); /* still alive */
        zclock_sleep (20);
    }
    if (check_cpu) {
        /* libzmq spun a core when accept() failed for want of descriptors */
        double before = s_cpu_seconds (limited->pid);
        zclock_sleep (2000);
        double used = s_cpu_seconds (limited->pid) - before;
        print_message ("daemon used %.2f s of CPU in 2 s under the flood\n", used);
        assert_true (used < 1.6);
    }
    assert_int_equal (waitpid (limited->pid, NULL, WNOHANG), 0);
    for (int i = 0; i < ATTACKERS; i++)
        zsock_destroy (&attackers[i]);
    /* Once they are gone, it serves again. */
    deadline = zclock_mono () + 20000;
    while (!s_health_ok (endpoint, 500))
        assert_true (zclock_mono () < deadline);
}

static void
test_descriptor_exhaustion_ipc (void **state)
{
    limited_t *limited = *state;
    /* the socket lives in the daemon's dir, removed by the teardown */
    snprintf (limited->dir, sizeof limited->dir, "/tmp/secpol-fds-XXXXXX");
    assert_non_null (mkdtemp (limited->dir));
    char endpoint[128];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/s.sock", limited->dir);
    s_flood_connections (limited, endpoint, false);
}

static void
test_descriptor_exhaustion_tcp (void **state)
{
    limited_t *limited = *state;
    /* A port that is free now: bind, read it back, release. */
    zsock_t *probe = zsock_new (ZMQ_ROUTER);
    int port = zsock_bind (probe, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    zsock_destroy (&probe);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    s_flood_connections (limited, endpoint, true);
}

/* --- reader slots ---------------------------------------------------------- */

static void
test_many_read_workers_have_reader_slots (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    /* 256 READ threads each keep a read transaction (and its LMDB reader
     * slot): the old store had 126 slots. */
    enum { CLIENTS = 8, CALLS = 1000 };
    zsock_t *clients[CLIENTS];
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    get.workspace_id = "w";
    for (int c = 0; c < CLIENTS; c++) {
        clients[c] = s_dealer (daemon->endpoint);
        for (int i = 0; i < CALLS; i++)
            s_send (clients[c], "/secpol.v1.PolicyService/GetPolicy", (uint64_t)i + 1, &get.base);
    }
    int ok = 0;
    for (int c = 0; c < CLIENTS; c++) {
        for (int i = 0; i < CALLS; i++) {
            uint64_t call_id;
            int code = -1;
            char message[512];
            assert_true (s_recv (clients[c], 30000, &call_id, &code, message, sizeof message));
            if (code != SECPOL_OK)
                fail_msg ("GetPolicy answered %d: %s", code, message);
            ok++;
        }
        zsock_destroy (&clients[c]);
    }
    assert_int_equal (ok, CLIENTS * CALLS);
}

static int
s_setup_many_workers (void **state)
{
    static const char *const args[] = {"--workers", "256", NULL};
    return secpol_test_daemon_setup_with (state, args);
}

/* --- shutdown ---------------------------------------------------------------- */

static void
test_shutdown_answers_every_write (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    enum { CLIENTS = 2, WRITES = 1000 };
    zsock_t *clients[CLIENTS];
    char *mask[] = {"session_timeout_minutes"};
    for (int c = 0; c < CLIENTS; c++) {
        clients[c] = s_dealer (daemon->endpoint);
        for (int i = 0; i < WRITES; i++) {
            char workspace[32];
            snprintf (workspace, sizeof workspace, "w%d-%d", c, i);
            Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
            policy.session_timeout_minutes = 30 + (uint32_t)(i % 100);
            Secpol__V1__UpdatePolicyRequest update = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
            update.workspace_id = workspace;
            update.policy = &policy;
            update.n_update_mask = 1;
            update.update_mask = mask;
            s_send (clients[c], "/secpol.v1.PolicyService/UpdatePolicy", (uint64_t)i + 1,
                    &update.base);
        }
    }
    int codes[CLIENTS][WRITES];
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < WRITES; i++)
            codes[c][i] = -1;
    /* SIGTERM once the daemon is working through them. */
    uint64_t first_id;
    int first_code = -1;
    assert_true (s_recv (clients[0], 30000, &first_id, &first_code, NULL, 0));
    assert_int_equal (first_code, SECPOL_OK);
    codes[0][first_id - 1] = first_code;
    assert_int_equal (kill (daemon->pid, SIGTERM), 0);

    /* Every write gets an answer: committed (OK) or not run (UNAVAILABLE). */
    int answered = 1, committed = 1;
    for (int c = 0; c < CLIENTS; c++) {
        for (int i = c == 0 ? 1 : 0; i < WRITES; i++) {
            uint64_t call_id;
            int code = -1;
            char message[512];
            if (!s_recv (clients[c], 30000, &call_id, &code, message, sizeof message))
                fail_msg ("client %d: only %d of %d writes answered", c, i, WRITES);
            assert_true (call_id >= 1 && call_id <= WRITES);
            assert_int_equal (codes[c][call_id - 1], -1); /* one answer per call */
            if (code != SECPOL_OK && code != SECPOL_UNAVAILABLE)
                fail_msg ("write answered %d: %s", code, message);
            codes[c][call_id - 1] = code;
            answered++;
            committed += code == SECPOL_OK;
        }
        zsock_destroy (&clients[c]);
    }
    print_message ("%d writes answered, %d committed\n", answered, committed);
    assert_int_equal (answered, CLIENTS * WRITES);
    /* the one SIGTERM ends it once drained */
    assert_int_equal (secpol_test_daemon_wait (daemon), 0);
    assert_true (s_file_contains (daemon->log_path, "unanswered=0"));

    /* What was acknowledged is stored; what was refused is not. */
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    zsock_t *reader = s_dealer (daemon->endpoint);
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < WRITES; i++) {
            char workspace[32];
            snprintf (workspace, sizeof workspace, "w%d-%d", c, i);
            Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
            get.workspace_id = workspace;
            s_send (reader, "/secpol.v1.PolicyService/GetPolicy", 1, &get.base);
            zsock_set_rcvtimeo (reader, 10000);
            zmsg_t *msg = zmsg_recv (reader);
            assert_non_null (msg);
            zframe_t *body = zmsg_last (msg);
            Secpol__V1__Policy *policy =
                secpol__v1__policy__unpack (NULL, zframe_size (body), zframe_data (body));
            assert_non_null (policy);
            if (codes[c][i] == SECPOL_OK) {
                assert_int_equal (policy->version, 1);
                assert_int_equal (policy->session_timeout_minutes, 30 + i % 100);
            } else
                assert_int_equal (policy->version, 0);
            secpol__v1__policy__free_unpacked (policy, NULL);
            zmsg_destroy (&msg);
        }
    zsock_destroy (&reader);
}

int
main (void)
{
    /* Under AddressSanitizer freed memory waits in a quarantine (256 MiB)
     * and would count as held: keep it small so the daemon's RSS shows
     * what it really holds. No effect on an ordinary build. */
    const char *asan = getenv ("ASAN_OPTIONS");
    char options[512];
    snprintf (options, sizeof options,
              "%s%squarantine_size_mb=4:thread_local_quarantine_size_kb=64", asan ? asan : "",
              asan && *asan ? ":" : "");
    setenv ("ASAN_OPTIONS", options, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_client_that_never_reads_is_bounded,
                                         s_setup_small_client_share, secpol_test_daemon_teardown),
        cmocka_unit_test_setup_teardown (test_descriptor_exhaustion_ipc, s_setup_limited,
                                         s_teardown_limited),
        cmocka_unit_test_setup_teardown (test_descriptor_exhaustion_tcp, s_setup_limited,
                                         s_teardown_limited),
        cmocka_unit_test_setup_teardown (test_many_read_workers_have_reader_slots,
                                         s_setup_many_workers, secpol_test_daemon_teardown),
        SECPOL_TEST_WITH_DAEMON (test_shutdown_answers_every_write),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
