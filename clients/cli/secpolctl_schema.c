/*  secpolctl_schema.c - `secpolctl list` and `secpolctl describe`: the
 *  contract as this secpolctl was built with it, without a server.
 *
 *  Services come from the generated registry (secpol_registry.h); messages,
 *  enums and the comments of the .proto files from the tables
 *  proto_docs.awk generates at build time (secpolctl_internal.h). The
 *  descriptors give names, numbers, types and labels; protobuf-c keeps no
 *  comments, hence the generated table.
 */
#include "secpolctl_internal.h"

#include "json_pb.h"
#include "secpol/secpol_registry.h"
#include "secpol/secpol_status.h"

#include <stdio.h>
#include <string.h>

//  What a name given to describe stands for.
typedef enum { S_NONE, S_SERVICE, S_METHOD, S_MESSAGE, S_ENUM } s_kind_t;

typedef struct {
    s_kind_t kind;
    const ProtobufCServiceDescriptor *service;  /* S_SERVICE, S_METHOD */
    const ProtobufCMethodDescriptor *method;    /* S_METHOD */
    const ProtobufCMessageDescriptor *message;  /* S_MESSAGE */
    const ProtobufCEnumDescriptor *enumeration; /* S_ENUM */
} s_found_t;

static const ProtobufCServiceDescriptor *s_find_service (const char *name, size_t length);
static const char *s_relative (const char *full_name, const char *package);
static int s_lookup (s_found_t *found, const char *name);
static const char *s_comment (const char *full_name, const char *member);
static const char *s_type_name (const ProtobufCFieldDescriptor *field);
static const char *s_label (const ProtobufCFieldDescriptor *field);
static void s_print_comment (const char *indent, const char *comment);
static const char *s_comment_above (const char *indent, const char *comment);
static void s_text_service (const ProtobufCServiceDescriptor *service);
static void s_text_rpc (const char *indent, const ProtobufCServiceDescriptor *service,
                        const ProtobufCMethodDescriptor *method);
static void s_text_message (const ProtobufCMessageDescriptor *message);
static void s_text_enum (const ProtobufCEnumDescriptor *enumeration);
static json_t *s_json_service (const ProtobufCServiceDescriptor *service);
static json_t *s_json_method (const ProtobufCServiceDescriptor *service,
                              const ProtobufCMethodDescriptor *method, bool with_messages);
static json_t *s_json_message (const ProtobufCMessageDescriptor *message);
static json_t *s_json_enum (const ProtobufCEnumDescriptor *enumeration);

//  --------------------------------------------------------------------------
//  list

int
secpolctl_run_list (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                    char **argv)
{
    (void)command, (void)client;
    const ProtobufCServiceDescriptor *only = NULL;
    if (argc == 1) {
        const char *name = argv[0][0] == '.' ? argv[0] + 1 : argv[0];
        if (!(only = s_find_service (name, strlen (name))))
            return secpolctl_usage_error ("list: no service named \"%s\" (secpolctl list shows "
                                          "them all)",
                                          argv[0]);
    }
    bool json = secpolctl_output () == SECPOLCTL_OUTPUT_JSON;
    json_t *methods = json ? json_array () : NULL;
    int width = 0;
    char path[512];
    for (int pass = json ? 1 : 0; pass < 2; pass++)
        for (size_t i = 0; i < secpol_services_count; i++) {
            const ProtobufCServiceDescriptor *service = secpol_services[i];
            if (only && service != only)
                continue;
            for (unsigned m = 0; m < service->n_methods; m++) {
                const ProtobufCMethodDescriptor *method = &service->methods[m];
                int length = secpol_registry_path (path, sizeof path, service, m);
                if (pass == 0 && length > width)
                    width = length;
                else if (pass == 1 && json)
                    json_array_append_new (methods, s_json_method (service, method, false));
                else if (pass == 1)
                    printf ("%-*s  %s -> %s\n", width, path, method->input->name,
                            method->output->name);
            }
        }
    if (json)
        return secpolctl_print_json (json_pack ("{s:o}", "methods", methods));
    return SECPOLCTL_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  describe

int
secpolctl_run_describe (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                        char **argv)
{
    (void)command, (void)client;
    bool json = secpolctl_output () == SECPOLCTL_OUTPUT_JSON;
    if (argc == 0) {
        //  Every service, as grpcurl describe does.
        json_t *services = json ? json_array () : NULL;
        for (size_t i = 0; i < secpol_services_count; i++) {
            if (json)
                json_array_append_new (services, s_json_service (secpol_services[i]));
            else {
                if (i)
                    putchar ('\n');
                s_text_service (secpol_services[i]);
            }
        }
        return json ? secpolctl_print_json (json_pack ("{s:o}", "services", services))
                    : SECPOLCTL_EXIT_OK;
    }
    s_found_t found;
    int code = s_lookup (&found, argv[0]);
    if (code != SECPOLCTL_EXIT_OK)
        return code;
    if (json) {
        json_t *object = found.kind == S_SERVICE ? s_json_service (found.service)
                         : found.kind == S_METHOD
                             ? s_json_method (found.service, found.method, true)
                         : found.kind == S_MESSAGE ? s_json_message (found.message)
                                                   : s_json_enum (found.enumeration);
        return secpolctl_print_json (object);
    }
    if (found.kind == S_SERVICE)
        s_text_service (found.service);
    else if (found.kind == S_METHOD) {
        char path[512];
        secpol_registry_path (path, sizeof path, found.service,
                              (unsigned)(found.method - found.service->methods));
        printf ("%s.%s is a method (wire path %s):\n", found.service->name, found.method->name,
                path);
        s_text_rpc ("", found.service, found.method);
        putchar ('\n');
        s_text_message (found.method->input);
        if (found.method->output != found.method->input) {
            putchar ('\n');
            s_text_message (found.method->output);
        }
    } else if (found.kind == S_MESSAGE)
        s_text_message (found.message);
    else
        s_text_enum (found.enumeration);
    return SECPOLCTL_EXIT_OK;
}

//  Finds what name stands for: a method in any form call takes, or a
//  service, message or enum by full name or, when unique, without its
//  package. Returns 0, or a usage error after a message.
static int
s_lookup (s_found_t *found, const char *name)
{
    memset (found, 0, sizeof *found);
    const char *given = name;
    if (*name == '.')
        name++; //  grpcurl's fully-qualified form
    char path[512];
    const char *names[256]; //  for a suggestion
    size_t n_names = 0;
    //  Exact full names first, then names without the package.
    for (int exact = 1; exact >= 0; exact--) {
        s_found_t match = {S_NONE, NULL, NULL, NULL, NULL};
        int matches = 0;
        for (size_t i = 0; i < secpol_services_count; i++) {
            const ProtobufCServiceDescriptor *service = secpol_services[i];
            if (exact ? strcmp (service->name, name) == 0
                      : strcmp (service->short_name, name) == 0) {
                match = (s_found_t){S_SERVICE, service, NULL, NULL, NULL};
                matches++;
            }
            if (exact && n_names < sizeof names / sizeof names[0])
                names[n_names++] = service->short_name;
        }
        for (size_t i = 0; secpolctl_schema_messages[i]; i++) {
            const ProtobufCMessageDescriptor *message = secpolctl_schema_messages[i];
            const char *relative = s_relative (message->name, message->package_name);
            if (strcmp (exact ? message->name : relative, name) == 0) {
                match = (s_found_t){S_MESSAGE, NULL, NULL, message, NULL};
                matches++;
            }
            if (exact && n_names < sizeof names / sizeof names[0])
                names[n_names++] = relative;
        }
        for (size_t i = 0; secpolctl_schema_enums[i]; i++) {
            const ProtobufCEnumDescriptor *enumeration = secpolctl_schema_enums[i];
            const char *relative = s_relative (enumeration->name, enumeration->package_name);
            if (strcmp (exact ? enumeration->name : relative, name) == 0) {
                match = (s_found_t){S_ENUM, NULL, NULL, NULL, enumeration};
                matches++;
            }
            if (exact && n_names < sizeof names / sizeof names[0])
                names[n_names++] = relative;
        }
        if (matches == 0 && exact) {
            //  A method, in any of its forms.
            const ProtobufCMethodDescriptor *method =
                secpolctl_find_method (path, sizeof path, name);
            if (method) {
                const ProtobufCServiceDescriptor *service = NULL;
                secpol_registry_find (path, &service);
                match = (s_found_t){S_METHOD, service, method, NULL, NULL};
                matches = 1;
            }
        }
        if (matches == 1) {
            *found = match;
            return SECPOLCTL_EXIT_OK;
        }
        if (matches > 1)
            return secpolctl_usage_error ("describe: \"%s\" names more than one thing: give its "
                                          "full name (secpol.v1....)",
                                          given);
    }
    const char *nearest = secpolctl_nearest (name, names, n_names);
    return secpolctl_usage_error ("describe: no service, method, message or enum named "
                                  "\"%s\"%s%s%s (see secpolctl describe, secpolctl list)",
                                  given, nearest ? "; did you mean " : "", nearest ? nearest : "",
                                  nearest ? "?" : "");
}

//  A service by full name, or by short name when only one has it.
static const ProtobufCServiceDescriptor *
s_find_service (const char *name, size_t length)
{
    const ProtobufCServiceDescriptor *found = NULL;
    for (int exact = 1; exact >= 0 && !found; exact--) {
        int matches = 0;
        for (size_t i = 0; i < secpol_services_count; i++) {
            const char *candidate =
                exact ? secpol_services[i]->name : secpol_services[i]->short_name;
            if (strlen (candidate) == length && memcmp (candidate, name, length) == 0) {
                found = secpol_services[i];
                matches++;
            }
        }
        if (matches > 1)
            return NULL;
    }
    return found;
}

//  A full name without its package: "Policy", "Outer.Inner".
static const char *
s_relative (const char *full_name, const char *package)
{
    size_t length = package ? strlen (package) : 0;
    if (length && strncmp (full_name, package, length) == 0 && full_name[length] == '.')
        return full_name + length + 1;
    return full_name;
}

const ProtobufCMethodDescriptor *
secpolctl_find_method (char *path, size_t size, const char *name)
{
    if (*name == '/' || *name == '.')
        name++;
    //  Svc/Method, or else Svc.Method: the service is what comes before.
    const char *split = strrchr (name, '/');
    if (!split)
        split = strrchr (name, '.');
    if (!split || split == name || !split[1])
        return NULL;
    const ProtobufCServiceDescriptor *service = s_find_service (name, (size_t)(split - name));
    if (!service)
        return NULL;
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name (service, split + 1);
    if (method)
        secpol_registry_path (path, size, service, (unsigned)(method - service->methods));
    return method;
}

//  --------------------------------------------------------------------------
//  Names, types, comments

//  The comment of full_name, or of its member (a field, rpc or value) when
//  member is not NULL. "" when none.
static const char *
s_comment (const char *full_name, const char *member)
{
    size_t length = strlen (full_name);
    for (const secpolctl_comment_t *comment = secpolctl_schema_comments; comment->name; comment++) {
        if (strncmp (comment->name, full_name, length) != 0)
            continue;
        const char *rest = comment->name + length;
        if (member ? *rest == '.' && strcmp (rest + 1, member) == 0 : *rest == 0)
            return comment->text;
    }
    return "";
}

static const char *
s_type_name (const ProtobufCFieldDescriptor *field)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
            return "int32";
        case PROTOBUF_C_TYPE_SINT32:
            return "sint32";
        case PROTOBUF_C_TYPE_SFIXED32:
            return "sfixed32";
        case PROTOBUF_C_TYPE_INT64:
            return "int64";
        case PROTOBUF_C_TYPE_SINT64:
            return "sint64";
        case PROTOBUF_C_TYPE_SFIXED64:
            return "sfixed64";
        case PROTOBUF_C_TYPE_UINT32:
            return "uint32";
        case PROTOBUF_C_TYPE_FIXED32:
            return "fixed32";
        case PROTOBUF_C_TYPE_UINT64:
            return "uint64";
        case PROTOBUF_C_TYPE_FIXED64:
            return "fixed64";
        case PROTOBUF_C_TYPE_FLOAT:
            return "float";
        case PROTOBUF_C_TYPE_DOUBLE:
            return "double";
        case PROTOBUF_C_TYPE_BOOL:
            return "bool";
        case PROTOBUF_C_TYPE_STRING:
            return "string";
        case PROTOBUF_C_TYPE_BYTES:
            return "bytes";
        case PROTOBUF_C_TYPE_ENUM:
            return ((const ProtobufCEnumDescriptor *)field->descriptor)->name;
        case PROTOBUF_C_TYPE_MESSAGE:
            return ((const ProtobufCMessageDescriptor *)field->descriptor)->name;
    }
    return "?";
}

//  "repeated", "optional" (proto3 optional: presence is kept), "required"
//  (proto2), or "" for a plain proto3 field.
static const char *
s_label (const ProtobufCFieldDescriptor *field)
{
    switch (field->label) {
        case PROTOBUF_C_LABEL_REPEATED:
            return "repeated";
        case PROTOBUF_C_LABEL_OPTIONAL:
            return field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF ? "" : "optional";
        case PROTOBUF_C_LABEL_REQUIRED:
            return "required";
        default:
            return "";
    }
}

//  Each line of comment as "INDENT// line".
static void
s_print_comment (const char *indent, const char *comment)
{
    while (*comment) {
        const char *end = strchr (comment, '\n');
        size_t length = end ? (size_t)(end - comment) : strlen (comment);
        printf ("%s// %.*s\n", indent, (int)length, comment);
        comment += length + (end ? 1 : 0);
    }
}

//  A comment of several lines goes above its declaration (printed here,
//  returns ""); one line stays for the end of the declaration's line.
static const char *
s_comment_above (const char *indent, const char *comment)
{
    if (!strchr (comment, '\n'))
        return comment;
    s_print_comment (indent, comment);
    return "";
}

//  --------------------------------------------------------------------------
//  Text: as the .proto says it

static void
s_text_service (const ProtobufCServiceDescriptor *service)
{
    printf ("%s is a service:\n", service->name);
    s_print_comment ("", s_comment (service->name, NULL));
    printf ("service %s {\n", service->short_name);
    for (unsigned m = 0; m < service->n_methods; m++)
        s_text_rpc ("  ", service, &service->methods[m]);
    puts ("}");
}

static void
s_text_rpc (const char *indent, const ProtobufCServiceDescriptor *service,
            const ProtobufCMethodDescriptor *method)
{
    s_print_comment (indent, s_comment (service->name, method->name));
    printf ("%srpc %s ( %s ) returns ( %s );\n", indent, method->name, method->input->name,
            method->output->name);
}

static void
s_text_message (const ProtobufCMessageDescriptor *message)
{
    printf ("%s is a message:\n", message->name);
    s_print_comment ("", s_comment (message->name, NULL));
    printf ("message %s {\n", message->short_name);
    //  One-line comments stand after their field, lined up.
    char line[512];
    int width = 0;
    for (unsigned f = 0; f < message->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &message->fields[f];
        const char *label = s_label (field);
        const char *comment = s_comment (message->name, field->name);
        int length = snprintf (line, sizeof line, "%s%s%s %s = %u;", label, *label ? " " : "",
                               s_type_name (field), field->name, field->id);
        if (*comment && !strchr (comment, '\n') && length > width)
            width = length;
    }
    for (unsigned f = 0; f < message->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &message->fields[f];
        const char *label = s_label (field);
        const char *comment = s_comment (message->name, field->name);
        snprintf (line, sizeof line, "%s%s%s %s = %u;", label, *label ? " " : "",
                  s_type_name (field), field->name, field->id);
        comment = s_comment_above ("  ", comment);
        if (*comment)
            printf ("  %-*s  // %s\n", width, line, comment);
        else
            printf ("  %s\n", line);
    }
    puts ("}");
}

static void
s_text_enum (const ProtobufCEnumDescriptor *enumeration)
{
    printf ("%s is an enum:\n", enumeration->name);
    s_print_comment ("", s_comment (enumeration->name, NULL));
    printf ("enum %s {\n", enumeration->short_name);
    for (unsigned v = 0; v < enumeration->n_values; v++) {
        const ProtobufCEnumValue *value = &enumeration->values[v];
        const char *comment = s_comment (enumeration->name, value->name);
        comment = s_comment_above ("  ", comment);
        printf ("  %s = %d;%s%s\n", value->name, value->value, *comment ? "  // " : "", comment);
    }
    puts ("}");
}

//  --------------------------------------------------------------------------
//  JSON: the same, as data

static json_t *
s_json_service (const ProtobufCServiceDescriptor *service)
{
    json_t *methods = json_array ();
    for (unsigned m = 0; m < service->n_methods; m++)
        json_array_append_new (methods, s_json_method (service, &service->methods[m], false));
    return json_pack ("{s:s, s:s, s:s, s:o}", "kind", "service", "name", service->name, "comment",
                      s_comment (service->name, NULL), "methods", methods);
}

static json_t *
s_json_method (const ProtobufCServiceDescriptor *service, const ProtobufCMethodDescriptor *method,
               bool with_messages)
{
    char path[512], name[512];
    secpol_registry_path (path, sizeof path, service, (unsigned)(method - service->methods));
    snprintf (name, sizeof name, "%s.%s", service->name, method->name);
    json_t *object = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "method", "name",
                                name, "path", path, "service", service->name, "request_type",
                                method->input->name, "response_type", method->output->name,
                                "comment", s_comment (service->name, method->name));
    if (object && with_messages) {
        json_object_set_new (object, "request", s_json_message (method->input));
        json_object_set_new (object, "response", s_json_message (method->output));
    }
    return object;
}

static json_t *
s_json_message (const ProtobufCMessageDescriptor *message)
{
    json_t *fields = json_array ();
    for (unsigned f = 0; f < message->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &message->fields[f];
        const char *label = s_label (field);
        char camel[256];
        secpol_json_camel_name (camel, sizeof camel, field->name);
        json_t *object = json_pack ("{s:s, s:I, s:s, s:s, s:s, s:s}", "name", field->name, "number",
                                    (json_int_t)field->id, "type", s_type_name (field), "label",
                                    *label ? label : "singular", "json_name", camel, "comment",
                                    s_comment (message->name, field->name));
        if (object && field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            json_object_set_new (object, "oneof", json_true ());
        json_array_append_new (fields, object);
    }
    return json_pack ("{s:s, s:s, s:s, s:o}", "kind", "message", "name", message->name, "comment",
                      s_comment (message->name, NULL), "fields", fields);
}

static json_t *
s_json_enum (const ProtobufCEnumDescriptor *enumeration)
{
    json_t *values = json_array ();
    for (unsigned v = 0; v < enumeration->n_values; v++) {
        const ProtobufCEnumValue *value = &enumeration->values[v];
        json_array_append_new (values, json_pack ("{s:s, s:i, s:s}", "name", value->name, "number",
                                                  value->value, "comment",
                                                  s_comment (enumeration->name, value->name)));
    }
    return json_pack ("{s:s, s:s, s:s, s:o}", "kind", "enum", "name", enumeration->name, "comment",
                      s_comment (enumeration->name, NULL), "values", values);
}
