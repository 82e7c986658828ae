/*  policy_headers.h - the HTTP security headers a policy asks for. */
#ifndef SECPOL_POLICY_HEADERS_H_INCLUDED
#define SECPOL_POLICY_HEADERS_H_INCLUDED

#include "arena.h"

#include "secpol/v1/policy.pb-c.h"

/*  The most bytes all rendered security headers may take together, each
 *  counted as sent: "Name: value" plus CRLF. A proxy must hold the whole
 *  response header in one buffer (nginx proxy_buffer_size: one memory page,
 *  4 KiB or 8 KiB, "upstream sent too big header" otherwise; Varnish
 *  http_resp_hdr_len: 8 KiB a line), and the application's own headers
 *  (cookies) need room too. The defaults take about 500 bytes. */
#define SECPOL_POLICY_HEADERS_BYTES_MAX 8192

/*  Fills out->headers (and out->warnings) with the HTTP response headers a
 *  web tier should send for policy, in a fixed order; a header whose value
 *  is "" is left out. Strings live in arena. */
void secpol_policy_render_headers (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                                   Secpol__V1__RenderSecurityHeadersResponse *out);

/*  Returns how many bytes the headers of policy take as sent (each "Name:
 *  value" plus CRLF), the measure SECPOL_POLICY_HEADERS_BYTES_MAX caps.
 *  Renders into arena. */
size_t secpol_policy_headers_size (secpol_arena_t *arena, const Secpol__V1__Policy *policy);

#endif
