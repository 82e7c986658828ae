/*  secpolctl.h - what secpolctl's subcommands share.
 *
 *  secpolctl.c parses the global options (--endpoint, --timeout), connects
 *  and dispatches: `call`, `list` and `health` live there, `policy` in
 *  secpolctl_policy.c. Every subcommand prints results the same way, through
 *  the helpers below, and returns the process exit code:
 *
 *    0                     the call answered OK
 *    SECPOLCTL_EXIT_USAGE  (2) bad command line, bad JSON, unknown field:
 *                          nothing was sent
 *    1..16                 the status code of a failed call (UNAVAILABLE =
 *                          14 when the server did not answer). Status
 *                          UNKNOWN (2) shares its exit code with usage
 *                          errors; stderr tells them apart.
 */
#ifndef SECPOLCTL_H_INCLUDED
#define SECPOLCTL_H_INCLUDED

#include "secpol/secpol_client.h"

#include <protobuf-c/protobuf-c.h>

#define SECPOLCTL_EXIT_OK    0
#define SECPOLCTL_EXIT_USAGE 2

/*  `secpolctl [global options] policy ...`: argv[0] is "policy", argv[1..]
 *  the words after it (run getopt_long on them after setting optind = 0).
 *  client is connected with the global --endpoint and --timeout, except when
 *  the words only ask for help (none, or argv[1] is "-h", "--help" or
 *  "help"): then client is NULL, so help works without a server. Returns
 *  the exit code. Implemented in secpolctl_policy.c. */
int secpolctl_policy (secpol_client_t *client, int argc, char **argv);

/*  Prints the outcome of a call exactly as `secpolctl call` does, and
 *  returns its exit code: on code 0 the response as indented JSON (proto
 *  field names, every field) on stdout, exit 0; otherwise on stderr
 *  `NAME: message` (NAME the status name, e.g. INVALID_ARGUMENT) and one
 *  line `  field: description` per field violation from
 *  secpol_client_status (client), and returns code. response may be NULL
 *  (printed as {}). Does not free response. */
int secpolctl_print_response (secpol_client_t *client, int code, const ProtobufCMessage *response);

/*  Does what `secpolctl call` does: looks method_path up in the registry,
 *  converts json_text (NULL or blank = {}) to its request type, calls it and
 *  prints the outcome with secpolctl_print_response(). Returns the exit code
 *  (SECPOLCTL_EXIT_USAGE, with a message on stderr naming the field, when
 *  the JSON does not fit the request type; UNIMPLEMENTED when the method is
 *  not in the registry). */
int secpolctl_call_json (secpol_client_t *client, const char *method_path, const char *json_text);

/*  Prints `secpolctl: <message>` on stderr and returns SECPOLCTL_EXIT_USAGE. */
int secpolctl_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  Reads all of stdin into a malloc'd NUL-terminated string (for JSON given
 *  as "-"). Returns NULL on a read error. Caller owns return value. */
char *secpolctl_read_stdin (void);

#endif
