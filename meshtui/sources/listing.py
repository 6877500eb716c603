"""Reading one cluster: discovery, paginated lists of every kind the analysis needs, and what
could not be read (403 falls back to the namespaces the Istio config lives in; 404 is a kind
the cluster does not serve). The mesh it fills is kept current by watching.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import (
    GATEWAY_API_GROUP,
    ISTIO_NETWORKING_GROUP,
    ISTIO_NETWORKING_VERSIONS,
    InvalidField,
    ObjectRef,
    Origin,
    Resource,
    format_path,
    keeping_ref,
    parse_object,
)
from meshtui.sources import ABSENT, FORBIDDEN, LISTED, STALE, WATCHING, KindState
from meshtui.sources.kinds import (
    CORE_KINDS,
    GATEWAY_API_KINDS,
    ISTIO_KINDS,
    NAMESPACE,
    Kind,
    trim,
)
from meshtui.sources.kube import ClusterError, Reader, _gc_paused
from meshtui.sources.watching import Stream, Watching

_Item = tuple[ObjectRef, str, Resource | InvalidField]


class Cluster(Watching):
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
        self.streams: list[Stream] = []
        self.warnings: list[str] = []
        self.istio_version: str | None = None
        # The served version of each Gateway API kind (plural); empty: not installed.
        self.gateway_api_versions: dict[str, str] = {}
        self.notes: list[str] = []
        # Per failing stream: when its failure was noticed, and since when its data may be
        # out of date (the last byte its watch received; a hang is noticed a silence later).
        self.failing: dict[str, tuple[float, float]] = {}
        self.on_recovered: Callable[[Cluster], None] | None = None  # wakes the other clusters
        self.down = False  # could not be read at start-up: an empty mesh, retried
        self.last_error = ""
        self.invalid: dict[ObjectRef, Finding] = {}
        self.absent: dict[str, str] = {}  # kind -> why: the cluster does not serve it
        self.forbidden: dict[str, str] = {}  # cluster-scoped kind -> why it cannot be read
        self.unseen: dict[str, set[str]] = {}  # kind -> namespaces it is forbidden in
        self.per_namespace: dict[Kind, set[str]] = {}  # forbidden cluster-wide: read where
        self.spawn: Callable[[Stream], None] | None = None  # follows a stream, once watching
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

    def discover_gateway_api(self) -> None:
        """The version each Gateway API kind is served at (the first of the group's versions,
        preferred first, that lists it). A cluster without the CRDs is normal: a note."""
        try:
            group = self.reader.get(f"/apis/{GATEWAY_API_GROUP}")
        except ClusterError as err:
            if err.status != 404:
                raise
            self.notes.append(f"{self.name}: Gateway API not installed")
            return
        preferred = (group.get("preferredVersion") or {}).get("version")
        served = [v.get("version") for v in group.get("versions") or [] if isinstance(v, dict)]
        for version in sorted(served, key=lambda v: v != preferred):
            try:
                listing = self.reader.get(f"/apis/{GATEWAY_API_GROUP}/{version}")
            except ClusterError as err:
                if err.status != 404:
                    raise
                continue
            for resource in listing.get("resources") or ():
                name = resource.get("name") if isinstance(resource, dict) else None
                if isinstance(name, str) and "/" not in name:
                    self.gateway_api_versions.setdefault(name, version)

    def _path(self, kind: Kind, namespace: str | None) -> tuple[str, str]:
        if kind.gateway_api:
            version = self.gateway_api_versions.get(kind.plural, "v1")
            base = f"/apis/{kind.group}/{version}"
            api_version = f"{kind.group}/{version}"
        elif kind.istio:
            base = f"/apis/{kind.group}/{self.istio_version}"
            api_version = f"{kind.group}/{self.istio_version}"
        else:
            base, api_version = "/api/v1", "v1"
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{scope}/{kind.plural}", api_version

    def _stream(self, kind: Kind, namespace: str | None) -> Stream:
        path, api_version = self._path(kind, namespace)
        return Stream(kind, path, api_version, namespace)

    def _parse(self, stream: Stream, item: Any) -> _Item | None:
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

    def _list(self, stream: Stream, *, initial: bool = False) -> set[str]:
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
        old = self.mesh.get(result.meta.ref)
        if old is not None:
            result = keeping_ref(result, old.meta.ref)
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
        self.discover_gateway_api()
        gateway_api = [
            self._stream(k, ns if k.namespaced else None)
            for k in GATEWAY_API_KINDS
            if k.plural in self.gateway_api_versions and (k.namespaced or not self.namespaces)
            for ns in (scopes if k.namespaced else [None])
        ]
        streams = (istio if self.istio_version else []) + core + gateway_api
        forbidden: list[Stream] = []
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

    def _try_list(self, stream: Stream) -> ClusterError | None:
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

    def _fall_back(self, forbidden: list[Stream]) -> None:
        wanted = sorted(self._wanted_namespaces())
        for stream in forbidden:
            if stream.kind == NAMESPACE:
                # Their labels decide the clients' data plane: unknown, not "no label".
                self.forbidden[NAMESPACE.kind] = "forbidden cluster-wide (403)"
                self.mesh.dataplane.labels_unread = "Namespaces not readable (403)"
                self.warnings.append(
                    f"{self.name}: cannot list namespaces (403); the clients' data plane is "
                    "unread: they are taken to have sidecars, and the findings about ambient "
                    "clients and waypoints are withheld"
                )
                continue
            if not stream.kind.namespaced:
                self.absent[stream.kind.kind] = "forbidden (403)"
                self.warnings.append(
                    f"{self.name}: cannot list {stream.kind.plural} (403); subsets that select "
                    "on node topology labels are not judged"
                )
                continue
            kind = stream.kind
            if kind.kind == "Sidecar":
                # Which Sidecar scopes a client cannot be known (any namespace may have one).
                self.mesh.dataplane.sidecars_unread = "Sidecars not readable (403)"
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
        if self.down:
            return []  # nothing read yet: its status says so, not each kind
        kinds = (list(ISTIO_KINDS) if self.istio_version else []) + list(CORE_KINDS)
        kinds += [k for k in GATEWAY_API_KINDS if k.plural in self.gateway_api_versions]
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
                since = [failing[s.path][1] for s in mine if s.path in failing]
                if name in self.absent:
                    out.append(KindState(self.name, name, ABSENT, self.absent[name]))
                elif name in self.forbidden:
                    out.append(KindState(self.name, name, FORBIDDEN, self.forbidden[name]))
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


def _invalid(result: InvalidField) -> Finding:
    return Finding(
        Code.INVALID_RESOURCE,
        f"{result.ref} is ignored: {format_path(result.path)} {result.message}",
        resource=result.ref,
        origin=result.origin,
        path=result.path,
    )
