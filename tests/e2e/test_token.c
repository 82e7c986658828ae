/*  test_token.c - TokenService against a real secpold, through the C
 *  client library: every kind timed by its own setting (and a community's
 *  override), expiry through the test clock, a lifetime of 0 that never
 *  ends, 32 concurrent consumes of one single-use token from 32
 *  connections, re-issue revoking the older token, view kinds' max_uses
 *  and cap, verify spending nothing, one NOT_FOUND for every unusable token
 *  (checksum typos included), a password reset ending the subject's
 *  sessions and other resets, auto-login from the policy, RevokeTokens, bad
 *  requests, a restart, housekeeping after 10,000 expired tokens, and no
 *  token in the LMDB file or the log.
 */
#define _GNU_SOURCE /* memmem */
#include "calls.h"
#include "daemon.h"
#include "secret_token.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/session.pb-c.h"
#include "secpol/v1/token.pb-c.h"

#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#define S_ISSUE   "/secpol.v1.TokenService/IssueToken"
#define S_VERIFY  "/secpol.v1.TokenService/VerifyToken"
#define S_CONSUME "/secpol.v1.TokenService/ConsumeToken"
#define S_REVOKE  "/secpol.v1.TokenService/RevokeTokens"
#define DAY       86400

#define KIND(name) SECPOL__V1__TOKEN_KIND__TOKEN_KIND_##name

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

/*  Sets settings of ws (community "" = the workspace level) by field
 *  name: uint32 fields to the numbers, bool fields to 0 / 1. */
static void
s_policy (secpol_client_t *client, const char *ws, const char *community, size_t n,
          const char *const *names, const uint32_t *values)
{
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    char mask[4096] = "";
    for (size_t i = 0; i < n; i++) {
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name (
            &secpol__v1__policy__descriptor, names[i]);
        assert_non_null (field);
        if (field->type == PROTOBUF_C_TYPE_BOOL)
            *(protobuf_c_boolean *)((char *)&policy + field->offset) = values[i] != 0;
        else
            *(uint32_t *)((char *)&policy + field->offset) = values[i];
        size_t used = strlen (mask);
        assert_true (used + strlen (names[i]) + 1 < sizeof mask);
        snprintf (mask + used, sizeof mask - used, "%s%s", i ? "," : "", names[i]);
    }
    secpol_test_set_policy (client, ws, community, &policy, mask);
}

static void
s_policy_one (secpol_client_t *client, const char *ws, const char *community, const char *name,
              uint32_t value)
{
    s_policy (client, ws, community, 1, &name, &value);
}

/*  IssueToken; on OK *out_p (when not NULL) gets the answer. */
static int
s_issue_full (secpol_client_t *client, Secpol__V1__IssueTokenResponse **out_p, const char *ws,
              const char *community, int kind, const char *subject, const char *bound_to,
              uint32_t max_uses)
{
    Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.community_id = (char *)community;
    request.kind = kind;
    request.subject_id = (char *)subject;
    request.bound_to = (char *)bound_to;
    request.max_uses = max_uses;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_ISSUE, &request.base, &response);
    if (out_p)
        *out_p = (Secpol__V1__IssueTokenResponse *)response;
    else
        s_free (response);
    return code;
}

/*  Issues a token that must be issued; returns it (malloc'd, caller frees). */
static char *
s_issue (secpol_client_t *client, const char *ws, int kind, const char *subject,
         const char *bound_to, uint32_t max_uses)
{
    Secpol__V1__IssueTokenResponse *out = NULL;
    int code = s_issue_full (client, &out, ws, "", kind, subject, bound_to, max_uses);
    if (code != SECPOL_OK)
        fail_msg ("IssueToken %s/%s: %s %s", ws, subject, secpol_status_name (code),
                  secpol_client_status (client)->message);
    char *token = strdup (out->token);
    s_free (out);
    return token;
}

/*  VerifyToken (consume false) or ConsumeToken with the optional checks
 *  ("" = none); on OK *info_p (when not NULL) gets the TokenInfo. */
static int
s_use (secpol_client_t *client, bool consume, const char *token, int kind, const char *ws,
       const char *bound_to, Secpol__V1__TokenInfo **info_p)
{
    ProtobufCMessage *response = NULL;
    int code;
    if (consume) {
        Secpol__V1__ConsumeTokenRequest request = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
        request.token = (char *)token;
        request.kind = kind;
        request.workspace_id = (char *)ws;
        request.bound_to = (char *)bound_to;
        code = secpol_client_call (client, S_CONSUME, &request.base, &response);
    } else {
        Secpol__V1__VerifyTokenRequest request = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
        request.token = (char *)token;
        request.kind = kind;
        request.workspace_id = (char *)ws;
        request.bound_to = (char *)bound_to;
        code = secpol_client_call (client, S_VERIFY, &request.base, &response);
    }
    if (info_p)
        *info_p = (Secpol__V1__TokenInfo *)response;
    else
        s_free (response);
    return code;
}

static int
s_verify (secpol_client_t *client, const char *token, int kind)
{
    return s_use (client, false, token, kind, "", "", NULL);
}

static int
s_consume (secpol_client_t *client, const char *token, int kind)
{
    return s_use (client, true, token, kind, "", "", NULL);
}

static int
s_revoke (secpol_client_t *client, const char *ws, const char *subject, int kind, uint32_t *revoked)
{
    Secpol__V1__RevokeTokensRequest request = SECPOL__V1__REVOKE_TOKENS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    request.kind = kind;
    Secpol__V1__RevokeTokensResponse *response = NULL;
    int code = secpol_client_call (client, S_REVOKE, &request.base, (ProtobufCMessage **)&response);
    if (code == SECPOL_OK && revoked)
        *revoked = response->revoked;
    s_free (response);
    return code;
}

/*  Entries of a table of the daemon's store, read by this process through
 *  LMDB (which lets many processes read one environment at once). */
static size_t
s_entries (const secpol_test_daemon_t *daemon, const char *table)
{
    return secpol_test_daemon_entries (daemon, table);
}

/* --- lifetimes ------------------------------------------------------------------------- */

/*  The lifetime settings of DESIGN.md (#5, #6, #7, #9-#21) and the kinds
 *  each times. */
static const struct {
    int kind;
    const char *setting;
} s_timed[] = {
    {KIND (WORKSPACE_INVITATION), "email_verification_link_ttl_minutes"},
    {KIND (ACCOUNT_VERIFICATION), "email_verification_link_ttl_minutes"},
    {KIND (COMPLETE_REGISTRATION), "email_verification_link_ttl_minutes"},
    {KIND (TWO_STEP_LINK), "email_verification_link_ttl_minutes"},
    {KIND (LOCKED_MEMBER_VERIFICATION), "email_verification_link_ttl_minutes"},
    {KIND (PASSWORD_RESET), "email_verification_link_ttl_minutes"},
    {KIND (PASSWORDLESS_AUTH), "passwordless_auth_ttl_minutes"},
    {KIND (ADMIN_PASSWORD_RESET), "password_reset_link_ttl_minutes"},
    {KIND (EMAIL_CLAIM), "email_claim_link_ttl_minutes"},
    {KIND (RANK_ASSESSMENT), "rank_assessment_link_ttl_minutes"},
    {KIND (RANK_REVIEWSCALE), "rank_reviewscale_link_ttl_minutes"},
    {KIND (RESOURCE_DOWNLOAD), "resource_download_link_ttl_minutes"},
    {KIND (MEMBER_APPROVE), "member_approve_link_ttl_minutes"},
    {KIND (MEMBER_REJECT), "member_reject_link_ttl_minutes"},
    {KIND (MEMBER_PROFILE), "member_profile_link_ttl_minutes"},
    {KIND (IDEA_VIEW), "idea_view_link_ttl_minutes"},
    {KIND (IDEA_APPROVE), "idea_approve_link_ttl_minutes"},
    {KIND (IDEA_REJECT), "idea_reject_link_ttl_minutes"},
    {KIND (IDEA_PENDING_AUTH), "idea_pending_auth_link_ttl_minutes"},
    {KIND (CONVERSATION_VIEW), "conversation_view_link_ttl_minutes"},
    {KIND (IDENTITY_VERIFICATION), "identity_verification_link_ttl_minutes"},
};
#define S_TIMED (sizeof s_timed / sizeof s_timed[0])

/*  A distinct lifetime per setting: 100 + its field number, in minutes. */
static uint32_t
s_distinct_ttl (const char *setting)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (&secpol__v1__policy__descriptor, setting);
    assert_non_null (field);
    return 100 + field->id;
}

static void
test_each_kind_takes_its_own_setting (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    assert_int_equal (S_TIMED, 21);
    const char *names[S_TIMED];
    uint32_t values[S_TIMED];
    size_t n = 0;
    for (size_t i = 0; i < S_TIMED; i++) {
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen |= strcmp (names[k], s_timed[i].setting) == 0;
        if (!seen) {
            names[n] = s_timed[i].setting;
            values[n] = s_distinct_ttl (s_timed[i].setting);
            n++;
        }
    }
    assert_int_equal (n, 16); /* settings 5, 6, 7, 9-21 */
    s_policy (client, "ws-ttl", "", n, names, values);
    /* a community override of one of them */
    s_policy_one (client, "ws-ttl", "c-short", "idea_view_link_ttl_minutes", 7);

    for (size_t i = 0; i < S_TIMED; i++) {
        int64_t before = secpol_test_server_now (client);
        Secpol__V1__IssueTokenResponse *out = NULL;
        assert_int_equal (
            s_issue_full (client, &out, "ws-ttl", "", s_timed[i].kind, "user-1", "", 0), SECPOL_OK);
        int64_t after = secpol_test_server_now (client);
        int64_t ttl = 60 * (int64_t)s_distinct_ttl (s_timed[i].setting);
        if (out->expires_at < before + ttl || out->expires_at > after + ttl)
            fail_msg ("kind %d: expires_at %lld, expected %lld + %s (%lld s)", s_timed[i].kind,
                      (long long)out->expires_at, (long long)before, s_timed[i].setting,
                      (long long)ttl);
        assert_memory_equal (out->token, "spl_", 4);
        assert_int_equal (strlen (out->token), 4 + 28);
        s_free (out);
    }

    /* the community's policy times the tokens issued for it */
    int64_t before = secpol_test_server_now (client);
    Secpol__V1__IssueTokenResponse *out = NULL;
    assert_int_equal (
        s_issue_full (client, &out, "ws-ttl", "c-short", KIND (IDEA_VIEW), "user-1", "", 0),
        SECPOL_OK);
    assert_in_range (out->expires_at, before + 7 * 60, secpol_test_server_now (client) + 7 * 60);
    Secpol__V1__TokenInfo *info = NULL;
    assert_int_equal (s_use (client, false, out->token, KIND (IDEA_VIEW), "", "", &info),
                      SECPOL_OK);
    assert_string_equal (info->community_id, "c-short");
    assert_int_equal (info->expires_at, out->expires_at);
    s_free (info);
    s_free (out);
    secpol_client_destroy (&client);
}

static void
test_expiry_through_the_test_clock (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    s_policy_one (client, "ws-exp", "", "email_claim_link_ttl_minutes", 10);
    char *token = s_issue (client, "ws-exp", KIND (EMAIL_CLAIM), "user-1", "new@example.com", 0);
    Secpol__V1__TokenInfo *info = NULL;
    assert_int_equal (s_use (client, false, token, KIND (EMAIL_CLAIM), "", "", &info), SECPOL_OK);
    int64_t expires_at = info->expires_at;
    s_free (info);
    int64_t now = secpol_test_server_now (client);
    assert_in_range (expires_at - now, 10 * 60 - 5, 10 * 60);

    /* a second before: still good; at expires_at: expired, and it says so */
    secpol_test_clock_offset (client, expires_at - now - 2);
    assert_int_equal (s_verify (client, token, KIND (EMAIL_CLAIM)), SECPOL_OK);
    secpol_test_clock_offset (client, expires_at - now + 1);
    assert_int_equal (s_verify (client, token, KIND (EMAIL_CLAIM)), SECPOL_FAILED_PRECONDITION);
    assert_non_null (strstr (secpol_client_status (client)->message, "expired"));
    assert_int_equal (s_consume (client, token, KIND (EMAIL_CLAIM)), SECPOL_FAILED_PRECONDITION);
    /* only the right kind learns that it expired */
    assert_int_equal (s_verify (client, token, KIND (IDEA_VIEW)), SECPOL_NOT_FOUND);
    /* a day later it is gone like any unknown token */
    secpol_test_clock_offset (client, expires_at - now + DAY + 1);
    assert_int_equal (s_verify (client, token, KIND (EMAIL_CLAIM)), SECPOL_NOT_FOUND);
    assert_int_equal (s_consume (client, token, KIND (EMAIL_CLAIM)), SECPOL_NOT_FOUND);
    free (token);
    secpol_client_destroy (&client);
}

static void
test_a_lifetime_of_0_never_expires (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    /* settings 5 and 7 may be 0 (discouraged): such links never expire */
    const char *names[] = {"email_verification_link_ttl_minutes",
                           "password_reset_link_ttl_minutes"};
    const uint32_t zeros[] = {0, 0};
    s_policy (client, "ws-never", "", 2, names, zeros);
    size_t expiry = s_entries (daemon, "expiry");
    const int kinds[] = {KIND (WORKSPACE_INVITATION), KIND (ADMIN_PASSWORD_RESET)};
    char *tokens[2];
    for (int k = 0; k < 2; k++) {
        Secpol__V1__IssueTokenResponse *out = NULL;
        assert_int_equal (s_issue_full (client, &out, "ws-never", "", kinds[k], "user-1", "", 0),
                          SECPOL_OK);
        assert_int_equal (out->expires_at, 0);
        tokens[k] = strdup (out->token);
        s_free (out);
    }
    /* nothing for the sweep to do, ever */
    assert_int_equal (s_entries (daemon, "expiry"), expiry);
    secpol_test_clock_offset (client, 10 * 366 * (int64_t)DAY);
    for (int k = 0; k < 2; k++) {
        Secpol__V1__TokenInfo *info = NULL;
        assert_int_equal (s_use (client, true, tokens[k], kinds[k], "", "", &info), SECPOL_OK);
        assert_int_equal (info->expires_at, 0);
        s_free (info);
        free (tokens[k]);
    }
    secpol_client_destroy (&client);
}

/* --- use ------------------------------------------------------------------------------- */

#define CONSUMERS 32

typedef struct {
    const char *endpoint;
    const char *token;
    pthread_barrier_t *gate;
    int code;
} consumer_t;

static void *
s_consumer (void *arg)
{
    consumer_t *consumer = arg;
    /* not secpol_test_client: cmocka cannot fail a test from this thread */
    secpol_client_t *client = secpol_client_new (consumer->endpoint, 10000);
    if (client)
        consumer->code = secpol_client_wait_connected (client, 10000);
    pthread_barrier_wait (consumer->gate);
    if (client && consumer->code == SECPOL_OK)
        consumer->code = s_consume (client, consumer->token, KIND (MEMBER_APPROVE));
    else if (!client)
        consumer->code = -1;
    secpol_client_destroy (&client);
    return NULL;
}

static void
test_32_concurrent_consumes_one_success (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    char *token = s_issue (client, "ws-race", KIND (MEMBER_APPROVE), "pending-7", "", 0);

    consumer_t consumers[CONSUMERS];
    pthread_t threads[CONSUMERS];
    pthread_barrier_t gate;
    pthread_barrier_init (&gate, NULL, CONSUMERS);
    for (int k = 0; k < CONSUMERS; k++) {
        consumers[k] = (consumer_t){daemon->endpoint, token, &gate, -1};
        assert_int_equal (pthread_create (&threads[k], NULL, s_consumer, &consumers[k]), 0);
    }
    for (int k = 0; k < CONSUMERS; k++)
        pthread_join (threads[k], NULL);
    pthread_barrier_destroy (&gate);
    int ok = 0, not_found = 0;
    for (int k = 0; k < CONSUMERS; k++) {
        ok += consumers[k].code == SECPOL_OK;
        not_found += consumers[k].code == SECPOL_NOT_FOUND;
    }
    if (ok != 1 || not_found != CONSUMERS - 1)
        fail_msg ("%d OK and %d NOT_FOUND of %d consumes", ok, not_found, CONSUMERS);
    assert_int_equal (s_verify (client, token, KIND (MEMBER_APPROVE)), SECPOL_NOT_FOUND);
    free (token);
    secpol_client_destroy (&client);
}

static void
test_reissue_revokes_the_older_token (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    char *first = s_issue (client, "ws-re", KIND (ACCOUNT_VERIFICATION), "user-1", "", 0);
    /* other subjects, kinds and workspaces keep theirs */
    char *other_subject = s_issue (client, "ws-re", KIND (ACCOUNT_VERIFICATION), "user-2", "", 0);
    char *other_kind = s_issue (client, "ws-re", KIND (TWO_STEP_LINK), "user-1", "", 0);
    char *other_ws = s_issue (client, "ws-re2", KIND (ACCOUNT_VERIFICATION), "user-1", "", 0);

    Secpol__V1__IssueTokenResponse *second = NULL;
    assert_int_equal (
        s_issue_full (client, &second, "ws-re", "", KIND (ACCOUNT_VERIFICATION), "user-1", "", 1),
        SECPOL_OK);
    assert_int_equal (second->revoked, 1);
    assert_int_equal (s_verify (client, first, KIND (ACCOUNT_VERIFICATION)), SECPOL_NOT_FOUND);
    assert_int_equal (s_verify (client, second->token, KIND (ACCOUNT_VERIFICATION)), SECPOL_OK);
    assert_int_equal (s_verify (client, other_subject, KIND (ACCOUNT_VERIFICATION)), SECPOL_OK);
    assert_int_equal (s_verify (client, other_kind, KIND (TWO_STEP_LINK)), SECPOL_OK);
    assert_int_equal (s_verify (client, other_ws, KIND (ACCOUNT_VERIFICATION)), SECPOL_OK);
    /* a community of the same workspace is the same workspace: one live token */
    Secpol__V1__IssueTokenResponse *third = NULL;
    assert_int_equal (
        s_issue_full (client, &third, "ws-re", "c1", KIND (ACCOUNT_VERIFICATION), "user-1", "", 0),
        SECPOL_OK);
    assert_int_equal (third->revoked, 1);
    assert_int_equal (s_verify (client, second->token, KIND (ACCOUNT_VERIFICATION)),
                      SECPOL_NOT_FOUND);
    s_free (second);
    s_free (third);
    free (first);
    free (other_subject);
    free (other_kind);
    free (other_ws);
    secpol_client_destroy (&client);
}

static void
test_view_kinds_max_uses (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    char *limited = s_issue (client, "ws-view", KIND (RESOURCE_DOWNLOAD), "user-1", "file-9", 3);
    /* a second view token does not revoke the first */
    Secpol__V1__IssueTokenResponse *unlimited = NULL;
    assert_int_equal (s_issue_full (client, &unlimited, "ws-view", "", KIND (RESOURCE_DOWNLOAD),
                                    "user-1", "file-9", 0),
                      SECPOL_OK);
    assert_int_equal (unlimited->revoked, 0);

    for (uint32_t left = 2;; left--) {
        Secpol__V1__TokenInfo *info = NULL;
        assert_int_equal (
            s_use (client, true, limited, KIND (RESOURCE_DOWNLOAD), "ws-view", "file-9", &info),
            SECPOL_OK);
        assert_int_equal (info->uses_left, left);
        assert_int_equal (info->max_uses, 3);
        assert_false (info->unlimited);
        s_free (info);
        if (left == 0)
            break;
    }
    assert_int_equal (s_consume (client, limited, KIND (RESOURCE_DOWNLOAD)), SECPOL_NOT_FOUND);
    assert_int_equal (s_verify (client, limited, KIND (RESOURCE_DOWNLOAD)), SECPOL_NOT_FOUND);

    for (int k = 0; k < 5; k++) {
        Secpol__V1__TokenInfo *info = NULL;
        assert_int_equal (
            s_use (client, true, unlimited->token, KIND (RESOURCE_DOWNLOAD), "", "", &info),
            SECPOL_OK);
        assert_true (info->unlimited);
        assert_int_equal (info->max_uses, 0);
        assert_int_equal (info->uses_left, 0);
        s_free (info);
    }
    s_free (unlimited);
    free (limited);

    /* action kinds are single-use; view kinds have a ceiling */
    assert_int_equal (
        s_issue_full (client, NULL, "ws-view", "", KIND (IDEA_APPROVE), "idea-1", "", 2),
        SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"max_uses"}, 1);
    assert_int_equal (
        s_issue_full (client, NULL, "ws-view", "", KIND (IDEA_VIEW), "user-1", "", 10001),
        SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"max_uses"}, 1);
    assert_int_equal (
        s_issue_full (client, NULL, "ws-view", "", KIND (IDEA_VIEW), "user-1", "", 10000),
        SECPOL_OK);
    secpol_client_destroy (&client);
}

static void
test_a_subject_holds_at_most_1000_of_a_view_kind (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    enum { N = 1001 };
    char **tokens = calloc (N, sizeof *tokens);
    assert_non_null (tokens);
    uint32_t revoked = 0;
    for (int k = 0; k < N; k++) {
        Secpol__V1__IssueTokenResponse *out = NULL;
        assert_int_equal (
            s_issue_full (client, &out, "ws-cap", "", KIND (CONVERSATION_VIEW), "user-1", "", 0),
            SECPOL_OK);
        tokens[k] = strdup (out->token);
        revoked += out->revoked;
        assert_int_equal (out->revoked, k == N - 1 ? 1 : 0);
        s_free (out);
    }
    int live = 0;
    for (int k = 0; k < N; k++) {
        live += s_verify (client, tokens[k], KIND (CONVERSATION_VIEW)) == SECPOL_OK;
        free (tokens[k]);
    }
    free (tokens);
    assert_int_equal (live, 1000);
    assert_int_equal (revoked, 1);
    secpol_client_destroy (&client);
}

static void
test_verify_spends_nothing (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    char *token = s_issue (client, "ws-ver", KIND (IDENTITY_VERIFICATION), "user-1", "", 0);
    for (int k = 0; k < 5; k++) {
        Secpol__V1__TokenInfo *info = NULL;
        assert_int_equal (
            s_use (client, false, token, KIND (IDENTITY_VERIFICATION), "ws-ver", "", &info),
            SECPOL_OK);
        assert_int_equal (info->uses_left, 1);
        assert_int_equal (info->max_uses, 1);
        assert_string_equal (info->workspace_id, "ws-ver");
        assert_string_equal (info->subject_id, "user-1");
        assert_int_equal (info->kind, KIND (IDENTITY_VERIFICATION));
        s_free (info);
    }
    Secpol__V1__TokenInfo *info = NULL;
    assert_int_equal (s_use (client, true, token, KIND (IDENTITY_VERIFICATION), "", "", &info),
                      SECPOL_OK);
    assert_int_equal (info->uses_left, 0);
    s_free (info);
    assert_int_equal (s_verify (client, token, KIND (IDENTITY_VERIFICATION)), SECPOL_NOT_FOUND);
    free (token);
    secpol_client_destroy (&client);
}

/*  Asserts code is NOT_FOUND with the message every unusable token gets. */
static void
s_assert_the_not_found (secpol_client_t *client, int code, const char *expected, const char *what)
{
    if (code != SECPOL_NOT_FOUND)
        fail_msg ("%s: %s (%s), expected NOT_FOUND", what, secpol_status_name (code),
                  secpol_client_status (client)->message);
    if (strcmp (secpol_client_status (client)->message, expected) != 0)
        fail_msg ("%s: \"%s\", expected the same message as every other: \"%s\"", what,
                  secpol_client_status (client)->message, expected);
}

static void
test_one_not_found_for_every_unusable_token (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const int kind = KIND (PASSWORDLESS_AUTH);
    /* unknown: well formed (its check characters match), never issued */
    char unknown[SECPOL_SECRET_TOKEN_MAX];
    secpol_secret_token_new (unknown, "spl_");
    assert_true (secpol_secret_token_check (unknown, "spl_"));
    assert_int_equal (s_verify (client, unknown, kind), SECPOL_NOT_FOUND);
    char expected[512];
    snprintf (expected, sizeof expected, "%s", secpol_client_status (client)->message);
    assert_true (*expected);

    char *revoked = s_issue (client, "ws-nf", kind, "user-1", "", 0);
    assert_int_equal (s_revoke (client, "ws-nf", "user-1", kind, NULL), SECPOL_OK);
    char *used = s_issue (client, "ws-nf", kind, "user-2", "", 0);
    assert_int_equal (s_consume (client, used, kind), SECPOL_OK);
    char *good = s_issue (client, "ws-nf", kind, "user-3", "mailbox-3", 0);

    for (int consume = 0; consume < 2; consume++) {
        s_assert_the_not_found (client, s_use (client, consume, unknown, kind, "", "", NULL),
                                expected, "unknown");
        s_assert_the_not_found (client, s_use (client, consume, revoked, kind, "", "", NULL),
                                expected, "revoked");
        s_assert_the_not_found (client, s_use (client, consume, used, kind, "", "", NULL), expected,
                                "used up");
        s_assert_the_not_found (
            client, s_use (client, consume, good, KIND (ACCOUNT_VERIFICATION), "", "", NULL),
            expected, "another kind");
        s_assert_the_not_found (client, s_use (client, consume, good, kind, "ws-other", "", NULL),
                                expected, "another workspace");
        s_assert_the_not_found (client, s_use (client, consume, good, kind, "", "mailbox-4", NULL),
                                expected, "another bound_to");
        /* typos: a changed character (the check no longer matches), a cut */
        char typo[64];
        snprintf (typo, sizeof typo, "%s", good);
        typo[10] = typo[10] == 'a' ? 'b' : 'a';
        s_assert_the_not_found (client, s_use (client, consume, typo, kind, "", "", NULL), expected,
                                "one character changed");
        snprintf (typo, sizeof typo, "%s", good);
        typo[strlen (typo) - 1] = 0;
        s_assert_the_not_found (client, s_use (client, consume, typo, kind, "", "", NULL), expected,
                                "truncated");
        s_assert_the_not_found (client, s_use (client, consume, "spl_", kind, "", "", NULL),
                                expected, "prefix alone");
        s_assert_the_not_found (client,
                                s_use (client, consume, "not a token at all", kind, "", "", NULL),
                                expected, "junk");
    }
    /* and the good one, checked against what it was issued with, still works */
    assert_int_equal (s_use (client, true, good, kind, "ws-nf", "mailbox-3", NULL), SECPOL_OK);
    free (revoked);
    free (used);
    free (good);
    secpol_client_destroy (&client);
}

/* --- password resets, auto-login, revoke ------------------------------------------------ */

static char *
s_session (secpol_client_t *client, const char *ws, const char *subject)
{
    Secpol__V1__CreateSessionRequest request = SECPOL__V1__CREATE_SESSION_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.subject_id = (char *)subject;
    Secpol__V1__CreateSessionResponse *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.SessionService/CreateSession", &request.base,
                                   (ProtobufCMessage **)&response);
    if (code != SECPOL_OK)
        fail_msg ("CreateSession: %s %s", secpol_status_name (code),
                  secpol_client_status (client)->message);
    char *token = strdup (response->session_token);
    s_free (response);
    return token;
}

static int
s_validate (secpol_client_t *client, const char *session_token)
{
    Secpol__V1__ValidateSessionRequest request = SECPOL__V1__VALIDATE_SESSION_REQUEST__INIT;
    request.session_token = (char *)session_token;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.SessionService/ValidateSession",
                                   &request.base, &response);
    s_free (response);
    return code;
}

static void
test_a_consumed_reset_ends_sessions_and_other_resets (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    /* auto-login on: still never from a reset link */
    s_policy_one (client, "ws-reset", "", "auto_login_by_email_token", 1);
    char *laptop = s_session (client, "ws-reset", "user-1");
    char *phone = s_session (client, "ws-reset", "user-1");
    char *someone_else = s_session (client, "ws-reset", "user-2");
    char *admin_reset = s_issue (client, "ws-reset", KIND (ADMIN_PASSWORD_RESET), "user-1", "", 0);
    char *reset = s_issue (client, "ws-reset", KIND (PASSWORD_RESET), "user-1", "", 0);
    char *verification = s_issue (client, "ws-reset", KIND (ACCOUNT_VERIFICATION), "user-1", "", 0);
    char *other_reset = s_issue (client, "ws-reset", KIND (PASSWORD_RESET), "user-2", "", 0);

    Secpol__V1__TokenInfo *info = NULL;
    assert_int_equal (s_use (client, false, reset, KIND (PASSWORD_RESET), "", "", &info),
                      SECPOL_OK);
    assert_false (info->auto_login);
    assert_int_equal (info->revoked_sessions, 0); /* verify ends nothing */
    s_free (info);
    assert_int_equal (s_validate (client, laptop), SECPOL_OK);

    assert_int_equal (s_use (client, true, reset, KIND (PASSWORD_RESET), "ws-reset", "", &info),
                      SECPOL_OK);
    assert_int_equal (info->revoked_sessions, 2);
    assert_int_equal (info->revoked_tokens, 1);
    assert_false (info->auto_login);
    s_free (info);
    assert_int_equal (s_validate (client, laptop), SECPOL_NOT_FOUND);
    assert_int_equal (s_validate (client, phone), SECPOL_NOT_FOUND);
    assert_int_equal (s_verify (client, admin_reset, KIND (ADMIN_PASSWORD_RESET)),
                      SECPOL_NOT_FOUND);
    /* what is not a reset of this subject stays */
    assert_int_equal (s_validate (client, someone_else), SECPOL_OK);
    assert_int_equal (s_verify (client, other_reset, KIND (PASSWORD_RESET)), SECPOL_OK);
    assert_int_equal (
        s_use (client, false, verification, KIND (ACCOUNT_VERIFICATION), "", "", &info), SECPOL_OK);
    assert_true (info->auto_login);
    s_free (info);

    /* user-2's reset does the same for user-2 */
    char *tablet = s_session (client, "ws-reset", "user-2");
    assert_int_equal (s_use (client, true, other_reset, KIND (PASSWORD_RESET), "", "", &info),
                      SECPOL_OK);
    assert_int_equal (info->revoked_sessions, 2);
    assert_int_equal (info->revoked_tokens, 0);
    s_free (info);
    assert_int_equal (s_validate (client, tablet), SECPOL_NOT_FOUND);
    free (laptop);
    free (phone);
    free (someone_else);
    free (tablet);
    free (admin_reset);
    free (reset);
    free (verification);
    free (other_reset);
    secpol_client_destroy (&client);
}

static void
test_auto_login_follows_the_policy_now (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    char *token = s_issue (client, "ws-auto", KIND (PASSWORDLESS_AUTH), "user-1", "", 0);
    Secpol__V1__TokenInfo *info = NULL;
    assert_int_equal (s_use (client, false, token, KIND (PASSWORDLESS_AUTH), "", "", &info),
                      SECPOL_OK);
    assert_false (info->auto_login); /* the default */
    s_free (info);
    s_policy_one (client, "ws-auto", "", "auto_login_by_email_token", 1);
    assert_int_equal (s_use (client, true, token, KIND (PASSWORDLESS_AUTH), "", "", &info),
                      SECPOL_OK);
    assert_true (info->auto_login);
    s_free (info);
    free (token);
    secpol_client_destroy (&client);
}

static void
test_revoke_tokens_by_kind_and_all (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    char *tokens[5] = {
        s_issue (client, "ws-rv", KIND (EMAIL_CLAIM), "user-1", "", 0),
        s_issue (client, "ws-rv", KIND (IDEA_VIEW), "user-1", "idea-1", 0),
        s_issue (client, "ws-rv", KIND (IDEA_VIEW), "user-1", "idea-2", 0),
        s_issue (client, "ws-rv", KIND (IDEA_VIEW), "user-1", "idea-3", 0),
        s_issue (client, "ws-rv", KIND (RESOURCE_DOWNLOAD), "user-1", "", 0),
    };
    char *keep = s_issue (client, "ws-rv", KIND (IDEA_VIEW), "user-10", "", 0);
    uint32_t revoked = 99;
    assert_int_equal (s_revoke (client, "ws-rv", "user-1", KIND (IDEA_VIEW), &revoked), SECPOL_OK);
    assert_int_equal (revoked, 3);
    assert_int_equal (s_verify (client, tokens[1], KIND (IDEA_VIEW)), SECPOL_NOT_FOUND);
    assert_int_equal (s_verify (client, tokens[0], KIND (EMAIL_CLAIM)), SECPOL_OK);
    assert_int_equal (s_revoke (client, "ws-rv", "user-1", 0, &revoked), SECPOL_OK);
    assert_int_equal (revoked, 2);
    assert_int_equal (s_verify (client, tokens[0], KIND (EMAIL_CLAIM)), SECPOL_NOT_FOUND);
    assert_int_equal (s_verify (client, tokens[4], KIND (RESOURCE_DOWNLOAD)), SECPOL_NOT_FOUND);
    assert_int_equal (s_revoke (client, "ws-rv", "user-1", 0, &revoked), SECPOL_OK);
    assert_int_equal (revoked, 0);
    assert_int_equal (s_verify (client, keep, KIND (IDEA_VIEW)), SECPOL_OK);
    for (int k = 0; k < 5; k++)
        free (tokens[k]);
    free (keep);
    secpol_client_destroy (&client);
}

static void
test_bad_requests_name_their_fields (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    assert_int_equal (s_issue_full (client, NULL, "", "", 0, "", "", 0), SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"workspace_id", "subject_id", "kind"},
                                   3);
    assert_int_equal (s_issue_full (client, NULL, "ws", "", 99, "user-1", "", 0),
                      SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"kind"}, 1);
    char long_text[600];
    memset (long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    assert_int_equal (
        s_issue_full (client, NULL, "ws", "", KIND (IDEA_VIEW), "user-1", long_text, 0),
        SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"bound_to"}, 1);
    long_text[129] = 0;
    assert_int_equal (
        s_issue_full (client, NULL, long_text, "c\n", KIND (IDEA_VIEW), long_text, "a\tb", 0),
        SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (
        client, (const char *[]){"workspace_id", "community_id", "subject_id", "bound_to"}, 4);
    assert_int_equal (s_use (client, false, "", 0, "", "", NULL), SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"token", "kind"}, 2);
    assert_int_equal (s_use (client, true, "spl_x", 22, long_text, "", NULL),
                      SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"kind", "workspace_id"}, 2);
    assert_int_equal (s_revoke (client, "", "", 0, NULL), SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"workspace_id", "subject_id"}, 2);
    assert_int_equal (s_revoke (client, "ws", "user-1", -3, NULL), SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, (const char *[]){"kind"}, 1);
    secpol_client_destroy (&client);
}

static void
test_tokens_survive_a_restart (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    char *token = s_issue (client, "ws-dur", KIND (WORKSPACE_INVITATION), "invitee-1", "", 0);
    secpol_client_destroy (&client);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    Secpol__V1__TokenInfo *info = NULL;
    assert_int_equal (s_use (client, true, token, KIND (WORKSPACE_INVITATION), "ws-dur", "", &info),
                      SECPOL_OK);
    assert_string_equal (info->subject_id, "invitee-1");
    s_free (info);
    free (token);
    secpol_client_destroy (&client);
}

/* --- housekeeping and secrecy ---------------------------------------------------------- */

#define HOUSEKEEPING_TOKENS 10000
#define WINDOW              256 /* calls in flight */

static void
test_housekeeping_returns_the_store_to_its_baseline (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    size_t base_tokens = s_entries (daemon, "token");
    size_t base_index = s_entries (daemon, "token_subject");
    size_t base_expiry = s_entries (daemon, "expiry");

    Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    request.workspace_id = "ws-hk";
    request.kind = KIND (ACCOUNT_VERIFICATION);
    char subject[32];
    request.subject_id = subject;
    int sent = 0, answered = 0;
    int64_t expires_at = 0;
    while (answered < HOUSEKEEPING_TOKENS) {
        while (sent < HOUSEKEEPING_TOKENS && sent - answered < WINDOW) {
            snprintf (subject, sizeof subject, "user-%05d", sent);
            uint64_t call_id;
            assert_int_equal (secpol_client_send (client, S_ISSUE, &request.base, &call_id),
                              SECPOL_OK);
            sent++;
        }
        ProtobufCMessage *response = NULL;
        int code = secpol_client_recv (client, 10000, NULL, &response);
        if (code != SECPOL_OK)
            fail_msg ("IssueToken %d: %s %s", answered, secpol_status_name (code),
                      secpol_client_status (client)->message);
        int64_t at = ((Secpol__V1__IssueTokenResponse *)response)->expires_at;
        expires_at = at > expires_at ? at : expires_at;
        s_free (response);
        answered++;
    }
    assert_int_equal (s_entries (daemon, "token"), base_tokens + HOUSEKEEPING_TOKENS);
    assert_int_equal (s_entries (daemon, "token_subject"), base_index + HOUSEKEEPING_TOKENS);
    assert_int_equal (s_entries (daemon, "expiry"), base_expiry + 2 * HOUSEKEEPING_TOKENS);

    /* past expiry plus the day they are kept: the writer sweeps them */
    secpol_test_clock_offset (client, expires_at - secpol_test_server_now (client) + DAY + 1);
    int64_t deadline = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    size_t tokens, index, expiry;
    for (;;) {
        tokens = s_entries (daemon, "token");
        index = s_entries (daemon, "token_subject");
        expiry = s_entries (daemon, "expiry");
        if ((tokens == base_tokens && index == base_index && expiry == base_expiry) ||
            secpol_test_now_ms () > deadline)
            break;
        struct timespec pause = {0, 20 * 1000000}; /* a poll, not a wait for luck */
        nanosleep (&pause, NULL);
    }
    if (tokens != base_tokens || index != base_index || expiry != base_expiry)
        fail_msg ("after %d ms: %zu tokens, %zu index entries, %zu expiry entries; expected %zu, "
                  "%zu, %zu",
                  SECPOL_TEST_DEADLINE_MS, tokens, index, expiry, base_tokens, base_index,
                  base_expiry);
    secpol_client_destroy (&client);
}

static void
test_no_token_in_the_store_or_the_log (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    enum { N = 12 };
    char *tokens[N];
    for (int k = 0; k < N; k++) {
        char subject[32];
        snprintf (subject, sizeof subject, "user-%d", k);
        int kind = k % 2 ? KIND (PASSWORD_RESET) : KIND (MEMBER_PROFILE);
        tokens[k] = s_issue (client, "ws-secret", kind, subject, "", 0);
        /* verified, consumed, failed with a typo: every path that sees it */
        assert_int_equal (s_verify (client, tokens[k], kind), SECPOL_OK);
        if (k % 3 == 0)
            assert_int_equal (s_consume (client, tokens[k], kind), SECPOL_OK);
        char typo[64];
        snprintf (typo, sizeof typo, "%s", tokens[k]);
        typo[6] = typo[6] == 'Q' ? 'R' : 'Q';
        assert_int_equal (s_verify (client, typo, kind), SECPOL_NOT_FOUND);
    }
    secpol_client_destroy (&client);

    size_t store_size = 0, log_size = 0;
    char *store = secpol_test_daemon_store_bytes (daemon, &store_size);
    char *log = secpol_test_file_read (daemon->log_path, &log_size);
    assert_non_null (memmem (log, log_size, "msg=write", 9)); /* the writes were logged */
    for (int k = 0; k < N; k++) {
        /* the whole token, and its secret part without the prefix */
        const char *parts[] = {tokens[k], tokens[k] + 4};
        for (int p = 0; p < 2; p++) {
            size_t length = strlen (parts[p]);
            if (memmem (store, store_size, parts[p], length))
                fail_msg ("token %d is in the store", k);
            if (memmem (log, log_size, parts[p], length))
                fail_msg ("token %d is in the log", k);
        }
        free (tokens[k]);
    }
    assert_null (memmem (log, log_size, "spl_", 4));
    free (store);
    free (log);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_each_kind_takes_its_own_setting),
        SECPOL_TEST_WITH_DAEMON (test_expiry_through_the_test_clock),
        SECPOL_TEST_WITH_DAEMON (test_a_lifetime_of_0_never_expires),
        SECPOL_TEST_WITH_DAEMON (test_32_concurrent_consumes_one_success),
        SECPOL_TEST_WITH_DAEMON (test_reissue_revokes_the_older_token),
        SECPOL_TEST_WITH_DAEMON (test_view_kinds_max_uses),
        SECPOL_TEST_WITH_DAEMON (test_a_subject_holds_at_most_1000_of_a_view_kind),
        SECPOL_TEST_WITH_DAEMON (test_verify_spends_nothing),
        SECPOL_TEST_WITH_DAEMON (test_one_not_found_for_every_unusable_token),
        SECPOL_TEST_WITH_DAEMON (test_a_consumed_reset_ends_sessions_and_other_resets),
        SECPOL_TEST_WITH_DAEMON (test_auto_login_follows_the_policy_now),
        SECPOL_TEST_WITH_DAEMON (test_revoke_tokens_by_kind_and_all),
        SECPOL_TEST_WITH_DAEMON (test_bad_requests_name_their_fields),
        SECPOL_TEST_WITH_DAEMON (test_tokens_survive_a_restart),
        SECPOL_TEST_WITH_DAEMON (test_housekeeping_returns_the_store_to_its_baseline),
        SECPOL_TEST_WITH_DAEMON (test_no_token_in_the_store_or_the_log),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
