/*  test_client_signals.c - linking the client library does not change how
 *  the host program reacts to SIGTERM and SIGINT (czmq would otherwise
 *  swallow them), against a real secpold.
 *
 *  Each case runs waiting_client (tests/support), a fresh program: this
 *  test process has talked to secpold already, so czmq is initialised here
 *  and could no longer show what it does to a program's signals. The client
 *  says on stdout when it is connected and when it is calling, and the
 *  signal is sent then, never after a sleep.
 */
#include "daemon.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/*  The client program of the current test, with its stdin and stdout. */
typedef struct {
    pid_t pid;      /* 0 when none runs (or it was reaped) */
    int to_child;   /* its stdin; -1 when closed */
    int from_child; /* its stdout; -1 when closed */
} child_t;

static child_t s_child = {0, -1, -1};

static int
s_setup (void **state)
{
    s_child = (child_t){0, -1, -1};
    return secpol_test_daemon_setup (state);
}

/*  Kills the client if a failed assertion left it running, then stops secpold. */
static int
s_teardown (void **state)
{
    if (s_child.pid) {
        kill (s_child.pid, SIGKILL);
        while (waitpid (s_child.pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (s_child.to_child >= 0)
        close (s_child.to_child);
    if (s_child.from_child >= 0)
        close (s_child.from_child);
    s_child = (child_t){0, -1, -1};
    return secpol_test_daemon_teardown (state);
}

/*  Starts waiting_client with args (NULL-terminated), with default SIGINT
 *  and SIGTERM dispositions as a freshly started program has them. */
static void
s_start_client (const char *const *args)
{
    int to_child[2], from_child[2];
    assert_int_equal (pipe (to_child), 0);
    s_child.to_child = to_child[1];
    assert_int_equal (pipe (from_child), 0);
    s_child.from_child = from_child[0];
    const char *argv[8] = {"waiting_client"};
    for (int i = 0; args[i] && i < 6; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        dup2 (to_child[0], STDIN_FILENO);
        dup2 (from_child[1], STDOUT_FILENO);
        close (to_child[0]);
        close (to_child[1]);
        close (from_child[0]);
        close (from_child[1]);
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        execv (SECPOL_WAITING_CLIENT_PATH, (char *const *)argv);
        _exit (127);
    }
    s_child.pid = pid;
    close (to_child[0]);
    close (from_child[1]);
}

/*  Fails the test unless the client's next line on stdout is expected. */
static void
s_expect_line (const char *expected)
{
    char line[128];
    if (!secpol_test_read_line (s_child.from_child, line, sizeof line, SECPOL_TEST_DEADLINE_MS))
        fail_msg ("waiting_client did not say \"%s\" (said \"%s\")", expected, line);
    assert_string_equal (line, expected);
}

/*  Waits for the client to end; returns its wait status. */
static int
s_client_status (void)
{
    int status = 0;
    if (!secpol_test_wait_exit (s_child.pid, SECPOL_TEST_DEADLINE_MS, &status))
        fail_msg ("waiting_client still runs after %d ms", SECPOL_TEST_DEADLINE_MS);
    s_child.pid = 0;
    return status;
}

/*  Lets the client connect, pauses secpold, and sends sig once the client
 *  says it is calling: from then on it waits for a reply that does not
 *  come, and the library's socket (and czmq) exists. Returns the client's
 *  wait status. */
static int
s_signal_waiting_client (const secpol_test_daemon_t *daemon, int sig)
{
    s_start_client ((const char *[]){daemon->endpoint, NULL});
    s_expect_line ("connected");
    assert_int_equal (kill (daemon->pid, SIGSTOP), 0);
    assert_int_equal (write (s_child.to_child, "go\n", 3), 3);
    s_expect_line ("calling");
    assert_int_equal (kill (s_child.pid, sig), 0);
    return s_client_status ();
}

static void
test_default_sigterm_still_terminates (void **state)
{
    int status = s_signal_waiting_client (*state, SIGTERM);
    assert_true (WIFSIGNALED (status));
    assert_int_equal (WTERMSIG (status), SIGTERM);
}

static void
test_default_sigint_still_terminates (void **state)
{
    int status = s_signal_waiting_client (*state, SIGINT);
    assert_true (WIFSIGNALED (status));
    assert_int_equal (WTERMSIG (status), SIGINT);
}

static void
test_program_handler_is_kept (void **state)
{
    /* a program's own handler stays installed, still runs, and the client
     * still works after the signal (waiting_client --own-handler checks) */
    const secpol_test_daemon_t *daemon = *state;
    s_start_client ((const char *[]){"--own-handler", daemon->endpoint, NULL});
    s_expect_line ("handler kept");
    int status = s_client_status ();
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_default_sigterm_still_terminates, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_default_sigint_still_terminates, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_program_handler_is_kept, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
