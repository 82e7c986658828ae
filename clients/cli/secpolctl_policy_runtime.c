/*  secpolctl_policy_runtime.c - the parts of secpold's runtime the policy
 *  settings table stands on (see secpolctl_policy_table.c): the arena its
 *  functions allocate from (with the allocation wrappers under it) and the
 *  UTF-8 and plain-text checks of its validators. Pure code: no sockets,
 *  no store, no threads of their own.
 */
#include "../../src/runtime/alloc.c"
#include "../../src/runtime/arena.c"
#include "../../src/runtime/text.c"
