/*  fixtures.h - what tests set up and tear down: temp dirs, a temp LMDB
 *  store, an arena, and bounded waits for a condition.
 *
 *  The rule every test follows (docs/TESTING.md): whatever a test starts or
 *  makes, a teardown that always runs stops or removes it. cmocka longjmps
 *  out of a test on a failed assertion, so clean-up code at the end of a
 *  test body does not run then; put it in a setup/teardown pair
 *  (cmocka_unit_test_setup_teardown, or the group's). Every clean-up here is
 *  safe to call twice and after a setup that failed half-way.
 *
 *  Nothing here sleeps for a fixed time to let something happen: a wait
 *  polls the real condition until a deadline and says when it ran out.
 */
#ifndef SECPOL_TEST_FIXTURES_H_INCLUDED
#define SECPOL_TEST_FIXTURES_H_INCLUDED

#include "arena.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*  Deadlines for things that take milliseconds on an idle machine: long
 *  enough for a sanitizer build on a busy one, short of ctest's timeout.
 *  20 s, or SECPOL_TEST_DEADLINE seconds from the environment (1-3600; make
 *  test-sanitize sets 60), the same setting the bash tests read. */
int secpol_test_deadline_ms (void);
#define SECPOL_TEST_DEADLINE_MS (secpol_test_deadline_ms ())

/* --- temp dirs ----------------------------------------------------------- */

/*  Makes a fresh directory /tmp/secpol-<name>-XXXXXX and writes its path
 *  into dir (size bytes, at least 64). Returns 0, or -1 with a message on
 *  stderr and dir set to "". */
int secpol_test_dir_make (char *dir, size_t size, const char *name)
    __attribute__ ((warn_unused_result));

/*  Removes dir and everything in it, then sets dir to "" so a second call
 *  does nothing. With SECPOL_TEST_KEEP set in the environment the files are
 *  kept (and their path printed) for a post-mortem. */
void secpol_test_dir_remove (char *dir);

/* --- a temp LMDB store --------------------------------------------------- */

typedef struct {
    char dir[64];                   /* temp dir holding the LMDB files; "" when none */
    secpol_store_t *store;          /* the open store; NULL when closed */
    secpol_store_options_t options; /* what it was opened with, for a reopen */
    char schema[64];                /* PostgreSQL (pg.h): the store's schema; "" with LMDB */
    char url[512];                  /* PostgreSQL: options.url */
} secpol_test_store_t;

/*  Makes a temp dir and opens a store in it with these tables (tables may be
 *  NULL when n_tables is 0) and no_sync, as befits a throwaway store. With
 *  SECPOL_TEST_STORE=postgresql (pg.h) the store is a fresh schema on the
 *  run's PostgreSQL server instead (the dir keeps secret.key). The
 *  tables array must outlive the fixture. Returns 0, or -1 with a message
 *  on stderr and nothing left behind. Use it from a cmocka setup:
 *
 *      static secpol_test_store_t s_store;
 *      static int s_setup (void **state)
 *      {   (void)state; return secpol_test_store_open (&s_store, s_tables, 2); }
 *      static int s_teardown (void **state)
 *      {   (void)state; secpol_test_store_close (&s_store); return 0; }
 */
int secpol_test_store_open (secpol_test_store_t *self, const secpol_table_t *const *tables,
                            size_t n_tables) __attribute__ ((warn_unused_result));

/*  Closes the store (if open) and opens it again on the same files with
 *  self->options. Returns the secpol_store_open() code. */
int secpol_test_store_reopen (secpol_test_store_t *self) __attribute__ ((warn_unused_result));

/*  Closes the store and removes its dir. Safe to call twice, and after an
 *  open that failed. */
void secpol_test_store_close (secpol_test_store_t *self);

/*  The store fixture with an arena beside it, for tests of store-level code
 *  (which takes both): opens the store as secpol_test_store_open does and
 *  makes *arena. Returns 0, or -1 with a message on stderr and nothing left
 *  behind. A store test's setup and teardown are then one line each:
 *
 *      static int s_setup (void **state)
 *      {   (void)state; return secpol_test_store_open_with_arena (&s_fx, &s_arena, s_tables, 3); }
 *      static int s_teardown (void **state)
 *      {   (void)state; secpol_test_store_close_with_arena (&s_fx, &s_arena); return 0; }
 */
int secpol_test_store_open_with_arena (secpol_test_store_t *self, secpol_arena_t **arena,
                                       const secpol_table_t *const *tables, size_t n_tables)
    __attribute__ ((warn_unused_result));

/*  Closes the store and removes its dir (secpol_test_store_close), and
 *  destroys *arena. Safe to call twice, and after an open that failed. */
void secpol_test_store_close_with_arena (secpol_test_store_t *self, secpol_arena_t **arena);

/*  Entries in table, read in txn. Fails the current test (cmocka) when the
 *  table cannot be read. */
size_t secpol_test_count (secpol_txn_t *txn, const secpol_table_t *table);

/*  Entries in table of store, read in a read-only transaction of its own.
 *  Fails the current test when the table cannot be read. */
size_t secpol_test_store_entries (secpol_store_t *store, const secpol_table_t *table);

/* --- files ---------------------------------------------------------------- */

/*  The whole of the file at path (malloc'd and NUL-terminated after its
 *  *size bytes; caller frees) and its size in *size. Fails the current test
 *  (cmocka) when the file cannot be opened. */
char *secpol_test_file_read (const char *path, size_t *size);

/* --- an arena, as a cmocka fixture --------------------------------------- */

/*  cmocka setup and teardown: a fresh arena per test in *state.
 *
 *      static void test_x (void **state) { secpol_arena_t *arena = *state; ... }
 *      ...
 *      SECPOL_TEST_WITH_ARENA (test_x),
 */
int secpol_test_arena_setup (void **state);
int secpol_test_arena_teardown (void **state);

/*  A cmocka test with its own arena from the fixtures above. */
#define SECPOL_TEST_WITH_ARENA(test)                                                               \
    cmocka_unit_test_setup_teardown (test, secpol_test_arena_setup, secpol_test_arena_teardown)

/* --- a process's resources ---------------------------------------------------- */

/*  A field of /proc/<pid>/status in kB ("VmHWM": peak resident memory,
 *  "VmRSS"), or -1 when the process or field is not there. */
long secpol_test_proc_status_kb (pid_t pid, const char *field);

/* --- documents generated from tables ------------------------------------------ */

/*  True when the file at path (relative to the source tree, "docs/POLICY.md")
 *  contains text. Otherwise prints on stderr that the document lacks what
 *  (e.g. "the settings table") and the text it should hold, whole (cmocka's
 *  print_error would cut it), and returns false for the test to fail. */
bool secpol_test_doc_contains (const char *path, const char *what, const char *text);

/* --- bounded waits --------------------------------------------------------- */

/*  Milliseconds on a monotonic clock. */
long long secpol_test_now_ms (void);

/*  Waits for child pid to exit, at most timeout_ms. Returns true and its
 *  waitpid status in *status (may be NULL) when it exited; false when it is
 *  still running at the deadline (it is left running: the caller decides). */
bool secpol_test_wait_exit (pid_t pid, int timeout_ms, int *status)
    __attribute__ ((warn_unused_result));

/*  True when process pid is stopped by job control (SIGSTOP: state T in
 *  /proc/PID/stat). Only such a process needs a SIGCONT: sent to a running
 *  one, SIGCONT discards the SIGSTOP a ptrace attach queues, and the
 *  LeakSanitizer check at a sanitized secpold's exit attaches to every
 *  thread and then waits for that stop forever. */
bool secpol_test_process_stopped (pid_t pid);

/*  Reads one line (without its '\n') from fd into buf, waiting at most
 *  timeout_ms for it. Returns true when a whole line came; false on
 *  timeout, end of file or error (with what came so far in buf). Reads one
 *  byte at a time, so nothing after the line is consumed. */
bool secpol_test_read_line (int fd, char *buf, size_t size, int timeout_ms)
    __attribute__ ((warn_unused_result));

#endif
