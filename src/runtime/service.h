/*  service.h - what a service file declares: its methods and its tables.
 *
 *  A service is one folder under src/ (src/policy/, src/token/, ...) with
 *  one file that ends in a secpol_service_t naming its generated service
 *  descriptor, a table of methods and the store tables it owns:
 *
 *      SECPOL_HANDLER (s_get_policy, Secpol__V1__GetPolicyRequest, in,
 *                      Secpol__V1__Policy, out)
 *      {
 *          ... reads in->workspace_id, fills out ...
 *          return SECPOL_OK;
 *      }
 *
 *      static const secpol_method_spec_t s_methods[] = {
 *          {.method = "GetPolicy", .lane = SECPOL_LANE_READ,
 *           .role = SECPOL_ROLE_SERVICE, .handler = &s_get_policy},
 *      };
 *      static const secpol_table_t *const s_tables[] = {&secpol_policy_table};
 *      SECPOL_SERVICE (policy, secpol__v1__policy_service__descriptor,
 *                      s_methods, s_tables);
 *
 *  and one line in src/services.def, the list of services. Nothing else in
 *  the runtime names a service. See docs/HACKING.md.
 */
#ifndef SECPOL_SERVICE_H_INCLUDED
#define SECPOL_SERVICE_H_INCLUDED

#include "call.h"
#include "store.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SECPOL_LANE_READ = 0,  /* parallel workers, read-only transaction */
    SECPOL_LANE_WRITE = 1, /* the one writer: nested write txn, group commit */
    SECPOL_LANE_SLOW = 2,  /* prepare in the slow pool (no txn), then the WRITE lane */
    SECPOL_LANE_COUNT = 3  /* number of lanes; keep last */
} secpol_lane_t;

#define SECPOL_METHOD_TEST_CLOCK 0x1u /* served only under --test-clock */

/*  Default and hard ceiling of a request body, in bytes. */
#define SECPOL_DEFAULT_MAX_REQUEST 65536u
#define SECPOL_HARD_MAX_MESSAGE    (4u * 1024 * 1024) /* ZMQ_MAXMSGSIZE: peers over it are dropped */

/*  What a READ handler returns when it finds it must write after all (a
 *  session whose idle deadline is due to move). The request then runs
 *  again, from the start, on the WRITE lane, where call->writable is true
 *  and call->txn takes writes; whatever the READ run built is discarded.
 *  Most calls of such a method then stay on the parallel READ lane. */
#define SECPOL_NEEDS_WRITE (-1)

/*  A handler with its message types. SECPOL_HANDLER defines one; the
 *  method table checks at start that request_type and response_type are
 *  the C names of the method's generated input and output messages, so a
 *  handler bound to the wrong method stops secpold instead of misreading
 *  memory. */
typedef struct {
    secpol_handler_fn fn;      /* untyped entry the dispatcher calls */
    const char *name;          /* the typed function's name, for messages */
    const char *request_type;  /* C type of the request ("Secpol__V1__GetPolicyRequest") */
    const char *response_type; /* C type of the response */
} secpol_handler_t;

/*  Defines a handler with typed messages and opens its body:
 *
 *      SECPOL_HANDLER (s_name, RequestType, in, ResponseType, out) { ... }
 *
 *  The body sees secpol_call_t *call, const RequestType *in and
 *  ResponseType *out, and returns a status code. The one cast from the
 *  dispatcher's generic messages happens here, nowhere else. */
#define SECPOL_HANDLER(name, Req, in, Resp, out)                                                   \
    static int name##_typed (secpol_call_t *call, const Req *in, Resp *out);                       \
    static int name##_untyped (secpol_call_t *call, const ProtobufCMessage *request,               \
                               ProtobufCMessage *response)                                         \
    {                                                                                              \
        return name##_typed (call, (const Req *)request, (Resp *)response);                        \
    }                                                                                              \
    static const secpol_handler_t name = {name##_untyped, #name, #Req, #Resp};                     \
    static int name##_typed (secpol_call_t *call, const Req *in, Resp *out)

/*  One row of a service's method table (use designated initializers).
 *
 *  A write handler (WRITE, or the write part of SLOW) may run more than once
 *  for one request: when its group-commit batch fills the map, the whole
 *  batch is rolled back, the map grown and the batch run again. A WRITE
 *  request then starts afresh (new arena, request, response); a SLOW request
 *  keeps what prepare produced (slow_result and the response it filled), so
 *  its write part must set response fields, never append to them. */
typedef struct {
    const char *method; /* method name in the service, "GetPolicy" */
    secpol_lane_t lane; /* where it runs */
    secpol_role_t role; /* least role the caller needs */
    const secpol_handler_t
        *handler; /* READ/WRITE: runs in a txn; SLOW: the write part (may be NULL) */
    const secpol_handler_t *prepare; /* SLOW only: runs first, outside any txn */
    uint32_t max_request_bytes;      /* 0 = SECPOL_DEFAULT_MAX_REQUEST */
    unsigned flags;                  /* SECPOL_METHOD_* */
} secpol_method_spec_t;

/*  A service: its generated descriptor, its methods, its tables. */
typedef struct {
    const char *name;                             /* "policy", for messages */
    const ProtobufCServiceDescriptor *descriptor; /* generated by protoc-c */
    const secpol_method_spec_t *methods;          /* rows, one per implemented method */
    size_t n_methods;                             /* rows in methods */
    const secpol_table_t *const *tables;          /* tables the service owns (may be NULL) */
    size_t n_tables;                              /* entries in tables */
} secpol_service_t;

#define SECPOL_COUNT(array) (sizeof (array) / sizeof (array)[0])

/*  Defines secpol_service_<name>, the symbol src/services.def lists. */
#define SECPOL_SERVICE(name, descriptor_, methods_, tables_)                                       \
    const secpol_service_t secpol_service_##name = {#name,      &(descriptor_),                    \
                                                    (methods_), SECPOL_COUNT (methods_),           \
                                                    (tables_),  SECPOL_COUNT (tables_)}

/*  As SECPOL_SERVICE, for a service that owns no table. */
#define SECPOL_SERVICE_NO_TABLES(name, descriptor_, methods_)                                      \
    const secpol_service_t secpol_service_##name = {                                               \
        #name, &(descriptor_), (methods_), SECPOL_COUNT (methods_), NULL, 0}

#endif
