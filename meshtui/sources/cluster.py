"""The live source: a cluster read through the official `kubernetes` client, list then watch.

Strictly read-only: every request is a GET (list, watch, discovery), and only the kinds the
analysis needs are asked for (never Secrets or ConfigMaps). Responses are read as raw JSON and
trimmed to the fields the core uses: building the client's generated models for 50,000 pods
costs far more than the analysis itself.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import (
    ISTIO_NETWORKING_GROUP,
    ISTIO_NETWORKING_VERSIONS,
    InvalidField,
    ObjectRef,
    Origin,
    format_path,
    parse_object,
)
from meshtui.sources import Source
from meshtui.sources.files import LoadError

PAGE_SIZE = 500
WATCH_SECONDS = 240  # server-side timeout of one watch request; it is then resumed
BACKOFF = (0.5, 1, 2, 4, 8, 15, 30)
STALE_AFTER = 10.0  # seconds of failed reconnects before the view is called stale


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind meshtui lists: its API group and plural resource name."""

    kind: str
    group: str
    plural: str

    @property
    def istio(self) -> bool:
        return self.group == ISTIO_NETWORKING_GROUP


ISTIO_KINDS = (
    Kind("DestinationRule", ISTIO_NETWORKING_GROUP, "destinationrules"),
    Kind("VirtualService", ISTIO_NETWORKING_GROUP, "virtualservices"),
    Kind("ServiceEntry", ISTIO_NETWORKING_GROUP, "serviceentries"),
)
CORE_KINDS = (Kind("Service", "", "services"), Kind("Pod", "", "pods"))


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

    def _request(self, path: str, query: list[tuple[str, Any]], timeout: Any) -> Any:
        import urllib3

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
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(0, f"cannot reach the API server: {_reason(err)}") from err
        if response.status >= 400:
            data = response.read()
            raise _status_error(response.status, data, path)
        return response

    def get(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        response = self._request(path, query or [], self.timeout)
        import urllib3

        try:
            return json.loads(response.read())
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(0, f"connection lost reading {path}: {_reason(err)}") from err
        except ValueError as err:
            raise ClusterError(500, f"{path}: the API server sent invalid JSON") from err

    def list(self, path: str) -> tuple[list[Any], str, str]:
        """Every item of a list (paginated), its resourceVersion and the items' apiVersion."""
        items: list[Any] = []
        token = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if token:
                query.append(("continue", token))
            page = self.get(path, query)
            items += page.get("items") or []
            meta = page.get("metadata") or {}
            token = meta.get("continue") or ""
            if not token:
                return items, str(meta.get("resourceVersion") or ""), page.get("apiVersion", "")

    def watch(self, path: str, resource_version: str, stop: threading.Event) -> Iterator[Any]:
        """Events of one watch request, until the server ends it or the connection drops."""
        import urllib3

        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", WATCH_SECONDS),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        response = self._request(path, query, (self.timeout, WATCH_SECONDS + self.timeout))
        buffer = b""
        try:
            for chunk in response.response.stream(65536, decode_content=True):
                if stop.is_set():
                    return
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(0, f"watch of {path} dropped: {_reason(err)}") from err
        except ValueError as err:
            raise ClusterError(500, f"watch of {path}: invalid event") from err
        finally:
            response.response.release_conn()


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    return str(reason or err)


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
    """An ApiClient for `context` (default: the current one) and the context's name."""
    from kubernetes import client, config

    paths = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    has_file = any(os.path.exists(p) for p in paths.split(os.pathsep) if p)
    if not has_file and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration), "in-cluster"
    if not has_file:
        raise LoadError(f"no kubeconfig found at {paths}")
    try:
        contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except config.ConfigException as err:
        raise LoadError(f"cannot read kubeconfig {paths}: {err}") from err
    names = [c["name"] for c in contexts or []]
    if context is not None and context not in names:
        raise LoadError(
            f"context {context!r} not found in kubeconfig; contexts: {', '.join(names) or 'none'}"
        )
    name = context or (current or {}).get("name")
    if not name:
        raise LoadError("the kubeconfig has no current context: give --context")
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=kubeconfig,
            context=name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (config.ConfigException, OSError, ValueError) as err:
        raise LoadError(f"context {name!r}: {err}") from err
    return client.ApiClient(configuration), name


# -- one cluster ----------------------------------------------------------------------------


@dataclass
class _Stream:
    """One list+watch of one kind in one scope (all namespaces, or one)."""

    kind: Kind
    path: str
    api_version: str
    namespace: str | None
    resource_version: str = ""
    refs: set[ObjectRef] = field(default_factory=set)


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
            base, api_version = (
                f"/apis/{kind.group}/{self.istio_version}",
                (f"{kind.group}/{self.istio_version}"),
            )
        else:
            base, api_version = "/api/v1", "v1"
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{scope}/{kind.plural}", api_version

    def _stream(self, kind: Kind, namespace: str | None) -> _Stream:
        path, api_version = self._path(kind, namespace)
        return _Stream(kind, path, api_version, namespace)

    def _list(self, stream: _Stream) -> None:
        items, version, list_api_version = self.reader.list(stream.path)
        stream.resource_version = version
        api_version = stream.api_version if stream.kind.istio else list_api_version or "v1"
        parsed = []
        findings = []
        for item in items:
            if not isinstance(item, Mapping):
                continue
            obj = trim(item, stream.kind, api_version)
            result = parse_object(obj, Origin(cluster=self.name))
            if isinstance(result, InvalidField):
                findings.append(_invalid(result))
            elif result is not None:
                parsed.append(result)
        with self.lock:
            for ref in stream.refs - {r.meta.ref for r in parsed}:
                self.mesh.remove(ref)
            stream.refs = {r.meta.ref for r in parsed}
            for resource in parsed:
                self.mesh.add(resource)
            for finding in findings:
                self.mesh.add_finding(finding)

    def load(self) -> None:
        """List every kind (in parallel, paginated); 403 on a cluster-wide list of pods or
        services falls back to the namespaces the DestinationRules and VirtualServices use."""
        self.discover()
        scopes: list[str | None] = list(self.namespaces) or [None]
        istio = [self._stream(k, ns) for k in ISTIO_KINDS for ns in scopes]
        core = [self._stream(k, ns) for k in CORE_KINDS for ns in scopes]
        streams = (istio if self.istio_version else []) + core
        forbidden: list[_Stream] = []
        with ThreadPoolExecutor(max_workers=5) as pool:
            for stream, error in zip(streams, pool.map(self._try_list, streams), strict=True):
                if error is None:
                    self.streams.append(stream)
                elif error.status == 403:
                    forbidden.append(stream)
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
            self._list(stream)
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
        """Watch one stream until `stop`: reconnect with backoff, relist on 410 Gone."""
        attempt = 0
        while not stop.is_set():
            try:
                for event in self.reader.watch(stream.path, stream.resource_version, stop):
                    attempt = 0
                    self.failing.pop(stream.path, None)
                    hosts = self._apply(stream, event)
                    if hosts:
                        notify(hosts)
                self.failing.pop(stream.path, None)
            except _Gone:
                try:
                    before = self.mesh.hosts()
                    self._list(stream)
                    notify(set(before) | set(self.mesh.hosts()))
                    continue
                except ClusterError as err:
                    self._failed(stream, err)
            except ClusterError as err:
                if err.status == 410:
                    try:
                        self._list(stream)
                        notify(set(self.mesh.hosts()))
                        continue
                    except ClusterError as again:
                        err = again
                self._failed(stream, err)
            if stop.wait(
                BACKOFF[min(attempt, len(BACKOFF) - 1)] if stream.path in self.failing else 0
            ):
                return
            attempt += 1

    def _failed(self, stream: _Stream, err: ClusterError) -> None:
        self.failing.setdefault(stream.path, time.time())
        self.last_error = str(err)

    def _apply(self, stream: _Stream, event: Mapping[str, Any]) -> set[str]:
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, Mapping):
            return set()
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise ClusterError(
                int(obj.get("code") or 500), str(obj.get("message") or "watch error")
            )
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            stream.resource_version = str(version)
        if kind == "BOOKMARK":
            return set()
        trimmed = trim(obj, stream.kind, stream.api_version if stream.kind.istio else "v1")
        result = parse_object(trimmed, Origin(cluster=self.name))
        if result is None:
            return set()
        with self.lock:
            if isinstance(result, InvalidField):
                self.mesh.add_finding(_invalid(result))
                return set()
            ref = result.meta.ref
            if kind == "DELETED":
                stream.refs.discard(ref)
                return self.mesh.remove(ref)
            stream.refs.add(ref)
            return self.mesh.add(result)

    def status(self) -> str:
        if not self.failing:
            return "live"
        since = min(self.failing.values())
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
        for cluster in clusters:
            try:
                cluster.load()
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
