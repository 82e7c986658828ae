/*  secpol_registry.h - every generated service of the secpol.v1 contract.
 *
 *  The list is generated at build time from every .proto under proto/secpol/v1, so a
 *  service added to a .proto is known here (and to secpolctl, the client
 *  library and the server's method table) with no change to their code.
 */
#ifndef SECPOL_REGISTRY_H_INCLUDED
#define SECPOL_REGISTRY_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  The generated service descriptors, in .proto file order. */
extern const ProtobufCServiceDescriptor *const secpol_services[];
extern const size_t secpol_services_count;

/*  Finds a method by wire path "/secpol.v1.Health/Check". Returns its
 *  descriptor (input and output types) and, when service_p is not NULL, sets
 *  *service_p to its service. Returns NULL for an unknown path. */
const ProtobufCMethodDescriptor *
secpol_registry_find (const char *path, const ProtobufCServiceDescriptor **service_p);

/*  Writes the wire path of a service's method into buf (size bytes).
 *  Returns the length it needs, as snprintf does. */
int secpol_registry_path (char *buf, size_t size, const ProtobufCServiceDescriptor *service,
                          unsigned method_index);

#ifdef __cplusplus
}
#endif

#endif
