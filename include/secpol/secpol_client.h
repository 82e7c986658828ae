/*  secpol_client.h - C client library of the secpol wire protocol v1.
 *
 *  One secpol_client_t owns one ZeroMQ DEALER socket connected to a secpold
 *  endpoint. Over it the client offers three ways to call a method:
 *
 *  1. secpol_client_call(): one synchronous call by wire path, with any
 *     generated request message; returns the status code.
 *  2. Typed synchronous stubs: protoc-c generates, for every RPC, a function
 *     such as secpol__v1__health__check (service, &request, closure, data).
 *     secpol_client_service() returns the ProtobufCService those stubs need;
 *     its transport does one synchronous call and then calls the closure.
 *     No code is written by hand per method: every service in the .proto
 *     files works as soon as it is generated.
 *  3. The pipelined asynchronous API: secpol_client_send() puts many calls in
 *     flight on the one socket, secpol_client_recv() returns their replies
 *     as they arrive, matched by call_id (for load generators).
 *
 *  Status. Every call yields a code of secpol_status.h (0 = OK, else the
 *  gRPC canonical code the server sent or a local one, see below), and
 *  secpol_client_status() gives its message and field violations.
 *  Local failures map to codes too:
 *    SECPOL_UNAVAILABLE       no reply within the timeout (server down,
 *                             unreachable, or too slow), or the socket failed;
 *    SECPOL_UNAUTHENTICATED   the server refused this client's CURVE key
 *                             at the handshake (a key not, or no longer,
 *                             in its allow-list): the client sees it on
 *                             its socket monitor and fails the call at
 *                             once, whatever its timeout. libzmq does not
 *                             connect to that endpoint again, so every
 *                             later call fails so too, at once; make a new
 *                             client once the key is authorized. With
 *                             several endpoints, only when every one has
 *                             refused (see secpol_client_open_list). From
 *                             the server itself: a key removed from the
 *                             allow-list since the connection was made;
 *    SECPOL_INVALID_ARGUMENT  unknown method path, a request whose type is
 *                             not the method's input type, NULL arguments, or
 *                             a header over SECPOL_CLIENT_MAX_HEADER bytes;
 *    SECPOL_RESOURCE_EXHAUSTED a request larger than SECPOL_CLIENT_MAX_MESSAGE;
 *    SECPOL_INTERNAL          a reply that cannot be decoded;
 *    SECPOL_CANCELLED         the wait was interrupted by SIGINT/SIGTERM
 *                             while the program uses czmq's own signal
 *                             handling (zsys_interrupted set).
 *
 *  Memory. Requests stay owned by the caller. A response returned through
 *  response_p is owned by the caller, who frees it with
 *  protobuf_c_message_free_unpacked (response, NULL). Strings inside
 *  secpol_client_status_t are owned by the client.
 *
 *  Threads. A client belongs to one thread at a time: no function of one
 *  client may run in two threads at once (the socket is not thread safe).
 *  Use one client per thread; distinct clients are independent.
 *
 *  Signals. The library leaves the program's signal handling as it found
 *  it: czmq installs SIGINT/SIGTERM handlers when it makes its first socket,
 *  and secpol_client_new() puts back the handlers the program had, so a
 *  service linking this library still stops on SIGTERM. A wait interrupted
 *  by a signal the program handles goes on waiting; only a program that
 *  itself relies on czmq's handlers sees SECPOL_CANCELLED.
 *
 *  Logging. The library never logs and never writes to stdout or stderr.
 *
 *  Version. secpol/secpol_client_version.h (included here, generated from the
 *  project version) defines SECPOL_CLIENT_VERSION_MAJOR, _MINOR, _PATCH, the
 *  string SECPOL_CLIENT_VERSION and SECPOL_CLIENT_VERSION_NUMBER (major *
 *  10000 + minor * 100 + patch) for the headers a program was compiled
 *  with; secpol_client_version() returns the version of the library it runs
 *  with. Within one major version the library only grows: a program built
 *  against an older minor version runs with a newer library.
 *
 *  Building. pkg-config: cc prog.c $(pkg-config --cflags --libs
 *  secpol-client). CMake: find_package(SecpolClient) and link the target
 *  SecpolClient::secpol-client. Installed outside the dynamic loader's
 *  path (anything but /usr, and /usr/local before `ldconfig` ran), a
 *  program needs an RPATH to find the library at run time: CMake sets one
 *  in the build tree by itself; with pkg-config add
 *  -Wl,-rpath,$(pkg-config --variable=libdir secpol-client), or, for a
 *  program installed in <prefix>/bin, -Wl,-rpath,'$ORIGIN/../lib'.
 */
#ifndef SECPOL_CLIENT_H_INCLUDED
#define SECPOL_CLIENT_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secpol/secpol_client_version.h"
#include "secpol/secpol_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The endpoint secpold binds when started without --endpoint. */
#define SECPOL_CLIENT_DEFAULT_ENDPOINT "tcp://127.0.0.1:7420"

/*  The largest request body the client sends. secpold drops a peer that sends
 *  a bigger frame (ZMQ_MAXMSGSIZE), so such requests fail locally with
 *  SECPOL_RESOURCE_EXHAUSTED instead. Most methods accept much less (64 KiB
 *  by default) and answer RESOURCE_EXHAUSTED themselves. */
#define SECPOL_CLIENT_MAX_MESSAGE (4u * 1024 * 1024)

/*  The largest RequestHeader secpold decodes; a longer method path or
 *  request_id fails locally with SECPOL_INVALID_ARGUMENT. */
#define SECPOL_CLIENT_MAX_HEADER 4096u

#if defined(__GNUC__)
#define SECPOL_CLIENT_CHECK __attribute__ ((warn_unused_result))
#else
#define SECPOL_CLIENT_CHECK
#endif

typedef struct secpol_client secpol_client_t;

/*  The outcome of the last call, send or recv of a client. */
typedef struct {
    int code;                                  /* secpol_status_t; 0 = OK */
    const char *message;                       /* "" when none; never NULL */
    uint64_t call_id;                          /* call it is about; 0 = none */
    size_t n_violations;                       /* entries in the two arrays */
    const char *const *violation_fields;       /* "policy.hsts.max_age_days" */
    const char *const *violation_descriptions; /* what is wrong with each */
} secpol_client_status_t;

/*  How secpol_client_open() makes a client. Start from
 *  SECPOL_CLIENT_OPTIONS_INIT and set the fields you need: fields added in
 *  later versions take the place of reserved, and 0 keeps their old
 *  behaviour.
 *
 *  CURVE (docs/SECURITY.md). A secpold started with --curve-secret-key
 *  accepts only clients that encrypt with CURVE and hold a key of its
 *  allow-list. Set both of:
 *    server_key   the server's public key: the path of its public
 *                 certificate (what `secpolctl keygen` wrote as NAME), or
 *                 the key itself as 40 Z85 characters;
 *    client_cert  the path of this client's certificate with its secret
 *                 key (`secpolctl keygen` wrote NAME_secret; NAME works
 *                 too: czmq then reads NAME_secret).
 *  When a field is NULL the environment gives it: SECPOL_SERVER_KEY and
 *  SECPOL_CLIENT_CERT, so that any program using this library turns CURVE
 *  on without a change. Neither set (nor in the environment), or both ""
 *  (which ignores the environment): plain text. */
typedef struct {
    int timeout_ms;          /* per-call timeout (secpol_client_set_timeout); <= 0 = forever */
    bool check_server;       /* open confirms a server answers before returning */
    const char *server_key;  /* CURVE: server public certificate path or Z85 key; NULL = env */
    const char *client_cert; /* CURVE: this client's secret certificate path; NULL = env */
    int reserved[2];         /* must be zero */
} secpol_client_options_t;

/*  The default options: a 10 s per-call timeout, a lazy open (no round
 *  trip before the first call), CURVE as the environment says. */
#define SECPOL_CLIENT_OPTIONS_INIT                                                                 \
    {                                                                                              \
        10000, false, NULL, NULL,                                                                  \
        {                                                                                          \
            0, 0                                                                                   \
        }                                                                                          \
    }

/*  Creates a client: makes a DEALER socket and connects it to endpoint (a
 *  ZeroMQ endpoint such as "tcp://127.0.0.1:7420" or
 *  "ipc:///run/secpol.sock"; NULL means SECPOL_CLIENT_DEFAULT_ENDPOINT).
 *  options may be NULL (SECPOL_CLIENT_OPTIONS_INIT).
 *
 *  Lazy by default, as a gRPC channel: ZeroMQ connects (and reconnects) in
 *  the background, so open returns at once whether or not a server
 *  listens, and the first call that gets no reply within its timeout
 *  reports SECPOL_UNAVAILABLE. secpol_client_wait_connected() tells sooner
 *  whether anything accepts the connection. With options->check_server,
 *  open also confirms a server answers, with one Health/Check round trip
 *  within options->timeout_ms (a server that answers NOT_SERVING, or any
 *  status, still counts as answering); that is what secpol_client_new()
 *  does.
 *
 *  Returns the client and sets *error (when error is not NULL) to
 *  SECPOL_OK, or returns NULL and sets *error to why:
 *    SECPOL_INVALID_ARGUMENT   the endpoint is malformed (unknown transport,
 *                              no port, a port out of range, ...), or only
 *                              one of server_key and client_cert is given,
 *                              or either cannot be read as a key (a
 *                              missing file, a client certificate without
 *                              its secret key);
 *    SECPOL_UNAUTHENTICATED    check_server, and the server refused this
 *                              client's key at the CURVE handshake;
 *    SECPOL_UNAVAILABLE        check_server, and no answer came in time;
 *    SECPOL_CANCELLED          check_server, and the wait was interrupted
 *                              (see "Status" above);
 *    SECPOL_RESOURCE_EXHAUSTED out of memory or file descriptors (the
 *                              socket cannot be made).
 *  Caller owns return value and destroys it with secpol_client_destroy(). */
secpol_client_t *secpol_client_open (const char *endpoint, const secpol_client_options_t *options,
                                     int *error) SECPOL_CLIENT_CHECK;

/*  Several instances (docs/SCALING.md). endpoint may list several
 *  endpoints separated by commas ("ipc:///run/a.sock,ipc:///run/b.sock",
 *  at most 16; no empty entry): the client then connects one DEALER to each
 *  (with ZMQ_IMMEDIATE, so nothing is queued for an instance whose
 *  connection is down) and spreads calls over the connected ones in turn.
 *  A synchronous call whose connection goes down before its reply (the
 *  instance stopped or died) is sent again to another instance, within the
 *  same deadline, only when secpol_client_idempotent() says the method may
 *  be; any other call then fails at once with SECPOL_UNAVAILABLE and is not
 *  re-sent (it may or may not have taken effect). An instance that hangs
 *  without closing its connection costs the call its timeout, as with one
 *  endpoint. Asynchronous calls (secpol_client_send) are spread the same
 *  way and never re-sent. CURVE options apply to every endpoint (they
 *  share one server key); a call goes only to an instance whose handshake
 *  passed, and an instance that refused this client's key is skipped from
 *  then on, so it fails no call another can serve. Only when every
 *  endpoint has refused the key does a call fail, at once, with
 *  SECPOL_UNAUTHENTICATED ("every instance (...) refused ..."). A call
 *  that finds some refusing and none of the others connected within its
 *  timeout is SECPOL_UNAVAILABLE, its message counting the refusals.
 *  secpol_client_open_list() takes the endpoints as an array instead;
 *  open() with one endpoint behaves exactly as before. */
secpol_client_t *secpol_client_open_list (const char *const *endpoints, size_t n_endpoints,
                                          const secpol_client_options_t *options,
                                          int *error) SECPOL_CLIENT_CHECK;

/*  True when method_path ("/secpol.v1.PolicyService/GetPolicy") changes no
 *  stored state, so a multi-endpoint client may send it again to another
 *  instance: Health/Check, AdminService/GetStats, AuditService/
 *  ListAuditEvents, PolicyService/GetPolicy, ListPolicyRevisions,
 *  ListPolicies, RenderSecurityHeaders, CheckFileUpload, LockoutService/
 *  CheckLockout, TokenService/VerifyToken, SessionService/ListSessions,
 *  PasswordService/GetAccountStatus, OtpService/GetTotpStatus. Not
 *  SessionService/ValidateSession (may touch the session), PasswordService/
 *  CheckPassword, any OTP Verify*, nor any write. Thread safe. */
bool secpol_client_idempotent (const char *method_path);

/*  As secpol_client_open() with check_server set and timeout_ms as the
 *  per-call timeout (0 or less means wait forever): returns a client only
 *  when a server answered within timeout_ms, else NULL, without saying
 *  why. Kept for existing callers; new code uses secpol_client_open(). */
secpol_client_t *secpol_client_new (const char *endpoint, int timeout_ms) SECPOL_CLIENT_CHECK;

/*  Waits up to timeout_ms for the transport connection to the server to be
 *  up (a ZeroMQ socket monitor on the client's socket: ZMQ_EVENT_CONNECTED,
 *  or the handshake succeeded). Returns 0 when connected, SECPOL_UNAVAILABLE
 *  when it is not within timeout_ms (nothing listening, connection refused).
 *  Sends nothing; the client stays usable either way.
 *
 *  timeout_ms 0 only looks at the state now; less than 0 waits forever.
 *  The monitor is set up when the client connects and lives as long as the
 *  client, so a connection made before this call counts, and one lost since
 *  (the server stopped) does not until it is made again. Connected means a
 *  peer accepted the connection, not that it is a secpold: a call proves
 *  that. Returns SECPOL_UNAUTHENTICATED at once when every endpoint refused
 *  this client's CURVE key (none will connect). Sets secpol_client_status()
 *  (its message names the endpoint on SECPOL_UNAVAILABLE); SECPOL_CANCELLED
 *  as for calls, SECPOL_INVALID_ARGUMENT for a NULL self. */
int secpol_client_wait_connected (secpol_client_t *self, int timeout_ms);

/*  Destroys a client: closes the socket without waiting (linger 0), drops
 *  every call still in flight and every stashed reply, frees the services
 *  returned by secpol_client_service(). NULL-safe (self_p or *self_p may be
 *  NULL); sets *self_p to NULL. */
void secpol_client_destroy (secpol_client_t **self_p);

/*  Sets how long later calls wait for their reply, in milliseconds; 0 or
 *  less means wait forever. The same value is sent to the server as the
 *  call's deadline_ms (0 = none), so a server that cannot start the call in
 *  time answers DEADLINE_EXCEEDED. Calls already in flight keep the timeout
 *  they were sent with. */
void secpol_client_set_timeout (secpol_client_t *self, int timeout_ms);

/*  Returns the current per-call timeout in milliseconds (0 = forever). */
int secpol_client_timeout (const secpol_client_t *self);

/*  Sets the request_id sent in every later request header, for the server's
 *  logs and tracing (not a secret: never put tokens or passwords in it).
 *  NULL or "" sends none. The client copies the string. */
void secpol_client_set_request_id (secpol_client_t *self, const char *request_id);

/*  Calls method_path ("/secpol.v1.Health/Check") with request and waits for
 *  its reply up to the client's timeout. request must be a message of the
 *  method's input type (NULL sends an empty request, all fields default).
 *  Returns the status code. On SECPOL_OK *response_p receives the decoded
 *  response, of the method's output type; the caller owns it and frees it
 *  with protobuf_c_message_free_unpacked (response, NULL). On any other code
 *  *response_p is set to NULL and secpol_client_status() tells why.
 *  The method must be in the registry (secpol_registry.h); a path unknown to
 *  it fails locally with SECPOL_INVALID_ARGUMENT. Replies of asynchronous
 *  calls that arrive meanwhile are kept for secpol_client_recv(). */
int secpol_client_call (secpol_client_t *self, const char *method_path,
                        const ProtobufCMessage *request,
                        ProtobufCMessage **response_p) SECPOL_CLIENT_CHECK;

/*  As secpol_client_call(), for a method this build may not know: the caller
 *  names the response type. output_descriptor may be NULL when the caller
 *  only wants the status (an OK response body is then discarded and
 *  *response_p set to NULL). request may be NULL (empty request); it is not
 *  checked against any input type. method_path is sent as given. */
int secpol_client_call_path (secpol_client_t *self, const char *method_path,
                             const ProtobufCMessageDescriptor *output_descriptor,
                             const ProtobufCMessage *request,
                             ProtobufCMessage **response_p) SECPOL_CLIENT_CHECK;

/*  Returns the code, message and field violations of the client's last
 *  call, send or recv (code 0 and message "" before the first). The
 *  structure and its strings are owned by the client and stay valid until
 *  the next call, send, recv or destroy of this client. Never NULL for a
 *  non-NULL self. */
const secpol_client_status_t *secpol_client_status (const secpol_client_t *self);

/*  Returns a ProtobufCService for the generated typed stubs of a service,
 *  for example:
 *
 *      ProtobufCService *health =
 *          secpol_client_service (client, &secpol__v1__health__descriptor);
 *      Secpol__V1__HealthCheckRequest request = SECPOL__V1__HEALTH_CHECK_REQUEST__INIT;
 *      Secpol__V1__HealthCheckResponse *response = NULL;
 *      secpol__v1__health__check (health, &request,
 *                                 (Secpol__V1__HealthCheckResponse_Closure) secpol_closure_keep,
 *                                 &response);
 *      if (!response)
 *          ... secpol_client_status (client)->code says why ...
 *      protobuf_c_message_free_unpacked (&response->base, NULL);
 *
 *  Each stub does one synchronous call (as secpol_client_call(), with the
 *  client's timeout) and then calls closure (output, closure_data) exactly
 *  once: output is the response on OK, NULL on any other status.
 *
 *  Ownership rule: the transport hands the output to the closure. The
 *  closure owns it: it keeps it (secpol_closure_keep does) or frees it with
 *  protobuf_c_message_free_unpacked ((ProtobufCMessage *) output, NULL)
 *  before returning. A NULL closure is allowed: the output is then freed.
 *
 *  The service is owned by the client (one per descriptor, made on first
 *  use, freed by secpol_client_destroy); never pass it to
 *  protobuf_c_service_destroy (its destroy does nothing). Returns NULL when
 *  self or descriptor is NULL or memory runs out. The service's methods need
 *  not be in the registry: the wire path is "/<service full name>/<method>". */
ProtobufCService *secpol_client_service (secpol_client_t *self,
                                         const ProtobufCServiceDescriptor *descriptor);

/*  A closure for the generated stubs that keeps the output: closure_data is
 *  a ProtobufCMessage ** (or a pointer to a typed response pointer) that
 *  receives the output, or NULL when the call failed. With it the caller
 *  owns the output. Pass it cast to the stub's typed closure type, e.g.
 *  (Secpol__V1__HealthCheckResponse_Closure) secpol_closure_keep. */
void secpol_closure_keep (const ProtobufCMessage *message, void *closure_data);

/*  Sends one asynchronous call of method_path (which must be in the
 *  registry) with request (NULL = empty request) and returns at once,
 *  without waiting for the reply. On success returns SECPOL_OK and sets
 *  *call_id_p (when not NULL) to the call's id, which secpol_client_recv()
 *  returns with its reply. The call's timeout is the client's timeout at
 *  send time. Fails with SECPOL_INVALID_ARGUMENT for an unknown path or a
 *  request of the wrong type, SECPOL_RESOURCE_EXHAUSTED for a request over
 *  SECPOL_CLIENT_MAX_MESSAGE, SECPOL_UNAVAILABLE when the socket's send queue
 *  stays full for the timeout, SECPOL_UNAUTHENTICATED when the server (every
 *  endpoint) refused this client's CURVE key; then nothing is in flight and
 *  *call_id_p is set to 0. Many calls may be in flight at once; the socket queues up to
 *  100000 messages each way. */
int secpol_client_send (secpol_client_t *self, const char *method_path,
                        const ProtobufCMessage *request, uint64_t *call_id_p) SECPOL_CLIENT_CHECK;

/*  Waits up to timeout_ms milliseconds (0 = do not wait, less than 0 =
 *  forever) for the next completion of any call in flight, in arrival order,
 *  and returns its code. A completion is either a reply, the end of a
 *  call's own timeout without a reply (then the code is SECPOL_UNAVAILABLE
 *  and a late reply is discarded), or the refusal of this client's CURVE key
 *  by the endpoint the call went to (SECPOL_UNAUTHENTICATED, at once: no
 *  reply can come). *call_id_p (when not NULL) receives the
 *  completed call's id; *response_p (when not NULL) receives the response on
 *  SECPOL_OK (caller owns it: protobuf_c_message_free_unpacked (r, NULL)),
 *  else NULL; when response_p is NULL an OK response is freed.
 *  When nothing completed within timeout_ms, or no call is in flight,
 *  returns SECPOL_UNAVAILABLE with *call_id_p set to 0: callers tell "no
 *  completion" from "a call failed" by the call id (ids start at 1).
 *  secpol_client_status() describes the completion. Replies whose call_id
 *  is not in flight (unknown, or already timed out) and replies whose header
 *  cannot be decoded are discarded. */
int secpol_client_recv (secpol_client_t *self, int timeout_ms, uint64_t *call_id_p,
                        ProtobufCMessage **response_p) SECPOL_CLIENT_CHECK;

/*  Returns the number of asynchronous calls sent and not yet returned by
 *  secpol_client_recv() (including replies that arrived during a
 *  synchronous call and wait in the client). */
size_t secpol_client_in_flight (const secpol_client_t *self);

/*  Returns the version of the library the program runs with,
 *  "MAJOR.MINOR.PATCH": SECPOL_CLIENT_VERSION of the library's own build,
 *  which may be newer than the headers the program was compiled with. The
 *  string is static. Thread safe. */
const char *secpol_client_version (void);

/*  Returns the endpoint the client is connected to (several separated by
 *  commas when it was opened with several). Owned by the client. */
const char *secpol_client_endpoint (const secpol_client_t *self);

#ifdef __cplusplus
}
#endif

#endif
