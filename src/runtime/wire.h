/*  wire.h - wire protocol v1: checking a request's frames and header,
 *  encoding a response header. No sockets here, so it is unit-testable.
 *
 *  A request, after the ROUTER's routing id, is exactly three frames:
 *  an empty delimiter, a secpol.v1.RequestHeader, the request body.
 */
#ifndef SECPOL_WIRE_H_INCLUDED
#define SECPOL_WIRE_H_INCLUDED

#include "method_table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECPOL_MAX_HEADER_BYTES 4096 /* a RequestHeader larger than this is refused */

/*  A request body may hold at most this many entries in any one repeated
 *  field (of one message: each entry of a repeated message field counts its
 *  own), packed scalars counted element by element. A handler may refuse
 *  fewer (UpdatePolicy: 128 update_mask paths). */
#define SECPOL_MAX_REPEATED 1024

#define SECPOL_STRINGIFY_(x) #x
#define SECPOL_STRINGIFY(x)  SECPOL_STRINGIFY_ (x)

/*  What the front end needs to know to queue a request. */
typedef struct {
    uint64_t call_id;              /* echoed in the reply; 0 when the header did not decode */
    uint32_t deadline_ms;          /* 0 = none */
    char request_id[80];           /* truncated copy, for logs */
    const secpol_method_t *method; /* resolved method with its spec */
} secpol_wire_request_t;

/*  What the server allows (from its configuration). */
typedef struct {
    bool test_clock;    /* TestClockService is served */
    secpol_role_t role; /* the caller's role */
} secpol_wire_policy_t;

/*  Checks n frames (frames[i] of sizes[i] bytes, routing id already
 *  removed) against the protocol and the method table. Returns SECPOL_OK
 *  and fills *out, or a status code with a plain-words reason in reason
 *  (reason_size bytes); out->call_id is set whenever the header decoded,
 *  so even refusals can be matched by the client. */
int secpol_wire_check_request (secpol_wire_request_t *out, char *reason, size_t reason_size,
                               const secpol_method_table_t *methods,
                               const secpol_wire_policy_t *policy, size_t n,
                               const void *const *frames, const size_t *sizes);

/*  Walks the encoded message (size bytes of type descriptor), before it is
 *  unpacked, and checks at any depth:
 *  - every string field is valid UTF-8 (as proto3 requires) without NUL
 *    bytes; protobuf-c would otherwise hand handlers a C string cut short at
 *    the first NUL ("a.pdf\0.exe" read as "a.pdf");
 *  - no repeated field holds more than SECPOL_MAX_REPEATED entries
 *    ("has more than 1024 entries");
 *  - no singular message field appears twice in one message: protobuf-c
 *    would merge the copies, re-copying the repeated fields inside for each
 *    one (quadratic time and memory); encoders never send one twice.
 *  Linear in size; stops at the first problem. Returns true when the body
 *  passes; else false with the offending field's path
 *  ("policy.referrer_policy") in field (field_size bytes) and a static
 *  description in *problem ("contains a NUL byte"). The encoding itself is
 *  not judged here: protobuf_c_message_unpack() does that afterwards. */
bool secpol_wire_check_strings (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                                size_t size, char *field, size_t field_size, const char **problem);

/*  Packs a ResponseHeader into buf (size bytes) and returns its length, or
 *  0 when it does not fit (callers size buf with
 *  secpol_wire_response_size()). violations are Secpol__V1__FieldViolation. */
size_t secpol_wire_response_size (uint64_t call_id, int code, const char *message,
                                  size_t n_violations, ProtobufCMessage *const *violations);
size_t secpol_wire_pack_response (uint8_t *buf, size_t size, uint64_t call_id, int code,
                                  const char *message, size_t n_violations,
                                  ProtobufCMessage *const *violations);

#endif
