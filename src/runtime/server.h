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
    unsigned write_batch_max;                    /* most requests in one group commit; 0 = 256 */
    unsigned max_queued;                  /* per lane; more are refused UNAVAILABLE; 0 = 65536 */
    unsigned max_connections;             /* 0 = what RLIMIT_NOFILE allows, less a reserve */
    unsigned max_peer_requests;           /* in flight per client; 0 = 4096 */
    size_t max_peer_bytes;                /* request + reply bytes held per client; 0 = 16 MiB */
    unsigned drain_ms;                    /* on stop: serve queued requests this long; 0 = 10000 */
    unsigned linger_ms;                   /* then flush replies at most this long; 0 = 5000 */
    unsigned handshake_ms;                /* ZMQ_HANDSHAKE_IVL; 0 = 5000 */
    bool test_clock;                      /* serve TestClockService */
    secpol_role_t default_role;           /* role of unauthenticated callers */
    secpol_store_options_t store;         /* map size, no_sync (tests only) */
    const secpol_method_table_t *methods; /* NULL = secpol_method_table_default () */
} secpol_server_config_t;

/*  Opens the store and binds every endpoint. On failure returns NULL and
 *  writes a reason into err. Caller owns return value. */
secpol_server_t *secpol_server_new (const secpol_server_config_t *config, char *err,
                                    size_t err_size);

/*  Serves until *stop becomes non-zero (a signal handler sets it), then
 *  shuts down exactly: requests that arrive from then on are answered
 *  UNAVAILABLE at once; requests already queued are served for up to
 *  drain_ms, and those still queued then are answered UNAVAILABLE without
 *  running; requests running are finished (a WRITE batch commits and is
 *  answered). Every reply is handed to libzmq; secpol_server_destroy()
 *  then gives libzmq up to linger_ms to write them to the peers. Logs the
 *  true counts ("stopped served=... refused=... unanswered=...").
 *  Returns 0. */
int secpol_server_run (secpol_server_t *self, volatile sig_atomic_t *stop);

/*  Closes sockets (flushing queued replies for up to linger_ms), stops the
 *  lanes and closes the store. NULL-safe; nulls the pointer. */
void secpol_server_destroy (secpol_server_t **self_p);

/*  The store, for handlers that need facts about it (schema version). */
secpol_store_t *secpol_server_store (secpol_server_t *self);

/*  The clock handlers see: wall clock + test offset, unix seconds. */
int64_t secpol_server_now (secpol_server_t *self);

/*  Sets the test clock offset in seconds (TestClockService). */
void secpol_server_set_clock_offset (secpol_server_t *self, int64_t offset_seconds);
int64_t secpol_server_clock_offset (secpol_server_t *self);

/*  Number of WRITE lane transactions committed and requests they carried,
 *  for tests and benchmarks of group commit. */
void secpol_server_write_stats (secpol_server_t *self, uint64_t *commits, uint64_t *requests);

#endif
