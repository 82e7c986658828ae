/*  arena.c - bump allocator; see arena.h. */
#include "arena.h"

#include "alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE 8192 /* most requests fit in one block */
#define ARENA_ALIGN      16

typedef struct block {
    struct block *next; /* older block */
    size_t size;        /* usable bytes after the header */
    size_t used;        /* bytes handed out */
    max_align_t data[]; /* the bytes themselves */
} block_t;

#define ARENA_SPARE_MAX 8 /* blocks a reset arena keeps for reuse */

struct secpol_arena {
    block_t *head;                /* newest block; allocations come from here */
    block_t *spare;               /* standard blocks kept by secpol_arena_reset() */
    size_t n_spare;               /* blocks in spare */
    ProtobufCAllocator allocator; /* view of this arena for protobuf-c */
};

static void *s_pb_alloc (void *data, size_t size);
static void s_pb_free (void *data, void *pointer);

secpol_arena_t *
secpol_arena_new (void)
{
    secpol_arena_t *self = secpol_xcalloc (1, sizeof *self);
    self->allocator.alloc = s_pb_alloc;
    self->allocator.free = s_pb_free;
    self->allocator.allocator_data = self;
    return self;
}

static void
s_free_blocks (block_t *block)
{
    while (block) {
        block_t *next = block->next;
        free (block);
        block = next;
    }
}

void
secpol_arena_destroy (secpol_arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_arena_t *self = *self_p;
    s_free_blocks (self->head);
    s_free_blocks (self->spare);
    free (self);
    *self_p = NULL;
}

void
secpol_arena_reset (secpol_arena_t *self)
{
    block_t *block = self->head;
    while (block) {
        block_t *next = block->next;
        if (block->size == ARENA_BLOCK_SIZE && self->n_spare < ARENA_SPARE_MAX) {
            block->next = self->spare;
            self->spare = block;
            self->n_spare++;
        } else
            free (block);
        block = next;
    }
    self->head = NULL;
}

void *
secpol_arena_alloc (secpol_arena_t *self, size_t size)
{
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (size == 0)
        size = ARENA_ALIGN;
    block_t *block = self->head;
    if (!block || block->size - block->used < size) {
        size_t capacity = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
        if (capacity == ARENA_BLOCK_SIZE && self->spare) {
            block = self->spare;
            self->spare = block->next;
            self->n_spare--;
        } else
            block = secpol_xmalloc (sizeof *block + capacity);
        block->size = capacity;
        block->used = 0;
        block->next = self->head;
        self->head = block;
    }
    void *result = (char *)block->data + block->used;
    block->used += size;
    memset (result, 0, size);
    return result;
}

char *
secpol_arena_strndup (secpol_arena_t *self, const char *s, size_t len)
{
    char *copy = secpol_arena_alloc (self, len + 1);
    if (len)
        memcpy (copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *
secpol_arena_strdup (secpol_arena_t *self, const char *s)
{
    return s ? secpol_arena_strndup (self, s, strlen (s)) : secpol_arena_strndup (self, "", 0);
}

char *
secpol_arena_vprintf (secpol_arena_t *self, const char *fmt, va_list args)
{
    va_list copy;
    va_copy (copy, args);
    int len = vsnprintf (NULL, 0, fmt, copy);
    va_end (copy);
    if (len < 0)
        return secpol_arena_strdup (self, "");
    char *result = secpol_arena_alloc (self, (size_t)len + 1);
    vsnprintf (result, (size_t)len + 1, fmt, args);
    return result;
}

char *
secpol_arena_printf (secpol_arena_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    char *result = secpol_arena_vprintf (self, fmt, args);
    va_end (args);
    return result;
}

ProtobufCAllocator *
secpol_arena_allocator (secpol_arena_t *self)
{
    return &self->allocator;
}

ProtobufCMessage *
secpol_arena_message (secpol_arena_t *self, const ProtobufCMessageDescriptor *descriptor)
{
    ProtobufCMessage *message = secpol_arena_alloc (self, descriptor->sizeof_message);
    protobuf_c_message_init (descriptor, message);
    return message;
}

void
secpol_arena_append (secpol_arena_t *self, size_t *count, void ***items, void *item)
{
    /* Copies every time: the array may come from an unpacked message whose
     * capacity is exactly its count, and our lists are short. */
    size_t n = *count;
    void **grown = secpol_arena_alloc (self, (n + 1) * sizeof *grown);
    if (n)
        memcpy (grown, *items, n * sizeof *grown);
    *items = grown;
    (*items)[n] = item;
    *count = n + 1;
}

void
secpol_arena_push (secpol_arena_t *self, size_t *count, size_t *capacity, void ***items, void *item)
{
    size_t n = *count;
    if (!*items || *capacity <= n) {
        size_t grown_capacity = n < 4 ? 8 : 2 * n;
        void **grown = secpol_arena_alloc (self, grown_capacity * sizeof *grown);
        if (n && *items)
            memcpy (grown, *items, n * sizeof *grown);
        *items = grown;
        *capacity = grown_capacity;
    }
    (*items)[n] = item;
    *count = n + 1;
}

static void *
s_pb_alloc (void *data, size_t size)
{
    return secpol_arena_alloc (data, size);
}

static void
s_pb_free (void *data, void *pointer)
{
    (void)data;
    (void)pointer;
}
