/*  http.c - the metrics and health listener over libmicrohttpd; see http.h. */
#define _GNU_SOURCE /* open_memstream */
#include "http.h"

#include "alloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IDLE_SECONDS 10 /* a connection idle this long is closed */

struct secpol_http {
    struct MHD_Daemon *daemon;
    int listen_fd;                   /* ours until MHD has it; MHD closes it */
    secpol_http_handlers_t handlers; /* copy */
    char address[INET6_ADDRSTRLEN + 16];
};

static int s_listen (secpol_http_t *self, const char *address, char *err, size_t err_size);
static enum MHD_Result s_answer (void *cls, struct MHD_Connection *connection, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **state);

secpol_http_t *
secpol_http_start (const char *listen, const secpol_http_handlers_t *handlers, char *err,
                   size_t err_size)
{
    secpol_http_t *self = secpol_xcalloc (1, sizeof *self);
    self->handlers = *handlers;
    self->listen_fd = -1;
    if (s_listen (self, listen, err, err_size) != 0) {
        secpol_http_stop (&self);
        return NULL;
    }
    /* One internal thread (poll or epoll as MHD picks) serves every
     * connection, so the handlers never run concurrently. */
    self->daemon = MHD_start_daemon (
        MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, s_answer, self, MHD_OPTION_LISTEN_SOCKET,
        self->listen_fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)SECPOL_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_SECONDS, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf (err, err_size, "metrics listener %s: libmicrohttpd did not start", listen);
        secpol_http_stop (&self);
        return NULL;
    }
    self->listen_fd = -1; /* the daemon's now: it closes it */
    return self;
}

const char *
secpol_http_address (secpol_http_t *self)
{
    return self->address;
}

void
secpol_http_stop (secpol_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_http_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    if (self->listen_fd >= 0)
        close (self->listen_fd);
    free (self);
    *self_p = NULL;
}

/*  Splits "ADDR:PORT" ("[v6]:PORT" too), resolves it and binds and listens
 *  on the first address that works. */
static int
s_listen (secpol_http_t *self, const char *address, char *err, size_t err_size)
{
    char host[256];
    const char *colon = strrchr (address, ':');
    const char *port = colon ? colon + 1 : NULL;
    size_t host_len = colon ? (size_t)(colon - address) : 0;
    const char *host_start = address;
    if (host_len >= 2 && address[0] == '[' && address[host_len - 1] == ']') {
        host_start++;
        host_len -= 2;
    }
    char *end = NULL;
    long port_number = port && *port ? strtol (port, &end, 10) : -1;
    if (!colon || host_len == 0 || host_len >= sizeof host || !end || *end || port_number < 0 ||
        port_number > 65535) {
        snprintf (err, err_size,
                  "--metrics-listen must be ADDR:PORT with a port from 0 to 65535 "
                  "(127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464), not '%s'",
                  address);
        return -1;
    }
    memcpy (host, host_start, host_len);
    host[host_len] = '\0';
    struct addrinfo hints = {0}, *found = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int rc = getaddrinfo (host, port, &hints, &found);
    if (rc != 0) {
        snprintf (err, err_size, "--metrics-listen %s: %s", address, gai_strerror (rc));
        return -1;
    }
    int error = 0;
    for (struct addrinfo *ai = found; ai; ai = ai->ai_next) {
        int fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            error = errno;
            continue;
        }
        int one = 1;
        setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind (fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen (fd, 64) != 0) {
            error = errno;
            close (fd);
            continue;
        }
        self->listen_fd = fd;
        break;
    }
    freeaddrinfo (found);
    if (self->listen_fd < 0) {
        snprintf (err, err_size, "--metrics-listen %s: cannot listen: %s", address,
                  strerror (error));
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    char text[INET6_ADDRSTRLEN] = "?";
    int bound_port = 0;
    if (getsockname (self->listen_fd, (struct sockaddr *)&bound, &bound_len) == 0) {
        if (bound.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&bound;
            inet_ntop (AF_INET6, &in6->sin6_addr, text, sizeof text);
            bound_port = ntohs (in6->sin6_port);
            snprintf (self->address, sizeof self->address, "[%s]:%d", text, bound_port);
            return 0;
        }
        struct sockaddr_in *in4 = (struct sockaddr_in *)&bound;
        inet_ntop (AF_INET, &in4->sin_addr, text, sizeof text);
        bound_port = ntohs (in4->sin_port);
    }
    snprintf (self->address, sizeof self->address, "%s:%d", text, bound_port);
    return 0;
}

static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned status, const char *content_type, char *body,
         size_t size)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer (size, body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return result;
}

static enum MHD_Result
s_text (struct MHD_Connection *connection, unsigned status, const char *text)
{
    char *body = strdup (text);
    if (!body)
        return MHD_NO;
    return s_reply (connection, status, "text/plain; charset=utf-8", body, strlen (body));
}

static enum MHD_Result
s_answer (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void)version;
    (void)upload_data;
    secpol_http_t *self = cls;
    /* MHD calls once with the headers, then per body chunk: answer at once,
     * read no body. */
    static int first_call;
    if (*state == NULL) {
        *state = &first_call;
        if (strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0)
            return s_text (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* ignored */
        return MHD_YES;
    }
    if (strcmp (url, "/metrics") == 0) {
        char *body = NULL;
        size_t size = 0;
        FILE *out = open_memstream (&body, &size);
        if (!out)
            return MHD_NO;
        self->handlers.metrics (self->handlers.arg, out);
        if (fclose (out) != 0) {
            free (body);
            return MHD_NO;
        }
        return s_reply (connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
                        size);
    }
    if (strcmp (url, "/healthz") == 0)
        return s_text (connection, MHD_HTTP_OK, "ok\n");
    if (strcmp (url, "/readyz") == 0) {
        char reason[256] = "";
        if (self->handlers.ready (self->handlers.arg, reason, sizeof reason))
            return s_text (connection, MHD_HTTP_OK, "ready\n");
        char line[300];
        snprintf (line, sizeof line, "not ready: %s\n", reason);
        return s_text (connection, MHD_HTTP_SERVICE_UNAVAILABLE, line);
    }
    return s_text (connection, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz, /readyz\n");
}
