/*  policy_headers.c - the HTTP security headers of a policy; see policy_headers.h.
 *
 *  Follows the OWASP HTTP Headers cheat sheet: X-XSS-Protection is "0"
 *  unless a workspace asks for the legacy filter; Public-Key-Pins and
 *  Expect-CT are deprecated and sent only when set, each with a warning.
 */
#include "policy_headers.h"

#include <inttypes.h>
#include <string.h>

static void
s_add (secpol_arena_t *arena, Secpol__V1__RenderSecurityHeadersResponse *out, const char *name,
       const char *value)
{
    if (!value || !*value)
        return;
    Secpol__V1__HttpHeader *header = (Secpol__V1__HttpHeader *)secpol_arena_message (
        arena, &secpol__v1__http_header__descriptor);
    header->name = (char *)name;
    header->value = (char *)value;
    secpol_arena_append (arena, &out->n_headers, (void ***)&out->headers, header);
}

static void
s_warn (secpol_arena_t *arena, Secpol__V1__RenderSecurityHeadersResponse *out, const char *text)
{
    secpol_arena_append (arena, &out->n_warnings, (void ***)&out->warnings, (void *)text);
}

void
secpol_policy_render_headers (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                              Secpol__V1__RenderSecurityHeadersResponse *out)
{
    const Secpol__V1__HstsSettings *hsts = policy->hsts;
    if (hsts && hsts->enabled)
        s_add (arena, out, "Strict-Transport-Security",
               secpol_arena_printf (arena, "max-age=%" PRIu64 "%s%s",
                                    (uint64_t)hsts->max_age_days * 86400,
                                    hsts->include_subdomains ? "; includeSubDomains" : "",
                                    hsts->preload ? "; preload" : ""));
    if (policy->content_type_options_enabled)
        s_add (arena, out, "X-Content-Type-Options", "nosniff");
    s_add (arena, out, "X-XSS-Protection", policy->xss_protection_enabled ? "1; mode=block" : "0");
    if (policy->xss_protection_enabled)
        s_warn (arena, out,
                "X-XSS-Protection: 1; mode=block enables the browsers' legacy XSS filter, which "
                "OWASP advises against (it can create leaks); prefer \"0\" with a "
                "Content-Security-Policy");
    s_add (arena, out, "Referrer-Policy", policy->referrer_policy);
    s_add (arena, out, "Content-Security-Policy", policy->content_security_policy);
    s_add (arena, out, "Permissions-Policy", policy->permissions_policy);
    s_add (arena, out, "Cross-Origin-Embedder-Policy", policy->cross_origin_embedder_policy);
    s_add (arena, out, "Cross-Origin-Opener-Policy", policy->cross_origin_opener_policy);
    s_add (arena, out, "Cross-Origin-Resource-Policy", policy->cross_origin_resource_policy);
    if (policy->public_key_pins && *policy->public_key_pins) {
        s_add (arena, out, "Public-Key-Pins", policy->public_key_pins);
        s_warn (arena, out,
                "Public-Key-Pins is deprecated and ignored by current browsers; a wrong pin "
                "can lock users out: remove public_key_pins");
    }
    if (policy->expect_ct && *policy->expect_ct) {
        s_add (arena, out, "Expect-CT", policy->expect_ct);
        s_warn (arena, out,
                "Expect-CT is deprecated (Certificate Transparency is enforced by browsers "
                "anyway): remove expect_ct");
    }
}

size_t
secpol_policy_headers_size (secpol_arena_t *arena, const Secpol__V1__Policy *policy)
{
    Secpol__V1__RenderSecurityHeadersResponse out =
        SECPOL__V1__RENDER_SECURITY_HEADERS_RESPONSE__INIT;
    secpol_policy_render_headers (arena, policy, &out);
    size_t size = 0;
    for (size_t k = 0; k < out.n_headers; k++)
        size += strlen (out.headers[k]->name) + 2 + strlen (out.headers[k]->value) + 2;
    return size;
}
