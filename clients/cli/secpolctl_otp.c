/*  secpolctl_otp.c - `secpolctl otp ...`: shortcuts for OtpService.
 *
 *  secpolctl otp issue-email  W SUBJECT PURPOSE          IssueEmailOtp
 *  secpolctl otp verify-email W SUBJECT PURPOSE < code   VerifyEmailOtp
 *  secpolctl otp begin        W SUBJECT ACCOUNT [--issuer I]  BeginTotpEnrollment
 *  secpolctl otp confirm      W SUBJECT < code           ConfirmTotpEnrollment
 *  secpolctl otp verify       W SUBJECT < code           VerifyTotp
 *  secpolctl otp recover      W SUBJECT < code           VerifyRecoveryCode
 *  secpolctl otp regenerate   W SUBJECT                  RegenerateRecoveryCodes
 *  secpolctl otp remove       W SUBJECT                  RemoveTotp
 *  secpolctl otp status       W SUBJECT                  GetTotpStatus
 *
 *  A code (email, TOTP or recovery) is read from stdin, its first line,
 *  never from the command line: out of the process list and the shell's
 *  history; on a terminal it is asked for with echo off. It is sent once
 *  and the buffer holding it is wiped.
 *
 *  issue-email, begin, confirm and regenerate print the response (JSON by
 *  default): the code, secret, URI or recovery codes they carry are shown
 *  this once. The verifications print "ok" or "refused: REASON", then the
 *  TWO_FACTOR counter in a line; -o json prints the OtpVerifyResponse. The
 *  exit status is the call's status code: 0 whenever the server answered,
 *  whether or not the code was right (scripts read "ok" or the JSON's
 *  "ok"), as for `password check`.
 */
#include "secpolctl.h"
#include "secpolctl_internal.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/otp.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SERVICE  "/secpol.v1.OtpService/"
#define S_CODE_MAX 66 /* a code is at most 64 bytes; a longer line is sent cut so it is refused */

/*  One subcommand: its method, its words, whether it reads a code. */
typedef struct {
    const char *name;   /* "verify-email" */
    const char *method; /* "VerifyEmailOtp" */
    int words;          /* positional words: W SUBJECT [PURPOSE | ACCOUNT] */
    bool reads_code;    /* a code on stdin */
    bool verdict;       /* answers OtpVerifyResponse: printed as a verdict */
} s_command_t;

static const s_command_t s_commands[] = {
    {"issue-email", "IssueEmailOtp", 3, false, false},
    {"verify-email", "VerifyEmailOtp", 3, true, true},
    {"begin", "BeginTotpEnrollment", 3, false, false},
    {"confirm", "ConfirmTotpEnrollment", 2, true, false},
    {"verify", "VerifyTotp", 2, true, true},
    {"recover", "VerifyRecoveryCode", 2, true, true},
    {"regenerate", "RegenerateRecoveryCodes", 2, false, false},
    {"remove", "RemoveTotp", 2, false, false},
    {"status", "GetTotpStatus", 2, false, false},
};

static ProtobufCMessage *s_request (const s_command_t *command, char **words, const char *issuer,
                                    char *code);
static void s_print_verdict (const Secpol__V1__OtpVerifyResponse *verdict);

int
secpolctl_otp_main (secpol_client_t *client, int argc, char **argv)
{
    if (argc < 2)
        return secpolctl_usage_error ("otp: name a command (secpolctl otp --help)");
    const s_command_t *command = NULL;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp (argv[1], s_commands[i].name) == 0)
            command = &s_commands[i];
    if (!command)
        return secpolctl_usage_error ("unknown otp command \"%s\" (secpolctl otp --help)", argv[1]);
    static const struct option long_options[] = {
        {"issuer", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    const char *issuer = "";
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc - 1, argv + 1, "", long_options, NULL)) != -1) {
        if (option != 'i' || strcmp (command->name, "begin") != 0)
            return secpolctl_usage_error ("otp %s: unknown or incomplete option \"%s\" "
                                          "(secpolctl otp %s --help)",
                                          command->name, argv[optind], command->name);
        issuer = optarg;
    }
    int n_words = argc - 1 - optind;
    char **words = argv + 1 + optind;
    if (n_words != command->words)
        return secpolctl_usage_error ("otp %s: give the workspace, the subject%s", command->name,
                                      command->words == 2 ? ""
                                      : strcmp (command->name, "begin") == 0
                                          ? " and the account name the app shows"
                                          : " and the purpose of the code (sign_in, ...)");

    char code[S_CODE_MAX + 1] = "";
    int exit_code = SECPOLCTL_EXIT_OK;
    if (command->reads_code) {
        char what[64];
        snprintf (what, sizeof what, "otp %s", command->name);
        exit_code = secpolctl_read_secret (code, sizeof code, "Code: ", what,
                                           "no code on stdin (its first line)");
    }
    if (exit_code == SECPOLCTL_EXIT_OK && !client)
        client = secpolctl_client (&exit_code);
    if (exit_code != SECPOLCTL_EXIT_OK) {
        secpolctl_wipe (code, sizeof code);
        return exit_code;
    }
    ProtobufCMessage *request = s_request (command, words, issuer, code);
    char path[96];
    snprintf (path, sizeof path, S_SERVICE "%s", command->method);
    ProtobufCMessage *response = NULL;
    exit_code = secpol_client_call (client, path, request, &response);
    secpolctl_wipe (code, sizeof code);
    free (request);
    if (exit_code == SECPOL_OK && command->verdict && secpolctl_output () == SECPOLCTL_OUTPUT_TEXT)
        s_print_verdict ((const Secpol__V1__OtpVerifyResponse *)response);
    else
        exit_code = secpolctl_print_response (client, exit_code, response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return exit_code;
}

/*  The request of command, malloc'd (the caller frees it; its strings are
 *  the caller's words, issuer and code, not copies). */
static ProtobufCMessage *
s_request (const s_command_t *command, char **words, const char *issuer, char *code)
{
    /* Every request begins workspace_id, subject_id (field numbers 1, 2):
     * one union of the request types. */
    union {
        Secpol__V1__IssueEmailOtpRequest issue;
        Secpol__V1__VerifyEmailOtpRequest verify_email;
        Secpol__V1__BeginTotpEnrollmentRequest begin;
        Secpol__V1__ConfirmTotpEnrollmentRequest confirm;
        Secpol__V1__VerifyTotpRequest verify;
        Secpol__V1__VerifyRecoveryCodeRequest recover;
        Secpol__V1__RegenerateRecoveryCodesRequest regenerate;
        Secpol__V1__RemoveTotpRequest remove;
        Secpol__V1__GetTotpStatusRequest status;
    } *r = calloc (1, sizeof *r);
    if (!r) {
        fprintf (stderr, "secpolctl: out of memory\n");
        exit (SECPOL_INTERNAL);
    }
    const char *name = command->name;
    if (strcmp (name, "issue-email") == 0) {
        secpol__v1__issue_email_otp_request__init (&r->issue);
        r->issue.workspace_id = words[0], r->issue.subject_id = words[1];
        r->issue.purpose = words[2];
    } else if (strcmp (name, "verify-email") == 0) {
        secpol__v1__verify_email_otp_request__init (&r->verify_email);
        r->verify_email.workspace_id = words[0], r->verify_email.subject_id = words[1];
        r->verify_email.purpose = words[2];
        r->verify_email.code = code;
    } else if (strcmp (name, "begin") == 0) {
        secpol__v1__begin_totp_enrollment_request__init (&r->begin);
        r->begin.workspace_id = words[0], r->begin.subject_id = words[1];
        r->begin.account_name = words[2];
        r->begin.issuer = (char *)issuer;
    } else if (strcmp (name, "confirm") == 0) {
        secpol__v1__confirm_totp_enrollment_request__init (&r->confirm);
        r->confirm.workspace_id = words[0], r->confirm.subject_id = words[1];
        r->confirm.code = code;
    } else if (strcmp (name, "verify") == 0) {
        secpol__v1__verify_totp_request__init (&r->verify);
        r->verify.workspace_id = words[0], r->verify.subject_id = words[1];
        r->verify.code = code;
    } else if (strcmp (name, "recover") == 0) {
        secpol__v1__verify_recovery_code_request__init (&r->recover);
        r->recover.workspace_id = words[0], r->recover.subject_id = words[1];
        r->recover.code = code;
    } else if (strcmp (name, "regenerate") == 0) {
        secpol__v1__regenerate_recovery_codes_request__init (&r->regenerate);
        r->regenerate.workspace_id = words[0], r->regenerate.subject_id = words[1];
    } else if (strcmp (name, "remove") == 0) {
        secpol__v1__remove_totp_request__init (&r->remove);
        r->remove.workspace_id = words[0], r->remove.subject_id = words[1];
    } else {
        secpol__v1__get_totp_status_request__init (&r->status);
        r->status.workspace_id = words[0], r->status.subject_id = words[1];
    }
    return (ProtobufCMessage *)r;
}

/*  "ok" or "refused: REASON", then the counter as people read it. */
static void
s_print_verdict (const Secpol__V1__OtpVerifyResponse *verdict)
{
    if (verdict->ok)
        printf ("ok\n");
    else {
        fputs ("refused: ", stdout);
        secpolctl_print_escaped (stdout, verdict->reason);
        fputc ('\n', stdout);
    }
    const Secpol__V1__LockoutStatus *lockout = verdict->lockout;
    if (lockout && lockout->locked)
        printf ("two-factor: locked%s, %" PRIu32 " failures\n",
                lockout->retry_after_seconds ? "" : " until an admin unlocks", lockout->failures);
    else if (lockout && lockout->max_failures)
        printf ("two-factor: %" PRIu32 " failures, %" PRIu32 " attempts left\n", lockout->failures,
                lockout->remaining_attempts);
    else if (lockout)
        printf ("two-factor: lockout off\n");
    if (lockout && lockout->locked && lockout->retry_after_seconds)
        printf ("retry after %" PRId64 " s\n", lockout->retry_after_seconds);
    if (verdict->recovery_codes_left)
        printf ("recovery codes left: %" PRIu32 "\n", verdict->recovery_codes_left);
    if (verdict->ok && verdict->drift_steps)
        printf ("drift: %+" PRId32 " step\n", verdict->drift_steps);
}
