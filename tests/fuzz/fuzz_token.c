/*  fuzz_token.c - TokenService handlers on a real LMDB store.
 *
 *  The handlers hash tokens with the store's key, which they reach through
 *  call->server: the target makes one secpol_server_t per process (data in
 *  a temporary directory, an inproc endpoint nobody connects to; its front
 *  end never runs). Each input runs in one top-level write transaction that
 *  is aborted at the end, so inputs leave nothing behind and a crash
 *  reproduces from its input alone. Each step runs as the dispatcher runs
 *  it: WRITE methods in a nested transaction (committed into the top one on
 *  OK, aborted otherwise), VerifyToken on the transaction as it is.
 *
 *  Input: up to 16 steps, each `op, length (2 bytes, little endian), bytes`. op bits 0-2:
 *    0 IssueTokenRequest, 1 VerifyTokenRequest, 2 ConsumeTokenRequest,
 *    3 RevokeTokensRequest: the bytes are the encoded request (skipped when
 *      the dispatcher's string check refuses them or they do not unpack);
 *    4 the clock moves on by (bytes[0] | bytes[1] << 8) * 61 seconds;
 *    5 VerifyToken of a token this input issued (bits 4-6 pick it), of
 *      another kind when bit 3 is set;
 *    6 ConsumeToken of such a token (bit 3: with its workspace and bound_to);
 *    7 RevokeTokens of its subject, of its kind only when bit 3 is set.
 *  Steps 0-3 with op bit 3 set replace the workspace of the request with w1
 *  (bit 4: w2) and its subject with u1 (bit 5: u2), so that steps meet each
 *  other's tokens. w1 has the default policy; w2's, stored once per
 *  process, has settings #5 and #7 at 0 (links that never expire), a
 *  1-minute passwordless link and auto-login on. SECPOL_FUZZ_TRACE in the
 *  environment prints every call.
 *
 *  Invariants (abort when broken):
 *  - a handler answers OK or INVALID_ARGUMENT (with violations, each naming
 *    a field and saying why), Verify and Consume also NOT_FOUND (always the
 *    one message) or FAILED_PRECONDITION (an expired token); never INTERNAL;
 *  - IssueToken OK: a well-formed "spl_" token that verifies at once as
 *    what was asked (workspace, community, kind, subject, bound_to,
 *    max_uses), expires_at 0 or in the future; a single-use kind's older
 *    tokens of the same workspace, subject and kind no longer verify;
 *  - Verify and Consume OK: the token has not expired at now; verify
 *    spends nothing (a second verify says the same uses_left); after a
 *    consume uses_left fell by one, and a used-up token no longer verifies;
 *    a consumed password reset leaves no other reset of the subject;
 *    auto_login never for a password reset;
 *  - a token verified as another kind answers the one NOT_FOUND, or
 *    INVALID_ARGUMENT for no kind;
 *  - RevokeTokens OK: the subject's tokens (of that kind) no longer verify;
 *  - no response but IssueToken's holds a token this input made, nor the
 *    random part of one, nor a token's stored hash;
 *  - at the end of the input the tables agree: every index entry names a
 *    record whose own index key it is, every record has its index entry,
 *    and the expiry table holds two entries per token that expires.
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz_support.h"
#include "service_harness.h"

#include "arena.h"
#include "call.h"
#include "expiry.h"
#include "method_table.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "token_kinds.h"
#include "token_store.h"
#include "wire.h"

#include "secpol/v1/rpc.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define NOW        INT64_C (1800000000)
#define MAX_STEPS  16
#define MAX_TOKENS 8
#define NOT_FOUND  "no such token: it is unknown, revoked, used up or not valid here"

typedef struct {
    char token[SECPOL_SECRET_TOKEN_MAX];
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    char workspace_id[SECPOL_TOKEN_ID_MAX + 1];
    char subject_id[SECPOL_TOKEN_ID_MAX + 1];
    char bound_to[SECPOL_TOKEN_BOUND_TO_MAX + 1];
    int kind;
    bool gone; /* revoked, replaced or used up: must never verify again */
} made_t;

static fuzz_service_t s_service; /* server, store, method table */
static bool s_trace;
static const secpol_method_t *s_issue, *s_verify, *s_consume, *s_revoke;
static int64_t s_now;
static made_t s_made[MAX_TOKENS]; /* tokens this input issued */
static size_t s_n_made;

static void s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
                    size_t size);
static void s_step_and_check (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op,
                              const uint8_t *bytes, size_t size);
static int s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
                  const ProtobufCMessage *request, ProtobufCMessage **response_p);
static int s_use (secpol_txn_t *top, secpol_arena_t *arena, bool consume, const char *token,
                  int kind, const char *workspace_id, const char *bound_to,
                  Secpol__V1__TokenInfo **info_p);
static void s_after_issue (secpol_txn_t *top, secpol_arena_t *arena,
                           const Secpol__V1__IssueTokenRequest *in,
                           const Secpol__V1__IssueTokenResponse *out);
static void s_after_use (secpol_txn_t *top, secpol_arena_t *arena, bool consume, const char *token,
                         const Secpol__V1__TokenInfo *info);
static void s_after_revoke (secpol_txn_t *top, secpol_arena_t *arena,
                            const Secpol__V1__RevokeTokensRequest *in);
static void s_check_gone (secpol_txn_t *top, secpol_arena_t *arena);
static void s_check_secret_free (secpol_arena_t *arena, const ProtobufCMessage *response);
static void s_check_tables (secpol_txn_t *txn, secpol_arena_t *arena);
static void s_store_policy (void);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_token");
    s_issue = fuzz_service_method (&s_service, "/secpol.v1.TokenService/IssueToken");
    s_verify = fuzz_service_method (&s_service, "/secpol.v1.TokenService/VerifyToken");
    s_consume = fuzz_service_method (&s_service, "/secpol.v1.TokenService/ConsumeToken");
    s_revoke = fuzz_service_method (&s_service, "/secpol.v1.TokenService/RevokeTokens");
    s_store_policy ();
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
    s_n_made = 0;
    fuzz_service_txn_steps (data, size, MAX_STEPS, s_step_and_check, top, arena);
    s_check_tables (top, arena);
    secpol_txn_abort (&top);
    secpol_arena_destroy (&arena);
    return 0;
}

/*  A step, then the check that what was revoked or spent is gone. */
static void
s_step_and_check (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
                  size_t size)
{
    s_step (top, arena, op, bytes, size);
    s_check_gone (top, arena);
}

static void
s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes, size_t size)
{
    unsigned action = op & 7;
    if (action == 4) {
        s_now += (int64_t)((size > 0 ? bytes[0] : 0) | (size > 1 ? bytes[1] << 8 : 0)) * 61;
        if (s_trace)
            fprintf (stderr, "clock: +%lld s\n", (long long)(s_now - NOW));
        return;
    }
    if (action >= 5) {
        if (s_n_made == 0)
            return;
        made_t *made = &s_made[((op >> 4) & 7) % s_n_made];
        if (action == 5) {
            int kind = op & 8 ? made->kind % (int)secpol_token_kind_count () + 1 : made->kind;
            Secpol__V1__TokenInfo *info = NULL;
            int code = s_use (top, arena, false, made->token, kind, "", "", &info);
            if (kind != made->kind)
                FUZZ_REQUIRE (code == SECPOL_NOT_FOUND, "verified as another kind: %d", code);
            else if (code == SECPOL_OK)
                s_after_use (top, arena, false, made->token, info);
            return;
        }
        if (action == 6) {
            Secpol__V1__TokenInfo *info = NULL;
            bool checks = op & 8;
            int code =
                s_use (top, arena, true, made->token, made->kind, checks ? made->workspace_id : "",
                       checks ? made->bound_to : "", &info);
            if (code == SECPOL_OK)
                s_after_use (top, arena, true, made->token, info);
            return;
        }
        Secpol__V1__RevokeTokensRequest in = SECPOL__V1__REVOKE_TOKENS_REQUEST__INIT;
        in.workspace_id = made->workspace_id;
        in.subject_id = made->subject_id;
        in.kind = op & 8 ? made->kind : 0;
        ProtobufCMessage *response = NULL;
        int code = s_run (top, arena, s_revoke, &in.base, &response);
        FUZZ_REQUIRE (code == SECPOL_OK, "RevokeTokens of a made subject: %d", code);
        s_after_revoke (top, arena, &in);
        return;
    }
    const secpol_method_t *methods[] = {s_issue, s_verify, s_consume, s_revoke};
    const secpol_method_t *method = methods[action];
    const ProtobufCMessageDescriptor *descriptor = method->descriptor->input;
    char field[256];
    const char *problem;
    if (!secpol_wire_check_strings (descriptor, bytes, size, field, sizeof field, &problem)) {
        if (s_trace)
            fprintf (stderr, "step op=0x%02x: skipped, %s %s\n", op, field, problem);
        return;
    }
    ProtobufCMessage *request =
        protobuf_c_message_unpack (descriptor, secpol_arena_allocator (arena), size, bytes);
    if (!request) {
        if (s_trace)
            fprintf (stderr, "step op=0x%02x: skipped, not a %s\n", op, descriptor->name);
        return;
    }
    if (op & 8) { /* meet the other steps' tokens */
        for (unsigned k = 0; k < descriptor->n_fields; k++) {
            const ProtobufCFieldDescriptor *fd = &descriptor->fields[k];
            char **value = (char **)((char *)request + fd->offset);
            if (strcmp (fd->name, "workspace_id") == 0)
                *value = op & 16 ? "w2" : "w1";
            else if (strcmp (fd->name, "subject_id") == 0)
                *value = op & 32 ? "u2" : "u1";
        }
    }
    ProtobufCMessage *response = NULL;
    int code = s_run (top, arena, method, request, &response);
    if (code != SECPOL_OK)
        return;
    if (method == s_issue)
        s_after_issue (top, arena, (const Secpol__V1__IssueTokenRequest *)request,
                       (const Secpol__V1__IssueTokenResponse *)response);
    else if (method == s_revoke)
        s_after_revoke (top, arena, (const Secpol__V1__RevokeTokensRequest *)request);
    else {
        /* a token from the bytes: one of ours when it verifies */
        const char *token = method == s_verify
                                ? ((const Secpol__V1__VerifyTokenRequest *)request)->token
                                : ((const Secpol__V1__ConsumeTokenRequest *)request)->token;
        s_after_use (top, arena, method == s_consume, token,
                     (const Secpol__V1__TokenInfo *)response);
    }
}

/*  Runs a handler as the dispatcher does and checks the answer's shape.
 *  Returns the status. */
static int
s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
       const ProtobufCMessage *request, ProtobufCMessage **response_p)
{
    bool write = method->spec->lane == SECPOL_LANE_WRITE;
    secpol_call_t call;
    int code = fuzz_service_call (&s_service, top, arena, method, method->spec->handler, write,
                                  false, s_now, NULL, request, response_p, &call);
    if (s_trace)
        fprintf (stderr, "  %s%s: %d %s\n", method->path, write ? " (write)" : "", code,
                 call.message ? call.message : "");
    bool use = method == s_verify || method == s_consume;
    FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT ||
                      (use && (code == SECPOL_NOT_FOUND || code == SECPOL_FAILED_PRECONDITION)),
                  "%s answered %d: %s", method->path, code, call.message ? call.message : "");
    if (code == SECPOL_INVALID_ARGUMENT)
        fuzz_require_violations (&call, method->path);
    if (code == SECPOL_NOT_FOUND)
        FUZZ_REQUIRE (call.message && strcmp (call.message, NOT_FOUND) == 0,
                      "NOT_FOUND says \"%s\"", call.message ? call.message : "");
    if (code == SECPOL_FAILED_PRECONDITION)
        FUZZ_REQUIRE (call.message && strstr (call.message, "expired"),
                      "FAILED_PRECONDITION says \"%s\"", call.message ? call.message : "");
    if (code == SECPOL_OK && method != s_issue)
        s_check_secret_free (arena, *response_p);
    return code;
}

static int
s_use (secpol_txn_t *top, secpol_arena_t *arena, bool consume, const char *token, int kind,
       const char *workspace_id, const char *bound_to, Secpol__V1__TokenInfo **info_p)
{
    ProtobufCMessage *response = NULL;
    int code;
    if (consume) {
        Secpol__V1__ConsumeTokenRequest in = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
        in.token = (char *)token;
        in.kind = kind;
        in.workspace_id = (char *)workspace_id;
        in.bound_to = (char *)bound_to;
        code = s_run (top, arena, s_consume, &in.base, &response);
    } else {
        Secpol__V1__VerifyTokenRequest in = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
        in.token = (char *)token;
        in.kind = kind;
        in.workspace_id = (char *)workspace_id;
        in.bound_to = (char *)bound_to;
        code = s_run (top, arena, s_verify, &in.base, &response);
    }
    if (info_p)
        *info_p = (Secpol__V1__TokenInfo *)response;
    return code;
}

static made_t *
s_made_by_token (const char *token)
{
    for (size_t k = 0; k < s_n_made; k++)
        if (strcmp (s_made[k].token, token) == 0)
            return &s_made[k];
    return NULL;
}

static void
s_after_issue (secpol_txn_t *top, secpol_arena_t *arena, const Secpol__V1__IssueTokenRequest *in,
               const Secpol__V1__IssueTokenResponse *out)
{
    const secpol_token_kind_t *kind = secpol_token_kind (in->kind);
    FUZZ_REQUIRE (kind, "IssueToken OK for kind %d", in->kind);
    FUZZ_REQUIRE (secpol_secret_token_check (out->token, SECPOL_TOKEN_PREFIX),
                  "IssueToken made \"%s\"", out->token);
    FUZZ_REQUIRE (out->expires_at == 0 || out->expires_at > s_now, "expires_at %lld at %lld",
                  (long long)out->expires_at, (long long)s_now);
    /* a single-use kind replaces the subject's older token of that kind */
    for (size_t k = 0; k < s_n_made && !kind->view; k++)
        if (s_made[k].kind == (int)in->kind &&
            strcmp (s_made[k].workspace_id, in->workspace_id) == 0 &&
            strcmp (s_made[k].subject_id, in->subject_id) == 0)
            s_made[k].gone = true;
    Secpol__V1__TokenInfo *info = NULL;
    int code =
        s_use (top, arena, false, out->token, in->kind, in->workspace_id, in->bound_to, &info);
    FUZZ_REQUIRE (code == SECPOL_OK, "a new token does not verify: %d", code);
    FUZZ_REQUIRE (strcmp (info->workspace_id, in->workspace_id) == 0 &&
                      strcmp (info->community_id, in->community_id) == 0 &&
                      strcmp (info->subject_id, in->subject_id) == 0 &&
                      strcmp (info->bound_to, in->bound_to) == 0 && info->kind == in->kind &&
                      info->expires_at == out->expires_at && info->issued_at == s_now,
                  "a new token verifies as another");
    FUZZ_REQUIRE (info->max_uses == (kind->view ? in->max_uses : 1) &&
                      info->unlimited == (info->max_uses == 0) && info->uses_left == info->max_uses,
                  "max_uses %u, uses_left %u, asked %u", info->max_uses, info->uses_left,
                  in->max_uses);
    if (s_n_made < MAX_TOKENS) {
        made_t *made = &s_made[s_n_made++];
        snprintf (made->token, sizeof made->token, "%s", out->token);
        secpol_secret_token_hash (made->hash, s_service.store, SECPOL_TOKEN_HASH_CONTEXT,
                                  made->token);
        snprintf (made->workspace_id, sizeof made->workspace_id, "%s", in->workspace_id);
        snprintf (made->subject_id, sizeof made->subject_id, "%s", in->subject_id);
        snprintf (made->bound_to, sizeof made->bound_to, "%s", in->bound_to);
        made->kind = in->kind;
        made->gone = false;
    }
}

static void
s_after_use (secpol_txn_t *top, secpol_arena_t *arena, bool consume, const char *token,
             const Secpol__V1__TokenInfo *info)
{
    const secpol_token_kind_t *kind = secpol_token_kind (info->kind);
    FUZZ_REQUIRE (kind, "a token of kind %d was used", info->kind);
    FUZZ_REQUIRE (info->expires_at == 0 || info->expires_at > s_now, "an expired token was used");
    FUZZ_REQUIRE (!(kind->password_reset && info->auto_login), "auto-login from a reset link");
    made_t *made = s_made_by_token (token);
    if (!made)
        return; /* a token from the fuzzer's bytes that happens to be live: not ours to follow */
    FUZZ_REQUIRE (!made->gone, "a revoked, replaced or used-up token was %s",
                  consume ? "consumed" : "verified");
    /* verify spends nothing: a second look says the same */
    Secpol__V1__TokenInfo *again = NULL;
    int code = s_use (top, arena, false, token, info->kind, "", "", &again);
    bool used_up = consume && !info->unlimited && info->uses_left == 0;
    if (used_up) {
        FUZZ_REQUIRE (code == SECPOL_NOT_FOUND, "a used-up token verifies: %d", code);
        made->gone = true;
    } else {
        FUZZ_REQUIRE (code == SECPOL_OK, "a usable token does not verify: %d", code);
        FUZZ_REQUIRE (again->uses_left == info->uses_left, "verify spent a use: %u then %u",
                      info->uses_left, again->uses_left);
    }
    if (consume && kind->password_reset)
        for (size_t k = 0; k < s_n_made; k++)
            if (secpol_token_kind (s_made[k].kind)->password_reset &&
                strcmp (s_made[k].workspace_id, info->workspace_id) == 0 &&
                strcmp (s_made[k].subject_id, info->subject_id) == 0)
                s_made[k].gone = true;
}

static void
s_after_revoke (secpol_txn_t *top, secpol_arena_t *arena, const Secpol__V1__RevokeTokensRequest *in)
{
    (void)top;
    (void)arena;
    for (size_t k = 0; k < s_n_made; k++)
        if ((in->kind == 0 || s_made[k].kind == (int)in->kind) &&
            strcmp (s_made[k].workspace_id, in->workspace_id) == 0 &&
            strcmp (s_made[k].subject_id, in->subject_id) == 0)
            s_made[k].gone = true;
}

/*  Every token that must be gone answers the one NOT_FOUND. */
static void
s_check_gone (secpol_txn_t *top, secpol_arena_t *arena)
{
    for (size_t k = 0; k < s_n_made; k++) {
        if (!s_made[k].gone)
            continue;
        int code = s_use (top, arena, false, s_made[k].token, s_made[k].kind, "", "", NULL);
        FUZZ_REQUIRE (code == SECPOL_NOT_FOUND, "token %zu (kind %d) should be gone: %d", k,
                      s_made[k].kind, code);
    }
}

static void
s_check_secret_free (secpol_arena_t *arena, const ProtobufCMessage *response)
{
    size_t size = protobuf_c_message_get_packed_size (response);
    uint8_t *packed = secpol_arena_alloc (arena, size + 1);
    protobuf_c_message_pack (response, packed);
    for (size_t k = 0; k < s_n_made; k++) {
        const char *random = s_made[k].token + strlen (SECPOL_TOKEN_PREFIX);
        FUZZ_REQUIRE (!memmem (packed, size, random, SECPOL_SECRET_TOKEN_RANDOM),
                      "a response holds token %zu", k);
        FUZZ_REQUIRE (!memmem (packed, size, s_made[k].hash, SECPOL_SECRET_TOKEN_HASH),
                      "a response holds the hash of token %zu", k);
    }
}

/*  Records, subject index and expiry entries agree. */
static void
s_check_tables (secpol_txn_t *txn, secpol_arena_t *arena)
{
    secpol_cursor_t *cursor = NULL;
    secpol_val_t key, value;
    size_t records = 0, expiring = 0, entries = 0, expiry = 0;
    int rc = secpol_cursor_open (txn, &secpol_token_table, &cursor);
    FUZZ_REQUIRE (rc == 0, "cursor: %s", secpol_strerror (rc));
    for (rc = secpol_cursor_seek (cursor, NULL, 0, &key, NULL); rc == 0;
         rc = secpol_cursor_next (cursor, &key, NULL)) {
        FUZZ_REQUIRE (key.size == SECPOL_SECRET_TOKEN_HASH, "a record key of %zu bytes", key.size);
        Secpol__Store__V1__TokenRecord *record = NULL;
        rc = secpol_token_load (txn, arena, key.data, &record);
        FUZZ_REQUIRE (rc == 0, "a record does not load: %s", secpol_strerror (rc));
        uint8_t index[SECPOL_TOKEN_INDEX_KEY_MAX];
        size_t size = secpol_token_subject_prefix (index, record->workspace_id, record->subject_id,
                                                   record->kind);
        memcpy (index + size, key.data, SECPOL_SECRET_TOKEN_HASH);
        secpol_val_t entry;
        rc = secpol_get (txn, &secpol_token_subject_table, index, size + SECPOL_SECRET_TOKEN_HASH,
                         &entry);
        FUZZ_REQUIRE (rc == 0, "a record without its index entry: %s", secpol_strerror (rc));
        FUZZ_REQUIRE (record->max_uses == 0 || record->uses < record->max_uses,
                      "a used-up record is stored (%u of %u)", record->uses, record->max_uses);
        records++;
        expiring += record->expires_at != 0;
    }
    secpol_cursor_close (&cursor);
    rc = secpol_cursor_open (txn, &secpol_token_subject_table, &cursor);
    FUZZ_REQUIRE (rc == 0, "cursor: %s", secpol_strerror (rc));
    for (rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
         rc = secpol_cursor_next (cursor, &key, &value))
        entries++;
    secpol_cursor_close (&cursor);
    rc = secpol_cursor_open (txn, &secpol_expiry_table, &cursor);
    FUZZ_REQUIRE (rc == 0, "cursor: %s", secpol_strerror (rc));
    for (rc = secpol_cursor_seek (cursor, NULL, 0, NULL, NULL); rc == 0;
         rc = secpol_cursor_next (cursor, NULL, NULL))
        expiry++;
    secpol_cursor_close (&cursor);
    FUZZ_REQUIRE (entries == records, "%zu index entries for %zu records", entries, records);
    FUZZ_REQUIRE (expiry == 2 * expiring, "%zu expiry entries for %zu expiring tokens", expiry,
                  expiring);
}

/*  w2: links of settings 5 and 7 never expire, passwordless links last a
 *  minute, auto-login on. Written once, committed. */
static void
s_store_policy (void)
{
    const secpol_method_t *update =
        fuzz_service_method (&s_service, "/secpol.v1.PolicyService/UpdatePolicy");
    secpol_arena_t *arena = secpol_arena_new ();
    secpol_txn_t *txn = NULL;
    int rc = secpol_txn_begin (s_service.store, NULL, true, &txn);
    FUZZ_REQUIRE (rc == 0, "transaction: %s", secpol_strerror (rc));
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.email_verification_link_ttl_minutes = 0;
    policy.password_reset_link_ttl_minutes = 0;
    policy.passwordless_auth_ttl_minutes = 1;
    policy.auto_login_by_email_token = true;
    char *mask[] = {"email_verification_link_ttl_minutes", "password_reset_link_ttl_minutes",
                    "passwordless_auth_ttl_minutes", "auto_login_by_email_token"};
    Secpol__V1__UpdatePolicyRequest in = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    in.workspace_id = "w2";
    in.policy = &policy;
    in.n_update_mask = 4;
    in.update_mask = mask;
    secpol_call_t call;
    memset (&call, 0, sizeof call);
    call.arena = arena;
    call.txn = txn;
    call.writable = true;
    call.now = NOW;
    call.method = update->path;
    call.request_id = "";
    call.caller = "";
    call.role = SECPOL_ROLE_ADMIN;
    call.server = s_service.server;
    ProtobufCMessage *out = secpol_arena_message (arena, update->descriptor->output);
    int code = update->spec->handler->fn (&call, &in.base, out);
    FUZZ_REQUIRE (code == SECPOL_OK, "policy of w2: %d %s", code, call.message ? call.message : "");
    rc = secpol_txn_commit (&txn);
    FUZZ_REQUIRE (rc == 0, "commit: %s", secpol_strerror (rc));
    secpol_arena_destroy (&arena);
}
