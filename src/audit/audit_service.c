/*  audit_service.c - AuditService/ListAuditEvents: the audit log, newest
 *  first, for admins (docs/SECURITY.md, "Audit log"). The log itself is
 *  the runtime's (src/runtime/audit.h): every service writes its events
 *  there in the transaction of its change; this service only reads. */
#include "audit.h"
#include "policy.h"
#include "service.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SIZE_DEFAULT 50
#define PAGE_SIZE_MAX     500
#define SCAN_BUDGET       10000 /* events one call looks at, at most: a page may stop short */
#define PAGE_TOKEN_PREFIX "a1-"

static bool s_parse_page_token (const char *token, uint64_t *before);

SECPOL_HANDLER (s_list_audit_events, Secpol__V1__ListAuditEventsRequest, in,
                Secpol__V1__ListAuditEventsResponse, out)
{
    const char *problem;
    if ((problem = secpol_policy_id_problem (in->workspace_id, false)))
        secpol_call_violation (call, "workspace_id", "%s", problem);
    if ((problem = secpol_policy_id_problem (in->subject_id, false)))
        secpol_call_violation (call, "subject_id", "%s", problem);
    if (!protobuf_c_enum_descriptor_get_value (&secpol__v1__audit_event_kind__descriptor,
                                               (int)in->kind))
        secpol_call_violation (call, "kind", "is not an AuditEventKind");
    if (in->since < 0)
        secpol_call_violation (call, "since", "must be 0 (from the start) or a unix time");
    if (in->until < 0)
        secpol_call_violation (call, "until", "must be 0 (no end) or a unix time");
    else if (in->until && in->since >= in->until)
        secpol_call_violation (call, "until", "must be after since");
    uint64_t before = UINT64_MAX;
    if (*in->page_token && !s_parse_page_token (in->page_token, &before))
        secpol_call_violation (call, "page_token",
                               "is not a page token: pass next_page_token from the previous "
                               "page unchanged, or \"\" for the newest events");
    int rc = secpol_call_check (call);
    if (rc)
        return rc;
    secpol_audit_filter_t filter = {in->workspace_id, in->subject_id, in->kind, in->since,
                                    in->until};
    size_t limit = in->page_size == 0              ? PAGE_SIZE_DEFAULT
                   : in->page_size > PAGE_SIZE_MAX ? PAGE_SIZE_MAX
                                                   : in->page_size;
    uint64_t next = 0;
    rc =
        secpol_audit_list (call->txn, call->arena, &filter, before, limit, SCAN_BUDGET, out, &next);
    if (rc)
        return secpol_call_fail (call, SECPOL_INTERNAL, "audit log: %s", secpol_strerror (rc));
    out->next_page_token =
        next ? secpol_call_printf (call, PAGE_TOKEN_PREFIX "%016" PRIx64, next) : "";
    return SECPOL_OK;
}

/*  "a1-" and 16 lower-case hex digits of a non-zero id. */
static bool
s_parse_page_token (const char *token, uint64_t *before)
{
    size_t prefix = strlen (PAGE_TOKEN_PREFIX);
    if (strncmp (token, PAGE_TOKEN_PREFIX, prefix) != 0 || strlen (token) != prefix + 16 ||
        strspn (token + prefix, "0123456789abcdef") != 16)
        return false;
    *before = strtoull (token + prefix, NULL, 16);
    return *before != 0;
}

static const secpol_method_spec_t s_methods[] = {
    {.method = "ListAuditEvents",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_ADMIN,
     .handler = &s_list_audit_events,
     .max_request_bytes = 4096},
};
SECPOL_SERVICE_NO_TABLES (audit, secpol__v1__audit_service__descriptor, s_methods);
