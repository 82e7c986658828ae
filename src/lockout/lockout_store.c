/*  lockout_store.c - one counter loaded, changed by the rules, stored; see
 *  lockout.h, and lockout_rules.h for the table and its key. */
#include "lockout.h"

#include "audit.h"
#include "expiry.h"
#include "policy.h"

#include "secpol/store/v1/lockout_record.pb-c.h"

#include <string.h>

/*  One counter as secpol_lockout_apply sees it. */
typedef struct {
    uint8_t key[SECPOL_LOCKOUT_KEY_MAX]; /* its key in secpol_lockout_table */
    size_t key_size;                     /* bytes of key */
    bool stored;                         /* a record was found */
    int64_t expires_at;                  /* the stored record's expiry entry; 0 = none */
    secpol_lockout_state_t state;        /* as stored (then as changed) */
    secpol_lockout_settings_t settings;  /* the policy group in force */
    uint32_t prompt_seconds;             /* locked_login_prompt_seconds in force */
} counter_t;

static int s_load (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                   const char *subject_id, Secpol__V1__LockoutKind kind, counter_t *counter);
static int s_save (secpol_txn_t *txn, secpol_arena_t *arena, const counter_t *counter);

int
secpol_lockout_apply (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                      const char *subject_id, Secpol__V1__LockoutKind kind,
                      secpol_lockout_action_t action, int64_t now, Secpol__V1__LockoutStatus *out)
{
    if (secpol_policy_id_problem (workspace_id, true) ||
        secpol_policy_id_problem (subject_id, true) ||
        (kind != SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN &&
         kind != SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_CLAIM &&
         kind != SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR))
        return SECPOL_EINVAL;
    counter_t counter;
    int rc = s_load (txn, arena, workspace_id, subject_id, kind, &counter);
    if (rc)
        return rc;
    bool just_locked = false;
    switch (action) {
        case SECPOL_LOCKOUT_FAILURE:
            just_locked = secpol_lockout_fail (&counter.state, &counter.settings, now);
            break;
        case SECPOL_LOCKOUT_SUCCESS:
            secpol_lockout_succeed (&counter.state, &counter.settings, now);
            break;
        case SECPOL_LOCKOUT_UNLOCK:
            memset (&counter.state, 0, sizeof counter.state);
            break;
        default:
            secpol_lockout_settle (&counter.state, &counter.settings, now);
            break;
    }
    if (action != SECPOL_LOCKOUT_CHECK) {
        rc = s_save (txn, arena, &counter);
        if (rc)
            return rc;
    }
    /* the lock's start and an admin's unlock go into the audit log */
    if (just_locked || action == SECPOL_LOCKOUT_UNLOCK) {
        const ProtobufCEnumValue *name =
            protobuf_c_enum_descriptor_get_value (&secpol__v1__lockout_kind__descriptor, (int)kind);
        rc = secpol_audit_add (
            txn, now,
            just_locked ? SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_LOCKED_OUT
                        : SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_UNLOCKED,
            workspace_id, "", subject_id,
            secpol_arena_printf (arena, "kind=%s failures=%zu", name ? name->name : "?",
                                 just_locked ? counter.state.n_failures : (size_t)0));
        if (rc)
            return rc;
    }
    secpol_lockout_view_t view;
    secpol_lockout_view (&view, &counter.state, &counter.settings, now);
    out->locked = view.locked;
    out->failures = view.failures;
    out->remaining_attempts = view.remaining_attempts;
    out->retry_after_seconds = view.retry_after_seconds;
    out->locked_until = view.locked_until;
    out->prompt_seconds = view.locked ? counter.prompt_seconds : 0;
    out->kind = kind;
    out->max_failures = counter.settings.max_failures;
    out->just_locked = just_locked;
    return 0;
}

/*  Reads the policy group of kind and loads the counter (empty when none
 *  is stored) into *counter. Returns 0 or a store error. */
static int
s_load (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id, const char *subject_id,
        Secpol__V1__LockoutKind kind, counter_t *counter)
{
    memset (counter, 0, sizeof *counter);
    const Secpol__V1__Policy *policy;
    int rc = secpol_policy_effective (txn, arena, workspace_id, NULL, &policy);
    if (rc)
        return rc;
    const Secpol__V1__LockoutSettings *group =
        kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN   ? policy->login_lockout
        : kind == SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_CLAIM ? policy->claim_lockout
                                                               : policy->two_factor_lockout;
    counter->settings.max_failures = group->max_failures;
    counter->settings.window_minutes = group->window_minutes;
    counter->settings.lock_minutes = group->lock_minutes;
    if (counter->settings.max_failures > SECPOL_LOCKOUT_FAILURES_MAX) /* validation forbids it */
        counter->settings.max_failures = SECPOL_LOCKOUT_FAILURES_MAX;
    counter->prompt_seconds = policy->locked_login_prompt_seconds;

    counter->key_size = secpol_lockout_key (counter->key, workspace_id, subject_id, (uint8_t)kind);
    secpol_val_t value;
    rc = secpol_get (txn, &secpol_lockout_table, counter->key, counter->key_size, &value);
    if (rc == SECPOL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    Secpol__Store__V1__LockoutRecord *record = secpol__store__v1__lockout_record__unpack (
        secpol_arena_allocator (arena), value.size, value.data);
    if (!record || record->n_failures > SECPOL_LOCKOUT_FAILURES_MAX)
        return SECPOL_ECORRUPT;
    counter->stored = true;
    counter->expires_at = record->expires_at;
    counter->state.n_failures = record->n_failures;
    if (record->n_failures)
        memcpy (counter->state.failures, record->failures,
                record->n_failures * sizeof record->failures[0]);
    counter->state.locked = record->locked;
    counter->state.locked_until = record->locked_until;
    return 0;
}

/*  Stores the counter as changed (deletes it when it has nothing to
 *  remember) and moves its expiry entry. Returns 0 or a store error. */
static int
s_save (secpol_txn_t *txn, secpol_arena_t *arena, const counter_t *counter)
{
    int rc;
    if (secpol_lockout_empty (&counter->state)) {
        if (!counter->stored)
            return 0;
        rc = secpol_del (txn, &secpol_lockout_table, counter->key, counter->key_size);
        if (rc && rc != SECPOL_ENOTFOUND)
            return rc;
        return secpol_expiry_move (txn, &secpol_lockout_table, counter->key, counter->key_size,
                                   counter->expires_at, 0);
    }
    Secpol__Store__V1__LockoutRecord record = SECPOL__STORE__V1__LOCKOUT_RECORD__INIT;
    record.n_failures = counter->state.n_failures;
    record.failures = (int64_t *)counter->state.failures;
    record.locked = counter->state.locked;
    record.locked_until = counter->state.locked_until;
    record.expires_at = secpol_lockout_expires_at (&counter->state, &counter->settings);
    size_t size = secpol__store__v1__lockout_record__get_packed_size (&record);
    uint8_t *packed = secpol_arena_alloc (arena, size ? size : 1);
    secpol__store__v1__lockout_record__pack (&record, packed);
    rc = secpol_put (txn, &secpol_lockout_table, counter->key, counter->key_size, packed, size);
    if (rc)
        return rc;
    return secpol_expiry_move (txn, &secpol_lockout_table, counter->key, counter->key_size,
                               counter->stored ? counter->expires_at : 0, record.expires_at);
}
