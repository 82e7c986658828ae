/*  call.c - building a handler's answer; see call.h. */
#include "call.h"

#include "secpol/v1/rpc.pb-c.h"

#include <stdarg.h>
#include <string.h>

int
secpol_call_fail (secpol_call_t *call, int code, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    call->message = secpol_arena_vprintf (call->arena, fmt, args);
    va_end (args);
    return code;
}

void
secpol_call_violation (secpol_call_t *call, const char *field, const char *fmt, ...)
{
    Secpol__V1__FieldViolation *violation = (Secpol__V1__FieldViolation *)secpol_arena_message (
        call->arena, &secpol__v1__field_violation__descriptor);
    violation->field = secpol_arena_strdup (call->arena, field);
    va_list args;
    va_start (args, fmt);
    violation->description = secpol_arena_vprintf (call->arena, fmt, args);
    va_end (args);
    secpol_arena_append (call->arena, &call->n_violations, (void ***)&call->violations, violation);
}

int
secpol_call_check (secpol_call_t *call)
{
    if (call->n_violations == 0)
        return SECPOL_OK;
    /* "invalid request: policy.hsts.max_age_days, policy.referrer_policy" */
    size_t size = 32;
    for (size_t i = 0; i < call->n_violations; i++)
        size += strlen (((Secpol__V1__FieldViolation *)call->violations[i])->field) + 2;
    char *message = secpol_arena_alloc (call->arena, size);
    strcpy (message, call->n_violations == 1 ? "invalid field: " : "invalid fields: ");
    for (size_t i = 0; i < call->n_violations; i++) {
        if (i)
            strcat (message, ", ");
        strcat (message, ((Secpol__V1__FieldViolation *)call->violations[i])->field);
    }
    call->message = message;
    return SECPOL_INVALID_ARGUMENT;
}
