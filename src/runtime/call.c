/*  call.c - building a handler's answer; see call.h. */
#include "call.h"

#include "server.h"

#include "secpol/v1/rpc.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
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
secpol_call_note (secpol_call_t *call, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    call->note = secpol_arena_vprintf (call->arena, fmt, args);
    va_end (args);
}

void
secpol_call_violation (secpol_call_t *call, const char *field, const char *fmt, ...)
{
    if (call->n_violations == 0) {
        /* a fresh list, or one the dispatcher emptied (see call.h) */
        call->violations_capacity = 0;
        call->violations_dropped = 0;
    }
    if (call->n_violations >= SECPOL_MAX_VIOLATIONS) {
        call->violations_dropped++;
        return;
    }
    Secpol__V1__FieldViolation *violation = (Secpol__V1__FieldViolation *)secpol_arena_message (
        call->arena, &secpol__v1__field_violation__descriptor);
    violation->field = secpol_arena_strdup (call->arena, field);
    va_list args;
    va_start (args, fmt);
    violation->description = secpol_arena_vprintf (call->arena, fmt, args);
    va_end (args);
    secpol_arena_push (call->arena, &call->n_violations, &call->violations_capacity,
                       (void ***)&call->violations, violation);
}

int
secpol_call_check (secpol_call_t *call)
{
    if (call->n_violations == 0)
        return SECPOL_OK;
    /* "invalid fields: policy.hsts.max_age_days, policy.referrer_policy ... and 3 more" */
    const char *head =
        call->n_violations + call->violations_dropped == 1 ? "invalid field: " : "invalid fields: ";
    char tail[64] = "";
    if (call->violations_dropped)
        snprintf (tail, sizeof tail, " ... and %zu more", call->violations_dropped);
    size_t size = strlen (head) + strlen (tail) + 1;
    for (size_t i = 0; i < call->n_violations; i++)
        size += strlen (((Secpol__V1__FieldViolation *)call->violations[i])->field) + 2;
    char *message = secpol_arena_alloc (call->arena, size);
    char *end = message;
    end = stpcpy (end, head);
    for (size_t i = 0; i < call->n_violations; i++) {
        if (i)
            end = stpcpy (end, ", ");
        end = stpcpy (end, ((Secpol__V1__FieldViolation *)call->violations[i])->field);
    }
    stpcpy (end, tail);
    call->message = message;
    return SECPOL_INVALID_ARGUMENT;
}

int
secpol_call_read (secpol_call_t *call,
                  int (*read) (secpol_call_t *call, secpol_txn_t *txn, void *arg), void *arg)
{
    secpol_txn_t *txn = NULL;
    int rc = secpol_txn_begin (secpol_server_store (call->server), NULL, false, &txn);
    if (rc)
        return secpol_call_fail (call, SECPOL_UNAVAILABLE, "store is unavailable: %s",
                                 secpol_strerror (rc));
    rc = read (call, txn, arg);
    secpol_txn_abort (&txn);
    return rc;
}
