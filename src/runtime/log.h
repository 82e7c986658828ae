/*  log.h - logfmt lines on stderr.
 *
 *  One line per event: `ts=2026-11-28T05:00:00.123Z level=info msg=listening endpoint=...`.
 *  Values that come from clients go through secpol_log_quote() so a request
 *  cannot forge log lines. Never pass a secret, token or password here.
 *  Thread-safe: each line is one fprintf.
 */
#ifndef SECPOL_LOG_H_INCLUDED
#define SECPOL_LOG_H_INCLUDED

#include <stddef.h>

typedef enum {
    SECPOL_LOG_DEBUG = 0,
    SECPOL_LOG_INFO = 1,
    SECPOL_LOG_WARN = 2,
    SECPOL_LOG_ERROR = 3,
} secpol_log_level_t;

/*  Sets the least level written. Default: info. */
void secpol_log_set_level (secpol_log_level_t level);

/*  Parses "debug", "info", "warn", "error". Returns -1 for anything else. */
int secpol_log_parse_level (const char *name);

/*  True when level would be written (to skip building costly fields). */
int secpol_log_enabled (secpol_log_level_t level);

/*  Writes one line: msg is a short event name (no spaces needed: it is
 *  quoted), fields a printf format of further `key=value` pairs, or NULL. */
void secpol_log (secpol_log_level_t level, const char *msg, const char *fields, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Writes s as a logfmt value into buf: bare when it is safe, else in
 *  double quotes with ", \ and control characters escaped; truncated to fit.
 *  Returns buf. */
char *secpol_log_quote (char *buf, size_t size, const char *s);

#endif
