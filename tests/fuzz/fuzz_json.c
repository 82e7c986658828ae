/*  fuzz_json.c - the JSON <-> protobuf mapping secpolctl uses
 *  (clients/cli/json_pb.h), on arbitrary JSON text, and on arbitrary
 *  protobuf bytes: secpolctl prints whatever response a server sends.
 *
 *  The text is parsed as each message type of the contract (every method's
 *  request and response, RequestHeader, ResponseHeader, the stored
 *  PolicyLevel) and as a message with every field kind the contract does
 *  not use yet (signed and fixed integers, float, double, bytes, proto3
 *  optional, oneof, repeated numbers), described here as protoc-c would.
 *  The error buffer is as small as the input's length says (0-79 bytes), so
 *  that ASan sees any write past it. The same input is also unpacked as each
 *  of those types and, when protobuf-c takes it, printed as JSON.
 *
 *  Invariants (abort when broken):
 *  - a refusal leaves no message and, with room for it, says why;
 *  - an accepted text round-trips: message -> JSON text -> message packs to
 *    the same bytes, prints the same JSON again, and the message protobuf-c
 *    unpacks from those bytes prints the same JSON too (but for a -0.0,
 *    which protobuf-c does not pack);
 *  - any message protobuf-c unpacks prints as JSON (strings that are not
 *    UTF-8 with U+FFFD) that parses back and prints the same, unless it holds
 *    an enum number without a name, which JSON input refuses by design.
 */
#include "fuzz_support.h"

#include "json_pb.h"

#include "secpol/secpol_registry.h"
#include "secpol/store/v1/policy_level.pb-c.h"
#include "secpol/v1/policy.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define MAX_TYPES 64

/* --- a message with every field kind (as in tests/unit/test_json_pb.c) ---------------- */

typedef struct {
    ProtobufCMessage base;
    int32_t i32;
    int64_t i64;
    uint32_t u32;
    uint64_t u64;
    int32_t s32;
    int64_t s64;
    uint32_t fx32;
    uint64_t fx64;
    int32_t sf32;
    int64_t sf64;
    float float_value;
    double double_value;
    protobuf_c_boolean flag;
    int level;
    char *text;
    ProtobufCBinaryData blob;
    Secpol__V1__LockoutSettings *lockout;
    protobuf_c_boolean has_maybe_count;
    int32_t maybe_count;
    uint32_t choice_case;
    union {
        char *choice_text;
        int32_t choice_number;
    };
    size_t n_numbers;
    int32_t *numbers;
    size_t n_blobs;
    ProtobufCBinaryData *blobs;
    size_t n_lockouts;
    Secpol__V1__LockoutSettings **lockouts;
    size_t n_levels;
    int *levels;
    size_t n_reals;
    double *reals;
    size_t n_words;
    char **words;
    char *maybe_text;
} all_types_t;

#define S_FIELD(name_, id_, label_, type_, quantifier_, member_, descriptor_, default_, flags_)    \
    {                                                                                              \
        name_, id_, PROTOBUF_C_LABEL_##label_, PROTOBUF_C_TYPE_##type_, quantifier_,               \
            offsetof (all_types_t, member_), descriptor_, default_, flags_, 0, NULL, NULL          \
    }
#define S_SCALAR(name, id, type, member) S_FIELD (name, id, NONE, type, 0, member, NULL, NULL, 0)
#define S_REPEATED(name, id, type, member, descriptor, flags)                                      \
    S_FIELD (name, id, REPEATED, type, offsetof (all_types_t, n_##member), member, descriptor,     \
             NULL, flags)

static const ProtobufCFieldDescriptor s_all_fields[] = {
    S_SCALAR ("i32", 1, INT32, i32),
    S_SCALAR ("i64", 2, INT64, i64),
    S_SCALAR ("u32", 3, UINT32, u32),
    S_SCALAR ("u64", 4, UINT64, u64),
    S_SCALAR ("s32", 5, SINT32, s32),
    S_SCALAR ("s64", 6, SINT64, s64),
    S_SCALAR ("fx32", 7, FIXED32, fx32),
    S_SCALAR ("fx64", 8, FIXED64, fx64),
    S_SCALAR ("sf32", 9, SFIXED32, sf32),
    S_SCALAR ("sf64", 10, SFIXED64, sf64),
    S_SCALAR ("float_value", 11, FLOAT, float_value),
    S_SCALAR ("double_value", 12, DOUBLE, double_value),
    S_SCALAR ("flag", 13, BOOL, flag),
    S_FIELD ("level", 14, NONE, ENUM, 0, level, &secpol__v1__password_policy_level__descriptor,
             NULL, 0),
    S_FIELD ("text", 15, NONE, STRING, 0, text, NULL, &protobuf_c_empty_string, 0),
    S_SCALAR ("blob", 16, BYTES, blob),
    S_FIELD ("lockout", 17, NONE, MESSAGE, 0, lockout, &secpol__v1__lockout_settings__descriptor,
             NULL, 0),
    S_FIELD ("maybe_count", 18, OPTIONAL, INT32, offsetof (all_types_t, has_maybe_count),
             maybe_count, NULL, NULL, 0),
    S_FIELD ("choice_text", 19, NONE, STRING, offsetof (all_types_t, choice_case), choice_text,
             NULL, &protobuf_c_empty_string, PROTOBUF_C_FIELD_FLAG_ONEOF),
    S_FIELD ("choice_number", 20, NONE, INT32, offsetof (all_types_t, choice_case), choice_number,
             NULL, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF),
    S_REPEATED ("numbers", 21, INT32, numbers, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED ("blobs", 22, BYTES, blobs, NULL, 0),
    S_REPEATED ("lockouts", 23, MESSAGE, lockouts, &secpol__v1__lockout_settings__descriptor, 0),
    S_REPEATED ("levels", 24, ENUM, levels, &secpol__v1__password_policy_level__descriptor,
                PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED ("reals", 25, DOUBLE, reals, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED ("words", 26, STRING, words, NULL, 0),
    S_FIELD ("maybe_text", 27, OPTIONAL, STRING, 0, maybe_text, NULL, NULL, 0),
};
#define S_N_FIELDS (sizeof s_all_fields / sizeof s_all_fields[0])

static unsigned s_all_by_name[S_N_FIELDS];
static const ProtobufCMessageDescriptor s_all_descriptor;
static const ProtobufCIntRange s_all_ranges[] = {{1, 0}, {0, S_N_FIELDS}};

static void
s_all_init (ProtobufCMessage *message)
{
    static const all_types_t init = {
        .base = PROTOBUF_C_MESSAGE_INIT (NULL),
        .text = (char *)protobuf_c_empty_string,
    };
    all_types_t *all = (all_types_t *)message;
    *all = init;
    all->base.descriptor = &s_all_descriptor;
}

static const ProtobufCMessageDescriptor s_all_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "secpol.test.AllTypes",
    "AllTypes",
    "Secpol__Test__AllTypes",
    "secpol.test",
    sizeof (all_types_t),
    S_N_FIELDS,
    s_all_fields,
    s_all_by_name,
    1,
    s_all_ranges,
    s_all_init,
    NULL,
    NULL,
    NULL,
};

/* --- the target ------------------------------------------------------------------------- */

static const ProtobufCMessageDescriptor *s_types[MAX_TYPES];
static size_t s_n_types;

static void s_add_type (const ProtobufCMessageDescriptor *descriptor);
static int s_by_name (const void *a, const void *b);
static void s_round_trip (const ProtobufCMessage *message, const char *input);
static void s_print (const ProtobufCMessage *message);
static uint8_t *s_pack (const ProtobufCMessage *message, size_t *size_p);
static bool s_has_negative_zero (const ProtobufCMessage *message);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (unsigned i = 0; i < S_N_FIELDS; i++)
        s_all_by_name[i] = i;
    qsort (s_all_by_name, S_N_FIELDS, sizeof s_all_by_name[0], s_by_name);
    s_add_type (&s_all_descriptor);
    s_add_type (&secpol__v1__request_header__descriptor);
    s_add_type (&secpol__v1__response_header__descriptor);
    s_add_type (&secpol__store__v1__policy_level__descriptor);
    for (size_t s = 0; s < secpol_services_count; s++)
        for (unsigned m = 0; m < secpol_services[s]->n_methods; m++) {
            s_add_type (secpol_services[s]->methods[m].input);
            s_add_type (secpol_services[s]->methods[m].output);
        }
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    memcpy (text, data, size);
    text[size] = '\0';
    size_t error_size = size % 80;
    char *error = error_size ? malloc (error_size) : NULL;
    for (size_t t = 0; t < s_n_types; t++) {
        ProtobufCMessage *message = (ProtobufCMessage *)text; /* must be reset */
        if (error)
            memset (error, 'x', error_size);
        int rc = secpol_json_parse_message (&message, error, error_size, s_types[t], text);
        if (rc != 0) {
            FUZZ_REQUIRE (rc == -1 && !message, "refused with %d and a message", rc);
            if (error)
                FUZZ_REQUIRE (memchr (error, 0, error_size), "error not terminated");
            if (error_size >= 2)
                FUZZ_REQUIRE (*error, "refused as %s without a reason", s_types[t]->name);
            continue;
        }
        FUZZ_REQUIRE (message && message->descriptor == s_types[t], "accepted without a %s",
                      s_types[t]->name);
        s_round_trip (message, text);
        protobuf_c_message_free_unpacked (message, NULL);
    }
    for (size_t t = 0; t < s_n_types; t++) {
        ProtobufCMessage *message = protobuf_c_message_unpack (s_types[t], NULL, size, data);
        if (message) {
            s_print (message);
            protobuf_c_message_free_unpacked (message, NULL);
        }
    }
    free (error);
    free (text);
    return 0;
}

static void
s_round_trip (const ProtobufCMessage *message, const char *input)
{
    const char *type = message->descriptor->name;
    size_t size;
    uint8_t *packed = s_pack (message, &size);
    char *json = secpol_json_dumps_message (message, 0);
    FUZZ_REQUIRE (json, "%s does not print", type);

    ProtobufCMessage *again = NULL;
    char error[512];
    int rc = secpol_json_parse_message (&again, error, sizeof error, message->descriptor, json);
    FUZZ_REQUIRE (rc == 0, "%s: its own JSON %s is refused: %s", type, json, error);
    size_t again_size;
    uint8_t *again_packed = s_pack (again, &again_size);
    FUZZ_REQUIRE (again_size == size && memcmp (packed, again_packed, size) == 0,
                  "%s: %s -> %s packs differently (%zu / %zu bytes)", type, input, json, size,
                  again_size);
    char *json_again = secpol_json_dumps_message (again, 0);
    FUZZ_REQUIRE (json_again && strcmp (json, json_again) == 0, "%s prints %s, then %s", type, json,
                  json_again);

    ProtobufCMessage *unpacked =
        protobuf_c_message_unpack (message->descriptor, NULL, size, packed);
    FUZZ_REQUIRE (unpacked, "%s: packed bytes do not unpack", type);
    char *json_unpacked = secpol_json_dumps_message (unpacked, 0);
    FUZZ_REQUIRE (json_unpacked &&
                      (strcmp (json, json_unpacked) == 0 || s_has_negative_zero (message)),
                  "%s prints %s, unpacked %s", type, json, json_unpacked);

    free (json_unpacked);
    protobuf_c_message_free_unpacked (unpacked, NULL);
    free (json_again);
    free (again_packed);
    protobuf_c_message_free_unpacked (again, NULL);
    free (json);
    free (packed);
}

/*  What secpolctl does with a response: print it. */
static void
s_print (const ProtobufCMessage *message)
{
    const char *type = message->descriptor->name;
    char *json = secpol_json_dumps_message (message, JSON_INDENT (2));
    FUZZ_REQUIRE (json, "a %s from protobuf-c does not print", type);
    ProtobufCMessage *again = NULL;
    char error[512];
    int rc = secpol_json_parse_message (&again, error, sizeof error, message->descriptor, json);
    if (rc != 0) {
        FUZZ_REQUIRE (strstr (error, " is not a value of "), "%s prints %s, which is refused: %s",
                      type, json, error);
        free (json);
        return;
    }
    char *json_again = secpol_json_dumps_message (again, JSON_INDENT (2));
    FUZZ_REQUIRE (json_again && strcmp (json, json_again) == 0, "%s prints %s, then %s", type, json,
                  json_again);
    free (json_again);
    protobuf_c_message_free_unpacked (again, NULL);
    free (json);
}

static uint8_t *
s_pack (const ProtobufCMessage *message, size_t *size_p)
{
    *size_p = protobuf_c_message_get_packed_size (message);
    uint8_t *packed = malloc (*size_p + 1);
    FUZZ_REQUIRE (protobuf_c_message_pack (message, packed) == *size_p, "pack");
    return packed;
}

/*  True when a singular (proto3) float or double field of message, at any
 *  depth, holds -0.0. protobuf-c leaves a field equal to 0 out of the wire
 *  form, and -0.0 == 0, so -0.0 comes back as 0.0: protobuf-c's way, not the
 *  JSON mapping's (the contract has no float field yet). */
static bool
s_has_negative_zero (const ProtobufCMessage *message)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const char *base = (const char *)message;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        const void *member = base + field->offset;
        if (field->label != PROTOBUF_C_LABEL_NONE)
            continue;
        if (field->type == PROTOBUF_C_TYPE_FLOAT && *(const float *)member == 0 &&
            signbit (*(const float *)member))
            return true;
        if (field->type == PROTOBUF_C_TYPE_DOUBLE && *(const double *)member == 0 &&
            signbit (*(const double *)member))
            return true;
        if (field->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage *const *)member &&
            s_has_negative_zero (*(ProtobufCMessage *const *)member))
            return true;
    }
    return false;
}

static void
s_add_type (const ProtobufCMessageDescriptor *descriptor)
{
    for (size_t t = 0; t < s_n_types; t++)
        if (s_types[t] == descriptor)
            return;
    if (s_n_types == MAX_TYPES)
        abort ();
    s_types[s_n_types++] = descriptor;
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (s_all_fields[*(const unsigned *)a].name,
                   s_all_fields[*(const unsigned *)b].name);
}
