/*  session_service.c - SessionService: login sessions.
 *
 *  CreateSession, RevokeSession and RevokeAllSessions run on the WRITE
 *  lane; ValidateSession and ListSessions on the READ lane. A validation
 *  with touch stays on the READ lane unless the touch is due (the last one
 *  stored is a minute old, or half the idle timeout for timeouts under two
 *  minutes): it then answers SECPOL_NEEDS_WRITE and runs again on the
 *  WRITE lane, which checks again (another touch may have landed first)
 *  and moves the idle deadline. So a busy session costs one write a minute
 *  and every other validation is a parallel read.
 *
 *  Tables and keys: session_store.h. Behaviour: docs/TOKENS.md, "Sessions".
 */
#include "audit.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "service.h"
#include "session_store.h"

#include "secpol/v1/session.pb-c.h"

#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define TOUCH_INTERVAL    60 /* seconds between stored touches of a session */
#define PAGE_SIZE_DEFAULT 50
#define PAGE_SIZE_MAX     SECPOL_SESSION_PER_SUBJECT_MAX
#define PAGE_TOKEN_PREFIX "s1-" /* then be64 created_at and the session id, in hex */
#define PAGE_TOKEN_SIZE   (3 + 2 * (8 + SECPOL_SESSION_ID_BYTES))
#define REQUEST_BYTES_MAX 2048 /* ids are 128 bytes at most, a token 40 */
#define NOT_FOUND_MESSAGE "no such session (unknown, revoked or ended)"

typedef Secpol__Store__V1__SessionRecord record_t;

static bool s_check_id (secpol_call_t *call, const char *field, const char *id, bool required);
static bool s_token_hash (secpol_call_t *call, const char *token,
                          uint8_t hash[SECPOL_SECRET_TOKEN_HASH]);
static bool s_parse_session_id (const char *text, uint8_t id[SECPOL_SESSION_ID_BYTES]);
static void s_hex (char *out, const uint8_t *bytes, size_t size);
static bool s_unhex (uint8_t *out, const char *text, size_t size);
static Secpol__V1__Session *s_session (secpol_call_t *call, const record_t *record);
static bool s_touch_due (const record_t *record, int64_t now);
static int s_store_failed (secpol_call_t *call, int rc);
static void s_note (secpol_call_t *call, const char *action, const record_t *record,
                    const char *more);
static int s_make_room (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                        uint32_t *evicted);
static int s_find_by_id (secpol_call_t *call, const char *workspace_id, const char *subject_id,
                         const uint8_t id[SECPOL_SESSION_ID_BYTES],
                         uint8_t hash[SECPOL_SECRET_TOKEN_HASH], record_t **record_p);

SECPOL_HANDLER (s_create_session, Secpol__V1__CreateSessionRequest, in,
                Secpol__V1__CreateSessionResponse, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "subject_id", in->subject_id, true);
    s_check_id (call, "community_id", in->community_id, false);
    int rc = secpol_call_check (call);
    if (rc)
        return rc;

    const Secpol__V1__Policy *policy;
    rc = secpol_policy_effective (call->txn, call->arena, in->workspace_id, in->community_id,
                                  &policy);
    if (rc)
        return s_store_failed (call, rc);
    bool remember_me = in->remember_me && policy->remember_me_enabled;

    /* This may run again after a rollback (the map grew): no effect outside txn and out. */
    uint32_t revoked = 0;
    if (!policy->allow_concurrent_login)
        rc = secpol_session_revoke_all_at (call->txn, in->workspace_id, in->subject_id, NULL,
                                           call->now, &revoked);
    else
        rc = s_make_room (call, in->workspace_id, in->subject_id, &revoked);
    if (rc == 0 && revoked)
        rc = secpol_audit_add (
            call->txn, call->now, SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_SESSIONS_REVOKED,
            in->workspace_id, in->community_id, in->subject_id,
            secpol_call_printf (call, "revoked=%" PRIu32 " reason=%s", revoked,
                                policy->allow_concurrent_login ? "session_limit"
                                                               : "allow_concurrent_login_off"));
    if (rc)
        return s_store_failed (call, rc);

    record_t *record = secpol_call_alloc (call, sizeof *record);
    secpol__store__v1__session_record__init (record);
    record->workspace_id = in->workspace_id;
    record->community_id = in->community_id;
    record->subject_id = in->subject_id;
    record->created_at = call->now;
    record->last_seen_at = call->now;
    record->remember_me = remember_me;
    if (remember_me)
        record->expires_at = call->now + secpol_server_remember_me_seconds (call->server);
    else if (policy->session_timeout_minutes) /* 0 = no idle limit */
        record->idle_expires_at = call->now + (int64_t)policy->session_timeout_minutes * 60;
    record->session_id.len = SECPOL_SESSION_ID_BYTES;
    record->session_id.data = secpol_call_alloc (call, SECPOL_SESSION_ID_BYTES);
    /* 64 random bits rarely meet another session of the same subject
     * created in the same second; when they do, draw again */
    for (;;) {
        randombytes_buf (record->session_id.data, SECPOL_SESSION_ID_BYTES);
        uint8_t index_key[SECPOL_SESSION_INDEX_KEY_MAX];
        secpol_val_t value;
        size_t size = secpol_session_index_key (index_key, record);
        rc = secpol_get (call->txn, &secpol_session_subject_table, index_key, size, &value);
        if (rc == SECPOL_ENOTFOUND)
            break;
        if (rc)
            return s_store_failed (call, rc);
    }

    char token[SECPOL_SECRET_TOKEN_MAX];
    secpol_secret_token_new (token, SECPOL_SESSION_TOKEN_PREFIX);
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    secpol_secret_token_hash (hash, secpol_server_store (call->server), SECPOL_SESSION_HASH_CONTEXT,
                              token);
    rc = secpol_session_save (call->txn, call->arena, hash, record, NULL);
    if (rc)
        return s_store_failed (call, rc);

    out->session_token = secpol_call_strdup (call, token);
    sodium_memzero (token, sizeof token);
    out->idle_expires_at = record->idle_expires_at;
    out->revoked_sessions = revoked;
    out->session_id = secpol_call_alloc (call, SECPOL_SESSION_ID_HEX + 1);
    s_hex (out->session_id, record->session_id.data, SECPOL_SESSION_ID_BYTES);
    out->created_at = record->created_at;
    out->expires_at = record->expires_at;
    out->remember_me = remember_me;
    out->remember_me_refused = in->remember_me && !remember_me;
    s_note (call, "create", record,
            secpol_call_printf (call, " remember_me=%s revoked=%" PRIu32,
                                remember_me                ? "true"
                                : out->remember_me_refused ? "refused"
                                                           : "false",
                                revoked));
    return SECPOL_OK;
}

SECPOL_HANDLER (s_validate_session, Secpol__V1__ValidateSessionRequest, in,
                Secpol__V1__ValidateSessionResponse, out)
{
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    if (!s_token_hash (call, in->session_token, hash)) /* malformed: no lookup */
        return secpol_call_fail (call, SECPOL_NOT_FOUND, NOT_FOUND_MESSAGE);
    record_t *record;
    int rc = secpol_session_load (call->txn, call->arena, hash, &record);
    if (rc == SECPOL_ENOTFOUND || (rc == 0 && secpol_session_ended (record, call->now)))
        return secpol_call_fail (call, SECPOL_NOT_FOUND, NOT_FOUND_MESSAGE);
    if (rc)
        return s_store_failed (call, rc);

    if (in->touch && s_touch_due (record, call->now)) {
        if (!call->writable)
            return SECPOL_NEEDS_WRITE; /* runs again on the WRITE lane */
        const Secpol__V1__Policy *policy;
        rc = secpol_policy_effective (call->txn, call->arena, record->workspace_id,
                                      record->community_id, &policy);
        if (rc)
            return s_store_failed (call, rc);
        record_t *touched = secpol_call_alloc (call, sizeof *touched);
        *touched = *record;
        touched->last_seen_at = call->now;
        /* the idle timeout in force now: a policy change applies at the next touch */
        if (!record->remember_me)
            touched->idle_expires_at =
                policy->session_timeout_minutes
                    ? call->now + (int64_t)policy->session_timeout_minutes * 60
                    : 0;
        rc = secpol_session_save (call->txn, call->arena, hash, touched, record);
        if (rc)
            return s_store_failed (call, rc);
        s_note (call, "touch", touched,
                secpol_call_printf (call, " idle_expires_at=%" PRId64, touched->idle_expires_at));
        record = touched;
        out->touched = true;
    }
    out->session = s_session (call, record);
    return SECPOL_OK;
}

SECPOL_HANDLER (s_revoke_session, Secpol__V1__RevokeSessionRequest, in,
                Secpol__V1__RevokeSessionResponse, out)
{
    bool by_token = *in->session_token != '\0';
    bool by_id = *in->workspace_id || *in->subject_id || *in->session_id;
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    uint8_t id[SECPOL_SESSION_ID_BYTES];
    if (by_token && by_id)
        secpol_call_violation (call, "session_token",
                               "give either session_token, or workspace_id, subject_id and "
                               "session_id, not both");
    else if (by_id) {
        s_check_id (call, "workspace_id", in->workspace_id, true);
        s_check_id (call, "subject_id", in->subject_id, true);
        if (!s_parse_session_id (in->session_id, id))
            secpol_call_violation (call, "session_id",
                                   "is not a session id (16 hex digits, as ListSessions shows)");
    } else if (!by_token)
        secpol_call_violation (call, "session_token",
                               "is required (or workspace_id, subject_id and session_id)");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;

    record_t *record = NULL;
    if (by_token) {
        /* a malformed token names no session: revoked false, as for an unknown one */
        if (!s_token_hash (call, in->session_token, hash))
            return SECPOL_OK;
        rc = secpol_session_load (call->txn, call->arena, hash, &record);
    } else
        rc = s_find_by_id (call, in->workspace_id, in->subject_id, id, hash, &record);
    if (rc == SECPOL_ENOTFOUND)
        return SECPOL_OK;
    if (rc)
        return s_store_failed (call, rc);
    rc = secpol_session_delete (call->txn, hash, record);
    out->revoked = !secpol_session_ended (record, call->now);
    if (rc == 0 && out->revoked) {
        char session_id[SECPOL_SESSION_ID_HEX + 1];
        s_hex (session_id, record->session_id.data, SECPOL_SESSION_ID_BYTES);
        rc = secpol_audit_add (call->txn, call->now,
                               SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_SESSION_REVOKED,
                               record->workspace_id, record->community_id, record->subject_id,
                               secpol_call_printf (call, "session_id=%s", session_id));
    }
    if (rc)
        return s_store_failed (call, rc);
    s_note (call, "revoke", record, "");
    return SECPOL_OK;
}

SECPOL_HANDLER (s_revoke_all_sessions, Secpol__V1__RevokeAllSessionsRequest, in,
                Secpol__V1__RevokeAllSessionsResponse, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "subject_id", in->subject_id, true);
    uint8_t except[SECPOL_SECRET_TOKEN_HASH];
    bool keep_one = *in->except_session_token != '\0';
    if (keep_one && !s_token_hash (call, in->except_session_token, except))
        secpol_call_violation (call, "except_session_token", "is not a session token");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    rc = secpol_session_revoke_all_at (call->txn, in->workspace_id, in->subject_id,
                                       keep_one ? except : NULL, call->now, &out->revoked);
    if (rc == 0)
        rc = secpol_audit_add (call->txn, call->now,
                               SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_SESSIONS_REVOKED,
                               in->workspace_id, "", in->subject_id,
                               secpol_call_printf (call, "revoked=%" PRIu32 " kept=%s",
                                                   out->revoked, keep_one ? "one" : "none"));
    if (rc)
        return s_store_failed (call, rc);
    char workspace[300], subject[300];
    secpol_call_note (call, "action=revoke_all workspace=%s subject=%s revoked=%" PRIu32 " kept=%s",
                      secpol_log_quote (workspace, sizeof workspace, in->workspace_id),
                      secpol_log_quote (subject, sizeof subject, in->subject_id), out->revoked,
                      keep_one ? "one" : "none");
    return SECPOL_OK;
}

SECPOL_HANDLER (s_list_sessions, Secpol__V1__ListSessionsRequest, in,
                Secpol__V1__ListSessionsResponse, out)
{
    s_check_id (call, "workspace_id", in->workspace_id, true);
    s_check_id (call, "subject_id", in->subject_id, true);
    uint8_t from[8 + SECPOL_SESSION_ID_BYTES];
    bool paged = *in->page_token != '\0';
    if (paged && (strnlen (in->page_token, PAGE_TOKEN_SIZE + 1) != PAGE_TOKEN_SIZE ||
                  strncmp (in->page_token, PAGE_TOKEN_PREFIX, 3) != 0 ||
                  !s_unhex (from, in->page_token + 3, sizeof from)))
        secpol_call_violation (call, "page_token",
                               "is not a page token: pass next_page_token from the previous "
                               "page unchanged, or \"\" for the first page");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    size_t limit = in->page_size == 0              ? PAGE_SIZE_DEFAULT
                   : in->page_size > PAGE_SIZE_MAX ? PAGE_SIZE_MAX
                                                   : in->page_size;

    uint8_t prefix[SECPOL_SESSION_PREFIX_MAX];
    size_t prefix_size = secpol_session_subject_prefix (prefix, in->workspace_id, in->subject_id);
    uint8_t key[SECPOL_SESSION_INDEX_KEY_MAX];
    memcpy (key, prefix, prefix_size);
    size_t key_size = prefix_size;
    if (paged) {
        memcpy (key + prefix_size, from, sizeof from);
        key_size += sizeof from;
    }
    secpol_cursor_t *cursor = NULL;
    if ((rc = secpol_cursor_open (call->txn, &secpol_session_subject_table, &cursor)))
        return s_store_failed (call, rc);
    size_t capacity = 0;
    secpol_val_t key_val, value;
    rc = secpol_cursor_seek (cursor, key, key_size, &key_val, &value);
    for (; rc == 0; rc = secpol_cursor_next (cursor, &key_val, &value)) {
        if (!secpol_val_has_prefix (key_val, prefix, prefix_size))
            break;
        if (key_val.size != prefix_size + sizeof from || value.size < SECPOL_SECRET_TOKEN_HASH) {
            rc = SECPOL_ECORRUPT;
            break;
        }
        record_t *record;
        int found = secpol_session_load (call->txn, call->arena, value.data, &record);
        if (found == SECPOL_ENOTFOUND || (!found && secpol_session_ended (record, call->now)))
            continue; /* ended; the sweep has not reached it yet */
        if (found) {
            rc = found;
            break;
        }
        if (out->n_sessions == limit) {
            char *token = secpol_call_alloc (call, PAGE_TOKEN_SIZE + 1);
            memcpy (token, PAGE_TOKEN_PREFIX, 3);
            s_hex (token + 3, (const uint8_t *)key_val.data + prefix_size, sizeof from);
            out->next_page_token = token;
            break;
        }
        secpol_arena_push (call->arena, &out->n_sessions, &capacity, (void ***)&out->sessions,
                           s_session (call, record));
    }
    secpol_cursor_close (&cursor);
    if (rc && rc != SECPOL_ENOTFOUND)
        return s_store_failed (call, rc);
    return SECPOL_OK;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "CreateSession",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_create_session,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "ValidateSession",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_validate_session,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RevokeSession",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_revoke_session,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "RevokeAllSessions",
     .lane = SECPOL_LANE_WRITE,
     .role = SECPOL_ROLE_ADMIN, /* ends every login of a subject: an operator's act */
     .handler = &s_revoke_all_sessions,
     .max_request_bytes = REQUEST_BYTES_MAX},
    {.method = "ListSessions",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_SERVICE,
     .handler = &s_list_sessions,
     .max_request_bytes = REQUEST_BYTES_MAX},
};
static const secpol_table_t *const s_tables[] = {&secpol_session_table,
                                                 &secpol_session_subject_table};
SECPOL_SERVICE (session, secpol__v1__session_service__descriptor, s_methods, s_tables);

static bool
s_check_id (secpol_call_t *call, const char *field, const char *id, bool required)
{
    const char *problem = secpol_policy_id_problem (id, required);
    if (problem)
        secpol_call_violation (call, field, "%s", problem);
    return problem == NULL;
}

/*  The stored hash of a session token; false (and no hash) when token is
 *  not shaped like one, so that a typo costs no lookup. */
static bool
s_token_hash (secpol_call_t *call, const char *token, uint8_t hash[SECPOL_SECRET_TOKEN_HASH])
{
    if (!secpol_secret_token_check (token, SECPOL_SESSION_TOKEN_PREFIX))
        return false;
    secpol_secret_token_hash (hash, secpol_server_store (call->server), SECPOL_SESSION_HASH_CONTEXT,
                              token);
    return true;
}

static bool
s_parse_session_id (const char *text, uint8_t id[SECPOL_SESSION_ID_BYTES])
{
    return strnlen (text, SECPOL_SESSION_ID_HEX + 1) == SECPOL_SESSION_ID_HEX &&
           s_unhex (id, text, SECPOL_SESSION_ID_BYTES);
}

/*  Writes size bytes as 2 * size lower-case hex digits and a NUL. */
static void
s_hex (char *out, const uint8_t *bytes, size_t size)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < size; k++) {
        out[2 * k] = digits[bytes[k] >> 4];
        out[2 * k + 1] = digits[bytes[k] & 15];
    }
    out[2 * size] = '\0';
}

/*  Reads 2 * size hex digits (either case) of text into out; false when
 *  one is not a hex digit. text must hold at least 2 * size characters. */
static bool
s_unhex (uint8_t *out, const char *text, size_t size)
{
    for (size_t k = 0; k < 2 * size; k++) {
        char c = text[k];
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (digit < 0)
            return false;
        out[k / 2] = (uint8_t)(k % 2 ? (out[k / 2] << 4) | digit : digit);
    }
    return true;
}

/*  The public view of a record (strings shared with it, in the arena). */
static Secpol__V1__Session *
s_session (secpol_call_t *call, const record_t *record)
{
    Secpol__V1__Session *session = secpol_call_alloc (call, sizeof *session);
    secpol__v1__session__init (session);
    session->workspace_id = record->workspace_id;
    session->community_id = record->community_id;
    session->subject_id = record->subject_id;
    session->session_id = secpol_call_alloc (call, SECPOL_SESSION_ID_HEX + 1);
    s_hex (session->session_id, record->session_id.data, SECPOL_SESSION_ID_BYTES);
    session->created_at = record->created_at;
    session->last_seen_at = record->last_seen_at;
    session->idle_expires_at = record->idle_expires_at;
    session->expires_at = record->expires_at;
    session->remember_me = record->remember_me;
    return session;
}

/*  A touch is stored when the last stored one is TOUCH_INTERVAL old. With
 *  an idle window under two intervals (a 1-minute timeout), half the window
 *  instead: a session in use at least that often then never lapses, at the
 *  price of a write every half window. */
static bool
s_touch_due (const record_t *record, int64_t now)
{
    int64_t interval = TOUCH_INTERVAL;
    if (record->idle_expires_at > 0) {
        int64_t half_window = (record->idle_expires_at - record->last_seen_at) / 2;
        if (half_window < interval)
            interval = half_window > 0 ? half_window : 0;
    }
    return now - record->last_seen_at >= interval;
}

static int
s_store_failed (secpol_call_t *call, int rc)
{
    return secpol_call_fail (call, SECPOL_INTERNAL, "session store: %s", secpol_strerror (rc));
}

/*  Describes a session write for the WRITE lane's info line: the action,
 *  workspace, subject and the public session id, then more (logfmt, with
 *  its leading space). Never the token or its hash. */
static void
s_note (secpol_call_t *call, const char *action, const record_t *record, const char *more)
{
    char workspace[300], subject[300], id[SECPOL_SESSION_ID_HEX + 1];
    s_hex (id, record->session_id.data, SECPOL_SESSION_ID_BYTES);
    secpol_call_note (call, "action=%s workspace=%s subject=%s session=%s%s", action,
                      secpol_log_quote (workspace, sizeof workspace, record->workspace_id),
                      secpol_log_quote (subject, sizeof subject, record->subject_id), id, more);
}

/*  Keeps a subject below SECPOL_SESSION_PER_SUBJECT_MAX live sessions
 *  before a new one is made: while it is at the cap, the least recently
 *  seen session is revoked. *evicted counts them. One scan of the
 *  subject's index per eviction; normally none, at most one. */
static int
s_make_room (secpol_call_t *call, const char *workspace_id, const char *subject_id,
             uint32_t *evicted)
{
    *evicted = 0;
    uint8_t prefix[SECPOL_SESSION_PREFIX_MAX];
    size_t prefix_size = secpol_session_subject_prefix (prefix, workspace_id, subject_id);
    for (;;) {
        secpol_cursor_t *cursor = NULL;
        int rc = secpol_cursor_open (call->txn, &secpol_session_subject_table, &cursor);
        if (rc)
            return rc;
        size_t live = 0;
        record_t *oldest = NULL;
        uint8_t oldest_hash[SECPOL_SECRET_TOKEN_HASH];
        secpol_val_t key_val, value;
        rc = secpol_cursor_seek (cursor, prefix, prefix_size, &key_val, &value);
        for (; rc == 0; rc = secpol_cursor_next (cursor, &key_val, &value)) {
            if (!secpol_val_has_prefix (key_val, prefix, prefix_size))
                break;
            if (value.size < SECPOL_SECRET_TOKEN_HASH) {
                rc = SECPOL_ECORRUPT;
                break;
            }
            record_t *record;
            int found = secpol_session_load (call->txn, call->arena, value.data, &record);
            if (found == SECPOL_ENOTFOUND || (!found && secpol_session_ended (record, call->now)))
                continue;
            if (found) {
                rc = found;
                break;
            }
            live++;
            if (!oldest || record->last_seen_at < oldest->last_seen_at) {
                oldest = record;
                memcpy (oldest_hash, value.data, sizeof oldest_hash);
            }
        }
        secpol_cursor_close (&cursor);
        if (rc && rc != SECPOL_ENOTFOUND)
            return rc;
        if (live < SECPOL_SESSION_PER_SUBJECT_MAX || !oldest)
            return 0;
        if ((rc = secpol_session_delete (call->txn, oldest_hash, oldest)))
            return rc;
        ++*evicted;
    }
}

/*  Finds a live session of a subject by its public id (one scan of the
 *  subject's index). Returns 0 with its hash and record, SECPOL_ENOTFOUND,
 *  or a store error. */
static int
s_find_by_id (secpol_call_t *call, const char *workspace_id, const char *subject_id,
              const uint8_t id[SECPOL_SESSION_ID_BYTES], uint8_t hash[SECPOL_SECRET_TOKEN_HASH],
              record_t **record_p)
{
    uint8_t prefix[SECPOL_SESSION_PREFIX_MAX];
    size_t prefix_size = secpol_session_subject_prefix (prefix, workspace_id, subject_id);
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (call->txn, &secpol_session_subject_table, &cursor);
    if (rc)
        return rc;
    secpol_val_t key_val, value;
    bool found = false;
    rc = secpol_cursor_seek (cursor, prefix, prefix_size, &key_val, &value);
    for (; rc == 0; rc = secpol_cursor_next (cursor, &key_val, &value)) {
        if (!secpol_val_has_prefix (key_val, prefix, prefix_size))
            break;
        if (key_val.size != prefix_size + 8 + SECPOL_SESSION_ID_BYTES ||
            value.size < SECPOL_SECRET_TOKEN_HASH) {
            rc = SECPOL_ECORRUPT;
            break;
        }
        if (memcmp ((const uint8_t *)key_val.data + prefix_size + 8, id, SECPOL_SESSION_ID_BYTES) ==
            0) {
            memcpy (hash, value.data, SECPOL_SECRET_TOKEN_HASH);
            found = true;
            break;
        }
    }
    secpol_cursor_close (&cursor);
    if (rc && rc != SECPOL_ENOTFOUND)
        return rc;
    if (!found)
        return SECPOL_ENOTFOUND;
    return secpol_session_load (call->txn, call->arena, hash, record_p);
}
