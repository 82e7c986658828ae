/*  fuzz_otp.c - OtpService handlers on a real LMDB store.
 *
 *  One secpol_server_t per process (service_harness.h). Each input runs in
 *  one top-level write transaction aborted at the end. WRITE methods run in
 *  a nested transaction (committed into the top one on OK, aborted
 *  otherwise), GetTotpStatus on the top one as it is. Workspace w1 has
 *  email codes and apps on and the default two-factor lockout (5 in 15
 *  minutes, 15 minutes' lock); w2's switches and lockout change with op 10.
 *
 *  Input: up to 32 steps, each `op, length (2 bytes, little endian), bytes`.
 *  op bits 0-3:
 *    0 IssueEmailOtp, 1 VerifyEmailOtp, 2 BeginTotpEnrollment,
 *    3 ConfirmTotpEnrollment, 4 VerifyTotp, 5 VerifyRecoveryCode,
 *    6 RegenerateRecoveryCodes, 7 RemoveTotp, 8 GetTotpStatus: the bytes are
 *      the encoded request (skipped when the dispatcher's string check
 *      refuses them or they do not unpack). With op bit 4 the workspace
 *      becomes w1 (bit 5: w2), the subject u1 (bit 6: u2) and the purpose
 *      sign_in, so that steps meet; with bit 7 as well, a verification
 *      sends the right code: the email code this input was last issued, the
 *      TOTP code (liboath, secpol_totp_code) of the pending secret
 *      (Confirm) or the active one (VerifyTotp) at the step
 *      bytes[size - 1] % 3 - 1 away, a recovery code it was shown
 *      (bytes[size - 1] % 10; an unknown field such as 78 NN carries it);
 *    9, 12-15 the clock moves on by (bytes[0] | bytes[1] << 8) seconds;
 *    10 w2's policy: bytes[0] bit 0 email codes, bit 1 apps, bytes[1] % 8
 *      two-factor max_failures (0 = off), bytes[2] % 4 lock minutes;
 *    11 the expiry sweep runs at the current time.
 *  SECPOL_FUZZ_TRACE prints every call.
 *
 *  Invariants (abort when broken):
 *  - a handler answers OK, INVALID_ARGUMENT with violations each naming a
 *    field and saying why, or FAILED_PRECONDITION with a message (a factor
 *    off, no pending enrollment, no app to regenerate codes for); never
 *    INTERNAL or anything else;
 *  - every verification is coherent: ok with reason "" and a counter not
 *    locked with no failure; refused with a reason of the contract; "locked"
 *    exactly when the counter was locked before (a refusal that locks says
 *    just_locked); attempts_left at most 5; drift within +-1;
 *  - a code accepted is accepted once: the same request again is refused
 *    (email: "invalid", TOTP: "replayed", recovery: "invalid"), unless
 *    "locked";
 *  - an issued email code is 6 digits and lives the policy's 300 s; a
 *    secret is 32 Base32 characters decoding to 20 bytes, in a URI of the
 *    key URI format; recovery codes are 10 of 14 characters;
 *  - GetTotpStatus: at most 10 recovery codes, enrolled with a
 *    confirmation time, pending with an expiry in the future;
 *  - at the end no OtpService table holds any secret this input was given,
 *    raw or in Base32, nor any recovery or email code it was shown.
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz_support.h"
#include "service_harness.h"

#include "arena.h"
#include "call.h"
#include "expiry.h"
#include "lockout.h"
#include "method_table.h"
#include "otp_codes.h"
#include "otp_store.h"
#include "otp_totp.h"
#include "policy.h"
#include "store.h"
#include "wire.h"

#include "secpol/store/v1/policy_level.pb-c.h"
#include "secpol/v1/otp.pb-c.h"

#include <liboath/oath.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#define NOW       INT64_C (1800000010)
#define MAX_STEPS 32
#define N_METHODS 9
#define MAX_SEEN  64 /* secrets and codes remembered per input */

static fuzz_service_t s_service;
static bool s_trace;
static const secpol_method_t *s_methods[N_METHODS];
static const char *const s_paths[N_METHODS] = {
    "/secpol.v1.OtpService/IssueEmailOtp",
    "/secpol.v1.OtpService/VerifyEmailOtp",
    "/secpol.v1.OtpService/BeginTotpEnrollment",
    "/secpol.v1.OtpService/ConfirmTotpEnrollment",
    "/secpol.v1.OtpService/VerifyTotp",
    "/secpol.v1.OtpService/VerifyRecoveryCode",
    "/secpol.v1.OtpService/RegenerateRecoveryCodes",
    "/secpol.v1.OtpService/RemoveTotp",
    "/secpol.v1.OtpService/GetTotpStatus",
};

/*  What this input has been given, per w1/w2 x u1/u2 (index ws * 2 + subject). */
static struct {
    char email[4][SECPOL_OTP_CODE_BUF];           /* last email code issued (sign_in) */
    uint8_t pending[4][SECPOL_TOTP_SECRET_BYTES]; /* last pending secret */
    bool has_pending[4];
    uint8_t active[4][SECPOL_TOTP_SECRET_BYTES]; /* the secret confirmed */
    bool has_active[4];
    char recovery[4][SECPOL_OTP_RECOVERY_COUNT][SECPOL_OTP_RECOVERY_BUF];
    bool has_recovery[4];
    /* everything ever shown, for the end's check */
    uint8_t secrets[MAX_SEEN][SECPOL_TOTP_SECRET_BYTES];
    char base32[MAX_SEEN][SECPOL_TOTP_BASE32_MAX];
    size_t n_secrets;
    char codes[MAX_SEEN * 4][SECPOL_OTP_RECOVERY_BUF];
    size_t n_codes;
} s_seen;
static int64_t s_now;
static Secpol__V1__Policy s_w2_values;
static Secpol__V1__LockoutSettings s_w2_lockout;

static void s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
                    size_t size);
static int s_run (secpol_txn_t *top, secpol_arena_t *arena, int which,
                  const ProtobufCMessage *request, ProtobufCMessage **response_p);
static void s_set_string (ProtobufCMessage *message, const char *field, const char *value);
static const char *s_get_string (const ProtobufCMessage *message, const char *field);
static int s_slot (const ProtobufCMessage *request);
static void s_check_verdict (const Secpol__V1__OtpVerifyResponse *verdict, bool was_locked);
static void s_remember_code (const char *code);
static void s_remember_secret (const char *base32, uint8_t raw[SECPOL_TOTP_SECRET_BYTES]);
static void s_save_policy (secpol_txn_t *top, secpol_arena_t *arena, const char *workspace,
                           Secpol__V1__Policy *values);
static void s_check_tables (secpol_txn_t *txn);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_otp");
    for (int i = 0; i < N_METHODS; i++)
        s_methods[i] = fuzz_service_method (&s_service, s_paths[i]);
    s_trace = getenv ("SECPOL_FUZZ_TRACE") != NULL;
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    secpol_arena_t *arena = secpol_arena_new ();
    secpol_txn_t *top = NULL;
    int rc = secpol_txn_begin (s_service.store, NULL, true, &top);
    FUZZ_REQUIRE (rc == 0, "transaction: %s", secpol_strerror (rc));
    memset (&s_seen, 0, sizeof s_seen);
    s_now = NOW;
    Secpol__V1__Policy w1 = SECPOL__V1__POLICY__INIT;
    w1.email_two_step_enabled = true;
    w1.authenticator_app_enabled = true;
    s_save_policy (top, arena, "w1", &w1);
    secpol__v1__policy__init (&s_w2_values);
    secpol__v1__lockout_settings__init (&s_w2_lockout);
    s_w2_lockout.max_failures = 5;
    s_w2_lockout.window_minutes = 15;
    s_w2_lockout.lock_minutes = 15;
    s_w2_values.two_factor_lockout = &s_w2_lockout;
    fuzz_service_txn_steps (data, size, MAX_STEPS, s_step, top, arena);
    s_check_tables (top);
    secpol_txn_abort (&top);
    secpol_arena_destroy (&arena);
    sodium_memzero (&s_seen, sizeof s_seen);
    return 0;
}

static void
s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes, size_t size)
{
    unsigned action = op & 15;
    if (action == 9 || action >= 12) {
        s_now += (int64_t)((size > 0 ? bytes[0] : 0) | (size > 1 ? bytes[1] << 8 : 0));
        return;
    }
    if (action == 10) {
        s_w2_values.email_two_step_enabled = size > 0 && (bytes[0] & 1);
        s_w2_values.authenticator_app_enabled = size > 0 && (bytes[0] & 2);
        s_w2_lockout.max_failures = size > 1 ? bytes[1] % 8 : 0;
        s_w2_lockout.lock_minutes = size > 2 ? bytes[2] % 4 : 0;
        s_save_policy (top, arena, "w2", &s_w2_values);
        return;
    }
    if (action == 11) {
        size_t deleted = 0;
        bool more = true;
        while (more) {
            int rc = secpol_expiry_sweep (top, s_now, 1000, &deleted, &more);
            FUZZ_REQUIRE (rc == 0, "sweep: %s", secpol_strerror (rc));
        }
        return;
    }
    const ProtobufCMessageDescriptor *descriptor = s_methods[action]->descriptor->input;
    char field[256];
    const char *problem;
    if (!secpol_wire_check_strings (descriptor, bytes, size, field, sizeof field, &problem))
        return;
    ProtobufCMessage *request =
        protobuf_c_message_unpack (descriptor, secpol_arena_allocator (arena), size, bytes);
    if (!request)
        return;
    if (op & 16) {
        s_set_string (request, "workspace_id", op & 32 ? "w2" : "w1");
        s_set_string (request, "subject_id", op & 64 ? "u2" : "u1");
        s_set_string (request, "purpose", "sign_in");
        if (action == 2)
            s_set_string (request, "account_name", "alice@example.com");
    }
    /* what this input knows of the ids the request names (-1: none) */
    int slot = s_slot (request);
    char right[SECPOL_OTP_RECOVERY_BUF] = "";
    if ((op & 16) && (op & 128)) {
        int drift = (size > 0 ? bytes[size - 1] % 3 : 1) - 1;
        if (action == 1 && s_seen.email[slot][0])
            snprintf (right, sizeof right, "%s", s_seen.email[slot]);
        else if ((action == 3 && s_seen.has_pending[slot]) ||
                 (action == 4 && s_seen.has_active[slot])) {
            const uint8_t *secret = action == 3 ? s_seen.pending[slot] : s_seen.active[slot];
            char code[SECPOL_TOTP_CODE_MAX];
            int rc = secpol_totp_code (code, secret, SECPOL_TOTP_SECRET_BYTES,
                                       s_now + drift * SECPOL_TOTP_PERIOD, 6, SECPOL_TOTP_SHA1);
            FUZZ_REQUIRE (rc == 0, "liboath");
            snprintf (right, sizeof right, "%s", code);
        } else if (action == 5 && s_seen.has_recovery[slot])
            snprintf (
                right, sizeof right, "%s",
                s_seen.recovery[slot][size > 0 ? bytes[size - 1] % SECPOL_OTP_RECOVERY_COUNT : 0]);
        if (right[0])
            s_set_string (request, "code", right);
    }

    /* the counter before, for "locked" */
    bool was_locked = false;
    if (action == 1 || action == 4 || action == 5) {
        Secpol__V1__LockoutStatus status = SECPOL__V1__LOCKOUT_STATUS__INIT;
        const char *ws = s_get_string (request, "workspace_id");
        const char *subject = s_get_string (request, "subject_id");
        if (!secpol_policy_id_problem (ws, true) && !secpol_policy_id_problem (subject, true)) {
            int rc = secpol_lockout_apply (top, arena, ws, subject,
                                           SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR,
                                           SECPOL_LOCKOUT_CHECK, s_now, &status);
            FUZZ_REQUIRE (rc == 0, "lockout check: %s", secpol_strerror (rc));
            was_locked = status.locked;
        }
    }
    ProtobufCMessage *response = NULL;
    int code = s_run (top, arena, (int)action, request, &response);
    if (code != SECPOL_OK)
        return;
    switch (action) {
        case 0: {
            const Secpol__V1__IssueEmailOtpResponse *issued =
                (const Secpol__V1__IssueEmailOtpResponse *)response;
            FUZZ_REQUIRE (strlen (issued->code) == 6 && strspn (issued->code, "0123456789") == 6,
                          "email code \"%s\"", issued->code);
            FUZZ_REQUIRE (issued->expires_at == s_now + 300, "expires_at %lld",
                          (long long)issued->expires_at);
            FUZZ_REQUIRE (issued->lockout, "no lockout in the issue");
            s_remember_code (issued->code);
            if (slot >= 0 && strcmp (s_get_string (request, "purpose"), "sign_in") == 0)
                snprintf (s_seen.email[slot], sizeof s_seen.email[slot], "%s", issued->code);
            break;
        }
        case 2: {
            const Secpol__V1__BeginTotpEnrollmentResponse *begun =
                (const Secpol__V1__BeginTotpEnrollmentResponse *)response;
            uint8_t raw[SECPOL_TOTP_SECRET_BYTES];
            s_remember_secret (begun->secret_base32, raw);
            FUZZ_REQUIRE (strncmp (begun->otpauth_uri, "otpauth://totp/", 15) == 0 &&
                              strstr (begun->otpauth_uri, begun->secret_base32) &&
                              strstr (begun->otpauth_uri, "&algorithm=SHA1&digits=6&period=30"),
                          "URI %s", begun->otpauth_uri);
            if (slot >= 0) {
                memcpy (s_seen.pending[slot], raw, sizeof raw);
                s_seen.has_pending[slot] = true;
            }
            sodium_memzero (raw, sizeof raw);
            break;
        }
        case 3: {
            const Secpol__V1__ConfirmTotpEnrollmentResponse *confirmed =
                (const Secpol__V1__ConfirmTotpEnrollmentResponse *)response;
            FUZZ_REQUIRE (
                confirmed->ok == (confirmed->n_recovery_codes == SECPOL_OTP_RECOVERY_COUNT),
                "confirm ok %d with %zu codes", confirmed->ok, confirmed->n_recovery_codes);
            if (right[0] && slot >= 0)
                FUZZ_REQUIRE (confirmed->ok, "the pending secret's code was refused");
            for (size_t i = 0; i < confirmed->n_recovery_codes; i++) {
                FUZZ_REQUIRE (strlen (confirmed->recovery_codes[i]) == 14, "recovery code %s",
                              confirmed->recovery_codes[i]);
                s_remember_code (confirmed->recovery_codes[i]);
            }
            if (confirmed->ok && slot >= 0) {
                memcpy (s_seen.active[slot], s_seen.pending[slot], SECPOL_TOTP_SECRET_BYTES);
                s_seen.has_active[slot] = true;
                s_seen.has_pending[slot] = false;
                for (size_t i = 0; i < SECPOL_OTP_RECOVERY_COUNT; i++)
                    snprintf (s_seen.recovery[slot][i], sizeof s_seen.recovery[slot][i], "%s",
                              confirmed->recovery_codes[i]);
                s_seen.has_recovery[slot] = true;
            }
            break;
        }
        case 1:
        case 4:
        case 5: {
            const Secpol__V1__OtpVerifyResponse *verdict =
                (const Secpol__V1__OtpVerifyResponse *)response;
            s_check_verdict (verdict, was_locked);
            if (right[0] && !was_locked && action != 1)
                FUZZ_REQUIRE (verdict->ok || strcmp (verdict->reason, "replayed") == 0 ||
                                  strcmp (verdict->reason, "invalid") == 0,
                              "the right code answered %s", verdict->reason);
            if (verdict->ok) {
                /* accepted once: the same request again is refused */
                ProtobufCMessage *again = NULL;
                FUZZ_REQUIRE (s_run (top, arena, (int)action, request, &again) == SECPOL_OK,
                              "the second try was not answered");
                const Secpol__V1__OtpVerifyResponse *second =
                    (const Secpol__V1__OtpVerifyResponse *)again;
                s_check_verdict (second, false);
                FUZZ_REQUIRE (!second->ok, "%s accepted one code twice", s_paths[action]);
                FUZZ_REQUIRE (strcmp (second->reason, action == 4 ? "replayed" : "invalid") == 0 ||
                                  strcmp (second->reason, "locked") == 0,
                              "the second try answered %s", second->reason);
            }
            break;
        }
        case 6: {
            const Secpol__V1__RegenerateRecoveryCodesResponse *fresh =
                (const Secpol__V1__RegenerateRecoveryCodesResponse *)response;
            FUZZ_REQUIRE (fresh->n_recovery_codes == SECPOL_OTP_RECOVERY_COUNT, "%zu codes",
                          fresh->n_recovery_codes);
            for (size_t i = 0; i < fresh->n_recovery_codes; i++) {
                s_remember_code (fresh->recovery_codes[i]);
                if (slot >= 0)
                    snprintf (s_seen.recovery[slot][i], sizeof s_seen.recovery[slot][i], "%s",
                              fresh->recovery_codes[i]);
            }
            break;
        }
        case 7:
            if (slot >= 0)
                s_seen.has_active[slot] = s_seen.has_pending[slot] = s_seen.has_recovery[slot] =
                    false;
            break;
        case 8: {
            const Secpol__V1__TotpStatus *status = (const Secpol__V1__TotpStatus *)response;
            FUZZ_REQUIRE (status->recovery_codes_left <= SECPOL_OTP_RECOVERY_COUNT, "%u codes left",
                          status->recovery_codes_left);
            FUZZ_REQUIRE (!status->enrolled || status->confirmed_at > 0,
                          "enrolled, never confirmed");
            FUZZ_REQUIRE (!status->pending || status->pending_expires_at > s_now,
                          "pending, expired");
            FUZZ_REQUIRE (status->drift_steps >= -1 && status->drift_steps <= 1, "drift %d",
                          status->drift_steps);
            break;
        }
        default:
            break;
    }
}

/*  Runs a handler as the dispatcher does and checks the answer's shape. */
static int
s_run (secpol_txn_t *top, secpol_arena_t *arena, int which, const ProtobufCMessage *request,
       ProtobufCMessage **response_p)
{
    const secpol_method_t *method = s_methods[which];
    secpol_call_t call;
    int code = fuzz_service_call (&s_service, top, arena, method, method->spec->handler,
                                  method->spec->lane == SECPOL_LANE_WRITE, false, s_now, NULL,
                                  request, response_p, &call);
    if (s_trace)
        fprintf (stderr, "  %s %s/%s: %d %s\n", method->path,
                 s_get_string (request, "workspace_id"), s_get_string (request, "subject_id"), code,
                 call.message ? call.message : "");
    FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT ||
                      code == SECPOL_FAILED_PRECONDITION,
                  "%s answered %d: %s", method->path, code, call.message ? call.message : "");
    if (code == SECPOL_INVALID_ARGUMENT)
        fuzz_require_violations (&call, method->path);
    if (code == SECPOL_FAILED_PRECONDITION)
        FUZZ_REQUIRE (call.message && *call.message, "FAILED_PRECONDITION without a message");
    return code;
}

static void
s_check_verdict (const Secpol__V1__OtpVerifyResponse *verdict, bool was_locked)
{
    FUZZ_REQUIRE (verdict->lockout, "a verdict without the counter");
    const Secpol__V1__LockoutStatus *lockout = verdict->lockout;
    if (verdict->ok)
        FUZZ_REQUIRE (!*verdict->reason && !lockout->locked && lockout->failures == 0,
                      "ok with reason \"%s\", locked %d, failures %u", verdict->reason,
                      lockout->locked, lockout->failures);
    else {
        static const char *const reasons[] = {"invalid", "expired", "burned", "replayed", "locked"};
        bool known = false;
        for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
            known = known || strcmp (verdict->reason, reasons[i]) == 0;
        FUZZ_REQUIRE (known, "reason \"%s\"", verdict->reason);
        bool locked_reason = strcmp (verdict->reason, "locked") == 0;
        if (was_locked)
            FUZZ_REQUIRE (locked_reason, "locked before, answered %s", verdict->reason);
        FUZZ_REQUIRE (!locked_reason || lockout->locked, "\"locked\" but not locked");
        FUZZ_REQUIRE (!lockout->locked || locked_reason || lockout->just_locked,
                      "locked without saying so");
    }
    FUZZ_REQUIRE (verdict->attempts_left <= SECPOL_OTP_EMAIL_TRIES_MAX, "attempts_left %u",
                  verdict->attempts_left);
    FUZZ_REQUIRE (verdict->drift_steps >= -1 && verdict->drift_steps <= 1, "drift %d",
                  verdict->drift_steps);
    FUZZ_REQUIRE (verdict->recovery_codes_left <= SECPOL_OTP_RECOVERY_COUNT, "%u codes left",
                  verdict->recovery_codes_left);
}

static const ProtobufCFieldDescriptor *
s_field (const ProtobufCMessage *message, const char *name)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (message->descriptor, name);
    return field && field->type == PROTOBUF_C_TYPE_STRING &&
                   field->label != PROTOBUF_C_LABEL_REPEATED
               ? field
               : NULL;
}

static void
s_set_string (ProtobufCMessage *message, const char *name, const char *value)
{
    const ProtobufCFieldDescriptor *field = s_field (message, name);
    if (field)
        *(const char **)((char *)message + field->offset) = value;
}

static const char *
s_get_string (const ProtobufCMessage *message, const char *name)
{
    const ProtobufCFieldDescriptor *field = s_field (message, name);
    return field ? *(const char *const *)((const char *)message + field->offset) : "";
}

/*  0-3 for w1/w2 x u1/u2, else -1. */
static int
s_slot (const ProtobufCMessage *request)
{
    const char *ws = s_get_string (request, "workspace_id");
    const char *subject = s_get_string (request, "subject_id");
    int w = strcmp (ws, "w1") == 0 ? 0 : strcmp (ws, "w2") == 0 ? 2 : -1;
    int u = strcmp (subject, "u1") == 0 ? 0 : strcmp (subject, "u2") == 0 ? 1 : -1;
    return w < 0 || u < 0 ? -1 : w + u;
}

static void
s_remember_code (const char *code)
{
    if (s_seen.n_codes < sizeof s_seen.codes / sizeof s_seen.codes[0])
        snprintf (s_seen.codes[s_seen.n_codes++], sizeof s_seen.codes[0], "%s", code);
}

static void
s_remember_secret (const char *base32, uint8_t raw[SECPOL_TOTP_SECRET_BYTES])
{
    FUZZ_REQUIRE (strlen (base32) == 32 &&
                      strspn (base32, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == 32,
                  "secret \"%s\"", base32);
    char *decoded = NULL;
    size_t decoded_size = 0;
    FUZZ_REQUIRE (oath_base32_decode (base32, 32, &decoded, &decoded_size) == OATH_OK &&
                      decoded_size == SECPOL_TOTP_SECRET_BYTES,
                  "secret \"%s\" does not decode to 20 bytes", base32);
    memcpy (raw, decoded, SECPOL_TOTP_SECRET_BYTES);
    sodium_memzero (decoded, decoded_size);
    free (decoded);
    if (s_seen.n_secrets < MAX_SEEN) {
        memcpy (s_seen.secrets[s_seen.n_secrets], raw, SECPOL_TOTP_SECRET_BYTES);
        snprintf (s_seen.base32[s_seen.n_secrets], sizeof s_seen.base32[0], "%s", base32);
        s_seen.n_secrets++;
    }
}

static void
s_save_policy (secpol_txn_t *top, secpol_arena_t *arena, const char *workspace,
               Secpol__V1__Policy *values)
{
    char *overridden[] = {"email_two_step_enabled", "authenticator_app_enabled",
                          "two_factor_lockout"};
    Secpol__Store__V1__PolicyLevel level = SECPOL__STORE__V1__POLICY_LEVEL__INIT;
    level.values = values;
    level.n_overridden = values->two_factor_lockout ? 3 : 2;
    level.overridden = overridden;
    level.version = 1;
    int rc = secpol_policy_level_save (top, arena, workspace, "", &level);
    FUZZ_REQUIRE (rc == 0, "policy of %s: %s", workspace, secpol_strerror (rc));
}

/*  No table of the service holds a secret or code this input was shown. */
static void
s_check_tables (secpol_txn_t *txn)
{
    const secpol_table_t *tables[] = {&secpol_otp_email_table, &secpol_otp_totp_table,
                                      &secpol_otp_totp_pending_table};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        secpol_cursor_t *cursor = NULL;
        int rc = secpol_cursor_open (txn, tables[t], &cursor);
        FUZZ_REQUIRE (rc == 0, "cursor: %s", secpol_strerror (rc));
        secpol_val_t key, value;
        for (rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
             rc = secpol_cursor_next (cursor, &key, &value)) {
            for (size_t i = 0; i < s_seen.n_secrets; i++) {
                FUZZ_REQUIRE (
                    !memmem (value.data, value.size, s_seen.secrets[i], SECPOL_TOTP_SECRET_BYTES),
                    "table %s holds a raw secret", tables[t]->name);
                FUZZ_REQUIRE (!memmem (value.data, value.size, s_seen.base32[i], 32),
                              "table %s holds a Base32 secret", tables[t]->name);
            }
            for (size_t i = 0; i < s_seen.n_codes; i++) /* 6-digit codes and recovery codes */
                if (strlen (s_seen.codes[i]) > 6)
                    FUZZ_REQUIRE (
                        !memmem (value.data, value.size, s_seen.codes[i], strlen (s_seen.codes[i])),
                        "table %s holds a recovery code", tables[t]->name);
        }
        secpol_cursor_close (&cursor);
    }
}
