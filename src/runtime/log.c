/*  log.c - logfmt lines on stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int s_level = SECPOL_LOG_INFO;
static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

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

char *
secpol_log_quote (char *buf, size_t size, const char *s)
{
    if (!s)
        s = "";
    bool bare = *s != '\0';
    for (const char *p = s; *p && bare; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            bare = false;
    if (bare) {
        snprintf (buf, size, "%s", s);
        return buf;
    }
    size_t n = 0;
    if (n + 1 < size)
        buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 7 < size; p++) {
        if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f)
            n += (size_t)snprintf (buf + n, size - n, "\\x%02x", *p);
        else
            buf[n++] = (char)*p;
    }
    if (n + 1 < size)
        buf[n++] = '"';
    buf[n < size ? n : size - 1] = '\0';
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
    fprintf (stderr, "ts=%s.%03ldZ level=%s msg=%s%s\n", when, ts.tv_nsec / 1000000,
             s_level_names[level], quoted_msg, rest);
}
