/*  secpol_status.c - names of the wire status codes. */
#include "secpol/secpol_status.h"

#include <string.h>

static const char *const s_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *
secpol_status_name (int code)
{
    if (code < 0 || code >= (int)(sizeof s_names / sizeof s_names[0]))
        return "UNKNOWN";
    return s_names[code];
}

int
secpol_status_from_name (const char *name)
{
    for (int i = 0; i < (int)(sizeof s_names / sizeof s_names[0]); i++)
        if (strcmp (s_names[i], name) == 0)
            return i;
    return -1;
}
