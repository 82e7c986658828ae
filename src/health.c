/*  health.c - Health/Check and TestClockService/SetOffset. */
#include "server.h"
#include "services.h"

#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

static int
s_check (secpol_call_t *call, const ProtobufCMessage *request, ProtobufCMessage *response)
{
    (void)request;
    Secpol__V1__HealthCheckResponse *out = (Secpol__V1__HealthCheckResponse *)response;
    out->status = SECPOL__V1__SERVING_STATUS__SERVING;
    out->version = SECPOL_VERSION;
    out->schema_version = secpol_store_schema (secpol_server_store (call->server));
    out->now = call->now;
    return SECPOL_OK;
}

/*  The clock is process state, not stored: a restart returns to real time. */
static int
s_set_offset (secpol_call_t *call, const ProtobufCMessage *request, ProtobufCMessage *response)
{
    const Secpol__V1__SetOffsetRequest *in = (const Secpol__V1__SetOffsetRequest *)request;
    /* Bound to +-100 years so that now + offset cannot overflow anywhere. */
    const int64_t limit = INT64_C (100) * 366 * 86400;
    if (in->offset_seconds > limit || in->offset_seconds < -limit) {
        secpol_call_violation (call, "offset_seconds", "must be within +-%lld seconds (100 years)",
                               (long long)limit);
        return secpol_call_check (call);
    }
    int64_t old = secpol_server_clock_offset (call->server);
    secpol_server_set_clock_offset (call->server, in->offset_seconds);
    ((Secpol__V1__SetOffsetResponse *)response)->now = call->now - old + in->offset_seconds;
    return SECPOL_OK;
}

const secpol_method_spec_t secpol_health_methods[] = {
    {&secpol__v1__health__descriptor, "Check", SECPOL_LANE_READ, SECPOL_ROLE_ANY, s_check, NULL, 0,
     0},
};
const size_t secpol_health_methods_count =
    sizeof secpol_health_methods / sizeof secpol_health_methods[0];

const secpol_method_spec_t secpol_test_clock_methods[] = {
    {&secpol__v1__test_clock_service__descriptor, "SetOffset", SECPOL_LANE_READ, SECPOL_ROLE_ADMIN,
     s_set_offset, NULL, 0, SECPOL_METHOD_TEST_CLOCK},
};
const size_t secpol_test_clock_methods_count =
    sizeof secpol_test_clock_methods / sizeof secpol_test_clock_methods[0];
