/*  method_table.c - joins the service spec arrays with the generated
 *  descriptors; see method_table.h. */
#include "method_table.h"

#include "secpol/secpol_registry.h"
#include "services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct secpol_method_table {
    secpol_method_t *methods; /* sorted by path for bsearch */
    size_t size;
};

static int
s_compare_path (const void *a, const void *b)
{
    return strcmp (((const secpol_method_t *)a)->path, ((const secpol_method_t *)b)->path);
}

secpol_method_table_t *
secpol_method_table_new (const secpol_method_spec_t *const *specs, const size_t *counts,
                         size_t n_arrays)
{
    secpol_method_table_t *self = calloc (1, sizeof *self);
    size_t total = 0;
    for (size_t s = 0; s < secpol_services_count; s++)
        total += secpol_services[s]->n_methods;
    self->methods = calloc (total ? total : 1, sizeof *self->methods);
    if (!self->methods)
        goto fail;
    for (size_t s = 0; s < secpol_services_count; s++) {
        const ProtobufCServiceDescriptor *service = secpol_services[s];
        for (unsigned m = 0; m < service->n_methods; m++) {
            secpol_method_t *method = &self->methods[self->size++];
            int len = secpol_registry_path (NULL, 0, service, m);
            method->path = malloc ((size_t)len + 1);
            secpol_registry_path (method->path, (size_t)len + 1, service, m);
            method->descriptor = &service->methods[m];
        }
    }
    qsort (self->methods, self->size, sizeof *self->methods, s_compare_path);

    for (size_t a = 0; a < n_arrays; a++)
        for (size_t i = 0; i < counts[a]; i++) {
            const secpol_method_spec_t *spec = &specs[a][i];
            char path[256];
            snprintf (path, sizeof path, "/%s/%s", spec->service->name, spec->method);
            secpol_method_t *method = (secpol_method_t *)secpol_method_table_find (self, path);
            if (!method) {
                fprintf (stderr, "secpol: method table names %s, which no .proto declares\n", path);
                goto fail;
            }
            if (method->spec) {
                fprintf (stderr, "secpol: method table names %s twice\n", path);
                goto fail;
            }
            if (!spec->handler && !spec->prepare) {
                fprintf (stderr, "secpol: method table entry %s has no handler\n", path);
                goto fail;
            }
            method->spec = spec;
        }
    return self;

fail:
    secpol_method_table_destroy (&self);
    return NULL;
}

secpol_method_table_t *
secpol_method_table_default (void)
{
    const secpol_method_spec_t *const specs[] = {
        secpol_health_methods,
        secpol_test_clock_methods,
        secpol_policy_methods,
    };
    const size_t counts[] = {
        secpol_health_methods_count,
        secpol_test_clock_methods_count,
        secpol_policy_methods_count,
    };
    return secpol_method_table_new (specs, counts, sizeof counts / sizeof counts[0]);
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
    if (!path)
        return NULL;
    secpol_method_t key = {.path = (char *)path};
    return bsearch (&key, self->methods, self->size, sizeof *self->methods, s_compare_path);
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
