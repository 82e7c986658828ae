/*  secpol_registry.c - lookups over the generated service list. */
#include "secpol/secpol_registry.h"

#include <stdio.h>
#include <string.h>

int
secpol_registry_path (char *buf, size_t size, const ProtobufCServiceDescriptor *service,
                      unsigned method_index)
{
    return snprintf (buf, size, "/%s/%s", service->name, service->methods[method_index].name);
}

const ProtobufCMethodDescriptor *
secpol_registry_find (const char *path, const ProtobufCServiceDescriptor **service_p)
{
    if (!path || path[0] != '/')
        return NULL;
    const char *slash = strchr (path + 1, '/');
    if (!slash)
        return NULL;
    size_t service_len = (size_t)(slash - path - 1);
    for (size_t i = 0; i < secpol_services_count; i++) {
        const ProtobufCServiceDescriptor *service = secpol_services[i];
        if (strlen (service->name) != service_len ||
            memcmp (service->name, path + 1, service_len) != 0)
            continue;
        const ProtobufCMethodDescriptor *method =
            protobuf_c_service_descriptor_get_method_by_name (service, slash + 1);
        if (method && service_p)
            *service_p = service;
        return method;
    }
    return NULL;
}
