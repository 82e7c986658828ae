/*  token_service.c - TokenService handlers and their method table.
 *
 *  IssueToken, ConsumeToken and RevokeTokens run on the WRITE lane, one at
 *  a time: that a single-use token is consumed exactly once, even by many
 *  concurrent calls, follows from the one writer (the second consume finds
 *  the record gone). VerifyToken runs on the READ lane and writes nothing.
 *
 *  A token is looked up by its keyed hash only after its shape and check
 *  characters pass (secret_token.h): a mistyped token costs no lookup. An
 *  unknown, mistyped, revoked or used-up token, one of another kind and one
 *  that fails the caller's workspace_id or bound_to check all answer the
 *  same NOT_FOUND with the same message, so the answer tells nothing about
 *  which. An expired one answers FAILED_PRECONDITION while it is kept
 *  (SECPOL_TOKEN_EXPIRED_KEPT), so that the product can offer a new link.
 *
 *  Tables, keys and expiry: token_store.h. Kinds: token_kinds.h. Behaviour
 *  for callers: docs/TOKENS.md.
 */
#include "log.h"
#include "policy.h"
#include "server.h"
#include "audit.h"
#include "service.h"
#include "session_store.h"
#include "text.h"
#include "token_kinds.h"
#include "token_store.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

/*  The one answer for every token that cannot be used, whatever the reason. */
#define NOT_FOUND_MESSAGE "no such token: it is unknown, revoked, used up or not valid here"
#define NEW_TOKEN_TRIES   4 /* fresh tokens tried when one's hash is taken (never, in practice) */
#define REQUEST_MAX       4096

/*  What VerifyToken and ConsumeToken are asked, from either request. */
typedef struct {
    const char *token;
    int kind;
    const char *workspace_id; /* "" = any */
    const char *bound_to;     /* "" = not checked */
} s_lookup_t;

static void s_check_id (secpol_call_t *call, const char *field, const char *id, bool required);
static const secpol_token_kind_t *s_check_kind (secpol_call_t *call, int kind, bool required);
static void s_check_bound_to (secpol_call_t *call, const char *bound_to);
static void s_hash (secpol_call_t *call, uint8_t hash[SECPOL_SECRET_TOKEN_HASH], const char *token);
static int s_find (secpol_call_t *call, const s_lookup_t *lookup,
                   uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
                   Secpol__Store__V1__TokenRecord **record_p);
static int s_info (secpol_call_t *call, const Secpol__Store__V1__TokenRecord *record,
                   Secpol__V1__TokenInfo *out);
static int s_revoke_resets (secpol_call_t *call, const Secpol__Store__V1__TokenRecord *record,
                            Secpol__V1__TokenInfo *out);
static int s_store_failed (secpol_call_t *call, int rc);
static const char *s_quote (secpol_call_t *call, const char *text);

SECPOL_HANDLER (s_issue_token, Secpol__V1__IssueTokenRequest, in, Secpol__V1__IssueTokenResponse,
                out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "community_id", in->community_id, false);
    s_check_id (call, "subject_id", in->subject_id, true);
    const secpol_token_kind_t *kind = s_check_kind (call, in->kind, true);
    s_check_bound_to (call, in->bound_to);
    if (kind && !kind->view && in->max_uses > 1)
        secpol_call_violation (call, "max_uses",
                               "is %" PRIu32 ": TOKEN_KIND_%s is single-use (0 or 1); only view "
                               "kinds may be used more than once",
                               in->max_uses, kind->name);
    else if (kind && in->max_uses > SECPOL_TOKEN_MAX_USES_MAX)
        secpol_call_violation (call, "max_uses", "is %" PRIu32 ": at most %d (0 = until expiry)",
                               in->max_uses, SECPOL_TOKEN_MAX_USES_MAX);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;

    const Secpol__V1__Policy *policy;
    rc = secpol_policy_effective (call->txn, call->arena, in->workspace_id, in->community_id,
                                  &policy);
    if (rc)
        return s_store_failed (call, rc);
    uint32_t ttl = secpol_token_kind_ttl_minutes (kind, policy);

    /* A single-use kind keeps one live token per subject: the new one
     * replaces the older. A view kind keeps at most SECPOL_TOKEN_PER_KIND_MAX. */
    uint32_t revoked = 0;
    if (kind->view)
        rc = secpol_token_make_room (call->txn, in->workspace_id, in->subject_id, in->kind,
                                     call->now, SECPOL_TOKEN_PER_KIND_MAX, &revoked);
    else
        rc = secpol_token_revoke (call->txn, in->workspace_id, in->subject_id, in->kind, call->now,
                                  NULL, &revoked);
    if (rc)
        return s_store_failed (call, rc);

    /* This may run again after a rollback (the map grew): a new token then,
     * which is fine, since only the reply that is sent carries one. */
    char token[SECPOL_SECRET_TOKEN_MAX];
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    for (int tries = 0;; tries++) {
        secpol_secret_token_new (token, SECPOL_TOKEN_PREFIX);
        s_hash (call, hash, token);
        secpol_val_t taken;
        rc = secpol_get (call->txn, &secpol_token_table, hash, sizeof hash, &taken);
        if (rc == SECPOL_ENOTFOUND)
            break;
        if (rc == 0 && tries + 1 == NEW_TOKEN_TRIES)
            rc = SECPOL_EINVAL;
        if (rc) {
            sodium_memzero (token, sizeof token);
            return s_store_failed (call, rc);
        }
    }
    Secpol__Store__V1__TokenRecord record = SECPOL__STORE__V1__TOKEN_RECORD__INIT;
    record.workspace_id = in->workspace_id;
    record.community_id = in->community_id;
    record.kind = in->kind;
    record.subject_id = in->subject_id;
    record.bound_to = in->bound_to;
    record.issued_at = call->now;
    record.expires_at = ttl ? call->now + (int64_t)ttl * 60 : 0; /* 0 = never */
    record.max_uses = kind->view ? in->max_uses : 1;
    rc = secpol_token_save (call->txn, call->arena, hash, &record, true);
    if (rc) {
        sodium_memzero (token, sizeof token);
        return s_store_failed (call, rc);
    }
    out->token = secpol_call_strdup (call, token);
    sodium_memzero (token, sizeof token);
    out->expires_at = record.expires_at;
    out->revoked = revoked;
    secpol_call_note (call,
                      "workspace=%s community=%s kind=%s subject=%s expires_at=%" PRId64
                      " max_uses=%" PRIu32 " revoked=%" PRIu32,
                      s_quote (call, in->workspace_id), s_quote (call, in->community_id),
                      kind->name, s_quote (call, in->subject_id), record.expires_at,
                      record.max_uses, revoked);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_verify_token, Secpol__V1__VerifyTokenRequest, in, Secpol__V1__TokenInfo, out)
{
    s_lookup_t lookup = {in->token, in->kind, in->workspace_id, in->bound_to};
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    Secpol__Store__V1__TokenRecord *record;
    int rc = s_find (call, &lookup, hash, &record);
    if (rc)
        return rc;
    return s_info (call, record, out);
}

SECPOL_HANDLER (s_consume_token, Secpol__V1__ConsumeTokenRequest, in, Secpol__V1__TokenInfo, out)
{
    s_lookup_t lookup = {in->token, in->kind, in->workspace_id, in->bound_to};
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    Secpol__Store__V1__TokenRecord *record;
    int rc = s_find (call, &lookup, hash, &record);
    if (rc)
        return rc;
    /* The WRITE lane runs one handler at a time: between s_find and here
     * no other consume can spend this use. */
    record->uses++;
    bool used_up = record->max_uses > 0 && record->uses >= record->max_uses;
    rc = used_up ? secpol_token_delete (call->txn, hash, record)
                 : secpol_token_save (call->txn, call->arena, hash, record, false);
    if (rc)
        return s_store_failed (call, rc);
    const secpol_token_kind_t *kind = secpol_token_kind (record->kind);
    if (kind->password_reset && (rc = s_revoke_resets (call, record, out)))
        return rc;
    rc = s_info (call, record, out);
    if (rc)
        return rc;
    secpol_call_note (call,
                      "workspace=%s community=%s kind=%s subject=%s uses=%" PRIu32
                      " used_up=%s revoked_tokens=%" PRIu32 " revoked_sessions=%" PRIu32,
                      s_quote (call, record->workspace_id), s_quote (call, record->community_id),
                      kind->name, s_quote (call, record->subject_id), record->uses,
                      used_up ? "true" : "false", out->revoked_tokens, out->revoked_sessions);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_revoke_tokens, Secpol__V1__RevokeTokensRequest, in,
                Secpol__V1__RevokeTokensResponse, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "subject_id", in->subject_id, true);
    const secpol_token_kind_t *kind = s_check_kind (call, in->kind, false);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    rc = secpol_token_revoke (call->txn, in->workspace_id, in->subject_id, in->kind, call->now,
                              NULL, &out->revoked);
    if (rc == 0)
        rc = secpol_audit_add (call->txn, call->now,
                               SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_TOKENS_REVOKED,
                               in->workspace_id, "", in->subject_id,
                               secpol_call_printf (call, "kind=%s revoked=%" PRIu32,
                                                   kind ? kind->name : "*", out->revoked));
    if (rc)
        return s_store_failed (call, rc);
    secpol_call_note (call, "workspace=%s subject=%s kind=%s revoked=%" PRIu32,
                      s_quote (call, in->workspace_id), s_quote (call, in->subject_id),
                      kind ? kind->name : "*", out->revoked);
    return SECPOL_OK;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "IssueToken",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_issue_token,
     .max_request_bytes = REQUEST_MAX},
    {.method = "VerifyToken",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_verify_token,
     .max_request_bytes = REQUEST_MAX},
    {.method = "ConsumeToken",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_consume_token,
     .max_request_bytes = REQUEST_MAX},
    {.method = "RevokeTokens",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_revoke_tokens,
     .max_request_bytes = REQUEST_MAX},
};
static const secpol_table_t *const s_tables[] = {&secpol_token_table, &secpol_token_subject_table};
SECPOL_SERVICE (token, secpol__v1__token_service__descriptor, s_methods, s_tables);

static void
s_check_id (secpol_call_t *call, const char *field, const char *id, bool required)
{
    const char *problem = secpol_policy_id_problem (id, required);
    if (problem)
        secpol_call_violation (call, field, "%s", problem);
}

/*  The row of kind; records a violation and returns NULL when kind is no
 *  kind, or is unspecified where required. */
static const secpol_token_kind_t *
s_check_kind (secpol_call_t *call, int kind, bool required)
{
    const secpol_token_kind_t *row = secpol_token_kind (kind);
    if (!row && (kind != 0 || required))
        secpol_call_violation (call, "kind", "%s",
                               kind == 0
                                   ? "is required: the TokenKind of the link"
                                   : secpol_call_printf (call, "is %d, not a TokenKind (1 to %zu)",
                                                         kind, secpol_token_kind_count ()));
    return row;
}

static void
s_check_bound_to (secpol_call_t *call, const char *bound_to)
{
    const char *problem = secpol_text_problem (bound_to, SECPOL_TOKEN_BOUND_TO_MAX, false);
    if (problem)
        secpol_call_violation (call, "bound_to", "%s (at most %d bytes of plain text)", problem,
                               SECPOL_TOKEN_BOUND_TO_MAX);
}

static void
s_hash (secpol_call_t *call, uint8_t hash[SECPOL_SECRET_TOKEN_HASH], const char *token)
{
    secpol_secret_token_hash (hash, secpol_server_store (call->server), SECPOL_TOKEN_HASH_CONTEXT,
                              token);
}

/*  Finds the usable token lookup names, or answers why not: INVALID_ARGUMENT
 *  for a request without token or kind, the one NOT_FOUND for every token
 *  that cannot be used, FAILED_PRECONDITION for an expired one. */
static int
s_find (secpol_call_t *call, const s_lookup_t *lookup, uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
        Secpol__Store__V1__TokenRecord **record_p)
{
    if (!*lookup->token)
        secpol_call_violation (call, "token", "is required");
    s_check_kind (call, lookup->kind, true);
    s_check_id (call, "workspace_id", lookup->workspace_id, false);
    s_check_bound_to (call, lookup->bound_to);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    /* A mistyped or truncated token fails its check characters: no lookup. */
    if (!secpol_secret_token_check (lookup->token, SECPOL_TOKEN_PREFIX))
        return secpol_call_fail (call, SECPOL_NOT_FOUND, NOT_FOUND_MESSAGE);
    s_hash (call, hash, lookup->token);
    Secpol__Store__V1__TokenRecord *record;
    rc = secpol_token_load (call->txn, call->arena, hash, &record);
    if (rc == SECPOL_ENOTFOUND)
        return secpol_call_fail (call, SECPOL_NOT_FOUND, NOT_FOUND_MESSAGE);
    if (rc)
        return s_store_failed (call, rc);
    /* Kind, workspace and binding before expiry: only the right link may
     * learn that it expired. bound_to is not secret; compared in full all
     * the same. */
    size_t bound = strlen (lookup->bound_to);
    bool wrong = (int)record->kind != lookup->kind ||
                 (*lookup->workspace_id && strcmp (record->workspace_id, lookup->workspace_id)) ||
                 (bound && (strlen (record->bound_to) != bound ||
                            sodium_memcmp (record->bound_to, lookup->bound_to, bound) != 0)) ||
                 (record->max_uses > 0 && record->uses >= record->max_uses);
    /* Past the day it is kept to say so, an expired token is as gone as
     * the sweep will soon make it, whether or not it has run yet. */
    int64_t sweep_at = secpol_token_sweep_at (record->expires_at);
    if (wrong || (sweep_at && sweep_at <= call->now))
        return secpol_call_fail (call, SECPOL_NOT_FOUND, NOT_FOUND_MESSAGE);
    if (secpol_token_expired (record->expires_at, call->now))
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                                 "token expired %" PRId64 " seconds ago: request a new link",
                                 call->now - record->expires_at);
    *record_p = record;
    return SECPOL_OK;
}

/*  Fills out from record (after this call's use, if it spent one), with
 *  auto_login from the token's effective policy as it is now. */
static int
s_info (secpol_call_t *call, const Secpol__Store__V1__TokenRecord *record,
        Secpol__V1__TokenInfo *out)
{
    const Secpol__V1__Policy *policy;
    int rc = secpol_policy_effective (call->txn, call->arena, record->workspace_id,
                                      record->community_id, &policy);
    if (rc)
        return s_store_failed (call, rc);
    const secpol_token_kind_t *kind = secpol_token_kind (record->kind);
    out->workspace_id = record->workspace_id;
    out->community_id = record->community_id;
    out->kind = record->kind;
    out->subject_id = record->subject_id;
    out->bound_to = record->bound_to;
    out->expires_at = record->expires_at;
    out->issued_at = record->issued_at;
    out->max_uses = record->max_uses;
    out->unlimited = record->max_uses == 0;
    out->uses_left = record->max_uses > record->uses ? record->max_uses - record->uses : 0;
    /* OWASP Forgot Password Cheat Sheet: after a reset the user signs in
     * as usual, never straight from the link. */
    out->auto_login = policy->auto_login_by_email_token && !kind->password_reset;
    return SECPOL_OK;
}

/*  A consumed password reset ends the subject's other reset links and
 *  every session (OWASP ASVS 4.0.3 V3.3.3), in this transaction. */
static int
s_revoke_resets (secpol_call_t *call, const Secpol__Store__V1__TokenRecord *record,
                 Secpol__V1__TokenInfo *out)
{
    out->revoked_tokens = 0;
    for (size_t i = 0; i < secpol_token_kind_count (); i++) {
        const secpol_token_kind_t *kind = secpol_token_kind_at (i);
        if (!kind->password_reset)
            continue;
        uint32_t revoked = 0;
        int rc = secpol_token_revoke (call->txn, record->workspace_id, record->subject_id,
                                      kind->kind, call->now, NULL, &revoked);
        if (rc)
            return s_store_failed (call, rc);
        out->revoked_tokens += revoked;
    }
    int rc = secpol_session_revoke_all_at (call->txn, record->workspace_id, record->subject_id,
                                           NULL, call->now, &out->revoked_sessions);
    return rc ? s_store_failed (call, rc) : SECPOL_OK;
}

static int
s_store_failed (secpol_call_t *call, int rc)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "token store: %s", secpol_strerror (rc));
}

/*  A client value quoted for the log line, in the arena. */
static const char *
s_quote (secpol_call_t *call, const char *text)
{
    size_t size = 6 * SECPOL_TOKEN_ID_MAX + 3;
    return secpol_log_quote (secpol_call_alloc (call, size), size, text);
}
