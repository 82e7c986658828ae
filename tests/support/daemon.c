/*  daemon.c - start and stop a real secpold for tests; see daemon.h. */
#define _GNU_SOURCE /* memmem */
#include "daemon.h"
#include "pg.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <czmq.h>
#include <errno.h>
#include <libpq-fe.h>
#include <lmdb.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

/*  One Health/Check probe waits this long for its answer. */
#define S_PROBE_MS 200

static int s_spawn (secpol_test_daemon_t *self, const char *const *extra_args);
static bool s_health (const secpol_test_daemon_t *self, int timeout_ms);
static bool s_clean (int status);
static void s_report (const secpol_test_daemon_t *self, const char *what);

int
secpol_test_daemon_start (secpol_test_daemon_t *self, const char *const *extra_args)
{
    memset (self, 0, sizeof *self);
    if (secpol_test_dir_make (self->dir, sizeof self->dir, "test") != 0)
        return -1;
    snprintf (self->data_dir, sizeof self->data_dir, "%s/data", self->dir);
    snprintf (self->endpoint, sizeof self->endpoint, "ipc://%s/secpol.sock", self->dir);
    snprintf (self->log_path, sizeof self->log_path, "%s/secpold.log", self->dir);
    if (secpol_test_pg_wanted () && secpol_test_pg_schema_new (self->schema, sizeof self->schema,
                                                               self->store, sizeof self->store)) {
        secpol_test_dir_remove (self->dir);
        return -1;
    }
    if (s_spawn (self, extra_args) == 0)
        return 0;
    secpol_test_dir_remove (self->dir);
    secpol_test_pg_schema_drop (self->schema);
    return -1;
}

int
secpol_test_daemon_start_beside (secpol_test_daemon_t *self, const secpol_test_daemon_t *first,
                                 const char *const *extra_args)
{
    memset (self, 0, sizeof *self);
    if (!first->store[0]) {
        fprintf (stderr, "start_beside: the first daemon is not on PostgreSQL\n");
        return -1;
    }
    if (secpol_test_dir_make (self->dir, sizeof self->dir, "test") != 0)
        return -1;
    snprintf (self->data_dir, sizeof self->data_dir, "%s/data", self->dir);
    snprintf (self->endpoint, sizeof self->endpoint, "ipc://%s/secpol.sock", self->dir);
    snprintf (self->log_path, sizeof self->log_path, "%s/secpold.log", self->dir);
    snprintf (self->store, sizeof self->store, "%s", first->store);
    char from[400], to[400];
    snprintf (from, sizeof from, "%s/secret.key", first->data_dir);
    snprintf (to, sizeof to, "%s/secret.key", self->data_dir);
    bool copied = false;
    FILE *in = fopen (from, "rb");
    if (in && mkdir (self->data_dir, 0700) == 0) {
        int fd = open (to, O_WRONLY | O_CREAT | O_EXCL, 0600);
        FILE *out = fd >= 0 ? fdopen (fd, "wb") : NULL;
        char buf[256];
        size_t n;
        copied = out != NULL;
        while (out && (n = fread (buf, 1, sizeof buf, in)) > 0)
            copied = copied && fwrite (buf, 1, n, out) == n;
        if (out)
            copied = fclose (out) == 0 && copied;
        else if (fd >= 0)
            close (fd);
    }
    if (in)
        fclose (in);
    if (copied && s_spawn (self, extra_args) == 0)
        return 0;
    if (!copied)
        fprintf (stderr, "start_beside: cannot copy %s: %s\n", from, strerror (errno));
    secpol_test_dir_remove (self->dir);
    return -1;
}

int
secpol_test_daemon_restart (secpol_test_daemon_t *self, const char *const *extra_args)
{
    if (self->pid && !s_clean (secpol_test_daemon_kill (self, SIGTERM))) {
        s_report (self, "did not stop cleanly before a restart");
        return -1;
    }
    return s_spawn (self, extra_args);
}

int
secpol_test_daemon_kill (secpol_test_daemon_t *self, int signal)
{
    if (!self->pid)
        return self->exit_status;
    /* a stopped process acts on its signals only once continued; a running
     * one gets no SIGCONT (secpol_test_process_stopped says why) */
    if (signal != SIGKILL && secpol_test_process_stopped (self->pid))
        kill (self->pid, SIGCONT);
    kill (self->pid, signal);
    return secpol_test_daemon_wait (self);
}

int
secpol_test_daemon_wait (secpol_test_daemon_t *self)
{
    if (!self->pid)
        return self->exit_status;
    int status = 0;
    if (!secpol_test_wait_exit (self->pid, SECPOL_TEST_DEADLINE_MS, &status)) {
        fprintf (stderr, "secpold (pid %d) still runs after %d ms: SIGKILL\n", (int)self->pid,
                 SECPOL_TEST_DEADLINE_MS);
        kill (self->pid, SIGKILL);
        while (waitpid (self->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    self->pid = 0;
    self->exit_status = status;
    return status;
}

void
secpol_test_daemon_stop (secpol_test_daemon_t *self)
{
    bool was_running = self->pid != 0;
    int status = secpol_test_daemon_kill (self, SIGTERM);
    if (was_running && !s_clean (status)) {
        /* A crash, a hang, a sanitizer report or a leak at exit: fail the
         * run loudly rather than let a test pass over a broken daemon. */
        s_report (self, "did not stop cleanly");
        fprintf (stderr, "its dir is kept: %s\n", self->dir);
        abort ();
    }
    secpol_test_dir_remove (self->dir);
    secpol_test_pg_schema_drop (self->schema);
}

int
secpol_test_daemon_setup (void **state)
{
    return secpol_test_daemon_setup_with (state, NULL);
}

int
secpol_test_daemon_setup_with (void **state, const char *const *extra_args)
{
    secpol_test_daemon_t *self = calloc (1, sizeof *self);
    if (!self || secpol_test_daemon_start (self, extra_args) != 0) {
        free (self);
        *state = NULL;
        return -1;
    }
    *state = self;
    return 0;
}

int
secpol_test_daemon_teardown (void **state)
{
    secpol_test_daemon_t *self = *state;
    if (self) {
        secpol_test_daemon_stop (self);
        free (self);
        *state = NULL;
    }
    return 0;
}

secpol_client_t *
secpol_test_client (const secpol_test_daemon_t *self)
{
    secpol_client_t *client = secpol_client_new (self->endpoint, 10000);
    if (!client)
        fail_msg ("no client: secpold at %s does not answer", self->endpoint);
    return client;
}

int
secpol_test_token_call (secpol_client_t *client, const char *path, const char *token, int kind)
{
    Secpol__V1__VerifyTokenRequest verify = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
    Secpol__V1__ConsumeTokenRequest consume = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
    verify.token = consume.token = (char *)token;
    verify.kind = consume.kind = kind;
    bool consuming = strcmp (path, "/secpol.v1.TokenService/ConsumeToken") == 0;
    ProtobufCMessage *response = NULL;
    int code =
        secpol_client_call (client, path, consuming ? &consume.base : &verify.base, &response);
    protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

int64_t
secpol_test_clock_offset (secpol_client_t *client, int64_t seconds)
{
    Secpol__V1__SetOffsetRequest request = SECPOL__V1__SET_OFFSET_REQUEST__INIT;
    request.offset_seconds = seconds;
    Secpol__V1__SetOffsetResponse *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.TestClockService/SetOffset", &request.base,
                                   (ProtobufCMessage **)&response);
    if (code != SECPOL_OK)
        fail_msg ("SetOffset %lld: %s %s", (long long)seconds, secpol_status_name (code),
                  secpol_client_status (client)->message);
    int64_t now = response->now;
    protobuf_c_message_free_unpacked (&response->base, NULL);
    return now;
}

/*  True when status is a clean exit: code 0, no signal. */
static bool
s_clean (int status)
{
    return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

/*  Prints what happened and the tail of secpold's log to stderr. */
static void
s_report (const secpol_test_daemon_t *self, const char *what)
{
    int status = self->exit_status;
    if (WIFSIGNALED (status))
        fprintf (stderr, "secpold %s (signal %d); its log:\n", what, WTERMSIG (status));
    else
        fprintf (stderr, "secpold %s (exit code %d); its log:\n", what, WEXITSTATUS (status));
    FILE *log = fopen (self->log_path, "r");
    if (!log) {
        fprintf (stderr, "(no log at %s)\n", self->log_path);
        return;
    }
    /* the last 40 lines: remember where each line starts */
    enum { LINES = 40 };
    long starts[LINES] = {0};
    int n = 0;
    char line[4096];
    long at = ftell (log);
    while (fgets (line, sizeof line, log)) {
        starts[n++ % LINES] = at;
        at = ftell (log);
    }
    fseek (log, n > LINES ? starts[n % LINES] : 0, SEEK_SET);
    while (fgets (line, sizeof line, log))
        fputs (line, stderr);
    fclose (log);
}

static int
s_spawn (secpol_test_daemon_t *self, const char *const *extra_args)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = SECPOLD_PATH;
    argv[argc++] = "--endpoint";
    argv[argc++] = self->endpoint;
    argv[argc++] = "--data-dir";
    argv[argc++] = self->data_dir;
    argv[argc++] = "--log-level";
    argv[argc++] = "debug";
    if (self->store[0]) {
        argv[argc++] = "--store";
        argv[argc++] = self->store;
    }
    bool test_clock = true;
    for (int i = 0; extra_args && extra_args[i] && argc < 62; i++)
        if (strcmp (extra_args[i], "--no-test-clock") == 0)
            test_clock = false;
        else
            argv[argc++] = extra_args[i];
    if (test_clock)
        argv[argc++] = "--test-clock";
    argv[argc] = NULL;

    pid_t pid = fork ();
    if (pid < 0) {
        perror ("fork");
        return -1;
    }
    if (pid == 0) {
        int fd = open (self->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2 (fd, STDERR_FILENO);
            close (fd);
        }
        execv (SECPOLD_PATH, (char *const *)argv);
        _exit (127);
    }
    self->pid = pid;
    /* Ready means serving: Health/Check answers over the real socket. */
    long long deadline = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    while (secpol_test_now_ms () < deadline) {
        if (s_health (self, S_PROBE_MS))
            return 0;
        int status;
        if (waitpid (pid, &status, WNOHANG) == pid) {
            self->pid = 0;
            self->exit_status = status;
            s_report (self, "exited before it answered");
            return -1;
        }
    }
    secpol_test_daemon_kill (self, SIGKILL);
    fprintf (stderr, "secpold did not answer Health/Check within %d ms\n", SECPOL_TEST_DEADLINE_MS);
    s_report (self, "was killed");
    return -1;
}

size_t
secpol_test_pack_header (uint8_t *buf, size_t size, const char *method, uint64_t call_id,
                         const char *request_id)
{
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = (char *)method;
    header.call_id = call_id;
    if (request_id)
        header.request_id = (char *)request_id;
    if (secpol__v1__request_header__get_packed_size (&header) > size)
        return 0;
    return secpol__v1__request_header__pack (&header, buf);
}

int
secpol_test_raw (const secpol_test_daemon_t *self, int n, const void *const *frames,
                 const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes)
{
    const void *all[16] = {""};
    size_t all_sizes[16] = {0};
    for (int i = 0; i < n && i < 15; i++) {
        all[i + 1] = frames[i];
        all_sizes[i + 1] = sizes[i];
    }
    return secpol_test_raw_frames (self, n < 15 ? n + 1 : 16, all, all_sizes, timeout_ms, reply,
                                   reply_sizes);
}

int
secpol_test_raw_frames (const secpol_test_daemon_t *self, int n, const void *const *frames,
                        const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return 0;
    zsock_set_linger (dealer, 0);
    /* a secpold that is still starting has no socket yet: try again soon,
     * not after libzmq's default 100 ms */
    zsock_set_reconnect_ivl (dealer, 5);
    /* CURVE as the client library takes it from the environment */
    const char *server_key = getenv ("SECPOL_SERVER_KEY"),
               *client_cert = getenv ("SECPOL_CLIENT_CERT");
    if (server_key && *server_key && client_cert && *client_cert) {
        zcert_t *server = zcert_load (server_key), *client = zcert_load (client_cert);
        if (server && client) {
            zcert_apply (client, dealer);
            zsock_set_curve_serverkey_bin (dealer, zcert_public_key (server));
        }
        zcert_destroy (&server);
        zcert_destroy (&client);
    }
    if (zsock_connect (dealer, "%s", self->endpoint) != 0) {
        zsock_destroy (&dealer);
        return 0;
    }
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; i < n; i++)
        zmsg_addmem (msg, frames[i], sizes[i]);
    zmsg_send (&msg, dealer);

    int count = 0;
    zpoller_t *poller = zpoller_new (dealer, NULL);
    if (zpoller_wait (poller, timeout_ms) == dealer) {
        zmsg_t *answer = zmsg_recv (dealer);
        zframe_t *delimiter = zmsg_pop (answer);
        zframe_destroy (&delimiter);
        zframe_t *frame;
        while ((frame = zmsg_pop (answer))) {
            if (count < 4 && reply) {
                reply[count] = malloc (zframe_size (frame) + 1);
                memcpy (reply[count], zframe_data (frame), zframe_size (frame));
                reply_sizes[count] = zframe_size (frame);
            }
            count++;
            zframe_destroy (&frame);
        }
        zmsg_destroy (&answer);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    return count;
}

secpol_test_reply_t
secpol_test_exchange (const secpol_test_daemon_t *self, int n, const void *const *frames,
                      const size_t *sizes, bool delimiter, int timeout_ms)
{
    void *parts[4] = {0};
    size_t part_sizes[4] = {0};
    secpol_test_reply_t reply = {.code = -1};
    reply.frames =
        delimiter ? secpol_test_raw (self, n, frames, sizes, timeout_ms, parts, part_sizes)
                  : secpol_test_raw_frames (self, n, frames, sizes, timeout_ms, parts, part_sizes);
    Secpol__V1__ResponseHeader *header =
        reply.frames >= 1 ? secpol__v1__response_header__unpack (NULL, part_sizes[0], parts[0])
                          : NULL;
    if (header) {
        reply.code = header->code;
        reply.call_id = header->call_id;
        snprintf (reply.message, sizeof reply.message, "%s", header->message);
        secpol__v1__response_header__free_unpacked (header, NULL);
    }
    if (reply.frames >= 2) {
        reply.body_size = part_sizes[1];
        memcpy (reply.body, parts[1],
                part_sizes[1] < sizeof reply.body ? part_sizes[1] : sizeof reply.body);
    }
    for (int i = 0; i < reply.frames && i < 4; i++)
        free (parts[i]);
    if (reply.frames >= 1 && reply.code == -1)
        fail_msg ("the reply's first frame (%zu bytes) is not a ResponseHeader", part_sizes[0]);
    return reply;
}

static bool
s_health (const secpol_test_daemon_t *self, int timeout_ms)
{
    uint8_t header[128];
    size_t size =
        secpol_test_pack_header (header, sizeof header, "/secpol.v1.Health/Check", 1, NULL);
    const void *frames[] = {header, ""};
    size_t sizes[] = {size, 0};
    void *reply[4] = {0};
    size_t reply_sizes[4] = {0};
    int count = secpol_test_raw (self, 2, frames, sizes, timeout_ms, reply, reply_sizes);
    bool ok = false;
    if (count == 2) {
        Secpol__V1__ResponseHeader *rh =
            secpol__v1__response_header__unpack (NULL, reply_sizes[0], reply[0]);
        ok = rh && rh->code == 0;
        secpol__v1__response_header__free_unpacked (rh, NULL);
    }
    for (int i = 0; i < count && i < 4; i++)
        free (reply[i]);
    return ok;
}

int
secpol_test_run (const secpol_test_daemon_t *self, char **out, const char *fmt, ...)
{
    char command[4096];
    va_list args;
    va_start (args, fmt);
    vsnprintf (command, sizeof command, fmt, args);
    va_end (args);
    setenv ("SECPOL_ENDPOINT", self->endpoint, 1);
    FILE *pipe = popen (command, "r");
    if (!pipe)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc (cap);
    size_t got;
    while ((got = fread (buf + len, 1, cap - len - 1, pipe)) > 0) {
        len += got;
        if (cap - len < 1024)
            buf = realloc (buf, cap *= 2);
    }
    buf[len] = '\0';
    int status = pclose (pipe);
    if (out)
        *out = buf;
    else
        free (buf);
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* --- what the store holds ---------------------------------------------------- */

const char *
secpol_test_daemon_store_url (const secpol_test_daemon_t *self)
{
    return self->store[0] ? self->store : NULL;
}

/*  Runs a query on the daemon's PostgreSQL store; fails the test on error. */
static PGresult *
s_pg_query (const secpol_test_daemon_t *self, const char *sql, const char *param)
{
    PGconn *conn = PQconnectdb (self->store);
    if (PQstatus (conn) != CONNECTION_OK)
        fail_msg ("cannot connect to the store: %s", PQerrorMessage (conn));
    const char *values[1] = {param};
    PGresult *res = PQexecParams (conn, sql, param ? 1 : 0, NULL, values, NULL, NULL, 1);
    if (PQresultStatus (res) != PGRES_TUPLES_OK)
        fail_msg ("%s: %s", sql, PQerrorMessage (conn));
    PQfinish (conn);
    return res;
}

char *
secpol_test_daemon_store_bytes (const secpol_test_daemon_t *self, size_t *size)
{
    if (self->store[0]) {
        PGresult *res = s_pg_query (self, "SELECT k, v FROM secpol_kv", NULL);
        size_t total = 0;
        for (int row = 0; row < PQntuples (res); row++)
            total += (size_t)PQgetlength (res, row, 0) + (size_t)PQgetlength (res, row, 1);
        char *bytes = malloc (total + 1);
        assert_non_null (bytes);
        size_t at = 0;
        for (int row = 0; row < PQntuples (res); row++)
            for (int column = 0; column < 2; column++) {
                memcpy (bytes + at, PQgetvalue (res, row, column),
                        (size_t)PQgetlength (res, row, column));
                at += (size_t)PQgetlength (res, row, column);
            }
        PQclear (res);
        *size = at;
        return bytes;
    }
    char path[400];
    snprintf (path, sizeof path, "%s/data.mdb", self->data_dir);
    return secpol_test_file_read (path, size);
}

bool
secpol_test_daemon_store_holds (const secpol_test_daemon_t *self, const void *needle, size_t size)
{
    size_t store_size = 0;
    char *bytes = secpol_test_daemon_store_bytes (self, &store_size);
    bool found = memmem (bytes, store_size, needle, size) != NULL;
    free (bytes);
    return found;
}

size_t
secpol_test_daemon_entries (const secpol_test_daemon_t *self, const char *table)
{
    if (self->store[0]) {
        PGresult *res =
            s_pg_query (self, "SELECT count(*)::int4 FROM secpol_kv WHERE tbl = $1", table);
        uint32_t count = 0;
        memcpy (&count, PQgetvalue (res, 0, 0), sizeof count);
        PQclear (res);
        return ntohl (count);
    }
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_stat stat = {0};
    int rc = mdb_env_create (&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (env, 64);
    if (rc == 0)
        rc = mdb_env_open (env, self->data_dir, MDB_RDONLY, 0600);
    if (rc == 0)
        rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open (txn, table, 0, &dbi);
    if (rc == 0)
        rc = mdb_stat (txn, dbi, &stat);
    if (txn)
        mdb_txn_abort (txn);
    if (env)
        mdb_env_close (env);
    if (rc)
        fail_msg ("table %s of %s: %s", table, self->data_dir, mdb_strerror (rc));
    return stat.ms_entries;
}
