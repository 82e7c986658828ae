/*  audit.c - the audit log's table; see audit.h. */
#include "audit.h"

#include "call.h"

#include <stdio.h>
#include <string.h>

#define NEXT_ID_KEY "audit.next_id"

const secpol_table_t secpol_audit_table = {"audit"};

static void s_key (uint8_t key[8], uint64_t id);
static uint64_t s_id (secpol_val_t key);
static bool s_matches (const Secpol__V1__AuditEvent *event, const secpol_audit_filter_t *filter);

int
secpol_audit_add (secpol_txn_t *txn, int64_t now, Secpol__V1__AuditEventKind kind,
                  const char *workspace_id, const char *community_id, const char *subject_id,
                  const char *detail)
{
    uint64_t id = 1;
    secpol_val_t value;
    int rc = secpol_get (txn, &secpol_meta_table, NEXT_ID_KEY, strlen (NEXT_ID_KEY), &value);
    if (rc == 0 && value.size == sizeof id)
        memcpy (&id, value.data, sizeof id);
    else if (rc != SECPOL_ENOTFOUND && rc != 0)
        return rc;
    uint64_t next = id + 1;
    rc =
        secpol_put (txn, &secpol_meta_table, NEXT_ID_KEY, strlen (NEXT_ID_KEY), &next, sizeof next);
    if (rc)
        return rc;
    const secpol_call_t *call = secpol_txn_owner (txn);
    char cut[SECPOL_AUDIT_DETAIL_MAX + 1];
    if (detail && strlen (detail) > SECPOL_AUDIT_DETAIL_MAX) {
        snprintf (cut, sizeof cut, "%.*s...", SECPOL_AUDIT_DETAIL_MAX - 3, detail);
        detail = cut;
    }
    Secpol__V1__AuditEvent event = SECPOL__V1__AUDIT_EVENT__INIT;
    event.id = id;
    event.time = now;
    event.kind = kind;
    event.caller = (char *)(call && call->caller ? call->caller : "");
    event.method = (char *)(call && call->method ? call->method : "");
    event.request_id = (char *)(call && call->request_id ? call->request_id : "");
    event.workspace_id = (char *)workspace_id;
    event.community_id = (char *)community_id;
    event.subject_id = (char *)subject_id;
    event.detail = (char *)(detail ? detail : "");
    uint8_t buffer[4096], *packed = buffer;
    size_t size = secpol__v1__audit_event__get_packed_size (&event);
    if (size > sizeof buffer)
        return SECPOL_EINVAL; /* ids are bounded at 128 bytes, detail at 512 */
    secpol__v1__audit_event__pack (&event, packed);
    uint8_t key[8];
    s_key (key, id);
    return secpol_put (txn, &secpol_audit_table, key, sizeof key, packed, size);
}

int
secpol_audit_list (secpol_txn_t *txn, secpol_arena_t *arena, const secpol_audit_filter_t *filter,
                   uint64_t before, size_t limit, size_t scan_budget,
                   Secpol__V1__ListAuditEventsResponse *out, uint64_t *next)
{
    *next = 0;
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_audit_table, &cursor);
    if (rc)
        return rc;
    secpol_val_t key, value;
    if (before == UINT64_MAX)
        rc = secpol_cursor_last (cursor, &key, &value);
    else {
        /* the first key at or above before, then one step back */
        uint8_t start[8];
        s_key (start, before);
        rc = secpol_cursor_seek (cursor, start, sizeof start, &key, &value);
        rc = rc == SECPOL_ENOTFOUND ? secpol_cursor_last (cursor, &key, &value) : rc;
        if (rc == 0 && s_id (key) >= before)
            rc = secpol_cursor_prev (cursor, &key, &value);
    }
    out->events = secpol_arena_alloc (arena, (limit ? limit : 1) * sizeof *out->events);
    /* Each event looked at is decoded into scratch, emptied before the
     * next: what a call holds is the page it answers, not every event a
     * sparse filter passed over (up to scan_budget of them). A match is
     * decoded again into arena, at most limit times. */
    secpol_arena_t *scratch = secpol_arena_new ();
    size_t scanned = 0;
    while (rc == 0) {
        if (out->n_events == limit || scanned == scan_budget) {
            *next = s_id (key) + 1; /* this event is the next page's first look */
            break;
        }
        scanned++;
        secpol_arena_reset (scratch);
        Secpol__V1__AuditEvent *event = secpol__v1__audit_event__unpack (
            secpol_arena_allocator (scratch), value.size, value.data);
        if (!event) {
            rc = SECPOL_ECORRUPT;
            break;
        }
        if (filter->since && event->time < filter->since)
            break; /* older events follow: nothing more to find */
        if (s_matches (event, filter)) {
            event = secpol__v1__audit_event__unpack (secpol_arena_allocator (arena), value.size,
                                                     value.data);
            if (!event) { /* decoded once already: only out of memory, which aborts */
                rc = SECPOL_ECORRUPT;
                break;
            }
            out->events[out->n_events++] = event;
        }
        rc = secpol_cursor_prev (cursor, &key, &value);
    }
    secpol_arena_destroy (&scratch);
    secpol_cursor_close (&cursor);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}

int
secpol_audit_reap (secpol_txn_t *txn, int64_t cutoff, size_t budget, size_t *deleted, bool *more)
{
    *deleted = 0;
    *more = false;
    secpol_cursor_t *cursor = NULL;
    int rc = secpol_cursor_open (txn, &secpol_audit_table, &cursor);
    if (rc)
        return rc;
    secpol_val_t key, value;
    rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value);
    while (rc == 0) {
        Secpol__V1__AuditEvent *event =
            secpol__v1__audit_event__unpack (NULL, value.size, value.data);
        /* an event that does not decode cannot be read anyway: reap it */
        bool old = !event || event->time < cutoff;
        secpol__v1__audit_event__free_unpacked (event, NULL);
        if (!old)
            break;
        if (*deleted == budget) {
            *more = true;
            break;
        }
        rc = secpol_cursor_del (cursor);
        if (rc)
            break;
        (*deleted)++;
        /* after a delete the cursor stands on the next entry */
        rc = secpol_cursor_seek (cursor, NULL, 0, &key, &value);
    }
    secpol_cursor_close (&cursor);
    return rc == SECPOL_ENOTFOUND ? 0 : rc;
}

static bool
s_matches (const Secpol__V1__AuditEvent *event, const secpol_audit_filter_t *filter)
{
    return (!*filter->workspace_id || strcmp (event->workspace_id, filter->workspace_id) == 0) &&
           (!*filter->subject_id || strcmp (event->subject_id, filter->subject_id) == 0) &&
           (!filter->kind || event->kind == filter->kind) &&
           (!filter->until || event->time < filter->until);
}

static void
s_key (uint8_t key[8], uint64_t id)
{
    for (int i = 7; i >= 0; i--) {
        key[i] = (uint8_t)id;
        id >>= 8;
    }
}

static uint64_t
s_id (secpol_val_t key)
{
    uint64_t id = 0;
    const uint8_t *bytes = key.data;
    for (size_t i = 0; i < key.size && i < 8; i++)
        id = id << 8 | bytes[i];
    return id;
}
