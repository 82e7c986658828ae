/*  stats.h - what a running secpold can say about its store and its writer.
 *
 *  One function gathers it for every reader: AdminService/GetStats (and
 *  `secpolctl stats`) and any metrics page. Each call reads the counters the
 *  lanes keep (lanes.h) and asks LMDB about the store (store.h) inside one
 *  read transaction, so the table counts agree with each other.
 */
#ifndef SECPOL_STATS_H_INCLUDED
#define SECPOL_STATS_H_INCLUDED

#include "lanes.h"
#include "server.h"
#include "store.h"

#include <stdint.h>

typedef struct {
    secpol_store_stats_t store;  /* tables, map, file, disk, readers */
    secpol_lanes_stats_t writes; /* commits, batch sizes, last commit, disk full, queues */
    int64_t started_at;          /* wall clock secpold started, unix seconds */
} secpol_stats_t;

/*  Fills out for server. txn is a transaction of the server's store to
 *  read in (a handler's call->txn), or NULL: then the function begins and
 *  ends a read-only transaction of its own (from a thread that holds
 *  none). Any thread. Returns 0 or a store error (secpol_strerror). */
int secpol_stats_collect (secpol_server_t *server, secpol_txn_t *txn, secpol_stats_t *out)
    __attribute__ ((warn_unused_result));

#endif
