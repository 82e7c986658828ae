/*  secpol_client.c - C client library of the secpol wire protocol v1.
 *
 *  One DEALER socket carries every call. Each call sent gets a fresh call_id
 *  and an entry in a small hash table (call_id -> expected response type,
 *  expiry), also linked in expiry order so the earliest expiry is found in
 *  O(1). A reply is matched to its entry by the call_id of its header;
 *  replies for ids no longer in the table are dropped. While a synchronous
 *  call waits, replies of asynchronous calls are stashed (in arrival order)
 *  on their entries for secpol_client_recv(). See secpol_client.h.
 */
#include "secpol/secpol_client.h"

#include "secpol/secpol_registry.h"
#include "secpol/v1/health.pb-c.h"
#include "secpol/v1/rpc.pb-c.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_HEALTH_PATH "/secpol.v1.Health/Check"
#define S_QUEUE_LIMIT 100000 /* ZMQ_SNDHWM and ZMQ_RCVHWM of the DEALER */
#define S_NEVER       INT64_MAX
#define S_MIN_BUCKETS 64
//  The monitor events that say whether the connection is up; none of them
//  repeats while nothing changes, so the queue grows only as the link flaps.
#define S_MONITOR_EVENTS                                                                           \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |                \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
#define S_MONITOR_DRAIN_EVERY 64 /* sends between two looks at the monitor */

typedef struct s_call s_call_t;

/*  What s_read() got. */
typedef enum {
    S_READ_MESSAGE,     /* a message */
    S_READ_TIMEOUT,     /* nothing before the time given */
    S_READ_INTERRUPTED, /* SIGINT/SIGTERM caught by czmq's handler, if the program uses it */
    S_READ_FAILED,      /* the socket failed */
    S_READ_LINK_DOWN,   /* the connection of the watched link went down */
    S_READ_KEY_REFUSED, /* the watched link refused our CURVE key (any link: one more did) */
} s_read_t;

/*  One endpoint: its DEALER and the monitor that tracks its connection. */
typedef struct {
    zsock_t *dealer;  /* connected to endpoint */
    void *handle;     /* its libzmq socket, for zmq_poll */
    char *endpoint;   /* this one endpoint */
    zsock_t *monitor; /* PAIR fed by zmq_socket_monitor on dealer */
    bool connected;   /* as the monitor's last event says */
    bool key_refused; /* the last handshake failed on our CURVE key (libzmq then gives up) */
} s_link_t;

#define S_MAX_LINKS 16 /* endpoints one client connects to */
#define S_NO_LINK   SIZE_MAX
#define S_ANY_LINK  (SIZE_MAX - 1) /* s_read: a refusal on any link ends the wait */

/*  One call sent and not yet completed. */
struct s_call {
    uint64_t call_id;                         /* echoed back by the server */
    const ProtobufCMessageDescriptor *output; /* response type; NULL = discard body */
    int timeout_ms;                           /* as sent, for messages; 0 = forever */
    int64_t expires_at;                       /* zclock_mono () ms; S_NEVER = never */
    s_call_t *hash_next;                      /* bucket chain */
    s_call_t *prev, *next;                    /* expiry list, while waiting */
    bool waiting;                             /* linked in the expiry list */
    zmsg_t *reply;                            /* stashed reply, when arrived */
    s_call_t *stash_next;                     /* stash FIFO */
    size_t link;                              /* the endpoint it was sent to */
};

/*  The ProtobufCService handed to generated stubs. */
typedef struct {
    ProtobufCService base;   /* must stay first: stubs see only this */
    secpol_client_t *client; /* the transport */
} s_service_t;

struct secpol_client {
    s_link_t links[S_MAX_LINKS];       /* one DEALER per endpoint */
    size_t n_links;                    /* endpoints given */
    size_t next_link;                  /* round robin */
    unsigned refusals;                 /* links whose key_refused turned true, ever */
    char *endpoint;                    /* as given (comma-separated when several) */
    int timeout_ms;                    /* per call; 0 = forever */
    char *request_id;                  /* sent in headers; NULL = none */
    uint64_t next_call_id;             /* starts at 1 */
    s_call_t **buckets;                /* calls in flight by call_id */
    size_t n_buckets;                  /* power of two */
    size_t n_calls;                    /* entries in buckets */
    s_call_t *first, *last;            /* waiting calls, earliest expiry first */
    s_call_t *stash_head, *stash_tail; /* arrived during a sync call */
    s_service_t **services;            /* made by secpol_client_service */
    size_t n_services;
    secpol_client_status_t status;      /* of the last operation */
    bool status_remote;                 /* status came from a server header */
    Secpol__V1__ResponseHeader *header; /* backs status strings when remote */
    const char **fields;                /* backs status.violation_fields */
    const char **descriptions;          /* backs status.violation_descriptions */
    char local_message[512];            /* backs status.message when local */
};

static void s_status_clear (secpol_client_t *self);
static int s_status_local (secpol_client_t *self, int code, uint64_t call_id, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static int s_status_remote (secpol_client_t *self, Secpol__V1__ResponseHeader *header);
static size_t s_bucket (const secpol_client_t *self, uint64_t call_id);
static int s_table_add (secpol_client_t *self, s_call_t *call);
static s_call_t *s_table_find (const secpol_client_t *self, uint64_t call_id);
static void s_table_remove (secpol_client_t *self, s_call_t *call);
static void s_waiting_link (secpol_client_t *self, s_call_t *call);
static void s_waiting_unlink (secpol_client_t *self, s_call_t *call);
static void s_call_free (secpol_client_t *self, s_call_t *call);
static int s_send (secpol_client_t *self, s_call_t **call_p, const char *path,
                   const ProtobufCMessageDescriptor *output, const ProtobufCMessage *request,
                   unsigned tried);
static s_read_t s_read (secpol_client_t *self, zmsg_t **msg_p, int64_t until, size_t watch);
static int s_read_failure (secpol_client_t *self, s_read_t result, uint64_t call_id, int timeout_ms,
                           size_t link);
static bool s_any_connected (const secpol_client_t *self);
static Secpol__V1__ResponseHeader *s_reply_header (zmsg_t *msg);
static int s_finish (secpol_client_t *self, s_call_t *call, zmsg_t **msg_p,
                     Secpol__V1__ResponseHeader *header, ProtobufCMessage **response_p);
static int s_call_sync (secpol_client_t *self, const char *path,
                        const ProtobufCMessageDescriptor *output, const ProtobufCMessage *request,
                        ProtobufCMessage **response_p);
static const ProtobufCMethodDescriptor *s_resolve (secpol_client_t *self, const char *path,
                                                   const ProtobufCMessage *request);
static void s_service_invoke (ProtobufCService *service, unsigned method_index,
                              const ProtobufCMessage *input, ProtobufCClosure closure,
                              void *closure_data);
static void s_service_destroy (ProtobufCService *service);
static bool s_endpoint_valid (const char *endpoint);
static int s_monitor_start (s_link_t *link);
static void s_monitor_drain (secpol_client_t *self);
static bool s_monitor_event (secpol_client_t *self, s_link_t *link);
static s_call_t *s_refused_call (const secpol_client_t *self);
static int s_refused_status (secpol_client_t *self, uint64_t call_id, size_t link);
static int s_curve_setup (s_link_t *link, const secpol_client_options_t *options);

//  --------------------------------------------------------------------------
//  Constructor, destructor, settings

secpol_client_t *
secpol_client_new (const char *endpoint, int timeout_ms)
{
    secpol_client_options_t options = SECPOL_CLIENT_OPTIONS_INIT;
    options.timeout_ms = timeout_ms;
    options.check_server = true;
    return secpol_client_open (endpoint, &options, NULL);
}

secpol_client_t *
secpol_client_open (const char *endpoint, const secpol_client_options_t *options, int *error)
{
    if (!endpoint)
        endpoint = SECPOL_CLIENT_DEFAULT_ENDPOINT;
    //  "a,b,c": one DEALER per endpoint (ZeroMQ endpoints never hold a comma).
    char *copy = strdup (endpoint);
    const char *list[S_MAX_LINKS + 1];
    size_t n = 0;
    bool empty = false;
    for (char *save = NULL, *part = copy ? strtok_r (copy, ",", &save) : NULL; part;
         part = strtok_r (NULL, ",", &save)) {
        if (n <= S_MAX_LINKS)
            list[n] = part;
        n++;
    }
    if (copy && (!*copy || endpoint[0] == ',' || endpoint[strlen (endpoint) - 1] == ',' ||
                 strstr (endpoint, ",,")))
        empty = true;
    secpol_client_t *self = NULL;
    if (!copy) {
        if (error)
            *error = SECPOL_RESOURCE_EXHAUSTED;
    } else if (empty || n == 0 || n > S_MAX_LINKS) {
        if (error)
            *error = SECPOL_INVALID_ARGUMENT;
    } else
        self = secpol_client_open_list (list, n, options, error);
    free (copy);
    return self;
}

secpol_client_t *
secpol_client_open_list (const char *const *endpoints, size_t n_endpoints,
                         const secpol_client_options_t *options, int *error)
{
    secpol_client_options_t defaults = SECPOL_CLIENT_OPTIONS_INIT;
    if (!options)
        options = &defaults;
    const char *default_endpoint = SECPOL_CLIENT_DEFAULT_ENDPOINT;
    if (!endpoints || n_endpoints == 0) {
        endpoints = &default_endpoint;
        n_endpoints = 1;
    }
    int code = SECPOL_INVALID_ARGUMENT;
    secpol_client_t *self = NULL;
    if (n_endpoints > S_MAX_LINKS)
        goto fail;
    for (size_t i = 0; i < n_endpoints; i++)
        if (!endpoints[i] || !*endpoints[i] || strchr (endpoints[i], ','))
            goto fail;
    code = SECPOL_RESOURCE_EXHAUSTED;
    self = (secpol_client_t *)calloc (1, sizeof *self);
    if (!self)
        goto fail;
    size_t joined = 0;
    for (size_t i = 0; i < n_endpoints; i++)
        joined += strlen (endpoints[i]) + 1;
    self->endpoint = (char *)malloc (joined);
    self->next_call_id = 1;
    self->n_buckets = S_MIN_BUCKETS;
    self->buckets = (s_call_t **)calloc (self->n_buckets, sizeof *self->buckets);
    self->status.message = "";
    if (!self->endpoint || !self->buckets)
        goto fail;
    self->endpoint[0] = '\0';
    for (size_t i = 0; i < n_endpoints; i++) {
        if (i > 0)
            strcat (self->endpoint, ",");
        strcat (self->endpoint, endpoints[i]);
    }

    for (size_t i = 0; i < n_endpoints; i++) {
        s_link_t *link = &self->links[i];
        self->n_links = i + 1;
        link->endpoint = strdup (endpoints[i]);
        if (!link->endpoint)
            goto fail;
        //  czmq installs its own SIGINT/SIGTERM handlers when it makes its
        //  first socket, and they only set a flag: a service linking this
        //  library would no longer stop on SIGTERM. A library must leave its
        //  host's signal handling alone, so put back whatever the process had.
        struct sigaction old_int, old_term;
        sigaction (SIGINT, NULL, &old_int);
        sigaction (SIGTERM, NULL, &old_term);
        link->dealer = zsock_new (ZMQ_DEALER);
        sigaction (SIGINT, &old_int, NULL);
        sigaction (SIGTERM, &old_term, NULL);
        //  czmq makes a socket or aborts on out of memory; a NULL socket is
        //  most likely out of file descriptors (EMFILE).
        if (!link->dealer)
            goto fail;
        zsock_set_linger (link->dealer, 0);
        zsock_set_sndhwm (link->dealer, S_QUEUE_LIMIT);
        zsock_set_rcvhwm (link->dealer, S_QUEUE_LIMIT);
        //  With several endpoints, queue nothing for an instance whose
        //  connection is down: the call goes to another one instead, and a
        //  write is never delivered late to an instance that comes back.
        if (n_endpoints > 1)
            zsock_set_immediate (link->dealer, 1);
        link->handle = zsock_resolve (link->dealer);
        if (s_monitor_start (link) != 0)
            goto fail;
        if (!s_endpoint_valid (endpoints[i]) || s_curve_setup (link, options) != 0) {
            code = SECPOL_INVALID_ARGUMENT;
            goto fail;
        }
        if (zmq_connect (link->handle, endpoints[i]) != 0) {
            //  EINVAL (malformed), EPROTONOSUPPORT (unknown transport),
            //  ENOCOMPATPROTO (transport not for this socket type): the caller's.
            code = errno == ENOMEM || errno == EMFILE || errno == EMTHREAD
                       ? SECPOL_RESOURCE_EXHAUSTED
                       : SECPOL_INVALID_ARGUMENT;
            goto fail;
        }
    }
    secpol_client_set_timeout (self, options->timeout_ms);
    //  Many short-lived clients (secpolctl, scripts) should not all start
    //  with the first endpoint: begin the round robin anywhere.
    self->next_link = (size_t)(zclock_usecs () ^ (int64_t)getpid ()) % self->n_links;

    if (options->check_server) {
        //  Any answer with a decodable header proves a secpol server is
        //  there, whatever its status (NOT_SERVING, PERMISSION_DENIED, ...).
        //  With several endpoints, one answering is enough (Check is
        //  idempotent: it moves on from an instance that is down).
        ProtobufCMessage *health = NULL;
        code = s_call_sync (self, S_HEALTH_PATH, &secpol__v1__health_check_response__descriptor,
                            NULL, &health);
        protobuf_c_message_free_unpacked (health, NULL);
        if (code != SECPOL_OK && !self->status_remote) {
            //  Out of memory stays itself; anything else is no answer.
            if (code != SECPOL_CANCELLED && code != SECPOL_RESOURCE_EXHAUSTED &&
                code != SECPOL_UNAUTHENTICATED)
                code = SECPOL_UNAVAILABLE;
            goto fail;
        }
    }
    if (error)
        *error = SECPOL_OK;
    return self;

fail:
    secpol_client_destroy (&self);
    if (error)
        *error = code;
    return NULL;
}

void
secpol_client_destroy (secpol_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    secpol_client_t *self = *self_p;
    for (size_t i = 0; self->buckets && i < self->n_buckets; i++) {
        s_call_t *call = self->buckets[i];
        while (call) {
            s_call_t *next = call->hash_next;
            zmsg_destroy (&call->reply);
            free (call);
            call = next;
        }
    }
    free (self->buckets);
    for (size_t i = 0; i < self->n_services; i++)
        free (self->services[i]);
    free (self->services);
    s_status_clear (self);
    for (size_t i = 0; i < self->n_links; i++) {
        s_link_t *link = &self->links[i];
        //  Stop the monitor before closing either socket: libzmq's I/O
        //  thread sends events (a DISCONNECTED while the dealer closes) with
        //  a blocking send, and a PAIR whose reader is gone blocks it for
        //  good, and with it every socket of the process.
        if (link->dealer && link->monitor)
            zmq_socket_monitor (zsock_resolve (link->dealer), NULL, 0);
        zsock_destroy (&link->dealer);
        zsock_destroy (&link->monitor);
        free (link->endpoint);
    }
    free (self->request_id);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
secpol_client_set_timeout (secpol_client_t *self, int timeout_ms)
{
    if (!self)
        return;
    //  Sends never block in libzmq (ZMQ_DONTWAIT): s_send_spread waits,
    //  within the call's timeout, for room or a connection.
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

int
secpol_client_timeout (const secpol_client_t *self)
{
    return self ? self->timeout_ms : 0;
}

void
secpol_client_set_request_id (secpol_client_t *self, const char *request_id)
{
    if (!self)
        return;
    free (self->request_id);
    self->request_id = request_id && *request_id ? strdup (request_id) : NULL;
}

const char *
secpol_client_version (void)
{
    return SECPOL_CLIENT_VERSION;
}

const char *
secpol_client_endpoint (const secpol_client_t *self)
{
    return self ? self->endpoint : NULL;
}

int
secpol_client_wait_connected (secpol_client_t *self, int timeout_ms)
{
    if (!self)
        return SECPOL_INVALID_ARGUMENT;
    int64_t until = timeout_ms < 0 ? S_NEVER : zclock_mono () + timeout_ms;
    s_monitor_drain (self);
    while (!s_any_connected (self)) {
        bool refused = true; //  by every endpoint: none will ever connect
        for (size_t i = 0; i < self->n_links && refused; i++)
            refused = self->links[i].key_refused;
        if (refused)
            return s_refused_status (self, 0, self->n_links == 1 ? 0 : S_NO_LINK);
        int64_t now = zclock_mono ();
        if (until != S_NEVER && now >= until)
            return s_status_local (self, SECPOL_UNAVAILABLE, 0,
                                   "no connection to %s within %d ms (is secpold running?)",
                                   self->endpoint, timeout_ms);
        long wait = until == S_NEVER ? -1 : (long)(until - now);
        zmq_pollitem_t items[S_MAX_LINKS];
        for (size_t i = 0; i < self->n_links; i++)
            items[i] = (zmq_pollitem_t){zsock_resolve (self->links[i].monitor), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (items, (int)self->n_links, wait);
        if (rc < 0 && errno == EINTR) {
            if (zsys_interrupted)
                return s_status_local (self, SECPOL_CANCELLED, 0, "interrupted");
            continue;
        }
        if (rc < 0)
            return s_status_local (self, SECPOL_UNAVAILABLE, 0, "socket to %s failed: %s",
                                   self->endpoint, zmq_strerror (errno));
        if (rc > 0)
            s_monitor_drain (self);
    }
    s_status_clear (self);
    return SECPOL_OK;
}

const secpol_client_status_t *
secpol_client_status (const secpol_client_t *self)
{
    return self ? &self->status : NULL;
}

size_t
secpol_client_in_flight (const secpol_client_t *self)
{
    return self ? self->n_calls : 0;
}

//  --------------------------------------------------------------------------
//  Which methods may be sent again to another instance

/*  The methods a client may send a second time, to another instance, when
 *  the connection to the first was lost before its reply: they change no
 *  stored state, so running one twice is the same as once. Everything else
 *  is not re-sent. Left out on purpose: SessionService/ValidateSession (it
 *  may touch the session: last-seen time, idle expiry), PasswordService/
 *  CheckPassword (it may record a breach check or count against a
 *  lockout), every Verify* of OTP (they spend an attempt or a code) and
 *  TokenService/ConsumeToken. One table, docs/PROTOCOL.md lists it. */
static const char *const s_idempotent[] = {
    "/secpol.v1.Health/Check",
    "/secpol.v1.AdminService/GetStats",
    "/secpol.v1.AuditService/ListAuditEvents",
    "/secpol.v1.PolicyService/GetPolicy",
    "/secpol.v1.PolicyService/ListPolicyRevisions",
    "/secpol.v1.PolicyService/ListPolicies",
    "/secpol.v1.PolicyService/RenderSecurityHeaders",
    "/secpol.v1.PolicyService/CheckFileUpload",
    "/secpol.v1.LockoutService/CheckLockout",
    "/secpol.v1.TokenService/VerifyToken",
    "/secpol.v1.SessionService/ListSessions",
    "/secpol.v1.PasswordService/GetAccountStatus",
    "/secpol.v1.OtpService/GetTotpStatus",
};

bool
secpol_client_idempotent (const char *method_path)
{
    if (!method_path)
        return false;
    for (size_t i = 0; i < sizeof s_idempotent / sizeof *s_idempotent; i++)
        if (strcmp (method_path, s_idempotent[i]) == 0)
            return true;
    return false;
}

//  --------------------------------------------------------------------------
//  Synchronous calls

int
secpol_client_call (secpol_client_t *self, const char *method_path, const ProtobufCMessage *request,
                    ProtobufCMessage **response_p)
{
    if (response_p)
        *response_p = NULL;
    if (!self)
        return SECPOL_INVALID_ARGUMENT;
    const ProtobufCMethodDescriptor *method = s_resolve (self, method_path, request);
    if (!method)
        return self->status.code;
    return s_call_sync (self, method_path, method->output, request, response_p);
}

int
secpol_client_call_path (secpol_client_t *self, const char *method_path,
                         const ProtobufCMessageDescriptor *output_descriptor,
                         const ProtobufCMessage *request, ProtobufCMessage **response_p)
{
    if (response_p)
        *response_p = NULL;
    if (!self)
        return SECPOL_INVALID_ARGUMENT;
    if (!method_path || !*method_path)
        return s_status_local (self, SECPOL_INVALID_ARGUMENT, 0, "no method path");
    return s_call_sync (self, method_path, output_descriptor, request, response_p);
}

//  --------------------------------------------------------------------------
//  Generated typed stubs: a ProtobufCService whose invoke() is a sync call

ProtobufCService *
secpol_client_service (secpol_client_t *self, const ProtobufCServiceDescriptor *descriptor)
{
    if (!self || !descriptor)
        return NULL;
    for (size_t i = 0; i < self->n_services; i++)
        if (self->services[i]->base.descriptor == descriptor)
            return &self->services[i]->base;
    s_service_t **services =
        (s_service_t **)realloc (self->services, (self->n_services + 1) * sizeof *self->services);
    if (!services)
        return NULL;
    self->services = services;
    s_service_t *service = (s_service_t *)calloc (1, sizeof *service);
    if (!service)
        return NULL;
    service->base.descriptor = descriptor;
    service->base.invoke = s_service_invoke;
    service->base.destroy = s_service_destroy;
    service->client = self;
    self->services[self->n_services++] = service;
    return &service->base;
}

void
secpol_closure_keep (const ProtobufCMessage *message, void *closure_data)
{
    ProtobufCMessage **kept = (ProtobufCMessage **)closure_data;
    if (kept)
        *kept = (ProtobufCMessage *)message;
    else
        protobuf_c_message_free_unpacked ((ProtobufCMessage *)message, NULL);
}

static void
s_service_invoke (ProtobufCService *base, unsigned method_index, const ProtobufCMessage *input,
                  ProtobufCClosure closure, void *closure_data)
{
    s_service_t *service = (s_service_t *)base;
    secpol_client_t *self = service->client;
    const ProtobufCServiceDescriptor *descriptor = base->descriptor;
    ProtobufCMessage *output = NULL;

    if (method_index >= descriptor->n_methods)
        s_status_local (self, SECPOL_INVALID_ARGUMENT, 0, "%s has no method #%u", descriptor->name,
                        method_index);
    else {
        const ProtobufCMethodDescriptor *method = &descriptor->methods[method_index];
        int size = secpol_registry_path (NULL, 0, descriptor, method_index);
        char *path = size > 0 ? (char *)malloc ((size_t)size + 1) : NULL;
        if (!path)
            s_status_local (self, SECPOL_INTERNAL, 0, "out of memory");
        else if (input && input->descriptor != method->input)
            s_status_local (self, SECPOL_INVALID_ARGUMENT, 0, "%s takes a %s, not a %s",
                            method->name, method->input->name, input->descriptor->name);
        else {
            secpol_registry_path (path, (size_t)size + 1, descriptor, method_index);
            if (s_call_sync (self, path, method->output, input, &output) != SECPOL_OK)
                output = NULL;
        }
        free (path);
    }
    if (closure)
        closure (output, closure_data);
    else
        protobuf_c_message_free_unpacked (output, NULL);
}

static void
s_service_destroy (ProtobufCService *service)
{
    //  Owned by the client: freed by secpol_client_destroy.
    (void)service;
}

//  --------------------------------------------------------------------------
//  Pipelined asynchronous calls

int
secpol_client_send (secpol_client_t *self, const char *method_path, const ProtobufCMessage *request,
                    uint64_t *call_id_p)
{
    if (call_id_p)
        *call_id_p = 0;
    if (!self)
        return SECPOL_INVALID_ARGUMENT;
    const ProtobufCMethodDescriptor *method = s_resolve (self, method_path, request);
    if (!method)
        return self->status.code;
    s_call_t *call = NULL;
    int code = s_send (self, &call, method_path, method->output, request, 0);
    if (code != SECPOL_OK)
        return code;
    if (call_id_p)
        *call_id_p = call->call_id;
    s_status_clear (self);
    self->status.call_id = call->call_id;
    return SECPOL_OK;
}

int
secpol_client_recv (secpol_client_t *self, int timeout_ms, uint64_t *call_id_p,
                    ProtobufCMessage **response_p)
{
    if (call_id_p)
        *call_id_p = 0;
    if (response_p)
        *response_p = NULL;
    if (!self)
        return SECPOL_INVALID_ARGUMENT;

    if (self->stash_head) {
        //  Arrived while a synchronous call waited: oldest first.
        s_call_t *call = self->stash_head;
        self->stash_head = call->stash_next;
        if (!self->stash_head)
            self->stash_tail = NULL;
        zmsg_t *msg = call->reply;
        call->reply = NULL;
        int code = s_finish (self, call, &msg, s_reply_header (msg), response_p);
        if (call_id_p)
            *call_id_p = self->status.call_id;
        return code;
    }
    if (self->n_calls == 0)
        return s_status_local (self, SECPOL_UNAVAILABLE, 0, "no call in flight");

    int64_t until = timeout_ms < 0 ? S_NEVER : zclock_mono () + timeout_ms;
    while (true) {
        //  A call sent to an endpoint that refused our CURVE key can get no
        //  reply: it completes at once.
        s_call_t *refused = s_refused_call (self);
        if (refused) {
            uint64_t call_id = refused->call_id;
            int code = s_refused_status (self, call_id, refused->link);
            s_call_free (self, refused);
            if (call_id_p)
                *call_id_p = call_id;
            return code;
        }
        //  Replies already queued complete before any expiry: look at the
        //  socket first, then expire, then wait.
        int64_t now = zclock_mono ();
        int64_t first_expiry = self->first ? self->first->expires_at : S_NEVER;
        int64_t wait_until =
            first_expiry <= now ? now : (until < first_expiry ? until : first_expiry);
        zmsg_t *msg = NULL;
        s_read_t result = s_read (self, &msg, wait_until, S_ANY_LINK);
        if (result == S_READ_KEY_REFUSED)
            continue; //  completes the calls sent there, above
        if (result == S_READ_MESSAGE) {
            Secpol__V1__ResponseHeader *header = s_reply_header (msg);
            s_call_t *call = header ? s_table_find (self, header->call_id) : NULL;
            if (call && call->waiting) {
                int code = s_finish (self, call, &msg, header, response_p);
                if (call_id_p)
                    *call_id_p = self->status.call_id;
                return code;
            }
            //  Unknown, timed out, duplicate or undecodable: drop it.
            secpol__v1__response_header__free_unpacked (header, NULL);
            zmsg_destroy (&msg);
            continue;
        }
        if (result != S_READ_TIMEOUT)
            return s_read_failure (self, result, 0, 0, S_NO_LINK);
        now = zclock_mono ();
        if (self->first && self->first->expires_at <= now) {
            s_call_t *call = self->first;
            uint64_t call_id = call->call_id;
            int code = s_read_failure (self, S_READ_TIMEOUT, call_id, call->timeout_ms, call->link);
            s_call_free (self, call);
            if (call_id_p)
                *call_id_p = call_id;
            return code;
        }
        if (now >= until)
            return s_status_local (self, SECPOL_UNAVAILABLE, 0, "no call completed within %d ms",
                                   timeout_ms);
    }
}

//  --------------------------------------------------------------------------
//  Internals: one call

static const ProtobufCMethodDescriptor *
s_resolve (secpol_client_t *self, const char *path, const ProtobufCMessage *request)
{
    const ProtobufCMethodDescriptor *method = secpol_registry_find (path, NULL);
    if (!method) {
        s_status_local (self, SECPOL_INVALID_ARGUMENT, 0, "unknown method %s",
                        path ? path : "(null)");
        return NULL;
    }
    if (request && request->descriptor != method->input) {
        s_status_local (self, SECPOL_INVALID_ARGUMENT, 0, "%s takes a %s, not a %s", path,
                        method->input->name,
                        request->descriptor ? request->descriptor->name : "(no type)");
        return NULL;
    }
    return method;
}

static int
s_call_sync (secpol_client_t *self, const char *path, const ProtobufCMessageDescriptor *output,
             const ProtobufCMessage *request, ProtobufCMessage **response_p)
{
    ProtobufCMessage *response = NULL;
    s_call_t *call = NULL;
    unsigned tried = 0; //  links this call was sent to (bit per link)
    int code = s_send (self, &call, path, output, request, tried);
    while (code == SECPOL_OK) {
        zmsg_t *msg = NULL;
        //  A refusal of our CURVE key by the endpoint the call went to ends
        //  the wait at once (no reply can come). With several endpoints, so
        //  does a connection lost under the call: the instance died or
        //  restarted before answering (a refusal there comes after such a
        //  loss: the call was sent on a connection whose handshake passed).
        s_read_t result = s_read (self, &msg, call->expires_at, call->link);
        if (result == S_READ_LINK_DOWN || (result == S_READ_KEY_REFUSED && self->n_links > 1)) {
            size_t link = call->link;
            int64_t expires_at = call->expires_at;
            int timeout_ms = call->timeout_ms;
            uint64_t call_id = call->call_id;
            s_call_free (self, call);
            call = NULL;
            tried |= 1u << link;
            if (!secpol_client_idempotent (path)) {
                code = s_status_local (self, SECPOL_UNAVAILABLE, call_id,
                                       "connection to %s lost before the reply to %s; not sent "
                                       "again (not idempotent): it may or may not have been done",
                                       self->links[link].endpoint, path);
                break;
            }
            //  A read: ask another instance, within what is left of the
            //  call's deadline.
            code = s_send (self, &call, path, output, request, tried);
            if (code == SECPOL_OK && expires_at != S_NEVER) {
                s_waiting_unlink (self, call);
                call->expires_at = expires_at;
                call->timeout_ms = timeout_ms;
                s_waiting_link (self, call);
            }
            continue;
        }
        if (result == S_READ_KEY_REFUSED) {
            code = s_refused_status (self, call->call_id, call->link);
            s_call_free (self, call);
            break;
        }
        if (result != S_READ_MESSAGE) {
            code = s_read_failure (self, result, call->call_id, call->timeout_ms, call->link);
            s_call_free (self, call);
            break;
        }
        Secpol__V1__ResponseHeader *header = s_reply_header (msg);
        s_call_t *other = header ? s_table_find (self, header->call_id) : NULL;
        if (other == call) {
            code = s_finish (self, call, &msg, header, &response);
            break;
        }
        secpol__v1__response_header__free_unpacked (header, NULL);
        if (other && other->waiting) {
            //  An asynchronous call's reply: keep it for secpol_client_recv.
            s_waiting_unlink (self, other);
            other->reply = msg;
            other->stash_next = NULL;
            if (self->stash_tail)
                self->stash_tail->stash_next = other;
            else
                self->stash_head = other;
            self->stash_tail = other;
        } else
            zmsg_destroy (&msg);
    }
    if (response_p)
        *response_p = response;
    else
        protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

//  Sets the status for a read that got no message, and returns its code.
static int
s_read_failure (secpol_client_t *self, s_read_t result, uint64_t call_id, int timeout_ms,
                size_t link)
{
    const char *endpoint = link < self->n_links ? self->links[link].endpoint : self->endpoint;
    if (result == S_READ_INTERRUPTED)
        return s_status_local (self, SECPOL_CANCELLED, call_id, "interrupted");
    if (result == S_READ_FAILED)
        return s_status_local (self, SECPOL_UNAVAILABLE, call_id, "socket to %s failed: %s",
                               endpoint, zmq_strerror (errno));
    s_monitor_drain (self);
    if (link < self->n_links && self->links[link].key_refused)
        return s_refused_status (self, call_id, link);
    return s_status_local (self, SECPOL_UNAVAILABLE, call_id, "no reply from %s within %d ms",
                           endpoint, timeout_ms);
}

//  Sets the status for a call that endpoint link (S_NO_LINK: every one)
//  refused at the CURVE handshake, and returns SECPOL_UNAUTHENTICATED.
static int
s_refused_status (secpol_client_t *self, uint64_t call_id, size_t link)
{
    if (link < self->n_links)
        return s_status_local (self, SECPOL_UNAUTHENTICATED, call_id,
                               "%s refused this client's CURVE key at the handshake (not in its "
                               "authorized keys?)",
                               self->links[link].endpoint);
    return s_status_local (self, SECPOL_UNAUTHENTICATED, call_id,
                           "every instance (%s) refused this client's CURVE key at the handshake "
                           "(not in their authorized keys?)",
                           self->endpoint);
}

//  The earliest-expiring call waiting for a reply from an endpoint that
//  refused our CURVE key, or NULL.
static s_call_t *
s_refused_call (const secpol_client_t *self)
{
    if (self->refusals == 0)
        return NULL;
    for (s_call_t *call = self->first; call; call = call->next)
        if (self->links[call->link].key_refused)
            return call;
    return NULL;
}

static bool
s_any_connected (const secpol_client_t *self)
{
    for (size_t i = 0; i < self->n_links; i++)
        if (self->links[i].connected)
            return true;
    return false;
}

//  Sends the three frames on one link; ZMQ_DONTWAIT when several links
//  (a link with no connection refuses at once, ZMQ_IMMEDIATE). Returns 0 or
//  -1 with errno set.
static int
s_send_frames (s_link_t *link, int flags, const uint8_t *header_buf, size_t header_size,
               const uint8_t *body_buf, size_t body_size)
{
    //  zmq_send of the first frame is atomic with the rest for a DEALER:
    //  once the first part is queued, the others are too.
    if (zmq_send (link->handle, "", 0, ZMQ_SNDMORE | flags) != 0)
        return -1;
    if (zmq_send (link->handle, header_buf, header_size, ZMQ_SNDMORE) < 0 ||
        zmq_send (link->handle, body_buf, body_size, 0) < 0)
        return -1;
    return 0;
}

//  Sends on the next link in turn that is not in tried, has not refused
//  our CURVE key and, with several links, is connected (one link queues
//  while libzmq connects); with none ready, waits (until deadline) for one.
//  Returns the link used, or S_NO_LINK with errno set: EHOSTUNREACH (every
//  link tried), EACCES (every untried link refused our key), EAGAIN (the
//  deadline passed), or the socket's error.
static size_t
s_send_spread (secpol_client_t *self, unsigned tried, int64_t deadline, const uint8_t *header_buf,
               size_t header_size, const uint8_t *body_buf, size_t body_size)
{
    bool single = self->n_links == 1;
    while (true) {
        s_monitor_drain (self);
        bool untried = false, usable = false;
        for (size_t k = 0; k < self->n_links; k++) {
            size_t i = (self->next_link + k) % self->n_links;
            if (tried & (1u << i))
                continue;
            untried = true;
            if (self->links[i].key_refused)
                continue; //  libzmq gave that endpoint up
            usable = true;
            if (!single && !self->links[i].connected)
                continue;
            if (s_send_frames (&self->links[i], ZMQ_DONTWAIT, header_buf, header_size, body_buf,
                               body_size) == 0) {
                self->next_link = (i + 1) % self->n_links;
                return i;
            }
            if (errno != EAGAIN)
                return S_NO_LINK;
        }
        if (!untried) {
            errno = EHOSTUNREACH;
            return S_NO_LINK;
        }
        if (!usable) {
            errno = EACCES;
            return S_NO_LINK;
        }
        //  Nothing connected (yet), or the send queue is full: wait for a
        //  monitor event, or (one link) for room in the queue.
        int64_t now = zclock_mono ();
        if (deadline != S_NEVER && now >= deadline) {
            errno = EAGAIN;
            return S_NO_LINK;
        }
        zmq_pollitem_t items[S_MAX_LINKS + 1];
        for (size_t i = 0; i < self->n_links; i++)
            items[i] = (zmq_pollitem_t){zsock_resolve (self->links[i].monitor), 0, ZMQ_POLLIN, 0};
        int n_items = (int)self->n_links;
        long wait = deadline == S_NEVER ? -1 : (long)(deadline - now);
        if (single)
            items[n_items++] = (zmq_pollitem_t){self->links[0].handle, 0, ZMQ_POLLOUT, 0};
        else if (wait < 0 || (wait > 100 && s_any_connected (self)))
            //  A link connected but refusing (queue full) wakes no monitor:
            //  look again soon.
            wait = 100;
        if (zmq_poll (items, n_items, wait) < 0 && (errno != EINTR || zsys_interrupted))
            return S_NO_LINK; //  interrupted (czmq's handler), or the sockets failed
    }
}

static int
s_send (secpol_client_t *self, s_call_t **call_p, const char *path,
        const ProtobufCMessageDescriptor *output, const ProtobufCMessage *request, unsigned tried)
{
    *call_p = NULL;
    uint64_t call_id = self->next_call_id++;
    if (call_id % S_MONITOR_DRAIN_EVERY == 0)
        s_monitor_drain (self); //  keeps the event queue short on a flapping link
    size_t body_size = request ? protobuf_c_message_get_packed_size (request) : 0;
    if (body_size > SECPOL_CLIENT_MAX_MESSAGE)
        return s_status_local (self, SECPOL_RESOURCE_EXHAUSTED, call_id,
                               "request of %zu bytes is over the %u byte limit", body_size,
                               SECPOL_CLIENT_MAX_MESSAGE);

    Secpol__V1__RequestHeader header = SECPOL__V1__REQUEST_HEADER__INIT;
    header.method = (char *)path;
    header.call_id = call_id;
    header.deadline_ms = (uint32_t)self->timeout_ms;
    if (self->request_id)
        header.request_id = self->request_id;
    size_t header_size = secpol__v1__request_header__get_packed_size (&header);
    if (header_size > SECPOL_CLIENT_MAX_HEADER)
        return s_status_local (self, SECPOL_INVALID_ARGUMENT, call_id,
                               "request header of %zu bytes is over the %u byte limit "
                               "(method path or request_id too long)",
                               header_size, SECPOL_CLIENT_MAX_HEADER);

    s_call_t *call = (s_call_t *)calloc (1, sizeof *call);
    uint8_t *header_buf = (uint8_t *)malloc (header_size + 1);
    uint8_t *body_buf = (uint8_t *)malloc (body_size + 1);
    int code = SECPOL_OK;
    if (call) {
        call->call_id = call_id;
        call->output = output;
        call->timeout_ms = self->timeout_ms;
        call->expires_at = self->timeout_ms > 0 ? zclock_mono () + self->timeout_ms : S_NEVER;
    }
    if (!call || !header_buf || !body_buf || s_table_add (self, call) != 0) {
        free (call);
        call = NULL;
        code = s_status_local (self, SECPOL_INTERNAL, call_id, "out of memory");
        goto out;
    }
    secpol__v1__request_header__pack (&header, header_buf);
    if (request)
        protobuf_c_message_pack (request, body_buf);

    size_t link =
        s_send_spread (self, tried, call->expires_at, header_buf, header_size, body_buf, body_size);
    if (link == S_NO_LINK) {
        int error = errno;
        s_table_remove (self, call);
        free (call);
        call = NULL;
        unsigned refused = 0;
        for (size_t i = 0; i < self->n_links; i++)
            refused += self->links[i].key_refused;
        if (error == EINTR && zsys_interrupted)
            code = s_status_local (self, SECPOL_CANCELLED, call_id, "interrupted");
        else if (error == EACCES)
            code = s_refused_status (self, call_id, self->n_links == 1 ? 0 : S_NO_LINK);
        else if (error == EAGAIN && self->n_links > 1 && refused)
            code = s_status_local (self, SECPOL_UNAVAILABLE, call_id,
                                   "cannot send to %s: no instance connected in time (%u refused "
                                   "this client's CURVE key)",
                                   self->endpoint, refused);
        else
            code = s_status_local (
                self, SECPOL_UNAVAILABLE, call_id, "cannot send to %s: %s", self->endpoint,
                error == EHOSTUNREACH ? "no other instance left to try"
                : error == EAGAIN
                    ? (self->n_links > 1 ? "no instance connected in time" : "send queue full")
                    : zmq_strerror (error));
        goto out;
    }
    call->link = link;
    s_waiting_link (self, call);
    *call_p = call;

out:
    free (header_buf);
    free (body_buf);
    return code;
}

//  Waits until the zclock_mono () time until (S_NEVER = forever; a time
//  already passed = just look) for one message. Returns S_READ_MESSAGE with
//  *msg_p set, or S_READ_TIMEOUT, S_READ_INTERRUPTED (SIGINT/SIGTERM caught
//  by czmq) or S_READ_FAILED (the socket failed) with *msg_p NULL. watch
//  names a link whose news ends the wait too: S_READ_KEY_REFUSED when it
//  refused our CURVE key, and, with several links, S_READ_LINK_DOWN when
//  its connection went down; S_ANY_LINK: S_READ_KEY_REFUSED when one more
//  link refused our key; S_NO_LINK: no news does.
static s_read_t
s_read (secpol_client_t *self, zmsg_t **msg_p, int64_t until, size_t watch)
{
    *msg_p = NULL;
    size_t n = self->n_links;
    unsigned refusals = self->refusals;
    while (true) {
        if (watch < n && self->links[watch].key_refused)
            return S_READ_KEY_REFUSED; //  nothing can come from it
        if (watch == S_ANY_LINK && self->refusals != refusals)
            return S_READ_KEY_REFUSED;
        int64_t now = zclock_mono ();
        long wait = until == S_NEVER ? -1 : (until > now ? (long)(until - now) : 0);
        //  The dealers first, then (when news matters) the monitors.
        zmq_pollitem_t items[2 * S_MAX_LINKS];
        for (size_t i = 0; i < n; i++) {
            items[i] = (zmq_pollitem_t){self->links[i].handle, 0, ZMQ_POLLIN, 0};
            items[n + i] =
                (zmq_pollitem_t){zsock_resolve (self->links[i].monitor), 0, ZMQ_POLLIN, 0};
        }
        int rc = zmq_poll (items, (int)(watch == S_NO_LINK ? n : 2 * n), wait);
        if (rc < 0 && errno == EINTR) {
            if (zsys_interrupted)
                return S_READ_INTERRUPTED;
            continue;
        }
        if (rc < 0)
            return S_READ_FAILED;
        if (rc == 0) {
            if (until != S_NEVER && zclock_mono () >= until)
                return S_READ_TIMEOUT;
            continue;
        }
        //  A reply already queued wins over the news that its link went down.
        size_t ready = S_NO_LINK;
        for (size_t i = 0; i < n && ready == S_NO_LINK; i++)
            if (items[i].revents & ZMQ_POLLIN)
                ready = i;
        if (ready == S_NO_LINK) {
            s_monitor_drain (self);
            if (watch < n && n > 1 && !self->links[watch].connected)
                return S_READ_LINK_DOWN;
            continue; //  a refusal is seen at the top
        }
        *msg_p = zmsg_recv (self->links[ready].dealer);
        if (*msg_p)
            return S_READ_MESSAGE;
        if (zsys_interrupted)
            return S_READ_INTERRUPTED;
        if (errno != EINTR && errno != EAGAIN)
            return S_READ_FAILED;
    }
}

//  Decodes the header of a reply [empty][header][body]. Returns NULL when
//  the reply does not start with an empty delimiter and a decodable header.
static Secpol__V1__ResponseHeader *
s_reply_header (zmsg_t *msg)
{
    if (!msg || zmsg_size (msg) < 2)
        return NULL;
    zframe_t *delimiter = zmsg_first (msg);
    if (zframe_size (delimiter) != 0)
        return NULL;
    zframe_t *header = zmsg_next (msg);
    return secpol__v1__response_header__unpack (NULL, zframe_size (header), zframe_data (header));
}

//  Completes call with its reply: takes msg and header (either may be
//  NULL), sets the status, decodes the response into *response_p (or frees
//  it when response_p is NULL), frees the call. Returns the code.
static int
s_finish (secpol_client_t *self, s_call_t *call, zmsg_t **msg_p, Secpol__V1__ResponseHeader *header,
          ProtobufCMessage **response_p)
{
    uint64_t call_id = call->call_id;
    const ProtobufCMessageDescriptor *output = call->output;
    s_call_free (self, call);
    int code;
    size_t frames = *msg_p ? zmsg_size (*msg_p) : 0;
    if (!header)
        code = s_status_local (self, SECPOL_INTERNAL, call_id, "undecodable reply header");
    else if (frames != 3) {
        secpol__v1__response_header__free_unpacked (header, NULL);
        code = s_status_local (self, SECPOL_INTERNAL, call_id,
                               "malformed reply: %zu frames, expected 3", frames);
    } else {
        code = s_status_remote (self, header);
        zframe_t *body = zmsg_last (*msg_p);
        if (code == SECPOL_OK && output) {
            ProtobufCMessage *response =
                protobuf_c_message_unpack (output, NULL, zframe_size (body), zframe_data (body));
            if (!response)
                code = s_status_local (self, SECPOL_INTERNAL, call_id,
                                       "undecodable %s in reply (%zu bytes)", output->name,
                                       zframe_size (body));
            else if (response_p)
                *response_p = response;
            else
                protobuf_c_message_free_unpacked (response, NULL);
        }
    }
    zmsg_destroy (msg_p);
    return code;
}

//  --------------------------------------------------------------------------
//  Internals: connection monitor

//  libzmq takes "tcp://host:99999", "tcp://:7420" and "tcp://h:7420junk" and
//  then retries them for ever; refuse them here. Other transports are left
//  to zmq_connect.
static bool
s_endpoint_valid (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return true;
    const char *host = strrchr (endpoint + 6, ';'); //  "tcp://source;host:port"
    host = host ? host + 1 : endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host || !colon[1] || strlen (colon + 1) > 5)
        return false;
    long port = 0;
    for (const char *digit = colon + 1; *digit; digit++) {
        if (*digit < '0' || *digit > '9')
            return false;
        port = port * 10 + (*digit - '0');
    }
    return port >= 1 && port <= 65535;
}

//  Starts a libzmq socket monitor on the dealer, before it connects, so that
//  no event is lost: libzmq drops events while no PAIR is connected to it.
static int
s_monitor_start (s_link_t *self)
{
    //  Unique per monitor: a destroyed client's inproc name stays taken
    //  until libzmq reaps its socket, and the next client may get its address.
    static atomic_uint_fast64_t monitors = 0;
    char address[64];
    snprintf (address, sizeof address, "inproc://secpol-client-monitor-%" PRIuFAST64,
              atomic_fetch_add (&monitors, 1));
    if (zmq_socket_monitor (self->handle, address, S_MONITOR_EVENTS) != 0)
        return -1;
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor)
        return -1;
    zsock_set_linger (self->monitor, 0);
    //  No high-water mark: libzmq's I/O thread blocks on a full monitor
    //  queue (and every socket of the process with it); an idle client
    //  through many server restarts holds a few bytes per event instead.
    zsock_set_rcvhwm (self->monitor, 0);
    return zsock_connect (self->monitor, "%s", address) == 0 ? 0 : -1;
}

//  Reads every event queued on the monitor, without waiting.
static void
s_monitor_drain (secpol_client_t *self)
{
    for (size_t i = 0; i < self->n_links; i++)
        while (self->links[i].monitor && s_monitor_event (self, &self->links[i]))
            ;
}

//  Reads one event if one is queued and updates link->connected and
//  link->key_refused (counting a new refusal in client->refusals). Returns
//  false when none was.
static bool
s_monitor_event (secpol_client_t *client, s_link_t *self)
{
    void *handle = zsock_resolve (self->monitor);
    //  Two frames: [uint16 event, uint32 value][endpoint].
    uint8_t head[6];
    int size = zmq_recv (handle, head, sizeof head, ZMQ_DONTWAIT);
    if (size < 0)
        return false;
    int more = 0;
    size_t more_size = sizeof more;
    char endpoint[256];
    while (zmq_getsockopt (handle, ZMQ_RCVMORE, &more, &more_size) == 0 && more)
        if (zmq_recv (handle, endpoint, sizeof endpoint, 0) < 0)
            break;
    if (size < 2)
        return true;
    uint16_t event;
    memcpy (&event, head, sizeof event);
    if (event == ZMQ_EVENT_CONNECTED || event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        self->connected = true;
    else
        self->connected = false;
    //  The server's ZAP handler refused our key (secpold: not in its
    //  authorized keys). libzmq 4.3 ends the session then and never
    //  connects to that endpoint again, and drops what was queued for it:
    //  the calls sent there can get no reply. A later successful handshake
    //  (a libzmq that does try again) clears it.
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        self->key_refused = false;
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && !self->key_refused) {
        self->key_refused = true;
        client->refusals++;
    }
    return true;
}

//  Makes the DEALER a CURVE client when the options or the environment
//  name a server key and a client certificate (secpol_client.h). Returns
//  0, or -1 when only one is given or either cannot be read.
static int
s_curve_setup (s_link_t *self, const secpol_client_options_t *options)
{
    const char *server_key = options->server_key, *client_cert = options->client_cert;
    if (!server_key)
        server_key = getenv ("SECPOL_SERVER_KEY");
    if (!client_cert)
        client_cert = getenv ("SECPOL_CLIENT_CERT");
    bool have_server = server_key && *server_key, have_client = client_cert && *client_cert;
    if (!have_server && !have_client)
        return 0;
    if (!have_server || !have_client)
        return -1;
    uint8_t server_public[32];
    bool decoded = strlen (server_key) == 40 && zmq_z85_decode (server_public, server_key);
    if (!decoded) {
        zcert_t *server = zcert_load (server_key);
        if (!server)
            return -1;
        memcpy (server_public, zcert_public_key (server), 32);
        zcert_destroy (&server);
    }
    zcert_t *cert = zcert_load (client_cert);
    static const uint8_t no_key[32] = {0};
    if (!cert || memcmp (zcert_secret_key (cert), no_key, 32) == 0) {
        zcert_destroy (&cert);
        return -1;
    }
    zcert_apply (cert, self->dealer);
    zcert_destroy (&cert);
    zsock_set_curve_serverkey_bin (self->dealer, server_public);
    return 0;
}

//  --------------------------------------------------------------------------
//  Internals: status

static void
s_status_clear (secpol_client_t *self)
{
    secpol__v1__response_header__free_unpacked (self->header, NULL);
    self->header = NULL;
    free (self->fields);
    free (self->descriptions);
    self->fields = NULL;
    self->descriptions = NULL;
    self->status_remote = false;
    self->local_message[0] = '\0';
    memset (&self->status, 0, sizeof self->status);
    self->status.message = "";
}

static int
s_status_local (secpol_client_t *self, int code, uint64_t call_id, const char *fmt, ...)
{
    s_status_clear (self);
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->local_message, sizeof self->local_message, fmt, args);
    va_end (args);
    self->status.code = code;
    self->status.call_id = call_id;
    self->status.message = self->local_message;
    return code;
}

//  Takes ownership of header; returns its code, mapped into 0..16.
static int
s_status_remote (secpol_client_t *self, Secpol__V1__ResponseHeader *header)
{
    s_status_clear (self);
    self->header = header;
    self->status_remote = true;
    self->status.call_id = header->call_id;
    self->status.message = header->message ? header->message : "";
    self->status.code = header->code;
    if (header->code < SECPOL_OK || header->code > SECPOL_UNAUTHENTICATED) {
        //  Not a canonical code: keep the number visible in the message.
        snprintf (self->local_message, sizeof self->local_message, "status code %d: %s",
                  (int)header->code, self->status.message);
        self->status.message = self->local_message;
        self->status.code = SECPOL_UNKNOWN;
    }
    size_t n = header->n_violations;
    if (n > 0) {
        self->fields = (const char **)calloc (n, sizeof (char *));
        self->descriptions = (const char **)calloc (n, sizeof (char *));
        if (self->fields && self->descriptions) {
            for (size_t i = 0; i < n; i++) {
                Secpol__V1__FieldViolation *violation = header->violations[i];
                self->fields[i] = violation && violation->field ? violation->field : "";
                self->descriptions[i] =
                    violation && violation->description ? violation->description : "";
            }
            self->status.n_violations = n;
            self->status.violation_fields = self->fields;
            self->status.violation_descriptions = self->descriptions;
        }
    }
    return self->status.code;
}

//  --------------------------------------------------------------------------
//  Internals: calls in flight (hash by call_id + expiry list)

static size_t
s_bucket (const secpol_client_t *self, uint64_t call_id)
{
    //  Fibonacci hashing spreads sequential ids over the buckets.
    return (size_t)((call_id * 11400714819323198485ull) >> 32) & (self->n_buckets - 1);
}

static int
s_table_add (secpol_client_t *self, s_call_t *call)
{
    if (self->n_calls >= self->n_buckets) {
        size_t old_n = self->n_buckets;
        s_call_t **old = self->buckets;
        s_call_t **grown = (s_call_t **)calloc (old_n * 2, sizeof *grown);
        if (!grown)
            return -1;
        self->buckets = grown;
        self->n_buckets = old_n * 2;
        for (size_t i = 0; i < old_n; i++) {
            s_call_t *entry = old[i];
            while (entry) {
                s_call_t *next = entry->hash_next;
                size_t b = s_bucket (self, entry->call_id);
                entry->hash_next = self->buckets[b];
                self->buckets[b] = entry;
                entry = next;
            }
        }
        free (old);
    }
    size_t b = s_bucket (self, call->call_id);
    call->hash_next = self->buckets[b];
    self->buckets[b] = call;
    self->n_calls++;
    return 0;
}

static s_call_t *
s_table_find (const secpol_client_t *self, uint64_t call_id)
{
    for (s_call_t *call = self->buckets[s_bucket (self, call_id)]; call; call = call->hash_next)
        if (call->call_id == call_id)
            return call;
    return NULL;
}

static void
s_table_remove (secpol_client_t *self, s_call_t *call)
{
    s_call_t **link = &self->buckets[s_bucket (self, call->call_id)];
    while (*link && *link != call)
        link = &(*link)->hash_next;
    if (*link) {
        *link = call->hash_next;
        self->n_calls--;
    }
}

static void
s_waiting_link (secpol_client_t *self, s_call_t *call)
{
    //  Expiries mostly grow with time: walk from the back.
    s_call_t *after = self->last;
    while (after && after->expires_at > call->expires_at)
        after = after->prev;
    call->prev = after;
    call->next = after ? after->next : self->first;
    if (call->next)
        call->next->prev = call;
    else
        self->last = call;
    if (after)
        after->next = call;
    else
        self->first = call;
    call->waiting = true;
}

static void
s_waiting_unlink (secpol_client_t *self, s_call_t *call)
{
    if (!call->waiting)
        return;
    if (call->prev)
        call->prev->next = call->next;
    else
        self->first = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        self->last = call->prev;
    call->prev = call->next = NULL;
    call->waiting = false;
}

static void
s_call_free (secpol_client_t *self, s_call_t *call)
{
    s_waiting_unlink (self, call);
    s_table_remove (self, call);
    zmsg_destroy (&call->reply);
    free (call);
}
