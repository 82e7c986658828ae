/*  policy_headers.h - the HTTP security headers a policy asks for. */
#ifndef SECPOL_POLICY_HEADERS_H_INCLUDED
#define SECPOL_POLICY_HEADERS_H_INCLUDED

#include "arena.h"

#include "secpol/v1/policy.pb-c.h"

/*  Fills out->headers (and out->warnings) with the HTTP response headers a
 *  web tier should send for policy, in a fixed order; a header whose value
 *  is "" is left out. Strings live in arena. */
void secpol_policy_render_headers (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                                   Secpol__V1__RenderSecurityHeadersResponse *out);

#endif
