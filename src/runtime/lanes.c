/*  lanes.c - lane queues and threads; see lanes.h. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "lanes.h"

#include "alloc.h"
#include "audit.h"
#include "expiry.h"
#include "log.h"
#include "memo.h"
#include "peers.h"
#include "server.h"
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define GROW_ATTEMPTS     16   /* map doublings before a batch gives up */
#define CONFLICT_ATTEMPTS 32   /* serialization failures before a batch gives up */
#define WRITE_ARENAS      512  /* arenas the writer keeps: a batch's first jobs use them */
#define READ_BATCH        16   /* most jobs a READ thread takes at once */
#define SWEEP_INTERVAL_MS 1000 /* how often the writer deletes expired records */
#define SWEEP_BUDGET      256  /* expired records one sweep transaction deletes */
#define READER_CHECK_MS   5000 /* how often the writer clears dead processes' reader slots */

/* A blocking FIFO of jobs shared by the front end and one lane. */
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t ready;
    secpol_job_t *head, *tail;
    size_t length;
    bool closed; /* no more jobs: workers exit when empty */
} queue_t;

typedef struct {
    secpol_lanes_t *lanes;
    secpol_lane_t lane;
    pthread_t thread;
} worker_t;

struct secpol_lanes {
    secpol_lanes_config_t config;
    secpol_store_t *store;
    secpol_server_t *server;
    queue_t queues[SECPOL_LANE_COUNT]; /* indexed by lane */
    worker_t *workers;                 /* every lane thread */
    size_t n_workers;
    /* finished jobs on their way back to the front end */
    pthread_mutex_t reply_mutex;
    secpol_job_t *reply_head, *reply_tail;
    int reply_fd;                            /* eventfd: readable while replies wait */
    atomic_bool signalled;                   /* reply_fd was written and not yet read */
    atomic_uint_fast64_t commits;            /* WRITE lane commits */
    atomic_uint_fast64_t committed_requests; /* requests those commits carried */
    atomic_uint_fast64_t swept;              /* expired records deleted */
    atomic_uint_fast64_t batch_buckets[SECPOL_BATCH_BUCKETS]; /* commits by requests carried */
    atomic_uint_fast64_t last_batch;         /* requests the last batch commit carried */
    atomic_uint_fast64_t max_batch;          /* most requests one commit carried */
    atomic_int_fast64_t last_commit_ms;      /* wall clock of the last commit, unix ms; 0 = none */
    atomic_int_fast64_t last_commit_us;      /* how long that commit (its fsync) took */
    atomic_uint_fast64_t failed_commits;     /* top-level commits that failed */
    atomic_uint_fast64_t disk_full_refusals; /* requests refused for a full disk */
    atomic_bool disk_full;                   /* the last commit failed for a full disk */
    atomic_uint_fast64_t stale_readers;      /* reader slots of dead processes cleared */
    atomic_size_t running;                   /* lane threads in their loop */
    atomic_int_fast64_t drain_until_us;      /* monotonic; 0 = not draining (drain_until) */
    atomic_uint_fast64_t drain_cancelled;    /* batch jobs answered "did not run" past it */
    /* the writer's own: the jobs of a batch and an arena for each, kept and
     * grown between batches, so a batch allocates nothing once warm */
    secpol_job_t **batch_jobs;
    bool *batch_started;
    secpol_arena_t **batch_arenas;
    size_t batch_capacity;
    secpol_memo_t *write_memo; /* the writer's derived values (memo.h) */
};

static void s_queue_init (queue_t *q);
static void s_queue_push (queue_t *q, secpol_job_t *job);
static secpol_job_t *s_queue_pop (queue_t *q, size_t max, size_t share, int wait_ms);
static void s_queue_close (queue_t *q);
static bool s_queue_closed (queue_t *q);
static void s_queue_destroy (queue_t *q);
static void *s_worker (void *arg);
static int64_t s_monotonic_us (void);
static void s_commit_done (secpol_lanes_t *self, int rc, size_t carried, int64_t took_us);
static bool s_drain_passed (secpol_lanes_t *self);

secpol_lanes_t *
secpol_lanes_new (const secpol_lanes_config_t *config, secpol_store_t *store,
                  secpol_server_t *server)
{
    secpol_lanes_t *self = secpol_xcalloc (1, sizeof *self);
    self->config = *config;
    self->write_memo = secpol_memo_new ();
    /* 0 = adaptive: everything waiting, which max_queued bounds */
    if (self->config.write_batch_max == 0 || self->config.write_batch_max > config->max_queued)
        self->config.write_batch_max = config->max_queued ? config->max_queued : 1;
    self->store = store;
    self->server = server;
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++)
        s_queue_init (&self->queues[lane]);
    pthread_mutex_init (&self->reply_mutex, NULL);
    self->reply_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->reply_fd < 0) {
        secpol_lanes_destroy (&self);
        return NULL;
    }
    self->n_workers = (size_t)config->read_workers + 1 + (size_t)config->slow_workers;
    self->workers = secpol_xcalloc (self->n_workers, sizeof *self->workers);
    for (size_t i = 0; i < self->n_workers; i++) {
        worker_t *worker = &self->workers[i];
        worker->lanes = self;
        worker->lane = i < (size_t)config->read_workers    ? SECPOL_LANE_READ
                       : i == (size_t)config->read_workers ? SECPOL_LANE_WRITE
                                                           : SECPOL_LANE_SLOW;
        if (pthread_create (&worker->thread, NULL, s_worker, worker) != 0) {
            self->n_workers = i;
            secpol_lanes_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
secpol_lanes_destroy (secpol_lanes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_lanes_t *self = *self_p;
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++)
        s_queue_close (&self->queues[lane]);
    for (size_t i = 0; i < self->n_workers; i++)
        pthread_join (self->workers[i].thread, NULL);
    free (self->workers);
    for (size_t i = 0; i < self->batch_capacity; i++)
        secpol_arena_destroy (&self->batch_arenas[i]);
    free (self->batch_arenas);
    secpol_memo_destroy (&self->write_memo);
    free (self->batch_jobs);
    free (self->batch_started);
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++)
        s_queue_destroy (&self->queues[lane]);
    for (secpol_job_t *job = self->reply_head, *next; job; job = next) {
        next = job->next;
        secpol_job_destroy (&job);
    }
    pthread_mutex_destroy (&self->reply_mutex);
    if (self->reply_fd >= 0)
        close (self->reply_fd);
    free (self);
    *self_p = NULL;
}

secpol_job_t *
secpol_lanes_submit (secpol_lanes_t *self, secpol_lane_t lane, secpol_job_t *list)
{
    queue_t *queue = &self->queues[lane];
    size_t added = 0;
    pthread_mutex_lock (&queue->mutex);
    while (list && queue->length < self->config.max_queued) {
        secpol_job_t *job = list;
        list = job->next;
        job->next = NULL;
        if (queue->tail)
            queue->tail->next = job;
        else
            queue->head = job;
        queue->tail = job;
        queue->length++;
        added++;
    }
    if (added == 1)
        pthread_cond_signal (&queue->ready);
    else if (added > 1)
        pthread_cond_broadcast (&queue->ready);
    pthread_mutex_unlock (&queue->mutex);
    return list;
}

int
secpol_lanes_reply_fd (secpol_lanes_t *self)
{
    return self->reply_fd;
}

secpol_job_t *
secpol_lanes_replies (secpol_lanes_t *self)
{
    /* Clear the signal before taking the list: a reply pushed after the
     * take finds the queue empty and signals again. */
    if (atomic_exchange (&self->signalled, false)) {
        uint64_t count;
        while (read (self->reply_fd, &count, sizeof count) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_lock (&self->reply_mutex);
    secpol_job_t *list = self->reply_head;
    self->reply_head = self->reply_tail = NULL;
    pthread_mutex_unlock (&self->reply_mutex);
    return list;
}

/*  Hands finished jobs (a list linked by next, ending at last) back to the
 *  front end; one wake-up for a whole batch. */
static void
s_reply (secpol_lanes_t *self, secpol_job_t *first, secpol_job_t *last)
{
    last->next = NULL;
    pthread_mutex_lock (&self->reply_mutex);
    bool was_empty = self->reply_head == NULL;
    if (self->reply_tail)
        self->reply_tail->next = first;
    else
        self->reply_head = first;
    self->reply_tail = last;
    pthread_mutex_unlock (&self->reply_mutex);
    if (was_empty && !atomic_exchange (&self->signalled, true)) {
        uint64_t one = 1;
        while (write (self->reply_fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
}

void
secpol_lanes_drain_until (secpol_lanes_t *self, int64_t until_us)
{
    atomic_store (&self->drain_until_us, until_us);
}

uint64_t
secpol_lanes_drain_cancelled (secpol_lanes_t *self)
{
    return atomic_load (&self->drain_cancelled);
}

/*  True once the drain's end (secpol_lanes_drain_until) has passed. */
static bool
s_drain_passed (secpol_lanes_t *self)
{
    int64_t until = atomic_load (&self->drain_until_us);
    return until != 0 && s_monotonic_us () >= until;
}

secpol_job_t *
secpol_lanes_cancel_queued (secpol_lanes_t *self)
{
    secpol_job_t *taken = NULL, **tail = &taken;
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++) {
        queue_t *queue = &self->queues[lane];
        pthread_mutex_lock (&queue->mutex);
        secpol_job_t **link = &queue->head, *last = NULL;
        while (*link) {
            secpol_job_t *job = *link;
            /* a SLOW job in the write queue has run prepare: let it finish */
            if (lane == SECPOL_LANE_WRITE && job->method->spec->lane == SECPOL_LANE_SLOW) {
                last = job;
                link = &job->next;
                continue;
            }
            *link = job->next;
            queue->length--;
            job->next = NULL;
            *tail = job;
            tail = &job->next;
        }
        queue->tail = last;
        pthread_mutex_unlock (&queue->mutex);
    }
    return taken;
}

void
secpol_lanes_write_stats (secpol_lanes_t *self, uint64_t *commits, uint64_t *requests)
{
    *commits = atomic_load (&self->commits);
    *requests = atomic_load (&self->committed_requests);
}

void
secpol_lanes_stats (secpol_lanes_t *self, secpol_lanes_stats_t *out)
{
    memset (out, 0, sizeof *out);
    out->commits = atomic_load (&self->commits);
    out->committed_requests = atomic_load (&self->committed_requests);
    for (size_t i = 0; i < SECPOL_BATCH_BUCKETS; i++)
        out->batch_buckets[i] = atomic_load (&self->batch_buckets[i]);
    out->last_batch = atomic_load (&self->last_batch);
    out->max_batch = atomic_load (&self->max_batch);
    out->last_commit_ms = atomic_load (&self->last_commit_ms);
    out->last_commit_us = atomic_load (&self->last_commit_us);
    out->failed_commits = atomic_load (&self->failed_commits);
    out->disk_full_refusals = atomic_load (&self->disk_full_refusals);
    out->disk_full = atomic_load (&self->disk_full);
    out->swept = atomic_load (&self->swept);
    out->stale_readers = atomic_load (&self->stale_readers);
    for (int lane = 0; lane < SECPOL_LANE_COUNT; lane++) {
        pthread_mutex_lock (&self->queues[lane].mutex);
        out->queued[lane] = self->queues[lane].length;
        pthread_mutex_unlock (&self->queues[lane].mutex);
    }
}

uint64_t
secpol_lanes_swept (secpol_lanes_t *self)
{
    return atomic_load (&self->swept);
}

bool
secpol_lanes_running (secpol_lanes_t *self)
{
    return atomic_load (&self->running) == self->n_workers;
}

/* --- running a job ---------------------------------------------------------- */

/*  Prepares a job to run: deadline, arena, decode, response. Returns false
 *  when the job is already answered (code set). */
static bool
s_job_start (secpol_lanes_t *self, secpol_job_t *job, int64_t now, secpol_arena_t *arena)
{
    if (!job->arena_borrowed)
        secpol_arena_destroy (&job->call.arena);
    memset (&job->call, 0, sizeof job->call);
    job->arena_borrowed = arena != NULL;
    job->call.arena = arena ? arena : secpol_arena_new ();
    if (job->deadline_us && s_monotonic_us () > job->deadline_us) {
        job->code = SECPOL_DEADLINE_EXCEEDED;
        return false;
    }
    job->call.now = now;
    job->call.method = job->method->path;
    job->call.request_id = job->request_id;
    job->call.caller = job->caller;
    job->call.role = job->role;
    job->call.server = self->server;
    const ProtobufCMethodDescriptor *descriptor = job->method->descriptor;
    const uint8_t *data = zmq_msg_data (&job->body);
    size_t size = zmq_msg_size (&job->body);
    char field[256];
    const char *problem = NULL;
    if (!secpol_wire_check_strings (descriptor->input, data, size, field, sizeof field, &problem)) {
        secpol_call_violation (&job->call, field, "%s", problem);
        job->code = secpol_call_fail (&job->call, SECPOL_INVALID_ARGUMENT, "invalid field: %s %s",
                                      field, problem);
        return false;
    }
    job->request = protobuf_c_message_unpack (descriptor->input,
                                              secpol_arena_allocator (job->call.arena), size, data);
    if (!job->request) {
        job->code =
            secpol_call_fail (&job->call, SECPOL_INVALID_ARGUMENT,
                              "request body does not decode as %s", descriptor->input->name);
        return false;
    }
    job->response = secpol_arena_message (job->call.arena, descriptor->output);
    job->code = SECPOL_OK;
    return true;
}

/*  Packs the job's reply (header, and body when OK) into buffers the front
 *  end sends, then frees what the handler allocated. */
static void
s_job_pack (secpol_job_t *job)
{
    const char *message = job->call.message;
    if (!message && job->code == SECPOL_DEADLINE_EXCEEDED)
        message = "deadline exceeded before the request started";
    else if (!message && job->code != SECPOL_OK)
        message = secpol_status_name (job->code);
    job->header_size = secpol_wire_response_size (job->call_id, job->code, message,
                                                  job->call.n_violations, job->call.violations);
    job->header = secpol_xmalloc (job->header_size);
    secpol_wire_pack_response (job->header, job->header_size, job->call_id, job->code, message,
                               job->call.n_violations, job->call.violations);
    if (job->code == SECPOL_OK && job->response) {
        job->reply_size = protobuf_c_message_get_packed_size (job->response);
        if (job->reply_size) {
            job->reply = secpol_reply_buffer_new (job->reply_size);
            protobuf_c_message_pack (job->response, job->reply);
        }
    }
    if (secpol_log_enabled (SECPOL_LOG_DEBUG)) {
        char quoted[200];
        secpol_log (SECPOL_LOG_DEBUG, "call", "method=%s code=%s us=%lld request_id=%s",
                    job->method->path, secpol_status_name (job->code),
                    (long long)(s_monotonic_us () - job->received_us),
                    secpol_log_quote (quoted, sizeof quoted, job->request_id));
    }
    secpol_txn_abort (&job->call.txn);
    if (job->arena_borrowed)
        job->call.arena = NULL; /* the lane thread resets it */
    else
        secpol_arena_destroy (&job->call.arena);
    job->arena_borrowed = false;
    job->request = job->response = NULL;
}

/*  A READ thread keeps one arena and one read transaction and reuses both
 *  for every request: no allocation and no reader-slot lookup per call. */
/*  Runs one READ job and packs its reply; returns false when the job went
 *  on to the WRITE lane instead (its handler answered SECPOL_NEEDS_WRITE). */
static bool
s_run_read_one (secpol_lanes_t *self, secpol_job_t *job, secpol_arena_t *arena,
                secpol_txn_t **txn_p, secpol_memo_t *memo)
{
    if (s_job_start (self, job, secpol_server_now (self->server), arena)) {
        int rc = *txn_p ? secpol_txn_renew (*txn_p) : SECPOL_EINVAL;
        if (rc) {
            secpol_txn_abort (txn_p);
            rc = secpol_txn_begin (self->store, NULL, false, txn_p);
        }
        if (rc)
            job->code = secpol_call_fail (&job->call, SECPOL_UNAVAILABLE,
                                          "store is unavailable: %s", secpol_strerror (rc));
        else {
            secpol_txn_set_memo (*txn_p, memo);
            job->call.txn = *txn_p;
            job->code = job->method->spec->handler->fn (&job->call, job->request, job->response);
            job->call.txn = NULL;
            secpol_txn_reset (*txn_p);
        }
    }
    if (job->code == SECPOL_NEEDS_WRITE) {
        /* It must write after all: run it again, from the start, on the
         * WRITE lane (the arena is this thread's: leave it here). */
        job->call.arena = NULL;
        job->arena_borrowed = false;
        job->request = job->response = NULL;
        job->code = SECPOL_OK;
        job->escalated = true;
        secpol_arena_reset (arena);
        secpol_memo_quiesce (memo);
        s_queue_push (&self->queues[SECPOL_LANE_WRITE], job);
        return false;
    }
    s_job_pack (job);
    secpol_arena_reset (arena);
    secpol_memo_quiesce (memo); /* packed: nothing holds what it found there */
    return true;
}

/*  Runs the jobs of a list one after the other; answers them together. */
static void
s_run_read (secpol_lanes_t *self, secpol_job_t *first, secpol_arena_t *arena, secpol_txn_t **txn_p,
            secpol_memo_t *memo)
{
    secpol_job_t *answered = NULL, **tail = &answered, *last = NULL;
    for (secpol_job_t *job = first, *next; job; job = next) {
        next = job->next;
        job->next = NULL;
        if (s_run_read_one (self, job, arena, txn_p, memo)) {
            *tail = last = job;
            tail = &job->next;
        }
    }
    if (answered)
        s_reply (self, answered, last);
}

static void
s_run_slow (secpol_lanes_t *self, secpol_job_t *job)
{
    if (s_job_start (self, job, secpol_server_now (self->server), NULL)) {
        const secpol_method_spec_t *spec = job->method->spec;
        job->code =
            spec->prepare ? spec->prepare->fn (&job->call, job->request, job->response) : SECPOL_OK;
        if (job->code == SECPOL_OK && spec->handler) {
            s_queue_push (&self->queues[SECPOL_LANE_WRITE], job); /* the WRITE lane answers it */
            return;
        }
    }
    s_job_pack (job);
    s_reply (self, job, job);
}

/*  Runs a batch in one durable transaction, each job nested. Returns 0, or
 *  why the batch must run again: SECPOL_EMAPFULL (after a grow) or
 *  SECPOL_ECONFLICT (a concurrent transaction of another secpold on the
 *  same PostgreSQL database won; see store_pg.h). */
static int
s_run_write_batch (secpol_lanes_t *self, secpol_job_t **jobs, size_t n, bool *started)
{
    int64_t now = secpol_server_now (self->server);
    secpol_txn_t *top = NULL;
    int rc = secpol_txn_begin (self->store, NULL, true, &top);
    if (rc == 0)
        secpol_txn_set_memo (top, self->write_memo);
    for (size_t i = 0; i < n; i++) {
        secpol_job_t *job = jobs[i];
        if (!started[i]) {
            /* a SLOW job arrives decoded and prepared; keep its result */
            if (job->method->spec->lane == SECPOL_LANE_SLOW && job->call.arena) {
                job->call.now = now;
                job->code = SECPOL_OK;
            } else {
                secpol_arena_t *arena = i < WRITE_ARENAS ? self->batch_arenas[i] : NULL;
                if (arena)
                    secpol_arena_reset (arena); /* a rerun after a grow starts afresh */
                if (!s_job_start (self, job, now, arena))
                    continue;
                if (s_drain_passed (self)) {
                    /* Shutting down and the drain is over: a job of the
                     * batch not yet run is answered as one still queued
                     * (secpol_lanes_cancel_queued), so that a long batch
                     * cannot keep the rest past the drain unanswered. */
                    job->code = secpol_call_fail (&job->call, SECPOL_UNAVAILABLE,
                                                  "server is shutting down; the request did "
                                                  "not run");
                    atomic_fetch_add (&self->drain_cancelled, 1);
                    started[i] = true;
                    continue;
                }
            }
            started[i] = true;
        } else if (job->code != SECPOL_OK)
            continue;
        if (rc) {
            job->code = secpol_call_fail (&job->call, SECPOL_UNAVAILABLE,
                                          "store is unavailable: %s", secpol_strerror (rc));
            continue;
        }
        secpol_txn_t *nested = NULL;
        int nrc = secpol_txn_begin (self->store, top, true, &nested);
        if (nrc) {
            job->code = secpol_call_fail (&job->call, SECPOL_INTERNAL, "nested transaction: %s",
                                          secpol_strerror (nrc));
            continue;
        }
        job->call.txn = nested;
        job->call.writable = true;
        secpol_txn_set_owner (nested, &job->call); /* who the audit log names (audit.h) */
        job->code = job->method->spec->handler->fn (&job->call, job->request, job->response);
        if (job->code == SECPOL_NEEDS_WRITE) /* it had its write transaction */
            job->code = secpol_call_fail (&job->call, SECPOL_INTERNAL,
                                          "handler asked for a write transaction it already had");
        if (job->code == SECPOL_OK) {
            nrc = secpol_txn_commit (&job->call.txn);
            if (nrc)
                job->code = secpol_call_fail (&job->call, SECPOL_INTERNAL, "commit: %s",
                                              secpol_strerror (nrc));
        } else
            secpol_txn_abort (&job->call.txn);
        job->call.txn = NULL;
    }
    if (rc)
        return 0;
    if (secpol_txn_map_full (top) || secpol_txn_conflict (top)) {
        rc = secpol_txn_map_full (top) ? SECPOL_EMAPFULL : SECPOL_ECONFLICT;
        secpol_txn_abort (&top);
        return rc;
    }
    int64_t commit_started = s_monotonic_us ();
    rc = secpol_txn_commit (&top);
    if (rc == SECPOL_EMAPFULL || rc == SECPOL_ECONFLICT)
        return rc;
    size_t carried = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == SECPOL_EDISKFULL && jobs[i]->code == SECPOL_OK)
            jobs[i]->code = secpol_call_fail (
                &jobs[i]->call, SECPOL_RESOURCE_EXHAUSTED,
                "store is out of disk space: the write was not made (reads are still served; "
                "retry once the operator has freed space)");
        else if (rc && jobs[i]->code == SECPOL_OK)
            jobs[i]->code = secpol_call_fail (&jobs[i]->call, SECPOL_UNAVAILABLE,
                                              "commit failed: %s", secpol_strerror (rc));
        if (jobs[i]->code == SECPOL_OK)
            carried++;
    }
    s_commit_done (self, rc, carried, s_monotonic_us () - commit_started);
    return 0;
}

/*  Books a top-level commit of the WRITE lane (a batch, or a sweep when
 *  carried is 0): the counters secpol_lanes_stats() reports, and one log
 *  line when the disk fills and one when writes work again, never one per
 *  failed batch. */
static void
s_commit_done (secpol_lanes_t *self, int rc, size_t carried, int64_t took_us)
{
    if (rc == 0) {
        atomic_fetch_add (&self->commits, 1);
        atomic_fetch_add (&self->committed_requests, carried);
        if (carried) {
            size_t bucket = 0;
            while (bucket + 1 < SECPOL_BATCH_BUCKETS && ((size_t)1 << bucket) < carried)
                bucket++;
            atomic_fetch_add (&self->batch_buckets[bucket], 1);
            atomic_store (&self->last_batch, carried);
            if (carried > atomic_load (&self->max_batch))
                atomic_store (&self->max_batch, carried); /* one writer: no race */
        }
        struct timespec real;
        clock_gettime (CLOCK_REALTIME, &real);
        atomic_store (&self->last_commit_ms, (int64_t)real.tv_sec * 1000 + real.tv_nsec / 1000000);
        atomic_store (&self->last_commit_us, took_us);
        /* A small write can fit in pages the store freed earlier while the
         * disk is still full: the state ends once there is room again. */
        if (atomic_load (&self->disk_full) && !secpol_store_space_low (self->store)) {
            atomic_store (&self->disk_full, false);
            secpol_log (SECPOL_LOG_INFO, "store writes again", "refused_while_full=%llu",
                        (unsigned long long)atomic_load (&self->disk_full_refusals));
        }
        return;
    }
    atomic_fetch_add (&self->failed_commits, 1);
    if (rc == SECPOL_EDISKFULL) {
        atomic_fetch_add (&self->disk_full_refusals, carried ? carried : 1);
        if (!atomic_exchange (&self->disk_full, true))
            secpol_log (SECPOL_LOG_ERROR, "store out of disk space",
                        "note=\"writes answer RESOURCE_EXHAUSTED until space is freed on the data "
                        "dir's filesystem; reads are served\"");
        return;
    }
    secpol_log (SECPOL_LOG_ERROR, "commit failed", "error=\"%s\"", secpol_strerror (rc));
}

/*  Makes room for n jobs in the writer's batch arrays: grown by doubling
 *  to the largest batch the load has brought, never shrunk, so a warm
 *  writer allocates nothing per batch. The first WRITE_ARENAS jobs of a
 *  batch get an arena of the writer's (reset after each reply); the rest,
 *  only under a backlog that large, one of their own. */
static void
s_batch_reserve (secpol_lanes_t *self, size_t n)
{
    if (n <= self->batch_capacity)
        return;
    size_t capacity = self->batch_capacity ? self->batch_capacity : 64;
    while (capacity < n)
        capacity *= 2;
    self->batch_jobs = secpol_xrealloc (self->batch_jobs, capacity * sizeof *self->batch_jobs);
    self->batch_started =
        secpol_xrealloc (self->batch_started, capacity * sizeof *self->batch_started);
    self->batch_arenas =
        secpol_xrealloc (self->batch_arenas, capacity * sizeof *self->batch_arenas);
    for (size_t i = self->batch_capacity; i < capacity; i++)
        self->batch_arenas[i] = i < WRITE_ARENAS ? secpol_arena_new () : NULL;
    self->batch_capacity = capacity;
}

/*  Runs the jobs of first (a list of at most write_batch_max) as one group
 *  commit, growing the map when it fills; replies only after the commit. */
static void
s_run_write (secpol_lanes_t *self, secpol_job_t *first)
{
    size_t n = 0;
    for (secpol_job_t *job = first; job; job = job->next)
        n++;
    s_batch_reserve (self, n);
    secpol_job_t **jobs = self->batch_jobs;
    bool *started = self->batch_started;
    n = 0;
    for (secpol_job_t *job = first; job; job = job->next) {
        started[n] = false;
        jobs[n++] = job;
    }
    for (int attempt = 0, conflicts = 0;;) {
        int again = s_run_write_batch (self, jobs, n, started);
        if (!again)
            break;
        int rc = 0;
        if (again == SECPOL_ECONFLICT) {
            /* Everything rolled back: run again, as it is, after a random
             * pause that grows with each try (up to 128 ms), so that the
             * instances that collided do not collide again in step. */
            conflicts++;
            uint32_t cap_us = 1000u << (conflicts < 7 ? conflicts : 7);
            struct timespec pause = {0, (long)randombytes_uniform (cap_us) * 1000};
            nanosleep (&pause, NULL);
        } else {
            /* The map is full: everything rolled back. Grow and run again. */
            size_t before = secpol_store_map_size (self->store);
            rc = secpol_store_grow (self->store);
            secpol_log (SECPOL_LOG_INFO, "store grown", "from=%zu to=%zu", before,
                        secpol_store_map_size (self->store));
            attempt++;
        }
        /* WRITE jobs start afresh; SLOW jobs keep what prepare produced
         * (see the contract in service.h) and forget the failed try. */
        for (size_t i = 0; i < n; i++)
            if (jobs[i]->method->spec->lane != SECPOL_LANE_SLOW)
                started[i] = false;
            else {
                jobs[i]->code = SECPOL_OK;
                jobs[i]->call.message = NULL;
                jobs[i]->call.n_violations = 0;
                jobs[i]->call.note = NULL;
                jobs[i]->call.violations = NULL;
            }
        if (rc || attempt > GROW_ATTEMPTS || conflicts >= CONFLICT_ATTEMPTS) {
            bool full = conflicts < CONFLICT_ATTEMPTS;
            for (size_t i = 0; i < n; i++)
                if (jobs[i]->code == SECPOL_OK || !started[i]) {
                    if (!jobs[i]->call.arena)
                        jobs[i]->call.arena = secpol_arena_new ();
                    jobs[i]->code =
                        full ? secpol_call_fail (&jobs[i]->call, SECPOL_RESOURCE_EXHAUSTED,
                                                 "store is full and cannot grow")
                             : secpol_call_fail (&jobs[i]->call, SECPOL_ABORTED,
                                                 "conflicting writes from other instances; "
                                                 "try again");
                }
            break;
        }
    }
    secpol_log_hold (); /* the batch's lines in one write, before any reply */
    for (size_t i = 0; i < n; i++) {
        secpol_job_t *job = jobs[i];
        if (job->code == SECPOL_OK && job->call.note) {
            char quoted[200];
            secpol_log (SECPOL_LOG_INFO, "write", "method=%s %s request_id=%s", job->method->path,
                        job->call.note, secpol_log_quote (quoted, sizeof quoted, job->request_id));
        }
        s_job_pack (job);
        if (i < WRITE_ARENAS)
            secpol_arena_reset (self->batch_arenas[i]);
        job->next = i + 1 < n ? jobs[i + 1] : NULL;
    }
    secpol_memo_quiesce (self->write_memo); /* all packed: nothing holds its values */
    secpol_log_release ();
    s_reply (self, jobs[0], jobs[n - 1]);
}

/*  Deletes one batch of expired records in its own durable transaction.
 *  Returns true when more are expired (sweep again soon). */
static bool
s_sweep (secpol_lanes_t *self)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        secpol_txn_t *txn = NULL;
        if (secpol_txn_begin (self->store, NULL, true, &txn))
            return false;
        size_t deleted = 0, reaped = 0;
        bool more = false, more_audit = false;
        int64_t now = secpol_server_now (self->server);
        int rc = secpol_expiry_sweep (txn, now, SWEEP_BUDGET, &deleted, &more);
        /* audit events past the retention go too, oldest first (audit.h) */
        if (rc == 0 && self->config.audit_retention_seconds > 0)
            rc = secpol_audit_reap (txn, now - self->config.audit_retention_seconds, SWEEP_BUDGET,
                                    &reaped, &more_audit);
        deleted += reaped;
        more |= more_audit;
        if (rc == 0 && secpol_txn_conflict (txn))
            rc = SECPOL_ECONFLICT;
        if (rc == 0 && !secpol_txn_map_full (txn))
            rc = secpol_txn_commit (&txn);
        else {
            if (rc == 0)
                rc = SECPOL_EMAPFULL;
            secpol_txn_abort (&txn);
        }
        if (rc == SECPOL_EMAPFULL && attempt == 0 && secpol_store_grow (self->store) == 0)
            continue; /* deletes can split pages too: grow once and retry */
        if (rc == SECPOL_EDISKFULL) {
            s_commit_done (self, rc, 0, 0); /* logged once, with the batches */
            return false;
        }
        if (rc == SECPOL_ECONFLICT) {
            /* another secpold swept (or wrote) the same records first: its
             * commit stands, ours rolled back whole; the next interval
             * sweeps what is left */
            secpol_log (SECPOL_LOG_DEBUG, "sweep conflict", NULL);
            return false;
        }
        if (rc) {
            secpol_log (SECPOL_LOG_ERROR, "sweep failed", "error=\"%s\"", secpol_strerror (rc));
            return false;
        }
        if (deleted)
            s_commit_done (self, 0, 0, 0);
        if (deleted) {
            atomic_fetch_add (&self->swept, deleted);
            secpol_log (SECPOL_LOG_DEBUG, "swept", "expired=%zu more=%s", deleted,
                        more ? "yes" : "no");
        }
        return more;
    }
    return false;
}

/*  Frees the reader slots of dead processes (a backup tool killed in the
 *  middle, say): each pins the pages of its snapshot, and the file would
 *  grow instead of reusing them until the next start. */
static void
s_check_readers (secpol_lanes_t *self)
{
    int cleared = 0;
    int rc = secpol_store_check_readers (self->store, &cleared);
    if (rc)
        secpol_log (SECPOL_LOG_ERROR, "reader check failed", "error=\"%s\"", secpol_strerror (rc));
    else if (cleared > 0) {
        atomic_fetch_add (&self->stale_readers, (uint64_t)cleared);
        secpol_log (SECPOL_LOG_INFO, "stale readers cleared", "slots=%d", cleared);
    }
}

static void *
s_worker (void *arg)
{
    worker_t *worker = arg;
    secpol_lanes_t *self = worker->lanes;
    static const char *const names[SECPOL_LANE_COUNT] = {"secpol/read", "secpol/write",
                                                         "secpol/slow"};
    pthread_setname_np (pthread_self (), names[worker->lane]); /* for top -H, perf, gdb */
    queue_t *queue = &self->queues[worker->lane];
    /* The writer takes everything waiting (group commit); a READ thread
     * takes its share of what waits, up to READ_BATCH, and answers them
     * together; a SLOW thread one at a time (each is long). */
    size_t batch = worker->lane == SECPOL_LANE_WRITE  ? self->config.write_batch_max
                   : worker->lane == SECPOL_LANE_READ ? READ_BATCH
                                                      : 1;
    size_t share = worker->lane == SECPOL_LANE_READ ? (size_t)self->config.read_workers : 1;
    secpol_arena_t *arena = worker->lane == SECPOL_LANE_READ ? secpol_arena_new () : NULL;
    /* a READ thread's derived values; the writer's is the lanes' (a SLOW
     * job prepares in its own arena: it may run in a batch much later) */
    secpol_memo_t *memo = worker->lane == SECPOL_LANE_READ ? secpol_memo_new () : NULL;
    secpol_txn_t *txn = NULL;
    int64_t next_sweep = s_monotonic_us () + SWEEP_INTERVAL_MS * 1000;
    int64_t next_reader_check = s_monotonic_us () + READER_CHECK_MS * 1000;
    atomic_fetch_add (&self->running, 1);
    for (;;) {
        /* The writer wakes to sweep expired records (expiry.h) when no
         * write has come for a while, and between write batches at most
         * once per interval; a sweep is one bounded transaction. */
        int wait_ms = -1;
        if (worker->lane == SECPOL_LANE_WRITE) {
            int64_t left = next_sweep - s_monotonic_us ();
            wait_ms = left <= 0 ? 0 : (int)(left / 1000);
        }
        secpol_job_t *job = s_queue_pop (queue, batch, share, wait_ms);
        if (worker->lane == SECPOL_LANE_WRITE && s_monotonic_us () >= next_sweep) {
            bool more = s_sweep (self);
            next_sweep = s_monotonic_us () + (more ? 0 : SWEEP_INTERVAL_MS * 1000);
        }
        if (worker->lane == SECPOL_LANE_WRITE && s_monotonic_us () >= next_reader_check) {
            s_check_readers (self);
            next_reader_check = s_monotonic_us () + READER_CHECK_MS * 1000;
        }
        if (!job) {
            if (s_queue_closed (queue))
                break;
            continue;
        }
        switch (worker->lane) {
            case SECPOL_LANE_READ:
                s_run_read (self, job, arena, &txn, memo);
                break;
            case SECPOL_LANE_WRITE:
                s_run_write (self, job);
                break;
            default:
                s_run_slow (self, job);
                break;
        }
    }
    atomic_fetch_sub (&self->running, 1);
    secpol_txn_abort (&txn);
    secpol_arena_destroy (&arena);
    secpol_memo_destroy (&memo);
    return NULL;
}

/* --- helpers -------------------------------------------------------------- */

void
secpol_job_clear (secpol_job_t *job)
{
    secpol_txn_abort (&job->call.txn);
    if (!job->arena_borrowed)
        secpol_arena_destroy (&job->call.arena);
    zmq_msg_close (&job->identity);
    zmq_msg_close (&job->body);
    free (job->header);
    secpol_reply_buffer_free (job->reply);
    memset (job, 0, sizeof *job);
    zmq_msg_init (&job->identity);
    zmq_msg_init (&job->body);
}

void
secpol_job_destroy (secpol_job_t **job_p)
{
    secpol_job_t *job = *job_p;
    if (!job)
        return;
    secpol_job_clear (job);
    free (job);
    *job_p = NULL;
}

static int64_t
s_monotonic_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_queue_init (queue_t *q)
{
    pthread_mutex_init (&q->mutex, NULL);
    pthread_condattr_t attr; /* timed waits measure the monotonic clock */
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&q->ready, &attr);
    pthread_condattr_destroy (&attr);
}

/*  Pushes without the length bound (SLOW jobs moving to the WRITE lane). */
static void
s_queue_push (queue_t *q, secpol_job_t *job)
{
    job->next = NULL;
    pthread_mutex_lock (&q->mutex);
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->length++;
    pthread_cond_signal (&q->ready);
    pthread_mutex_unlock (&q->mutex);
}

/*  Blocks until a job is queued or the queue is closed and empty (NULL),
 *  or, with wait_ms >= 0, for at most that long (NULL, queue open).
 *  Returns up to max jobs, and no more than a 1/share part of what waits
 *  (at least one), as a list linked by next. */
static secpol_job_t *
s_queue_pop (queue_t *q, size_t max, size_t share, int wait_ms)
{
    pthread_mutex_lock (&q->mutex);
    if (wait_ms >= 0) {
        struct timespec until;
        clock_gettime (CLOCK_MONOTONIC, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        while (!q->head && !q->closed)
            if (pthread_cond_timedwait (&q->ready, &q->mutex, &until) == ETIMEDOUT)
                break;
    } else
        while (!q->head && !q->closed)
            pthread_cond_wait (&q->ready, &q->mutex);
    if (share > 1 && q->length / share < max)
        max = q->length / share > 0 ? q->length / share : 1;
    secpol_job_t *first = q->head;
    secpol_job_t *last = first;
    size_t n = first ? 1 : 0;
    while (last && last->next && n < max) {
        last = last->next;
        n++;
    }
    if (first) {
        q->head = last->next;
        if (!q->head)
            q->tail = NULL;
        last->next = NULL;
        q->length -= n;
    }
    pthread_mutex_unlock (&q->mutex);
    return first;
}

static bool
s_queue_closed (queue_t *q)
{
    pthread_mutex_lock (&q->mutex);
    bool closed = q->closed && !q->head;
    pthread_mutex_unlock (&q->mutex);
    return closed;
}

static void
s_queue_close (queue_t *q)
{
    pthread_mutex_lock (&q->mutex);
    q->closed = true;
    pthread_cond_broadcast (&q->ready);
    pthread_mutex_unlock (&q->mutex);
}

static void
s_queue_destroy (queue_t *q)
{
    secpol_job_t *job = q->head;
    while (job) {
        secpol_job_t *next = job->next;
        secpol_job_destroy (&job);
        job = next;
    }
    pthread_mutex_destroy (&q->mutex);
    pthread_cond_destroy (&q->ready);
}
