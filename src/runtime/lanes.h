/*  lanes.h - the READ, WRITE and SLOW lanes: queues and their threads.
 *
 *  The front end (server.c) turns each accepted request into a job and
 *  submits it to the lane its method names. Lane threads run the handler
 *  and pack the reply into the job; finished jobs come back to the front
 *  end through one reply queue, which it drains with secpol_lanes_replies()
 *  when secpol_lanes_reply_fd() turns readable. Only the front end touches
 *  sockets; lane threads never do.
 *
 *    READ  - N workers, each request in its own read-only transaction;
 *    WRITE - one writer; every request waiting is run in one write
 *            transaction (group commit), each in its own nested
 *            transaction so that a failing request rolls back alone; a
 *            reply is packed only after the durable commit;
 *    SLOW  - a pool for costly work (argon2id) outside any transaction,
 *            whose result then goes through the WRITE lane.
 *
 *  Queues are bounded: secpol_lanes_submit() refuses jobs past max_queued
 *  in a lane, and the front end answers them UNAVAILABLE. The front end
 *  submits a burst of requests at once and lane threads take several jobs
 *  per lock when many wait, so locking and wake-ups are paid per burst,
 *  not per request.
 *
 *  Threads: every function but the lane threads' own is called by the
 *  front end thread only.
 */
#ifndef SECPOL_LANES_H_INCLUDED
#define SECPOL_LANES_H_INCLUDED

#include "call.h"
#include "method_table.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct secpol_peer secpol_peer_t;

/*  One request on its way through a lane. The front end fills the request
 *  part; the lane fills the reply part; the front end sends it and frees
 *  the job. */
typedef struct secpol_job {
    struct secpol_job *next; /* queue link */
    /* request, set by the front end */
    zmq_msg_t identity;            /* ROUTER routing id of the caller */
    zmq_msg_t body;                /* request bytes */
    uint64_t call_id;              /* echoed in the reply */
    char request_id[80];           /* for logs */
    const secpol_method_t *method; /* resolved method */
    int64_t received_us;           /* monotonic, at the front end */
    int64_t deadline_us;           /* monotonic; 0 = none */
    secpol_peer_t *peer;           /* the caller's share of the daemon (peers.h) */
    secpol_role_t role;            /* the caller's role (CURVE certificate, or the default) */
    char caller[64];               /* the caller's certificate name; "" without CURVE */
    /* reply, set by the lane */
    int code;           /* status */
    uint8_t *header;    /* packed ResponseHeader (malloc) */
    size_t header_size; /* bytes */
    void *reply;        /* packed response body, from secpol_peers_buffer(); NULL = empty */
    size_t reply_size;  /* bytes */
    /* lane-private */
    secpol_call_t call;         /* the handler's context and answer */
    ProtobufCMessage *request;  /* decoded body, in call.arena */
    ProtobufCMessage *response; /* in call.arena */
    bool arena_borrowed;        /* call.arena is the lane thread's own (READ) */
    bool escalated;             /* a READ job sent on to the WRITE lane (SECPOL_NEEDS_WRITE) */
} secpol_job_t;

typedef struct {
    int read_workers;         /* READ lane threads, >= 1 */
    int slow_workers;         /* SLOW lane threads, >= 1 */
    unsigned write_batch_max; /* most requests in one group commit; 0 = all waiting */
    unsigned max_queued;      /* per lane; more are refused */
    int64_t
        audit_retention_seconds; /* the writer's housekeeping reaps older audit events; 0 = never */
} secpol_lanes_config_t;

typedef struct secpol_lanes secpol_lanes_t;

/*  Starts the lane threads. server is handed to handlers (call->server)
 *  and gives them the clock. Returns NULL when a thread or the reply
 *  signal cannot be made. Caller owns return value. */
secpol_lanes_t *secpol_lanes_new (const secpol_lanes_config_t *config, secpol_store_t *store,
                                  secpol_server_t *server);

/*  Queues the jobs of list (linked by next; all of one lane) on that lane,
 *  with one lock and one wake-up for the lot. Returns the jobs that did
 *  not fit because the lane's queue is full, as a list (the caller's), or
 *  NULL when all were queued. */
secpol_job_t *secpol_lanes_submit (secpol_lanes_t *self, secpol_lane_t lane, secpol_job_t *list)
    __attribute__ ((warn_unused_result));

/*  A file descriptor that is readable while finished jobs wait (poll it
 *  with POLLIN; secpol_lanes_replies() clears it). */
int secpol_lanes_reply_fd (secpol_lanes_t *self);

/*  Takes every finished job, oldest first, as a list linked by next, or
 *  NULL. The caller sends and frees them. */
secpol_job_t *secpol_lanes_replies (secpol_lanes_t *self);

/*  Takes every job still waiting in a queue (not started), for shutdown:
 *  the caller answers them without running them. A SLOW job whose prepare
 *  already ran is not taken; it finishes normally. */
secpol_job_t *secpol_lanes_cancel_queued (secpol_lanes_t *self);

/*  Shutdown: from the monotonic time until_us (microseconds, the clock
 *  of CLOCK_MONOTONIC) on, the writer starts no job of a batch it has
 *  already taken: it answers each SECPOL_UNAVAILABLE ("the request did not
 *  run") and commits what ran, as the front end answers what is still
 *  queued then (secpol_lanes_cancel_queued). Without it a group commit
 *  that took every waiting write could run on past the drain, and its
 *  replies would come after the server gave up waiting. Any thread. */
void secpol_lanes_drain_until (secpol_lanes_t *self, int64_t until_us);

/*  Jobs the writer answered "did not run" because the drain had ended. */
uint64_t secpol_lanes_drain_cancelled (secpol_lanes_t *self);

/*  Number of WRITE lane transactions committed and requests they carried. */
void secpol_lanes_write_stats (secpol_lanes_t *self, uint64_t *commits, uint64_t *requests);

/*  Buckets of the batch-size histogram: bucket i counts the commits that
 *  carried more than 2^(i-1) and at most 2^i requests (1, 2, 3-4, 5-8, ...,
 *  513-1024). */
#define SECPOL_BATCH_BUCKETS 11

/*  What the lanes have done since start (stats.h shows it to operators). */
typedef struct secpol_lanes_stats {
    uint64_t commits;                             /* WRITE lane commits, sweeps included */
    uint64_t committed_requests;                  /* requests those commits carried */
    uint64_t batch_buckets[SECPOL_BATCH_BUCKETS]; /* batch commits by requests carried */
    uint64_t last_batch;                          /* requests of the last batch commit */
    uint64_t max_batch;                           /* most requests one commit carried */
    int64_t last_commit_ms;             /* wall clock of the last commit, unix ms; 0 = none */
    int64_t last_commit_us;             /* how long it took (write and fsync) */
    uint64_t failed_commits;            /* commits that failed (disk full included) */
    uint64_t disk_full_refusals;        /* writes refused RESOURCE_EXHAUSTED: disk full */
    bool disk_full;                     /* the last commit failed for a full disk */
    uint64_t swept;                     /* expired records deleted */
    uint64_t stale_readers;             /* dead processes' reader slots cleared */
    uint64_t queued[SECPOL_LANE_COUNT]; /* jobs waiting in each lane now */
} secpol_lanes_stats_t;

/*  Fills out. Any thread. */
void secpol_lanes_stats (secpol_lanes_t *self, secpol_lanes_stats_t *out);

/*  Number of expired records the writer's sweeps have deleted. */
uint64_t secpol_lanes_swept (secpol_lanes_t *self);

/*  True while every lane thread runs its loop (all started, none ended).
 *  Any thread. */
bool secpol_lanes_running (secpol_lanes_t *self);

/*  Stops the threads once their queues are empty and frees everything;
 *  unsent replies are freed with their jobs. NULL-safe; nulls the pointer. */
void secpol_lanes_destroy (secpol_lanes_t **self_p);

/*  Frees everything a job holds (not its peer) and leaves it as new, with
 *  empty messages, for reuse. */
void secpol_job_clear (secpol_job_t *job);

/*  Frees a job and everything it holds (not its peer). NULL-safe; nulls
 *  the pointer. */
void secpol_job_destroy (secpol_job_t **job_p);

#endif
