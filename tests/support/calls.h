/*  calls.h - what the end-to-end tests do through the client again and
 *  again: read the daemon's clock, set a policy, check the violations of a
 *  refused call, and read what the daemon logged or kept. Each helper fails
 *  the current test (cmocka) with the status and message of a call that did
 *  not answer as it must, so call them from the test's own thread.
 *
 *      secpol_client_t *client = secpol_test_client (daemon);
 *      Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
 *      policy.session_timeout_minutes = 5;
 *      secpol_test_set_policy (client, "w1", "", &policy, "session_timeout_minutes");
 */
#ifndef SECPOL_TEST_CALLS_H_INCLUDED
#define SECPOL_TEST_CALLS_H_INCLUDED

#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/v1/policy.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The daemon's clock, test offset applied (Health/Check's now): unix
 *  seconds. Fails the test unless Health/Check answers OK. */
int64_t secpol_test_server_now (secpol_client_t *client);

/*  Calls PolicyService/UpdatePolicy with request, whose update_mask is set
 *  first from mask (comma-separated field paths, at most 64) unless mask is
 *  NULL. Returns the status code; on OK *out_p (when not NULL) gets the
 *  stored policy (caller frees it), otherwise the reply is freed. */
int secpol_test_update_policy (secpol_client_t *client, Secpol__V1__UpdatePolicyRequest *request,
                               const char *mask, Secpol__V1__Policy **out_p);

/*  Sets the fields of policy that mask names (comma-separated paths, at
 *  most 64: "login_lockout,locked_login_prompt_seconds") at ws and
 *  community ("" = the workspace level). Fails the test, naming ws/community,
 *  the status and its message, unless UpdatePolicy answers OK. */
void secpol_test_set_policy (secpol_client_t *client, const char *ws, const char *community,
                             Secpol__V1__Policy *policy, const char *mask);

/*  Asserts that the last call of client answered INVALID_ARGUMENT with
 *  exactly these n violation fields, in this order (the violations it had
 *  are printed when their number differs). */
void secpol_test_assert_violations (secpol_client_t *client, const char *const *fields, size_t n);

/*  Stops the daemon with SIGTERM, asserts that it exited with status 0,
 *  and keeps its dir, so that the test can open its store (the daemon's
 *  teardown removes the dir). */
void secpol_test_daemon_stop_keeping_data (secpol_test_daemon_t *self);

/*  The expired= counts of the daemon's sweep lines ("msg=swept expired=N")
 *  in its log so far, added up. Fails the test when the log cannot be read. */
size_t secpol_test_daemon_swept (const secpol_test_daemon_t *self);

/*  True when the file at path holds needle anywhere (binary safe). Fails
 *  the test when the file cannot be opened. */
bool secpol_test_file_holds (const char *path, const char *needle);

#endif
