/*  daemon.h - start a real secpold for an end-to-end test.
 *
 *  secpol_test_daemon_start() makes a temp dir, runs the built secpold on
 *  ipc://<dir>/secpol.sock with its LMDB store in <dir>/data and
 *  --test-clock, and returns once Health/Check answers over a real socket.
 *  secpol_test_daemon_stop() sends SIGTERM, waits, and removes the dir.
 */
#ifndef SECPOL_TEST_DAEMON_H_INCLUDED
#define SECPOL_TEST_DAEMON_H_INCLUDED

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;          /* secpold's pid; 0 when not running */
    char dir[256];      /* temp dir, removed at stop */
    char data_dir[300]; /* <dir>/data */
    char endpoint[320]; /* ipc://<dir>/secpol.sock */
    char log_path[300]; /* <dir>/secpold.log: secpold's stderr */
    int exit_status;    /* after stop: waitpid status */
} secpol_test_daemon_t;

/*  Starts secpold with --test-clock plus extra_args (NULL-terminated, may be
 *  NULL). An extra argument "--no-test-clock" is not passed on: it starts
 *  secpold without --test-clock. Returns 0 on success, -1 (with a message on stderr) when it did
 *  not answer within 10 seconds. */
int secpol_test_daemon_start (secpol_test_daemon_t *self, const char *const *extra_args);

/*  Restarts secpold on the same dir and data (for durability tests). */
int secpol_test_daemon_restart (secpol_test_daemon_t *self, const char *const *extra_args);

/*  Stops secpold (SIGTERM, then waits) and keeps the dir. Returns the exit
 *  status as waitpid reports it. */
int secpol_test_daemon_kill (secpol_test_daemon_t *self, int signal);

/*  Stops secpold (SIGTERM) and removes the temp dir. A secpold that does
 *  not exit with status 0 (a crash, or a sanitizer or leak report in a
 *  sanitizer build) aborts the test with the tail of its log. */
void secpol_test_daemon_stop (secpol_test_daemon_t *self);

/*  Runs a command line through /bin/sh with SECPOL_ENDPOINT set to the
 *  daemon's endpoint, captures stdout into *out (malloc'd, caller frees) and
 *  returns the exit code. */
int secpol_test_run (const secpol_test_daemon_t *self, char **out, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Sends one raw request of n frames (each frames[i] of sizes[i] bytes) on a
 *  fresh DEALER (with the leading empty delimiter added) and waits up to
 *  timeout_ms for the reply. Returns the number of reply frames after the
 *  delimiter (0 on timeout) and copies up to 4 of them into reply[]
 *  (malloc'd, caller frees) with their sizes. */
/*  As secpol_test_raw, but sends exactly the frames given (no delimiter
 *  added), to test framing errors. */
int secpol_test_raw_frames (const secpol_test_daemon_t *self, int n, const void *const *frames,
                            const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes);

int secpol_test_raw (const secpol_test_daemon_t *self, int n, const void *const *frames,
                     const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes);

#endif
