"""The live source: a cluster read through the official `kubernetes` client, list then watch.

Strictly read-only: every request is a GET (list, watch, discovery), and only the kinds the
analysis needs are asked for (never Secrets or ConfigMaps). Responses are read as raw JSON and
trimmed to the fields the core uses: building the client's generated models for 50,000 pods
costs far more than the analysis itself.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Mapping
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
    Resource,
    format_path,
    parse_object,
)
from meshtui.sources import (
    ABSENT,
    FORBIDDEN,
    LISTED,
    STALE,
    WATCHING,
    KindState,
    Source,
)
from meshtui.sources.files import LoadError
from meshtui.sources.kinds import CORE_KINDS, EXTRA_KINDS, ISTIO_KINDS, Kind, trim
from meshtui.sources.kube import (
    PAGE_SIZE,
    ClusterError,
    Reader,
    WatchSilent,
    _continue_token,
    _gc_paused,
    kube_client,
)

__all__ = [
    "CORE_KINDS",
    "EXTRA_KINDS",
    "ISTIO_KINDS",
    "PAGE_SIZE",
    "ClusterError",
    "ClusterSource",
    "Reader",
    "_continue_token",
    "_gc_paused",
    "kube_client",
    "trim",
]

WATCH_SECONDS = 240  # server-side timeout of one watch request (timeoutSeconds); then resumed
# A watch that asked for bookmarks hears from the API server about once a minute even when
# nothing changes (kube-apiserver's cacher sends each bookmark-enabled watcher one a minute).
# One silent for longer is taken for a connection that died without a word (a network cut, a
# server that hung): the view says "reconnecting" at once and the watch is opened again.
WATCH_QUIET_SECONDS = 90
# Seconds between retries of a failing watch, each taken at 50-100 % (jitter): doubling from
# 0.5 s to the cap of 30 s, as client-go's reflector. One watch that gets through again ends
# every other's wait of the same cluster.
BACKOFF = (0.5, 1, 2, 4, 8, 16, 30)
STALE_AFTER = 10.0  # seconds of failed reconnects before the view is called stale


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
    listed: bool = True  # False: found after start-up, to be listed before it is watched
    watching: bool = False  # a watch request of it was answered


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
        self.absent: dict[str, str] = {}  # kind -> why: the cluster does not serve it
        self.unseen: dict[str, set[str]] = {}  # kind -> namespaces it is forbidden in
        self.per_namespace: dict[Kind, set[str]] = {}  # forbidden cluster-wide: read where
        self.spawn: Callable[[_Stream], None] | None = None  # follows a stream, once watching
        self._wake = threading.Condition()
        self._round = 0  # moves on when a stream gets through: others stop waiting

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
        elif kind.group:
            base = f"/apis/{kind.group}/{kind.version}"
            api_version = f"{kind.group}/{kind.version}"
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
        """List every kind (in parallel, paginated); 403 on a cluster-wide list falls back to
        the namespaces the DestinationRules and VirtualServices use. What could not be read is
        recorded per kind (`kind_states`), never mistaken for "there is none"."""
        self.discover()
        scopes: list[str | None] = list(self.namespaces) or [None]
        istio = [self._stream(k, ns) for k in ISTIO_KINDS for ns in scopes]
        core = [self._stream(k, ns) for k in CORE_KINDS if k.namespaced for ns in scopes]
        if not self.namespaces:  # `-n` reads those namespaces only: no cluster-scoped kind
            core += [self._stream(k, None) for k in CORE_KINDS if not k.namespaced]
        else:
            self.absent.update({k.kind: "not read with -n" for k in CORE_KINDS if not k.namespaced})
        streams = (istio if self.istio_version else []) + core
        # Waypoints are read cluster-wide, or in the namespaces given with -n.
        extra = [self._stream(k, ns) for k in EXTRA_KINDS for ns in scopes]
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="list") as pool:
            for stream, error in zip(extra, pool.map(self._try_list, extra), strict=True):
                if error is None:
                    self.streams.append(stream)
                elif error.status in (403, 404):
                    # No Gateway API (404): no waypoint. Forbidden: ambient clients are taken
                    # to have none, and the warning says so.
                    if error.status == 403:
                        self.warnings.append(
                            f"{self.name}: cannot list Gateway API gateways (403): waypoints "
                            "are not seen, ambient clients are taken to go through none"
                        )
                else:
                    raise error
        forbidden: list[_Stream] = []
        with ThreadPoolExecutor(max_workers=5, thread_name_prefix="list") as pool:
            for stream, error in zip(streams, pool.map(self._try_list, streams), strict=True):
                if error is None:
                    self.streams.append(stream)
                elif error.status == 403:
                    forbidden.append(stream)
                elif error.status == 404:
                    # Not served: the cluster has none of them, which the analysis may rely on.
                    self.absent[stream.kind.kind] = "not served (404)"
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

    def _wanted_namespaces(self) -> set[str]:
        """Where the Istio config lives: the namespaces pods and services are read in when
        they cannot be listed cluster-wide."""
        return {
            r.meta.ref.namespace for r in list(self.mesh.destination_rules) + list(self.mesh.routes)
        }

    def _fall_back(self, forbidden: list[_Stream]) -> None:
        wanted = sorted(self._wanted_namespaces())
        for stream in forbidden:
            if not stream.kind.namespaced:
                self.absent[stream.kind.kind] = "forbidden (403)"
                self.warnings.append(
                    f"{self.name}: cannot list {stream.kind.plural} (403); subsets that select "
                    "on node topology labels are not judged"
                )
                continue
            kind = stream.kind
            if stream.namespace is not None:
                self.unseen.setdefault(kind.kind, set()).add(stream.namespace)
                self.warnings.append(
                    f"{self.name}: cannot list {kind.plural} in namespace {stream.namespace} (403)"
                )
                continue
            self.per_namespace[kind] = set(wanted)
            unseen = self.unseen.setdefault(kind.kind, set())
            for namespace in wanted:
                sub = self._stream(kind, namespace)
                error = self._try_list(sub)
                if error is None:
                    self.streams.append(sub)
                elif error.status == 403:
                    unseen.add(namespace)
                else:
                    raise error
            note = (
                f"{self.name}: cannot list {kind.plural} cluster-wide (403); "
                f"read them in {', '.join(n for n in wanted if n not in unseen) or 'no namespace'}"
            )
            if unseen:
                note += f"; could not see namespaces {', '.join(sorted(unseen))}"
            self.warnings.append(note)

    def _extend(self, namespace: str) -> None:
        """Istio config appeared in `namespace`: read there the kinds that could not be listed
        cluster-wide (list, then watch), as the first load did for the namespaces it saw."""
        spawn = self.spawn
        if spawn is None:
            return
        with self.lock:
            for kind, namespaces in self.per_namespace.items():
                if namespace in namespaces:
                    continue
                namespaces.add(namespace)
                sub = self._stream(kind, namespace)
                sub.listed = False
                spawn(sub)

    # -- what is known -----------------------------------------------------------------

    def kind_states(self) -> list[KindState]:
        """Per kind: watched, listed, stale, forbidden or absent, and where it was not seen."""
        kinds = (list(ISTIO_KINDS) if self.istio_version else []) + list(CORE_KINDS)
        out = []
        with self.lock:
            streams = list(self.streams)
            failing = dict(self.failing)
            if not self.istio_version:
                out += [
                    KindState(self.name, k.kind, ABSENT, "Istio CRDs not installed")
                    for k in ISTIO_KINDS
                ]
            for kind in kinds:
                name = kind.kind
                mine = [s for s in streams if s.kind == kind]
                unseen = tuple(sorted(self.unseen.get(name, ())))
                read_in = (
                    tuple(sorted(s.namespace for s in mine if s.namespace))
                    if kind in self.per_namespace
                    else None
                )
                since = [failing[s.path] for s in mine if s.path in failing]
                if name in self.absent:
                    out.append(KindState(self.name, name, ABSENT, self.absent[name]))
                elif (kind.istio and (unseen or kind in self.per_namespace)) or (
                    not mine and unseen
                ):
                    # An Istio kind missed anywhere is not read: a DestinationRule of any
                    # namespace may apply to a host, a VirtualService of any may route to it.
                    # Pods and services are known per namespace by the core.
                    where = (
                        "cluster-wide" if kind in self.per_namespace else "in " + ", ".join(unseen)
                    )
                    out.append(
                        KindState(
                            self.name,
                            name,
                            FORBIDDEN,
                            f"forbidden {where} (403)",
                            None,
                            unseen,
                            read_in,
                        )
                    )
                elif since:
                    out.append(
                        KindState(
                            self.name, name, STALE, self.last_error, min(since), unseen, read_in
                        )
                    )
                else:
                    state = WATCHING if all(s.watching for s in mine) else LISTED
                    out.append(KindState(self.name, name, state, "", None, unseen, read_in))
        return out

    # -- watching ----------------------------------------------------------------------

    def follow(
        self, stream: _Stream, stop: threading.Event, notify: Callable[[set[str]], None]
    ) -> None:
        """Watch one stream until `stop`: reconnect with backoff, relist on 410 Gone.

        `notify(hosts)` gets the hosts whose analysis changed; an empty set when only the
        findings of loading changed (a resource became readable or unreadable). A stream
        found after start-up (a new namespace) is listed first."""
        failures = 0
        while not stop.is_set():
            seen_round = self._round
            error: ClusterError | None
            try:
                if not stream.listed:
                    if not self._first_list(stream, notify):
                        return
                    continue
                events = self.reader.watch(
                    stream.path, stream.resource_version, stop, WATCH_SECONDS, WATCH_QUIET_SECONDS
                )
                if self._recovered(stream):
                    notify(set())  # the status changed (connecting or failing to live)
                failures = 0
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
            except WatchSilent as err:
                # A silent stream is a dead one: say so now, and open it again at once.
                self._failed(stream, err)
                continue
            except ClusterError as err:
                error = self._relist(stream, notify) if err.status == 410 else err
            if stop.is_set():
                return
            if error is None:
                continue
            self._failed(stream, error)
            self._pause(backoff(failures), stop, seen_round)
            failures += 1

    def _first_list(self, stream: _Stream, notify: Callable[[set[str]], None]) -> bool:
        """List a stream found after start-up; False when it is forbidden (then said)."""
        try:
            changed = self._list(stream)
        except ClusterError as err:
            if err.status != 403:
                raise
            with self.lock:
                self.unseen.setdefault(stream.kind.kind, set()).add(stream.namespace or "")
            notify(set())
            return False
        with self.lock:
            stream.listed = True
            self.streams.append(stream)
            if stream.kind.kind == "Pod" and stream.namespace is not None:
                self.mesh.workloads.mark_known([stream.namespace])
                # Every host of the namespace now has known workloads: analyse them again.
                self.mesh.load(())
        notify(changed)
        return True

    def _pause(self, seconds: float, stop: threading.Event, seen_round: int) -> None:
        """Wait before a retry, cut short by `stop` or by another stream getting through."""
        deadline = time.monotonic() + seconds
        with self._wake:
            while not stop.is_set() and self._round == seen_round:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._wake.wait(left)

    def wake(self) -> None:
        """End every stream's backoff now (the server answered again, or stop)."""
        with self._wake:
            self._round += 1
            self._wake.notify_all()

    def _relist(self, stream: _Stream, notify: Callable[[set[str]], None]) -> ClusterError | None:
        with self.lock:
            stream.watching = False  # not live while it is read again
        try:
            changed = self._list(stream)
        except ClusterError as err:
            return err
        self._recovered(stream)
        notify(changed)
        return None

    def _recovered(self, stream: _Stream) -> bool:
        """The stream is read again; whether that changed the status of the cluster."""
        with self.lock:
            first = not stream.watching
            stream.watching = True
            was_failing = self.failing.pop(stream.path, None) is not None
        if was_failing:
            self.wake()  # the server answers again: the other streams retry at once
        return first or was_failing

    def _failed(self, stream: _Stream, err: ClusterError) -> None:
        with self.lock:
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
        if kind != "DELETED" and stream.kind.kind in ("DestinationRule", "VirtualService"):
            self._extend(ref.namespace)
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
        """`live` only while every stream is watched; `connecting` before that."""
        with self.lock:
            failing = list(self.failing.values())
            watching = all(s.watching for s in self.streams)
        if not failing:
            return "live" if watching else "connecting"
        since = min(failing)
        if time.time() - since < STALE_AFTER:
            return "reconnecting"
        return "stale since " + time.strftime("%H:%M:%S", time.localtime(since))


def backoff(failures: int) -> float:
    """Seconds before the next try after `failures` failed ones: doubling up to the cap, with
    jitter (half to all of the step) so that watches do not retry in step."""
    return BACKOFF[min(failures, len(BACKOFF) - 1)] * random.uniform(0.5, 1.0)


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
        self._notify: Callable[[set[str]], None] | None = None
        self._loaded = False
        scope = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        self.label = f"context {', '.join(self.contexts) or '(current)'} ({scope})"

    def _connect(self) -> list[Cluster]:
        """New clients for every context (the kubeconfig read again: credentials may have
        been renewed since the last load)."""
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
        return clusters

    def _label(self, clusters: list[Cluster]) -> str:
        names = ", ".join(c.name for c in clusters)
        scope = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        return f"context {names} ({scope})"

    def preflight(self) -> None:
        clusters = self._connect()
        self.label = self._label(clusters)
        for cluster in clusters:
            try:
                cluster.reader.get("/version")
            except ClusterError as err:
                raise LoadError(f"context {cluster.name}: {err}") from err

    def load(self) -> list[Mesh]:
        """Read every context anew. Only once that succeeded does it replace what is shown
        and watched: a failed reload raises LoadError and leaves the running source as it
        was, its watches still following (and retrying) the clusters."""
        clusters = self._connect()
        with ThreadPoolExecutor(max_workers=len(clusters), thread_name_prefix="cluster") as pool:
            futures = [pool.submit(cluster.load) for cluster in clusters]
        for cluster, future in zip(clusters, futures, strict=True):
            try:
                future.result()
            except ClusterError as err:
                prefix = "reload failed: " if self._loaded else ""
                raise LoadError(f"{prefix}context {cluster.name}: {err}") from err
        self.stop()
        self._stop = threading.Event()
        with self.lock:
            self.clusters = clusters
            self.label = self._label(clusters)
            self.meshes = [c.mesh for c in clusters]
            self.warnings = [w for c in clusters for w in c.warnings]
        self._loaded = True
        if self._notify is not None:
            self.watch(self._notify)  # a reload while watching: follow the new clusters
        return self.meshes

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        """Follow every stream of every cluster (once: calling it again changes nothing)."""
        self._notify = notify
        for cluster in self.clusters:
            if cluster.spawn is not None:
                continue
            stop = self._stop

            def spawn(stream: _Stream, cluster: Cluster = cluster, stop=stop) -> None:
                thread = threading.Thread(
                    target=cluster.follow,
                    args=(stream, stop, notify),
                    name=f"watch {cluster.name} {stream.path}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

            cluster.spawn = spawn
            for stream in list(cluster.streams):
                spawn(stream)

    def stop(self) -> None:
        self._stop.set()
        for cluster in self.clusters:
            cluster.wake()
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
        worst = worst or next((s for s in states if s == "connecting"), None)
        return worst or "live"

    @property
    def problem(self) -> str:
        """What is wrong while the status is not live (for a banner), else ""."""
        return "; ".join(
            f"context {c.name}: {c.last_error}" for c in self.clusters if c.failing and c.last_error
        )

    def kind_states(self) -> list[KindState]:
        with self.lock:
            clusters = list(self.clusters)
        return [state for c in clusters for state in c.kind_states()]
