/*  arena.h - a bump allocator for everything one request allocates.
 *
 *  A request's decoded message, its response and every string a handler
 *  builds live in one arena that the dispatcher frees in one call after the
 *  reply is sent. Handlers therefore never free what they allocate.
 *  An arena belongs to one thread at a time.
 */
#ifndef SECPOL_ARENA_H_INCLUDED
#define SECPOL_ARENA_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdarg.h>
#include <stddef.h>

typedef struct secpol_arena secpol_arena_t;

/*  Creates an empty arena (never NULL: out of memory aborts, see alloc.h).
 *  Caller owns return value and destroys it with secpol_arena_destroy(). */
secpol_arena_t *secpol_arena_new (void);

/*  Frees every block the arena handed out, then the arena. NULL-safe;
 *  nulls the caller's pointer. */
void secpol_arena_destroy (secpol_arena_t **self_p);

/*  Forgets everything allocated, keeping a few blocks for the next
 *  request: a lane thread resets its arena between requests instead of
 *  making a new one. */
void secpol_arena_reset (secpol_arena_t *self);

/*  Returns size bytes, zeroed and aligned for any type, valid until the
 *  arena is destroyed. Aborts the process when out of memory: a request
 *  cannot continue without it and a half-built reply is worse. */
void *secpol_arena_alloc (secpol_arena_t *self, size_t size);

/*  Copies a NUL-terminated string (NULL gives ""). */
char *secpol_arena_strdup (secpol_arena_t *self, const char *s);

/*  Copies len bytes and NUL-terminates them. */
char *secpol_arena_strndup (secpol_arena_t *self, const char *s, size_t len);

/*  printf into the arena. */
char *secpol_arena_printf (secpol_arena_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
char *secpol_arena_vprintf (secpol_arena_t *self, const char *fmt, va_list args)
    __attribute__ ((format (printf, 2, 0)));

/*  A protobuf-c allocator that draws from this arena (its free is a no-op),
 *  for protobuf_c_message_unpack(). The allocator lives inside the arena. */
ProtobufCAllocator *secpol_arena_allocator (secpol_arena_t *self);

/*  Returns a new message of the given type, initialised with its defaults. */
ProtobufCMessage *secpol_arena_message (secpol_arena_t *self,
                                        const ProtobufCMessageDescriptor *descriptor);

/*  Appends one pointer to a protobuf repeated field held as (*count, *items),
 *  growing the array inside the arena. Used for repeated strings and
 *  repeated messages alike. Copies the whole array on every call (the array
 *  may come from an unpacked message, whose capacity is its count), so n
 *  appends cost O(n^2): use it for short lists of known bound, and
 *  secpol_arena_push() for lists that grow with the input. */
void secpol_arena_append (secpol_arena_t *self, size_t *count, void ***items, void *item);

/*  As secpol_arena_append, in amortised constant time: *capacity holds the
 *  number of slots of *items, and the array doubles when it is full, so n
 *  pushes cost O(n) time and at most 2n slots of arena memory beyond the
 *  list. Start a list with *count = *capacity = 0 and *items = NULL. A
 *  capacity below *count + 1, or a NULL *items, is read as "full": pass
 *  *capacity = 0 for an array whose capacity is unknown (one from an
 *  unpacked message), and it is copied once, on the first push. */
void secpol_arena_push (secpol_arena_t *self, size_t *count, size_t *capacity, void ***items,
                        void *item);

#endif
