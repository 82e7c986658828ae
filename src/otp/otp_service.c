/*  otp_service.c - OtpService handlers and their method table.
 *
 *  Every method but GetTotpStatus runs on the WRITE lane, one at a time, so
 *  that a code is used at most once (an email code, a TOTP time step, a
 *  recovery code) and every wrong try is counted exactly, even under
 *  concurrent calls. A verification writes whatever its outcome (the code
 *  spent, or the failure counted) but for "locked", so there is nothing to
 *  gain from trying it on the READ lane first.
 *
 *  Authenticator apps: BeginTotpEnrollment keeps a new secret pending (its
 *  own table); ConfirmTotpEnrollment moves it to the active table once a
 *  code of it matches, with new recovery codes. VerifyTotp accepts the
 *  server's time step and one either side, never a step at or before the
 *  last accepted one ("replayed"), and records the drift. A subject without
 *  an active app (never enrolled, only pending, removed) is answered
 *  exactly as a wrong code: "invalid", one failure counted, so that the
 *  answer to a guessed code never tells whether the subject uses an app
 *  (nor whether it exists). The caller learns that from GetTotpStatus,
 *  which it asks with its own authority, not from a code someone typed.
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
#include "audit.h"
#include "lockout.h"
#include "log.h"
#include "otp_codes.h"
#include "otp_store.h"
#include "otp_totp.h"
#include "policy.h"
#include "server.h"
#include "service.h"
#include "text.h"

#include "secpol/v1/otp.pb-c.h"

#include <inttypes.h>
#include <stdint.h>
#include <sodium.h>
#include <string.h>

#define REQUEST_BYTES_MAX 1024 /* two ids of at most 128 bytes, a purpose, a code */
#define TWO_FACTOR        SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR

/*  The reasons of OtpVerifyResponse (otp.proto). */
#define REASON_INVALID "invalid"
#define REASON_EXPIRED "expired"
#define REASON_BURNED  "burned"
#define REASON_LOCKED  "locked"
#define REASON_REPLAY  "replayed"

#define PENDING_TTL 1800 /* seconds a pending enrollment waits for its confirmation */
#define LABEL_MAX   128  /* bytes of an account_name or issuer */

static void s_check_ids (secpol_call_t *call, const char *workspace_id, const char *subject_id);
static int s_policy (secpol_call_t *call, const char *workspace_id,
                     const Secpol__V1__Policy **policy_p);
static int s_lockout (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                      secpol_lockout_action_t action, Secpol__V1__LockoutStatus **status_p);
static int s_refuse (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                     const char *reason, Secpol__V1__OtpVerifyResponse *out);
static int s_event (secpol_call_t *call, const char *event, const char *workspace_id,
                    const char *subject_id, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
static int s_store_failed (secpol_call_t *call, int rc);
static int s_app_enabled (secpol_call_t *call, const char *workspace_id);
static void s_check_label (secpol_call_t *call, const char *field, const char *text, bool required);
static void s_recovery_codes (secpol_call_t *call, const uint8_t *key, size_t key_size,
                              Secpol__Store__V1__TotpRecord *record, size_t *n_codes_p,
                              char ***codes_p);
static uint32_t s_recovery_left (const Secpol__Store__V1__TotpRecord *record);
static int s_check_lock (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                         Secpol__V1__OtpVerifyResponse *out);
static int s_app_verification (secpol_call_t *call, const char *workspace_id,
                               const char *subject_id, uint8_t key[SECPOL_OTP_KEY_MAX],
                               size_t *key_size_p, Secpol__Store__V1__TotpRecord **record_p,
                               Secpol__V1__OtpVerifyResponse *out);
static int s_totp_match (secpol_call_t *call, const uint8_t *key, size_t key_size,
                         const Secpol__Store__V1__SealedSecret *sealed, const char *code,
                         uint64_t last_step, uint64_t *step_p, int *drift_p, int *match_p);

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
    const Secpol__V1__Policy *policy;
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
    const Secpol__V1__Policy *policy;
    if ((rc = s_policy (call, in->workspace_id, &policy)))
        goto done;
    if (!policy->email_two_step_enabled) {
        rc = secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                               "email two-step codes are off in this workspace's policy "
                               "(email_two_step_enabled)");
        goto done;
    }
    /* Locked: refused before the code is looked at; nothing is spent. */
    if ((rc = s_check_lock (call, in->workspace_id, in->subject_id, out)) || out->lockout->locked)
        goto done;

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

//  --------------------------------------------------------------------------
//  Authenticator apps (TOTP)

SECPOL_HANDLER (s_begin_totp_enrollment, Secpol__V1__BeginTotpEnrollmentRequest, in,
                Secpol__V1__BeginTotpEnrollmentResponse, out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    s_check_label (call, "account_name", in->account_name, true);
    s_check_label (call, "issuer", in->issuer, false);
    int rc = secpol_call_check (call);
    if (rc || (rc = s_app_enabled (call, in->workspace_id)))
        return rc;
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, "");
    Secpol__Store__V1__TotpPendingRecord *old = NULL;
    rc = secpol_otp_pending_load (call->txn, call->arena, key, key_size, &old);
    if (rc && rc != SECPOL_ENOTFOUND && rc != SECPOL_ECORRUPT)
        return s_store_failed (call, rc);

    /* A new secret each run (a rerun after the map grew makes another;
     * only the reply sent carries one). It goes to the pending table only:
     * the active enrollment, if any, stays until a code of this one is
     * confirmed. */
    uint8_t secret[SECPOL_TOTP_SECRET_BYTES];
    char base32[SECPOL_TOTP_BASE32_MAX];
    randombytes_buf (secret, sizeof secret);
    Secpol__Store__V1__SealedSecret sealed;
    secpol_otp_secret_seal (&sealed, call->arena, secpol_server_store (call->server), key, key_size,
                            secret, sizeof secret);
    rc = secpol_totp_base32 (base32, secret, sizeof secret);
    sodium_memzero (secret, sizeof secret);
    if (rc) {
        sodium_memzero (base32, sizeof base32);
        return secpol_call_fail (call, SECPOL_INTERNAL, "cannot encode the secret");
    }
    Secpol__Store__V1__TotpPendingRecord record = SECPOL__STORE__V1__TOTP_PENDING_RECORD__INIT;
    record.secret = &sealed;
    record.created_at = call->now;
    record.expires_at = call->now + PENDING_TTL;
    rc = secpol_otp_pending_save (call->txn, call->arena, key, key_size, &record, old);
    if (rc) {
        sodium_memzero (base32, sizeof base32);
        return s_store_failed (call, rc);
    }
    out->secret_base32 = secpol_call_strdup (call, base32);
    out->otpauth_uri = secpol_totp_uri (call->arena, in->issuer, in->account_name, base32);
    sodium_memzero (base32, sizeof base32);
    out->expires_at = record.expires_at;
    out->digits = SECPOL_OTP_DIGITS;
    out->period_seconds = SECPOL_TOTP_PERIOD;
    out->algorithm = "SHA1";
    return s_event (call, "totp_enrollment_begun", in->workspace_id, in->subject_id,
                    "expires_at=%" PRId64, record.expires_at);
}

SECPOL_HANDLER (s_confirm_totp_enrollment, Secpol__V1__ConfirmTotpEnrollmentRequest, in,
                Secpol__V1__ConfirmTotpEnrollmentResponse, out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    char code[SECPOL_OTP_CODE_BUF];
    if (!secpol_otp_digits_read (code, in->code))
        secpol_call_violation (call, "code", "must be %d digits (spaces are ignored)",
                               SECPOL_OTP_DIGITS);
    int rc = secpol_call_check (call);
    if (rc || (rc = s_app_enabled (call, in->workspace_id)))
        goto done;
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, "");
    Secpol__Store__V1__TotpPendingRecord *pending = NULL;
    rc = secpol_otp_pending_load (call->txn, call->arena, key, key_size, &pending);
    if (rc == SECPOL_ENOTFOUND || (rc == 0 && pending->expires_at <= call->now)) {
        rc = secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                               "no pending enrollment (never begun, or expired): call "
                               "BeginTotpEnrollment");
        goto done;
    }
    if (rc) {
        rc = s_store_failed (call, rc);
        goto done;
    }
    uint64_t step;
    int drift, match;
    if ((rc = s_totp_match (call, key, key_size, pending->secret, code, 0, &step, &drift, &match)))
        goto done;
    if (match != SECPOL_TOTP_MATCH) {
        out->ok = false; /* nothing changes: the user tries the next code */
        out->reason = REASON_INVALID;
        rc = SECPOL_OK;
        goto done;
    }
    Secpol__Store__V1__TotpRecord *old = NULL;
    rc = secpol_otp_totp_load (call->txn, call->arena, key, key_size, &old);
    if (rc && rc != SECPOL_ENOTFOUND && rc != SECPOL_ECORRUPT) {
        rc = s_store_failed (call, rc);
        goto done;
    }
    /* The proven secret becomes the active one, sealed as it was (same key,
     * same associated data), with new recovery codes; the old app and its
     * codes are gone. The confirming code's step counts as used. */
    Secpol__Store__V1__TotpRecord record = SECPOL__STORE__V1__TOTP_RECORD__INIT;
    record.secret = pending->secret;
    record.confirmed_at = call->now;
    record.last_step = step;
    record.drift_steps = drift;
    record.last_used_at = call->now;
    s_recovery_codes (call, key, key_size, &record, &out->n_recovery_codes, &out->recovery_codes);
    if ((rc = secpol_otp_totp_save (call->txn, call->arena, key, key_size, &record)) ||
        (rc = secpol_otp_pending_delete (call->txn, key, key_size, pending))) {
        rc = s_store_failed (call, rc);
        goto done;
    }
    out->ok = true;
    out->reason = "";
    out->replaced = old != NULL;
    rc = s_event (call, "totp_enrollment_confirmed", in->workspace_id, in->subject_id,
                  "replaced=%s drift_steps=%d recovery_codes=%zu", out->replaced ? "true" : "false",
                  drift, out->n_recovery_codes);
done:
    sodium_memzero (code, sizeof code);
    return rc;
}

SECPOL_HANDLER (s_verify_totp, Secpol__V1__VerifyTotpRequest, in, Secpol__V1__OtpVerifyResponse,
                out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    char code[SECPOL_OTP_CODE_BUF];
    if (!secpol_otp_digits_read (code, in->code))
        secpol_call_violation (call, "code", "must be %d digits (spaces are ignored)",
                               SECPOL_OTP_DIGITS);
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = 0;
    Secpol__Store__V1__TotpRecord *record = NULL;
    int rc = secpol_call_check (call);
    if (rc ||
        (rc = s_app_verification (call, in->workspace_id, in->subject_id, key, &key_size, &record,
                                  out)) ||
        !record)
        goto done;
    uint64_t step;
    int drift, match;
    if ((rc = s_totp_match (call, key, key_size, record->secret, code, record->last_step, &step,
                            &drift, &match)))
        goto done;
    if (match != SECPOL_TOTP_MATCH) {
        rc = s_refuse (call, in->workspace_id, in->subject_id,
                       match == SECPOL_TOTP_REPLAY ? REASON_REPLAY : REASON_INVALID, out);
        if (rc == SECPOL_OK)
            s_event (call, match == SECPOL_TOTP_REPLAY ? "totp_replayed" : "totp_refused",
                     in->workspace_id, in->subject_id, "failures=%" PRIu32, out->lockout->failures);
        goto done;
    }
    /* RFC 6238 section 6: the drift seen is recorded (GetTotpStatus, the
     * answer); the window stays the server's step and one either side. */
    record->last_step = step;
    record->drift_steps = drift;
    record->last_used_at = call->now;
    if ((rc = secpol_otp_totp_save (call->txn, call->arena, key, key_size, record))) {
        rc = s_store_failed (call, rc);
        goto done;
    }
    if ((rc = s_lockout (call, in->workspace_id, in->subject_id, SECPOL_LOCKOUT_SUCCESS,
                         &out->lockout)))
        goto done;
    out->ok = true;
    out->drift_steps = drift;
    s_event (call, "totp_verified", in->workspace_id, in->subject_id, "drift_steps=%d", drift);
    rc = SECPOL_OK;
done:
    sodium_memzero (code, sizeof code);
    return rc;
}

SECPOL_HANDLER (s_verify_recovery_code, Secpol__V1__VerifyRecoveryCodeRequest, in,
                Secpol__V1__OtpVerifyResponse, out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    char code[SECPOL_OTP_RECOVERY_CHARS + 1];
    if (!secpol_otp_recovery_code_read (code, in->code))
        secpol_call_violation (call, "code",
                               "must be %d characters of Crockford Base32 (dashes and spaces "
                               "are ignored)",
                               SECPOL_OTP_RECOVERY_CHARS);
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = 0;
    Secpol__Store__V1__TotpRecord *record = NULL;
    int rc = secpol_call_check (call);
    if (rc ||
        (rc = s_app_verification (call, in->workspace_id, in->subject_id, key, &key_size, &record,
                                  out)) ||
        !record)
        goto done;
    uint8_t hash[SECPOL_OTP_HASH_BYTES];
    secpol_otp_code_hash (hash, secpol_server_store (call->server), "recovery", key, key_size,
                          code);
    /* every unused code is compared, in constant time, whichever matches */
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < record->n_recovery_codes; i++) {
        const Secpol__Store__V1__RecoveryCode *stored = record->recovery_codes[i];
        bool equal = stored->hash.len == sizeof hash &&
                     sodium_memcmp (stored->hash.data, hash, sizeof hash) == 0;
        if (equal && stored->used_at == 0)
            found = i;
    }
    sodium_memzero (hash, sizeof hash);
    if (found == SIZE_MAX) { /* wrong, or used already */
        rc = s_refuse (call, in->workspace_id, in->subject_id, REASON_INVALID, out);
        out->recovery_codes_left = s_recovery_left (record);
        if (rc == SECPOL_OK)
            s_event (call, "recovery_code_refused", in->workspace_id, in->subject_id,
                     "failures=%" PRIu32, out->lockout->failures);
        goto done;
    }
    record->recovery_codes[found]->used_at = call->now;
    record->last_used_at = call->now;
    if ((rc = secpol_otp_totp_save (call->txn, call->arena, key, key_size, record))) {
        rc = s_store_failed (call, rc);
        goto done;
    }
    if ((rc = s_lockout (call, in->workspace_id, in->subject_id, SECPOL_LOCKOUT_SUCCESS,
                         &out->lockout)))
        goto done;
    out->ok = true;
    out->recovery_codes_left = s_recovery_left (record);
    rc = s_event (call, "recovery_code_used", in->workspace_id, in->subject_id,
                  "recovery_codes_left=%" PRIu32, out->recovery_codes_left);
done:
    sodium_memzero (code, sizeof code);
    return rc;
}

SECPOL_HANDLER (s_regenerate_recovery_codes, Secpol__V1__RegenerateRecoveryCodesRequest, in,
                Secpol__V1__RegenerateRecoveryCodesResponse, out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    int rc = secpol_call_check (call);
    if (rc || (rc = s_app_enabled (call, in->workspace_id)))
        return rc;
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, "");
    Secpol__Store__V1__TotpRecord *record = NULL;
    rc = secpol_otp_totp_load (call->txn, call->arena, key, key_size, &record);
    if (rc == SECPOL_ENOTFOUND)
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                                 "no authenticator app is enrolled: recovery codes come with one");
    if (rc)
        return s_store_failed (call, rc);
    s_recovery_codes (call, key, key_size, record, &out->n_recovery_codes, &out->recovery_codes);
    if ((rc = secpol_otp_totp_save (call->txn, call->arena, key, key_size, record)))
        return s_store_failed (call, rc);
    return s_event (call, "recovery_codes_regenerated", in->workspace_id, in->subject_id,
                    "recovery_codes=%zu", out->n_recovery_codes);
}

SECPOL_HANDLER (s_remove_totp, Secpol__V1__RemoveTotpRequest, in, Secpol__V1__RemoveTotpResponse,
                out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    /* No policy check: an app turned off may still be removed. */
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, "");
    rc = secpol_del (call->txn, &secpol_otp_totp_table, key, key_size);
    if (rc && rc != SECPOL_ENOTFOUND)
        return s_store_failed (call, rc);
    bool active = rc == 0;
    Secpol__Store__V1__TotpPendingRecord *pending = NULL;
    rc = secpol_otp_pending_load (call->txn, call->arena, key, key_size, &pending);
    if (rc == 0)
        rc = secpol_otp_pending_delete (call->txn, key, key_size, pending);
    else if (rc == SECPOL_ECORRUPT) /* a record that does not decode: delete it all the same */
        rc = secpol_del (call->txn, &secpol_otp_totp_pending_table, key, key_size);
    if (rc && rc != SECPOL_ENOTFOUND)
        return s_store_failed (call, rc);
    out->removed = active || pending;
    return s_event (call, "totp_removed", in->workspace_id, in->subject_id, "active=%s pending=%s",
                    active ? "true" : "false", pending ? "true" : "false");
}

SECPOL_HANDLER (s_get_totp_status, Secpol__V1__GetTotpStatusRequest, in, Secpol__V1__TotpStatus,
                out)
{
    s_check_ids (call, in->workspace_id, in->subject_id);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    uint8_t key[SECPOL_OTP_KEY_MAX];
    size_t key_size = secpol_otp_key (key, in->workspace_id, in->subject_id, "");
    Secpol__Store__V1__TotpRecord *record = NULL;
    rc = secpol_otp_totp_load (call->txn, call->arena, key, key_size, &record);
    if (rc && rc != SECPOL_ENOTFOUND)
        return s_store_failed (call, rc);
    if (record) {
        out->enrolled = true;
        out->confirmed_at = record->confirmed_at;
        out->last_used_at = record->last_used_at;
        out->drift_steps = record->drift_steps;
        out->recovery_codes_left = s_recovery_left (record);
    }
    Secpol__Store__V1__TotpPendingRecord *pending = NULL;
    rc = secpol_otp_pending_load (call->txn, call->arena, key, key_size, &pending);
    if (rc && rc != SECPOL_ENOTFOUND)
        return s_store_failed (call, rc);
    if (pending && pending->expires_at > call->now) {
        out->pending = true;
        out->pending_expires_at = pending->expires_at;
    }
    return SECPOL_OK;
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
    {.method = "BeginTotpEnrollment",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_begin_totp_enrollment,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "ConfirmTotpEnrollment",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_confirm_totp_enrollment,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "VerifyTotp",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_verify_totp,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "VerifyRecoveryCode",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_verify_recovery_code,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RegenerateRecoveryCodes",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_regenerate_recovery_codes,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RemoveTotp",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_remove_totp,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "GetTotpStatus",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_get_totp_status,
     .max_request_bytes = REQUEST_BYTES_MAX},
};
static const secpol_table_t *const s_tables[] = {&secpol_otp_email_table, &secpol_otp_totp_table,
                                                 &secpol_otp_totp_pending_table};
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
s_policy (secpol_call_t *call, const char *workspace_id, const Secpol__V1__Policy **policy_p)
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
    int rc = s_lockout (call, workspace_id, subject_id, SECPOL_LOCKOUT_FAILURE, &out->lockout);
    if (rc == SECPOL_OK) { /* counted by the metrics once committed (call.h) */
        secpol_call_event (call, SECPOL_EVENT_OTP_FAILURE);
        if (out->lockout->just_locked)
            secpol_call_event (call, SECPOL_EVENT_LOCKED_TWO_FACTOR);
    }
    return rc;
}

/*  The one place a handler describes a security event it made: the WRITE
 *  lane logs it with the commit (never a code or secret: ids and facts
 *  only), and the events the audit log keeps (audit.h) are written there,
 *  in the handler's transaction. Returns 0 or, when the audit event cannot
 *  be stored, the status the handler must fail with. */
static int
s_event (secpol_call_t *call, const char *event, const char *workspace_id, const char *subject_id,
         const char *fmt, ...)
{
    static const struct {
        const char *event;
        Secpol__V1__AuditEventKind kind;
    } audited[] = {
        {"totp_enrollment_begun",
         SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_TOTP_ENROLLMENT_BEGUN},
        {"totp_enrollment_confirmed",
         SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_TOTP_ENROLLMENT_CONFIRMED},
        {"totp_removed", SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_TOTP_REMOVED},
        {"recovery_code_used", SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_RECOVERY_CODE_USED},
        {"recovery_codes_regenerated",
         SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_RECOVERY_CODES_REGENERATED},
    };
    char workspace[6 * SECPOL_OTP_ID_MAX + 3], subject[6 * SECPOL_OTP_ID_MAX + 3];
    va_list args;
    va_start (args, fmt);
    char *rest = secpol_arena_vprintf (call->arena, fmt, args);
    va_end (args);
    secpol_call_note (call, "event=%s workspace=%s subject=%s %s", event,
                      secpol_log_quote (workspace, sizeof workspace, workspace_id),
                      secpol_log_quote (subject, sizeof subject, subject_id), rest);
    for (size_t i = 0; i < sizeof audited / sizeof audited[0]; i++)
        if (strcmp (event, audited[i].event) == 0) {
            int rc = secpol_audit_add (call->txn, call->now, audited[i].kind, workspace_id, "",
                                       subject_id, rest);
            return rc ? s_store_failed (call, rc) : 0;
        }
    return 0;
}

static int
s_store_failed (secpol_call_t *call, int rc)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "otp store: %s", secpol_strerror (rc));
}

/*  FAILED_PRECONDITION unless the workspace's policy offers apps. */
static int
s_app_enabled (secpol_call_t *call, const char *workspace_id)
{
    const Secpol__V1__Policy *policy;
    int rc = s_policy (call, workspace_id, &policy);
    if (rc)
        return rc;
    if (!policy->authenticator_app_enabled)
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                                 "authenticator apps are off in this workspace's policy "
                                 "(authenticator_app_enabled)");
    return SECPOL_OK;
}

/*  An account_name or issuer: plain text, at most LABEL_MAX bytes, no ':'
 *  (the key URI format separates issuer and account with it). */
static void
s_check_label (secpol_call_t *call, const char *field, const char *text, bool required)
{
    const char *problem = secpol_text_problem (text, LABEL_MAX, false);
    if (!problem && required && !*text)
        problem = "is required";
    if (!problem && strchr (text, ':'))
        problem = "may not hold ':' (the key URI separates issuer and account with it)";
    if (problem)
        secpol_call_violation (call, field, "%s (at most %d bytes of plain text)", problem,
                               LABEL_MAX);
}

/*  Fills record with SECPOL_OTP_RECOVERY_COUNT new recovery codes (their
 *  hashes) and *codes_p with the codes to show (in the arena), replacing
 *  any the record held. */
static void
s_recovery_codes (secpol_call_t *call, const uint8_t *key, size_t key_size,
                  Secpol__Store__V1__TotpRecord *record, size_t *n_codes_p, char ***codes_p)
{
    char **codes = secpol_call_alloc (call, SECPOL_OTP_RECOVERY_COUNT * sizeof *codes);
    Secpol__Store__V1__RecoveryCode **stored =
        secpol_call_alloc (call, SECPOL_OTP_RECOVERY_COUNT * sizeof *stored);
    for (size_t i = 0; i < SECPOL_OTP_RECOVERY_COUNT; i++) {
        char shown[SECPOL_OTP_RECOVERY_BUF], canonical[SECPOL_OTP_RECOVERY_CHARS + 1];
        secpol_otp_recovery_code_new (shown);
        bool read = secpol_otp_recovery_code_read (canonical, shown);
        (void)read; /* a code made here always reads */
        stored[i] = secpol_call_alloc (call, sizeof *stored[i]);
        secpol__store__v1__recovery_code__init (stored[i]);
        stored[i]->hash.len = SECPOL_OTP_HASH_BYTES;
        stored[i]->hash.data = secpol_call_alloc (call, SECPOL_OTP_HASH_BYTES);
        secpol_otp_code_hash (stored[i]->hash.data, secpol_server_store (call->server), "recovery",
                              key, key_size, canonical);
        codes[i] = secpol_call_strdup (call, shown);
        sodium_memzero (shown, sizeof shown);
        sodium_memzero (canonical, sizeof canonical);
    }
    record->n_recovery_codes = SECPOL_OTP_RECOVERY_COUNT;
    record->recovery_codes = stored;
    *n_codes_p = SECPOL_OTP_RECOVERY_COUNT;
    *codes_p = codes;
}

static uint32_t
s_recovery_left (const Secpol__Store__V1__TotpRecord *record)
{
    uint32_t left = 0;
    for (size_t i = 0; i < record->n_recovery_codes; i++)
        left += record->recovery_codes[i]->used_at == 0;
    return left;
}

/*  Opens sealed (the subject's secret under key), checks code against it
 *  at call->now (secpol_totp_check: *match_p, *step_p, *drift_p) and wipes
 *  the secret. Returns SECPOL_OK, or INTERNAL (message set) when the secret
 *  does not open (another key file) or liboath fails. */
static int
s_totp_match (secpol_call_t *call, const uint8_t *key, size_t key_size,
              const Secpol__Store__V1__SealedSecret *sealed, const char *code, uint64_t last_step,
              uint64_t *step_p, int *drift_p, int *match_p)
{
    uint8_t secret[SECPOL_TOTP_SECRET_BYTES];
    if (secpol_otp_secret_open (secret, sizeof secret, secpol_server_store (call->server), key,
                                key_size, sealed))
        return secpol_call_fail (call, SECPOL_INTERNAL,
                                 "the TOTP secret does not decrypt (another key file?)");
    *match_p =
        secpol_totp_check (secret, sizeof secret, call->now, code, last_step, step_p, drift_p);
    sodium_memzero (secret, sizeof secret);
    return *match_p < 0 ? secpol_call_fail (call, SECPOL_INTERNAL, "liboath failed") : SECPOL_OK;
}

/*  Reads the subject's TWO_FACTOR counter into out->lockout; when it is
 *  locked, answers "locked" (nothing else is looked at, nothing spent).
 *  Returns SECPOL_OK or INTERNAL (message set). */
static int
s_check_lock (secpol_call_t *call, const char *workspace_id, const char *subject_id,
              Secpol__V1__OtpVerifyResponse *out)
{
    int rc = s_lockout (call, workspace_id, subject_id, SECPOL_LOCKOUT_CHECK, &out->lockout);
    if (rc == SECPOL_OK && out->lockout->locked)
        out->reason = REASON_LOCKED;
    return rc;
}

/*  What VerifyTotp and VerifyRecoveryCode do first, after the request's
 *  check: the policy (FAILED_PRECONDITION when apps are off), the lock,
 *  then the subject's active app under key (*key_size_p bytes). Returns
 *  SECPOL_OK with *record_p set to go on; SECPOL_OK with *record_p NULL
 *  when out is answered already (locked; or no active app, answered and
 *  counted as a wrong code: see the top of this file); else the status. */
static int
s_app_verification (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                    uint8_t key[SECPOL_OTP_KEY_MAX], size_t *key_size_p,
                    Secpol__Store__V1__TotpRecord **record_p, Secpol__V1__OtpVerifyResponse *out)
{
    *record_p = NULL;
    int rc = s_app_enabled (call, workspace_id);
    if (rc || (rc = s_check_lock (call, workspace_id, subject_id, out)) || out->lockout->locked)
        return rc;
    *key_size_p = secpol_otp_key (key, workspace_id, subject_id, "");
    Secpol__Store__V1__TotpRecord *record = NULL;
    rc = secpol_otp_totp_load (call->txn, call->arena, key, *key_size_p, &record);
    if (rc == SECPOL_ENOTFOUND)
        return s_refuse (call, workspace_id, subject_id, REASON_INVALID, out);
    if (rc)
        return s_store_failed (call, rc);
    *record_p = record;
    return SECPOL_OK;
}
