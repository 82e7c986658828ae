/*  alloc.h - secpold's one policy for allocation failure.
 *
 *  Inside the daemon, running out of memory is fatal: these wrappers log
 *  "out of memory" with the size asked for and abort. A request cannot go
 *  on without its memory, a half-built reply or a half-applied write is
 *  worse than a restart, and every acknowledged write is already durable in
 *  LMDB, so the supervisor's restart loses nothing. Memory a client can
 *  make the daemon hold is bounded elsewhere (peers.h, lane queues, request
 *  size limits), so this is a last resort, not flow control.
 *
 *  Use them for every allocation in src/; the arena draws its blocks from
 *  them too. Client libraries (clients/) return errors instead.
 */
#ifndef SECPOL_ALLOC_H_INCLUDED
#define SECPOL_ALLOC_H_INCLUDED

#include <stddef.h>

/*  malloc, calloc, realloc and strdup that never return NULL. */
void *secpol_xmalloc (size_t size) __attribute__ ((malloc, returns_nonnull));
void *secpol_xcalloc (size_t count, size_t size) __attribute__ ((malloc, returns_nonnull));
void *secpol_xrealloc (void *pointer, size_t size) __attribute__ ((returns_nonnull));
char *secpol_xstrdup (const char *s) __attribute__ ((malloc, returns_nonnull));

/*  Logs the failure and aborts. For allocators we do not wrap (libzmq's
 *  zmq_msg_init_size, protobuf-c's). */
void secpol_out_of_memory (size_t size) __attribute__ ((noreturn));

#endif
