/*  secpolctl.h - what secpolctl's subcommands share.
 *
 *  secpolctl.c parses the command line (global options such as --endpoint,
 *  --timeout and --output may stand anywhere), answers --help for every
 *  command and subcommand from its command table, connects and dispatches:
 *  `call`, `health` and `version` live there, `list` and `describe` in
 *  secpolctl_schema.c, `completion` in secpolctl_completion.c, `policy` in
 *  secpolctl_policy.c, `session` in secpolctl_session.c, `token` in
 *  secpolctl_token.c, `lockout` in secpolctl_lockout.c, `password` and
 *  `account` in secpolctl_password.c, `otp` in secpolctl_otp.c. Every subcommand
 *  prints results the same way, through the helpers below, and returns the
 *  process exit code:
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
#include <stdint.h>

#define SECPOLCTL_EXIT_OK    0
#define SECPOLCTL_EXIT_USAGE 2

/*  `secpolctl policy SUBCOMMAND ...`: argv[0] is "policy", argv[1] the
 *  subcommand, argv[2..] the words after it (run getopt_long on argv + 1
 *  after setting optind = 0). The dispatcher has already answered --help
 *  and -h (never passed on), taken the global options out wherever they
 *  stood, and refused options the command table in secpolctl.c does not
 *  list for the subcommand; the options left are spelled --name or
 *  --name=value. client is connected with the global --endpoint, --timeout
 *  and --request-id for subcommands the table marks as needing a server,
 *  else NULL (such a subcommand that does want a server later calls
 *  secpolctl_client()). Returns the exit code. Implemented in
 *  secpolctl_policy.c. */
int secpolctl_policy (secpol_client_t *client, int argc, char **argv);

/*  `secpolctl session SUBCOMMAND ...`, as secpolctl_policy() takes its
 *  words. Implemented in secpolctl_session.c. */
int secpolctl_session_main (secpol_client_t *client, int argc, char **argv);

/*  `secpolctl token SUBCOMMAND ...`, as secpolctl_policy() takes its
 *  words. Implemented in secpolctl_token.c. */
int secpolctl_token_main (secpol_client_t *client, int argc, char **argv);

/*  `secpolctl lockout SUBCOMMAND ...`, as secpolctl_policy() takes its
 *  words. Implemented in secpolctl_lockout.c. */
int secpolctl_lockout_main (secpol_client_t *client, int argc, char **argv);

/*  `secpolctl password SUBCOMMAND ...` and `secpolctl account SUBCOMMAND
 *  ...` (argv[0] says which), as secpolctl_policy() takes its words.
 *  Implemented in secpolctl_password.c. */
int secpolctl_password_main (secpol_client_t *client, int argc, char **argv);

/*  The output format the user chose with -o/--output, or else the
 *  command's default (its entry in the command table). */
typedef enum {
    SECPOLCTL_OUTPUT_JSON, /* one JSON document on stdout */
    SECPOLCTL_OUTPUT_TEXT, /* lines for people, control characters escaped */
} secpolctl_output_t;
secpolctl_output_t secpolctl_output (void);

/*  The client for the global --endpoint, --timeout and --request-id, made
 *  on first use: the endpoint is checked (a malformed one is a usage error)
 *  and the connection must come up within a second (min (timeout, 1 s)),
 *  so nothing listening fails fast. Returns the client (owned by
 *  secpolctl.c, destroyed at exit), or NULL after printing why on stderr
 *  (`UNAVAILABLE: cannot reach secpold at E (is it running?)`) with
 *  *code_p set to the exit code (SECPOLCTL_EXIT_USAGE or SECPOL_UNAVAILABLE).
 *  For a subcommand that validates its words before it connects. */
secpol_client_t *secpolctl_client (int *code_p);

/*  Prints a message in the chosen output format: JSON (indented, proto
 *  field names, every field) or text (one `path: value` line per field,
 *  `login_lockout.max_failures: 5`, values escaped). Returns the exit code
 *  (SECPOL_INTERNAL when it cannot be converted). */
int secpolctl_print_message (const ProtobufCMessage *message);

/*  Prints the outcome of a call exactly as `secpolctl call` does, and
 *  returns its exit code: on code 0 the response on stdout with
 *  secpolctl_print_message() (JSON unless -o text), exit 0; otherwise on stderr
 *  `NAME: message` (NAME the status name, e.g. INVALID_ARGUMENT) and one
 *  line `  field: description` per field violation from
 *  secpol_client_status (client), and returns code. response may be NULL
 *  (printed as {}). Does not free response. */
int secpolctl_print_response (secpol_client_t *client, int code, const ProtobufCMessage *response);

/*  Does what `secpolctl call` does: looks method_path up in the registry
 *  (any form `call` takes: /secpol.v1.Svc/Method, Svc/Method, ...),
 *  converts json_text (NULL or blank = {}) to its request type, calls it and
 *  prints the outcome with secpolctl_print_response(). Returns the exit code
 *  (SECPOLCTL_EXIT_USAGE, with a message on stderr naming the field, when
 *  the JSON does not fit the request type; UNIMPLEMENTED when the method is
 *  not in the registry). */
int secpolctl_call_json (secpol_client_t *client, const char *method_path, const char *json_text);

/*  Prints `secpolctl: <message>` on stderr and returns SECPOLCTL_EXIT_USAGE. */
int secpolctl_usage_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  Reads text, the value of an option (option: its name as typed,
 *  "--page-size"), as a whole number from 0 to max: decimal digits only, no
 *  sign, space or exponent. Returns SECPOLCTL_EXIT_OK with *value_p set, or
 *  SECPOLCTL_EXIT_USAGE after the usage error `OPTION takes a whole number
 *  RANGE, not "TEXT"`, TEXT escaped as secpol_json_escape_text() does (no
 *  control character of the command line reaches the terminal). range says
 *  what the number may be ("(0 = until expiry)", "" for nothing); NULL says
 *  "from 0 to MAX". */
int secpolctl_number_option (uint64_t *value_p, const char *option, const char *text, uint64_t max,
                             const char *range);

/*  Reads word as a value of an enum whose names start with prefix
 *  ("TOKEN_KIND_"), as people write it: with or without the prefix, in any
 *  case, "-" for "_" (password-reset, PASSWORD_RESET). The zero
 *  (_UNSPECIFIED) is no value. Returns the value, or 0 after printing
 *  `secpolctl: "WORD" is not a WHAT<note>; one of:` and the names without
 *  their prefix on stderr (the caller then exits SECPOLCTL_EXIT_USAGE). */
int secpolctl_enum_word (const ProtobufCEnumDescriptor *descriptor, const char *prefix,
                         const char *word, const char *what, const char *note);

/*  Reads a secret (a password, a one-time code) as the first line of stdin
 *  into buffer (size bytes, NUL-terminated, "\r\n" cut), never from the
 *  command line: out of the process list and the shell's history. On a
 *  terminal it asks on stderr with prompt, echo off. stdin is unbuffered
 *  so that no copy stays in stdio's buffer and nothing after the line is
 *  consumed. An empty line is a usage error "<command>: <missing>";
 *  a read error INTERNAL. Returns the exit code (SECPOLCTL_EXIT_OK when a
 *  line was read). The caller wipes buffer with secpolctl_wipe(). */
int secpolctl_read_secret (char *buffer, size_t size, const char *prompt, const char *command,
                           const char *missing);

/*  Zeroes size bytes at buffer in a way the compiler may not drop. */
void secpolctl_wipe (void *buffer, size_t size);

/*  `secpolctl otp SUBCOMMAND ...`, as secpolctl_policy() takes its words.
 *  Implemented in secpolctl_otp.c. */
int secpolctl_otp_main (secpol_client_t *client, int argc, char **argv);

/*  Reads all of stdin into a malloc'd NUL-terminated string (for JSON given
 *  as "-"). Returns NULL on a read error. Caller owns return value. */
char *secpolctl_read_stdin (void);

#endif
