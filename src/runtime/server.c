/*  server.c - front end and lanes; see server.h. */
#include "server.h"

#include "log.h"
#include "wire.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT    "tcp://127.0.0.1:7420"
#define DEFAULT_WRITE_BATCH 256
#define DEFAULT_MAX_QUEUED  65536
#define DRAIN_TIMEOUT_MS    30000
#define POLL_INTERVAL_MS    100

/* One request on its way through a lane. */
typedef struct job {
    struct job *next;              /* queue link */
    zframe_t *identity;            /* ROUTER routing id of the caller */
    zframe_t *body;                /* request bytes */
    uint64_t call_id;              /* echoed in the reply */
    char request_id[80];           /* for logs */
    const secpol_method_t *method; /* resolved method */
    int64_t received_us;           /* monotonic, at the front end */
    int64_t deadline_us;           /* monotonic; 0 = none */
    secpol_call_t call;            /* the handler's context and answer */
    ProtobufCMessage *request;     /* decoded body, in call.arena */
    ProtobufCMessage *response;    /* in call.arena */
    int code;                      /* status so far */
} job_t;

/* A blocking FIFO of jobs shared by the front end and one lane. */
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t ready;
    job_t *head, *tail;
    size_t length;
    bool closed; /* no more jobs: workers exit when empty */
} queue_t;

typedef struct {
    secpol_server_t *server;
    secpol_lane_t lane;
    pthread_t thread;
} worker_t;

struct secpol_server {
    secpol_server_config_t config;      /* copy of the caller's config */
    secpol_method_table_t *own_methods; /* when we built the default table */
    const secpol_method_table_t *methods;
    secpol_store_t *store;
    zsock_t *router;           /* the front end socket */
    zsock_t *replies;          /* PULL: lane threads send replies here */
    char replies_endpoint[64]; /* inproc address of replies */
    queue_t read_queue, write_queue, slow_queue;
    worker_t *workers; /* every lane thread */
    size_t n_workers;
    atomic_int_fast64_t clock_offset;        /* test clock, seconds */
    atomic_uint_fast64_t commits;            /* WRITE lane commits */
    atomic_uint_fast64_t committed_requests; /* requests those commits carried */
    size_t in_flight;                        /* queued or running; front end only */
};

static void s_queue_init (queue_t *q);
static void s_queue_push (queue_t *q, job_t *job);
static job_t *s_queue_pop (queue_t *q, size_t max);
static void s_queue_close (queue_t *q);
static size_t s_queue_length (queue_t *q);
static void s_queue_destroy (queue_t *q);
static void *s_worker (void *arg);
static void s_job_destroy (job_t **job_p);
static void s_reply_error (zsock_t *socket, zframe_t *identity, uint64_t call_id, int code,
                           const char *message);
static int64_t s_monotonic_us (void);

secpol_server_t *
secpol_server_new (const secpol_server_config_t *config, char *err, size_t err_size)
{
    /* We handle SIGINT/SIGTERM ourselves; czmq must not install its handler. */
    zsys_handler_set (NULL);
    secpol_server_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    self->config = *config;
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (self->config.read_workers <= 0)
        self->config.read_workers = (int)cores;
    if (self->config.slow_workers <= 0)
        self->config.slow_workers = cores > 2 ? (int)cores / 2 : 1;
    if (self->config.write_batch_max == 0)
        self->config.write_batch_max = DEFAULT_WRITE_BATCH;
    if (self->config.max_queued == 0)
        self->config.max_queued = DEFAULT_MAX_QUEUED;
    if (self->config.n_endpoints == 0) {
        self->config.endpoints[0] = DEFAULT_ENDPOINT;
        self->config.n_endpoints = 1;
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
    s_queue_init (&self->read_queue);
    s_queue_init (&self->write_queue);
    s_queue_init (&self->slow_queue);

    if (!config->data_dir || !*config->data_dir) {
        snprintf (err, err_size, "data dir is not set");
        goto fail;
    }
    if (mkdir (config->data_dir, 0700) < 0 && errno != EEXIST) {
        snprintf (err, err_size, "cannot create data dir %s: %s", config->data_dir,
                  strerror (errno));
        goto fail;
    }
    secpol_store_options_t store_options = config->store;
    store_options.tables = secpol_method_table_tables (self->methods, &store_options.n_tables);
    int rc = secpol_store_open (&self->store, config->data_dir, &store_options);
    if (rc) {
        snprintf (err, err_size, "cannot open store in %s: %s", config->data_dir,
                  secpol_strerror (rc));
        goto fail;
    }

    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router) {
        snprintf (err, err_size, "cannot create ROUTER socket: %s", zmq_strerror (zmq_errno ()));
        goto fail;
    }
    zsock_set_maxmsgsize (self->router, SECPOL_HARD_MAX_MESSAGE);
    zsock_set_linger (self->router, 1000);
    zsock_set_sndhwm (self->router, 100000);
    zsock_set_rcvhwm (self->router, 100000);
    for (size_t i = 0; i < self->config.n_endpoints; i++) {
        const char *endpoint = self->config.endpoints[i];
        if (zsock_bind (self->router, "%s", endpoint) < 0) {
            snprintf (err, err_size, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
            goto fail;
        }
    }
    snprintf (self->replies_endpoint, sizeof self->replies_endpoint, "inproc://secpol-replies-%p",
              (void *)self);
    self->replies = zsock_new (ZMQ_PULL);
    if (!self->replies || zsock_bind (self->replies, "%s", self->replies_endpoint) < 0) {
        snprintf (err, err_size, "cannot bind %s", self->replies_endpoint);
        goto fail;
    }
    zsock_set_rcvhwm (self->replies, 0);

    self->n_workers = (size_t)self->config.read_workers + 1 + (size_t)self->config.slow_workers;
    self->workers = calloc (self->n_workers, sizeof *self->workers);
    for (size_t i = 0; i < self->n_workers; i++) {
        worker_t *worker = &self->workers[i];
        worker->server = self;
        worker->lane = i < (size_t)self->config.read_workers    ? SECPOL_LANE_READ
                       : i == (size_t)self->config.read_workers ? SECPOL_LANE_WRITE
                                                                : SECPOL_LANE_SLOW;
        if (pthread_create (&worker->thread, NULL, s_worker, worker) != 0) {
            snprintf (err, err_size, "cannot start lane thread");
            self->n_workers = i;
            goto fail;
        }
    }
    return self;

fail:
    secpol_server_destroy (&self);
    return NULL;
}

void
secpol_server_destroy (secpol_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_server_t *self = *self_p;
    s_queue_close (&self->read_queue);
    s_queue_close (&self->write_queue);
    s_queue_close (&self->slow_queue);
    for (size_t i = 0; i < self->n_workers; i++)
        pthread_join (self->workers[i].thread, NULL);
    free (self->workers);
    s_queue_destroy (&self->read_queue);
    s_queue_destroy (&self->write_queue);
    s_queue_destroy (&self->slow_queue);
    zsock_destroy (&self->replies);
    zsock_destroy (&self->router);
    secpol_store_close (&self->store);
    secpol_method_table_destroy (&self->own_methods);
    free (self);
    *self_p = NULL;
}

secpol_store_t *
secpol_server_store (secpol_server_t *self)
{
    return self->store;
}

int64_t
secpol_server_now (secpol_server_t *self)
{
    return (int64_t)time (NULL) + atomic_load (&self->clock_offset);
}

void
secpol_server_set_clock_offset (secpol_server_t *self, int64_t offset_seconds)
{
    atomic_store (&self->clock_offset, offset_seconds);
}

int64_t
secpol_server_clock_offset (secpol_server_t *self)
{
    return atomic_load (&self->clock_offset);
}

void
secpol_server_write_stats (secpol_server_t *self, uint64_t *commits, uint64_t *requests)
{
    *commits = atomic_load (&self->commits);
    *requests = atomic_load (&self->committed_requests);
}

/* --- front end ------------------------------------------------------------ */

/*  Checks one request from the ROUTER and queues it, or answers it at once.
 *  Takes ownership of msg. */
static void
s_accept (secpol_server_t *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop (msg);
    const void *frames[3];
    size_t sizes[3];
    size_t n = zmsg_size (msg);
    zframe_t *frame = zmsg_first (msg);
    for (size_t i = 0; i < 3 && frame; i++, frame = zmsg_next (msg)) {
        frames[i] = zframe_data (frame);
        sizes[i] = zframe_size (frame);
    }
    secpol_wire_policy_t policy = {self->config.test_clock, self->config.default_role};
    secpol_wire_request_t request;
    char reason[512];
    int code = secpol_wire_check_request (&request, reason, sizeof reason, self->methods, &policy,
                                          n, frames, sizes);
    if (code != SECPOL_OK) {
        if (secpol_log_enabled (SECPOL_LOG_DEBUG)) {
            char quoted[600];
            secpol_log (SECPOL_LOG_DEBUG, "rejected", "code=%s reason=%s",
                        secpol_status_name (code),
                        secpol_log_quote (quoted, sizeof quoted, reason));
        }
        s_reply_error (self->router, identity, request.call_id, code, reason);
        zframe_destroy (&identity);
        zmsg_destroy (&msg);
        return;
    }
    queue_t *queue = request.method->spec->lane == SECPOL_LANE_READ    ? &self->read_queue
                     : request.method->spec->lane == SECPOL_LANE_WRITE ? &self->write_queue
                                                                       : &self->slow_queue;
    if (s_queue_length (queue) >= self->config.max_queued) {
        /* Overload: refuse at once rather than queue without bound; the
         * client retries with backoff. */
        s_reply_error (self->router, identity, request.call_id, SECPOL_UNAVAILABLE,
                       "server is overloaded: too many requests queued; retry later");
        zframe_destroy (&identity);
        zmsg_destroy (&msg);
        return;
    }
    job_t *job = calloc (1, sizeof *job);
    job->identity = identity;
    zmsg_first (msg);
    zmsg_next (msg);
    job->body = zmsg_next (msg);
    zmsg_remove (msg, job->body);
    zmsg_destroy (&msg);
    job->call_id = request.call_id;
    memcpy (job->request_id, request.request_id, sizeof job->request_id);
    job->method = request.method;
    job->received_us = s_monotonic_us ();
    if (request.deadline_ms)
        job->deadline_us = job->received_us + (int64_t)request.deadline_ms * 1000;
    self->in_flight++;
    s_queue_push (queue, job);
}

/*  Forwards every reply the lanes have sent, up to max; returns how many.
 *  Both front-end sockets have a zero receive timeout, so a receive with
 *  nothing waiting returns at once. */
static size_t
s_forward_replies (secpol_server_t *self, size_t max)
{
    size_t n = 0;
    zmsg_t *reply;
    while (n < max && (reply = zmsg_recv (self->replies))) {
        if (self->in_flight)
            self->in_flight--;
        zmsg_send (&reply, self->router);
        n++;
    }
    return n;
}

int
secpol_server_run (secpol_server_t *self, volatile sig_atomic_t *stop)
{
    for (size_t i = 0; i < self->config.n_endpoints; i++)
        secpol_log (SECPOL_LOG_INFO, "listening", "endpoint=%s", self->config.endpoints[i]);
    zsock_set_rcvtimeo (self->router, 0);
    zsock_set_rcvtimeo (self->replies, 0);
    zpoller_t *poller = zpoller_new (self->router, self->replies, NULL);
    zpoller_set_nonstop (poller, true);
    while (!*stop) {
        zpoller_wait (poller, POLL_INTERVAL_MS);
        /* Replies first (they finish work), then a bounded burst of new
         * requests, so neither side starves the other; one wake-up serves
         * everything that is waiting. */
        s_forward_replies (self, 1024);
        for (int i = 0; i < 256 && !*stop; i++) {
            zmsg_t *msg = zmsg_recv (self->router);
            if (!msg)
                break;
            s_accept (self, msg);
        }
    }
    zpoller_destroy (&poller);

    secpol_log (SECPOL_LOG_INFO, "draining", "in_flight=%zu", self->in_flight);
    /* Stop taking requests; answer the ones already queued or running. */
    int64_t give_up = s_monotonic_us () + (int64_t)DRAIN_TIMEOUT_MS * 1000;
    zpoller_t *drain = zpoller_new (self->replies, NULL);
    zpoller_set_nonstop (drain, true);
    while (self->in_flight > 0 && s_monotonic_us () < give_up)
        if (zpoller_wait (drain, POLL_INTERVAL_MS) == self->replies)
            s_forward_replies (self, SIZE_MAX);
    zpoller_destroy (&drain);
    for (size_t i = 0; i < self->config.n_endpoints; i++)
        zsock_unbind (self->router, "%s", self->config.endpoints[i]);
    s_queue_close (&self->read_queue);
    s_queue_close (&self->write_queue);
    s_queue_close (&self->slow_queue);
    secpol_log (SECPOL_LOG_INFO, "stopped", "unanswered=%zu", self->in_flight);
    return 0;
}

/* --- lanes -------------------------------------------------------------- */

/*  Prepares a job to run: deadline, arena, decode, response. Returns false
 *  when the job is already answered (code set). */
static bool
s_job_start (secpol_server_t *self, job_t *job, int64_t now)
{
    if (job->deadline_us && s_monotonic_us () > job->deadline_us) {
        job->code = SECPOL_DEADLINE_EXCEEDED;
        return false;
    }
    secpol_arena_destroy (&job->call.arena);
    memset (&job->call, 0, sizeof job->call);
    job->call.arena = secpol_arena_new ();
    job->call.now = now;
    job->call.method = job->method->path;
    job->call.request_id = job->request_id;
    job->call.caller = "";
    job->call.role = self->config.default_role;
    job->call.server = self;
    const ProtobufCMethodDescriptor *descriptor = job->method->descriptor;
    char field[256];
    const char *problem = NULL;
    if (!secpol_wire_check_strings (descriptor->input, zframe_data (job->body),
                                    zframe_size (job->body), field, sizeof field, &problem)) {
        secpol_call_violation (&job->call, field, "%s", problem);
        job->code = secpol_call_fail (&job->call, SECPOL_INVALID_ARGUMENT, "invalid field: %s %s",
                                      field, problem);
        return false;
    }
    job->request =
        protobuf_c_message_unpack (descriptor->input, secpol_arena_allocator (job->call.arena),
                                   zframe_size (job->body), zframe_data (job->body));
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

/*  Sends the job's reply to the front end and frees the job. */
static void
s_job_finish (secpol_server_t *self, zsock_t *push, job_t *job)
{
    const char *message = job->call.message;
    if (!message && job->code == SECPOL_DEADLINE_EXCEEDED)
        message = "deadline exceeded before the request started";
    else if (!message && job->code != SECPOL_OK)
        message = secpol_status_name (job->code);
    size_t header_size = secpol_wire_response_size (job->call_id, job->code, message,
                                                    job->call.n_violations, job->call.violations);
    zframe_t *frame = zframe_new (NULL, header_size);
    secpol_wire_pack_response (zframe_data (frame), header_size, job->call_id, job->code, message,
                               job->call.n_violations, job->call.violations);
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &job->identity);
    zmsg_addmem (reply, "", 0);
    zmsg_append (reply, &frame);
    if (job->code == SECPOL_OK && job->response) {
        size_t size = protobuf_c_message_get_packed_size (job->response);
        frame = zframe_new (NULL, size);
        protobuf_c_message_pack (job->response, zframe_data (frame));
        zmsg_append (reply, &frame);
    } else
        zmsg_addmem (reply, "", 0);
    zmsg_send (&reply, push);

    if (secpol_log_enabled (SECPOL_LOG_DEBUG)) {
        char quoted[200];
        secpol_log (SECPOL_LOG_DEBUG, "call", "method=%s code=%s us=%lld request_id=%s",
                    job->method->path, secpol_status_name (job->code),
                    (long long)(s_monotonic_us () - job->received_us),
                    secpol_log_quote (quoted, sizeof quoted, job->request_id));
    }
    (void)self;
    s_job_destroy (&job);
}

static void
s_run_read (secpol_server_t *self, zsock_t *push, job_t *job)
{
    if (s_job_start (self, job, secpol_server_now (self))) {
        int rc = secpol_txn_begin (self->store, NULL, false, &job->call.txn);
        if (rc)
            job->code = secpol_call_fail (&job->call, SECPOL_UNAVAILABLE,
                                          "store is unavailable: %s", secpol_strerror (rc));
        else {
            job->code = job->method->spec->handler->fn (&job->call, job->request, job->response);
            secpol_txn_abort (&job->call.txn);
        }
    }
    s_job_finish (self, push, job);
}

static void
s_run_slow (secpol_server_t *self, zsock_t *push, job_t *job)
{
    if (s_job_start (self, job, secpol_server_now (self))) {
        job->code = job->method->spec->prepare
                        ? job->method->spec->prepare->fn (&job->call, job->request, job->response)
                        : SECPOL_OK;
        if (job->code == SECPOL_OK && job->method->spec->handler) {
            s_queue_push (&self->write_queue, job); /* the WRITE lane answers it */
            return;
        }
    }
    s_job_finish (self, push, job);
}

/*  Runs a batch in one durable transaction, each job nested. Returns false
 *  when the map filled up and the batch must run again after a grow. */
static bool
s_run_write_batch (secpol_server_t *self, job_t **jobs, size_t n, bool *started)
{
    int64_t now = secpol_server_now (self);
    secpol_txn_t *top = NULL;
    int rc = secpol_txn_begin (self->store, NULL, true, &top);
    for (size_t i = 0; i < n; i++) {
        job_t *job = jobs[i];
        if (!started[i]) {
            /* a SLOW job arrives decoded and prepared; keep its result */
            if (job->method->spec->lane == SECPOL_LANE_SLOW && job->call.arena) {
                job->call.now = now;
                job->code = SECPOL_OK;
            } else if (!s_job_start (self, job, now))
                continue;
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
        job->code = job->method->spec->handler->fn (&job->call, job->request, job->response);
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
        return true;
    if (secpol_txn_map_full (top)) {
        secpol_txn_abort (&top);
        return false;
    }
    rc = secpol_txn_commit (&top);
    if (rc == SECPOL_EMAPFULL)
        return false;
    size_t carried = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc && jobs[i]->code == SECPOL_OK)
            jobs[i]->code = secpol_call_fail (&jobs[i]->call, SECPOL_UNAVAILABLE,
                                              "commit failed: %s", secpol_strerror (rc));
        if (jobs[i]->code == SECPOL_OK)
            carried++;
    }
    if (rc == 0) {
        atomic_fetch_add (&self->commits, 1);
        atomic_fetch_add (&self->committed_requests, carried);
    } else
        secpol_log (SECPOL_LOG_ERROR, "commit failed", "error=\"%s\"", secpol_strerror (rc));
    return true;
}

static void
s_run_write (secpol_server_t *self, zsock_t *push, job_t *first)
{
    job_t *jobs[1024];
    bool started[1024] = {false};
    size_t n = 0;
    size_t max = self->config.write_batch_max < 1024 ? self->config.write_batch_max : 1024;
    for (job_t *job = first; job && n < max; job = job->next)
        jobs[n++] = job;
    for (int attempt = 0;; attempt++) {
        if (s_run_write_batch (self, jobs, n, started))
            break;
        /* The map is full: everything rolled back. Grow and run again. */
        size_t before = secpol_store_map_size (self->store);
        int rc = secpol_store_grow (self->store);
        secpol_log (SECPOL_LOG_INFO, "store grown", "from=%zu to=%zu", before,
                    secpol_store_map_size (self->store));
        /* WRITE jobs start afresh; SLOW jobs keep what prepare produced
         * (see the contract in method_table.h) and forget the failed try. */
        for (size_t i = 0; i < n; i++)
            if (jobs[i]->method->spec->lane != SECPOL_LANE_SLOW)
                started[i] = false;
            else {
                jobs[i]->code = SECPOL_OK;
                jobs[i]->call.message = NULL;
                jobs[i]->call.n_violations = 0;
                jobs[i]->call.violations = NULL;
            }
        if (rc || attempt >= 16) {
            for (size_t i = 0; i < n; i++)
                if (jobs[i]->code == SECPOL_OK || !started[i]) {
                    if (!jobs[i]->call.arena)
                        jobs[i]->call.arena = secpol_arena_new ();
                    jobs[i]->code = secpol_call_fail (&jobs[i]->call, SECPOL_RESOURCE_EXHAUSTED,
                                                      "store is full and cannot grow");
                }
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        s_job_finish (self, push, jobs[i]);
}

static void *
s_worker (void *arg)
{
    worker_t *worker = arg;
    secpol_server_t *self = worker->server;
    zsock_t *push = zsock_new (ZMQ_PUSH);
    zsock_set_sndhwm (push, 0);
    zsock_connect (push, "%s", self->replies_endpoint);
    queue_t *queue = worker->lane == SECPOL_LANE_READ    ? &self->read_queue
                     : worker->lane == SECPOL_LANE_WRITE ? &self->write_queue
                                                         : &self->slow_queue;
    size_t batch = worker->lane == SECPOL_LANE_WRITE ? self->config.write_batch_max : 1;
    if (batch > 1024)
        batch = 1024;
    job_t *job;
    while ((job = s_queue_pop (queue, batch))) {
        switch (worker->lane) {
            case SECPOL_LANE_READ:
                s_run_read (self, push, job);
                break;
            case SECPOL_LANE_WRITE:
                s_run_write (self, push, job);
                break;
            case SECPOL_LANE_SLOW:
                s_run_slow (self, push, job);
                break;
        }
    }
    zsock_set_linger (push, 1000);
    zsock_destroy (&push);
    return NULL;
}

/* --- helpers -------------------------------------------------------------- */

static void
s_reply_error (zsock_t *socket, zframe_t *identity, uint64_t call_id, int code, const char *message)
{
    uint8_t buf[1024];
    size_t size = secpol_wire_pack_response (buf, sizeof buf, call_id, code, message, 0, NULL);
    if (size == 0) /* a reason too long for the buffer: send the bare code name */
        size = secpol_wire_pack_response (buf, sizeof buf, call_id, code, secpol_status_name (code),
                                          0, NULL);
    zmsg_t *reply = zmsg_new ();
    zmsg_addmem (reply, zframe_data (identity), zframe_size (identity));
    zmsg_addmem (reply, "", 0);
    zmsg_addmem (reply, buf, size);
    zmsg_addmem (reply, "", 0);
    zmsg_send (&reply, socket);
}

static void
s_job_destroy (job_t **job_p)
{
    job_t *job = *job_p;
    if (!job)
        return;
    secpol_txn_abort (&job->call.txn);
    secpol_arena_destroy (&job->call.arena);
    zframe_destroy (&job->identity);
    zframe_destroy (&job->body);
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
    pthread_cond_init (&q->ready, NULL);
}

static void
s_queue_push (queue_t *q, job_t *job)
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

/*  Blocks until a job is queued or the queue is closed and empty (NULL).
 *  Returns up to max jobs as a list linked by next. */
static job_t *
s_queue_pop (queue_t *q, size_t max)
{
    pthread_mutex_lock (&q->mutex);
    while (!q->head && !q->closed)
        pthread_cond_wait (&q->ready, &q->mutex);
    job_t *first = q->head;
    job_t *last = first;
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

static size_t
s_queue_length (queue_t *q)
{
    pthread_mutex_lock (&q->mutex);
    size_t length = q->length;
    pthread_mutex_unlock (&q->mutex);
    return length;
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
    job_t *job = q->head;
    while (job) {
        job_t *next = job->next;
        s_job_destroy (&job);
        job = next;
    }
    pthread_mutex_destroy (&q->mutex);
    pthread_cond_destroy (&q->ready);
}
