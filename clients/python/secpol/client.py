"""secpol.client - the secpol wire protocol v1 over pyzmq.

A Client owns one ZeroMQ DEALER socket per secpold endpoint it is given and
makes one synchronous call at a time (docs/PROTOCOL.md, sections 2 and 5):
it sends ``["", RequestHeader, body]`` with a fresh ``call_id`` and the
call's time budget as ``deadline_ms``, then waits for the reply that carries
the same ``call_id``, dropping any late reply of an earlier call.

Several instances of one deployment (docs/SCALING.md) are given as a list or
a comma-separated string, as to the C library and secpolctl::

    secpol.Client("tcp://10.0.0.1:7420,tcp://10.0.0.2:7420")

Calls then go round robin over the instances whose connection is up; a call
whose instance goes away before its reply is sent again to another one only
when its method changes no stored state (idempotent(), the C client's
table), else it raises UNAVAILABLE: it may or may not have been done.

Every service of ``proto/secpol/v1`` appears on a Client as an attribute named
after the service, with one method per RPC, made at import time from the
descriptors of the generated ``secpol.v1.*_pb2`` modules (nothing is written
by hand per RPC)::

    with secpol.Client("tcp://127.0.0.1:7420") as client:
        policy = client.PolicyService.GetPolicy(workspace_id="w1")
        client.LockoutService.RecordFailure(workspace_id="w1", subject_id="u1",
                                            kind="LOCKOUT_KIND_LOGIN")

A method takes the request message, or its fields as keyword arguments (enums
by name or number, nested messages as messages or dicts), and returns the
response message. A status other than OK is raised as SecpolError carrying the
code, the message and the field violations.

Threads: a Client belongs to one thread at a time (a ZeroMQ socket is not
thread safe); use one Client per thread.
"""

import enum
import importlib
import inspect
import itertools
import os
import pkgutil
import re
import time
from typing import NamedTuple

import zmq
import zmq.auth
import zmq.utils.monitor
import zmq.utils.z85
from google.protobuf import json_format as _json_format
from google.protobuf import message as _message

import secpol.v1
from secpol._idempotent import IDEMPOTENT
from secpol.v1 import rpc_pb2

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7420"
DEFAULT_TIMEOUT = 5.0  # seconds per call
MAX_HEADER = 4096  # bytes: the largest RequestHeader secpold decodes
MAX_MESSAGE = 4 * 1024 * 1024  # bytes: secpold drops a peer that sends more
MAX_ENDPOINTS = 16  # endpoints one client connects to, as the C client
_QUEUE_LIMIT = 100000  # ZMQ_SNDHWM and ZMQ_RCVHWM, as the C client
_LOOK_AGAIN_MS = 100  # a connected link refusing a send (handshake not done) wakes no monitor


class Status(enum.IntEnum):
    """The gRPC canonical status codes secpold answers (docs/PROTOCOL.md, 3)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class Violation(NamedTuple):
    """One bad field of a request, as the server named it."""

    field: str  # proto path, e.g. "policy.login_lockout.max_failures"
    description: str  # what is wrong, in plain words


class SecpolError(Exception):
    """A call that did not succeed.

    code is a Status (an int outside the known range stays an int); message
    is the server's text; violations lists the bad fields of an
    INVALID_ARGUMENT. local is True when the client produced the error
    itself without a reply: UNAVAILABLE (no reply within the timeout),
    RESOURCE_EXHAUSTED (a request over MAX_MESSAGE), INVALID_ARGUMENT (a
    header over MAX_HEADER), INTERNAL (a reply that does not decode).
    """

    def __init__(self, code, message, violations=(), *, method="", call_id=0, local=False):
        try:
            code = Status(code)
        except ValueError:
            pass
        self.code = code
        self.message = message
        self.violations = [Violation(*v) for v in violations]
        self.method = method
        self.call_id = call_id
        self.local = local
        super().__init__(str(self))

    @property
    def code_name(self):
        return self.code.name if isinstance(self.code, Status) else "UNKNOWN"

    def __str__(self):
        text = "%s: %s" % (self.code_name, self.message)
        if self.violations:
            text += " (" + "; ".join("%s: %s" % v for v in self.violations) + ")"
        return text


# --- the services, from the descriptors of the generated modules -------------


def _load_modules():
    """Imports every generated module of secpol.v1 (the *_pb2 files protoc
    wrote beside each other); returns them by name."""
    modules = {}
    for info in pkgutil.iter_modules(secpol.v1.__path__):
        if info.name.endswith("_pb2"):
            modules[info.name] = importlib.import_module("secpol.v1." + info.name)
    return modules


_MODULES = _load_modules()


def _message_class(message_descriptor):
    """The generated class of a message descriptor."""
    for module in _MODULES.values():
        if module.DESCRIPTOR is message_descriptor.file:
            names = message_descriptor.full_name[len(module.DESCRIPTOR.package) + 1 :]
            value = module
            for part in names.split("."):
                value = getattr(value, part)
            return value
    raise LookupError("no generated class for " + message_descriptor.full_name)


def _services():
    """Every ServiceDescriptor of secpol.v1, in file order then declaration order."""
    found = []
    for name in sorted(_MODULES):
        found.extend(_MODULES[name].DESCRIPTOR.services_by_name.values())
    return found


SERVICES = tuple(_services())  # ServiceDescriptor of every secpol.v1 service


def _snake(name):
    """GetPolicy -> get_policy."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def method_path(method_descriptor):
    """The wire path of a method: "/secpol.v1.PolicyService/GetPolicy"."""
    return "/%s/%s" % (method_descriptor.containing_service.full_name, method_descriptor.name)


def _make_method(method_descriptor):
    """A function calling one RPC, typed by its descriptor."""
    path = method_path(method_descriptor)
    request_class = _message_class(method_descriptor.input_type)
    response_class = _message_class(method_descriptor.output_type)

    def rpc(self, request=None, /, *, timeout=None, request_id="", **fields):
        if request is None:
            request = _build(request_class, fields)
        elif fields:
            raise TypeError("%s takes a request or its fields, not both" % method_descriptor.name)
        elif isinstance(request, dict):
            request = _build(request_class, request)
        return self._client.call(path, request, response_class=response_class,
                                 timeout=timeout, request_id=request_id)

    rpc.__name__ = method_descriptor.name
    rpc.__qualname__ = "%s.%s" % (method_descriptor.containing_service.name, method_descriptor.name)
    rpc.__doc__ = "%s: %s -> %s.\n\nFields: %s." % (
        path, method_descriptor.input_type.full_name, method_descriptor.output_type.full_name,
        ", ".join(f.name for f in method_descriptor.input_type.fields) or "none")
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
                  inspect.Parameter("request", inspect.Parameter.POSITIONAL_ONLY, default=None,
                                    annotation=request_class),
                  inspect.Parameter("timeout", inspect.Parameter.KEYWORD_ONLY, default=None),
                  inspect.Parameter("request_id", inspect.Parameter.KEYWORD_ONLY, default="")]
    parameters += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None)
                   for f in method_descriptor.input_type.fields]
    rpc.__signature__ = inspect.Signature(parameters, return_annotation=response_class)
    rpc.request_class = request_class
    rpc.response_class = response_class
    rpc.path = path
    return rpc


def _build(request_class, fields):
    """A request from keyword fields, enums by name or number, nested
    messages as messages or dicts (protobuf's JSON mapping); an unknown
    field is a TypeError, a value the field cannot hold a ValueError, each
    naming the field."""
    known = request_class.DESCRIPTOR.fields_by_name
    for name in fields:
        if name not in known:
            raise TypeError("%s has no field '%s' (fields: %s)" % (
                request_class.DESCRIPTOR.full_name, name, ", ".join(known)))
    request = request_class()
    plain = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, _message.Message):
            getattr(request, name).CopyFrom(value)
        else:
            plain[name] = value
    if plain:
        try:
            _json_format.ParseDict(plain, request, ignore_unknown_fields=False)
        except _json_format.ParseError as error:
            raise ValueError("%s: %s" % (request_class.DESCRIPTOR.full_name, error)) from None
    return request


class _Service:
    """Base of the per-service classes: holds the client."""

    descriptor = None  # the ServiceDescriptor

    def __init__(self, client):
        self._client = client

    def __repr__(self):
        return "<secpol service %s>" % self.descriptor.full_name


def _make_service_class(service_descriptor):
    namespace = {"descriptor": service_descriptor,
                 "__doc__": "%s: %s." % (service_descriptor.full_name,
                                         ", ".join(m.name for m in service_descriptor.methods))}
    for method_descriptor in service_descriptor.methods:
        rpc = _make_method(method_descriptor)
        namespace[method_descriptor.name] = rpc
        namespace[_snake(method_descriptor.name)] = rpc
    return type(service_descriptor.name, (_Service,), namespace)


SERVICE_CLASSES = {s.name: _make_service_class(s) for s in SERVICES}


# --- CURVE keys ----------------------------------------------------------------


def _z85_key(value, what="server_key"):
    """A Z85 public key (40 characters) from bytes, str, or the path of a
    czmq certificate file."""
    if isinstance(value, str) and len(value) != 40:
        try:
            value, _ = load_certificate(value)
        except OSError as error:
            raise ValueError("%s: %s is neither a certificate file nor a 40-character Z85 key "
                             "(%s)" % (what, value, error.strerror or error)) from None
    if isinstance(value, str):
        value = value.encode()
    if len(value) == 32:
        value = zmq.utils.z85.encode(value)
    if len(value) != 40:
        raise ValueError("%s: a CURVE key is 40 Z85 characters or 32 bytes" % what)
    return value


def _client_keys(cert):
    """(public, secret) Z85 keys of a client certificate: a (public, secret)
    pair, or the path of the NAME_secret file secpolctl keygen writes (NAME
    alone finds NAME_secret beside it)."""
    if isinstance(cert, (tuple, list)):
        public, secret = cert
        return _z85_key(public, "client_cert"), _z85_key(secret, "client_cert")
    path = cert if os.path.exists(cert) or not os.path.exists(cert + "_secret") else cert + "_secret"
    try:
        public, secret = load_certificate(path)
        if secret is None and os.path.exists(path + "_secret"):
            public, secret = load_certificate(path + "_secret")
    except OSError as error:
        raise ValueError("client_cert: cannot read %s (%s)" % (cert, error.strerror or error)) \
            from None
    if secret is None:
        raise ValueError("client_cert: %s holds no secret-key: give the NAME_secret file "
                         "secpolctl keygen wrote" % cert)
    return public, secret


def load_certificate(path):
    """(public_key, secret_key) of a czmq certificate file, Z85 bytes
    (secret_key is None for a public certificate). Raises OSError."""
    return zmq.auth.load_certificate(path)


_HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                     | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
# With several endpoints: the events that say whether a link is up; none of
# them repeats while nothing changes (as the C client's S_MONITOR_EVENTS).
_LINK_EVENTS = (zmq.EVENT_CONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
                | _HANDSHAKE_FAILED)


def idempotent(method):
    """True when method ("/secpol.v1.PolicyService/GetPolicy") changes no
    stored state, so a client with several endpoints may send it again to
    another instance when the first went away before its reply. The table is
    the C client's (secpol_client_idempotent), copied at build time: reads
    yes; writes, SessionService/ValidateSession, PasswordService/
    CheckPassword and the OTP Verify* calls no."""
    return method in IDEMPOTENT


def _endpoint_list(endpoint):
    """The endpoints of a Client: a list or tuple of them, or one string
    that may hold several separated by commas (ZeroMQ endpoints never hold
    one), at most MAX_ENDPOINTS, no empty entry; None or an empty list is
    DEFAULT_ENDPOINT. Raises SecpolError INVALID_ARGUMENT."""
    if endpoint is None:
        return [DEFAULT_ENDPOINT]
    if isinstance(endpoint, str):
        endpoints = endpoint.split(",")
    elif isinstance(endpoint, (list, tuple)):
        endpoints = list(endpoint) or [DEFAULT_ENDPOINT]
        for entry in endpoints:
            if not isinstance(entry, str) or "," in entry:
                raise SecpolError(Status.INVALID_ARGUMENT, "endpoint list %r: an entry is not "
                                  "one endpoint: %r" % (endpoint, entry), local=True)
    else:
        raise SecpolError(Status.INVALID_ARGUMENT, "endpoint: a string or a list of strings, "
                          "not %s" % type(endpoint).__name__, local=True)
    if "" in endpoints:
        raise SecpolError(Status.INVALID_ARGUMENT, "endpoint %r: an empty entry in the list"
                          % (endpoint,), local=True)
    if len(endpoints) > MAX_ENDPOINTS:
        raise SecpolError(Status.INVALID_ARGUMENT, "endpoint: %d endpoints, at most %d"
                          % (len(endpoints), MAX_ENDPOINTS), local=True)
    return endpoints


class _Link:
    """One endpoint: its DEALER and, with several endpoints or CURVE, the
    monitor that tells whether its connection is up and its key accepted."""

    def __init__(self, endpoint, socket):
        self.endpoint = endpoint
        self.socket = socket
        self.monitor = None  # PAIR fed by the DEALER's socket monitor
        self.connected = False  # as the monitor's last event says (several endpoints)
        self.refused = False  # the last handshake failed (CURVE)
        self.key_refused = False  # the server refused our key: libzmq gave the endpoint up

    def event(self):
        """Reads one queued monitor event, if any, and updates the state.
        Returns False when none was queued."""
        if self.monitor is None or not self.monitor.poll(0):
            return False
        event = zmq.utils.monitor.recv_monitor_message(self.monitor)["event"]
        self.connected = bool(event & (zmq.EVENT_CONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED))
        if event & _HANDSHAKE_FAILED:
            self.refused = True
        elif event & zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.refused = False  # until a handshake fails again
        # The server's ZAP handler refused our key: libzmq 4.3 ends the
        # session, drops what was queued and never connects there again.
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self.key_refused = True
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.key_refused = False
        return True

    def drain(self):
        while self.event():
            pass

    def close(self):
        if self.monitor is not None:
            # Stop the monitor before closing either socket: libzmq's I/O
            # thread must not block sending an event nobody will read.
            if not self.socket.closed:
                self.socket.disable_monitor()
            self.monitor.close(0)
            self.monitor = None
        if not self.socket.closed:
            self.socket.close(0)


# --- the client -----------------------------------------------------------------


class Client:
    """One connection to secpold, or to each of several; see the module's
    documentation.

    endpoint: tcp://HOST:PORT or ipc://PATH (default tcp://127.0.0.1:7420);
    several instances of one deployment as a list, or one string with the
    endpoints separated by commas ("tcp://a:7420,tcp://b:7420"), at most 16.
    The client then connects one DEALER to each (with ZMQ_IMMEDIATE: nothing
    is queued for an instance whose connection is down) and spreads calls
    over the connected ones in turn; a call waits (within its timeout) for
    one to connect. A call whose connection goes down before its reply is
    sent again to another instance, within what is left of its timeout,
    only when idempotent(method); any other raises UNAVAILABLE (local) at
    once, saying it may or may not have been done. endpoint and endpoints
    hold what was given ("a,b" and ("a", "b")).
    timeout: seconds each call may take, sent as deadline_ms too; None
    waits forever.
    server_key: the server's CURVE public key (the path of its public
    certificate, or the key: 40 Z85 characters or 32 bytes) to talk CURVE;
    None reads SECPOL_SERVER_KEY, as the C library and secpolctl do. With
    several endpoints every instance has this key (one deployment).
    client_cert: this client's certificate, the path of the NAME_secret file
    `secpolctl keygen` wrote (NAME alone works too) or a (public, secret)
    pair; None reads SECPOL_CLIENT_CERT, and without either the client makes
    a fresh key pair, which secpold refuses unless its allow-list has it.
    A client whose key secpold refuses gets no reply: the socket monitor
    sees the refusal (EVENT_HANDSHAKE_FAILED_AUTH) and the call raises
    UNAUTHENTICATED (local) at once, whatever its timeout; libzmq does not
    connect to that endpoint again, so later calls do too (make a new Client
    once the key is authorized). Another failed handshake raises
    UNAUTHENTICATED when the call's time runs out. With several endpoints
    an instance that refused the key is skipped, so it fails no call another
    can serve; only when every one has refused does a call raise
    UNAUTHENTICATED at once ("every instance (...) refused ...").
    """

    def __init__(self, endpoint=DEFAULT_ENDPOINT, *, timeout=DEFAULT_TIMEOUT, server_key=None,
                 client_cert=None, context=None):
        self._links = []
        endpoints = _endpoint_list(endpoint)
        self.endpoints = tuple(endpoints)
        self.endpoint = ",".join(endpoints)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._context = context or zmq.Context.instance()
        several = len(endpoints) > 1
        server_key = server_key or os.environ.get("SECPOL_SERVER_KEY") or None
        client_cert = client_cert or os.environ.get("SECPOL_CLIENT_CERT") or None
        try:
            keys = None
            if server_key is not None:
                server_public = _z85_key(server_key)
                if client_cert is None:
                    public, secret = zmq.curve_keypair()
                else:
                    public, secret = _client_keys(client_cert)
                keys = (server_public, public, secret)
            elif client_cert is not None:
                raise ValueError("client_cert needs server_key (or SECPOL_SERVER_KEY)")
            for one in endpoints:
                link = _Link(one, self._context.socket(zmq.DEALER))
                self._links.append(link)
                link.socket.setsockopt(zmq.LINGER, 0)
                link.socket.setsockopt(zmq.SNDHWM, _QUEUE_LIMIT)
                link.socket.setsockopt(zmq.RCVHWM, _QUEUE_LIMIT)
                if several:
                    # Queue nothing for an instance whose connection is down:
                    # the call goes to another one instead, and a write is
                    # never delivered late to an instance that comes back.
                    link.socket.setsockopt(zmq.IMMEDIATE, 1)
                events = _LINK_EVENTS if several else 0
                if keys is not None:
                    link.socket.curve_serverkey, link.socket.curve_publickey, \
                        link.socket.curve_secretkey = keys
                    events |= _HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED
                if events:
                    # before connect: libzmq drops events while no one listens
                    link.monitor = link.socket.get_monitor_socket(events)
                link.socket.connect(one)
        except (zmq.ZMQError, ValueError) as error:
            self.close()
            raise SecpolError(Status.INVALID_ARGUMENT, "endpoint %s: %s" % (self.endpoint, error),
                              local=True) from None
        self._socket = self._links[0].socket  # the DEALER of the first endpoint
        # Many short-lived clients should not all start with the first
        # endpoint: begin the round robin anywhere, as the C client does.
        self._next_link = int.from_bytes(os.urandom(2), "little") % len(self._links)
        self._poller = None
        if several:
            self._poller = zmq.Poller()
            for link in self._links:
                self._poller.register(link.socket, zmq.POLLIN)
                self._poller.register(link.monitor, zmq.POLLIN)
        for name, service_class in SERVICE_CLASSES.items():
            setattr(self, name, service_class(self))
            setattr(self, _snake(name), getattr(self, name))

    def call(self, method, request=None, *, response_class=None, timeout=None, request_id=""):
        """One call by wire path ("/secpol.v1.Health/Check"). request is a
        message (None: an empty one of the method's input type when the
        method is known; a message of another type is a TypeError). Returns the response message, decoded with
        response_class or the method's output type, or the raw bytes when
        neither is known. Raises SecpolError."""
        known = _METHODS.get(method)
        if known is not None:
            response_class = response_class or known.response_class
            if request is None:
                request = known.request_class()
            elif request.DESCRIPTOR is not known.request_class.DESCRIPTOR:
                raise TypeError("%s takes %s, not %s" % (
                    method, known.request_class.DESCRIPTOR.full_name,
                    request.DESCRIPTOR.full_name))
        body = b"" if request is None else request.SerializeToString()
        timeout = self.timeout if timeout is None else timeout
        call_id = next(self._ids)
        head = self._header(method, call_id, timeout, request_id)
        if len(body) > MAX_MESSAGE:
            raise SecpolError(Status.RESOURCE_EXHAUSTED,
                              "request is %d bytes, over %d" % (len(body), MAX_MESSAGE),
                              method=method, call_id=call_id, local=True)
        if self._poller is None:
            deadline = None if timeout is None else time.monotonic() + timeout
            self._send([b"", head, body], deadline, method, call_id)
            frames = self._wait(call_id, timeout, method)
        else:
            frames = self._call_spread(method, call_id, head, body, timeout, request_id)
        reply = rpc_pb2.ResponseHeader()
        try:
            reply.ParseFromString(frames[1])
        except _message.DecodeError:
            raise SecpolError(Status.INTERNAL, "reply header does not decode", method=method,
                              call_id=call_id, local=True) from None
        call_id = reply.call_id
        if reply.code != Status.OK:
            raise SecpolError(reply.code, reply.message,
                              [(v.field, v.description) for v in reply.violations],
                              method=method, call_id=call_id)
        if response_class is None:
            return frames[2]
        response = response_class()
        try:
            response.ParseFromString(frames[2])
        except _message.DecodeError:
            raise SecpolError(Status.INTERNAL, "reply body does not decode as %s"
                              % response_class.DESCRIPTOR.full_name, method=method,
                              call_id=call_id, local=True) from None
        return response

    @staticmethod
    def _header(method, call_id, timeout, request_id):
        """The encoded RequestHeader of one send; timeout in seconds or None."""
        header = rpc_pb2.RequestHeader(method=method, call_id=call_id, request_id=request_id)
        if timeout is not None:
            header.deadline_ms = max(1, min(int(timeout * 1000), 2**32 - 1))
        head = header.SerializeToString()
        if len(head) > MAX_HEADER:
            raise SecpolError(Status.INVALID_ARGUMENT,
                              "request header is %d bytes, over %d (method path or request_id "
                              "too long)" % (len(head), MAX_HEADER), method=method,
                              call_id=call_id, local=True)
        return head

    def _one_poller(self, socket_events):
        """One endpoint: a poller of its DEALER for socket_events and of its
        monitor (CURVE), which tells a refusal of our key."""
        poller = zmq.Poller()
        poller.register(self._socket, socket_events)
        if self._links[0].monitor is not None:
            poller.register(self._links[0].monitor, zmq.POLLIN)
        return poller

    def _check_key(self, method, call_id):
        """One endpoint: raises UNAUTHENTICATED once the server refused our
        key (no reply can come, and a send would wait for ever for a
        connection libzmq no longer makes)."""
        link = self._links[0]
        link.drain()
        if link.key_refused:
            raise SecpolError(Status.UNAUTHENTICATED,
                              "%s refused this client's CURVE key at the handshake"
                              % link.endpoint, method=method, call_id=call_id, local=True)

    def _send(self, frames, deadline, method, call_id):
        """One endpoint: queues the request's frames, waiting (until
        deadline; None = forever) while the socket takes none."""
        poller = self._one_poller(zmq.POLLOUT)
        while True:
            self._check_key(method, call_id)
            try:
                self._socket.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
                return
            except zmq.Again:
                pass
            wait = None if deadline is None else max(0, (deadline - time.monotonic()) * 1000)
            if not poller.poll(wait) and deadline is not None and time.monotonic() >= deadline:
                raise SecpolError(Status.UNAVAILABLE, "cannot send to %s: send queue full"
                                  % self.endpoint, method=method, call_id=call_id, local=True)

    def _wait(self, call_id, timeout, method):
        """The frames of the reply to call_id; drops replies of calls given up."""
        poller_timeout = None if timeout is None else timeout * 1000
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = self._one_poller(zmq.POLLIN)
        while True:
            self._check_key(method, call_id)  # no reply can come: say so now, not at the timeout
            if deadline is not None:
                poller_timeout = max(0, (deadline - time.monotonic()) * 1000)
            ready = dict(poller.poll(poller_timeout))
            if self._socket not in ready:
                if ready:
                    continue  # news of the handshake: looked at above
                if self._handshake_refused():
                    raise SecpolError(Status.UNAUTHENTICATED,
                                      "%s refused this client's CURVE key at the handshake"
                                      % self.endpoint, method=method, call_id=call_id,
                                      local=True)
                raise SecpolError(Status.UNAVAILABLE,
                                  "no reply from %s within %g s" % (self.endpoint, timeout),
                                  method=method, call_id=call_id, local=True)
            frames = self._socket.recv_multipart()
            if _reply_to(frames, call_id):
                return frames

    def _handshake_refused(self):
        """True when the last CURVE handshake the monitor saw failed."""
        link = self._links[0]
        link.drain()
        return link.refused

    # --- several endpoints ------------------------------------------------------

    def _call_spread(self, method, call_id, head, body, timeout, request_id):
        """Sends one call to the next instance whose connection is up and
        returns the frames of its reply; when that connection goes down
        first, sends it again to another instance if idempotent(method)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        tried = set()  # links this call was sent to
        while True:
            index = self._send_spread([b"", head, body], tried, deadline, method, call_id)
            frames = self._wait_link(call_id, index, deadline, timeout, method)
            if frames is not None:
                return frames
            tried.add(index)
            endpoint = self._links[index].endpoint
            if not idempotent(method):
                raise SecpolError(Status.UNAVAILABLE,
                                  "connection to %s lost before the reply to %s; not sent again "
                                  "(not idempotent): it may or may not have been done"
                                  % (endpoint, method), method=method, call_id=call_id,
                                  local=True)
            # A read: ask another instance, within what is left of the deadline.
            call_id = next(self._ids)
            left = None if deadline is None else max(0.001, deadline - time.monotonic())
            head = self._header(method, call_id, left, request_id)

    def _send_spread(self, frames, tried, deadline, method, call_id):
        """Sends frames on the next link in turn that is connected, not in
        tried and has not refused our CURVE key; with none connected, waits
        (until deadline) for one to connect. Returns the index of the link
        used."""
        while True:
            untried = usable = False
            for k in range(len(self._links)):
                index = (self._next_link + k) % len(self._links)
                if index in tried:
                    continue
                untried = True
                link = self._links[index]
                link.drain()
                if link.key_refused:
                    continue  # libzmq gave that endpoint up: the others may serve
                usable = True
                if not link.connected:
                    continue
                try:
                    # ZMQ_IMMEDIATE: a link whose connection is not (yet)
                    # ready refuses at once; the frames go together or not.
                    link.socket.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    continue
                self._next_link = (index + 1) % len(self._links)
                return index
            if not untried:
                raise SecpolError(Status.UNAVAILABLE, "cannot send to %s: no other instance "
                                  "left to try" % self.endpoint, method=method,
                                  call_id=call_id, local=True)
            if not usable:
                raise SecpolError(Status.UNAUTHENTICATED,
                                  "every instance (%s) refused this client's CURVE key at the "
                                  "handshake" % self.endpoint, method=method, call_id=call_id,
                                  local=True)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                refused = [link.endpoint for link in self._links if link.refused]
                raise SecpolError(Status.UNAVAILABLE, "cannot send to %s: no instance "
                                  "connected in time%s" % (self.endpoint, " (%s refused this "
                                                           "client's CURVE key)" % ",".join(refused)
                                                           if refused else ""),
                                  method=method, call_id=call_id, local=True)
            # Nothing connected (yet): wait for a monitor event.
            wait = _LOOK_AGAIN_MS if deadline is None else (deadline - now) * 1000
            if any(link.connected for link in self._links):
                wait = min(wait, _LOOK_AGAIN_MS)
            poller = zmq.Poller()
            for link in self._links:
                poller.register(link.monitor, zmq.POLLIN)
            poller.poll(wait)

    def _wait_link(self, call_id, index, deadline, timeout, method):
        """The frames of the reply to call_id, sent on link index, or None
        when that link's connection went down first; drops other replies."""
        link = self._links[index]
        while True:
            wait = None if deadline is None else max(0, (deadline - time.monotonic()) * 1000)
            ready = dict(self._poller.poll(wait))
            if not ready:
                if deadline is not None and time.monotonic() >= deadline:
                    link.drain()
                    if link.refused:
                        raise SecpolError(Status.UNAUTHENTICATED,
                                          "%s refused this client's CURVE key at the handshake"
                                          % link.endpoint, method=method, call_id=call_id,
                                          local=True)
                    raise SecpolError(Status.UNAVAILABLE, "no reply from %s within %g s"
                                      % (link.endpoint, timeout), method=method,
                                      call_id=call_id, local=True)
                continue
            # A reply already queued wins over the news that its link went down.
            dealers = [one for one in self._links if one.socket in ready]
            for one in dealers:
                frames = one.socket.recv_multipart()
                if _reply_to(frames, call_id):
                    return frames
            if not dealers:
                for one in self._links:
                    one.drain()
                if not link.connected:
                    return None

    def close(self):
        """Closes the sockets; further calls fail. Safe to call twice."""
        for link in self._links:
            link.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_links", None):
            self.close()


def _reply_to(frames, call_id):
    """True when frames are a reply of protocol v1 to call_id (anything else
    is dropped: a late reply of a call given up, or not a reply at all)."""
    if len(frames) != 3 or frames[0] != b"":
        return False
    reply = rpc_pb2.ResponseHeader()
    try:
        reply.ParseFromString(frames[1])
    except _message.DecodeError:
        return False
    return reply.call_id == call_id


# path -> the function calling it (its request_class and response_class)
_METHODS = {cls.__dict__[m.name].path: cls.__dict__[m.name]
            for cls in SERVICE_CLASSES.values() for m in cls.descriptor.methods}


def methods():
    """Every method of secpol.v1 as (path, MethodDescriptor), in declaration order."""
    return [(method_path(m), m) for s in SERVICES for m in s.methods]
