/*  lockout_service.c - LockoutService: failed login, claim and two-factor
 *  attempts, and the locks they lead to.
 *
 *  RecordFailure, RecordSuccess and Unlock run on the WRITE lane: the one
 *  writer makes each read-modify-write of a counter atomic, so concurrent
 *  failures count exactly and exactly one of them reports the lock.
 *  CheckLockout runs on the READ lane and writes nothing. Every handler
 *  reads the effective workspace policy in its own transaction, so a
 *  policy change applies at the next call.
 *
 *  A subject secpol never saw reads as a counter with no failure: every
 *  answer has the same shape whatever the subject id, and secpol does not
 *  know (nor ask) whether the subject exists.
 *
 *  The counter's load and store: lockout.h; rules, table and key:
 *  lockout_rules.h. Behaviour: docs/LOCKOUT.md.
 */
#include "lockout.h"
#include "log.h"
#include "policy.h"
#include "service.h"

#include "secpol/v1/lockout.pb-c.h"

#include <inttypes.h>

#define REQUEST_BYTES_MAX 1024 /* two ids of at most 128 bytes and a kind */

typedef Secpol__V1__LockoutRequest request_t;
typedef Secpol__V1__LockoutStatus status_t;

static int s_apply (secpol_call_t *call, const request_t *in, secpol_lockout_action_t action,
                    status_t *out);
static void s_note (secpol_call_t *call, const char *action, const request_t *in,
                    const status_t *out);

SECPOL_HANDLER (s_record_failure, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    /* This may run again after a rollback (the map grew): no effect outside txn and out. */
    int rc = s_apply (call, in, SECPOL_LOCKOUT_FAILURE, out);
    if (rc == SECPOL_OK)
        s_note (call, "failure", in, out);
    return rc;
}

SECPOL_HANDLER (s_record_success, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    int rc = s_apply (call, in, SECPOL_LOCKOUT_SUCCESS, out);
    if (rc == SECPOL_OK)
        s_note (call, "success", in, out);
    return rc;
}

SECPOL_HANDLER (s_check_lockout, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    return s_apply (call, in, SECPOL_LOCKOUT_CHECK, out);
}

SECPOL_HANDLER (s_unlock, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    int rc = s_apply (call, in, SECPOL_LOCKOUT_UNLOCK, out);
    if (rc == SECPOL_OK)
        s_note (call, "unlock", in, out);
    return rc;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "RecordFailure",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_record_failure,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RecordSuccess",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_record_success,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "CheckLockout",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_check_lockout,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "Unlock",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_ADMIN,
     .handler = &s_unlock,
     .max_request_bytes = REQUEST_BYTES_MAX},
};
static const secpol_table_t *const s_tables[] = {&secpol_lockout_table};
SECPOL_SERVICE (lockout, secpol__v1__lockout_service__descriptor, s_methods, s_tables);

/*  Checks the request and applies action. Returns SECPOL_OK or the status
 *  the handler returns. */
static int
s_apply (secpol_call_t *call, const request_t *in, secpol_lockout_action_t action, status_t *out)
{
    const char *problem = secpol_policy_id_problem (in->workspace_id, true);
    if (problem)
        secpol_call_violation (call, "workspace_id", "%s", problem);
    problem = secpol_policy_id_problem (in->subject_id, true);
    if (problem)
        secpol_call_violation (call, "subject_id", "%s", problem);
    if (in->kind != SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN &&
        in->kind != SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_CLAIM &&
        in->kind != SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR)
        secpol_call_violation (call, "kind",
                               "is required: LOCKOUT_KIND_LOGIN, LOCKOUT_KIND_CLAIM or "
                               "LOCKOUT_KIND_TWO_FACTOR");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    rc = secpol_lockout_apply (call->txn, call->arena, in->workspace_id, in->subject_id, in->kind,
                               action, call->now, out);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "lockout store: %s", secpol_strerror (rc));
    if (out->just_locked)
        secpol_call_event (call, in->kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN
                                     ? SECPOL_EVENT_LOCKED_LOGIN
                                 : in->kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_CLAIM
                                     ? SECPOL_EVENT_LOCKED_CLAIM
                                     : SECPOL_EVENT_LOCKED_TWO_FACTOR);
    return SECPOL_OK;
}

/*  Describes a write for the WRITE lane's info line. */
static void
s_note (secpol_call_t *call, const char *action, const request_t *in, const status_t *out)
{
    char workspace[300], subject[300];
    secpol_call_note (
        call, "action=%s workspace=%s subject=%s kind=%d failures=%" PRIu32 " locked=%s%s", action,
        secpol_log_quote (workspace, sizeof workspace, in->workspace_id),
        secpol_log_quote (subject, sizeof subject, in->subject_id), (int)in->kind, out->failures,
        out->locked ? "true" : "false", out->just_locked ? " just_locked=true" : "");
}
