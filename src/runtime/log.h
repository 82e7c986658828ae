/*  log.h - logfmt lines on stderr.
 *
 *  One line per event: `ts=2026-11-28T05:00:00.123Z level=info msg=listening endpoint=...`.
 *  Values that come from clients, and any text an operator or a file may
 *  have chosen (paths, endpoints, error strings), go through
 *  secpol_log_quote() so that nothing can forge a log line. Never pass a
 *  secret, token or password here.
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

/*  Between secpol_log_hold() and secpol_log_release() the calling thread's
 *  lines are gathered in a buffer of its own and written together (one
 *  write(2) for many lines, or more when the buffer fills); other threads
 *  log as always. The WRITE lane holds the lines of a batch and releases
 *  them before it answers: a line per write without a system call each. */
void secpol_log_hold (void);
void secpol_log_release (void);

/*  Writes one line: msg is a short event name (no spaces needed: it is
 *  quoted), fields a printf format of further `key=value` pairs, or NULL. */
void secpol_log (secpol_log_level_t level, const char *msg, const char *fields, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Writes s (NULL counts as "") as one logfmt value into buf, so that no
 *  value can end its line, forge another or drive a terminal. The value is
 *  bare when it is non-empty printable ASCII without space, ", = or \, and
 *  fits. Otherwise it is in double quotes with
 *    \" and \\                      for " and \,
 *    \n \r \t                       for those three,
 *    \xHH                          for other C0 controls, DEL and every byte
 *                                  that is not part of valid UTF-8,
 *    \uHHHH                        for C1 controls (U+0080-U+009F), LINE and
 *                                  PARAGRAPH SEPARATOR (U+2028, U+2029) and
 *                                  the bidirectional controls (U+061C,
 *                                  U+200E, U+200F, U+202A-U+202E,
 *                                  U+2066-U+2069),
 *  and the rest of valid UTF-8 as it is. A value that does not fit is cut
 *  between two characters (never inside an escape) and ends in `..."`.
 *  buf always ends in a NUL when size > 0; a size below 6 holds only "".
 *  Returns buf. Any thread. */
char *secpol_log_quote (char *buf, size_t size, const char *s);

#endif
