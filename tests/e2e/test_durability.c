/*  test_durability.c - an acknowledged write survives kill -9.
 *
 *  Durable means durable: secpold answers a write only after its LMDB
 *  transaction is committed with sync. Pipelined writes (so the WRITE lane
 *  group-commits them) are acknowledged, then secpold is killed with
 *  SIGKILL, no drain, no clean close. A new secpold on the same store must
 *  show every acknowledged write.
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/v1/policy.pb-c.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>
#include <cmocka.h>

#define N_WRITES 200

static void
test_acknowledged_writes_survive_sigkill (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    secpol_client_t *client = secpol_test_client (daemon);

    /* N_WRITES updates in flight at once, each to its own workspace */
    char ids[N_WRITES][32];
    for (int i = 0; i < N_WRITES; i++) {
        snprintf (ids[i], sizeof ids[i], "durable-%03d", i);
        Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
        policy.session_timeout_minutes = (uint32_t)(10 + i);
        char *mask[] = {"session_timeout_minutes"};
        Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
        request.workspace_id = ids[i];
        request.policy = &policy;
        request.n_update_mask = 1;
        request.update_mask = mask;
        uint64_t call_id;
        assert_int_equal (secpol_client_send (client, "/secpol.v1.PolicyService/UpdatePolicy",
                                              &request.base, &call_id),
                          SECPOL_OK);
    }
    for (int i = 0; i < N_WRITES; i++) {
        uint64_t call_id;
        assert_int_equal (secpol_client_recv (client, 10000, &call_id, NULL), SECPOL_OK);
    }
    secpol_client_destroy (&client);

    /* every write is acknowledged: pull the plug */
    int status = secpol_test_daemon_kill (daemon, SIGKILL);
    assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);

    client = secpol_test_client (daemon);
    for (int i = 0; i < N_WRITES; i++) {
        Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
        request.workspace_id = ids[i];
        ProtobufCMessage *response = NULL;
        assert_int_equal (secpol_client_call (client, "/secpol.v1.PolicyService/GetPolicy",
                                              &request.base, &response),
                          SECPOL_OK);
        Secpol__V1__Policy *policy = (Secpol__V1__Policy *)response;
        assert_int_equal (policy->session_timeout_minutes, 10 + i);
        assert_int_equal (policy->version, 1);
        protobuf_c_message_free_unpacked (response, NULL);
    }
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_acknowledged_writes_survive_sigkill),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
