/*  lockout.h - failed-attempt counting, for every service that locks.
 *
 *  LockoutService's handlers and any other handler that verifies something
 *  a subject could guess (an OTP code, a recovery code) count failures with
 *  secpol_lockout_apply() inside the transaction the dispatcher gave them,
 *  so that the check, the count and the lock are one atomic step on the
 *  WRITE lane. The rules are those of docs/LOCKOUT.md (lockout_rules.h).
 */
#ifndef SECPOL_LOCKOUT_H_INCLUDED
#define SECPOL_LOCKOUT_H_INCLUDED

#include "arena.h"
#include "lockout_rules.h"
#include "store.h"

#include "secpol/v1/lockout.pb-c.h"

#include <stdint.h>

/*  What secpol_lockout_apply does to the counter. */
typedef enum {
    SECPOL_LOCKOUT_CHECK = 0,   /* nothing: reads it (any transaction) */
    SECPOL_LOCKOUT_FAILURE = 1, /* RecordFailure (write transactions only) */
    SECPOL_LOCKOUT_SUCCESS = 2, /* RecordSuccess (write transactions only) */
    SECPOL_LOCKOUT_UNLOCK = 3,  /* Unlock (write transactions only) */
} secpol_lockout_action_t;

/*  Applies action at now to the counter of subject_id in workspace_id for
 *  kind, under the effective workspace policy read in txn, stores the
 *  result (deleting a counter with nothing left to remember, moving its
 *  expiry entry) and fills *out (allocated by the caller, initialised; its
 *  strings are not touched). ids must have passed
 *  secpol_policy_id_problem() and kind must be LOGIN, CLAIM or TWO_FACTOR:
 *  otherwise SECPOL_EINVAL and nothing is touched. Returns 0 or a store
 *  error (SECPOL_ECORRUPT when the stored counter does not decode); on an
 *  error a write handler must fail so that its nested transaction rolls
 *  back. Writes nothing to the log: the caller notes its write. */
int secpol_lockout_apply (secpol_txn_t *txn, secpol_arena_t *arena, const char *workspace_id,
                          const char *subject_id, Secpol__V1__LockoutKind kind,
                          secpol_lockout_action_t action, int64_t now,
                          Secpol__V1__LockoutStatus *out) __attribute__ ((warn_unused_result));

#endif
