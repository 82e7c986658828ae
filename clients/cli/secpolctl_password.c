/*  secpolctl_password.c - `secpolctl password ...` and `secpolctl account
 *  ...`: shortcuts for PasswordService.
 *
 *  secpolctl password check W SUBJECT [--community C] [--user-input X]...
 *                                     [--admin-forced]   < password
 *  secpolctl account status W SUBJECT [--community C]
 *
 *  check reads the candidate from stdin, its first line (without "\r\n"),
 *  never from the command line: out of the process list and the shell's
 *  history. On a terminal it asks for it with echo off. It is sent once
 *  (CheckPassword) and the buffer holding it is wiped; it is never printed.
 *  By default check prints "ok", or one line per broken rule, `CODE:
 *  message` (with CHANGED_TOO_RECENTLY, a line saying when a change is
 *  allowed); with -o json the CheckPasswordResponse. The exit status is the
 *  call's status code, as for `policy check-upload`: 0 whenever the server
 *  answered, whether or not the password passes (scripts read "ok" or the
 *  JSON's "ok").
 *
 *  status prints the AccountStatus (GetAccountStatus) a `path: value` line
 *  per field, or with -o json as JSON.
 */
#include "secpolctl.h"
#include "secpolctl_internal.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/password.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SERVICE "/secpol.v1.PasswordService/"

/*  A password is at most 1024 bytes on the wire; a longer first line is
 *  sent cut here plus one byte, so the server refuses it (TOO_LONG or
 *  INVALID_ARGUMENT) rather than accepting a prefix. */
#define S_PASSWORD_MAX 1026

static int s_check (secpol_client_t *client, int argc, char **argv);
static int s_status (secpol_client_t *client, int argc, char **argv);
static void s_print_time (const char *label, int64_t when);

/*  `secpolctl password SUBCOMMAND ...` and `secpolctl account SUBCOMMAND
 *  ...` (secpolctl.h): argv[0] is "password" or "account", argv[1] the
 *  subcommand, argv[2..] its words. client may be NULL: one is made once
 *  the words (and the password) are read. Returns the exit code. */
int
secpolctl_password_main (secpol_client_t *client, int argc, char **argv)
{
    bool account = strcmp (argv[0], "account") == 0;
    const char *group = account ? "account" : "password";
    if (argc < 2)
        return secpolctl_usage_error ("%s: name a command (secpolctl %s --help)", group, group);
    const char *command = argv[1];
    if (!account && strcmp (command, "check") == 0)
        return s_check (client, argc, argv);
    if (account && strcmp (command, "status") == 0)
        return s_status (client, argc, argv);
    return secpolctl_usage_error ("unknown %s command \"%s\" (secpolctl %s --help)", group, command,
                                  group);
}

static int
s_check (secpol_client_t *client, int argc, char **argv)
{
    static const struct option long_options[] = {
        {"community", required_argument, NULL, 'c'},
        {"user-input", required_argument, NULL, 'u'},
        {"admin-forced", no_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    Secpol__V1__CheckPasswordRequest request = SECPOL__V1__CHECK_PASSWORD_REQUEST__INIT;
    request.community_id = "";
    char **user_inputs = (char **)calloc ((size_t)argc, sizeof *user_inputs);
    if (!user_inputs) {
        fprintf (stderr, "secpolctl: out of memory\n");
        return SECPOL_INTERNAL;
    }
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc - 1, argv + 1, "", long_options, NULL)) != -1) {
        if (option == 'c')
            request.community_id = optarg;
        else if (option == 'u')
            user_inputs[request.n_user_inputs++] = optarg;
        else if (option == 'a')
            request.admin_forced = true;
        else {
            free (user_inputs);
            return secpolctl_usage_error ("password check: unknown or incomplete option \"%s\" "
                                          "(secpolctl password check --help)",
                                          argv[optind]);
        }
    }
    request.user_inputs = user_inputs;
    int n_words = argc - 1 - optind;
    char **words = argv + 1 + optind;
    if (n_words != 2) {
        free (user_inputs);
        return secpolctl_usage_error ("password check: give the workspace and the subject "
                                      "(the password is read from stdin)");
    }
    request.workspace_id = words[0];
    request.subject_id = words[1];

    char password[S_PASSWORD_MAX + 1];
    int code = secpolctl_read_secret (password, sizeof password, "Password: ", "password check",
                                      "no password on stdin (its first line)");
    if (code == SECPOLCTL_EXIT_OK && !client)
        client = secpolctl_client (&code);
    if (code != SECPOLCTL_EXIT_OK) {
        secpolctl_wipe (password, sizeof password);
        free (user_inputs);
        return code;
    }
    request.password = password;
    ProtobufCMessage *response = NULL;
    code = secpol_client_call (client, S_SERVICE "CheckPassword", &request.base, &response);
    secpolctl_wipe (password, sizeof password);
    request.password = NULL;
    free (user_inputs);
    if (code != SECPOL_OK || secpolctl_output () == SECPOLCTL_OUTPUT_JSON)
        code = secpolctl_print_response (client, code, response);
    else {
        const Secpol__V1__CheckPasswordResponse *answer =
            (const Secpol__V1__CheckPasswordResponse *)response;
        if (answer->ok && answer->n_violations == 0)
            printf ("ok\n");
        for (size_t i = 0; i < answer->n_violations; i++) {
            secpolctl_print_escaped (stdout, answer->violations[i]->code);
            fputs (": ", stdout);
            secpolctl_print_escaped (stdout, answer->violations[i]->message);
            fputc ('\n', stdout);
        }
        if (answer->next_change_allowed_at)
            s_print_time ("next change allowed at", answer->next_change_allowed_at);
    }
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

static int
s_status (secpol_client_t *client, int argc, char **argv)
{
    static const struct option long_options[] = {
        {"community", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    Secpol__V1__GetAccountStatusRequest request = SECPOL__V1__GET_ACCOUNT_STATUS_REQUEST__INIT;
    request.community_id = "";
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc - 1, argv + 1, "", long_options, NULL)) != -1) {
        if (option != 'c')
            return secpolctl_usage_error ("account status: unknown or incomplete option \"%s\" "
                                          "(secpolctl account status --help)",
                                          argv[optind]);
        request.community_id = optarg;
    }
    int n_words = argc - 1 - optind;
    char **words = argv + 1 + optind;
    if (n_words != 2)
        return secpolctl_usage_error ("account status: give the workspace and the subject");
    request.workspace_id = words[0];
    request.subject_id = words[1];
    int code = SECPOLCTL_EXIT_OK;
    if (!client)
        client = secpolctl_client (&code);
    if (!client)
        return code;
    ProtobufCMessage *response = NULL;
    code = secpol_client_call (client, S_SERVICE "GetAccountStatus", &request.base, &response);
    code = secpolctl_print_response (client, code, response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

static void
s_print_time (const char *label, int64_t when)
{
    char text[32] = "?";
    time_t t = (time_t)when;
    struct tm tm;
    if (gmtime_r (&t, &tm))
        strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf ("%s %s (%" PRId64 ")\n", label, text, when);
}
