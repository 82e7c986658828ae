/*  memo.h - a lane thread's small cache of values derived from stored records.
 *
 *  Some values cost more to derive than to read: the effective policy is
 *  two stored levels unpacked and composed over the defaults, 54 settings,
 *  and nearly every call needs it. A memo keeps a few such values per lane
 *  thread, each under a key and a stamp: the stored bytes it was derived
 *  from. A lookup hands the value back only when the caller, having read
 *  the same records in its own transaction, brings the same stamp; so a
 *  value is never served after its records changed, whichever instance or
 *  request changed them (a cache checked against what is stored, never
 *  invalidated by messages).
 *
 *  Lifetime: a value found or put stays valid until the thread's next
 *  secpol_memo_quiesce(), which its lane calls once the requests that may
 *  hold it are answered. Until then its entry is never reused, so a batch
 *  of requests can hold values while others are added; when every entry is
 *  in use, secpol_memo_reserve() says so and the caller derives into its
 *  own arena, as without a memo. Values are read-only.
 *
 *  A memo belongs to one thread; the store hands it to handlers through
 *  the transaction (secpol_txn_set_memo, secpol_txn_memo).
 */
#ifndef SECPOL_MEMO_H_INCLUDED
#define SECPOL_MEMO_H_INCLUDED

#include "arena.h"

#include <stddef.h>

typedef struct secpol_memo secpol_memo_t;

/*  Most entries one memo keeps: each holds an arena of its own (a block of
 *  8 KiB at least), so the memory a thread keeps is bounded. */
#define SECPOL_MEMO_ENTRIES 64

/*  Creates an empty memo. Never NULL (alloc.h). */
secpol_memo_t *secpol_memo_new (void);

/*  Frees every entry and the memo. NULL-safe; nulls the caller's pointer. */
void secpol_memo_destroy (secpol_memo_t **self_p);

/*  The value stored under key with exactly this stamp, or NULL. A hit
 *  keeps its entry until the next quiesce. NULL-safe (a NULL memo has
 *  nothing). */
const void *secpol_memo_find (secpol_memo_t *self, const void *key, size_t key_size,
                              const void *stamp, size_t stamp_size);

/*  An arena to derive a new value in, for secpol_memo_put(); NULL when
 *  every entry is in use until the next quiesce (or self is NULL): then
 *  derive into the request's own arena and put nothing. The arena holds
 *  nothing of an earlier value. */
secpol_arena_t *secpol_memo_reserve (secpol_memo_t *self);

/*  Stores value (built in the arena the last reserve returned) under key
 *  and stamp, both copied into that arena. An older entry with the same
 *  key is left to age out: a request of this period may still hold its
 *  value. */
void secpol_memo_put (secpol_memo_t *self, const void *key, size_t key_size, const void *stamp,
                      size_t stamp_size, const void *value);

/*  Ends a period: the values handed out since the last quiesce are no
 *  longer held, and their entries may be reused. O(1). */
void secpol_memo_quiesce (secpol_memo_t *self);

/*  Lookups that found a value, and that did not, since the memo was made
 *  (for tests and stats). */
void secpol_memo_counts (const secpol_memo_t *self, unsigned long long *hits,
                         unsigned long long *misses);

#endif
