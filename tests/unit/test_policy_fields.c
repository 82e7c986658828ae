/*  test_policy_fields.c - the policy settings table: coverage of every
 *  Policy field, defaults, one valid and one invalid value for every
 *  setting, cross-field rules, update masks, text forms, inheritance and
 *  revisions against a real LMDB store, and docs/POLICY.md in sync.
 *
 *  Standards the defaults are checked against: NIST SP 800-63B section
 *  5.2.2 (at most 100 consecutive failures), 5.1.3.2 (out-of-band codes
 *  live at most 10 minutes); OWASP ASVS 4.0.3 V3.3 (idle timeout); OWASP
 *  HTTP Headers cheat sheet (X-XSS-Protection: 0, nosniff, HSTS).
 */
#include "fixtures.h"
#include "memo.h"
#include "policy_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static secpol_arena_t *s_arena;

static int
s_setup (void **state)
{
    (void)state;
    s_arena = secpol_arena_new ();
    return s_arena ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_arena_destroy (&s_arena);
    return 0;
}

static size_t
s_index (const char *path)
{
    int i = secpol_policy_field_index (path);
    if (i < 0)
        fail_msg ("no setting %s", path);
    return (size_t)i;
}

static secpol_policy_mask_t
s_bit (const char *path)
{
    return UINT64_C (1) << s_index (path);
}

/*  Defaults with path set to text. */
static Secpol__V1__Policy *
s_defaults_with (const char *path, const char *text)
{
    Secpol__V1__Policy *policy = secpol_policy_defaults (s_arena);
    if (path)
        assert_int_equal (secpol_policy_leaf_parse (s_arena, policy, s_index (path), text), 0);
    return policy;
}

/*  Validates an update of one leaf against the defaults. */
static size_t
s_validate (const Secpol__V1__Policy *update, secpol_policy_mask_t mask,
            secpol_policy_violation_t **violations)
{
    Secpol__V1__Policy *current = secpol_policy_defaults (s_arena);
    return secpol_policy_validate (s_arena, update, mask, update, current, violations);
}

/* --- coverage ---------------------------------------------------------------- */

static void
test_table_covers_every_policy_field (void **state)
{
    (void)state;
    /* every leaf of secpol.v1.Policy except the metadata is in the table */
    const ProtobufCMessageDescriptor *policy = &secpol__v1__policy__descriptor;
    size_t leaves = 0;
    for (unsigned k = 0; k < policy->n_fields; k++) {
        const ProtobufCFieldDescriptor *fd = &policy->fields[k];
        if (fd->id >= 100) {
            assert_int_equal (secpol_policy_field_index (fd->name), -1); /* not maskable */
            continue;
        }
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessageDescriptor *sub = fd->descriptor;
            for (unsigned m = 0; m < sub->n_fields; m++) {
                char path[128];
                snprintf (path, sizeof path, "%s.%s", fd->name, sub->fields[m].name);
                if (secpol_policy_field_index (path) < 0)
                    fail_msg ("Policy leaf %s is not in the settings table", path);
                leaves++;
            }
        } else {
            if (secpol_policy_field_index (fd->name) < 0)
                fail_msg ("Policy field %s is not in the settings table", fd->name);
            leaves++;
        }
    }
    assert_int_equal (leaves, secpol_policy_field_count ());

    /* every one of the 54 settings of DESIGN.md is there */
    bool seen[55] = {false};
    for (size_t i = 0; i < secpol_policy_field_count (); i++) {
        unsigned setting = secpol_policy_field (i)->setting;
        assert_true (setting >= 1 && setting <= 54);
        seen[setting] = true;
        /* and every leaf says who enforces it */
        assert_non_null (secpol_policy_field (i)->enforcer);
    }
    for (unsigned setting = 1; setting <= 54; setting++)
        if (!seen[setting])
            fail_msg ("setting %u has no leaf", setting);
}

/* --- defaults ------------------------------------------------------------------ */

static void
test_defaults_are_valid_and_signable (void **state)
{
    (void)state;
    Secpol__V1__Policy *defaults = secpol_policy_defaults (s_arena);
    secpol_policy_violation_t *violations;
    size_t n = s_validate (defaults, secpol_policy_mask_all (), &violations);
    for (size_t k = 0; k < n; k++)
        print_error ("%s: %s\n", violations[k].field, violations[k].description);
    assert_int_equal (n, 0);

    assert_int_equal (defaults->password_policy,
                      SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_MEDIUM);
    assert_int_equal (defaults->session_timeout_minutes, 30); /* ASVS 3.3.2 (L2: 30 minutes) */
    /* lockout is on for all three kinds, and never above 100 (800-63B 5.2.2) */
    const Secpol__V1__LockoutSettings *lockouts[] = {
        defaults->login_lockout, defaults->claim_lockout, defaults->two_factor_lockout};
    for (int k = 0; k < 3; k++) {
        assert_true (lockouts[k]->max_failures >= 1 && lockouts[k]->max_failures <= 100);
        assert_true (lockouts[k]->lock_minutes >= 1);
    }
    /* out-of-band codes at most 10 minutes (800-63B 5.1.3.2) */
    assert_true (defaults->email_otp_ttl_seconds <= 600);
    /* OWASP headers cheat sheet */
    assert_false (defaults->xss_protection_enabled);
    assert_true (defaults->content_type_options_enabled);
    assert_true (defaults->hsts->enabled);
    assert_true (defaults->hsts->max_age_days >= 365);
    assert_true (defaults->hsts->include_subdomains);
    assert_false (defaults->hsts->preload);
    assert_string_equal (defaults->referrer_policy, "strict-origin-when-cross-origin");
    assert_string_equal (defaults->cross_origin_opener_policy, "same-origin");
    assert_string_equal (defaults->cross_origin_resource_policy, "same-origin");
    assert_string_equal (defaults->public_key_pins, "");
    assert_string_equal (defaults->expect_ct, "");
    assert_non_null (strstr (defaults->content_security_policy, "object-src 'none'"));
    assert_non_null (strstr (defaults->content_security_policy, "frame-ancestors"));
    /* uploads: documents and images, never executables, scripts or SVG */
    assert_true (defaults->n_allowed_file_extensions >= 10);
    for (size_t k = 0; k < defaults->n_allowed_file_extensions; k++) {
        const char *ext = defaults->allowed_file_extensions[k];
        assert_true (strcmp (ext, "exe") && strcmp (ext, "svg") && strcmp (ext, "html") &&
                     strcmp (ext, "js") && strcmp (ext, "docm"));
    }
    /* no setting has metadata */
    assert_int_equal (defaults->version, 0);
}

/* --- one valid and one invalid value for every setting ---------------------------- */

typedef struct {
    const char *path;
    const char *valid;   /* a value that passes */
    const char *invalid; /* a value that fails alone; NULL: every value of the type is valid */
} field_case_t;

static const field_case_t s_cases[] = {
    {"password_policy", "HIGH", "PASSWORD_POLICY_LEVEL_UNSPECIFIED"},
    {"allow_concurrent_login", "false", NULL},
    {"remember_me_enabled", "true", NULL},
    {"session_timeout_minutes", "0", "43201"},             /* 0 = no idle limit (discouraged) */
    {"email_verification_link_ttl_minutes", "0", "10081"}, /* 0 = never expires */
    {"passwordless_auth_ttl_minutes", "5", "1441"},
    {"password_reset_link_ttl_minutes", "0", "1441"}, /* 0 = never expires (discouraged) */
    {"password_reuse_limit", "0", "25"},
    {"email_claim_link_ttl_minutes", "120", "1441"},
    {"rank_assessment_link_ttl_minutes", "525600", "525601"},
    {"rank_reviewscale_link_ttl_minutes", "43200", "0"},
    {"resource_download_link_ttl_minutes", "60", "600000"},
    {"member_approve_link_ttl_minutes", "20160", "525601"},
    {"member_reject_link_ttl_minutes", "20160", "0"},
    {"member_profile_link_ttl_minutes", "1", "525601"},
    {"idea_view_link_ttl_minutes", "100000", "0"},
    {"idea_approve_link_ttl_minutes", "20160", "525601"},
    {"idea_reject_link_ttl_minutes", "20160", "0"},
    {"idea_pending_auth_link_ttl_minutes", "60", "10081"},
    {"conversation_view_link_ttl_minutes", "1", "0"},
    {"identity_verification_link_ttl_minutes", "30", "1441"},
    {"login_lockout.max_failures", "100", "101"},
    {"login_lockout.window_minutes", "0", "10081"},
    {"login_lockout.lock_minutes", "0", "10081"},
    {"locked_login_prompt_seconds", "0", "3601"},
    {"claim_lockout.max_failures", "0", "1000"},
    {"claim_lockout.window_minutes", "10080", "20000"},
    {"claim_lockout.lock_minutes", "1", "10081"},
    {"two_factor_lockout.max_failures", "10", "101"},
    {"two_factor_lockout.window_minutes", "60", "10081"},
    {"two_factor_lockout.lock_minutes", "60", "99999"},
    {"max_inactive_days", "90", "3651"},
    {"force_password_reset", "1", NULL}, /* lowering: see test_force_password_reset_never_lowered */
    {"password_change_interval_days", "1", "366"},
    {"email_two_step_enabled", "true", NULL},
    {"email_otp_ttl_seconds", "600", "601"},
    {"authenticator_app_enabled", "false", NULL},
    {"auto_login_by_email_token", "true", NULL},
    {"gravatar_enabled", "true", NULL},
    /* enabling the banner alone is invalid: it has no text by default */
    {"auth_page_banner_enabled", "false", "true"},
    {"auth_page_banner_text", "Maintenance tonight 22:00 UTC.\nSee the status page.",
     "Maintenance\rtonight"},
    {"captcha_enabled", "true", NULL},
    {"hsts.enabled", "false", NULL},
    {"hsts.max_age_days", "730", "731"},
    {"hsts.include_subdomains", "false", NULL},
    {"hsts.preload", "true", NULL}, /* valid with the defaults; see test_hsts_preload_rules */
    {"xss_protection_enabled", "true", NULL},
    {"content_type_options_enabled", "false", NULL},
    {"referrer_policy", "no-referrer, strict-origin-when-cross-origin", "always"},
    {"content_security_policy", "default-src 'none'; img-src 'self' data:",
     "default-src 'self'\r\nSet-Cookie: session=stolen"},
    {"public_key_pins", "pin-sha256=\"cUPcTAZWKaASuYWhhneDttWpY3oBAkE3h2+soZS7sWs=\"; max-age=60",
     "pin-sha256=\"x\"\n"},
    /* enabling analytics alone is invalid: there is no measurement id by default */
    {"google_analytics.enabled", "false", "true"},
    {"google_analytics.measurement_id", "G-ABC123XYZ9", "G-abc"},
    {"permissions_policy", "camera=(), microphone=(self)", "camera=()\x01"},
    {"cross_origin_embedder_policy", "require-corp", "require_corp"},
    {"cross_origin_opener_policy", "same-origin-allow-popups", "same-site"},
    {"cross_origin_resource_policy", "cross-origin", "none"},
    {"expect_ct", "max-age=86400, enforce", "max-age=86400, report-uri=\"https://ex\xc3\xa4mple\""},
    {"allowed_file_extensions", "pdf,png,7z", "pdf,PDF"},
};

static void
test_every_setting_has_a_case (void **state)
{
    (void)state;
    size_t n_cases = sizeof s_cases / sizeof s_cases[0];
    assert_int_equal (n_cases, secpol_policy_field_count ());
    for (size_t i = 0; i < secpol_policy_field_count (); i++) {
        bool found = false;
        for (size_t k = 0; k < n_cases; k++)
            found = found || strcmp (s_cases[k].path, secpol_policy_field (i)->path) == 0;
        if (!found)
            fail_msg ("no validation case for %s", secpol_policy_field (i)->path);
    }
}

static void
test_one_valid_and_one_invalid_value_per_setting (void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof s_cases / sizeof s_cases[0]; k++) {
        const field_case_t *c = &s_cases[k];
        secpol_policy_violation_t *violations;
        Secpol__V1__Policy *update = s_defaults_with (c->path, c->valid);
        size_t n = s_validate (update, s_bit (c->path), &violations);
        if (n)
            fail_msg ("%s=%s: refused: %s", c->path, c->valid, violations[0].description);
        if (!c->invalid)
            continue;
        update = s_defaults_with (c->path, c->invalid);
        n = s_validate (update, s_bit (c->path), &violations);
        if (n != 1)
            fail_msg ("%s=%s: %zu violations, expected 1", c->path, c->invalid, n);
        char expected[128];
        snprintf (expected, sizeof expected, "policy.%s", c->path);
        assert_string_equal (violations[0].field, expected);
        assert_true (strlen (violations[0].description) > 5);
    }
}

static void
test_numbers_outside_their_range (void **state)
{
    (void)state;
    /* unknown enum value */
    Secpol__V1__Policy *update = secpol_policy_defaults (s_arena);
    update->password_policy = 7;
    secpol_policy_violation_t *violations;
    assert_int_equal (s_validate (update, s_bit ("password_policy"), &violations), 1);
    assert_non_null (strstr (violations[0].description, "LOW, MEDIUM, HIGH"));
    /* UNSPECIFIED is refused and never offered */
    update->password_policy = 0;
    assert_int_equal (s_validate (update, s_bit ("password_policy"), &violations), 1);
    assert_string_equal (violations[0].description,
                         "must be one of LOW, MEDIUM, HIGH (got UNSPECIFIED)");
    /* the range named is the setting's own, with its unit */
    update = s_defaults_with ("session_timeout_minutes", "50000");
    assert_int_equal (s_validate (update, s_bit ("session_timeout_minutes"), &violations), 1);
    assert_string_equal (violations[0].description,
                         "must be between 0 and 43200 minutes (got 50000)");
    /* the seed's three "0 = unlimited" settings take 0; other lifetimes do not */
    update = s_defaults_with ("passwordless_auth_ttl_minutes", "0");
    assert_int_equal (s_validate (update, s_bit ("passwordless_auth_ttl_minutes"), &violations), 1);
    /* email OTP below its floor */
    update = s_defaults_with ("email_otp_ttl_seconds", "29");
    assert_int_equal (s_validate (update, s_bit ("email_otp_ttl_seconds"), &violations), 1);
    assert_non_null (strstr (violations[0].description, "between 30 and 600"));
    /* a 32-bit value does not parse above 2^32 - 1 */
    assert_int_equal (
        secpol_policy_leaf_parse (s_arena, update, s_index ("max_inactive_days"), "4294967296"),
        -1);
}

static void
test_text_values (void **state)
{
    (void)state;
    secpol_policy_violation_t *violations;
    const struct {
        const char *path, *value;
        bool valid;
    } cases[] = {
        {"referrer_policy", "", true}, /* not sent */
        {"referrer_policy", "unsafe-url", true},
        {"referrer_policy", "origin,same-origin", true},
        {"referrer_policy", "origin,", false},
        {"referrer_policy", "Origin", false},
        {"cross_origin_embedder_policy", "", true},
        {"cross_origin_embedder_policy", "credentialless", true},
        {"cross_origin_opener_policy", "noopener-allow-popups", true},
        {"cross_origin_resource_policy", "same-site", true},
        {"cross_origin_resource_policy", "same-site ", false},
        {"google_analytics.measurement_id", "", true},
        {"google_analytics.measurement_id", "UA-12345678-1", true},
        {"google_analytics.measurement_id", "UA-1234", false},
        {"google_analytics.measurement_id", "G-ABC", false},
        {"google_analytics.measurement_id", "G-ABCDEFGHIJKLMNOPQ", false},
        {"google_analytics.measurement_id", "G-ABCD<script>", false},
        {"auth_page_banner_text", "Wartung heute Nacht \xe2\x80\x93 bitte speichern", true},
        {"auth_page_banner_text", "bad \xc3\x28 utf-8", false},
        {"auth_page_banner_text", "tab\tseparated", false},
        {"auth_page_banner_text", "C1 \xc2\x85 control", false},
        {"content_security_policy", "", true},
        {"content_security_policy", "default-src 'self'\t", false},
        /* a value of spaces would send an empty header: "" is how to send none */
        {"content_security_policy", " ", false},
        {"content_security_policy", "     ", false},
        {"permissions_policy", "  ", false},
        {"public_key_pins", " ", false},
        {"expect_ct", "   ", false},
        {"referrer_policy", " ", false},
        {"cross_origin_opener_policy", " ", false},
        {"content_security_policy", " default-src 'self' ", true},
        {"allowed_file_extensions", "", true}, /* no uploads at all */
        {"allowed_file_extensions", ".pdf", false},
        {"allowed_file_extensions", "pdf,pdf", false},
        {"allowed_file_extensions", "tar.gz", false},
        {"allowed_file_extensions", "a/b", false},
        {"allowed_file_extensions", "abcdefghijklmnopq", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Secpol__V1__Policy *update = s_defaults_with (cases[k].path, cases[k].value);
        size_t n = s_validate (update, s_bit (cases[k].path), &violations);
        if (n != (cases[k].valid ? 0u : 1u))
            fail_msg ("%s=\"%s\": %zu violations", cases[k].path, cases[k].value, n);
    }

    /* length caps: CSP 6144 bytes, other headers 4096, banner 2000 (and all
     * headers together 8192: test_policy_headers.c) */
    char *long_text = secpol_arena_alloc (s_arena, 8194);
    memset (long_text, 'a', 8193);
    Secpol__V1__Policy *update = secpol_policy_defaults (s_arena);
    update->content_security_policy = long_text;
    long_text[6145] = 0;
    assert_int_equal (s_validate (update, s_bit ("content_security_policy"), &violations), 1);
    long_text[6144] = 0;
    assert_int_equal (s_validate (update, s_bit ("content_security_policy"), &violations), 0);
    long_text[4097] = 0;
    update->permissions_policy = long_text;
    assert_int_equal (s_validate (update, s_bit ("permissions_policy"), &violations), 1);
    long_text[2001] = 0;
    update->auth_page_banner_text = long_text;
    assert_int_equal (s_validate (update, s_bit ("auth_page_banner_text"), &violations), 1);

    /* at most 200 extensions */
    update = secpol_policy_defaults (s_arena);
    update->n_allowed_file_extensions = 0;
    for (int k = 0; k < 201; k++)
        secpol_arena_append (s_arena, &update->n_allowed_file_extensions,
                             (void ***)&update->allowed_file_extensions,
                             secpol_arena_printf (s_arena, "x%d", k));
    assert_int_equal (s_validate (update, s_bit ("allowed_file_extensions"), &violations), 1);
    update->n_allowed_file_extensions = 200;
    assert_int_equal (s_validate (update, s_bit ("allowed_file_extensions"), &violations), 0);
}

static void
test_one_violation_per_bad_field (void **state)
{
    (void)state;
    Secpol__V1__Policy *update = secpol_policy_defaults (s_arena);
    update->login_lockout->max_failures = 500;
    update->referrer_policy = "nope";
    update->email_otp_ttl_seconds = 3600;
    update->session_timeout_minutes = 45; /* fine */
    secpol_policy_violation_t *violations;
    size_t n = s_validate (update, secpol_policy_mask_all (), &violations);
    assert_int_equal (n, 3);
    /* in table order */
    assert_string_equal (violations[0].field, "policy.login_lockout.max_failures");
    assert_string_equal (violations[1].field, "policy.email_otp_ttl_seconds");
    assert_string_equal (violations[2].field, "policy.referrer_policy");
    /* a field outside the mask is not judged */
    n = s_validate (update, s_bit ("session_timeout_minutes"), &violations);
    assert_int_equal (n, 0);
}

static void
test_hsts_preload_rules (void **state)
{
    (void)state;
    /* hstspreload.org: preload needs includeSubDomains and max-age >= 1 year */
    secpol_policy_violation_t *violations;
    secpol_policy_mask_t hsts = 0;
    assert_int_equal (secpol_policy_mask_add (&hsts, "hsts"), 0);

    Secpol__V1__Policy *update = s_defaults_with ("hsts.preload", "true");
    update->hsts->include_subdomains = false;
    assert_int_equal (s_validate (update, hsts, &violations), 1);
    assert_string_equal (violations[0].field, "policy.hsts.preload");
    assert_non_null (strstr (violations[0].description, "include_subdomains"));

    update->hsts->include_subdomains = true;
    update->hsts->max_age_days = 180;
    assert_int_equal (s_validate (update, hsts, &violations), 1);
    assert_non_null (strstr (violations[0].description, "365"));

    /* turning HSTS off under an existing preload names the field changed */
    Secpol__V1__Policy *current = s_defaults_with ("hsts.preload", "true");
    update = s_defaults_with ("hsts.preload", "true");
    update->hsts->enabled = false;
    assert_int_equal (secpol_policy_validate (s_arena, update, s_bit ("hsts.enabled"), update,
                                              current, &violations),
                      1);
    assert_string_equal (violations[0].field, "policy.hsts.enabled");

    /* a bad max_age is reported once, on itself */
    update = s_defaults_with ("hsts.preload", "true");
    update->hsts->max_age_days = 9999;
    assert_int_equal (s_validate (update, hsts, &violations), 1);
    assert_string_equal (violations[0].field, "policy.hsts.max_age_days");
}

static void
test_analytics_and_banner_need_their_text (void **state)
{
    (void)state;
    secpol_policy_violation_t *violations;
    secpol_policy_mask_t mask = 0;
    assert_int_equal (secpol_policy_mask_add (&mask, "google_analytics"), 0);
    Secpol__V1__Policy *update = s_defaults_with ("google_analytics.enabled", "true");
    assert_int_equal (s_validate (update, mask, &violations), 1);
    assert_string_equal (violations[0].field, "policy.google_analytics.measurement_id");
    update->google_analytics->measurement_id = "G-12AB34CD56";
    assert_int_equal (s_validate (update, mask, &violations), 0);

    update = s_defaults_with ("auth_page_banner_enabled", "true");
    update->auth_page_banner_text = "Scheduled maintenance on Sunday.";
    mask = s_bit ("auth_page_banner_enabled") | s_bit ("auth_page_banner_text");
    assert_int_equal (s_validate (update, mask, &violations), 0);
}

static void
test_force_password_reset_never_lowered (void **state)
{
    (void)state;
    Secpol__V1__Policy *current = s_defaults_with ("force_password_reset", "5");
    secpol_policy_violation_t *violations;
    Secpol__V1__Policy *update = s_defaults_with ("force_password_reset", "4");
    assert_int_equal (secpol_policy_validate (s_arena, update, s_bit ("force_password_reset"),
                                              update, current, &violations),
                      1);
    assert_string_equal (violations[0].field, "policy.force_password_reset");
    assert_non_null (strstr (violations[0].description, "lowered"));
    update = s_defaults_with ("force_password_reset", "5");
    assert_int_equal (secpol_policy_validate (s_arena, update, s_bit ("force_password_reset"),
                                              update, current, &violations),
                      0);
    update = s_defaults_with ("force_password_reset", "18446744073709551615");
    assert_int_equal (secpol_policy_validate (s_arena, update, s_bit ("force_password_reset"),
                                              update, current, &violations),
                      0);
}

/*  A level record that overrides path with text (path NULL: none). */
static Secpol__Store__V1__PolicyLevel *
s_level_setting (const char *path, const char *text)
{
    Secpol__Store__V1__PolicyLevel *level = (Secpol__Store__V1__PolicyLevel *)secpol_arena_message (
        s_arena, &secpol__store__v1__policy_level__descriptor);
    level->values = path ? s_defaults_with (path, text) : secpol_policy_new (s_arena);
    secpol_policy_level_set_mask (s_arena, level, path ? s_bit (path) : 0);
    return level;
}

/*  Set 5, delete, then 1: the level's record keeps the high-water mark, the
 *  effective value stays 5 and 1 is refused (issue 7, policy fix 1). */
static void
test_force_password_reset_survives_delete (void **state)
{
    (void)state;
    const Secpol__V1__Policy *defaults = secpol_policy_shared_defaults ();

    /* the level sets 5 */
    Secpol__Store__V1__PolicyLevel *set = s_level_setting ("force_password_reset", "5");
    secpol_policy_level_keep_high_water (s_arena, set, NULL);
    assert_non_null (set->high_water);
    assert_int_equal (set->high_water->force_password_reset, 5);
    assert_int_equal (secpol_policy_compose (s_arena, defaults, set)->force_password_reset, 5);

    /* deleted: no overrides, the mark stays, and so does the value */
    Secpol__Store__V1__PolicyLevel *deleted = s_level_setting (NULL, NULL);
    secpol_policy_level_keep_high_water (s_arena, deleted, set);
    assert_int_equal (deleted->n_overridden, 0);
    Secpol__V1__Policy *after = secpol_policy_compose (s_arena, defaults, deleted);
    assert_int_equal (after->force_password_reset, 5);

    /* the mark survives the record's round trip through the store format */
    size_t size = secpol__store__v1__policy_level__get_packed_size (deleted);
    uint8_t *packed = secpol_arena_alloc (s_arena, size);
    secpol__store__v1__policy_level__pack (deleted, packed);
    Secpol__Store__V1__PolicyLevel *stored =
        secpol__store__v1__policy_level__unpack (secpol_arena_allocator (s_arena), size, packed);
    assert_non_null (stored);
    after = secpol_policy_compose (s_arena, defaults, stored);
    assert_int_equal (after->force_password_reset, 5);

    /* 1 is a lowering, refused with the reason; 6 is fine */
    secpol_policy_violation_t *violations;
    Secpol__V1__Policy *update = s_defaults_with ("force_password_reset", "1");
    assert_int_equal (secpol_policy_validate (s_arena, update, s_bit ("force_password_reset"),
                                              update, after, &violations),
                      1);
    assert_non_null (strstr (violations[0].description, "it is 5"));
    assert_non_null (strstr (violations[0].description, "DeletePolicy"));
    update = s_defaults_with ("force_password_reset", "6");
    assert_int_equal (secpol_policy_validate (s_arena, update, s_bit ("force_password_reset"),
                                              update, after, &violations),
                      0);

    /* setting it again after the delete starts from the mark: a lower own
     * value cannot pull the effective value (or the mark) down */
    Secpol__Store__V1__PolicyLevel *again = s_level_setting ("force_password_reset", "2");
    secpol_policy_level_keep_high_water (s_arena, again, stored);
    assert_int_equal (again->high_water->force_password_reset, 5);
    assert_int_equal (secpol_policy_compose (s_arena, defaults, again)->force_password_reset, 5);

    /* a record from before high_water existed: what it set counts */
    Secpol__Store__V1__PolicyLevel *old = s_level_setting ("force_password_reset", "7");
    deleted->high_water = NULL;
    secpol_policy_level_keep_high_water (s_arena, deleted, old);
    assert_int_equal (deleted->high_water->force_password_reset, 7);

    /* levels that never set a counter carry no mark */
    Secpol__Store__V1__PolicyLevel *plain = s_level_setting ("session_timeout_minutes", "20");
    secpol_policy_level_keep_high_water (s_arena, plain, NULL);
    assert_null (plain->high_water);
}

/* --- names ------------------------------------------------------------------------ */

static void
test_nearest_setting_name (void **state)
{
    (void)state;
    const struct {
        const char *typed, *leaf, *any; /* nearest leaf; nearest leaf or message */
    } cases[] = {
        {"session_timeout_minute", "session_timeout_minutes", "session_timeout_minutes"},
        {"sesion_timeout_minutes", "session_timeout_minutes", "session_timeout_minutes"},
        {"Session_Timeout_Minutes", "session_timeout_minutes", "session_timeout_minutes"},
        {"sessoin_timeout_minutes", "session_timeout_minutes", "session_timeout_minutes"},
        {"login_lockout.max_failure", "login_lockout.max_failures", "login_lockout.max_failures"},
        {"max_failures", "login_lockout.max_failures", "login_lockout.max_failures"},
        {"hsts.preloads", "hsts.preload", "hsts.preload"},
        {"login_lockuot", NULL, "login_lockout"},
        {"gravatar", NULL, NULL},
        {"timeout", NULL, NULL},
        {"x", NULL, NULL},
        {"", NULL, NULL},
        {"version", NULL, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *leaf = secpol_policy_nearest_path (cases[k].typed, false);
        const char *any = secpol_policy_nearest_path (cases[k].typed, true);
        if ((leaf == NULL) != (cases[k].leaf == NULL) ||
            (leaf && strcmp (leaf, cases[k].leaf) != 0))
            fail_msg ("%s: nearest leaf %s, expected %s", cases[k].typed, leaf ? leaf : "none",
                      cases[k].leaf ? cases[k].leaf : "none");
        if ((any == NULL) != (cases[k].any == NULL) || (any && strcmp (any, cases[k].any) != 0))
            fail_msg ("%s: nearest path %s, expected %s", cases[k].typed, any ? any : "none",
                      cases[k].any ? cases[k].any : "none");
    }
    /* a long path costs no more than 128 bytes' worth and gets no hint */
    char long_path[4096];
    memset (long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = 0;
    assert_null (secpol_policy_nearest_path (long_path, true));
}

/* --- masks ------------------------------------------------------------------------ */

static void
test_mask_paths (void **state)
{
    (void)state;
    secpol_policy_mask_t mask = 0;
    assert_int_equal (secpol_policy_mask_add (&mask, "*"), 0);
    assert_true (mask == secpol_policy_mask_all ());

    mask = 0;
    assert_int_equal (secpol_policy_mask_add (&mask, "login_lockout"), 0);
    assert_true (mask ==
                 (s_bit ("login_lockout.max_failures") | s_bit ("login_lockout.window_minutes") |
                  s_bit ("login_lockout.lock_minutes")));
    mask = 0;
    assert_int_equal (secpol_policy_mask_add (&mask, "login_lockout.max_failures"), 0);
    assert_int_equal (secpol_policy_mask_add (&mask, "allowed_file_extensions"), 0);
    assert_true (mask ==
                 (s_bit ("login_lockout.max_failures") | s_bit ("allowed_file_extensions")));

    const char *unknown[] = {"",
                             "nope",
                             "version",
                             "updated_at",
                             "updated_by",
                             "login",
                             "login_lockout.",
                             "login_lockout.nope",
                             ".hsts",
                             "hsts.enabled.x",
                             "**",
                             "policy.hsts"};
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++) {
        secpol_policy_mask_t before = s_bit ("captcha_enabled");
        mask = before;
        if (secpol_policy_mask_add (&mask, unknown[k]) != -1)
            fail_msg ("\"%s\" accepted as a mask path", unknown[k]);
        assert_true (mask == before);
    }

    /* groups widen to their whole group */
    assert_true (secpol_policy_mask_groups (s_bit ("hsts.preload")) ==
                 (s_bit ("hsts.enabled") | s_bit ("hsts.max_age_days") |
                  s_bit ("hsts.include_subdomains") | s_bit ("hsts.preload")));
    assert_true (secpol_policy_mask_groups (s_bit ("auth_page_banner_text")) ==
                 (s_bit ("auth_page_banner_text") | s_bit ("auth_page_banner_enabled")));
    assert_true (secpol_policy_mask_groups (s_bit ("login_lockout.max_failures")) ==
                 s_bit ("login_lockout.max_failures"));
}

/* --- text forms ----------------------------------------------------------------------- */

static void
test_text_round_trip (void **state)
{
    (void)state;
    Secpol__V1__Policy *defaults = secpol_policy_defaults (s_arena);
    Secpol__V1__Policy *copy = secpol_policy_new (s_arena);
    for (size_t i = 0; i < secpol_policy_field_count (); i++) {
        char *text = secpol_policy_leaf_text (s_arena, defaults, i);
        assert_int_equal (secpol_policy_leaf_parse (s_arena, copy, i, text), 0);
        assert_true (secpol_policy_leaf_equal (defaults, copy, i));
    }
    assert_string_equal (secpol_policy_leaf_text (s_arena, defaults, s_index ("password_policy")),
                         "PASSWORD_POLICY_LEVEL_MEDIUM");
    assert_string_equal (
        secpol_policy_leaf_text (s_arena, defaults, s_index ("login_lockout.max_failures")), "5");
    assert_string_equal (secpol_policy_leaf_text (s_arena, defaults, s_index ("hsts.enabled")),
                         "true");
    Secpol__V1__Policy *update = s_defaults_with ("allowed_file_extensions", " pdf , png,,jpg ");
    assert_string_equal (
        secpol_policy_leaf_text (s_arena, update, s_index ("allowed_file_extensions")),
        "pdf,png,jpg");
    /* a NULL sub-message reads as zero */
    Secpol__V1__Policy bare = SECPOL__V1__POLICY__INIT;
    assert_string_equal (secpol_policy_leaf_text (s_arena, &bare, s_index ("hsts.max_age_days")),
                         "0");
    assert_int_equal (secpol_policy_leaf_parse (s_arena, update, s_index ("hsts.enabled"), "yes"),
                      -1);
    assert_int_equal (
        secpol_policy_leaf_parse (s_arena, update, s_index ("password_policy"), "EXTREME"), -1);
    assert_int_equal (
        secpol_policy_leaf_parse (s_arena, update, s_index ("session_timeout_minutes"), "-1"), -1);
    assert_int_equal (
        secpol_policy_leaf_parse (s_arena, update, s_index ("session_timeout_minutes"), "1x"), -1);
}

/*  Client text in a violation is quoted, escaped and cut at a character
 *  boundary: the reply stays short and valid UTF-8 whatever was sent. */
static void
test_quoted_client_text (void **state)
{
    (void)state;
    assert_string_equal (secpol_policy_quote (s_arena, "a\"b\\c\n", 64), "\"a\\\"b\\\\c\\x0a\"");
    assert_string_equal (secpol_policy_quote (s_arena, "", 64), "\"\"");
    /* "é" is two bytes: the third does not fit in 5 */
    assert_string_equal (secpol_policy_quote (s_arena, "\xc3\xa9\xc3\xa9\xc3\xa9", 5),
                         "\"\xc3\xa9\xc3\xa9\"...");
    assert_string_equal (secpol_policy_quote (s_arena, "\xc3\xa9\xc3\xa9", 4),
                         "\"\xc3\xa9\xc3\xa9\"");
    size_t long_size = 100000;
    char *long_text = secpol_arena_alloc (s_arena, long_size + 1);
    for (size_t k = 0; k + 1 < long_size; k += 2)
        memcpy (long_text + k, "\xc3\xa9", 2);
    char *quoted = secpol_policy_quote (s_arena, long_text, 64);
    assert_true (strlen (quoted) <= 64 + 5);
    assert_null (secpol_utf8_problem (quoted, strlen (quoted)));

    /* an extension of 300 bytes of "é": one short, valid description */
    Secpol__V1__Policy *update = secpol_policy_defaults (s_arena);
    long_text[300] = 0;
    update->allowed_file_extensions[0] = long_text;
    secpol_policy_violation_t *violations;
    assert_int_equal (s_validate (update, s_bit ("allowed_file_extensions"), &violations), 1);
    const char *description = violations[0].description;
    assert_true (strlen (description) < 200);
    assert_null (secpol_utf8_problem (description, strlen (description)));
}

/*  A list of 10,000 entries parses and prints back in order. Both are
 *  linear: copying the list so far for each entry would allocate 400 MB. */
static void
test_long_lists_parse_and_print (void **state)
{
    (void)state;
    size_t n = 10000;
    char *text = secpol_arena_alloc (s_arena, n * 8);
    char *end = text;
    for (size_t k = 0; k < n; k++)
        end += sprintf (end, "%se%zu", k ? "," : "", k);
    Secpol__V1__Policy *policy = secpol_policy_new (s_arena);
    size_t i = s_index ("allowed_file_extensions");
    assert_int_equal (secpol_policy_leaf_parse (s_arena, policy, i, text), 0);
    assert_int_equal (policy->n_allowed_file_extensions, n);
    assert_string_equal (policy->allowed_file_extensions[n - 1], "e9999");
    assert_string_equal (secpol_policy_leaf_text (s_arena, policy, i), text);
}

/* --- inheritance and revisions in a real store ---------------------------------------------- */

typedef struct {
    char dir[64];
    secpol_store_t *store;
    secpol_txn_t *txn;
} store_fixture_t;

static void
s_store_open (store_fixture_t *fx)
{
    snprintf (fx->dir, sizeof fx->dir, "/tmp/secpol-policy-XXXXXX");
    assert_non_null (mkdtemp (fx->dir));
    static const secpol_table_t *const tables[] = {&secpol_policy_table,
                                                   &secpol_policy_revision_table};
    secpol_store_options_t options = {.no_sync = true, .tables = tables, .n_tables = 2};
    assert_int_equal (secpol_store_open (&fx->store, fx->dir, &options), 0);
    assert_int_equal (secpol_txn_begin (fx->store, NULL, true, &fx->txn), 0);
}

static void
s_store_close (store_fixture_t *fx)
{
    secpol_txn_abort (&fx->txn);
    secpol_store_close (&fx->store);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    assert_int_equal (system (cmd), 0);
}

/*  Saves a level that overrides the given leaves (path, text pairs, NULL-ended). */
static void
s_save_level (secpol_txn_t *txn, const char *ws, const char *community, uint64_t version, ...)
{
    Secpol__Store__V1__PolicyLevel *level = (Secpol__Store__V1__PolicyLevel *)secpol_arena_message (
        s_arena, &secpol__store__v1__policy_level__descriptor);
    level->values = secpol_policy_new (s_arena);
    secpol_policy_mask_t mask = 0;
    va_list args;
    va_start (args, version);
    const char *path;
    while ((path = va_arg (args, const char *))) {
        const char *text = va_arg (args, const char *);
        assert_int_equal (secpol_policy_leaf_parse (s_arena, level->values, s_index (path), text),
                          0);
        mask |= s_bit (path);
    }
    va_end (args);
    secpol_policy_level_set_mask (s_arena, level, mask);
    level->version = version;
    level->updated_at = 1700000000;
    level->updated_by = "admin@example.com";
    assert_int_equal (secpol_policy_level_save (txn, s_arena, ws, community, level), 0);
}

/*  The same checks with and without a lane thread's memo on the
 *  transaction (memo.h): the memo changes where a policy lives, never what
 *  it holds. */
static void
s_inheritance (bool with_memo)
{
    store_fixture_t fx;
    s_store_open (&fx);
    secpol_memo_t *memo = with_memo ? secpol_memo_new () : NULL;
    secpol_txn_set_memo (fx.txn, memo);
    const Secpol__V1__Policy *policy;

    /* nothing stored: defaults, version 0 */
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "", &policy), 0);
    assert_int_equal (policy->login_lockout->max_failures, 5);
    assert_int_equal (policy->version, 0);
    assert_string_equal (policy->updated_by, "");

    s_save_level (fx.txn, "w1", "", 3, "login_lockout.max_failures", "3", "session_timeout_minutes",
                  "20", "force_password_reset", "4", NULL);
    s_save_level (fx.txn, "w1", "c1", 7, "session_timeout_minutes", "10", "force_password_reset",
                  "2", NULL);

    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "", &policy), 0);
    assert_int_equal (policy->login_lockout->max_failures, 3);
    assert_int_equal (policy->login_lockout->window_minutes, 15); /* default */
    assert_int_equal (policy->session_timeout_minutes, 20);
    assert_int_equal (policy->version, 3);
    assert_int_equal (policy->updated_at, 1700000000);
    assert_string_equal (policy->updated_by, "admin@example.com");

    /* the community shadows what it sets, inherits the rest */
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "c1", &policy), 0);
    assert_int_equal (policy->session_timeout_minutes, 10);
    assert_int_equal (policy->login_lockout->max_failures, 3);
    assert_int_equal (policy->version, 7);
    /* a generation counter takes the largest level: the workspace's raise reaches it */
    assert_int_equal (policy->force_password_reset, 4);

    /* another community of w1 inherits the workspace, version 0 */
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "c2", &policy), 0);
    assert_int_equal (policy->session_timeout_minutes, 20);
    assert_int_equal (policy->version, 0);

    /* other workspaces, including ones whose id extends w1, see nothing of it */
    const char *others[] = {"w", "w10", "w1\x01"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal (secpol_policy_effective (fx.txn, s_arena, others[k], "", &policy), 0);
        assert_int_equal (policy->login_lockout->max_failures, 5);
    }

    /* the view UpdatePolicy uses: parent and level */
    secpol_policy_view_t view;
    assert_int_equal (secpol_policy_view (fx.txn, s_arena, "w1", "c1", &view), 0);
    assert_int_equal (view.parent->session_timeout_minutes, 20);
    assert_non_null (view.level);
    assert_int_equal (view.level->n_overridden, 2);
    assert_int_equal (view.effective->session_timeout_minutes, 10);

    /* a record that does not decode is reported, not guessed at */
    uint8_t key[SECPOL_POLICY_KEY_MAX];
    size_t key_size = secpol_policy_level_key (key, "bad", "");
    assert_int_equal (secpol_put (fx.txn, &secpol_policy_table, key, key_size, "\xff\xff", 2), 0);
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "bad", "", &policy),
                      SECPOL_ECORRUPT);
    s_store_close (&fx);
    secpol_memo_destroy (&memo);
}

static void
test_inheritance_defaults_workspace_community (void **state)
{
    (void)state;
    s_inheritance (false);
}

static void
test_inheritance_through_a_memo (void **state)
{
    (void)state;
    s_inheritance (true);
}

/*  A memo hands back a policy only while the levels stored are the bytes
 *  it was composed from, and never reuses an entry a request of this period
 *  holds. */
static void
test_memo_serves_only_what_is_stored (void **state)
{
    (void)state;
    store_fixture_t fx;
    s_store_open (&fx);
    secpol_memo_t *memo = secpol_memo_new ();
    secpol_txn_set_memo (fx.txn, memo);
    unsigned long long hits, misses;

    s_save_level (fx.txn, "w1", "", 1, "login_lockout.max_failures", "3", NULL);
    const Secpol__V1__Policy *first, *again;
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "", &first), 0);
    assert_int_equal (first->login_lockout->max_failures, 3);
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "", &again), 0);
    assert_ptr_equal (again, first); /* the same stored bytes: found */
    secpol_memo_counts (memo, &hits, &misses);
    assert_int_equal (hits, 1);
    assert_int_equal (misses, 1);

    /* a nested transaction (as the WRITE lane gives each request) finds it too */
    secpol_txn_t *nested;
    assert_int_equal (secpol_txn_begin (fx.store, fx.txn, true, &nested), 0);
    assert_int_equal (secpol_policy_effective (nested, s_arena, "w1", "", &again), 0);
    assert_ptr_equal (again, first);

    /* the level changes (as another request or instance would): composed
     * again, while the value a request of this period holds stays intact */
    s_save_level (nested, "w1", "", 2, "login_lockout.max_failures", "4", NULL);
    assert_int_equal (secpol_policy_effective (nested, s_arena, "w1", "", &again), 0);
    assert_ptr_not_equal (again, first);
    assert_int_equal (again->login_lockout->max_failures, 4);
    assert_int_equal (again->version, 2);
    assert_int_equal (first->login_lockout->max_failures, 3);
    /* rolled back: the old bytes are stored again, and so is the old policy served */
    secpol_txn_abort (&nested);
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w1", "", &again), 0);
    assert_int_equal (again->login_lockout->max_failures, 3);
    assert_int_equal (again->version, 1);

    /* the same bytes under another workspace's key are another entry */
    s_save_level (fx.txn, "w2", "", 1, "login_lockout.max_failures", "3", NULL);
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "w2", "", &again), 0);
    assert_ptr_not_equal (again, first);

    /* more workspaces than entries in one period: the ones past the memo's
     * size are composed in the request's arena, and nothing held is reused */
    for (int i = 0; i < 3 * SECPOL_MEMO_ENTRIES; i++) {
        char ws[16];
        snprintf (ws, sizeof ws, "x%d", i);
        s_save_level (fx.txn, ws, "", 1, "session_timeout_minutes", "17", NULL);
        assert_int_equal (secpol_policy_effective (fx.txn, s_arena, ws, "", &again), 0);
        assert_int_equal (again->session_timeout_minutes, 17);
    }
    assert_int_equal (first->login_lockout->max_failures, 3);
    assert_int_equal (first->version, 1);
    /* once the requests are answered, entries are reused, least recently used first */
    secpol_memo_quiesce (memo);
    for (int i = 0; i < 3 * SECPOL_MEMO_ENTRIES; i++) {
        char ws[16];
        snprintf (ws, sizeof ws, "y%d", i);
        assert_int_equal (secpol_policy_effective (fx.txn, s_arena, ws, "", &again), 0);
        assert_int_equal (again->session_timeout_minutes, 30); /* the default */
        secpol_memo_quiesce (memo);
    }
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "y47", "", &first), 0);
    assert_int_equal (secpol_policy_effective (fx.txn, s_arena, "y47", "", &again), 0);
    assert_ptr_equal (again, first);
    s_store_close (&fx);
    secpol_memo_destroy (&memo);
}

static void
test_level_keys_are_unambiguous (void **state)
{
    (void)state;
    uint8_t a[SECPOL_POLICY_KEY_MAX], b[SECPOL_POLICY_KEY_MAX];
    /* ("ab", "c") and ("a", "bc") must differ, and ("a","") is no prefix of ("a","b") */
    size_t na = secpol_policy_level_key (a, "ab", "c");
    size_t nb = secpol_policy_level_key (b, "a", "bc");
    assert_true (na != nb || memcmp (a, b, na) != 0);
    na = secpol_policy_level_key (a, "a", "");
    nb = secpol_policy_level_key (b, "a", "b");
    assert_true (na <= nb);
    assert_true (memcmp (a, b, na) != 0);
}

static void
test_diff_names_each_change (void **state)
{
    (void)state;
    Secpol__V1__Policy *old_values = secpol_policy_new (s_arena);
    Secpol__V1__Policy *new_values = secpol_policy_new (s_arena);
    Secpol__V1__Policy *old_effective = secpol_policy_defaults (s_arena);
    Secpol__V1__Policy *new_effective = secpol_policy_defaults (s_arena);
    /* before: the level sets max_failures=5 (same as default) and the extensions */
    secpol_policy_mask_t old_mask = s_bit ("login_lockout.max_failures") |
                                    s_bit ("allowed_file_extensions") | s_bit ("captcha_enabled");
    old_values->login_lockout->max_failures = 5;
    secpol_policy_leaf_parse (s_arena, old_values, s_index ("allowed_file_extensions"), "pdf,png");
    secpol_policy_leaf_parse (s_arena, old_effective, s_index ("allowed_file_extensions"),
                              "pdf,png");
    /* after: max_failures=8, extensions dropped (inherited), captcha unchanged, gravatar new */
    secpol_policy_mask_t new_mask = s_bit ("login_lockout.max_failures") |
                                    s_bit ("captcha_enabled") | s_bit ("gravatar_enabled");
    new_values->login_lockout->max_failures = 8;
    new_effective->login_lockout->max_failures = 8;
    new_values->gravatar_enabled = false;

    Secpol__V1__FieldChange **changes;
    size_t n = secpol_policy_diff (s_arena, old_mask, old_values, old_effective, new_mask,
                                   new_values, new_effective, &changes);
    assert_int_equal (n, 3);
    assert_string_equal (changes[0]->field, "login_lockout.max_failures");
    assert_string_equal (changes[0]->old_value, "5");
    assert_string_equal (changes[0]->new_value, "8");
    assert_false (changes[0]->old_inherited);
    assert_false (changes[0]->new_inherited);
    /* pinning a value equal to what was inherited is a change of the level */
    assert_string_equal (changes[1]->field, "gravatar_enabled");
    assert_true (changes[1]->old_inherited);
    assert_false (changes[1]->new_inherited);
    assert_string_equal (changes[1]->old_value, "false");
    assert_string_equal (changes[1]->new_value, "false");
    assert_string_equal (changes[2]->field, "allowed_file_extensions");
    assert_string_equal (changes[2]->old_value, "pdf,png");
    assert_true (changes[2]->new_inherited);
    assert_non_null (strstr (changes[2]->new_value, "docx"));

    /* no change, no entries */
    n = secpol_policy_diff (s_arena, old_mask, old_values, old_effective, old_mask, old_values,
                            old_effective, &changes);
    assert_int_equal (n, 0);
}

static void
test_revisions_newest_first_with_pages (void **state)
{
    (void)state;
    store_fixture_t fx;
    s_store_open (&fx);
    for (uint64_t version = 1; version <= 7; version++) {
        Secpol__V1__PolicyRevision revision = SECPOL__V1__POLICY_REVISION__INIT;
        revision.version = version;
        revision.changed_at = 1700000000 + (int64_t)version;
        revision.actor = "admin";
        assert_int_equal (secpol_policy_revision_save (fx.txn, s_arena, "w1", "", &revision), 0);
        /* neighbours that must not leak into w1's listing */
        assert_int_equal (secpol_policy_revision_save (fx.txn, s_arena, "w1", "c", &revision), 0);
        assert_int_equal (secpol_policy_revision_save (fx.txn, s_arena, "w", "", &revision), 0);
        assert_int_equal (secpol_policy_revision_save (fx.txn, s_arena, "w2", "", &revision), 0);
    }
    Secpol__V1__ListPolicyRevisionsResponse page = SECPOL__V1__LIST_POLICY_REVISIONS_RESPONSE__INIT;
    uint64_t next = 0;
    assert_int_equal (
        secpol_policy_revisions (fx.txn, s_arena, "w1", "", UINT64_MAX, 3, &page, &next), 0);
    assert_int_equal (page.n_revisions, 3);
    assert_int_equal (page.revisions[0]->version, 7);
    assert_int_equal (page.revisions[2]->version, 5);
    assert_int_equal (next, 4);

    Secpol__V1__ListPolicyRevisionsResponse rest = SECPOL__V1__LIST_POLICY_REVISIONS_RESPONSE__INIT;
    assert_int_equal (secpol_policy_revisions (fx.txn, s_arena, "w1", "", next, 10, &rest, &next),
                      0);
    assert_int_equal (rest.n_revisions, 4);
    assert_int_equal (rest.revisions[0]->version, 4);
    assert_int_equal (rest.revisions[3]->version, 1);
    assert_int_equal (next, 0);

    /* exactly one page: no next */
    Secpol__V1__ListPolicyRevisionsResponse all = SECPOL__V1__LIST_POLICY_REVISIONS_RESPONSE__INIT;
    assert_int_equal (
        secpol_policy_revisions (fx.txn, s_arena, "w1", "c", UINT64_MAX, 7, &all, &next), 0);
    assert_int_equal (all.n_revisions, 7);
    assert_int_equal (next, 0);

    /* a page stops before it passes SECPOL_POLICY_PAGE_BYTES_MAX */
    char *big = secpol_arena_alloc (s_arena, 300 * 1024 + 1);
    memset (big, 'x', 300 * 1024);
    Secpol__V1__FieldChange change = SECPOL__V1__FIELD_CHANGE__INIT;
    change.field = "content_security_policy";
    change.old_value = big;
    Secpol__V1__FieldChange *changes[] = {&change};
    for (uint64_t version = 1; version <= 5; version++) {
        Secpol__V1__PolicyRevision revision = SECPOL__V1__POLICY_REVISION__INIT;
        revision.version = version;
        revision.n_changes = 1;
        revision.changes = changes;
        assert_int_equal (secpol_policy_revision_save (fx.txn, s_arena, "big", "", &revision), 0);
    }
    Secpol__V1__ListPolicyRevisionsResponse capped =
        SECPOL__V1__LIST_POLICY_REVISIONS_RESPONSE__INIT;
    assert_int_equal (
        secpol_policy_revisions (fx.txn, s_arena, "big", "", UINT64_MAX, 500, &capped, &next), 0);
    assert_int_equal (capped.n_revisions, 3); /* 3 x 300 KiB fit in 1 MiB, 4 do not */
    assert_int_equal (next, 2);

    /* nothing written: empty */
    Secpol__V1__ListPolicyRevisionsResponse none = SECPOL__V1__LIST_POLICY_REVISIONS_RESPONSE__INIT;
    assert_int_equal (
        secpol_policy_revisions (fx.txn, s_arena, "w0", "", UINT64_MAX, 7, &none, &next), 0);
    assert_int_equal (none.n_revisions, 0);
    s_store_close (&fx);
}

/*  The levels of the store in key order, paged, whole or one workspace. */
static void
test_levels_listed_in_pages (void **state)
{
    (void)state;
    store_fixture_t fx;
    s_store_open (&fx);
    /* key order: shorter workspace ids first, a workspace before its communities */
    s_save_level (fx.txn, "w1", "c2", 4, "session_timeout_minutes", "10", NULL);
    s_save_level (fx.txn, "w1", "", 3, "session_timeout_minutes", "20", "captcha_enabled", "true",
                  NULL);
    s_save_level (fx.txn, "w10", "", 1, NULL);
    s_save_level (fx.txn, "w", "", 2, "gravatar_enabled", "true", NULL);
    s_save_level (fx.txn, "w1", "c1", 1, "gravatar_enabled", "true", NULL);
    /* revisions live in their own table: never listed */
    Secpol__V1__PolicyRevision revision = SECPOL__V1__POLICY_REVISION__INIT;
    revision.version = 1;
    assert_int_equal (secpol_policy_revision_save (fx.txn, s_arena, "w1", "", &revision), 0);

    const char *expected[][2] = {{"w", ""}, {"w1", ""}, {"w1", "c1"}, {"w1", "c2"}, {"w10", ""}};
    Secpol__V1__ListPoliciesResponse all = SECPOL__V1__LIST_POLICIES_RESPONSE__INIT;
    uint8_t *next;
    size_t next_size;
    assert_int_equal (
        secpol_policy_levels (fx.txn, s_arena, "", NULL, 0, 50, &all, &next, &next_size), 0);
    assert_int_equal (all.n_levels, 5);
    assert_int_equal (next_size, 0);
    for (size_t k = 0; k < 5; k++) {
        assert_string_equal (all.levels[k]->workspace_id, expected[k][0]);
        assert_string_equal (all.levels[k]->community_id, expected[k][1]);
    }
    assert_int_equal (all.levels[1]->version, 3);
    assert_int_equal (all.levels[1]->overridden_settings, 2);
    assert_int_equal (all.levels[1]->updated_at, 1700000000);
    assert_string_equal (all.levels[1]->updated_by, "admin@example.com");
    assert_int_equal (all.levels[4]->overridden_settings, 0); /* a deleted level stays listed */

    /* pages of two, each starting where the last stopped */
    size_t seen = 0;
    uint8_t *from = NULL;
    size_t from_size = 0;
    for (int page = 0; page < 3; page++) {
        Secpol__V1__ListPoliciesResponse part = SECPOL__V1__LIST_POLICIES_RESPONSE__INIT;
        assert_int_equal (secpol_policy_levels (fx.txn, s_arena, "", from, from_size, 2, &part,
                                                &next, &next_size),
                          0);
        for (size_t k = 0; k < part.n_levels; k++, seen++) {
            assert_string_equal (part.levels[k]->workspace_id, expected[seen][0]);
            assert_string_equal (part.levels[k]->community_id, expected[seen][1]);
        }
        assert_true (page < 2 ? next_size > 0 : next_size == 0);
        from = next;
        from_size = next_size;
    }
    assert_int_equal (seen, 5);

    /* one workspace: its levels only, not those of w or w10 */
    Secpol__V1__ListPoliciesResponse one = SECPOL__V1__LIST_POLICIES_RESPONSE__INIT;
    assert_int_equal (
        secpol_policy_levels (fx.txn, s_arena, "w1", NULL, 0, 2, &one, &next, &next_size), 0);
    assert_int_equal (one.n_levels, 2);
    assert_true (next_size > 0);
    Secpol__V1__ListPoliciesResponse rest = SECPOL__V1__LIST_POLICIES_RESPONSE__INIT;
    assert_int_equal (
        secpol_policy_levels (fx.txn, s_arena, "w1", next, next_size, 2, &rest, &next, &next_size),
        0);
    assert_int_equal (rest.n_levels, 1);
    assert_string_equal (rest.levels[0]->community_id, "c2");
    assert_int_equal (next_size, 0);
    Secpol__V1__ListPoliciesResponse none = SECPOL__V1__LIST_POLICIES_RESPONSE__INIT;
    assert_int_equal (
        secpol_policy_levels (fx.txn, s_arena, "w2", NULL, 0, 2, &none, &next, &next_size), 0);
    assert_int_equal (none.n_levels, 0);

    /* keys read back; malformed ones are not level keys */
    uint8_t key[SECPOL_POLICY_KEY_MAX];
    size_t key_size = secpol_policy_level_key (key, "équipe", "c 1");
    char *ws, *community;
    assert_true (secpol_policy_level_key_parse (s_arena, key, key_size, &ws, &community));
    assert_string_equal (ws, "équipe");
    assert_string_equal (community, "c 1");
    assert_false (secpol_policy_level_key_parse (s_arena, key, key_size - 1, &ws, &community));
    assert_false (secpol_policy_level_key_parse (s_arena, "\0\0", 2, &ws, &community));
    assert_false (secpol_policy_level_key_parse (s_arena, "\x01", 1, &ws, &community));
    s_store_close (&fx);
}

static void
test_ids (void **state)
{
    (void)state;
    assert_null (secpol_policy_id_problem ("acme", true));
    assert_null (secpol_policy_id_problem ("", false));
    assert_null (secpol_policy_id_problem ("équipe-ß", true));
    assert_non_null (secpol_policy_id_problem ("", true));
    assert_non_null (secpol_policy_id_problem (NULL, true));
    assert_non_null (secpol_policy_id_problem ("a\nb", true));
    assert_non_null (secpol_policy_id_problem ("a\x7f", false));
    assert_non_null (secpol_policy_id_problem ("\xc3", true));
    char long_id[130];
    memset (long_id, 'x', 129);
    long_id[129] = 0;
    assert_non_null (secpol_policy_id_problem (long_id, true));
    long_id[128] = 0;
    assert_null (secpol_policy_id_problem (long_id, true));
}

/* --- docs ------------------------------------------------------------------------------------ */

static void
test_docs_table_matches (void **state)
{
    (void)state;
    char *table = secpol_policy_fields_markdown (s_arena);
    assert_true (secpol_test_doc_contains ("docs/POLICY.md", "the settings table", table));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_table_covers_every_policy_field, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_defaults_are_valid_and_signable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_every_setting_has_a_case, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_one_valid_and_one_invalid_value_per_setting, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_numbers_outside_their_range, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_text_values, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_one_violation_per_bad_field, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hsts_preload_rules, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_analytics_and_banner_need_their_text, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_force_password_reset_never_lowered, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_force_password_reset_survives_delete, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_nearest_setting_name, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_mask_paths, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_text_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_quoted_client_text, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_long_lists_parse_and_print, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_inheritance_defaults_workspace_community, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_inheritance_through_a_memo, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_memo_serves_only_what_is_stored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_level_keys_are_unambiguous, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_diff_names_each_change, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_revisions_newest_first_with_pages, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_levels_listed_in_pages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ids, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_docs_table_matches, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
