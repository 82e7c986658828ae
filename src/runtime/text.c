/*  text.c - UTF-8 decoding and plain-text checks; see text.h. */
#include "text.h"

#include <string.h>

size_t
secpol_utf8_next (const char *s, size_t n, uint32_t *code_point)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80) {
        *code_point = p[0];
        return 1;
    }
    size_t length;
    uint32_t value, least;
    if ((p[0] & 0xE0) == 0xC0)
        length = 2, value = p[0] & 0x1F, least = 0x80;
    else if ((p[0] & 0xF0) == 0xE0)
        length = 3, value = p[0] & 0x0F, least = 0x800;
    else if ((p[0] & 0xF8) == 0xF0)
        length = 4, value = p[0] & 0x07, least = 0x10000;
    else
        return 0;
    if (n < length)
        return 0;
    for (size_t k = 1; k < length; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (p[k] & 0x3F);
    }
    if (value < least || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

const char *
secpol_utf8_problem (const void *data, size_t size)
{
    const char *s = data;
    for (size_t i = 0; i < size;) {
        if ((unsigned char)s[i] < 0x80) { /* the common case, one byte at a time */
            if (s[i] == '\0')
                return "contains a NUL byte";
            i++;
            continue;
        }
        uint32_t code_point;
        size_t length = secpol_utf8_next (s + i, size - i, &code_point);
        if (!length)
            return "is not valid UTF-8";
        i += length;
    }
    return NULL;
}

bool
secpol_text_is_control (uint32_t code_point)
{
    return code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
}

const char *
secpol_text_problem (const char *text, size_t max_bytes, bool allow_newline)
{
    size_t n = !text ? 0 : max_bytes == SIZE_MAX ? strlen (text) : strnlen (text, max_bytes + 1);
    if (n > max_bytes)
        return "is too long";
    for (size_t k = 0; k < n;) {
        uint32_t code_point;
        size_t length = secpol_utf8_next (text + k, n - k, &code_point);
        if (!length)
            return "is not valid UTF-8";
        if (secpol_text_is_control (code_point) && !(allow_newline && code_point == '\n'))
            return allow_newline ? "contains a control character (only line breaks, \\n, "
                                   "are allowed)"
                                 : "contains a control character";
        k += length;
    }
    return NULL;
}
