/*  calls.c - calls and checks the end-to-end tests share; see calls.h. */
#define _GNU_SOURCE /* memmem */
#include "calls.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#define S_MAX_PATHS 64

int64_t
secpol_test_server_now (secpol_client_t *client)
{
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    Secpol__V1__HealthCheckResponse *response = NULL;
    assert_int_equal (secpol_client_call (client, "/secpol.v1.Health/Check", &request.base,
                                          (ProtobufCMessage **)&response),
                      SECPOL_OK);
    int64_t now = response->now;
    protobuf_c_message_free_unpacked (&response->base, NULL);
    return now;
}

int
secpol_test_update_policy (secpol_client_t *client, Secpol__V1__UpdatePolicyRequest *request,
                           const char *mask, Secpol__V1__Policy **out_p)
{
    char copy[4096];
    char *paths[S_MAX_PATHS];
    if (mask) {
        assert_true (strlen (mask) < sizeof copy);
        snprintf (copy, sizeof copy, "%s", mask);
        size_t n = 0;
        for (char *save = NULL, *path = strtok_r (copy, ",", &save); path;
             path = strtok_r (NULL, ",", &save)) {
            assert_true (n < S_MAX_PATHS);
            paths[n++] = path;
        }
        request->n_update_mask = n;
        request->update_mask = paths;
    }
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, "/secpol.v1.PolicyService/UpdatePolicy", &request->base,
                                   &response);
    if (mask) {
        request->n_update_mask = 0;
        request->update_mask = NULL;
    }
    if (out_p)
        *out_p = (Secpol__V1__Policy *)response;
    else if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

void
secpol_test_set_policy (secpol_client_t *client, const char *ws, const char *community,
                        Secpol__V1__Policy *policy, const char *mask)
{
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)ws;
    request.community_id = (char *)community;
    request.policy = policy;
    int code = secpol_test_update_policy (client, &request, mask, NULL);
    if (code != SECPOL_OK)
        fail_msg ("UpdatePolicy %s/%s: %s %s", ws, community, secpol_status_name (code),
                  secpol_client_status (client)->message);
}

void
secpol_test_assert_violations (secpol_client_t *client, const char *const *fields, size_t n)
{
    const secpol_client_status_t *status = secpol_client_status (client);
    assert_int_equal (status->code, SECPOL_INVALID_ARGUMENT);
    if (status->n_violations != n) {
        for (size_t k = 0; k < status->n_violations; k++)
            print_error ("  %s: %s\n", status->violation_fields[k],
                         status->violation_descriptions[k]);
        fail_msg ("%zu violations, expected %zu", status->n_violations, n);
    }
    for (size_t k = 0; k < n; k++)
        assert_string_equal (status->violation_fields[k], fields[k]);
}

void
secpol_test_daemon_stop_keeping_data (secpol_test_daemon_t *self)
{
    int status = secpol_test_daemon_kill (self, SIGTERM);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
}

size_t
secpol_test_daemon_swept (const secpol_test_daemon_t *self)
{
    FILE *file = fopen (self->log_path, "r");
    assert_non_null (file);
    char line[8192];
    size_t total = 0;
    while (fgets (line, sizeof line, file)) {
        const char *expired = strstr (line, "msg=swept expired=");
        if (expired)
            total += strtoul (expired + strlen ("msg=swept expired="), NULL, 10);
    }
    fclose (file);
    return total;
}

bool
secpol_test_file_holds (const char *path, const char *needle)
{
    size_t size = 0;
    char *data = secpol_test_file_read (path, &size);
    bool found = memmem (data, size, needle, strlen (needle)) != NULL;
    free (data);
    return found;
}
