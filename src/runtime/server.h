/*  server.h - secpold's runtime: the ROUTER front end and its lifetime.
 *
 *  The front end thread owns the ROUTER socket and every other socket. It
 *  checks each request's frames and header (wire.h), looks the method up
 *  in the method table, holds the caller to its share of the daemon
 *  (peers.h) and queues the request on the method's lane (lanes.h); it
 *  sends the replies the lanes hand back. It also bounds connections to
 *  what the process's file descriptors allow, and on stop answers every
 *  request it took before closing (see secpol_server_run).
 */
#ifndef SECPOL_SERVER_H_INCLUDED
#define SECPOL_SERVER_H_INCLUDED

#include "call.h"
#include "method_table.h"
#include "store.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECPOL_MAX_ENDPOINTS 16

typedef struct {
    const char *endpoints[SECPOL_MAX_ENDPOINTS]; /* ZeroMQ endpoints to bind */
    size_t n_endpoints;                          /* 0 = tcp://127.0.0.1:7420 */
    const char *data_dir;                        /* LMDB directory; created if missing */
    int read_workers;                            /* READ lane threads; 0 = number of cores */
    int slow_workers;                            /* SLOW lane threads; 0 = max (1, cores / 2) */
    unsigned write_batch_max;      /* most requests in one group commit; 0 = all waiting */
    unsigned max_queued;           /* per lane; more are refused UNAVAILABLE; 0 = 65536 */
    unsigned max_connections;      /* 0 = what RLIMIT_NOFILE allows, less a reserve */
    unsigned max_peer_requests;    /* in flight per client; 0 = 4096 */
    size_t max_peer_bytes;         /* request + reply bytes held per client; 0 = 16 MiB */
    unsigned drain_ms;             /* on stop: serve queued requests this long; 0 = 10000 */
    unsigned grace_ms;             /* then let running handlers finish this long; 0 = 5000 */
    unsigned remember_me_days;     /* absolute lifetime of remember-me sessions; 0 = 30 */
    unsigned linger_ms;            /* then flush replies at most this long; 0 = 5000 */
    unsigned handshake_ms;         /* ZMQ_HANDSHAKE_IVL; 0 = 5000 */
    bool test_clock;               /* serve TestClockService */
    const char *metrics_listen;    /* "ADDR:PORT" of /metrics, /healthz, /readyz; NULL = none */
    secpol_role_t default_role;    /* role of every caller without CURVE */
    const char *curve_secret_key;  /* server's certificate (auth.h); NULL = no CURVE */
    const char *authorized_keys;   /* dir of allowed client certificates (with CURVE) */
    bool insecure;                 /* without CURVE, bind non-loopback endpoints too */
    unsigned audit_retention_days; /* audit events older are reaped; 0 = kept forever */
    secpol_store_options_t store;  /* map size, no_sync (tests only) */
    const secpol_method_table_t *methods; /* NULL = secpol_method_table_default () */
} secpol_server_config_t;

/*  Opens the store and binds every endpoint. Refuses, with a reason in err
 *  and NULL:
 *    - without curve_secret_key, a tcp:// endpoint whose host is not a
 *      loopback address (127.0.0.0/8, ::1, localhost) unless insecure:
 *      plain text reaching other hosts, and every caller an admin;
 *    - curve_secret_key without authorized_keys or the other way round,
 *      or keys auth.h refuses;
 *    - a tcp:// port that is not a number from 0 to 65535 or *, an
 *      endpoint given twice (before anything is created);
 *    - a data dir another secpold serves: the data dir (created with its
 *      parents, mode 0700, when missing) holds secpold.lock, which this
 *      server keeps locked (flock) until secpol_server_destroy;
 *    - an ipc:// path that is not a socket, or whose socket another
 *      process still accepts connections on (a stale one, left by a
 *      process that died, is replaced);
 *    - an endpoint libzmq cannot bind, naming it and libzmq's reason.
 *  Caller owns return value. */
secpol_server_t *secpol_server_new (const secpol_server_config_t *config, char *err,
                                    size_t err_size);

/*  Logs a "listening" line per endpoint with the address really bound (a
 *  wildcard or 0 port resolved; requested= shows what was asked when it
 *  differs; test_clock=on when it is), with the test clock a warning at
 *  once and every minute, then serves until *stop becomes non-zero (a
 *  signal handler sets it), then shuts down exactly: requests that arrive from then on are answered
 *  UNAVAILABLE at once; requests already queued are served for up to
 *  drain_ms, and those still queued then are answered UNAVAILABLE without
 *  running (so are the requests of a WRITE batch not started yet: the
 *  batch is cut there); requests running are finished (a WRITE batch
 *  commits what ran and is answered). Every reply is handed to libzmq; secpol_server_destroy()
 *  then gives libzmq up to linger_ms to write them to the peers. Logs the
 *  true counts ("stopped served=... refused=... unanswered=...").
 *  Returns 0. */
int secpol_server_run (secpol_server_t *self, volatile sig_atomic_t *stop);

/*  Makes secpol_server_run call secpol_server_reload once each time
 *  *reload becomes non-zero (a SIGHUP handler sets it); it resets *reload
 *  to 0 first. reload may be NULL (no reloads). Call before
 *  secpol_server_run; the flag must outlive the server. */
void secpol_server_watch_reload (secpol_server_t *self, volatile sig_atomic_t *reload);

/*  What SIGHUP does, on the front end thread: logs "reload" and, with
 *  CURVE, reads the authorized keys again (auth.h); a key removed is
 *  refused from the next request on. Logs go to stderr, which needs no
 *  reopening. Never stops the server nor drops a connection. */
void secpol_server_reload (secpol_server_t *self);

/*  Closes sockets (flushing queued replies for up to linger_ms), removes
 *  the ipc:// socket files it created (unless another process has since
 *  put its own there), stops the lanes, closes the store and releases the
 *  data dir's lock. NULL-safe; nulls the pointer. */
void secpol_server_destroy (secpol_server_t **self_p);

/*  The store, for handlers that need facts about it (schema version). */
secpol_store_t *secpol_server_store (secpol_server_t *self);

/*  How long a remember-me session lives, in seconds (--remember-me-days). */
int64_t secpol_server_remember_me_seconds (secpol_server_t *self);

/*  The clock handlers see: wall clock + test offset, unix seconds. */
int64_t secpol_server_now (secpol_server_t *self);

/*  Sets the test clock offset in seconds (TestClockService); logs a warning
 *  ("test clock moved") when it changes. Any thread. */
void secpol_server_set_clock_offset (secpol_server_t *self, int64_t offset_seconds);
int64_t secpol_server_clock_offset (secpol_server_t *self);

/*  The server's counters (metrics.h), for the lanes. */
typedef struct secpol_metrics secpol_metrics_t;
secpol_metrics_t *secpol_server_metrics (secpol_server_t *self);

/*  Number of WRITE lane transactions committed and requests they carried,
 *  for tests and benchmarks of group commit. */
void secpol_server_write_stats (secpol_server_t *self, uint64_t *commits, uint64_t *requests);

/*  The lanes' counters (lanes.h); stats.h gathers them with the store's. */
struct secpol_lanes_stats;
void secpol_server_lanes_stats (secpol_server_t *self, struct secpol_lanes_stats *out);

/*  Wall clock when the server was made, unix seconds. */
int64_t secpol_server_started_at (secpol_server_t *self);

#endif
