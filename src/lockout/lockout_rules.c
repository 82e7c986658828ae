/*  lockout_rules.c - the counting rules of LockoutService; see
 *  lockout_rules.h and docs/LOCKOUT.md. */
#include "lockout_rules.h"

#include <string.h>

const secpol_table_t secpol_lockout_table = {"lockout"};

static void s_keep_newest (secpol_lockout_state_t *state, size_t keep);
static bool s_lock_over (const secpol_lockout_state_t *state, int64_t now);

void
secpol_lockout_settle (secpol_lockout_state_t *state, const secpol_lockout_settings_t *settings,
                       int64_t now)
{
    if (settings->max_failures == 0 || s_lock_over (state, now)) {
        memset (state, 0, sizeof *state);
        return;
    }
    if (state->locked)
        return; /* a lock keeps the failures that set it, and nothing ages out */
    if (settings->window_minutes > 0) {
        int64_t window = (int64_t)settings->window_minutes * 60;
        size_t first = 0;
        while (first < state->n_failures && state->failures[first] + window <= now)
            first++;
        s_keep_newest (state, state->n_failures - first);
    }
    if (state->n_failures > settings->max_failures)
        s_keep_newest (state, settings->max_failures);
}

bool
secpol_lockout_fail (secpol_lockout_state_t *state, const secpol_lockout_settings_t *settings,
                     int64_t now)
{
    secpol_lockout_settle (state, settings, now);
    if (settings->max_failures == 0 || state->locked)
        return false;
    if (state->n_failures == SECPOL_LOCKOUT_FAILURES_MAX)
        s_keep_newest (state, SECPOL_LOCKOUT_FAILURES_MAX - 1);
    state->failures[state->n_failures++] = now;
    if (state->n_failures < settings->max_failures)
        return false;
    s_keep_newest (state, settings->max_failures);
    state->locked = true;
    state->locked_until = settings->lock_minutes ? now + (int64_t)settings->lock_minutes * 60 : 0;
    return true;
}

bool
secpol_lockout_succeed (secpol_lockout_state_t *state, const secpol_lockout_settings_t *settings,
                        int64_t now)
{
    secpol_lockout_settle (state, settings, now);
    if (state->locked)
        return true;
    state->n_failures = 0;
    return false;
}

void
secpol_lockout_view (secpol_lockout_view_t *view, const secpol_lockout_state_t *state,
                     const secpol_lockout_settings_t *settings, int64_t now)
{
    memset (view, 0, sizeof *view);
    if (settings->max_failures == 0)
        return;
    view->failures = (uint32_t)state->n_failures;
    if (state->locked) {
        view->locked = true;
        view->locked_until = state->locked_until;
        view->retry_after_seconds = state->locked_until ? state->locked_until - now : 0;
    } else
        view->remaining_attempts = state->n_failures < settings->max_failures
                                       ? settings->max_failures - (uint32_t)state->n_failures
                                       : 1; /* max_failures lowered: the next failure locks */
}

bool
secpol_lockout_empty (const secpol_lockout_state_t *state)
{
    return !state->locked && state->n_failures == 0;
}

int64_t
secpol_lockout_expires_at (const secpol_lockout_state_t *state,
                           const secpol_lockout_settings_t *settings)
{
    if (state->locked)
        return state->locked_until;
    if (state->n_failures == 0 || settings->window_minutes == 0)
        return 0;
    return state->failures[state->n_failures - 1] + (int64_t)settings->window_minutes * 60;
}

size_t
secpol_lockout_key (uint8_t key[SECPOL_LOCKOUT_KEY_MAX], const char *workspace_id,
                    const char *subject_id, uint8_t kind)
{
    size_t ws = strlen (workspace_id), subject = strlen (subject_id);
    key[0] = (uint8_t)ws;
    memcpy (key + 1, workspace_id, ws);
    key[1 + ws] = (uint8_t)subject;
    memcpy (key + 2 + ws, subject_id, subject);
    key[2 + ws + subject] = kind;
    return 3 + ws + subject;
}

/*  Keeps the newest keep failures (keep <= n_failures). */
static void
s_keep_newest (secpol_lockout_state_t *state, size_t keep)
{
    size_t drop = state->n_failures - keep;
    if (drop)
        memmove (state->failures, state->failures + drop, keep * sizeof state->failures[0]);
    state->n_failures = keep;
}

/*  True when a timed lock has ended at now. */
static bool
s_lock_over (const secpol_lockout_state_t *state, int64_t now)
{
    return state->locked && state->locked_until > 0 && state->locked_until <= now;
}
