/*  test_token_store.c - the kinds of link token (against DESIGN.md and
 *  docs/TOKENS.md) and TokenService's tables on a real LMDB store: save,
 *  load, delete, revoke by prefix scan, the view-kind cap, and the expiry
 *  sweep taking both entries of a token and nothing else.
 */
#include "expiry.h"
#include "fixtures.h"
#include "store.h"
#include "token_kinds.h"
#include "token_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define NOW INT64_C (1800000000)

static const secpol_table_t *const s_tables[] = {&secpol_token_table, &secpol_token_subject_table,
                                                 &secpol_expiry_table};
static secpol_test_store_t s_fx;
static secpol_arena_t *s_arena;

static int
s_setup (void **state)
{
    (void)state;
    return secpol_test_store_open_with_arena (&s_fx, &s_arena, s_tables,
                                              sizeof s_tables / sizeof s_tables[0]);
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_test_store_close_with_arena (&s_fx, &s_arena);
    return 0;
}

/* --- the kinds --------------------------------------------------------------------------- */

/*  DESIGN.md, "Token kinds": the setting that times each kind, and the
 *  view kinds. Written out again here so that the table is checked against
 *  the contract, not against itself. */
static const struct {
    const char *name;
    unsigned setting;
    bool view;
} s_design[] = {
    {"WORKSPACE_INVITATION", 5, false},
    {"ACCOUNT_VERIFICATION", 5, false},
    {"COMPLETE_REGISTRATION", 5, false},
    {"TWO_STEP_LINK", 5, false},
    {"LOCKED_MEMBER_VERIFICATION", 5, false},
    {"PASSWORD_RESET", 5, false},
    {"PASSWORDLESS_AUTH", 6, false},
    {"ADMIN_PASSWORD_RESET", 7, false},
    {"EMAIL_CLAIM", 9, false},
    {"RANK_ASSESSMENT", 10, false},
    {"RANK_REVIEWSCALE", 11, false},
    {"RESOURCE_DOWNLOAD", 12, true},
    {"MEMBER_APPROVE", 13, false},
    {"MEMBER_REJECT", 14, false},
    {"MEMBER_PROFILE", 15, true},
    {"IDEA_VIEW", 16, true},
    {"IDEA_APPROVE", 17, false},
    {"IDEA_REJECT", 18, false},
    {"IDEA_PENDING_AUTH", 19, false},
    {"CONVERSATION_VIEW", 20, true},
    {"IDENTITY_VERIFICATION", 21, false},
};

static void
test_every_kind_as_the_design_says (void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *kinds = &secpol__v1__token_kind__descriptor;
    assert_int_equal (kinds->n_values, 22); /* UNSPECIFIED and the 21 */
    assert_int_equal (secpol_token_kind_count (), 21);
    assert_null (secpol_token_kind (0));
    assert_null (secpol_token_kind (22));
    assert_null (secpol_token_kind (-1));
    for (size_t i = 0; i < sizeof s_design / sizeof s_design[0]; i++) {
        char full[64];
        snprintf (full, sizeof full, "TOKEN_KIND_%s", s_design[i].name);
        const ProtobufCEnumValue *value =
            protobuf_c_enum_descriptor_get_value_by_name (kinds, full);
        assert_non_null (value);
        const secpol_token_kind_t *row = secpol_token_kind (value->value);
        assert_non_null (row);
        assert_ptr_equal (row, secpol_token_kind_at ((size_t)value->value - 1));
        assert_int_equal (row->kind, value->value);
        assert_string_equal (row->name, s_design[i].name);
        assert_int_equal (row->setting, s_design[i].setting);
        assert_int_equal (row->view, s_design[i].view);
        assert_int_equal (row->password_reset, strstr (row->name, "PASSWORD_RESET") != NULL);
        assert_true (*row->email);
        /* the setting is the Policy field of that number, a lifetime */
        const char *field = secpol_token_kind_ttl_field (row);
        const ProtobufCFieldDescriptor *by_number = protobuf_c_message_descriptor_get_field (
            &secpol__v1__policy__descriptor, s_design[i].setting);
        assert_non_null (by_number);
        assert_string_equal (field, by_number->name);
        assert_non_null (strstr (field, "_ttl_minutes"));
    }
}

static void
test_lifetime_read_from_the_kind_s_own_setting (void **state)
{
    (void)state;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    /* every uint32 field its own value: its field number times 1000 */
    for (unsigned i = 0; i < secpol__v1__policy__descriptor.n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &secpol__v1__policy__descriptor.fields[i];
        if (field->type == PROTOBUF_C_TYPE_UINT32 && field->label != PROTOBUF_C_LABEL_REPEATED)
            *(uint32_t *)((char *)&policy + field->offset) = field->id * 1000;
    }
    for (size_t i = 0; i < secpol_token_kind_count (); i++) {
        const secpol_token_kind_t *row = secpol_token_kind_at (i);
        assert_int_equal (secpol_token_kind_ttl_minutes (row, &policy), row->setting * 1000);
    }
}

static void
test_docs_table_matches (void **state)
{
    (void)state;
    char *table = secpol_token_kinds_markdown (s_arena);
    char path[512];
    snprintf (path, sizeof path, "%s/docs/TOKENS.md", SECPOL_SOURCE_DIR);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    static char docs[128 * 1024];
    size_t n = fread (docs, 1, sizeof docs - 1, file);
    fclose (file);
    docs[n] = 0;
    if (!strstr (docs, table)) {
        print_error ("docs/TOKENS.md does not contain the kinds table; replace it with:\n%s",
                     table);
        fail ();
    }
}

/* --- the store ------------------------------------------------------------------------- */

static void
s_assert_counts (secpol_txn_t *txn, size_t tokens, size_t expiring)
{
    assert_int_equal (secpol_test_count (txn, &secpol_token_table), tokens);
    assert_int_equal (secpol_test_count (txn, &secpol_token_subject_table), tokens);
    assert_int_equal (secpol_test_count (txn, &secpol_expiry_table), 2 * expiring);
}

/*  A distinct fake hash per n (the store never sees tokens). */
static void
s_hash (uint8_t hash[SECPOL_SECRET_TOKEN_HASH], unsigned n)
{
    memset (hash, 0xa5, SECPOL_SECRET_TOKEN_HASH);
    memcpy (hash, &n, sizeof n);
}

static void
s_save (secpol_txn_t *txn, unsigned n, const char *subject, int kind, int64_t expires_at)
{
    Secpol__Store__V1__TokenRecord record = SECPOL__STORE__V1__TOKEN_RECORD__INIT;
    record.workspace_id = "w1";
    record.community_id = "c1";
    record.subject_id = (char *)subject;
    record.kind = kind;
    record.bound_to = "res-1";
    record.issued_at = NOW;
    record.expires_at = expires_at;
    record.max_uses = 3;
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    s_hash (hash, n);
    assert_int_equal (secpol_token_save (txn, s_arena, hash, &record, true), 0);
}

static secpol_txn_t *
s_begin (void)
{
    secpol_txn_t *txn = NULL;
    assert_int_equal (secpol_txn_begin (s_fx.store, NULL, true, &txn), 0);
    return txn;
}

static void
test_save_load_update_delete (void **state)
{
    (void)state;
    secpol_txn_t *txn = s_begin ();
    s_save (txn, 1, "u1", SECPOL__V1__TOKEN_KIND__TOKEN_KIND_RESOURCE_DOWNLOAD, NOW + 60);
    s_assert_counts (txn, 1, 1);
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    s_hash (hash, 1);
    Secpol__Store__V1__TokenRecord *record = NULL;
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &record), 0);
    assert_string_equal (record->workspace_id, "w1");
    assert_string_equal (record->community_id, "c1");
    assert_string_equal (record->subject_id, "u1");
    assert_string_equal (record->bound_to, "res-1");
    assert_int_equal (record->expires_at, NOW + 60);
    assert_int_equal (record->max_uses, 3);

    /* an update replaces the record and adds no entry */
    record->uses = 2;
    assert_int_equal (secpol_token_save (txn, s_arena, hash, record, false), 0);
    s_assert_counts (txn, 1, 1);
    Secpol__Store__V1__TokenRecord *again = NULL;
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &again), 0);
    assert_int_equal (again->uses, 2);

    assert_int_equal (secpol_token_delete (txn, hash, again), 0);
    s_assert_counts (txn, 0, 0);
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &record), SECPOL_ENOTFOUND);
    /* deleting what is gone is no error */
    assert_int_equal (secpol_token_delete (txn, hash, again), 0);

    /* a record with an id past the bound is refused, never stored */
    char long_id[SECPOL_TOKEN_ID_MAX + 2];
    memset (long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    again->subject_id = long_id;
    assert_int_equal (secpol_token_save (txn, s_arena, hash, again, true), SECPOL_EINVAL);
    s_assert_counts (txn, 0, 0);
    secpol_txn_abort (&txn);
}

static void
test_a_token_that_never_expires_is_not_indexed_for_expiry (void **state)
{
    (void)state;
    secpol_txn_t *txn = s_begin ();
    s_save (txn, 1, "u1", SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET, 0);
    s_assert_counts (txn, 1, 0);
    uint32_t revoked = 0;
    assert_int_equal (secpol_token_revoke (txn, "w1", "u1", 0, INT64_MAX, NULL, &revoked), 0);
    assert_int_equal (revoked, 1); /* never expires: live whenever */
    s_assert_counts (txn, 0, 0);
    secpol_txn_abort (&txn);
}

static void
test_revoke_is_a_prefix_scan_of_one_subject (void **state)
{
    (void)state;
    const int reset = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_PASSWORD_RESET;
    const int view = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_IDEA_VIEW;
    secpol_txn_t *txn = s_begin ();
    s_save (txn, 1, "u1", reset, NOW + 60);
    s_save (txn, 2, "u1", view, NOW + 60);
    s_save (txn, 3, "u1", view, NOW - 1); /* expired, not yet swept */
    s_save (txn, 4, "u1", view, NOW + 60);
    s_save (txn, 5, "u10", view, NOW + 60); /* "u1" is a prefix of its id, not of its key */
    s_save (txn, 6, "u", view, NOW + 60);
    s_assert_counts (txn, 6, 6);

    /* one kind, all but one: the expired one goes without counting */
    uint8_t keep[SECPOL_SECRET_TOKEN_HASH];
    s_hash (keep, 4);
    uint32_t revoked = 99;
    assert_int_equal (secpol_token_revoke (txn, "w1", "u1", view, NOW, keep, &revoked), 0);
    assert_int_equal (revoked, 1);
    s_assert_counts (txn, 4, 4);
    Secpol__Store__V1__TokenRecord *record = NULL;
    assert_int_equal (secpol_token_load (txn, s_arena, keep, &record), 0);

    /* every kind */
    assert_int_equal (secpol_token_revoke (txn, "w1", "u1", 0, NOW, NULL, &revoked), 0);
    assert_int_equal (revoked, 2);
    s_assert_counts (txn, 2, 2);
    /* another workspace has nothing of this subject */
    assert_int_equal (secpol_token_revoke (txn, "w2", "u10", 0, NOW, NULL, &revoked), 0);
    assert_int_equal (revoked, 0);
    s_assert_counts (txn, 2, 2);
    secpol_txn_abort (&txn);
}

static void
test_make_room_drops_the_one_that_expires_first (void **state)
{
    (void)state;
    const int view = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_CONVERSATION_VIEW;
    secpol_txn_t *txn = s_begin ();
    s_save (txn, 1, "u1", view, NOW + 300);
    s_save (txn, 2, "u1", view, NOW + 100);
    s_save (txn, 3, "u1", view, 0); /* never: the last to go */
    s_save (txn, 4, "u2", view, NOW + 1);
    uint32_t revoked = 99;
    /* below the cap: nothing goes */
    assert_int_equal (secpol_token_make_room (txn, "w1", "u1", view, NOW, 4, &revoked), 0);
    assert_int_equal (revoked, 0);
    s_assert_counts (txn, 4, 3);
    /* at the cap: the one expiring at NOW + 100 */
    assert_int_equal (secpol_token_make_room (txn, "w1", "u1", view, NOW, 3, &revoked), 0);
    assert_int_equal (revoked, 1);
    s_assert_counts (txn, 3, 2);
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    Secpol__Store__V1__TokenRecord *record = NULL;
    s_hash (hash, 2);
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &record), SECPOL_ENOTFOUND);
    /* an expired one goes first, and was no longer live */
    assert_int_equal (secpol_token_make_room (txn, "w1", "u1", view, NOW + 400, 2, &revoked), 0);
    assert_int_equal (revoked, 0);
    s_hash (hash, 1);
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &record), SECPOL_ENOTFOUND);
    s_hash (hash, 3);
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &record), 0);
    secpol_txn_abort (&txn);
}

static void
test_the_sweep_takes_both_entries_a_day_after_expiry (void **state)
{
    (void)state;
    const int kind = SECPOL__V1__TOKEN_KIND__TOKEN_KIND_EMAIL_CLAIM;
    secpol_txn_t *txn = s_begin ();
    s_save (txn, 1, "u1", kind, NOW + 60);
    s_save (txn, 2, "u2", kind, NOW + 120);
    s_save (txn, 3, "u3", kind, 0);
    size_t deleted = 0;
    bool more = true;
    /* expired, but kept to say so */
    assert_int_equal (secpol_expiry_sweep (txn, NOW + 61, 256, &deleted, &more), 0);
    assert_int_equal (deleted, 0);
    assert_int_equal (
        secpol_expiry_sweep (txn, NOW + 60 + SECPOL_TOKEN_EXPIRED_KEPT - 1, 256, &deleted, &more),
        0);
    assert_int_equal (deleted, 0);
    s_assert_counts (txn, 3, 2);
    /* then gone, record and index entry */
    assert_int_equal (
        secpol_expiry_sweep (txn, NOW + 60 + SECPOL_TOKEN_EXPIRED_KEPT, 256, &deleted, &more), 0);
    assert_int_equal (deleted, 2);
    assert_false (more);
    s_assert_counts (txn, 2, 1);
    uint8_t hash[SECPOL_SECRET_TOKEN_HASH];
    Secpol__Store__V1__TokenRecord *record = NULL;
    s_hash (hash, 1);
    assert_int_equal (secpol_token_load (txn, s_arena, hash, &record), SECPOL_ENOTFOUND);
    assert_int_equal (secpol_token_sweep_at (0), 0);
    assert_int_equal (secpol_token_sweep_at (INT64_MAX - 1), INT64_MAX);
    assert_true (secpol_token_expired (NOW, NOW));
    assert_false (secpol_token_expired (NOW + 1, NOW));
    assert_false (secpol_token_expired (0, INT64_MAX));
    secpol_txn_abort (&txn);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_every_kind_as_the_design_says, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lifetime_read_from_the_kind_s_own_setting, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_docs_table_matches, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_save_load_update_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_token_that_never_expires_is_not_indexed_for_expiry,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_revoke_is_a_prefix_scan_of_one_subject, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_make_room_drops_the_one_that_expires_first, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_the_sweep_takes_both_entries_a_day_after_expiry,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
