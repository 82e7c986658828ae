/*  pg.h - fresh PostgreSQL stores for tests.
 *
 *  ctest's pg fixture (tests/CMakeLists.txt, tests/support/pg_cluster)
 *  starts one throwaway PostgreSQL 15 server for the run and hands its URI
 *  to the tests that need it in SECPOL_TEST_PG. A test gets a store of its
 *  own as a fresh SQL schema on that server: the store URI selects it with
 *  options=-csearch_path=<schema>, so secpold's secpol_kv table lands there
 *  and nothing is shared between tests. Dropping the schema removes it all.
 *
 *  SECPOL_TEST_STORE=postgresql (set for the e2e-pg/ and unit-pg/ copies of
 *  the suite) makes the daemon fixture (daemon.h), the store fixture
 *  (fixtures.h) and lib.sh run on such a store instead of LMDB.
 */
#ifndef SECPOL_TEST_PG_H_INCLUDED
#define SECPOL_TEST_PG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/*  True when SECPOL_TEST_STORE asks for the PostgreSQL store. */
bool secpol_test_pg_wanted (void);

/*  The run's server (SECPOL_TEST_PG), or NULL with a message on stderr. */
const char *secpol_test_pg_base (void);

/*  Creates a fresh schema on the run's server; writes its name into schema
 *  (size at least 64) and a store URI selecting it into url. Returns 0, or
 *  -1 with a message on stderr and both set to "". */
int secpol_test_pg_schema_new (char *schema, size_t schema_size, char *url, size_t url_size)
    __attribute__ ((warn_unused_result));

/*  Drops the schema and everything in it, then sets schema to "". Safe to
 *  call twice and on "". With SECPOL_TEST_KEEP set it is kept. */
void secpol_test_pg_schema_drop (char *schema);

/*  Runs sql (no parameters) on url. Returns 0, or -1 with the server's
 *  message on stderr. */
int secpol_test_pg_exec (const char *url, const char *sql) __attribute__ ((warn_unused_result));

#endif
