/*  secpolctl.c - command line client of secpold.
 *
 *  secpolctl [options] COMMAND [ARGS] [options]
 *
 *  The command table below (secpolctl_commands) names every command and subcommand
 *  with its arguments, its own options, its help, whether it needs a server
 *  and its output format. One pass over argv takes the global options out
 *  wherever they stand (before "--"), follows the words that name a command
 *  down the table, refuses an option the command does not list (one line,
 *  pointing at its --help) and keeps the rest for the command. --help or -h
 *  anywhere prints the help of the command named so far, from the table,
 *  and contacts nothing; so do `secpolctl help [COMMAND...]` and a group
 *  named without its subcommand (on stderr, exit 2).
 *
 *  Every method comes from the generated registry (secpol_registry.h) and
 *  JSON goes through the protobuf-c descriptors (json_pb.h), so a service
 *  added to a .proto works here with no change to this file.
 */
#include "secpolctl_internal.h"

#include "json_pb.h"
#include "secpol/secpol_registry.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"

#include <ctype.h>
#include <strings.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef SECPOL_VERSION
#define SECPOL_VERSION "unknown"
#endif

#define S_DEFAULT_TIMEOUT_MS 5000
//  How long a command waits for the connection to come up before it says
//  nothing is listening (or the timeout, when that is shorter).
#define S_CONNECT_MS 1000
//  Where help puts the description column, at most.
#define S_HELP_COLUMN 32
#define S_N_COMMANDS  (sizeof secpolctl_commands / sizeof secpolctl_commands[0])

//  What the command line asked for, once parsed.
typedef struct {
    const secpolctl_command_t *command; /* the deepest command named */
    const char *timeout_text;           /* --timeout or $SECPOL_TIMEOUT, NULL = default */
    const char *output_text;            /* --output, NULL = the command's default */
    bool help;                          /* --help, -h or the word "help" */
    bool version;                       /* --version, -V */
    bool unknown_command;               /* error names a command: wins over --help */
    char error[512];                    /* the first mistake, "" when none */
    int argc;                           /* words left for the command */
    char **argv;                        /* argc of them, then NULL */
    int n_positional;                   /* of which positional (not options, not "--") */
    int dashdash;                       /* index in argv where "--" stood, -1 = none */
    char **owned;                       /* strings made here, freed at exit */
    int n_owned;
} s_line_t;

static int s_parse (s_line_t *line, int argc, char **argv);
static int s_parse_option (s_line_t *line, int argc, char **argv, int index);
static const secpolctl_option_t *s_find_option (const secpolctl_option_t *options, const char *name,
                                                size_t length, char letter);
static void s_apply_global (s_line_t *line, const secpolctl_option_t *option, const char *value);
static int s_keep_option (s_line_t *line, const secpolctl_option_t *option, const char *value);
static void s_keep (s_line_t *line, char *word);
static void s_mistake (s_line_t *line, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void s_line_free (s_line_t *line);
static const secpolctl_command_t *s_child (const secpolctl_command_t *group, const char *word);
static bool s_is_child (const secpolctl_command_t *group, const secpolctl_command_t *command);
static void s_help (FILE *out, const secpolctl_command_t *command);
static void s_help_item (FILE *out, int width, const char *term, const char *text);
static int s_check_args (const s_line_t *line);
static bool s_endpoint_valid (const char *endpoint, char *why, size_t size);
static bool s_endpoints_valid (const char *endpoints, char *why, size_t size);
static secpol_client_t *s_open (int *code_p, char *why, size_t size);
static void s_print_text (char *path, size_t length, size_t size, json_t *value);
static secpolctl_run_t s_run_call;
static secpolctl_run_t s_run_health;
static secpolctl_run_t s_run_version;
static secpolctl_run_t s_run_in_group;
static int s_call_print (secpol_client_t *client, const char *path,
                         const ProtobufCMessage *request);
static int s_prepare_call (char *path, size_t size, ProtobufCMessage **request_p,
                           const char *method_name, const char *json_text);

//  --------------------------------------------------------------------------
//  The command table

const secpolctl_option_t secpolctl_global_options[] = {
    {"endpoint", 'e', "E",
     "secpold's ZeroMQ endpoint: tcp://HOST:PORT,\n"
     "ipc://PATH or inproc://NAME (env SECPOL_ENDPOINT;\n"
     "default " SECPOL_CLIENT_DEFAULT_ENDPOINT ");\n"
     "several instances of one deployment: E1,E2,...\n"
     "(calls spread over them; reads move on from a\n"
     "dead one, writes are never sent twice)"},
    {"timeout", 't', "MS",
     "wait at most MS ms for each answer, 0 = forever\n"
     "(env SECPOL_TIMEOUT; default 5000); a secpold\n"
     "that is not reachable fails within a second"},
    {"request-id", 'r', "ID", "request id for the server's logs"},
    {"server-key", 'S', "FILE",
     "CURVE: secpold's public certificate (or its Z85\n"
     "key); env SECPOL_SERVER_KEY. With --client-cert"},
    {"client-cert", 'C', "FILE",
     "CURVE: this client's secret certificate\n"
     "(secpolctl keygen); env SECPOL_CLIENT_CERT"},
    {"output", 'o', "FORMAT", "json or text (each command has its default)"},
    {"help", 'h', NULL, "this help; after a command, the command's"},
    {"version", 'V', NULL, "print secpolctl's version (secpolctl version:\nsecpold's too)"},
    {NULL, 0, NULL, NULL},
};

static const secpolctl_option_t s_community_option = {
    "community", 'c', "C", "a community of the workspace (default: the\nworkspace level)"};
static const secpolctl_option_t s_policy_level_options[] = {s_community_option, {NULL, 0, 0, 0}};
static const secpolctl_option_t s_expected_version_option = {
    "expected-version", 0, "N", "refuse (ABORTED) unless the level is at version N"};
static const secpolctl_option_t s_actor_option = {"actor", 0, "A",
                                                  "who makes the change, kept in the history"};
static const secpolctl_option_t s_page_token_option = {"page-token", 0, "T",
                                                       "continue where the previous page stopped"};
static const secpolctl_option_t s_json_option = {"json", 0, NULL,
                                                 "print the response as JSON (as -o json)"};
static const secpolctl_option_t s_policy_set_options[] = {
    s_community_option,
    s_expected_version_option,
    s_actor_option,
    {"create", 0, NULL,
     "create the level when it stores nothing yet\n(else refused: a typo in an id)"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_policy_delete_options[] = {
    s_community_option, s_expected_version_option, s_actor_option, {NULL, 0, NULL, NULL}};
static const secpolctl_option_t s_policy_headers_options[] = {
    s_community_option, s_json_option, {NULL, 0, NULL, NULL}};
static const secpolctl_option_t s_policy_history_options[] = {
    s_community_option,    {"page-size", 0, "N", "revisions per page (default 50, at most 500)"},
    s_page_token_option,   s_json_option,
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_policy_list_options[] = {
    {"page-size", 0, "N", "levels per page (default 50, at most 500)"},
    s_page_token_option,
    {NULL, 0, NULL, NULL},
};

static const secpolctl_option_t s_session_create_options[] = {
    {"remember-me", 0, NULL, "a remember-me session (when the policy allows it)"},
    s_community_option,
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_session_validate_options[] = {
    {"touch", 0, NULL, "the subject is active: move the idle deadline"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_session_revoke_options[] = {
    {"session-id", 0, "ID", "with W SUBJECT: the session of that id\n(secpolctl session list)"},
    {"all", 0, NULL, "with W SUBJECT: every session of the subject"},
    {"except", 0, "TOKEN", "with --all: keep this one (\"-\" reads it from stdin)"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_session_list_options[] = {
    {"page-size", 0, "N", "sessions per page (default 50, at most 100)"},
    s_page_token_option,
    {NULL, 0, NULL, NULL},
};

static const secpolctl_option_t s_token_issue_options[] = {
    s_community_option,
    {"bound-to", 0, "B",
     "what the token is for (an email address, an idea id);\n"
     "verify and consume may name it to check it"},
    {"max-uses", 0, "N", "view kinds: uses before it ends (0 = until expiry)"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_token_use_options[] = {
    {"workspace", 0, "W", "refuse a token of another workspace"},
    {"bound-to", 0, "B", "refuse a token bound to something else"},
    {NULL, 0, NULL, NULL},
};

static const secpolctl_option_t s_lockout_status_options[] = {
    {"kind", 0, "K", "login, claim or two-factor (default: all three)"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_lockout_unlock_options[] = {
    {"kind", 0, "K", "login, claim or two-factor (required)"},
    {NULL, 0, NULL, NULL},
};

static const secpolctl_option_t s_password_check_options[] = {
    {"community", 0, "C", "the community's level (default: the workspace's)"},
    {"user-input", 0, "X", "the user's name, email, ...: the password must not hold it (repeat)"},
    {"admin-forced", 0, NULL, "an admin sets it: the change interval does not apply"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_audit_options[] = {
    {"workspace", 0, "W", "only events of workspace W"},
    {"subject", 0, "S", "only events of subject S"},
    {"kind", 0, "K", "only events of kind K (policy-updated, locked-out, ...)"},
    {"since", 0, "T", "only events at or after T (unix seconds or\n2026-12-01T12:00:00Z)"},
    {"until", 0, "T", "only events before T"},
    {"page-size", 0, "N", "events per page (default 50, at most 500)"},
    s_page_token_option,
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_keygen_options[] = {
    {"role", 0, "R", "admin or service (default service): what the key may\ncall"},
    {"dir", 0, "D", "where to write the two files (default .)"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_otp_begin_options[] = {
    {"issuer", 0, "I", "the product or workspace the app shows (in the URI)"},
    {NULL, 0, NULL, NULL},
};
static const secpolctl_option_t s_account_status_options[] = {
    {"community", 0, "C", "the community's level (default: the workspace's)"},
    {NULL, 0, NULL, NULL},
};

//  After the option list of `secpolctl --help`.
static const char s_root_epilogue[] =
    "Options may stand before or after the command. \"secpolctl COMMAND --help\"\n"
    "(or \"secpolctl help COMMAND\") prints a command's help without contacting\n"
    "the server.\n"
    "\n"
    "Methods:\n"
    "A method is written as its wire path (/secpol.v1.Health/Check) or, shorter,\n"
    "secpol.v1.Health/Check, Health/Check or secpol.v1.Health.Check. JSON input\n"
    "takes proto field names or lowerCamelCase, enums by name or number; JSON\n"
    "output prints every field by its proto name.\n"
    "\n"
    "Environment:\n"
    "  SECPOL_ENDPOINT     default of --endpoint\n"
    "  SECPOL_TIMEOUT      default of --timeout\n"
    "  SECPOL_SERVER_KEY   default of --server-key\n"
    "  SECPOL_CLIENT_CERT  default of --client-cert\n"
    "\n"
    "Exit status:\n"
    "  0     OK\n"
    "  2     usage error (bad option, command, endpoint, JSON or field): nothing\n"
    "        was sent; also status UNKNOWN (stderr tells them apart)\n"
    "  1-16  the status code of the failed call, e.g. 3 INVALID_ARGUMENT, 5\n"
    "        NOT_FOUND, 12 UNIMPLEMENTED, 14 UNAVAILABLE (secpold not reachable,\n"
    "        no answer within the timeout, or health not SERVING)\n";

//  Groups come before their subcommands; help lists children in this order.
const secpolctl_command_t secpolctl_commands[] = {
    {"", "[options] COMMAND [ARGS]", "",
     "Command line client of secpold, the secpol security-policy service.", NULL, 0, -1, NULL,
     false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"call", "METHOD [JSON | -]", "call a method with a JSON request, print the answer",
     "Calls METHOD with a JSON request (default {}; \"-\" reads it from stdin) and\n"
     "prints the response. METHOD is a wire path (/secpol.v1.Health/Check) or,\n"
     "shorter, secpol.v1.Health/Check, Health/Check or secpol.v1.Health.Check:\n"
     "\"secpolctl list\" shows every method, \"secpolctl describe METHOD\" its\n"
     "fields. The method and the JSON are checked before anything is sent.\n"
     "\n"
     "JSON input takes proto field names or lowerCamelCase, enums by name or\n"
     "number. Output: JSON with every field by its proto name, or with -o text\n"
     "one \"field: value\" line per field.",
     NULL, 1, 2, "json", false, SECPOLCTL_COMPLETE_METHOD, s_run_call},
    {"list", "[SERVICE]", "every method with its request and response types",
     "Lists every method of the contract (or of SERVICE: secpol.v1.PolicyService\n"
     "or PolicyService) with its request and response types. Needs no server: the\n"
     "list comes from the descriptors secpolctl was built with.",
     NULL, 0, 1, "text", false, SECPOLCTL_COMPLETE_SERVICE, secpolctl_run_list},
    {"describe", "[NAME]", "a service, method, message or enum with its fields",
     "Prints NAME, a service, method, message or enum of the contract, with its\n"
     "fields (name, number, type, label) or values, and the comments of its\n"
     ".proto file; without NAME, every service. NAME is a full name\n"
     "(secpol.v1.Policy) or, when that is unique, a short one (Policy); a\n"
     "method is written as for call. Needs no server.",
     NULL, 0, 1, "text", false, SECPOLCTL_COMPLETE_SCHEMA, secpolctl_run_describe},
    {"health", "", "check the server (exit 0 only when SERVING)",
     "Calls Health/Check and prints the answer: status, version, store schema\n"
     "version and the server's clock. Exits 0 only when secpold is SERVING.",
     NULL, 0, 0, "json", true, SECPOLCTL_COMPLETE_NONE, s_run_health},
    {"stats", "", "the store and its writer: tables, map, disk, readers, commits",
     "Prints AdminService/GetStats (admin role): entries and pages per table,\n"
     "the map's size and use, free pages, the file and the free disk, reader\n"
     "slots used and active, the last commit (when, how long) and the sizes of\n"
     "group-commit batches, refusals for a full disk, expired records swept,\n"
     "stale readers cleared, requests queued per lane. See docs/OPERATIONS.md.",
     NULL, 0, 0, "text", true, SECPOLCTL_COMPLETE_NONE, secpolctl_run_stats},
    {"backup", "PATH", "a compacted copy of the store, made while secpold serves",
     "Asks secpold (admin role) to write a compacted, consistent copy of its\n"
     "store into PATH, a new directory on secpold's host: PATH must be\n"
     "absolute, must not exist, its parent must, and it must be outside the\n"
     "data dir. PATH gets data.mdb and secret.key (mode 0600, the directory\n"
     "0700). Never overwrites. Waits up to 10 minutes (or --timeout if\n"
     "longer). Restore: stop secpold, put PATH's two files in an empty data\n"
     "dir, start it (docs/OPERATIONS.md).",
     NULL, 1, 1, "text", true, SECPOLCTL_COMPLETE_NONE, secpolctl_run_backup},
    {"version", "", "secpolctl's version, and secpold's when it answers",
     "Prints secpolctl's version and, when secpold answers Health/Check, the\n"
     "server's version and store schema. A server that cannot be reached is\n"
     "said on stderr; the exit status stays 0.",
     NULL, 0, 0, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_version},
    {"completion", "bash", "a bash completion script",
     "Prints a bash script completing secpolctl's commands, options, method\n"
     "names and policy settings. Load it with\n"
     "  source <(secpolctl completion bash)\n"
     "or save it as /usr/share/bash-completion/completions/secpolctl.",
     NULL, 1, 1, NULL, false, SECPOLCTL_COMPLETE_SHELL, secpolctl_run_completion},
    {"audit", "", "the audit log, newest first (an admin call)",
     "Lists audit events (AuditService/ListAuditEvents), newest first, one line\n"
     "each: time, id, kind, caller (the client's certificate name), workspace,\n"
     "community, subject, method and detail. Options narrow the list; when more\n"
     "events are left, stderr says which --page-token continues. Kinds:\n"
     "policy-updated, policy-deleted, password-reset-forced, locked-out,\n"
     "unlocked, tokens-revoked, session-revoked, sessions-revoked,\n"
     "totp-enrollment-begun, totp-enrollment-confirmed, totp-removed,\n"
     "recovery-code-used, recovery-codes-regenerated. See docs/SECURITY.md.",
     s_audit_options, 0, 0, "text", false, SECPOLCTL_COMPLETE_NONE, secpolctl_run_audit},
    {"keygen", "NAME", "a CURVE key pair: NAME and NAME_secret",
     "Writes a CURVE key pair as two czmq certificates, DIR/NAME (public) and\n"
     "DIR/NAME_secret (with the secret key, mode 0600), whose metadata names\n"
     "NAME and its role. A client's public certificate goes into secpold's\n"
     "--authorized-keys directory; the server's own public one goes to every\n"
     "client as --server-key; secret files stay where they are used. Never\n"
     "overwrites a file. Prints the paths and the key's fingerprint (what\n"
     "secpold logs for a key it refuses). Needs no server. See\n"
     "docs/SECURITY.md.",
     s_keygen_options, 1, 1, NULL, false, SECPOLCTL_COMPLETE_NONE, secpolctl_run_keygen},
    {"policy", "COMMAND [ARGS]", "workspace security policies (policy --help)",
     "Shortcuts for PolicyService: the 54 security settings of a workspace, or of\n"
     "one of its communities (--community), their revisions, the HTTP security\n"
     "headers and upload checks. Settings, units, defaults and ranges:\n"
     "docs/POLICY.md.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"policy get", "WORKSPACE", "the effective policy: every setting",
     "Prints the effective policy of WORKSPACE, or of a community with\n"
     "--community: every setting, each from the level that sets it (defaults,\n"
     "then the workspace, then the community), and the version of the level\n"
     "addressed.",
     s_policy_level_options, 0, -1, "json", true, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"policy set", "WORKSPACE SETTING=VALUE...", "change settings; only those named",
     "Changes the settings named, and only those (they form the update mask):\n"
     "  nested  login_lockout.max_failures=5 hsts.preload=true\n"
     "  lists   allowed_file_extensions=pdf,png (empty: allowed_file_extensions=)\n"
     "  enums   password_policy=high\n"
     "  bools   true or false (also yes/no, on/off, 1/0)\n"
     "Every name and value is checked before connecting (secpolctl policy\n"
     "settings lists them); one bad value stores nothing. A level that stores\n"
     "nothing yet is changed only with --create. Prints what changed and the\n"
     "new version (-o json: the policy after the change).",
     s_policy_set_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_SETTING, s_run_in_group},
    {"policy delete", "WORKSPACE", "return a level to inheriting everything",
     "Deletes what the level of WORKSPACE (or of a community, with --community)\n"
     "stores: every setting is inherited again. The history keeps the delete.\n"
     "Prints what changed (-o json: the answer of DeletePolicy).",
     s_policy_delete_options, 0, -1, "text", true, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"policy headers", "WORKSPACE", "the HTTP security headers, one per line",
     "Prints the HTTP security headers the web tier sends for WORKSPACE (or a\n"
     "community), one \"Name: value\" line each; warnings (deprecated headers\n"
     "being sent) go to stderr.",
     s_policy_headers_options, 0, -1, "text", true, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"policy history", "WORKSPACE", "who changed what and when, newest first",
     "Prints the revisions of a level, newest first: version, time, actor, and\n"
     "each field changed with its old and new value. When more revisions are\n"
     "left, stderr says which --page-token continues.",
     s_policy_history_options, 0, -1, "text", true, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"policy check-upload", "WORKSPACE FILENAME", "whether an upload named FILENAME is allowed",
     "Asks whether a file named FILENAME may be uploaded (its extension against\n"
     "allowed_file_extensions).",
     s_policy_level_options, 0, -1, "json", true, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"policy list", "[WORKSPACE]", "the levels (workspaces, communities) storing settings",
     "Lists the levels that store settings (every workspace, or the workspace\n"
     "and communities of WORKSPACE): version, how many settings each\n"
     "overrides, when and by whom it was last changed. When more are left,\n"
     "stderr says which --page-token continues.",
     s_policy_list_options, 0, -1, "text", true, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"policy settings", "", "every setting: type, unit, range and default",
     "Lists every setting with its type, unit, allowed values and default,\n"
     "from the table secpold validates with (-o json adds what each does,\n"
     "what 0 means and who enforces it). Needs no server.",
     NULL, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"session", "COMMAND [ARGS]", "login sessions (session --help)",
     "Shortcuts for SessionService: create, validate, revoke and list the login\n"
     "sessions of a subject. A TOKEN given as \"-\" is read from stdin (its first\n"
     "line), which keeps it out of the process list and the shell's history.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"session create", "WORKSPACE SUBJECT", "a new session; prints its token, once",
     "Creates a session for SUBJECT in WORKSPACE, timed by the workspace's\n"
     "policy (or its community's, with --community), and prints it with its\n"
     "token: the only time the token is shown.",
     s_session_create_options, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"session validate", "TOKEN", "whether a session token is live, and whose",
     "Prints the session a token belongs to while it is live; NOT_FOUND (exit\n"
     "5) for any token that is not, whatever the reason.",
     s_session_validate_options, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"session revoke", "TOKEN | WORKSPACE SUBJECT", "end one session, or all of a subject",
     "Ends the session of TOKEN; or, with WORKSPACE SUBJECT, the one named by\n"
     "--session-id, or with --all every session of the subject (but the one\n"
     "given with --except).",
     s_session_revoke_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"session list", "WORKSPACE SUBJECT", "live sessions of a subject (never a token)",
     "Lists the live sessions of SUBJECT: id, when created and last seen, when\n"
     "they expire, remember-me. When more are left, stderr says which\n"
     "--page-token continues.",
     s_session_list_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"token", "COMMAND [ARGS]", "emailed link tokens (token --help)",
     "Shortcuts for TokenService: issue, verify, consume and revoke the link\n"
     "tokens the product emails. KIND is a TokenKind in any spelling\n"
     "(password-reset, PASSWORD_RESET). A TOKEN given as \"-\" is read from\n"
     "stdin (its first line), out of the process list and the shell's history.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"token issue", "WORKSPACE KIND SUBJECT", "a new link token; prints it, once",
     "Issues a token of KIND for SUBJECT in WORKSPACE, timed by the kind's\n"
     "lifetime in the workspace's policy (or its community's), and prints it\n"
     "with its expiry: the only time the token is shown. A single-use kind\n"
     "revokes the subject's older token of that kind.",
     s_token_issue_options, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"token verify", "TOKEN KIND", "what a token is for, without spending a use",
     "Prints what a live token of KIND is for; NOT_FOUND (exit 5) for any token\n"
     "that cannot be used, FAILED_PRECONDITION (exit 9) for an expired one.",
     s_token_use_options, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"token consume", "TOKEN KIND", "use a token (a single-use kind: exactly once)",
     "Spends one use of a live token of KIND and prints what it is for; the\n"
     "answers are those of verify.",
     s_token_use_options, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"token revoke", "WORKSPACE SUBJECT [KIND]", "end a subject's live tokens",
     "Ends every live token of SUBJECT in WORKSPACE, or only those of KIND, and\n"
     "says how many.",
     NULL, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"lockout", "COMMAND [ARGS]", "failed-attempt locks (lockout --help)",
     "Shortcuts for LockoutService: see a subject's failed-attempt counters and\n"
     "locks, and lift a lock. K is a LockoutKind in any spelling (login,\n"
     "two-factor, LOCKOUT_KIND_CLAIM). See docs/LOCKOUT.md.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"lockout status", "WORKSPACE SUBJECT", "a subject's failures and locks",
     "Prints, for K or for the three kinds, whether SUBJECT is locked in\n"
     "WORKSPACE, its failures counting now, the attempts left before a lock,\n"
     "and when a lock ends. Changes nothing (CheckLockout). With -o json the\n"
     "LockoutStatus, or an array of the three.",
     s_lockout_status_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"lockout unlock", "WORKSPACE SUBJECT", "lift a lock and forget the failures",
     "Clears the failures and any lock of SUBJECT in WORKSPACE for K (Unlock,\n"
     "an admin action) and prints the counter after it.",
     s_lockout_unlock_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp", "COMMAND [ARGS]", "one-time codes and authenticator apps (otp --help)",
     "Shortcuts for OtpService: email two-step codes, authenticator apps (TOTP)\n"
     "and recovery codes, one command per method. A code is read from stdin,\n"
     "its first line (on a terminal, asked with echo off), never from the\n"
     "command line. Verifications print \"ok\" or \"refused: REASON\" and the\n"
     "two-factor counter, exit 0 whenever the server answered. See docs/OTP.md.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"otp issue-email", "WORKSPACE SUBJECT PURPOSE", "a new email code; prints it, once",
     "Issues a 6-digit email code for SUBJECT and PURPOSE (sign_in, ...)\n"
     "(IssueEmailOtp), replacing the one before, and prints it with its expiry:\n"
     "the only time it is shown. Needs email_two_step_enabled.",
     NULL, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp verify-email", "WORKSPACE SUBJECT PURPOSE", "check an email code read from stdin",
     "Reads a code from stdin and asks VerifyEmailOtp: used once, burned after\n"
     "5 wrong tries; every refusal counts a two-factor failure.",
     NULL, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp begin", "WORKSPACE SUBJECT ACCOUNT", "start an authenticator app enrollment",
     "Makes a new TOTP secret for SUBJECT, pending until confirmed\n"
     "(BeginTotpEnrollment), and prints it in Base32 and as the otpauth:// URI\n"
     "an app reads from a QR code. ACCOUNT is how the app names the user.",
     s_otp_begin_options, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp confirm", "WORKSPACE SUBJECT", "confirm it with a code from stdin; prints recovery codes",
     "Reads a code of the pending secret from stdin (ConfirmTotpEnrollment): the\n"
     "app becomes the active one and its 10 recovery codes are printed, once.",
     NULL, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp verify", "WORKSPACE SUBJECT", "check an authenticator code read from stdin",
     "Reads a code from stdin and asks VerifyTotp: the current step or one\n"
     "either side, each step once (\"refused: replayed\" after).",
     NULL, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp recover", "WORKSPACE SUBJECT", "use a recovery code read from stdin",
     "Reads a recovery code from stdin and asks VerifyRecoveryCode: each code\n"
     "works once; prints how many are left.",
     NULL, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp regenerate", "WORKSPACE SUBJECT", "new recovery codes; prints them, once",
     "Replaces SUBJECT's recovery codes with 10 new ones\n"
     "(RegenerateRecoveryCodes) and prints them: the old ones stop working.",
     NULL, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp remove", "WORKSPACE SUBJECT", "remove the authenticator app and recovery codes",
     "Removes SUBJECT's active and pending app and its recovery codes\n"
     "(RemoveTotp).",
     NULL, 0, -1, "json", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"otp status", "WORKSPACE SUBJECT", "whether an app is enrolled, drift, codes left",
     "Prints SUBJECT's TotpStatus (GetTotpStatus): enrolled, pending, when\n"
     "confirmed and last used, the drift seen, recovery codes left.",
     NULL, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"password", "COMMAND [ARGS]", "password rules (password --help)",
     "Shortcuts for PasswordService: judge a candidate password under the\n"
     "workspace's (or a community's) rules. The password is read from stdin,\n"
     "its first line, never from the command line. See docs/PASSWORDS.md.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"password check", "WORKSPACE SUBJECT", "judge a password read from stdin",
     "Reads a password from stdin (its first line; on a terminal, asked with\n"
     "echo off) and asks CheckPassword whether SUBJECT may take it in\n"
     "WORKSPACE: the level's rules, the user inputs, history, change interval.\n"
     "Prints \"ok\" or one \"CODE: message\" line per broken rule (TOO_SHORT,\n"
     "COMMON, REUSED, ...); with -o json the CheckPasswordResponse. Exit 0\n"
     "whenever the server answered. Stores nothing; never prints the password.",
     s_password_check_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
    {"account", "COMMAND [ARGS]", "account status (account --help)",
     "Shortcuts for PasswordService's account status: forced reset,\n"
     "inactivity, last activity and password change. See docs/PASSWORDS.md.",
     NULL, 0, -1, NULL, false, SECPOLCTL_COMPLETE_NONE, NULL},
    {"account status", "WORKSPACE SUBJECT", "must reset, inactive, last change",
     "Prints SUBJECT's AccountStatus in WORKSPACE (GetAccountStatus) under the\n"
     "workspace's or C's level: must_reset_password, inactive, last_active_at,\n"
     "password_changed_at, next_change_allowed_at (0 = never, or now).",
     s_account_status_options, 0, -1, "text", false, SECPOLCTL_COMPLETE_NONE, s_run_in_group},
};
const size_t secpolctl_commands_count = S_N_COMMANDS;

//  What every command may ask of the session: the global options and the
//  one client.
static struct {
    const char *endpoint;      /* --endpoint or $SECPOL_ENDPOINT */
    int timeout_ms;            /* --timeout; 0 = forever */
    const char *request_id;    /* --request-id, NULL = none */
    const char *server_key;    /* --server-key; NULL = $SECPOL_SERVER_KEY or no CURVE */
    const char *client_cert;   /* --client-cert; NULL = $SECPOL_CLIENT_CERT or no CURVE */
    secpolctl_output_t output; /* -o, or the command's default */
    secpol_client_t *client;   /* made by secpolctl_client () */
} s_session;

int
main (int argc, char **argv)
{
    //  Ctrl-C ends secpolctl at once instead of setting zsys_interrupted.
    zsys_handler_set (NULL);

    s_session.endpoint = getenv ("SECPOL_ENDPOINT");
    if (!s_session.endpoint || !*s_session.endpoint)
        s_session.endpoint = SECPOL_CLIENT_DEFAULT_ENDPOINT;
    s_session.timeout_ms = S_DEFAULT_TIMEOUT_MS;

    s_line_t line;
    int code = s_parse (&line, argc, argv);
    if (code != SECPOLCTL_EXIT_OK)
        goto done;
    const secpolctl_command_t *command = line.command;
    code = SECPOLCTL_EXIT_USAGE;
    if (*line.error && (line.unknown_command || !line.help)) {
        secpolctl_usage_error ("%s", line.error);
        goto done;
    }
    if (line.help) {
        s_help (stdout, command);
        code = SECPOLCTL_EXIT_OK;
        goto done;
    }
    if (line.version) {
        printf ("secpolctl %s\n", SECPOL_VERSION);
        code = SECPOLCTL_EXIT_OK;
        goto done;
    }
    if (!command->run) {
        //  A group without its subcommand: what could have followed.
        s_help (stderr, command);
        goto done;
    }
    if ((code = s_check_args (&line)) != SECPOLCTL_EXIT_OK)
        goto done;
    if (line.output_text) {
        if (!command->output) {
            code = secpolctl_usage_error ("%s prints no data: -o does not apply (see secpolctl "
                                          "%s --help)",
                                          command->path, command->path);
            goto done;
        }
        if (strcmp (line.output_text, "json") != 0 && strcmp (line.output_text, "text") != 0) {
            code =
                secpolctl_usage_error ("--output takes json or text, not \"%s\"", line.output_text);
            goto done;
        }
    }
    //  A command's own --json is -o json by its older name.
    const char *output = line.output_text ? line.output_text : command->output;
    for (int i = 0; i < line.argc; i++)
        if (strcmp (line.argv[i], "--json") == 0)
            output = "json";
    s_session.output =
        output && strcmp (output, "text") == 0 ? SECPOLCTL_OUTPUT_TEXT : SECPOLCTL_OUTPUT_JSON;
    if (line.timeout_text) {
        char *end = NULL;
        errno = 0;
        long value = strtol (line.timeout_text, &end, 10);
        if (!*line.timeout_text || *end || errno || value < 0 || value > INT32_MAX) {
            code = secpolctl_usage_error ("--timeout takes milliseconds (0 = wait forever), "
                                          "not \"%s\"",
                                          line.timeout_text);
            goto done;
        }
        s_session.timeout_ms = (int)value;
    }
    secpol_client_t *client = NULL;
    if (command->server && !(client = secpolctl_client (&code)))
        goto done;
    code = command->run (command, client, line.argc, line.argv);
done:
    s_line_free (&line);
    secpol_client_destroy (&s_session.client);
    return code;
}

//  --------------------------------------------------------------------------
//  The command line

static int
s_parse (s_line_t *line, int argc, char **argv)
{
    memset (line, 0, sizeof *line);
    line->command = &secpolctl_commands[0];
    line->dashdash = -1;
    line->timeout_text = getenv ("SECPOL_TIMEOUT");
    line->argv = (char **)calloc ((size_t)argc + 2, sizeof *line->argv);
    //  At most one string made per option letter, so per byte of argv.
    size_t bytes = 0;
    for (int i = 1; i < argc; i++)
        bytes += strlen (argv[i]);
    line->owned = (char **)calloc (bytes + 1, sizeof *line->owned);
    if (!line->argv || !line->owned) {
        fprintf (stderr, "secpolctl: out of memory\n");
        return SECPOL_RESOURCE_EXHAUSTED;
    }
    bool options_end = false;
    for (int i = 1; i < argc; i++) {
        char *word = argv[i];
        if (!options_end && strcmp (word, "--") == 0) {
            options_end = true;
            line->dashdash = line->argc;
            continue;
        }
        if (!options_end && word[0] == '-' && word[1]) {
            i = s_parse_option (line, argc, argv, i);
            continue;
        }
        if (!line->command->run && line->n_positional == 0) {
            //  A group: the word names its subcommand (or asks for help).
            if (strcmp (word, "help") == 0) {
                line->help = true;
                continue;
            }
            const secpolctl_command_t *child = s_child (line->command, word);
            if (child) {
                line->command = child;
                continue;
            }
            const char *names[S_N_COMMANDS];
            size_t n = 0;
            for (size_t k = 0; k < S_N_COMMANDS; k++)
                if (s_is_child (line->command, &secpolctl_commands[k]))
                    names[n++] = strrchr (secpolctl_commands[k].path, ' ')
                                     ? strrchr (secpolctl_commands[k].path, ' ') + 1
                                     : secpolctl_commands[k].path;
            const char *nearest = secpolctl_nearest (word, names, n);
            const char *path = line->command->path;
            s_mistake (line, "unknown command '%s%s%s'%s%s%s (see secpolctl%s%s --help)", path,
                       *path ? " " : "", word, nearest ? "; did you mean '" : "",
                       nearest ? nearest : "", nearest ? "'?" : "", *path ? " " : "", path);
            line->unknown_command = true;
            break;
        }
        s_keep (line, word);
        line->n_positional++;
    }
    //  "--" matters only to a command that has options of its own.
    if (line->dashdash >= 0 && line->command->options) {
        memmove (line->argv + line->dashdash + 1, line->argv + line->dashdash,
                 (size_t)(line->argc - line->dashdash) * sizeof *line->argv);
        line->argv[line->dashdash] = "--";
        line->argc++;
    }
    return SECPOLCTL_EXIT_OK;
}

//  Parses the option at argv[index] (and its value); returns the index of
//  the last word it used.
static int
s_parse_option (s_line_t *line, int argc, char **argv, int index)
{
    const char *word = argv[index];
    const secpolctl_option_t *own = line->command->options;
    if (word[1] == '-') {
        const char *name = word + 2;
        const char *equals = strchr (name, '=');
        size_t length = equals ? (size_t)(equals - name) : strlen (name);
        const secpolctl_option_t *option =
            s_find_option (secpolctl_global_options, name, length, 0);
        bool global = option != NULL;
        if (!option)
            option = s_find_option (own, name, length, 0);
        if (!option) {
            s_mistake (line, "unknown option '%.*s'", (int)(length + 2), word);
            return index;
        }
        const char *value = equals ? equals + 1 : NULL;
        if (!option->value && value) {
            s_mistake (line, "option '--%s' takes no value", option->name);
            return index;
        }
        if (option->value && !value) {
            if (index + 1 >= argc) {
                s_mistake (line, "option '--%s' needs a value", option->name);
                return index;
            }
            value = argv[++index];
        }
        if (global)
            s_apply_global (line, option, value);
        else
            s_keep_option (line, option, value);
        return index;
    }
    //  A cluster of short options: -hV, -ojson, -o json.
    for (const char *letter = word + 1; *letter; letter++) {
        const secpolctl_option_t *option =
            s_find_option (secpolctl_global_options, NULL, 0, *letter);
        bool global = option != NULL;
        if (!option)
            option = s_find_option (own, NULL, 0, *letter);
        if (!option) {
            s_mistake (line, "unknown option '-%c'", *letter);
            return index;
        }
        const char *value = NULL;
        if (option->value) {
            if (letter[1])
                value = letter + 1;
            else if (index + 1 < argc)
                value = argv[++index];
            else {
                s_mistake (line, "option '-%c' needs a value", *letter);
                return index;
            }
        }
        if (global)
            s_apply_global (line, option, value);
        else
            s_keep_option (line, option, value);
        if (value)
            break;
    }
    return index;
}

static const secpolctl_option_t *
s_find_option (const secpolctl_option_t *options, const char *name, size_t length, char letter)
{
    for (const secpolctl_option_t *option = options; option && option->name; option++)
        if (name ? strlen (option->name) == length && memcmp (option->name, name, length) == 0
                 : option->letter == letter)
            return option;
    return NULL;
}

static void
s_apply_global (s_line_t *line, const secpolctl_option_t *option, const char *value)
{
    switch (option->letter) {
        case 'e':
            s_session.endpoint = value;
            break;
        case 't':
            line->timeout_text = value;
            break;
        case 'r':
            s_session.request_id = value;
            break;
        case 'S':
            s_session.server_key = value;
            break;
        case 'C':
            s_session.client_cert = value;
            break;
        case 'o':
            line->output_text = value;
            break;
        case 'h':
            line->help = true;
            break;
        case 'V':
            line->version = true;
            break;
    }
}

//  Keeps a command's own option for it, spelled --name or --name=value.
static int
s_keep_option (s_line_t *line, const secpolctl_option_t *option, const char *value)
{
    char *word =
        value ? zsys_sprintf ("--%s=%s", option->name, value) : zsys_sprintf ("--%s", option->name);
    if (!word)
        return SECPOL_RESOURCE_EXHAUSTED;
    line->owned[line->n_owned++] = word;
    s_keep (line, word);
    return SECPOLCTL_EXIT_OK;
}

static void
s_keep (s_line_t *line, char *word)
{
    line->argv[line->argc++] = word;
}

//  Keeps the first mistake, with where to look for the right way.
static void
s_mistake (s_line_t *line, const char *fmt, ...)
{
    if (*line->error)
        return;
    va_list args;
    va_start (args, fmt);
    int length = vsnprintf (line->error, sizeof line->error, fmt, args);
    va_end (args);
    if (length >= 0 && (size_t)length < sizeof line->error && !strstr (line->error, "--help)")) {
        const char *path = line->command->path;
        snprintf (line->error + length, sizeof line->error - (size_t)length,
                  " (see secpolctl%s%s --help)", *path ? " " : "", path);
    }
}

static void
s_line_free (s_line_t *line)
{
    for (int i = 0; line->owned && i < line->n_owned; i++)
        zstr_free (&line->owned[i]);
    free (line->owned);
    free (line->argv);
    line->owned = NULL;
    line->argv = NULL;
}

//  True when command is a direct subcommand of group.
static bool
s_is_child (const secpolctl_command_t *group, const secpolctl_command_t *command)
{
    size_t length = strlen (group->path);
    const char *rest = command->path;
    if (!*rest || command == group)
        return false;
    if (length) {
        if (strncmp (rest, group->path, length) != 0 || rest[length] != ' ')
            return false;
        rest += length + 1;
    }
    return *rest && !strchr (rest, ' ');
}

static const secpolctl_command_t *
s_child (const secpolctl_command_t *group, const char *word)
{
    for (size_t k = 0; k < S_N_COMMANDS; k++) {
        const secpolctl_command_t *command = &secpolctl_commands[k];
        if (!s_is_child (group, command))
            continue;
        const char *last = strrchr (command->path, ' ');
        if (strcmp (last ? last + 1 : command->path, word) == 0)
            return command;
    }
    return NULL;
}

//  Counts the positional words against the table.
static int
s_check_args (const s_line_t *line)
{
    const secpolctl_command_t *command = line->command;
    if (command->max_args < 0)
        return SECPOLCTL_EXIT_OK;
    if (line->n_positional < command->min_args)
        return secpolctl_usage_error ("%s needs %s (see secpolctl %s --help)", command->path,
                                      command->arguments, command->path);
    if (line->n_positional > command->max_args)
        return secpolctl_usage_error ("unexpected argument '%s' (see secpolctl %s --help)",
                                      line->argv[command->max_args], command->path);
    return SECPOLCTL_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  Help, from the table

static void
s_help (FILE *out, const secpolctl_command_t *command)
{
    bool root = !*command->path;
    fprintf (out, "usage: secpolctl%s%s%s%s%s\n", root ? "" : " ", command->path,
             *command->arguments ? " " : "", command->arguments, root ? "" : " [options]");
    fprintf (out, "\n%s\n", command->description ? command->description : command->summary);

    //  The column where descriptions start: after the longest term.
    int width = 0;
    char term[256];
    if (!command->run) {
        fputs ("\nCommands:\n", out);
        for (size_t k = 0; k < S_N_COMMANDS; k++)
            if (s_is_child (command, &secpolctl_commands[k])) {
                const char *last = strrchr (secpolctl_commands[k].path, ' ');
                int length = snprintf (
                    term, sizeof term, "%s%s%s", last ? last + 1 : secpolctl_commands[k].path,
                    *secpolctl_commands[k].arguments ? " " : "", secpolctl_commands[k].arguments);
                if (length > width)
                    width = length;
            }
        for (size_t k = 0; k < S_N_COMMANDS; k++)
            if (s_is_child (command, &secpolctl_commands[k])) {
                const char *last = strrchr (secpolctl_commands[k].path, ' ');
                snprintf (term, sizeof term, "%s%s%s", last ? last + 1 : secpolctl_commands[k].path,
                          *secpolctl_commands[k].arguments ? " " : "",
                          secpolctl_commands[k].arguments);
                s_help_item (out, width, term, secpolctl_commands[k].summary);
            }
    }
    //  Options: secpolctl's are the global ones; a command lists its own and -o.
    const secpolctl_option_t *lists[2] = {root ? secpolctl_global_options : command->options, NULL};
    char output_help[128];
    secpolctl_option_t output_option = {"output", 'o', "FORMAT", output_help};
    snprintf (output_help, sizeof output_help, "json or text (default %s)",
              command->output ? command->output : "");
    if (!root && command->output)
        lists[1] = &output_option;
    if (lists[0] || lists[1]) {
        fputs ("\nOptions:\n", out);
        width = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int l = 0; l < 2; l++)
                for (const secpolctl_option_t *option = lists[l]; option && option->name;
                     option++) {
                    int length = snprintf (
                        term, sizeof term, "%s%c%s--%s%s%s", option->letter ? "-" : " ",
                        option->letter ? option->letter : ' ', option->letter ? ", " : "  ",
                        option->name, option->value ? " " : "", option->value ? option->value : "");
                    if (pass == 0 && length > width)
                        width = length;
                    if (pass == 1)
                        s_help_item (out, width, term, option->help);
                    if (l == 1)
                        break; //  -o alone
                }
    }
    if (root)
        fprintf (out, "\n%s", s_root_epilogue);
    else if (!command->run)
        fprintf (out,
                 "\n\"secpolctl %s COMMAND --help\" shows a command's arguments and options.\n",
                 command->path);
    else
        fputs ("\nGlobal options (-e/--endpoint, -t/--timeout, -r/--request-id, -h/--help:\n"
               "secpolctl --help) may stand before or after the command.\n",
               out);
}

//  One "  term  text" line, text wrapped at its own newlines onto the column.
static void
s_help_item (FILE *out, int width, const char *term, const char *text)
{
    if (width > S_HELP_COLUMN)
        width = S_HELP_COLUMN;
    int length = (int)strlen (term);
    if (length > width)
        fprintf (out, "  %s\n%*s", term, width + 4, "");
    else
        fprintf (out, "  %-*s  ", width, term);
    for (const char *p = text; *p; p++) {
        fputc (*p, out);
        if (*p == '\n' && p[1])
            fprintf (out, "%*s", width + 4, "");
    }
    fputc ('\n', out);
}

//  --------------------------------------------------------------------------
//  The session: output format and client (secpolctl.h)

secpolctl_output_t
secpolctl_output (void)
{
    return s_session.output;
}

secpol_client_t *
secpolctl_client (int *code_p)
{
    char why[512];
    secpol_client_t *client = s_open (code_p, why, sizeof why);
    if (client)
        return client;
    if (*code_p == SECPOLCTL_EXIT_USAGE)
        secpolctl_usage_error ("%s", why);
    else
        fprintf (stderr, "%s: %s\n", secpol_status_name (*code_p), why);
    return NULL;
}

//  Makes the session's client, or says why not (into why) with the exit code.
static secpol_client_t *
s_open (int *code_p, char *why, size_t size)
{
    if (s_session.client)
        return s_session.client;
    const char *endpoint = s_session.endpoint;
    char reason[256];
    if (!s_endpoints_valid (endpoint, reason, sizeof reason)) {
        snprintf (why, size, "malformed endpoint \"%s\": %s (see secpolctl --help)", endpoint,
                  reason);
        *code_p = SECPOLCTL_EXIT_USAGE;
        return NULL;
    }
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = s_session.timeout_ms;
    options.server_key = s_session.server_key;
    options.client_cert = s_session.client_cert;
    int error = SECPOL_OK;
    secpol_client_t *client = secpol_client_open (endpoint, &options, &error);
    if (!client) {
        if (error == SECPOL_INVALID_ARGUMENT) {
            //  The endpoint passed our check: the CURVE keys are the problem.
            snprintf (why, size,
                      "cannot use CURVE: --server-key and --client-cert (SECPOL_SERVER_KEY, "
                      "SECPOL_CLIENT_CERT) must both name readable certificates, the client's "
                      "with its secret key (see docs/SECURITY.md)");
            *code_p = SECPOLCTL_EXIT_USAGE;
        } else {
            snprintf (why, size, "cannot make a client for %s", endpoint);
            *code_p = error;
        }
        return NULL;
    }
    //  Nothing listening shows as no connection: say so now rather than
    //  after the whole timeout.
    int wait_ms = s_session.timeout_ms > 0 && s_session.timeout_ms < S_CONNECT_MS
                      ? s_session.timeout_ms
                      : S_CONNECT_MS;
    int code = secpol_client_wait_connected (client, wait_ms);
    if (code != SECPOL_OK) {
        if (code == SECPOL_UNAVAILABLE)
            snprintf (why, size, "cannot reach secpold at %s (is it running?)", endpoint);
        else
            snprintf (why, size, "%s", secpol_client_status (client)->message);
        secpol_client_destroy (&client);
        *code_p = code;
        return NULL;
    }
    secpol_client_set_request_id (client, s_session.request_id);
    s_session.client = client;
    return client;
}

//  One endpoint, or several separated by commas (at most 16, none empty).
static bool
s_endpoints_valid (const char *endpoints, char *why, size_t size)
{
    size_t count = 0;
    const char *part = endpoints;
    while (true) {
        const char *comma = strchr (part, ',');
        size_t length = comma ? (size_t)(comma - part) : strlen (part);
        char one[1024];
        if (length == 0 && (comma || count > 0)) {
            snprintf (why, size, "an empty endpoint in the list (write E1,E2,...)");
            return false;
        }
        if (length >= sizeof one) {
            snprintf (why, size, "an endpoint is at most %zu bytes", sizeof one - 1);
            return false;
        }
        memcpy (one, part, length);
        one[length] = '\0';
        if (!s_endpoint_valid (one, why, size))
            return false;
        if (++count > 16) {
            snprintf (why, size, "at most 16 endpoints");
            return false;
        }
        if (!comma)
            return true;
        part = comma + 1;
    }
}

//  tcp://HOST:PORT (port 1-65535), ipc://PATH or inproc://NAME.
static bool
s_endpoint_valid (const char *endpoint, char *why, size_t size)
{
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        const char *host = endpoint + 6;
        const char *colon = strrchr (host, ':');
        if (!colon || colon == host) {
            snprintf (why, size, "a tcp endpoint is tcp://HOST:PORT");
            return false;
        }
        for (const char *p = host; p < colon; p++)
            if (*p <= ' ' || *p == '/' || *p == ';') {
                snprintf (why, size, "a tcp endpoint is tcp://HOST:PORT");
                return false;
            }
        if (*host == '[' && colon[-1] != ']') {
            snprintf (why, size, "an IPv6 address is written [ADDRESS]");
            return false;
        }
        const char *port = colon + 1;
        long value = 0;
        if (!*port || strspn (port, "0123456789") != strlen (port) || strlen (port) > 5 ||
            (value = strtol (port, NULL, 10)) < 1 || value > 65535) {
            snprintf (why, size, "the port must be a number from 1 to 65535");
            return false;
        }
        return true;
    }
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        size_t length = strlen (endpoint + 6);
        if (length == 0) {
            snprintf (why, size, "an ipc endpoint is ipc://PATH");
            return false;
        }
        if (length >= sizeof ((struct sockaddr_un *)0)->sun_path) {
            snprintf (why, size, "an ipc path is at most %zu bytes",
                      sizeof ((struct sockaddr_un *)0)->sun_path - 1);
            return false;
        }
        return true;
    }
    if (strncmp (endpoint, "inproc://", 9) == 0 && endpoint[9])
        return true;
    snprintf (why, size, "expected tcp://HOST:PORT, ipc://PATH or inproc://NAME");
    return false;
}

//  --------------------------------------------------------------------------
//  Printing (secpolctl.h, secpolctl_internal.h)

int
secpolctl_print_response (secpol_client_t *client, int code, const ProtobufCMessage *response)
{
    if (code == SECPOL_OK) {
        if (!response) {
            //  An empty message of no known type: {} or nothing.
            if (s_session.output == SECPOLCTL_OUTPUT_JSON)
                return secpolctl_print_json (json_object ());
            return SECPOLCTL_EXIT_OK;
        }
        return secpolctl_print_message (response);
    }
    const secpol_client_status_t *status = client ? secpol_client_status (client) : NULL;
    const char *message = status && status->message ? status->message : "";
    fprintf (stderr, "%s%s", secpol_status_name (code), *message ? ": " : "");
    secpolctl_print_escaped (stderr, message);
    fputc ('\n', stderr);
    for (size_t i = 0; status && i < status->n_violations; i++) {
        fputs ("  ", stderr);
        secpolctl_print_escaped (stderr, status->violation_fields[i]);
        fputs (": ", stderr);
        secpolctl_print_escaped (stderr, status->violation_descriptions[i]);
        fputc ('\n', stderr);
    }
    return code > 0 && code < 256 ? code : SECPOL_UNKNOWN;
}

int
secpolctl_print_message (const ProtobufCMessage *message)
{
    json_t *json = secpol_json_from_message (message);
    if (s_session.output == SECPOLCTL_OUTPUT_JSON)
        return secpolctl_print_json (json);
    if (!json) {
        fprintf (stderr, "INTERNAL: cannot convert the response\n");
        return SECPOL_INTERNAL;
    }
    char path[1024] = "";
    s_print_text (path, 0, sizeof path, json);
    fflush (stdout);
    json_decref (json);
    return SECPOLCTL_EXIT_OK;
}

int
secpolctl_print_json (json_t *json)
{
    if (!json) {
        fprintf (stderr, "INTERNAL: cannot convert the response to JSON\n");
        return SECPOL_INTERNAL;
    }
    json_dumpf (json, stdout, JSON_INDENT (2));
    fputc ('\n', stdout);
    fflush (stdout);
    json_decref (json);
    return SECPOLCTL_EXIT_OK;
}

//  One "path: value" line per scalar: login_lockout.max_failures: 5,
//  allowed_file_extensions[0]: pdf. path holds length bytes of prefix.
static void
s_print_text (char *path, size_t length, size_t size, json_t *value)
{
    if (json_is_object (value) && json_object_size (value) > 0) {
        const char *key;
        json_t *member;
        json_object_foreach (value, key, member)
        {
            int added = snprintf (path + length, size - length, "%s%s", length ? "." : "", key);
            if (added > 0 && length + (size_t)added < size)
                s_print_text (path, length + (size_t)added, size, member);
        }
        path[length] = 0;
        return;
    }
    if (json_is_array (value) && json_array_size (value) > 0) {
        size_t index;
        json_t *element;
        json_array_foreach (value, index, element)
        {
            int added = snprintf (path + length, size - length, "[%zu]", index);
            if (added > 0 && length + (size_t)added < size)
                s_print_text (path, length + (size_t)added, size, element);
        }
        path[length] = 0;
        return;
    }
    if (!length)
        return; //  an empty message prints nothing
    printf ("%s: ", path);
    if (json_is_string (value) && json_string_length (value) > 0)
        secpolctl_print_escaped (stdout, json_string_value (value));
    else {
        //  numbers, true, false, null, {}, [] and "" as JSON writes them
        char *text = json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs (text ? text : "?", stdout);
        free (text);
    }
    fputc ('\n', stdout);
}

void
secpolctl_print_escaped (FILE *out, const char *text)
{
    char *escaped = secpol_json_escape_text (text, false);
    fputs (escaped ? escaped : "?", out);
    free (escaped);
}

//  --------------------------------------------------------------------------
//  Shared with the other subcommands (secpolctl.h)

int
secpolctl_call_json (secpol_client_t *client, const char *method_path, const char *json_text)
{
    char path[512];
    ProtobufCMessage *request = NULL;
    int code = s_prepare_call (path, sizeof path, &request, method_path, json_text);
    if (code == SECPOLCTL_EXIT_OK)
        code = s_call_print (client, path, request);
    protobuf_c_message_free_unpacked (request, NULL);
    return code;
}

//  Calls path with request and prints the outcome; returns the exit code.
static int
s_call_print (secpol_client_t *client, const char *path, const ProtobufCMessage *request)
{
    ProtobufCMessage *response = NULL;
    int status = secpol_client_call (client, path, request, &response);
    int code = secpolctl_print_response (client, status, response);
    protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

int
secpolctl_enum_word (const ProtobufCEnumDescriptor *descriptor, const char *prefix,
                     const char *word, const char *what, const char *note)
{
    char name[128];
    size_t n = strlen (prefix);
    if (n >= sizeof name)
        return 0;
    memcpy (name, prefix, n);
    const char *rest = word;
    if (strncasecmp (rest, prefix, n) == 0)
        rest += n;
    for (; *rest && n + 1 < sizeof name; rest++)
        name[n++] = *rest == '-' ? '_' : (char)toupper ((unsigned char)*rest);
    name[n] = '\0';
    const ProtobufCEnumValue *value =
        *rest ? NULL : protobuf_c_enum_descriptor_get_value_by_name (descriptor, name);
    if (value && value->value != 0)
        return value->value;
    fprintf (stderr, "secpolctl: \"%s\" is not a %s%s; one of:\n", word, what, note);
    for (unsigned k = 0; k < descriptor->n_values; k++)
        if (descriptor->values[k].value != 0)
            fprintf (stderr, "  %s\n", descriptor->values[k].name + strlen (prefix));
    return 0;
}

int
secpolctl_usage_error (const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fputs ("secpolctl: ", stderr);
    vfprintf (stderr, fmt, args);
    fputc ('\n', stderr);
    va_end (args);
    return SECPOLCTL_EXIT_USAGE;
}

int
secpolctl_number_option (uint64_t *value_p, const char *option, const char *text, uint64_t max,
                         const char *range)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (isdigit ((unsigned char)*text) && !*end && !errno && value <= max) {
        *value_p = value;
        return SECPOLCTL_EXIT_OK;
    }
    char from_to[64];
    if (!range) {
        snprintf (from_to, sizeof from_to, "from 0 to %" PRIu64, max);
        range = from_to;
    }
    char *escaped = secpol_json_escape_text (text, true);
    secpolctl_usage_error ("%s takes a whole number%s%s, not %s", option, *range ? " " : "", range,
                           escaped ? escaped : "?");
    free (escaped);
    return SECPOLCTL_EXIT_USAGE;
}

char *
secpolctl_read_stdin (void)
{
    size_t size = 0, capacity = 4096;
    char *text = (char *)malloc (capacity);
    while (text) {
        size_t got = fread (text + size, 1, capacity - size - 1, stdin);
        size += got;
        if (got == 0) {
            if (ferror (stdin)) {
                free (text);
                return NULL;
            }
            break;
        }
        if (capacity - size < 1024) {
            char *grown = (char *)realloc (text, capacity *= 2);
            if (!grown)
                free (text);
            text = grown;
        }
    }
    if (text)
        text[size] = '\0';
    return text;
}

//  The nearest by edit distance (case-insensitive), if it is a likely typo.
const char *
secpolctl_nearest (const char *word, const char *const *candidates, size_t n)
{
    enum { MAX = 64 };
    size_t length = strlen (word);
    if (length == 0 || length > MAX)
        return NULL;
    const char *nearest = NULL;
    //  More edits than a third of the word makes another word.
    size_t best = (length < 6 ? 1 : length / 3) + 1;
    for (size_t k = 0; k < n; k++) {
        const char *candidate = candidates[k];
        size_t other = strlen (candidate);
        if (other > MAX)
            continue;
        size_t row[MAX + 1];
        for (size_t j = 0; j <= other; j++)
            row[j] = j;
        for (size_t i = 1; i <= length; i++) {
            size_t diagonal = row[0];
            row[0] = i;
            for (size_t j = 1; j <= other; j++) {
                size_t above = row[j];
                size_t cost = tolower ((unsigned char)word[i - 1]) !=
                              tolower ((unsigned char)candidate[j - 1]);
                size_t here = diagonal + cost;
                if (above + 1 < here)
                    here = above + 1;
                if (row[j - 1] + 1 < here)
                    here = row[j - 1] + 1;
                row[j] = here;
                diagonal = above;
            }
        }
        if (row[other] < best) {
            best = row[other];
            nearest = candidate;
        }
    }
    return nearest;
}

//  --------------------------------------------------------------------------
//  Commands

static int
s_run_call (const secpolctl_command_t *command, secpol_client_t *client, int argc, char **argv)
{
    (void)command;
    (void)client;
    char *stdin_text = NULL;
    const char *json_text = argc == 2 ? argv[1] : NULL;
    if (json_text && strcmp (json_text, "-") == 0) {
        stdin_text = secpolctl_read_stdin ();
        if (!stdin_text)
            return secpolctl_usage_error ("cannot read JSON from stdin: %s", strerror (errno));
        json_text = stdin_text;
    }
    //  Check the method and the JSON before connecting: a typo should not
    //  need a server to be reported.
    char path[512];
    ProtobufCMessage *request = NULL;
    int code = s_prepare_call (path, sizeof path, &request, argv[0], json_text);
    free (stdin_text);
    if (code == SECPOLCTL_EXIT_OK && (client = secpolctl_client (&code)))
        code = s_call_print (client, path, request);
    protobuf_c_message_free_unpacked (request, NULL);
    return code;
}

static int
s_run_health (const secpolctl_command_t *command, secpol_client_t *client, int argc, char **argv)
{
    (void)command, (void)argc, (void)argv;
    Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *response = NULL;
    int status = secpol_client_call (client, "/secpol.v1.Health/Check", &request.base, &response);
    int code = secpolctl_print_response (client, status, response);
    if (code == SECPOLCTL_EXIT_OK && ((Secpol__V1__HealthCheckResponse *)response)->status !=
                                         SECPOL__V1__SERVING_STATUS__SERVING) {
        fprintf (stderr, "UNAVAILABLE: secpold is not serving\n");
        code = SECPOL_UNAVAILABLE;
    }
    protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

static int
s_run_version (const secpolctl_command_t *command, secpol_client_t *client, int argc, char **argv)
{
    (void)command, (void)client, (void)argc, (void)argv;
    char why[512] = "";
    int code = SECPOL_OK;
    Secpol__V1__HealthCheckResponse *health = NULL;
    client = s_open (&code, why, sizeof why);
    if (code == SECPOLCTL_EXIT_USAGE)
        return secpolctl_usage_error ("%s", why);
    if (client) {
        Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
        code = secpol_client_call (client, "/secpol.v1.Health/Check", &request.base,
                                   (ProtobufCMessage **)&health);
        if (code != SECPOL_OK)
            snprintf (why, sizeof why, "%s: %s", secpol_status_name (code),
                      secpol_client_status (client)->message);
    }
    if (s_session.output == SECPOLCTL_OUTPUT_JSON) {
        json_t *json =
            json_pack ("{s:{s:s, s:s}}", "client", "name", "secpolctl", "version", SECPOL_VERSION);
        if (json && health)
            json_object_set_new (json, "server",
                                 json_pack ("{s:s, s:s, s:I, s:s}", "name", "secpold", "version",
                                            health->version, "schema_version",
                                            (json_int_t)health->schema_version, "endpoint",
                                            s_session.endpoint));
        else if (json) {
            json_object_set_new (json, "server", json_null ());
            json_object_set_new (json, "server_error", json_string (why));
        }
        code = secpolctl_print_json (json);
    } else {
        printf ("secpolctl %s\n", SECPOL_VERSION);
        if (health) {
            fputs ("secpold ", stdout);
            secpolctl_print_escaped (stdout, health->version);
            printf (" (store schema %" PRIu32 ") at %s\n", health->schema_version,
                    s_session.endpoint);
        } else
            fprintf (stderr, "secpolctl: secpold's version is unknown: %s\n", why);
        code = SECPOLCTL_EXIT_OK;
    }
    protobuf_c_message_free_unpacked ((ProtobufCMessage *)health, NULL);
    return code;
}

//  `GROUP SUBCOMMAND ...` of a group that lives in a file of its own
//  (secpolctl_policy.c), through that file's function, with the words left.
static int
s_run_in_group (const secpolctl_command_t *command, secpol_client_t *client, int argc, char **argv)
{
    //  The groups that live in files of their own, and their functions.
    static const struct {
        const char *group;
        int (*main) (secpol_client_t *client, int argc, char **argv);
    } groups[] = {
        {"policy", secpolctl_policy},          {"session", secpolctl_session_main},
        {"token", secpolctl_token_main},       {"lockout", secpolctl_lockout_main},
        {"password", secpolctl_password_main}, {"account", secpolctl_password_main},
        {"otp", secpolctl_otp_main},
    };
    const char *space = strchr (command->path, ' ');
    size_t length = space ? (size_t)(space - command->path) : 0;
    size_t g = 0;
    while (g < sizeof groups / sizeof groups[0] &&
           (strlen (groups[g].group) != length || strncmp (groups[g].group, command->path, length)))
        g++;
    if (g == sizeof groups / sizeof groups[0]) {
        fprintf (stderr, "INTERNAL: nothing runs \"%s\"\n", command->path);
        return SECPOL_INTERNAL;
    }
    char **words = (char **)calloc ((size_t)argc + 3, sizeof *words);
    if (!words)
        return SECPOL_RESOURCE_EXHAUSTED;
    int n = 0;
    words[n++] = (char *)groups[g].group;
    words[n++] = (char *)space + 1;
    for (int i = 0; i < argc; i++)
        words[n++] = argv[i];
    int code = groups[g].main (client, n, words);
    free (words);
    return code;
}

//  Resolves method_name and converts json_text to its request. Writes the
//  wire path into path. Returns 0, or the exit code after a message on stderr.
static int
s_prepare_call (char *path, size_t size, ProtobufCMessage **request_p, const char *method_name,
                const char *json_text)
{
    *request_p = NULL;
    if (!method_name || (!strchr (method_name, '/') && !strchr (method_name, '.')))
        return secpolctl_usage_error ("a method is written /secpol.v1.Svc/Method, Svc/Method or "
                                      "secpol.v1.Svc.Method, not \"%s\" (see secpolctl list)",
                                      method_name ? method_name : "");
    const ProtobufCMethodDescriptor *method = secpolctl_find_method (path, size, method_name);
    if (!method) {
        fprintf (stderr, "%s: unknown method %s (secpolctl list shows them)\n",
                 secpol_status_name (SECPOL_UNIMPLEMENTED), method_name);
        return SECPOL_UNIMPLEMENTED;
    }
    char error[512];
    if (secpol_json_parse_message (request_p, error, sizeof error, method->input, json_text) != 0)
        return secpolctl_usage_error ("bad request for %s: %s", path, error);
    return SECPOLCTL_EXIT_OK;
}

int
secpolctl_read_secret (char *buffer, size_t size, const char *prompt, const char *command,
                       const char *missing)
{
    setvbuf (stdin, NULL, _IONBF, 0);
    struct termios saved, quiet;
    bool terminal = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &saved) == 0;
    if (terminal) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs (prompt, stderr);
        fflush (stderr);
    }
    bool got = fgets (buffer, (int)size, stdin) != NULL;
    if (terminal)
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
    if (!got) {
        buffer[0] = '\0';
        if (ferror (stdin)) {
            fprintf (stderr, "secpolctl: %s: cannot read stdin\n", command);
            return SECPOL_INTERNAL;
        }
    }
    buffer[strcspn (buffer, "\r\n")] = '\0';
    if (!buffer[0])
        return secpolctl_usage_error ("%s: %s", command, missing);
    return SECPOLCTL_EXIT_OK;
}

void
secpolctl_wipe (void *buffer, size_t size)
{
    volatile unsigned char *byte = (volatile unsigned char *)buffer;
    while (size--)
        *byte++ = 0;
}
