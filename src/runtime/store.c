/*  store.c - the LMDB backend of store.h.
 *
 *  One environment, one named sub-database per table. The map grows: a put
 *  that hits MDB_MAP_FULL marks its transaction, the WRITE lane aborts the
 *  batch, calls secpol_store_grow() and runs the batch again. LMDB's
 *  mdb_env_set_mapsize() must not run while any transaction of this process
 *  is open, so read transactions hold a shared lock that grow takes
 *  exclusively.
 */
#define _GNU_SOURCE /* fallocate, pthread_rwlockattr_setkind_np */
#include "store.h"

#include "alloc.h"
#include "keys.h"
#include "store_pg.h"

#include "secpol/store/v1/store_info.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE    (64u * 1024 * 1024)
#define DEFAULT_MAX_READERS 126
#define SCHEMA_KEY          "schema_version"
#define INFO_KEY            "store_info"

struct secpol_store {
    MDB_env *env;                                          /* the environment */
    const secpol_table_t *tables[SECPOL_STORE_MAX_TABLES]; /* [0] is META */
    MDB_dbi dbi[SECPOL_STORE_MAX_TABLES];                  /* sub-database of tables[i] */
    size_t n_tables;                                       /* entries used */
    uint32_t schema;                                       /* schema stamped in the store */
    uint32_t upgraded_from;                                /* schema this open upgraded; 0 = none */
    size_t map_size;                                       /* current map size */
    pthread_rwlock_t resize_lock; /* shared by open txns, exclusive in grow */
    secpol_keys_t *keys;          /* secret.key and what derives from it */
    char dir[PATH_MAX];           /* the data dir, for free-space checks */
    char key_file[PATH_MAX];      /* the master key file in use (keys.h) */
    secpol_pg_t *pg;              /* PostgreSQL backend (store_pg.h); NULL: LMDB */
};

struct secpol_txn {
    secpol_store_t *store;
    MDB_txn *txn;
    secpol_txn_t *parent;     /* NULL for a top-level txn */
    bool write;               /* write transaction */
    bool map_full;            /* a put hit MDB_MAP_FULL */
    bool active;              /* begun or renewed, not reset: holds the resize lock */
    const void *owner;        /* on whose behalf it runs (secpol_txn_set_owner); NULL = none */
    struct secpol_memo *memo; /* the lane thread's (secpol_txn_set_memo); top level only */
    secpol_pg_txn_t *pg;      /* the PostgreSQL transaction when the store is one */
};

struct secpol_cursor {
    MDB_cursor *cursor;
    secpol_txn_t *txn;
    secpol_pg_cursor_t *pg; /* the PostgreSQL cursor when the store is one */
};

const secpol_table_t secpol_meta_table = {"meta"};

static int s_map_error (int rc);
static int s_init_tables (secpol_store_t *self);
static int s_stamp_pg (secpol_store_t *self);
static int s_add_tables (secpol_store_t *self, const secpol_store_options_t *options);
static int s_dbi (const secpol_store_t *self, const secpol_table_t *table, MDB_dbi *dbi);
static void s_fill (secpol_val_t *out, const MDB_val *val);
static int s_allocate_lock_file (const char *dir, unsigned max_readers);

const char *
secpol_strerror (int err)
{
    switch (err) {
        case 0:
            return "success";
        case SECPOL_ENOTFOUND:
            return "key not found";
        case SECPOL_ESCHEMA:
            return "store was written by a newer secpold (schema version too new)";
        case SECPOL_EMAPFULL:
            return "store map is full";
        case SECPOL_EINVAL:
            return "invalid argument to the store";
        case SECPOL_EREADONLY:
            return "write in a read-only transaction";
        case SECPOL_ECORRUPT:
            return "stored record does not decode";
        case SECPOL_EDISKFULL:
            return "no space left on the store's filesystem";
        case SECPOL_ECONFLICT:
            return "transaction conflicts with a concurrent one (serialization failure)";
        case SECPOL_EBACKEND:
            return "database error (see the log)";
        case SECPOL_ENOTSUP:
            return "not done by this store: back up a PostgreSQL store with the database's own "
                   "tools (pg_dump, base backups)";
        default:
            return mdb_strerror (err); /* LMDB codes and errno alike */
    }
}

int
secpol_store_open (secpol_store_t **store_p, const char *dir, const secpol_store_options_t *options)
{
    secpol_store_options_t defaults = {0};
    if (!options)
        options = &defaults;
    secpol_store_t *self = secpol_xcalloc (1, sizeof *self);
    /* Writer-preferring: once grow waits, new read transactions wait behind
     * it, so a stream of reads cannot starve the WRITE lane. Each thread
     * holds the lock at most once (one top-level txn at a time). */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init (&attr);
    pthread_rwlockattr_setkind_np (&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init (&self->resize_lock, &attr);
    pthread_rwlockattr_destroy (&attr);
    self->map_size = options->map_size ? options->map_size : DEFAULT_MAP_SIZE;
    snprintf (self->dir, sizeof self->dir, "%s", dir);
    if (options->key_file && *options->key_file)
        snprintf (self->key_file, sizeof self->key_file, "%s", options->key_file);
    else
        snprintf (self->key_file, sizeof self->key_file, "%s/%s", dir, SECPOL_KEY_FILE);

    int rc = s_add_tables (self, options);
    if (rc)
        goto fail;
    /* --- PostgreSQL (store_pg.h): the database is the store, dir keeps
     * only secret.key. */
    if (options->url) {
        rc = secpol_pg_is_url (options->url) ? secpol_pg_open (&self->pg, options->url)
                                             : SECPOL_EINVAL;
        if (rc || (rc = s_stamp_pg (self)) ||
            (rc = options->key_file && *options->key_file
                      ? secpol_keys_open_file (&self->keys, options->key_file)
                      : secpol_keys_open (&self->keys, dir)))
            goto fail;
        *store_p = self;
        return 0;
    }
    if ((rc = mdb_env_create (&self->env)))
        goto fail;
    if ((rc = mdb_env_set_maxdbs (self->env, (MDB_dbi)self->n_tables + 4)) ||
        (rc = mdb_env_set_maxreaders (self->env, options->max_readers ? options->max_readers
                                                                      : DEFAULT_MAX_READERS)) ||
        (rc = mdb_env_set_mapsize (self->env, self->map_size)))
        goto fail;
    /* MDB_NOTLS: read transactions are tied to our lanes, not to threads. */
    unsigned flags = MDB_NOTLS | (options->no_sync ? MDB_NOSYNC : 0);
    unsigned max_readers = options->max_readers ? options->max_readers : DEFAULT_MAX_READERS;
    if ((rc = s_allocate_lock_file (dir, max_readers)))
        goto fail;
    if ((rc = mdb_env_open (self->env, dir, flags, 0600)))
        goto fail;
    int dead = 0;
    if ((rc = mdb_reader_check (self->env, &dead)))
        goto fail;
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    if (info.me_mapsize > self->map_size)
        self->map_size = info.me_mapsize; /* an earlier run grew it */
    if ((rc = s_init_tables (self)))
        goto fail;
    if ((rc = options->key_file && *options->key_file
                  ? secpol_keys_open_file (&self->keys, options->key_file)
                  : secpol_keys_open (&self->keys, dir)))
        goto fail;
    *store_p = self;
    return 0;

fail:
    if (self->env)
        mdb_env_close (self->env);
    secpol_pg_close (&self->pg);
    pthread_rwlock_destroy (&self->resize_lock);
    secpol_keys_close (&self->keys);
    free (self);
    return rc;
}

/*  Gives every byte of lock.mdb a block on disk, before LMDB opens it.
 *  LMDB creates the file with ftruncate (a sparse file) and writes reader
 *  slots through a shared mapping; on a full filesystem the first write to
 *  a page without a block is a SIGBUS (seen on tmpfs with a reader past the
 *  first page). So the file is made here at the size LMDB gives it for
 *  max_readers ((max_readers - 1) slots of a cache line, and the header of
 *  three: mdb.c's MDB_txninfo) or kept at its size when larger.
 *
 *  This must run before mdb_env_open: closing any descriptor of a file
 *  drops every POSIX record lock the process holds on it, and LMDB's locks
 *  on lock.mdb tell other processes that we are alive (mdb_reader_check)
 *  and that the reader table is in use (a process that finds no lock
 *  resets it). A filesystem without fallocate keeps the old behaviour. */
static int
s_allocate_lock_file (const char *dir, unsigned max_readers)
{
    char path[PATH_MAX];
    if (snprintf (path, sizeof path, "%s/lock.mdb", dir) >= (int)sizeof path)
        return ENAMETOOLONG;
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno;
    int rc = 0;
    off_t want = (off_t)(max_readers - 1) * 64 + 3 * 64;
    off_t size = lseek (fd, 0, SEEK_END);
    if (size > want)
        want = size;
    if (fallocate (fd, 0, 0, want) != 0 && errno != EOPNOTSUPP && errno != ENOSYS)
        rc = errno;
    close (fd);
    return rc;
}

/*  True when the data dir's filesystem has less than SECPOL_STORE_LOW_SPACE
 *  bytes left for us (root may use the blocks reserved for it). */
bool
secpol_store_space_low (const secpol_store_t *self)
{
    struct statvfs fs;
    if (self->pg)
        return false; /* the database's disk is its own (SQLSTATE 53100 says when full) */
    if (statvfs (self->dir, &fs) != 0)
        return false;
    unsigned long long blocks = geteuid () == 0 ? fs.f_bfree : fs.f_bavail;
    return blocks * fs.f_frsize < SECPOL_STORE_LOW_SPACE;
}

/*  Lists META and the caller's tables, refusing bad or repeated names. */
static int
s_add_tables (secpol_store_t *self, const secpol_store_options_t *options)
{
    self->tables[self->n_tables++] = &secpol_meta_table;
    if (options->n_tables > SECPOL_STORE_MAX_TABLES - 1)
        return SECPOL_EINVAL;
    for (size_t i = 0; i < options->n_tables; i++) {
        const secpol_table_t *table = options->tables[i];
        size_t length = table && table->name ? strlen (table->name) : 0;
        if (length == 0 || length > SECPOL_TABLE_NAME_MAX)
            return SECPOL_EINVAL;
        for (size_t k = 0; k < self->n_tables; k++)
            if (self->tables[k] == table || strcmp (self->tables[k]->name, table->name) == 0)
                return SECPOL_EINVAL;
        self->tables[self->n_tables++] = table;
    }
    return 0;
}

/*  Finds the sub-database of a table this store opened. A handful of
 *  tables: a pointer scan beats any hash. */
static int
s_dbi (const secpol_store_t *self, const secpol_table_t *table, MDB_dbi *dbi)
{
    for (size_t i = 0; i < self->n_tables; i++)
        if (self->tables[i] == table) {
            *dbi = self->dbi[i];
            return 0;
        }
    return SECPOL_EINVAL;
}

/*  One step of an upgrade: rewrites what schema `from` stored into the
 *  form of from + 1, in txn (the open's write transaction; the tables are
 *  open, so secpol_get/put/cursor work on them). Returns 0 or an error,
 *  which aborts the whole upgrade. */
typedef struct {
    uint32_t from;                  /* the schema it leaves */
    const char *what;               /* for the log and the docs */
    int (*run) (secpol_txn_t *txn); /* the rewrite; NULL = only the stamp and store_info */
} migration_t;

/*  Schema 1 to 2: store_info is new; s_write_info adds it after the steps. */
static const migration_t s_migrations[] = {
    {1, "META keeps store_info (when the store was made and upgraded)", NULL},
};

/*  Writes META's store_info: for a new store, when and by whom it was
 *  made; after an upgrade, the old record with the upgrade added. */
static int
s_write_info (secpol_txn_t *txn, bool created, uint32_t upgraded_from)
{
    secpol_val_t val;
    Secpol__Store__V1__StoreInfo *old = NULL, info = SECPOL__STORE__V1__STORE_INFO__INIT;
    if (secpol_get (txn, &secpol_meta_table, INFO_KEY, strlen (INFO_KEY), &val) == 0) {
        old = secpol__store__v1__store_info__unpack (NULL, val.size, val.data);
        if (!old)
            return SECPOL_ECORRUPT;
        info = *old;
    }
    if (created) {
        info.created_at = (int64_t)time (NULL);
        info.created_by = SECPOL_VERSION;
    }
    if (upgraded_from) {
        info.upgraded_from = upgraded_from;
        info.upgraded_at = (int64_t)time (NULL);
        info.upgraded_by = SECPOL_VERSION;
    }
    uint8_t packed[512];
    size_t size = secpol__store__v1__store_info__get_packed_size (&info);
    int rc = SECPOL_EINVAL;
    if (size <= sizeof packed) {
        secpol__store__v1__store_info__pack (&info, packed);
        rc = secpol_put (txn, &secpol_meta_table, INFO_KEY, strlen (INFO_KEY), packed, size);
    }
    secpol__store__v1__store_info__free_unpacked (old, NULL);
    return rc;
}

/*  Runs the steps from schema `from` up to SECPOL_SCHEMA_VERSION in txn. */
static int
s_upgrade (secpol_txn_t *txn, uint32_t from)
{
    for (uint32_t schema = from; schema < SECPOL_SCHEMA_VERSION; schema++) {
        const migration_t *step = NULL;
        for (size_t i = 0; i < sizeof s_migrations / sizeof s_migrations[0]; i++)
            if (s_migrations[i].from == schema)
                step = &s_migrations[i];
        if (!step)
            return SECPOL_ESCHEMA; /* no way from there: too old to upgrade */
        int rc = step->run ? step->run (txn) : 0;
        if (rc)
            return rc;
    }
    return s_write_info (txn, false, from);
}

/*  Reads META's schema stamp in txn (the open's write transaction, either
 *  backend): stamps a new store and writes its store_info, upgrades an
 *  older one, refuses a newer one (SECPOL_ESCHEMA). */
static int
s_stamp (secpol_store_t *self, secpol_txn_t *txn)
{
    secpol_val_t val;
    int rc = secpol_get (txn, &secpol_meta_table, SCHEMA_KEY, strlen (SCHEMA_KEY), &val);
    bool created = rc == SECPOL_ENOTFOUND;
    if (rc && !created)
        return rc;
    if (!created) {
        if (val.size != sizeof (uint32_t))
            return SECPOL_ECORRUPT;
        memcpy (&self->schema, val.data, sizeof self->schema);
        if (self->schema > SECPOL_SCHEMA_VERSION)
            return SECPOL_ESCHEMA;
        if (self->schema < SECPOL_SCHEMA_VERSION) {
            if ((rc = s_upgrade (txn, self->schema)))
                return rc;
            self->upgraded_from = self->schema;
        }
    } else if ((rc = s_write_info (txn, true, 0)))
        return rc;
    if (created || self->upgraded_from) {
        uint32_t schema = SECPOL_SCHEMA_VERSION;
        if ((rc = secpol_put (txn, &secpol_meta_table, SCHEMA_KEY, strlen (SCHEMA_KEY), &schema,
                              sizeof schema)))
            return rc;
        self->schema = schema;
    }
    return 0;
}

/*  The same on PostgreSQL, in a transaction of its own: several secpold
 *  opening one new database at once serialize, the losers run again and
 *  find it stamped. */
static int
s_stamp_pg (secpol_store_t *self)
{
    int rc = 0;
    for (int attempt = 0; attempt < 8; attempt++) {
        secpol_txn_t *txn = NULL;
        if ((rc = secpol_txn_begin (self, NULL, true, &txn)))
            return rc;
        self->upgraded_from = 0;
        rc = s_stamp (self, txn);
        if (rc == 0)
            rc = secpol_txn_commit (&txn);
        else
            secpol_txn_abort (&txn);
        if (rc != SECPOL_ECONFLICT)
            break;
    }
    if (rc)
        self->upgraded_from = 0;
    return rc;
}

static int
s_init_tables (secpol_store_t *self)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < self->n_tables; i++)
        if ((rc = mdb_dbi_open (txn, self->tables[i]->name, MDB_CREATE, &self->dbi[i])))
            goto fail;
    secpol_txn_t wrapped = {.store = self, .txn = txn, .write = true};
    if ((rc = s_stamp (self, &wrapped)))
        goto fail;
    return mdb_txn_commit (txn);

fail:
    mdb_txn_abort (txn);
    self->upgraded_from = 0;
    return rc;
}

bool
secpol_store_is_postgresql (const char *store)
{
    return secpol_pg_is_url (store);
}

bool
secpol_store_postgresql (const secpol_store_t *self)
{
    return self->pg != NULL;
}

const char *
secpol_store_describe (char *out, size_t size, const char *url)
{
    if (!url) {
        snprintf (out, size, "lmdb");
        return out;
    }
    return secpol_pg_describe (out, size, url);
}

void
secpol_store_close (secpol_store_t **store_p)
{
    if (!store_p || !*store_p)
        return;
    secpol_store_t *self = *store_p;
    if (self->env)
        mdb_env_close (self->env);
    secpol_pg_close (&self->pg);
    pthread_rwlock_destroy (&self->resize_lock);
    secpol_keys_close (&self->keys);
    free (self);
    *store_p = NULL;
}

uint32_t
secpol_store_schema (secpol_store_t *self)
{
    return self->schema;
}

uint32_t
secpol_store_upgraded_from (secpol_store_t *self)
{
    return self->upgraded_from;
}

size_t
secpol_store_map_size (secpol_store_t *self)
{
    return self->map_size;
}

/*  Counts the reader slots mdb_reader_list prints: a header line, then
 *  "pid thread txnid" per slot held, txnid "-" when not in a transaction. */
typedef struct {
    uint32_t used, active;
} reader_count_t;

static int
s_count_reader (const char *line, void *arg)
{
    reader_count_t *count = arg;
    if (strstr (line, "pid") || strstr (line, "(no"))
        return 0; /* the header, or "(no active readers)" */
    count->used++;
    const char *end = line + strlen (line);
    while (end > line && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    if (end > line && end[-1] != '-')
        count->active++;
    return 0;
}

/*  What META's store_info says, into out. */
static void
s_info_stats (secpol_txn_t *txn, secpol_store_stats_t *out)
{
    secpol_val_t val;
    if (secpol_get (txn, &secpol_meta_table, INFO_KEY, strlen (INFO_KEY), &val) == 0) {
        Secpol__Store__V1__StoreInfo *facts =
            secpol__store__v1__store_info__unpack (NULL, val.size, val.data);
        if (facts) {
            out->created_at = facts->created_at;
            out->upgraded_from = facts->upgraded_from;
            out->upgraded_at = facts->upgraded_at;
            secpol__store__v1__store_info__free_unpacked (facts, NULL);
        }
    }
}

int
secpol_store_stats (secpol_txn_t *txn, secpol_store_stats_t *out)
{
    secpol_store_t *self = txn->store;
    memset (out, 0, sizeof *out);
    if (txn->pg) { /* entries per table; pages, map and readers are LMDB's */
        out->schema_version = self->schema;
        s_info_stats (txn, out);
        struct statvfs fs; /* the data dir keeps the key file */
        if (statvfs (self->dir, &fs) == 0)
            out->disk_free = (uint64_t)(geteuid () == 0 ? fs.f_bfree : fs.f_bavail) * fs.f_frsize;
        for (size_t i = 0; i < self->n_tables; i++) {
            secpol_table_stats_t *table = &out->tables[out->n_tables++];
            snprintf (table->name, sizeof table->name, "%s", self->tables[i]->name);
            int rc = secpol_pg_count (txn->pg, self->tables[i]->name, &table->entries);
            if (rc)
                return rc;
        }
        return 0;
    }
    for (size_t i = 0; i < self->n_tables; i++) {
        MDB_stat stat;
        int rc = mdb_stat (txn->txn, self->dbi[i], &stat);
        if (rc)
            return rc;
        secpol_table_stats_t *table = &out->tables[out->n_tables++];
        snprintf (table->name, sizeof table->name, "%s", self->tables[i]->name);
        table->entries = stat.ms_entries;
        table->pages = stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
        table->depth = stat.ms_depth;
    }
    MDB_envinfo info;
    MDB_stat env_stat;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &env_stat);
    out->page_size = env_stat.ms_psize;
    out->map_size = info.me_mapsize;
    out->map_used = ((uint64_t)info.me_last_pgno + 1) * env_stat.ms_psize;
    out->last_txn_id = info.me_last_txnid;
    out->max_readers = info.me_maxreaders;
    out->schema_version = self->schema;
    s_info_stats (txn, out);
    /* the free list (sub-database 0): each value is a count, then page numbers */
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open (txn->txn, 0, &cursor);
    if (rc)
        return rc;
    MDB_val key, value;
    while ((rc = mdb_cursor_get (cursor, &key, &value, MDB_NEXT)) == 0)
        if (value.mv_size >= sizeof (size_t))
            out->free_pages += *(const size_t *)value.mv_data;
    mdb_cursor_close (cursor);
    if (rc != MDB_NOTFOUND)
        return rc;
    reader_count_t readers = {0, 0};
    mdb_reader_list (self->env, s_count_reader, &readers);
    out->readers_used = readers.used;
    out->readers_active = readers.active;
    int fd;
    struct stat st;
    if (mdb_env_get_fd (self->env, &fd) == 0 && fstat (fd, &st) == 0)
        out->file_size = (uint64_t)st.st_size;
    struct statvfs fs;
    if (statvfs (self->dir, &fs) == 0)
        out->disk_free = (uint64_t)(geteuid () == 0 ? fs.f_bfree : fs.f_bavail) * fs.f_frsize;
    return 0;
}

int
secpol_store_copy (secpol_store_t *self, int fd)
{
    if (self->pg)
        return SECPOL_ENOTSUP; /* the database's own tools back it up */
    /* LMDB begins its own read transaction for the copy: hold the resize
     * lock as every transaction of ours does (mdb_env_set_mapsize must not
     * run under it) */
    pthread_rwlock_rdlock (&self->resize_lock);
    int rc = mdb_env_copyfd2 (self->env, fd, MDB_CP_COMPACT);
    pthread_rwlock_unlock (&self->resize_lock);
    return rc;
}

const char *
secpol_store_dir (const secpol_store_t *self)
{
    return self->dir;
}

const char *
secpol_store_key_file (const secpol_store_t *self)
{
    return self->key_file;
}

int
secpol_store_check_readers (secpol_store_t *self, int *cleared)
{
    *cleared = 0;
    return self->pg ? 0 : mdb_reader_check (self->env, cleared);
}

int
secpol_store_grow (secpol_store_t *self)
{
    if (self->pg)
        return 0; /* nothing to grow */
    pthread_rwlock_wrlock (&self->resize_lock);
    size_t size = self->map_size * 2;
    int rc = mdb_env_set_mapsize (self->env, size);
    if (rc == 0)
        self->map_size = size;
    pthread_rwlock_unlock (&self->resize_lock);
    return rc;
}

int
secpol_txn_begin (secpol_store_t *self, secpol_txn_t *parent, bool write, secpol_txn_t **txn_p)
{
    if (parent && (!write || !parent->write))
        return SECPOL_EINVAL;
    secpol_txn_t *txn = secpol_xcalloc (1, sizeof *txn);
    txn->store = self;
    txn->parent = parent;
    txn->write = write;
    if (self->pg) {
        int rc = secpol_pg_txn_begin (self->pg, parent ? parent->pg : NULL, write, &txn->pg);
        if (rc) {
            free (txn);
            return rc;
        }
        txn->active = true;
        *txn_p = txn;
        return 0;
    }
    if (!parent)
        pthread_rwlock_rdlock (&self->resize_lock);
    int rc =
        mdb_txn_begin (self->env, parent ? parent->txn : NULL, write ? 0 : MDB_RDONLY, &txn->txn);
    if (rc == MDB_MAP_RESIZED && !parent) {
        /* another process grew the map: adopt its size and try once more */
        pthread_rwlock_unlock (&self->resize_lock);
        pthread_rwlock_wrlock (&self->resize_lock);
        mdb_env_set_mapsize (self->env, 0);
        pthread_rwlock_unlock (&self->resize_lock);
        pthread_rwlock_rdlock (&self->resize_lock);
        rc = mdb_txn_begin (self->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
    }
    if (rc) {
        if (!parent)
            pthread_rwlock_unlock (&self->resize_lock);
        free (txn);
        return s_map_error (rc);
    }
    txn->active = true;
    *txn_p = txn;
    return 0;
}

void
secpol_txn_reset (secpol_txn_t *txn)
{
    if (!txn->active)
        return;
    if (txn->pg) {
        secpol_pg_txn_reset (txn->pg);
        txn->active = false;
        return;
    }
    mdb_txn_reset (txn->txn);
    pthread_rwlock_unlock (&txn->store->resize_lock);
    txn->active = false;
}

int
secpol_txn_renew (secpol_txn_t *txn)
{
    if (txn->active || txn->write || txn->parent)
        return SECPOL_EINVAL;
    if (txn->pg) {
        int rc = secpol_pg_txn_renew (txn->pg);
        txn->active = rc == 0;
        return rc;
    }
    pthread_rwlock_rdlock (&txn->store->resize_lock);
    int rc = mdb_txn_renew (txn->txn);
    if (rc) {
        pthread_rwlock_unlock (&txn->store->resize_lock);
        return s_map_error (rc);
    }
    txn->active = true;
    return 0;
}

static void
s_txn_end (secpol_txn_t **txn_p, bool commit, int *rc)
{
    secpol_txn_t *txn = *txn_p;
    if (txn->pg) {
        if (commit)
            *rc = secpol_pg_txn_commit (&txn->pg);
        else
            secpol_pg_txn_abort (&txn->pg);
        free (txn);
        *txn_p = NULL;
        return;
    }
    if (commit) {
        *rc = s_map_error (mdb_txn_commit (txn->txn));
        if (*rc == SECPOL_EMAPFULL)
            txn->map_full = true;
        /* LMDB turns a short write into EIO: on a nearly full disk that is
         * the disk being full, not a failing device */
        if (!txn->parent && txn->write &&
            (*rc == ENOSPC || *rc == EDQUOT || (*rc == EIO && secpol_store_space_low (txn->store))))
            *rc = SECPOL_EDISKFULL;
    } else
        mdb_txn_abort (txn->txn);
    if (txn->parent && txn->map_full)
        txn->parent->map_full = true;
    if (!txn->parent && txn->active)
        pthread_rwlock_unlock (&txn->store->resize_lock);
    free (txn);
    *txn_p = NULL;
}

int
secpol_txn_commit (secpol_txn_t **txn_p)
{
    int rc = 0;
    s_txn_end (txn_p, true, &rc);
    return rc;
}

void
secpol_txn_abort (secpol_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    int rc = 0;
    s_txn_end (txn_p, false, &rc);
}

bool
secpol_txn_map_full (secpol_txn_t *self)
{
    return self->map_full;
}

bool
secpol_txn_conflict (secpol_txn_t *self)
{
    return self->pg && secpol_pg_txn_conflict (self->pg);
}

static int
s_map_error (int rc)
{
    switch (rc) {
        case MDB_NOTFOUND:
            return SECPOL_ENOTFOUND;
        case MDB_MAP_FULL:
        case MDB_TXN_FULL:
            return SECPOL_EMAPFULL;
        default:
            return rc;
    }
}

static void
s_fill (secpol_val_t *out, const MDB_val *val)
{
    if (out) {
        out->data = val->mv_data;
        out->size = val->mv_size;
    }
}

int
secpol_get (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size,
            secpol_val_t *value)
{
    MDB_dbi dbi;
    if (key_size == 0 || s_dbi (txn->store, table, &dbi))
        return SECPOL_EINVAL;
    if (txn->pg)
        return secpol_pg_get (txn->pg, table->name, key, key_size, value);
    MDB_val k = {key_size, (void *)key}, v;
    int rc = s_map_error (mdb_get (txn->txn, dbi, &k, &v));
    if (rc == 0)
        s_fill (value, &v);
    return rc;
}

int
secpol_put (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size,
            const void *value, size_t value_size)
{
    MDB_dbi dbi;
    if (key_size == 0 || s_dbi (txn->store, table, &dbi))
        return SECPOL_EINVAL;
    if (!txn->write)
        return SECPOL_EREADONLY;
    if (txn->pg)
        return secpol_pg_put (txn->pg, table->name, key, key_size, value, value_size);
    MDB_val k = {key_size, (void *)key}, v = {value_size, (void *)value};
    int rc = s_map_error (mdb_put (txn->txn, dbi, &k, &v, 0));
    if (rc == SECPOL_EMAPFULL)
        txn->map_full = true;
    return rc;
}

int
secpol_del (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size)
{
    MDB_dbi dbi;
    if (key_size == 0 || s_dbi (txn->store, table, &dbi))
        return SECPOL_EINVAL;
    if (!txn->write)
        return SECPOL_EREADONLY;
    if (txn->pg)
        return secpol_pg_del (txn->pg, table->name, key, key_size);
    MDB_val k = {key_size, (void *)key};
    int rc = s_map_error (mdb_del (txn->txn, dbi, &k, NULL));
    if (rc == SECPOL_EMAPFULL)
        txn->map_full = true; /* deletes can split pages too */
    return rc;
}

int
secpol_cursor_open (secpol_txn_t *txn, const secpol_table_t *table, secpol_cursor_t **cursor_p)
{
    MDB_dbi dbi;
    if (s_dbi (txn->store, table, &dbi))
        return SECPOL_EINVAL;
    secpol_cursor_t *self = secpol_xcalloc (1, sizeof *self);
    if (txn->pg) {
        self->txn = txn;
        *cursor_p = self;
        return secpol_pg_cursor_open (txn->pg, table->name, &self->pg);
    }
    int rc = mdb_cursor_open (txn->txn, dbi, &self->cursor);
    if (rc) {
        free (self);
        return s_map_error (rc);
    }
    self->txn = txn;
    *cursor_p = self;
    return 0;
}

void
secpol_cursor_close (secpol_cursor_t **cursor_p)
{
    if (!cursor_p || !*cursor_p)
        return;
    if ((*cursor_p)->pg)
        secpol_pg_cursor_close (&(*cursor_p)->pg);
    else
        mdb_cursor_close ((*cursor_p)->cursor);
    free (*cursor_p);
    *cursor_p = NULL;
}

static int
s_cursor_get (secpol_cursor_t *self, MDB_val *k, MDB_cursor_op op, secpol_val_t *key_out,
              secpol_val_t *value_out)
{
    MDB_val v;
    int rc = s_map_error (mdb_cursor_get (self->cursor, k, &v, op));
    if (rc == 0) {
        s_fill (key_out, k);
        s_fill (value_out, &v);
    }
    return rc;
}

int
secpol_cursor_seek (secpol_cursor_t *self, const void *key, size_t key_size, secpol_val_t *key_out,
                    secpol_val_t *value_out)
{
    if (self->pg)
        return secpol_pg_cursor_seek (self->pg, key, key_size, key_out, value_out);
    MDB_val k = {key_size, (void *)key};
    if (!key || key_size == 0)
        return s_cursor_get (self, &k, MDB_FIRST, key_out, value_out);
    return s_cursor_get (self, &k, MDB_SET_RANGE, key_out, value_out);
}

int
secpol_cursor_last (secpol_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out)
{
    if (self->pg)
        return secpol_pg_cursor_last (self->pg, key_out, value_out);
    MDB_val k = {0, NULL};
    return s_cursor_get (self, &k, MDB_LAST, key_out, value_out);
}

int
secpol_cursor_next (secpol_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out)
{
    if (self->pg)
        return secpol_pg_cursor_next (self->pg, key_out, value_out);
    MDB_val k = {0, NULL};
    return s_cursor_get (self, &k, MDB_NEXT, key_out, value_out);
}

int
secpol_cursor_prev (secpol_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out)
{
    if (self->pg)
        return secpol_pg_cursor_prev (self->pg, key_out, value_out);
    MDB_val k = {0, NULL};
    return s_cursor_get (self, &k, MDB_PREV, key_out, value_out);
}

int
secpol_cursor_del (secpol_cursor_t *self)
{
    if (!self->txn->write)
        return SECPOL_EREADONLY;
    if (self->pg)
        return secpol_pg_cursor_del (self->pg);
    int rc = s_map_error (mdb_cursor_del (self->cursor, 0));
    if (rc == SECPOL_EMAPFULL)
        self->txn->map_full = true;
    return rc;
}

void
secpol_store_key (secpol_store_t *self, uint8_t out[32], const char context[8], uint64_t id)
{
    secpol_keys_derive (self->keys, out, context, id);
}

const secpol_table_t *
secpol_txn_table_named (secpol_txn_t *txn, const char *name, size_t length)
{
    const secpol_store_t *self = txn->store;
    for (size_t i = 0; i < self->n_tables; i++)
        if (strlen (self->tables[i]->name) == length &&
            memcmp (self->tables[i]->name, name, length) == 0)
            return self->tables[i];
    return NULL;
}

bool
secpol_val_has_prefix (secpol_val_t val, const void *prefix, size_t prefix_size)
{
    return val.size >= prefix_size && memcmp (val.data, prefix, prefix_size) == 0;
}

void
secpol_txn_set_owner (secpol_txn_t *txn, const void *owner)
{
    txn->owner = owner;
}

const void *
secpol_txn_owner (const secpol_txn_t *txn)
{
    return txn ? txn->owner : NULL;
}

void
secpol_txn_set_memo (secpol_txn_t *txn, struct secpol_memo *memo)
{
    txn->memo = memo;
}

struct secpol_memo *
secpol_txn_memo (const secpol_txn_t *txn)
{
    while (txn && txn->parent)
        txn = txn->parent;
    return txn ? txn->memo : NULL;
}
