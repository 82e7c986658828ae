/*  test_method_roles.c - the roles of the method table (issue 12): the
 *  methods the issue names admin are admin, the rest service (Health/Check
 *  any), and docs/SECURITY.md carries the table the method table makes.
 *  Also: every implemented method is reached by a fuzz target, that is its
 *  wire path is named in one of tests/fuzz/fuzz_*.c. */
#include "fixtures.h"
#include "method_table.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static secpol_method_table_t *s_table;
static secpol_arena_t *s_arena;

static int
s_setup (void **state)
{
    (void)state;
    s_table = secpol_method_table_default ();
    s_arena = secpol_arena_new ();
    return s_table ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_method_table_destroy (&s_table);
    secpol_arena_destroy (&s_arena);
    return 0;
}

/*  Policy writes, unlock, revoke-all, the test clock, audit reads and
 *  backups are admin; every other implemented method is service, but
 *  Health/Check, which anyone who can connect may ask. */
static void
test_admin_methods (void **state)
{
    (void)state;
    static const char *const admin[] = {
        "/secpol.v1.PolicyService/UpdatePolicy", "/secpol.v1.PolicyService/DeletePolicy",
        "/secpol.v1.LockoutService/Unlock",      "/secpol.v1.SessionService/RevokeAllSessions",
        "/secpol.v1.TestClockService/SetOffset", "/secpol.v1.AuditService/ListAuditEvents",
        "/secpol.v1.AdminService/Backup",        "/secpol.v1.AdminService/GetStats",
    };
    size_t found = 0;
    for (size_t i = 0; i < secpol_method_table_size (s_table); i++) {
        const secpol_method_t *method = secpol_method_table_at (s_table, i);
        if (!method->spec)
            continue;
        bool is_admin = false;
        for (size_t k = 0; k < sizeof admin / sizeof admin[0]; k++)
            is_admin |= strcmp (method->path, admin[k]) == 0;
        found += is_admin;
        secpol_role_t want = is_admin ? SECPOL_ROLE_ADMIN
                             : strcmp (method->path, "/secpol.v1.Health/Check") == 0
                                 ? SECPOL_ROLE_ANY
                                 : SECPOL_ROLE_SERVICE;
        if (method->spec->role != want) {
            print_error ("%s needs role %d, expected %d\n", method->path, method->spec->role, want);
            fail ();
        }
    }
    assert_true (found >= 5); /* those that exist in this tree */
}

static void
test_docs_table_matches (void **state)
{
    (void)state;
    char *table = secpol_method_table_roles_markdown (s_table, s_arena);
    assert_true (secpol_test_doc_contains ("docs/SECURITY.md", "the roles table", table));
}

static void
test_every_method_fuzzed (void **state)
{
    (void)state;
    char dir_path[512];
    snprintf (dir_path, sizeof dir_path, "%s/tests/fuzz", SECPOL_SOURCE_DIR);
    static char sources[4 * 1024 * 1024];
    size_t used = 0;
    DIR *dir = opendir (dir_path);
    assert_non_null (dir);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        size_t length = strlen (entry->d_name);
        if (strncmp (entry->d_name, "fuzz_", 5) != 0 || length < 3 ||
            strcmp (entry->d_name + length - 2, ".c") != 0)
            continue;
        char path[1024];
        snprintf (path, sizeof path, "%s/%s", dir_path, entry->d_name);
        FILE *file = fopen (path, "r");
        assert_non_null (file);
        used += fread (sources + used, 1, sizeof sources - 1 - used, file);
        fclose (file);
    }
    closedir (dir);
    sources[used] = '\0';
    bool missing = false;
    for (size_t i = 0; i < secpol_method_table_size (s_table); i++) {
        const secpol_method_t *method = secpol_method_table_at (s_table, i);
        char quoted[300];
        snprintf (quoted, sizeof quoted, "\"%s\"", method->path);
        if (method->spec && !strstr (sources, quoted)) {
            fprintf (stderr, "no fuzz target names %s (tests/fuzz, docs/FUZZING.md)\n",
                     method->path);
            missing = true;
        }
    }
    assert_false (missing);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_admin_methods),
        cmocka_unit_test (test_docs_table_matches),
        cmocka_unit_test (test_every_method_fuzzed),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
