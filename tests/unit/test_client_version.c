/*  test_client_version.c - the client library's version macros and
 *  secpol_client_version() agree with each other and with the project
 *  version (SECPOL_VERSION, which CMake gives secpold).
 */
#include "secpol/secpol_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

//  Compiles only when the macros are integer constants usable in #if.
#if SECPOL_CLIENT_VERSION_NUMBER < 100 && SECPOL_CLIENT_VERSION_MAJOR > 0
#error "SECPOL_CLIENT_VERSION_NUMBER does not follow the major version"
#endif

static void
test_macros_match_the_project_version (void **state)
{
    (void)state;
    char expected[64];
    snprintf (expected, sizeof expected, "%d.%d.%d", SECPOL_CLIENT_VERSION_MAJOR,
              SECPOL_CLIENT_VERSION_MINOR, SECPOL_CLIENT_VERSION_PATCH);
    assert_string_equal (SECPOL_CLIENT_VERSION, expected);
    assert_string_equal (SECPOL_CLIENT_VERSION, SECPOL_VERSION);
    assert_int_equal (SECPOL_CLIENT_VERSION_NUMBER, SECPOL_CLIENT_VERSION_MAJOR * 10000 +
                                                        SECPOL_CLIENT_VERSION_MINOR * 100 +
                                                        SECPOL_CLIENT_VERSION_PATCH);
    assert_true (SECPOL_CLIENT_VERSION_MINOR >= 0 && SECPOL_CLIENT_VERSION_MINOR < 100);
    assert_true (SECPOL_CLIENT_VERSION_PATCH >= 0 && SECPOL_CLIENT_VERSION_PATCH < 100);
}

static void
test_function_returns_the_library_version (void **state)
{
    (void)state;
    const char *version = secpol_client_version ();
    assert_non_null (version);
    assert_string_equal (version, SECPOL_CLIENT_VERSION);
    assert_ptr_equal (secpol_client_version (), version); //  static
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_macros_match_the_project_version),
        cmocka_unit_test (test_function_returns_the_library_version),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
