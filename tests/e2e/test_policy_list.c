/*  test_policy_list.c - PolicyService/ListPolicies against a real secpold:
 *  which workspaces and communities have a stored level, in pages, for
 *  every workspace or one; reads never create a level; a deleted level
 *  stays listed; page tokens from elsewhere are refused.
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define S_GET    "/secpol.v1.PolicyService/GetPolicy"
#define S_UPDATE "/secpol.v1.PolicyService/UpdatePolicy"
#define S_DELETE "/secpol.v1.PolicyService/DeletePolicy"
#define S_LIST   "/secpol.v1.PolicyService/ListPolicies"

/*  Sets session_timeout_minutes of one level. */
static void
s_write (secpol_client_t *client, const char *ws, const char *community)
{
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.session_timeout_minutes = 20;
    char *mask[] = {"session_timeout_minutes"};
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.community_id = (char *)community;
    request.policy = &policy;
    request.n_update_mask = 1;
    request.update_mask = mask;
    request.actor = "alice";
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_UPDATE, &request.base, &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
}

static int
s_list (secpol_client_t *client, const char *ws, uint32_t page_size, const char *token,
        Secpol__V1__ListPoliciesResponse **out_p)
{
    Secpol__V1__ListPoliciesRequest request = SECPOL__V1__LIST_POLICIES_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.page_size = page_size;
    request.page_token = (char *)token;
    *out_p = NULL;
    return secpol_client_call (client, S_LIST, &request.base, (ProtobufCMessage **)out_p);
}

/*  Every level of the listing, page by page, as "ws/community" lines. */
static char *
s_all_levels (secpol_client_t *client, const char *ws, uint32_t page_size, int *pages_p)
{
    static char text[4096];
    text[0] = 0;
    char token[1024] = "";
    *pages_p = 0;
    do {
        Secpol__V1__ListPoliciesResponse *page = NULL;
        assert_int_equal (s_list (client, ws, page_size, token, &page), SECPOL_OK);
        assert_true (page->n_levels <= (page_size ? page_size : 50));
        for (size_t k = 0; k < page->n_levels; k++)
            snprintf (text + strlen (text), sizeof text - strlen (text), "%s/%s\n",
                      page->levels[k]->workspace_id, page->levels[k]->community_id);
        snprintf (token, sizeof token, "%s", page->next_page_token);
        protobuf_c_message_free_unpacked (&page->base, NULL);
        (*pages_p)++;
    } while (*token && *pages_p < 100);
    return text;
}

static void
test_stored_levels_are_listed (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);

    /* nothing written: nothing listed, and reading does not create a level */
    Secpol__V1__GetPolicyRequest get = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    get.workspace_id = "acme";
    ProtobufCMessage *policy = NULL;
    assert_int_equal (secpol_client_call (client, S_GET, &get.base, &policy), SECPOL_OK);
    protobuf_c_message_free_unpacked (policy, NULL);
    Secpol__V1__ListPoliciesResponse *page = NULL;
    assert_int_equal (s_list (client, "", 0, "", &page), SECPOL_OK);
    assert_int_equal (page->n_levels, 0);
    assert_string_equal (page->next_page_token, "");
    protobuf_c_message_free_unpacked (&page->base, NULL);

    s_write (client, "acme", "");
    s_write (client, "acme", "research");
    s_write (client, "acme", ""); /* the same value again: no change, listed once */
    s_write (client, "beta", "");
    s_write (client, "acme-labs", "ops");

    int pages;
    /* shorter workspace ids first (store order), a workspace before its communities */
    const char *every = "acme/\nacme/research\nbeta/\nacme-labs/ops\n";
    assert_string_equal (s_all_levels (client, "", 0, &pages), every);
    assert_int_equal (pages, 1);
    assert_string_equal (s_all_levels (client, "", 1, &pages), every);
    assert_int_equal (pages, 4);
    assert_string_equal (s_all_levels (client, "", 3, &pages), every);
    assert_int_equal (pages, 2);
    /* page_size past 500 is coerced, not refused */
    assert_string_equal (s_all_levels (client, "", 100000, &pages), every);

    /* one workspace: its own levels, not acme-labs' */
    assert_string_equal (s_all_levels (client, "acme", 1, &pages), "acme/\nacme/research\n");
    assert_int_equal (pages, 2);
    assert_string_equal (s_all_levels (client, "nobody", 0, &pages), "");

    /* what each level says about itself */
    assert_int_equal (s_list (client, "acme", 0, "", &page), SECPOL_OK);
    assert_int_equal (page->n_levels, 2);
    assert_int_equal (page->levels[0]->version, 1);
    assert_int_equal (page->levels[0]->overridden_settings, 1);
    assert_string_equal (page->levels[0]->updated_by, "alice");
    assert_true (page->levels[0]->updated_at > 0);
    assert_int_equal (page->levels[1]->version, 1);
    protobuf_c_message_free_unpacked (&page->base, NULL);

    /* a deleted level stays, keeps counting, and sets nothing */
    Secpol__V1__DeletePolicyRequest del = SECPOL__V1__DELETE_POLICY_REQUEST__INIT;
    del.workspace_id = "beta";
    ProtobufCMessage *deleted = NULL;
    assert_int_equal (secpol_client_call (client, S_DELETE, &del.base, &deleted), SECPOL_OK);
    protobuf_c_message_free_unpacked (deleted, NULL);
    assert_int_equal (s_list (client, "beta", 0, "", &page), SECPOL_OK);
    assert_int_equal (page->n_levels, 1);
    assert_int_equal (page->levels[0]->version, 2);
    assert_int_equal (page->levels[0]->overridden_settings, 0);
    protobuf_c_message_free_unpacked (&page->base, NULL);
    secpol_client_destroy (&client);
}

static void
test_bad_tokens_and_ids_are_refused (void **state)
{
    secpol_client_t *client = secpol_test_client (*state);
    s_write (client, "acme", "");
    s_write (client, "acme", "c1");
    s_write (client, "beta", "");

    Secpol__V1__ListPoliciesResponse *page = NULL;
    const char *bad[] = {"nope",           "l1-", "l1-0", "l1-zz", "r1-0000000000000001", "l1-0000",
                         "l1-04616377656d"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal (s_list (client, "", 0, bad[k], &page), SECPOL_INVALID_ARGUMENT);
        const secpol_client_status_t *status = secpol_client_status (client);
        assert_int_equal (status->n_violations, 1);
        assert_string_equal (status->violation_fields[0], "page_token");
    }

    /* a token of one workspace's listing does not walk another's */
    assert_int_equal (s_list (client, "acme", 1, "", &page), SECPOL_OK);
    char token[1024];
    snprintf (token, sizeof token, "%s", page->next_page_token);
    protobuf_c_message_free_unpacked (&page->base, NULL);
    assert_true (*token);
    assert_int_equal (s_list (client, "beta", 1, token, &page), SECPOL_INVALID_ARGUMENT);
    assert_int_equal (s_list (client, "acme", 1, token, &page), SECPOL_OK);
    assert_int_equal (page->n_levels, 1);
    assert_string_equal (page->levels[0]->community_id, "c1");
    protobuf_c_message_free_unpacked (&page->base, NULL);
    /* and it continues the unfiltered listing too (it is a position) */
    assert_int_equal (s_list (client, "", 10, token, &page), SECPOL_OK);
    assert_int_equal (page->n_levels, 2);
    protobuf_c_message_free_unpacked (&page->base, NULL);

    assert_int_equal (s_list (client, "a\nb", 0, "", &page), SECPOL_INVALID_ARGUMENT);
    assert_string_equal (secpol_client_status (client)->violation_fields[0], "workspace_id");
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_stored_levels_are_listed),
        SECPOL_TEST_WITH_DAEMON (test_bad_tokens_and_ids_are_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
