/*  otp_service.c - OtpService handlers and their method table.
 *
 *  Email codes: IssueEmailOtp and VerifyEmailOtp run on the WRITE lane, one
 *  at a time, so that a code is used at most once and every wrong try is
 *  counted exactly, even under concurrent calls.
 *
 *  Every verification follows one order: the request is checked, then the
 *  policy (FAILED_PRECONDITION when the factor is off), then the subject's
 *  TWO_FACTOR counter (lockout.h): while it is locked the answer is
 *  "locked" and nothing else is looked at, so even the right code is
 *  refused and nothing is spent. Otherwise the code is compared (in
 *  constant time, on keyed hashes), and a refusal records one TWO_FACTOR
 *  failure with secpol_lockout_apply() in the same transaction, a success
 *  clears the counter; the answer carries the counter as it is after the
 *  call. Wrong code, no code, used code: one answer, "invalid".
 *
 *  Security events (a code issued, used or burned) are described in one
 *  place per handler, s_event(): the WRITE lane logs it once committed, and
 *  an audit log can take it from there.
 *
 *  Tables, keys and hashes: otp_store.h. Code shapes: otp_codes.h.
 *  Behaviour for callers: docs/OTP.md.
 */
#include "lockout.h"
#include "log.h"
#include "otp_codes.h"
#include "otp_store.h"
#include "policy.h"
#include "server.h"
#include "service.h"

#include "secpol/v1/otp.pb-c.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define REQUEST_BYTES_MAX 1024 /* two ids of at most 128 bytes, a purpose, a code */
#define TWO_FACTOR        SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR

/*  The reasons of OtpVerifyResponse (otp.proto). */
#define REASON_INVALID "invalid"
#define REASON_EXPIRED "expired"
#define REASON_BURNED  "burned"
#define REASON_LOCKED  "locked"

static void s_check_ids (secpol_call_t *call, const char *workspace_id, const char *subject_id);
static int s_policy (secpol_call_t *call, const char *workspace_id, Secpol__V1__Policy **policy_p);
static int s_lockout (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                      secpol_lockout_action_t action, Secpol__V1__LockoutStatus **status_p);
static int s_refuse (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                     const char *reason, Secpol__V1__OtpVerifyResponse *out);
static void s_event (secpol_call_t *call, const char *event, const char *workspace_id,
                     const char *subject_id, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
static int s_store_failed (secpol_call_t *call, int rc);

//  --------------------------------------------------------------------------
//  Email codes

SECPOL_HANDLER (s_issue_email_otp, Secpol__V1__IssueEmailOtpRequest, in,
                Secpol__V1__IssueEmailOtpResponse, out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    const char *problem = secpol_otp_purpose_problem (in->purpose);
    if (problem)
        secpol_call_violation (call, "purpose", "%s", problem);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    Secpol__V1__Policy *policy;
    if ((rc = s_policy (call, in->workspace_id, &policy)))
        return rc;
    if (!policy->email_two_step_enabled)
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                                 "email two-step codes are off in this workspace's policy "
                                 "(email_two_step_enabled)");

    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, in->purpose);
    Secpol__Store__V1__EmailOtpRecord *old = NULL;
    rc = secpol_otp_email_load (call->txn, call->arena, key, key_size, &old);
    if (rc && rc != SECPOL_ENOTFOUND)
        return s_store_failed (call, rc);

    /* This may run again after a rollback (the map grew): a new code then,
     * which is fine, since only the reply that is sent carries one. The
     * TWO_FACTOR counter is read, never reset: a new code does not undo
     * failures (NIST SP 800-63B 5.2.2). */
    char code[SECPOL_OTP_CODE_BUF];
    secpol_otp_email_code_new (code);
    uint8_t hash[SECPOL_OTP_HASH_BYTES];
    secpol_otp_code_hash (hash, secpol_server_store (call->server), "email", key, key_size, code);
    Secpol__Store__V1__EmailOtpRecord record = SECPOL__STORE__V1__EMAIL_OTP_RECORD__INIT;
    record.code_hash.data = hash;
    record.code_hash.len = sizeof hash;
    record.issued_at = call->now;
    record.expires_at = call->now + policy->email_otp_ttl_seconds;
    rc = secpol_otp_email_save (call->txn, call->arena, key, key_size, &record, old);
    if (rc == 0)
        rc =
            s_lockout (call, in->workspace_id, in->subject_id, SECPOL_LOCKOUT_CHECK, &out->lockout);
    if (rc) {
        sodium_memzero (code, sizeof code);
        return rc == SECPOL_INTERNAL ? rc : s_store_failed (call, rc);
    }
    out->code = secpol_call_strdup (call, code);
    sodium_memzero (code, sizeof code);
    out->expires_at = record.expires_at;
    out->replaced = old && !old->burned && old->expires_at > call->now;
    s_event (call, "email_otp_issued", in->workspace_id, in->subject_id,
             "purpose=%s expires_at=%" PRId64 " replaced=%s", in->purpose, record.expires_at,
             out->replaced ? "true" : "false");
    return SECPOL_OK;
}

SECPOL_HANDLER (s_verify_email_otp, Secpol__V1__VerifyEmailOtpRequest, in,
                Secpol__V1__OtpVerifyResponse, out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    const char *problem = secpol_otp_purpose_problem (in->purpose);
    if (problem)
        secpol_call_violation (call, "purpose", "%s", problem);
    char code[SECPOL_OTP_CODE_BUF];
    if (!secpol_otp_digits_read (code, in->code))
        secpol_call_violation (call, "code", "must be %d digits (spaces are ignored)",
                               SECPOL_OTP_DIGITS);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    Secpol__V1__Policy *policy;
    if ((rc = s_policy (call, in->workspace_id, &policy)))
        goto done;
    if (!policy->email_two_step_enabled) {
        rc = secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                               "email two-step codes are off in this workspace's policy "
                               "(email_two_step_enabled)");
        goto done;
    }
    /* Locked: refused before the code is looked at; nothing is spent. */
    if ((rc = s_lockout (call, in->workspace_id, in->subject_id, SECPOL_LOCKOUT_CHECK,
                         &out->lockout)))
        goto done;
    if (out->lockout->locked) {
        out->reason = REASON_LOCKED;
        goto done;
    }

    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, in->purpose);
    Secpol__Store__V1__EmailOtpRecord *record = NULL;
    rc = secpol_otp_email_load (call->txn, call->arena, key, key_size, &record);
    if (rc == SECPOL_ENOTFOUND) { /* never issued, used, or swept: as a wrong code */
        rc = s_refuse (call, in->workspace_id, in->subject_id, REASON_INVALID, out);
        goto done;
    }
    if (rc) {
        rc = s_store_failed (call, rc);
        goto done;
    }
    uint8_t hash[SECPOL_OTP_HASH_BYTES];
    secpol_otp_code_hash (hash, secpol_server_store (call->server), "email", key, key_size, code);
    bool match = !record->burned && record->code_hash.len == sizeof hash &&
                 sodium_memcmp (hash, record->code_hash.data, sizeof hash) == 0;
    if (record->burned) {
        rc = s_refuse (call, in->workspace_id, in->subject_id, REASON_BURNED, out);
    } else if (record->expires_at <= call->now) {
        rc = s_refuse (call, in->workspace_id, in->subject_id, REASON_EXPIRED, out);
    } else if (match) {
        /* Used: gone at once, so the same code never works twice. */
        if ((rc = secpol_otp_email_delete (call->txn, key, key_size, record)) ||
            (rc = s_lockout (call, in->workspace_id, in->subject_id, SECPOL_LOCKOUT_SUCCESS,
                             &out->lockout))) {
            rc = rc == SECPOL_INTERNAL ? rc : s_store_failed (call, rc);
            goto done;
        }
        out->ok = true;
        s_event (call, "email_otp_used", in->workspace_id, in->subject_id, "purpose=%s",
                 in->purpose);
    } else {
        Secpol__Store__V1__EmailOtpRecord changed = *record;
        changed.wrong_tries++;
        if (changed.wrong_tries >= SECPOL_OTP_EMAIL_TRIES_MAX) {
            changed.burned = true; /* no code matches it any more */
            changed.code_hash.data = NULL;
            changed.code_hash.len = 0;
        }
        rc = secpol_otp_email_save (call->txn, call->arena, key, key_size, &changed, record);
        if (rc) {
            rc = s_store_failed (call, rc);
            goto done;
        }
        rc = s_refuse (call, in->workspace_id, in->subject_id,
                       changed.burned ? REASON_BURNED : REASON_INVALID, out);
        out->attempts_left = SECPOL_OTP_EMAIL_TRIES_MAX - changed.wrong_tries;
        if (rc == SECPOL_OK)
            s_event (call, changed.burned ? "email_otp_burned" : "email_otp_refused",
                     in->workspace_id, in->subject_id,
                     "purpose=%s wrong_tries=%" PRIu32 " failures=%" PRIu32, in->purpose,
                     changed.wrong_tries, out->lockout->failures);
    }
done:
    sodium_memzero (code, sizeof code);
    return rc;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "IssueEmailOtp",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_issue_email_otp,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "VerifyEmailOtp",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_verify_email_otp,
     .max_request_bytes = REQUEST_BYTES_MAX},
};
static const secpol_table_t *const s_tables[] = {&secpol_otp_email_table};
SECPOL_SERVICE (otp, secpol__v1__otp_service__descriptor, s_methods, s_tables);

//  --------------------------------------------------------------------------
//  Helpers

static void
s_check_ids (secpol_call_t *call, const char *workspace_id, const char *subject_id)
{
    const char *problem = secpol_policy_id_problem (workspace_id, true);
    if (problem)
        secpol_call_violation (call, "workspace_id", "%s", problem);
    problem = secpol_policy_id_problem (subject_id, true);
    if (problem)
        secpol_call_violation (call, "subject_id", "%s", problem);
}

/*  The workspace's effective policy, or INTERNAL (message set). */
static int
s_policy (secpol_call_t *call, const char *workspace_id, Secpol__V1__Policy **policy_p)
{
    int rc = secpol_policy_effective (call->txn, call->arena, workspace_id, NULL, policy_p);
    return rc ? s_store_failed (call, rc) : SECPOL_OK;
}

/*  Applies action to the subject's TWO_FACTOR counter and sets *status_p
 *  to its status, in the arena. Returns SECPOL_OK or INTERNAL (message set). */
static int
s_lockout (secpol_call_t *call, const char *workspace_id, const char *subject_id,
           secpol_lockout_action_t action, Secpol__V1__LockoutStatus **status_p)
{
    Secpol__V1__LockoutStatus *status = secpol_call_alloc (call, sizeof *status);
    secpol__v1__lockout_status__init (status);
    int rc = secpol_lockout_apply (call->txn, call->arena, workspace_id, subject_id, TWO_FACTOR,
                                   action, call->now, status);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "lockout store: %s", secpol_strerror (rc));
    *status_p = status;
    return SECPOL_OK;
}

/*  A refused verification: reason, and one TWO_FACTOR failure recorded. */
static int
s_refuse (secpol_call_t *call, const char *workspace_id, const char *subject_id, const char *reason,
          Secpol__V1__OtpVerifyResponse *out)
{
    out->ok = false;
    out->reason = (char *)reason;
    return s_lockout (call, workspace_id, subject_id, SECPOL_LOCKOUT_FAILURE, &out->lockout);
}

/*  The one place a handler describes a security event it made: the WRITE
 *  lane logs it with the commit (never a code or secret: ids and facts
 *  only). An audit log hooks here. */
static void
s_event (secpol_call_t *call, const char *event, const char *workspace_id, const char *subject_id,
         const char *fmt, ...)
{
    char workspace[6 * SECPOL_OTP_ID_MAX + 3], subject[6 * SECPOL_OTP_ID_MAX + 3];
    va_list args;
    va_start (args, fmt);
    char *rest = secpol_arena_vprintf (call->arena, fmt, args);
    va_end (args);
    secpol_call_note (call, "event=%s workspace=%s subject=%s %s", event,
                      secpol_log_quote (workspace, sizeof workspace, workspace_id),
                      secpol_log_quote (subject, sizeof subject, subject_id), rest);
}

static int
s_store_failed (secpol_call_t *call, int rc)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "otp store: %s", secpol_strerror (rc));
}
