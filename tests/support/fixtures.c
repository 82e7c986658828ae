/*  fixtures.c - see fixtures.h. */
#define _GNU_SOURCE
#include "fixtures.h"
#include "pg.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/*  How often a bounded wait looks again at a condition it cannot block on. */
#define S_POLL_INTERVAL_MS 5

static int s_remove_entry (const char *path, const struct stat *sb, int type, struct FTW *ftw);

/* --- temp dirs ----------------------------------------------------------- */

int
secpol_test_dir_make (char *dir, size_t size, const char *name)
{
    int n = snprintf (dir, size, "/tmp/secpol-%s-XXXXXX", name);
    if (n < 0 || (size_t)n >= size || !mkdtemp (dir)) {
        fprintf (stderr, "cannot make a temp dir for %s: %s\n", name, strerror (errno));
        if (size)
            dir[0] = '\0';
        return -1;
    }
    return 0;
}

void
secpol_test_dir_remove (char *dir)
{
    if (!dir || !dir[0])
        return;
    if (getenv ("SECPOL_TEST_KEEP"))
        fprintf (stderr, "SECPOL_TEST_KEEP: kept %s\n", dir);
    else if (nftw (dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf (stderr, "could not remove %s: %s\n", dir, strerror (errno));
    dir[0] = '\0';
}

static int
s_remove_entry (const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int rc = type == FTW_DP ? rmdir (path) : unlink (path);
    return rc == 0 || errno == ENOENT ? 0 : -1;
}

/* --- a temp LMDB store --------------------------------------------------- */

int
secpol_test_store_open (secpol_test_store_t *self, const secpol_table_t *const *tables,
                        size_t n_tables)
{
    memset (self, 0, sizeof *self);
    self->options.no_sync = true;
    self->options.tables = tables;
    self->options.n_tables = n_tables;
    if (secpol_test_dir_make (self->dir, sizeof self->dir, "store") != 0)
        return -1;
    if (secpol_test_pg_wanted ()) {
        if (secpol_test_pg_schema_new (self->schema, sizeof self->schema, self->url,
                                       sizeof self->url)) {
            secpol_test_store_close (self);
            return -1;
        }
        self->options.url = self->url;
    }
    int rc = secpol_store_open (&self->store, self->dir, &self->options);
    if (rc != 0) {
        fprintf (stderr, "cannot open a store in %s: %s\n", self->dir, secpol_strerror (rc));
        secpol_test_store_close (self);
        return -1;
    }
    return 0;
}

int
secpol_test_store_reopen (secpol_test_store_t *self)
{
    secpol_store_close (&self->store);
    return secpol_store_open (&self->store, self->dir, &self->options);
}

void
secpol_test_store_close (secpol_test_store_t *self)
{
    secpol_store_close (&self->store);
    secpol_test_dir_remove (self->dir);
    secpol_test_pg_schema_drop (self->schema);
}

int
secpol_test_store_open_with_arena (secpol_test_store_t *self, secpol_arena_t **arena,
                                   const secpol_table_t *const *tables, size_t n_tables)
{
    *arena = NULL;
    if (secpol_test_store_open (self, tables, n_tables) != 0)
        return -1;
    *arena = secpol_arena_new ();
    if (!*arena) {
        fprintf (stderr, "cannot make an arena\n");
        secpol_test_store_close (self);
        return -1;
    }
    return 0;
}

void
secpol_test_store_close_with_arena (secpol_test_store_t *self, secpol_arena_t **arena)
{
    secpol_test_store_close (self);
    secpol_arena_destroy (arena);
}

size_t
secpol_test_count (secpol_txn_t *txn, const secpol_table_t *table)
{
    secpol_cursor_t *cursor = NULL;
    assert_int_equal (secpol_cursor_open (txn, table, &cursor), 0);
    size_t n = 0;
    for (int rc = secpol_cursor_seek (cursor, NULL, 0, NULL, NULL); rc == 0;
         rc = secpol_cursor_next (cursor, NULL, NULL))
        n++;
    secpol_cursor_close (&cursor);
    return n;
}

size_t
secpol_test_store_entries (secpol_store_t *store, const secpol_table_t *table)
{
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (store, NULL, false, &txn), 0);
    size_t n = secpol_test_count (txn, table);
    secpol_txn_abort (&txn);
    return n;
}

char *
secpol_test_file_read (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        fail_msg ("cannot open %s: %s", path, strerror (errno));
    size_t used = 0, capacity = 1 << 20, n;
    char *bytes = malloc (capacity);
    assert_non_null (bytes);
    while ((n = fread (bytes + used, 1, capacity - 1 - used, file)) > 0) {
        used += n;
        if (used == capacity - 1) {
            capacity *= 2;
            bytes = realloc (bytes, capacity);
            assert_non_null (bytes);
        }
    }
    fclose (file);
    bytes[used] = 0;
    *size = used;
    return bytes;
}

/* --- an arena, as a cmocka fixture --------------------------------------- */

int
secpol_test_arena_setup (void **state)
{
    *state = secpol_arena_new ();
    return *state ? 0 : -1;
}

int
secpol_test_arena_teardown (void **state)
{
    secpol_arena_destroy ((secpol_arena_t **)state);
    return 0;
}

/* --- bounded waits --------------------------------------------------------- */

long
secpol_test_proc_status_kb (pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    long kb = -1;
    size_t length = strlen (field);
    while (fgets (line, sizeof line, file))
        if (strncmp (line, field, length) == 0 && line[length] == ':')
            kb = strtol (line + length + 1, NULL, 10);
    fclose (file);
    return kb;
}

int
secpol_test_deadline_ms (void)
{
    const char *text = getenv ("SECPOL_TEST_DEADLINE");
    if (!text || !*text)
        return 20000;
    char *end = NULL;
    long seconds = strtol (text, &end, 10);
    return *end == '\0' && seconds >= 1 && seconds <= 3600 ? (int)seconds * 1000 : 20000;
}

long long
secpol_test_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
secpol_test_wait_exit (pid_t pid, int timeout_ms, int *status)
{
    long long deadline = secpol_test_now_ms () + timeout_ms;
    int ignored;
    if (!status)
        status = &ignored;
    for (;;) {
        pid_t got = waitpid (pid, status, WNOHANG);
        if (got == pid)
            return true;
        if (got < 0 && errno != EINTR)
            return false;
        if (secpol_test_now_ms () >= deadline)
            return false;
        /* Nothing to block on portably for "this child exited, or time is
         * up": look again shortly. The deadline, not this interval, bounds
         * the wait. */
        struct timespec interval = {0, S_POLL_INTERVAL_MS * 1000000L};
        nanosleep (&interval, NULL);
    }
}

bool
secpol_test_process_stopped (pid_t pid)
{
    char path[64], stat[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    size_t n = fread (stat, 1, sizeof stat - 1, file);
    fclose (file);
    stat[n] = '\0';
    /* "PID (COMM) STATE ...": COMM may hold anything, so look after its
     * last ')' */
    const char *close = strrchr (stat, ')');
    return close && close[1] == ' ' && close[2] == 'T';
}

bool
secpol_test_read_line (int fd, char *buf, size_t size, int timeout_ms)
{
    long long deadline = secpol_test_now_ms () + timeout_ms;
    size_t n = 0;
    buf[0] = '\0';
    while (n + 1 < size) {
        long long left = deadline - secpol_test_now_ms ();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll (&pfd, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return false;
        char c;
        ssize_t got = read (fd, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        if (c == '\n')
            return true;
        buf[n++] = c;
        buf[n] = '\0';
    }
    return false;
}

bool
secpol_test_doc_contains (const char *path, const char *what, const char *text)
{
    char full[1024];
    snprintf (full, sizeof full, "%s/%s", SECPOL_SOURCE_DIR, path);
    static char docs[512 * 1024];
    size_t n = 0;
    FILE *file = fopen (full, "r");
    if (file) {
        n = fread (docs, 1, sizeof docs - 1, file);
        fclose (file);
    }
    docs[n] = '\0';
    if (file && strstr (docs, text))
        return true;
    fprintf (stderr, "%s does not contain %s; replace it with:\n%s", path, what, text);
    return false;
}
