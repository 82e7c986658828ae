/*  test_client_open.c - secpol_client_open() says why it failed, without a
 *  server: a malformed endpoint is INVALID_ARGUMENT at once, whatever the
 *  timeout; a well-formed one opens lazily.
 */
#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"

#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void
test_malformed_endpoints_are_invalid_arguments_at_once (void **state)
{
    (void)state;
    const char *endpoints[] = {
        "",
        "nonsense://x",
        "127.0.0.1:7420",        //  no transport
        "tcp://127.0.0.1",       //  no port
        "tcp://127.0.0.1:",      //  empty port
        "tcp://127.0.0.1:0",     //  port 0 cannot be connected to
        "tcp://127.0.0.1:65536", //  out of range
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1:7420junk",
        "tcp://127.0.0.1:-1",
        "tcp://:7420", //  no host
        "tcp://*:7420",
        "ipc://",
    };
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.check_server = true;
    options.timeout_ms = 5000;
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        int64_t start = zclock_mono ();
        int error = -1;
        secpol_client_t *client = secpol_client_open (endpoints[i], NULL, &error);
        if (client)
            fail_msg ("\"%s\" opened", endpoints[i]);
        assert_int_equal (error, SECPOL_INVALID_ARGUMENT);
        error = -1;
        assert_null (secpol_client_open (endpoints[i], &options, &error));
        assert_int_equal (error, SECPOL_INVALID_ARGUMENT);
        assert_null (secpol_client_new (endpoints[i], 5000));
        assert_true (zclock_mono () - start < 1000);
    }
}

static void
test_well_formed_endpoints_open_lazily (void **state)
{
    (void)state;
    const char *endpoints[] = {
        "tcp://127.0.0.1:1",
        "tcp://localhost:65535",
        "tcp://[::1]:7420",
        "ipc:///nonexistent/secpol.sock",
        NULL, //  SECPOL_CLIENT_DEFAULT_ENDPOINT
    };
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        int64_t start = zclock_mono ();
        int error = -1;
        secpol_client_t *client = secpol_client_open (endpoints[i], NULL, &error);
        assert_non_null (client);
        assert_int_equal (error, SECPOL_OK);
        assert_true (zclock_mono () - start < 1000);
        assert_string_equal (secpol_client_endpoint (client),
                             endpoints[i] ? endpoints[i] : SECPOL_CLIENT_DEFAULT_ENDPOINT);
        assert_int_equal (secpol_client_timeout (client), 10000);
        assert_int_equal (secpol_client_in_flight (client), 0);
        assert_int_equal (secpol_client_status (client)->code, SECPOL_OK);
        secpol_client_destroy (&client);
        assert_null (client);
    }
    //  The error pointer may be NULL.
    secpol_client_t *client = secpol_client_open ("tcp://127.0.0.1:1", NULL, NULL);
    assert_non_null (client);
    secpol_client_destroy (&client);
    assert_null (secpol_client_open ("nonsense://x", NULL, NULL));
}

static void
test_options_set_the_timeout (void **state)
{
    (void)state;
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = 1234;
    secpol_client_t *client = secpol_client_open ("tcp://127.0.0.1:1", &options, NULL);
    assert_non_null (client);
    assert_int_equal (secpol_client_timeout (client), 1234);
    secpol_client_destroy (&client);
    options.timeout_ms = -5; //  forever
    client = secpol_client_open ("tcp://127.0.0.1:1", &options, NULL);
    assert_non_null (client);
    assert_int_equal (secpol_client_timeout (client), 0);
    assert_int_equal (secpol_client_wait_connected (NULL, 0), SECPOL_INVALID_ARGUMENT);
    secpol_client_destroy (&client);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_malformed_endpoints_are_invalid_arguments_at_once),
        cmocka_unit_test (test_well_formed_endpoints_open_lazily),
        cmocka_unit_test (test_options_set_the_timeout),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
