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

#include "all_types.h"

#define MAX_TYPES 256 /* every message of the contract; it grows with each service */

/* --- the target ------------------------------------------------------------------------- */

static const ProtobufCMessageDescriptor *s_types[MAX_TYPES];
static size_t s_n_types;

static void s_add_type (const ProtobufCMessageDescriptor *descriptor);
static void s_round_trip (const ProtobufCMessage *message, const char *input);
static void s_print (const ProtobufCMessage *message);
static uint8_t *s_pack (const ProtobufCMessage *message, size_t *size_p);
static bool s_has_negative_zero (const ProtobufCMessage *message);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    secpol_test_all_types_init ();
    s_add_type (&secpol_test_all_types_descriptor);
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
