/*  secpolctl_session.c - `secpolctl session ...`: shortcuts for SessionService.
 *
 *  secpolctl session create W SUBJECT [--remember-me] [--community C]
 *  secpolctl session validate TOKEN|- [--touch]
 *  secpolctl session revoke TOKEN|-
 *  secpolctl session revoke W SUBJECT --session-id ID
 *  secpolctl session revoke W SUBJECT --all [--except TOKEN|-]
 *  secpolctl session list W SUBJECT [--page-size N] [--page-token T]
 *
 *  A token given as "-" is read from stdin (its first line), so that it
 *  stays out of the process list and the shell's history. create prints
 *  the new token: it is the only time anyone sees it.
 *
 *  create and validate print the response (JSON by default); revoke and
 *  list print lines for people by default, every value escaped
 *  (secpol_json_escape_text), and the response with -o json.
 */
#include "secpolctl.h"

#include "json_pb.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/session.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SERVICE "/secpol.v1.SessionService/"

typedef struct {
    const char *command;    /* "create", "validate", "revoke", "list" */
    const char *community;  /* --community */
    const char *session_id; /* --session-id */
    const char *except;     /* --except TOKEN; "" = none */
    const char *page_token; /* --page-token */
    uint32_t page_size;     /* --page-size; 0 = the server's default */
    bool remember_me;       /* --remember-me */
    bool touch;             /* --touch */
    bool all;               /* --all */
    bool json;              /* -o json */
    int n_words;            /* positional words */
    char **words;
    char *stdin_token; /* a token read from stdin, malloc'd; NULL when none */
} options_t;

static int s_parse (options_t *options, int argc, char **argv);
static int s_words (const options_t *options, int n, const char *usage);
static const char *s_token (options_t *options, const char *word);
static int s_call (secpol_client_t *client, const char *method, const ProtobufCMessage *request,
                   ProtobufCMessage **response_p);
static int s_print_response (secpol_client_t *client, int code, ProtobufCMessage *response);
static int s_create (secpol_client_t *client, options_t *options);
static int s_validate (secpol_client_t *client, options_t *options);
static int s_revoke (secpol_client_t *client, options_t *options);
static int s_list (secpol_client_t *client, options_t *options);
static void s_print_escaped (FILE *file, const char *text);
static void s_format_time (char *when, size_t size, int64_t seconds);

/*  `secpolctl session SUBCOMMAND ...` (secpolctl.h): argv[0] is "session",
 *  argv[1] the subcommand, argv[2..] its words. client may be NULL: one is
 *  made once the words are checked. Returns the exit code. */
int
secpolctl_session_main (secpol_client_t *client, int argc, char **argv)
{
    if (argc < 2)
        return secpolctl_usage_error ("session: name a command (secpolctl session --help)");
    options_t options;
    int code = s_parse (&options, argc - 1, argv + 1);
    if (code == SECPOLCTL_EXIT_OK && !client)
        client = secpolctl_client (&code);
    if (code == SECPOLCTL_EXIT_OK) {
        const char *command = options.command;
        if (strcmp (command, "create") == 0)
            code = s_create (client, &options);
        else if (strcmp (command, "validate") == 0)
            code = s_validate (client, &options);
        else if (strcmp (command, "revoke") == 0)
            code = s_revoke (client, &options);
        else
            code = s_list (client, &options);
    }
    free (options.stdin_token);
    return code;
}

//  --------------------------------------------------------------------------
//  Command line

static int
s_parse (options_t *options, int argc, char **argv)
{
    memset (options, 0, sizeof *options);
    options->command = argv[0];
    options->community = "";
    options->session_id = "";
    options->except = "";
    options->page_token = "";
    options->json = secpolctl_output () == SECPOLCTL_OUTPUT_JSON;
    static const char *const commands[] = {"create", "validate", "revoke", "list", NULL};
    bool known = false;
    for (size_t k = 0; commands[k]; k++)
        known = known || strcmp (commands[k], argv[0]) == 0;
    if (!known)
        return secpolctl_usage_error ("unknown session command \"%s\" (secpolctl session --help)",
                                      argv[0]);
    static const struct option long_options[] = {
        {"community", required_argument, NULL, 'c'},
        {"remember-me", no_argument, NULL, 'm'},
        {"touch", no_argument, NULL, 'u'},
        {"session-id", required_argument, NULL, 'i'},
        {"all", no_argument, NULL, 'a'},
        {"except", required_argument, NULL, 'x'},
        {"page-size", required_argument, NULL, 's'},
        {"page-token", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc, argv, "c:", long_options, NULL)) != -1) {
        switch (option) {
            case 'c':
                options->community = optarg;
                break;
            case 'm':
                options->remember_me = true;
                break;
            case 'u':
                options->touch = true;
                break;
            case 'i':
                options->session_id = optarg;
                break;
            case 'a':
                options->all = true;
                break;
            case 'x':
                options->except = optarg;
                break;
            case 's': {
                uint64_t value;
                if (secpolctl_number_option (&value, "--page-size", optarg, UINT32_MAX, NULL))
                    return SECPOLCTL_EXIT_USAGE;
                options->page_size = (uint32_t)value;
                break;
            }
            case 't':
                options->page_token = optarg;
                break;
            default:
                return secpolctl_usage_error ("session %s: unknown or incomplete option \"%s\" "
                                              "(secpolctl session %s --help)",
                                              argv[0], argv[optind - 1], argv[0]);
        }
    }
    options->n_words = argc - optind;
    options->words = argv + optind;
    return SECPOLCTL_EXIT_OK;
}

//  Checks that the subcommand got exactly n positional words.
static int
s_words (const options_t *options, int n, const char *usage)
{
    if (options->n_words == n)
        return SECPOLCTL_EXIT_OK;
    return secpolctl_usage_error ("session %s: give %s", options->command, usage);
}

//  The token a word names: the word itself, or for "-" the first line of
//  stdin (read once). NULL after a message when stdin cannot be read.
static const char *
s_token (options_t *options, const char *word)
{
    if (strcmp (word, "-") != 0)
        return word;
    if (!options->stdin_token) {
        options->stdin_token = secpolctl_read_stdin ();
        if (!options->stdin_token) {
            secpolctl_usage_error ("cannot read the token from stdin: %s", strerror (errno));
            return NULL;
        }
        options->stdin_token[strcspn (options->stdin_token, "\r\n")] = '\0';
    }
    return options->stdin_token;
}

//  --------------------------------------------------------------------------
//  Calls

static int
s_call (secpol_client_t *client, const char *method, const ProtobufCMessage *request,
        ProtobufCMessage **response_p)
{
    char path[128];
    snprintf (path, sizeof path, S_SERVICE "%s", method);
    *response_p = NULL;
    return secpol_client_call (client, path, request, response_p);
}

//  Prints the outcome as `secpolctl call` does and frees response.
static int
s_print_response (secpol_client_t *client, int code, ProtobufCMessage *response)
{
    code = secpolctl_print_response (client, code, response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

static int
s_create (secpol_client_t *client, options_t *options)
{
    int code = s_words (options, 2, "the workspace and the subject");
    if (code)
        return code;
    Secpol__V1__CreateSessionRequest request = SECPOL__V1__CREATE_SESSION_REQUEST__INIT;
    request.workspace_id = options->words[0];
    request.subject_id = options->words[1];
    request.community_id = (char *)options->community;
    request.remember_me = options->remember_me;
    ProtobufCMessage *response = NULL;
    code = s_call (client, "CreateSession", &request.base, &response);
    return s_print_response (client, code, response);
}

static int
s_validate (secpol_client_t *client, options_t *options)
{
    int code = s_words (options, 1, "the session token (\"-\" reads it from stdin)");
    if (code)
        return code;
    const char *token = s_token (options, options->words[0]);
    if (!token)
        return SECPOLCTL_EXIT_USAGE;
    Secpol__V1__ValidateSessionRequest request = SECPOL__V1__VALIDATE_SESSION_REQUEST__INIT;
    request.session_token = (char *)token;
    request.touch = options->touch;
    ProtobufCMessage *response = NULL;
    code = s_call (client, "ValidateSession", &request.base, &response);
    return s_print_response (client, code, response);
}

static int
s_revoke (secpol_client_t *client, options_t *options)
{
    bool by_subject = options->all || *options->session_id;
    if (options->all && *options->session_id)
        return secpolctl_usage_error ("session revoke: --all or --session-id, not both");
    if (*options->except && !options->all)
        return secpolctl_usage_error ("session revoke: --except goes with --all");
    int code = by_subject ? s_words (options, 2, "the workspace and the subject")
                          : s_words (options, 1,
                                     "the session token (\"-\" reads it from stdin), or the "
                                     "workspace and the subject with --all or --session-id");
    if (code)
        return code;
    ProtobufCMessage *response = NULL;
    if (options->all) {
        const char *except = *options->except ? s_token (options, options->except) : "";
        if (!except)
            return SECPOLCTL_EXIT_USAGE;
        Secpol__V1__RevokeAllSessionsRequest request =
            SECPOL__V1__REVOKE_ALL_SESSIONS_REQUEST__INIT;
        request.workspace_id = options->words[0];
        request.subject_id = options->words[1];
        request.except_session_token = (char *)except;
        code = s_call (client, "RevokeAllSessions", &request.base, &response);
        if (code != SECPOL_OK || options->json)
            return s_print_response (client, code, response);
        uint32_t revoked = ((Secpol__V1__RevokeAllSessionsResponse *)response)->revoked;
        printf ("revoked %" PRIu32 " session%s%s\n", revoked, revoked == 1 ? "" : "s",
                *except ? " (kept the one given with --except)" : "");
    } else {
        Secpol__V1__RevokeSessionRequest request = SECPOL__V1__REVOKE_SESSION_REQUEST__INIT;
        if (by_subject) {
            request.workspace_id = options->words[0];
            request.subject_id = options->words[1];
            request.session_id = (char *)options->session_id;
        } else if (!(request.session_token = (char *)s_token (options, options->words[0])))
            return SECPOLCTL_EXIT_USAGE;
        code = s_call (client, "RevokeSession", &request.base, &response);
        if (code != SECPOL_OK || options->json)
            return s_print_response (client, code, response);
        puts (((Secpol__V1__RevokeSessionResponse *)response)->revoked
                  ? "revoked"
                  : "no such live session: nothing to revoke");
    }
    protobuf_c_message_free_unpacked (response, NULL);
    return SECPOLCTL_EXIT_OK;
}

static int
s_list (secpol_client_t *client, options_t *options)
{
    int code = s_words (options, 2, "the workspace and the subject");
    if (code)
        return code;
    Secpol__V1__ListSessionsRequest request = SECPOL__V1__LIST_SESSIONS_REQUEST__INIT;
    request.workspace_id = options->words[0];
    request.subject_id = options->words[1];
    request.page_size = options->page_size;
    request.page_token = (char *)options->page_token;
    ProtobufCMessage *response = NULL;
    code = s_call (client, "ListSessions", &request.base, &response);
    if (code != SECPOL_OK || options->json)
        return s_print_response (client, code, response);
    Secpol__V1__ListSessionsResponse *list = (Secpol__V1__ListSessionsResponse *)response;
    if (list->n_sessions)
        printf ("%-16s  %-20s  %-20s  %-20s  %-20s  %s\n", "SESSION", "CREATED", "LAST SEEN",
                "IDLE EXPIRES", "EXPIRES", "REMEMBER-ME");
    for (size_t k = 0; k < list->n_sessions; k++) {
        const Secpol__V1__Session *session = list->sessions[k];
        char created[32], seen[32], idle[32], end[32];
        s_format_time (created, sizeof created, session->created_at);
        s_format_time (seen, sizeof seen, session->last_seen_at);
        s_format_time (idle, sizeof idle, session->idle_expires_at);
        s_format_time (end, sizeof end, session->expires_at);
        s_print_escaped (stdout, session->session_id);
        printf ("  %-20s  %-20s  %-20s  %-20s  %s\n", created, seen, idle, end,
                session->remember_me ? "yes" : "no");
    }
    if (*list->next_page_token) {
        fputs ("more: --page-token ", stderr);
        s_print_escaped (stderr, list->next_page_token);
        fputc ('\n', stderr);
    }
    protobuf_c_message_free_unpacked (response, NULL);
    return SECPOLCTL_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  Text

//  Prints text with every control character escaped, unquoted.
static void
s_print_escaped (FILE *file, const char *text)
{
    char *escaped = secpol_json_escape_text (text, false);
    fputs (escaped ? escaped : "?", file);
    free (escaped);
}

//  ISO 8601 UTC, or "never" for 0.
static void
s_format_time (char *when, size_t size, int64_t seconds)
{
    snprintf (when, size, "never");
    time_t t = (time_t)seconds;
    struct tm tm;
    if (seconds && gmtime_r (&t, &tm))
        strftime (when, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
