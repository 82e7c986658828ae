/*  log.c - logfmt lines on stderr; see log.h. */
#include "log.h"

#include "text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int s_level = SECPOL_LOG_INFO;

#define HELD_SIZE 32768 /* bytes of lines a holding thread gathers before writing */
static _Thread_local bool s_holding;
static _Thread_local size_t s_held_length;
static _Thread_local char s_held[HELD_SIZE];
static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

#define TRUNCATED "..." /* ends a value cut to fit its buffer */

static size_t s_escape (char piece[8], size_t *piece_len, const unsigned char *s, size_t n);
static bool s_moves_lines (uint32_t code_point);

void
secpol_log_set_level (secpol_log_level_t level)
{
    atomic_store (&s_level, (int)level);
}

int
secpol_log_parse_level (const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp (name, s_level_names[i]) == 0)
            return i;
    return -1;
}

int
secpol_log_enabled (secpol_log_level_t level)
{
    return (int)level >= atomic_load (&s_level);
}

/*  Looks at the character at s (n > 0 bytes left): returns how many bytes
 *  it takes, and writes its escape into piece (*piece_len bytes), or sets
 *  *piece_len to 0 when those bytes may be copied as they are. */
static size_t
s_escape (char piece[8], size_t *piece_len, const unsigned char *s, size_t n)
{
    *piece_len = 0;
    if (s[0] < 0x80) {
        const char *named = s[0] == '"'    ? "\\\""
                            : s[0] == '\\' ? "\\\\"
                            : s[0] == '\n' ? "\\n"
                            : s[0] == '\r' ? "\\r"
                            : s[0] == '\t' ? "\\t"
                                           : NULL;
        if (named)
            *piece_len = (size_t)snprintf (piece, 8, "%s", named);
        else if (s[0] < 0x20 || s[0] == 0x7f)
            *piece_len = (size_t)snprintf (piece, 8, "\\x%02x", s[0]);
        return 1;
    }
    uint32_t code_point;
    size_t length = secpol_utf8_next ((const char *)s, n, &code_point);
    if (!length) { /* not UTF-8: this byte alone, as a byte */
        *piece_len = (size_t)snprintf (piece, 8, "\\x%02x", s[0]);
        return 1;
    }
    if (secpol_text_is_control (code_point) || s_moves_lines (code_point))
        *piece_len = (size_t)snprintf (piece, 8, "\\u%04x", (unsigned)code_point);
    return length;
}

/*  Code points that are not controls but break or reorder what a reader
 *  sees: LINE and PARAGRAPH SEPARATOR (some viewers and JSON-in-JS start a
 *  new line there) and the bidirectional controls (they reverse text on
 *  screen, so a value could make the rest of its line read differently). */
static bool
s_moves_lines (uint32_t code_point)
{
    return code_point == 0x2028 || code_point == 0x2029 || code_point == 0x061C ||
           code_point == 0x200E || code_point == 0x200F ||
           (code_point >= 0x202A && code_point <= 0x202E) ||
           (code_point >= 0x2066 && code_point <= 0x2069);
}

char *
secpol_log_quote (char *buf, size_t size, const char *s)
{
    if (size == 0)
        return buf;
    if (!s)
        s = "";
    size_t length = strlen (s);
    bool bare = length > 0 && length < size;
    for (const unsigned char *p = (const unsigned char *)s; *p && bare; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
            bare = false;
    if (bare) {
        memcpy (buf, s, length + 1);
        return buf;
    }
    if (size < sizeof TRUNCATED + 2) { /* no room for any value: the empty one */
        snprintf (buf, size, "\"\"");
        return buf;
    }
    /* Each piece goes in whole or not at all, and the closing quote always
     * fits, so a value can neither be cut inside an escape nor leave its
     * quotes open. fits_marker: the end of the last piece after which the
     * truncation marker, the quote and the NUL still fit. */
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, fits_marker = 1;
    buf[n++] = '"';
    for (size_t i = 0; i < length;) {
        char piece[8];
        size_t piece_len;
        size_t taken = s_escape (piece, &piece_len, p + i, length - i);
        const char *from = piece_len ? piece : s + i;
        size_t from_len = piece_len ? piece_len : taken;
        if (n + from_len + 2 > size) { /* no room for it and the closing quote */
            n = fits_marker;
            memcpy (buf + n, TRUNCATED, sizeof TRUNCATED - 1);
            n += sizeof TRUNCATED - 1;
            break;
        }
        memcpy (buf + n, from, from_len);
        n += from_len;
        i += taken;
        if (n + sizeof TRUNCATED - 1 + 2 <= size)
            fits_marker = n;
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

void
secpol_log (secpol_log_level_t level, const char *msg, const char *fields, ...)
{
    if (!secpol_log_enabled (level))
        return;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    char when[32], quoted_msg[256], rest[2048] = "";
    strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    secpol_log_quote (quoted_msg, sizeof quoted_msg, msg);
    if (fields) {
        va_list args;
        va_start (args, fields);
        rest[0] = ' ';
        vsnprintf (rest + 1, sizeof rest - 1, fields, args);
        va_end (args);
    }
    if (s_holding) {
        size_t room = HELD_SIZE - s_held_length;
        int length = snprintf (s_held + s_held_length, room, "ts=%s.%03ldZ level=%s msg=%s%s\n",
                               when, ts.tv_nsec / 1000000, s_level_names[level], quoted_msg, rest);
        if (length >= 0 && (size_t)length < room) {
            s_held_length += (size_t)length;
            return;
        }
        secpol_log_release (); /* it did not fit: what waits goes first, then this line */
        secpol_log_hold ();
    }
    fprintf (stderr, "ts=%s.%03ldZ level=%s msg=%s%s\n", when, ts.tv_nsec / 1000000,
             s_level_names[level], quoted_msg, rest);
}

void
secpol_log_hold (void)
{
    s_holding = true;
}

void
secpol_log_release (void)
{
    if (s_held_length)
        fwrite (s_held, 1, s_held_length, stderr); /* stderr is unbuffered: one write */
    s_held_length = 0;
    s_holding = false;
}
