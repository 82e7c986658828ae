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
 *  Rules, table and key: lockout_rules.h. Behaviour: docs/LOCKOUT.md.
 */
#include "expiry.h"
#include "lockout_rules.h"
#include "log.h"
#include "policy.h"
#include "service.h"

#include "secpol/store/v1/lockout_record.pb-c.h"
#include "secpol/v1/lockout.pb-c.h"

#include <inttypes.h>
#include <string.h>

#define REQUEST_BYTES_MAX 1024 /* two ids of at most 128 bytes and a kind */

typedef Secpol__V1__LockoutRequest request_t;
typedef Secpol__V1__LockoutStatus status_t;

/*  One counter as a handler sees it. */
typedef struct {
    uint8_t key[SECPOL_LOCKOUT_KEY_MAX]; /* its key in secpol_lockout_table */
    size_t key_size;                     /* bytes of key */
    bool stored;                         /* a record was found */
    int64_t expires_at;                  /* the stored record's expiry entry; 0 = none */
    secpol_lockout_state_t state;        /* as stored (then as changed) */
    secpol_lockout_settings_t settings;  /* the policy group in force */
    uint32_t prompt_seconds;             /* locked_login_prompt_seconds in force */
} counter_t;

static int s_open (secpol_call_t *call, const request_t *in, counter_t *counter);
static int s_save (secpol_call_t *call, counter_t *counter);
static void s_answer (secpol_call_t *call, const request_t *in, const counter_t *counter,
                      status_t *out);
static void s_note (secpol_call_t *call, const char *action, const request_t *in,
                    const status_t *out);
static int s_store_failed (secpol_call_t *call, int rc);

SECPOL_HANDLER (s_record_failure, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    counter_t counter;
    int rc = s_open (call, in, &counter);
    if (rc)
        return rc;
    /* This may run again after a rollback (the map grew): no effect outside txn and out. */
    bool just_locked = secpol_lockout_fail (&counter.state, &counter.settings, call->now);
    rc = s_save (call, &counter);
    if (rc)
        return rc;
    s_answer (call, in, &counter, out);
    out->just_locked = just_locked;
    s_note (call, "failure", in, out);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_record_success, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    counter_t counter;
    int rc = s_open (call, in, &counter);
    if (rc)
        return rc;
    secpol_lockout_succeed (&counter.state, &counter.settings, call->now);
    rc = s_save (call, &counter);
    if (rc)
        return rc;
    s_answer (call, in, &counter, out);
    s_note (call, "success", in, out);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_check_lockout, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    counter_t counter;
    int rc = s_open (call, in, &counter);
    if (rc)
        return rc;
    secpol_lockout_settle (&counter.state, &counter.settings, call->now);
    s_answer (call, in, &counter, out);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_unlock, Secpol__V1__LockoutRequest, in, Secpol__V1__LockoutStatus, out)
{
    counter_t counter;
    int rc = s_open (call, in, &counter);
    if (rc)
        return rc;
    bool was_locked = counter.state.locked;
    secpol_lockout_settle (&counter.state, &counter.settings, call->now);
    was_locked = was_locked && counter.state.locked; /* a lock that had ended does not count */
    memset (&counter.state, 0, sizeof counter.state);
    rc = s_save (call, &counter);
    if (rc)
        return rc;
    s_answer (call, in, &counter, out);
    s_note (call, was_locked ? "unlock" : "unlock_idle", in, out);
    return SECPOL_OK;
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

/*  Checks the request, reads the policy group of its kind and loads the
 *  counter (empty when none is stored) into *counter. Returns SECPOL_OK or
 *  the status the handler returns. */
static int
s_open (secpol_call_t *call, const request_t *in, counter_t *counter)
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
                               "is required: LOCKOUT_KIND_LOGIN, "
                               "LOCKOUT_KIND_CLAIM or LOCKOUT_KIND_TWO_FACTOR");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;

    memset (counter, 0, sizeof *counter);
    Secpol__V1__Policy *policy;
    rc = secpol_policy_effective (call->txn, call->arena, in->workspace_id, NULL, &policy);
    if (rc)
        return s_store_failed (call, rc);
    const Secpol__V1__LockoutSettings *group =
        in->kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN   ? policy->login_lockout
        : in->kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_CLAIM ? policy->claim_lockout
                                                                   : policy->two_factor_lockout;
    counter->settings.max_failures = group->max_failures;
    counter->settings.window_minutes = group->window_minutes;
    counter->settings.lock_minutes = group->lock_minutes;
    if (counter->settings.max_failures > SECPOL_LOCKOUT_FAILURES_MAX) /* validation forbids it */
        counter->settings.max_failures = SECPOL_LOCKOUT_FAILURES_MAX;
    counter->prompt_seconds = policy->locked_login_prompt_seconds;

    counter->key_size =
        secpol_lockout_key (counter->key, in->workspace_id, in->subject_id, (uint8_t)in->kind);
    secpol_val_t value;
    rc = secpol_get (call->txn, &secpol_lockout_table, counter->key, counter->key_size, &value);
    if (rc == SECPOL_ENOTFOUND)
        return SECPOL_OK;
    if (rc)
        return s_store_failed (call, rc);
    Secpol__Store__V1__LockoutRecord *record = secpol__store__v1__lockout_record__unpack (
        secpol_arena_allocator (call->arena), value.size, value.data);
    if (!record || record->n_failures > SECPOL_LOCKOUT_FAILURES_MAX)
        return s_store_failed (call, SECPOL_ECORRUPT);
    counter->stored = true;
    counter->expires_at = record->expires_at;
    counter->state.n_failures = record->n_failures;
    if (record->n_failures)
        memcpy (counter->state.failures, record->failures,
                record->n_failures * sizeof record->failures[0]);
    counter->state.locked = record->locked;
    counter->state.locked_until = record->locked_until;
    return SECPOL_OK;
}

/*  Stores the counter as changed (deletes it when it has nothing to
 *  remember) and moves its expiry entry. Returns SECPOL_OK or the status
 *  the handler returns. */
static int
s_save (secpol_call_t *call, counter_t *counter)
{
    int rc;
    if (secpol_lockout_empty (&counter->state)) {
        if (!counter->stored)
            return SECPOL_OK;
        rc = secpol_del (call->txn, &secpol_lockout_table, counter->key, counter->key_size);
        if (rc && rc != SECPOL_ENOTFOUND)
            return s_store_failed (call, rc);
        rc = secpol_expiry_move (call->txn, &secpol_lockout_table, counter->key, counter->key_size,
                                 counter->expires_at, 0);
        return rc ? s_store_failed (call, rc) : SECPOL_OK;
    }
    Secpol__Store__V1__LockoutRecord record = SECPOL__STORE__V1__LOCKOUT_RECORD__INIT;
    record.n_failures = counter->state.n_failures;
    record.failures = counter->state.failures;
    record.locked = counter->state.locked;
    record.locked_until = counter->state.locked_until;
    record.expires_at = secpol_lockout_expires_at (&counter->state, &counter->settings);
    size_t size = secpol__store__v1__lockout_record__get_packed_size (&record);
    uint8_t *packed = secpol_call_alloc (call, size ? size : 1);
    secpol__store__v1__lockout_record__pack (&record, packed);
    rc = secpol_put (call->txn, &secpol_lockout_table, counter->key, counter->key_size, packed,
                     size);
    if (!rc)
        rc = secpol_expiry_move (call->txn, &secpol_lockout_table, counter->key, counter->key_size,
                                 counter->stored ? counter->expires_at : 0, record.expires_at);
    return rc ? s_store_failed (call, rc) : SECPOL_OK;
}

/*  Fills the answer from the (settled) counter: the same fields for every
 *  subject id. */
static void
s_answer (secpol_call_t *call, const request_t *in, const counter_t *counter, status_t *out)
{
    secpol_lockout_view_t view;
    secpol_lockout_view (&view, &counter->state, &counter->settings, call->now);
    out->locked = view.locked;
    out->failures = view.failures;
    out->remaining_attempts = view.remaining_attempts;
    out->retry_after_seconds = view.retry_after_seconds;
    out->locked_until = view.locked_until;
    out->prompt_seconds = view.locked ? counter->prompt_seconds : 0;
    out->kind = in->kind;
    out->max_failures = counter->settings.max_failures;
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

static int
s_store_failed (secpol_call_t *call, int rc)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "lockout store: %s", secpol_strerror (rc));
}
