/*  password_service.c - PasswordService: password rules per policy level,
 *  history, change interval, forced reset and inactivity.
 *
 *  CheckPassword runs on the SLOW lane with no write part: its prepare step
 *  takes what it needs from the store in one short read-only transaction of
 *  its own (the effective policy and the subject's record, copied into the
 *  arena), ends it, and only then runs the costly checks (cracklib, and one
 *  argon2id verification per stored hash), so that neither a transaction
 *  nor a READ or WRITE thread waits on a hash. The slow pool is bounded
 *  (--slow-workers, default cores/2, at least 1): on 2 cores a burst of
 *  checks takes one core and leaves the other to the READ lane.
 *
 *  RecordPasswordChange runs on the SLOW lane too: prepare hashes the new
 *  password (argon2id, OWASP parameters: 19 MiB, 2 passes), the write part
 *  (WRITE lane) puts the hash at the head of the subject's history, keeps
 *  the last password_reuse_limit, and stamps the change time and the
 *  policy's force_password_reset generation. On a retry the write part
 *  reuses prepare's hash and sets response fields only.
 *
 *  RecordActivity stays on the READ lane while the stored activity is less
 *  than an hour old, and answers SECPOL_NEEDS_WRITE to store a newer one:
 *  at most one write an hour per subject. GetAccountStatus reads.
 *
 *  No password is logged, stored or kept: the request's copy is wiped when
 *  the handler is done with it, and so is every normal form made of it.
 *
 *  Table and key: password_store.h. Behaviour: docs/PASSWORDS.md.
 */
#include "log.h"
#include "password_rules.h"
#include "password_store.h"
#include "policy.h"
#include "server.h"
#include "service.h"

#include "secpol/v1/password.pb-c.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define DAY               86400
#define ACTIVITY_INTERVAL 3600                /* seconds between stored activities of a subject */
#define HASH_OPSLIMIT     2                   /* OWASP Password Storage Cheat Sheet */
#define HASH_MEMLIMIT     (19u * 1024 * 1024) /* 19 MiB */
#define REQUEST_BYTES_MAX (8 * 1024)          /* ids, a password and 16 user inputs */
#define HISTORY_MAX       24                  /* password_reuse_limit's ceiling */

typedef Secpol__Store__V1__PasswordAccount account_t;

/*  What CheckPassword's prepare reads in its short transaction. */
typedef struct {
    const Secpol__V1__Policy *policy;
    account_t *account;
} snapshot_t;

static void s_check_id (secpol_call_t *call, const char *field, const char *id, bool required);
static int s_load (secpol_call_t *call, secpol_txn_t *txn, const char *workspace_id,
                   const char *community_id, const char *subject_id, snapshot_t *snapshot);
static int s_snapshot (secpol_call_t *call, const char *workspace_id, const char *community_id,
                       const char *subject_id, snapshot_t *snapshot);
static void s_violation (secpol_call_t *call, Secpol__V1__CheckPasswordResponse *out,
                         const char *code, const char *message);
static void s_wipe (const char *password);
static int s_store_failed (secpol_call_t *call, int rc);
static int64_t s_next_change_allowed_at (const Secpol__V1__Policy *policy, const account_t *account,
                                         int64_t now);

SECPOL_HANDLER (s_check_password, Secpol__V1__CheckPasswordRequest, in,
                Secpol__V1__CheckPasswordResponse, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "community_id", in->community_id, false);
    s_check_id (call, "subject_id", in->subject_id, true);
    if (in->n_user_inputs > SECPOL_PASSWORD_USER_INPUTS)
        secpol_call_violation (call, "user_inputs", "has %zu entries; at most %d",
                               in->n_user_inputs, SECPOL_PASSWORD_USER_INPUTS);
    for (size_t i = 0; i < in->n_user_inputs && i < SECPOL_PASSWORD_USER_INPUTS; i++)
        if (strlen (in->user_inputs[i]) > SECPOL_PASSWORD_USER_INPUT_MAX)
            secpol_call_violation (call, secpol_call_printf (call, "user_inputs[%zu]", i),
                                   "is longer than %d bytes", SECPOL_PASSWORD_USER_INPUT_MAX);
    int rc = secpol_call_check (call);
    if (rc)
        goto done;

    snapshot_t snapshot;
    rc = s_snapshot (call, in->workspace_id, in->community_id, in->subject_id, &snapshot);
    if (rc)
        goto done;
    const Secpol__V1__Policy *policy = snapshot.policy;
    const account_t *account = snapshot.account;

    /* the rules of the level */
    secpol_password_violation_t found[SECPOL_PASSWORD_VIOLATIONS_MAX];
    size_t n_found = 0;
    if (secpol_password_rules_check (found, &n_found,
                                     secpol_password_level (policy->password_policy), in->password,
                                     (const char *const *)in->user_inputs, in->n_user_inputs)) {
        rc = secpol_call_fail (call, SECPOL_INTERNAL,
                               "password check unavailable (cracklib dictionary: install "
                               "cracklib-runtime)");
        goto done;
    }
    bool too_long = false;
    for (size_t i = 0; i < n_found; i++) {
        s_violation (call, out, found[i].code, found[i].message);
        too_long |= strcmp (found[i].code, "TOO_LONG") == 0;
    }

    /* history: the last password_reuse_limit passwords, newest first */
    size_t size = strlen (in->password);
    if (policy->password_reuse_limit && !too_long && size) {
        size_t bytes, chars;
        uint8_t *normal = secpol_password_normalize (in->password, size, &bytes, &chars);
        if (!normal) {
            rc = secpol_call_fail (call, SECPOL_INTERNAL, "out of memory");
            goto done;
        }
        size_t n = account->n_history < policy->password_reuse_limit ? account->n_history
                                                                     : policy->password_reuse_limit;
        for (size_t i = 0; i < n; i++)
            if (crypto_pwhash_str_verify (account->history[i], (const char *)normal, bytes) == 0) {
                s_violation (call, out, "REUSED",
                             secpol_call_printf (call,
                                                 "is one of the last %u passwords of this account; "
                                                 "choose one not used before",
                                                 policy->password_reuse_limit));
                break;
            }
        secpol_password_free (normal, bytes);
    }

    /* change interval: an admin-forced change is exempt */
    int64_t next = s_next_change_allowed_at (policy, account, call->now);
    if (next && !in->admin_forced) {
        s_violation (call, out, "CHANGED_TOO_RECENTLY",
                     secpol_call_printf (call,
                                         "the password was changed less than %u days ago; "
                                         "the next change is allowed at %" PRId64,
                                         policy->password_change_interval_days, next));
        out->next_change_allowed_at = next;
    }
    out->ok = out->n_violations == 0;
    rc = SECPOL_OK;
done:
    s_wipe (in->password);
    return rc;
}

SECPOL_HANDLER (s_hash_password, Secpol__V1__RecordPasswordChangeRequest, in,
                Secpol__V1__RecordPasswordChangeResponse, out)
{
    (void)out;
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "community_id", in->community_id, false);
    s_check_id (call, "subject_id", in->subject_id, true);
    size_t size = strlen (in->password), bytes = 0, chars = 0;
    uint8_t *normal = NULL;
    if (size == 0)
        secpol_call_violation (call, "password", "is required");
    else if (size > SECPOL_PASSWORD_MAX_BYTES)
        secpol_call_violation (call, "password", "is longer than %d characters",
                               SECPOL_PASSWORD_MAX_CHARS);
    else {
        normal = secpol_password_normalize (in->password, size, &bytes, &chars);
        if (!normal)
            secpol_call_violation (call, "password", "cannot be normalised (NFKC)");
        else if (chars > SECPOL_PASSWORD_MAX_CHARS)
            secpol_call_violation (call, "password", "has %zu characters; at most %d", chars,
                                   SECPOL_PASSWORD_MAX_CHARS);
    }
    int rc = secpol_call_check (call);
    if (rc == SECPOL_OK) {
        char *hash = secpol_call_alloc (call, crypto_pwhash_STRBYTES);
        if (crypto_pwhash_str (hash, (const char *)normal, bytes, HASH_OPSLIMIT, HASH_MEMLIMIT))
            rc = secpol_call_fail (call, SECPOL_RESOURCE_EXHAUSTED,
                                   "not enough memory to hash the password");
        else
            call->slow_result = hash;
    }
    secpol_password_free (normal, bytes);
    s_wipe (in->password);
    return rc;
}

SECPOL_HANDLER (s_record_password_change, Secpol__V1__RecordPasswordChangeRequest, in,
                Secpol__V1__RecordPasswordChangeResponse, out)
{
    snapshot_t snapshot;
    int rc =
        s_load (call, call->txn, in->workspace_id, in->community_id, in->subject_id, &snapshot);
    if (rc)
        return rc;
    const Secpol__V1__Policy *policy = snapshot.policy;
    account_t *account = snapshot.account;
    /* This may run again after a rollback (the map grew): no effect outside txn and out. */
    size_t keep =
        policy->password_reuse_limit < HISTORY_MAX ? policy->password_reuse_limit : HISTORY_MAX;
    char **history = secpol_call_alloc (call, (keep ? keep : 1) * sizeof *history);
    size_t n = 0;
    if (keep)
        history[n++] = call->slow_result;
    for (size_t i = 0; i < account->n_history && n < keep; i++)
        history[n++] = account->history[i];
    account->history = history;
    account->n_history = n;
    account->password_changed_at = call->now;
    account->reset_generation = policy->force_password_reset;
    rc = secpol_password_account_save (call->txn, call->arena, in->workspace_id, in->subject_id,
                                       account);
    if (rc)
        return s_store_failed (call, rc);
    out->password_changed_at = call->now;
    out->history_size = (uint32_t)n;
    char ws[300], subject[300];
    secpol_call_note (call, "workspace=%s subject=%s history=%zu",
                      secpol_log_quote (ws, sizeof ws, in->workspace_id),
                      secpol_log_quote (subject, sizeof subject, in->subject_id), n);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_record_activity, Secpol__V1__RecordActivityRequest, in,
                Secpol__V1__RecordActivityResponse, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "subject_id", in->subject_id, true);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    account_t *account;
    rc = secpol_password_account_load (call->txn, call->arena, in->workspace_id, in->subject_id,
                                       &account);
    if (rc)
        return s_store_failed (call, rc);
    if (account->last_active_at && call->now - account->last_active_at < ACTIVITY_INTERVAL &&
        call->now >= account->last_active_at) {
        out->last_active_at = account->last_active_at;
        return SECPOL_OK;
    }
    if (!call->writable)
        return SECPOL_NEEDS_WRITE; /* runs again on the WRITE lane, which checks again */
    account->last_active_at = call->now;
    rc = secpol_password_account_save (call->txn, call->arena, in->workspace_id, in->subject_id,
                                       account);
    if (rc)
        return s_store_failed (call, rc);
    out->last_active_at = call->now;
    char ws[300], subject[300];
    secpol_call_note (call, "workspace=%s subject=%s activity=%" PRId64,
                      secpol_log_quote (ws, sizeof ws, in->workspace_id),
                      secpol_log_quote (subject, sizeof subject, in->subject_id), call->now);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_get_account_status, Secpol__V1__GetAccountStatusRequest, in,
                Secpol__V1__AccountStatus, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "community_id", in->community_id, false);
    s_check_id (call, "subject_id", in->subject_id, true);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    snapshot_t snapshot;
    rc = s_load (call, call->txn, in->workspace_id, in->community_id, in->subject_id, &snapshot);
    if (rc)
        return rc;
    const Secpol__V1__Policy *policy = snapshot.policy;
    account_t *account = snapshot.account;
    out->must_reset_password = policy->force_password_reset > account->reset_generation;
    out->last_active_at = account->last_active_at;
    out->password_changed_at = account->password_changed_at;
    int64_t seen = account->last_active_at > account->password_changed_at
                       ? account->last_active_at
                       : account->password_changed_at;
    out->inactive = policy->max_inactive_days && seen &&
                    call->now - seen > (int64_t)policy->max_inactive_days * DAY;
    out->next_change_allowed_at = s_next_change_allowed_at (policy, account, call->now);
    return SECPOL_OK;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "CheckPassword",
     .lane = SECPOL_LANE_SLOW,
     .role = SECPOL_ROLE_SERVICE,
     .prepare = &s_check_password,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RecordPasswordChange",
     .lane = SECPOL_LANE_SLOW,
     .role = SECPOL_ROLE_SERVICE,
     .prepare = &s_hash_password,
     .handler = &s_record_password_change,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RecordActivity",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_record_activity,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "GetAccountStatus",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_get_account_status,
     .max_request_bytes = REQUEST_BYTES_MAX},
};
static const secpol_table_t *const s_tables[] = {&secpol_password_account_table};
SECPOL_SERVICE (password, secpol__v1__password_service__descriptor, s_methods, s_tables);

static void
s_check_id (secpol_call_t *call, const char *field, const char *id, bool required)
{
    const char *problem = secpol_policy_id_problem (id, required);
    if (problem)
        secpol_call_violation (call, field, "%s", problem);
}

/*  What s_snapshot reads, and where it puts it. */
typedef struct {
    const char *workspace_id, *community_id, *subject_id;
    snapshot_t *snapshot;
} snapshot_args_t;

static int
s_snapshot_read (secpol_call_t *call, secpol_txn_t *txn, void *arg)
{
    snapshot_args_t *args = arg;
    return s_load (call, txn, args->workspace_id, args->community_id, args->subject_id,
                   args->snapshot);
}

/*  Reads the effective policy and the subject's record in a read-only
 *  transaction the runtime opens for the SLOW prepare step and ends before
 *  any hashing starts (secpol_call_read): holding one through argon2id
 *  would hold back map growth. Everything read is copied into the arena. */
static int
s_snapshot (secpol_call_t *call, const char *workspace_id, const char *community_id,
            const char *subject_id, snapshot_t *snapshot)
{
    snapshot_args_t args = {workspace_id, community_id, subject_id, snapshot};
    return secpol_call_read (call, s_snapshot_read, &args);
}

/*  Reads the effective policy and the subject's record into the arena. */
static int
s_load (secpol_call_t *call, secpol_txn_t *txn, const char *workspace_id, const char *community_id,
        const char *subject_id, snapshot_t *snapshot)
{
    int rc =
        secpol_policy_effective (txn, call->arena, workspace_id, community_id, &snapshot->policy);
    if (!rc)
        rc = secpol_password_account_load (txn, call->arena, workspace_id, subject_id,
                                           &snapshot->account);
    return rc ? s_store_failed (call, rc) : SECPOL_OK;
}

static void
s_violation (secpol_call_t *call, Secpol__V1__CheckPasswordResponse *out, const char *code,
             const char *message)
{
    Secpol__V1__PasswordViolation *violation =
        (Secpol__V1__PasswordViolation *)secpol_arena_message (
            call->arena, &secpol__v1__password_violation__descriptor);
    violation->code = (char *)code;
    violation->message = secpol_call_strdup (call, message);
    secpol_arena_append (call->arena, &out->n_violations, (void ***)&out->violations, violation);
}

/*  Wipes the request's copy of a password (it lives in the arena). */
static void
s_wipe (const char *password)
{
    if (password)
        sodium_memzero ((char *)password, strlen (password));
}

static int
s_store_failed (secpol_call_t *call, int rc)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "password store: %s", secpol_strerror (rc));
}

/*  When the subject may change the password again, or 0 when now. */
static int64_t
s_next_change_allowed_at (const Secpol__V1__Policy *policy, const account_t *account, int64_t now)
{
    if (!policy->password_change_interval_days || !account->password_changed_at)
        return 0;
    int64_t next =
        account->password_changed_at + (int64_t)policy->password_change_interval_days * DAY;
    return next > now ? next : 0;
}
