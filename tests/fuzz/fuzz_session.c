/*  fuzz_session.c - SessionService handlers on a real LMDB store.
 *
 *  The handlers hash tokens with the store's key, which they reach through
 *  call->server: the target makes one secpol_server_t per process (data in
 *  a temporary directory, an inproc endpoint nobody connects to; its front
 *  end never runs). Each input runs in one top-level write transaction that
 *  is aborted at the end, so inputs leave nothing behind and a crash
 *  reproduces from its input alone. Each step runs as the dispatcher runs
 *  it: WRITE methods in a nested transaction (committed into the top one on
 *  OK, aborted otherwise), READ methods with call->writable false; a READ
 *  handler that answers SECPOL_NEEDS_WRITE runs again as a write.
 *
 *  Input: up to 16 steps, each `op, length (2 bytes, little endian), bytes`. op bits 0-2:
 *    0 CreateSessionRequest, 1 ValidateSessionRequest, 2 RevokeSessionRequest,
 *    3 RevokeAllSessionsRequest, 4 ListSessionsRequest: the bytes are the
 *      encoded request (skipped when the dispatcher's string check refuses
 *      them or they do not unpack);
 *    5 the clock moves on by (bytes[0] | bytes[1] << 8) * 7 seconds;
 *    6 ValidateSession of a token this input created (bits 4-6 pick it),
 *      with touch when bit 3 is set;
 *    7 RevokeSession of such a token (bit 3 clear), or RevokeAllSessions
 *      of its subject keeping it (bit 3 set).
 *  Steps 0-4 with op bit 3 set replace the workspace of the request with w1
 *  (bit 4: w2) and its subject with u1 (bit 5: u2), so that steps meet each
 *  other's sessions. w1 has the default policy; w2's, stored once per
 *  process, has concurrent login off, remember-me on and a 1-minute idle
 *  timeout. SECPOL_FUZZ_TRACE in the environment prints every call.
 *
 *  Invariants (abort when broken):
 *  - a handler answers OK, INVALID_ARGUMENT (with violations, each naming
 *    a field and saying why) or NOT_FOUND (ValidateSession only, always
 *    with the one message); never INTERNAL; SECPOL_NEEDS_WRITE only from
 *    ValidateSession on the READ run, never on the write run;
 *  - CreateSession OK: a well-formed "sps_" token that validates at once to
 *    the workspace, subject and session id created; deadlines in the future
 *    or 0; at most one of idle_expires_at and expires_at set;
 *  - ValidateSession OK: the session has not ended at now; touched only on a
 *    write run; a touch never moves last_seen_at back;
 *  - a revoked session (RevokeSession revoked, RevokeAllSessions) no longer
 *    validates; RevokeAllSessions keeping one leaves that one valid;
 *  - ListSessions: at most the page size (100 at most), none ended, each of
 *    the subject asked about;
 *  - no response holds a token this input created, nor the random part of
 *    one, nor a token's stored hash;
 *  - at the end of the input the tables agree: every index entry names a
 *    record whose own index key it is, every record has its index entry,
 *    and the expiry table holds two entries per session with an end.
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
#include "session_store.h"
#include "store.h"
#include "wire.h"

#include "secpol/v1/rpc.pb-c.h"
#include "secpol/v1/session.pb-c.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define NOW        INT64_C (1800000000)
#define MAX_STEPS  16
#define MAX_TOKENS 8
#define NOT_FOUND  "no such session (unknown, revoked or ended)"

typedef struct {
    char token[SECPOL_SECRET_TOKEN_MAX];
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    char workspace_id[SECPOL_SESSION_ID_MAX + 1];
    char subject_id[SECPOL_SESSION_ID_MAX + 1];
    char session_id[SECPOL_SESSION_ID_HEX + 1];
} made_t;

static fuzz_service_t s_service; /* server, store, method table */
static bool s_trace;
static const secpol_method_t *s_create, *s_validate, *s_revoke, *s_revoke_all, *s_list;
static int64_t s_now;
static made_t s_made[MAX_TOKENS]; /* sessions this input created */
static size_t s_n_made;

static void s_step (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
                    size_t size);
static int s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
                  const ProtobufCMessage *request, ProtobufCMessage **response_p, bool *wrote);
static void s_after_create (secpol_txn_t *top, secpol_arena_t *arena,
                            const Secpol__V1__CreateSessionRequest *in,
                            const Secpol__V1__CreateSessionResponse *out);
static void s_check_validated (const Secpol__V1__ValidateSessionResponse *out, bool wrote);
static void s_check_list (const Secpol__V1__ListSessionsRequest *in,
                          const Secpol__V1__ListSessionsResponse *out);
static int s_validate_token (secpol_txn_t *top, secpol_arena_t *arena, const char *token,
                             bool touch, Secpol__V1__ValidateSessionResponse **out_p);
static void s_check_secret_free (secpol_arena_t *arena, const ProtobufCMessage *response);
static void s_check_tables (secpol_txn_t *txn, secpol_arena_t *arena);
static void s_store_policy (void);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_session");
    s_create = fuzz_service_method (&s_service, "/secpol.v1.SessionService/CreateSession");
    s_validate = fuzz_service_method (&s_service, "/secpol.v1.SessionService/ValidateSession");
    s_revoke = fuzz_service_method (&s_service, "/secpol.v1.SessionService/RevokeSession");
    s_revoke_all = fuzz_service_method (&s_service, "/secpol.v1.SessionService/RevokeAllSessions");
    s_list = fuzz_service_method (&s_service, "/secpol.v1.SessionService/ListSessions");
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
    if (action == 5) {
        s_now += (int64_t)((size > 0 ? bytes[0] : 0) | (size > 1 ? bytes[1] << 8 : 0)) * 7;
        if (s_trace)
            fprintf (stderr, "clock: %lld\n", (long long)(s_now - NOW));
        return;
    }
    if (action >= 6) {
        if (s_n_made == 0)
            return;
        made_t *made = &s_made[((op >> 4) & 7) % s_n_made];
        if (action == 6) {
            Secpol__V1__ValidateSessionResponse *out = NULL;
            s_validate_token (top, arena, made->token, op & 8, &out);
            return;
        }
        ProtobufCMessage *response = NULL;
        bool wrote;
        if (!(op & 8)) {
            Secpol__V1__RevokeSessionRequest in = SECPOL__V1__REVOKE_SESSION_REQUEST__INIT;
            in.session_token = made->token;
            int code = s_run (top, arena, s_revoke, &in.base, &response, &wrote);
            FUZZ_REQUIRE (code == SECPOL_OK, "RevokeSession of a made token: %d", code);
        } else {
            Secpol__V1__RevokeAllSessionsRequest in = SECPOL__V1__REVOKE_ALL_SESSIONS_REQUEST__INIT;
            in.workspace_id = made->workspace_id;
            in.subject_id = made->subject_id;
            in.except_session_token = made->token;
            int code = s_run (top, arena, s_revoke_all, &in.base, &response, &wrote);
            FUZZ_REQUIRE (code == SECPOL_OK, "RevokeAllSessions of a made subject: %d", code);
            /* the one kept is valid when it was before; every other of the subject is gone */
            for (size_t k = 0; k < s_n_made; k++) {
                made_t *other = &s_made[k];
                if (other == made || strcmp (other->workspace_id, made->workspace_id) ||
                    strcmp (other->subject_id, made->subject_id) ||
                    strcmp (other->token, made->token) == 0)
                    continue;
                FUZZ_REQUIRE (s_validate_token (top, arena, other->token, false, NULL) ==
                                  SECPOL_NOT_FOUND,
                              "a session of %s survived RevokeAllSessions", made->subject_id);
            }
            return;
        }
        if (((Secpol__V1__RevokeSessionResponse *)response)->revoked)
            FUZZ_REQUIRE (s_validate_token (top, arena, made->token, false, NULL) ==
                              SECPOL_NOT_FOUND,
                          "a revoked session still validates");
        return;
    }
    const secpol_method_t *methods[] = {s_create, s_validate, s_revoke, s_revoke_all, s_list};
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
    if (op & 8) { /* meet the other steps' sessions */
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
    bool wrote;
    int code = s_run (top, arena, method, request, &response, &wrote);
    if (code != SECPOL_OK)
        return;
    if (method == s_create)
        s_after_create (top, arena, (const Secpol__V1__CreateSessionRequest *)request,
                        (const Secpol__V1__CreateSessionResponse *)response);
    else if (method == s_validate)
        s_check_validated ((const Secpol__V1__ValidateSessionResponse *)response, wrote);
    else if (method == s_list)
        s_check_list ((const Secpol__V1__ListSessionsRequest *)request,
                      (const Secpol__V1__ListSessionsResponse *)response);
}

/*  Runs a handler as the dispatcher does and checks the answer's shape.
 *  *wrote says whether it ran as a write. Returns the status. */
static int
s_run (secpol_txn_t *top, secpol_arena_t *arena, const secpol_method_t *method,
       const ProtobufCMessage *request, ProtobufCMessage **response_p, bool *wrote)
{
    bool write = method->spec->lane == SECPOL_LANE_WRITE;
    for (;;) {
        secpol_call_t call;
        int code = fuzz_service_call (&s_service, top, arena, method, method->spec->handler, write,
                                      false, s_now, NULL, request, response_p, &call);
        if (s_trace)
            fprintf (stderr, "  %s%s: %d %s\n", method->path, write ? " (write)" : "", code,
                     call.message ? call.message : "");
        if (code == SECPOL_NEEDS_WRITE) {
            FUZZ_REQUIRE (!write && method == s_validate, "%s asked for a write on %s",
                          method->path, write ? "the WRITE lane" : "the READ lane");
            write = true;
            continue;
        }
        *wrote = write;
        FUZZ_REQUIRE (code == SECPOL_OK || code == SECPOL_INVALID_ARGUMENT ||
                          (code == SECPOL_NOT_FOUND && method == s_validate),
                      "%s answered %d: %s", method->path, code, call.message ? call.message : "");
        if (code == SECPOL_INVALID_ARGUMENT)
            fuzz_require_violations (&call, method->path);
        if (code == SECPOL_NOT_FOUND)
            FUZZ_REQUIRE (call.message && strcmp (call.message, NOT_FOUND) == 0,
                          "NOT_FOUND says \"%s\"", call.message ? call.message : "");
        if (code == SECPOL_OK && method != s_create)
            s_check_secret_free (arena, *response_p);
        return code;
    }
}

static void
s_after_create (secpol_txn_t *top, secpol_arena_t *arena,
                const Secpol__V1__CreateSessionRequest *in,
                const Secpol__V1__CreateSessionResponse *out)
{
    FUZZ_REQUIRE (secpol_secret_token_check (out->session_token, SECPOL_SESSION_TOKEN_PREFIX),
                  "CreateSession made \"%s\"", out->session_token);
    FUZZ_REQUIRE (out->idle_expires_at == 0 || out->idle_expires_at > s_now,
                  "idle_expires_at %lld at %lld", (long long)out->idle_expires_at,
                  (long long)s_now);
    FUZZ_REQUIRE (out->expires_at == 0 || out->expires_at > s_now, "expires_at in the past");
    FUZZ_REQUIRE (!(out->idle_expires_at && out->expires_at), "both an idle and an absolute end");
    FUZZ_REQUIRE (out->remember_me == (out->expires_at != 0), "remember_me without its end");
    FUZZ_REQUIRE (!(out->remember_me && out->remember_me_refused), "remember-me made and refused");
    Secpol__V1__ValidateSessionResponse *validated = NULL;
    int code = s_validate_token (top, arena, out->session_token, false, &validated);
    FUZZ_REQUIRE (code == SECPOL_OK, "a new session does not validate: %d", code);
    FUZZ_REQUIRE (strcmp (validated->session->workspace_id, in->workspace_id) == 0 &&
                      strcmp (validated->session->subject_id, in->subject_id) == 0 &&
                      strcmp (validated->session->session_id, out->session_id) == 0,
                  "a new session validates as another");
    if (s_n_made < MAX_TOKENS) {
        made_t *made = &s_made[s_n_made++];
        snprintf (made->token, sizeof made->token, "%s", out->session_token);
        secpol_secret_token_hash (made->hash, s_service.store, SECPOL_SESSION_HASH_CONTEXT,
                                  made->token);
        snprintf (made->workspace_id, sizeof made->workspace_id, "%s", in->workspace_id);
        snprintf (made->subject_id, sizeof made->subject_id, "%s", in->subject_id);
        snprintf (made->session_id, sizeof made->session_id, "%s", out->session_id);
    }
}

static void
s_check_validated (const Secpol__V1__ValidateSessionResponse *out, bool wrote)
{
    const Secpol__V1__Session *session = out->session;
    FUZZ_REQUIRE (session, "ValidateSession OK without a session");
    FUZZ_REQUIRE (!out->touched || wrote, "touched on the READ lane");
    FUZZ_REQUIRE (session->idle_expires_at == 0 || session->idle_expires_at > s_now,
                  "an idle session validated");
    FUZZ_REQUIRE (session->expires_at == 0 || session->expires_at > s_now,
                  "an ended session validated");
    FUZZ_REQUIRE (session->last_seen_at <= s_now && session->created_at <= session->last_seen_at,
                  "last seen %lld, created %lld, now %lld", (long long)session->last_seen_at,
                  (long long)session->created_at, (long long)s_now);
}

static void
s_check_list (const Secpol__V1__ListSessionsRequest *in,
              const Secpol__V1__ListSessionsResponse *out)
{
    size_t limit = in->page_size == 0 ? 50 : in->page_size > 100 ? 100 : in->page_size;
    FUZZ_REQUIRE (out->n_sessions <= limit, "%zu sessions on a page of %zu", out->n_sessions,
                  limit);
    for (size_t k = 0; k < out->n_sessions; k++) {
        const Secpol__V1__Session *session = out->sessions[k];
        FUZZ_REQUIRE (strcmp (session->workspace_id, in->workspace_id) == 0 &&
                          strcmp (session->subject_id, in->subject_id) == 0,
                      "ListSessions of %s shows a session of %s", in->subject_id,
                      session->subject_id);
        FUZZ_REQUIRE ((session->idle_expires_at == 0 || session->idle_expires_at > s_now) &&
                          (session->expires_at == 0 || session->expires_at > s_now),
                      "ListSessions shows an ended session");
    }
}

static int
s_validate_token (secpol_txn_t *top, secpol_arena_t *arena, const char *token, bool touch,
                  Secpol__V1__ValidateSessionResponse **out_p)
{
    Secpol__V1__ValidateSessionRequest in = SECPOL__V1__VALIDATE_SESSION_REQUEST__INIT;
    in.session_token = (char *)token;
    in.touch = touch;
    ProtobufCMessage *response = NULL;
    bool wrote;
    int code = s_run (top, arena, s_validate, &in.base, &response, &wrote);
    if (code == SECPOL_OK)
        s_check_validated ((const Secpol__V1__ValidateSessionResponse *)response, wrote);
    if (out_p)
        *out_p = (Secpol__V1__ValidateSessionResponse *)response;
    return code;
}

/*  No answer but CreateSession's carries a token, its random part or its
 *  stored hash. */
static void
s_check_secret_free (secpol_arena_t *arena, const ProtobufCMessage *response)
{
    size_t size = protobuf_c_message_get_packed_size (response);
    uint8_t *packed = secpol_arena_alloc (arena, size + 1);
    protobuf_c_message_pack (response, packed);
    for (size_t k = 0; k < s_n_made; k++) {
        FUZZ_REQUIRE (!memmem (packed, size, s_made[k].token + 4, SECPOL_SECRET_TOKEN_RANDOM),
                      "%s answers a token", response->descriptor->name);
        FUZZ_REQUIRE (!memmem (packed, size, s_made[k].hash, 8), "%s answers a token's hash",
                      response->descriptor->name);
    }
}

/*  The session table, its index and the expiry table agree. */
static void
s_check_tables (secpol_txn_t *txn, secpol_arena_t *arena)
{
    secpol_cursor_t *cursor = NULL;
    FUZZ_REQUIRE (secpol_cursor_open (txn, &secpol_session_subject_table, &cursor) == 0, "cursor");
    size_t indexed = 0;
    secpol_val_t key, value;
    for (int rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
         rc = secpol_cursor_next (cursor, &key, &value), indexed++) {
        FUZZ_REQUIRE (value.size == SECPOL_SECRET_TOKEN_HASH + 8, "index value of %zu bytes",
                      value.size);
        Secpol__Store__V1__SessionRecord *record;
        int found = secpol_session_load (txn, arena, value.data, &record);
        FUZZ_REQUIRE (found == 0, "an index entry without its record: %s", secpol_strerror (found));
        uint8_t own[SECPOL_SESSION_INDEX_KEY_MAX];
        size_t own_size = secpol_session_index_key (own, record);
        FUZZ_REQUIRE (own_size == key.size && memcmp (own, key.data, key.size) == 0,
                      "an index entry under another session's key");
    }
    secpol_cursor_close (&cursor);
    size_t records = 0, ending = 0;
    FUZZ_REQUIRE (secpol_cursor_open (txn, &secpol_session_table, &cursor) == 0, "cursor");
    for (int rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
         rc = secpol_cursor_next (cursor, &key, &value), records++) {
        Secpol__Store__V1__SessionRecord *record;
        FUZZ_REQUIRE (secpol_session_load (txn, arena, key.data, &record) == 0, "a bad record");
        ending += secpol_session_ends_at (record) > 0;
    }
    secpol_cursor_close (&cursor);
    FUZZ_REQUIRE (records == indexed, "%zu records, %zu index entries", records, indexed);
    size_t expiry = 0;
    FUZZ_REQUIRE (secpol_cursor_open (txn, &secpol_expiry_table, &cursor) == 0, "cursor");
    for (int rc = secpol_cursor_seek (cursor, NULL, 0, NULL, NULL); rc == 0;
         rc = secpol_cursor_next (cursor, NULL, NULL))
        expiry++;
    secpol_cursor_close (&cursor);
    FUZZ_REQUIRE (expiry == 2 * ending, "%zu expiry entries for %zu sessions with an end", expiry,
                  ending);
}

/*  Workspace w2: concurrent login off, remember-me on, 1 minute idle. */
static void
s_store_policy (void)
{
    secpol_txn_t *txn = NULL;
    int rc = secpol_txn_begin (s_service.store, NULL, true, &txn);
    FUZZ_REQUIRE (rc == 0, "transaction: %s", secpol_strerror (rc));
    secpol_arena_t *arena = secpol_arena_new ();
    Secpol__V1__Policy values = SECPOL__V1__POLICY__INIT;
    values.allow_concurrent_login = false;
    values.remember_me_enabled = true;
    values.session_timeout_minutes = 1;
    char *overridden[] = {"allow_concurrent_login", "remember_me_enabled",
                          "session_timeout_minutes"};
    Secpol__Store__V1__PolicyLevel level = SECPOL__STORE__V1__POLICY_LEVEL__INIT;
    level.values = &values;
    level.n_overridden = 3;
    level.overridden = overridden;
    level.version = 1;
    rc = secpol_policy_level_save (txn, arena, "w2", "", &level);
    FUZZ_REQUIRE (rc == 0, "policy of w2: %s", secpol_strerror (rc));
    rc = secpol_txn_commit (&txn);
    FUZZ_REQUIRE (rc == 0, "commit: %s", secpol_strerror (rc));
    secpol_arena_destroy (&arena);
}
