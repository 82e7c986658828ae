/*  peers.h - each client's share of the daemon, bounded.
 *
 *  A ROUTER sees every client ("peer") by its routing id. The front end
 *  keeps one secpol_peer_t per routing id and admits a request only while
 *  that peer has fewer than max_in_flight requests queued or running and
 *  fewer than max_bytes of request and reply bytes held for it; otherwise
 *  the request is refused RESOURCE_EXHAUSTED. Reply bytes count from the
 *  moment a reply is handed to libzmq until libzmq has written them to the
 *  connection and released them (zmq_msg_init_data's free callback), so a
 *  client that sends requests but never reads replies stops being served
 *  once max_bytes wait for it, and holds at most that much memory.
 *
 *  Threads: the table and in_flight belong to the front end thread; the
 *  byte count is atomic because libzmq's I/O thread releases reply bytes.
 */
#ifndef SECPOL_PEERS_H_INCLUDED
#define SECPOL_PEERS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct secpol_peer secpol_peer_t;
typedef struct secpol_peers secpol_peers_t;

/*  Creates an empty table. Caller owns return value. */
secpol_peers_t *secpol_peers_new (size_t max_in_flight, size_t max_bytes);

/*  Frees the table. Peers that libzmq still holds replies for are freed
 *  when it releases them. NULL-safe; nulls the pointer. */
void secpol_peers_destroy (secpol_peers_t **self_p);

/*  Returns the peer with this routing id (1 to 255 bytes), creating it. */
secpol_peer_t *secpol_peers_get (secpol_peers_t *self, const void *id, size_t id_size);

/*  Admits one request of request_bytes from peer, or returns false with a
 *  reason (static text) in *reason when the peer is over a limit. */
bool secpol_peers_admit (secpol_peers_t *self, secpol_peer_t *peer, size_t request_bytes,
                         const char **reason);

/*  The request admitted with request_bytes is answered (or dropped). */
void secpol_peers_done (secpol_peers_t *self, secpol_peer_t *peer, size_t request_bytes);

/*  Forgets peers with nothing in flight and no reply bytes held. Call now
 *  and then; linear in the number of peers. Returns how many remain. */
size_t secpol_peers_sweep (secpol_peers_t *self);

/*  A reply buffer of size bytes (size > 0) that secpol_peers_attach() can
 *  hand to libzmq without a copy. Aborts when out of memory (see log.h). */
void *secpol_reply_buffer_new (size_t size);

/*  Frees a reply buffer that was never attached. NULL-safe. */
void secpol_reply_buffer_free (void *data);

/*  Initialises msg over data (a reply buffer of size bytes, whose ownership
 *  moves to msg) and counts size against peer until libzmq releases it.
 *  Returns 0, or -1 when zmq_msg_init_data fails (data is then freed). */
int secpol_peers_attach (secpol_peer_t *peer, zmq_msg_t *msg, void *data, size_t size);

#endif
