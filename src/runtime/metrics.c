/*  metrics.c - counters in Prometheus text format; see metrics.h. */
#include "metrics.h"

#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

#define CODES 17 /* gRPC canonical codes 0..16; others count as UNKNOWN (2) */

/* Upper bounds of the latency buckets, microseconds (then +Inf). */
static const int64_t s_latency_bounds_us[] = {100,     250,     500,     1000,    2500,   5000,
                                              10000,   25000,   50000,   100000,  250000, 500000,
                                              1000000, 2500000, 5000000, 10000000};
#define LATENCY_BUCKETS (sizeof s_latency_bounds_us / sizeof s_latency_bounds_us[0] + 1)

static const char *const s_lockout_kinds[SECPOL_EVENT_COUNT] = {
    /* label of each lock event */
    [SECPOL_EVENT_LOCKED_LOGIN] = "login",
    [SECPOL_EVENT_LOCKED_CLAIM] = "claim",
    [SECPOL_EVENT_LOCKED_TWO_FACTOR] = "two_factor",
};

typedef atomic_uint_fast64_t counter_t;

/* One method's counters, written by the front end thread only. Aligned so
 * that two methods never share a cache line. */
typedef struct {
    _Alignas(64) counter_t replies[CODES];      /* by status code */
    counter_t latency_buckets[LATENCY_BUCKETS]; /* non-cumulative; summed when rendered */
    counter_t latency_sum_us;                   /* of the replies in the buckets */
} method_counters_t;

struct secpol_metrics {
    const secpol_method_table_t *methods;
    size_t n_methods;
    method_counters_t *by_method; /* [n_methods], in table order; then one for "unknown" */
    _Alignas(64) counter_t events[SECPOL_EVENT_COUNT]; /* by secpol_event_t */
};

/*  The only writer adds: a relaxed load and store, no locked instruction. */
static inline void
s_add (counter_t *counter, uint64_t n)
{
    atomic_store_explicit (counter, atomic_load_explicit (counter, memory_order_relaxed) + n,
                           memory_order_relaxed);
}

static inline uint64_t
s_read (counter_t *counter)
{
    return atomic_load_explicit (counter, memory_order_relaxed);
}

secpol_metrics_t *
secpol_metrics_new (const secpol_method_table_t *methods)
{
    secpol_metrics_t *self = secpol_xcalloc (1, sizeof *self);
    self->methods = methods;
    self->n_methods = secpol_method_table_size (methods);
    /* aligned_alloc: the counters' alignment; calloc's does not promise 64 */
    size_t bytes = (self->n_methods + 1) * sizeof *self->by_method;
    self->by_method = aligned_alloc (_Alignof(method_counters_t), bytes);
    if (!self->by_method)
        secpol_out_of_memory (bytes);
    for (size_t i = 0; i <= self->n_methods; i++) {
        method_counters_t *counters = &self->by_method[i];
        for (size_t c = 0; c < CODES; c++)
            atomic_init (&counters->replies[c], 0);
        for (size_t b = 0; b < LATENCY_BUCKETS; b++)
            atomic_init (&counters->latency_buckets[b], 0);
        atomic_init (&counters->latency_sum_us, 0);
    }
    return self;
}

void
secpol_metrics_destroy (secpol_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->by_method);
    free (*self_p);
    *self_p = NULL;
}

void
secpol_metrics_reply (secpol_metrics_t *self, const secpol_method_t *method, int code,
                      int64_t latency_us)
{
    size_t index = method ? secpol_method_table_index (self->methods, method) : self->n_methods;
    method_counters_t *counters = &self->by_method[index];
    s_add (&counters->replies[code >= 0 && code < CODES ? code : SECPOL_UNKNOWN], 1);
    if (latency_us < 0)
        return;
    size_t bucket = 0;
    while (bucket < LATENCY_BUCKETS - 1 && latency_us > s_latency_bounds_us[bucket])
        bucket++;
    s_add (&counters->latency_buckets[bucket], 1);
    s_add (&counters->latency_sum_us, (uint64_t)latency_us);
}

void
secpol_metrics_events (secpol_metrics_t *self, uint32_t events)
{
    for (int event = 0; events && event < SECPOL_EVENT_COUNT; event++)
        if (events & (1u << event))
            s_add (&self->events[event], 1);
}

void
secpol_metrics_render (secpol_metrics_t *self, FILE *out)
{
    fputs ("# HELP secpol_requests_total Replies sent, by method and status code (method "
           "\"unknown\": no method the server knows).\n"
           "# TYPE secpol_requests_total counter\n",
           out);
    for (size_t i = 0; i <= self->n_methods; i++) {
        const char *path =
            i < self->n_methods ? secpol_method_table_at (self->methods, i)->path : "unknown";
        for (int code = 0; code < CODES; code++) {
            uint64_t n = s_read (&self->by_method[i].replies[code]);
            if (n)
                fprintf (out, "secpol_requests_total{method=\"%s\",code=\"%s\"} %llu\n", path,
                         secpol_status_name (code), (unsigned long long)n);
        }
    }
    fputs ("# HELP secpol_request_duration_seconds Time from a request's receipt to its reply, "
           "for requests a lane ran (front end refusals are only counted).\n"
           "# TYPE secpol_request_duration_seconds histogram\n",
           out);
    for (size_t i = 0; i < self->n_methods; i++) {
        method_counters_t *counters = &self->by_method[i];
        uint64_t buckets[LATENCY_BUCKETS], total = 0;
        for (size_t b = 0; b < LATENCY_BUCKETS; b++)
            total += buckets[b] = s_read (&counters->latency_buckets[b]);
        if (total == 0)
            continue;
        const char *path = secpol_method_table_at (self->methods, i)->path;
        uint64_t cumulative = 0;
        for (size_t b = 0; b < LATENCY_BUCKETS; b++) {
            cumulative += buckets[b];
            if (b < LATENCY_BUCKETS - 1)
                fprintf (
                    out, "secpol_request_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %llu\n",
                    path, (double)s_latency_bounds_us[b] / 1e6, (unsigned long long)cumulative);
            else
                fprintf (out,
                         "secpol_request_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %llu\n",
                         path, (unsigned long long)cumulative);
        }
        fprintf (out, "secpol_request_duration_seconds_sum{method=\"%s\"} %.6f\n", path,
                 (double)s_read (&counters->latency_sum_us) / 1e6);
        fprintf (out, "secpol_request_duration_seconds_count{method=\"%s\"} %llu\n", path,
                 (unsigned long long)cumulative);
    }
    fputs ("# HELP secpol_lockouts_total Counters that reached their limit and locked, by "
           "lockout kind.\n"
           "# TYPE secpol_lockouts_total counter\n",
           out);
    for (int event = SECPOL_EVENT_LOCKED_LOGIN; event <= SECPOL_EVENT_LOCKED_TWO_FACTOR; event++)
        fprintf (out, "secpol_lockouts_total{kind=\"%s\"} %llu\n", s_lockout_kinds[event],
                 (unsigned long long)s_read (&self->events[event]));
    fprintf (out,
             "# HELP secpol_otp_failures_total One-time codes refused and counted as a "
             "two-factor failure (wrong, expired or burned; a locked subject's are not "
             "looked at).\n"
             "# TYPE secpol_otp_failures_total counter\n"
             "secpol_otp_failures_total %llu\n",
             (unsigned long long)s_read (&self->events[SECPOL_EVENT_OTP_FAILURE]));
}

/*  One gauge or counter with its HELP and TYPE lines. */
static void
s_single (FILE *out, const char *name, const char *type, const char *help, double value)
{
    fprintf (out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

void
secpol_metrics_render_stats (const secpol_stats_t *stats, FILE *out)
{
    const secpol_lanes_stats_t *w = &stats->writes;
    const secpol_store_stats_t *st = &stats->store;
    static const char *const lanes[SECPOL_LANE_COUNT] = {"read", "write", "slow"};
    fputs ("# HELP secpol_lane_queue_depth Requests waiting in a lane's queue, not started.\n"
           "# TYPE secpol_lane_queue_depth gauge\n",
           out);
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++)
        fprintf (out, "secpol_lane_queue_depth{lane=\"%s\"} %llu\n", lanes[lane],
                 (unsigned long long)w->queued[lane]);
    fputs ("# HELP secpol_write_batch_size Requests one durable WRITE lane transaction (group "
           "commit) carried, for commits that carried any.\n"
           "# TYPE secpol_write_batch_size histogram\n",
           out);
    uint64_t batches = 0;
    for (int i = 0; i < SECPOL_BATCH_BUCKETS; i++) {
        batches += w->batch_buckets[i]; /* bucket i: more than 2^(i-1), at most 2^i */
        fprintf (out, "secpol_write_batch_size_bucket{le=\"%llu\"} %llu\n", 1ull << i,
                 (unsigned long long)batches);
    }
    fprintf (out,
             "secpol_write_batch_size_bucket{le=\"+Inf\"} %llu\n"
             "secpol_write_batch_size_sum %llu\n"
             "secpol_write_batch_size_count %llu\n",
             (unsigned long long)batches, (unsigned long long)w->committed_requests,
             (unsigned long long)batches);
    s_single (out, "secpol_write_commits_total", "counter",
              "Durable WRITE lane transactions, sweeps included.", (double)w->commits);
    s_single (out, "secpol_write_failed_commits_total", "counter",
              "WRITE lane commits that failed (disk full included); their requests were "
              "answered as not written.",
              (double)w->failed_commits);
    s_single (out, "secpol_write_last_commit_seconds", "gauge",
              "How long the last commit (write and fsync) took.", (double)w->last_commit_us / 1e6);
    s_single (out, "secpol_expired_records_swept_total", "counter",
              "Expired records the writer deleted.", (double)w->swept);
    s_single (out, "secpol_store_disk_full", "gauge",
              "1 while writes are refused because the data dir's filesystem is full.",
              w->disk_full ? 1 : 0);
    s_single (out, "secpol_store_disk_full_refusals_total", "counter",
              "Writes refused RESOURCE_EXHAUSTED for a full disk.", (double)w->disk_full_refusals);
    s_single (out, "secpol_store_stale_readers_cleared_total", "counter",
              "LMDB reader slots of dead processes cleared.", (double)w->stale_readers);
    s_single (out, "secpol_store_map_size_bytes", "gauge",
              "The LMDB map size (it grows on demand).", (double)st->map_size);
    s_single (out, "secpol_store_used_bytes", "gauge",
              "Bytes of the map up to the last page in use.", (double)st->map_used);
    s_single (out, "secpol_store_free_bytes", "gauge",
              "Bytes below that in free pages, reused before the file grows.",
              (double)st->free_pages * st->page_size);
    s_single (out, "secpol_store_file_bytes", "gauge", "Size of data.mdb.", (double)st->file_size);
    s_single (out, "secpol_store_disk_free_bytes", "gauge",
              "Bytes free for secpold on the data dir's filesystem.", (double)st->disk_free);
    s_single (out, "secpol_store_readers", "gauge", "LMDB reader slots held by threads and tools.",
              (double)st->readers_used);
    s_single (out, "secpol_store_max_readers", "gauge", "LMDB reader slots in all.",
              (double)st->max_readers);
    fputs ("# HELP secpol_store_table_entries Keys in each table of the store.\n"
           "# TYPE secpol_store_table_entries gauge\n",
           out);
    for (size_t i = 0; i < st->n_tables; i++)
        fprintf (out, "secpol_store_table_entries{table=\"%s\"} %llu\n", st->tables[i].name,
                 (unsigned long long)st->tables[i].entries);
}
