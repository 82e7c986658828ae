/*  secpolctl_token.c - `secpolctl token ...`: shortcuts for TokenService.
 *
 *  secpolctl token issue W KIND SUBJECT [--community C] [--bound-to B] [--max-uses N]
 *  secpolctl token verify TOKEN|- KIND [--workspace W] [--bound-to B]
 *  secpolctl token consume TOKEN|- KIND [--workspace W] [--bound-to B]
 *  secpolctl token revoke W SUBJECT [KIND]
 *
 *  KIND is a TokenKind by name, with or without its TOKEN_KIND_ prefix, in
 *  any case, "-" or "_" between words: password-reset, PASSWORD_RESET,
 *  token_kind_password_reset. It is checked against the descriptor before
 *  anything is sent; a wrong one is a usage error listing the kinds.
 *
 *  A token given as "-" is read from stdin (its first line), so that it
 *  stays out of the process list and the shell's history. issue prints the
 *  new token: the only time anyone sees it.
 *
 *  issue, verify and consume print the response (JSON by default, -o text
 *  for `field: value` lines); revoke prints one line for people, or the
 *  response with -o json. The exit status is the call's status code
 *  (5 NOT_FOUND for any token that cannot be used, 9 FAILED_PRECONDITION
 *  for an expired one; docs/TOKENS.md).
 */
#include "secpolctl.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/token.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SERVICE     "/secpol.v1.TokenService/"
#define S_KIND_PREFIX "TOKEN_KIND_"

typedef struct {
    const char *command;   /* "issue", "verify", "consume", "revoke" */
    const char *community; /* --community */
    const char *workspace; /* --workspace (verify, consume) */
    const char *bound_to;  /* --bound-to */
    uint32_t max_uses;     /* --max-uses */
    int kind;              /* KIND, checked; 0 = none given (revoke: every kind) */
    bool json;             /* -o json */
    int n_words;           /* positional words */
    char **words;
    char *stdin_token; /* a token read from stdin, malloc'd; NULL when none */
} options_t;

static int s_parse (options_t *options, int argc, char **argv);
static int s_check_words (options_t *options);
static int s_kind (const char *word, bool required, int *kind_p);
static const char *s_read_token (options_t *options, const char *word);
static int s_issue (secpol_client_t *client, options_t *options);
static int s_use (secpol_client_t *client, options_t *options, bool consume);
static int s_revoke (secpol_client_t *client, options_t *options);
static int s_finish (secpol_client_t *client, int code, ProtobufCMessage *response);

/*  `secpolctl token SUBCOMMAND ...`: argv[0] is "token", argv[1] the
 *  subcommand, argv[2..] its words and options, as secpolctl_policy() and
 *  secpolctl_session_main() take theirs (secpolctl.h). client is connected,
 *  or NULL (then connected here once the words are checked). Returns the
 *  exit code. */
int
secpolctl_token_main (secpol_client_t *client, int argc, char **argv)
{
    if (argc < 2)
        return secpolctl_usage_error ("token: name a command: issue, verify, consume or revoke "
                                      "(secpolctl token --help)");
    options_t options;
    int code = s_parse (&options, argc - 1, argv + 1);
    if (code == SECPOLCTL_EXIT_OK && !client)
        client = secpolctl_client (&code);
    if (code == SECPOLCTL_EXIT_OK) {
        const char *command = options.command;
        if (strcmp (command, "issue") == 0)
            code = s_issue (client, &options);
        else if (strcmp (command, "revoke") == 0)
            code = s_revoke (client, &options);
        else
            code = s_use (client, &options, strcmp (command, "consume") == 0);
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
    options->workspace = "";
    options->bound_to = "";
    options->json = secpolctl_output () == SECPOLCTL_OUTPUT_JSON;
    if (strcmp (argv[0], "issue") != 0 && strcmp (argv[0], "verify") != 0 &&
        strcmp (argv[0], "consume") != 0 && strcmp (argv[0], "revoke") != 0)
        return secpolctl_usage_error ("unknown token command \"%s\": issue, verify, consume or "
                                      "revoke (secpolctl token --help)",
                                      argv[0]);
    static const struct option long_options[] = {
        {"community", required_argument, NULL, 'c'},
        {"workspace", required_argument, NULL, 'w'},
        {"bound-to", required_argument, NULL, 'b'},
        {"max-uses", required_argument, NULL, 'n'},
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
            case 'w':
                options->workspace = optarg;
                break;
            case 'b':
                options->bound_to = optarg;
                break;
            case 'n': {
                uint64_t value;
                if (secpolctl_number_option (&value, "--max-uses", optarg, UINT32_MAX,
                                             "(0 = until expiry)"))
                    return SECPOLCTL_EXIT_USAGE;
                options->max_uses = (uint32_t)value;
                break;
            }
            default:
                return secpolctl_usage_error ("token %s: unknown or incomplete option \"%s\" "
                                              "(secpolctl token --help)",
                                              argv[0], argv[optind - 1]);
        }
    }
    bool issue = strcmp (argv[0], "issue") == 0, revoke = strcmp (argv[0], "revoke") == 0;
    bool use = !issue && !revoke;
    if (!issue && (*options->community || options->max_uses))
        return secpolctl_usage_error ("token %s: --community and --max-uses go with issue",
                                      argv[0]);
    if (!use && *options->workspace)
        return secpolctl_usage_error ("token %s: --workspace goes with verify and consume "
                                      "(issue and revoke name the workspace first)",
                                      argv[0]);
    if (revoke && *options->bound_to)
        return secpolctl_usage_error ("token revoke: --bound-to does not apply");
    options->n_words = argc - optind;
    options->words = argv + optind;
    return s_check_words (options);
}

//  Checks the positional words of the subcommand and its KIND, before
//  anything is sent.
static int
s_check_words (options_t *options)
{
    const char *command = options->command, *usage;
    int min = 2, max = 2, kind_at = 1;
    if (strcmp (command, "issue") == 0)
        min = max = 3, usage = "the workspace, the kind and the subject";
    else if (strcmp (command, "revoke") == 0)
        max = 3, kind_at = 2, usage = "the workspace, the subject and, for one kind only, the kind";
    else
        usage = "the token (\"-\" reads it from stdin) and its kind";
    if (options->n_words < min || options->n_words > max)
        return secpolctl_usage_error ("token %s: give %s (secpolctl token --help)", command, usage);
    if (options->n_words <= kind_at)
        return SECPOLCTL_EXIT_OK;
    return s_kind (options->words[kind_at], strcmp (command, "revoke") != 0, &options->kind);
}

//  Sets *kind_p to the TokenKind word names (see the top of this file).
//  TOKEN_KIND_UNSPECIFIED is no kind here. A wrong name is a usage error
//  listing the kinds; required false (revoke) adds that KIND may be left out.
static int
s_kind (const char *word, bool required, int *kind_p)
{
    *kind_p = secpolctl_enum_word (&secpol__v1__token_kind__descriptor, S_KIND_PREFIX, word,
                                   "token kind", required ? "" : " (leave it out for every kind)");
    return *kind_p ? SECPOLCTL_EXIT_OK : SECPOLCTL_EXIT_USAGE;
}

//  The token a word names: the word itself, or for "-" the first line of
//  stdin (read once). NULL after a message when stdin cannot be read.
static const char *
s_read_token (options_t *options, const char *word)
{
    if (strcmp (word, "-") != 0)
        return word;
    if (!options->stdin_token && !(options->stdin_token = secpolctl_read_stdin ())) {
        secpolctl_usage_error ("cannot read the token from stdin: %s", strerror (errno));
        return NULL;
    }
    options->stdin_token[strcspn (options->stdin_token, "\r\n")] = '\0';
    return options->stdin_token;
}

//  --------------------------------------------------------------------------
//  Calls

static int
s_issue (secpol_client_t *client, options_t *options)
{
    Secpol__V1__IssueTokenRequest request = SECPOL__V1__ISSUE_TOKEN_REQUEST__INIT;
    request.workspace_id = options->words[0];
    request.community_id = (char *)options->community;
    request.kind = options->kind;
    request.subject_id = options->words[2];
    request.bound_to = (char *)options->bound_to;
    request.max_uses = options->max_uses;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_SERVICE "IssueToken", &request.base, &response);
    return s_finish (client, code, response);
}

static int
s_use (secpol_client_t *client, options_t *options, bool consume)
{
    int code;
    const char *token = s_read_token (options, options->words[0]);
    if (!token)
        return SECPOLCTL_EXIT_USAGE;
    ProtobufCMessage *response = NULL;
    if (consume) {
        Secpol__V1__ConsumeTokenRequest request = SECPOL__V1__CONSUME_TOKEN_REQUEST__INIT;
        request.token = (char *)token;
        request.kind = options->kind;
        request.workspace_id = (char *)options->workspace;
        request.bound_to = (char *)options->bound_to;
        code = secpol_client_call (client, S_SERVICE "ConsumeToken", &request.base, &response);
    } else {
        Secpol__V1__VerifyTokenRequest request = SECPOL__V1__VERIFY_TOKEN_REQUEST__INIT;
        request.token = (char *)token;
        request.kind = options->kind;
        request.workspace_id = (char *)options->workspace;
        request.bound_to = (char *)options->bound_to;
        code = secpol_client_call (client, S_SERVICE "VerifyToken", &request.base, &response);
    }
    return s_finish (client, code, response);
}

static int
s_revoke (secpol_client_t *client, options_t *options)
{
    Secpol__V1__RevokeTokensRequest request = SECPOL__V1__REVOKE_TOKENS_REQUEST__INIT;
    request.workspace_id = options->words[0];
    request.subject_id = options->words[1];
    request.kind = options->kind;
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, S_SERVICE "RevokeTokens", &request.base, &response);
    if (code != SECPOL_OK || options->json)
        return s_finish (client, code, response);
    uint32_t revoked = ((Secpol__V1__RevokeTokensResponse *)response)->revoked;
    printf ("revoked %" PRIu32 " live token%s\n", revoked, revoked == 1 ? "" : "s");
    protobuf_c_message_free_unpacked (response, NULL);
    return SECPOLCTL_EXIT_OK;
}

//  Prints the outcome as `secpolctl call` does, frees response and
//  returns the exit code.
static int
s_finish (secpol_client_t *client, int code, ProtobufCMessage *response)
{
    code = secpolctl_print_response (client, code, response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}
