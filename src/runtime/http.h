/*  http.h - secpold's small HTTP listener (libmicrohttpd) for metrics and
 *  health probes: GET /metrics, /healthz, /readyz.
 *
 *  It knows nothing of the server: the owner gives two callbacks, which run
 *  on the listener's own thread (one thread serves every connection, so
 *  they never run twice at once). It answers GET and HEAD only (405
 *  otherwise), those three paths only (404 otherwise), at most
 *  SECPOL_HTTP_MAX_CONNECTIONS connections at once, each closed after 10
 *  idle seconds; it reads no request body.
 */
#ifndef SECPOL_HTTP_H_INCLUDED
#define SECPOL_HTTP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SECPOL_HTTP_MAX_CONNECTIONS 32

typedef struct {
    /* Writes the /metrics page (Prometheus text format) to out. */
    void (*metrics) (void *arg, FILE *out);
    /* /readyz: true when ready; else writes why (a short line) to reason. */
    bool (*ready) (void *arg, char *reason, size_t reason_size);
    void *arg; /* handed to both */
} secpol_http_handlers_t;

typedef struct secpol_http secpol_http_t;

/*  Listens on listen, "ADDR:PORT" ("127.0.0.1:9464", "0.0.0.0:9464",
 *  "[::1]:9464", "localhost:9464"; port 0 picks a free one), and serves
 *  from a thread of its own. Returns NULL with a reason in err when the
 *  address does not parse or resolve or cannot be bound, or the thread
 *  does not start. Caller owns return value. */
secpol_http_t *secpol_http_start (const char *listen, const secpol_http_handlers_t *handlers,
                                  char *err, size_t err_size);

/*  The address really bound, "ADDR:PORT" with the port resolved. */
const char *secpol_http_address (secpol_http_t *self);

/*  Stops the thread and closes every connection. NULL-safe; nulls the
 *  pointer. */
void secpol_http_stop (secpol_http_t **self_p);

#endif
