/*  test_client_signals.c - linking the client library does not change how
 *  the host program reacts to SIGTERM and SIGINT (czmq would otherwise
 *  swallow them), against a real secpold. */
#include "daemon.h"

#include "secpol/secpol_client.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static secpol_test_daemon_t s_daemon;

static int
s_setup (void **state)
{
    (void)state;
    return secpol_test_daemon_start (&s_daemon, NULL);
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_test_daemon_stop (&s_daemon);
    return 0;
}

/*  Runs the example client (a fresh program that links the client library
 *  and sets no signal handlers) against a paused secpold, so that it sits waiting for
 *  a reply, then sends it sig. Returns its wait status. */
static int
s_signal_waiting_client (int sig)
{
    kill (s_daemon.pid, SIGSTOP);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        signal (SIGINT, SIG_DFL); /* as a freshly started program has them */
        signal (SIGTERM, SIG_DFL);
        execl (SECPOL_EXAMPLE_PATH, "health_check", s_daemon.endpoint, (char *)NULL);
        _exit (127);
    }
    usleep (500 * 1000); /* it has connected and is waiting */
    kill (pid, sig);
    int status = 0;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    kill (s_daemon.pid, SIGCONT);
    return status;
}

static void
test_default_sigterm_still_terminates (void **state)
{
    (void)state;
    int status = s_signal_waiting_client (SIGTERM);
    assert_true (WIFSIGNALED (status));
    assert_int_equal (WTERMSIG (status), SIGTERM);
}

static void
test_default_sigint_still_terminates (void **state)
{
    (void)state;
    int status = s_signal_waiting_client (SIGINT);
    assert_true (WIFSIGNALED (status));
    assert_int_equal (WTERMSIG (status), SIGINT);
}

static volatile sig_atomic_t s_seen;
static void
s_handler (int sig)
{
    s_seen = sig;
}

static void
test_program_handler_is_kept (void **state)
{
    (void)state;
    /* a program's own handler stays installed, and still runs */
    struct sigaction action = {0};
    action.sa_handler = s_handler;
    sigemptyset (&action.sa_mask);
    assert_int_equal (sigaction (SIGTERM, &action, NULL), 0);
    secpol_client_t *client = secpol_client_new (s_daemon.endpoint, 5000);
    assert_non_null (client);
    struct sigaction now;
    assert_int_equal (sigaction (SIGTERM, NULL, &now), 0);
    assert_ptr_equal (now.sa_handler, s_handler);
    raise (SIGTERM);
    assert_int_equal (s_seen, SIGTERM);
    /* and the client still works after the signal */
    ProtobufCMessage *response = NULL;
    assert_int_equal (secpol_client_call (client, "/secpol.v1.Health/Check", NULL, &response),
                      SECPOL_OK);
    protobuf_c_message_free_unpacked (response, NULL);
    secpol_client_destroy (&client);
    signal (SIGTERM, SIG_DFL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_default_sigterm_still_terminates),
        cmocka_unit_test (test_default_sigint_still_terminates),
        cmocka_unit_test (test_program_handler_is_kept),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
