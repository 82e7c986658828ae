/*  test_policy.c - PolicyService against a real secpold, through the C
 *  client library: defaults, update masks (nested paths, message paths,
 *  "*"), validation that stores nothing, community inheritance and delete,
 *  optimistic concurrency with two real clients, concurrent writers of
 *  different settings, revisions with paging, security headers, the upload
 *  name battery (NUL over the wire included) and durability across a
 *  restart.
 */
#include "calls.h"
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S_GET     "/secpol.v1.PolicyService/GetPolicy"
#define S_UPDATE  "/secpol.v1.PolicyService/UpdatePolicy"
#define S_DELETE  "/secpol.v1.PolicyService/DeletePolicy"
#define S_HISTORY "/secpol.v1.PolicyService/ListPolicyRevisions"
#define S_HEADERS "/secpol.v1.PolicyService/RenderSecurityHeaders"
#define S_UPLOAD  "/secpol.v1.PolicyService/CheckFileUpload"

static Secpol__V1__Policy *
s_get (secpol_client_t *client, const char *ws, const char *community)
{
    Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.community_id = (char *)community;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_GET, &request.base, &response);
    if (code != SECPOL_OK)
        fail_msg ("GetPolicy %s/%s: %s %s", ws, community, secpol_status_name (code),
                  secpol_client_status (client)->message);
    return (Secpol__V1__Policy *)response;
}

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

/*  Updates ws/community with the paths of mask (comma-separated) taken from
 *  policy. Returns the code; on OK *out_p (when not NULL) gets the answer. */
static int
s_update (secpol_client_t *client, Secpol__V1__Policy **out_p, const char *ws,
          const char *community, uint64_t expected_version, Secpol__V1__Policy *policy,
          const char *mask)
{
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.community_id = (char *)community;
    request.expected_version = expected_version;
    request.policy = policy;
    request.actor = "admin@example.com";
    return secpol_test_update_policy (client, &request, mask, out_p);
}

/* --- get and update ------------------------------------------------------------------ */

static void
test_defaults_before_any_write (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    Secpol__V1__Policy *policy = s_get (client, "ws-defaults", "");
    assert_int_equal (policy->version, 0);
    assert_int_equal (policy->updated_at, 0);
    assert_string_equal (policy->updated_by, "");
    assert_int_equal (policy->password_policy,
                      SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_MEDIUM);
    assert_int_equal (policy->session_timeout_minutes, 30);
    assert_int_equal (policy->login_lockout->max_failures, 5);
    assert_int_equal (policy->two_factor_lockout->max_failures, 5);
    assert_int_equal (policy->email_otp_ttl_seconds, 300);
    assert_true (policy->hsts->enabled);
    assert_false (policy->xss_protection_enabled);
    assert_true (policy->n_allowed_file_extensions > 0);
    s_free (policy);
    /* a community of a workspace nobody wrote: the same defaults */
    policy = s_get (client, "ws-defaults", "c1");
    assert_int_equal (policy->session_timeout_minutes, 30);
    assert_int_equal (policy->version, 0);
    s_free (policy);
    secpol_client_destroy (&client);
}

static void
test_update_with_masks (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const char *ws = "ws-masks";

    /* a nested leaf path: only that leaf changes */
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    lockout.max_failures = 3;
    lockout.window_minutes = 999; /* not in the mask: ignored */
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.login_lockout = &lockout;
    policy.session_timeout_minutes = 5; /* not in the mask: ignored */
    Secpol__V1__Policy *out = NULL;
    assert_int_equal (s_update (client, &out, ws, "", 0, &policy, "login_lockout.max_failures"),
                      SECPOL_OK);
    assert_int_equal (out->version, 1);
    assert_string_equal (out->updated_by, "admin@example.com");
    assert_true (out->updated_at > 0);
    assert_int_equal (out->login_lockout->max_failures, 3);
    assert_int_equal (out->login_lockout->window_minutes, 15);
    assert_int_equal (out->session_timeout_minutes, 30);
    s_free (out);

    /* a message path: every leaf of it */
    Secpol__V1__HstsSettings hsts = SECPOL__V1__HSTS_SETTINGS__INIT;
    hsts.enabled = true;
    hsts.max_age_days = 730;
    hsts.include_subdomains = true;
    hsts.preload = true;
    policy.hsts = &hsts;
    assert_int_equal (s_update (client, &out, ws, "", 1, &policy, "hsts"), SECPOL_OK);
    assert_int_equal (out->version, 2);
    assert_int_equal (out->hsts->max_age_days, 730);
    assert_true (out->hsts->preload);
    s_free (out);

    /* several paths, top-level and list */
    char *extensions[] = {"pdf", "png", "7z"};
    policy.n_allowed_file_extensions = 3;
    policy.allowed_file_extensions = extensions;
    policy.password_policy = SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH;
    assert_int_equal (
        s_update (client, &out, ws, "", 0, &policy, "allowed_file_extensions,password_policy"),
        SECPOL_OK);
    assert_int_equal (out->version, 3);
    assert_int_equal (out->n_allowed_file_extensions, 3);
    assert_string_equal (out->allowed_file_extensions[2], "7z");
    s_free (out);

    /* "*": every setting, from a policy read back and edited */
    Secpol__V1__Policy *full = s_get (client, ws, "");
    full->session_timeout_minutes = 45;
    full->gravatar_enabled = true;
    assert_int_equal (s_update (client, &out, ws, "", full->version, full, "*"), SECPOL_OK);
    assert_int_equal (out->version, 4);
    assert_int_equal (out->session_timeout_minutes, 45);
    assert_true (out->gravatar_enabled);
    assert_int_equal (out->login_lockout->max_failures, 3); /* kept from the read */
    s_free (out);

    /* the same values again: nothing changes, no new version */
    assert_int_equal (s_update (client, &out, ws, "", 0, full, "*"), SECPOL_OK);
    assert_int_equal (out->version, 4);
    s_free (out);
    s_free (full);

    /* Get agrees */
    Secpol__V1__Policy *now = s_get (client, ws, "");
    assert_int_equal (now->version, 4);
    assert_int_equal (now->session_timeout_minutes, 45);
    assert_int_equal (now->hsts->max_age_days, 730);
    assert_int_equal (now->password_policy,
                      SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH);
    s_free (now);
    secpol_client_destroy (&client);
}

static void
test_invalid_update_stores_nothing (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const char *ws = "ws-invalid";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.email_otp_ttl_seconds = 120;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "email_otp_ttl_seconds"),
                      SECPOL_OK);

    /* four bad values and one good one: four violations, nothing stored */
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    lockout.max_failures = 101; /* NIST SP 800-63B 5.2.2: at most 100 */
    char *extensions[] = {"pdf", ".exe"};
    policy.login_lockout = &lockout;
    policy.referrer_policy = "strict-origin\r\nSet-Cookie: x=1";
    policy.n_allowed_file_extensions = 2;
    policy.allowed_file_extensions = extensions;
    policy.email_otp_ttl_seconds = 3600; /* more than 10 minutes */
    policy.session_timeout_minutes = 10; /* good */
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy,
                                "login_lockout.max_failures,referrer_policy,"
                                "allowed_file_extensions,email_otp_ttl_seconds,"
                                "session_timeout_minutes"),
                      SECPOL_INVALID_ARGUMENT);
    const char *expected[] = {"policy.login_lockout.max_failures", "policy.email_otp_ttl_seconds",
                              "policy.referrer_policy", "policy.allowed_file_extensions"};
    secpol_test_assert_violations (client, expected, 4);
    assert_non_null (strstr (secpol_client_status (client)->message, "policy.referrer_policy"));

    Secpol__V1__Policy *after = s_get (client, ws, "");
    assert_int_equal (after->version, 1);
    assert_int_equal (after->email_otp_ttl_seconds, 120);
    assert_int_equal (after->session_timeout_minutes, 30); /* the good value was not stored */
    assert_int_equal (after->login_lockout->max_failures, 5);
    s_free (after);

    /* the request itself: mask, ids */
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, ""), SECPOL_INVALID_ARGUMENT);
    const char *mask_only[] = {"update_mask"};
    secpol_test_assert_violations (client, mask_only, 1);
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "session_timeout_minutes,nope"),
                      SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, mask_only, 1);
    assert_non_null (strstr (secpol_client_status (client)->violation_descriptions[0], "nope"));
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "version"),
                      SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, mask_only, 1);
    assert_int_equal (s_update (client, NULL, "", "c\n1", 0, &policy, "session_timeout_minutes"),
                      SECPOL_INVALID_ARGUMENT);
    const char *ids[] = {"workspace_id", "community_id"};
    secpol_test_assert_violations (client, ids, 2);

    /* a generation counter is never lowered */
    policy.force_password_reset = 7;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "force_password_reset"),
                      SECPOL_OK);
    policy.force_password_reset = 6;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "force_password_reset"),
                      SECPOL_INVALID_ARGUMENT);
    const char *force[] = {"policy.force_password_reset"};
    secpol_test_assert_violations (client, force, 1);

    /* reads check ids too */
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_GET, &get.base, &response),
                      SECPOL_INVALID_ARGUMENT);
    const char *ws_only[] = {"workspace_id"};
    secpol_test_assert_violations (client, ws_only, 1);
    secpol_client_destroy (&client);
}

/* --- inheritance --------------------------------------------------------------------- */

static void
test_community_inheritance_and_delete (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const char *ws = "ws-inherit";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    policy.login_lockout = &lockout;

    policy.session_timeout_minutes = 20;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "session_timeout_minutes"),
                      SECPOL_OK);
    lockout.max_failures = 3;
    Secpol__V1__Policy *out = NULL;
    assert_int_equal (s_update (client, &out, ws, "c1", 0, &policy, "login_lockout.max_failures"),
                      SECPOL_OK);
    assert_int_equal (out->version, 1); /* the community's own version */
    assert_int_equal (out->session_timeout_minutes, 20);
    s_free (out);

    /* the workspace changes a field the community does not set: it flows down */
    policy.session_timeout_minutes = 25;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "session_timeout_minutes"),
                      SECPOL_OK);
    Secpol__V1__Policy *community = s_get (client, ws, "c1");
    assert_int_equal (community->session_timeout_minutes, 25);
    assert_int_equal (community->login_lockout->max_failures, 3);
    assert_int_equal (community->version, 1);
    s_free (community);
    Secpol__V1__Policy *workspace = s_get (client, ws, "");
    assert_int_equal (workspace->login_lockout->max_failures, 5); /* not the community's */
    assert_int_equal (workspace->version, 2);
    s_free (workspace);

    /* the community overrides it: the override shadows later workspace changes */
    policy.session_timeout_minutes = 10;
    assert_int_equal (s_update (client, NULL, ws, "c1", 1, &policy, "session_timeout_minutes"),
                      SECPOL_OK);
    policy.session_timeout_minutes = 40;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "session_timeout_minutes"),
                      SECPOL_OK);
    community = s_get (client, ws, "c1");
    assert_int_equal (community->session_timeout_minutes, 10);
    assert_int_equal (community->version, 2);
    s_free (community);
    /* a sibling community inherits the workspace */
    community = s_get (client, ws, "c2");
    assert_int_equal (community->session_timeout_minutes, 40);
    assert_int_equal (community->login_lockout->max_failures, 5);
    s_free (community);

    /* delete: back to inheriting everything */
    Secpol__V1__DeletePolicyRequest del = SECPOL__V1__DELETE_POLICY_REQUEST__INIT;
    del.workspace_id = (char *)ws;
    del.community_id = "c1";
    del.expected_version = 1; /* stale */
    Secpol__V1__DeletePolicyResponse *deleted = NULL;
    assert_int_equal (
        secpol_client_call (client, S_DELETE, &del.base, (ProtobufCMessage **)&deleted),
        SECPOL_ABORTED);
    del.expected_version = 2;
    del.actor = "ops@example.com";
    assert_int_equal (
        secpol_client_call (client, S_DELETE, &del.base, (ProtobufCMessage **)&deleted), SECPOL_OK);
    assert_true (deleted->deleted);
    assert_int_equal (deleted->policy->session_timeout_minutes, 40);
    assert_int_equal (deleted->policy->login_lockout->max_failures, 5);
    assert_int_equal (deleted->policy->version, 3);
    s_free (deleted);
    community = s_get (client, ws, "c1");
    assert_int_equal (community->session_timeout_minutes, 40);
    assert_int_equal (community->version, 3);
    assert_string_equal (community->updated_by, "ops@example.com");
    s_free (community);
    /* nothing left to delete */
    del.expected_version = 0;
    assert_int_equal (
        secpol_client_call (client, S_DELETE, &del.base, (ProtobufCMessage **)&deleted), SECPOL_OK);
    assert_false (deleted->deleted);
    assert_int_equal (deleted->policy->version, 3);
    s_free (deleted);

    /* the community can override again; its versions keep counting */
    policy.session_timeout_minutes = 12;
    assert_int_equal (s_update (client, &out, ws, "c1", 3, &policy, "session_timeout_minutes"),
                      SECPOL_OK);
    assert_int_equal (out->version, 4);
    s_free (out);

    /* the community's history, newest first: override, delete, ... */
    Secpol__V1__ListPolicyRevisionsRequest list = SECPOL__V1__LIST_POLICY_REVISIONS_REQUEST__INIT;
    list.workspace_id = (char *)ws;
    list.community_id = "c1";
    Secpol__V1__ListPolicyRevisionsResponse *history = NULL;
    assert_int_equal (
        secpol_client_call (client, S_HISTORY, &list.base, (ProtobufCMessage **)&history),
        SECPOL_OK);
    assert_int_equal (history->n_revisions, 4);
    assert_int_equal (history->revisions[0]->version, 4);
    Secpol__V1__PolicyRevision *gone = history->revisions[1];
    assert_int_equal (gone->version, 3);
    assert_true (gone->deleted);
    assert_string_equal (gone->actor, "ops@example.com");
    assert_int_equal (gone->n_changes, 2);
    assert_string_equal (gone->changes[0]->field, "session_timeout_minutes");
    assert_string_equal (gone->changes[0]->old_value, "10");
    assert_string_equal (gone->changes[0]->new_value, "40");
    assert_true (gone->changes[0]->new_inherited);
    assert_string_equal (gone->changes[1]->field, "login_lockout.max_failures");
    assert_string_equal (gone->changes[1]->old_value, "3");
    assert_string_equal (gone->changes[1]->new_value, "5");
    s_free (history);
    secpol_client_destroy (&client);
}

/* --- concurrency --------------------------------------------------------------------------- */

static void
test_version_conflict_with_two_clients (void **state)
{
    secpol_client_t *alice = secpol_test_client (*state);
    secpol_client_t *bob = secpol_test_client (*state);
    const char *ws = "ws-conflict";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.captcha_enabled = true;
    assert_int_equal (s_update (alice, NULL, ws, "", 0, &policy, "captcha_enabled"), SECPOL_OK);

    /* both read version 1 */
    Secpol__V1__Policy *seen_by_alice = s_get (alice, ws, "");
    Secpol__V1__Policy *seen_by_bob = s_get (bob, ws, "");
    assert_int_equal (seen_by_alice->version, 1);
    assert_int_equal (seen_by_bob->version, 1);

    /* alice writes first and wins */
    seen_by_alice->session_timeout_minutes = 15;
    assert_int_equal (s_update (alice, NULL, ws, "", seen_by_alice->version, seen_by_alice,
                                "session_timeout_minutes"),
                      SECPOL_OK);
    /* bob's write, based on version 1, is refused */
    seen_by_bob->session_timeout_minutes = 60;
    assert_int_equal (
        s_update (bob, NULL, ws, "", seen_by_bob->version, seen_by_bob, "session_timeout_minutes"),
        SECPOL_ABORTED);
    assert_non_null (strstr (secpol_client_status (bob)->message, "version 2"));

    Secpol__V1__Policy *now = s_get (bob, ws, "");
    assert_int_equal (now->session_timeout_minutes, 15);
    assert_int_equal (now->version, 2);
    /* bob re-reads and retries: accepted */
    now->session_timeout_minutes = 60;
    assert_int_equal (s_update (bob, NULL, ws, "", now->version, now, "session_timeout_minutes"),
                      SECPOL_OK);
    s_free (now);
    s_free (seen_by_alice);
    s_free (seen_by_bob);
    secpol_client_destroy (&alice);
    secpol_client_destroy (&bob);
}

#define WRITES 25

typedef struct {
    const char *endpoint; /* secpold's */
    const char *mask;     /* the one setting this writer changes */
    int failures;         /* calls that did not answer OK */
} writer_t;

static void *
s_writer (void *arg)
{
    writer_t *writer = arg;
    /* not secpol_test_client: cmocka cannot fail a test from this thread */
    secpol_client_t *client = secpol_client_new (writer->endpoint, 10000);
    if (!client) {
        writer->failures = WRITES;
        return NULL;
    }
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.login_lockout = &lockout;
    for (uint32_t k = 1; k <= WRITES; k++) {
        policy.session_timeout_minutes = 100 + k;
        lockout.max_failures = 10 + k;
        if (s_update (client, NULL, "ws-concurrent", "", 0, &policy, writer->mask) != SECPOL_OK)
            writer->failures++;
    }
    secpol_client_destroy (&client);
    return NULL;
}

static void
test_concurrent_writers_of_different_settings (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    /* two clients in two threads, each changing its own setting: neither
     * loses the other's writes (each update reads and writes its level in
     * the WRITE lane, one at a time) */
    writer_t writers[2] = {{daemon->endpoint, "session_timeout_minutes", 0},
                           {daemon->endpoint, "login_lockout.max_failures", 0}};
    pthread_t threads[2];
    for (int k = 0; k < 2; k++)
        assert_int_equal (pthread_create (&threads[k], NULL, s_writer, &writers[k]), 0);
    for (int k = 0; k < 2; k++)
        pthread_join (threads[k], NULL);
    assert_int_equal (writers[0].failures, 0);
    assert_int_equal (writers[1].failures, 0);

    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__Policy *policy = s_get (client, "ws-concurrent", "");
    assert_int_equal (policy->session_timeout_minutes, 100 + WRITES);
    assert_int_equal (policy->login_lockout->max_failures, 10 + WRITES);
    assert_int_equal (policy->version, 2 * WRITES); /* every write changed something */
    s_free (policy);
    secpol_client_destroy (&client);
}

/* --- revisions ------------------------------------------------------------------------------ */

static void
test_revisions_newest_first_with_paging (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const char *ws = "ws-history";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    for (uint32_t k = 1; k <= 7; k++) {
        policy.password_reuse_limit = k;
        assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "password_reuse_limit"),
                          SECPOL_OK);
    }
    Secpol__V1__ListPolicyRevisionsRequest request =
        SECPOL__V1__LIST_POLICY_REVISIONS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.page_size = 3;
    uint64_t expected_version = 7;
    int pages = 0;
    char token[64] = "";
    do {
        request.page_token = token;
        Secpol__V1__ListPolicyRevisionsResponse *page = NULL;
        assert_int_equal (
            secpol_client_call (client, S_HISTORY, &request.base, (ProtobufCMessage **)&page),
            SECPOL_OK);
        pages++;
        assert_true (page->n_revisions <= 3);
        for (size_t k = 0; k < page->n_revisions; k++) {
            Secpol__V1__PolicyRevision *revision = page->revisions[k];
            assert_int_equal (revision->version, expected_version);
            assert_string_equal (revision->actor, "admin@example.com");
            assert_true (revision->changed_at > 0);
            assert_int_equal (revision->n_changes, 1);
            assert_string_equal (revision->changes[0]->field, "password_reuse_limit");
            char old_value[16], new_value[16];
            /* version 1 changed the default 0 to 1 */
            snprintf (old_value, sizeof old_value, "%u", (unsigned)expected_version - 1);
            snprintf (new_value, sizeof new_value, "%u", (unsigned)expected_version);
            assert_string_equal (revision->changes[0]->old_value, old_value);
            assert_string_equal (revision->changes[0]->new_value, new_value);
            assert_int_equal (revision->changes[0]->old_inherited, expected_version == 1);
            expected_version--;
        }
        snprintf (token, sizeof token, "%s", page->next_page_token);
        s_free (page);
    } while (*token);
    assert_int_equal (pages, 3);
    assert_int_equal (expected_version, 0);

    /* a token that is not one of ours */
    request.page_token = "r1-zzzz";
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_HISTORY, &request.base, &response),
                      SECPOL_INVALID_ARGUMENT);
    const char *fields[] = {"page_token"};
    secpol_test_assert_violations (client, fields, 1);

    /* page_size 0 means 50: all seven at once */
    request.page_token = "";
    request.page_size = 0;
    Secpol__V1__ListPolicyRevisionsResponse *all = NULL;
    assert_int_equal (
        secpol_client_call (client, S_HISTORY, &request.base, (ProtobufCMessage **)&all),
        SECPOL_OK);
    assert_int_equal (all->n_revisions, 7);
    assert_string_equal (all->next_page_token, "");
    s_free (all);
    secpol_client_destroy (&client);
}

/* --- headers and uploads ---------------------------------------------------------------------- */

static Secpol__V1__RenderSecurityHeadersResponse *
s_headers (secpol_client_t *client, const char *ws, const char *community)
{
    Secpol__V1__RenderSecurityHeadersRequest request =
        SECPOL__V1__RENDER_SECURITY_HEADERS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.community_id = (char *)community;
    Secpol__V1__RenderSecurityHeadersResponse *response = NULL;
    assert_int_equal (
        secpol_client_call (client, S_HEADERS, &request.base, (ProtobufCMessage **)&response),
        SECPOL_OK);
    return response;
}

static const char *
s_header_value (const Secpol__V1__RenderSecurityHeadersResponse *response, const char *name)
{
    for (size_t k = 0; k < response->n_headers; k++)
        if (strcmp (response->headers[k]->name, name) == 0)
            return response->headers[k]->value;
    return NULL;
}

static void
test_security_headers (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const char *ws = "ws-headers";
    Secpol__V1__RenderSecurityHeadersResponse *headers = s_headers (client, ws, "");
    assert_string_equal (s_header_value (headers, "Strict-Transport-Security"),
                         "max-age=31536000; includeSubDomains");
    assert_string_equal (s_header_value (headers, "X-XSS-Protection"), "0");
    assert_string_equal (s_header_value (headers, "X-Content-Type-Options"), "nosniff");
    assert_string_equal (s_header_value (headers, "Referrer-Policy"),
                         "strict-origin-when-cross-origin");
    assert_null (s_header_value (headers, "Public-Key-Pins"));
    assert_null (s_header_value (headers, "Expect-CT"));
    assert_null (s_header_value (headers, "Cross-Origin-Embedder-Policy"));
    assert_int_equal (headers->n_warnings, 0);
    s_free (headers);

    /* a community that preloads HSTS and sets the deprecated headers */
    Secpol__V1__HstsSettings hsts = SECPOL__V1__HSTS_SETTINGS__INIT;
    hsts.enabled = true;
    hsts.max_age_days = 365;
    hsts.include_subdomains = true;
    hsts.preload = true;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.hsts = &hsts;
    policy.expect_ct = "max-age=86400, enforce";
    policy.xss_protection_enabled = true;
    assert_int_equal (
        s_update (client, NULL, ws, "c1", 0, &policy, "hsts,expect_ct,xss_protection_enabled"),
        SECPOL_OK);
    headers = s_headers (client, ws, "c1");
    assert_string_equal (s_header_value (headers, "Strict-Transport-Security"),
                         "max-age=31536000; includeSubDomains; preload");
    assert_string_equal (s_header_value (headers, "X-XSS-Protection"), "1; mode=block");
    assert_string_equal (s_header_value (headers, "Expect-CT"), "max-age=86400, enforce");
    assert_int_equal (headers->n_warnings, 2);
    s_free (headers);

    /* preload without includeSubDomains is refused (hstspreload.org) */
    hsts.include_subdomains = false;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "hsts"), SECPOL_INVALID_ARGUMENT);
    const char *fields[] = {"policy.hsts.preload"};
    secpol_test_assert_violations (client, fields, 1);

    /* the workspace turns HSTS off: the community keeps its own HSTS group */
    hsts.enabled = false;
    hsts.preload = false;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "hsts"), SECPOL_OK);
    headers = s_headers (client, ws, "");
    assert_null (s_header_value (headers, "Strict-Transport-Security"));
    s_free (headers);
    headers = s_headers (client, ws, "c1");
    assert_non_null (s_header_value (headers, "Strict-Transport-Security"));
    s_free (headers);
    secpol_client_destroy (&client);
}

static Secpol__V1__CheckFileUploadResponse *
s_upload (secpol_client_t *client, const char *ws, const char *filename)
{
    Secpol__V1__CheckFileUploadRequest request = SECPOL__V1__CHECK_FILE_UPLOAD_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.filename = (char *)filename;
    Secpol__V1__CheckFileUploadResponse *response = NULL;
    int code = secpol_client_call (client, S_UPLOAD, &request.base, (ProtobufCMessage **)&response);
    if (code != SECPOL_OK)
        fail_msg ("CheckFileUpload \"%s\": %s", filename, secpol_status_name (code));
    return response;
}

static void
test_file_name_battery (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const struct {
        const char *name;
        bool allowed;
        const char *extension;
    } cases[] = {
        {"report.pdf", true, "pdf"},
        {"report.pdf.exe", false, "exe"},
        {"../../etc/passwd", false, ""},
        {"C:\\x\\y.PDF", true, "pdf"},
        {"a.pdf. . ", true, "pdf"},
        {"noext", false, ""},
        {"a.PdF", true, "pdf"},
        {".bashrc", false, ""},
        {"a\x01.pdf", false, ""},
        {"a\r\n.pdf", false, ""},
        {"report\xe2\x80\xae"
         "fdp.exe",
         false, ""},
        {"a.exe:x.pdf", false, ""},
        {"r\xc3\xa9sum\xc3\xa9.docx", true, "docx"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Secpol__V1__CheckFileUploadResponse *out = s_upload (client, "ws-upload", cases[k].name);
        if (!!out->allowed != cases[k].allowed || strcmp (out->extension, cases[k].extension))
            fail_msg ("\"%s\": allowed=%d extension=%s reason=%s", cases[k].name, out->allowed,
                      out->extension, out->reason);
        assert_true (cases[k].allowed ? !*out->reason : !!*out->reason);
        s_free (out);
    }

    /* the workspace's list decides, and a community inherits it */
    char *extensions[] = {"exe"};
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.n_allowed_file_extensions = 1;
    policy.allowed_file_extensions = extensions;
    assert_int_equal (
        s_update (client, NULL, "ws-upload", "", 0, &policy, "allowed_file_extensions"), SECPOL_OK);
    Secpol__V1__CheckFileUploadRequest request = SECPOL__V1__CHECK_FILE_UPLOAD_REQUEST__INIT;
    request.workspace_id = "ws-upload";
    request.community_id = "c9";
    request.filename = "report.pdf.exe";
    Secpol__V1__CheckFileUploadResponse *out = NULL;
    assert_int_equal (
        secpol_client_call (client, S_UPLOAD, &request.base, (ProtobufCMessage **)&out), SECPOL_OK);
    assert_true (out->allowed);
    s_free (out);

    /* no name at all */
    request.filename = "";
    assert_int_equal (
        secpol_client_call (client, S_UPLOAD, &request.base, (ProtobufCMessage **)&out),
        SECPOL_INVALID_ARGUMENT);
    const char *fields[] = {"filename"};
    secpol_test_assert_violations (client, fields, 1);
    secpol_client_destroy (&client);
}

/*  Appends a length-delimited field (tag, bytes) to buf. */
static size_t
s_field (uint8_t *buf, unsigned number, const void *data, size_t size)
{
    size_t n = 0;
    buf[n++] = (uint8_t)((number << 3) | 2);
    buf[n++] = (uint8_t)size; /* < 128 in this test */
    memcpy (buf + n, data, size);
    return n + size;
}

static void
test_nul_in_file_name_over_the_wire (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    /* protobuf-c unpacks a string into a NUL-terminated C string, so
     * "a.pdf\0.exe" sent as the raw bytes of the filename field would read
     * as "a.pdf" if nothing looked at the wire. It must be refused. */
    uint8_t body[128];
    size_t body_size = s_field (body, 1, "ws-nul", 6); /* defaults: pdf allowed, exe not */
    body_size += s_field (body + body_size, 3, "a.pdf\0.exe", 10);
    uint8_t header[128];
    size_t header_size = secpol_test_pack_header (header, sizeof header, S_UPLOAD, 42, NULL);

    /* without the NUL trick the same workspace allows the .pdf part */
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__CheckFileUploadResponse *plain = s_upload (client, "ws-nul", "a.pdf");
    assert_true (plain->allowed);
    s_free (plain);
    secpol_client_destroy (&client);

    const void *frames[] = {header, body};
    size_t sizes[] = {header_size, body_size};
    secpol_test_reply_t reply = secpol_test_exchange (daemon, 2, frames, sizes, true, 5000);
    assert_int_equal (reply.frames, 2);
    assert_int_equal (reply.call_id, 42);
    if (reply.code == SECPOL_OK) {
        Secpol__V1__CheckFileUploadResponse *out =
            secpol__v1__check_file_upload_response__unpack (NULL, reply.body_size, reply.body);
        assert_non_null (out);
        if (out->allowed)
            fail_msg ("\"a.pdf\\0.exe\" was allowed as \"%s\"", out->extension);
        s_free (out);
    } else {
        assert_int_equal (reply.code, SECPOL_INVALID_ARGUMENT);
        assert_non_null (strstr (reply.message, "filename"));
    }
}

/* --- durability ------------------------------------------------------------------------------- */

static void
test_policy_survives_restart (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.max_inactive_days = 90;
    policy.content_security_policy = "default-src 'none'";
    assert_int_equal (s_update (client, NULL, "ws-durable", "", 0, &policy,
                                "max_inactive_days,content_security_policy"),
                      SECPOL_OK);
    assert_int_equal (s_update (client, NULL, "ws-durable", "c1", 0, &policy, "max_inactive_days"),
                      SECPOL_OK);
    secpol_client_destroy (&client);

    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);

    client = secpol_test_client (daemon);
    Secpol__V1__Policy *after = s_get (client, "ws-durable", "");
    assert_int_equal (after->max_inactive_days, 90);
    assert_string_equal (after->content_security_policy, "default-src 'none'");
    assert_int_equal (after->version, 1);
    s_free (after);
    after = s_get (client, "ws-durable", "c1");
    assert_int_equal (after->version, 1);
    s_free (after);
    Secpol__V1__ListPolicyRevisionsRequest list = SECPOL__V1__LIST_POLICY_REVISIONS_REQUEST__INIT;
    list.workspace_id = "ws-durable";
    Secpol__V1__ListPolicyRevisionsResponse *history = NULL;
    assert_int_equal (
        secpol_client_call (client, S_HISTORY, &list.base, (ProtobufCMessage **)&history),
        SECPOL_OK);
    assert_int_equal (history->n_revisions, 1);
    assert_int_equal (history->revisions[0]->n_changes, 2);
    s_free (history);
    secpol_client_destroy (&client);
}

/* --- issue 7: policy fixes and write logs ------------------------------------------- */

/*  Set 5, delete, then 1: refused, and the effective value stays 5, also
 *  after a restart (the level's record keeps the high-water mark). */
static void
test_force_password_reset_never_goes_down_across_deletes (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    const char *ws = "ws-generation";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.force_password_reset = 5;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "force_password_reset"),
                      SECPOL_OK);

    Secpol__V1__DeletePolicyRequest del = SECPOL__V1__DELETE_POLICY_REQUEST__INIT;
    del.workspace_id = (char *)ws;
    Secpol__V1__DeletePolicyResponse *deleted = NULL;
    assert_int_equal (
        secpol_client_call (client, S_DELETE, &del.base, (ProtobufCMessage **)&deleted), SECPOL_OK);
    assert_true (deleted->deleted);
    assert_int_equal (deleted->policy->force_password_reset, 5);
    s_free (deleted);

    policy.force_password_reset = 1;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "force_password_reset"),
                      SECPOL_INVALID_ARGUMENT);
    const char *force[] = {"policy.force_password_reset"};
    secpol_test_assert_violations (client, force, 1);
    assert_non_null (strstr (secpol_client_status (client)->violation_descriptions[0], "it is 5"));
    secpol_client_destroy (&client);

    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    client = secpol_test_client (daemon);
    Secpol__V1__Policy *after = s_get (client, ws, "");
    assert_int_equal (after->force_password_reset, 5);
    assert_int_equal (after->version, 2);
    s_free (after);
    /* a community starts from the workspace's mark */
    Secpol__V1__Policy *community = s_get (client, ws, "c1");
    assert_int_equal (community->force_password_reset, 5);
    s_free (community);
    assert_int_equal (s_update (client, NULL, ws, "c1", 0, &policy, "force_password_reset"),
                      SECPOL_INVALID_ARGUMENT);
    policy.force_password_reset = 6;
    Secpol__V1__Policy *raised = NULL;
    assert_int_equal (s_update (client, &raised, ws, "", 0, &policy, "force_password_reset"),
                      SECPOL_OK);
    assert_int_equal (raised->force_password_reset, 6);
    s_free (raised);
    secpol_client_destroy (&client);
}

/*  A header value of spaces is refused; all headers together are capped at
 *  8 KiB (SECPOL_POLICY_HEADERS_BYTES_MAX) and nothing is stored past it. */
static void
test_header_values_and_their_total (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    const char *ws = "ws-headers-cap";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.content_security_policy = "   ";
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "content_security_policy"),
                      SECPOL_INVALID_ARGUMENT);
    const char *csp[] = {"policy.content_security_policy"};
    secpol_test_assert_violations (client, csp, 1);

    /* 6000 + 3000 bytes: each within its own limit, over the total */
    static char big_csp[6001], big_permissions[3001];
    memset (big_csp, 'a', 6000);
    memset (big_permissions, 'b', 3000);
    policy.permissions_policy = big_permissions;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "permissions_policy"), SECPOL_OK);
    policy.content_security_policy = big_csp;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "content_security_policy"),
                      SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, csp, 1);
    const char *description = secpol_client_status (client)->violation_descriptions[0];
    assert_non_null (strstr (description, "8192"));
    Secpol__V1__Policy *after = s_get (client, ws, "");
    assert_int_equal (after->version, 1);
    assert_string_equal (after->permissions_policy, big_permissions);
    s_free (after);

    /* both in one update: the longer value is the one named */
    assert_int_equal (
        s_update (client, NULL, ws, "", 0, &policy, "permissions_policy,content_security_policy"),
        SECPOL_INVALID_ARGUMENT);
    secpol_test_assert_violations (client, csp, 1);

    /* other settings of the level still change */
    policy.session_timeout_minutes = 20;
    assert_int_equal (s_update (client, NULL, ws, "", 0, &policy, "session_timeout_minutes"),
                      SECPOL_OK);

    /* the rendered headers stay within the cap */
    Secpol__V1__RenderSecurityHeadersRequest request =
        SECPOL__V1__RENDER_SECURITY_HEADERS_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    Secpol__V1__RenderSecurityHeadersResponse *headers = NULL;
    assert_int_equal (
        secpol_client_call (client, S_HEADERS, &request.base, (ProtobufCMessage **)&headers),
        SECPOL_OK);
    size_t total = 0;
    for (size_t k = 0; k < headers->n_headers; k++)
        total += strlen (headers->headers[k]->name) + 2 + strlen (headers->headers[k]->value) + 2;
    assert_true (total > 3000 && total <= 8192);
    s_free (headers);
    secpol_client_destroy (&client);
}

static void
test_unknown_setting_suggests_the_nearest (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    assert_int_equal (
        s_update (client, NULL, "ws-typo", "", 0, &policy, "sesion_timeout_minutes,login_lockuot"),
        SECPOL_INVALID_ARGUMENT);
    const char *mask_only[] = {"update_mask"};
    secpol_test_assert_violations (client, mask_only, 1);
    const char *description = secpol_client_status (client)->violation_descriptions[0];
    assert_non_null (
        strstr (description, "\"sesion_timeout_minutes\" (did you mean session_timeout_minutes?)"));
    assert_non_null (strstr (description, "\"login_lockuot\" (did you mean login_lockout?)"));
    secpol_client_destroy (&client);
}

/*  The line of the log that holds every one of the patterns, or NULL. */
static char *
s_log_line (char *log, const char *const *patterns)
{
    for (char *line = strtok (log, "\n"); line; line = strtok (NULL, "\n")) {
        bool all = true;
        for (size_t k = 0; patterns[k] && all; k++)
            all = strstr (line, patterns[k]) != NULL;
        if (all)
            return line;
    }
    return NULL;
}

/*  Each write is logged at info once committed: method, workspace,
 *  community, actor, new version and the changed paths, never a value; a
 *  client's text stays inside its quoted field. */
static void
test_writes_are_logged_without_values (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.session_timeout_minutes = 17;
    policy.content_security_policy = "default-src 'none'; report-uri https://secret.example";
    char *mask[] = {"session_timeout_minutes", "content_security_policy"};
    request.workspace_id = "ws-log";
    request.community_id = "c 1";
    request.actor = "mallory level=error msg=\"forged\"";
    request.policy = &policy;
    request.n_update_mask = 2;
    request.update_mask = mask;
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_UPDATE, &request.base, &response), SECPOL_OK);
    s_free (response);
    Secpol__V1__DeletePolicyRequest del = SECPOL__V1__DELETE_POLICY_REQUEST__INIT;
    del.workspace_id = "ws-log";
    del.community_id = "c 1";
    del.actor = "alice";
    assert_int_equal (secpol_client_call (client, S_DELETE, &del.base, &response), SECPOL_OK);
    s_free (response);
    secpol_client_destroy (&client);

    /* the reply comes after the line is written */
    char *log = NULL;
    assert_int_equal (secpol_test_run (daemon, &log, "cat '%s'", daemon->log_path), 0);
    assert_null (strstr (log, "secret.example"));
    assert_null (strstr (log, " level=error msg=\"forged\""));
    const char *update[] = {"level=info msg=write method=/secpol.v1.PolicyService/UpdatePolicy",
                            "workspace=ws-log",
                            "community=\"c 1\"",
                            "actor=\"mallory level=error msg=\\\"forged\\\"\"",
                            "version=1",
                            "fields=session_timeout_minutes,content_security_policy",
                            NULL};
    char *copy = strdup (log);
    if (!s_log_line (copy, update))
        fail_msg ("no write line for the update in:\n%s", log);
    free (copy);
    const char *deleted[] = {"msg=write method=/secpol.v1.PolicyService/DeletePolicy",
                             "workspace=ws-log",
                             "actor=alice",
                             "version=2",
                             "deleted=true",
                             NULL};
    copy = strdup (log);
    if (!s_log_line (copy, deleted))
        fail_msg ("no write line for the delete in:\n%s", log);
    free (copy);
    free (log);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_defaults_before_any_write),
        SECPOL_TEST_WITH_DAEMON (test_update_with_masks),
        SECPOL_TEST_WITH_DAEMON (test_invalid_update_stores_nothing),
        SECPOL_TEST_WITH_DAEMON (test_community_inheritance_and_delete),
        SECPOL_TEST_WITH_DAEMON (test_version_conflict_with_two_clients),
        SECPOL_TEST_WITH_DAEMON (test_concurrent_writers_of_different_settings),
        SECPOL_TEST_WITH_DAEMON (test_revisions_newest_first_with_paging),
        SECPOL_TEST_WITH_DAEMON (test_security_headers),
        SECPOL_TEST_WITH_DAEMON (test_file_name_battery),
        SECPOL_TEST_WITH_DAEMON (test_nul_in_file_name_over_the_wire),
        SECPOL_TEST_WITH_DAEMON (test_policy_survives_restart),
        SECPOL_TEST_WITH_DAEMON (test_force_password_reset_never_goes_down_across_deletes),
        SECPOL_TEST_WITH_DAEMON (test_header_values_and_their_total),
        SECPOL_TEST_WITH_DAEMON (test_unknown_setting_suggests_the_nearest),
        SECPOL_TEST_WITH_DAEMON (test_writes_are_logged_without_values),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
