/*  secpolctl_policy.c - `secpolctl policy ...`: shortcuts for PolicyService.
 *
 *  secpolctl policy get W [--community C]
 *  secpolctl policy set W [--community C] [--expected-version N] [--actor A] [--create]
 *                         SETTING=VALUE ...
 *  secpolctl policy delete W [--community C] [--expected-version N] [--actor A]
 *  secpolctl policy headers W [--community C]
 *  secpolctl policy history W [--community C] [--page-size N] [--page-token T]
 *  secpolctl policy check-upload W [--community C] FILENAME
 *  secpolctl policy list [W] [--page-size N] [--page-token T]
 *  secpolctl policy settings
 *
 *  Setting names, kinds, ranges and defaults come from the server's own
 *  table (src/policy/policy_fields.c, compiled in by
 *  secpolctl_policy_table.c): `set` checks every name and value with it
 *  before it connects (a bad one is a usage error naming the setting, with
 *  the nearest name for a typo), and `settings` prints it. `set` refuses a
 *  level that has nothing stored yet unless --create is given, since a
 *  mistyped workspace id would otherwise start a new level silently.
 *
 *  Text output (the default of set, delete, headers, history, list and
 *  settings) escapes every value it prints (secpol_json_escape_text): no
 *  value can end a line, forge one or drive the terminal. -o json prints
 *  the server's response as one JSON document instead.
 */
#include "secpolctl.h"

#include "json_pb.h"
/* the server's settings table and the arena it allocates from */
#include "../../src/policy/policy_fields.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_SERVICE "/secpol.v1.PolicyService/"

typedef struct {
    const char *command;       /* "get", "set", ... */
    const char *workspace;     /* W; "" for list without one */
    const char *community;     /* --community, "" = workspace level */
    uint64_t expected_version; /* --expected-version, 0 = unconditional */
    const char *actor;         /* --actor, "" = the caller */
    uint32_t page_size;        /* --page-size, 0 = the server's default */
    const char *page_token;    /* --page-token */
    bool json;                 /* --json or -o json: the response as JSON */
    bool create;               /* --create: set may start a level */
    int n_words;               /* words after W */
    char **words;
} options_t;

static int s_parse (options_t *options, int argc, char **argv);
static int s_usage_word (const char *before, const char *word, const char *after);
static secpol_client_t *s_connect (secpol_client_t *client, int *code_p);
static int s_call (secpol_client_t *client, const char *method, const ProtobufCMessage *request,
                   ProtobufCMessage **response_p);
static int s_get_policy (secpol_client_t *client, const options_t *options,
                         Secpol__V1__Policy **policy_p);
static int s_get (secpol_client_t *client, const options_t *options);
static int s_set (secpol_client_t *client, const options_t *options);
static int s_delete (secpol_client_t *client, const options_t *options);
static int s_headers (secpol_client_t *client, const options_t *options);
static int s_history (secpol_client_t *client, const options_t *options);
static int s_check_upload (secpol_client_t *client, const options_t *options);
static int s_list (secpol_client_t *client, const options_t *options);
static int s_settings (const options_t *options);
static int s_read_setting (secpol_arena_t *arena, Secpol__V1__Policy *update,
                           secpol_policy_mask_t *mask_p, const char *word);
static void s_print_escaped (FILE *out, const char *text, bool quote);
static void s_print_value (FILE *out, const char *path, const char *text);
static void s_print_level (FILE *out, const options_t *options);
static void s_print_changes (const Secpol__V1__Policy *before, const Secpol__V1__Policy *after,
                             secpol_policy_mask_t named);
static void s_free (void *message);
static void s_format_time (char *when, size_t size, int64_t seconds);
static void s_print_next_page (const char *token);
static char *s_escaped (secpol_arena_t *arena, const char *text);
static size_t s_width (const char *text);
static void s_print_cell (const char *text, size_t width);

int
secpolctl_policy (secpol_client_t *client, int argc, char **argv)
{
    if (argc < 2)
        return secpolctl_usage_error ("policy: name a command (secpolctl policy --help)");
    options_t options;
    int code = s_parse (&options, argc - 1, argv + 1);
    if (code != SECPOLCTL_EXIT_OK)
        return code;
    const char *command = options.command;
    if (strcmp (command, "settings") == 0)
        return s_settings (&options);
    if (strcmp (command, "set") == 0)
        return s_set (client, &options); /* checks its words before it connects */
    if (!(client = s_connect (client, &code)))
        return code;
    if (strcmp (command, "get") == 0)
        return s_get (client, &options);
    if (strcmp (command, "delete") == 0)
        return s_delete (client, &options);
    if (strcmp (command, "headers") == 0)
        return s_headers (client, &options);
    if (strcmp (command, "history") == 0)
        return s_history (client, &options);
    if (strcmp (command, "check-upload") == 0)
        return s_check_upload (client, &options);
    return s_list (client, &options);
}

//  --------------------------------------------------------------------------
//  Command line

static int
s_parse (options_t *options, int argc, char **argv)
{
    memset (options, 0, sizeof *options);
    options->command = argv[0];
    options->community = "";
    options->actor = "";
    options->page_token = "";
    options->json = secpolctl_output () == SECPOLCTL_OUTPUT_JSON;
    static const char *const commands[] = {"get",          "set",  "delete",   "headers", "history",
                                           "check-upload", "list", "settings", NULL};
    bool known = false;
    for (size_t k = 0; commands[k]; k++)
        known = known || strcmp (commands[k], argv[0]) == 0;
    if (!known)
        return s_usage_word ("unknown policy command ", argv[0], " (secpolctl policy --help)");
    static const struct option long_options[] = {
        {"community", required_argument, NULL, 'c'},
        {"expected-version", required_argument, NULL, 'v'},
        {"actor", required_argument, NULL, 'a'},
        {"page-size", required_argument, NULL, 's'},
        {"page-token", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"create", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int option;
    uint64_t number;
    while ((option = getopt_long (argc, argv, "c:", long_options, NULL)) != -1) {
        switch (option) {
            case 'c':
                options->community = optarg;
                break;
            case 'v':
                if (secpolctl_number_option (&options->expected_version, "--expected-version",
                                             optarg, UINT64_MAX, NULL))
                    return SECPOLCTL_EXIT_USAGE;
                break;
            case 'a':
                options->actor = optarg;
                break;
            case 's':
                if (secpolctl_number_option (&number, "--page-size", optarg, UINT32_MAX, NULL))
                    return SECPOLCTL_EXIT_USAGE;
                options->page_size = (uint32_t)number;
                break;
            case 't':
                options->page_token = optarg;
                break;
            case 'j':
                options->json = true;
                break;
            case 'C':
                options->create = true;
                break;
            default:
                return s_usage_word ("policy: unknown or incomplete option ", argv[optind - 1],
                                     " (secpolctl policy --help)");
        }
    }
    options->n_words = argc - optind;
    options->words = argv + optind;
    bool settings = strcmp (argv[0], "settings") == 0, list = strcmp (argv[0], "list") == 0;
    if (!settings && !list) {
        if (options->n_words == 0)
            return secpolctl_usage_error ("policy %s: name the workspace", argv[0]);
        options->workspace = options->words[0];
        options->n_words--;
        options->words++;
    } else if (list && options->n_words > 0) {
        options->workspace = options->words[0];
        options->n_words--;
        options->words++;
    } else
        options->workspace = "";
    bool takes_words = strcmp (argv[0], "set") == 0 || strcmp (argv[0], "check-upload") == 0;
    if (!takes_words && options->n_words)
        return s_usage_word ("policy: unexpected ", options->words[0], "");
    return SECPOLCTL_EXIT_OK;
}

//  A usage error that quotes a word from the command line, escaped.
static int
s_usage_word (const char *before, const char *word, const char *after)
{
    char *escaped = secpol_json_escape_text (word, true);
    secpolctl_usage_error ("%s%s%s", before, escaped ? escaped : "?", after);
    free (escaped);
    return SECPOLCTL_EXIT_USAGE;
}

//  --------------------------------------------------------------------------
//  Calls

//  The client the dispatcher gave, or the session's one made now (after a
//  command checked its words).
static secpol_client_t *
s_connect (secpol_client_t *client, int *code_p)
{
    return client ? client : secpolctl_client (code_p);
}

static int
s_call (secpol_client_t *client, const char *method, const ProtobufCMessage *request,
        ProtobufCMessage **response_p)
{
    char path[128];
    snprintf (path, sizeof path, S_SERVICE "%s", method);
    *response_p = NULL;
    return secpol_client_call (client, path, request, response_p);
}

//  Prints a failed call (status and violations on stderr) and returns its
//  exit code; on OK prints the response (JSON, or the text the session
//  chose) and returns 0. Frees response.
static int
s_print_response (secpol_client_t *client, int code, ProtobufCMessage *response)
{
    code = secpolctl_print_response (client, code, response);
    s_free (response);
    return code;
}

static void
s_free (void *message)
{
    if (message)
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

static int
s_get_policy (secpol_client_t *client, const options_t *options, Secpol__V1__Policy **policy_p)
{
    Secpol__V1__GetPolicyRequest request = SECPOL__V1__GET_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)options->workspace;
    request.community_id = (char *)options->community;
    return s_call (client, "GetPolicy", &request.base, (ProtobufCMessage **)policy_p);
}

static int
s_get (secpol_client_t *client, const options_t *options)
{
    Secpol__V1__Policy *policy = NULL;
    int code = s_get_policy (client, options, &policy);
    return s_print_response (client, code, (ProtobufCMessage *)policy);
}

//  --------------------------------------------------------------------------
//  set

static int
s_set (secpol_client_t *client, const options_t *options)
{
    if (options->n_words == 0)
        return secpolctl_usage_error ("policy set: give at least one SETTING=VALUE");
    secpol_arena_t *arena = secpol_arena_new ();
    Secpol__V1__Policy *update = secpol_policy_new (arena);
    char **paths = secpol_arena_alloc (arena, (size_t)options->n_words * sizeof *paths);
    secpol_policy_mask_t mask = 0;
    size_t n_paths = 0;
    int bad = 0;
    for (int k = 0; k < options->n_words; k++) {
        secpol_policy_mask_t before = mask;
        if (s_read_setting (arena, update, &mask, options->words[k]) != 0)
            bad++;
        for (size_t i = 0; i < secpol_policy_field_count (); i++)
            if ((mask & ~before) & (UINT64_C (1) << i))
                paths[n_paths++] = (char *)secpol_policy_field (i)->path;
    }
    /* every value against its range, value set or format: the server's
     * checks of one value; the cross-field rules need the stored policy */
    secpol_policy_violation_t *violations = NULL;
    size_t n_violations = secpol_policy_validate (arena, update, mask, NULL, NULL, &violations);
    for (size_t k = 0; k < n_violations; k++) {
        const char *field = violations[k].field + strlen ("policy.");
        fprintf (stderr, "secpolctl: policy set: %s: ", field);
        s_print_escaped (stderr, violations[k].description, false);
        fputc ('\n', stderr);
    }
    int code = SECPOLCTL_EXIT_OK;
    if (bad || n_violations)
        code = SECPOLCTL_EXIT_USAGE; /* nothing was sent */
    Secpol__V1__Policy *before = NULL, *after = NULL;
    if (code == SECPOLCTL_EXIT_OK && (client = s_connect (client, &code)))
        code = s_get_policy (client, options, &before);
    if (code == SECPOLCTL_EXIT_OK && before->version == 0 && !options->create) {
        fprintf (stderr, "secpolctl: policy set: ");
        s_print_level (stderr, options);
        fprintf (stderr,
                 " has no stored policy yet (version 0: it uses what it inherits), so nothing "
                 "was changed. If the id is right, add --create to create the level; "
                 "\"secpolctl policy list\" shows the levels that exist.\n");
        code = SECPOLCTL_EXIT_USAGE;
    } else if (code == SECPOLCTL_EXIT_OK) {
        Secpol__V1__UpdatePolicyRequest request = SECPOL__V1__UPDATE_POLICY_REQUEST__INIT;
        request.workspace_id = (char *)options->workspace;
        request.community_id = (char *)options->community;
        request.policy = update;
        request.n_update_mask = n_paths;
        request.update_mask = paths;
        request.expected_version = options->expected_version;
        request.actor = (char *)options->actor;
        code = s_call (client, "UpdatePolicy", &request.base, (ProtobufCMessage **)&after);
        if (code != SECPOL_OK || options->json) {
            code = s_print_response (client, code, (ProtobufCMessage *)after);
            after = NULL;
        } else {
            s_print_level (stdout, options);
            if (after->version == before->version)
                printf (": no change (version %" PRIu64 ")\n", after->version);
            else
                printf (": version %" PRIu64 " -> %" PRIu64 "\n", before->version, after->version);
            s_print_changes (before, after, mask);
        }
    } else if (code != SECPOLCTL_EXIT_USAGE && client)
        code = secpolctl_print_response (client, code, NULL);
    s_free (before);
    s_free (after);
    secpol_arena_destroy (&arena);
    return code;
}

//  Reads one SETTING=VALUE word into update and *mask_p, or prints why it
//  is not one (naming the setting; the nearest name for a typo) and
//  returns -1.
static int
s_read_setting (secpol_arena_t *arena, Secpol__V1__Policy *update, secpol_policy_mask_t *mask_p,
                const char *word)
{
    const char *equals = strchr (word, '=');
    if (!equals || equals == word) {
        fprintf (stderr, "secpolctl: policy set: ");
        s_print_escaped (stderr, word, true);
        fprintf (stderr, " is not SETTING=VALUE\n");
        return -1;
    }
    char *path = secpol_arena_strndup (arena, word, (size_t)(equals - word));
    const char *text = equals + 1;
    int i = secpol_policy_field_index (path);
    if (i < 0) {
        fprintf (stderr, "secpolctl: policy set: ");
        s_print_escaped (stderr, path, true);
        secpol_policy_mask_t group = 0;
        const char *nearest = secpol_policy_nearest_path (path, false);
        if (secpol_policy_mask_add (&group, path) == 0 && strcmp (path, "*") != 0) {
            for (i = 0; !(group & (UINT64_C (1) << i)); i++)
                ;
            fprintf (stderr, " is a group of settings: set each one, such as %s=...\n",
                     secpol_policy_field ((size_t)i)->path);
        } else
            fprintf (stderr, " is not a setting%s%s%s (secpolctl policy settings lists them)\n",
                     nearest ? "; did you mean " : "", nearest ? nearest : "", nearest ? "?" : "");
        return -1;
    }
    secpol_policy_mask_t bit = UINT64_C (1) << i;
    if (*mask_p & bit) {
        fprintf (stderr, "secpolctl: policy set: %s is given twice\n", path);
        return -1;
    }
    const char *kind = secpol_policy_field_kind ((size_t)i);
    const char *form = text;
    if (strcmp (kind, "bool") == 0) {
        static const char *const yes[] = {"true", "yes", "on", "1", NULL};
        static const char *const no[] = {"false", "no", "off", "0", NULL};
        for (size_t k = 0; yes[k]; k++)
            if (strcasecmp (text, yes[k]) == 0)
                form = "true";
            else if (strcasecmp (text, no[k]) == 0)
                form = "false";
    } else if (strcmp (kind, "enum") == 0) {
        char *upper = secpol_arena_strdup (arena, text);
        for (char *p = upper; *p; p++)
            *p = (char)toupper ((unsigned char)*p);
        form = upper;
    }
    if (secpol_policy_leaf_parse (arena, update, (size_t)i, form) != 0) {
        const secpol_policy_field_t *field = secpol_policy_field ((size_t)i);
        const char *allowed = secpol_policy_field_allowed (arena, (size_t)i);
        fprintf (stderr, "secpolctl: policy set: %s takes ", path);
        if (strcmp (kind, "bool") == 0)
            fprintf (stderr, "true or false (also yes/no, on/off, 1/0)");
        else if (strcmp (kind, "enum") == 0)
            fprintf (stderr, "one of %s", allowed);
        else
            fprintf (stderr, "a whole number%s%s: %s", *field->unit ? " of " : "", field->unit,
                     allowed);
        fprintf (stderr, ", not ");
        s_print_escaped (stderr, text, true);
        fputc ('\n', stderr);
        return -1;
    }
    *mask_p |= bit;
    return 0;
}

//  What changed between the effective policy before and after a write, one
//  "path: old -> new" line per setting, and the settings named that did
//  not change.
static void
s_print_changes (const Secpol__V1__Policy *before, const Secpol__V1__Policy *after,
                 secpol_policy_mask_t named)
{
    secpol_arena_t *arena = secpol_arena_new ();
    for (size_t i = 0; i < secpol_policy_field_count (); i++) {
        const char *path = secpol_policy_field (i)->path;
        const char *old_text = secpol_policy_leaf_text (arena, before, i);
        const char *new_text = secpol_policy_leaf_text (arena, after, i);
        bool changed = strcmp (old_text, new_text) != 0;
        if (!changed && !(named & (UINT64_C (1) << i)))
            continue;
        printf ("  %s: ", path);
        s_print_value (stdout, path, old_text);
        if (changed) {
            fputs (" -> ", stdout);
            s_print_value (stdout, path, new_text);
        } else
            fputs (" (unchanged)", stdout);
        fputc ('\n', stdout);
    }
    secpol_arena_destroy (&arena);
}

//  --------------------------------------------------------------------------
//  delete, headers, history, check-upload, list

static int
s_delete (secpol_client_t *client, const options_t *options)
{
    Secpol__V1__Policy *before = NULL;
    int code = options->json ? SECPOL_OK : s_get_policy (client, options, &before);
    if (code != SECPOL_OK)
        return s_print_response (client, code, (ProtobufCMessage *)before);
    Secpol__V1__DeletePolicyRequest request = SECPOL__V1__DELETE_POLICY_REQUEST__INIT;
    request.workspace_id = (char *)options->workspace;
    request.community_id = (char *)options->community;
    request.expected_version = options->expected_version;
    request.actor = (char *)options->actor;
    Secpol__V1__DeletePolicyResponse *response = NULL;
    code = s_call (client, "DeletePolicy", &request.base, (ProtobufCMessage **)&response);
    if (code != SECPOL_OK || options->json) {
        s_free (before);
        return s_print_response (client, code, (ProtobufCMessage *)response);
    }
    s_print_level (stdout, options);
    if (response->deleted) {
        printf (": deleted, every setting is inherited again (version %" PRIu64 " -> %" PRIu64
                ")\n",
                before->version, response->policy->version);
        s_print_changes (before, response->policy, 0);
    } else
        printf (": stores no settings, nothing to delete (version %" PRIu64 ")\n",
                response->policy->version);
    s_free (before);
    s_free (response);
    return SECPOLCTL_EXIT_OK;
}

static int
s_headers (secpol_client_t *client, const options_t *options)
{
    Secpol__V1__RenderSecurityHeadersRequest request =
        SECPOL__V1__RENDER_SECURITY_HEADERS_REQUEST__INIT;
    request.workspace_id = (char *)options->workspace;
    request.community_id = (char *)options->community;
    Secpol__V1__RenderSecurityHeadersResponse *out = NULL;
    int code = s_call (client, "RenderSecurityHeaders", &request.base, (ProtobufCMessage **)&out);
    if (code != SECPOL_OK || options->json)
        return s_print_response (client, code, (ProtobufCMessage *)out);
    for (size_t k = 0; k < out->n_headers; k++) {
        s_print_escaped (stdout, out->headers[k]->name, false);
        fputs (": ", stdout);
        s_print_escaped (stdout, out->headers[k]->value, false);
        fputc ('\n', stdout);
    }
    for (size_t k = 0; k < out->n_warnings; k++) {
        fputs ("warning: ", stderr);
        s_print_escaped (stderr, out->warnings[k], false);
        fputc ('\n', stderr);
    }
    s_free (out);
    return SECPOLCTL_EXIT_OK;
}

static int
s_history (secpol_client_t *client, const options_t *options)
{
    Secpol__V1__ListPolicyRevisionsRequest request =
        SECPOL__V1__LIST_POLICY_REVISIONS_REQUEST__INIT;
    request.workspace_id = (char *)options->workspace;
    request.community_id = (char *)options->community;
    request.page_size = options->page_size;
    request.page_token = (char *)options->page_token;
    Secpol__V1__ListPolicyRevisionsResponse *out = NULL;
    int code = s_call (client, "ListPolicyRevisions", &request.base, (ProtobufCMessage **)&out);
    if (code != SECPOL_OK || options->json)
        return s_print_response (client, code, (ProtobufCMessage *)out);
    for (size_t k = 0; k < out->n_revisions; k++) {
        const Secpol__V1__PolicyRevision *revision = out->revisions[k];
        char when[32];
        s_format_time (when, sizeof when, revision->changed_at);
        printf ("version %" PRIu64 "  %s  ", revision->version, when);
        if (*revision->actor)
            s_print_escaped (stdout, revision->actor, false);
        else
            fputs ("(unknown actor)", stdout);
        puts (revision->deleted ? "  (deleted: back to inheriting)" : "");
        for (size_t c = 0; c < revision->n_changes; c++) {
            const Secpol__V1__FieldChange *change = revision->changes[c];
            fputs ("  ", stdout);
            s_print_escaped (stdout, change->field, false);
            fputs (": ", stdout);
            s_print_value (stdout, change->field, change->old_value);
            fputs (change->old_inherited ? " (inherited) -> " : " -> ", stdout);
            s_print_value (stdout, change->field, change->new_value);
            puts (change->new_inherited ? " (inherited)" : "");
        }
    }
    s_print_next_page (out->next_page_token);
    s_free (out);
    return SECPOLCTL_EXIT_OK;
}

static int
s_check_upload (secpol_client_t *client, const options_t *options)
{
    if (options->n_words != 1)
        return secpolctl_usage_error ("policy check-upload: give one file name");
    Secpol__V1__CheckFileUploadRequest request = SECPOL__V1__CHECK_FILE_UPLOAD_REQUEST__INIT;
    request.workspace_id = (char *)options->workspace;
    request.community_id = (char *)options->community;
    request.filename = options->words[0];
    ProtobufCMessage *out = NULL;
    int code = s_call (client, "CheckFileUpload", &request.base, &out);
    return s_print_response (client, code, out);
}

static int
s_list (secpol_client_t *client, const options_t *options)
{
    Secpol__V1__ListPoliciesRequest request = SECPOL__V1__LIST_POLICIES_REQUEST__INIT;
    request.workspace_id = (char *)options->workspace;
    request.page_size = options->page_size;
    request.page_token = (char *)options->page_token;
    Secpol__V1__ListPoliciesResponse *out = NULL;
    int code = s_call (client, "ListPolicies", &request.base, (ProtobufCMessage **)&out);
    if (code != SECPOL_OK || options->json)
        return s_print_response (client, code, (ProtobufCMessage *)out);
    /* columns as wide as their widest cell */
    secpol_arena_t *arena = secpol_arena_new ();
    const char *headings[] = {"WORKSPACE", "COMMUNITY", "VERSION", "SETTINGS", "UPDATED", "BY"};
    enum { COLUMNS = 6 };
    char **cells = secpol_arena_alloc (arena, (out->n_levels + 1) * COLUMNS * sizeof *cells);
    size_t widths[COLUMNS] = {0};
    for (size_t row = 0; row <= out->n_levels; row++) {
        char **cell = cells + row * COLUMNS;
        if (row == 0)
            memcpy (cell, headings, sizeof headings);
        else {
            const Secpol__V1__PolicyLevelSummary *level = out->levels[row - 1];
            char when[32];
            s_format_time (when, sizeof when, level->updated_at);
            cell[0] = s_escaped (arena, level->workspace_id);
            cell[1] = *level->community_id ? s_escaped (arena, level->community_id) : "-";
            cell[2] = secpol_arena_printf (arena, "%" PRIu64, level->version);
            cell[3] = secpol_arena_printf (arena, "%" PRIu32 "%s", level->overridden_settings,
                                           level->overridden_settings ? "" : " (deleted)");
            cell[4] = secpol_arena_strdup (arena, when);
            cell[5] = *level->updated_by ? s_escaped (arena, level->updated_by) : "-";
        }
        for (int c = 0; c < COLUMNS; c++)
            if (s_width (cell[c]) > widths[c])
                widths[c] = s_width (cell[c]);
    }
    for (size_t row = 0; out->n_levels && row <= out->n_levels; row++) {
        char **cell = cells + row * COLUMNS;
        for (int c = 0; c < COLUMNS - 1; c++)
            s_print_cell (cell[c], widths[c]);
        printf ("%s\n", cell[COLUMNS - 1]);
    }
    secpol_arena_destroy (&arena);
    if (out->n_levels == 0 && !*options->page_token)
        fprintf (stderr, "no stored policy levels%s: every workspace uses the defaults\n",
                 *options->workspace ? " for this workspace" : "");
    s_print_next_page (out->next_page_token);
    s_free (out);
    return SECPOLCTL_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  settings: the table, without a server

static int
s_settings (const options_t *options)
{
    secpol_arena_t *arena = secpol_arena_new ();
    size_t n = secpol_policy_field_count ();
    if (options->json) {
        json_t *list = json_array ();
        for (size_t i = 0; i < n; i++) {
            const secpol_policy_field_t *field = secpol_policy_field (i);
            json_array_append_new (
                list, json_pack ("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "setting",
                                 field->path, "number", (int)field->setting, "title", field->title,
                                 "type", secpol_policy_field_kind (i), "unit", field->unit,
                                 "default", secpol_policy_short_text (i, field->default_text),
                                 "allowed", secpol_policy_field_allowed (arena, i), "zero_means",
                                 field->zero, "enforced_by", field->enforcer));
        }
        json_dumpf (list, stdout, JSON_INDENT (2));
        fputc ('\n', stdout);
        json_decref (list);
        secpol_arena_destroy (&arena);
        return SECPOLCTL_EXIT_OK;
    }
    /* columns as wide as their widest cell; a long ALLOWED text (lists of
     * words) runs over rather than widen every line */
    size_t widths[4] = {strlen ("SETTING"), strlen ("TYPE"), strlen ("UNIT"), 0};
    for (size_t i = 0; i < n; i++) {
        const secpol_policy_field_t *field = secpol_policy_field (i);
        const char *cells[4] = {field->path, secpol_policy_field_kind (i), field->unit,
                                secpol_policy_field_allowed (arena, i)};
        for (int c = 0; c < 4; c++) {
            size_t width = s_width (cells[c]);
            if (width > widths[c] && (c < 3 || width <= 24))
                widths[c] = width;
        }
    }
    const char *headings[4] = {"SETTING", "TYPE", "UNIT", "ALLOWED"};
    for (int c = 0; c < 4; c++)
        s_print_cell (headings[c], widths[c]);
    puts ("DEFAULT");
    for (size_t i = 0; i < n; i++) {
        const secpol_policy_field_t *field = secpol_policy_field (i);
        s_print_cell (field->path, widths[0]);
        s_print_cell (secpol_policy_field_kind (i), widths[1]);
        s_print_cell (*field->unit ? field->unit : "-", widths[2]);
        s_print_cell (secpol_policy_field_allowed (arena, i), widths[3]);
        s_print_value (stdout, field->path, secpol_policy_short_text (i, field->default_text));
        fputc ('\n', stdout);
    }
    puts ("\nWhat each setting does, what 0 means and who enforces it: -o json, or "
          "docs/POLICY.md.");
    secpol_arena_destroy (&arena);
    return SECPOLCTL_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  Printing

//  text escaped for a line of output, in arena.
static char *
s_escaped (secpol_arena_t *arena, const char *text)
{
    char *escaped = secpol_json_escape_text (text, false);
    char *copy = secpol_arena_strdup (arena, escaped ? escaped : "?");
    free (escaped);
    return copy;
}

static void
s_print_escaped (FILE *out, const char *text, bool quote)
{
    char *escaped = secpol_json_escape_text (text, quote);
    fputs (escaped ? escaped : "?", out);
    free (escaped);
}

//  A value of the setting at path as people read it: enums by their short
//  name, numbers, flags and lists as they are, text (and anything empty) in
//  quotes; escaped in every case.
static void
s_print_value (FILE *out, const char *path, const char *text)
{
    int i = secpol_policy_field_index (path);
    if (i >= 0)
        text = secpol_policy_short_text ((size_t)i, text);
    bool quote = i < 0 || !*text || strcmp (secpol_policy_field_kind ((size_t)i), "text") == 0;
    s_print_escaped (out, text, quote);
}

//  "workspace acme" or "community research of workspace acme".
static void
s_print_level (FILE *out, const options_t *options)
{
    if (*options->community) {
        fputs ("community ", out);
        s_print_escaped (out, options->community, false);
        fputs (" of ", out);
    }
    fputs ("workspace ", out);
    s_print_escaped (out, options->workspace, false);
}

static void
s_format_time (char *when, size_t size, int64_t seconds)
{
    snprintf (when, size, "never");
    time_t t = (time_t)seconds;
    struct tm tm;
    if (seconds && gmtime_r (&t, &tm))
        strftime (when, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

//  Characters in text (UTF-8 lead bytes): its width on a terminal for the
//  letters and symbols of ids and settings (wide CJK characters aside).
static size_t
s_width (const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        width += (*p & 0xC0) != 0x80;
    return width;
}

//  A table cell (already escaped or our own text), padded to width, and
//  the two spaces between columns.
static void
s_print_cell (const char *text, size_t width)
{
    fputs (text, stdout);
    for (size_t k = s_width (text); k < width; k++)
        fputc (' ', stdout);
    fputs ("  ", stdout);
}

//  Says on stderr how to get the next page, when there is one.
static void
s_print_next_page (const char *token)
{
    if (!*token)
        return;
    fputs ("more: --page-token ", stderr);
    s_print_escaped (stderr, token, false);
    fputc ('\n', stderr);
}
