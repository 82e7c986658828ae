/*  store.h - the narrow storage interface every handler uses.
 *
 *  Tables are named key/value maps ordered by key bytes. Handlers only get,
 *  put, delete and walk cursors inside a transaction that the dispatcher
 *  gives them; they never begin or commit one. This is the seam where a
 *  second backend can be added without touching handlers. Two backends:
 *  LMDB (one environment, one sub-database per table; the default) and
 *  PostgreSQL (store_pg.h: one SQL table, SERIALIZABLE transactions, several
 *  secpold on one database), chosen by secpol_store_options_t.url.
 *
 *  Threads: a store may be used from many threads. A write transaction
 *  belongs to the WRITE lane; read transactions to the READ lane workers.
 *  Values returned by get and cursors point into the store and stay valid
 *  until the transaction ends (or, in a write transaction, until the next
 *  write to the same table).
 */
#ifndef SECPOL_STORE_H_INCLUDED
#define SECPOL_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Schema of the data directory. Raise it when a stored format changes in a
 *  way an older secpold would misread; a store written by a newer schema is
 *  refused at open.
 *
 *  Schema and upgrades. META holds "schema_version" (a little-endian u32
 *  that never changes form, so that every secpold can tell a newer store)
 *  and, since schema 2, "store_info" (proto/secpol/store/v1/store_info.proto:
 *  when the store was made and last upgraded, by which version). A store of
 *  an older schema is upgraded in place when it is opened: the steps of
 *  store.c's migration table run in order, from its schema to this one,
 *  inside the one write transaction that also stamps the new schema, so an
 *  upgrade is all done or not at all (a failed step leaves the store as it
 *  was, and the open fails). To change a stored format: raise this number,
 *  add the step that rewrites the old records, and keep a store of the old
 *  schema under tests/data for e2e/test_store_upgrade.
 *
 *    1 -> 2  META gets store_info (created_at 0: not known for older stores). */
#define SECPOL_SCHEMA_VERSION 2

/*  A table: a named key/value map, one LMDB sub-database. A service
 *  defines its tables as constants in its own files and lists them in its
 *  secpol_service_t (service.h); the server opens every listed table at
 *  start. Handlers name a table by the address of its definition, so a
 *  table's identity and its name are one object and cannot drift apart:
 *
 *      const secpol_table_t secpol_policy_table = {"policy"};
 *      secpol_get (call->txn, &secpol_policy_table, key, key_size, &value);
 *
 *  Names are at most SECPOL_TABLE_NAME_MAX bytes and unique in a store. */
typedef struct {
    const char *name; /* sub-database name; never renamed once shipped */
} secpol_table_t;

#define SECPOL_TABLE_NAME_MAX   64
#define SECPOL_STORE_MAX_TABLES 64 /* tables one store opens, META included */

/*  The store's own table: schema version and other store facts. Always
 *  opened. */
extern const secpol_table_t secpol_meta_table;

/*  Our own error codes, in a range clear of errno (positive) and of LMDB's
 *  (-30799..-30780). 0 is success. secpol_strerror() covers all three. */
#define SECPOL_ENOTFOUND (-32000) /* key not in the table */
#define SECPOL_ESCHEMA   (-32001) /* store written by a newer schema */
#define SECPOL_EMAPFULL  (-32002) /* map full: the WRITE lane grows it and retries */
#define SECPOL_EINVAL    (-32003) /* bad argument (empty key, unknown table) */
#define SECPOL_EREADONLY (-32004) /* write in a read-only transaction */
#define SECPOL_ECORRUPT  (-32005) /* a stored record does not decode */
#define SECPOL_EDISKFULL                                                                           \
    (-32006) /* the filesystem under the store is full: nothing was written                        \
              */
/*  PostgreSQL backend (store_pg.h). */
#define SECPOL_ECONFLICT (-32020) /* serialization failure: the WRITE lane runs the batch again */
#define SECPOL_EBACKEND  (-32021) /* the database refused or is unreachable (reason logged) */
#define SECPOL_ENOTSUP   (-32022) /* LMDB only (a file copy): not with PostgreSQL */

typedef struct secpol_store secpol_store_t;
typedef struct secpol_txn secpol_txn_t;
typedef struct secpol_cursor secpol_cursor_t;

/*  A borrowed byte range. */
typedef struct {
    const void *data; /* not NUL-terminated */
    size_t size;      /* bytes */
} secpol_val_t;

typedef struct {
    size_t map_size;      /* initial map size in bytes; 0 = 64 MiB. Grows on demand. */
    unsigned max_readers; /* concurrent read transactions; 0 = 126 */
    bool no_sync;         /* true only for throwaway stores: skips fsync on commit */
    const char *key_file; /* the master key file (keys.h); NULL = <dir>/secret.key */
    const secpol_table_t *const *tables; /* tables to open besides META (may be NULL) */
    size_t n_tables;                     /* entries in tables */
    const char *url; /* NULL: LMDB in dir; a postgresql:// URI: that database (store_pg.h) */
} secpol_store_options_t;

/*  Returns a static description of err: one of ours, an LMDB code, or errno. */
const char *secpol_strerror (int err);

/*  Opens (creating if needed) the store in directory dir, which must exist.
 *  Allocates the whole of LMDB's lock.mdb on disk (fallocate): its reader
 *  table is written through a shared mapping, and a store on a full
 *  filesystem would otherwise die of SIGBUS when a new reader slot touches
 *  a page the file has no block for; so a full disk fails here, with
 *  ENOSPC, never later. Clears stale reader slots left by dead processes (mdb_reader_check),
 *  creates META and every table in options->tables (SECPOL_EINVAL when a
 *  name repeats, is empty or too long, or there are more than
 *  SECPOL_STORE_MAX_TABLES), and checks the schema version: a new store is
 *  stamped with SECPOL_SCHEMA_VERSION, an older one is accepted, a newer one
 *  fails with SECPOL_ESCHEMA. options may be NULL for defaults.
 *  With options->url set, the store is that PostgreSQL database instead
 *  (store_pg.h; map and reader options are ignored) and dir holds only
 *  secret.key; SECPOL_EINVAL when url is not a postgresql:// URI,
 *  SECPOL_EBACKEND when the database cannot be reached (the reason logged).
 *  On success *store_p is set; the caller owns it and closes it with
 *  secpol_store_close(). Returns 0 or an error code. */
int secpol_store_open (secpol_store_t **store_p, const char *dir,
                       const secpol_store_options_t *options) __attribute__ ((warn_unused_result));

/*  True when store (a --store value) names a PostgreSQL database: a
 *  postgresql:// or postgres:// URI. */
bool secpol_store_is_postgresql (const char *store);

/*  Writes into out (size bytes) what a log may say about the store url
 *  (options.url): "lmdb" for NULL, else postgresql://user@host:port/dbname
 *  without password or options. Returns out. */
const char *secpol_store_describe (char *out, size_t size, const char *url);

/*  True when the store is a PostgreSQL database (no files of its own). */
bool secpol_store_postgresql (const secpol_store_t *self);

/*  Closes the store. Every transaction must have ended. NULL-safe; nulls
 *  the caller's pointer. */
void secpol_store_close (secpol_store_t **store_p);

/*  Free bytes under which an EIO at commit is taken for a full disk. */
#define SECPOL_STORE_LOW_SPACE (1024u * 1024)

/*  True when the data dir's filesystem has less than SECPOL_STORE_LOW_SPACE
 *  bytes free for this process (root counts the blocks kept for root). */
bool secpol_store_space_low (const secpol_store_t *self);

/*  Returns the schema version the store is stamped with. */
uint32_t secpol_store_schema (secpol_store_t *self);

/*  The schema this open upgraded the store from, or 0 when it did not. */
uint32_t secpol_store_upgraded_from (secpol_store_t *self);

/*  Returns the current map size in bytes. */
size_t secpol_store_map_size (secpol_store_t *self);

/*  Clears the reader slots of processes that died inside a read
 *  transaction (mdb_reader_check): such a slot pins the pages its snapshot
 *  sees, so the file grows instead of reusing them. *cleared receives the
 *  number of slots freed. Any thread; secpol_store_open does it too, and
 *  the WRITE lane every few seconds. Returns 0 or an LMDB error. */
int secpol_store_check_readers (secpol_store_t *self, int *cleared)
    __attribute__ ((warn_unused_result));

/*  One table's share of the store. */
typedef struct {
    char name[SECPOL_TABLE_NAME_MAX + 1]; /* its name */
    uint64_t entries;                     /* keys in it */
    uint64_t pages;                       /* branch, leaf and overflow pages */
    uint32_t depth;                       /* height of its B-tree */
} secpol_table_stats_t;

/*  The store as LMDB sees it. */
typedef struct {
    secpol_table_stats_t tables[SECPOL_STORE_MAX_TABLES]; /* every table opened, META first */
    size_t n_tables;                                      /* entries in tables */
    uint64_t map_size;       /* bytes of address space LMDB may use now */
    uint64_t map_used;       /* bytes up to the last page in use */
    uint64_t free_pages;     /* pages below that free for reuse */
    uint64_t file_size;      /* bytes of data.mdb */
    uint64_t disk_free;      /* bytes free for this process on the data dir's filesystem */
    uint64_t last_txn_id;    /* last committed transaction */
    uint32_t page_size;      /* bytes */
    uint32_t readers_used;   /* reader slots held by threads and tools */
    uint32_t readers_active; /* of those, in a read transaction now */
    uint32_t max_readers;    /* slots in all */
    uint32_t schema_version; /* the store's schema */
    int64_t created_at;      /* unix seconds the store was made; 0 = not known */
    uint32_t upgraded_from;  /* schema of its last upgrade; 0 = never upgraded */
    int64_t upgraded_at;     /* unix seconds of that upgrade */
} secpol_store_stats_t;

/*  Fills out with the state of the store, read in txn (any transaction of
 *  this store; the free pages are counted by walking LMDB's free list, so
 *  the call is linear in it). Returns 0 or an LMDB error. */
int secpol_store_stats (secpol_txn_t *txn, secpol_store_stats_t *out)
    __attribute__ ((warn_unused_result));

/*  Writes a compacted copy of the store (mdb_env_copyfd2 with
 *  MDB_CP_COMPACT: live pages only, renumbered, no free list) to fd, a
 *  file open for writing, which it does not fsync or close. The copy is
 *  the snapshot of one read transaction: every commit before the call is
 *  in it, and writers go on meanwhile. Map growth waits until the copy
 *  ends. Call with no transaction of this thread open. Returns 0, an LMDB
 *  error or errno. */
int secpol_store_copy (secpol_store_t *self, int fd) __attribute__ ((warn_unused_result));

/*  The data dir the store was opened in. Owned by the store. */
const char *secpol_store_dir (const secpol_store_t *self);

/*  The master key file the store's keys come from (keys.h): the key_file
 *  option, or <dir>/secret.key. Owned by the store. */
const char *secpol_store_key_file (const secpol_store_t *self);

/*  Doubles the map size. Call only with no transaction of this process
 *  active except read transactions (it waits for those to end); the WRITE
 *  lane calls it after aborting a batch that hit SECPOL_EMAPFULL. */
int secpol_store_grow (secpol_store_t *self) __attribute__ ((warn_unused_result));

/*  Begins a transaction. parent is NULL, or a write transaction to nest in
 *  (the child commits into the parent, or aborts alone). write selects a
 *  write transaction; LMDB allows one at a time, so only the WRITE lane
 *  begins them. On success *txn_p is set and must be ended with commit or
 *  abort. */
int secpol_txn_begin (secpol_store_t *self, secpol_txn_t *parent, bool write, secpol_txn_t **txn_p)
    __attribute__ ((warn_unused_result));

/*  Commits and frees the transaction; *txn_p is nulled even on failure
 *  (a failed commit is aborted). A top-level write commit is durable when
 *  this returns 0. A top-level write commit that fails because the
 *  filesystem is full returns SECPOL_EDISKFULL: LMDB reports ENOSPC or
 *  EDQUOT, or EIO for a write cut short, which counts as a full disk when
 *  less than SECPOL_STORE_LOW_SPACE bytes are left in the data dir. The
 *  store is as it was before the transaction (LMDB writes its meta page
 *  last), stays usable, and commits again once space is freed. */
int secpol_txn_commit (secpol_txn_t **txn_p) __attribute__ ((warn_unused_result));

/*  Aborts and frees the transaction. NULL-safe; nulls the pointer. */
void secpol_txn_abort (secpol_txn_t **txn_p);

/*  Ends a read-only transaction but keeps its handle (and its LMDB reader
 *  slot) for secpol_txn_renew(): a READ lane thread resets and renews one
 *  transaction instead of beginning a new one per request. A reset
 *  transaction is freed with secpol_txn_abort(). No-op when not active. */
void secpol_txn_reset (secpol_txn_t *txn);

/*  Begins again a read-only transaction ended with secpol_txn_reset(),
 *  seeing the latest commit. Returns 0, SECPOL_EINVAL for a write or
 *  active transaction, or an LMDB error (the transaction stays reset). */
int secpol_txn_renew (secpol_txn_t *txn) __attribute__ ((warn_unused_result));

/*  True when a put in this transaction (or a child) ran out of map space.
 *  The dispatcher checks it to grow the map and retry the batch. */
bool secpol_txn_map_full (secpol_txn_t *self);

/*  True when a statement of this transaction (or its top level) failed to
 *  serialize against a concurrent one (PostgreSQL SQLSTATE 40001 or 40P01;
 *  never with LMDB, whose writer is alone). The dispatcher aborts the batch
 *  and runs it again, as after a map grow. */
bool secpol_txn_conflict (secpol_txn_t *self);

/*  Gets the value stored under key. Returns 0 and sets *value, or
 *  SECPOL_ENOTFOUND, or another error. */
int secpol_get (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size,
                secpol_val_t *value) __attribute__ ((warn_unused_result));

/*  Stores value under key, replacing any value there. Write transactions only. */
int secpol_put (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size,
                const void *value, size_t value_size) __attribute__ ((warn_unused_result));

/*  Deletes key. Returns 0, or SECPOL_ENOTFOUND when it was not there. */
int secpol_del (secpol_txn_t *txn, const secpol_table_t *table, const void *key, size_t key_size)
    __attribute__ ((warn_unused_result));

/*  Opens a cursor on table inside txn. Close it before the txn ends. */
int secpol_cursor_open (secpol_txn_t *txn, const secpol_table_t *table, secpol_cursor_t **cursor_p)
    __attribute__ ((warn_unused_result));

/*  Closes the cursor. NULL-safe; nulls the pointer. */
void secpol_cursor_close (secpol_cursor_t **cursor_p);

/*  Positions at the first key >= key (key NULL: the first key), and returns
 *  it in *key_out / *value_out (either may be NULL). SECPOL_ENOTFOUND when
 *  no such key. */
int secpol_cursor_seek (secpol_cursor_t *self, const void *key, size_t key_size,
                        secpol_val_t *key_out, secpol_val_t *value_out);

/*  Positions at the last key of the table. SECPOL_ENOTFOUND when empty. */
int secpol_cursor_last (secpol_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out);

/*  Steps forward / backward. SECPOL_ENOTFOUND past either end. */
int secpol_cursor_next (secpol_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out);
int secpol_cursor_prev (secpol_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out);

/*  Deletes the entry under the cursor (write transactions only). */
int secpol_cursor_del (secpol_cursor_t *self) __attribute__ ((warn_unused_result));

/*  Writes into out the 32-byte key for context (8 characters naming its
 *  use, e.g. "tokenmac") and id, derived from the data directory's
 *  secret.key (keys.h), which the store creates on first open. */
void secpol_store_key (secpol_store_t *self, uint8_t out[32], const char context[8], uint64_t id);

/*  The table this store opened under name (length bytes, not
 *  NUL-terminated), or NULL. For runtime facilities that keep table names
 *  in records (expiry.h); handlers name tables by their definitions. */
const secpol_table_t *secpol_txn_table_named (secpol_txn_t *txn, const char *name, size_t length);

/*  Marks on whose behalf txn runs: the WRITE lane sets the request's
 *  secpol_call_t on the nested transaction it hands the handler, so that
 *  code deep in a service that is given only the transaction (the audit
 *  log, audit.h) can name the caller. The store never looks at it. */
void secpol_txn_set_owner (secpol_txn_t *txn, const void *owner);

/*  What secpol_txn_set_owner set on txn, or NULL (also for a NULL txn). */
const void *secpol_txn_owner (const secpol_txn_t *txn);

struct secpol_memo; /* memo.h */

/*  Hands a lane thread's memo (memo.h) to the handlers that run in txn, a
 *  top-level transaction, and in the transactions nested in it. The store
 *  never looks at it. */
void secpol_txn_set_memo (secpol_txn_t *txn, struct secpol_memo *memo);

/*  The memo of txn's top-level transaction, or NULL (none set, or txn is
 *  NULL): derived values found there are valid until the lane's next
 *  quiesce, which comes after the request is answered. */
struct secpol_memo *secpol_txn_memo (const secpol_txn_t *txn);

/*  True when val starts with prefix. Handy for prefix scans. */
bool secpol_val_has_prefix (secpol_val_t val, const void *prefix, size_t prefix_size);

#endif
