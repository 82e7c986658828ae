/*  server.h - secpold's runtime: ROUTER front end, READ / WRITE / SLOW lanes.
 *
 *  The front end thread owns the ROUTER socket. It checks each request's
 *  frames and header, looks the method up in the method table, and queues
 *  the request on the method's lane:
 *    READ  - N workers, each request in its own read-only transaction;
 *    WRITE - one writer; every request waiting is run in one write
 *            transaction (group commit), each in its own nested transaction
 *            so that a failing request rolls back alone; replies leave only
 *            after the durable commit;
 *    SLOW  - a pool for costly work (argon2id) outside any transaction,
 *            whose result then goes through the WRITE lane.
 *  Lane threads send replies back to the front end over inproc PUSH/PULL;
 *  only the front end touches the ROUTER.
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
 *  stops taking requests, drains the ones in flight (up to 30 s), stops the
 *  lanes. Returns 0. */
int secpol_server_run (secpol_server_t *self, volatile sig_atomic_t *stop);

/*  Closes sockets and the store. NULL-safe; nulls the pointer. */
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
