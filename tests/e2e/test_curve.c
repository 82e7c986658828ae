/*  test_curve.c - CURVE and roles through the C client against a real
 *  secpold (issue 12, docs/SECURITY.md): keys made by `secpolctl keygen`,
 *  the server's and the client's given to the library through its options
 *  and through SECPOL_SERVER_KEY / SECPOL_CLIENT_CERT. An unknown key is
 *  refused at the handshake, which the client reports at once
 *  (UNAUTHENTICATED, with no timeout to wait for), and secpold keeps
 *  serving; with several instances, one refusing is skipped and only all
 *  refusing fail a call;
 *  a service key cannot update policy or unlock (PERMISSION_DENIED,
 *  nothing changed), an admin key can, and its certificate name is the
 *  revision's caller; a key removed from the directory is refused after
 *  the reload, on a connection made before too, with no restart.
 *
 *  Standards: CurveZMQ (RFC 26) and ZAP (RFC 27).
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/policy.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define S_POLICY "/secpol.v1.PolicyService/"
#define S_UNLOCK "/secpol.v1.LockoutService/Unlock"
#define S_FAIL   "/secpol.v1.LockoutService/RecordFailure"
#define S_HEALTH "/secpol.v1.Health/Check"

typedef struct {
    secpol_test_daemon_t daemon;
    secpol_test_daemon_t second; /* test_several_instances: its allow-list is other/ */
    char keys[256];              /* temp dir: server/, authorized/, other/ */
    char server_public[300];
    char admin_cert[300];   /* ops_secret, role admin */
    char service_cert[300]; /* billing_secret, role service */
    char intruder_cert[300];
} s_fixture_t;

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

static int
s_keygen (const s_fixture_t *fixture, const char *name, const char *role, const char *sub)
{
    char command[1024];
    snprintf (command, sizeof command, "'%s' keygen %s --role %s --dir '%s/%s' >/dev/null",
              SECPOLCTL_PATH, name, role, fixture->keys, sub);
    return system (command) == 0 ? 0 : -1;
}

static int
s_setup (void **state)
{
    s_fixture_t *fixture = calloc (1, sizeof *fixture);
    *state = fixture;
    if (secpol_test_dir_make (fixture->keys, sizeof fixture->keys, "curve-keys"))
        return -1;
    char path[400];
    for (const char *const *sub = (const char *const[]){"server", "authorized", "other", NULL};
         *sub; sub++) {
        snprintf (path, sizeof path, "%s/%s", fixture->keys, *sub);
        if (mkdir (path, 0700) != 0)
            return -1;
    }
    if (s_keygen (fixture, "secpold", "service", "server") ||
        s_keygen (fixture, "ops", "admin", "authorized") ||
        s_keygen (fixture, "billing", "service", "authorized") ||
        s_keygen (fixture, "intruder", "admin", "other"))
        return -1;
    snprintf (fixture->server_public, sizeof fixture->server_public, "%s/server/secpold",
              fixture->keys);
    snprintf (fixture->admin_cert, sizeof fixture->admin_cert, "%s/authorized/ops_secret",
              fixture->keys);
    snprintf (fixture->service_cert, sizeof fixture->service_cert, "%s/authorized/billing_secret",
              fixture->keys);
    snprintf (fixture->intruder_cert, sizeof fixture->intruder_cert, "%s/other/intruder_secret",
              fixture->keys);
    /* the fixture's own health check and secpol_test_client go through the
     * environment, as any program using the library may */
    setenv ("SECPOL_SERVER_KEY", fixture->server_public, 1);
    setenv ("SECPOL_CLIENT_CERT", fixture->admin_cert, 1);
    char secret[300], authorized[300];
    snprintf (secret, sizeof secret, "%s/server/secpold_secret", fixture->keys);
    snprintf (authorized, sizeof authorized, "%s/authorized", fixture->keys);
    const char *args[] = {"--curve-secret-key", secret, "--authorized-keys", authorized, NULL};
    return secpol_test_daemon_start (&fixture->daemon, args);
}

static int
s_teardown (void **state)
{
    s_fixture_t *fixture = *state;
    secpol_test_daemon_stop (&fixture->second);
    secpol_test_daemon_stop (&fixture->daemon);
    secpol_test_dir_remove (fixture->keys);
    unsetenv ("SECPOL_SERVER_KEY");
    unsetenv ("SECPOL_CLIENT_CERT");
    free (fixture);
    return 0;
}

/*  A client with the given certificate, through the options. */
static secpol_client_t *
s_client (const s_fixture_t *fixture, const char *cert, int timeout_ms)
{
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = timeout_ms;
    options.server_key = fixture->server_public;
    options.client_cert = cert;
    int error = -1;
    secpol_client_t *client = secpol_client_open (fixture->daemon.endpoint, &options, &error);
    assert_int_equal (error, SECPOL_OK);
    assert_non_null (client);
    return client;
}

static int
s_health (secpol_client_t *client)
{
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_HEALTH, NULL, &response);
    s_free (response);
    return code;
}

static int
s_set_max_failures (secpol_client_t *client, uint32_t value)
{
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    lockout.max_failures = value;
    lockout.window_minutes = 15;
    lockout.lock_minutes = 15;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.login_lockout = &lockout;
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = "acme";
    request.policy = &policy;
    char *mask[] = {"login_lockout.max_failures"};
    request.n_update_mask = 1;
    request.update_mask = mask;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_POLICY "UpdatePolicy", &request.base, &response);
    s_free (response);
    return code;
}

static uint32_t
s_max_failures (secpol_client_t *client)
{
    Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    request.workspace_id = "acme";
    Secpol__V1__Policy *policy = NULL;
    assert_int_equal (secpol_client_call (client, S_POLICY "GetPolicy", &request.base,
                                          (ProtobufCMessage **)&policy),
                      SECPOL_OK);
    uint32_t value = policy->login_lockout->max_failures;
    s_free (policy);
    return value;
}

static int
s_lockout (secpol_client_t *client, const char *path, Secpol__V1__LockoutStatus **status_p)
{
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = "acme";
    request.subject_id = "alice";
    request.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_LOGIN;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, path, &request.base, &response);
    if (status_p)
        *status_p = (Secpol__V1__LockoutStatus *)response;
    else
        s_free (response);
    return code;
}

/*  Asserts that the client's last call was refused at the CURVE handshake
 *  by endpoint (NULL: by every one of its instances). */
static void
s_assert_refused (secpol_client_t *client, const char *endpoint)
{
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->code, SECPOL_UNAUTHENTICATED);
    char want[600];
    if (endpoint)
        snprintf (want, sizeof want, "%s refused this client's CURVE key at the handshake",
                  endpoint);
    else
        snprintf (want, sizeof want, "refused this client's CURVE key at the handshake");
    if (!strstr (status->message, want) || (!endpoint && !strstr (status->message, "every")))
        fail_msg ("status message: %s", status->message);
}

/*  An unknown key finishes no handshake: secpold's ZAP handler refuses it,
 *  and the client fails the call at once with UNAUTHENTICATED. The calls
 *  here have no timeout (0 = forever): a client that waited for one to say
 *  so would hang the test, not pass it. Meanwhile and after, secpold serves
 *  the others. */
static void
test_unknown_key_refused (void **state)
{
    s_fixture_t *fixture = *state;
    secpol_client_t *intruder = s_client (fixture, fixture->intruder_cert, 0);
    assert_int_equal (s_health (intruder), SECPOL_UNAUTHENTICATED);
    s_assert_refused (intruder, fixture->daemon.endpoint);
    /* libzmq does not try that endpoint again: the next calls fail at once
     * too, a pipelined one at its send, and no connection is waited for */
    assert_int_equal (s_health (intruder), SECPOL_UNAUTHENTICATED);
    uint64_t call_id = 0, done = 0;
    assert_int_equal (secpol_client_send (intruder, S_HEALTH, NULL, &call_id),
                      SECPOL_UNAUTHENTICATED);
    assert_int_equal (call_id, 0);
    assert_int_equal (secpol_client_in_flight (intruder), 0);
    assert_int_equal (secpol_client_wait_connected (intruder, -1), SECPOL_UNAUTHENTICATED);
    secpol_client_destroy (&intruder);
    /* pipelined calls sent before the refusal complete with it, each once */
    intruder = s_client (fixture, fixture->intruder_cert, 0);
    uint64_t sent[3] = {0, 0, 0};
    size_t n_sent = 0;
    for (size_t i = 0; i < 3; i++)
        if (secpol_client_send (intruder, S_HEALTH, NULL, &sent[n_sent]) == SECPOL_OK)
            n_sent++;
        else /* the refusal came first */
            s_assert_refused (intruder, fixture->daemon.endpoint);
    for (size_t i = 0; i < n_sent; i++) {
        assert_int_equal (secpol_client_recv (intruder, -1, &done, NULL), SECPOL_UNAUTHENTICATED);
        assert_int_equal (done, sent[i]);
        s_assert_refused (intruder, fixture->daemon.endpoint);
    }
    assert_int_equal (secpol_client_in_flight (intruder), 0);
    secpol_client_destroy (&intruder);
    secpol_client_t *admin = secpol_test_client (&fixture->daemon); /* through the environment */
    assert_int_equal (s_health (admin), SECPOL_OK);
    secpol_client_destroy (&admin);
}

/*  A service key reads policy and counts failures but cannot change
 *  policy or unlock; the admin key can, and is the revision's caller. */
static void
test_roles (void **state)
{
    s_fixture_t *fixture = *state;
    secpol_client_t *admin = s_client (fixture, fixture->admin_cert, 10000);
    secpol_client_t *service = s_client (fixture, fixture->service_cert, 10000);
    assert_int_equal (s_set_max_failures (admin, 3), SECPOL_OK);
    assert_int_equal (s_set_max_failures (service, 7), SECPOL_PERMISSION_DENIED);
    assert_non_null (strstr (secpol_client_status (service)->message, "more privileged role"));
    assert_int_equal (s_max_failures (service), 3); /* nothing changed */

    for (int i = 0; i < 3; i++)
        assert_int_equal (s_lockout (service, S_FAIL, NULL), SECPOL_OK);
    assert_int_equal (s_lockout (service, S_UNLOCK, NULL), SECPOL_PERMISSION_DENIED);
    Secpol__V1__LockoutStatus *status = NULL;
    assert_int_equal (s_lockout (service, "/secpol.v1.LockoutService/CheckLockout", &status),
                      SECPOL_OK);
    assert_true (status->locked); /* the refused unlock changed nothing */
    s_free (status);
    assert_int_equal (s_lockout (admin, S_UNLOCK, &status), SECPOL_OK);
    assert_false (status->locked);
    s_free (status);

    Secpol__V1__ListPolicyRevisionsRequest request =
        SECPOL__V1__LIST_POLICY_REVISIONS_REQUEST__INIT;
    request.workspace_id = "acme";
    Secpol__V1__ListPolicyRevisionsResponse *revisions = NULL;
    assert_int_equal (secpol_client_call (service, S_POLICY "ListPolicyRevisions", &request.base,
                                          (ProtobufCMessage **)&revisions),
                      SECPOL_OK);
    assert_int_equal (revisions->n_revisions, 1);
    assert_string_equal (revisions->revisions[0]->caller, "ops");
    s_free (revisions);
    secpol_client_destroy (&service);
    secpol_client_destroy (&admin);
}

/*  Waits (bounded) until the daemon's last "keys loaded" line holds want. */
static void
s_wait_keys_loaded (const s_fixture_t *fixture, const char *want)
{
    long long give_up = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    for (;;) {
        FILE *log = fopen (fixture->daemon.log_path, "r");
        assert_non_null (log);
        char line[2048], last[2048] = "";
        while (fgets (line, sizeof line, log))
            if (strstr (line, "msg=\"keys loaded\""))
                snprintf (last, sizeof last, "%s", line);
        fclose (log);
        if (strstr (last, want))
            return;
        if (secpol_test_now_ms () > give_up)
            fail_msg ("no \"keys loaded\" line with %s; the last: %s", want, last);
        usleep (20000); /* polls the condition; the deadline bounds it */
    }
}

/*  A key removed from the directory: its open connection is refused by
 *  secpold from the next request on (UNAUTHENTICATED), a new connection
 *  at the handshake; the admin goes on. Put back, it works again. No
 *  restart in between. */
static void
test_removed_key_refused_after_reload (void **state)
{
    s_fixture_t *fixture = *state;
    secpol_client_t *service = s_client (fixture, fixture->service_cert, 1000);
    assert_int_equal (s_health (service), SECPOL_OK);
    char public_path[400], spare[400];
    snprintf (public_path, sizeof public_path, "%s/authorized/billing", fixture->keys);
    snprintf (spare, sizeof spare, "%s/billing.spare", fixture->keys);
    assert_int_equal (rename (public_path, spare), 0);
    s_wait_keys_loaded (fixture, "admin=1 service=0");
    assert_int_equal (s_health (service), SECPOL_UNAUTHENTICATED);
    assert_non_null (strstr (secpol_client_status (service)->message, "no longer authorized"));
    secpol_client_t *again = s_client (fixture, fixture->service_cert, 0); /* no timeout needed */
    assert_int_equal (s_health (again), SECPOL_UNAUTHENTICATED);
    s_assert_refused (again, fixture->daemon.endpoint);
    secpol_client_destroy (&again);
    secpol_client_t *admin = s_client (fixture, fixture->admin_cert, 10000);
    assert_int_equal (s_health (admin), SECPOL_OK);

    assert_int_equal (rename (spare, public_path), 0);
    s_wait_keys_loaded (fixture, "admin=1 service=1");
    assert_int_equal (s_health (service), SECPOL_OK); /* the same connection, allowed again */
    secpol_client_destroy (&service);
    secpol_client_destroy (&admin);
}

/*  True when the log at path has a "curve key refused" line. */
static bool
s_log_has_refusal (const char *path)
{
    FILE *log = fopen (path, "r");
    if (!log)
        return false;
    char line[2048];
    bool found = false;
    while (!found && fgets (line, sizeof line, log))
        found = strstr (line, "msg=\"curve key refused\"") != NULL;
    fclose (log);
    return found;
}

/*  A client of two instances (secpol_client_open_list): the first allows
 *  ops and billing (authorized/), the second ops and intruder (second/).
 *  One instance refusing a key fails no call the other serves; only a key
 *  every instance refuses fails, at once, naming them all. */
static void
test_several_instances (void **state)
{
    s_fixture_t *fixture = *state;
    char second_keys[400], command[2048];
    snprintf (second_keys, sizeof second_keys, "%s/second", fixture->keys);
    snprintf (command, sizeof command,
              "mkdir -m 700 '%s' && cp '%s/authorized/ops' '%s/other/intruder' '%s/'", second_keys,
              fixture->keys, fixture->keys, second_keys);
    assert_int_equal (system (command), 0);
    char secret[300];
    snprintf (secret, sizeof secret, "%s/server/secpold_secret", fixture->keys);
    const char *args[] = {"--curve-secret-key", secret, "--authorized-keys", second_keys, NULL};
    assert_int_equal (secpol_test_daemon_start (&fixture->second, args), 0);
    const char *endpoints[] = {fixture->daemon.endpoint, fixture->second.endpoint};

    /* billing: the second refuses it, the first serves every call */
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = 0;
    options.server_key = fixture->server_public;
    options.client_cert = fixture->service_cert;
    int error = -1;
    secpol_client_t *client = secpol_client_open_list (endpoints, 2, &options, &error);
    assert_non_null (client);
    assert_int_equal (s_health (client), SECPOL_OK);
    long long give_up = secpol_test_now_ms () + SECPOL_TEST_DEADLINE_MS;
    while (!s_log_has_refusal (fixture->second.log_path)) { /* the refusal has happened */
        if (secpol_test_now_ms () > give_up)
            fail_msg ("the second instance logged no refusal within %d ms",
                      SECPOL_TEST_DEADLINE_MS);
        usleep (20000); /* polls the condition; the deadline bounds it */
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal (s_health (client), SECPOL_OK);
    uint64_t call_id = 0, done = 0;
    assert_int_equal (secpol_client_send (client, S_HEALTH, NULL, &call_id), SECPOL_OK);
    assert_int_equal (secpol_client_recv (client, -1, &done, NULL), SECPOL_OK);
    assert_int_equal (done, call_id);
    assert_int_equal (secpol_client_wait_connected (client, -1), SECPOL_OK);
    secpol_client_destroy (&client);

    /* intruder: the first refuses it, the second serves */
    options.client_cert = fixture->intruder_cert;
    client = secpol_client_open_list (endpoints, 2, &options, &error);
    assert_non_null (client);
    for (int i = 0; i < 5; i++)
        assert_int_equal (s_health (client), SECPOL_OK);
    secpol_client_destroy (&client);

    /* a key neither allows: refused at once, by every instance */
    assert_int_equal (s_keygen (fixture, "stranger", "admin", "other"), 0);
    char stranger[400];
    snprintf (stranger, sizeof stranger, "%s/other/stranger_secret", fixture->keys);
    options.client_cert = stranger;
    client = secpol_client_open_list (endpoints, 2, &options, &error);
    assert_non_null (client);
    assert_int_equal (s_health (client), SECPOL_UNAUTHENTICATED);
    s_assert_refused (client, NULL);
    assert_int_equal (secpol_client_wait_connected (client, -1), SECPOL_UNAUTHENTICATED);
    secpol_client_destroy (&client);
    /* and check_server says so at open */
    options.check_server = true;
    assert_null (secpol_client_open_list (endpoints, 2, &options, &error));
    assert_int_equal (error, SECPOL_UNAUTHENTICATED);
}

/*  Only one of the two CURVE settings, or a certificate without its secret
 *  key, is refused by open itself. */
static void
test_client_options_checked (void **state)
{
    s_fixture_t *fixture = *state;
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.server_key = fixture->server_public;
    options.client_cert = "";
    int error = -1;
    unsetenv ("SECPOL_CLIENT_CERT");
    assert_null (secpol_client_open (fixture->daemon.endpoint, &options, &error));
    assert_int_equal (error, SECPOL_INVALID_ARGUMENT);
    char public_only[400], command[1000];
    snprintf (public_only, sizeof public_only, "%s/ops-public", fixture->keys);
    snprintf (command, sizeof command, "cp '%s/authorized/ops' '%s'", fixture->keys, public_only);
    assert_int_equal (system (command), 0);
    options.client_cert = public_only; /* a public certificate alone: no secret key */
    assert_null (secpol_client_open (fixture->daemon.endpoint, &options, &error));
    assert_int_equal (error, SECPOL_INVALID_ARGUMENT);
    setenv ("SECPOL_CLIENT_CERT", fixture->admin_cert, 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_unknown_key_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_roles, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_removed_key_refused_after_reload, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_client_options_checked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_several_instances, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
