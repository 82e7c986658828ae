/*  test_json_pb.c - JSON <-> protobuf mapping (clients/cli/json_pb.h).
 *
 *  Uses the real generated messages (secpol.v1.Policy: uint32, uint64,
 *  bool, enum, string, nested messages, repeated strings; RequestHeader:
 *  uint64) and, for the field kinds the contract does not use yet (signed
 *  and fixed integers, float, double, bytes, proto3 optional, oneof,
 *  repeated numbers, bytes and messages), a message descriptor written out
 *  here the way protoc-c writes one. Round trips also go through the wire
 *  format (pack, unpack) so the message built from JSON is a real one.
 */
#include "json_pb.h"

#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"
#include "secpol/v1/test_clock.pb-c.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "all_types.h"

static int
s_setup (void **state)
{
    (void)state;
    secpol_test_all_types_init ();
    return 0;
}

//  --------------------------------------------------------------------------
//  Helpers

//  Parses text into a message of descriptor; fails the test on error.
static ProtobufCMessage *
s_parse_ok (const ProtobufCMessageDescriptor *descriptor, const char *text)
{
    ProtobufCMessage *message = NULL;
    char error[512];
    int rc = secpol_json_parse_message (&message, error, sizeof error, descriptor, text);
    if (rc != 0)
        fail_msg ("%s: %s", text, error);
    assert_non_null (message);
    return message;
}

//  Parses text, which must fail; returns the error (static buffer).
static const char *
s_parse_error (const ProtobufCMessageDescriptor *descriptor, const char *text)
{
    static char error[512];
    ProtobufCMessage *message = (ProtobufCMessage *)&error; //  must be reset to NULL
    assert_int_equal (secpol_json_parse_message (&message, error, sizeof error, descriptor, text),
                      -1);
    assert_null (message);
    assert_true (strlen (error) > 0);
    return error;
}

static void
s_assert_contains (const char *text, const char *part)
{
    if (!strstr (text, part))
        fail_msg ("\"%s\" does not contain \"%s\"", text, part);
}

//  Packs message, unpacks the bytes as a fresh message of the same type.
static ProtobufCMessage *
s_wire_copy (const ProtobufCMessage *message)
{
    size_t size = protobuf_c_message_get_packed_size (message);
    uint8_t *buf = malloc (size + 1);
    assert_int_equal (protobuf_c_message_pack (message, buf), size);
    ProtobufCMessage *copy = protobuf_c_message_unpack (message->descriptor, NULL, size, buf);
    free (buf);
    assert_non_null (copy);
    return copy;
}

static void
s_assert_same_wire (const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t size_a = protobuf_c_message_get_packed_size (a);
    size_t size_b = protobuf_c_message_get_packed_size (b);
    assert_int_equal (size_a, size_b);
    uint8_t *buf_a = malloc (size_a + 1), *buf_b = malloc (size_b + 1);
    protobuf_c_message_pack (a, buf_a);
    protobuf_c_message_pack (b, buf_b);
    assert_memory_equal (buf_a, buf_b, size_a);
    free (buf_a);
    free (buf_b);
}

//  --------------------------------------------------------------------------
//  Policy: the contract's own message

static void
test_policy_round_trip_keeps_every_value (void **state)
{
    (void)state;
    Secpol__V1__LockoutSettings login = SECPOL__V1__LOCKOUT_SETTINGS__INIT;
    login.max_failures = 5;
    login.window_minutes = 15;
    login.lock_minutes = 30;
    Secpol__V1__HstsSettings hsts = SECPOL__V1__HSTS_SETTINGS__INIT;
    hsts.enabled = 1;
    hsts.max_age_days = 365;
    char *extensions[] = {"pdf", "png", "docx"};
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    policy.password_policy = SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH;
    policy.allow_concurrent_login = 1;
    policy.session_timeout_minutes = 4294967295u;
    policy.login_lockout = &login;
    policy.hsts = &hsts;
    policy.force_password_reset = UINT64_MAX;
    policy.version = 42;
    policy.updated_at = -1;
    policy.referrer_policy = "no-referrer";
    policy.n_allowed_file_extensions = 3;
    policy.allowed_file_extensions = extensions;

    json_t *json = secpol_json_from_message (&policy.base);
    assert_non_null (json);
    assert_string_equal (json_string_value (json_object_get (json, "password_policy")),
                         "PASSWORD_POLICY_LEVEL_HIGH");
    assert_true (json_is_true (json_object_get (json, "allow_concurrent_login")));
    assert_int_equal (json_integer_value (json_object_get (json, "session_timeout_minutes")),
                      4294967295u);
    assert_int_equal (json_integer_value (json_object_get (json_object_get (json, "login_lockout"),
                                                           "lock_minutes")),
                      30);
    //  Above 2^53: a string, so no JSON reader rounds it.
    assert_string_equal (json_string_value (json_object_get (json, "force_password_reset")),
                         "18446744073709551615");
    assert_int_equal (json_integer_value (json_object_get (json, "version")), 42);
    assert_int_equal (json_integer_value (json_object_get (json, "updated_at")), -1);
    assert_string_equal (json_string_value (json_object_get (json, "referrer_policy")),
                         "no-referrer");
    json_t *list = json_object_get (json, "allowed_file_extensions");
    assert_int_equal (json_array_size (list), 3);
    assert_string_equal (json_string_value (json_array_get (list, 2)), "docx");
    //  Unset sub-messages are null; unset strings are "".
    assert_true (json_is_null (json_object_get (json, "claim_lockout")));
    assert_string_equal (json_string_value (json_object_get (json, "expect_ct")), "");

    ProtobufCMessage *back = NULL;
    char error[256];
    assert_int_equal (
        secpol_json_to_message (&back, error, sizeof error, &secpol__v1__policy__descriptor, json),
        0);
    s_assert_same_wire (&policy.base, back);
    protobuf_c_message_free_unpacked (back, NULL);
    json_decref (json);
}

static void
test_output_prints_every_field_including_zero_values (void **state)
{
    (void)state;
    Secpol__V1__Policy policy = SECPOL__V1__POLICY__INIT;
    json_t *json = secpol_json_from_message (&policy.base);
    assert_int_equal (json_object_size (json), secpol__v1__policy__descriptor.n_fields);
    for (unsigned i = 0; i < secpol__v1__policy__descriptor.n_fields; i++)
        assert_non_null (json_object_get (json, secpol__v1__policy__descriptor.fields[i].name));
    assert_int_equal (json_integer_value (json_object_get (json, "session_timeout_minutes")), 0);
    assert_true (json_is_false (json_object_get (json, "captcha_enabled")));
    assert_string_equal (json_string_value (json_object_get (json, "password_policy")),
                         "PASSWORD_POLICY_LEVEL_UNSPECIFIED");
    assert_int_equal (json_array_size (json_object_get (json, "allowed_file_extensions")), 0);
    json_decref (json);

    //  Keys keep the .proto order, and the text form is what secpolctl prints.
    char *text = secpol_json_dumps_message (&policy.base, 0);
    assert_non_null (text);
    assert_true (strncmp (text, "{\"password_policy\": ", 20) == 0);
    free (text);
}

static void
test_input_accepts_lower_camel_case_and_proto_names (void **state)
{
    (void)state;
    Secpol__V1__UpdatePolicyRequest *request = (Secpol__V1__UpdatePolicyRequest *)s_parse_ok (
        &secpol__v1__update_policy_request__descriptor,
        "{\"workspaceId\": \"w1\", \"community_id\": \"c1\", \"expectedVersion\": 7,"
        " \"updateMask\": [\"login_lockout.max_failures\"],"
        " \"policy\": {\"loginLockout\": {\"maxFailures\": 5, \"lock_minutes\": 10},"
        "              \"allowedFileExtensions\": [\"pdf\"], \"hsts\": {\"maxAgeDays\": 1}}}");
    assert_string_equal (request->workspace_id, "w1");
    assert_string_equal (request->community_id, "c1");
    assert_int_equal (request->expected_version, 7);
    assert_int_equal (request->n_update_mask, 1);
    assert_string_equal (request->update_mask[0], "login_lockout.max_failures");
    assert_int_equal (request->policy->login_lockout->max_failures, 5);
    assert_int_equal (request->policy->login_lockout->lock_minutes, 10);
    assert_int_equal (request->policy->n_allowed_file_extensions, 1);
    assert_string_equal (request->policy->allowed_file_extensions[0], "pdf");
    assert_int_equal (request->policy->hsts->max_age_days, 1);
    //  Not given: defaults.
    assert_null (request->policy->claim_lockout);
    assert_string_equal (request->actor, "");
    protobuf_c_message_free_unpacked (&request->base, NULL);

    Secpol__V1__SetOffsetRequest *offset = (Secpol__V1__SetOffsetRequest *)s_parse_ok (
        &secpol__v1__set_offset_request__descriptor, "{\"offsetSeconds\": -3600}");
    assert_int_equal (offset->offset_seconds, -3600);
    protobuf_c_message_free_unpacked (&offset->base, NULL);

    char camel[64];
    assert_int_equal (secpol_json_camel_name (camel, sizeof camel, "max_age_days"), 10);
    assert_string_equal (camel, "maxAgeDays");
    assert_int_equal (secpol_json_camel_name (camel, 4, "max_age_days"), 10);
    assert_string_equal (camel, "max");
}

static void
test_unknown_field_is_named_with_its_path (void **state)
{
    (void)state;
    const char *error = s_parse_error (&secpol__v1__update_policy_request__descriptor,
                                       "{\"policy\": {\"login_lockout\": {\"max_failurez\": 1}}}");
    s_assert_contains (error, "policy.login_lockout.max_failurez");
    s_assert_contains (error, "unknown field");
    s_assert_contains (error, "secpol.v1.LockoutSettings");

    error = s_parse_error (&secpol__v1__get_policy_request__descriptor, "{\"workspace\": \"w\"}");
    s_assert_contains (error, "workspace: unknown field");
}

static void
test_wrong_types_are_refused_naming_the_field (void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *policy = &secpol__v1__policy__descriptor;
    s_assert_contains (s_parse_error (policy, "{\"session_timeout_minutes\": \"abc\"}"),
                       "session_timeout_minutes: expected an integer");
    s_assert_contains (s_parse_error (policy, "{\"session_timeout_minutes\": 1.5}"),
                       "session_timeout_minutes: expected an integer");
    s_assert_contains (s_parse_error (policy, "{\"allow_concurrent_login\": 1}"),
                       "allow_concurrent_login: expected true or false, got an integer");
    s_assert_contains (s_parse_error (policy, "{\"referrer_policy\": 5}"),
                       "referrer_policy: expected a string");
    s_assert_contains (s_parse_error (policy, "{\"allowed_file_extensions\": \"pdf\"}"),
                       "allowed_file_extensions: expected a JSON array, got a string");
    s_assert_contains (s_parse_error (policy, "{\"allowed_file_extensions\": [\"pdf\", 1]}"),
                       "allowed_file_extensions[1]: expected a string");
    s_assert_contains (s_parse_error (policy, "{\"hsts\": true}"),
                       "hsts: expected a JSON object (secpol.v1.HstsSettings), got true");
    s_assert_contains (s_parse_error (policy, "[1, 2]"),
                       "expected a JSON object for secpol.v1.Policy, got an array");
    s_assert_contains (s_parse_error (policy, "{\"hsts\": {\"enabled\": true"),
                       "invalid JSON at line 1");
    s_assert_contains (
        s_parse_error (policy, "{\"captchaEnabled\": true, \"captcha_enabled\": true}"),
        "captcha_enabled: given twice");
}

static void
test_integers_out_of_range_are_refused (void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *policy = &secpol__v1__policy__descriptor;
    s_assert_contains (s_parse_error (policy, "{\"session_timeout_minutes\": 4294967296}"),
                       "session_timeout_minutes: 4294967296 is out of range for uint32");
    s_assert_contains (s_parse_error (policy, "{\"login_lockout\": {\"max_failures\": -1}}"),
                       "login_lockout.max_failures: -1 is out of range for uint32");
    s_assert_contains (s_parse_error (policy, "{\"version\": -1}"),
                       "version: -1 is out of range for uint64");
    s_assert_contains (s_parse_error (policy, "{\"version\": \"18446744073709551616\"}"),
                       "out of range for uint64");
    s_assert_contains (s_parse_error (policy, "{\"updated_at\": \"9223372036854775808\"}"),
                       "updated_at: 9223372036854775808 is out of range for int64");
    s_assert_contains (s_parse_error (policy, "{\"version\": \"12abc\"}"),
                       "version: expected an integer");

    Secpol__V1__Policy *ok = (Secpol__V1__Policy *)s_parse_ok (
        policy,
        "{\"session_timeout_minutes\": 4294967295, \"updated_at\": \"-9223372036854775808\","
        " \"version\": 3.0}");
    assert_int_equal (ok->session_timeout_minutes, 4294967295u);
    assert_true (ok->updated_at == INT64_MIN);
    assert_int_equal (ok->version, 3);
    protobuf_c_message_free_unpacked (&ok->base, NULL);
}

static void
test_uint64_prints_as_number_up_to_2_pow_53_then_as_string (void **state)
{
    (void)state;
    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = "/secpol.v1.Health/Check";
    header.call_id = 9007199254740992ull; // 2^53
    json_t *json = secpol_json_from_message (&header.base);
    assert_true (json_is_integer (json_object_get (json, "call_id")));
    assert_int_equal (json_integer_value (json_object_get (json, "call_id")), 9007199254740992ull);
    json_decref (json);

    header.call_id = 9007199254740993ull;
    json = secpol_json_from_message (&header.base);
    assert_string_equal (json_string_value (json_object_get (json, "call_id")), "9007199254740993");
    json_decref (json);

    Secpol__V1__RequestHeader *parsed = (Secpol__V1__RequestHeader *)s_parse_ok (
        &secpol__v1__request_header__descriptor,
        "{\"callId\": \"18446744073709551615\", \"deadline_ms\": 250, \"method\": \"/x/y\"}");
    assert_true (parsed->call_id == UINT64_MAX);
    assert_int_equal (parsed->deadline_ms, 250);
    assert_string_equal (parsed->method, "/x/y");
    protobuf_c_message_free_unpacked (&parsed->base, NULL);
}

static void
test_enums_by_full_name_short_name_or_number (void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *policy = &secpol__v1__policy__descriptor;
    const char *inputs[] = {"\"PASSWORD_POLICY_LEVEL_MEDIUM\"", "\"medium\"", "\"MEDIUM\"", "2"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char text[128];
        snprintf (text, sizeof text, "{\"passwordPolicy\": %s}", inputs[i]);
        Secpol__V1__Policy *parsed = (Secpol__V1__Policy *)s_parse_ok (policy, text);
        assert_int_equal (parsed->password_policy,
                          SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_MEDIUM);
        protobuf_c_message_free_unpacked (&parsed->base, NULL);
    }
    const char *error = s_parse_error (policy, "{\"password_policy\": \"EXTREME\"}");
    s_assert_contains (error,
                       "password_policy: \"EXTREME\" is not a secpol.v1.PasswordPolicyLevel");
    s_assert_contains (error, "PASSWORD_POLICY_LEVEL_HIGH");
    s_assert_contains (s_parse_error (policy, "{\"password_policy\": 99}"),
                       "password_policy: 99 is not a value of secpol.v1.PasswordPolicyLevel");
    s_assert_contains (s_parse_error (policy, "{\"password_policy\": true}"),
                       "password_policy: expected an enum name or number");

    //  A value the descriptor does not name prints as its number.
    Secpol__V1__Policy unnamed = SECPOL__V1__POLICY__INIT;
    unnamed.password_policy = (Secpol__V1__PasswordPolicyLevel)7;
    json_t *json = secpol_json_from_message (&unnamed.base);
    assert_int_equal (json_integer_value (json_object_get (json, "password_policy")), 7);
    json_decref (json);
}

static void
test_null_and_empty_input_mean_defaults (void **state)
{
    (void)state;
    Secpol__V1__Policy *parsed = (Secpol__V1__Policy *)s_parse_ok (
        &secpol__v1__policy__descriptor,
        "{\"hsts\": null, \"referrer_policy\": null, \"allowed_file_extensions\": null,"
        " \"version\": null}");
    assert_null (parsed->hsts);
    assert_string_equal (parsed->referrer_policy, "");
    assert_int_equal (parsed->n_allowed_file_extensions, 0);
    protobuf_c_message_free_unpacked (&parsed->base, NULL);

    const char *empties[] = {"", "  \n", "{}", "null"};
    for (size_t i = 0; i < 4; i++) {
        ProtobufCMessage *message =
            s_parse_ok (&secpol__v1__get_policy_request__descriptor, empties[i]);
        assert_int_equal (protobuf_c_message_get_packed_size (message), 0);
        protobuf_c_message_free_unpacked (message, NULL);
    }
}

//  --------------------------------------------------------------------------
//  Every other field kind

static void
test_every_field_kind_round_trips (void **state)
{
    (void)state;
    const char *text =
        "{\"i32\": -2147483648, \"i64\": \"-9223372036854775808\", \"u32\": 4294967295,"
        " \"u64\": \"18446744073709551615\", \"s32\": -5, \"s64\": -9007199254740992,"
        " \"fx32\": 7, \"fx64\": 8, \"sf32\": -9, \"sf64\": -10,"
        " \"floatValue\": 0.5, \"double_value\": -6.103515625e-05, \"flag\": true, \"level\": "
        "\"HIGH\","
        " \"text\": \"h\\u00e9llo\", \"blob\": \"AAECA/8=\","
        " \"lockout\": {\"maxFailures\": 3}, \"maybe_count\": 0, \"choiceNumber\": 12,"
        " \"numbers\": [1, -2, 3], \"blobs\": [\"\", \"_-8\", \"QQ\"],"
        " \"lockouts\": [{\"lock_minutes\": 1}, null, {}],"
        " \"levels\": [\"LOW\", 3], \"reals\": [\"NaN\", \"-Infinity\", 2.5],"
        " \"words\": [\"a\", \"\"]}";
    all_types_t *all = (all_types_t *)s_parse_ok (&secpol_test_all_types_descriptor, text);
    assert_int_equal (all->i32, INT32_MIN);
    assert_true (all->i64 == INT64_MIN);
    assert_int_equal (all->u32, UINT32_MAX);
    assert_true (all->u64 == UINT64_MAX);
    assert_int_equal (all->s32, -5);
    assert_true (all->s64 == -9007199254740992ll);
    assert_int_equal (all->fx32, 7);
    assert_int_equal (all->fx64, 8);
    assert_int_equal (all->sf32, -9);
    assert_int_equal (all->sf64, -10);
    assert_true (all->float_value == 0.5f);
    assert_true (all->double_value == -6.103515625e-05);
    assert_true (all->flag);
    assert_int_equal (all->level, SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH);
    assert_string_equal (all->text, "h\xc3\xa9llo");
    assert_int_equal (all->blob.len, 5);
    assert_memory_equal (all->blob.data, "\x00\x01\x02\x03\xff", 5);
    assert_int_equal (all->lockout->max_failures, 3);
    assert_true (all->has_maybe_count); //  given, even though 0
    assert_int_equal (all->maybe_count, 0);
    assert_int_equal (all->choice_case, 20);
    assert_int_equal (all->choice_number, 12);
    assert_int_equal (all->n_numbers, 3);
    assert_int_equal (all->numbers[1], -2);
    assert_int_equal (all->n_blobs, 3);
    assert_int_equal (all->blobs[0].len, 0);
    assert_int_equal (all->blobs[1].len, 2); //  URL-safe alphabet, no padding
    assert_memory_equal (all->blobs[1].data, "\xff\xef", 2);
    assert_int_equal (all->blobs[2].len, 1);
    assert_int_equal (all->blobs[2].data[0], 'A');
    assert_int_equal (all->n_lockouts, 3);
    assert_int_equal (all->lockouts[0]->lock_minutes, 1);
    assert_non_null (all->lockouts[1]); //  null element: an empty message
    assert_int_equal (all->n_levels, 2);
    assert_int_equal (all->levels[0], SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_LOW);
    assert_int_equal (all->levels[1],
                      SECPOL__V1__PASSWORD_POLICY_LEVEL__PASSWORD_POLICY_LEVEL_HIGH);
    assert_true (isnan (all->reals[0]));
    assert_true (isinf (all->reals[1]) && all->reals[1] < 0);
    assert_int_equal (all->n_words, 2);
    assert_string_equal (all->words[1], "");

    //  Through the wire and back to JSON: the same values, printed canonically.
    ProtobufCMessage *copy = s_wire_copy (&all->base);
    json_t *json = secpol_json_from_message (copy);
    char *printed = json_dumps (json, JSON_COMPACT);
    const char *expected =
        "{\"i32\":-2147483648,\"i64\":\"-9223372036854775808\",\"u32\":4294967295,"
        "\"u64\":\"18446744073709551615\",\"s32\":-5,\"s64\":-9007199254740992,"
        "\"fx32\":7,\"fx64\":8,\"sf32\":-9,\"sf64\":-10,"
        "\"float_value\":0.5,\"double_value\":-6.103515625e-5,\"flag\":true,"
        "\"level\":\"PASSWORD_POLICY_LEVEL_HIGH\",\"text\":\"h\xc3\xa9llo\",\"blob\":\"AAECA/8=\","
        "\"lockout\":{\"max_failures\":3,\"window_minutes\":0,\"lock_minutes\":0},"
        "\"maybe_count\":0,\"choice_number\":12,\"numbers\":[1,-2,3],"
        "\"blobs\":[\"\",\"/+8=\",\"QQ==\"],"
        "\"lockouts\":[{\"max_failures\":0,\"window_minutes\":0,\"lock_minutes\":1},"
        "{\"max_failures\":0,\"window_minutes\":0,\"lock_minutes\":0},"
        "{\"max_failures\":0,\"window_minutes\":0,\"lock_minutes\":0}],"
        "\"levels\":[\"PASSWORD_POLICY_LEVEL_LOW\",\"PASSWORD_POLICY_LEVEL_HIGH\"],"
        "\"reals\":[\"NaN\",\"-Infinity\",2.5],\"words\":[\"a\",\"\"],\"maybe_text\":null}";
    assert_string_equal (printed, expected);

    //  And the printed JSON parses back to the same wire bytes.
    ProtobufCMessage *again = s_parse_ok (&secpol_test_all_types_descriptor, printed);
    s_assert_same_wire (&all->base, again);
    free (printed);
    json_decref (json);
    protobuf_c_message_free_unpacked (again, NULL);
    protobuf_c_message_free_unpacked (copy, NULL);
    protobuf_c_message_free_unpacked (&all->base, NULL);
}

static void
test_optional_and_oneof_presence (void **state)
{
    (void)state;
    //  Not given: optional prints null, no oneof member prints at all.
    all_types_t *all =
        (all_types_t *)s_parse_ok (&secpol_test_all_types_descriptor, "{\"choice_text\": \"x\"}");
    assert_false (all->has_maybe_count);
    json_t *json = secpol_json_from_message (&all->base);
    assert_true (json_is_null (json_object_get (json, "maybe_count")));
    assert_string_equal (json_string_value (json_object_get (json, "choice_text")), "x");
    assert_null (json_object_get (json, "choice_number"));
    assert_true (json_is_null (json_object_get (json, "maybe_text")));
    json_decref (json);
    protobuf_c_message_free_unpacked (&all->base, NULL);

    //  Given, even empty or zero: present, and so through the wire.
    all = (all_types_t *)s_parse_ok (&secpol_test_all_types_descriptor,
                                     "{\"maybeText\": \"\", \"maybeCount\": 0}");
    ProtobufCMessage *copy = s_wire_copy (&all->base);
    json = secpol_json_from_message (copy);
    assert_string_equal (json_string_value (json_object_get (json, "maybe_text")), "");
    assert_true (json_is_integer (json_object_get (json, "maybe_count")));
    json_decref (json);
    protobuf_c_message_free_unpacked (copy, NULL);
    protobuf_c_message_free_unpacked (&all->base, NULL);

    all = (all_types_t *)s_parse_ok (&secpol_test_all_types_descriptor, "{}");
    json = secpol_json_from_message (&all->base);
    assert_null (json_object_get (json, "choice_text"));
    assert_null (json_object_get (json, "choice_number"));
    json_decref (json);
    protobuf_c_message_free_unpacked (&all->base, NULL);

    s_assert_contains (s_parse_error (&secpol_test_all_types_descriptor,
                                      "{\"choice_text\": \"x\", \"choiceNumber\": 1}"),
                       "choice_number: is in a oneof with \"choice_text\"");
}

static void
test_bad_values_of_other_kinds (void **state)
{
    (void)state;
    s_assert_contains (
        s_parse_error (&secpol_test_all_types_descriptor, "{\"blob\": \"not base64!\"}"),
        "blob: not valid base64");
    s_assert_contains (
        s_parse_error (&secpol_test_all_types_descriptor, "{\"blobs\": [\"QQ==\", 5]}"),
        "blobs[1]: expected a base64 string");
    s_assert_contains (s_parse_error (&secpol_test_all_types_descriptor, "{\"float_value\": 1e39}"),
                       "float_value: 1e+39 is out of range for a float");
    s_assert_contains (
        s_parse_error (&secpol_test_all_types_descriptor, "{\"double_value\": \"1.5\"}"),
        "double_value: expected a number");
    s_assert_contains (s_parse_error (&secpol_test_all_types_descriptor, "{\"i32\": 2147483648}"),
                       "i32: 2147483648 is out of range for int32");
    s_assert_contains (
        s_parse_error (&secpol_test_all_types_descriptor, "{\"numbers\": [1, null]}"),
        "numbers[1]: null is not allowed");
    s_assert_contains (
        s_parse_error (&secpol_test_all_types_descriptor, "{\"lockouts\": [{\"nope\": 1}]}"),
        "lockouts[0].nope: unknown field");
    s_assert_contains (
        s_parse_error (&secpol_test_all_types_descriptor, "{\"text\": \"a\\u0000b\"}"),
        "invalid JSON"); //  jansson refuses NUL in strings
}

static void
test_invalid_utf8_is_replaced_on_output (void **state)
{
    (void)state;
    Secpol__V1__FieldChange change = SECPOL__V1__FIELD_CHANGE__INIT;
    change.field = "bad\xff\xfe"
                   "end";
    change.old_value = "\xe2\x82"; //  cut multi-byte sequence
    change.new_value = "ok \xe2\x82\xac";
    json_t *json = secpol_json_from_message (&change.base);
    assert_non_null (json);
    assert_string_equal (json_string_value (json_object_get (json, "field")),
                         "bad\xef\xbf\xbd\xef\xbf\xbd"
                         "end");
    assert_string_equal (json_string_value (json_object_get (json, "old_value")),
                         "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal (json_string_value (json_object_get (json, "new_value")),
                         "ok \xe2\x82\xac");
    json_decref (json);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_policy_round_trip_keeps_every_value),
        cmocka_unit_test (test_output_prints_every_field_including_zero_values),
        cmocka_unit_test (test_input_accepts_lower_camel_case_and_proto_names),
        cmocka_unit_test (test_unknown_field_is_named_with_its_path),
        cmocka_unit_test (test_wrong_types_are_refused_naming_the_field),
        cmocka_unit_test (test_integers_out_of_range_are_refused),
        cmocka_unit_test (test_uint64_prints_as_number_up_to_2_pow_53_then_as_string),
        cmocka_unit_test (test_enums_by_full_name_short_name_or_number),
        cmocka_unit_test (test_null_and_empty_input_mean_defaults),
        cmocka_unit_test (test_every_field_kind_round_trips),
        cmocka_unit_test (test_optional_and_oneof_presence),
        cmocka_unit_test (test_bad_values_of_other_kinds),
        cmocka_unit_test (test_invalid_utf8_is_replaced_on_output),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
