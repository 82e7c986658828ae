/*  peers.c - per-client accounting; see peers.h. */
#include "peers.h"

#include "alloc.h"
#include "hash.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct secpol_peer {
    secpol_peer_t *next; /* hash chain */
    atomic_size_t bytes; /* request + reply bytes held for this peer */
    atomic_int refs;     /* the table's, plus one per attached reply */
    size_t in_flight;    /* requests queued or running (front end only) */
    uint8_t id_size;     /* routing id length */
    uint8_t id[255];     /* routing id */
};

struct secpol_peers {
    secpol_peer_t **buckets; /* chains */
    size_t n_buckets;        /* a power of two */
    size_t count;            /* peers in the table */
    size_t max_in_flight;    /* per peer */
    size_t max_bytes;        /* per peer */
};

/* A reply buffer starts with who it is counted against. */
typedef struct {
    secpol_peer_t *peer; /* set when attached */
    size_t size;         /* payload bytes */
    max_align_t data[];  /* payload */
} reply_buffer_t;

static void s_peer_unref (secpol_peer_t *peer);

secpol_peers_t *
secpol_peers_new (size_t max_in_flight, size_t max_bytes)
{
    secpol_peers_t *self = secpol_xcalloc (1, sizeof *self);
    self->n_buckets = 256;
    self->buckets = secpol_xcalloc (self->n_buckets, sizeof *self->buckets);
    self->max_in_flight = max_in_flight;
    self->max_bytes = max_bytes;
    return self;
}

void
secpol_peers_destroy (secpol_peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_peers_t *self = *self_p;
    for (size_t b = 0; b < self->n_buckets; b++)
        for (secpol_peer_t *peer = self->buckets[b], *next; peer; peer = next) {
            next = peer->next;
            s_peer_unref (peer);
        }
    free (self->buckets);
    free (self);
    *self_p = NULL;
}

static void
s_grow (secpol_peers_t *self)
{
    size_t n = self->n_buckets * 2;
    secpol_peer_t **buckets = secpol_xcalloc (n, sizeof *buckets);
    for (size_t b = 0; b < self->n_buckets; b++)
        for (secpol_peer_t *peer = self->buckets[b], *next; peer; peer = next) {
            next = peer->next;
            size_t slot = secpol_hash_bytes (peer->id, peer->id_size) & (n - 1);
            peer->next = buckets[slot];
            buckets[slot] = peer;
        }
    free (self->buckets);
    self->buckets = buckets;
    self->n_buckets = n;
}

secpol_peer_t *
secpol_peers_get (secpol_peers_t *self, const void *id, size_t id_size)
{
    if (id_size > sizeof ((secpol_peer_t *)0)->id)
        id_size = sizeof ((secpol_peer_t *)0)->id; /* ROUTER ids are at most 255 bytes */
    size_t slot = secpol_hash_bytes (id, id_size) & (self->n_buckets - 1);
    for (secpol_peer_t *peer = self->buckets[slot]; peer; peer = peer->next)
        if (peer->id_size == id_size && memcmp (peer->id, id, id_size) == 0)
            return peer;
    if (self->count >= self->n_buckets) {
        s_grow (self);
        slot = secpol_hash_bytes (id, id_size) & (self->n_buckets - 1);
    }
    secpol_peer_t *peer = secpol_xcalloc (1, sizeof *peer);
    atomic_init (&peer->bytes, 0);
    atomic_init (&peer->refs, 1);
    peer->id_size = (uint8_t)id_size;
    memcpy (peer->id, id, id_size);
    peer->next = self->buckets[slot];
    self->buckets[slot] = peer;
    self->count++;
    return peer;
}

bool
secpol_peers_admit (secpol_peers_t *self, secpol_peer_t *peer, size_t request_bytes,
                    const char **reason)
{
    if (peer->in_flight >= self->max_in_flight) {
        *reason = "too many requests in flight from this client; wait for replies before "
                  "sending more";
        return false;
    }
    if (atomic_load (&peer->bytes) + request_bytes > self->max_bytes) {
        *reason = "too many bytes held for this client; read the replies waiting for it";
        return false;
    }
    peer->in_flight++;
    atomic_fetch_add (&peer->bytes, request_bytes);
    return true;
}

void
secpol_peers_done (secpol_peers_t *self, secpol_peer_t *peer, size_t request_bytes)
{
    (void)self;
    peer->in_flight--;
    atomic_fetch_sub (&peer->bytes, request_bytes);
}

size_t
secpol_peers_sweep (secpol_peers_t *self)
{
    for (size_t b = 0; b < self->n_buckets; b++) {
        secpol_peer_t **link = &self->buckets[b];
        while (*link) {
            secpol_peer_t *peer = *link;
            if (peer->in_flight == 0 && atomic_load (&peer->bytes) == 0) {
                *link = peer->next;
                self->count--;
                s_peer_unref (peer);
            } else
                link = &peer->next;
        }
    }
    return self->count;
}

static void
s_peer_unref (secpol_peer_t *peer)
{
    if (atomic_fetch_sub (&peer->refs, 1) == 1)
        free (peer);
}

void *
secpol_reply_buffer_new (size_t size)
{
    reply_buffer_t *buffer = secpol_xmalloc (sizeof *buffer + size);
    buffer->peer = NULL;
    buffer->size = size;
    return buffer->data;
}

static reply_buffer_t *
s_buffer_of (void *data)
{
    return (reply_buffer_t *)((char *)data - offsetof (reply_buffer_t, data));
}

void
secpol_reply_buffer_free (void *data)
{
    if (!data)
        return;
    reply_buffer_t *buffer = s_buffer_of (data);
    if (buffer->peer) {
        atomic_fetch_sub (&buffer->peer->bytes, buffer->size);
        s_peer_unref (buffer->peer);
    }
    free (buffer);
}

/*  libzmq calls this from its I/O thread once the bytes are written. */
static void
s_release (void *data, void *hint)
{
    (void)hint;
    secpol_reply_buffer_free (data);
}

int
secpol_peers_attach (secpol_peer_t *peer, zmq_msg_t *msg, void *data, size_t size)
{
    reply_buffer_t *buffer = s_buffer_of (data);
    buffer->peer = peer;
    atomic_fetch_add (&peer->refs, 1);
    atomic_fetch_add (&peer->bytes, size);
    if (zmq_msg_init_data (msg, data, size, s_release, NULL) != 0) {
        secpol_reply_buffer_free (data);
        return -1;
    }
    return 0;
}
