/*  otp_test.h - what the OtpService e2e tests share (test_otp_email.c,
 *  test_otp_totp.c): the workspace policy they set, the test clock, and the
 *  calls with the failure message a broken one deserves. Header-only (the
 *  tests glob only test_*.c); static inline, so a test that does not use a
 *  helper does not warn.
 */
#ifndef SECPOL_OTP_TEST_H_INCLUDED
#define SECPOL_OTP_TEST_H_INCLUDED

#include "calls.h"
#include "daemon.h"

#include "secpol/secpol_client.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/lockout.pb-c.h"
#include "secpol/v1/otp.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define OTP_PATH "/secpol.v1.OtpService/"
#define OTP_WS   "w1"

typedef Secpol__V1__OtpVerifyResponse otp_verdict_t;

static inline void
otp_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

/*  The OTP settings of OTP_WS: the two switches, the email code lifetime
 *  (0 = unchanged) and the two-factor lockout (max_failures, lock minutes;
 *  window 15). Fails the test when UpdatePolicy refuses. */
static inline void
otp_policy (secpol_client_t *client, bool email, uint32_t ttl_seconds, bool app,
            uint32_t max_failures, uint32_t lock_minutes)
{
    Secpol__V1__LockoutSettings lockout = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    lockout.max_failures = max_failures;
    lockout.window_minutes = 15;
    lockout.lock_minutes = lock_minutes;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.email_two_step_enabled = email;
    policy.email_otp_ttl_seconds = ttl_seconds;
    policy.authenticator_app_enabled = app;
    policy.two_factor_lockout = &lockout;
    secpol_test_set_policy (client, OTP_WS, "", &policy,
                            ttl_seconds ? "email_two_step_enabled,authenticator_app_enabled,"
                                          "two_factor_lockout,email_otp_ttl_seconds"
                                        : "email_two_step_enabled,authenticator_app_enabled,"
                                          "two_factor_lockout");
}

/*  Sets the test clock's offset; returns the server's clock after it. */
static inline int64_t
otp_offset (secpol_client_t *client, int64_t seconds)
{
    return secpol_test_clock_offset (client, seconds);
}

/*  Calls path with request; fails the test unless it answers want. The
 *  response (NULL unless OK) is the caller's. */
static inline void *
otp_call (secpol_client_t *client, const char *method, const ProtobufCMessage *request, int want)
{
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, method, request, &response);
    if (code != want)
        fail_msg ("%s: %s (%s), expected %s", method, secpol_status_name (code),
                  secpol_client_status (client)->message, secpol_status_name (want));
    return response;
}

/*  Asserts a verdict: ok, reason, and the TWO_FACTOR failures and lock
 *  after it; frees it. */
static inline void
otp_expect (otp_verdict_t *verdict, bool ok, const char *reason, uint32_t failures, bool locked)
{
    assert_non_null (verdict);
    assert_non_null (verdict->lockout);
    if (verdict->ok != ok || strcmp (verdict->reason, reason) != 0 ||
        verdict->lockout->failures != failures || verdict->lockout->locked != locked)
        fail_msg ("verdict ok=%d reason=\"%s\" failures=%u locked=%d; expected %d \"%s\" %u %d",
                  verdict->ok, verdict->reason, verdict->lockout->failures,
                  verdict->lockout->locked, ok, reason, failures, locked);
    assert_int_equal (verdict->lockout->kind, SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR);
    otp_free (verdict);
}

/*  Asserts that the last call answered INVALID_ARGUMENT naming field. */
static inline void
otp_expect_violation (secpol_client_t *client, const char *field)
{
    const secpol_client_status_t *status = secpol_client_status (client);
    for (size_t i = 0; i < status->n_violations; i++)
        if (strcmp (status->violation_fields[i], field) == 0)
            return;
    fail_msg ("no violation names %s (message: %s)", field, status->message);
}

/*  A six-digit code that is not code: the next one, wrapping. */
static inline void
otp_wrong_code (char out[7], const char *code)
{
    long next = (strtol (code, NULL, 10) + 1) % 1000000;
    for (int i = 5; i >= 0; i--, next /= 10)
        out[i] = (char)('0' + next % 10);
    out[6] = '\0';
}

/*  Unlocks the subject's TWO_FACTOR counter (an admin's LockoutService/Unlock). */
static inline void
otp_unlock (secpol_client_t *client, const char *subject)
{
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = OTP_WS;
    request.subject_id = (char *)subject;
    request.kind = SECPOL__V1__LOCKOUT_KIND__LOCKOUT_KIND_TWO_FACTOR;
    otp_free (otp_call (client, "/secpol.v1.LockoutService/Unlock", &request.base, SECPOL_OK));
}

/*  One racer of otp_race: its own client in its own thread. */
#define OTP_RACERS 8
typedef struct {
    const char *endpoint;
    const char *method;
    const ProtobufCMessage *request;
    pthread_barrier_t *start;
    int code;        /* the call's status; -1 when no client */
    bool ok;         /* the verdict's ok */
    char reason[16]; /* and its reason */
} otp_racer_t;

static inline void *
otp_racer (void *arg)
{
    otp_racer_t *racer = arg;
    /* not secpol_test_client: cmocka cannot fail a test from this thread */
    secpol_client_t *client = secpol_client_new (racer->endpoint, 10000);
    pthread_barrier_wait (racer->start);
    racer->code = -1;
    if (!client)
        return NULL;
    ProtobufCMessage *response = NULL;
    racer->code = secpol_client_call (client, racer->method, racer->request, &response);
    if (racer->code == SECPOL_OK) {
        otp_verdict_t *verdict = (otp_verdict_t *)response;
        racer->ok = verdict->ok;
        snprintf (racer->reason, sizeof racer->reason, "%s", verdict->reason);
    }
    otp_free (response);
    secpol_client_destroy (&client);
    return NULL;
}

/*  Sends the same verification OTP_RACERS times at once, each from a
 *  client of its own, and returns how many were accepted; every answer
 *  must be OK, and every refusal must give want_reason. */
static inline int
otp_race (const secpol_test_daemon_t *daemon, const char *method, const ProtobufCMessage *request,
          const char *want_reason)
{
    pthread_barrier_t start;
    pthread_barrier_init (&start, NULL, OTP_RACERS);
    otp_racer_t racers[OTP_RACERS];
    pthread_t threads[OTP_RACERS];
    for (int i = 0; i < OTP_RACERS; i++) {
        racers[i] = (otp_racer_t){daemon->endpoint, method, request, &start, -1, false, ""};
        assert_int_equal (pthread_create (&threads[i], NULL, otp_racer, &racers[i]), 0);
    }
    for (int i = 0; i < OTP_RACERS; i++)
        pthread_join (threads[i], NULL);
    pthread_barrier_destroy (&start);
    int accepted = 0;
    for (int i = 0; i < OTP_RACERS; i++) {
        if (racers[i].code != SECPOL_OK)
            fail_msg ("racer %d: status %d", i, racers[i].code);
        if (racers[i].ok)
            accepted++;
        else if (strcmp (racers[i].reason, want_reason) != 0)
            fail_msg ("racer %d refused with %s, not %s", i, racers[i].reason, want_reason);
    }
    return accepted;
}

#endif
