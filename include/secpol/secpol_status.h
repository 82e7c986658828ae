/*  secpol_status.h - status codes of the secpol wire protocol.
 *
 *  Every response header carries one of these codes: the gRPC canonical
 *  status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
 *  Shared by the server and every client.
 */
#ifndef SECPOL_STATUS_H_INCLUDED
#define SECPOL_STATUS_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SECPOL_OK = 0,
    SECPOL_CANCELLED = 1,
    SECPOL_UNKNOWN = 2,
    SECPOL_INVALID_ARGUMENT = 3,
    SECPOL_DEADLINE_EXCEEDED = 4,
    SECPOL_NOT_FOUND = 5,
    SECPOL_ALREADY_EXISTS = 6,
    SECPOL_PERMISSION_DENIED = 7,
    SECPOL_RESOURCE_EXHAUSTED = 8,
    SECPOL_FAILED_PRECONDITION = 9,
    SECPOL_ABORTED = 10,
    SECPOL_OUT_OF_RANGE = 11,
    SECPOL_UNIMPLEMENTED = 12,
    SECPOL_INTERNAL = 13,
    SECPOL_UNAVAILABLE = 14,
    SECPOL_DATA_LOSS = 15,
    SECPOL_UNAUTHENTICATED = 16,
} secpol_status_t;

/*  Returns the canonical upper-case name of a status code ("INVALID_ARGUMENT"),
 *  or "UNKNOWN" for a code outside 0..16. The string is static. */
const char *secpol_status_name (int code);

/*  Parses a canonical name back to its code. Returns the code, or -1 when
 *  the name is not a status name. */
int secpol_status_from_name (const char *name);

#ifdef __cplusplus
}
#endif

#endif
