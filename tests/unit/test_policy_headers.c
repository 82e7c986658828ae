/*  test_policy_headers.c - RenderSecurityHeaders for representative
 *  policies (OWASP HTTP Headers cheat sheet; hstspreload.org). */
#include "policy.h"
#include "policy_fields.h"

#include "fixtures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/*  Renders policy as "Name: value\n" lines. */
static char *
s_render (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
          Secpol__V1__RenderSecurityHeadersResponse *out)
{
    *out = (Secpol__V1__RenderSecurityHeadersResponse)
        SECPOL__V1__RENDER_SECURITY_HEADERS_RESPONSE__INIT;
    secpol_policy_render_headers (arena, policy, out);
    char *text = "";
    for (size_t k = 0; k < out->n_headers; k++)
        text = secpol_arena_printf (arena, "%s%s: %s\n", text, out->headers[k]->name,
                                    out->headers[k]->value);
    return text;
}

static void
test_defaults (void **state)
{
    secpol_arena_t *arena = *state;
    Secpol__V1__RenderSecurityHeadersResponse out;
    char *text = s_render (arena, secpol_policy_defaults (arena), &out);
    assert_string_equal (
        text, "Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
              "X-Content-Type-Options: nosniff\n"
              "X-XSS-Protection: 0\n"
              "Referrer-Policy: strict-origin-when-cross-origin\n"
              "Content-Security-Policy: default-src 'self'; object-src 'none'; base-uri 'self'; "
              "frame-ancestors 'self'\n"
              "Permissions-Policy: accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
              "magnetometer=(), microphone=(), payment=(), usb=()\n"
              "Cross-Origin-Opener-Policy: same-origin\n"
              "Cross-Origin-Resource-Policy: same-origin\n");
    assert_int_equal (out.n_warnings, 0);
}

static void
test_preload_policy (void **state)
{
    secpol_arena_t *arena = *state;
    Secpol__V1__Policy *policy = secpol_policy_defaults (arena);
    policy->hsts->max_age_days = 730;
    policy->hsts->preload = true;
    policy->cross_origin_embedder_policy = "require-corp";
    Secpol__V1__RenderSecurityHeadersResponse out;
    char *text = s_render (arena, policy, &out);
    assert_non_null (
        strstr (text, "Strict-Transport-Security: max-age=63072000; includeSubDomains; preload\n"));
    assert_non_null (strstr (text, "Cross-Origin-Embedder-Policy: require-corp\n"));
    assert_int_equal (out.n_warnings, 0);
}

static void
test_minimal_policy (void **state)
{
    secpol_arena_t *arena = *state;
    /* everything that can be switched off is off: only X-XSS-Protection: 0 stays */
    Secpol__V1__Policy *policy = secpol_policy_defaults (arena);
    policy->hsts->enabled = false;
    policy->content_type_options_enabled = false;
    policy->referrer_policy = "";
    policy->content_security_policy = "";
    policy->permissions_policy = "";
    policy->cross_origin_opener_policy = "";
    policy->cross_origin_resource_policy = "";
    Secpol__V1__RenderSecurityHeadersResponse out;
    assert_string_equal (s_render (arena, policy, &out), "X-XSS-Protection: 0\n");
    /* HSTS with max-age 0 is sent: it tells browsers to forget the entry */
    policy->hsts->enabled = true;
    policy->hsts->max_age_days = 0;
    policy->hsts->include_subdomains = false;
    assert_string_equal (s_render (arena, policy, &out),
                         "Strict-Transport-Security: max-age=0\nX-XSS-Protection: 0\n");
}

static void
test_legacy_and_deprecated_headers_warn (void **state)
{
    secpol_arena_t *arena = *state;
    Secpol__V1__Policy *policy = secpol_policy_defaults (arena);
    policy->xss_protection_enabled = true;
    policy->public_key_pins = "pin-sha256=\"cUPcTAZWKaASuYWhhneDttWpY3oBAkE3h2+soZS7sWs=\"; "
                              "max-age=5184000";
    policy->expect_ct = "max-age=86400, enforce";
    Secpol__V1__RenderSecurityHeadersResponse out;
    char *text = s_render (arena, policy, &out);
    assert_non_null (strstr (text, "X-XSS-Protection: 1; mode=block\n"));
    assert_non_null (strstr (text, "Public-Key-Pins: pin-sha256="));
    assert_non_null (strstr (text, "Expect-CT: max-age=86400, enforce\n"));
    assert_int_equal (out.n_warnings, 3);
    assert_non_null (strstr (out.warnings[0], "X-XSS-Protection"));
    assert_non_null (strstr (out.warnings[1], "Public-Key-Pins is deprecated"));
    assert_non_null (strstr (out.warnings[2], "Expect-CT is deprecated"));
}

/*  The size the cap measures is the headers as sent: "Name: value" and
 *  CRLF each. Every setting at its own largest value passes far beyond any
 *  common proxy buffer, hence the cap on the sum (issue 7, policy fix 2). */
static void
test_headers_size (void **state)
{
    secpol_arena_t *arena = *state;
    Secpol__V1__Policy *policy = secpol_policy_defaults (arena);
    Secpol__V1__RenderSecurityHeadersResponse out;
    char *text = s_render (arena, policy, &out);
    /* each "\n" of the rendering is a CRLF on the wire */
    size_t expected = strlen (text) + out.n_headers;
    assert_int_equal (secpol_policy_headers_size (arena, policy), expected);
    assert_true (expected < 1024); /* the defaults leave most of the cap */

    /* each value within its own maximum, together over the cap */
    size_t sizes[] = {6144, 4096, 4096, 4096};
    char **fields[] = {&policy->content_security_policy, &policy->permissions_policy,
                       &policy->public_key_pins, &policy->expect_ct};
    for (int k = 0; k < 4; k++) {
        char *value = secpol_arena_alloc (arena, sizes[k] + 1);
        memset (value, 'a', sizes[k]);
        *fields[k] = value;
    }
    assert_true (secpol_policy_headers_size (arena, policy) > SECPOL_POLICY_HEADERS_BYTES_MAX);
    assert_true (secpol_policy_headers_size (arena, policy) > 18000);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        SECPOL_TEST_WITH_ARENA (test_defaults),
        SECPOL_TEST_WITH_ARENA (test_preload_policy),
        SECPOL_TEST_WITH_ARENA (test_minimal_policy),
        SECPOL_TEST_WITH_ARENA (test_legacy_and_deprecated_headers_warn),
        SECPOL_TEST_WITH_ARENA (test_headers_size),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
