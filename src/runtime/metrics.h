/*  metrics.h - counters of what secpold does, in Prometheus text format.
 *
 *  The front end counts every reply it sends by method and status code,
 *  with the time from receipt to reply in a histogram per method, and the
 *  events handlers mark on calls that succeeded (call.h: secpol_call_event).
 *  What the lanes and the store say of themselves (stats.h, the same
 *  numbers as AdminService/GetStats) is rendered beside these. docs/OPERATIONS.md lists every
 * metric.
 *
 *  Cost on the hot path: every counter here has one writer thread (the
 *  front end thread, which counts replies and events where it sends them), so
 *  an update is a relaxed atomic load and store of the writer's own word:
 *  no lock, no read-modify-write instruction, no cache line shared with
 *  another writer. Readers (the metrics HTTP thread) load relaxed: a scrape
 *  may see one counter a request ahead of another, never a torn value.
 */
#ifndef SECPOL_METRICS_H_INCLUDED
#define SECPOL_METRICS_H_INCLUDED

#include "call.h"
#include "method_table.h"
#include "stats.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct secpol_metrics secpol_metrics_t;

/*  Counters for every method of methods (which must outlive them), all
 *  zero. Caller owns return value. */
secpol_metrics_t *secpol_metrics_new (const secpol_method_table_t *methods);

/*  NULL-safe; nulls the pointer. */
void secpol_metrics_destroy (secpol_metrics_t **self_p);

/*  Counts one reply of method (NULL: the request named no method the table
 *  knows, or its header did not decode) with status code. latency_us >= 0
 *  also puts the time from receipt to reply in the method's histogram; a
 *  refusal the front end answers without queueing passes -1. Front end
 *  thread only. */
void secpol_metrics_reply (secpol_metrics_t *self, const secpol_method_t *method, int code,
                           int64_t latency_us);

/*  Counts the events (bits of secpol_event_t) of a call that succeeded.
 *  Front end thread only. */
void secpol_metrics_events (secpol_metrics_t *self, uint32_t events);

/*  Writes the counters above in Prometheus text format 0.0.4 (HELP, TYPE
 *  and samples; a method appears once it has a reply). Any thread. */
void secpol_metrics_render (secpol_metrics_t *self, FILE *out);

/*  Writes what stats holds (secpol_stats_collect: the writer's counters and
 *  the store as LMDB sees it) in the same format: batch sizes, commits,
 *  queues, disk, map, file, readers, table sizes. Any thread. */
void secpol_metrics_render_stats (const secpol_stats_t *stats, FILE *out);

#endif
