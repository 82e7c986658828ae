/*  store_pg.h - the PostgreSQL backend of store.h.
 *
 *  store.c dispatches here when secpol_store_options_t.url names a
 *  PostgreSQL database (a libpq URI, "postgresql://..." or "postgres://...").
 *  Handlers see no difference: the same tables, bytewise key order (bytea
 *  compares with memcmp, then length), get / put / delete / ordered cursors.
 *
 *  Layout: one SQL table, secpol_kv (tbl text, k bytea, v bytea, primary key
 *  (tbl, k)); the store's META table is the rows with tbl = 'meta', holding
 *  what LMDB's holds (schema_version, store_info) and pg_layout, the version
 *  of this SQL layout.
 *
 *  Transactions: a top-level write transaction is one SERIALIZABLE
 *  transaction; a nested one is a SAVEPOINT, so a child rolls back alone. A
 *  read transaction is REPEATABLE READ READ ONLY (a snapshot; read-only
 *  transactions at that level never fail to serialize). BEGIN and SAVEPOINT
 *  are sent lazily, before the first statement, so a request refused before
 *  it touches the store costs no round trip. A serialization failure or
 *  deadlock (SQLSTATE 40001, 40P01) in any statement or at COMMIT marks the
 *  top-level transaction: its statements then fail with SECPOL_ECONFLICT at
 *  once, and secpol_pg_txn_conflict() tells the WRITE lane to run the batch
 *  again.
 *
 *  Values returned by get and cursors point into PGresults that the
 *  top-level transaction keeps until it ends (or is reset), so they stay
 *  valid as long as LMDB's do, and longer.
 *
 *  Connections: a pool. A top-level transaction takes a connection for its
 *  lifetime; a READ lane worker's transaction (reset / renewed, never
 *  ended) therefore keeps one connection for the worker. A connection that
 *  broke is closed when its transaction ends; a reset transaction on a broken
 *  connection reconnects at renew.
 *
 *  Threads: the pool is shared; a transaction and its cursors belong to one
 *  thread at a time.
 */
#ifndef SECPOL_STORE_PG_H_INCLUDED
#define SECPOL_STORE_PG_H_INCLUDED

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct secpol_pg secpol_pg_t;
typedef struct secpol_pg_txn secpol_pg_txn_t;
typedef struct secpol_pg_cursor secpol_pg_cursor_t;

/*  Version of the SQL layout (the secpol_kv table). Raise it when the SQL
 *  changes in a way an older secpold would misread. */
#define SECPOL_PG_LAYOUT_VERSION 1

/*  True when store names a PostgreSQL database (a postgresql:// or
 *  postgres:// URI). */
bool secpol_pg_is_url (const char *store);

/*  Writes into out (size bytes) a description of url fit for logs:
 *  postgresql://user@host:port/dbname, never the password or other options.
 *  Returns out. */
const char *secpol_pg_describe (char *out, size_t size, const char *url);

/*  Connects to url, creates the table if missing and checks its layout: a
 *  new database is stamped with SECPOL_PG_LAYOUT_VERSION, a newer one fails
 *  with SECPOL_ESCHEMA. Several secpold starting at once on one empty
 *  database are fine. The schema stamp, store_info and upgrades are
 *  store.c's, the same for both backends. On success sets *pg_p (the caller
 *  owns it, secpol_pg_close). Errors: SECPOL_EBACKEND (cannot connect, SQL
 *  failed: the reason is logged), SECPOL_ESCHEMA, SECPOL_ECORRUPT. */
int secpol_pg_open (secpol_pg_t **pg_p, const char *url) __attribute__ ((warn_unused_result));

/*  Closes every pooled connection. Every transaction must have ended.
 *  NULL-safe; nulls the pointer. */
void secpol_pg_close (secpol_pg_t **pg_p);

/*  As secpol_txn_begin: parent NULL (a pooled connection) or a write
 *  transaction to nest in (a SAVEPOINT on the parent's connection). */
int secpol_pg_txn_begin (secpol_pg_t *self, secpol_pg_txn_t *parent, bool write,
                         secpol_pg_txn_t **txn_p) __attribute__ ((warn_unused_result));

/*  As secpol_txn_commit: COMMIT (top level; durable with synchronous_commit
 *  on) or RELEASE SAVEPOINT. SECPOL_ECONFLICT when the transaction must run
 *  again, SECPOL_EBACKEND when the database refused. Frees and nulls. */
int secpol_pg_txn_commit (secpol_pg_txn_t **txn_p) __attribute__ ((warn_unused_result));

/*  Rolls back (to the savepoint) and frees; NULL-safe, nulls the pointer. */
void secpol_pg_txn_abort (secpol_pg_txn_t **txn_p);

/*  Ends a read transaction and frees its results, keeping its connection. */
void secpol_pg_txn_reset (secpol_pg_txn_t *txn);

/*  Makes a reset read transaction active again (reconnecting when its
 *  connection broke). */
int secpol_pg_txn_renew (secpol_pg_txn_t *txn) __attribute__ ((warn_unused_result));

/*  True when a statement of this transaction's top level failed to
 *  serialize: abort it and run the whole batch again. */
bool secpol_pg_txn_conflict (secpol_pg_txn_t *txn);

int secpol_pg_get (secpol_pg_txn_t *txn, const char *table, const void *key, size_t key_size,
                   secpol_val_t *value) __attribute__ ((warn_unused_result));
int secpol_pg_put (secpol_pg_txn_t *txn, const char *table, const void *key, size_t key_size,
                   const void *value, size_t value_size) __attribute__ ((warn_unused_result));
int secpol_pg_del (secpol_pg_txn_t *txn, const char *table, const void *key, size_t key_size)
    __attribute__ ((warn_unused_result));

/*  Sets *entries to the records of table. */
int secpol_pg_count (secpol_pg_txn_t *txn, const char *table, uint64_t *entries)
    __attribute__ ((warn_unused_result));

/*  Cursors page through a table in key order (WHERE k >= $ ORDER BY k LIMIT
 *  n, and the reverse); a write in the transaction makes the next step read
 *  afresh from the current key, so a cursor sees the transaction's own
 *  writes as an LMDB cursor does. */
int secpol_pg_cursor_open (secpol_pg_txn_t *txn, const char *table, secpol_pg_cursor_t **cursor_p)
    __attribute__ ((warn_unused_result));
void secpol_pg_cursor_close (secpol_pg_cursor_t **cursor_p);
int secpol_pg_cursor_seek (secpol_pg_cursor_t *self, const void *key, size_t key_size,
                           secpol_val_t *key_out, secpol_val_t *value_out);
int secpol_pg_cursor_last (secpol_pg_cursor_t *self, secpol_val_t *key_out,
                           secpol_val_t *value_out);
int secpol_pg_cursor_next (secpol_pg_cursor_t *self, secpol_val_t *key_out,
                           secpol_val_t *value_out);
int secpol_pg_cursor_prev (secpol_pg_cursor_t *self, secpol_val_t *key_out,
                           secpol_val_t *value_out);
int secpol_pg_cursor_del (secpol_pg_cursor_t *self) __attribute__ ((warn_unused_result));

#endif
