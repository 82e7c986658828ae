/*  admin_service.c - AdminService: GetStats and Backup, for operators.
 *
 *  GetStats runs on the READ lane: it reads the lanes' counters and asks
 *  LMDB about the store in the handler's read transaction (stats.h).
 *
 *  Backup copies the store with mdb_env_copyfd2 (MDB_CP_COMPACT). The copy
 *  takes as long as the store is large, so it runs as a SLOW prepare step
 *  (no write part): on a SLOW thread, outside any lane transaction. A READ
 *  thread would be kept from reads for that long and the writer from every
 *  write; a SLOW thread only delays password hashing queued behind it. The
 *  copy is one read transaction of LMDB's, so writers go on meanwhile. One
 *  backup at a time: a second one answers FAILED_PRECONDITION at once.
 *
 *  The path names a place on secpold's host, so it is checked hard: an
 *  absolute path, no "." or ".." parts, no control characters, at most
 *  S_PATH_MAX bytes, in an existing directory outside the data dir, and
 *  not there yet. Backup makes PATH (0700), writes data.mdb and secret.key
 *  (a copy of the key file in use, --key-file or the data dir's secret.key)
 *  in it (0600 each, created exclusively, never through a symbolic link),
 *  fsyncs them and the directories, and removes what it made when anything
 *  fails. It never overwrites.
 */
#define _GNU_SOURCE /* O_NOFOLLOW with openat */
#include "call.h"
#include "log.h"
#include "server.h"
#include "service.h"
#include "stats.h"

#include "secpol/v1/admin.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_PATH_MAX 1024 /* bytes of BackupRequest.path */

static atomic_bool s_backup_running; /* one backup at a time, in the whole process */

SECPOL_HANDLER (s_get_stats, Secpol__V1__GetStatsRequest, in, Secpol__V1__GetStatsResponse, out)
{
    (void)in;
    secpol_stats_t stats;
    int rc = secpol_stats_collect (call->server, call->txn, &stats);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "store stats: %s", secpol_strerror (rc));

    Secpol__V1__StoreStats *store = secpol_call_alloc (call, sizeof *store);
    secpol__v1__store_stats__init (store);
    store->n_tables = stats.store.n_tables;
    store->tables = secpol_call_alloc (call, stats.store.n_tables * sizeof *store->tables);
    for (size_t i = 0; i < stats.store.n_tables; i++) {
        const secpol_table_stats_t *from = &stats.store.tables[i];
        Secpol__V1__TableStats *table = secpol_call_alloc (call, sizeof *table);
        secpol__v1__table_stats__init (table);
        table->name = secpol_call_strdup (call, from->name);
        table->entries = from->entries;
        table->pages = from->pages;
        table->depth = from->depth;
        store->tables[i] = table;
    }
    store->map_size = stats.store.map_size;
    store->map_used = stats.store.map_used;
    store->free_pages = stats.store.free_pages;
    store->page_size = stats.store.page_size;
    store->file_size = stats.store.file_size;
    store->disk_free = stats.store.disk_free;
    store->readers_used = stats.store.readers_used;
    store->readers_active = stats.store.readers_active;
    store->max_readers = stats.store.max_readers;
    store->last_txn_id = stats.store.last_txn_id;
    store->schema_version = stats.store.schema_version;
    store->created_at = stats.store.created_at;
    store->upgraded_from = stats.store.upgraded_from;
    store->upgraded_at = stats.store.upgraded_at;

    const secpol_lanes_stats_t *lanes = &stats.writes;
    Secpol__V1__WriteStats *writes = secpol_call_alloc (call, sizeof *writes);
    secpol__v1__write_stats__init (writes);
    writes->commits = lanes->commits;
    writes->requests = lanes->committed_requests;
    writes->last_batch = lanes->last_batch;
    writes->max_batch = lanes->max_batch;
    writes->n_batch_sizes = SECPOL_BATCH_BUCKETS;
    writes->batch_sizes =
        secpol_call_alloc (call, SECPOL_BATCH_BUCKETS * sizeof *writes->batch_sizes);
    for (size_t i = 0; i < SECPOL_BATCH_BUCKETS; i++) {
        Secpol__V1__BatchSizeBucket *bucket = secpol_call_alloc (call, sizeof *bucket);
        secpol__v1__batch_size_bucket__init (bucket);
        bucket->up_to = 1u << i;
        bucket->commits = lanes->batch_buckets[i];
        writes->batch_sizes[i] = bucket;
    }
    writes->last_commit_at_ms = lanes->last_commit_ms;
    writes->last_commit_us = lanes->last_commit_us;
    writes->failed_commits = lanes->failed_commits;
    writes->disk_full = lanes->disk_full;
    writes->disk_full_refusals = lanes->disk_full_refusals;
    writes->swept = lanes->swept;
    writes->stale_readers_cleared = lanes->stale_readers;
    writes->queued_read = lanes->queued[SECPOL_LANE_READ];
    writes->queued_write = lanes->queued[SECPOL_LANE_WRITE];
    writes->queued_slow = lanes->queued[SECPOL_LANE_SLOW];

    out->store = store;
    out->writes = writes;
    out->version = SECPOL_VERSION;
    out->started_at = stats.started_at;
    out->now = call->now;
    return SECPOL_OK;
}

/*  Checks the form of a backup path; records a violation when it is bad. */
static bool
s_path_ok (secpol_call_t *call, const char *path)
{
    size_t length = strlen (path);
    const char *problem = NULL;
    if (length == 0)
        problem = "is required: an absolute path on secpold's host";
    else if (length > S_PATH_MAX)
        problem = "is longer than 1024 bytes";
    else if (path[0] != '/')
        problem = "must be absolute (it names a place on secpold's host, not the caller's)";
    else if (length > 1 && path[length - 1] == '/')
        problem = "must not end in /";
    for (size_t i = 0; !problem && i < length; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
            problem = "must not hold control characters";
    /* every part a plain name: no "", ".", ".." between slashes */
    for (const char *part = path + 1; !problem && *part;) {
        size_t n = strcspn (part, "/");
        if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
            problem = "must be a plain path (no //, . or .. parts)";
        part += n;
        if (*part == '/')
            part++;
    }
    if (length == 1 && !problem)
        problem = "must name a new directory, not /";
    if (problem)
        secpol_call_violation (call, "path", "%s", problem);
    return problem == NULL;
}

/*  True when dir (a real path) is inside or equal to root (a real path). */
static bool
s_inside (const char *dir, const char *root)
{
    size_t n = strlen (root);
    return strncmp (dir, root, n) == 0 && (dir[n] == '\0' || dir[n] == '/' || n == 1);
}

/*  Copies the open file from (from the start) into the new file name in
 *  dir_fd, mode 0600, created exclusively. Returns 0 or errno. */
static int
s_copy_file (int from, int dir_fd, const char *name)
{
    int to = openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (to < 0)
        return errno;
    char buf[4096];
    int rc = 0;
    for (;;) {
        ssize_t n = read (from, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? errno : 0;
            break;
        }
        if (write (to, buf, (size_t)n) != n) {
            rc = errno ? errno : EIO;
            break;
        }
    }
    explicit_bzero (buf, sizeof buf); /* the key passed through it */
    if (rc == 0 && (fchmod (to, 0600) != 0 || fsync (to) != 0))
        rc = errno;
    close (to);
    return rc;
}

/*  Makes the backup in dir_fd (the new, empty directory). Returns 0 or an
 *  error (errno or LMDB's); *bytes gets the size of data.mdb. */
static int
s_write_backup (secpol_store_t *store, int dir_fd, uint64_t *bytes)
{
    /* a PostgreSQL store is the database's to back up: only the key file
     * goes here (docs/SCALING.md) */
    int fd = secpol_store_postgresql (store)
                 ? -2
                 : openat (dir_fd, "data.mdb", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                           0600);
    if (fd == -1)
        return errno;
    int rc = fd == -2 ? 0 : secpol_store_copy (store, fd);
    struct stat st;
    if (rc == 0 && fd >= 0 && (fchmod (fd, 0600) != 0 || fsync (fd) != 0 || fstat (fd, &st) != 0))
        rc = errno;
    if (rc == 0 && fd >= 0)
        *bytes = (uint64_t)st.st_size;
    if (fd >= 0)
        close (fd);
    if (rc)
        return rc;
    char key_path[PATH_MAX];
    snprintf (key_path, sizeof key_path, "%s", secpol_store_key_file (store)); /* --key-file */
    int key = open (key_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (key < 0)
        return errno;
    rc = s_copy_file (key, dir_fd, "secret.key");
    close (key);
    if (rc == 0 && fsync (dir_fd) != 0)
        rc = errno;
    return rc;
}

SECPOL_HANDLER (s_backup, Secpol__V1__BackupRequest, in, Secpol__V1__BackupResponse, out)
{
    if (!s_path_ok (call, in->path))
        return secpol_call_check (call);
    secpol_store_t *store = secpol_server_store (call->server);
    /* the parent must exist; the store's data dir must not contain it */
    char *path = secpol_call_strdup (call, in->path);
    char *slash = strrchr (path, '/');
    const char *base = slash + 1;
    char *parent = secpol_call_strdup (call, path);
    parent[slash - path == 0 ? 1 : slash - path] = '\0';
    char real_parent[PATH_MAX], real_data[PATH_MAX];
    if (!realpath (parent, real_parent))
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                                 "path: the directory %s cannot be used on secpold's host: %s",
                                 parent, strerror (errno));
    if (!realpath (secpol_store_dir (store), real_data))
        return secpol_call_fail (call, SECPOL_INTERNAL, "data dir: %s", strerror (errno));
    if (s_inside (real_parent, real_data)) {
        secpol_call_violation (call, "path", "must be outside the data dir");
        return secpol_call_check (call);
    }
    if (atomic_exchange (&s_backup_running, true))
        return secpol_call_fail (call, SECPOL_FAILED_PRECONDITION,
                                 "a backup is already running; try again when it has ended");

    int code = SECPOL_OK;
    struct timespec started, ended;
    clock_gettime (CLOCK_MONOTONIC, &started);
    int parent_fd = open (real_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent_fd < 0) {
        code = secpol_call_fail (call, SECPOL_FAILED_PRECONDITION, "path: cannot open %s: %s",
                                 parent, strerror (errno));
        goto done;
    }
    if (mkdirat (parent_fd, base, 0700) != 0) {
        int error = errno;
        code =
            error == EEXIST
                ? secpol_call_fail (call, SECPOL_ALREADY_EXISTS,
                                    "path: %s exists already; a backup never overwrites", in->path)
                : secpol_call_fail (call,
                                    error == ENOSPC || error == EDQUOT ? SECPOL_RESOURCE_EXHAUSTED
                                                                       : SECPOL_FAILED_PRECONDITION,
                                    "path: cannot make %s: %s", in->path, strerror (error));
        goto done;
    }
    int dir_fd = openat (parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    uint64_t bytes = 0;
    int rc = dir_fd < 0 ? errno : s_write_backup (store, dir_fd, &bytes);
    if (rc == 0 && fsync (parent_fd) != 0)
        rc = errno;
    if (rc) {
        /* leave nothing half made */
        if (dir_fd >= 0) {
            unlinkat (dir_fd, "data.mdb", 0);
            unlinkat (dir_fd, "secret.key", 0);
        }
        unlinkat (parent_fd, base, AT_REMOVEDIR);
        code = secpol_call_fail (
            call, rc == ENOSPC || rc == EDQUOT ? SECPOL_RESOURCE_EXHAUSTED : SECPOL_INTERNAL,
            "backup to %s failed, nothing was kept: %s", in->path, secpol_strerror (rc));
    }
    if (dir_fd >= 0)
        close (dir_fd);
    if (rc == 0) {
        clock_gettime (CLOCK_MONOTONIC, &ended);
        out->path = path;
        out->bytes = bytes;
        out->duration_ms =
            (ended.tv_sec - started.tv_sec) * 1000 + (ended.tv_nsec - started.tv_nsec) / 1000000;
        char quoted[S_PATH_MAX * 4 + 8];
        secpol_log (SECPOL_LOG_INFO, "backup", "path=%s bytes=%llu ms=%lld",
                    secpol_log_quote (quoted, sizeof quoted, path), (unsigned long long)bytes,
                    (long long)out->duration_ms);
    }

done:
    if (parent_fd >= 0)
        close (parent_fd);
    atomic_store (&s_backup_running, false);
    return code;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "GetStats",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_ADMIN,
     .handler = &s_get_stats},
    {.method = "Backup", .lane = SECPOL_LANE_SLOW, .role = SECPOL_ROLE_ADMIN, .prepare = &s_backup},
};
SECPOL_SERVICE_NO_TABLES (admin, secpol__v1__admin_service__descriptor, s_methods);
