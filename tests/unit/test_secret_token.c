/*  test_secret_token.c - bearer token shape, checksum and stored hash. */
#include "secret_token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
test_tokens_are_well_formed_and_distinct (void **state)
{
    (void)state;
    assert_true (sodium_init () >= 0);
    char a[SECPOL_SECRET_TOKEN_MAX], b[SECPOL_SECRET_TOKEN_MAX];
    secpol_secret_token_new (a, "spl_");
    secpol_secret_token_new (b, "spl_");
    assert_int_equal (strlen (a), 4 + SECPOL_SECRET_TOKEN_RANDOM + SECPOL_SECRET_TOKEN_CHECK);
    assert_memory_equal (a, "spl_", 4);
    assert_string_not_equal (a, b);
    for (const char *p = a; *p; p++) /* URL-safe */
        assert_true ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= 'a' && *p <= 'z') || *p == '_');
    assert_true (secpol_secret_token_check (a, "spl_"));
    assert_false (secpol_secret_token_check (a, "sps_")); /* another kind of token */
}

static void
test_typos_and_truncation_are_refused (void **state)
{
    (void)state;
    char token[SECPOL_SECRET_TOKEN_MAX];
    secpol_secret_token_new (token, "spl_");
    /* every single-character change of the random part or check is caught
     * (the 32-bit check misses one in four billion random strings) */
    int caught = 0, tried = 0;
    for (size_t i = 4; token[i]; i++) {
        char saved = token[i];
        token[i] = saved == 'x' ? 'y' : 'x';
        tried++;
        caught += !secpol_secret_token_check (token, "spl_");
        token[i] = saved;
    }
    assert_int_equal (caught, tried);
    char cut[SECPOL_SECRET_TOKEN_MAX];
    snprintf (cut, sizeof cut, "%.*s", (int)strlen (token) - 1, token);
    assert_false (secpol_secret_token_check (cut, "spl_"));
    char longer[SECPOL_SECRET_TOKEN_MAX + 2];
    snprintf (longer, sizeof longer, "%sA", token);
    assert_false (secpol_secret_token_check (longer, "spl_"));
    assert_false (secpol_secret_token_check ("", "spl_"));
    assert_false (secpol_secret_token_check (NULL, "spl_"));
    char dotted[SECPOL_SECRET_TOKEN_MAX];
    memcpy (dotted, token, sizeof dotted);
    dotted[10] = '.';
    assert_false (secpol_secret_token_check (dotted, "spl_"));
}

static void
test_hash_is_keyed_by_the_data_dir (void **state)
{
    (void)state;
    char dir1[] = "/tmp/secpol-st-XXXXXX", dir2[] = "/tmp/secpol-st-XXXXXX";
    assert_non_null (mkdtemp (dir1));
    assert_non_null (mkdtemp (dir2));
    secpol_store_options_t options = {.no_sync = true};
    secpol_store_t *s1 = NULL, *s2 = NULL;
    assert_int_equal (secpol_store_open (&s1, dir1, &options), 0);
    assert_int_equal (secpol_store_open (&s2, dir2, &options), 0);
    char token[SECPOL_SECRET_TOKEN_MAX];
    secpol_secret_token_new (token, "spl_");
    uint8_t h1[32], h1again[32], h2[32], other[32];
    secpol_secret_token_hash (h1, s1, "tokenmac", token);
    secpol_secret_token_hash (h1again, s1, "tokenmac", token);
    secpol_secret_token_hash (h2, s2, "tokenmac", token);
    secpol_secret_token_hash (other, s1, "sessnmac", token);
    assert_memory_equal (h1, h1again, 32);
    assert_memory_not_equal (h1, h2, 32);    /* another secret.key, another hash */
    assert_memory_not_equal (h1, other, 32); /* another use, another hash */
    secpol_store_close (&s1);
    secpol_store_close (&s2);
    char command[128];
    snprintf (command, sizeof command, "rm -rf %s %s", dir1, dir2);
    assert_int_equal (system (command), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_tokens_are_well_formed_and_distinct),
        cmocka_unit_test (test_typos_and_truncation_are_refused),
        cmocka_unit_test (test_hash_is_keyed_by_the_data_dir),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
