/*  fuzz_lockout.c - LockoutService handlers on a real LMDB store.
 *
 *  One secpol_server_t per process (data in a temporary directory, an
 *  inproc endpoint nobody connects to; its front end never runs). Each
 *  input runs in one top-level write transaction aborted at the end, so
 *  inputs leave nothing behind and a crash reproduces from its input alone.
 *  WRITE methods run in a nested transaction (committed into the top one
 *  on OK, aborted otherwise), CheckLockout on the top one as it is.
 *
 *  Input: up to 32 steps, each `op, length (2 bytes, little endian), bytes`. op bits 0-2:
 *    0 RecordFailure, 1 RecordSuccess, 2 CheckLockout, 3 Unlock: the bytes
 *      are the encoded LockoutRequest (skipped when the dispatcher's string
 *      check refuses them or they do not unpack); with op bit 3 set the
 *      workspace becomes w1 (bit 4: w2), the subject u1 (bit 5: u2) and,
 *      when bits 6-7 are not 0, the kind is theirs, so that steps meet;
 *    4 the clock moves on by (bytes[0] | bytes[1] << 8) * 7 seconds;
 *    5 w2's policy changes: bytes[0] % 101, bytes[1] % 16 and bytes[2] % 16
 *      become max_failures, window_minutes and lock_minutes of the group
 *      that op bits 3-4 pick (login, claim, two-factor), bytes[3] % 120 the
 *      prompt seconds;
 *    6 the expiry sweep runs at the current time.
 *  w1 keeps the default policy. SECPOL_FUZZ_TRACE prints every call.
 *
 *  Invariants (abort when broken):
 *  - a handler answers OK, or INVALID_ARGUMENT with violations each naming
 *    a field and saying why; never anything else;
 *  - every status is coherent: off (max_failures 0) reads all zero;
 *    locked: no remaining attempt, retry_after_seconds = locked_until -
 *    now (0 for a lock until Unlock), the prompt seconds of the policy;
 *    not locked: retry, lock end and prompt 0, at least one remaining
 *    attempt, failures at most max_failures; just_locked only when locked
 *    with failures = max_failures; kind as asked;
 *  - against the CheckLockout just before it: RecordFailure counts one
 *    (and locks at max_failures, saying just_locked) unless locked, when
 *    nothing changes; RecordSuccess clears unless locked, when nothing
 *    changes; Unlock clears; CheckLockout asked twice says the same;
 *  - a subject never named answers exactly as any counter without failure
 *    or lock (byte for byte);
 *  - the sweep never changes an answer of w1 (whose policy never changes);
 *  - at the end the tables agree: every record decodes with 1 to 100
 *    failures or a lock, and the expiry table holds exactly one entry per
 *    record with an expiry, at that time.
 */
#include "fuzz_support.h"
#include "service_harness.h"

#include "arena.h"
#include "call.h"
#include "expiry.h"
#include "lockout_rules.h"
#include "method_table.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "wire.h"

#include "secpol/store/v1/lockout_record.pb-c.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define NOW       INT64_C (1800000000)
#define MAX_STEPS 32

typedef Secpol__V1__LockoutRequest request_t;
typedef Secpol__V1__LockoutStatus status_t;

static fuzz_service_t s_service; /* server, store, method table */
static bool s_trace;
static const secpol_method_t *s_fail, *s_success, *s_check, *s_unlock;
static int64_t s_now;
static Secpol__V1__Policy s_w2_values; /* w2's overrides as this input set them */
static Secpol__V1__LockoutSettings s_w2_groups[3];

static void s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
                    size_t size);
static int s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
                  const request_t *request, status_t **status_p);
static void s_check_status (secpol_txn_t *top, secpol_arena_t *arena, const request_t *in,
                            const status_t *out);
static void s_set_policy (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op,
                          const uint8_t *bytes, size_t size);
static void s_sweep (secpol_txn_t *top, secpol_arena_t *arena);
static void s_check_tables (secpol_txn_t *txn, secpol_arena_t *arena);
static bool s_same (const status_t *a, const status_t *b);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_lockout");
    s_fail = fuzz_service_method (&s_service, "/secpol.v1.LockoutService/RecordFailure");
    s_success = fuzz_service_method (&s_service, "/secpol.v1.LockoutService/RecordSuccess");
    s_check = fuzz_service_method (&s_service, "/secpol.v1.LockoutService/CheckLockout");
    s_unlock = fuzz_service_method (&s_service, "/secpol.v1.LockoutService/Unlock");
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
    s_now = NOW;
    secpol__v1__policy__init (&s_w2_values);
    for (int k = 0; k < 3; k++) {
        secpol__v1__lockout_settings__init (&s_w2_groups[k]);
        s_w2_groups[k].max_failures = 5;
        s_w2_groups[k].window_minutes = 15;
        s_w2_groups[k].lock_minutes = 15;
    }
    s_w2_values.login_lockout = &s_w2_groups[0];
    s_w2_values.claim_lockout = &s_w2_groups[1];
    s_w2_values.two_factor_lockout = &s_w2_groups[2];
    fuzz_service_txn_steps (data, size, MAX_STEPS, s_step, top, arena);
    s_check_tables (top, arena);
    secpol_txn_abort (&top);
    secpol_arena_destroy (&arena);
    return 0;
}

static void
s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes, size_t size)
{
    unsigned action = op & 7;
    if (action == 4) {
        s_now += (int64_t)((size > 0 ? bytes[0] : 0) | (size > 1 ? bytes[1] << 8 : 0)) * 7;
        if (s_trace)
            fprintf (stderr, "clock: %lld\n", (long long)(s_now - NOW));
        return;
    }
    if (action == 5) {
        s_set_policy (top, arena, op, bytes, size);
        return;
    }
    if (action >= 6) {
        s_sweep (top, arena);
        return;
    }
    const secpol_method_t *methods[] = {s_fail, s_success, s_check, s_unlock};
    const secpol_method_t *method = methods[action];
    const ProtobufCMessageDescriptor *descriptor = method->descriptor->input;
    char field[256];
    const char *problem;
    if (!secpol_wire_check_strings (descriptor, bytes, size, field, sizeof field, &problem))
        return;
    request_t *request = (request_t *)protobuf_c_message_unpack (
        descriptor, secpol_arena_allocator (arena), size, bytes);
    if (!request)
        return;
    if (op & 8) { /* meet the other steps' counters */
        request->workspace_id = op & 16 ? "w2" : "w1";
        request->subject_id = op & 32 ? "u2" : "u1";
        if (op >> 6)
            request->kind = (Secpol__V1__LockoutKind)(op >> 6);
    }
    status_t *before = NULL;
    if (s_run (top, arena, s_check, request, &before) != SECPOL_OK)
        return; /* a bad request: every method refuses it alike */
    status_t *after = NULL;
    int code = s_run (top, arena, method, request, &after);
    FUZZ_REQUIRE (code == SECPOL_OK, "%s refused what CheckLockout took: %d", method->path, code);
    if (method == s_check) {
        FUZZ_REQUIRE (s_same (before, after), "CheckLockout twice differs");
    } else if (method == s_fail) {
        if (before->max_failures == 0)
            FUZZ_REQUIRE (!after->locked && after->failures == 0, "a failure counted while off");
        else if (before->locked)
            FUZZ_REQUIRE (s_same (before, after), "a failure while locked changed the counter");
        else if (before->failures + 1 >= before->max_failures)
            FUZZ_REQUIRE (after->locked && after->just_locked &&
                              after->failures == before->max_failures,
                          "the failure that reached max_failures did not lock");
        else
            FUZZ_REQUIRE (!after->locked && after->failures == before->failures + 1,
                          "a failure counted %u after %u", after->failures, before->failures);
    } else if (method == s_success) {
        if (before->locked)
            FUZZ_REQUIRE (s_same (before, after), "a success changed a locked counter");
        else
            FUZZ_REQUIRE (!after->locked && after->failures == 0, "a success left failures");
    } else
        FUZZ_REQUIRE (!after->locked && after->failures == 0, "Unlock left a lock or failures");
    if (method != s_fail)
        FUZZ_REQUIRE (!after->just_locked, "%s said just_locked", method->path);
    s_check_status (top, arena, request, after);
}

/*  Runs a handler as the dispatcher does and checks the answer's shape.
 *  Returns the status code. */
static int
s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
       const request_t *request, status_t **status_p)
{
    secpol_call_t call;
    ProtobufCMessage *response;
    int code = fuzz_service_call (&s_service, top, arena, method, method->spec->handler,
                                  method->spec->lane == SECPOL_LANE_WRITE, false, s_now, NULL,
                                  &request->base, &response, &call);
    *status_p = (status_t *)response;
    if (s_trace)
        fprintf (stderr, "  %s %s/%s kind %d: %d %s\n", method->path, request->workspace_id,
                 request->subject_id, (int)request->kind, code, call.message ? call.message : "");
    FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT, "%s answered %d: %s",
                  method->path, code, call.message ? call.message : "");
    if (code == SECPOL_INVALID_ARGUMENT)
        fuzz_require_violations (&call, method->path);
    return code;
}

/*  A status on its own: coherent, and a never-named subject answers as any
 *  empty counter. */
static void
s_check_status (secpol_txn_t *top, secpol_arena_t *arena, const request_t *in, const status_t *out)
{
    FUZZ_REQUIRE (out->kind == in->kind, "kind %d for %d", (int)out->kind, (int)in->kind);
    FUZZ_REQUIRE (out->max_failures <= SECPOL_LOCKOUT_FAILURES_MAX, "max_failures %u",
                  out->max_failures);
    FUZZ_REQUIRE (out->failures <= SECPOL_LOCKOUT_FAILURES_MAX, "failures %u", out->failures);
    if (out->max_failures == 0)
        FUZZ_REQUIRE (!out->locked && !out->failures && !out->remaining_attempts &&
                          !out->retry_after_seconds && !out->locked_until && !out->prompt_seconds,
                      "a lockout that is off answered something");
    else if (out->locked) {
        FUZZ_REQUIRE (out->remaining_attempts == 0 && out->failures >= 1,
                      "locked with %u remaining", out->remaining_attempts);
        FUZZ_REQUIRE (out->locked_until == 0 || out->locked_until > s_now,
                      "a lock that has ended still holds");
        FUZZ_REQUIRE (out->retry_after_seconds ==
                          (out->locked_until ? out->locked_until - s_now : 0),
                      "retry_after %lld, until %lld, now %lld", (long long)out->retry_after_seconds,
                      (long long)out->locked_until, (long long)s_now);
    } else {
        FUZZ_REQUIRE (!out->retry_after_seconds && !out->locked_until && !out->prompt_seconds,
                      "not locked, but a retry, a lock end or a prompt");
        FUZZ_REQUIRE (out->remaining_attempts >= 1 && out->failures <= out->max_failures &&
                          (out->failures == out->max_failures ||
                           out->remaining_attempts == out->max_failures - out->failures),
                      "failures %u, remaining %u of %u", out->failures, out->remaining_attempts,
                      out->max_failures);
    }
    FUZZ_REQUIRE (!out->just_locked || (out->locked && out->failures == out->max_failures),
                  "just_locked without the lock");
    if (!out->locked && out->failures == 0) {
        request_t never = *in;
        never.subject_id = "never-named";
        status_t *fresh = NULL;
        FUZZ_REQUIRE (s_run (top, arena, s_check, &never, &fresh) == SECPOL_OK,
                      "CheckLockout of a never-named subject");
        fresh->just_locked = out->just_locked;
        size_t a = protobuf_c_message_get_packed_size (&out->base);
        size_t b = protobuf_c_message_get_packed_size (&fresh->base);
        uint8_t pa[256], pb[256];
        FUZZ_REQUIRE (a == b && a <= sizeof pa, "answers of different size");
        protobuf_c_message_pack (&out->base, pa);
        protobuf_c_message_pack (&fresh->base, pb);
        FUZZ_REQUIRE (memcmp (pa, pb, a) == 0, "an empty counter answers unlike a never-named one");
    }
}

static void
s_set_policy (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
              size_t size)
{
    Secpol__V1__LockoutSettings *group = &s_w2_groups[((op >> 3) & 3) % 3];
    group->max_failures = size > 0 ? bytes[0] % 101 : 0;
    group->window_minutes = size > 1 ? bytes[1] % 16 : 0;
    group->lock_minutes = size > 2 ? bytes[2] % 16 : 0;
    s_w2_values.locked_login_prompt_seconds = size > 3 ? bytes[3] % 120 : 0;
    char *overridden[] = {"login_lockout", "claim_lockout", "two_factor_lockout",
                          "locked_login_prompt_seconds"};
    Secpol__Store__V1__PolicyLevel level = SECPOL__STORE__V1__POLICY_LEVEL__INIT;
    level.values = &s_w2_values;
    level.n_overridden = 4;
    level.overridden = overridden;
    level.version = 1;
    int rc = secpol_policy_level_save (top, arena, "w2", "", &level);
    FUZZ_REQUIRE (rc == 0, "policy of w2: %s", secpol_strerror (rc));
    if (s_trace)
        fprintf (stderr, "policy w2 group %d: %u %u %u\n", ((op >> 3) & 3) % 3, group->max_failures,
                 group->window_minutes, group->lock_minutes);
}

/*  Runs the sweep and checks that no answer of w1 changed. */
static void
s_sweep (secpol_txn_t *top, secpol_arena_t *arena)
{
    status_t *before[6], *after[6];
    request_t requests[6];
    for (int k = 0; k < 6; k++) {
        secpol__v1__lockout_request__init (&requests[k]);
        requests[k].workspace_id = "w1";
        requests[k].subject_id = k & 1 ? "u2" : "u1";
        requests[k].kind = (Secpol__V1__LockoutKind)(1 + k / 2);
        FUZZ_REQUIRE (s_run (top, arena, s_check, &requests[k], &before[k]) == SECPOL_OK,
                      "CheckLockout of w1");
    }
    size_t deleted = 0;
    bool more = true;
    while (more) {
        int rc = secpol_expiry_sweep (top, s_now, 1000, &deleted, &more);
        FUZZ_REQUIRE (rc == 0, "sweep: %s", secpol_strerror (rc));
    }
    for (int k = 0; k < 6; k++) {
        FUZZ_REQUIRE (s_run (top, arena, s_check, &requests[k], &after[k]) == SECPOL_OK,
                      "CheckLockout of w1");
        FUZZ_REQUIRE (s_same (before[k], after[k]), "the sweep changed an answer of w1");
    }
}

/*  Every record decodes and has something to remember, and the expiry
 *  table holds exactly one entry per record with an expiry, at that time. */
static void
s_check_tables (secpol_txn_t *txn, secpol_arena_t *arena)
{
    size_t with_expiry = 0;
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_lockout_table, &cursor);
    FUZZ_REQUIRE (rc == 0, "cursor: %s", secpol_strerror (rc));
    secpol_val_t key, value;
    for (rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
         rc = secpol_cursor_next (cursor, &key, &value)) {
        Secpol__Store__V1__LockoutRecord *record = secpol__store__v1__lockout_record__unpack (
            secpol_arena_allocator (arena), value.size, value.data);
        FUZZ_REQUIRE (record, "a lockout record does not decode");
        FUZZ_REQUIRE (record->n_failures <= SECPOL_LOCKOUT_FAILURES_MAX &&
                          (record->n_failures > 0 || record->locked),
                      "a record with %zu failures, locked %d", record->n_failures, record->locked);
        if (record->expires_at) {
            with_expiry++;
            size_t name = strlen (secpol_lockout_table.name);
            uint8_t entry[8 + 1 + 16 + SECPOL_LOCKOUT_KEY_MAX];
            for (int b = 0; b < 8; b++)
                entry[b] = (uint8_t)((uint64_t)record->expires_at >> (56 - 8 * b));
            entry[8] = (uint8_t)name;
            memcpy (entry + 9, secpol_lockout_table.name, name);
            memcpy (entry + 9 + name, key.data, key.size);
            secpol_val_t ignored;
            FUZZ_REQUIRE (
                secpol_get (txn, &secpol_expiry_table, entry, 9 + name + key.size, &ignored) == 0,
                "a record without its expiry entry");
        }
    }
    secpol_cursor_close (&cursor);
    size_t entries = 0;
    rc = secpol_cursor_open (txn, &secpol_expiry_table, &cursor);
    FUZZ_REQUIRE (rc == 0, "cursor: %s", secpol_strerror (rc));
    for (rc = secpol_cursor_seek (cursor, NULL, 0, &key, NULL); rc == 0;
         rc = secpol_cursor_next (cursor, &key, NULL))
        entries++; /* this target writes no other expiring record */
    secpol_cursor_close (&cursor);
    FUZZ_REQUIRE (entries == with_expiry, "%zu expiry entries for %zu records", entries,
                  with_expiry);
}

static bool
s_same (const status_t *a, const status_t *b)
{
    return a->locked == b->locked && a->failures == b->failures &&
           a->remaining_attempts == b->remaining_attempts &&
           a->retry_after_seconds == b->retry_after_seconds &&
           a->prompt_seconds == b->prompt_seconds && a->locked_until == b->locked_until &&
           a->max_failures == b->max_failures;
}
