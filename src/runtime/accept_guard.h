/*  accept_guard.h - libzmq never runs out of descriptors when it accepts.
 *
 *  libzmq accepts connections on its own I/O thread. When accept() fails
 *  with EMFILE it asserts on an ipc:// endpoint (the daemon dies) and, on
 *  tcp://, leaves the connection in the backlog and polls again at once (a
 *  core spins and no one is served). No libzmq option bounds connections.
 *
 *  So secpold defines accept() and accept4() itself; libzmq's calls reach
 *  these first (an executable's definitions come before libc's), which
 *  call libc's and then:
 *    - close a new connection whose descriptor is at or above the ceiling
 *      (descriptors are handed out lowest first, so that many are open);
 *    - when libc fails with EMFILE or ENFILE, free a spare descriptor kept
 *      for the purpose, accept the connection into it and close it, so
 *      the backlog drains instead of spinning;
 *  and report either as ECONNABORTED, which libzmq takes in its stride. The
 *  client sees its connection closed and retries later, as ZeroMQ clients
 *  do. Every other call passes through untouched.
 */
#ifndef SECPOL_ACCEPT_GUARD_H_INCLUDED
#define SECPOL_ACCEPT_GUARD_H_INCLUDED

#include <stdint.h>

/*  Arms the guard: connections on descriptors >= ceiling are closed.
 *  Opens the spare descriptor. Call once at start, before binding. */
void secpol_accept_guard_arm (int ceiling);

/*  Connections closed by the guard since start. */
uint64_t secpol_accept_guard_shed (void);

#endif
