/*  health.c - Health/Check and TestClockService/SetOffset: two services
 *  that own no table. */
#include "server.h"
#include "service.h"

#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

SECPOL_HANDLER (s_check, Secpol__V1__HealthCheckRequest, in, Secpol__V1__HealthCheckResponse, out)
{
    (void)in;
    out->status = SECPOL__V1__SERVING_STATUS__SERVING;
    out->version = SECPOL_VERSION;
    out->schema_version = secpol_store_schema (secpol_server_store (call->server));
    out->now = call->now;
    return SECPOL_OK;
}

/*  The clock is process state, not stored: a restart returns to real time. */
SECPOL_HANDLER (s_set_offset, Secpol__V1__SetOffsetRequest, in, Secpol__V1__SetOffsetResponse, out)
{
    /* Bound to +-100 years so that now + offset cannot overflow anywhere. */
    const int64_t limit = INT64_C (100) * 366 * 86400;
    if (in->offset_seconds > limit || in->offset_seconds < -limit) {
        secpol_call_violation (call, "offset_seconds", "must be within +-%lld seconds (100 years)",
                               (long long)limit);
        return secpol_call_check (call);
    }
    int64_t old = secpol_server_clock_offset (call->server);
    secpol_server_set_clock_offset (call->server, in->offset_seconds);
    out->now = call->now - old + in->offset_seconds;
    return SECPOL_OK;
}

static const secpol_method_spec_t s_health_methods[] = {
    {.method = "Check", .lane = SECPOL_LANE_READ, .role = SECPOL_ROLE_ANY, .handler = &s_check},
};
SECPOL_SERVICE_NO_TABLES (health, secpol__v1__health__descriptor, s_health_methods);

static const secpol_method_spec_t s_test_clock_methods[] = {
    {.method = "SetOffset",
     .lane = SECPOL_LANE_READ,
     .role = SECPOL_ROLE_ADMIN,
     .handler = &s_set_offset,
     .flags = SECPOL_METHOD_TEST_CLOCK},
};
SECPOL_SERVICE_NO_TABLES (test_clock, secpol__v1__test_clock_service__descriptor,
                          s_test_clock_methods);
