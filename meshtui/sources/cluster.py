"""The live source: a cluster read through the official `kubernetes` client, list then watch.

Strictly read-only: every request is a GET (list, watch, discovery), and only the kinds the
analysis needs are asked for (never Secrets or ConfigMaps). Responses are read as raw JSON and
trimmed to the fields the core uses: building the client's generated models for 50,000 pods
costs far more than the analysis itself.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import (
    ISTIO_NETWORKING_GROUP,
    ISTIO_NETWORKING_VERSIONS,
    InvalidField,
    ObjectRef,
    Origin,
    Resource,
    format_path,
    parse_object,
)
from meshtui.sources import Source
from meshtui.sources.files import LoadError

PAGE_SIZE = 500
WATCH_SECONDS = 240  # server-side timeout of one watch request; it is then resumed
# A watch that asked for bookmarks hears from the API server about once a minute even when
# nothing changes. One silent for longer (plus --request-timeout) is taken for a connection
# that died without a word (a network cut, a server that hung) and opened again: if the server
# is gone, that fails, and the view says so, instead of staying "live" until WATCH_SECONDS.
WATCH_QUIET_SECONDS = 90
BACKOFF = (0.5, 1, 2, 4, 8, 15, 30)
STALE_AFTER = 10.0  # seconds of failed reconnects before the view is called stale

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind meshtui lists: its API group and plural resource name."""

    kind: str
    group: str
    plural: str
    namespaced: bool = True

    @property
    def istio(self) -> bool:
        return self.group == ISTIO_NETWORKING_GROUP


ISTIO_KINDS = (
    Kind("DestinationRule", ISTIO_NETWORKING_GROUP, "destinationrules"),
    Kind("VirtualService", ISTIO_NETWORKING_GROUP, "virtualservices"),
    Kind("ServiceEntry", ISTIO_NETWORKING_GROUP, "serviceentries"),
    Kind("Gateway", ISTIO_NETWORKING_GROUP, "gateways"),
)
# Nodes for their topology labels only (subsets selecting on region, zone or hostname).
NODE = Kind("Node", "", "nodes", namespaced=False)
CORE_KINDS = (Kind("Service", "", "services"), Kind("Pod", "", "pods"), NODE)


class ClusterError(Exception):
    """An API request failed: `status` is the HTTP code, 0 when the server was not reached."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


# -- trimming: keep what the core and the raw view need, nothing else ----------------------

_DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def _trim_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        k: meta[k]
        for k in (
            "name",
            "namespace",
            "labels",
            "annotations",
            "creationTimestamp",
            "ownerReferences",
            "resourceVersion",
        )
        if k in meta
    }
    annotations = out.get("annotations")
    if isinstance(annotations, dict) and any(a in annotations for a in _DROP_ANNOTATIONS):
        out["annotations"] = {k: v for k, v in annotations.items() if k not in _DROP_ANNOTATIONS}
    return out


def trim(obj: Mapping[str, Any], kind: Kind, api_version: str) -> dict[str, Any]:
    """A small copy of `obj` with kind and apiVersion set (list items come without them)."""
    meta = obj.get("metadata")
    out: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind.kind,
        "metadata": _trim_metadata(meta) if isinstance(meta, Mapping) else meta,
    }
    spec = obj.get("spec")
    if kind.kind == "Pod":
        status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
        assert isinstance(status, Mapping)
        conditions = status.get("conditions")
        out["spec"] = {"nodeName": spec.get("nodeName")} if isinstance(spec, Mapping) else {}
        out["status"] = {
            "phase": status.get("phase"),
            "podIP": status.get("podIP"),
            "conditions": [
                c for c in conditions or () if isinstance(c, Mapping) and c.get("type") == "Ready"
            ]
            if isinstance(conditions, list)
            else None,
        }
    elif kind.kind == "Node":
        out["spec"] = {}  # only its labels count
    elif kind.kind == "Service":
        out["spec"] = (
            {k: spec[k] for k in ("selector", "ports", "type") if k in spec}
            if isinstance(spec, Mapping)
            else spec
        )
    else:
        out["spec"] = spec
    return out


# -- requests -------------------------------------------------------------------------------


class Reader:
    """Raw GET requests through the kubernetes client of one context."""

    def __init__(self, api_client: Any, timeout: float) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self._streams: set[Any] = set()  # open watch responses, for interrupt()
        self._streams_lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(getattr(self.api_client.configuration, "host", "") or "")

    def _request(self, path: str, query: list[tuple[str, Any]], timeout: Any) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        method, url, headers, _body, _post = self.api_client.param_serialize(
            method="GET",
            resource_path=path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api_client.call_api(
                method, url, header_params=headers, _request_timeout=timeout
            )
        except (urllib3.exceptions.HTTPError, ApiException) as err:
            # ApiException: the client turns some TLS failures into one, with status 0.
            raise ClusterError(
                0, f"cannot reach the API server at {self.host}: {_reason(err, self.timeout)}"
            ) from err
        if response.status >= 400:
            data = response.read()
            raise _status_error(response.status, data, path)
        return response

    def _read(self, path: str, query: list[tuple[str, Any]]) -> bytes:
        import urllib3

        response = self._request(path, query, self.timeout)
        try:
            return response.read()
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(
                0, f"connection lost reading {path}: {_reason(err, self.timeout)}"
            ) from err

    def get(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        return _decode(self._read(path, query or []), path)

    def list(self, path: str, convert: Callable[[Any], T | None]) -> tuple[list[T], str]:
        """Every item of a list, paginated, as `convert` makes it (None: dropped), and the
        list's resourceVersion. Pages are converted as they arrive, so only the kept form of
        the items is held; the next page is fetched while this one is decoded. A continue
        token that expired (410) restarts the list, as client-go's pager does."""
        for attempt in range(3):
            try:
                return self._list_pages(path, convert)
            except ClusterError as err:
                if err.status != 410 or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _list_pages(self, path: str, convert: Callable[[Any], T | None]) -> tuple[list[T], str]:
        out: list[T] = []
        prefetch: ThreadPoolExecutor | None = None
        try:
            data = self._read(path, [("limit", PAGE_SIZE)])
            while True:
                ahead = _continue_token(data)
                upcoming = None
                if ahead:
                    prefetch = prefetch or ThreadPoolExecutor(1, thread_name_prefix="page")
                    upcoming = prefetch.submit(self._read, path, _page_query(ahead))
                page = _decode(data, path)
                del data
                if not isinstance(page, Mapping):
                    raise ClusterError(500, f"{path}: the API server sent no list")
                for item in page.get("items") or ():
                    kept = convert(item)
                    if kept is not None:
                        out.append(kept)
                meta = page.get("metadata") if isinstance(page.get("metadata"), Mapping) else {}
                token = str(meta.get("continue") or "")
                if not token:
                    return out, str(meta.get("resourceVersion") or "")
                del page
                if upcoming is not None and token == ahead:
                    data = upcoming.result()
                else:
                    data = self._read(path, _page_query(token))
        finally:
            if prefetch is not None:
                prefetch.shutdown(wait=False, cancel_futures=True)

    def watch(self, path: str, resource_version: str, stop: threading.Event) -> Iterator[Any]:
        """Open one watch request (its answer bounded by the request timeout) and return its
        events, which run until the server ends the watch or the connection drops."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", WATCH_SECONDS),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        raw = self._request(path, query, (self.timeout, self.timeout)).response
        # The answer came in time; between events (and bookmarks) the stream may stay quiet
        # for a while, so reads of the body wait that long.
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(min(WATCH_SECONDS, WATCH_QUIET_SECONDS) + self.timeout)
        with self._streams_lock:
            self._streams.add(raw)
        return self._events(path, raw, stop)

    def _events(self, path: str, raw: Any, stop: threading.Event) -> Iterator[Any]:
        import urllib3

        buffer = b""
        complete = False
        try:
            for chunk in raw.stream(65536, decode_content=True):
                if stop.is_set():
                    return
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
            complete = True
        except urllib3.exceptions.ReadTimeoutError:
            complete = False  # quiet for longer than the watch lasts: resume it
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(0, f"watch of {path} dropped: {_reason(err, self.timeout)}") from err
        except ValueError as err:
            raise ClusterError(500, f"watch of {path}: invalid event") from err
        finally:
            with self._streams_lock:
                self._streams.discard(raw)
            if not complete:
                raw.close()  # never hand a half-read stream back to the connection pool
            raw.release_conn()

    def interrupt(self) -> None:
        """Cut every open watch stream (from another thread), so its reader returns now."""
        with self._streams_lock:
            streams = list(self._streams)
        for raw in streams:
            try:
                raw.shutdown()
            except (AttributeError, ValueError, OSError):
                sock = getattr(getattr(raw, "connection", None), "sock", None)
                with contextlib.suppress(OSError, AttributeError):
                    sock.shutdown(socket.SHUT_RDWR)


_gc_pauses = 0
_gc_was_enabled = False
_gc_lock = threading.Lock()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while lists are decoded (nestable, thread-safe).

    Decoding 50,000 pods allocates millions of dicts and lists, none of them in a cycle, and
    the allocations keep triggering collections that rescan everything kept so far: with the
    collector on, the pods took four times as long (benchmarks/README.md, "Live load")."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _page_query(token: str) -> list[tuple[str, Any]]:
    return [("limit", PAGE_SIZE), ("continue", token)]


_DECODER = json.JSONDecoder()


def _continue_token(data: bytes) -> str:
    """The continue token of a list page, read from the list's metadata without decoding the
    items (the API server writes metadata before items); "" when it is not found there."""
    start = data.find(b'"metadata"', 0, 4096)
    if start < 0 or 0 <= data.find(b'"items"', 0, start) < start:
        return ""
    colon = data.find(b":", start + 10, start + 64)
    if colon < 0:
        return ""
    try:
        text = data[colon + 1 : colon + 1 + 16384].decode("utf-8", "replace").lstrip()
        meta, _ = _DECODER.raw_decode(text)
    except ValueError:
        return ""
    return str(meta.get("continue") or "") if isinstance(meta, dict) else ""


def _decode(data: bytes, path: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as err:
        raise ClusterError(500, f"{path}: the API server sent invalid JSON") from err


def _reason(err: BaseException, timeout: float) -> str:
    """A short, readable cause: urllib3 wraps the socket error in a long repr."""
    import urllib3

    seen = err
    for _ in range(4):
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            break
        seen = inner
    # NewConnectionError derives from ConnectTimeoutError, but "refused" is no timeout.
    timed_out = isinstance(seen, urllib3.exceptions.TimeoutError | TimeoutError)
    if timed_out and not isinstance(seen, urllib3.exceptions.NewConnectionError):
        return f"no answer within {timeout:g} s (--request-timeout)"
    if isinstance(seen, urllib3.exceptions.SSLError | ssl.SSLError):
        return f"TLS error: {seen}"
    text = str(seen)
    if isinstance(seen, urllib3.exceptions.ProtocolError) and seen.args:
        # ("Connection aborted.", RemoteDisconnected("Remote end closed connection ...")): the
        # second part is the one that says what happened.
        cause = seen.args[1] if len(seen.args) > 1 else None
        text = str(seen.args[0]).rstrip(".")
        if isinstance(cause, BaseException) and str(cause):
            text = f"{text}: {cause}"
    for marker in ("Failed to establish a new connection: ", "Failed to resolve "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.replace("[Errno 111] ", "").replace("[Errno -2] ", "") or type(seen).__name__


def _status_error(status: int, data: bytes, path: str) -> ClusterError:
    message, reason = "", ""
    try:
        body = json.loads(data)
        if isinstance(body, Mapping):
            message = str(body.get("message") or "")
            reason = str(body.get("reason") or "")
    except ValueError:
        pass
    if status == 401:
        text = "the API server rejected the credentials (401 Unauthorized): log in again"
    elif status == 403:
        text = f"forbidden (403): {message or path}"
    elif status == 404:
        text = f"not found (404): {path}"
    else:
        text = f"{path}: {status} {reason or ''} {message}".strip()
    return ClusterError(status, text, reason)


# -- kubeconfig -----------------------------------------------------------------------------


def kube_client(context: str | None, kubeconfig: str | None) -> tuple[Any, str]:
    """An ApiClient for `context` (default: the current one) and the context's name.

    The kubeconfig is read as kubectl reads it: `kubeconfig` (--kubeconfig), else every file
    of KUBECONFIG merged (read now, not when the client library was imported), else
    ~/.kube/config; in a pod without one, the service account."""
    import urllib3
    from kubernetes import client, config

    paths = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    files = [os.path.expanduser(p) for p in paths.split(os.pathsep) if p]
    has_file = any(os.path.exists(p) for p in files)
    if not has_file and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return _api_client(configuration), "in-cluster"
    if not has_file:
        raise LoadError(f"no kubeconfig found at {paths}")
    try:
        contexts, current = config.list_kube_config_contexts(config_file=paths)
    except (config.ConfigException, OSError, ValueError) as err:
        raise LoadError(f"cannot read kubeconfig {paths}: {err}") from err
    names = [c["name"] for c in contexts or []]
    if context is not None and context not in names:
        raise LoadError(
            f"context {context!r} not found in kubeconfig; contexts: {', '.join(names) or 'none'}"
        )
    name = context or _first_current_context(files) or (current or {}).get("name")
    if not name:
        raise LoadError("the kubeconfig has no current context: give --context")
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=paths,
            context=name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (config.ConfigException, OSError, ValueError, urllib3.exceptions.HTTPError) as err:
        raise LoadError(f"context {name!r}: {err}") from err
    return _api_client(configuration), name


def _first_current_context(files: list[str]) -> str | None:
    """kubectl takes current-context from the first file that sets it; the client library,
    merging KUBECONFIG, from the last."""
    import yaml

    for path in files:
        try:
            with open(path) as fh:
                data = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError):
            continue
        current = data.get("current-context") if isinstance(data, dict) else None
        if current:
            return str(current)
    return None


def _api_client(configuration: Any) -> Any:
    from kubernetes import client

    configuration.retries = _stale_connection_retry()
    return client.ApiClient(configuration)


def _stale_connection_retry() -> Any:
    """urllib3's retry policy for meshtui's GETs: one more try when the connection broke
    before an answer came, nothing else.

    urllib3 retries a GET three times by default, a timed-out read included: one request could
    then take four times --request-timeout. But a kept-alive connection that the server (or a
    load balancer) closed while it sat in the pool only fails once the request is on it
    ("Remote end closed connection without response"); client-go retries such a GET, and so
    does meshtui, once, on a new connection. A timeout, a refused connection or an error
    status fails at once; the watches reconnect with backoff on their own.
    """
    import urllib3

    class StaleConnectionRetry(urllib3.Retry):
        def _is_read_error(self, err: Exception) -> bool:
            # A read timeout then counts as an "other" error, of which none are retried.
            return isinstance(err, urllib3.exceptions.ProtocolError)

    return StaleConnectionRetry(total=1, connect=0, read=1, status=0, other=0, redirect=0)


# -- one cluster ----------------------------------------------------------------------------


@dataclass
class _Stream:
    """One list+watch of one kind in one scope (all namespaces, or one)."""

    kind: Kind
    path: str
    api_version: str
    namespace: str | None
    resource_version: str = ""
    versions: dict[ObjectRef, str] = field(default_factory=dict)  # what the mesh holds


_Item = tuple[ObjectRef, str, Resource | InvalidField]


class Cluster:
    """One context: its reader, its mesh, and the streams that keep the mesh current."""

    def __init__(
        self,
        name: str,
        reader: Reader,
        namespaces: list[str],
        config: MeshConfig,
        lock: threading.RLock,
    ) -> None:
        self.name = name
        self.reader = reader
        self.namespaces = namespaces
        self.mesh = Mesh(config, cluster=name)
        self.lock = lock
        self.streams: list[_Stream] = []
        self.warnings: list[str] = []
        self.istio_version: str | None = None
        self.failing: dict[str, float] = {}
        self.last_error = ""
        self.invalid: dict[ObjectRef, Finding] = {}

    def discover(self) -> None:
        """Check the server answers, and find the served version of networking.istio.io."""
        self.reader.get("/version")
        try:
            group = self.reader.get(f"/apis/{ISTIO_NETWORKING_GROUP}")
        except ClusterError as err:
            if err.status != 404:
                raise
            self.warnings.append(f"{self.name}: Istio CRDs are not installed in this cluster")
            return
        preferred = (group.get("preferredVersion") or {}).get("version")
        served = [v.get("version") for v in group.get("versions") or [] if isinstance(v, dict)]
        for version in (preferred, *ISTIO_NETWORKING_VERSIONS):
            if version and version in served:
                self.istio_version = version
                return
        self.istio_version = preferred

    def _path(self, kind: Kind, namespace: str | None) -> tuple[str, str]:
        if kind.istio:
            base = f"/apis/{kind.group}/{self.istio_version}"
            api_version = f"{kind.group}/{self.istio_version}"
        else:
            base, api_version = "/api/v1", "v1"
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{scope}/{kind.plural}", api_version

    def _stream(self, kind: Kind, namespace: str | None) -> _Stream:
        path, api_version = self._path(kind, namespace)
        return _Stream(kind, path, api_version, namespace)

    def _parse(self, stream: _Stream, item: Any) -> _Item | None:
        if not isinstance(item, Mapping):
            return None
        obj = trim(item, stream.kind, stream.api_version)
        result = parse_object(obj, Origin(cluster=self.name))
        if result is None:
            return None
        ref = result.ref if isinstance(result, InvalidField) else result.meta.ref
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        return ref, str(version or ""), result

    def _list(self, stream: _Stream, *, initial: bool = False) -> set[str]:
        """(Re)list one stream into the mesh; the hosts whose analysis changed. The first
        list feeds the mesh in bulk; a relist (after 410 Gone) changes only what differs."""
        with _gc_paused():
            items, version = self.reader.list(stream.path, lambda i: self._parse(stream, i))
        with self.lock, _gc_paused():
            stream.resource_version = version
            affected: set[str] = set()
            if initial:
                resources = []
                for ref, _, result in items:
                    if isinstance(result, InvalidField):
                        self.invalid[ref] = _invalid(result)
                    else:
                        resources.append(result)
                self.mesh.load(resources)
            else:
                seen = {ref for ref, _, _ in items}
                for ref in [r for r in stream.versions if r not in seen]:
                    affected |= self._forget(ref)
                for ref, rv, result in items:
                    if not rv or stream.versions.get(ref) != rv:
                        affected |= self._put(result)
            stream.versions = {ref: rv for ref, rv, _ in items}
            self._sync_findings()
        return affected

    def _put(self, result: Resource | InvalidField) -> set[str]:
        if isinstance(result, InvalidField):
            # Istio ignores a resource it cannot read: what the old version did is gone too.
            self.invalid[result.ref] = _invalid(result)
            return self.mesh.remove(result.ref)
        self.invalid.pop(result.meta.ref, None)
        return self.mesh.add(result)

    def _forget(self, ref: ObjectRef) -> set[str]:
        self.invalid.pop(ref, None)
        return self.mesh.remove(ref)

    def _sync_findings(self) -> None:
        self.mesh.clear_findings()
        for finding in self.invalid.values():
            self.mesh.add_finding(finding)

    def load(self) -> None:
        """List every kind (in parallel, paginated); 403 on a cluster-wide list of pods or
        services falls back to the namespaces the DestinationRules and VirtualServices use."""
        self.discover()
        scopes: list[str | None] = list(self.namespaces) or [None]
        istio = [self._stream(k, ns) for k in ISTIO_KINDS for ns in scopes]
        core = [self._stream(k, ns) for k in CORE_KINDS if k.namespaced for ns in scopes]
        if not self.namespaces:  # `-n` reads those namespaces only: no cluster-scoped kind
            core += [self._stream(k, None) for k in CORE_KINDS if not k.namespaced]
        streams = (istio if self.istio_version else []) + core
        forbidden: list[_Stream] = []
        with ThreadPoolExecutor(max_workers=5, thread_name_prefix="list") as pool:
            for stream, error in zip(streams, pool.map(self._try_list, streams), strict=True):
                if error is None:
                    self.streams.append(stream)
                elif error.status == 403:
                    forbidden.append(stream)
                elif error.status == 404:
                    self.warnings.append(
                        f"{self.name}: this cluster does not serve {stream.kind.plural} "
                        f"({stream.path}: 404)"
                    )
                else:
                    raise error
        self._fall_back(forbidden)
        if not self.namespaces and any(
            s.kind.kind == "Pod" and s.namespace is None for s in self.streams
        ):
            self.mesh.workloads.mark_all_known()
        for stream in self.streams:
            if stream.kind.kind == "Pod" and stream.namespace is not None:
                self.mesh.workloads.mark_known([stream.namespace])

    def _try_list(self, stream: _Stream) -> ClusterError | None:
        try:
            self._list(stream, initial=True)
        except ClusterError as err:
            return err
        return None

    def _fall_back(self, forbidden: list[_Stream]) -> None:
        wanted = sorted(
            {
                r.meta.ref.namespace
                for r in list(self.mesh.destination_rules) + list(self.mesh.routes)
            }
        )
        for stream in forbidden:
            if not stream.kind.namespaced:
                self.warnings.append(
                    f"{self.name}: cannot list {stream.kind.plural} (403); subsets that select "
                    "on node topology labels are not judged"
                )
                continue
            if stream.namespace is not None:
                self.warnings.append(
                    f"{self.name}: cannot list {stream.kind.plural} in namespace "
                    f"{stream.namespace} (403)"
                )
                continue
            unseen = []
            for namespace in wanted:
                sub = self._stream(stream.kind, namespace)
                error = self._try_list(sub)
                if error is None:
                    self.streams.append(sub)
                elif error.status == 403:
                    unseen.append(namespace)
                else:
                    raise error
            note = (
                f"{self.name}: cannot list {stream.kind.plural} cluster-wide (403); "
                f"read them in {', '.join(n for n in wanted if n not in unseen) or 'no namespace'}"
            )
            if unseen:
                note += f"; could not see namespaces {', '.join(unseen)}"
            self.warnings.append(note)

    # -- watching ----------------------------------------------------------------------

    def follow(
        self, stream: _Stream, stop: threading.Event, notify: Callable[[set[str]], None]
    ) -> None:
        """Watch one stream until `stop`: reconnect with backoff, relist on 410 Gone.

        `notify(hosts)` gets the hosts whose analysis changed; an empty set when only the
        findings of loading changed (a resource became readable or unreadable)."""
        attempt = 0
        while not stop.is_set():
            try:
                events = self.reader.watch(stream.path, stream.resource_version, stop)
                self._recovered(stream)
                attempt = 0
                opened, count = time.monotonic(), 0
                with contextlib.closing(events):
                    for count, event in enumerate(events, 1):  # noqa: B007
                        changed = self._apply(stream, event)
                        if changed is not None:
                            notify(changed)
                # The server ended the watch (timeoutSeconds): resume it, at once unless it
                # ends them as soon as they start.
                quick = count == 0 and time.monotonic() - opened < 1
                if stop.wait(BACKOFF[0] if quick else 0):
                    return
                continue
            except _Gone:
                error = self._relist(stream, notify)
            except ClusterError as err:
                error = self._relist(stream, notify) if err.status == 410 else err
            if stop.is_set():
                return
            if error is None:
                continue
            self._failed(stream, error)
            if stop.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]):
                return
            attempt += 1

    def _relist(self, stream: _Stream, notify: Callable[[set[str]], None]) -> ClusterError | None:
        try:
            changed = self._list(stream)
        except ClusterError as err:
            return err
        self._recovered(stream)
        notify(changed)
        return None

    def _recovered(self, stream: _Stream) -> None:
        self.failing.pop(stream.path, None)

    def _failed(self, stream: _Stream, err: ClusterError) -> None:
        self.failing.setdefault(stream.path, time.time())
        self.last_error = str(err)

    def _apply(self, stream: _Stream, event: Mapping[str, Any]) -> set[str] | None:
        """Apply one watch event; the hosts it changed, or None when nothing visible did."""
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, Mapping):
            return None
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise ClusterError(
                int(obj.get("code") or 500), str(obj.get("message") or "watch error")
            )
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        if version:
            stream.resource_version = str(version)
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return None  # BOOKMARK: only the resourceVersion moves on
        item = self._parse(stream, obj)
        if item is None:
            return None
        ref, rv, result = item
        with self.lock:
            invalid_before = set(self.invalid)
            if kind == "DELETED":
                stream.versions.pop(ref, None)
                changed = self._forget(ref)
            else:
                stream.versions[ref] = rv
                changed = self._put(result)
            if set(self.invalid) != invalid_before or isinstance(result, InvalidField):
                self._sync_findings()
            elif not changed:
                return None
        return changed

    def status(self) -> str:
        failing = list(self.failing.values())
        if not failing:
            return "live"
        since = min(failing)
        if time.time() - since < STALE_AFTER:
            return "reconnecting"
        return "stale since " + time.strftime("%H:%M:%S", time.localtime(since))


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): relist."""


def _invalid(result: InvalidField) -> Finding:
    return Finding(
        Code.INVALID_RESOURCE,
        f"{result.ref} is ignored: {format_path(result.path)} {result.message}",
        resource=result.ref,
        origin=result.origin,
        path=result.path,
    )


class ClusterSource(Source):
    """One or more kubeconfig contexts, each analysed as a mesh of its own."""

    live = True

    def __init__(
        self,
        contexts: list[str] | None = None,
        kubeconfig: str | None = None,
        namespaces: list[str] | None = None,
        request_timeout: float = 30.0,
        config: MeshConfig | None = None,
    ) -> None:
        super().__init__()
        self.contexts = list(contexts or [])
        self.kubeconfig = kubeconfig
        self.namespaces = list(namespaces or [])
        self.request_timeout = request_timeout
        self.config = config or MeshConfig()
        self.clusters: list[Cluster] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        scope = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        self.label = f"context {', '.join(self.contexts) or '(current)'} ({scope})"

    def _connect(self) -> list[Cluster]:
        if self.clusters:
            return self.clusters
        clusters = []
        for context in self.contexts or [None]:
            api_client, name = kube_client(context, self.kubeconfig)
            clusters.append(
                Cluster(
                    name,
                    Reader(api_client, self.request_timeout),
                    self.namespaces,
                    self.config,
                    self.lock,
                )
            )
        self.clusters = clusters
        names = ", ".join(c.name for c in clusters)
        scope = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        self.label = f"context {names} ({scope})"
        return clusters

    def preflight(self) -> None:
        for cluster in self._connect():
            try:
                cluster.reader.get("/version")
            except ClusterError as err:
                raise LoadError(f"context {cluster.name}: {err}") from err

    def load(self) -> list[Mesh]:
        self.stop()
        self.clusters = []
        self._stop = threading.Event()
        clusters = self._connect()
        with ThreadPoolExecutor(max_workers=len(clusters), thread_name_prefix="cluster") as pool:
            futures = [pool.submit(cluster.load) for cluster in clusters]
        for cluster, future in zip(clusters, futures, strict=True):
            try:
                future.result()
            except ClusterError as err:
                raise LoadError(f"context {cluster.name}: {err}") from err
        with self.lock:
            self.meshes = [c.mesh for c in clusters]
            self.warnings = [w for c in clusters for w in c.warnings]
        return self.meshes

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        for cluster in self.clusters:
            for stream in cluster.streams:
                thread = threading.Thread(
                    target=cluster.follow,
                    args=(stream, self._stop, notify),
                    name=f"watch {cluster.name} {stream.path}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for cluster in self.clusters:
            cluster.reader.interrupt()
        for thread in self._threads:
            thread.join(timeout=1)
        self._threads = []

    @property
    def status(self) -> str:
        states = [c.status() for c in self.clusters]
        if not states:
            return ""
        worst = next((s for s in states if s.startswith("stale")), None)
        worst = worst or next((s for s in states if s == "reconnecting"), None)
        return worst or "live"

    @property
    def problem(self) -> str:
        """What is wrong while the status is not live (for a banner), else ""."""
        return "; ".join(
            f"context {c.name}: {c.last_error}" for c in self.clusters if c.failing and c.last_error
        )
