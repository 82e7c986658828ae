/*  secpolctl_internal.h - the command table and what secpolctl.c,
 *  secpolctl_schema.c and secpolctl_completion.c share.
 *
 *  One table (secpolctl_commands, in secpolctl.c) names every command and
 *  subcommand: its arguments, its own options, its help, whether it needs a
 *  server and how it prints. The parser, --help, the bash completion and the
 *  man pages (built from --help) all read it, so a command is added in one
 *  place. Subcommand files (secpolctl_policy.c) only see secpolctl.h.
 */
#ifndef SECPOLCTL_INTERNAL_H_INCLUDED
#define SECPOLCTL_INTERNAL_H_INCLUDED

#include "secpolctl.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*  An option: a global one (secpolctl_global_options) or a command's own. */
typedef struct {
    const char *name;  /* long name without "--": "community" */
    char letter;       /* short name ('c'), 0 when none */
    const char *value; /* name of its value in the help ("C"), NULL for a flag */
    const char *help;  /* one line */
} secpolctl_option_t;

/*  What the bash completion offers for a command's positional words. */
typedef enum {
    SECPOLCTL_COMPLETE_NONE,    /* nothing */
    SECPOLCTL_COMPLETE_METHOD,  /* first word: a method (from `secpolctl list`) */
    SECPOLCTL_COMPLETE_SCHEMA,  /* first word: a method, service or message */
    SECPOLCTL_COMPLETE_SERVICE, /* first word: a service */
    SECPOLCTL_COMPLETE_SHELL,   /* first word: a shell (bash) */
    SECPOLCTL_COMPLETE_SETTING, /* every word after the first: SETTING= */
} secpolctl_complete_t;

typedef struct secpolctl_command secpolctl_command_t;

/*  Runs a command. argv holds the words left for it, in order: positional
 *  words and its own options (spelled --name or --name=value), "--" kept.
 *  client is connected for a command with `server` set, else NULL. Returns
 *  the exit code. */
typedef int (secpolctl_run_t) (const secpolctl_command_t *command, secpol_client_t *client,
                               int argc, char **argv);

struct secpolctl_command {
    const char *path;                  /* "policy get"; "" for secpolctl itself */
    const char *arguments;             /* usage after the path: "WORKSPACE" */
    const char *summary;               /* one line, in its parent's list */
    const char *description;           /* paragraphs of its --help; NULL = summary */
    const secpolctl_option_t *options; /* its own, up to {NULL}; NULL = none */
    int min_args;                      /* positional words at least */
    int max_args;                      /* at most; -1 = its run checks */
    const char *output;                /* -o default ("json", "text"); NULL = no -o */
    bool server;                       /* connected before it runs */
    secpolctl_complete_t complete;     /* what completion offers for its words */
    secpolctl_run_t *run;              /* NULL for a group of subcommands */
};

/*  Every command, secpolctl itself first; subcommands follow their group. */
extern const secpolctl_command_t secpolctl_commands[];
extern const size_t secpolctl_commands_count;
/*  --endpoint, --timeout, --request-id, --output, --help, --version. */
extern const secpolctl_option_t secpolctl_global_options[];

/*  Commands implemented outside secpolctl.c. */
secpolctl_run_t secpolctl_run_list;       /* secpolctl_schema.c */
secpolctl_run_t secpolctl_run_stats;      /* secpolctl_admin.c */
secpolctl_run_t secpolctl_run_backup;     /* secpolctl_admin.c */
secpolctl_run_t secpolctl_run_describe;   /* secpolctl_schema.c */
secpolctl_run_t secpolctl_run_completion; /* secpolctl_completion.c */
secpolctl_run_t secpolctl_run_keygen;     /* secpolctl_keygen.c */
secpolctl_run_t secpolctl_run_audit;      /* secpolctl_audit.c */

/*  Finds a method written /pkg.Svc/Method, pkg.Svc/Method, Svc/Method,
 *  pkg.Svc.Method or Svc.Method and writes its wire path into path (size
 *  bytes). Returns the method, NULL when none has that name (or the short
 *  name is ambiguous). */
const ProtobufCMethodDescriptor *secpolctl_find_method (char *path, size_t size, const char *name);

/*  The nearest of candidates (n of them) to word, when one is close enough
 *  to be a likely typo; NULL otherwise. */
const char *secpolctl_nearest (const char *word, const char *const *candidates, size_t n);

/*  Prints json on stdout as one indented document and a newline. Takes
 *  ownership of json (NULL prints an INTERNAL error). Returns the exit code. */
int secpolctl_print_json (json_t *json);

/*  Prints text on out escaped with secpol_json_escape_text() (json_pb.h):
 *  nothing in it can end the line, forge another or drive a terminal. */
void secpolctl_print_escaped (FILE *out, const char *text);

/*  Generated at build time from proto/secpol/v1 (proto_docs.awk): every
 *  message and enum descriptor of the public contract, NULL-terminated, and
 *  the comments of the .proto files by full name ("secpol.v1.Policy",
 *  "secpol.v1.Policy.version", "secpol.v1.Health.Check",
 *  "secpol.v1.ServingStatus.SERVING"), up to {NULL, NULL}. */
typedef struct {
    const char *name; /* full name */
    const char *text; /* the comment, lines joined by "\n" */
} secpolctl_comment_t;
extern const ProtobufCMessageDescriptor *const secpolctl_schema_messages[];
extern const ProtobufCEnumDescriptor *const secpolctl_schema_enums[];
extern const secpolctl_comment_t secpolctl_schema_comments[];

#endif
