/*  secpolctl_policy.c - `secpolctl policy ...`: shortcuts for PolicyService.
 *
 *  secpolctl policy get W [--community C]
 *  secpolctl policy set W [--community C] [--expected-version N] [--actor A] field=value ...
 *  secpolctl policy delete W [--community C] [--expected-version N] [--actor A]
 *  secpolctl policy headers W [--community C] [--json]
 *  secpolctl policy history W [--community C] [--page-size N] [--page-token T] [--json]
 *  secpolctl policy check-upload W [--community C] FILENAME
 *
 *  `set` turns field=value words into an UpdatePolicy request: the field
 *  paths become the update_mask, the values go into the policy through the
 *  JSON mapping (json_pb.h), so numbers, enums by name ("high") and their
 *  range errors are handled there. Lists are comma-separated
 *  (allowed_file_extensions=pdf,png; "=" alone empties them). Field paths
 *  are checked against the Policy descriptor before anything is sent.
 */
#include "secpolctl.h"

#include "json_pb.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/policy.pb-c.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SERVICE "/secpol.v1.PolicyService/"

typedef struct {
    const char *workspace;        /* W */
    const char *community;        /* --community, "" = workspace level */
    const char *expected_version; /* --expected-version, NULL = unconditional */
    const char *actor;            /* --actor */
    const char *page_size;        /* --page-size */
    const char *page_token;       /* --page-token */
    bool json;                    /* --json: print the response as JSON */
    int n_words;                  /* words after W */
    char **words;
} options_t;

static int s_usage (FILE *out, int code);
static int s_parse (options_t *options, int argc, char **argv);
static json_t *s_level_request (const options_t *options);
static int s_get (secpol_client_t *client, const options_t *options);
static int s_set (secpol_client_t *client, const options_t *options);
static int s_delete (secpol_client_t *client, const options_t *options);
static int s_headers (secpol_client_t *client, const options_t *options);
static int s_history (secpol_client_t *client, const options_t *options);
static int s_check_upload (secpol_client_t *client, const options_t *options);
static int s_call_json (secpol_client_t *client, const char *method, json_t *request);

int
secpolctl_policy (secpol_client_t *client, int argc, char **argv)
{
    if (argc < 2 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0 ||
        strcmp (argv[1], "help") == 0)
        return s_usage (stdout, SECPOLCTL_EXIT_OK);
    const char *command = argv[1];
    options_t options;
    int code = s_parse (&options, argc - 1, argv + 1);
    if (code != SECPOLCTL_EXIT_OK)
        return code;
    if (!client)
        return secpolctl_usage_error ("policy %s needs a server", command);
    if (strcmp (command, "get") == 0)
        return s_get (client, &options);
    if (strcmp (command, "set") == 0)
        return s_set (client, &options);
    if (strcmp (command, "delete") == 0)
        return s_delete (client, &options);
    if (strcmp (command, "headers") == 0)
        return s_headers (client, &options);
    if (strcmp (command, "history") == 0)
        return s_history (client, &options);
    if (strcmp (command, "check-upload") == 0)
        return s_check_upload (client, &options);
    return secpolctl_usage_error ("unknown policy command \"%s\" (secpolctl policy --help)",
                                  command);
}

static int
s_usage (FILE *out, int code)
{
    fputs (
        "usage: secpolctl [global options] policy COMMAND WORKSPACE [options] ...\n"
        "\n"
        "  get WORKSPACE                   the effective policy, as JSON\n"
        "  set WORKSPACE field=value ...   change settings; the fields form the update mask\n"
        "      nested:  login_lockout.max_failures=5   hsts.preload=true\n"
        "      lists:   allowed_file_extensions=pdf,png,docx   (empty: allowed_file_extensions=)\n"
        "      enums:   password_policy=high\n"
        "      bools:   true/false (also yes/no, on/off, 1/0)\n"
        "  delete WORKSPACE                return the level to inheriting everything\n"
        "  headers WORKSPACE               the HTTP security headers, one per line\n"
        "  history WORKSPACE               revisions, newest first\n"
        "  check-upload WORKSPACE NAME     whether an upload named NAME is allowed\n"
        "\n"
        "options:\n"
        "  --community C          a community of the workspace (default: the workspace level)\n"
        "  --expected-version N   set/delete: refuse (ABORTED) unless the level is at version N\n"
        "  --actor A              set/delete: who makes the change, kept in the history\n"
        "  --page-size N          history: revisions per page (default 50, at most 500)\n"
        "  --page-token T         history: continue where the previous page stopped\n"
        "  --json                 headers/history: print the response as JSON\n"
        "\n"
        "Settings, units, defaults and ranges: docs/POLICY.md.\n",
        out);
    return code;
}

static int
s_parse (options_t *options, int argc, char **argv)
{
    memset (options, 0, sizeof *options);
    options->community = "";
    static const struct option long_options[] = {
        {"community", required_argument, NULL, 'c'},
        {"expected-version", required_argument, NULL, 'v'},
        {"actor", required_argument, NULL, 'a'},
        {"page-size", required_argument, NULL, 's'},
        {"page-token", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc, argv, "c:h", long_options, NULL)) != -1) {
        switch (option) {
            case 'c':
                options->community = optarg;
                break;
            case 'v':
                options->expected_version = optarg;
                break;
            case 'a':
                options->actor = optarg;
                break;
            case 's':
                options->page_size = optarg;
                break;
            case 't':
                options->page_token = optarg;
                break;
            case 'j':
                options->json = true;
                break;
            case 'h':
                return s_usage (stdout, SECPOLCTL_EXIT_OK);
            default:
                return secpolctl_usage_error ("policy %s: unknown or incomplete option \"%s\"",
                                              argv[0], argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return secpolctl_usage_error ("policy %s: name the workspace", argv[0]);
    options->workspace = argv[optind];
    options->n_words = argc - optind - 1;
    options->words = argv + optind + 1;
    bool takes_words = strcmp (argv[0], "set") == 0 || strcmp (argv[0], "check-upload") == 0;
    if (!takes_words && options->n_words)
        return secpolctl_usage_error ("policy %s: unexpected \"%s\"", argv[0], options->words[0]);
    return SECPOLCTL_EXIT_OK;
}

/*  {"workspace_id": W, "community_id": C}, the start of every request. */
static json_t *
s_level_request (const options_t *options)
{
    return json_pack ("{s:s, s:s}", "workspace_id", options->workspace, "community_id",
                      options->community);
}

/*  Builds the request from JSON and calls; returns the status code, and
 *  *response_p on OK. A request the JSON mapping refuses is a usage error
 *  (exit 2) naming the field. */
static int
s_call (secpol_client_t *client, const char *method, json_t *request, ProtobufCMessage **response_p)
{
    *response_p = NULL;
    char path[128];
    snprintf (path, sizeof path, S_SERVICE "%s", method);
    const ProtobufCMethodDescriptor *descriptor = protobuf_c_service_descriptor_get_method_by_name (
        &secpol__v1__policy_service__descriptor, method);
    ProtobufCMessage *message = NULL;
    char error[256];
    if (secpol_json_to_message (&message, error, sizeof error, descriptor->input, request) != 0)
        return -secpolctl_usage_error ("%s", error);
    int code = secpol_client_call (client, path, message, response_p);
    protobuf_c_message_free_unpacked (message, NULL);
    return code;
}

/*  Calls and prints the response as JSON (or the error). */
static int
s_call_json (secpol_client_t *client, const char *method, json_t *request)
{
    ProtobufCMessage *response = NULL;
    int code = s_call (client, method, request, &response);
    json_decref (request);
    if (code < 0)
        return -code;
    code = secpolctl_print_response (client, code, response);
    if (response)
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

static int
s_get (secpol_client_t *client, const options_t *options)
{
    return s_call_json (client, "GetPolicy", s_level_request (options));
}

/*  Adds `path` = text to the JSON policy object, typed by the Policy
 *  descriptor. Returns 0, or a usage error. */
static int
s_add_setting (json_t *policy, const char *path, const char *text)
{
    const ProtobufCMessageDescriptor *message = &secpol__v1__policy__descriptor;
    json_t *object = policy;
    char name[128];
    const char *rest = path;
    const ProtobufCFieldDescriptor *field = NULL;
    while (true) {
        const char *dot = strchr (rest, '.');
        size_t length = dot ? (size_t)(dot - rest) : strlen (rest);
        if (length == 0 || length >= sizeof name)
            return secpolctl_usage_error ("\"%s\" is not a setting", path);
        memcpy (name, rest, length);
        name[length] = 0;
        field = protobuf_c_message_descriptor_get_field_by_name (message, name);
        if (!field)
            return secpolctl_usage_error ("\"%s\" is not a setting (docs/POLICY.md lists them)",
                                          path);
        if (!dot)
            break;
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            return secpolctl_usage_error ("\"%s\": %s has no fields", path, name);
        json_t *inner = json_object_get (object, name);
        if (!inner) {
            inner = json_object ();
            json_object_set_new (object, name, inner);
        }
        object = inner;
        message = field->descriptor;
        rest = dot + 1;
    }
    if (field->type == PROTOBUF_C_TYPE_MESSAGE)
        return secpolctl_usage_error (
            "\"%s\" is a group of settings: set its fields, such as "
            "%s.%s=...",
            path, path, ((const ProtobufCMessageDescriptor *)field->descriptor)->fields[0].name);
    if (json_object_get (object, name))
        return secpolctl_usage_error ("\"%s\" is given twice", path);

    json_t *value;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        value = json_array ();
        const char *p = text;
        while (*p) {
            const char *comma = strchr (p, ',');
            size_t length = comma ? (size_t)(comma - p) : strlen (p);
            while (length && *p == ' ')
                p++, length--;
            while (length && p[length - 1] == ' ')
                length--;
            if (length)
                json_array_append_new (value, json_stringn (p, length));
            p = comma ? comma + 1 : p + strlen (p);
        }
    } else if (field->type == PROTOBUF_C_TYPE_BOOL) {
        if (!strcmp (text, "true") || !strcmp (text, "yes") || !strcmp (text, "on") ||
            !strcmp (text, "1"))
            value = json_true ();
        else if (!strcmp (text, "false") || !strcmp (text, "no") || !strcmp (text, "off") ||
                 !strcmp (text, "0"))
            value = json_false ();
        else
            return secpolctl_usage_error ("%s takes true or false, not \"%s\"", path, text);
    } else
        /* numbers, enums and text: the JSON mapping takes all of them as
         * strings and checks them against the field */
        value = json_string (text);
    if (!value)
        return secpolctl_usage_error ("%s: the value is not valid UTF-8", path);
    json_object_set_new (object, name, value);
    return SECPOLCTL_EXIT_OK;
}

static int
s_set (secpol_client_t *client, const options_t *options)
{
    if (options->n_words == 0)
        return secpolctl_usage_error ("policy set: give at least one field=value");
    json_t *request = s_level_request (options);
    json_t *policy = json_object ();
    json_t *mask = json_array ();
    json_object_set_new (request, "policy", policy);
    json_object_set_new (request, "update_mask", mask);
    if (options->expected_version)
        json_object_set_new (request, "expected_version", json_string (options->expected_version));
    if (options->actor)
        json_object_set_new (request, "actor", json_string (options->actor));
    for (int k = 0; k < options->n_words; k++) {
        const char *word = options->words[k];
        const char *equals = strchr (word, '=');
        if (!equals) {
            json_decref (request);
            return secpolctl_usage_error ("policy set: \"%s\" is not field=value", word);
        }
        char *path = strndup (word, (size_t)(equals - word));
        int code = s_add_setting (policy, path, equals + 1);
        if (code == SECPOLCTL_EXIT_OK)
            json_array_append_new (mask, json_string (path));
        free (path);
        if (code != SECPOLCTL_EXIT_OK) {
            json_decref (request);
            return code;
        }
    }
    return s_call_json (client, "UpdatePolicy", request);
}

static int
s_delete (secpol_client_t *client, const options_t *options)
{
    json_t *request = s_level_request (options);
    if (options->expected_version)
        json_object_set_new (request, "expected_version", json_string (options->expected_version));
    if (options->actor)
        json_object_set_new (request, "actor", json_string (options->actor));
    return s_call_json (client, "DeletePolicy", request);
}

static int
s_headers (secpol_client_t *client, const options_t *options)
{
    json_t *request = s_level_request (options);
    if (options->json)
        return s_call_json (client, "RenderSecurityHeaders", request);
    ProtobufCMessage *response = NULL;
    int code = s_call (client, "RenderSecurityHeaders", request, &response);
    json_decref (request);
    if (code < 0)
        return -code;
    if (code != SECPOL_OK)
        return secpolctl_print_response (client, code, NULL);
    const Secpol__V1__RenderSecurityHeadersResponse *out =
        (const Secpol__V1__RenderSecurityHeadersResponse *)response;
    for (size_t k = 0; k < out->n_headers; k++)
        printf ("%s: %s\n", out->headers[k]->name, out->headers[k]->value);
    for (size_t k = 0; k < out->n_warnings; k++)
        fprintf (stderr, "warning: %s\n", out->warnings[k]);
    protobuf_c_message_free_unpacked (response, NULL);
    return SECPOLCTL_EXIT_OK;
}

static int
s_history (secpol_client_t *client, const options_t *options)
{
    json_t *request = s_level_request (options);
    if (options->page_size)
        json_object_set_new (request, "page_size", json_string (options->page_size));
    if (options->page_token)
        json_object_set_new (request, "page_token", json_string (options->page_token));
    if (options->json)
        return s_call_json (client, "ListPolicyRevisions", request);
    ProtobufCMessage *response = NULL;
    int code = s_call (client, "ListPolicyRevisions", request, &response);
    json_decref (request);
    if (code < 0)
        return -code;
    if (code != SECPOL_OK)
        return secpolctl_print_response (client, code, NULL);
    const Secpol__V1__ListPolicyRevisionsResponse *out =
        (const Secpol__V1__ListPolicyRevisionsResponse *)response;
    for (size_t k = 0; k < out->n_revisions; k++) {
        const Secpol__V1__PolicyRevision *revision = out->revisions[k];
        char when[32] = "?";
        time_t seconds = (time_t)revision->changed_at;
        struct tm tm;
        if (gmtime_r (&seconds, &tm))
            strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf ("version %" PRIu64 "  %s  %s%s\n", revision->version, when,
                *revision->actor ? revision->actor : "(unknown actor)",
                revision->deleted ? "  (deleted: back to inheriting)" : "");
        for (size_t c = 0; c < revision->n_changes; c++) {
            const Secpol__V1__FieldChange *change = revision->changes[c];
            printf ("  %s: \"%s\"%s -> \"%s\"%s\n", change->field, change->old_value,
                    change->old_inherited ? " (inherited)" : "", change->new_value,
                    change->new_inherited ? " (inherited)" : "");
        }
    }
    if (*out->next_page_token)
        fprintf (stderr, "more: --page-token %s\n", out->next_page_token);
    protobuf_c_message_free_unpacked (response, NULL);
    return SECPOLCTL_EXIT_OK;
}

static int
s_check_upload (secpol_client_t *client, const options_t *options)
{
    if (options->n_words != 1)
        return secpolctl_usage_error ("policy check-upload: give one file name");
    json_t *request = s_level_request (options);
    json_object_set_new (request, "filename", json_string (options->words[0]));
    return s_call_json (client, "CheckFileUpload", request);
}
