/*  hash.h - FNV-1a over bytes: the one hash of the runtime's in-memory
 *  tables (peers.c's buckets, memo.c's entries). */
#ifndef SECPOL_HASH_H_INCLUDED
#define SECPOL_HASH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
secpol_hash_bytes (const void *data, size_t size)
{
    const unsigned char *p = data;
    uint64_t hash = UINT64_C (14695981039346656037);
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ p[i]) * UINT64_C (1099511628211);
    return hash;
}

#endif
