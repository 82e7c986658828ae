/*  memo.c - a lane thread's small cache of derived values (memo.h). */

#include "memo.h"

#include "alloc.h"
#include "hash.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    secpol_arena_t *arena; /* holds key, stamp and value; made on first use */
    const void *key, *stamp, *value;
    size_t key_size, stamp_size;
    uint64_t hash;     /* of the key */
    uint64_t period;   /* the period it was last handed out or filled in */
    uint64_t last_use; /* for choosing the least recently used */
    bool filled;
} entry_t;

struct secpol_memo {
    entry_t entries[SECPOL_MEMO_ENTRIES];
    uint64_t period; /* starts at 1: an entry at 0 was never used */
    uint64_t clock;
    int reserved; /* the entry the last reserve gave out; -1 = none */
    unsigned long long hits, misses;
};

secpol_memo_t *
secpol_memo_new (void)
{
    secpol_memo_t *self = secpol_xcalloc (1, sizeof *self);
    self->period = 1;
    self->reserved = -1;
    return self;
}

void
secpol_memo_destroy (secpol_memo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_memo_t *self = *self_p;
    for (size_t i = 0; i < SECPOL_MEMO_ENTRIES; i++)
        secpol_arena_destroy (&self->entries[i].arena);
    free (self);
    *self_p = NULL;
}

const void *
secpol_memo_find (secpol_memo_t *self, const void *key, size_t key_size, const void *stamp,
                  size_t stamp_size)
{
    if (!self)
        return NULL;
    uint64_t hash = secpol_hash_bytes (key, key_size);
    for (size_t i = 0; i < SECPOL_MEMO_ENTRIES; i++) {
        entry_t *entry = &self->entries[i];
        if (entry->filled && entry->hash == hash && entry->key_size == key_size &&
            entry->stamp_size == stamp_size && memcmp (entry->key, key, key_size) == 0 &&
            memcmp (entry->stamp, stamp, stamp_size) == 0) {
            entry->period = self->period;
            entry->last_use = ++self->clock;
            self->hits++;
            return entry->value;
        }
    }
    self->misses++;
    return NULL;
}

secpol_arena_t *
secpol_memo_reserve (secpol_memo_t *self)
{
    if (!self)
        return NULL;
    int chosen = -1;
    for (int i = 0; i < SECPOL_MEMO_ENTRIES; i++) {
        const entry_t *entry = &self->entries[i];
        if (entry->period == self->period)
            continue; /* held by a request of this period */
        if (!entry->filled) {
            chosen = i;
            break;
        }
        if (chosen < 0 || entry->last_use < self->entries[chosen].last_use)
            chosen = i;
    }
    if (chosen < 0)
        return NULL;
    entry_t *entry = &self->entries[chosen];
    if (!entry->arena)
        entry->arena = secpol_arena_new ();
    else
        secpol_arena_reset (entry->arena);
    entry->filled = false;
    entry->period = self->period; /* not given out twice in this period */
    self->reserved = chosen;
    return entry->arena;
}

void
secpol_memo_put (secpol_memo_t *self, const void *key, size_t key_size, const void *stamp,
                 size_t stamp_size, const void *value)
{
    if (!self || self->reserved < 0)
        return;
    entry_t *entry = &self->entries[self->reserved];
    self->reserved = -1;
    void *key_copy = secpol_arena_alloc (entry->arena, key_size ? key_size : 1);
    void *stamp_copy = secpol_arena_alloc (entry->arena, stamp_size ? stamp_size : 1);
    if (key_size)
        memcpy (key_copy, key, key_size);
    if (stamp_size)
        memcpy (stamp_copy, stamp, stamp_size);
    entry->key = key_copy;
    entry->key_size = key_size;
    entry->stamp = stamp_copy;
    entry->stamp_size = stamp_size;
    entry->value = value;
    entry->hash = secpol_hash_bytes (key, key_size);
    entry->period = self->period;
    entry->last_use = ++self->clock;
    entry->filled = true;
}

void
secpol_memo_quiesce (secpol_memo_t *self)
{
    if (self)
        self->period++;
}

void
secpol_memo_counts (const secpol_memo_t *self, unsigned long long *hits, unsigned long long *misses)
{
    *hits = self ? self->hits : 0;
    *misses = self ? self->misses : 0;
}
