/*  test_client_connect.c - how a client finds out whether secpold is there.
 *
 *  secpol_client_open() connects lazily and says why it failed;
 *  secpol_client_wait_connected() watches the transport connection: 0 at
 *  once against a live secpold, SECPOL_UNAVAILABLE within its timeout
 *  against nothing (ipc:// to a missing path, tcp:// to a closed port), and
 *  it follows the server going away and coming back.
 */
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#define S_HEALTH "/secpol.v1.Health/Check"

//  Upper bound for "returns within timeout_ms" on a loaded machine.
#define S_SLACK_MS 1500

//  Writes "tcp://127.0.0.1:<port>" for a port nothing listens on: one the
//  kernel just handed out and that is closed again.
static void
s_closed_tcp_endpoint (char *endpoint, size_t size)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (fd, (struct sockaddr *)&address, sizeof address), 0);
    socklen_t length = sizeof address;
    assert_int_equal (getsockname (fd, (struct sockaddr *)&address, &length), 0);
    close (fd);
    snprintf (endpoint, size, "tcp://127.0.0.1:%u", (unsigned)ntohs (address.sin_port));
}

//  Asserts wait_connected (timeout_ms) on nothing returns UNAVAILABLE after
//  about timeout_ms, and that the client still works as a client.
static void
s_assert_unavailable_in_time (const char *endpoint, int timeout_ms)
{
    int error = -1;
    secpol_client_t *client = secpol_client_open (endpoint, NULL, &error);
    assert_non_null (client); //  lazy: nothing is asked of the server yet
    assert_int_equal (error, SECPOL_OK);

    int64_t start = zclock_mono ();
    assert_int_equal (secpol_client_wait_connected (client, timeout_ms), SECPOL_UNAVAILABLE);
    int64_t elapsed = zclock_mono () - start;
    assert_true (elapsed >= timeout_ms - 20);
    assert_true (elapsed < timeout_ms + S_SLACK_MS);
    assert_int_equal (secpol_client_status (client)->code, SECPOL_UNAVAILABLE);
    assert_non_null (strstr (secpol_client_status (client)->message, endpoint));

    //  0 only looks.
    start = zclock_mono ();
    assert_int_equal (secpol_client_wait_connected (client, 0), SECPOL_UNAVAILABLE);
    assert_true (zclock_mono () - start < S_SLACK_MS);

    //  Still a client: a call fails as a call to nobody does.
    secpol_client_set_timeout (client, 100);
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_UNAVAILABLE);
    assert_null (response);
    assert_int_equal (secpol_client_in_flight (client), 0);
    secpol_client_destroy (&client);
}

//  Starts the stopped daemon again and asserts that client, made while it
//  was down or before it went, connects and is answered; destroys client.
static void
s_assert_connects_when_restarted (secpol_test_daemon_t *daemon, secpol_client_t **client_p)
{
    assert_int_equal (secpol_test_daemon_restart (daemon, NULL), 0);
    assert_int_equal (secpol_client_wait_connected (*client_p, SECPOL_TEST_DEADLINE_MS), SECPOL_OK);
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (*client_p, S_HEALTH, NULL, &response), SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    secpol_client_destroy (client_p);
}

//  --------------------------------------------------------------------------

static void
test_live_secpold_is_connected_quickly (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    int error = -1;
    secpol_client_t *client = secpol_client_open (daemon->endpoint, NULL, &error);
    assert_non_null (client);
    assert_int_equal (error, SECPOL_OK);
    assert_int_equal (secpol_client_timeout (client), 10000);

    int64_t start = zclock_mono ();
    assert_int_equal (secpol_client_wait_connected (client, SECPOL_TEST_DEADLINE_MS), SECPOL_OK);
    assert_true (zclock_mono () - start < S_SLACK_MS);
    assert_int_equal (secpol_client_status (client)->code, SECPOL_OK);
    //  Once connected, asking again answers at once, even without waiting.
    assert_int_equal (secpol_client_wait_connected (client, 0), SECPOL_OK);

    //  It sent nothing: the first call gets call_id 1.
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, S_HEALTH, NULL, &response), SECPOL_OK);
    assert_non_null (response);
    assert_int_equal (secpol_client_status (client)->call_id, 1);
    protobuf_c_message_free_unpacked (response, NULL);
    secpol_client_destroy (&client);

    //  A client made by secpol_client_new (which did a round trip) is
    //  connected too.
    client = secpol_test_client (daemon);
    assert_int_equal (secpol_client_wait_connected (client, 0), SECPOL_OK);
    secpol_client_destroy (&client);
}

static void
test_ipc_to_a_missing_path_is_unavailable_within_the_timeout (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    char endpoint[400];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/nobody.sock", daemon->dir);
    s_assert_unavailable_in_time (endpoint, 300);
}

static void
test_tcp_to_a_closed_port_is_unavailable_within_the_timeout (void **state)
{
    (void)state;
    char endpoint[64];
    s_closed_tcp_endpoint (endpoint, sizeof endpoint);
    s_assert_unavailable_in_time (endpoint, 300);
}

static void
test_follows_the_server_going_away_and_coming_back (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    int error = -1;
    secpol_client_t *client = secpol_client_open (daemon->endpoint, NULL, &error);
    assert_non_null (client);
    assert_int_equal (secpol_client_wait_connected (client, SECPOL_TEST_DEADLINE_MS), SECPOL_OK);

    //  The server stops: the connection is soon reported down.
    assert_int_equal (secpol_test_daemon_kill (daemon, SIGTERM), 0);
    int64_t deadline = zclock_mono () + SECPOL_TEST_DEADLINE_MS;
    while (secpol_client_wait_connected (client, 0) == SECPOL_OK) {
        assert_true (zclock_mono () < deadline);
        zclock_sleep (10);
    }
    assert_int_equal (secpol_client_wait_connected (client, 200), SECPOL_UNAVAILABLE);

    //  It comes back on the same endpoint: the client reconnects by itself.
    s_assert_connects_when_restarted (daemon, &client);
}

static void
test_open_lazily_before_the_server_starts (void **state)
{
    secpol_test_daemon_t *daemon = *state;
    assert_int_equal (secpol_test_daemon_kill (daemon, SIGTERM), 0);
    int error = -1;
    secpol_client_t *client = secpol_client_open (daemon->endpoint, NULL, &error);
    assert_non_null (client);
    assert_int_equal (error, SECPOL_OK);
    assert_int_equal (secpol_client_wait_connected (client, 100), SECPOL_UNAVAILABLE);

    s_assert_connects_when_restarted (daemon, &client);
}

static void
test_open_checking_the_server_says_why_it_failed (void **state)
{
    const secpol_test_daemon_t *daemon = *state;
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.check_server = true;
    options.timeout_ms = 300;

    //  A live server: a client, error OK.
    int error = -1;
    secpol_client_t *client = secpol_client_open (daemon->endpoint, &options, &error);
    assert_non_null (client);
    assert_int_equal (error, SECPOL_OK);
    assert_int_equal (secpol_client_timeout (client), 300);
    secpol_client_destroy (&client);

    //  Nothing there: NULL and UNAVAILABLE after about the timeout.
    char endpoint[400];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/nobody.sock", daemon->dir);
    error = -1;
    int64_t start = zclock_mono ();
    assert_null (secpol_client_open (endpoint, &options, &error));
    int64_t elapsed = zclock_mono () - start;
    assert_int_equal (error, SECPOL_UNAVAILABLE);
    assert_true (elapsed >= 280 && elapsed < 300 + S_SLACK_MS);

    //  A NULL error pointer is allowed.
    assert_null (secpol_client_open (endpoint, &options, NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_DAEMON (test_live_secpold_is_connected_quickly),
        SECPOL_TEST_WITH_DAEMON (test_ipc_to_a_missing_path_is_unavailable_within_the_timeout),
        SECPOL_TEST_WITH_DAEMON (test_tcp_to_a_closed_port_is_unavailable_within_the_timeout),
        SECPOL_TEST_WITH_DAEMON (test_follows_the_server_going_away_and_coming_back),
        SECPOL_TEST_WITH_DAEMON (test_open_lazily_before_the_server_starts),
        SECPOL_TEST_WITH_DAEMON (test_open_checking_the_server_says_why_it_failed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
