/*  service_harness.h - what the service fuzz targets share (fuzz_token,
 *  fuzz_session, fuzz_lockout, fuzz_password, fuzz_otp): a secpol_server_t of their
 *  own, for the store and the store key the handlers hash with (its data in
 *  a temporary directory, an inproc endpoint nobody connects to; its front
 *  end never runs), and a handler run the way the dispatcher runs it.
 */
#ifndef SECPOL_FUZZ_SERVICE_HARNESS_H_INCLUDED
#define SECPOL_FUZZ_SERVICE_HARNESS_H_INCLUDED

#include "call.h"
#include "method_table.h"
#include "server.h"
#include "store.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    secpol_method_table_t *methods; /* the real method table */
    secpol_server_t *server;        /* for call->server */
    secpol_store_t *store;          /* its store */
    char dir[PATH_MAX];             /* its data, removed at exit */
} fuzz_service_t;

/*  Starts the server in a new directory under $TMPDIR (or /tmp), removed
 *  with it at exit; name ("fuzz_token") goes into messages. Aborts on
 *  failure. One per process. */
void fuzz_service_start (fuzz_service_t *self, const char *name);

/*  The method of path ("/secpol.v1.TokenService/IssueToken"), which must
 *  have a row in the table; aborts otherwise. */
const secpol_method_t *fuzz_service_method (const fuzz_service_t *self, const char *path);

/*  Runs handler (the method's handler or its prepare step) on request as
 *  the dispatcher does: with write, in a transaction nested in top that is
 *  committed when the handler answers OK and aborted otherwise, with
 *  call->writable set; without, on top as it is. no_txn hands the handler
 *  no transaction at all (a SLOW prepare step). Fills *call (its message
 *  and violations live in arena) and *response_p, and returns the code. */
int fuzz_service_call (fuzz_service_t *self, secpol_txn_t *top, secpol_arena_t *arena,
                       const secpol_method_t *method, const secpol_handler_t *handler, bool write,
                       bool no_txn, int64_t now, void *slow_result, const ProtobufCMessage *request,
                       ProtobufCMessage **response_p, secpol_call_t *call);

/*  Splits data into at most max_steps steps `op, length (2 bytes, little
 *  endian), bytes` (a length past the end is cut to what is left) and calls
 *  step (ctx, op, bytes, length) for each, with the bytes copied into a
 *  buffer of their own so that ASan sees a read past them. */
void fuzz_service_steps (const uint8_t *data, size_t size, int max_steps,
                         void (*step) (void *ctx, uint8_t op, const uint8_t *bytes, size_t size),
                         void *ctx);

/*  fuzz_service_steps for targets whose steps all work in one write
 *  transaction with one arena: step gets top and arena with each op. */
typedef void (fuzz_txn_step_fn) (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op,
                                 const uint8_t *bytes, size_t size);
void fuzz_service_txn_steps (const uint8_t *data, size_t size, int max_steps,
                             fuzz_txn_step_fn *step, secpol_txn_t *top, secpol_arena_t *arena);

/*  The invariant of every INVALID_ARGUMENT answer: at least one violation,
 *  each naming a field and saying why. */
void fuzz_require_violations (const secpol_call_t *call, const char *path);

#endif
