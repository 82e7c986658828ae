/*  secpolctl_audit.c - `secpolctl audit`: AuditService/ListAuditEvents.
 *
 *  secpolctl audit [--workspace W] [--subject S] [--kind K] [--since T]
 *                  [--until T] [--page-size N] [--page-token P]
 *
 *  One line per event, newest first: time, id, kind, caller, where, the
 *  method and the detail, every value escaped; -o json the response. T is
 *  unix seconds or UTC as 2026-12-01T12:00:00Z. K is an AuditEventKind in
 *  any spelling (policy-updated, LOCKED_OUT). An admin call
 *  (docs/SECURITY.md). When more events are left, stderr says which
 *  --page-token continues.
 */
#define _GNU_SOURCE /* strptime */
#include "secpolctl_internal.h"

#include "json_pb.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/audit.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool s_time (const char *text, int64_t *out);
static void s_print (const Secpol__V1__AuditEvent *event);
static void s_escaped (const char *text);

int
secpolctl_run_audit (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                     char **argv)
{
    (void)command;
    Secpol__V1__ListAuditEventsRequest request = SECPOL__V1__LIST_AUDIT_EVENTS_REQUEST__INIT;
    //  The dispatcher left the options spelled --name=value (secpolctl_internal.h).
    for (int i = 0; i < argc; i++) {
        char *word = argv[i], *value = strchr (word, '=');
        if (strcmp (word, "--") == 0)
            continue;
        if (strncmp (word, "--", 2) != 0 || !value)
            return secpolctl_usage_error ("audit: unexpected \"%s\" (secpolctl audit --help)",
                                          word);
        *value++ = '\0';
        const char *name = word + 2;
        if (strcmp (name, "workspace") == 0)
            request.workspace_id = value;
        else if (strcmp (name, "subject") == 0)
            request.subject_id = value;
        else if (strcmp (name, "page-token") == 0)
            request.page_token = value;
        else if (strcmp (name, "kind") == 0) {
            int kind = secpolctl_enum_word (&secpol__v1__audit_event_kind__descriptor,
                                            "AUDIT_EVENT_KIND_", value, "audit event kind", "");
            if (!kind)
                return SECPOLCTL_EXIT_USAGE;
            request.kind = (Secpol__V1__AuditEventKind)kind;
        } else if (strcmp (name, "since") == 0 || strcmp (name, "until") == 0) {
            int64_t *field = name[0] == 's' ? &request.since : &request.until;
            if (!s_time (value, field))
                return secpolctl_usage_error ("--%s takes unix seconds or a UTC time such as "
                                              "2026-12-01T12:00:00Z, not \"%s\"",
                                              name, value);
        } else if (strcmp (name, "page-size") == 0) {
            uint64_t size;
            if (secpolctl_number_option (&size, "--page-size", value, UINT32_MAX, ""))
                return SECPOLCTL_EXIT_USAGE;
            request.page_size = (uint32_t)size;
        }
    }
    int code = SECPOLCTL_EXIT_OK;
    if (!client && !(client = secpolctl_client (&code)))
        return code;
    ProtobufCMessage *response = NULL;
    code = secpol_client_call (client, "/secpol.v1.AuditService/ListAuditEvents", &request.base,
                               &response);
    if (code != SECPOL_OK || secpolctl_output () == SECPOLCTL_OUTPUT_JSON) {
        code = secpolctl_print_response (client, code, response);
        protobuf_c_message_free_unpacked (response, NULL);
        return code;
    }
    Secpol__V1__ListAuditEventsResponse *list = (Secpol__V1__ListAuditEventsResponse *)response;
    for (size_t k = 0; k < list->n_events; k++)
        s_print (list->events[k]);
    if (*list->next_page_token) {
        fputs ("more: --page-token ", stderr);
        secpolctl_print_escaped (stderr, list->next_page_token);
        fputc ('\n', stderr);
    }
    protobuf_c_message_free_unpacked (response, NULL);
    return SECPOLCTL_EXIT_OK;
}

//  2026-12-01T12:00:00Z #7 POLICY_UPDATED caller=ops workspace=acme
//  community= subject= method=/secpol.v1.PolicyService/UpdatePolicy
//  detail=version=3 fields=hsts.enabled  (one line)
static void
s_print (const Secpol__V1__AuditEvent *event)
{
    char when[32] = "?";
    time_t t = (time_t)event->time;
    struct tm tm;
    if (gmtime_r (&t, &tm))
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const ProtobufCEnumValue *kind = protobuf_c_enum_descriptor_get_value (
        &secpol__v1__audit_event_kind__descriptor, event->kind);
    const char *kind_name = kind ? kind->name : "?";
    if (strncmp (kind_name, "AUDIT_EVENT_KIND_", 17) == 0)
        kind_name += 17;
    printf ("%s #%" PRIu64 " %s caller=", when, event->id, kind_name);
    s_escaped (event->caller);
    fputs (" workspace=", stdout);
    s_escaped (event->workspace_id);
    fputs (" community=", stdout);
    s_escaped (event->community_id);
    fputs (" subject=", stdout);
    s_escaped (event->subject_id);
    fputs (" method=", stdout);
    s_escaped (event->method);
    fputs (" detail=", stdout);
    s_escaped (event->detail);
    fputc ('\n', stdout);
}

static void
s_escaped (const char *text)
{
    secpolctl_print_escaped (stdout, text);
}

//  Unix seconds, or ISO 8601 UTC (2026-12-01T12:00:00Z).
static bool
s_time (const char *text, int64_t *out)
{
    if (*text && strspn (text, "0123456789") == strlen (text)) {
        errno = 0;
        unsigned long long value = strtoull (text, NULL, 10);
        if (errno || value > INT64_MAX)
            return false;
        *out = (int64_t)value;
        return true;
    }
    struct tm tm = {0};
    const char *end = strptime (text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return false;
    time_t t = timegm (&tm);
    if (t < 0)
        return false;
    *out = (int64_t)t;
    return true;
}
