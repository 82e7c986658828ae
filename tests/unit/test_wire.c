/*  test_wire.c - wire protocol v1 header codec and request checks, against
 *  the real method table (no sockets). */
#include "wire.h"

#include "all_types.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static secpol_method_table_t *s_methods;
static const secpol_wire_policy_t s_admin = {.test_clock = false, .role = SECPOL_ROLE_ADMIN};

static int
s_setup (void **state)
{
    (void)state;
    secpol_test_all_types_init ();
    s_methods = secpol_method_table_default ();
    return s_methods ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    secpol_method_table_destroy (&s_methods);
    return 0;
}

static size_t
s_header (uint8_t *buf, const char *method, uint64_t call_id, uint32_t deadline_ms,
          const char *request_id)
{
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = (char *)method;
    header.call_id = call_id;
    header.deadline_ms = deadline_ms;
    header.request_id = (char *)request_id;
    return secpol__v1__request_header__pack (&header, buf);
}

static int
s_check (secpol_wire_request_t *out, char *reason, const secpol_wire_policy_t *policy,
         const void *header, size_t header_size, size_t body_size)
{
    static char body[70000];
    const void *frames[] = {"", header, body};
    size_t sizes[] = {0, header_size, body_size};
    return secpol_wire_check_request (out, reason, 256, s_methods, policy, 3, frames, sizes);
}

static void
test_valid_request_decodes_every_header_field (void **state)
{
    (void)state;
    uint8_t header[256];
    size_t size = s_header (header, "/secpol.v1.Health/Check", UINT64_MAX, 1500, "req-1");
    secpol_wire_request_t out;
    char reason[256];
    assert_int_equal (s_check (&out, reason, &s_admin, header, size, 0), SECPOL_OK);
    assert_int_equal (out.call_id, UINT64_MAX);
    assert_int_equal (out.deadline_ms, 1500);
    assert_string_equal (out.request_id, "req-1");
    assert_non_null (out.method);
    assert_string_equal (out.method->path, "/secpol.v1.Health/Check");
}

static void
test_refusals_name_the_problem_and_keep_call_id (void **state)
{
    (void)state;
    uint8_t header[256];
    secpol_wire_request_t out;
    char reason[256];
    size_t size = s_header (header, "/secpol.v1.Health/Nope", 77, 0, "");
    assert_int_equal (s_check (&out, reason, &s_admin, header, size, 0), SECPOL_UNIMPLEMENTED);
    assert_int_equal (out.call_id, 77);
    assert_null (out.method);
    assert_string_equal (reason, "unknown method /secpol.v1.Health/Nope");

    size = s_header (header, "", 78, 0, "");
    assert_int_equal (s_check (&out, reason, &s_admin, header, size, 0), SECPOL_INVALID_ARGUMENT);
    assert_int_equal (out.call_id, 78);

    /* TestClockService exists only under --test-clock */
    size = s_header (header, "/secpol.v1.TestClockService/SetOffset", 79, 0, "");
    assert_int_equal (s_check (&out, reason, &s_admin, header, size, 0), SECPOL_UNIMPLEMENTED);
    assert_non_null (strstr (reason, "--test-clock"));
    const secpol_wire_policy_t clock = {.test_clock = true, .role = SECPOL_ROLE_ADMIN};
    assert_int_equal (s_check (&out, reason, &clock, header, size, 0), SECPOL_OK);
    /* and it needs the admin role */
    const secpol_wire_policy_t service = {.test_clock = true, .role = SECPOL_ROLE_SERVICE};
    assert_int_equal (s_check (&out, reason, &service, header, size, 0), SECPOL_PERMISSION_DENIED);

    /* a body over the method's limit */
    size = s_header (header, "/secpol.v1.Health/Check", 80, 0, "");
    assert_int_equal (
        s_check (&out, reason, &s_admin, header, size, SECPOL_DEFAULT_MAX_REQUEST + 1),
        SECPOL_RESOURCE_EXHAUSTED);
    assert_int_equal (s_check (&out, reason, &s_admin, header, size, SECPOL_DEFAULT_MAX_REQUEST),
                      SECPOL_OK);
}

static void
test_framing_and_undecodable_header (void **state)
{
    (void)state;
    secpol_wire_request_t out;
    char reason[256];
    const void *frames[] = {"x", "y", "z", "w"};
    size_t sizes[] = {1, 1, 1, 1};
    assert_int_equal (secpol_wire_check_request (&out, reason, sizeof reason, s_methods, &s_admin,
                                                 1, frames, sizes),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (reason, "expected 3 frames (empty delimiter, RequestHeader, body), got 1");
    assert_int_equal (secpol_wire_check_request (&out, reason, sizeof reason, s_methods, &s_admin,
                                                 3, frames, sizes),
                      SECPOL_INVALID_ARGUMENT);
    assert_non_null (strstr (reason, "non-empty delimiter"));
    const uint8_t garbage[] = {0x12, 0x80}; /* truncated varint */
    assert_int_equal (s_check (&out, reason, &s_admin, garbage, sizeof garbage, 0),
                      SECPOL_INVALID_ARGUMENT);
    assert_int_equal (out.call_id, 0);
    assert_non_null (strstr (reason, "RequestHeader"));
    /* a header larger than the cap is refused without being decoded */
    static uint8_t big[SECPOL_MAX_HEADER_BYTES + 100];
    char method[SECPOL_MAX_HEADER_BYTES + 10];
    memset (method, 'a', sizeof method - 1);
    method[sizeof method - 1] = '\0';
    size_t size = s_header (big, method, 5, 0, "");
    assert_true (size > SECPOL_MAX_HEADER_BYTES);
    assert_int_equal (s_check (&out, reason, &s_admin, big, size, 0), SECPOL_INVALID_ARGUMENT);
}

static void
test_response_header_round_trip (void **state)
{
    (void)state;
    Secpol__V1__FieldViolation v1 = SECPOL__V1__FIELD_VIOLATION__INIT, v2 = v1;
    v1.field = "policy.hsts.max_age_days";
    v1.description = "must be at most 730";
    v2.field = "policy.referrer_policy";
    v2.description = "not a Referrer-Policy token";
    ProtobufCMessage *violations[] = {&v1.base, &v2.base};
    size_t size = secpol_wire_response_size (123456789, SECPOL_INVALID_ARGUMENT, "invalid fields",
                                             2, violations);
    uint8_t buf[512];
    assert_int_equal (
        secpol_wire_pack_response (buf, size - 1, 123456789, 3, "invalid fields", 2, violations),
        0); /* too small: refused, not overrun */
    assert_int_equal (secpol_wire_pack_response (buf, sizeof buf, 123456789,
                                                 SECPOL_INVALID_ARGUMENT, "invalid fields", 2,
                                                 violations),
                      size);
    Secpol__V1__ResponseHeader *header = secpol__v1__response_header__unpack (NULL, size, buf);
    assert_non_null (header);
    assert_int_equal (header->call_id, 123456789);
    assert_int_equal (header->code, SECPOL_INVALID_ARGUMENT);
    assert_string_equal (header->message, "invalid fields");
    assert_int_equal (header->n_violations, 2);
    assert_string_equal (header->violations[1]->field, "policy.referrer_policy");
    secpol__v1__response_header__free_unpacked (header, NULL);
}

static void
test_strings_must_be_clean_utf8_without_nul (void **state)
{
    (void)state;
    char field[128];
    const char *problem = NULL;
    /* field 1 (method) of RequestHeader, raw bytes as a hostile client sends them */
    const uint8_t nul[] = {0x0a, 0x05, 'a', '.', 0x00, 'x', 'e'};
    assert_false (secpol_wire_check_strings (&secpol__v1__request_header__descriptor, nul,
                                             sizeof nul, field, sizeof field, &problem));
    assert_string_equal (field, "method");
    assert_string_equal (problem, "contains a NUL byte");
    const uint8_t overlong[] = {0x0a, 0x02, 0xc0, 0xaf}; /* overlong '/' */
    assert_false (secpol_wire_check_strings (&secpol__v1__request_header__descriptor, overlong,
                                             sizeof overlong, field, sizeof field, &problem));
    assert_string_equal (problem, "is not valid UTF-8");
    const uint8_t surrogate[] = {0x22, 0x03, 0xed, 0xa0, 0x80}; /* request_id = U+D800 */
    assert_false (secpol_wire_check_strings (&secpol__v1__request_header__descriptor, surrogate,
                                             sizeof surrogate, field, sizeof field, &problem));
    assert_string_equal (field, "request_id");
    const uint8_t truncated[] = {0x22, 0x02, 0xe2, 0x82}; /* 3-byte sequence cut short */
    assert_false (secpol_wire_check_strings (&secpol__v1__request_header__descriptor, truncated,
                                             sizeof truncated, field, sizeof field, &problem));
    /* real UTF-8 passes: 2-, 3- and 4-byte sequences, beside varint fields */
    const char *good = "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92";
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = "/secpol.v1.Health/Check";
    header.call_id = 300;
    header.request_id = (char *)good;
    uint8_t buf[128];
    size_t size = secpol__v1__request_header__pack (&header, buf);
    assert_true (secpol_wire_check_strings (&secpol__v1__request_header__descriptor, buf, size,
                                            field, sizeof field, &problem));
    /* nested messages are walked, and the path names the inner field */
    Secpol__V1__FieldViolation violation = SECPOL__V1__FIELD_VIOLATION__INIT;
    violation.field = "ok";
    violation.description = "bad\x01";
    Secpol__V1__FieldViolation *list[] = {&violation};
    Secpol__V1__ResponseHeader response = SECPOL__V1__RESPONSE_HEADER__INIT;
    response.n_violations = 1;
    response.violations = list;
    size = secpol__v1__response_header__pack (&response, buf);
    assert_true (secpol_wire_check_strings (&secpol__v1__response_header__descriptor, buf, size,
                                            field, sizeof field, &problem));
    buf[size - 1] = 0x00; /* the last byte of description becomes NUL */
    assert_false (secpol_wire_check_strings (&secpol__v1__response_header__descriptor, buf, size,
                                             field, sizeof field, &problem));
    assert_string_equal (field, "violations.description");

    /* the front end refuses a header whose method hides a NUL */
    const uint8_t hidden[] = {0x0a, 0x19, '/', 's', 'e', 'c', 'p', 'o',  'l',
                              '.',  'v',  '1', '.', 'H', 'e', 'a', 'l',  't',
                              'h',  '/',  'C', 'h', 'e', 'c', 'k', 0x00, 'x'};
    secpol_wire_request_t out;
    char reason[256];
    assert_int_equal (s_check (&out, reason, &s_admin, hidden, sizeof hidden, 0),
                      SECPOL_INVALID_ARGUMENT);
    assert_string_equal (reason, "header.method contains a NUL byte");
}

/*  The body walker's verdict on size bytes of descriptor's type: NULL when
 *  it passes, else "<field> <problem>" (in a static buffer). */
static const char *
s_body_problem (const ProtobufCMessageDescriptor *descriptor, const uint8_t *body, size_t size)
{
    static char verdict[400];
    char field[256];
    const char *problem = NULL;
    if (secpol_wire_check_strings (descriptor, body, size, field, sizeof field, &problem))
        return NULL;
    snprintf (verdict, sizeof verdict, "%s %s", field, problem);
    return verdict;
}

/*  Packs message into a malloc'd buffer (caller frees); *size_p its size. */
static uint8_t *
s_pack (const ProtobufCMessage *message, size_t *size_p)
{
    *size_p = protobuf_c_message_get_packed_size (message);
    uint8_t *buf = malloc (*size_p + 1);
    assert_non_null (buf);
    protobuf_c_message_pack (message, buf);
    return buf;
}

/*  An UpdatePolicyRequest whose update_mask holds n copies of "x". */
static const char *
s_mask_problem (size_t n)
{
    char **paths = calloc (n, sizeof *paths);
    for (size_t k = 0; k < n; k++)
        paths[k] = "x";
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.workspace_id = "w1";
    request.n_update_mask = n;
    request.update_mask = paths;
    size_t size;
    uint8_t *body = s_pack (&request.base, &size);
    const char *verdict =
        s_body_problem (&secpol__v1__update_policy_request__descriptor, body, size);
    free (body);
    free (paths);
    return verdict;
}

static void
test_repeated_fields_hold_at_most_the_cap (void **state)
{
    (void)state;
    assert_null (s_mask_problem (SECPOL_MAX_REPEATED));
    assert_string_equal (s_mask_problem (SECPOL_MAX_REPEATED + 1),
                         "update_mask has more than 1024 entries");
    assert_string_equal (s_mask_problem (21000), "update_mask has more than 1024 entries");

    /* entries are counted per field, not per run: interleaving does not hide them */
    uint8_t interleaved[(SECPOL_MAX_REPEATED + 1) * 6];
    size_t size = 0;
    for (int k = 0; k <= SECPOL_MAX_REPEATED; k++) {
        const uint8_t pair[] = {0x22, 0x01, 'x', 0x0a, 0x01, 'w'}; /* update_mask, workspace_id */
        memcpy (interleaved + size, pair, sizeof pair);
        size += sizeof pair;
    }
    assert_string_equal (
        s_body_problem (&secpol__v1__update_policy_request__descriptor, interleaved, size),
        "update_mask has more than 1024 entries");

    /* nested lists are counted too, and named by their path */
    char **extensions = calloc (SECPOL_MAX_REPEATED + 1, sizeof *extensions);
    for (int k = 0; k <= SECPOL_MAX_REPEATED; k++)
        extensions[k] = "pdf";
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.n_allowed_file_extensions = SECPOL_MAX_REPEATED + 1;
    policy.allowed_file_extensions = extensions;
    Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
    request.policy = &policy;
    uint8_t *body = s_pack (&request.base, &size);
    assert_string_equal (
        s_body_problem (&secpol__v1__update_policy_request__descriptor, body, size),
        "policy.allowed_file_extensions has more than 1024 entries");
    free (body);
    policy.n_allowed_file_extensions = SECPOL_MAX_REPEATED;
    body = s_pack (&request.base, &size);
    assert_null (s_body_problem (&secpol__v1__update_policy_request__descriptor, body, size));
    free (body);
    free (extensions);
}

/*  Packed scalars count element by element: a varint of ten bytes is one
 *  entry, a double eight bytes; unpacked entries count one each. */
static void
test_packed_scalars_count_by_element (void **state)
{
    (void)state;
    int32_t numbers[SECPOL_MAX_REPEATED + 1];
    double reals[SECPOL_MAX_REPEATED + 1];
    for (int k = 0; k <= SECPOL_MAX_REPEATED; k++) {
        numbers[k] = -1 - k; /* ten bytes each as a varint */
        reals[k] = k;
    }
    all_types_t all;
    memset (&all, 0, sizeof all);
    protobuf_c_message_init (&secpol_test_all_types_descriptor, &all);
    all.n_numbers = SECPOL_MAX_REPEATED;
    all.numbers = numbers;
    all.n_reals = SECPOL_MAX_REPEATED;
    all.reals = reals;
    size_t size;
    uint8_t *body = s_pack (&all.base, &size);
    assert_true (size > 10 * SECPOL_MAX_REPEATED); /* packed varints of ten bytes */
    assert_null (s_body_problem (&secpol_test_all_types_descriptor, body, size));
    free (body);
    all.n_numbers = SECPOL_MAX_REPEATED + 1;
    body = s_pack (&all.base, &size);
    assert_string_equal (s_body_problem (&secpol_test_all_types_descriptor, body, size),
                         "numbers has more than 1024 entries");
    free (body);
    all.n_numbers = 0;
    all.n_reals = SECPOL_MAX_REPEATED + 1;
    body = s_pack (&all.base, &size);
    assert_string_equal (s_body_problem (&secpol_test_all_types_descriptor, body, size),
                         "reals has more than 1024 entries");
    free (body);

    /* the same list unpacked (one tag per entry), and split over two packed runs */
    uint8_t unpacked[(SECPOL_MAX_REPEATED + 1) * 3];
    for (int k = 0; k <= SECPOL_MAX_REPEATED; k++) {
        unpacked[3 * k] = 0xa8; /* numbers (21), varint: tag in two bytes */
        unpacked[3 * k + 1] = 0x01;
        unpacked[3 * k + 2] = 7;
    }
    assert_null (s_body_problem (&secpol_test_all_types_descriptor, unpacked, sizeof unpacked - 3));
    assert_string_equal (
        s_body_problem (&secpol_test_all_types_descriptor, unpacked, sizeof unpacked),
        "numbers has more than 1024 entries");
    uint8_t runs[2 * (4 + 513)];
    for (int r = 0; r < 2; r++) {
        uint8_t *run = runs + r * (4 + 513);
        run[0] = 0xaa; /* numbers (21), length-delimited: a packed run */
        run[1] = 0x01;
        run[2] = 0x81; /* length 513 */
        run[3] = 0x04;
        memset (run + 4, 1, 513);
    }
    assert_null (s_body_problem (&secpol_test_all_types_descriptor, runs, sizeof runs / 2));
    assert_string_equal (s_body_problem (&secpol_test_all_types_descriptor, runs, sizeof runs),
                         "numbers has more than 1024 entries");
}

/*  A singular message field sent twice would make protobuf-c merge the
 *  copies, copying every list inside again for each: refused. A repeated
 *  message field's entries are separate messages, each with its own lists. */
static void
test_a_message_field_sent_twice_is_refused (void **state)
{
    (void)state;
    /* policy { allowed_file_extensions: "a" }, twice */
    const uint8_t twice[] = {0x1a, 0x04, 0xb2, 0x03, 0x01, 'a', 0x1a, 0x04, 0xb2, 0x03, 0x01, 'a'};
    assert_null (
        s_body_problem (&secpol__v1__update_policy_request__descriptor, twice, sizeof twice / 2));
    assert_string_equal (
        s_body_problem (&secpol__v1__update_policy_request__descriptor, twice, sizeof twice),
        "policy appears more than once (a message field is sent once)");
    /* all_types: lockout (17, singular) twice is refused, lockouts (23, repeated) is fine */
    const uint8_t singular[] = {0x8a, 0x01, 0x00, 0x8a, 0x01, 0x00};
    assert_string_equal (
        s_body_problem (&secpol_test_all_types_descriptor, singular, sizeof singular),
        "lockout appears more than once (a message field is sent once)");
    const uint8_t repeated[] = {0xba, 0x01, 0x00, 0xba, 0x01, 0x00, 0xba, 0x01, 0x00};
    assert_null (s_body_problem (&secpol_test_all_types_descriptor, repeated, sizeof repeated));
}

static void
test_status_names (void **state)
{
    (void)state;
    assert_string_equal (secpol_status_name (SECPOL_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
    assert_string_equal (secpol_status_name (16), "UNAUTHENTICATED");
    assert_string_equal (secpol_status_name (99), "UNKNOWN");
    assert_int_equal (secpol_status_from_name ("ABORTED"), SECPOL_ABORTED);
    assert_int_equal (secpol_status_from_name ("nope"), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_valid_request_decodes_every_header_field),
        cmocka_unit_test (test_refusals_name_the_problem_and_keep_call_id),
        cmocka_unit_test (test_framing_and_undecodable_header),
        cmocka_unit_test (test_response_header_round_trip),
        cmocka_unit_test (test_strings_must_be_clean_utf8_without_nul),
        cmocka_unit_test (test_repeated_fields_hold_at_most_the_cap),
        cmocka_unit_test (test_packed_scalars_count_by_element),
        cmocka_unit_test (test_a_message_field_sent_twice_is_refused),
        cmocka_unit_test (test_status_names),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
