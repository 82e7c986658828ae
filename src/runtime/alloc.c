/*  alloc.c - allocation that aborts on failure; see alloc.h. */
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
secpol_out_of_memory (size_t size)
{
    /* No allocation here: stderr is unbuffered and fprintf of integers
     * does not allocate in glibc. */
    fprintf (stderr, "level=error msg=\"out of memory\" bytes=%zu\n", size);
    abort ();
}

void *
secpol_xmalloc (size_t size)
{
    void *pointer = malloc (size ? size : 1);
    if (!pointer)
        secpol_out_of_memory (size);
    return pointer;
}

void *
secpol_xcalloc (size_t count, size_t size)
{
    void *pointer = calloc (count ? count : 1, size ? size : 1);
    if (!pointer)
        secpol_out_of_memory (count * size);
    return pointer;
}

void *
secpol_xrealloc (void *pointer, size_t size)
{
    void *grown = realloc (pointer, size ? size : 1);
    if (!grown)
        secpol_out_of_memory (size);
    return grown;
}

char *
secpol_xstrdup (const char *s)
{
    size_t size = strlen (s) + 1;
    return memcpy (secpol_xmalloc (size), s, size);
}
