/*  health_check.c - the smallest secpol client: one typed call.
 *
 *  Build against an installed libsecpol-client, with pkg-config:
 *      cc health_check.c $(pkg-config --cflags --libs secpol-client) -o health_check
 *  (add -Wl,-rpath,$(pkg-config --variable=libdir secpol-client) when the
 *  library is installed where the dynamic loader does not look), or with
 *  CMake: find_package(SecpolClient) and link SecpolClient::secpol-client.
 *  Run:
 *      ./health_check tcp://127.0.0.1:7420
 *  Prints "SERVING <server version>" and exits 0; else says why on stderr
 *  and exits 1 (no answer or an error status) or 2 (a malformed endpoint).
 */
#include <secpol/secpol_client.h>
#include <secpol/v1/health.pb-c.h>

#include <stdio.h>

int
main (int argc, char **argv)
{
    const char *endpoint = argc > 1 ? argv[1] : SECPOL_CLIENT_DEFAULT_ENDPOINT;
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = 2000;
    int error = 0;
    //  Lazy: no round trip yet; the call below says whether a server answers.
    secpol_client_t *client = secpol_client_open (endpoint, &options, &error);
    if (!client) {
        fprintf (stderr, "cannot use endpoint %s: %s\n", endpoint, secpol_status_name (error));
        return error == SECPOL_INVALID_ARGUMENT ? 2 : 1;
    }
    ProtobufCService *health = secpol_client_service (client, &secpol__v1__health__descriptor);
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    Secpol__V1__HealthCheckResponse *response = NULL;
    secpol__v1__health__check (
        health, &request, (Secpol__V1__HealthCheckResponse_Closure)secpol_closure_keep, &response);
    int rc = 0;
    if (response) {
        printf ("%s %s\n",
                response->status == SECPOL__V1__SERVING_STATUS__SERVING ? "SERVING" : "NOT_SERVING",
                response->version);
        protobuf_c_message_free_unpacked (&response->base, NULL);
    } else {
        const secpol_client_status_t *status = secpol_client_status (client);
        fprintf (stderr, "%s: %s\n", secpol_status_name (status->code), status->message);
        rc = 1;
    }
    secpol_client_destroy (&client);
    return rc;
}
