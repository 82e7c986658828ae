/*  method_table.h - the one place that knows every method.
 *
 *  secpol_method_table_new() joins the services (service.h) with the
 *  generated descriptors of every .proto into one lookup table keyed by the
 *  wire path "/secpol.v1.Svc/Method". A method declared in a .proto but
 *  implemented by no service answers UNIMPLEMENTED. The table also
 *  collects the store tables the services own, for the store to open.
 */
#ifndef SECPOL_METHOD_TABLE_H_INCLUDED
#define SECPOL_METHOD_TABLE_H_INCLUDED

#include "arena.h"
#include "service.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  One resolved method. */
typedef struct {
    char *path;                                  /* "/secpol.v1.Health/Check" */
    const ProtobufCMethodDescriptor *descriptor; /* input and output types */
    const secpol_method_spec_t *spec;            /* NULL: declared but not implemented */
    const secpol_service_t *service;             /* the service implementing it, or NULL */
} secpol_method_t;

typedef struct secpol_method_table secpol_method_table_t;

/*  Builds the table from n services. Fails (NULL, with a message on
 *  stderr) on a programming error: a row naming a method its service
 *  lacks, a method implemented twice, a row without handler, a handler
 *  whose message types are not the method's, a SLOW-only field on another
 *  lane, or two services owning one table name. Caller owns return value. */
secpol_method_table_t *secpol_method_table_new (const secpol_service_t *const *services, size_t n);

/*  The table of the real server: every service of src/services.def. */
secpol_method_table_t *secpol_method_table_default (void);

void secpol_method_table_destroy (secpol_method_table_t **self_p);

/*  Looks a wire path up. Returns NULL for an unknown path. A known path with
 *  spec NULL is declared but not implemented. */
const secpol_method_t *secpol_method_table_find (const secpol_method_table_t *self,
                                                 const char *path);

/*  Looks a wire path of length bytes (not NUL-terminated) up, as find. */
const secpol_method_t *secpol_method_table_findn (const secpol_method_table_t *self,
                                                  const char *path, size_t length);

/*  Number of methods, and the i-th in path order (for listings and tests). */
size_t secpol_method_table_size (const secpol_method_table_t *self);
const secpol_method_t *secpol_method_table_at (const secpol_method_table_t *self, size_t i);

/*  The table of docs/SECURITY.md "What each role may call", as Markdown:
 *  one row per method in path order with the least role it needs (any,
 *  service or admin; "not implemented" when no service serves it) and
 *  whether it exists only under --test-clock. unit/test_method_roles
 *  fails when the document's copy differs. Allocated in arena. */
char *secpol_method_table_roles_markdown (const secpol_method_table_t *self, secpol_arena_t *arena);

/*  The position of method (a pointer find, findn or at returned) in the
 *  table, from 0 to size - 1: for arrays indexed like the table. */
size_t secpol_method_table_index (const secpol_method_table_t *self, const secpol_method_t *method);

/*  The store tables of the runtime (expiry.h) and every service, for
 *  secpol_store_options_t. */
const secpol_table_t *const *secpol_method_table_tables (const secpol_method_table_t *self,
                                                         size_t *n_tables);

#endif
