/*  json_pb.c - JSON <-> protobuf through protobuf-c descriptors; see json_pb.h. */
#include "json_pb.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Integers with a magnitude up to 2^53 are exact in an IEEE double. */
#define S_EXACT_MAX 9007199254740992LL
#define S_PATH_MAX  512

/*  Where a value being converted sits, for error messages. */
typedef struct {
    char text[S_PATH_MAX]; /* "policy.login_lockout.max_failures", "" at the root */
} s_path_t;

/*  Error sink of one conversion. */
typedef struct {
    char *buf;   /* caller's buffer; may be NULL */
    size_t size; /* its size */
} s_error_t;

static json_t *s_message_to_json (const ProtobufCMessage *message);
static json_t *s_value_to_json (const ProtobufCFieldDescriptor *field, const void *member);
static json_t *s_string_json (const char *text);
static json_t *s_int64_json (int64_t value);
static json_t *s_uint64_json (uint64_t value);
static json_t *s_double_json (double value);
static json_t *s_bytes_json (const ProtobufCBinaryData *bytes);
static size_t s_element_size (ProtobufCType type);
static bool s_present (const ProtobufCFieldDescriptor *field, const char *base);
static int s_object_to_message (ProtobufCMessage **message_p, s_error_t *error,
                                const s_path_t *path, const ProtobufCMessageDescriptor *descriptor,
                                const json_t *json);
static int s_field_from_json (ProtobufCMessage *message, s_error_t *error, const s_path_t *path,
                              const ProtobufCFieldDescriptor *field, const json_t *json);
static int s_value_from_json (void *member, s_error_t *error, const s_path_t *path,
                              const ProtobufCFieldDescriptor *field, const json_t *json);
static int s_integer_from_json (int64_t *value_p, s_error_t *error, const s_path_t *path,
                                const json_t *json, int64_t min, int64_t max, const char *type);
static int s_uint64_from_json (uint64_t *value_p, s_error_t *error, const s_path_t *path,
                               const json_t *json);
static int s_double_from_json (double *value_p, s_error_t *error, const s_path_t *path,
                               const json_t *json);
static int s_enum_from_json (int *value_p, s_error_t *error, const s_path_t *path,
                             const ProtobufCEnumDescriptor *descriptor, const json_t *json);
static int s_bytes_from_json (ProtobufCBinaryData *bytes, s_error_t *error, const s_path_t *path,
                              const json_t *json);
static void s_free_value (const ProtobufCFieldDescriptor *field, void *member);
static const ProtobufCFieldDescriptor *s_find_field (const ProtobufCMessageDescriptor *descriptor,
                                                     const char *key);
static int s_fail (s_error_t *error, const s_path_t *path, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static const char *s_kind (const json_t *json);
static void s_path_field (s_path_t *out, const s_path_t *parent, const char *name);
static void s_path_index (s_path_t *out, const s_path_t *parent, size_t index);

//  --------------------------------------------------------------------------
//  Message -> JSON

json_t *
secpol_json_from_message (const ProtobufCMessage *message)
{
    if (!message || !message->descriptor)
        return NULL;
    return s_message_to_json (message);
}

char *
secpol_json_dumps_message (const ProtobufCMessage *message, size_t flags)
{
    json_t *json = secpol_json_from_message (message);
    if (!json)
        return NULL;
    char *text = json_dumps (json, flags);
    json_decref (json);
    return text;
}

static json_t *
s_message_to_json (const ProtobufCMessage *message)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const char *base = (const char *)message;
    json_t *object = json_object ();
    if (!object)
        return NULL;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        const void *member = base + field->offset;
        json_t *value = NULL;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            //  Only the member the oneof holds.
            if (*(const uint32_t *)(base + field->quantifier_offset) != field->id)
                continue;
            value = s_value_to_json (field, member);
        } else if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + field->quantifier_offset);
            const char *array = *(const char *const *)member;
            size_t step = s_element_size (field->type);
            value = json_array ();
            for (size_t j = 0; value && array && j < count; j++) {
                json_t *element = s_value_to_json (field, array + j * step);
                if (!element || json_array_append_new (value, element) != 0) {
                    json_decref (value);
                    value = NULL;
                }
            }
        } else if (field->label == PROTOBUF_C_LABEL_OPTIONAL && !s_present (field, base))
            value = json_null (); //  proto3 `optional` (or proto2) not set
        else
            value = s_value_to_json (field, member);
        if (!value || json_object_set_new (object, field->name, value) != 0) {
            json_decref (object);
            return NULL;
        }
    }
    return object;
}

//  One value of a field; member points at it (for a repeated field, at
//  one element of the array).
static json_t *
s_value_to_json (const ProtobufCFieldDescriptor *field, const void *member)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
            return json_integer (*(const int32_t *)member);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            return json_integer (*(const uint32_t *)member);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
            return s_int64_json (*(const int64_t *)member);
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            return s_uint64_json (*(const uint64_t *)member);
        case PROTOBUF_C_TYPE_FLOAT:
            return s_double_json (*(const float *)member);
        case PROTOBUF_C_TYPE_DOUBLE:
            return s_double_json (*(const double *)member);
        case PROTOBUF_C_TYPE_BOOL:
            return json_boolean (*(const protobuf_c_boolean *)member);
        case PROTOBUF_C_TYPE_ENUM: {
            int value = *(const int *)member;
            const ProtobufCEnumValue *named = protobuf_c_enum_descriptor_get_value (
                (const ProtobufCEnumDescriptor *)field->descriptor, value);
            return named ? json_string (named->name) : json_integer (value);
        }
        case PROTOBUF_C_TYPE_STRING:
            return s_string_json (*(const char *const *)member);
        case PROTOBUF_C_TYPE_BYTES:
            return s_bytes_json ((const ProtobufCBinaryData *)member);
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
            return sub ? s_message_to_json (sub) : json_null ();
        }
    }
    return NULL;
}

static json_t *
s_int64_json (int64_t value)
{
    if (value >= -S_EXACT_MAX && value <= S_EXACT_MAX)
        return json_integer ((json_int_t)value);
    char text[24];
    snprintf (text, sizeof text, "%" PRId64, value);
    return json_string (text);
}

static json_t *
s_uint64_json (uint64_t value)
{
    if (value <= (uint64_t)S_EXACT_MAX)
        return json_integer ((json_int_t)value);
    char text[24];
    snprintf (text, sizeof text, "%" PRIu64, value);
    return json_string (text);
}

static json_t *
s_double_json (double value)
{
    if (isnan (value))
        return json_string ("NaN");
    if (isinf (value))
        return json_string (value > 0 ? "Infinity" : "-Infinity");
    return json_real (value);
}

static json_t *
s_bytes_json (const ProtobufCBinaryData *bytes)
{
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    size_t size = sodium_base64_ENCODED_LEN (bytes->len, variant);
    char *text = (char *)malloc (size);
    if (!text)
        return NULL;
    sodium_bin2base64 (text, size, bytes->data ? bytes->data : (const unsigned char *)"",
                       bytes->len, variant);
    json_t *json = json_string (text);
    free (text);
    return json;
}

//  The length (1 to 4) of the UTF-8 sequence at in (length bytes left) and
//  its code point, or 0 when it is not valid UTF-8 (overlong forms,
//  surrogates, beyond U+10FFFF, truncated, a stray continuation byte).
static size_t
s_utf8_next (const unsigned char *in, size_t length, uint32_t *code_point)
{
    unsigned char lead = in[0];
    size_t n = lead < 0x80                    ? 1
               : lead >= 0xC2 && lead <= 0xDF ? 2
               : lead >= 0xE0 && lead <= 0xEF ? 3
               : lead >= 0xF0 && lead <= 0xF4 ? 4
                                              : 0;
    bool valid = n > 0 && n <= length;
    for (size_t k = 1; valid && k < n; k++)
        valid = (in[k] & 0xC0) == 0x80;
    if (valid && n == 3) //  no overlong forms, no surrogates
        valid = !(lead == 0xE0 && in[1] < 0xA0) && !(lead == 0xED && in[1] >= 0xA0);
    if (valid && n == 4) //  no overlong forms, nothing above U+10FFFF
        valid = !(lead == 0xF0 && in[1] < 0x90) && !(lead == 0xF4 && in[1] >= 0x90);
    if (!valid)
        return 0;
    static const unsigned char lead_bits[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t value = lead & lead_bits[n];
    for (size_t k = 1; k < n; k++)
        value = (value << 6) | (in[k] & 0x3F);
    *code_point = value;
    return n;
}

//  A JSON string of text, with every byte that is not part of valid UTF-8
//  replaced by U+FFFD, since jansson (and JSON) carries only UTF-8.
static json_t *
s_string_json (const char *text)
{
    if (!text)
        text = "";
    json_t *json = json_string (text);
    if (json)
        return json;
    size_t length = strlen (text);
    char *clean = (char *)malloc (length * 3 + 1);
    if (!clean)
        return NULL;
    const unsigned char *in = (const unsigned char *)text;
    size_t out = 0;
    for (size_t i = 0; i < length;) {
        uint32_t code_point;
        size_t n = s_utf8_next (in + i, length - i, &code_point);
        if (n) {
            memcpy (clean + out, in + i, n);
            out += n;
            i += n;
        } else {
            memcpy (clean + out, "\xEF\xBF\xBD", 3);
            out += 3;
            i++;
        }
    }
    clean[out] = '\0';
    json = json_string (clean);
    free (clean);
    return json;
}

//  True for the code points secpol_json_escape_text writes as \uHHHH: C1
//  controls, the line and paragraph separators and bidirectional controls.
static bool
s_escape_as_code_point (uint32_t c)
{
    return (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029 || c == 0x061C || c == 0x200E ||
           c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *
secpol_json_escape_text (const char *text, bool quote)
{
    if (!text)
        text = "";
    size_t length = strlen (text);
    //  the worst case: \xHH for every byte, or \uHHHH for three; two quotes
    char *escaped = (char *)malloc (4 * length + 3);
    if (!escaped)
        return NULL;
    const unsigned char *in = (const unsigned char *)text;
    char *out = escaped;
    if (quote)
        *out++ = '"';
    for (size_t i = 0; i < length;) {
        uint32_t c = 0;
        size_t n = s_utf8_next (in + i, length - i, &c);
        if (n == 0) {
            out += sprintf (out, "\\x%02x", in[i]);
            i++;
            continue;
        }
        if (c == '\\' || (quote && c == '"')) {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c == '\n')
            out = stpcpy (out, "\\n");
        else if (c == '\r')
            out = stpcpy (out, "\\r");
        else if (c == '\t')
            out = stpcpy (out, "\\t");
        else if (c < 0x20 || c == 0x7F)
            out += sprintf (out, "\\x%02x", (unsigned)c);
        else if (s_escape_as_code_point (c))
            out += sprintf (out, "\\u%04x", (unsigned)c);
        else {
            memcpy (out, in + i, n);
            out += n;
        }
        i += n;
    }
    if (quote)
        *out++ = '"';
    *out = '\0';
    return escaped;
}

//  Whether an optional field is set: strings and messages by a non-NULL
//  pointer, every other type by its has_ flag.
static bool
s_present (const ProtobufCFieldDescriptor *field, const char *base)
{
    if (field->type == PROTOBUF_C_TYPE_STRING || field->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(const void *const *)(base + field->offset) != NULL;
    return *(const protobuf_c_boolean *)(base + field->quantifier_offset);
}

static size_t
s_element_size (ProtobufCType type)
{
    switch (type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            return sizeof (int32_t);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            return sizeof (int64_t);
        case PROTOBUF_C_TYPE_FLOAT:
            return sizeof (float);
        case PROTOBUF_C_TYPE_DOUBLE:
            return sizeof (double);
        case PROTOBUF_C_TYPE_BOOL:
            return sizeof (protobuf_c_boolean);
        case PROTOBUF_C_TYPE_ENUM:
            return sizeof (int);
        case PROTOBUF_C_TYPE_STRING:
            return sizeof (char *);
        case PROTOBUF_C_TYPE_BYTES:
            return sizeof (ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE:
            return sizeof (ProtobufCMessage *);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  JSON -> message

int
secpol_json_to_message (ProtobufCMessage **message_p, char *error, size_t error_size,
                        const ProtobufCMessageDescriptor *descriptor, const json_t *json)
{
    s_error_t sink = {error, error_size};
    s_path_t root = {""};
    if (error && error_size)
        error[0] = '\0';
    *message_p = NULL;
    if (!descriptor)
        return s_fail (&sink, &root, "no message type");
    return s_object_to_message (message_p, &sink, &root, descriptor, json);
}

int
secpol_json_parse_message (ProtobufCMessage **message_p, char *error, size_t error_size,
                           const ProtobufCMessageDescriptor *descriptor, const char *text)
{
    *message_p = NULL;
    const char *p = text ? text : "";
    while (isspace ((unsigned char)*p))
        p++;
    if (!*p)
        return secpol_json_to_message (message_p, error, error_size, descriptor, NULL);
    json_error_t parse_error;
    json_t *json = json_loads (p, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &parse_error);
    if (!json) {
        if (error && error_size)
            snprintf (error, error_size, "invalid JSON at line %d, column %d: %s", parse_error.line,
                      parse_error.column, parse_error.text);
        return -1;
    }
    int rc = secpol_json_to_message (message_p, error, error_size, descriptor, json);
    json_decref (json);
    return rc;
}

size_t
secpol_json_camel_name (char *buf, size_t size, const char *proto_name)
{
    size_t length = 0;
    bool upper = false;
    for (const char *p = proto_name; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        char c = upper ? (char)toupper ((unsigned char)*p) : *p;
        upper = false;
        if (length + 1 < size)
            buf[length] = c;
        length++;
    }
    if (size)
        buf[length < size ? length : size - 1] = '\0';
    return length;
}

static int
s_object_to_message (ProtobufCMessage **message_p, s_error_t *error, const s_path_t *path,
                     const ProtobufCMessageDescriptor *descriptor, const json_t *json)
{
    *message_p = NULL;
    if (json && !json_is_null (json) && !json_is_object (json)) {
        if (path->text[0])
            return s_fail (error, path, "expected a JSON object (%s), got %s", descriptor->name,
                           s_kind (json));
        return s_fail (error, path, "expected a JSON object for %s, got %s", descriptor->name,
                       s_kind (json));
    }
    ProtobufCMessage *message = (ProtobufCMessage *)malloc (descriptor->sizeof_message);
    const char **given = (const char **)calloc (descriptor->n_fields + 1, sizeof (char *));
    if (!message || !given) {
        free (message);
        free (given);
        return s_fail (error, path, "out of memory");
    }
    protobuf_c_message_init (descriptor, message);

    int rc = 0;
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *)json, key, value)
    {
        s_path_t field_path;
        s_path_field (&field_path, path, key);
        const ProtobufCFieldDescriptor *field = s_find_field (descriptor, key);
        if (!field) {
            rc = s_fail (error, &field_path, "unknown field (%s has no field \"%s\")",
                         descriptor->name, key);
            break;
        }
        s_path_field (&field_path, path, field->name);
        size_t index = (size_t)(field - descriptor->fields);
        if (given[index]) {
            rc = s_fail (error, &field_path, "given twice (as \"%s\" and \"%s\")", given[index],
                         key);
            break;
        }
        given[index] = key;
        rc = s_field_from_json (message, error, &field_path, field, value);
        if (rc != 0)
            break;
    }
    free (given);
    if (rc != 0) {
        protobuf_c_message_free_unpacked (message, NULL);
        return rc;
    }
    *message_p = message;
    return 0;
}

//  Sets one field of message from json (never null here for scalars).
static int
s_field_from_json (ProtobufCMessage *message, s_error_t *error, const s_path_t *path,
                   const ProtobufCFieldDescriptor *field, const json_t *json)
{
    char *base = (char *)message;
    void *member = base + field->offset;
    if (json_is_null (json))
        return 0; //  default value

    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!json_is_array (json))
            return s_fail (error, path, "expected a JSON array, got %s", s_kind (json));
        size_t count = json_array_size (json);
        size_t step = s_element_size (field->type);
        char *array = count ? (char *)calloc (count, step) : NULL;
        if (count && !array)
            return s_fail (error, path, "out of memory");
        size_t *count_p = (size_t *)(base + field->quantifier_offset);
        *(char **)member = array;
        *count_p = 0;
        for (size_t i = 0; i < count; i++) {
            s_path_t element_path;
            s_path_index (&element_path, path, i);
            const json_t *element = json_array_get (json, i);
            if (json_is_null (element) && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                //  A repeated message element cannot be absent: take {}.
                element = NULL;
            } else if (json_is_null (element))
                return s_fail (error, &element_path, "null is not allowed in a list");
            if (s_value_from_json (array + i * step, error, &element_path, field, element) != 0)
                return -1;
            (*count_p)++; //  counted once complete, for free_unpacked on error
        }
        return 0;
    }

    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *case_p = (uint32_t *)(base + field->quantifier_offset);
        if (*case_p != 0 && *case_p != field->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field (message->descriptor, *case_p);
            return s_fail (error, path, "is in a oneof with \"%s\", which is already given",
                           other ? other->name : "?");
        }
        if (s_value_from_json (member, error, path, field, json) != 0)
            return -1;
        *case_p = field->id;
        return 0;
    }

    //  Replace the default, which is static or NULL.
    if (s_value_from_json (member, error, path, field, json) != 0)
        return -1;
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->type != PROTOBUF_C_TYPE_STRING &&
        field->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + field->quantifier_offset) = 1;
    return 0;
}

//  Converts one value into member (one element for a repeated field). On
//  failure member is left as it was, or holds nothing that needs freeing.
static int
s_value_from_json (void *member, s_error_t *error, const s_path_t *path,
                   const ProtobufCFieldDescriptor *field, const json_t *json)
{
    int64_t integer = 0;
    uint64_t unsigned64 = 0;
    double real = 0;
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
            if (s_integer_from_json (&integer, error, path, json, INT32_MIN, INT32_MAX, "int32"))
                return -1;
            *(int32_t *)member = (int32_t)integer;
            return 0;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            if (s_integer_from_json (&integer, error, path, json, 0, UINT32_MAX, "uint32"))
                return -1;
            *(uint32_t *)member = (uint32_t)integer;
            return 0;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
            if (s_integer_from_json (&integer, error, path, json, INT64_MIN, INT64_MAX, "int64"))
                return -1;
            *(int64_t *)member = integer;
            return 0;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            if (s_uint64_from_json (&unsigned64, error, path, json))
                return -1;
            *(uint64_t *)member = unsigned64;
            return 0;
        case PROTOBUF_C_TYPE_FLOAT:
            if (s_double_from_json (&real, error, path, json))
                return -1;
            if (isfinite (real) && fabs (real) > FLT_MAX)
                return s_fail (error, path, "%g is out of range for a float", real);
            *(float *)member = (float)real;
            return 0;
        case PROTOBUF_C_TYPE_DOUBLE:
            if (s_double_from_json (&real, error, path, json))
                return -1;
            *(double *)member = real;
            return 0;
        case PROTOBUF_C_TYPE_BOOL:
            if (!json_is_boolean (json))
                return s_fail (error, path, "expected true or false, got %s", s_kind (json));
            *(protobuf_c_boolean *)member = json_is_true (json);
            return 0;
        case PROTOBUF_C_TYPE_ENUM:
            return s_enum_from_json ((int *)member, error, path,
                                     (const ProtobufCEnumDescriptor *)field->descriptor, json);
        case PROTOBUF_C_TYPE_STRING: {
            if (!json_is_string (json))
                return s_fail (error, path, "expected a string, got %s", s_kind (json));
            size_t length = json_string_length (json);
            if (strlen (json_string_value (json)) != length)
                return s_fail (error, path, "contains a NUL character");
            char *copy = strdup (json_string_value (json));
            if (!copy)
                return s_fail (error, path, "out of memory");
            s_free_value (field, member);
            *(char **)member = copy;
            return 0;
        }
        case PROTOBUF_C_TYPE_BYTES:
            return s_bytes_from_json ((ProtobufCBinaryData *)member, error, path, json);
        case PROTOBUF_C_TYPE_MESSAGE: {
            ProtobufCMessage *sub = NULL;
            if (s_object_to_message (&sub, error, path,
                                     (const ProtobufCMessageDescriptor *)field->descriptor, json))
                return -1;
            s_free_value (field, member);
            *(ProtobufCMessage **)member = sub;
            return 0;
        }
    }
    return s_fail (error, path, "unsupported field type %d", (int)field->type);
}

//  Frees what a string, bytes or message member holds, unless it is the
//  field's static default.
static void
s_free_value (const ProtobufCFieldDescriptor *field, void *member)
{
    if (field->type == PROTOBUF_C_TYPE_STRING) {
        char *text = *(char **)member;
        if (text && text != (const char *)field->default_value && text != protobuf_c_empty_string)
            free (text);
        *(char **)member = NULL;
    } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        protobuf_c_message_free_unpacked (*(ProtobufCMessage **)member, NULL);
        *(ProtobufCMessage **)member = NULL;
    }
}

static int
s_integer_from_json (int64_t *value_p, s_error_t *error, const s_path_t *path, const json_t *json,
                     int64_t min, int64_t max, const char *type)
{
    int64_t value;
    if (json_is_integer (json))
        value = json_integer_value (json);
    else if (json_is_real (json)) {
        double real = json_real_value (json);
        if (real != floor (real) || fabs (real) > (double)S_EXACT_MAX)
            return s_fail (error, path, "expected an integer (%s), got %g", type, real);
        value = (int64_t)real;
    } else if (json_is_string (json)) {
        const char *text = json_string_value (json);
        char *end = NULL;
        errno = 0;
        long long parsed = strtoll (text, &end, 10);
        if (!*text || isspace ((unsigned char)*text) || *end)
            return s_fail (error, path, "expected an integer (%s), got the string \"%.40s\"", type,
                           text);
        if (errno == ERANGE)
            return s_fail (error, path, "%.40s is out of range for %s (%" PRId64 "..%" PRId64 ")",
                           text, type, min, max);
        value = parsed;
    } else
        return s_fail (error, path, "expected an integer (%s), got %s", type, s_kind (json));
    if (value < min || value > max)
        return s_fail (error, path, "%" PRId64 " is out of range for %s (%" PRId64 "..%" PRId64 ")",
                       value, type, min, max);
    *value_p = value;
    return 0;
}

static int
s_uint64_from_json (uint64_t *value_p, s_error_t *error, const s_path_t *path, const json_t *json)
{
    if (json_is_string (json)) {
        const char *text = json_string_value (json);
        char *end = NULL;
        errno = 0;
        if (!isdigit ((unsigned char)*text))
            return s_fail (error, path, "expected an integer (uint64), got the string \"%.40s\"",
                           text);
        unsigned long long parsed = strtoull (text, &end, 10);
        if (*end)
            return s_fail (error, path, "expected an integer (uint64), got the string \"%.40s\"",
                           text);
        if (errno == ERANGE)
            return s_fail (error, path,
                           "%.40s is out of range for uint64 (0..18446744073709551615)", text);
        *value_p = parsed;
        return 0;
    }
    int64_t value;
    if (s_integer_from_json (&value, error, path, json, 0, INT64_MAX, "uint64") != 0)
        return -1;
    *value_p = (uint64_t)value;
    return 0;
}

static int
s_double_from_json (double *value_p, s_error_t *error, const s_path_t *path, const json_t *json)
{
    if (json_is_number (json)) {
        *value_p = json_number_value (json);
        return 0;
    }
    if (json_is_string (json)) {
        const char *text = json_string_value (json);
        if (strcmp (text, "NaN") == 0) {
            *value_p = NAN;
            return 0;
        }
        if (strcmp (text, "Infinity") == 0 || strcmp (text, "-Infinity") == 0) {
            *value_p = text[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
    }
    return s_fail (error, path, "expected a number, got %s", s_kind (json));
}

static int
s_enum_from_json (int *value_p, s_error_t *error, const s_path_t *path,
                  const ProtobufCEnumDescriptor *descriptor, const json_t *json)
{
    if (json_is_string (json)) {
        const char *text = json_string_value (json);
        const ProtobufCEnumValue *value =
            protobuf_c_enum_descriptor_get_value_by_name (descriptor, text);
        if (!value) {
            //  The name without its type prefix: "high" for
            //  PASSWORD_POLICY_LEVEL_HIGH of PasswordPolicyLevel.
            char full[256];
            size_t n = 0;
            const char *type = descriptor->short_name;
            for (size_t i = 0; type[i] && n + 2 < sizeof full; i++) {
                if (i > 0 && isupper ((unsigned char)type[i]) &&
                    !isupper ((unsigned char)type[i - 1]))
                    full[n++] = '_';
                full[n++] = (char)toupper ((unsigned char)type[i]);
            }
            if (n + 1 < sizeof full)
                full[n++] = '_';
            for (size_t i = 0; text[i] && n + 1 < sizeof full; i++)
                full[n++] = (char)toupper ((unsigned char)text[i]);
            full[n] = '\0';
            value = protobuf_c_enum_descriptor_get_value_by_name (descriptor, full);
        }
        if (value) {
            *value_p = value->value;
            return 0;
        }
        //  The zero value named *_UNSPECIFIED means "not set": never offered.
        char names[300] = "";
        size_t used = 0;
        for (unsigned i = 0; i < descriptor->n_values && used < sizeof names; i++) {
            const ProtobufCEnumValue *offered = &descriptor->values[i];
            size_t length = strlen (offered->name);
            if (offered->value == 0 && length >= 12 &&
                strcmp (offered->name + length - 12, "_UNSPECIFIED") == 0)
                continue;
            used += (size_t)snprintf (names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                      offered->name);
        }
        return s_fail (error, path, "\"%.60s\" is not a %s (one of %s)", text, descriptor->name,
                       names);
    }
    int64_t number;
    if ((json_is_integer (json) || json_is_real (json)) &&
        s_integer_from_json (&number, error, path, json, INT32_MIN, INT32_MAX, "enum") == 0) {
        if (!protobuf_c_enum_descriptor_get_value (descriptor, (int)number))
            return s_fail (error, path, "%" PRId64 " is not a value of %s", number,
                           descriptor->name);
        *value_p = (int)number;
        return 0;
    }
    if (json_is_integer (json) || json_is_real (json))
        return -1; //  s_integer_from_json said why
    return s_fail (error, path, "expected an enum name or number (%s), got %s", descriptor->name,
                   s_kind (json));
}

static int
s_bytes_from_json (ProtobufCBinaryData *bytes, s_error_t *error, const s_path_t *path,
                   const json_t *json)
{
    if (!json_is_string (json))
        return s_fail (error, path, "expected a base64 string, got %s", s_kind (json));
    const char *text = json_string_value (json);
    size_t length = json_string_length (json);
    bool url_safe = strpbrk (text, "-_") != NULL;
    bool padded = length > 0 && text[length - 1] == '=';
    int variant =
        url_safe
            ? (padded ? sodium_base64_VARIANT_URLSAFE : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
            : (padded ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    unsigned char *data = (unsigned char *)malloc (length / 4 * 3 + 3);
    if (!data)
        return s_fail (error, path, "out of memory");
    size_t decoded = 0;
    const char *end = NULL;
    if (sodium_base642bin (data, length / 4 * 3 + 3, text, length, NULL, &decoded, &end, variant) !=
            0 ||
        end != text + length) {
        free (data);
        return s_fail (error, path, "not valid base64");
    }
    bytes->data = data; //  was the (static or NULL) default: duplicates are refused
    bytes->len = decoded;
    return 0;
}

static const ProtobufCFieldDescriptor *
s_find_field (const ProtobufCMessageDescriptor *descriptor, const char *key)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (descriptor, key);
    if (field)
        return field;
    char camel[256];
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        if (secpol_json_camel_name (camel, sizeof camel, descriptor->fields[i].name) <
                sizeof camel &&
            strcmp (camel, key) == 0)
            return &descriptor->fields[i];
    }
    return NULL;
}

//  --------------------------------------------------------------------------
//  Errors and paths

static int
s_fail (s_error_t *error, const s_path_t *path, const char *fmt, ...)
{
    if (!error->buf || error->size == 0)
        return -1;
    size_t used = 0;
    if (path->text[0]) {
        int n = snprintf (error->buf, error->size, "%s: ", path->text);
        used = n > 0 ? (size_t)n : 0;
    }
    if (used < error->size) {
        va_list args;
        va_start (args, fmt);
        vsnprintf (error->buf + used, error->size - used, fmt, args);
        va_end (args);
    }
    return -1;
}

static const char *
s_kind (const json_t *json)
{
    switch (json_typeof (json)) {
        case JSON_OBJECT:
            return "an object";
        case JSON_ARRAY:
            return "an array";
        case JSON_STRING:
            return "a string";
        case JSON_INTEGER:
            return "an integer";
        case JSON_REAL:
            return "a number";
        case JSON_TRUE:
            return "true";
        case JSON_FALSE:
            return "false";
        case JSON_NULL:
            return "null";
    }
    return "a JSON value";
}

static void
s_path_field (s_path_t *out, const s_path_t *parent, const char *name)
{
    //  A path longer than the buffer is cut; the error stays readable.
    if (snprintf (out->text, sizeof out->text, "%s%s%s", parent->text, parent->text[0] ? "." : "",
                  name) >= (int)sizeof out->text)
        out->text[sizeof out->text - 1] = '\0';
}

static void
s_path_index (s_path_t *out, const s_path_t *parent, size_t index)
{
    if (snprintf (out->text, sizeof out->text, "%s[%zu]", parent->text, index) >=
        (int)sizeof out->text)
        out->text[sizeof out->text - 1] = '\0';
}
