/*  test_session.c - SessionService against a real secpold, through the C
 *  client: the idle timeout through the test clock (and 0 = no idle
 *  limit, also for a touch), concurrent login off, remember-me on and off, touches stored at
 *  most once a minute, revoke / revoke-all / list, the per-subject cap,
 *  bounded inputs, the sweep of ended sessions, and no token in the LMDB
 *  file or the log.
 *
 *  Standards: OWASP ASVS 4.0.3 V3.3.2 (idle and absolute timeouts, 30 days
 *  for remember-me), V3.3.4 (users see and end their other sessions),
 *  V3.2.2 (at least 64 bits of entropy; ours carry 131), V3.5.2 (session
 *  tokens are not stored in the clear).
 */
#define _GNU_SOURCE /* memmem */
#include "calls.h"
#include "daemon.h"
#include "expiry.h"
#include "session_store.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/session.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <cmocka.h>

#define S_PATH       "/secpol.v1.SessionService/"
#define S_CREATE     S_PATH "CreateSession"
#define S_VALIDATE   S_PATH "ValidateSession"
#define S_REVOKE     S_PATH "RevokeSession"
#define S_REVOKE_ALL S_PATH "RevokeAllSessions"
#define S_LIST       S_PATH "ListSessions"
#define NOT_FOUND    "no such session (unknown, revoked or ended)"
#define DAY          86400

typedef Secpol__V1__CreateSessionResponse created_t;
typedef Secpol__V1__ValidateSessionResponse validated_t;

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

/*  Sets the three session settings of workspace ws. */
static void
s_policy (secpol_client_t *client, const char *ws, bool concurrent, bool remember_me,
          uint32_t timeout_minutes)
{
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.allow_concurrent_login = concurrent;
    policy.remember_me_enabled = remember_me;
    policy.session_timeout_minutes = timeout_minutes;
    secpol_test_set_policy (client, ws, "", &policy,
                            "allow_concurrent_login,remember_me_enabled,session_timeout_minutes");
}

static int
s_create (secpol_client_t *client, const char *ws, const char *subject, bool remember_me,
          created_t **out_p)
{
    Secpol__V1__CreateSessionRequest request = SECPOL__V1__CREATE_SESSION_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.remember_me = remember_me;
    created_t *response = NULL;
    int code = secpol_client_call (client, S_CREATE, &request.base, (ProtobufCMessage **)&response);
    if (out_p)
        *out_p = response;
    else
        s_free (response);
    return code;
}

/*  Creates a session that must succeed. */
static created_t *
s_login (secpol_client_t *client, const char *ws, const char *subject, bool remember_me)
{
    created_t *created = NULL;
    int code = s_create (client, ws, subject, remember_me, &created);
    if (code != SECPOL_OK)
        fail_msg ("CreateSession %s/%s: %s %s", ws, subject, secpol_status_name (code),
                  secpol_client_status (client)->message);
    return created;
}

static int
s_validate (secpol_client_t *client, const char *token, bool touch, validated_t **out_p)
{
    Secpol__V1__ValidateSessionRequest request = SECPOL__V1__VALIDATE_SESSION_REQUEST__INIT;
    request.session_token = (char *)token;
    request.touch = touch;
    validated_t *response = NULL;
    int code =
        secpol_client_call (client, S_VALIDATE, &request.base, (ProtobufCMessage **)&response);
    if (out_p)
        *out_p = response;
    else
        s_free (response);
    return code;
}

/*  Asserts token names no session, with the one NOT_FOUND message. */
static void
s_assert_gone (secpol_client_t *client, const char *token)
{
    assert_int_equal (s_validate (client, token, false, NULL), SECPOL_NOT_FOUND);
    assert_string_equal (secpol_client_status (client)->message, NOT_FOUND);
}

static bool
s_revoke (secpol_client_t *client, const char *token)
{
    Secpol__V1__RevokeSessionRequest request = SECPOL__V1__REVOKE_SESSION_REQUEST__INIT;
    request.session_token = (char *)token;
    Secpol__V1__RevokeSessionResponse *response = NULL;
    assert_int_equal (
        secpol_client_call (client, S_REVOKE, &request.base, (ProtobufCMessage **)&response),
        SECPOL_OK);
    bool revoked = response->revoked;
    s_free (response);
    return revoked;
}

static uint32_t
s_revoke_all (secpol_client_t *client, const char *ws, const char *subject, const char *except)
{
    Secpol__V1__RevokeAllSessionsRequest request = SECPOL__V1__REVOKE_ALL_SESSIONS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.except_session_token = (char *)except;
    Secpol__V1__RevokeAllSessionsResponse *response = NULL;
    assert_int_equal (
        secpol_client_call (client, S_REVOKE_ALL, &request.base, (ProtobufCMessage **)&response),
        SECPOL_OK);
    uint32_t revoked = response->revoked;
    s_free (response);
    return revoked;
}

static Secpol__V1__ListSessionsResponse *
s_list (secpol_client_t *client, const char *ws, const char *subject, uint32_t page_size,
        const char *page_token)
{
    Secpol__V1__ListSessionsRequest request = SECPOL__V1__LIST_SESSIONS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.page_size = page_size;
    request.page_token = (char *)page_token;
    Secpol__V1__ListSessionsResponse *response = NULL;
    int code = secpol_client_call (client, S_LIST, &request.base, (ProtobufCMessage **)&response);
    if (code != SECPOL_OK)
        fail_msg ("ListSessions: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    return response;
}

/*  Lines of the daemon's log that hold every one of the patterns. */
static size_t
s_log_count (const secpol_test_daemon_t *daemon, const char *const *patterns)
{
    FILE *file = fopen (daemon->log_path, "r");
    assert_non_null (file);
    char line[8192];
    size_t count = 0;
    while (fgets (line, sizeof line, file)) {
        bool all = true;
        for (size_t k = 0; patterns[k] && all; k++)
            all = strstr (line, patterns[k]) != NULL;
        count += all;
    }
    fclose (file);
    return count;
}

/* --- create and validate ---------------------------------------------------- */

static void
test_a_new_session_validates_and_carries_its_metadata (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    int64_t before = secpol_test_server_now (client);
    created_t *created = s_login (client, "w1", "alice", false);
    /* sps_ + 22 random + 6 check characters, all base62 */
    assert_int_equal (strlen (created->session_token), 4 + 22 + 6);
    assert_memory_equal (created->session_token, "sps_", 4);
    assert_int_equal (strspn (created->session_token + 4,
                              "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
                      28);
    /* the default policy: 30 minutes idle, concurrent logins, no remember-me */
    assert_true (created->created_at >= before);
    assert_int_equal (created->idle_expires_at, created->created_at + 30 * 60);
    assert_int_equal (created->expires_at, 0);
    assert_false (created->remember_me);
    assert_false (created->remember_me_refused);
    assert_int_equal (created->revoked_sessions, 0);
    assert_int_equal (strlen (created->session_id), 16);

    validated_t *validated = NULL;
    assert_int_equal (s_validate (client, created->session_token, false, &validated), SECPOL_OK);
    Secpol__V1__Session *session = validated->session;
    assert_string_equal (session->workspace_id, "w1");
    assert_string_equal (session->subject_id, "alice");
    assert_string_equal (session->session_id, created->session_id);
    assert_int_equal (session->created_at, created->created_at);
    assert_int_equal (session->last_seen_at, created->created_at);
    assert_int_equal (session->idle_expires_at, created->idle_expires_at);
    assert_false (validated->touched);
    s_free (validated);

    /* a second session of the same subject lives beside the first */
    created_t *second = s_login (client, "w1", "alice", false);
    assert_string_not_equal (second->session_token, created->session_token);
    assert_string_not_equal (second->session_id, created->session_id);
    assert_int_equal (s_validate (client, created->session_token, false, NULL), SECPOL_OK);
    s_free (second);

    /* it survives a restart */
    char token[64];
    snprintf (token, sizeof token, "%s", created->session_token);
    s_free (created);
    secpol_client_destroy (&client);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    assert_int_equal (s_validate (client, token, false, NULL), SECPOL_OK);
    secpol_client_destroy (&client);
}

/*  Unknown, mistyped (bad check characters), truncated, another prefix,
 *  empty, revoked: the same NOT_FOUND and message, so the answer is no
 *  oracle. */
static void
test_every_unusable_token_gets_the_same_not_found (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *created = s_login (client, "w1", "bob", false);
    char mistyped[64], truncated[64], other_prefix[64];
    snprintf (mistyped, sizeof mistyped, "%s", created->session_token);
    mistyped[10] = mistyped[10] == 'a' ? 'b' : 'a';
    snprintf (truncated, sizeof truncated, "%s", created->session_token);
    truncated[strlen (truncated) - 1] = '\0';
    snprintf (other_prefix, sizeof other_prefix, "spl_%s", created->session_token + 4);
    const char *tokens[] = {"sps_0000000000000000000000000000", mistyped, truncated, other_prefix,
                            ""};
    for (size_t k = 0; k < sizeof tokens / sizeof *tokens; k++)
        s_assert_gone (client, tokens[k]);
    assert_true (s_revoke (client, created->session_token));
    s_assert_gone (client, created->session_token);
    s_free (created);
    secpol_client_destroy (&client);
}

/* --- the idle timeout ----------------------------------------------------- */

static void
test_the_idle_timeout_ends_a_session_and_a_touch_extends_it (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w-idle", true, false, 5);
    created_t *created = s_login (client, "w-idle", "carol", false);
    created_t *idle = s_login (client, "w-idle", "carol", false);
    assert_int_equal (created->idle_expires_at, created->created_at + 300);

    /* 4 minutes on: still valid; a touch moves the deadline to now + 5 min */
    secpol_test_clock_offset (client, 240);
    validated_t *validated = NULL;
    assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
    assert_true (validated->touched);
    int64_t touched_at = validated->session->last_seen_at;
    assert_true (touched_at >= created->created_at + 240);
    assert_int_equal (validated->session->idle_expires_at, touched_at + 300);
    s_free (validated);

    /* 5 minutes after creation: the untouched one has ended, the touched one lives */
    secpol_test_clock_offset (client, 300);
    s_assert_gone (client, idle->session_token);
    assert_int_equal (s_validate (client, created->session_token, false, NULL), SECPOL_OK);
    /* and ends 5 minutes after its touch */
    secpol_test_clock_offset (client, 540);
    s_assert_gone (client, created->session_token);
    /* a touch does not bring an ended session back */
    assert_int_equal (s_validate (client, created->session_token, true, NULL), SECPOL_NOT_FOUND);
    s_free (created);
    s_free (idle);
    secpol_client_destroy (&client);
}

static void
test_a_timeout_of_zero_means_no_idle_limit (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w-forever", true, false, 0); /* setting #4 "may be 0" */
    created_t *created = s_login (client, "w-forever", "dave", false);
    assert_int_equal (created->idle_expires_at, 0);
    assert_int_equal (created->expires_at, 0);
    secpol_test_clock_offset (client, 400 * DAY);
    validated_t *validated = NULL;
    assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
    assert_true (validated->touched);
    assert_int_equal (validated->session->idle_expires_at, 0);
    s_free (validated);
    s_free (created);
    secpol_client_destroy (&client);
}

/* --- touches: stored at most once a minute -------------------------------- */

static void
test_a_touch_is_stored_at_most_once_a_minute (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *created = s_login (client, "w-touch", "erin", false);
    const char *touch_line[] = {"msg=write method=" S_VALIDATE, "action=touch", "workspace=w-touch",
                                "subject=erin", NULL};

    /* within the minute: answered from the READ lane, nothing stored */
    secpol_test_clock_offset (client, 30);
    for (int k = 0; k < 5; k++) {
        validated_t *validated = NULL;
        assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
        assert_false (validated->touched);
        assert_int_equal (validated->session->last_seen_at, created->created_at);
        assert_int_equal (validated->session->idle_expires_at, created->idle_expires_at);
        s_free (validated);
    }
    assert_int_equal (s_log_count (daemon, touch_line), 0);

    /* 61 s on: the first touch is stored and moves the deadline, the next are not */
    secpol_test_clock_offset (client, 61);
    validated_t *validated = NULL;
    assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
    assert_true (validated->touched);
    int64_t moved = validated->session->idle_expires_at;
    assert_true (moved >= created->idle_expires_at + 61);
    assert_int_equal (moved, validated->session->last_seen_at + 30 * 60);
    s_free (validated);
    for (int k = 0; k < 5; k++) {
        assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
        assert_false (validated->touched);
        assert_int_equal (validated->session->idle_expires_at, moved);
        s_free (validated);
    }
    /* the WRITE lane logs once the touch is committed, before the reply */
    assert_int_equal (s_log_count (daemon, touch_line), 1);

    /* a validation without touch never stores one */
    secpol_test_clock_offset (client, 200);
    assert_int_equal (s_validate (client, created->session_token, false, &validated), SECPOL_OK);
    assert_false (validated->touched);
    assert_int_equal (validated->session->idle_expires_at, moved);
    s_free (validated);
    assert_int_equal (s_log_count (daemon, touch_line), 1);
    s_free (created);
    secpol_client_destroy (&client);
}

/*  With a 1-minute timeout, a touch a minute apart would let a session in
 *  constant use lapse: touches are then stored every half window. */
/*  64 validations with touch in flight at once, a minute after the last
 *  stored touch: many go on to the WRITE lane, exactly one stores. */
static void
test_concurrent_touches_store_one (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *created = s_login (client, "w-burst", "quinn", false);
    secpol_test_clock_offset (client, 90);
    Secpol__V1__ValidateSessionRequest request = SECPOL__V1__VALIDATE_SESSION_REQUEST__INIT;
    request.session_token = created->session_token;
    request.touch = true;
    enum { N = 64 };
    for (int k = 0; k < N; k++)
        assert_int_equal (secpol_client_send (client, S_VALIDATE, &request.base, NULL), SECPOL_OK);
    int touched = 0;
    for (int k = 0; k < N; k++) {
        validated_t *validated = NULL;
        assert_int_equal (secpol_client_recv (client, 10000, NULL, (ProtobufCMessage **)&validated),
                          SECPOL_OK);
        touched += validated->touched;
        /* each answer, from before or after the touch, is consistent */
        assert_int_equal (validated->session->idle_expires_at,
                          validated->session->last_seen_at + 30 * 60);
        s_free (validated);
    }
    assert_int_equal (touched, 1);
    const char *touch_line[] = {"action=touch", "workspace=w-burst", NULL};
    assert_int_equal (s_log_count (daemon, touch_line), 1);
    s_free (created);
    secpol_client_destroy (&client);
}

static void
test_a_one_minute_timeout_is_touched_every_half_minute (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w-short", true, false, 1);
    created_t *created = s_login (client, "w-short", "fay", false);
    for (int64_t offset = 31; offset <= 31 * 6; offset += 31) {
        secpol_test_clock_offset (client, offset);
        validated_t *validated = NULL;
        assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
        assert_true (validated->touched);
        s_free (validated);
    }
    s_free (created);
    secpol_client_destroy (&client);
}

/* --- concurrent login ---------------------------------------------------- */

static void
test_concurrent_login_off_revokes_the_older_sessions (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *first = s_login (client, "w-single", "gus", false);
    created_t *second = s_login (client, "w-single", "gus", false);
    created_t *other = s_login (client, "w-single", "hal", false);
    created_t *elsewhere = s_login (client, "w-other", "gus", false);
    assert_int_equal (second->revoked_sessions, 0); /* concurrent logins by default */

    s_policy (client, "w-single", false, false, 30);
    created_t *third = s_login (client, "w-single", "gus", false);
    assert_int_equal (third->revoked_sessions, 2);
    s_assert_gone (client, first->session_token);
    s_assert_gone (client, second->session_token);
    assert_int_equal (s_validate (client, third->session_token, false, NULL), SECPOL_OK);
    /* another subject, and the same subject in another workspace, keep theirs */
    assert_int_equal (s_validate (client, other->session_token, false, NULL), SECPOL_OK);
    assert_int_equal (s_validate (client, elsewhere->session_token, false, NULL), SECPOL_OK);

    /* an ended session is not counted as revoked */
    secpol_test_clock_offset (client, 31 * 60);
    created_t *fourth = s_login (client, "w-single", "gus", false);
    assert_int_equal (fourth->revoked_sessions, 0);
    Secpol__V1__ListSessionsResponse *list = s_list (client, "w-single", "gus", 0, "");
    assert_int_equal (list->n_sessions, 1);
    assert_string_equal (list->sessions[0]->session_id, fourth->session_id);
    s_free (list);

    const char *line[] = {"msg=write method=" S_CREATE, "workspace=w-single", "subject=gus",
                          "revoked=2", NULL};
    assert_int_equal (s_log_count (daemon, line), 1);
    s_free (first);
    s_free (second);
    s_free (third);
    s_free (fourth);
    s_free (other);
    s_free (elsewhere);
    secpol_client_destroy (&client);
}

/* --- remember-me --------------------------------------------------------- */

static void
test_remember_me_when_the_policy_allows_it (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w-remember", true, true, 5);
    created_t *created = s_login (client, "w-remember", "ivy", true);
    assert_true (created->remember_me);
    assert_false (created->remember_me_refused);
    assert_int_equal (created->idle_expires_at, 0);
    assert_int_equal (created->expires_at, created->created_at + 30 * DAY);
    /* asking for no remember-me in the same workspace: a normal session */
    created_t *normal = s_login (client, "w-remember", "ivy", false);
    assert_false (normal->remember_me);
    assert_int_equal (normal->idle_expires_at, normal->created_at + 300);

    /* no idle limit: idle for 29 days, still valid, and a touch sets none */
    secpol_test_clock_offset (client, 29 * DAY);
    s_assert_gone (client, normal->session_token);
    validated_t *validated = NULL;
    assert_int_equal (s_validate (client, created->session_token, true, &validated), SECPOL_OK);
    assert_true (validated->session->remember_me);
    assert_true (validated->touched);
    assert_int_equal (validated->session->idle_expires_at, 0);
    assert_int_equal (validated->session->expires_at, created->expires_at);
    s_free (validated);

    /* the absolute lifetime holds whatever the activity */
    secpol_test_clock_offset (client, 30 * DAY);
    s_assert_gone (client, created->session_token);
    s_free (created);
    s_free (normal);
    secpol_client_destroy (&client);
}

static void
test_remember_me_refused_by_the_policy_makes_a_normal_session (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    /* remember_me_enabled is false by default */
    created_t *created = s_login (client, "w-plain", "jay", true);
    assert_false (created->remember_me);
    assert_true (created->remember_me_refused);
    assert_int_equal (created->expires_at, 0);
    assert_int_equal (created->idle_expires_at, created->created_at + 30 * 60);
    validated_t *validated = NULL;
    assert_int_equal (s_validate (client, created->session_token, false, &validated), SECPOL_OK);
    assert_false (validated->session->remember_me);
    s_free (validated);
    secpol_test_clock_offset (client, 30 * 60);
    s_assert_gone (client, created->session_token);
    s_free (created);
    secpol_client_destroy (&client);
}

static void
test_remember_me_lifetime_is_the_daemons_option (void **state)
{
    secpol_test_daemon_t *daemon = *state; /* started with --remember-me-days 7 */
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w-week", true, true, 5);
    created_t *created = s_login (client, "w-week", "kim", true);
    assert_true (created->remember_me);
    assert_int_equal (created->expires_at, created->created_at + 7 * DAY);
    secpol_test_clock_offset (client, 7 * DAY);
    s_assert_gone (client, created->session_token);
    s_free (created);
    secpol_client_destroy (&client);
}

static int
s_setup_week (void **state)
{
    static const char *const args[] = {"--remember-me-days", "7", NULL};
    return secpol_test_daemon_setup_with (state, args);
}

/* --- revoke, revoke all, list -------------------------------------------- */

static void
test_revoke_one_by_token_or_by_listed_id (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *a = s_login (client, "w1", "kim", false);
    created_t *b = s_login (client, "w1", "kim", false);
    assert_true (s_revoke (client, a->session_token));
    assert_false (s_revoke (client, a->session_token)); /* idempotent */
    assert_false (s_revoke (client, "sps_nonsense"));
    s_assert_gone (client, a->session_token);

    /* sign out the session a list showed */
    Secpol__V1__RevokeSessionRequest request = SECPOL__V1__REVOKE_SESSION_REQUEST__INIT;
    request.workspace_id = "w1";
    request.subject_id = "kim";
    request.session_id = b->session_id;
    Secpol__V1__RevokeSessionResponse *response = NULL;
    assert_int_equal (
        secpol_client_call (client, S_REVOKE, &request.base, (ProtobufCMessage **)&response),
        SECPOL_OK);
    assert_true (response->revoked);
    s_free (response);
    s_assert_gone (client, b->session_token);
    /* another subject's id names nothing */
    created_t *c = s_login (client, "w1", "kim", false);
    request.subject_id = "lee";
    request.session_id = c->session_id;
    assert_int_equal (
        secpol_client_call (client, S_REVOKE, &request.base, (ProtobufCMessage **)&response),
        SECPOL_OK);
    assert_false (response->revoked);
    s_free (response);
    assert_int_equal (s_validate (client, c->session_token, false, NULL), SECPOL_OK);

    /* token and id together, or neither, are refused */
    request.session_token = c->session_token;
    assert_int_equal (secpol_client_call (client, S_REVOKE, &request.base, NULL),
                      SECPOL_INVALID_ARGUMENT);
    Secpol__V1__RevokeSessionRequest empty = SECPOL__V1__REVOKE_SESSION_REQUEST__INIT;
    assert_int_equal (secpol_client_call (client, S_REVOKE, &empty.base, NULL),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "session_token");
    s_free (a);
    s_free (b);
    s_free (c);
    secpol_client_destroy (&client);
}

static void
test_revoke_all_optionally_keeps_one (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *s[4];
    for (int k = 0; k < 4; k++)
        s[k] = s_login (client, "w1", "mia", false);
    created_t *neighbour = s_login (client, "w1", "mia2", false);
    assert_int_equal (s_revoke_all (client, "w1", "mia", s[2]->session_token), 3);
    Secpol__V1__ListSessionsResponse *list = s_list (client, "w1", "mia", 0, "");
    assert_int_equal (list->n_sessions, 1);
    assert_string_equal (list->sessions[0]->session_id, s[2]->session_id);
    s_free (list);
    /* "mia2" shares a prefix of the name, not the subject */
    assert_int_equal (s_validate (client, neighbour->session_token, false, NULL), SECPOL_OK);
    assert_int_equal (s_revoke_all (client, "w1", "mia", ""), 1);
    assert_int_equal (s_revoke_all (client, "w1", "mia", ""), 0);
    s_assert_gone (client, s[2]->session_token);
    /* an unknown subject: 0, as for a known one without sessions */
    assert_int_equal (s_revoke_all (client, "w1", "nobody", ""), 0);
    /* a malformed except token is a bad field, not a silent revoke-all */
    Secpol__V1__RevokeAllSessionsRequest request = SECPOL__V1__REVOKE_ALL_SESSIONS_REQUEST__INIT;
    request.workspace_id = "w1";
    request.subject_id = "mia2";
    request.except_session_token = "sps_typo";
    assert_int_equal (secpol_client_call (client, S_REVOKE_ALL, &request.base, NULL),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0],
                         "except_session_token");
    assert_int_equal (s_validate (client, neighbour->session_token, false, NULL), SECPOL_OK);
    for (int k = 0; k < 4; k++)
        s_free (s[k]);
    s_free (neighbour);
    secpol_client_destroy (&client);
}

static void
test_list_pages_oldest_first_and_shows_no_secret (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *s[5];
    for (int k = 0; k < 5; k++) {
        secpol_test_clock_offset (client, k); /* distinct creation times */
        s[k] = s_login (client, "w-list", "ned", k == 3);
    }
    const char *token = "";
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        Secpol__V1__ListSessionsResponse *list = s_list (client, "w-list", "ned", 2, token);
        assert_int_equal (list->n_sessions, page < 2 ? 2 : 1);
        for (size_t k = 0; k < list->n_sessions; k++, seen++) {
            Secpol__V1__Session *session = list->sessions[k];
            assert_string_equal (session->session_id, s[seen]->session_id);
            assert_int_equal (session->created_at, s[seen]->created_at);
            assert_int_equal (session->idle_expires_at, s[seen]->idle_expires_at);
            /* the packed answer holds neither a token nor its random part */
            uint8_t packed[1024];
            size_t size = secpol__v1__session__pack (session, packed);
            for (int j = 0; j < 5; j++)
                assert_null (memmem (packed, size, s[j]->session_token + 4, 22));
        }
        static char next[128];
        snprintf (next, sizeof next, "%s", list->next_page_token);
        token = next;
        assert_true (page < 2 ? *token != '\0' : *token == '\0');
        s_free (list);
    }
    assert_int_equal (seen, 5);

    /* a token that is not ours is a bad field */
    Secpol__V1__ListSessionsRequest request = SECPOL__V1__LIST_SESSIONS_REQUEST__INIT;
    request.workspace_id = "w-list";
    request.subject_id = "ned";
    request.page_token = "s1-zz";
    assert_int_equal (secpol_client_call (client, S_LIST, &request.base, NULL),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "page_token");
    /* an unknown subject lists nothing, as one without sessions does */
    Secpol__V1__ListSessionsResponse *list = s_list (client, "w-list", "nobody", 0, "");
    assert_int_equal (list->n_sessions, 0);
    s_free (list);
    for (int k = 0; k < 5; k++)
        s_free (s[k]);
    secpol_client_destroy (&client);
}

/*  A subject keeps at most 100 live sessions: the 101st evicts the least
 *  recently seen one, so no subject's share of the store is unbounded. */
static void
test_a_subject_keeps_at_most_100_sessions (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    created_t *first = s_login (client, "w-cap", "olga", false);
    created_t *second = s_login (client, "w-cap", "olga", false);
    secpol_test_clock_offset (client, 1); /* the others are seen later than second */
    for (int k = 2; k < 100; k++) {
        created_t *created = s_login (client, "w-cap", "olga", false);
        assert_int_equal (created->revoked_sessions, 0);
        s_free (created);
    }
    /* the first was seen most recently: the second is the one to go */
    secpol_test_clock_offset (client, 120);
    assert_int_equal (s_validate (client, first->session_token, true, NULL), SECPOL_OK);
    created_t *last = s_login (client, "w-cap", "olga", false);
    assert_int_equal (last->revoked_sessions, 1);
    s_assert_gone (client, second->session_token);
    assert_int_equal (s_validate (client, first->session_token, false, NULL), SECPOL_OK);
    Secpol__V1__ListSessionsResponse *list = s_list (client, "w-cap", "olga", 1000, "");
    assert_int_equal (list->n_sessions, 100); /* page_size past 100 is coerced to 100 */
    assert_string_equal (list->next_page_token, "");
    s_free (list);
    s_free (first);
    s_free (second);
    s_free (last);
    secpol_client_destroy (&client);
}

/* --- bounds -------------------------------------------------------------- */

static void
test_bad_ids_are_named_and_nothing_is_stored (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    char long_id[130];
    memset (long_id, 'x', 129);
    long_id[129] = '\0';
    Secpol__V1__CreateSessionRequest request = SECPOL__V1__CREATE_SESSION_REQUEST__INIT;
    request.workspace_id = "";
    request.subject_id = long_id;
    request.community_id = "bell\a";
    assert_int_equal (secpol_client_call (client, S_CREATE, &request.base, NULL),
                      SECPOL_INVALID_ARGUMENT);
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->n_violations, 3);
    assert_string_equal (status->violation_fields[0], "workspace_id");
    assert_string_equal (status->violation_fields[1], "subject_id");
    assert_string_equal (status->violation_fields[2], "community_id");
    /* 128 bytes is the longest id taken; nothing was stored by the refusal */
    long_id[128] = '\0';
    Secpol__V1__ListSessionsResponse *list = s_list (client, "w1", long_id, 0, "");
    assert_int_equal (list->n_sessions, 0);
    s_free (list);
    created_t *created = s_login (client, long_id, long_id, false);
    list = s_list (client, long_id, long_id, 0, "");
    assert_int_equal (list->n_sessions, 1);
    s_free (list);
    assert_int_equal (s_revoke_all (client, long_id, long_id, ""), 1);
    s_free (created);
    secpol_client_destroy (&client);
}

/* --- housekeeping and secrets ---------------------------------------------- */

static void
test_ended_sessions_are_swept_and_no_token_is_stored_or_logged (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    s_policy (client, "w-sweep", true, true, 5);
    char tokens[3][64];
    for (int k = 0; k < 3; k++) {
        created_t *created = s_login (client, "w-sweep", "pat", k == 2);
        snprintf (tokens[k], sizeof tokens[k], "%s", created->session_token);
        s_free (created);
    }
    secpol_test_clock_offset (client, 120); /* a touch moves two expiry entries */
    assert_int_equal (s_validate (client, tokens[0], true, NULL), SECPOL_OK);

    /* neither the store nor the log holds a token (nor its random part) */
    for (int k = 0; k < 3; k++) {
        char random_part[32];
        snprintf (random_part, sizeof random_part, "%.22s", tokens[k] + 4);
        assert_false (secpol_test_daemon_store_holds (daemon, random_part, strlen (random_part)));
        assert_false (secpol_test_file_holds (daemon->log_path, random_part));
    }

    /* past every end: the writer sweeps records, index and expiry entries */
    secpol_test_clock_offset (client, 31 * DAY);
    struct timespec start;
    clock_gettime (CLOCK_MONOTONIC, &start);
    for (;;) {
        if (secpol_test_daemon_swept (daemon) >= 6) /* 3 sessions, 2 entries each */
            break;
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 > SECPOL_TEST_DEADLINE_MS)
            fail_msg ("no sweep within %d ms", SECPOL_TEST_DEADLINE_MS);
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep (&pause, NULL);
    }
    secpol_client_destroy (&client);
    secpol_test_daemon_stop_keeping_data (daemon);
    const secpol_table_t *tables[] = {&secpol_session_table, &secpol_session_subject_table,
                                      &secpol_expiry_table};
    secpol_store_options_t options = {
        .tables = tables, .n_tables = 3, .url = secpol_test_daemon_store_url (daemon)};
    secpol_store_t *store = NULL;
    assert_int_equal (secpol_store_open (&store, daemon->data_dir, &options), 0);
    size_t sessions = secpol_test_store_entries (store, &secpol_session_table);
    size_t index = secpol_test_store_entries (store, &secpol_session_subject_table);
    size_t expiry = secpol_test_store_entries (store, &secpol_expiry_table);
    secpol_store_close (&store);
    assert_int_equal (sessions, 0);
    assert_int_equal (index, 0);
    assert_int_equal (expiry, 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_a_new_session_validates_and_carries_its_metadata),
        SECPOL_TEST_WITH_DAEMON (test_every_unusable_token_gets_the_same_not_found),
        SECPOL_TEST_WITH_DAEMON (test_the_idle_timeout_ends_a_session_and_a_touch_extends_it),
        SECPOL_TEST_WITH_DAEMON (test_a_timeout_of_zero_means_no_idle_limit),
        SECPOL_TEST_WITH_DAEMON (test_a_touch_is_stored_at_most_once_a_minute),
        SECPOL_TEST_WITH_DAEMON (test_concurrent_touches_store_one),
        SECPOL_TEST_WITH_DAEMON (test_a_one_minute_timeout_is_touched_every_half_minute),
        SECPOL_TEST_WITH_DAEMON (test_concurrent_login_off_revokes_the_older_sessions),
        SECPOL_TEST_WITH_DAEMON (test_remember_me_when_the_policy_allows_it),
        SECPOL_TEST_WITH_DAEMON (test_remember_me_refused_by_the_policy_makes_a_normal_session),
        cmocka_unit_test_setup_teardown (test_remember_me_lifetime_is_the_daemons_option,
                                         s_setup_week, secpol_test_daemon_teardown),
        SECPOL_TEST_WITH_DAEMON (test_revoke_one_by_token_or_by_listed_id),
        SECPOL_TEST_WITH_DAEMON (test_revoke_all_optionally_keeps_one),
        SECPOL_TEST_WITH_DAEMON (test_list_pages_oldest_first_and_shows_no_secret),
        SECPOL_TEST_WITH_DAEMON (test_a_subject_keeps_at_most_100_sessions),
        SECPOL_TEST_WITH_DAEMON (test_bad_ids_are_named_and_nothing_is_stored),
        SECPOL_TEST_WITH_DAEMON (test_ended_sessions_are_swept_and_no_token_is_stored_or_logged),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
