"""A read-only Kubernetes API server on loopback HTTPS, for tests of the real kubernetes client.

It speaks the Kubernetes JSON wire format: discovery, list (limit/continue, selectors), get,
watch (chunked newline-delimited events, bookmarks, 410 on a compacted resourceVersion) and
`Status` error bodies; bearer-token authentication and deny rules for authorization; faults that
tests switch on at run time; and a log of every request. Only GET is served: any other method is
logged and answered 405.

    with KubeAPIServer() as server:
        server.add(pod("default", "web-0"))
        path = server.write_kubeconfig(tmp_path / "kubeconfig")  # contexts alpha and beta
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .kinds import DEFAULT_KINDS, ISTIO_GROUP, KindSpec
from .kubeconfig import KubeContext, write_kubeconfig
from .objects import namespace as namespace_object
from .store import (
    ADDED,
    Conflict,
    Entry,
    Expired,
    SelectorError,
    Store,
    parse_field_selector,
    parse_label_selector,
)
from .tls import TLSMaterial, default_tls

__all__ = ["Conflict", "KubeAPIServer", "RequestRecord", "Rule", "status_body"]

ANY = "*"
DEFAULT_TOKENS = {"alpha-token": "alpha", "beta-token": "beta"}
PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "AlreadyExists",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _json(obj: Any) -> bytes:
    return _dumps(obj).encode()


def status_body(code: int, message: str, reason: str | None = None, details=None) -> bytes:
    """A `Status` object as the API server sends it for errors."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
    }
    if details is not None:
        status["details"] = details
    status["code"] = code
    return _json(status)


# ---------------------------------------------------------------------------------------------
# public records


@dataclass(slots=True)
class RequestRecord:
    """One request as the server saw it. `status` is filled in when the answer is sent."""

    method: str
    path: str
    query: dict[str, str]
    user: str | None
    status: int | None = None
    verb: str | None = None  # get / list / watch for resource requests, else None
    group: str | None = None
    version: str | None = None
    resource: str | None = None  # plural, e.g. "pods"
    namespace: str | None = None
    name: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Rule:
    """A deny rule. "*" matches anything; namespace "" matches only cluster-wide requests."""

    resource: str = ANY
    group: str = ANY
    namespace: str = ANY
    verbs: frozenset[str] = frozenset({ANY})
    user: str = ANY

    def matches(self, record: RequestRecord) -> bool:
        return (
            self.resource in (ANY, record.resource)
            and self.group in (ANY, record.group)
            and self.namespace in (ANY, record.namespace or "")
            and (ANY in self.verbs or record.verb in self.verbs)
            and self.user in (ANY, record.user)
        )


Match = str | Callable[[RequestRecord], bool] | None


@dataclass
class _Fault:
    kind: str  # "fail" | "hang" | "close" | "stall" | "drop"
    match: Match
    remaining: int | None  # None: until `until`
    until: float | None
    code: int = 500
    seconds: float = 0.0
    events: int = 0

    def applies(self, record: RequestRecord) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, str):
            return self.match in record.path
        return bool(self.match(record))


@dataclass(frozen=True)
class _Route:
    spec: KindSpec
    version: str
    namespace: str | None
    name: str | None
    verb: str


class _Abort(Exception):
    """The connection was dropped on purpose: no further writes."""


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubeapi-test"
    sys_version = ""
    timeout = 120  # idle keep-alive connections go away eventually
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.api._dispatch(self)

    def __getattr__(self, name: str):
        # Every other method (POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ...) is logged and 405d.
        if name.startswith("do_"):
            return self.do_GET
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPSServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address, api: KubeAPIServer, context: ssl.SSLContext) -> None:
        self.api = api
        self.context = context
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address) -> None:
        # The TLS handshake runs here, in the connection's own thread.
        request.settimeout(10)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        self.api._track(conn, add=True)
        try:
            _Handler(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            self.api._track(conn, add=False)
            with contextlib.suppress(OSError):
                conn.close()

    def handle_error(self, request, client_address) -> None:
        pass


class _Reply:
    def __init__(self, handler: _Handler, record: RequestRecord) -> None:
        self.handler = handler
        self.record = record
        self.started = False

    def send(
        self,
        code: int,
        body: bytes,
        content_type: str = "application/json",
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        h = self.handler
        self.started = True
        self.record.status = code
        h.send_response(code)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "no-cache, private")
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def error(self, code: int, message: str, reason: str | None = None, details=None) -> None:
        headers = [("Retry-After", "1")] if code in (429, 503) else []
        self.send(code, status_body(code, message, reason, details), headers=headers)

    def start_stream(self) -> None:
        h = self.handler
        self.started = True
        self.record.status = 200
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Cache-Control", "no-cache, private")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

    def chunks(self, lines: Sequence[bytes]) -> None:
        if lines:
            self.handler.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in lines))

    def end_stream(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Drop the connection without ending the HTTP response."""
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.handler.connection, socket.SHUT_RDWR)
        raise _Abort


# ---------------------------------------------------------------------------------------------
# the server


class KubeAPIServer:
    """A loopback HTTPS Kubernetes API server. Start with `start()` or `with`.

    kinds            the kind table (default: core, apps, networking.istio.io)
    served_versions  {group: versions} overriding which versions are served (preferred first);
                     an empty sequence removes the group (its paths answer 404)
    istio_versions   shorthand for served_versions["networking.istio.io"]
    tokens           {bearer token: user name}; default alpha-token→alpha, beta-token→beta
    tls              TLSMaterial; default: one certificate set per process
    watch_gone       "event" (410 as an ERROR event in a 200 stream, like kube-apiserver) or
                     "http" (an HTTP 410 Status answer)
    """

    def __init__(
        self,
        *,
        kinds: Iterable[KindSpec] = DEFAULT_KINDS,
        served_versions: Mapping[str, Sequence[str]] | None = None,
        istio_versions: Sequence[str] | None = None,
        tokens: Mapping[str, str] | None = None,
        tls: TLSMaterial | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        history_limit: int = 100_000,
        start_resource_version: int = 1000,
        auto_namespaces: bool = True,
        initial_namespaces: Iterable[str] = ("default", "kube-system", "kube-public"),
        bookmark_interval: float = 1.0,
        watch_gone: str = "event",
        anonymous: bool = False,
        kubernetes_version: str = "v1.31.0",
        latency: float = 0.0,
    ) -> None:
        self.store = Store(
            kinds,
            start_rv=start_resource_version,
            history_limit=history_limit,
            auto_namespaces=auto_namespaces,
        )
        self.tls = tls
        self.host = host
        self._port = port
        self.bookmark_interval = bookmark_interval
        self.watch_gone = watch_gone
        self.anonymous = anonymous
        self.kubernetes_version = kubernetes_version
        self.latency = latency
        self.kubeconfig: Path | None = None  # set by the fixtures

        self._lock = threading.Lock()
        self._tokens = dict(DEFAULT_TOKENS if tokens is None else tokens)
        self._rules: list[Rule] = []
        self._faults: list[_Fault] = []
        self._log: list[RequestRecord] = []
        self._snapshots: OrderedDict[int, tuple[int, list[Entry], tuple]] = OrderedDict()
        self._snapshot_seq = 0
        self._bookmark_generation = 0
        self._connections: dict[ssl.SSLSocket, threading.Thread] = {}
        self._stopping = threading.Event()
        self._httpd: _HTTPSServer | None = None
        self._thread: threading.Thread | None = None

        overrides = dict(served_versions or {})
        if istio_versions is not None:
            overrides[ISTIO_GROUP] = istio_versions
        self._groups: dict[str, tuple[str, ...]] = {}
        self._resources: dict[tuple[str, str], dict[str, KindSpec]] = {}
        self.set_served_versions(overrides)

        if any(k.group == "" and k.kind == "Namespace" for k in self.store.kinds):
            for name in initial_namespaces:
                # In the mesh with sidecars, as every namespace the store creates (store.py
                # _ensure_namespace): tests about data planes label their Namespaces.
                self.store.add(namespace_object(name, {"istio-injection": "enabled"}))

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> KubeAPIServer:
        if self._httpd is not None:
            return self
        if self.tls is None:
            self.tls = default_tls()
        self._stopping.clear()
        self._httpd = _HTTPSServer((self.host, self._port), self, self.tls.server_context())
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"kubeapi:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        self.store.wake()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        for _, thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> KubeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self._port}"

    def _track(self, conn: ssl.SSLSocket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)

    # -- kubeconfig ---------------------------------------------------------------------------

    def context(
        self, name: str, token: str | None = None, namespace: str | None = "default"
    ) -> KubeContext:
        """A kubeconfig context for this server; the token (default "<name>-token") is
        registered for user <name> if it is not known yet."""
        token = token or f"{name}-token"
        with self._lock:
            self._tokens.setdefault(token, name)
        if self.tls is None:
            self.tls = default_tls()
        return KubeContext(name, self.url, self.tls.ca_data, token, namespace)

    def write_kubeconfig(
        self,
        path: str | Path,
        contexts: Sequence[str] = ("alpha", "beta"),
        current_context: str | None = None,
    ) -> Path:
        """Write a kubeconfig with one context per name, all pointing at this server."""
        return write_kubeconfig(path, [self.context(name) for name in contexts], current_context)

    # -- objects ------------------------------------------------------------------------------

    def add(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create an object (emits ADDED). Returns it as stored (uid, resourceVersion...)."""
        spec = self.store.spec_for(obj)
        return self.store.add(obj).to_dict(spec, _version_of(obj))

    def add_many(self, objs: Iterable[Mapping[str, Any]]) -> int:
        """Create many objects at once (one lock, one wake-up). Returns how many."""
        return self.store.add_many(objs)

    def update(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Replace an existing object (emits MODIFIED)."""
        spec = self.store.spec_for(obj)
        return self.store.update(obj).to_dict(spec, _version_of(obj))

    def delete(
        self, ref: str | Mapping[str, Any], namespace: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """Delete an object (emits DELETED). `ref` is the object itself, or a kind reference:
        "Pod", "v1/Pod", "networking.istio.io/v1/DestinationRule"."""
        spec = self.store.spec_for(ref)
        if isinstance(ref, Mapping):
            md = ref.get("metadata") or {}
            namespace = namespace or md.get("namespace")
            name = name or md.get("name")
        if not name:
            raise ValueError("delete() needs a name")
        return self.store.delete(spec, namespace, name).to_dict(spec)

    def get(self, ref: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        spec = self.store.spec_for(ref)
        entry = self.store.get(spec, namespace or "default", name)
        return None if entry is None else entry.to_dict(spec)

    def count(self, ref: str) -> int:
        return self.store.count(self.store.spec_for(ref))

    @property
    def resource_version(self) -> str:
        return str(self.store.resource_version)

    def compact(self) -> str:
        """Forget the event history and outstanding list snapshots: watches from an older
        resourceVersion and older continue tokens get 410 from now on."""
        rv = self.store.compact()
        with self._lock:
            self._snapshots.clear()
        return str(rv)

    def send_bookmarks(self) -> None:
        """Make every watch that allowed bookmarks send one now."""
        with self._lock:
            self._bookmark_generation += 1
        self.store.wake()

    # -- discovery configuration --------------------------------------------------------------

    def set_served_versions(self, overrides: Mapping[str, Sequence[str]]) -> None:
        """Change, at run time, which versions of which groups are served."""
        groups: dict[str, list[str]] = {}
        for spec in self.store.kinds:
            versions = groups.setdefault(spec.group, [])
            versions.extend(v for v in spec.versions if v not in versions)
        for group, versions in overrides.items():
            groups[group] = list(versions)
        resources: dict[tuple[str, str], dict[str, KindSpec]] = {}
        for spec in self.store.kinds:
            for version in groups.get(spec.group, ()):
                if version in spec.versions:
                    resources.setdefault((spec.group, version), {})[spec.plural] = spec
        with self._lock:
            self._groups = {g: tuple(v) for g, v in groups.items() if v}
            self._resources = resources

    # -- authentication and authorization ----------------------------------------------------

    @property
    def tokens(self) -> dict[str, str]:
        with self._lock:
            return dict(self._tokens)

    def add_token(self, token: str, user: str) -> None:
        with self._lock:
            self._tokens[token] = user

    def revoke_token(self, token: str) -> None:
        """From now on the token gets 401 (as do connections already open)."""
        with self._lock:
            self._tokens.pop(token, None)

    def forbid(
        self,
        resource: str = ANY,
        *,
        group: str = ANY,
        namespace: str = ANY,
        verbs: Iterable[str] = (ANY,),
        user: str = ANY,
    ) -> Rule:
        """Deny matching resource requests with 403. namespace="" means cluster-wide requests
        only; "*" any. Returns the rule, for `allow()`."""
        rule = Rule(resource, group, namespace, frozenset(verbs), user)
        with self._lock:
            self._rules.append(rule)
        return rule

    def forbid_pods_cluster_wide(self, user: str = ANY) -> Rule:
        """403 for list/watch of pods across all namespaces; per-namespace stays allowed."""
        return self.forbid("pods", group="", namespace="", verbs=("list", "watch"), user=user)

    def allow(self, rule: Rule | None = None) -> None:
        """Remove one deny rule, or all of them."""
        with self._lock:
            if rule is None:
                self._rules.clear()
            else:
                self._rules.remove(rule)

    # -- faults -------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, code: int = 500, match: Match = None) -> None:
        """Answer the next `count` (matching) requests with a `code` Status (after auth)."""
        self._add_fault(_Fault("fail", match, count, None, code=code))

    def fail_for(self, seconds: float, code: int = 500, match: Match = None) -> None:
        """Answer every (matching) request with a `code` Status for `seconds`."""
        self._add_fault(_Fault("fail", match, None, time.monotonic() + seconds, code=code))

    def hang_next(self, seconds: float, count: int = 1, match: Match = None) -> None:
        """Hold the next `count` (matching) requests for `seconds` before answering them."""
        self._add_fault(_Fault("hang", match, count, None, seconds=seconds))

    def close_next(self, count: int = 1, match: Match = None) -> None:
        """Close the connection of the next `count` (matching) requests without an answer, as
        a server or load balancer does to a kept-alive connection it timed out (after auth)."""
        self._add_fault(_Fault("close", match, count, None))

    def stall(self, match: Match = None) -> None:
        """Stop answering (matching) requests until `clear_faults()`, as a hung server or a cut
        network does: open watch streams send nothing more, not even bookmarks or their end,
        and new requests get no answer; every connection stays open."""
        self._add_fault(_Fault("stall", match, None, None))

    def _stalled(self, record: RequestRecord) -> bool:
        return self._take_fault("stall", record) is not None

    def drop_watch_after(self, events: int, count: int = 1, match: Match = None) -> None:
        """Cut the next `count` (matching) watch streams after `events` events (bookmarks
        included): the TCP connection closes with the chunked response unfinished."""
        self._add_fault(_Fault("drop", match, count, None, events=events))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, kind: str, record: RequestRecord) -> _Fault | None:
        now = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if f.until is None or f.until > now]
            for fault in self._faults:
                if fault.kind == kind and fault.applies(record):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- request log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def methods(self) -> set[str]:
        return {r.method for r in self.requests}

    def resources_requested(self) -> set[str]:
        """Plurals of every resource any request touched (e.g. {"pods", "destinationrules"})."""
        return {r.resource for r in self.requests if r.resource}

    # -- dispatch -----------------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        authorization = handler.headers.get("Authorization", "")
        token = None
        if authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        with self._lock:
            user = self._tokens.get(token) if token is not None else None
            if token is None and self.anonymous:
                user = "system:anonymous"
        record = RequestRecord(handler.command, split.path or "/", query, user)
        with self._lock:
            self._log.append(record)
        reply = _Reply(handler, record)
        try:
            self._drain(handler)
            self._serve(reply, record, token)
        except _Abort:
            pass
        except (OSError, ssl.SSLError):
            handler.close_connection = True
        except Exception as exc:  # a bug in this server: say so the Kubernetes way
            if reply.started:
                handler.close_connection = True
            else:
                reply.error(500, f"Internal error occurred: {type(exc).__name__}: {exc}")

    @staticmethod
    def _drain(handler: _Handler) -> None:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            handler.close_connection = True
            return
        length = int(handler.headers.get("Content-Length") or 0)
        while length > 0:
            chunk = handler.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _serve(self, reply: _Reply, record: RequestRecord, token: str | None) -> None:
        route = self._route(record)  # also fills in record.verb, .resource, .namespace...
        if record.user is None and not (token is None and record.path in PUBLIC_PATHS):
            return reply.error(401, "Unauthorized")
        if record.method != "GET":
            return reply.error(
                405, "the server does not allow this method on the requested resource", details={}
            )
        if self.latency:
            self._stopping.wait(self.latency)
        while self._stalled(record) and not self._stopping.wait(0.05):
            pass
        hang = self._take_fault("hang", record)
        if hang is not None:
            self._stopping.wait(hang.seconds)
        if self._take_fault("close", record) is not None:
            reply.abort()
        fail = self._take_fault("fail", record)
        if fail is not None:
            return reply.error(
                fail.code,
                _fault_message(fail.code),
                details={"causes": [{"message": "fault injected by the test"}]},
            )
        if route is None:
            return self._serve_non_resource(reply, record)
        if route is False:
            return reply.error(404, "the server could not find the requested resource", details={})
        if self._forbidden(record):
            return self._forbid_reply(reply, record, route)
        query = record.query
        if route.verb == "get":
            return self._get(reply, route)
        if route.verb == "watch":
            return self._watch(reply, record, route, query)
        return self._list(reply, route, query)

    def _route(self, record: RequestRecord) -> _Route | bool | None:
        """None: a non-resource path; False: not found; else the resource route."""
        parts = [p for p in record.path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            return None
        if parts[0] == "api":
            if len(parts) == 1:
                return None
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) <= 2:
                return None
            group, version, rest = parts[1], parts[2], parts[3:]
        record.group, record.version = group, version
        if not rest:
            return None
        with self._lock:
            resources = self._resources.get((group, version))
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        spec = resources.get(rest[0]) if resources else None
        record.resource, record.namespace = rest[0], namespace
        if spec is None or len(rest) > 2 or (namespace is not None and not spec.namespaced):
            return False
        name = rest[1] if len(rest) == 2 else None
        if name is not None and spec.namespaced and namespace is None:
            return False
        if record.method != "GET":
            verb = WRITE_VERBS.get(record.method, record.method.lower())
            if verb == "delete" and name is None:
                verb = "deletecollection"
        elif name is not None:
            verb = "get"
        elif record.query.get("watch") in ("true", "1"):
            verb = "watch"
        else:
            verb = "list"
        record.name, record.verb = name, verb
        return _Route(spec, version, namespace, name, verb)

    def _forbidden(self, record: RequestRecord) -> bool:
        with self._lock:
            return any(rule.matches(record) for rule in self._rules)

    @staticmethod
    def _forbid_reply(reply: _Reply, record: RequestRecord, route: _Route) -> None:
        spec = route.spec
        subject = spec.qualified_plural + (f' "{route.name}"' if route.name else "")
        scope = (
            f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
        )
        details: dict[str, str] = {}
        if route.name:
            details["name"] = route.name
        if spec.group:
            details["group"] = spec.group
        details["kind"] = spec.plural
        message = (
            f'{subject} is forbidden: User "{record.user}" cannot {route.verb} resource '
            f'"{spec.plural}" in API group "{spec.group}" {scope}'
        )
        reply.error(403, message, details=details)

    # -- non-resource paths (discovery, version, health) --------------------------------------

    def _serve_non_resource(self, reply: _Reply, record: RequestRecord) -> None:
        parts = [p for p in record.path.split("/") if p]
        with self._lock:
            groups = dict(self._groups)
            resources = dict(self._resources)
        not_found = "the server could not find the requested resource"
        if not parts:
            paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]
            for group, versions in groups.items():
                if group:
                    paths.append(f"/apis/{group}")
                    paths += [f"/apis/{group}/{v}" for v in versions]
            return reply.send(200, _json({"paths": sorted(paths)}))
        if parts == ["version"]:
            return reply.send(200, _json(self._version_info()))
        if parts[0] in ("healthz", "livez", "readyz") and len(parts) == 1:
            return reply.send(200, b"ok", content_type="text/plain; charset=utf-8")
        if parts == ["api"]:
            return reply.send(
                200,
                _json(
                    {
                        "kind": "APIVersions",
                        "versions": list(groups.get("", ())),
                        "serverAddressByClientCIDRs": [
                            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}
                        ],
                    }
                ),
            )
        if parts[0] == "api" and len(parts) == 2:
            if (("", parts[1])) not in resources:
                return reply.error(404, not_found, details={})
            return reply.send(200, self._resource_list("", parts[1], resources))
        if parts == ["apis"]:
            return reply.send(
                200,
                _json(
                    {
                        "kind": "APIGroupList",
                        "apiVersion": "v1",
                        "groups": [_group_json(g, v) for g, v in groups.items() if g],
                    }
                ),
            )
        if parts[0] == "apis" and len(parts) == 2 and parts[1] in groups and parts[1]:
            body = {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **_group_json(parts[1], groups[parts[1]]),
            }
            return reply.send(200, _json(body))
        if parts[0] == "apis" and len(parts) == 3 and (parts[1], parts[2]) in resources:
            return reply.send(200, self._resource_list(parts[1], parts[2], resources))
        return reply.error(404, not_found, details={})

    def _version_info(self) -> dict[str, str]:
        major, minor = self.kubernetes_version.lstrip("v").split(".")[:2]
        return {
            "major": major,
            "minor": minor,
            "emulationMajor": major,
            "emulationMinor": minor,
            "gitVersion": self.kubernetes_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-08-13T07:28:49Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    @staticmethod
    def _resource_list(group: str, version: str, resources) -> bytes:
        group_version = f"{group}/{version}" if group else version
        items = []
        for spec in resources[(group, version)].values():
            item: dict[str, Any] = {
                "name": spec.plural,
                "singularName": spec.singular,
                "namespaced": spec.namespaced,
                "kind": spec.kind,
                "verbs": list(spec.verbs),
            }
            if spec.short_names:
                item["shortNames"] = list(spec.short_names)
            if spec.categories:
                item["categories"] = list(spec.categories)
            digest = hashlib.sha256(f"{group_version}/{spec.plural}".encode()).digest()
            item["storageVersionHash"] = base64.b64encode(digest[:8]).decode()
            items.append(item)
        return _json(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": group_version,
                "resources": items,
            }
        )

    # -- get / list / watch -------------------------------------------------------------------

    @staticmethod
    def _type_prefix(spec: KindSpec, version: str) -> bytes:
        return b'{"apiVersion":"%s","kind":"%s",' % (
            spec.api_version(version).encode(),
            spec.kind.encode(),
        )

    def _get(self, reply: _Reply, route: _Route) -> None:
        spec = route.spec
        entry = self.store.get(spec, route.namespace or "", route.name or "")
        if entry is None:
            details: dict[str, str] = {"name": route.name or ""}
            if spec.group:
                details["group"] = spec.group
            details["kind"] = spec.plural
            return reply.error(
                404, f'{spec.qualified_plural} "{route.name}" not found', details=details
            )
        reply.send(200, self._type_prefix(spec, route.version) + entry.body[1:])

    def _predicates(self, reply: _Reply, route: _Route, query: Mapping[str, str]):
        try:
            return [
                parse_label_selector(query.get("labelSelector", "")),
                parse_field_selector(query.get("fieldSelector", ""), route.spec),
            ]
        except (SelectorError, ValueError) as exc:
            reply.error(400, str(exc))
            return None

    def _list(self, reply: _Reply, route: _Route, query: Mapping[str, str]) -> None:
        spec = route.spec
        predicates = self._predicates(reply, route, query)
        if predicates is None:
            return None
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            return reply.error(400, f"invalid limit {query.get('limit')!r}")
        token = query.get("continue")
        scope = (
            spec.resource_key,
            route.namespace,
            query.get("labelSelector"),
            query.get("fieldSelector"),
        )
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                snapshot_id, rv, offset = state["snap"], int(state["rv"]), int(state["offset"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                return reply.error(400, f"continue key is not valid: {token!r}")
            with self._lock:
                snapshot = self._snapshots.get(snapshot_id)
                if snapshot is not None:
                    self._snapshots.move_to_end(snapshot_id)
            if snapshot is None or rv < self.store.compacted_rv:
                return reply.error(410, CONTINUE_TOO_OLD)
            rv, entries, snapshot_scope = snapshot
            if snapshot_scope != scope:
                return reply.error(400, f"continue key is not valid: {token!r}")
        else:
            rv, entries = self.store.select(spec, route.namespace, predicates)
            offset = 0
        end = offset + limit if limit > 0 else len(entries)
        page = entries[offset:end]
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if end < len(entries):
            if not token:
                with self._lock:
                    self._snapshot_seq += 1
                    snapshot_id = self._snapshot_seq
                    self._snapshots[snapshot_id] = (rv, entries, scope)
                    while len(self._snapshots) > 64:
                        self._snapshots.popitem(last=False)
            last = page[-1]
            state = {
                "v": "meta.k8s.io/v1",
                "rv": rv,
                "start": f"{last.namespace}/{last.name}\x00",
                "snap": snapshot_id,
                "offset": end,
            }
            metadata["continue"] = base64.urlsafe_b64encode(_json(state)).decode().rstrip("=")
            if not any(predicates):
                metadata["remainingItemCount"] = len(entries) - end
        if spec.custom:
            prefix = self._type_prefix(spec, route.version)
            items = b",".join([prefix + e.body[1:] for e in page])
        else:
            items = b",".join([e.body for e in page])
        head = b'{"kind":"%s","apiVersion":"%s","metadata":' % (
            spec.list_kind.encode(),
            spec.api_version(route.version).encode(),
        )
        reply.send(200, b"".join((head, _json(metadata), b',"items":[', items, b"]}")))

    def _watch(
        self, reply: _Reply, record: RequestRecord, route: _Route, query: Mapping[str, str]
    ) -> None:
        spec, namespace = route.spec, route.namespace
        predicates = self._predicates(reply, route, query)
        if predicates is None:
            return None
        predicates = [p for p in predicates if p is not None]
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        try:
            timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
            rv_param = query.get("resourceVersion", "")
            start_rv = int(rv_param) if rv_param not in ("", "0") else None
        except ValueError as exc:
            return reply.error(400, str(exc))
        drop = self._take_fault("drop", record)
        budget = drop.events if drop is not None else None
        prefix = self._type_prefix(spec, route.version)

        gone: str | None = None
        initial: list[bytes] = []
        with self.store.lock:
            if start_rv is None:  # "0" or absent: the current state as ADDED events, then live
                cursor, entries = self.store.select(spec, namespace, predicates)
                initial = [_event(ADDED, prefix, e) for e in entries]
            else:
                cursor = start_rv
                try:
                    self.store.events_after(cursor)
                except Expired as exc:
                    gone = str(exc)
        if gone is not None and self.watch_gone == "http":
            return reply.error(410, gone)

        reply.start_stream()
        if gone is not None:
            reply.chunks([_error_event(gone)])
            return reply.end_stream()

        sent = 0

        def emit(lines: list[bytes]) -> None:
            nonlocal sent
            if budget is not None and sent + len(lines) >= budget:
                reply.chunks(lines[: budget - sent])
                reply.abort()
            reply.chunks(lines)
            sent += len(lines)

        emit(initial)
        deadline = time.monotonic() + timeout if timeout is not None else None
        with self._lock:
            generation = self._bookmark_generation
        next_bookmark = time.monotonic() + self.bookmark_interval
        conn = reply.handler.connection
        while not self._stopping.is_set():
            if self._stalled(record):  # silent, but the connection stays open
                if select.select([conn], [], [], 0.05)[0]:
                    return None  # the client gave up on it
                continue
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            wait = 0.5 if deadline is None else min(0.5, deadline - now)
            if bookmarks:
                wait = max(0.0, min(wait, next_bookmark - now))
            try:
                events = self.store.wait_for_events(cursor, wait)
            except Expired as exc:  # this watcher fell out of the history window
                reply.chunks([_error_event(str(exc))])
                break
            lines = []
            for ev in events:
                cursor = ev.rv
                entry = ev.entry
                if (
                    ev.spec is spec
                    and (namespace is None or entry.namespace == namespace)
                    and all(p(entry) for p in predicates)
                ):
                    lines.append(_event(ev.type, prefix, entry))
            if bookmarks:
                with self._lock:
                    bumped = generation != self._bookmark_generation
                    generation = self._bookmark_generation
                if bumped or time.monotonic() >= next_bookmark:
                    mark = b'{"type":"BOOKMARK","object":%s"metadata":{"resourceVersion":"%d"}}}\n'
                    lines.append(mark % (prefix, cursor))
                    next_bookmark = time.monotonic() + self.bookmark_interval
            if lines:
                emit(lines)
            elif select.select([conn], [], [], 0)[0]:
                return None  # the client hung up (or broke protocol): stop streaming
        if self._stopping.is_set():
            reply.abort()
        reply.end_stream()


def _event(etype: str, prefix: bytes, entry: Entry) -> bytes:
    return b'{"type":"%s","object":%s%s}\n' % (etype.encode(), prefix, entry.body[1:])


def _error_event(message: str) -> bytes:
    return b'{"type":"ERROR","object":%s}\n' % status_body(410, message, "Expired")


def _group_json(group: str, versions: Sequence[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def _version_of(obj: Mapping[str, Any]) -> str | None:
    api_version = obj.get("apiVersion") or ""
    return api_version.rsplit("/", 1)[-1] or None


def _fault_message(code: int) -> str:
    if code == 500:
        return "Internal error occurred: fault injected by the test"
    if code == 503:
        return "the server is currently unable to handle the request"
    if code == 429:
        return "the server has received too many requests and has asked us to try again later"
    return f"fault injected by the test (HTTP {code})"
