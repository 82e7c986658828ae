/*  method_table.h - the one place that knows every method.
 *
 *  Each service file contributes an array of secpol_method_spec_t naming,
 *  for every RPC of its generated service descriptor: the handler, the lane,
 *  the least role, and the request size limit. secpol_method_table_new()
 *  joins them with the generated descriptors into one lookup table keyed by
 *  the wire path "/secpol.v1.Svc/Method". A method declared in a .proto but
 *  absent from every spec array answers UNIMPLEMENTED.
 */
#ifndef SECPOL_METHOD_TABLE_H_INCLUDED
#define SECPOL_METHOD_TABLE_H_INCLUDED

#include "call.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SECPOL_LANE_READ = 0,  /* parallel workers, read-only transaction */
    SECPOL_LANE_WRITE = 1, /* the one writer: nested write txn, group commit */
    SECPOL_LANE_SLOW = 2,  /* prepare in the slow pool (no txn), then the WRITE lane */
} secpol_lane_t;

#define SECPOL_METHOD_TEST_CLOCK 0x1u /* served only under --test-clock */

/*  Default and hard ceiling of a request body, in bytes. */
#define SECPOL_DEFAULT_MAX_REQUEST 65536u
#define SECPOL_HARD_MAX_MESSAGE    (4u * 1024 * 1024) /* ZMQ_MAXMSGSIZE: peers over it are dropped */

/*  A write handler (WRITE, or the write part of SLOW) may run more than once
 *  for one request: when its group-commit batch fills the map, the whole
 *  batch is rolled back, the map grown and the batch run again. A WRITE
 *  request then starts afresh (new arena, request, response); a SLOW request
 *  keeps what prepare produced (slow_result and the response it filled), so
 *  its write part must set response fields, never append to them. */
typedef struct {
    const ProtobufCServiceDescriptor *service; /* generated descriptor */
    const char *method;                        /* method name in it, "GetPolicy" */
    secpol_lane_t lane;
    secpol_role_t role;         /* least role the caller needs */
    secpol_handler_fn handler;  /* READ/WRITE: runs in a txn; SLOW: the write part (may be NULL) */
    secpol_handler_fn prepare;  /* SLOW only: runs first, outside any txn */
    uint32_t max_request_bytes; /* 0 = SECPOL_DEFAULT_MAX_REQUEST */
    unsigned flags;             /* SECPOL_METHOD_* */
} secpol_method_spec_t;

/*  One resolved method. */
typedef struct {
    char *path;                                  /* "/secpol.v1.Health/Check" */
    const ProtobufCMethodDescriptor *descriptor; /* input and output types */
    const secpol_method_spec_t *spec;            /* NULL: declared but not implemented */
} secpol_method_t;

typedef struct secpol_method_table secpol_method_table_t;

/*  Builds the table from the spec arrays (specs[i] has counts[i] entries)
 *  and the generated service descriptors of every .proto. Fails (NULL, with
 *  a message on stderr) when a spec names a method its service lacks or two
 *  specs name the same method: both are programming errors.
 *  Caller owns return value. */
secpol_method_table_t *secpol_method_table_new (const secpol_method_spec_t *const *specs,
                                                const size_t *counts, size_t n_arrays);

/*  The table of the real server: every service's spec array. */
secpol_method_table_t *secpol_method_table_default (void);

void secpol_method_table_destroy (secpol_method_table_t **self_p);

/*  Looks a wire path up. Returns NULL for an unknown path. A known path with
 *  spec NULL is declared but not implemented. */
const secpol_method_t *secpol_method_table_find (const secpol_method_table_t *self,
                                                 const char *path);

/*  Number of methods, and the i-th in path order (for listings and tests). */
size_t secpol_method_table_size (const secpol_method_table_t *self);
const secpol_method_t *secpol_method_table_at (const secpol_method_table_t *self, size_t i);

#endif
