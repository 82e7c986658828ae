/*  fuzz_request.c - what the front end and s_job_start do with a request
 *  from the network, without sockets: secpol_wire_check_request against the
 *  real method table; for an accepted request, secpol_wire_check_strings on
 *  the body and protobuf_c_message_unpack of the method's input type into a
 *  request arena. A refusal's reason is quoted for the log and packed into a
 *  response header, as the front end does.
 *
 *  Input: byte 0 chooses the frames and the caller (bits 0-1: size of frame
 *  0; bits 2-3: 3, 2, 4 or 3 frames; bit 4: --test-clock; bits 5-6: role;
 *  bit 7: the body is followed by 64 KiB of zeros, to pass the default body
 *  limit), bytes 1-2 the header length (little endian), then the header,
 *  then the body. Each frame is copied into its own buffer so that ASan sees
 *  any read past its end.
 *
 *  Invariants (abort when broken):
 *  - a refusal has a reason, and its response header decodes and echoes
 *    call_id and code; the quoted reason and request_id hold no control byte;
 *  - an accepted request has 3 frames, an empty delimiter, a method with a
 *    spec, a body within the method's limit, a role that suffices;
 *  - when the body check passes and the body unpacks, every string of the
 *    message is valid UTF-8 and whole: not cut short at a NUL (an unpack
 *    with a size-recording allocator compares strlen with the bytes
 *    protobuf-c copied), and no repeated field holds more than
 *    SECPOL_MAX_REPEATED entries (the walker counted what protobuf-c built);
 *  - on the canonical encoding of whatever unpacks (packed again: no
 *    duplicate fields), the body check passes exactly when every string
 *    is valid UTF-8 by policy_fields.c's decoder, not wire.c's, and every
 *    repeated field holds at most SECPOL_MAX_REPEATED entries;
 *  - the body unpacks into the arena exactly when it unpacks with malloc;
 *  - re-packing the message and unpacking it again gives the same bytes.
 */
#include "fuzz_support.h"

#include "arena.h"
#include "log.h"
#include "method_table.h"
#include "policy_fields.h"
#include "wire.h"

#include "secpol/v1/rpc.pb-c.h"

#include <stdbool.h>
#include <string.h>

#define SIZE_HEADER 16 /* room before each block of the size-recording allocator */

static secpol_method_table_t *s_methods;

static void s_check_refusal (int code, const char *reason, const secpol_wire_request_t *request);
static void s_check_body (const secpol_method_t *method, const uint8_t *body, size_t size);
static bool s_strings_utf8 (const ProtobufCMessage *message, bool *whole, bool *lists_fit);
static bool s_has_field_zero (const ProtobufCMessage *message);
static void *s_sized_alloc (void *data, size_t size);
static void s_sized_free (void *data, void *pointer);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_methods = secpol_method_table_default ();
    if (!s_methods)
        abort ();
    return 0;
}

/*  The front end decodes the RequestHeader by hand (wire.c); protobuf-c is
 *  the reference. Whenever the hand decoder takes a header, protobuf-c must
 *  decode it to the same values; whenever protobuf-c decodes a header,
 *  the hand decoder must not call it undecodable. */
static void
s_check_header_decode (int code, const char *reason, const secpol_wire_request_t *request,
                       const void *header, size_t size)
{
    bool refused = code == SECPOL_INVALID_ARGUMENT &&
                   (strncmp (reason, "request header does not decode", 30) == 0 ||
                    strncmp (reason, "header.method ", 14) == 0 ||
                    strncmp (reason, "header.request_id ", 18) == 0);
    Secpol__V1__RequestHeader *reference =
        size <= SECPOL_MAX_HEADER_BYTES ? secpol__v1__request_header__unpack (NULL, size, header)
                                        : NULL;
    if (!refused) {
        FUZZ_REQUIRE (reference, "hand decoder took a header protobuf-c refuses (%s)", reason);
        FUZZ_REQUIRE (reference->call_id == request->call_id, "call_id %llu, protobuf-c says %llu",
                      (unsigned long long)request->call_id, (unsigned long long)reference->call_id);
        FUZZ_REQUIRE (reference->deadline_ms == request->deadline_ms,
                      "deadline_ms %u, protobuf-c says %u", request->deadline_ms,
                      reference->deadline_ms);
        FUZZ_REQUIRE (strncmp (reference->request_id, request->request_id,
                               sizeof request->request_id - 1) == 0,
                      "request_id differs from protobuf-c's");
    } else
        /* refusing for a NUL or bad UTF-8 in a string is ours alone
         * (protobuf-c checks neither); refusing as undecodable is not */
        FUZZ_REQUIRE (!reference || strncmp (reason, "request header does not decode", 30) != 0,
                      "hand decoder refused a header protobuf-c decodes: %s", reason);
    if (reference)
        secpol__v1__request_header__free_unpacked (reference, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t control = data[0];
    size_t header_size = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (header_size > size)
        header_size = size;
    const size_t frame_counts[] = {3, 2, 4, 3};
    size_t n = frame_counts[(control >> 2) & 3];
    secpol_wire_policy_t policy = {.test_clock = (control >> 4) & 1, .role = (control >> 5) & 3};
    if (policy.role > SECPOL_ROLE_ADMIN)
        policy.role = SECPOL_ROLE_ADMIN;

    /* frame 0: 0-3 bytes; frame 1: the header; frame 2: the body; frame 3: empty */
    size_t padding = control & 0x80 ? SECPOL_DEFAULT_MAX_REQUEST : 0;
    size_t sizes[4] = {control & 3, header_size, size - header_size + padding, 0};
    void *frames[4];
    frames[0] = malloc (sizes[0] + 1);
    memset (frames[0], 'x', sizes[0]);
    frames[1] = malloc (sizes[1] + 1);
    memcpy (frames[1], data, sizes[1]);
    frames[2] = calloc (1, sizes[2] + 1);
    memcpy (frames[2], data + header_size, size - header_size);
    frames[3] = malloc (1);

    secpol_wire_request_t request;
    char reason[512] = "";
    int code = secpol_wire_check_request (&request, reason, sizeof reason, s_methods, &policy, n,
                                          (const void *const *)frames, sizes);
    if (n == 3 && sizes[0] == 0)
        s_check_header_decode (code, reason, &request, frames[1], sizes[1]);
    if (code != SECPOL_OK)
        s_check_refusal (code, reason, &request);
    else {
        FUZZ_REQUIRE (n == 3 && sizes[0] == 0, "accepted %zu frames, delimiter of %zu bytes", n,
                      sizes[0]);
        const secpol_method_t *method = request.method;
        FUZZ_REQUIRE (method && method->spec && method->descriptor, "accepted without a method");
        FUZZ_REQUIRE (secpol_method_table_find (s_methods, method->path) == method,
                      "method %s is not the table's", method->path);
        uint32_t limit = method->spec->max_request_bytes ? method->spec->max_request_bytes
                                                         : SECPOL_DEFAULT_MAX_REQUEST;
        FUZZ_REQUIRE (sizes[2] <= limit, "body of %zu bytes accepted for %s (limit %u)", sizes[2],
                      method->path, limit);
        FUZZ_REQUIRE (policy.role >= method->spec->role, "%s accepted for role %d", method->path,
                      (int)policy.role);
        FUZZ_REQUIRE (policy.test_clock || !(method->spec->flags & SECPOL_METHOD_TEST_CLOCK),
                      "%s accepted without --test-clock", method->path);
        FUZZ_REQUIRE (sizes[1] <= SECPOL_MAX_HEADER_BYTES, "header of %zu bytes accepted",
                      sizes[1]);
        s_check_body (method, frames[2], sizes[2]);
    }
    char quoted[600];
    secpol_log_quote (quoted, sizeof quoted, request.request_id);
    for (const char *p = quoted; *p; p++)
        FUZZ_REQUIRE ((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in a quoted id: %s",
                      quoted);
    for (int i = 0; i < 4; i++)
        free (frames[i]);
    return 0;
}

/*  What the front end does with a refusal: log it quoted, answer it. */
static void
s_check_refusal (int code, const char *reason, const secpol_wire_request_t *request)
{
    FUZZ_REQUIRE (code > 0 && code <= 16, "status %d", code);
    FUZZ_REQUIRE (*reason, "refusal %d without a reason", code);
    FUZZ_REQUIRE (!request->method, "refusal %d with a method", code);
    char quoted[600];
    secpol_log_quote (quoted, sizeof quoted, reason);
    for (const char *p = quoted; *p; p++)
        FUZZ_REQUIRE ((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in quoted reason: %s",
                      quoted);

    /* s_reply_error: a 1024-byte buffer, the bare code name when the reason does not fit */
    uint8_t buf[1024];
    size_t size =
        secpol_wire_pack_response (buf, sizeof buf, request->call_id, code, reason, 0, NULL);
    if (size == 0)
        size = secpol_wire_pack_response (buf, sizeof buf, request->call_id, code,
                                          secpol_status_name (code), 0, NULL);
    FUZZ_REQUIRE (size > 0, "no response header for status %d", code);
    size_t expected = secpol_wire_response_size (request->call_id, code, reason, 0, NULL);
    if (expected > sizeof buf)
        expected =
            secpol_wire_response_size (request->call_id, code, secpol_status_name (code), 0, NULL);
    FUZZ_REQUIRE (size == expected, "response header of %zu bytes, sized %zu", size, expected);
    Secpol__V1__ResponseHeader *header = secpol__v1__response_header__unpack (NULL, size, buf);
    FUZZ_REQUIRE (header, "response header does not decode");
    FUZZ_REQUIRE (header->call_id == request->call_id && header->code == code,
                  "response header says call %llu code %d", (unsigned long long)header->call_id,
                  header->code);
    secpol__v1__response_header__free_unpacked (header, NULL);
}

/*  What s_job_start does with the body, and what must then hold. */
static void
s_check_body (const secpol_method_t *method, const uint8_t *body, size_t size)
{
    const ProtobufCMessageDescriptor *input = method->descriptor->input;
    char field[256];
    const char *problem = NULL;
    bool clean = secpol_wire_check_strings (input, body, size, field, sizeof field, &problem);
    if (!clean) {
        FUZZ_REQUIRE (problem && *problem, "string check failed without a problem");
        FUZZ_REQUIRE (*field && strlen (field) < sizeof field, "string check names no field");
    }

    /* protobuf-c's reading of the body, recording the size of each block */
    ProtobufCAllocator sized = {s_sized_alloc, s_sized_free, NULL};
    ProtobufCMessage *decoded = protobuf_c_message_unpack (input, &sized, size, body);
    if (decoded) {
        bool whole = true, lists_fit = true;
        bool utf8 = s_strings_utf8 (decoded, &whole, &lists_fit);
        FUZZ_REQUIRE (!clean || (utf8 && whole), "%s passed the string check with a string %s",
                      input->name, utf8 ? "cut at a NUL" : "that is not UTF-8");
        FUZZ_REQUIRE (!clean || lists_fit, "%s passed the body check with a list over %d entries",
                      input->name, SECPOL_MAX_REPEATED);
        /* On the canonical encoding (no duplicates, every string as read),
         * the string check and an independent UTF-8 check agree. */
        size_t canonical_size = protobuf_c_message_get_packed_size (decoded);
        uint8_t *canonical = malloc (canonical_size + 1);
        protobuf_c_message_pack (decoded, canonical);
        bool canonical_clean = secpol_wire_check_strings (input, canonical, canonical_size, field,
                                                          sizeof field, &problem);
        FUZZ_REQUIRE (canonical_clean == (utf8 && lists_fit),
                      "body check says %d (%s %s), UTF-8 check %d, lists fit %d",
                      (int)canonical_clean, canonical_clean ? "" : field,
                      canonical_clean ? "" : problem, (int)utf8, (int)lists_fit);
        free (canonical);
        protobuf_c_message_free_unpacked (decoded, &sized);
    }
    if (!clean)
        return; /* the dispatcher answers INVALID_ARGUMENT */

    secpol_arena_t *arena = secpol_arena_new ();
    ProtobufCMessage *request =
        protobuf_c_message_unpack (input, secpol_arena_allocator (arena), size, body);
    FUZZ_REQUIRE (!request == !decoded, "unpacks %s with one allocator only", input->name);
    if (request) {
        ProtobufCMessage *response = secpol_arena_message (arena, method->descriptor->output);
        FUZZ_REQUIRE (response && response->descriptor == method->descriptor->output,
                      "response of the wrong type");

        /* pack, unpack, pack: the same bytes */
        size_t packed_size = protobuf_c_message_get_packed_size (request);
        uint8_t *packed = malloc (packed_size + 1);
        FUZZ_REQUIRE (protobuf_c_message_pack (request, packed) == packed_size, "pack size");
        ProtobufCMessage *reread = protobuf_c_message_unpack (input, NULL, packed_size, packed);
        FUZZ_REQUIRE (reread || s_has_field_zero (request), "a packed %s does not unpack",
                      input->name);
        if (reread) {
            size_t repacked_size = protobuf_c_message_get_packed_size (reread);
            uint8_t *repacked = malloc (repacked_size + 1);
            protobuf_c_message_pack (reread, repacked);
            FUZZ_REQUIRE (repacked_size == packed_size &&
                              memcmp (packed, repacked, packed_size) == 0,
                          "%s changes when packed again (%zu -> %zu bytes)", input->name,
                          packed_size, repacked_size);
            free (repacked);
            protobuf_c_message_free_unpacked (reread, NULL);
        }
        free (packed);
    }
    secpol_arena_destroy (&arena);
}

/*  True when value is valid UTF-8 (secpol_utf8_next, not wire.c's
 *  decoder); clears *whole when protobuf-c copied more bytes than strlen
 *  finds (a NUL inside). */
static bool
s_string_utf8 (const ProtobufCFieldDescriptor *field, const char *value, bool *whole)
{
    FUZZ_REQUIRE (value, "%s is NULL", field->name);
    size_t length = strlen (value);
    if (value != protobuf_c_empty_string && value != field->default_value &&
        *(const size_t *)(value - SIZE_HEADER) - 1 != length)
        *whole = false;
    for (size_t k = 0; k < length;) {
        uint32_t code_point;
        size_t step = secpol_utf8_next (value + k, length - k, &code_point);
        if (!step)
            return false;
        k += step;
    }
    return true;
}

/*  Every string field of message (unpacked with s_sized_alloc), at any
 *  depth: true when all are valid UTF-8; *whole as s_string_utf8. Clears
 *  *lists_fit when a repeated field holds more than SECPOL_MAX_REPEATED
 *  entries. */
static bool
s_strings_utf8 (const ProtobufCMessage *message, bool *whole, bool *lists_fit)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const char *base = (const char *)message;
    bool utf8 = true;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->label == PROTOBUF_C_LABEL_REPEATED &&
            *(const size_t *)(base + field->quantifier_offset) > SECPOL_MAX_REPEATED)
            *lists_fit = false;
        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + field->quantifier_offset) != field->id)
            continue;
        const void *member = base + field->offset;
        size_t count = 1;
        const void *const *items = member;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(base + field->quantifier_offset);
            items = *(const void *const *const *)member;
        }
        for (size_t k = 0; k < count; k++) {
            if (field->type == PROTOBUF_C_TYPE_STRING)
                utf8 = s_string_utf8 (field, items[k], whole) && utf8;
            else if (items[k])
                utf8 = s_strings_utf8 (items[k], whole, lists_fit) && utf8;
        }
    }
    return utf8;
}

/*  True when message, at any depth, kept an unknown field numbered 0.
 *  protobuf-c (1.4) refuses a tag of field 0 only when its first byte says
 *  so: it keeps 0x82 0x00 (field 0, length-delimited, in two bytes) as an
 *  unknown field, then packs it as 0x02, which it refuses to unpack. Not
 *  ours to fix, and harmless: unknown fields are never read. */
static bool
s_has_field_zero (const ProtobufCMessage *message)
{
    for (unsigned k = 0; k < message->n_unknown_fields; k++)
        if (message->unknown_fields[k].tag == 0)
            return true;
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const char *base = (const char *)message;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + field->quantifier_offset) != field->id)
            continue;
        size_t count = 1;
        const void *const *items = (const void *const *)(base + field->offset);
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(base + field->quantifier_offset);
            items = *(const void *const *const *)(base + field->offset);
        }
        for (size_t k = 0; k < count; k++)
            if (items[k] && s_has_field_zero (items[k]))
                return true;
    }
    return false;
}

static void *
s_sized_alloc (void *data, size_t size)
{
    (void)data;
    char *block = malloc (SIZE_HEADER + size);
    if (!block)
        return NULL;
    *(size_t *)block = size;
    return block + SIZE_HEADER;
}

static void
s_sized_free (void *data, void *pointer)
{
    (void)data;
    if (pointer)
        free ((char *)pointer - SIZE_HEADER);
}
