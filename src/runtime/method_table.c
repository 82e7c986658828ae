/*  method_table.c - joins the services with the generated descriptors;
 *  see method_table.h. */
#include "method_table.h"

#include "alloc.h"
#include "audit.h"
#include "expiry.h"
#include "secpol/secpol_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct secpol_method_table {
    secpol_method_t *methods;                              /* sorted by path for bsearch */
    size_t size;                                           /* methods */
    const secpol_table_t *tables[SECPOL_STORE_MAX_TABLES]; /* every service's tables */
    size_t n_tables;                                       /* entries in tables */
};

static int s_add_service (secpol_method_table_t *self, const secpol_service_t *service);
static bool s_handler_fits (const char *path, const char *what, const secpol_handler_t *handler,
                            const ProtobufCMethodDescriptor *descriptor);

static int
s_compare_path (const void *a, const void *b)
{
    return strcmp (((const secpol_method_t *)a)->path, ((const secpol_method_t *)b)->path);
}

secpol_method_table_t *
secpol_method_table_new (const secpol_service_t *const *services, size_t n)
{
    secpol_method_table_t *self = secpol_xcalloc (1, sizeof *self);
    size_t total = 0;
    for (size_t s = 0; s < secpol_services_count; s++)
        total += secpol_services[s]->n_methods;
    self->methods = secpol_xcalloc (total ? total : 1, sizeof *self->methods);
    for (size_t s = 0; s < secpol_services_count; s++) {
        const ProtobufCServiceDescriptor *service = secpol_services[s];
        for (unsigned m = 0; m < service->n_methods; m++) {
            secpol_method_t *method = &self->methods[self->size];
            int len = secpol_registry_path (NULL, 0, service, m);
            method->path = secpol_xmalloc ((size_t)len + 1);
            secpol_registry_path (method->path, (size_t)len + 1, service, m);
            method->descriptor = &service->methods[m];
            self->size++;
        }
    }
    qsort (self->methods, self->size, sizeof *self->methods, s_compare_path);
    /* the runtime's own tables come first */
    self->tables[self->n_tables++] = &secpol_expiry_table;
    self->tables[self->n_tables++] = &secpol_audit_table;
    for (size_t s = 0; s < n; s++)
        if (s_add_service (self, services[s]))
            goto fail;
    return self;

fail:
    secpol_method_table_destroy (&self);
    return NULL;
}

static int
s_add_service (secpol_method_table_t *self, const secpol_service_t *service)
{
    for (size_t i = 0; i < service->n_methods; i++) {
        const secpol_method_spec_t *spec = &service->methods[i];
        char path[256];
        snprintf (path, sizeof path, "/%s/%s", service->descriptor->name, spec->method);
        secpol_method_t *method = (secpol_method_t *)secpol_method_table_find (self, path);
        if (!method) {
            fprintf (stderr, "secpol: service %s names %s, which no .proto declares\n",
                     service->name, path);
            return -1;
        }
        if (method->spec) {
            fprintf (stderr, "secpol: method table names %s twice\n", path);
            return -1;
        }
        if (!spec->handler && !spec->prepare) {
            fprintf (stderr, "secpol: method table entry %s has no handler\n", path);
            return -1;
        }
        if (spec->prepare && spec->lane != SECPOL_LANE_SLOW) {
            fprintf (stderr, "secpol: %s has a prepare step but is not on the SLOW lane\n", path);
            return -1;
        }
        if (!s_handler_fits (path, "handler", spec->handler, method->descriptor) ||
            !s_handler_fits (path, "prepare", spec->prepare, method->descriptor))
            return -1;
        method->spec = spec;
        method->service = service;
    }
    for (size_t i = 0; i < service->n_tables; i++) {
        const secpol_table_t *table = service->tables[i];
        for (size_t k = 0; k < self->n_tables; k++)
            if (self->tables[k] == table || strcmp (self->tables[k]->name, table->name) == 0) {
                fprintf (stderr, "secpol: two services own a table named \"%s\"\n", table->name);
                return -1;
            }
        if (self->n_tables == SECPOL_STORE_MAX_TABLES - 1) {
            fprintf (stderr, "secpol: more than %d tables\n", SECPOL_STORE_MAX_TABLES - 1);
            return -1;
        }
        self->tables[self->n_tables++] = table;
    }
    return 0;
}

/*  True when handler (may be NULL) takes the method's own message types. */
static bool
s_handler_fits (const char *path, const char *what, const secpol_handler_t *handler,
                const ProtobufCMethodDescriptor *descriptor)
{
    if (!handler)
        return true;
    if (strcmp (handler->request_type, descriptor->input->c_name) == 0 &&
        strcmp (handler->response_type, descriptor->output->c_name) == 0)
        return true;
    fprintf (stderr, "secpol: %s of %s is %s (%s -> %s), but the method takes %s -> %s\n", what,
             path, handler->name, handler->request_type, handler->response_type,
             descriptor->input->c_name, descriptor->output->c_name);
    return false;
}

#define SECPOL_SERVICE_ENTRY(name) extern const secpol_service_t secpol_service_##name;
#include "services.def"
#undef SECPOL_SERVICE_ENTRY

secpol_method_table_t *
secpol_method_table_default (void)
{
    static const secpol_service_t *const services[] = {
#define SECPOL_SERVICE_ENTRY(name) &secpol_service_##name,
#include "services.def"
#undef SECPOL_SERVICE_ENTRY
    };
    return secpol_method_table_new (services, SECPOL_COUNT (services));
}

void
secpol_method_table_destroy (secpol_method_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_method_table_t *self = *self_p;
    for (size_t i = 0; i < self->size; i++)
        free (self->methods[i].path);
    free (self->methods);
    free (self);
    *self_p = NULL;
}

const secpol_method_t *
secpol_method_table_find (const secpol_method_table_t *self, const char *path)
{
    return path ? secpol_method_table_findn (self, path, strlen (path)) : NULL;
}

const secpol_method_t *
secpol_method_table_findn (const secpol_method_table_t *self, const char *path, size_t length)
{
    /* Binary search over the sorted paths without copying the key. */
    size_t lo = 0, hi = self->size;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *candidate = self->methods[mid].path;
        size_t candidate_length = strlen (candidate);
        int cmp = memcmp (candidate, path, candidate_length < length ? candidate_length : length);
        if (cmp == 0 && candidate_length != length)
            cmp = candidate_length < length ? -1 : 1;
        if (cmp == 0)
            return &self->methods[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t
secpol_method_table_size (const secpol_method_table_t *self)
{
    return self->size;
}

const secpol_method_t *
secpol_method_table_at (const secpol_method_table_t *self, size_t i)
{
    return i < self->size ? &self->methods[i] : NULL;
}

size_t
secpol_method_table_index (const secpol_method_table_t *self, const secpol_method_t *method)
{
    return (size_t)(method - self->methods);
}

const secpol_table_t *const *
secpol_method_table_tables (const secpol_method_table_t *self, size_t *n_tables)
{
    *n_tables = self->n_tables;
    return self->tables;
}

char *
secpol_method_table_roles_markdown (const secpol_method_table_t *self, secpol_arena_t *arena)
{
    static const char *const roles[] = {"any", "service", "admin"};
    static const char *const lanes[] = {"READ", "WRITE", "SLOW"};
    char *text = secpol_arena_printf (arena, "| method | least role | lane | note |\n"
                                             "|--------|------------|------|------|\n");
    for (size_t i = 0; i < self->size; i++) {
        const secpol_method_t *method = &self->methods[i];
        const secpol_method_spec_t *spec = method->spec;
        bool known = spec && spec->role <= SECPOL_ROLE_ADMIN && spec->lane < SECPOL_LANE_COUNT;
        text =
            secpol_arena_printf (arena, "%s| `%s` | %s | %s | %s |\n", text, method->path,
                                 known ? roles[spec->role] : "-", known ? lanes[spec->lane] : "-",
                                 !spec                                    ? "not implemented"
                                 : spec->flags & SECPOL_METHOD_TEST_CLOCK ? "only with --test-clock"
                                                                          : "");
    }
    return text;
}
