/*  test_keys.c - the data directory's secret.key and derived keys. */
#include "keys.h"
#include "store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static char s_dir[64];

static int
s_setup (void **state)
{
    (void)state;
    snprintf (s_dir, sizeof s_dir, "/tmp/secpol-keys-XXXXXX");
    return mkdtemp (s_dir) ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    char command[96];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    return system (command) == 0 ? 0 : -1;
}

static void
test_key_is_created_private_and_kept (void **state)
{
    (void)state;
    secpol_keys_t *keys = NULL;
    assert_int_equal (secpol_keys_open (&keys, s_dir), 0);
    uint8_t first[SECPOL_KEY_BYTES], again[SECPOL_KEY_BYTES], other[SECPOL_KEY_BYTES];
    secpol_keys_derive (keys, first, "tokenmac", 1);
    secpol_keys_derive (keys, other, "sessnmac", 1);
    assert_memory_not_equal (first, other, SECPOL_KEY_BYTES); /* one key per use */
    secpol_keys_derive (keys, other, "tokenmac", 2);
    assert_memory_not_equal (first, other, SECPOL_KEY_BYTES);
    secpol_keys_close (&keys);
    assert_null (keys);

    char path[128];
    snprintf (path, sizeof path, "%s/secret.key", s_dir);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    assert_int_equal (st.st_size, 32);

    /* a restart derives the same keys */
    assert_int_equal (secpol_keys_open (&keys, s_dir), 0);
    secpol_keys_derive (keys, again, "tokenmac", 1);
    assert_memory_equal (first, again, SECPOL_KEY_BYTES);
    secpol_keys_close (&keys);
}

static void
test_key_file_others_can_read_is_refused (void **state)
{
    (void)state;
    secpol_keys_t *keys = NULL;
    assert_int_equal (secpol_keys_open (&keys, s_dir), 0);
    secpol_keys_close (&keys);
    char path[128];
    snprintf (path, sizeof path, "%s/secret.key", s_dir);
    assert_int_equal (chmod (path, 0644), 0);
    assert_int_equal (secpol_keys_open (&keys, s_dir), SECPOL_ECORRUPT);
    assert_null (keys);
    /* and one of the wrong size */
    assert_int_equal (chmod (path, 0600), 0);
    assert_int_equal (truncate (path, 16), 0);
    assert_int_equal (secpol_keys_open (&keys, s_dir), SECPOL_ECORRUPT);
}

static void
test_store_keys_come_from_its_dir (void **state)
{
    (void)state;
    secpol_store_options_t options = {.no_sync = true};
    secpol_store_t *store = NULL;
    assert_int_equal (secpol_store_open (&store, s_dir, &options), 0);
    uint8_t from_store[32], direct[SECPOL_KEY_BYTES];
    secpol_store_key (store, from_store, "tokenmac", 7);
    secpol_store_close (&store);
    secpol_keys_t *keys = NULL;
    assert_int_equal (secpol_keys_open (&keys, s_dir), 0);
    secpol_keys_derive (keys, direct, "tokenmac", 7);
    secpol_keys_close (&keys);
    assert_memory_equal (from_store, direct, 32);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_key_is_created_private_and_kept, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_key_file_others_can_read_is_refused, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_store_keys_come_from_its_dir, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
