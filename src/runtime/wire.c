/*  wire.c - wire protocol v1 checks; see wire.h. */
#include "wire.h"

#include "log.h"
#include "text.h"
#include "secpol/v1/rpc.pb-c.h"

#include <stdio.h>
#include <string.h>

/*  The fields of a RequestHeader, pointing into the frame. */
typedef struct {
    const uint8_t *method;     /* not NUL-terminated */
    size_t method_size;        /* bytes */
    uint64_t call_id;          /* 0 when absent */
    uint32_t deadline_ms;      /* 0 when absent */
    const uint8_t *request_id; /* not NUL-terminated */
    size_t request_id_size;    /* bytes */
} header_t;

static bool s_varint (const uint8_t **p, const uint8_t *end, uint64_t *value);
static bool s_tag (const uint8_t **p, const uint8_t *end, unsigned *number, unsigned *type);
static bool s_decode_header (header_t *out, const uint8_t *p, const uint8_t *end,
                             const char **problem);

int
secpol_wire_check_request (secpol_wire_request_t *out, char *reason, size_t reason_size,
                           const secpol_method_table_t *methods, const secpol_wire_policy_t *policy,
                           size_t n, const void *const *frames, const size_t *sizes)
{
    memset (out, 0, sizeof *out);
    if (n != 3 || sizes[0] != 0) {
        snprintf (reason, reason_size,
                  "expected 3 frames (empty delimiter, RequestHeader, body), got %zu%s", n,
                  n == 3 ? " with a non-empty delimiter" : "");
        return SECPOL_INVALID_ARGUMENT;
    }
    /* Decoded by hand, in place: the hot path allocates nothing for it. */
    header_t header;
    const char *problem = NULL;
    const uint8_t *data = frames[1];
    if (sizes[1] > SECPOL_MAX_HEADER_BYTES ||
        !s_decode_header (&header, data, data + sizes[1], &problem)) {
        if (problem)
            snprintf (reason, reason_size, "header.%s", problem);
        else
            snprintf (reason, reason_size,
                      "request header does not decode as secpol.v1.RequestHeader");
        return SECPOL_INVALID_ARGUMENT;
    }
    out->call_id = header.call_id;
    out->deadline_ms = header.deadline_ms;
    size_t id_size = header.request_id_size < sizeof out->request_id - 1
                         ? header.request_id_size
                         : sizeof out->request_id - 1;
    memcpy (out->request_id, header.request_id, id_size);
    out->request_id[id_size] = '\0';

    const char *path = (const char *)header.method;
    const secpol_method_t *method = NULL;
    if (header.method_size == 0) {
        snprintf (reason, reason_size, "header.method is empty");
        return SECPOL_INVALID_ARGUMENT;
    }
    method = secpol_method_table_findn (methods, path, header.method_size);
    if (method && !method->spec) {
        snprintf (reason, reason_size,
                  "%s is declared in the contract but this secpold does not "
                  "implement it",
                  method->path);
        return SECPOL_UNIMPLEMENTED;
    }
    if (!method) {
        char name[256], quoted[300];
        size_t size = header.method_size < sizeof name - 1 ? header.method_size : sizeof name - 1;
        memcpy (name, path, size);
        name[size] = '\0';
        snprintf (reason, reason_size, "unknown method %s",
                  secpol_log_quote (quoted, sizeof quoted, name));
        return SECPOL_UNIMPLEMENTED;
    }
    if ((method->spec->flags & SECPOL_METHOD_TEST_CLOCK) && !policy->test_clock) {
        snprintf (reason, reason_size, "%s is served only when secpold runs with --test-clock",
                  method->path);
        return SECPOL_UNIMPLEMENTED;
    }
    if (policy->role < method->spec->role) {
        snprintf (reason, reason_size, "%s needs a more privileged role", method->path);
        return SECPOL_PERMISSION_DENIED;
    }
    uint32_t limit = method->spec->max_request_bytes ? method->spec->max_request_bytes
                                                     : SECPOL_DEFAULT_MAX_REQUEST;
    if (sizes[2] > limit) {
        snprintf (reason, reason_size, "request body of %zu bytes exceeds the %u-byte limit of %s",
                  sizes[2], limit, method->path);
        return SECPOL_RESOURCE_EXHAUSTED;
    }
    out->method = method;
    return SECPOL_OK;
}

/*  Reads a field tag the way protobuf-c does (the reference the fuzz
 *  target holds us to): at most 5 bytes, the field number kept in 32 bits
 *  (longer numbers wrap); a one-byte field 0 refused, a longer one an
 *  unknown field. */
static bool
s_tag (const uint8_t **p, const uint8_t *end, unsigned *number, unsigned *type)
{
    const uint8_t *q = *p;
    if (q >= end)
        return false;
    uint32_t field = (uint32_t)(q[0] & 0x7f) >> 3;
    *type = q[0] & 7;
    if (!(q[0] & 0x80)) {
        *p = q + 1;
        *number = field;
        return field != 0; /* protobuf-c refuses a one-byte tag 0, not a longer one */
    }
    for (unsigned i = 1, shift = 4; i < 5 && q + i < end; i++, shift += 7) {
        field |= (uint32_t)(q[i] & 0x7f) << shift;
        if (!(q[i] & 0x80)) {
            *p = q + i + 1;
            *number = field;
            return true;
        }
    }
    return false;
}

/*  Decodes a RequestHeader as protobuf would (proto3: the last occurrence
 *  of a field wins, unknown fields are skipped) and checks its strings.
 *  Returns false for bytes that do not decode (*problem NULL) or a string
 *  that is not clean UTF-8 (*problem "method contains a NUL byte"). */
static bool
s_decode_header (header_t *out, const uint8_t *p, const uint8_t *end, const char **problem)
{
    memset (out, 0, sizeof *out);
    out->method = out->request_id = (const uint8_t *)"";
    *problem = NULL;
    while (p < end) {
        uint64_t value;
        unsigned number, type;
        if (!s_tag (&p, end, &number, &type))
            return false;
        bool known = number >= 1 && number <= 4;
        bool length_delimited = number == 1 || number == 4;
        if (known && type != (length_delimited ? 2u : 0u))
            return false; /* a known field with the wrong wire type */
        switch (type) {
            case 0:
                if (!s_varint (&p, end, &value))
                    return false;
                if (number == 2)
                    out->call_id = value;
                else if (number == 3)
                    out->deadline_ms = (uint32_t)value;
                break;
            case 1:
                if (end - p < 8)
                    return false;
                p += 8;
                break;
            case 5:
                if (end - p < 4)
                    return false;
                p += 4;
                break;
            case 2:
                if (!s_varint (&p, end, &value) || value > (uint64_t)(end - p))
                    return false;
                if (number == 1 || number == 4) {
                    const char *bad = secpol_utf8_problem (p, (size_t)value);
                    if (bad) {
                        bool nul = strstr (bad, "NUL") != NULL;
                        *problem = number == 1 ? (nul ? "method contains a NUL byte"
                                                      : "method is not valid UTF-8")
                                               : (nul ? "request_id contains a NUL byte"
                                                      : "request_id is not valid UTF-8");
                        return false;
                    }
                    if (number == 1)
                        out->method = p, out->method_size = (size_t)value;
                    else
                        out->request_id = p, out->request_id_size = (size_t)value;
                }
                p += value;
                break;
            default:
                return false; /* groups are not proto3 */
        }
    }
    return true;
}

static void
s_fill (Secpol__V1__ResponseHeader *header, uint64_t call_id, int code, const char *message,
        size_t n_violations, ProtobufCMessage *const *violations)
{
    header->call_id = call_id;
    header->code = code;
    header->message = (char *)(message ? message : "");
    header->n_violations = n_violations;
    header->violations = (Secpol__V1__FieldViolation **)violations;
}

size_t
secpol_wire_response_size (uint64_t call_id, int code, const char *message, size_t n_violations,
                           ProtobufCMessage *const *violations)
{
    Secpol__V1__ResponseHeader header = SECPOL__V1__RESPONSE_HEADER__INIT;
    s_fill (&header, call_id, code, message, n_violations, violations);
    return secpol__v1__response_header__get_packed_size (&header);
}

size_t
secpol_wire_pack_response (uint8_t *buf, size_t size, uint64_t call_id, int code,
                           const char *message, size_t n_violations,
                           ProtobufCMessage *const *violations)
{
    Secpol__V1__ResponseHeader header = SECPOL__V1__RESPONSE_HEADER__INIT;
    s_fill (&header, call_id, code, message, n_violations, violations);
    if (secpol__v1__response_header__get_packed_size (&header) > size)
        return 0;
    return secpol__v1__response_header__pack (&header, buf);
}

/*  Reads a varint at *p (before end). Returns false when it is cut short
 *  or longer than ten bytes. */
static bool
s_varint (const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    uint64_t result = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return true;
        }
    }
    return false;
}

/*  The number of elements in a packed run of a repeated scalar field
 *  (length bytes at p): one per varint (a byte without the continuation
 *  bit ends one), or length / width for fixed-size types. */
static uint64_t
s_packed_count (const ProtobufCFieldDescriptor *field, const uint8_t *p, uint64_t length)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_FLOAT:
            return (length + 3) / 4;
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            return (length + 7) / 8;
        default: {
            uint64_t count = 0;
            for (uint64_t k = 0; k < length; k++)
                count += !(p[k] & 0x80);
            return count;
        }
    }
}

/*  Puts name in front of the path an inner message reported (path holds
 *  "" or "inner.field"); returns false, for the caller to pass on. The
 *  path is built only on the way out of a failure, never per field. */
static bool
s_name_field (char *path, size_t path_size, const char *name)
{
    size_t name_len = strlen (name), tail = strlen (path);
    size_t add = name_len + (tail ? 1 : 0);
    if (add + tail + 1 > path_size) {
        if (add + 1 > path_size)
            return false;           /* cannot happen with our field names; keep what is there */
        tail = path_size - 1 - add; /* keep the outer names, cut the innermost */
        path[tail] = '\0';
    }
    memmove (path + add, path, tail + 1);
    memcpy (path, name, name_len);
    if (tail)
        path[name_len] = '.';
    return false;
}

/*  Checks one message instance, p to end. counts has one slot per field of
 *  descriptor: entries of a repeated field so far, or occurrences of a
 *  singular message field. Every byte is looked at a bounded number of
 *  times, so the walk is linear in the size of the body. */
static bool
s_check_message (const ProtobufCMessageDescriptor *descriptor, const uint8_t *p, const uint8_t *end,
                 char *path, size_t path_size, const char **problem, int depth)
{
    if (depth > 32)
        return true; /* protobuf-c refuses deeper nesting itself */
    uint64_t counts[descriptor->n_fields ? descriptor->n_fields : 1];
    memset (counts, 0, sizeof counts);
    while (p < end) {
        uint64_t tag, length = 0;
        if (!s_varint (&p, end, &tag))
            return true; /* malformed: unpack reports it */
        const uint8_t *value = p;
        switch (tag & 7) {
            case 0:
                if (!s_varint (&p, end, &length))
                    return true;
                length = 0;
                break;
            case 1:
                if (end - p < 8)
                    return true;
                p += 8;
                break;
            case 5:
                if (end - p < 4)
                    return true;
                p += 4;
                break;
            case 2:
                if (!s_varint (&p, end, &length) || length > (uint64_t)(end - p))
                    return true;
                value = p;
                p += length;
                break;
            default:
                return true;
        }
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field (descriptor, (unsigned)(tag >> 3));
        if (!field)
            continue; /* unknown: protobuf-c keeps it aside, in one array */
        uint64_t *count = &counts[field - descriptor->fields];
        bool is_string = field->type == PROTOBUF_C_TYPE_STRING;
        bool is_message = field->type == PROTOBUF_C_TYPE_MESSAGE;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            bool packed =
                (tag & 7) == 2 && !is_string && !is_message && field->type != PROTOBUF_C_TYPE_BYTES;
            *count += packed ? s_packed_count (field, value, length) : 1;
            if (*count > SECPOL_MAX_REPEATED) {
                *problem = "has more than " SECPOL_STRINGIFY (SECPOL_MAX_REPEATED) " entries";
                return s_name_field (path, path_size, field->name);
            }
        } else if (is_message && (tag & 7) == 2 && ++*count > 1) {
            /* protobuf-c would merge the copies, copying every repeated
             * field inside again for each: quadratic */
            *problem = "appears more than once (a message field is sent once)";
            return s_name_field (path, path_size, field->name);
        }
        if ((tag & 7) == 2) {
            if (is_string) {
                if ((*problem = secpol_utf8_problem (value, (size_t)length)))
                    return s_name_field (path, path_size, field->name);
            } else if (is_message && !s_check_message (field->descriptor, value, value + length,
                                                       path, path_size, problem, depth + 1))
                return s_name_field (path, path_size, field->name);
        }
    }
    return true;
}

bool
secpol_wire_check_strings (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                           size_t size, char *field, size_t field_size, const char **problem)
{
    field[0] = '\0';
    return s_check_message (descriptor, data, data + size, field, field_size, problem, 0);
}
