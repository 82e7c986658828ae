/*  lockout_rules.h - the counting rules of LockoutService, and its table.
 *
 *  The rules are pure functions of one counter's state, the policy group in
 *  force and the time, so that unit tests need no store and the READ and
 *  WRITE handlers cannot disagree. docs/LOCKOUT.md says the same in words.
 *
 *  Table secpol_lockout_table ("lockout") holds one packed
 *  secpol.store.v1.LockoutRecord per counter under the key
 *      u8 len(workspace_id) workspace_id u8 len(subject_id) subject_id u8 kind
 *  (the length prefixes keep keys unambiguous whatever bytes the ids hold).
 *  A counter with nothing to remember (no failure counting, no lock) has no
 *  record. Every record is indexed in the expiry table (expiry.h) at the
 *  time it stops mattering (secpol_lockout_expires_at), so the WRITE lane's
 *  sweep deletes the counters of subjects with no recent failure.
 *
 *  Threads: every function here is pure and may run on any thread.
 */
#ifndef SECPOL_LOCKOUT_RULES_H_INCLUDED
#define SECPOL_LOCKOUT_RULES_H_INCLUDED

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  The table LockoutService owns. */
extern const secpol_table_t secpol_lockout_table;

#define SECPOL_LOCKOUT_FAILURES_MAX 100 /* the policy's ceiling of max_failures */
#define SECPOL_LOCKOUT_ID_MAX       128 /* bytes of a workspace_id or subject_id */
#define SECPOL_LOCKOUT_KEY_MAX      (3 + 2 * SECPOL_LOCKOUT_ID_MAX)

/*  One policy group (login_lockout, claim_lockout or two_factor_lockout). */
typedef struct {
    uint32_t max_failures;   /* failures that lock; 0 = this lockout is off */
    uint32_t window_minutes; /* a failure counts this long; 0 = until a success */
    uint32_t lock_minutes;   /* a lock lasts this long; 0 = until an admin unlocks */
} secpol_lockout_settings_t;

/*  One counter. */
typedef struct {
    int64_t failures[SECPOL_LOCKOUT_FAILURES_MAX]; /* unix seconds, oldest first */
    size_t n_failures;                             /* entries in failures */
    bool locked;                                   /* a lock was set (see locked_until) */
    int64_t locked_until; /* the lock ends at this time; 0 = until an admin unlocks */
} secpol_lockout_state_t;

/*  What a caller is told about a counter. */
typedef struct {
    bool locked;                 /* attempts must be refused */
    uint32_t failures;           /* failures counting now */
    uint32_t remaining_attempts; /* failures until the lock; 0 when locked or off */
    int64_t retry_after_seconds; /* until the lock ends; 0 unless locked for a time */
    int64_t locked_until;        /* when the lock ends; 0 unless locked for a time */
} secpol_lockout_view_t;

/*  Brings state to now under settings: a lock that has ended is dropped
 *  with every failure (counting starts afresh); without a lock, failures
 *  that have left the window are dropped (a failure at t counts while
 *  now < t + 60 * window_minutes), and only the newest max_failures are
 *  kept. With the lockout off (max_failures 0) state is emptied. */
void secpol_lockout_settle (secpol_lockout_state_t *state,
                            const secpol_lockout_settings_t *settings, int64_t now);

/*  Records a failure at now, after settling. While locked, or with the
 *  lockout off, nothing is counted. Returns true when this failure locked
 *  the counter (the count reached max_failures): the lock then holds the
 *  newest max_failures failures and ends at now + 60 * lock_minutes (0 =
 *  never). */
bool secpol_lockout_fail (secpol_lockout_state_t *state, const secpol_lockout_settings_t *settings,
                          int64_t now);

/*  Records a success at now, after settling: every failure is forgotten
 *  unless the counter is locked; a lock is never lifted. Returns true when
 *  the counter is locked. */
bool secpol_lockout_succeed (secpol_lockout_state_t *state,
                             const secpol_lockout_settings_t *settings, int64_t now);

/*  Fills *view from state, which must be settled at now. */
void secpol_lockout_view (secpol_lockout_view_t *view, const secpol_lockout_state_t *state,
                          const secpol_lockout_settings_t *settings, int64_t now);

/*  True when state (settled) has nothing to remember: no failure, no lock. */
bool secpol_lockout_empty (const secpol_lockout_state_t *state);

/*  When the settled state stops mattering, so that the sweep may delete
 *  its record: the end of a timed lock, else the time the newest failure
 *  leaves the window; 0 (never) for a lock until an admin unlocks and for
 *  failures under a window of 0. */
int64_t secpol_lockout_expires_at (const secpol_lockout_state_t *state,
                                   const secpol_lockout_settings_t *settings);

/*  Writes the key of a counter into key and returns its length. ids must
 *  be at most SECPOL_LOCKOUT_ID_MAX bytes. */
size_t secpol_lockout_key (uint8_t key[SECPOL_LOCKOUT_KEY_MAX], const char *workspace_id,
                           const char *subject_id, uint8_t kind);

#endif
