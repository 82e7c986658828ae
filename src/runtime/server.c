/*  server.c - the ROUTER front end; see server.h.
 *
 *  One thread does all socket work with libzmq's own calls (no per-call
 *  czmq objects): it receives a burst of requests, checks and queues
 *  them, and sends every reply the lanes have finished, waking only when
 *  there is nothing to do. The request body moves into the job and the
 *  reply body out of it without a copy.
 */
#include "server.h"

#include "accept_guard.h"
#include "alloc.h"
#include "auth.h"
#include "http.h"
#include "lanes.h"
#include "metrics.h"
#include "stats.h"
#include "log.h"
#include "peers.h"
#include "wire.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT          "tcp://127.0.0.1:7420"
#define DEFAULT_MAX_QUEUED        65536
#define DEFAULT_MAX_PEER_REQUESTS 4096
#define DEFAULT_MAX_PEER_BYTES    (16u * 1024 * 1024)
#define DEFAULT_REMEMBER_ME_DAYS  30 /* a month: common for "keep me signed in" */
#define DEFAULT_DRAIN_MS          10000
#define DEFAULT_LINGER_MS         5000
#define DEFAULT_HANDSHAKE_MS      5000
#define FD_RESERVE                64   /* descriptors kept for the store, sockets, logs */
#define BURST                     256  /* requests taken per wake-up */
#define ROUTER_SNDHWM             1024 /* replies queued per peer in libzmq (bytes: peers.h) */
#define ROUTER_RCVHWM             64 /* requests queued per peer in libzmq: then TCP backpressure */
#define RUNNING_GRACE_MS          5000 /* after the drain: how long running handlers may take */
#define PG_DEFAULT_MAX_BATCH      64   /* writes one PostgreSQL transaction carries by default */
#define SWEEP_INTERVAL_US         1000000
#define QUIET_US                  200000   /* on stop: no request this long = none on the way */
#define SPARE_JOBS                1024     /* finished jobs kept for reuse */
#define TEST_CLOCK_WARN_US        60000000 /* with --test-clock, say so again this often */
#define LOCK_FILE                 "secpold.lock"

/*  One endpoint as bound. */
typedef struct {
    char *address;   /* what libzmq bound (ZMQ_LAST_ENDPOINT): a wildcard port resolved */
    char *ipc_path;  /* the socket file bind created; removed at destroy; NULL = none */
    dev_t ipc_dev;   /* that file as bound, so that only our own is removed */
    ino_t ipc_inode; /* " */
} listener_t;

struct secpol_server {
    secpol_server_config_t config;      /* copy of the caller's config, defaults applied */
    secpol_method_table_t *own_methods; /* when we built the default table */
    const secpol_method_table_t *methods;
    secpol_store_t *store;
    secpol_lanes_t *lanes;
    secpol_peers_t *peers;
    secpol_auth_t *auth;                        /* CURVE and the allow-list; NULL = none */
    zsock_t *router;                            /* the front end socket */
    void *router_raw;                           /* its libzmq handle */
    listener_t listeners[SECPOL_MAX_ENDPOINTS]; /* config.endpoints[i] as bound */
    size_t n_listeners;                         /* endpoints bound so far */
    int lock_fd;                      /* holds the data dir's LOCK_FILE (flock); -1 = none */
    volatile sig_atomic_t *reload;    /* set by SIGHUP (secpol_server_watch_reload); or NULL */
    atomic_int_fast64_t clock_offset; /* test clock, seconds */
    secpol_metrics_t *metrics;        /* counters (metrics.h) */
    secpol_http_t *http;              /* --metrics-listen; NULL = none */
    atomic_bool stopping;             /* draining: /readyz answers not ready */
    int64_t started_unix;             /* wall clock at start, for secpol_start_time_seconds */
    int64_t started_us;               /* monotonic at start, for secpol_uptime_seconds */
    /* front end only */
    size_t in_flight;     /* jobs queued or running */
    int fd_ceiling;       /* an accepted connection's descriptor at or above it is shed */
    uint64_t shed_logged; /* connections shed as of the last warning */
    bool draining;        /* stop was asked */
    uint64_t served;      /* replies handed to libzmq for jobs */
    uint64_t refused;     /* requests answered by the front end itself */
    uint64_t dropped;     /* replies libzmq would not take (peer gone or not reading) */
    uint64_t cancelled;   /* queued jobs answered UNAVAILABLE at shutdown */
    secpol_job_t *accepted[SECPOL_LANE_COUNT]; /* this burst's jobs, per lane, newest first */
    secpol_job_t *spare_jobs;                  /* finished jobs kept for reuse */
    size_t n_spare_jobs;                       /* jobs in spare_jobs */
};

static void s_apply_defaults (secpol_server_config_t *config);
static int s_check_endpoints (const secpol_server_config_t *config, char *err, size_t err_size);
static int s_check_exposure (const secpol_server_config_t *config, char *err, size_t err_size);
static bool s_loopback (const char *endpoint);
static int s_make_dirs (const char *dir, char *err, size_t err_size);
static int s_lock_data_dir (secpol_server_t *self, char *err, size_t err_size);
static int s_check_ipc_free (const char *endpoint, char *err, size_t err_size);
static int s_bind (secpol_server_t *self, const char *endpoint, char *err, size_t err_size);
static void s_remove_ipc_files (secpol_server_t *self);
static void s_warn_test_clock (secpol_server_t *self);
static int s_raise_fd_limit (unsigned *max_connections, int *fd_ceiling);
static void s_accept (secpol_server_t *self, zmq_msg_t *parts, size_t n_parts);
static void s_send_replies (secpol_server_t *self);
static void s_refuse (secpol_server_t *self, const secpol_method_t *method, zmq_msg_t *identity,
                      uint64_t call_id, int code, const char *message);
static void s_log_shed (secpol_server_t *self);
static void s_submit_accepted (secpol_server_t *self);
static secpol_job_t *s_job_new (secpol_server_t *self);
static void s_job_free (secpol_server_t *self, secpol_job_t *job);
static size_t s_receive (void *socket, zmq_msg_t *parts, size_t max_parts);
static int64_t s_monotonic_us (void);
static void s_render_metrics (void *arg, FILE *out);
static bool s_ready (void *arg, char *reason, size_t reason_size);

secpol_server_t *
secpol_server_new (const secpol_server_config_t *config, char *err, size_t err_size)
{
    /* We handle SIGINT/SIGTERM ourselves; czmq must not install its handler. */
    zsys_handler_set (NULL);
    secpol_server_t *self = secpol_xcalloc (1, sizeof *self);
    self->lock_fd = -1;
    self->config = *config;
    s_apply_defaults (&self->config);
    /* Endpoints are checked before anything is created, so a typo leaves no trace. */
    if (s_check_endpoints (&self->config, err, err_size) ||
        s_check_exposure (&self->config, err, err_size))
        goto fail;
    if (s_raise_fd_limit (&self->config.max_connections, &self->fd_ceiling)) {
        snprintf (err, err_size, "too few file descriptors (RLIMIT_NOFILE) to serve any client");
        goto fail;
    }
    self->methods = config->methods;
    if (!self->methods) {
        self->own_methods = secpol_method_table_default ();
        self->methods = self->own_methods;
        if (!self->methods) {
            snprintf (err, err_size, "method table is inconsistent (see above)");
            goto fail;
        }
    }

    if (!config->data_dir || !*config->data_dir) {
        snprintf (err, err_size, "data dir is not set");
        goto fail;
    }
    if (s_make_dirs (config->data_dir, err, err_size) || s_lock_data_dir (self, err, err_size))
        goto fail;
    secpol_store_options_t store_options = self->config.store;
    store_options.tables = secpol_method_table_tables (self->methods, &store_options.n_tables);
    if (!store_options.max_readers)
        /* one slot per thread that can hold a read transaction, and room
         * for tools (mdb_stat, backups) that read beside us */
        store_options.max_readers =
            (unsigned)self->config.read_workers + (unsigned)self->config.slow_workers + 1 + 16;
    int rc = secpol_store_open (&self->store, config->data_dir, &store_options);
    if (rc && store_options.url) {
        char where[300];
        snprintf (err, err_size, "cannot open store %s: %s",
                  secpol_store_describe (where, sizeof where, store_options.url),
                  secpol_strerror (rc));
        goto fail;
    }
    if (rc) {
        snprintf (err, err_size, "cannot open store in %s: %s", config->data_dir,
                  secpol_strerror (rc));
        goto fail;
    }

    if (self->config.curve_secret_key) {
        self->auth = secpol_auth_new (self->config.curve_secret_key, self->config.authorized_keys,
                                      err, err_size);
        if (!self->auth)
            goto fail;
    }
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router) {
        snprintf (err, err_size, "cannot create ROUTER socket: %s", zmq_strerror (zmq_errno ()));
        goto fail;
    }
    self->router_raw = zsock_resolve (self->router);
    if (self->auth)
        secpol_auth_apply (self->auth, self->router_raw);
    /* A frame past the hard ceiling makes libzmq drop the peer before we
     * buffer it; between a method's limit and the ceiling the wire check
     * answers RESOURCE_EXHAUSTED naming the limit. */
    zsock_set_maxmsgsize (self->router, SECPOL_HARD_MAX_MESSAGE);
    zsock_set_linger (self->router, (int)self->config.linger_ms);
    /* A group commit answers every write of a batch at once, and a batch
     * holds all that waits: a client's burst of replies can be as large as
     * its requests in flight, so the count never drops a reply to a client
     * that reads; unread bytes are bounded by max_peer_bytes (peers.h). */
    unsigned sndhwm = 2 * self->config.max_peer_requests;
    zsock_set_sndhwm (self->router, (int)(sndhwm > ROUTER_SNDHWM ? sndhwm : ROUTER_SNDHWM));
    zsock_set_rcvhwm (self->router, ROUTER_RCVHWM);
    zsock_set_router_mandatory (self->router, 1); /* a reply we cannot queue is counted */
    zsock_set_handshake_ivl (self->router, (int)self->config.handshake_ms);
    secpol_accept_guard_arm (self->fd_ceiling);
    for (size_t i = 0; i < self->config.n_endpoints; i++)
        if (s_bind (self, self->config.endpoints[i], err, err_size))
            goto fail;
    self->peers = secpol_peers_new (self->config.max_peer_requests, self->config.max_peer_bytes);
    secpol_lanes_config_t lanes = {
        .read_workers = self->config.read_workers,
        .slow_workers = self->config.slow_workers,
        /* On PostgreSQL a batch costs round trips per request before its
         * one COMMIT: capped by default, so that replies are not held behind
         * thousands of statements and a batch running at shutdown ends
         * within the grace (docs/SCALING.md) */
        .write_batch_max = self->config.write_batch_max            ? self->config.write_batch_max
                           : secpol_store_postgresql (self->store) ? PG_DEFAULT_MAX_BATCH
                                                                   : 0,
        .max_queued = self->config.max_queued,
        .audit_retention_seconds = (int64_t)self->config.audit_retention_days * 86400,
    };
    self->started_unix = (int64_t)time (NULL);
    self->started_us = s_monotonic_us ();
    self->metrics = secpol_metrics_new (self->methods);
    self->lanes = secpol_lanes_new (&lanes, self->store, self);
    if (!self->lanes) {
        snprintf (err, err_size, "cannot start lane threads");
        goto fail;
    }
    if (self->config.metrics_listen) {
        secpol_http_handlers_t handlers = {s_render_metrics, s_ready, self};
        self->http = secpol_http_start (self->config.metrics_listen, &handlers, err, err_size);
        if (!self->http)
            goto fail;
    }
    return self;

fail:
    secpol_server_destroy (&self);
    return NULL;
}

static void
s_apply_defaults (secpol_server_config_t *config)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (config->read_workers <= 0)
        config->read_workers = (int)cores;
    if (config->slow_workers <= 0)
        config->slow_workers = cores > 2 ? (int)cores / 2 : 1;
    if (config->max_queued == 0)
        config->max_queued = DEFAULT_MAX_QUEUED;
    if (config->max_peer_requests == 0)
        config->max_peer_requests = DEFAULT_MAX_PEER_REQUESTS;
    if (config->max_peer_bytes == 0)
        config->max_peer_bytes = DEFAULT_MAX_PEER_BYTES;
    if (config->drain_ms == 0)
        config->drain_ms = DEFAULT_DRAIN_MS;
    if (config->grace_ms == 0)
        config->grace_ms = RUNNING_GRACE_MS;
    if (config->remember_me_days == 0)
        config->remember_me_days = DEFAULT_REMEMBER_ME_DAYS;
    if (config->linger_ms == 0)
        config->linger_ms = DEFAULT_LINGER_MS;
    if (config->handshake_ms == 0)
        config->handshake_ms = DEFAULT_HANDSHAKE_MS;
    if (config->n_endpoints == 0) {
        config->endpoints[0] = DEFAULT_ENDPOINT;
        config->n_endpoints = 1;
    }
}

/*  Raises the soft RLIMIT_NOFILE to the hard limit and works out the
 *  descriptor ceiling the accept guard keeps (accept_guard.h): connections
 *  start at the lowest free descriptor now, and FD_RESERVE stay free for
 *  the store, libzmq and the guard's spare. */
static int
s_raise_fd_limit (unsigned *max_connections, int *fd_ceiling)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
        getrlimit (RLIMIT_NOFILE, &limit);
    }
    rlim_t usable = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > INT_MAX ? (rlim_t)INT_MAX
                                                                                : limit.rlim_cur;
    int lowest = dup (0); /* the lowest free descriptor now: where connections start */
    if (lowest >= 0)
        close (lowest);
    else
        lowest = 3;
    if (usable <= (rlim_t)lowest + FD_RESERVE + 1)
        return -1;
    rlim_t cap = usable - (rlim_t)lowest - FD_RESERVE;
    if (*max_connections == 0 || *max_connections > cap)
        *max_connections = cap > UINT_MAX ? UINT_MAX : (unsigned)cap;
    *fd_ceiling = lowest + FD_RESERVE / 2 + (int)*max_connections;
    return 0;
}

/*  Refuses, before anything is created, what libzmq would take wrongly or
 *  report badly: an endpoint without a transport, a tcp:// port outside
 *  0-65535 (libzmq binds 70000 as 4464) or not a number, an endpoint
 *  given twice, and an ipc:// socket in use (checked again at the bind). */
static int
s_check_endpoints (const secpol_server_config_t *config, char *err, size_t err_size)
{
    for (size_t i = 0; i < config->n_endpoints; i++) {
        const char *endpoint = config->endpoints[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp (endpoint, config->endpoints[j]) == 0) {
                snprintf (err, err_size, "endpoint %s is given twice", endpoint);
                return -1;
            }
        if (!strstr (endpoint, "://")) {
            snprintf (err, err_size,
                      "endpoint %s is not TRANSPORT://ADDRESS (tcp://127.0.0.1:7420, "
                      "ipc:///run/secpol.sock)",
                      endpoint);
            return -1;
        }
        if (strncmp (endpoint, "ipc://", 6) == 0 && s_check_ipc_free (endpoint, err, err_size))
            return -1;
        if (strncmp (endpoint, "tcp://", 6) != 0)
            continue;
        const char *colon = strrchr (endpoint + 6, ':');
        if (!colon || strchr (colon, ']')) {
            snprintf (err, err_size, "endpoint %s has no port (tcp://HOST:PORT)", endpoint);
            return -1;
        }
        const char *port = colon + 1;
        if (strcmp (port, "*") == 0)
            continue;
        size_t digits = strspn (port, "0123456789");
        if (digits == 0 || port[digits] != '\0') {
            snprintf (err, err_size, "endpoint %s: port '%s' is not a number", endpoint, port);
            return -1;
        }
        if (digits > 5 || strtol (port, NULL, 10) > 65535) {
            snprintf (err, err_size,
                      "endpoint %s: port %s is out of range (1-65535; 0 or * picks a free one)",
                      endpoint, port);
            return -1;
        }
    }
    return 0;
}

/*  The exposure guard: without CURVE every caller is an admin and the
 *  traffic is plain text, so only endpoints no other host can reach are
 *  bound unless the operator says --insecure. CURVE needs both its
 *  options. */
static int
s_check_exposure (const secpol_server_config_t *config, char *err, size_t err_size)
{
    if (!config->curve_secret_key != !config->authorized_keys) {
        snprintf (err, err_size, "CURVE needs both --curve-secret-key and --authorized-keys");
        return -1;
    }
    if (config->curve_secret_key || config->insecure)
        return 0;
    for (size_t i = 0; i < config->n_endpoints; i++)
        if (!s_loopback (config->endpoints[i])) {
            snprintf (err, err_size,
                      "refusing to bind %s without CURVE: plain text, and every caller would be "
                      "admin; use --curve-secret-key with --authorized-keys, a loopback or ipc "
                      "endpoint, or --insecure",
                      config->endpoints[i]);
            return -1;
        }
    return 0;
}

/*  True for ipc:// and inproc://, and tcp:// on a loopback host:
 *  127.0.0.0/8, [::1], localhost. A wildcard, an interface name or any
 *  other address is not. */
static bool
s_loopback (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6, *colon = strrchr (host, ':');
    if (!colon)
        return false;
    size_t length = (size_t)(colon - host);
    if ((length == 5 && strncmp (host, "[::1]", 5) == 0) ||
        (length == 9 && strncmp (host, "localhost", 9) == 0))
        return true;
    if (length < 4 || length > 15 || strncmp (host, "127.", 4) != 0)
        return false;
    struct in_addr address;
    char text[16];
    memcpy (text, host, length);
    text[length] = '\0';
    return inet_pton (AF_INET, text, &address) == 1;
}

/*  mkdir -p: creates dir and its missing parents, mode 0700. */
static int
s_make_dirs (const char *dir, char *err, size_t err_size)
{
    char path[PATH_MAX];
    if (snprintf (path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf (err, err_size, "data dir %s: path is too long", dir);
        return -1;
    }
    for (char *slash = path + 1;; slash++) {
        slash = strchr (slash, '/');
        if (slash)
            *slash = '\0';
        struct stat st;
        if (mkdir (path, 0700) != 0 && errno != EEXIST &&
            !(stat (path, &st) == 0 && S_ISDIR (st.st_mode))) { /* e.g. EACCES on a parent */
            snprintf (err, err_size, "cannot create %s (for data dir %s): %s", path, dir,
                      strerror (errno));
            return -1;
        }
        if (!slash)
            break;
        *slash = '/';
    }
    struct stat st;
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        snprintf (err, err_size, "data dir %s is not a directory", dir);
        return -1;
    }
    return 0;
}

/*  Holds an exclusive lock on the data dir's LOCK_FILE for the daemon's
 *  life (the descriptor is closed at destroy, or by the kernel when the
 *  process dies), and writes our pid into it for the one refused. LMDB's
 *  lock.mdb is shared by design, so it cannot tell a second secpold (which
 *  would run its own writer beside ours) from a reader such as mdb_copy. */
static int
s_lock_data_dir (secpol_server_t *self, char *err, size_t err_size)
{
    const char *dir = self->config.data_dir;
    char path[PATH_MAX];
    if (snprintf (path, sizeof path, "%s/%s", dir, LOCK_FILE) >= (int)sizeof path) {
        snprintf (err, err_size, "data dir %s: path is too long", dir);
        return -1;
    }
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (self->lock_fd < 0) {
        snprintf (err, err_size, "cannot open %s: %s", path, strerror (errno));
        return -1;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int error = errno;
        if (error != EWOULDBLOCK) {
            snprintf (err, err_size, "cannot lock %s: %s", path, strerror (error));
            return -1;
        }
        char pid[24] = "";
        ssize_t got = pread (self->lock_fd, pid, sizeof pid - 1, 0);
        pid[got > 0 ? got : 0] = '\0';
        pid[strspn (pid, "0123456789")] = '\0';
        snprintf (err, err_size, "data dir %s is in use by another secpold (%s%s holds %s)", dir,
                  *pid ? "pid " : "another process", pid, path);
        return -1;
    }
    char pid[24];
    int length = snprintf (pid, sizeof pid, "%ld\n", (long)getpid ());
    if (ftruncate (self->lock_fd, 0) != 0 || pwrite (self->lock_fd, pid, (size_t)length, 0) < 0) {
        snprintf (err, err_size, "cannot write %s: %s", path, strerror (errno));
        return -1;
    }
    return 0;
}

/*  libzmq's ipc:// bind unlinks whatever file the path names and binds
 *  afresh, so a second daemon would silently steal a live daemon's socket
 *  (its clients would reconnect to the newcomer). Refuses a path whose
 *  socket accepts connections, or that is not a socket at all; a socket
 *  that refuses them was left by a process that died (kill -9) and may be
 *  replaced. A wildcard path ("*") or an abstract one ("@name") has
 *  no file to check. Two daemons starting at the very same moment can
 *  still race between this check and the bind; the data dir lock stops
 *  the usual case, a second daemon on the same store. */
static int
s_check_ipc_free (const char *endpoint, char *err, size_t err_size)
{
    const char *path = endpoint + 6; /* past ipc:// */
    if (*path == '*' || *path == '@')
        return 0;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen (path) >= sizeof address.sun_path) {
        snprintf (err, err_size, "endpoint %s: the path is longer than %zu bytes", endpoint,
                  sizeof address.sun_path - 1);
        return -1;
    }
    struct stat st;
    if (lstat (path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf (err, err_size, "cannot check %s: %s", endpoint, strerror (errno));
        return -1;
    }
    if (!S_ISSOCK (st.st_mode)) {
        snprintf (err, err_size, "endpoint %s: %s exists and is not a socket", endpoint, path);
        return -1;
    }
    memcpy (address.sun_path, path, strlen (path) + 1);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf (err, err_size, "cannot check %s: %s", endpoint, strerror (errno));
        return -1;
    }
    int rc = connect (fd, (struct sockaddr *)&address, sizeof address);
    int error = errno;
    close (fd);
    if (rc == 0 || error == EAGAIN) { /* EAGAIN: a live listener with a full backlog */
        snprintf (err, err_size, "%s is in use by another process", endpoint);
        return -1;
    }
    if (error == ECONNREFUSED || error == ENOENT)
        return 0; /* stale: nothing listens there any more */
    snprintf (err, err_size, "cannot tell whether %s is in use: %s", endpoint, strerror (error));
    return -1;
}

/*  Binds one endpoint and remembers what was bound: the address with a
 *  wildcard port resolved, and for ipc:// the socket file, to remove it
 *  on a clean stop. */
static int
s_bind (secpol_server_t *self, const char *endpoint, char *err, size_t err_size)
{
    bool ipc = strncmp (endpoint, "ipc://", 6) == 0;
    if (ipc && s_check_ipc_free (endpoint, err, err_size))
        return -1;
    if (zsock_bind (self->router, "%s", endpoint) < 0) {
        int error = zmq_errno ();
        snprintf (err, err_size, "cannot bind %s: %s%s", endpoint, zmq_strerror (error),
                  error == EINVAL || error == EPROTONOSUPPORT
                      ? " (endpoints look like tcp://127.0.0.1:7420 or ipc:///run/secpol.sock)"
                      : "");
        return -1;
    }
    listener_t *listener = &self->listeners[self->n_listeners++];
    char bound[1024] = "";
    size_t size = sizeof bound;
    if (zmq_getsockopt (self->router_raw, ZMQ_LAST_ENDPOINT, bound, &size) != 0 || !*bound)
        snprintf (bound, sizeof bound, "%s", endpoint);
    listener->address = secpol_xstrdup (bound);
    const char *path = endpoint + 6;
    struct stat st;
    if (ipc && *path != '*' && *path != '@' && lstat (path, &st) == 0 && S_ISSOCK (st.st_mode)) {
        listener->ipc_path = secpol_xstrdup (path);
        listener->ipc_dev = st.st_dev;
        listener->ipc_inode = st.st_ino;
    }
    return 0;
}

/*  Removes the socket files our ipc:// binds created, unless another
 *  process has put its own in their place since. */
static void
s_remove_ipc_files (secpol_server_t *self)
{
    for (size_t i = 0; i < self->n_listeners; i++) {
        listener_t *listener = &self->listeners[i];
        struct stat st;
        if (listener->ipc_path && lstat (listener->ipc_path, &st) == 0 &&
            st.st_dev == listener->ipc_dev && st.st_ino == listener->ipc_inode)
            unlink (listener->ipc_path);
        free (listener->ipc_path);
        free (listener->address);
    }
    self->n_listeners = 0;
}

void
secpol_server_destroy (secpol_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_server_t *self = *self_p;
    secpol_http_stop (&self->http); /* first: its thread reads the lanes and the store */
    secpol_lanes_destroy (&self->lanes);
    /* zmq_close keeps queued replies; libzmq flushes them for up to the
     * linger when the context ends (secpold calls zsys_shutdown). */
    zsock_destroy (&self->router);
    secpol_auth_destroy (&self->auth);
    s_remove_ipc_files (self);
    while (self->spare_jobs) {
        secpol_job_t *job = self->spare_jobs;
        self->spare_jobs = job->next;
        secpol_job_destroy (&job);
    }
    secpol_peers_destroy (&self->peers);
    secpol_store_close (&self->store);
    secpol_metrics_destroy (&self->metrics);
    secpol_method_table_destroy (&self->own_methods);
    if (self->lock_fd >= 0)
        close (self->lock_fd); /* releases the data dir for the next secpold */
    free (self);
    *self_p = NULL;
}

secpol_store_t *
secpol_server_store (secpol_server_t *self)
{
    return self->store;
}

int64_t
secpol_server_remember_me_seconds (secpol_server_t *self)
{
    return (int64_t)self->config.remember_me_days * 86400;
}

int64_t
secpol_server_now (secpol_server_t *self)
{
    return (int64_t)time (NULL) + atomic_load (&self->clock_offset);
}

void
secpol_server_set_clock_offset (secpol_server_t *self, int64_t offset_seconds)
{
    int64_t old = atomic_exchange (&self->clock_offset, offset_seconds);
    if (old != offset_seconds)
        secpol_log (SECPOL_LOG_WARN, "test clock moved", "offset_seconds=%lld from=%lld",
                    (long long)offset_seconds, (long long)old);
}

int64_t
secpol_server_clock_offset (secpol_server_t *self)
{
    return atomic_load (&self->clock_offset);
}

secpol_metrics_t *
secpol_server_metrics (secpol_server_t *self)
{
    return self->metrics;
}

/*  /metrics: the counters, then what secpol_stats_collect reads now (the
 *  same as AdminService/GetStats). On the HTTP thread. */
static void
s_render_metrics (void *arg, FILE *out)
{
    secpol_server_t *self = arg;
    fprintf (out,
             "# HELP secpol_build_info The running secpold's version and store schema.\n"
             "# TYPE secpol_build_info gauge\n"
             "secpol_build_info{version=\"%s\",schema=\"%u\"} 1\n"
             "# HELP secpol_start_time_seconds When secpold started, unix seconds.\n"
             "# TYPE secpol_start_time_seconds gauge\n"
             "secpol_start_time_seconds %lld\n"
             "# HELP secpol_uptime_seconds Seconds since secpold started.\n"
             "# TYPE secpol_uptime_seconds gauge\n"
             "secpol_uptime_seconds %.3f\n",
             SECPOL_VERSION, secpol_store_schema (self->store), (long long)self->started_unix,
             (double)(s_monotonic_us () - self->started_us) / 1e6);
    secpol_metrics_render (self->metrics, out);
    secpol_stats_t stats;
    int rc = secpol_stats_collect (self, NULL, &stats);
    fprintf (out,
             "# HELP secpol_store_up 1 when the store answered the read this page made.\n"
             "# TYPE secpol_store_up gauge\n"
             "secpol_store_up %d\n",
             rc == 0);
    if (rc == 0)
        secpol_metrics_render_stats (&stats, out);
}

/*  /readyz: the store answers a read, every lane thread runs, and no stop
 *  was asked. On the HTTP thread. */
static bool
s_ready (void *arg, char *reason, size_t reason_size)
{
    secpol_server_t *self = arg;
    secpol_stats_t stats;
    int rc;
    if (atomic_load (&self->stopping))
        snprintf (reason, reason_size, "shutting down");
    else if ((rc = secpol_stats_collect (self, NULL, &stats)) != 0)
        snprintf (reason, reason_size, "store does not answer: %s", secpol_strerror (rc));
    else if (!secpol_lanes_running (self->lanes))
        snprintf (reason, reason_size, "lane threads are not all running");
    else
        return true;
    return false;
}

void
secpol_server_write_stats (secpol_server_t *self, uint64_t *commits, uint64_t *requests)
{
    secpol_lanes_write_stats (self->lanes, commits, requests);
}

void
secpol_server_lanes_stats (secpol_server_t *self, secpol_lanes_stats_t *out)
{
    secpol_lanes_stats (self->lanes, out);
}

int64_t
secpol_server_started_at (secpol_server_t *self)
{
    return self->started_unix;
}

/* --- the loop --------------------------------------------------------------- */

int
secpol_server_run (secpol_server_t *self, volatile sig_atomic_t *stop)
{
    for (size_t i = 0; i < self->n_listeners; i++) {
        /* bound in secpol_server_new: this line never comes before the bind */
        const char *requested = self->config.endpoints[i], *bound = self->listeners[i].address;
        char quoted_bound[1100], quoted_requested[1100];
        secpol_log (SECPOL_LOG_INFO, "listening", "endpoint=%s%s%s%s",
                    secpol_log_quote (quoted_bound, sizeof quoted_bound, bound),
                    strcmp (requested, bound) ? " requested=" : "",
                    strcmp (requested, bound)
                        ? secpol_log_quote (quoted_requested, sizeof quoted_requested, requested)
                        : "",
                    self->config.test_clock ? " test_clock=on" : "");
    }
    if (self->http)
        secpol_log (SECPOL_LOG_INFO, "metrics listening",
                    "address=%s paths=/metrics,/healthz,/readyz", secpol_http_address (self->http));
    if (self->config.test_clock)
        s_warn_test_clock (self);
    for (size_t i = 0; i < secpol_method_table_size (self->methods); i++) {
        const secpol_method_t *method = secpol_method_table_at (self->methods, i);
        if (!method->spec) /* declared in a .proto, in no line of src/services.def */
            secpol_log (SECPOL_LOG_WARN, "not implemented", "method=%s", method->path);
    }
    secpol_log (SECPOL_LOG_INFO, "limits",
                "max_connections=%u max_peer_requests=%u max_peer_bytes=%zu max_queued=%u",
                self->config.max_connections, self->config.max_peer_requests,
                self->config.max_peer_bytes, self->config.max_queued);
    zmq_pollitem_t items[4] = {
        {self->router_raw, 0, ZMQ_POLLIN, 0},
        {NULL, secpol_lanes_reply_fd (self->lanes), ZMQ_POLLIN, 0},
    };
    int n_items = 2, watch_item = -1;
    if (self->auth) {
        /* ZAP requests during handshakes, and the allow-list dir's changes */
        items[n_items++] = (zmq_pollitem_t){secpol_auth_zap_socket (self->auth), 0, ZMQ_POLLIN, 0};
        if (secpol_auth_watch_fd (self->auth) >= 0) {
            watch_item = n_items;
            items[n_items++] =
                (zmq_pollitem_t){NULL, secpol_auth_watch_fd (self->auth), ZMQ_POLLIN, 0};
        }
    }
    int64_t drain_until = 0, give_up = 0, next_sweep = s_monotonic_us () + SWEEP_INTERVAL_US;
    int64_t next_test_clock_warning = s_monotonic_us () + TEST_CLOCK_WARN_US;
    int64_t last_request = 0; /* monotonic time the last request arrived */
    bool cancelled = false;
    for (;;) {
        if (*stop && !self->draining) {
            self->draining = true;
            atomic_store (&self->stopping, true);
            drain_until = s_monotonic_us () + (int64_t)self->config.drain_ms * 1000;
            give_up = drain_until + (int64_t)self->config.grace_ms * 1000;
            secpol_lanes_drain_until (self->lanes, drain_until);
            secpol_log (SECPOL_LOG_INFO, "draining", "in_flight=%zu drain_ms=%u", self->in_flight,
                        self->config.drain_ms);
        }
        bool busy = false;
        if (self->auth) {
            secpol_auth_handle_zap (self->auth);
            if (watch_item >= 0 && (items[watch_item].revents & ZMQ_POLLIN)) {
                items[watch_item].revents = 0;
                secpol_auth_watch_event (self->auth);
            }
        }
        s_send_replies (self);
        /* A bounded burst of requests per turn, so replies are never held
         * up behind a flood. */
        zmq_msg_t parts[4];
        for (int i = 0; i < BURST; i++) {
            size_t n = s_receive (self->router_raw, parts, 4);
            if (n == 0)
                break;
            busy = true;
            last_request = s_monotonic_us ();
            s_accept (self, parts, n);
        }
        s_submit_accepted (self);
        int64_t now = s_monotonic_us ();
        if (now >= next_sweep) {
            secpol_peers_sweep (self->peers);
            s_log_shed (self);
            next_sweep = now + SWEEP_INTERVAL_US;
        }
        if (self->config.test_clock && now >= next_test_clock_warning) {
            s_warn_test_clock (self);
            next_test_clock_warning = now + TEST_CLOCK_WARN_US;
        }
        if (self->reload && *self->reload) {
            *self->reload = 0;
            secpol_server_reload (self);
        }
        if (self->draining) {
            if (!cancelled && now >= drain_until) {
                /* Out of time: answer what never started, without running it. */
                cancelled = true;
                secpol_job_t *job = secpol_lanes_cancel_queued (self->lanes);
                while (job) {
                    secpol_job_t *next = job->next;
                    s_refuse (self, job->method, &job->identity, job->call_id, SECPOL_UNAVAILABLE,
                              "server is shutting down; the request did not run");
                    secpol_peers_done (self->peers, job->peer, zmq_msg_size (&job->body));
                    self->in_flight--;
                    self->cancelled++;
                    s_job_free (self, job);
                    job = next;
                }
            }
            s_send_replies (self);
            /* Done when nothing is in flight and no request has come for a
             * moment: requests already on their way get their UNAVAILABLE. */
            bool quiet = now - last_request > QUIET_US;
            if ((self->in_flight == 0 && quiet) || now >= give_up)
                break;
        }
        if (busy)
            continue; /* more may be waiting: look again before sleeping */
        if (zmq_poll (items, n_items, self->draining ? 50 : 500) < 0 && zmq_errno () != EINTR)
            break;
    }
    /* a write batch's jobs the drain's end kept from running came back as
     * replies: they count as cancelled, not served */
    uint64_t batch_cancelled = secpol_lanes_drain_cancelled (self->lanes);
    if (batch_cancelled > self->served) /* some of those replies were dropped */
        batch_cancelled = self->served;
    secpol_log (SECPOL_LOG_INFO, "stopped",
                "served=%llu refused=%llu cancelled=%llu dropped=%llu unanswered=%zu",
                (unsigned long long)(self->served - batch_cancelled),
                (unsigned long long)self->refused,
                (unsigned long long)(self->cancelled + batch_cancelled),
                (unsigned long long)self->dropped, self->in_flight);
    return 0;
}

void
secpol_server_watch_reload (secpol_server_t *self, volatile sig_atomic_t *reload)
{
    self->reload = reload;
}

void
secpol_server_reload (secpol_server_t *self)
{
    /* Logs go to stderr, which whoever started us opened and rotates:
     * nothing to reopen. The allow-list is read again; connections stay,
     * and each request is checked against the new list (s_accept). */
    secpol_log (SECPOL_LOG_INFO, "reload", "logs=stderr keys=%s",
                self->auth ? "authorized-keys" : "none");
    if (self->auth)
        secpol_auth_reload (self->auth);
}

/*  With --test-clock, says so loudly: at start and then every
 *  TEST_CLOCK_WARN_US, and when the offset moves (set_clock_offset). */
static void
s_warn_test_clock (secpol_server_t *self)
{
    secpol_log (SECPOL_LOG_WARN, "test clock enabled",
                "offset_seconds=%lld note=\"TestClockService/SetOffset moves the clock of "
                "every policy decision; tests only, never in production\"",
                (long long)atomic_load (&self->clock_offset));
}

/*  Receives one whole message without waiting: up to max_parts parts into
 *  parts (initialised), the rest read and dropped. Returns the number of
 *  parts received (more than max_parts when some were dropped), 0 when
 *  nothing was waiting. */
static size_t
s_receive (void *socket, zmq_msg_t *parts, size_t max_parts)
{
    size_t n = 0;
    for (;;) {
        zmq_msg_t scratch, *part = n < max_parts ? &parts[n] : &scratch;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, socket, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close (part);
            return n; /* nothing waiting (n == 0), or the context is ending */
        }
        n++;
        bool more = zmq_msg_more (part);
        if (part == &scratch)
            zmq_msg_close (part);
        if (!more)
            return n;
    }
}

/*  Checks one request (parts[0] is the routing id) and queues it, or
 *  answers it at once. Takes ownership of the parts. */
static void
s_accept (secpol_server_t *self, zmq_msg_t *parts, size_t n_parts)
{
    size_t kept = n_parts < 4 ? n_parts : 4;
    const void *frames[3] = {NULL, NULL, NULL};
    size_t sizes[3] = {0, 0, 0};
    for (size_t i = 1; i < kept; i++) {
        frames[i - 1] = zmq_msg_data (&parts[i]);
        sizes[i - 1] = zmq_msg_size (&parts[i]);
    }
    secpol_wire_policy_t policy = {self->config.test_clock, self->config.default_role};
    const char *caller = "";
    bool authorized = true;
    if (self->auth) {
        /* The key the handshake proved (ZAP User-Id), looked up in the list
         * as it is now: a key removed since the connection was made is
         * refused, a role changed applies. */
        const char *user_id = zmq_msg_gets (&parts[n_parts > 1 ? 1 : 0], "User-Id");
        authorized = secpol_auth_lookup (self->auth, user_id, &policy.role, &caller);
    }
    secpol_wire_request_t request;
    char reason[512];
    int code = secpol_wire_check_request (&request, reason, sizeof reason, self->methods, &policy,
                                          n_parts - 1, frames, sizes);
    if (!authorized) {
        code = SECPOL_UNAUTHENTICATED;
        snprintf (reason, sizeof reason, "this client's key is no longer authorized");
    }
    const char *refusal = NULL;
    secpol_peer_t *peer = NULL;
    size_t body_size = kept == 4 ? zmq_msg_size (&parts[3]) : 0;
    if (code != SECPOL_OK) {
        if (secpol_log_enabled (SECPOL_LOG_DEBUG)) {
            char quoted[600];
            secpol_log (SECPOL_LOG_DEBUG, "rejected", "code=%s reason=%s",
                        secpol_status_name (code),
                        secpol_log_quote (quoted, sizeof quoted, reason));
        }
        refusal = reason;
    } else if (self->draining) {
        code = SECPOL_UNAVAILABLE;
        refusal = "server is shutting down; retry on another instance or after restart";
    } else {
        peer = secpol_peers_get (self->peers, zmq_msg_data (&parts[0]), zmq_msg_size (&parts[0]));
        if (!secpol_peers_admit (self->peers, peer, body_size, &refusal))
            code = SECPOL_RESOURCE_EXHAUSTED;
    }
    if (code != SECPOL_OK) {
        /* request.method is NULL unless the header named a known method */
        s_refuse (self, request.method, &parts[0], request.call_id, code, refusal);
        for (size_t i = 1; i < kept; i++)
            zmq_msg_close (&parts[i]);
        return;
    }
    secpol_job_t *job = s_job_new (self);
    zmq_msg_move (&job->identity, &parts[0]);
    zmq_msg_move (&job->body, &parts[3]);
    zmq_msg_close (&parts[0]);
    for (size_t i = 1; i < kept; i++)
        zmq_msg_close (&parts[i]);
    job->call_id = request.call_id;
    memcpy (job->request_id, request.request_id, sizeof job->request_id);
    job->method = request.method;
    job->peer = peer;
    job->role = policy.role;
    snprintf (job->caller, sizeof job->caller, "%s", caller);
    job->received_us = s_monotonic_us ();
    if (request.deadline_ms)
        job->deadline_us = job->received_us + (int64_t)request.deadline_ms * 1000;
    secpol_lane_t lane = job->method->spec->lane;
    job->next = self->accepted[lane];
    self->accepted[lane] = job;
    self->in_flight++;
}

/*  Queues the burst's jobs, one lock per lane, oldest first. */
static void
s_submit_accepted (secpol_server_t *self)
{
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++) {
        secpol_job_t *reversed = self->accepted[lane], *list = NULL;
        if (!reversed)
            continue;
        self->accepted[lane] = NULL;
        while (reversed) {
            secpol_job_t *job = reversed;
            reversed = job->next;
            job->next = list;
            list = job;
        }
        secpol_job_t *refused = secpol_lanes_submit (self->lanes, (secpol_lane_t)lane, list);
        while (refused) {
            /* Overload: refuse at once rather than queue without bound; the
             * client retries with backoff. */
            secpol_job_t *job = refused;
            refused = job->next;
            s_refuse (self, job->method, &job->identity, job->call_id, SECPOL_UNAVAILABLE,
                      "server is overloaded: too many requests queued; retry later");
            secpol_peers_done (self->peers, job->peer, zmq_msg_size (&job->body));
            self->in_flight--;
            s_job_free (self, job);
        }
    }
}

static secpol_job_t *
s_job_new (secpol_server_t *self)
{
    secpol_job_t *job = self->spare_jobs;
    if (job) {
        self->spare_jobs = job->next;
        self->n_spare_jobs--;
        job->next = NULL;
        return job;
    }
    job = secpol_xcalloc (1, sizeof *job);
    zmq_msg_init (&job->identity);
    zmq_msg_init (&job->body);
    return job;
}

static void
s_job_free (secpol_server_t *self, secpol_job_t *job)
{
    if (self->n_spare_jobs >= SPARE_JOBS) {
        secpol_job_destroy (&job);
        return;
    }
    secpol_job_clear (job);
    job->next = self->spare_jobs;
    self->spare_jobs = job;
    self->n_spare_jobs++;
}

/*  Sends a finished job's reply: routing id, delimiter, header, body. */
static void
s_send_job (secpol_server_t *self, secpol_job_t *job)
{
    zmq_msg_t header, body, delimiter;
    zmq_msg_init_size (&header, job->header_size);
    memcpy (zmq_msg_data (&header), job->header, job->header_size);
    zmq_msg_init (&delimiter);
    if (job->reply) {
        void *reply = job->reply;
        job->reply = NULL; /* libzmq owns it now */
        if (secpol_peers_attach (job->peer, &body, reply, job->reply_size) != 0)
            secpol_out_of_memory (job->reply_size);
    } else
        zmq_msg_init (&body);
    if (zmq_msg_send (&job->identity, self->router_raw, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        /* the peer is gone (EHOSTUNREACH) or reads nothing (EAGAIN at its
         * high-water mark): its reply is dropped, never queued without bound */
        self->dropped++;
        zmq_msg_close (&delimiter);
        zmq_msg_close (&header);
        zmq_msg_close (&body);
        return;
    }
    zmq_msg_send (&delimiter, self->router_raw, ZMQ_SNDMORE);
    zmq_msg_send (&header, self->router_raw, ZMQ_SNDMORE);
    zmq_msg_send (&body, self->router_raw, 0);
    self->served++;
}

static void
s_send_replies (secpol_server_t *self)
{
    secpol_job_t *job = secpol_lanes_replies (self->lanes);
    int64_t now = job ? s_monotonic_us () : 0;
    while (job) {
        secpol_job_t *next = job->next;
        /* the one place every reply a lane made passes: count it here */
        secpol_metrics_reply (self->metrics, job->method, job->code, now - job->received_us);
        if (job->code == SECPOL_OK && job->call.events)
            secpol_metrics_events (self->metrics, job->call.events);
        s_send_job (self, job);
        secpol_peers_done (self->peers, job->peer, zmq_msg_size (&job->body));
        self->in_flight--;
        s_job_free (self, job);
        job = next;
    }
}

/*  Answers a request of method (NULL when none resolved) that the front
 *  end refuses itself. identity is closed. */
static void
s_refuse (secpol_server_t *self, const secpol_method_t *method, zmq_msg_t *identity,
          uint64_t call_id, int code, const char *message)
{
    secpol_metrics_reply (self->metrics, method, code, -1);
    uint8_t buf[1024];
    size_t size = secpol_wire_pack_response (buf, sizeof buf, call_id, code, message, 0, NULL);
    if (size == 0) /* a reason too long for the buffer: send the bare code name */
        size = secpol_wire_pack_response (buf, sizeof buf, call_id, code, secpol_status_name (code),
                                          0, NULL);
    self->refused++;
    if (zmq_msg_send (identity, self->router_raw, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        self->dropped++;
        zmq_msg_close (identity);
        return;
    }
    zmq_send (self->router_raw, "", 0, ZMQ_SNDMORE);
    zmq_send (self->router_raw, buf, size, ZMQ_SNDMORE);
    zmq_send (self->router_raw, "", 0, 0);
}

/*  Says, at most once a second (the sweep), that connections were shed at
 *  the descriptor ceiling (accept_guard.h). */
static void
s_log_shed (secpol_server_t *self)
{
    uint64_t shed = secpol_accept_guard_shed ();
    if (shed == self->shed_logged)
        return;
    secpol_log (SECPOL_LOG_WARN, "connection limit reached",
                "max_connections=%u shed=%llu since_last=%llu", self->config.max_connections,
                (unsigned long long)shed, (unsigned long long)(shed - self->shed_logged));
    self->shed_logged = shed;
}

static int64_t
s_monotonic_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
