/*  secpolctl.c - command line client of secpold.
 *
 *  secpolctl [--endpoint E] [--timeout MS] call /secpol.v1.Svc/Method '{json}'
 *  secpolctl list | health | policy ...
 *
 *  Every method comes from the generated registry (secpol_registry.h) and
 *  JSON goes through the protobuf-c descriptors (json_pb.h), so a service
 *  added to a .proto works here with no change to this file.
 */
#include "secpolctl.h"

#include "json_pb.h"
#include "secpol/secpol_registry.h"
#include "secpol/secpol_status.h"
#include "secpol/v1/health.pb-c.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SECPOL_VERSION
#define SECPOL_VERSION "unknown"
#endif

#define S_DEFAULT_TIMEOUT_MS 5000

static int s_usage (FILE *out, int code);
static int s_list (void);
static int s_health (secpol_client_t *client);
static int s_prepare_call (const ProtobufCMethodDescriptor **method_p, ProtobufCMessage **request_p,
                           const char *method_path, const char *json_text);
static int s_connect (secpol_client_t **client_p, const char *endpoint, int timeout_ms,
                      const char *request_id);
static bool s_is_help (int argc, char **argv);

int
main (int argc, char **argv)
{
    //  Ctrl-C ends secpolctl at once instead of setting zsys_interrupted.
    zsys_handler_set (NULL);

    const char *endpoint = getenv ("SECPOL_ENDPOINT");
    if (!endpoint || !*endpoint)
        endpoint = SECPOL_CLIENT_DEFAULT_ENDPOINT;
    int timeout_ms = S_DEFAULT_TIMEOUT_MS;
    const char *request_id = NULL;
    const char *timeout_text = getenv ("SECPOL_TIMEOUT");

    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},   {"timeout", required_argument, NULL, 't'},
        {"request-id", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},          {NULL, 0, NULL, 0},
    };
    int option;
    //  "+": stop at the command, so its own arguments are left alone.
    while ((option = getopt_long (argc, argv, "+e:t:r:hV", options, NULL)) != -1) {
        switch (option) {
            case 'e':
                endpoint = optarg;
                break;
            case 't':
                timeout_text = optarg;
                break;
            case 'r':
                request_id = optarg;
                break;
            case 'h':
                return s_usage (stdout, SECPOLCTL_EXIT_OK);
            case 'V':
                printf ("secpolctl %s\n", SECPOL_VERSION);
                return SECPOLCTL_EXIT_OK;
            default:
                return s_usage (stderr, SECPOLCTL_EXIT_USAGE);
        }
    }
    if (timeout_text) {
        char *end = NULL;
        errno = 0;
        long value = strtol (timeout_text, &end, 10);
        if (!*timeout_text || *end || errno || value < 0 || value > INT32_MAX)
            return secpolctl_usage_error ("--timeout takes milliseconds (0 = wait forever), "
                                          "not \"%s\"",
                                          timeout_text);
        timeout_ms = (int)value;
    }
    if (optind >= argc)
        return s_usage (stderr, SECPOLCTL_EXIT_USAGE);

    const char *command = argv[optind];
    int rest = argc - optind - 1;
    char **args = argv + optind + 1;
    secpol_client_t *client = NULL;
    int code;

    if (strcmp (command, "help") == 0)
        return s_usage (stdout, SECPOLCTL_EXIT_OK);
    if (strcmp (command, "list") == 0) {
        if (rest != 0)
            return secpolctl_usage_error ("list takes no arguments");
        return s_list ();
    }
    if (strcmp (command, "health") == 0) {
        if (rest != 0)
            return secpolctl_usage_error ("health takes no arguments");
        code = s_connect (&client, endpoint, timeout_ms, request_id);
        if (code == SECPOLCTL_EXIT_OK)
            code = s_health (client);
    } else if (strcmp (command, "call") == 0) {
        if (rest < 1 || rest > 2)
            return secpolctl_usage_error (
                "usage: secpolctl call /secpol.v1.Svc/Method ['{json}' | -]");
        char *stdin_text = NULL;
        const char *json_text = rest == 2 ? args[1] : NULL;
        if (json_text && strcmp (json_text, "-") == 0) {
            stdin_text = secpolctl_read_stdin ();
            if (!stdin_text)
                return secpolctl_usage_error ("cannot read JSON from stdin: %s", strerror (errno));
            json_text = stdin_text;
        }
        //  Check the method and the JSON before connecting: a typo should not
        //  need a server to be reported.
        const ProtobufCMethodDescriptor *method = NULL;
        ProtobufCMessage *request = NULL;
        code = s_prepare_call (&method, &request, args[0], json_text);
        free (stdin_text);
        if (code == SECPOLCTL_EXIT_OK)
            code = s_connect (&client, endpoint, timeout_ms, request_id);
        if (code == SECPOLCTL_EXIT_OK) {
            ProtobufCMessage *response = NULL;
            int status = secpol_client_call (client, args[0], request, &response);
            code = secpolctl_print_response (client, status, response);
            protobuf_c_message_free_unpacked (response, NULL);
        }
        protobuf_c_message_free_unpacked (request, NULL);
    } else if (strcmp (command, "policy") == 0) {
        code = SECPOLCTL_EXIT_OK;
        if (!s_is_help (rest + 1, args - 1))
            code = s_connect (&client, endpoint, timeout_ms, request_id);
        if (code == SECPOLCTL_EXIT_OK)
            code = secpolctl_policy (client, rest + 1, args - 1);
    } else
        return secpolctl_usage_error ("unknown command \"%s\" (secpolctl --help lists them)",
                                      command);
    secpol_client_destroy (&client);
    return code;
}

//  --------------------------------------------------------------------------
//  Shared with the other subcommands (secpolctl.h)

int
secpolctl_print_response (secpol_client_t *client, int code, const ProtobufCMessage *response)
{
    if (code == SECPOL_OK) {
        json_t *json = response ? secpol_json_from_message (response) : json_object ();
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
    const secpol_client_status_t *status = client ? secpol_client_status (client) : NULL;
    const char *message = status && status->message ? status->message : "";
    fprintf (stderr, "%s%s%s\n", secpol_status_name (code), *message ? ": " : "", message);
    for (size_t i = 0; status && i < status->n_violations; i++)
        fprintf (stderr, "  %s: %s\n", status->violation_fields[i],
                 status->violation_descriptions[i]);
    return code > 0 && code < 256 ? code : SECPOL_UNKNOWN;
}

int
secpolctl_call_json (secpol_client_t *client, const char *method_path, const char *json_text)
{
    const ProtobufCMethodDescriptor *method = NULL;
    ProtobufCMessage *request = NULL;
    int code = s_prepare_call (&method, &request, method_path, json_text);
    if (code != SECPOLCTL_EXIT_OK)
        return code;
    ProtobufCMessage *response = NULL;
    int status = secpol_client_call (client, method_path, request, &response);
    code = secpolctl_print_response (client, status, response);
    protobuf_c_message_free_unpacked (response, NULL);
    protobuf_c_message_free_unpacked (request, NULL);
    return code;
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

//  --------------------------------------------------------------------------
//  Commands

static int
s_usage (FILE *out, int code)
{
    fprintf (out,
             "usage: secpolctl [options] COMMAND [ARGS]\n"
             "\n"
             "Commands:\n"
             "  call METHOD [JSON | -]  call METHOD (a wire path such as\n"
             "                          /secpol.v1.Health/Check) with a JSON request\n"
             "                          (default {}; - reads it from stdin) and print\n"
             "                          the JSON response\n"
             "  list                    list every method with its request and\n"
             "                          response types\n"
             "  health                  check the server (exit 0 when SERVING)\n"
             "  policy ...              policy commands (secpolctl policy --help)\n"
             "\n"
             "Options:\n"
             "  -e, --endpoint E        ZeroMQ endpoint of secpold (env SECPOL_ENDPOINT,\n"
             "                          default " SECPOL_CLIENT_DEFAULT_ENDPOINT ")\n"
             "  -t, --timeout MS        wait at most MS ms for each answer, 0 = forever\n"
             "                          (env SECPOL_TIMEOUT, default %d)\n"
             "  -r, --request-id ID     request id for the server's logs\n"
             "  -h, --help              this help\n"
             "  -V, --version           print the version\n"
             "\n"
             "JSON input takes proto field names or lowerCamelCase, enums by name or\n"
             "number; output prints every field by its proto name.\n"
             "\n"
             "Exit status: 0 OK; 2 usage error (bad option, JSON or field: nothing\n"
             "sent); otherwise the status code of the failed call (e.g. 3\n"
             "INVALID_ARGUMENT, 12 UNIMPLEMENTED, 14 UNAVAILABLE when the server does\n"
             "not answer), with the status name and message on stderr.\n",
             S_DEFAULT_TIMEOUT_MS);
    return code;
}

static int
s_list (void)
{
    int width = 0;
    char path[512];
    for (size_t i = 0; i < secpol_services_count; i++)
        for (unsigned m = 0; m < secpol_services[i]->n_methods; m++) {
            int length = secpol_registry_path (path, sizeof path, secpol_services[i], m);
            if (length > width)
                width = length;
        }
    for (size_t i = 0; i < secpol_services_count; i++) {
        const ProtobufCServiceDescriptor *service = secpol_services[i];
        for (unsigned m = 0; m < service->n_methods; m++) {
            secpol_registry_path (path, sizeof path, service, m);
            printf ("%-*s  %s -> %s\n", width, path, service->methods[m].input->name,
                    service->methods[m].output->name);
        }
    }
    return SECPOLCTL_EXIT_OK;
}

static int
s_health (secpol_client_t *client)
{
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

//  Resolves method_path and converts json_text to its request. Returns 0,
//  or the exit code after a message on stderr.
static int
s_prepare_call (const ProtobufCMethodDescriptor **method_p, ProtobufCMessage **request_p,
                const char *method_path, const char *json_text)
{
    *method_p = NULL;
    *request_p = NULL;
    if (!method_path || method_path[0] != '/' || !strchr (method_path + 1, '/'))
        return secpolctl_usage_error ("a method is a wire path such as /secpol.v1.Health/Check, "
                                      "not \"%s\"",
                                      method_path ? method_path : "");
    const ProtobufCMethodDescriptor *method = secpol_registry_find (method_path, NULL);
    if (!method) {
        fprintf (stderr, "%s: unknown method %s (secpolctl list shows them)\n",
                 secpol_status_name (SECPOL_UNIMPLEMENTED), method_path);
        return SECPOL_UNIMPLEMENTED;
    }
    char error[512];
    if (secpol_json_parse_message (request_p, error, sizeof error, method->input, json_text) != 0)
        return secpolctl_usage_error ("bad request for %s: %s", method_path, error);
    *method_p = method;
    return SECPOLCTL_EXIT_OK;
}

static int
s_connect (secpol_client_t **client_p, const char *endpoint, int timeout_ms, const char *request_id)
{
    *client_p = secpol_client_new (endpoint, timeout_ms);
    if (!*client_p) {
        if (timeout_ms > 0)
            fprintf (stderr, "%s: no answer from secpold at %s within %d ms\n",
                     secpol_status_name (SECPOL_UNAVAILABLE), endpoint, timeout_ms);
        else
            fprintf (stderr, "%s: cannot connect to %s\n", secpol_status_name (SECPOL_UNAVAILABLE),
                     endpoint);
        return SECPOL_UNAVAILABLE;
    }
    secpol_client_set_request_id (*client_p, request_id);
    return SECPOLCTL_EXIT_OK;
}

static bool
s_is_help (int argc, char **argv)
{
    return argc < 2 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0 ||
           strcmp (argv[1], "help") == 0;
}
