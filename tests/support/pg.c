/*  pg.c - fresh PostgreSQL stores for tests; see pg.h. */
#include "pg.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_quiet (void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

bool
secpol_test_pg_wanted (void)
{
    const char *store = getenv ("SECPOL_TEST_STORE");
    return store && strcmp (store, "postgresql") == 0;
}

const char *
secpol_test_pg_base (void)
{
    const char *base = getenv ("SECPOL_TEST_PG");
    if (!base || !*base) {
        fprintf (stderr, "SECPOL_TEST_PG is not set: run this test through ctest (its pg "
                         "fixture starts the server) or start one with tests/support/pg_cluster\n");
        return NULL;
    }
    return base;
}

int
secpol_test_pg_exec (const char *url, const char *sql)
{
    PGconn *conn = PQconnectdb (url);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (stderr, "cannot connect to the test database: %s", PQerrorMessage (conn));
        PQfinish (conn);
        return -1;
    }
    PQsetNoticeProcessor (conn, s_quiet, NULL);
    PGresult *res = PQexec (conn, sql);
    ExecStatusType status = PQresultStatus (res);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
    if (rc)
        fprintf (stderr, "%s: %s", sql, PQerrorMessage (conn));
    PQclear (res);
    PQfinish (conn);
    return rc;
}

int
secpol_test_pg_schema_new (char *schema, size_t schema_size, char *url, size_t url_size)
{
    static atomic_uint counter;
    const char *base = secpol_test_pg_base ();
    schema[0] = url[0] = '\0';
    if (!base)
        return -1;
    char name[64], sql[128];
    snprintf (name, sizeof name, "t_%ld_%u", (long)getpid (), atomic_fetch_add (&counter, 1));
    snprintf (sql, sizeof sql, "CREATE SCHEMA %s", name);
    if (secpol_test_pg_exec (base, sql))
        return -1;
    snprintf (schema, schema_size, "%s", name);
    snprintf (url, url_size, "%s%coptions=-csearch_path%%3D%s", base,
              strchr (base, '?') ? '&' : '?', name);
    return 0;
}

void
secpol_test_pg_schema_drop (char *schema)
{
    if (!schema || !schema[0])
        return;
    const char *base = getenv ("SECPOL_TEST_PG");
    if (getenv ("SECPOL_TEST_KEEP"))
        fprintf (stderr, "SECPOL_TEST_KEEP: kept schema %s\n", schema);
    else if (base) {
        char sql[128];
        snprintf (sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        if (secpol_test_pg_exec (base, sql))
            fprintf (stderr, "could not drop schema %s\n", schema);
    }
    schema[0] = '\0';
}
