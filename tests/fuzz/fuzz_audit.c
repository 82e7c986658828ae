/*  fuzz_audit.c - the audit log (src/runtime/audit.h) and
 *  AuditService/ListAuditEvents on a real LMDB store, against a model.
 *
 *  The server of service_harness.h; each input runs in one top-level write
 *  transaction aborted at the end (ids start again at 1 for every input).
 *  Input: up to 48 steps, each `op, length (2 bytes, little endian),
 *  bytes`. op bits 0-1:
 *    0 an event is added at the current time: kind 1 + bytes[0] % 13,
 *      workspace w1 or w2 (bytes[1] bit 0), subject "", u1 or u2
 *      (bytes[2] % 3), a detail of the other bytes as letters (up to 700:
 *      past SECPOL_AUDIT_DETAIL_MAX it is cut);
 *    1 ListAuditEvents through the real handler: the bytes are the encoded
 *      request (skipped when they do not unpack), or with op bit 2 a
 *      request made from op bits 3-7 and the bytes (workspace, subject,
 *      kind, since, until, page size); a page token it answers is
 *      followed once;
 *    2 the clock moves by (int16) (bytes[0] | bytes[1] << 8) * 61 seconds,
 *      back as well as forward;
 *    3 the reaper runs with cutoff now - bytes[0] * 100 and a budget of
 *      1 + bytes[1] % 8.
 *
 *  Invariants (abort when broken):
 *  - the handler answers OK, or INVALID_ARGUMENT with named violations;
 *  - an OK page is exactly what the model selects: the events below the
 *    token, newest first, matching every filter, stopping at the first
 *    event older than since, at most the page size (0 = 50, at most 500);
 *    a token comes back exactly when the page is full and an older event
 *    is left to look at;
 *  - a reap deletes exactly the oldest events before the cutoff, up to its
 *    budget, and says whether more are due;
 *  - at the end the table holds exactly the model's events, each decoding
 *    to what was added (the detail cut at 512 bytes with "...").
 */
#include "fuzz_support.h"
#include "service_harness.h"

#include "arena.h"
#include "audit.h"
#include "call.h"
#include "store.h"
#include "wire.h"

#include "secpol/v1/audit.pb-c.h"

#include <stdbool.h>
#include <string.h>

#define NOW        INT64_C (1800000000)
#define MAX_STEPS  48
#define MAX_EVENTS (MAX_STEPS + 1)

typedef struct {
    uint64_t id;
    int64_t time;
    int kind;
    const char *workspace;
    const char *subject;
    char detail[SECPOL_AUDIT_DETAIL_MAX + 1];
} event_t;

static fuzz_service_t s_service;
static const secpol_method_t *s_list;
static event_t s_events[MAX_EVENTS]; /* the model, oldest first */
static size_t s_n_events, s_first;   /* events added; s_first reaped from the front */
static int64_t s_now;
static const char *const s_workspaces[] = {"w1", "w2"};
static const char *const s_subjects[] = {"", "u1", "u2"};

static secpol_arena_t *s_arena; /* this input's */

static void s_step (void *top, uint8_t op, const uint8_t *bytes, size_t size);
static void s_add (secpol_txn_t *top, const uint8_t *bytes, size_t size);
static void s_list_events (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op,
                           const uint8_t *bytes, size_t size);
static void s_reap (secpol_txn_t *top, const uint8_t *bytes, size_t size);
static void s_check_table (secpol_txn_t *top, secpol_arena_t *arena);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_start (&s_service, "fuzz_audit");
    s_list = fuzz_service_method (&s_service, "/secpol.v1.AuditService/ListAuditEvents");
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    secpol_arena_t *arena = secpol_arena_new ();
    secpol_txn_t *top = NULL;
    int rc = secpol_txn_begin (s_service.store, NULL, true, &top);
    FUZZ_REQUIRE (rc == 0, "transaction: %s", secpol_strerror (rc));
    s_now = NOW;
    s_n_events = s_first = 0;
    s_arena = arena;
    fuzz_service_steps (data, size, MAX_STEPS, s_step, top);
    s_check_table (top, arena);
    secpol_txn_abort (&top);
    secpol_arena_destroy (&arena);
    return 0;
}

static void
s_step (void *top, uint8_t op, const uint8_t *bytes, size_t size)
{
    switch (op & 3) {
        case 0:
            s_add (top, bytes, size);
            break;
        case 1:
            s_list_events (top, s_arena, op, bytes, size);
            break;
        case 2: {
            int16_t moves = (int16_t)((size > 0 ? bytes[0] : 0) | (size > 1 ? bytes[1] << 8 : 0));
            s_now += (int64_t)moves * 61;
            break;
        }
        default:
            s_reap (top, bytes, size);
            break;
    }
}

static void
s_add (secpol_txn_t *top, const uint8_t *bytes, size_t size)
{
    event_t *event = &s_events[s_n_events];
    event->id = s_n_events + 1;
    event->time = s_now;
    event->kind = 1 + (size > 0 ? bytes[0] : 0) % 13;
    event->workspace = s_workspaces[size > 1 ? bytes[1] & 1 : 0];
    event->subject = s_subjects[size > 2 ? bytes[2] % 3 : 0];
    char detail[701];
    size_t n = 0;
    for (size_t i = 3; i < size && n < sizeof detail - 1; i++)
        detail[n++] = (char)('a' + bytes[i] % 26);
    detail[n] = '\0';
    if (n > SECPOL_AUDIT_DETAIL_MAX)
        snprintf (event->detail, sizeof event->detail, "%.*s...", SECPOL_AUDIT_DETAIL_MAX - 3,
                  detail);
    else
        memcpy (event->detail, detail, n + 1);
    int rc = secpol_audit_add (top, s_now, (Secpol__V1__AuditEventKind)event->kind,
                               event->workspace, "", event->subject, detail);
    FUZZ_REQUIRE (rc == 0, "audit add: %s", secpol_strerror (rc));
    s_n_events++;
}

/*  What the model selects for request below id before: the events' ids
 *  into ids (newest first), and whether a token must come back. */
static size_t
s_select (const Secpol__V1__ListAuditEventsRequest *in, uint64_t before, uint64_t *ids, bool *token)
{
    size_t limit = in->page_size == 0 ? 50 : in->page_size > 500 ? 500 : in->page_size;
    size_t n = 0;
    *token = false;
    for (size_t i = s_n_events; i > s_first; i--) {
        const event_t *event = &s_events[i - 1];
        if (event->id >= before)
            continue;
        if (n == limit) {
            *token = true;
            break;
        }
        if (in->since && event->time < in->since)
            break;
        if ((!*in->workspace_id || strcmp (in->workspace_id, event->workspace) == 0) &&
            (!*in->subject_id || strcmp (in->subject_id, event->subject) == 0) &&
            (!in->kind || (int)in->kind == event->kind) && (!in->until || event->time < in->until))
            ids[n++] = event->id;
    }
    return n;
}

static void
s_list_page (secpol_txn_t *top, secpol_arena_t *arena, Secpol__V1__ListAuditEventsRequest *in,
             uint64_t before, bool follow)
{
    secpol_call_t call;
    ProtobufCMessage *response = NULL;
    int code = fuzz_service_call (&s_service, top, arena, s_list, s_list->spec->handler, false,
                                  false, s_now, NULL, &in->base, &response, &call);
    if (code == SECPOL_INVALID_ARGUMENT) {
        fuzz_require_violations (&call, s_list->path);
        return;
    }
    FUZZ_REQUIRE (code == SECPOL_OK, "ListAuditEvents answered %d", code);
    const Secpol__V1__ListAuditEventsResponse *out =
        (const Secpol__V1__ListAuditEventsResponse *)response;
    uint64_t ids[MAX_EVENTS];
    bool token;
    size_t n = s_select (in, before, ids, &token);
    FUZZ_REQUIRE (out->n_events == n, "%zu events, the model selects %zu", out->n_events, n);
    for (size_t k = 0; k < n; k++) {
        const Secpol__V1__AuditEvent *event = out->events[k];
        const event_t *model = &s_events[ids[k] - 1];
        FUZZ_REQUIRE (event->id == ids[k], "event %zu is #%llu, the model's #%llu", k,
                      (unsigned long long)event->id, (unsigned long long)ids[k]);
        FUZZ_REQUIRE (event->time == model->time && (int)event->kind == model->kind &&
                          strcmp (event->workspace_id, model->workspace) == 0 &&
                          strcmp (event->subject_id, model->subject) == 0 &&
                          strcmp (event->detail, model->detail) == 0,
                      "event #%llu differs from what was added", (unsigned long long)event->id);
    }
    FUZZ_REQUIRE (token == (*out->next_page_token != '\0'), "next_page_token \"%s\", expected %s",
                  out->next_page_token, token ? "one" : "none");
    if (token && follow) {
        uint64_t next = n ? out->events[n - 1]->id : before;
        in->page_token = out->next_page_token;
        s_list_page (top, arena, in, next, false);
    }
}

static void
s_list_events (secpol_txn_t *top, secpol_arena_t *arena, uint8_t op, const uint8_t *bytes,
               size_t size)
{
    Secpol__V1__ListAuditEventsRequest *in;
    if (op & 4) {
        in = secpol_arena_alloc (arena, sizeof *in);
        secpol__v1__list_audit_events_request__init (in);
        in->workspace_id = op & 8 ? (char *)s_workspaces[(op >> 4) & 1] : "";
        in->subject_id = op & 32 ? (char *)s_subjects[1 + ((op >> 6) & 1)] : "";
        in->kind = size > 0 ? (Secpol__V1__AuditEventKind)(bytes[0] % 15) : 0;
        in->page_size = size > 1 ? bytes[1] % 8 : 0;
        in->since = size > 2 && bytes[2] ? s_now - bytes[2] * 60 : 0;
        in->until = size > 3 && bytes[3] ? s_now - 30 * 60 + bytes[3] * 60 : 0;
        if (in->until < 0 || (in->until && in->since >= in->until))
            in->until = 0;
    } else {
        const ProtobufCMessageDescriptor *descriptor = s_list->descriptor->input;
        char field[256];
        const char *problem;
        if (!secpol_wire_check_strings (descriptor, bytes, size, field, sizeof field, &problem))
            return;
        in = (Secpol__V1__ListAuditEventsRequest *)protobuf_c_message_unpack (
            descriptor, secpol_arena_allocator (arena), size, bytes);
        if (!in)
            return;
    }
    uint64_t before = UINT64_MAX;
    if (*in->page_token) { /* the model reads a well-formed token as the handler does */
        char *end = NULL;
        if (strncmp (in->page_token, "a1-", 3) == 0 && strlen (in->page_token) == 19 &&
            strspn (in->page_token + 3, "0123456789abcdef") == 16)
            before = strtoull (in->page_token + 3, &end, 16);
    }
    s_list_page (top, arena, in, before, true);
}

static void
s_reap (secpol_txn_t *top, const uint8_t *bytes, size_t size)
{
    int64_t cutoff = s_now - (size > 0 ? bytes[0] : 0) * 100;
    size_t budget = 1 + (size > 1 ? bytes[1] : 0) % 8;
    size_t deleted = 0;
    bool more = false;
    int rc = secpol_audit_reap (top, cutoff, budget, &deleted, &more);
    FUZZ_REQUIRE (rc == 0, "reap: %s", secpol_strerror (rc));
    size_t expect = 0;
    while (s_first + expect < s_n_events && expect < budget &&
           s_events[s_first + expect].time < cutoff)
        expect++;
    bool expect_more = expect == budget && s_first + expect < s_n_events &&
                       s_events[s_first + expect].time < cutoff;
    FUZZ_REQUIRE (deleted == expect && more == expect_more,
                  "reap deleted %zu (more %d), the model %zu (more %d)", deleted, more, expect,
                  expect_more);
    s_first += expect;
}

static void
s_check_table (secpol_txn_t *top, secpol_arena_t *arena)
{
    secpol_cursor_t *cursor = NULL;
    FUZZ_REQUIRE (secpol_cursor_open (top, &secpol_audit_table, &cursor) == 0, "cursor");
    secpol_val_t key, value;
    size_t i = s_first;
    for (int rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value); rc == 0;
         rc = secpol_cursor_next (cursor, &key, &value), i++) {
        FUZZ_REQUIRE (i < s_n_events, "the table holds more events than were added");
        Secpol__V1__AuditEvent *event = secpol__v1__audit_event__unpack (
            secpol_arena_allocator (arena), value.size, value.data);
        FUZZ_REQUIRE (event && event->id == s_events[i].id && key.size == 8,
                      "stored event %zu does not decode as #%llu", i,
                      (unsigned long long)s_events[i].id);
    }
    secpol_cursor_close (&cursor);
    FUZZ_REQUIRE (i == s_n_events, "the table holds %zu events, the model %zu", i - s_first,
                  s_n_events - s_first);
}
