/*  audit.h - the audit log: an append-only table of security-relevant
 *  changes (docs/SECURITY.md, "Audit log").
 *
 *  A handler, or a facility it calls (secpol_lockout_apply), that makes a
 *  change the log must show records it in the same transaction:
 *
 *      secpol_audit_add (call->txn, call->now,
 * SECPOL__V1__AUDIT_EVENT_KIND__AUDIT_EVENT_KIND_UNLOCKED, workspace_id, "", subject_id,
 * "kind=LOGIN");
 *
 *  so that the change and its event commit or roll back together. The
 *  caller's certificate name, the method and the request id come from the
 *  call the WRITE lane set as the transaction's owner (store.h); a
 *  transaction without one (tests, tools) records them as "". detail is
 *  key=value words; never a secret, token, code, password or key.
 *
 *  The table ("audit", the runtime's own, like "expiry") is keyed by the
 *  event id, big-endian u64, increasing from 1 (the next id is kept in
 *  META under "audit.next_id", so ids never repeat even when every event
 *  was reaped); its value is the packed secpol.v1.AuditEvent. Nothing
 *  updates or deletes an event but the retention reaper, which deletes the
 *  oldest first.
 */
#ifndef SECPOL_AUDIT_H_INCLUDED
#define SECPOL_AUDIT_H_INCLUDED

#include "arena.h"
#include "store.h"

#include "secpol/v1/audit.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const secpol_table_t secpol_audit_table;

/*  Longest detail kept, in bytes; a longer one is cut and ends in "...". */
#define SECPOL_AUDIT_DETAIL_MAX 512

/*  Appends one event at time now. workspace_id, community_id and
 *  subject_id may be "" (not NULL). Write transactions only. Returns 0 or
 *  a store error; on an error the handler must fail so that its change
 *  rolls back with the event. */
int secpol_audit_add (secpol_txn_t *txn, int64_t now, Secpol__V1__AuditEventKind kind,
                      const char *workspace_id, const char *community_id, const char *subject_id,
                      const char *detail) __attribute__ ((warn_unused_result));

/*  What secpol_audit_list selects. */
typedef struct {
    const char *workspace_id;        /* "" = any */
    const char *subject_id;          /* "" = any */
    Secpol__V1__AuditEventKind kind; /* 0 = any */
    int64_t since;                   /* events at or after; 0 = any */
    int64_t until;                   /* events before; 0 = any */
} secpol_audit_filter_t;

/*  Appends to out->events (allocated in arena) up to limit events that
 *  match, newest first, starting below id before (UINT64_MAX = the
 *  newest), looking at no more than scan_budget events. *next is the id to
 *  pass as before for the next page, 0 when none is left: the log's start
 *  was reached, or an event older than filter->since (ids follow the
 *  clock, which goes back only with --test-clock or a stepped wall clock).
 *  Returns 0 or a store error (SECPOL_ECORRUPT for an event that does not
 *  decode). What it keeps in arena is the events it returns: the ones it
 *  only looked at are decoded into a scratch arena, emptied each time. */
int secpol_audit_list (secpol_txn_t *txn, secpol_arena_t *arena,
                       const secpol_audit_filter_t *filter, uint64_t before, size_t limit,
                       size_t scan_budget, Secpol__V1__ListAuditEventsResponse *out, uint64_t *next)
    __attribute__ ((warn_unused_result));

/*  Deletes up to budget of the oldest events whose time is before cutoff,
 *  in txn (a write transaction). *deleted receives how many, *more whether
 *  the oldest left is still before cutoff. Returns 0 or a store error. */
int secpol_audit_reap (secpol_txn_t *txn, int64_t cutoff, size_t budget, size_t *deleted,
                       bool *more) __attribute__ ((warn_unused_result));

#endif
