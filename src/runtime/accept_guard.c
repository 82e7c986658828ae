/*  accept_guard.c - accept() and accept4() that keep a descriptor ceiling;
 *  see accept_guard.h. */
#define _GNU_SOURCE /* RTLD_NEXT, accept4 */
#include "accept_guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*accept4_fn) (int, struct sockaddr *, socklen_t *, int);

static atomic_int s_ceiling = INT_MAX;    /* descriptors at or above are closed */
static atomic_int s_spare = -1;           /* given up to drain one connection at EMFILE */
static atomic_uint_fast64_t s_shed_count; /* connections closed here */

static accept4_fn
s_real_accept4 (void)
{
    static _Atomic (accept4_fn) real;
    accept4_fn fn = atomic_load (&real);
    if (!fn) {
        fn = (accept4_fn)dlsym (RTLD_NEXT, "accept4");
        atomic_store (&real, fn);
    }
    return fn;
}

void
secpol_accept_guard_arm (int ceiling)
{
    atomic_store (&s_ceiling, ceiling);
    if (atomic_load (&s_spare) < 0)
        atomic_store (&s_spare, open ("/dev/null", O_RDONLY | O_CLOEXEC));
}

uint64_t
secpol_accept_guard_shed (void)
{
    return atomic_load (&s_shed_count);
}

/*  Closes a connection we will not serve; errno ECONNABORTED for libzmq. */
static int
s_shed (int fd)
{
    close (fd);
    atomic_fetch_add (&s_shed_count, 1);
    errno = ECONNABORTED;
    return -1;
}

int
accept4 (int listener, struct sockaddr *address, socklen_t *length, int flags)
{
    accept4_fn real = s_real_accept4 ();
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int fd = real (listener, address, length, flags);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
        /* Out of descriptors: spend the spare on draining this connection
         * from the backlog, then take the spare back. */
        int spare = atomic_exchange (&s_spare, -1);
        if (spare < 0) {
            errno = ECONNABORTED; /* another thread holds it; libzmq polls again */
            return -1;
        }
        close (spare);
        fd = real (listener, NULL, NULL, flags | SOCK_CLOEXEC);
        int saved = errno;
        if (fd >= 0)
            close (fd);
        atomic_store (&s_spare, open ("/dev/null", O_RDONLY | O_CLOEXEC));
        atomic_fetch_add (&s_shed_count, fd >= 0);
        errno = fd >= 0 ? ECONNABORTED : saved;
        return -1;
    }
    if (fd >= 0 && fd >= atomic_load (&s_ceiling))
        return s_shed (fd);
    return fd;
}

int
accept (int listener, struct sockaddr *address, socklen_t *length)
{
    return accept4 (listener, address, length, 0);
}
