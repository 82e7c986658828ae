/*  wire.c - wire protocol v1 checks; see wire.h. */
#include "wire.h"

#include "log.h"
#include "text.h"
#include "secpol/v1/rpc.pb-c.h"

#include <stdio.h>
#include <string.h>

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
    char field[64];
    const char *problem = NULL;
    if (!secpol_wire_check_strings (&secpol__v1__request_header__descriptor, frames[1], sizes[1],
                                    field, sizeof field, &problem)) {
        snprintf (reason, reason_size, "header.%s %s", field, problem);
        return SECPOL_INVALID_ARGUMENT;
    }
    Secpol__V1__RequestHeader *header = NULL;
    if (sizes[1] <= SECPOL_MAX_HEADER_BYTES)
        header = secpol__v1__request_header__unpack (NULL, sizes[1], frames[1]);
    if (!header) {
        snprintf (reason, reason_size, "request header does not decode as secpol.v1.RequestHeader");
        return SECPOL_INVALID_ARGUMENT;
    }
    out->call_id = header->call_id;
    out->deadline_ms = header->deadline_ms;
    snprintf (out->request_id, sizeof out->request_id, "%s", header->request_id);

    int code = SECPOL_OK;
    const secpol_method_t *method = NULL;
    if (!*header->method) {
        code = SECPOL_INVALID_ARGUMENT;
        snprintf (reason, reason_size, "header.method is empty");
    } else if (!(method = secpol_method_table_find (methods, header->method)) || !method->spec) {
        char quoted[300];
        code = SECPOL_UNIMPLEMENTED;
        snprintf (reason, reason_size, "unknown method %s",
                  secpol_log_quote (quoted, sizeof quoted, header->method));
    } else if ((method->spec->flags & SECPOL_METHOD_TEST_CLOCK) && !policy->test_clock) {
        code = SECPOL_UNIMPLEMENTED;
        snprintf (reason, reason_size, "%s is served only when secpold runs with --test-clock",
                  method->path);
    } else if (policy->role < method->spec->role) {
        code = SECPOL_PERMISSION_DENIED;
        snprintf (reason, reason_size, "%s needs a more privileged role", method->path);
    } else {
        uint32_t limit = method->spec->max_request_bytes ? method->spec->max_request_bytes
                                                         : SECPOL_DEFAULT_MAX_REQUEST;
        if (sizes[2] > limit) {
            code = SECPOL_RESOURCE_EXHAUSTED;
            snprintf (reason, reason_size,
                      "request body of %zu bytes exceeds the %u-byte limit of %s", sizes[2], limit,
                      method->path);
        }
    }
    secpol__v1__request_header__free_unpacked (header, NULL);
    if (code == SECPOL_OK)
        out->method = method;
    return code;
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
    size_t path_len = strlen (path);
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
        snprintf (path + path_len, path_size - path_len, "%s%s", path_len ? "." : "", field->name);
        uint64_t *count = &counts[field - descriptor->fields];
        bool is_string = field->type == PROTOBUF_C_TYPE_STRING;
        bool is_message = field->type == PROTOBUF_C_TYPE_MESSAGE;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            bool packed =
                (tag & 7) == 2 && !is_string && !is_message && field->type != PROTOBUF_C_TYPE_BYTES;
            *count += packed ? s_packed_count (field, value, length) : 1;
            if (*count > SECPOL_MAX_REPEATED) {
                *problem = "has more than " SECPOL_STRINGIFY (SECPOL_MAX_REPEATED) " entries";
                return false;
            }
        } else if (is_message && (tag & 7) == 2 && ++*count > 1) {
            /* protobuf-c would merge the copies, copying every repeated
             * field inside again for each: quadratic */
            *problem = "appears more than once (a message field is sent once)";
            return false;
        }
        if ((tag & 7) == 2) {
            if (is_string) {
                if ((*problem = secpol_utf8_problem (value, (size_t)length)))
                    return false;
            } else if (is_message && !s_check_message (field->descriptor, value, value + length,
                                                       path, path_size, problem, depth + 1))
                return false;
        }
        path[path_len] = '\0';
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
