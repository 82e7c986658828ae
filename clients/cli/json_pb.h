/*  json_pb.h - JSON <-> protobuf through protobuf-c descriptors (jansson).
 *
 *  Works for any generated message: it walks the ProtobufCFieldDescriptors,
 *  so a message or service added to a .proto needs no code here.
 *
 *  Mapping (docs/PROTOCOL.md, "JSON mapping", is the reference):
 *  - Output uses proto field names ("offset_seconds") and prints every field,
 *    zero values included. A sub-message that is not set prints as null; a
 *    proto3 `optional` field that is not set prints as null; of a oneof only
 *    the member that is set is printed.
 *  - Input accepts proto field names and lowerCamelCase ("offsetSeconds").
 *    null means "leave at its default". A field given twice (under both
 *    names), an unknown field, a value of the wrong JSON type or out of the
 *    field's range is an error naming the field by its path
 *    ("policy.login_lockout.max_failures").
 *  - Integers: JSON numbers. 64-bit values outside +-2^53 (not exact in an
 *    IEEE double, so not safe for jq or JavaScript) print as decimal
 *    strings; input accepts a number or a decimal string for every integer
 *    field (a string is the only way to give a uint64 above 2^63-1).
 *    A number with a fraction is refused.
 *  - float/double: JSON numbers; NaN and infinities as the strings "NaN",
 *    "Infinity", "-Infinity" both ways.
 *  - bool: true/false only.
 *  - enum: the value's name on output (a number when the value has no
 *    name); input takes the full name ("PASSWORD_POLICY_LEVEL_HIGH"), the
 *    name without the type's prefix in any case ("high"), or a defined number.
 *  - string: JSON strings (invalid UTF-8 on output is replaced by U+FFFD).
 *  - bytes: base64 (RFC 4648, standard alphabet, padded) on output; input also
 *    takes the URL-safe alphabet and missing padding.
 *  - repeated: JSON arrays (null = empty); map fields appear as arrays of
 *    {"key": ..., "value": ...} entries, as protobuf-c represents them.
 *
 *  Messages built here are allocated with malloc like protobuf-c's default
 *  allocator, so they are freed with protobuf_c_message_free_unpacked
 *  (message, NULL), the same as unpacked ones.
 */
#ifndef SECPOL_JSON_PB_H_INCLUDED
#define SECPOL_JSON_PB_H_INCLUDED

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Converts a message to a JSON object as described above. Returns NULL when
 *  message is NULL or memory runs out. Caller owns return value (json_decref). */
json_t *secpol_json_from_message (const ProtobufCMessage *message);

/*  Converts a message to JSON text with jansson dump flags (0 = compact; for
 *  example JSON_INDENT (2)). Returns NULL when message is NULL or memory runs
 *  out. Caller owns return value (free). */
char *secpol_json_dumps_message (const ProtobufCMessage *message, size_t flags);

/*  Builds a message of type descriptor from json, a JSON object (or null for
 *  an empty message). On success returns 0 and sets *message_p to the new
 *  message (caller owns it: protobuf_c_message_free_unpacked (m, NULL)). On
 *  failure returns -1, sets *message_p to NULL and writes into error (of
 *  error_size bytes; may be NULL) one line naming the field, such as
 *  `policy.login_lockout.max_failures: expected an integer, got a string`. */
int secpol_json_to_message (ProtobufCMessage **message_p, char *error, size_t error_size,
                            const ProtobufCMessageDescriptor *descriptor, const json_t *json)
    __attribute__ ((warn_unused_result));

/*  As secpol_json_to_message(), from JSON text (an empty or all-blank text
 *  means {}). A syntax error is reported with its line and column:
 *  `invalid JSON at line 1, column 7: ...`. */
int secpol_json_parse_message (ProtobufCMessage **message_p, char *error, size_t error_size,
                               const ProtobufCMessageDescriptor *descriptor, const char *text)
    __attribute__ ((warn_unused_result));

/*  Writes the lowerCamelCase JSON name of a proto field name into buf (size
 *  bytes, always NUL-terminated when size > 0): "max_failures" gives
 *  "maxFailures". Returns the length it needs, as snprintf does. */
size_t secpol_json_camel_name (char *buf, size_t size, const char *proto_name);

/*  Returns text made safe to print in a line of text output, as a new
 *  string: every character that could end the line, forge another one or
 *  drive a terminal is written as an escape. C0 controls and DEL become
 *  \n, \r, \t or \xHH; C1 controls (U+0080-U+009F), U+2028, U+2029 and the
 *  bidirectional-text controls (U+061C, U+200E, U+200F, U+202A-U+202E,
 *  U+2066-U+2069, which reorder what a terminal shows) become \uHHHH; each
 *  byte that is not part of valid UTF-8 becomes \xHH (hex digits in lower
 *  case, as in secpold's log). A backslash becomes
 *  \\, so an escape in the output always was a character in the text. With
 *  quote, a double quote becomes \" and the result is wrapped in double
 *  quotes (so "" shows an empty value). Everything else, UTF-8 letters
 *  included, is kept. NULL text counts as "". Returns NULL when memory runs
 *  out. Caller owns return value (free). */
char *secpol_json_escape_text (const char *text, bool quote);

#ifdef __cplusplus
}
#endif

#endif
