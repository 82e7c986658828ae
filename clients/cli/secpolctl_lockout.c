/*  secpolctl_lockout.c - `secpolctl lockout ...`: shortcuts for LockoutService.
 *
 *  secpolctl lockout status W SUBJECT [--kind K]
 *  secpolctl lockout unlock W SUBJECT --kind K
 *
 *  K is a LockoutKind by name, with or without its LOCKOUT_KIND_ prefix, in
 *  any case, "-" or "_" between words: login, claim, two-factor,
 *  LOCKOUT_KIND_TWO_FACTOR. A wrong one is a usage error listing the kinds.
 *
 *  status asks CheckLockout (a read: it changes nothing) for K, or for the
 *  three kinds; unlock (an admin action) clears one kind's failures and
 *  lock. By default one line for people per kind; with -o json the
 *  LockoutStatus (an array of three for status without --kind). The exit
 *  status is the call's status code.
 */
#include "secpolctl.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/lockout.pb-c.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_SERVICE     "/secpol.v1.LockoutService/"
#define S_KIND_PREFIX "LOCKOUT_KIND_"

static int s_kind (const char *word, int *kind_p);
static int s_run (secpol_client_t *client, const char *method, const char *workspace,
                  const char *subject, int kind, bool json, bool first);
static void s_print_line (const Secpol__V1__LockoutStatus *status);

/*  `secpolctl lockout SUBCOMMAND ...` (secpolctl.h): argv[0] is "lockout",
 *  argv[1] the subcommand, argv[2..] its words. client may be NULL: one is
 *  made once the words are checked. Returns the exit code. */
int
secpolctl_lockout_main (secpol_client_t *client, int argc, char **argv)
{
    if (argc < 2)
        return secpolctl_usage_error ("lockout: name a command (secpolctl lockout --help)");
    const char *command = argv[1];
    bool unlock = strcmp (command, "unlock") == 0;
    if (!unlock && strcmp (command, "status") != 0)
        return secpolctl_usage_error ("unknown lockout command \"%s\" (secpolctl lockout --help)",
                                      command);
    static const struct option long_options[] = {
        {"kind", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    const char *kind_word = NULL;
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc - 1, argv + 1, "", long_options, NULL)) != -1) {
        if (option != 'k')
            return secpolctl_usage_error ("lockout %s: unknown or incomplete option \"%s\" "
                                          "(secpolctl lockout %s --help)",
                                          command, argv[optind], command);
        kind_word = optarg;
    }
    int n_words = argc - 1 - optind;
    char **words = argv + 1 + optind;
    if (n_words != 2)
        return secpolctl_usage_error ("lockout %s: give the workspace and the subject", command);
    if (unlock && !kind_word)
        return secpolctl_usage_error ("lockout unlock: give --kind (login, claim or two-factor)");
    int kind = 0;
    if (kind_word) {
        int code = s_kind (kind_word, &kind);
        if (code)
            return code;
    }
    int code = SECPOLCTL_EXIT_OK;
    if (!client)
        client = secpolctl_client (&code);
    if (!client)
        return code;
    bool json = secpolctl_output () == SECPOLCTL_OUTPUT_JSON;
    if (unlock || kind)
        return s_run (client, unlock ? "Unlock" : "CheckLockout", words[0], words[1], kind, json,
                      true);
    if (json)
        printf ("[\n");
    for (int k = 1; k <= 3 && code == SECPOLCTL_EXIT_OK; k++)
        code = s_run (client, "CheckLockout", words[0], words[1], k, json, k == 1);
    if (json && code == SECPOLCTL_EXIT_OK)
        printf ("]\n");
    return code;
}

//  Sets *kind_p to the LockoutKind word names (see the top of this file).
static int
s_kind (const char *word, int *kind_p)
{
    *kind_p = secpolctl_enum_word (&secpol__v1__lockout_kind__descriptor, S_KIND_PREFIX, word,
                                   "lockout kind", "");
    return *kind_p ? SECPOLCTL_EXIT_OK : SECPOLCTL_EXIT_USAGE;
}

//  Calls method for one kind and prints its answer: a line, or JSON (after
//  a comma unless first, for an element of an array).
static int
s_run (secpol_client_t *client, const char *method, const char *workspace, const char *subject,
       int kind, bool json, bool first)
{
    Secpol__V1__LockoutRequest request = SECPOL__V1__LOCKOUT_REQUEST__INIT;
    request.workspace_id = (char *)workspace;
    request.subject_id = (char *)subject;
    request.kind = (Secpol__V1__LockoutKind)kind;
    char path[96];
    snprintf (path, sizeof path, S_SERVICE "%s", method);
    ProtobufCMessage *response = NULL;
    int code = secpol_client_call (client, path, &request.base, &response);
    if (code != SECPOL_OK) {
        code = secpolctl_print_response (client, code, response);
    } else if (json) {
        if (!first)
            printf (",\n");
        code = secpolctl_print_message (response);
    } else
        s_print_line ((const Secpol__V1__LockoutStatus *)response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

//  One line for people: "login: locked, 5 failures, retry after 893 s
//  (until 2026-12-01T12:15:00Z), prompt 30 s".
static void
s_print_line (const Secpol__V1__LockoutStatus *status)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&secpol__v1__lockout_kind__descriptor, status->kind);
    char kind[32] = "?";
    if (value) {
        size_t n = 0;
        for (const char *c = value->name + strlen (S_KIND_PREFIX); *c && n + 1 < sizeof kind; c++)
            kind[n++] = *c == '_' ? '-' : (char)tolower ((unsigned char)*c);
        kind[n] = '\0';
    }
    if (status->max_failures == 0) {
        printf ("%s: off (max_failures 0)\n", kind);
        return;
    }
    if (!status->locked) {
        printf ("%s: not locked, %" PRIu32 " failure%s, %" PRIu32 " attempt%s before the lock\n",
                kind, status->failures, status->failures == 1 ? "" : "s",
                status->remaining_attempts, status->remaining_attempts == 1 ? "" : "s");
        return;
    }
    printf ("%s: locked, %" PRIu32 " failure%s, ", kind, status->failures,
            status->failures == 1 ? "" : "s");
    if (status->locked_until) {
        char until[32] = "?";
        time_t t = (time_t)status->locked_until;
        struct tm tm;
        if (gmtime_r (&t, &tm))
            strftime (until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf ("retry after %" PRId64 " s (until %s)", status->retry_after_seconds, until);
    } else
        printf ("until an admin unlocks");
    printf (", prompt %" PRIu32 " s\n", status->prompt_seconds);
}
