/*  daemon.h - a real secpold for an end-to-end test, and clients of it.
 *
 *  secpol_test_daemon_start() makes a temp dir, runs the built secpold on
 *  ipc://<dir>/secpol.sock with its LMDB store in <dir>/data, --log-level
 *  debug and --test-clock, and returns once Health/Check answers over a real
 *  socket: a started daemon is a serving one, there is nothing to wait for.
 *  secpol_test_daemon_stop() sends SIGTERM, waits (bounded), checks that it
 *  exited cleanly and removes the dir. With SECPOL_TEST_STORE=postgresql
 *  (pg.h) the store is a fresh schema on the run's PostgreSQL server instead
 *  (<dir>/data then keeps only secret.key), dropped at stop.
 *
 *  The usual way in is the cmocka fixture pair, which gives every test its
 *  own daemon and stops it however the test ended:
 *
 *      static void
 *      test_something (void **state)
 *      {
 *          secpol_test_daemon_t *daemon = *state;
 *          secpol_client_t *client = secpol_test_client (daemon);
 *          ...
 *      }
 *      ...
 *      SECPOL_TEST_WITH_DAEMON (test_something),
 */
#ifndef SECPOL_TEST_DAEMON_H_INCLUDED
#define SECPOL_TEST_DAEMON_H_INCLUDED

#include "fixtures.h"

#include "secpol/secpol_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;          /* secpold's pid; 0 when not running */
    char dir[256];      /* temp dir, removed at stop; "" when there is none */
    char data_dir[300]; /* <dir>/data */
    char endpoint[320]; /* ipc://<dir>/secpol.sock */
    char log_path[300]; /* <dir>/secpold.log: secpold's stderr, every start appended */
    int exit_status;    /* after a kill or stop: waitpid status */
    char schema[64];    /* PostgreSQL store (pg.h): its schema, dropped at stop; "" with LMDB */
    char store[512];    /* PostgreSQL store: the --store URI given to secpold */
} secpol_test_daemon_t;

/*  Starts secpold with --test-clock plus extra_args (NULL-terminated, may be
 *  NULL). An extra argument "--no-test-clock" is not passed on: it starts
 *  secpold without --test-clock. Returns 0 once Health/Check answers, or -1
 *  with the tail of secpold's log on stderr when it exited or did not answer
 *  within SECPOL_TEST_DEADLINE_MS; then nothing is left running and the dir
 *  is gone, so a failed start needs no stop (one is harmless). */
int secpol_test_daemon_start (secpol_test_daemon_t *self, const char *const *extra_args);

/*  Starts another secpold on first's PostgreSQL store, as one more instance
 *  of one deployment: its own dir and endpoint, first's --store URI, and a
 *  copy of first's secret.key (every instance needs the same key, see
 *  docs/SCALING.md). The schema stays first's: stop drops it only with first.
 *  Returns 0 once it answers, or -1 as start does (also when first is not on
 *  PostgreSQL). */
int secpol_test_daemon_start_beside (secpol_test_daemon_t *self, const secpol_test_daemon_t *first,
                                     const char *const *extra_args);

/*  Stops secpold if it runs (it must exit cleanly, as in stop) and starts it
 *  again on the same dir and data, for durability tests. Returns 0 once it
 *  answers, or -1 with a message; the dir is kept for stop to remove. */
int secpol_test_daemon_restart (secpol_test_daemon_t *self, const char *const *extra_args);

/*  Sends signal (one that ends the process: SIGTERM, SIGKILL, ...) and waits
 *  for secpold to exit; a stopped (SIGSTOP) secpold is continued so that it
 *  can. Keeps the dir. A secpold still running after
 *  SECPOL_TEST_DEADLINE_MS is killed with SIGKILL. Returns the exit status
 *  as waitpid reports it (the last one when it was not running). */
int secpol_test_daemon_kill (secpol_test_daemon_t *self, int signal);

/*  Waits for secpold to exit by itself (after a signal the test sent), as
 *  kill does but sending nothing: a second signal would race the daemon's
 *  own exit. Returns the exit status as waitpid reports it. */
int secpol_test_daemon_wait (secpol_test_daemon_t *self);

/*  Stops secpold (SIGTERM, bounded wait) and removes the temp dir. A
 *  secpold that does not exit with status 0 (a crash, a hang, or a
 *  sanitizer or leak report in a sanitizer build) aborts the test program
 *  with the tail of its log, keeping the dir: cmocka does not count a failed
 *  group teardown, and a broken daemon must never pass. Safe to call twice,
 *  after a failed start, and on a zeroed struct. */
void secpol_test_daemon_stop (secpol_test_daemon_t *self);

/*  The bytes of the daemon's store, for tests that check what is (not)
 *  stored: the LMDB file data.mdb, or every key and value of its PostgreSQL
 *  schema one after the other. Sets *size; the caller frees the result.
 *  Fails the test when the store cannot be read. */
char *secpol_test_daemon_store_bytes (const secpol_test_daemon_t *self, size_t *size);

/*  True when the daemon's store holds needle (size bytes) anywhere. */
bool secpol_test_daemon_store_holds (const secpol_test_daemon_t *self, const void *needle,
                                     size_t size);

/*  Records in table (a table's name) of the daemon's store, read while it
 *  runs. Fails the test when the store cannot be read. */
size_t secpol_test_daemon_entries (const secpol_test_daemon_t *self, const char *table);

/*  The options.url that opens the daemon's store with secpol_store_open
 *  (with data_dir): NULL for LMDB. */
const char *secpol_test_daemon_store_url (const secpol_test_daemon_t *self);

/*  cmocka fixtures: setup starts a daemon (as secpol_test_daemon_start with
 *  no extra arguments) into *state, teardown stops and frees it. Use them per
 *  test (cmocka_unit_test_setup_teardown) or for a group. A test file that
 *  needs other secpold options writes a one-line setup that calls
 *  secpol_test_daemon_setup_with(). */
int secpol_test_daemon_setup (void **state);
int secpol_test_daemon_setup_with (void **state, const char *const *extra_args);
int secpol_test_daemon_teardown (void **state);

/*  A cmocka test with its own secpold from the fixtures above. */
#define SECPOL_TEST_WITH_DAEMON(test)                                                              \
    cmocka_unit_test_setup_teardown (test, secpol_test_daemon_setup, secpol_test_daemon_teardown)

/*  Returns a client of the daemon (secpol_client_new, 10 s timeout), or
 *  fails the current test when none answers. Call it from the test's own
 *  thread (cmocka cannot fail a test from another). Caller owns return value
 *  and destroys it with secpol_client_destroy(). */
secpol_client_t *secpol_test_client (const secpol_test_daemon_t *self);

/*  Calls TokenService/VerifyToken or /ConsumeToken (path) of token of kind
 *  (a Secpol__V1__TokenKind) through client; returns the status code. */
int secpol_test_token_call (secpol_client_t *client, const char *path, const char *token, int kind);

/*  Sets the offset of the daemon's test clock (TestClockService/SetOffset)
 *  through client and returns the daemon's clock after it: unix seconds,
 *  offset applied. Fails the current test when the call fails. */
int64_t secpol_test_clock_offset (secpol_client_t *client, int64_t seconds);

/*  Runs a command line through /bin/sh with SECPOL_ENDPOINT set to the
 *  daemon's endpoint, captures stdout into *out (malloc'd, caller frees) and
 *  returns the exit code. */
int secpol_test_run (const secpol_test_daemon_t *self, char **out, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* --- raw frames ------------------------------------------------------------ */

/*  Packs a RequestHeader for method with call_id (and request_id, may be
 *  NULL) into buf of size bytes. Returns its size, or 0 when it does not
 *  fit. */
size_t secpol_test_pack_header (uint8_t *buf, size_t size, const char *method, uint64_t call_id,
                                const char *request_id);

/*  Sends one raw request of n frames (each frames[i] of sizes[i] bytes) on a
 *  fresh DEALER (a CURVE client when SECPOL_SERVER_KEY and
 *  SECPOL_CLIENT_CERT name certificate files, as for the client library) (with the leading empty
 * delimiter added) and waits up to timeout_ms for the reply. Returns the number of reply frames
 * after the delimiter (0 on timeout) and copies up to 4 of them into reply[] (malloc'd, caller
 * frees) with their sizes. */
int secpol_test_raw (const secpol_test_daemon_t *self, int n, const void *const *frames,
                     const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes);

/*  As secpol_test_raw, but sends exactly the frames given (no delimiter
 *  added), to test framing errors. */
int secpol_test_raw_frames (const secpol_test_daemon_t *self, int n, const void *const *frames,
                            const size_t *sizes, int timeout_ms, void **reply, size_t *reply_sizes);

/*  A reply to a raw request, decoded. */
typedef struct {
    int frames;         /* reply frames after the delimiter; 0 = no reply in time */
    int code;           /* ResponseHeader.code; -1 when no header decoded */
    uint64_t call_id;   /* ResponseHeader.call_id */
    char message[512];  /* ResponseHeader.message, cut to fit */
    size_t body_size;   /* size of the body frame (0 when none) */
    uint8_t body[4096]; /* its first bytes */
} secpol_test_reply_t;

/*  Sends n frames as secpol_test_raw (delimiter true) or
 *  secpol_test_raw_frames (false) and returns the reply, decoded. Fails the
 *  test when the first reply frame is not a ResponseHeader. */
secpol_test_reply_t secpol_test_exchange (const secpol_test_daemon_t *self, int n,
                                          const void *const *frames, const size_t *sizes,
                                          bool delimiter, int timeout_ms);

#endif
