/*  text.h - the one UTF-8 decoder and plain-text check of secpold.
 *
 *  The wire check (every string field of every request) and the services'
 *  own checks (ids, actors, banners, upload names) all decode UTF-8 here,
 *  so that what the front end lets through and what a handler accepts can
 *  never disagree. Pure functions; no allocation; any thread.
 */
#ifndef SECPOL_TEXT_H_INCLUDED
#define SECPOL_TEXT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Decodes one UTF-8 sequence at s (n bytes left, n > 0). Returns its length
 *  (1 to 4) and sets *code_point, or returns 0 for an invalid sequence
 *  (overlong, surrogate, beyond U+10FFFF, truncated, stray continuation
 *  byte). A NUL byte decodes as U+0000 of length 1. */
size_t secpol_utf8_next (const char *s, size_t n, uint32_t *code_point);

/*  Checks size bytes at data: well-formed UTF-8 without NUL bytes, as a
 *  proto3 string must be for secpol (protobuf-c would cut a C string at a
 *  NUL). Returns NULL when clean, else a static description for a field
 *  violation ("contains a NUL byte", "is not valid UTF-8"). */
const char *secpol_utf8_problem (const void *data, size_t size);

/*  True when code_point is a control character (C0, DEL or C1). */
bool secpol_text_is_control (uint32_t code_point);

/*  Checks plain text (ids, actors, banners): at most max_bytes bytes of
 *  valid UTF-8 without control characters ("\n" allowed when
 *  allow_newline). NULL counts as "". Returns NULL when fine, else a static
 *  description for a field violation ("is too long", "is not valid UTF-8",
 *  "contains a control character"). Linear in the text, and stops reading
 *  one byte past max_bytes. */
const char *secpol_text_problem (const char *text, size_t max_bytes, bool allow_newline);

#endif
