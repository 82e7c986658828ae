/*  store_pg.c - the PostgreSQL backend of store.h; see store_pg.h.
 *
 *  Portable SQL only (what CockroachDB and YugabyteDB accept too):
 *  SERIALIZABLE, bytea, INSERT ... ON CONFLICT, SAVEPOINT; no advisory
 *  locks, no LISTEN/NOTIFY, no server-side functions.
 */
#include "store_pg.h"

#include "alloc.h"
#include "log.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_ROWS     32 /* rows a cursor reads at a time (fits the deleted bitmask) */
#define S_STRING(x)   #x
#define STRING(x)     S_STRING (x)
#define OPEN_ATTEMPTS 8 /* schema creation races another secpold at most this often */
#define OID_TEXT      25
#define OID_BYTEA     17
#define SCHEMA_KEY    "schema_version"
#define LAYOUT_KEY    "pg_layout"
#define MAX_TABLES    SECPOL_STORE_MAX_TABLES

typedef struct conn {
    PGconn *pg;
    struct conn *next; /* in the idle list */
    bool broken;       /* the connection failed: close it, do not pool it */
} conn_t;

struct secpol_pg {
    char *url;             /* libpq connection URI (may hold a password: never logged) */
    pthread_mutex_t mutex; /* guards idle */
    conn_t *idle;          /* pooled connections */
};

struct secpol_pg_txn {
    secpol_pg_t *pg;
    conn_t *conn;            /* the top-level transaction's connection */
    secpol_pg_txn_t *parent; /* NULL at top level */
    secpol_pg_txn_t *top;    /* the top-level transaction (self at top level) */
    unsigned depth;          /* 0 at top level; names the savepoint */
    bool write;              /* SERIALIZABLE read-write, else REPEATABLE READ READ ONLY */
    bool active;             /* begun or renewed, not reset */
    bool started;            /* BEGIN (top) or SAVEPOINT (nested) was sent */
    bool failed;             /* a statement failed: this (sub)transaction is aborted */
    bool conflict;           /* top only: a statement failed to serialize */
    struct {
        const char *table; /* a table written in this transaction (name pointer) */
        uint64_t writes;   /* its puts and deletes so far: cursors on it read afresh */
    } written[MAX_TABLES]; /* top only */
    size_t n_written;
    PGresult **results; /* top only: kept until the transaction ends */
    size_t n_results, results_cap;
};

struct secpol_pg_cursor {
    secpol_pg_txn_t *txn;
    const char *table;
    PGresult *page;  /* the rows read last (owned by the transaction) */
    int rows, row;   /* rows in page, current row */
    bool forward;    /* page is in ascending order */
    bool page_full;  /* page had PAGE_ROWS rows: more may lie beyond */
    uint64_t writes; /* the table's write count (s_writes) when page was read */
    char *from;      /* page's lower bound (forward pages): the key it was read from */
    size_t from_size, from_cap;
    bool from_open;   /* the bound itself was excluded (k > from) */
    uint32_t deleted; /* rows of page this cursor deleted since (bit per row) */
    bool positioned;  /* key / key_size name the current entry */
    const char *key;  /* current key (in a kept result) */
    int key_size;
};

static const struct {
    const char *name;
    const char *sql;
    int n_params;
} statements[] = {
    {"get", "SELECT v FROM secpol_kv WHERE tbl = $1 AND k = $2", 2},
    {"put",
     "INSERT INTO secpol_kv (tbl, k, v) VALUES ($1, $2, $3) "
     "ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v",
     3},
    {"del", "DELETE FROM secpol_kv WHERE tbl = $1 AND k = $2", 2},
    {"ge",
     "SELECT k, v FROM secpol_kv WHERE tbl = $1 AND k >= $2 ORDER BY k LIMIT " STRING (PAGE_ROWS),
     2},
    {"gt",
     "SELECT k, v FROM secpol_kv WHERE tbl = $1 AND k > $2 ORDER BY k LIMIT " STRING (PAGE_ROWS),
     2},
    {"lt",
     "SELECT k, v FROM secpol_kv WHERE tbl = $1 AND k < $2 ORDER BY k DESC LIMIT " STRING (
         PAGE_ROWS),
     2},
    {"count", "SELECT count(*)::int8 FROM secpol_kv WHERE tbl = $1", 1},
    {"last", "SELECT k, v FROM secpol_kv WHERE tbl = $1 ORDER BY k DESC LIMIT " STRING (PAGE_ROWS),
     1},
};

static const char create_sql[] = "CREATE TABLE IF NOT EXISTS secpol_kv ("
                                 "tbl text NOT NULL, k bytea NOT NULL, v bytea NOT NULL, "
                                 "PRIMARY KEY (tbl, k))";

static conn_t *s_connect (const char *url, bool prepare);
static int s_prepare (conn_t *conn);
static void s_conn_close (conn_t **conn_p);
static int s_error (secpol_pg_txn_t *txn, conn_t *conn, PGresult *res, const char *what);
static int s_command (secpol_pg_txn_t *txn, const char *sql, const char *what);
static int s_start (secpol_pg_txn_t *txn);
static PGresult *s_query (secpol_pg_txn_t *txn, const char *statement, const char *table,
                          const void *a, size_t a_size, const void *b, size_t b_size, int *rc);
static void s_keep (secpol_pg_txn_t *top, PGresult *res);
static uint64_t *s_writes (secpol_pg_txn_t *top, const char *table);
static void s_release (secpol_pg_txn_t *top);

bool
secpol_pg_is_url (const char *store)
{
    return store &&
           (strncmp (store, "postgresql://", 13) == 0 || strncmp (store, "postgres://", 11) == 0);
}

const char *
secpol_pg_describe (char *out, size_t size, const char *url)
{
    const char *user = "", *host = "", *port = "", *dbname = "";
    PQconninfoOption *options = PQconninfoParse (url, NULL);
    for (PQconninfoOption *o = options; o && o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp (o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp (o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp (o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp (o->keyword, "dbname") == 0)
            dbname = o->val;
    }
    snprintf (out, size, "postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "", host,
              *port ? ":" : "", port, dbname);
    PQconninfoFree (options);
    return out;
}

/*  libpq prints notices (CREATE ... IF NOT EXISTS "skipping") on stderr by
 *  default; they are not ours to show. */
static void
s_notice (void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static conn_t *
s_connect (const char *url, bool prepare)
{
    const char *keywords[] = {"dbname", "fallback_application_name", NULL};
    const char *values[] = {url, "secpold", NULL};
    conn_t *conn = secpol_xcalloc (1, sizeof *conn);
    conn->pg = PQconnectdbParams (keywords, values, 1);
    if (!conn->pg || PQstatus (conn->pg) != CONNECTION_OK) {
        char quoted[300];
        const char *message = conn->pg ? PQerrorMessage (conn->pg) : "out of memory";
        char first[256];
        snprintf (first, sizeof first, "%s", message);
        first[strcspn (first, "\n")] = '\0';
        secpol_log (SECPOL_LOG_ERROR, "database connection failed", "error=%s",
                    secpol_log_quote (quoted, sizeof quoted, first));
        s_conn_close (&conn);
        return NULL;
    }
    PQsetNoticeProcessor (conn->pg, s_notice, NULL);
    /* Replies go out after COMMIT: make COMMIT wait for the WAL flush (and
     * the synchronous standbys) whatever the server's default says. */
    PGresult *res = PQexec (conn->pg, "SET synchronous_commit TO on");
    if (PQresultStatus (res) != PGRES_COMMAND_OK)
        secpol_log (SECPOL_LOG_WARN, "database ignores synchronous_commit", NULL);
    PQclear (res);
    if (prepare && s_prepare (conn))
        s_conn_close (&conn);
    return conn;
}

static int
s_prepare (conn_t *conn)
{
    static const Oid types[] = {OID_TEXT, OID_BYTEA, OID_BYTEA};
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        PGresult *res = PQprepare (conn->pg, statements[i].name, statements[i].sql,
                                   statements[i].n_params, types);
        int rc =
            PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_error (NULL, conn, res, "prepare");
        PQclear (res);
        if (rc)
            return rc;
    }
    return 0;
}

static void
s_conn_close (conn_t **conn_p)
{
    if (!*conn_p)
        return;
    PQfinish ((*conn_p)->pg);
    free (*conn_p);
    *conn_p = NULL;
}

/*  Logs a failed statement and classifies it: a serialization failure or a
 *  deadlock marks the top-level transaction for a re-run. Values are never
 *  logged (a detail line could show a key): only the SQLSTATE and the
 *  primary message. */
static int
s_error (secpol_pg_txn_t *txn, conn_t *conn, PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
    if (txn)
        txn->failed = true;
    if (state && (strcmp (state, "40001") == 0 || strcmp (state, "40P01") == 0)) {
        if (txn)
            txn->top->conflict = true;
        secpol_log (SECPOL_LOG_DEBUG, "serialization conflict", "what=%s sqlstate=%s", what, state);
        return SECPOL_ECONFLICT;
    }
    bool disk_full = state && strcmp (state, "53100") == 0;
    const char *primary = res ? PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char first[256], quoted[300];
    snprintf (first, sizeof first, "%s", primary ? primary : PQerrorMessage (conn->pg));
    first[strcspn (first, "\n")] = '\0';
    if (PQstatus (conn->pg) != CONNECTION_OK)
        conn->broken = true;
    secpol_log (SECPOL_LOG_ERROR, "database error", "what=%s sqlstate=%s error=%s", what,
                state ? state : "none", secpol_log_quote (quoted, sizeof quoted, first));
    return disk_full ? SECPOL_EDISKFULL : SECPOL_EBACKEND;
}

/*  Runs a statement without parameters in txn's connection. */
static int
s_command (secpol_pg_txn_t *txn, const char *sql, const char *what)
{
    conn_t *conn = txn->top->conn;
    PGresult *res = PQexec (conn->pg, sql);
    int rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_error (txn, conn, res, what);
    PQclear (res);
    return rc;
}

/* --- the store ------------------------------------------------------------- */

/*  Reads the layout stamp in META: stamps a new database, refuses one
 *  laid out by a newer secpold. */
static int
s_check_layout (secpol_pg_txn_t *txn)
{
    uint32_t current = SECPOL_PG_LAYOUT_VERSION, found;
    secpol_val_t value;
    int rc = secpol_pg_get (txn, secpol_meta_table.name, LAYOUT_KEY, strlen (LAYOUT_KEY), &value);
    if (rc == SECPOL_ENOTFOUND)
        return secpol_pg_put (txn, secpol_meta_table.name, LAYOUT_KEY, strlen (LAYOUT_KEY),
                              &current, sizeof current);
    if (rc)
        return rc;
    if (value.size != sizeof (uint32_t))
        return SECPOL_ECORRUPT;
    memcpy (&found, value.data, sizeof found);
    return found > current ? SECPOL_ESCHEMA : 0;
}

int
secpol_pg_open (secpol_pg_t **pg_p, const char *url)
{
    secpol_pg_t *self = secpol_xcalloc (1, sizeof *self);
    self->url = secpol_xstrdup (url);
    pthread_mutex_init (&self->mutex, NULL);
    conn_t *conn = s_connect (url, false);
    int rc = conn ? 0 : SECPOL_EBACKEND;
    /* Several secpold may create the table at once: the losers see a
     * unique violation (23505) or "already exists" (42P07) and look again. */
    for (int attempt = 0; rc == 0 && attempt < OPEN_ATTEMPTS; attempt++) {
        PGresult *res = PQexec (conn->pg, create_sql);
        const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
        bool raced = state && (strcmp (state, "23505") == 0 || strcmp (state, "42P07") == 0 ||
                               strcmp (state, "40001") == 0);
        if (PQresultStatus (res) != PGRES_COMMAND_OK)
            rc = raced && attempt + 1 < OPEN_ATTEMPTS ? 0 : s_error (NULL, conn, res, "create");
        else
            attempt = OPEN_ATTEMPTS;
        PQclear (res);
    }
    if (rc == 0)
        rc = s_prepare (conn);
    if (rc) {
        s_conn_close (&conn);
        goto fail;
    }
    self->idle = conn;
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        secpol_pg_txn_t *txn = NULL;
        if ((rc = secpol_pg_txn_begin (self, NULL, true, &txn)))
            goto fail;
        rc = s_check_layout (txn);
        if (rc == 0)
            rc = secpol_pg_txn_commit (&txn);
        else
            secpol_pg_txn_abort (&txn);
        if (rc != SECPOL_ECONFLICT)
            break;
    }
    if (rc)
        goto fail;
    *pg_p = self;
    return 0;

fail:
    secpol_pg_close (&self);
    return rc;
}

void
secpol_pg_close (secpol_pg_t **pg_p)
{
    if (!pg_p || !*pg_p)
        return;
    secpol_pg_t *self = *pg_p;
    while (self->idle) {
        conn_t *conn = self->idle;
        self->idle = conn->next;
        s_conn_close (&conn);
    }
    pthread_mutex_destroy (&self->mutex);
    free (self->url);
    free (self);
    *pg_p = NULL;
}

/* --- transactions ---------------------------------------------------------- */

int
secpol_pg_txn_begin (secpol_pg_t *self, secpol_pg_txn_t *parent, bool write,
                     secpol_pg_txn_t **txn_p)
{
    secpol_pg_txn_t *txn = secpol_xcalloc (1, sizeof *txn);
    txn->pg = self;
    txn->write = write;
    txn->active = true;
    if (parent) {
        txn->parent = parent;
        txn->top = parent->top;
        txn->depth = parent->depth + 1;
        *txn_p = txn;
        return 0;
    }
    txn->top = txn;
    pthread_mutex_lock (&self->mutex);
    txn->conn = self->idle;
    if (txn->conn)
        self->idle = txn->conn->next;
    pthread_mutex_unlock (&self->mutex);
    if (!txn->conn)
        txn->conn = s_connect (self->url, true);
    if (!txn->conn) {
        free (txn);
        return SECPOL_EBACKEND;
    }
    txn->conn->next = NULL;
    *txn_p = txn;
    return 0;
}

/*  Sends BEGIN (top level) or SAVEPOINT (nested, after its parent's), once,
 *  before the first statement. A pooled connection found broken at BEGIN
 *  (the server restarted meanwhile) is reset and tried once more: nothing
 *  has happened in it yet. */
static int
s_start (secpol_pg_txn_t *txn)
{
    if (txn->started)
        return 0;
    char sql[64];
    if (txn->parent) {
        int rc = s_start (txn->parent);
        if (rc)
            return rc;
        snprintf (sql, sizeof sql, "SAVEPOINT s%u", txn->depth);
        rc = s_command (txn, sql, "savepoint");
        txn->started = rc == 0;
        return rc;
    }
    const char *begin = txn->write ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                   : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    PGresult *res = PQexec (txn->conn->pg, begin);
    if (PQresultStatus (res) != PGRES_COMMAND_OK && PQstatus (txn->conn->pg) != CONNECTION_OK) {
        PQclear (res);
        PQreset (txn->conn->pg);
        if (PQstatus (txn->conn->pg) == CONNECTION_OK && s_prepare (txn->conn) == 0)
            res = PQexec (txn->conn->pg, begin);
        else
            res = NULL;
    }
    int rc = PQresultStatus (res) == PGRES_COMMAND_OK ? 0 : s_error (txn, txn->conn, res, "begin");
    PQclear (res);
    txn->started = rc == 0;
    txn->failed = false; /* nothing ran yet: a failed BEGIN leaves no transaction */
    return rc;
}

static void
s_keep (secpol_pg_txn_t *top, PGresult *res)
{
    if (top->n_results == top->results_cap) {
        top->results_cap = top->results_cap ? top->results_cap * 2 : 16;
        top->results = secpol_xrealloc (top->results, top->results_cap * sizeof *top->results);
    }
    top->results[top->n_results++] = res;
}

/*  The write count of table in this transaction (a pointer to bump). The
 *  name pointers come from the table definitions, so one table has one. */
static uint64_t *
s_writes (secpol_pg_txn_t *top, const char *table)
{
    for (size_t i = 0; i < top->n_written; i++)
        if (top->written[i].table == table)
            return &top->written[i].writes;
    if (top->n_written == MAX_TABLES) /* more tables than a store opens: share the last */
        return &top->written[MAX_TABLES - 1].writes;
    top->written[top->n_written].table = table;
    top->written[top->n_written].writes = 0;
    return &top->written[top->n_written++].writes;
}

static void
s_release (secpol_pg_txn_t *top)
{
    for (size_t i = 0; i < top->n_results; i++)
        PQclear (top->results[i]);
    top->n_results = 0;
}

/*  Ends the top level: COMMIT when commit (returning its result), else
 *  ROLLBACK. The connection stays with txn. */
static int
s_end_top (secpol_pg_txn_t *txn, bool commit)
{
    int rc = 0;
    if (commit && txn->conflict)
        rc = SECPOL_ECONFLICT;
    else if (commit && txn->failed)
        rc = SECPOL_EBACKEND;
    if (txn->started && PQstatus (txn->conn->pg) == CONNECTION_OK) {
        if (commit && rc == 0) {
            PGresult *res = PQexec (txn->conn->pg, "COMMIT");
            if (PQresultStatus (res) != PGRES_COMMAND_OK)
                rc = s_error (txn, txn->conn, res, "commit");
            else if (strcmp (PQcmdStatus (res), "COMMIT") != 0)
                rc = SECPOL_EBACKEND; /* it rolled back */
            PQclear (res);
        } else {
            PGresult *res = PQexec (txn->conn->pg, "ROLLBACK");
            if (PQresultStatus (res) != PGRES_COMMAND_OK)
                txn->conn->broken = true;
            PQclear (res);
        }
    } else if (txn->started && commit && rc == 0)
        rc = SECPOL_EBACKEND;
    if (PQstatus (txn->conn->pg) != CONNECTION_OK)
        txn->conn->broken = true;
    s_release (txn);
    txn->started = txn->failed = txn->conflict = false;
    txn->n_written = 0;
    return rc;
}

/*  Rolls a nested transaction back to its savepoint. */
static void
s_rollback_nested (secpol_pg_txn_t *txn)
{
    if (!txn->started)
        return;
    char sql[96];
    snprintf (sql, sizeof sql, "ROLLBACK TO SAVEPOINT s%u; RELEASE SAVEPOINT s%u", txn->depth,
              txn->depth);
    PGresult *res = PQexec (txn->top->conn->pg, sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK)
        txn->top->failed = true; /* the savepoint is gone: nothing of the batch may commit */
    PQclear (res);
}

static void
s_free (secpol_pg_txn_t **txn_p)
{
    secpol_pg_txn_t *txn = *txn_p;
    if (!txn->parent) {
        secpol_pg_t *pg = txn->pg;
        if (txn->conn->broken)
            s_conn_close (&txn->conn);
        else {
            pthread_mutex_lock (&pg->mutex);
            txn->conn->next = pg->idle;
            pg->idle = txn->conn;
            pthread_mutex_unlock (&pg->mutex);
        }
        free (txn->results);
    }
    free (txn);
    *txn_p = NULL;
}

int
secpol_pg_txn_commit (secpol_pg_txn_t **txn_p)
{
    secpol_pg_txn_t *txn = *txn_p;
    int rc = 0;
    if (!txn->parent)
        rc = s_end_top (txn, true);
    else if (txn->failed || txn->top->conflict) {
        s_rollback_nested (txn);
        rc = txn->top->conflict ? SECPOL_ECONFLICT : SECPOL_EBACKEND;
    } else if (txn->started) {
        char sql[48];
        snprintf (sql, sizeof sql, "RELEASE SAVEPOINT s%u", txn->depth);
        rc = s_command (txn, sql, "release");
        if (rc)
            txn->top->failed = true;
    }
    s_free (txn_p);
    return rc;
}

void
secpol_pg_txn_abort (secpol_pg_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    secpol_pg_txn_t *txn = *txn_p;
    if (!txn->parent)
        s_end_top (txn, false);
    else
        s_rollback_nested (txn);
    s_free (txn_p);
}

void
secpol_pg_txn_reset (secpol_pg_txn_t *txn)
{
    if (!txn->active)
        return;
    s_end_top (txn, false);
    txn->active = false;
}

int
secpol_pg_txn_renew (secpol_pg_txn_t *txn)
{
    if (txn->active || txn->write || txn->parent)
        return SECPOL_EINVAL;
    if (txn->conn->broken || PQstatus (txn->conn->pg) != CONNECTION_OK) {
        PQreset (txn->conn->pg);
        if (PQstatus (txn->conn->pg) != CONNECTION_OK || s_prepare (txn->conn))
            return SECPOL_EBACKEND;
        txn->conn->broken = false;
    }
    txn->active = true;
    return 0;
}

bool
secpol_pg_txn_conflict (secpol_pg_txn_t *txn)
{
    return txn->top->conflict;
}

/* --- statements ------------------------------------------------------------ */

/*  Runs a prepared statement with parameters (table, a, b) in binary, after
 *  BEGIN / SAVEPOINT. The result, when it has rows, is kept by the top-level
 *  transaction; otherwise the caller clears it. NULL with *rc set on error. */
static PGresult *
s_query (secpol_pg_txn_t *txn, const char *statement, const char *table, const void *a,
         size_t a_size, const void *b, size_t b_size, int *rc)
{
    if (txn->top->conflict) {
        *rc = SECPOL_ECONFLICT;
        return NULL;
    }
    if (txn->failed) {
        *rc = SECPOL_EBACKEND;
        return NULL;
    }
    if ((*rc = s_start (txn)))
        return NULL;
    const char *values[3] = {table, a ? a : "", b ? b : ""};
    int lengths[3] = {(int)strlen (table), (int)a_size, (int)b_size};
    int formats[3] = {1, 1, 1};
    int n = b ? 3 : a ? 2 : 1;
    conn_t *conn = txn->top->conn;
    PGresult *res = PQexecPrepared (conn->pg, statement, n, values, lengths, formats, 1);
    ExecStatusType status = PQresultStatus (res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        *rc = s_error (txn, conn, res, statement);
        PQclear (res);
        return NULL;
    }
    if (status == PGRES_TUPLES_OK && PQntuples (res) > 0)
        s_keep (txn->top, res);
    return res;
}

static void
s_value (secpol_val_t *out, PGresult *res, int row, int column)
{
    if (out) {
        out->data = PQgetvalue (res, row, column);
        out->size = (size_t)PQgetlength (res, row, column);
    }
}

int
secpol_pg_get (secpol_pg_txn_t *txn, const char *table, const void *key, size_t key_size,
               secpol_val_t *value)
{
    int rc;
    PGresult *res = s_query (txn, "get", table, key, key_size, NULL, 0, &rc);
    if (!res)
        return rc;
    if (PQntuples (res) == 0) {
        PQclear (res);
        return SECPOL_ENOTFOUND;
    }
    s_value (value, res, 0, 0);
    return 0;
}

int
secpol_pg_put (secpol_pg_txn_t *txn, const char *table, const void *key, size_t key_size,
               const void *value, size_t value_size)
{
    int rc;
    ++*s_writes (txn->top, table);
    /* a zero-length value still needs a non-NULL pointer to be sent as '' */
    PGresult *res =
        s_query (txn, "put", table, key, key_size, value_size ? value : "", value_size, &rc);
    PQclear (res);
    return res ? 0 : rc;
}

int
secpol_pg_del (secpol_pg_txn_t *txn, const char *table, const void *key, size_t key_size)
{
    int rc;
    ++*s_writes (txn->top, table);
    PGresult *res = s_query (txn, "del", table, key, key_size, NULL, 0, &rc);
    if (!res)
        return rc;
    rc = strcmp (PQcmdTuples (res), "0") == 0 ? SECPOL_ENOTFOUND : 0;
    PQclear (res);
    return rc;
}

int
secpol_pg_count (secpol_pg_txn_t *txn, const char *table, uint64_t *entries)
{
    int rc;
    PGresult *res = s_query (txn, "count", table, NULL, 0, NULL, 0, &rc);
    if (!res)
        return rc;
    uint64_t count = 0;
    const uint8_t *p = (const uint8_t *)PQgetvalue (res, 0, 0); /* int8, network order */
    for (int i = 0; i < 8 && PQgetlength (res, 0, 0) == 8; i++)
        count = count << 8 | p[i];
    *entries = count; /* the result is kept by the transaction (it has a row) */
    return 0;
}

/* --- cursors --------------------------------------------------------------- */

int
secpol_pg_cursor_open (secpol_pg_txn_t *txn, const char *table, secpol_pg_cursor_t **cursor_p)
{
    secpol_pg_cursor_t *self = secpol_xcalloc (1, sizeof *self);
    self->txn = txn;
    self->table = table;
    *cursor_p = self;
    return 0;
}

void
secpol_pg_cursor_close (secpol_pg_cursor_t **cursor_p)
{
    if (!cursor_p || !*cursor_p)
        return;
    free ((*cursor_p)->from);
    free (*cursor_p);
    *cursor_p = NULL;
}

/*  bytea order: memcmp over the common length, then the shorter first. */
static int
s_keycmp (const char *a, size_t a_size, const char *b, size_t b_size)
{
    size_t n = a_size < b_size ? a_size : b_size;
    int c = n ? memcmp (a, b, n) : 0;
    if (c)
        return c;
    return a_size < b_size ? -1 : a_size > b_size;
}

/*  True while no write to the cursor's table (but its own deletes) came
 *  after its page was read: the page still shows the table. */
static bool
s_page_current (secpol_pg_cursor_t *self)
{
    return self->page && self->writes == *s_writes (self->txn->top, self->table);
}

/*  Makes row of the page the cursor's position. */
static int
s_at (secpol_pg_cursor_t *self, int row, secpol_val_t *key_out, secpol_val_t *value_out)
{
    self->row = row;
    self->positioned = true;
    self->key = PQgetvalue (self->page, row, 0);
    self->key_size = PQgetlength (self->page, row, 0);
    s_value (key_out, self->page, row, 0);
    s_value (value_out, self->page, row, 1);
    return 0;
}

/*  Reads a page with statement ("ge", "gt", "lt" from key, or "last");
 *  positions at its first row. */
static int
s_page (secpol_pg_cursor_t *self, const char *statement, const void *key, size_t key_size,
        secpol_val_t *key_out, secpol_val_t *value_out)
{
    int rc;
    bool last = strcmp (statement, "last") == 0;
    PGresult *res = s_query (self->txn, statement, self->table,
                             last  ? NULL
                             : key ? key
                                   : "",
                             key_size, NULL, 0, &rc);
    if (!res)
        return rc;
    int rows = PQntuples (res);
    if (rows == 0) {
        PQclear (res); /* not kept: no rows */
        self->page = NULL;
        return SECPOL_ENOTFOUND;
    }
    self->page = res;
    self->rows = rows;
    self->forward = statement[0] == 'g';
    self->page_full = rows == PAGE_ROWS;
    self->writes = *s_writes (self->txn->top, self->table);
    self->deleted = 0;
    if (self->forward) {
        if (key_size > self->from_cap) {
            self->from = secpol_xrealloc (self->from, key_size);
            self->from_cap = key_size;
        }
        if (key_size)
            memcpy (self->from, key, key_size);
        self->from_size = key_size;
        self->from_open = strcmp (statement, "gt") == 0;
    }
    return s_at (self, 0, key_out, value_out);
}

int
secpol_pg_cursor_seek (secpol_pg_cursor_t *self, const void *key, size_t key_size,
                       secpol_val_t *key_out, secpol_val_t *value_out)
{
    if (!key)
        key_size = 0;
    /* A current forward page read from at or below key answers without a
     * round trip: the expiry sweep seeks the first entry after each delete. */
    if (s_page_current (self) && self->forward) {
        int c = s_keycmp (self->from, self->from_size, key, key_size);
        if (c < 0 || (c == 0 && !self->from_open)) {
            for (int row = 0; row < self->rows; row++)
                if (!(self->deleted & 1u << row) &&
                    s_keycmp (PQgetvalue (self->page, row, 0),
                              (size_t)PQgetlength (self->page, row, 0), key, key_size) >= 0)
                    return s_at (self, row, key_out, value_out);
            if (!self->page_full) {
                self->positioned = false;
                return SECPOL_ENOTFOUND;
            }
        }
    }
    int rc = s_page (self, "ge", key, key_size, key_out, value_out);
    if (rc == SECPOL_ENOTFOUND)
        self->positioned = false;
    return rc;
}

int
secpol_pg_cursor_last (secpol_pg_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out)
{
    int rc = s_page (self, "last", NULL, 0, key_out, value_out);
    if (rc == SECPOL_ENOTFOUND)
        self->positioned = false;
    return rc;
}

/*  One step in direction forward: within the page while it is current
 *  (past rows this cursor deleted), else a page read from the current key. */
static int
s_step (secpol_pg_cursor_t *self, bool forward, secpol_val_t *key_out, secpol_val_t *value_out)
{
    if (!self->positioned)
        return forward ? secpol_pg_cursor_seek (self, NULL, 0, key_out, value_out)
                       : secpol_pg_cursor_last (self, key_out, value_out);
    if (s_page_current (self)) {
        bool along = self->forward == forward; /* rows run the way we go */
        for (int row = along ? self->row + 1 : self->row - 1; row >= 0 && row < self->rows;
             row += along ? 1 : -1)
            if (!(self->deleted & 1u << row))
                return s_at (self, row, key_out, value_out);
        if (along && !self->page_full)
            return SECPOL_ENOTFOUND; /* the page ended short of its limit: nothing beyond */
    }
    /* nothing beyond leaves the position where it is, as in LMDB */
    const char *key = self->key;
    int key_size = self->key_size;
    int rc = s_page (self, forward ? "gt" : "lt", key, (size_t)key_size, key_out, value_out);
    if (rc == SECPOL_ENOTFOUND) {
        self->key = key;
        self->key_size = key_size;
    }
    return rc;
}

int
secpol_pg_cursor_next (secpol_pg_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out)
{
    return s_step (self, true, key_out, value_out);
}

int
secpol_pg_cursor_prev (secpol_pg_cursor_t *self, secpol_val_t *key_out, secpol_val_t *value_out)
{
    return s_step (self, false, key_out, value_out);
}

int
secpol_pg_cursor_del (secpol_pg_cursor_t *self)
{
    if (!self->positioned)
        return SECPOL_EINVAL;
    bool current = s_page_current (self);
    /* the key stays readable (its result is kept): a step from it lands on
     * the entry after (or before) the deleted one */
    int rc = secpol_pg_del (self->txn, self->table, self->key, (size_t)self->key_size);
    if (rc == 0 && current) {
        /* a delete only takes a row away: the page stays good without it */
        self->writes = *s_writes (self->txn->top, self->table);
        self->deleted |= 1u << self->row;
    }
    return rc;
}
