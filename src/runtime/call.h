/*  call.h - what a handler is given, and how it answers.
 *
 *  The dispatcher decodes the request, opens the transaction the method's
 *  lane calls for, reads the clock once, and calls the handler with a
 *  secpol_call_t. The handler reads call->txn and call->now, fills the
 *  response message the dispatcher allocated, and returns a status code.
 *  It never begins or commits a transaction and never reads the wall clock.
 *
 *  Everything a handler allocates comes from call->arena and is freed after
 *  the reply is sent. On a WRITE lane a non-zero return rolls back every
 *  write the handler made (its nested transaction is aborted alone).
 */
#ifndef SECPOL_CALL_H_INCLUDED
#define SECPOL_CALL_H_INCLUDED

#include "arena.h"
#include "secpol/secpol_status.h"
#include "store.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct secpol_server secpol_server_t;

/*  Roles a caller can hold; a method names the least it requires.
 *  Without authentication configured every caller holds SECPOL_ROLE_ADMIN. */
typedef enum {
    SECPOL_ROLE_ANY = 0,     /* anyone who can reach the socket */
    SECPOL_ROLE_SERVICE = 1, /* a backend service */
    SECPOL_ROLE_ADMIN = 2,   /* operators: policy writes, unlocks, test clock */
} secpol_role_t;

typedef struct {
    secpol_arena_t *arena;   /* every allocation of this request */
    secpol_txn_t *txn;       /* read-only (READ) or nested write (WRITE); NULL in SLOW prepare */
    bool writable;           /* txn takes writes (WRITE lane, SLOW write part) */
    int64_t now;             /* unix seconds, --test-clock offset applied */
    const char *method;      /* "/secpol.v1.Health/Check" */
    const char *request_id;  /* from the request header; "" when none */
    const char *caller;      /* authenticated identity; "" when none */
    secpol_role_t role;      /* the caller's role */
    secpol_server_t *server; /* for the few handlers that touch server state */
    void *slow_result;       /* SLOW lane: what prepare left for the write handler */
    /* the answer being built */
    char *message;                 /* status message; NULL = none */
    char *note;                    /* logfmt fields for the write's log line; NULL = none */
    size_t n_violations;           /* bad fields recorded (at most SECPOL_MAX_VIOLATIONS) */
    ProtobufCMessage **violations; /* Secpol__V1__FieldViolation, in the arena */
    size_t violations_capacity;    /* slots in violations; kept by secpol_call_violation */
    size_t violations_dropped;     /* bad fields found past SECPOL_MAX_VIOLATIONS, counted only */
    uint32_t events;               /* secpol_event_t bits, counted once the call succeeded */
} secpol_call_t;

/*  Things a call did that operators count (metrics.h), beyond its method and
 *  status: a handler marks them with secpol_call_event(), and the runtime
 *  counts them when the call answers OK (for a write: after its commit), so
 *  a call rolled back counts nothing. Each at most once per call. */
typedef enum {
    SECPOL_EVENT_LOCKED_LOGIN,      /* a LOGIN counter reached its limit: locked now */
    SECPOL_EVENT_LOCKED_CLAIM,      /* a CLAIM counter locked */
    SECPOL_EVENT_LOCKED_TWO_FACTOR, /* a TWO_FACTOR counter locked */
    SECPOL_EVENT_OTP_FAILURE,       /* a one-time code was refused and counted as a failure */
    SECPOL_EVENT_COUNT
} secpol_event_t;

#define secpol_call_event(call, event) ((call)->events |= 1u << (event))

/*  A reply lists at most this many FieldViolation entries; further bad
 *  fields are counted, and the message says how many more there were. */
#define SECPOL_MAX_VIOLATIONS 100

/*  A handler: fills response (already initialised to its type's defaults)
 *  from request, and returns a secpol_status_t. */
typedef int (*secpol_handler_fn) (secpol_call_t *call, const ProtobufCMessage *request,
                                  ProtobufCMessage *response);

/*  Sets the status message (printf format) and returns code, so handlers can
 *  write `return secpol_call_fail (call, SECPOL_NOT_FOUND, "no session");`. */
int secpol_call_fail (secpol_call_t *call, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Describes a write for the info line the WRITE lane logs once it is
 *  committed ("msg=write method=... " + these fields): logfmt key=value
 *  pairs (printf format) naming what changed, e.g.
 *  `secpol_call_note (call, "workspace=%s version=%llu", ...)`. Values that
 *  come from clients must go through secpol_log_quote(); never a secret,
 *  token, code or password. A second call replaces the first. */
void secpol_call_note (secpol_call_t *call, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  For a SLOW prepare step, which runs outside any transaction (service.h):
 *  runs read (call, txn, arg) in a short read-only transaction the runtime
 *  begins and ends around it, and returns what read returns. Read what the
 *  costly work needs, copy it into the arena, and do the work after this
 *  returns: a transaction held through argon2id would hold back map
 *  growth. Returns SECPOL_UNAVAILABLE (message set) when the store cannot
 *  begin one. Elsewhere handlers already have call->txn. */
int secpol_call_read (secpol_call_t *call,
                      int (*read) (secpol_call_t *call, secpol_txn_t *txn, void *arg), void *arg);

/*  Records one bad field: field is its proto path ("policy.hsts.max_age_days"),
 *  description says what is wrong. The first SECPOL_MAX_VIOLATIONS are
 *  kept; later ones are only counted (their text is not even formatted), so
 *  any number of calls costs linear time and bounded memory. Code that
 *  empties the list sets n_violations to 0 (and violations to NULL); the
 *  capacity and the dropped count then reset themselves on the next call. */
void secpol_call_violation (secpol_call_t *call, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Returns SECPOL_INVALID_ARGUMENT with a message naming every recorded
 *  violation's field ("invalid fields: a, b") and, when some were dropped,
 *  how many ("invalid fields: a, b, ... and 9900 more") when any violation
 *  was recorded, else SECPOL_OK. Linear in the length of the message. */
int secpol_call_check (secpol_call_t *call);

/*  Arena shorthands. */
#define secpol_call_alloc(call, size) secpol_arena_alloc ((call)->arena, (size))
#define secpol_call_strdup(call, s)   secpol_arena_strdup ((call)->arena, (s))
#define secpol_call_printf(call, ...) secpol_arena_printf ((call)->arena, __VA_ARGS__)

#endif
