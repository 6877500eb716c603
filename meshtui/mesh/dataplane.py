"""Each client's data plane: which proxy applies VirtualServices and DestinationRules for it.

meshtui's routing table (meshtui.mesh.routing) was written for sidecars that import every
host. This module says, per client namespace, what actually sends its requests, and the table
asks it two questions: who applies any L7 config to a host at all, and who imports a given
VirtualService for it. The rules, from Istio's source:

- **Sidecar or ambient** (pkg/config/analysis/analyzers/util/in_mesh.go; the injector's
  namespaceSelector): `istio-injection=enabled` or `istio.io/rev` makes sidecar clients;
  otherwise `istio.io/dataplane-mode=ambient` makes ambient clients (ztunnel); anything else is
  out of the mesh (no proxy: nothing applies). Offline, files often leave labels to `kubectl
  label`, so a namespace without mesh labels in the files is assumed to have sidecars (and the
  analysis says so); live, the labels decide.
- **Ambient clients** go through the destination's waypoint, if it has one
  (pilot/pkg/serviceregistry/ambient/waypoints.go fetchWaypointForTarget: the Service's
  `istio.io/use-waypoint`, else its namespace's; `none` opts out; `istio.io/use-waypoint-
  namespace` names another namespace; the waypoint must exist, have an address and take service
  traffic, `istio.io/waypoint-for` service or all). Without one ztunnel applies no VirtualService
  and no DestinationRule. A waypoint applies the VirtualServices of the service's or its own
  namespace (pilot/pkg/networking/core/listener_waypoint.go getVirtualServiceForWaypoint), all
  that match, not the first; it looks DestinationRules up as a proxy of its own namespace.
- **Sidecar scope** (pilot/pkg/model/sidecar.go convertIstioListenerToWrapper, selectServices;
  virtualservice.go SelectVirtualServices; push_context.go getSidecarScope): a namespace's
  selector-less Sidecar, else the root namespace's, read as if in the client's namespace (`.`);
  egress hosts `ns/host` import services by the Service's namespace and VirtualServices by the
  VirtualService's own namespace (`*` any namespace, `~ns/host` excludes). A host not imported
  has no route and no cluster: passthrough or blackhole by outboundTrafficPolicy.

Pod-level overrides and workloadSelector Sidecars apply to one workload (`--client ns/workload`);
namespace views take the namespace's labels and selector-less Sidecar, and say where the
namespace's workloads override them (`mixed`). Live, Namespaces or Sidecars that could not be
read leave the data plane unknown (`unread`): clients are taken to have sidecars, and said so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.objects import SIDECAR_INJECT
from meshtui.mesh.resources import (
    Namespace,
    ObjectRef,
    Resource,
    Service,
    ServiceEntry,
    Sidecar,
    VirtualService,
    Waypoint,
    Workload,
)
from meshtui.mesh.sidecar_scope import Scope, ScopeIndex, read_scope

# Stands for every namespace nothing here names (no resource can have this name).
_UNNAMED = "\x00unnamed"
INJECTION = "istio-injection"
REVISION = "istio.io/rev"
DATAPLANE_MODE = "istio.io/dataplane-mode"
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"

Registry = Callable[[str], Service | ServiceEntry | None]


class Mode(Enum):
    SIDECAR = "sidecar"
    AMBIENT = "ambient"
    OUTSIDE = "out of the mesh"


def mode_of(
    labels: dict[str, str] | None, pod: dict[str, str] | None = None, live: bool = False
) -> tuple[Mode, bool]:
    """The data plane of a namespace with these labels (and of a pod with `pod` labels in it),
    and whether it is only assumed (offline, no mesh label at all: sidecar)."""
    ns = labels or {}
    pod = pod or {}
    injection = ns.get(INJECTION)
    # The injector's webhook: the namespace label first; `istio-injection=disabled` wins over
    # anything the pod says, `sidecar.istio.io/inject=false` opts a pod out, `=true` in.
    injected = injection == "enabled" or (REVISION in ns and injection != "disabled")
    if pod.get(SIDECAR_INJECT) == "false":
        injected = False
    elif pod.get(SIDECAR_INJECT) == "true" and injection != "disabled":
        injected = True
    if injected:
        return Mode.SIDECAR, False
    pod_mode = pod.get(DATAPLANE_MODE)
    if pod_mode == "none":
        return Mode.OUTSIDE, False
    if pod_mode == "ambient" or ns.get(DATAPLANE_MODE) == "ambient":
        return Mode.AMBIENT, False
    explicit = injection is not None or DATAPLANE_MODE in ns or SIDECAR_INJECT in pod
    if explicit or live:
        return Mode.OUTSIDE, False
    return Mode.SIDECAR, True


def pod_labels(workload: Workload) -> dict[str, str]:
    """The labels that decide a workload's data plane, with the injector's reading of the
    `sidecar.istio.io/inject` annotation (pkg/kube/inject/webhook.go injectRequired: the label
    wins over the annotation). An annotation `false` opts the pod out of an injected
    namespace; `true` adds nothing: the webhook that would read it is called only for
    namespaces with an injection label, or for pods with the label (its objectSelector)."""
    labels = dict(workload.labels)
    if SIDECAR_INJECT not in labels and workload.inject == "false":
        labels[SIDECAR_INJECT] = "false"
    return labels


def speaks_for_itself(workload: Workload) -> bool:
    """Whether a workload carries anything `mode_of` reads from a pod (the labels, or the
    inject annotation `pod_labels` reads as one); without it, its namespace decides."""
    labels = workload.labels
    return SIDECAR_INJECT in labels or DATAPLANE_MODE in labels or workload.inject == "false"


@frozen
class WaypointUse:
    """The waypoint a service's ambient clients go through, or why none (`problem`)."""

    ref: ObjectRef | None  # kind Waypoint; None: no waypoint
    named: str = ""  # `ns/name` the labels name, when they name one
    problem: str = ""  # why the named waypoint is not used


class DataPlane:
    """What decides each client namespace's data plane, kept up to date with the index."""

    def __init__(self, config: MeshConfig, registry: Registry, live: Callable[[], bool]) -> None:
        self.config = config
        self.registry = registry
        self.live = live
        self.namespaces: dict[str, Namespace] = {}
        self.sidecars: dict[ObjectRef, Sidecar] = {}
        self.waypoints: dict[ObjectRef, Waypoint] = {}
        self._memo: dict[object, object] = {}
        # `--client ns/workload`: that namespace's clients are read as this pod (its labels
        # decide its data plane, its Sidecar by workloadSelector); (namespace, name, labels).
        self.pod: tuple[str, str, dict[str, str]] | None = None
        # Set by a live source that could not read Namespaces or Sidecars (403): why. Clients
        # are then taken to have sidecars importing every host, and the views say so.
        self.labels_unread = ""
        self.sidecars_unread = ""

    def unread(self) -> str:
        """What of the data plane could not be read, for notes ("" when all was read)."""
        missing = [m for m in (self.labels_unread, self.sidecars_unread) if m]
        if not missing:
            return ""
        taken = "clients taken to have sidecars" if self.labels_unread else "Sidecars unknown"
        return f"data plane unread: {'; '.join(missing)} ({taken})"

    def set_pod(self, namespace: str, name: str, labels: dict[str, str]) -> None:
        self.pod = (namespace, name, dict(labels))
        self._memo.clear()

    def clear_pod(self) -> None:
        self.pod = None
        self._memo.clear()

    def _pod_labels(self, namespace: str, pod: dict[str, str] | None) -> dict[str, str] | None:
        if pod is None and self.pod is not None and self.pod[0] == namespace:
            return self.pod[2]
        return pod

    # -- keeping up -------------------------------------------------------------------------

    def add(self, resource: Resource) -> bool:
        """Index a resource if it decides a data plane; True if it does."""
        if isinstance(resource, Namespace):
            self.namespaces[resource.meta.ref.name] = resource
        elif isinstance(resource, Sidecar):
            self.sidecars[resource.meta.ref] = resource
        elif isinstance(resource, Waypoint):
            self.waypoints[resource.meta.ref] = resource
        else:
            return False
        self._memo.clear()
        return True

    def remove(self, resource: Resource) -> bool:
        ref = resource.meta.ref
        if isinstance(resource, Namespace):
            self.namespaces.pop(ref.name, None)
        elif isinstance(resource, Sidecar):
            self.sidecars.pop(ref, None)
        elif isinstance(resource, Waypoint):
            self.waypoints.pop(ref, None)
        else:
            return False
        self._memo.clear()
        return True

    def changed(self) -> None:
        """Services or ServiceEntries changed: their waypoint labels may have."""
        self._memo.clear()

    @property
    def trivial(self) -> bool:
        """Nothing here changes who applies what: every client a sidecar importing all."""
        return not self.sidecars and not self._special() and self.pod is None

    # -- who is what ------------------------------------------------------------------------

    def mode(self, namespace: str, pod: dict[str, str] | None = None) -> Mode:
        found = self.namespaces.get(namespace)
        labels = dict(found.labels) if found else None
        pod = self._pod_labels(namespace, pod)
        return mode_of(labels, pod, self.live() and found is not None)[0]

    def _namespace_mode(self, namespace: str, pod: dict[str, str]) -> Mode:
        """The data plane of a pod with `pod` labels in `namespace`, whatever `--client` says."""
        found = self.namespaces.get(namespace)
        labels = dict(found.labels) if found else None
        return mode_of(labels, pod, self.live() and found is not None)[0]

    def overrides(self, workload: Workload) -> bool:
        """Whether a workload's own labels give it another data plane than its namespace's."""
        if not speaks_for_itself(workload):
            return False
        namespace = workload.meta.ref.namespace
        own = self._namespace_mode(namespace, pod_labels(workload))
        return own is not self._namespace_mode(namespace, {})

    def split(
        self, namespace: str, workloads: Iterable[Workload]
    ) -> tuple[Mode, dict[Mode, list[str]]]:
        """The namespace's data plane, and its workloads (`Kind name`) by their own."""
        default = self._namespace_mode(namespace, {})
        split: dict[Mode, list[str]] = {}
        for w in workloads:
            # Most workloads say nothing of their own: no lookup for those.
            mode = (
                self._namespace_mode(namespace, pod_labels(w)) if speaks_for_itself(w) else default
            )
            split.setdefault(mode, []).append(f"{w.meta.ref.kind} {w.meta.ref.name}")
        return default, split

    def mixed_short(self, namespace: str, workloads: Iterable[Workload]) -> str:
        """For a header: "mixed: 1 of 3 workloads sidecar" ("" when none overrides)."""
        default, split = self.split(namespace, workloads)
        total = sum(len(names) for names in split.values())
        others = [f"{len(split[m])} {m.value}" for m in Mode if m is not default and m in split]
        return f"mixed: {' and '.join(others)} of {total} workloads" if others else ""

    def mixed(self, namespace: str, workloads: Iterable[Workload]) -> str:
        """How the workloads of `namespace` split by data plane, when some of them override
        its labels ("" when none does): each has its own proxy, or none (the injector and
        ztunnel decide per pod), while a namespace's view follows the namespace's labels."""
        default, split = self.split(namespace, workloads)
        if set(split) <= {default}:
            return ""
        total = sum(len(names) for names in split.values())
        parts = [f"{len(split[default])} {default.value}"] if default in split else []
        for mode in Mode:
            names = sorted(split.get(mode, ()))
            if mode is default or not names:
                continue
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            parts.append(f"{len(names)} {mode.value} ({shown})")
        return (
            f"{namespace}: workloads of mixed data planes, {' and '.join(parts)} of {total}; "
            f"views of {namespace} follow its Namespace's labels ({default.value}): "
            f"--client {namespace}/WORKLOAD takes one workload's own"
        )

    def _special(self) -> dict[str, Mode]:
        """The namespaces whose clients are not sidecars (a finite list: they have labels)."""
        key = ("special",)
        found = self._memo.get(key)
        if found is None:
            live = self.live()
            found = {
                name: m
                for name, ns in self.namespaces.items()
                if (m := mode_of(dict(ns.labels), None, live)[0]) is not Mode.SIDECAR
            }
            if self.pod is not None:  # the client workload's own labels decide for it
                found.pop(self.pod[0], None)
                if (m := self.mode(self.pod[0])) is not Mode.SIDECAR:
                    found[self.pod[0]] = m
            self._memo[key] = found
        return found  # type: ignore[return-value]

    def clients(self, mode: Mode) -> ClientSet:
        key = ("clients", mode)
        found = self._memo.get(key)
        if found is None:
            special = self._special()
            if mode is Mode.SIDECAR:
                found = ClientSet(True, frozenset(special))
            else:
                found = ClientSet.of(n for n, m in special.items() if m is mode)
            self._memo[key] = found
        return found  # type: ignore[return-value]

    def assumed(self, namespaces: Iterable[str]) -> list[str]:
        """Of `namespaces`, those whose sidecars are only assumed (offline, no mesh label)."""
        if self.live():
            return sorted(n for n in set(namespaces) if n not in self.namespaces)
        out = []
        for n in set(namespaces):
            found = self.namespaces.get(n)
            if mode_of(dict(found.labels) if found else None)[1]:
                out.append(n)
        return sorted(out)

    def describe(self, namespace: str, pod: dict[str, str] | None = None) -> str:
        """The data plane of clients in `namespace`, for a header: "ambient", "sidecar"..."""
        found = self.namespaces.get(namespace)
        labels = dict(found.labels) if found else None
        pod = self._pod_labels(namespace, pod)
        mode, assumed = mode_of(labels, pod, self.live() and found is not None)
        if assumed and self.labels_unread:
            return f"sidecar, assumed: {self.labels_unread}"
        if assumed:
            return "sidecar, assumed: no mesh labels"
        if mode is Mode.AMBIENT:
            return "ambient: ztunnel, or the service's waypoint where it has one"
        return mode.value

    # -- waypoints --------------------------------------------------------------------------

    def waypoint(self, host: str) -> WaypointUse:
        """The waypoint ambient clients of `host` go through (fetchWaypointForService)."""
        key = ("waypoint", host)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._waypoint(self.registry(host))
        return found  # type: ignore[return-value]

    def _waypoint(self, service: Service | ServiceEntry | None) -> WaypointUse:
        if service is None:
            return WaypointUse(None)
        namespace = service.meta.ref.namespace
        own = service.labels if isinstance(service, Service) else {}
        labels: dict[str, str] = dict(own)
        if USE_WAYPOINT not in labels:
            ns = self.namespaces.get(namespace)
            labels = dict(ns.labels) if ns else {}
        name = labels.get(USE_WAYPOINT)
        if not name or name == "none":
            return WaypointUse(None)
        ref = ObjectRef("Waypoint", labels.get(USE_WAYPOINT_NAMESPACE, namespace), name)
        named = ref.namespaced_name
        waypoint = self.waypoints.get(ref)
        if waypoint is None:
            return WaypointUse(None, named, f"waypoint {named} does not exist")
        if waypoint.ready is False:
            return WaypointUse(None, named, f"waypoint {named} is not ready (no address)")
        if waypoint.traffic_for not in ("service", "all"):
            return WaypointUse(
                None,
                named,
                f"waypoint {named} takes {waypoint.traffic_for} traffic, not service traffic",
            )
        return WaypointUse(ref, named)

    # -- Sidecar scope ----------------------------------------------------------------------

    def scope(self, namespace: str) -> Scope | None:
        """The egress scope of sidecars in `namespace` (None: they import every host)."""
        key = ("scope", namespace)
        if key in self._memo:
            return self._memo[key]  # type: ignore[return-value]
        sidecar = self.sidecar_for(namespace)
        found = self._memo[key] = read_scope(sidecar, namespace) if sidecar else None
        return found

    def sidecar_for(self, namespace: str, pod: dict[str, str] | None = None) -> Sidecar | None:
        """push_context.go getSidecarScope: a Sidecar of the namespace selecting the pod (oldest
        first), else its selector-less one, else the root namespace's selector-less one."""
        pod = self._pod_labels(namespace, pod)
        if pod is not None:
            return self._sidecar_for(namespace, pod)
        key = ("sidecar", namespace)
        if key not in self._memo:
            self._memo[key] = self._sidecar_for(namespace, None)
        return self._memo[key]  # type: ignore[return-value]

    def _sidecar_for(self, namespace: str, pod: dict[str, str] | None) -> Sidecar | None:

        def order(s: Sidecar) -> tuple[str, str]:
            return (s.meta.creation_timestamp, s.meta.ref.name)

        own = sorted(
            (s for s in self.sidecars.values() if s.meta.ref.namespace == namespace), key=order
        )
        if pod is not None:
            for s in own:
                sel = s.workload_selector
                if sel and all(pod.get(k) == v for k, v in sel.items()):
                    return s
        for s in own:
            if not s.workload_selector:
                return s
        root = self.config.root_namespace
        for s in sorted(self.sidecars.values(), key=order):
            if s.meta.ref.namespace == root and not s.workload_selector:
                return s
        return None

    def _named(self) -> set[str]:
        key = ("named",)
        found = self._memo.get(key)
        if found is None:
            found = {s.meta.ref.namespace for s in self.sidecars.values()} | set(self._special())
            if self.pod is not None:
                found.add(self.pod[0])
            self._memo[key] = found
        return found  # type: ignore[return-value]

    def _scope_index(self) -> ScopeIndex:
        """The named namespaces' scopes (and the unnamed ones'), inverted: who imports every
        host of a namespace (`ns/*`), who imports everything (`*/*`, or no Sidecar), and the
        few scopes whose entries need a look per host (named hosts, wildcards, `~`). Built
        once per change, so asking who imports a host costs the size of the answer."""
        key = ("index",)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = ScopeIndex()
            for n in (*self._named(), _UNNAMED):
                found.add(n, self.scope(n))
        return found  # type: ignore[return-value]

    def _split(
        self, test: Callable[[Scope], bool], namespace: str, extra: Iterable[str]
    ) -> ClientSet:
        """The namespaces whose scope passes `test` (imports from `namespace`), every unnamed
        one answering as one; `extra` namespaces are asked one by one."""
        index = self._scope_index()
        named = self._named()
        yes = index.importers(namespace, test)
        for n in extra:
            if n not in named:
                named = named | {n}
                s = self.scope(n)
                if s is None or test(s):
                    yes.add(n)
        if _UNNAMED in yes:
            yes.discard(_UNNAMED)
            return ClientSet(True, frozenset(named - yes))
        return ClientSet.of(yes)

    def importers(self, host: str) -> ClientSet:
        """The sidecar namespaces whose Sidecar scope imports the service of `host`."""
        key = ("importers", host)
        found = self._memo.get(key)
        if found is None:
            service = self.registry(host)
            if service is None:
                # No Service or ServiceEntry: no proxy has a cluster for it whatever its
                # Sidecar says; scoping takes nobody's routes away (the trace says why).
                found = self._memo[key] = ClientSet.all()
            else:
                owner = service.meta.ref.namespace
                # With only `ns/*`-style scopes the answer is the same for every host of a
                # namespace: kept per namespace.
                wide = ("importers of", owner) if not self._scope_index().detailed else key
                found = self._memo.get(wide)
                if found is None:
                    found = self._memo[wide] = self._split(
                        lambda s: s.imports_service(owner, host), owner, [owner]
                    )
                self._memo[key] = found
        return found  # type: ignore[return-value]

    # -- the table's questions --------------------------------------------------------------

    def appliers(self, host: str) -> ClientSet:
        """Who applies any VirtualService or DestinationRule to `host`: sidecars importing it,
        and ambient clients when it has a waypoint."""
        key = ("appliers", host)
        found = self._memo.get(key)
        if found is None:
            found = self.clients(Mode.SIDECAR) & self.importers(host)
            if self.waypoint(host).ref is not None:
                found |= self.clients(Mode.AMBIENT)
            self._memo[key] = found
        return found  # type: ignore[return-value]

    def first_wins(self) -> ClientSet:
        """Clients that keep the first VirtualService for a host (sidecars); a waypoint
        concatenates the routes of every VirtualService it takes."""
        return self.clients(Mode.SIDECAR)

    def narrow(
        self, visible: ClientSet, vs: VirtualService, vs_hosts: Iterable[str], host: str
    ) -> ClientSet:
        """Of the clients `vs` is visible to, those whose proxy takes it for `host`: sidecars
        whose scope imports the host's service and the VS (by the VS's namespace); and every
        ambient client when the host's waypoint takes it (the service's or the waypoint's
        namespace, exported to the waypoint's)."""
        if self.trivial:
            return visible
        vs_ns = vs.meta.ref.namespace
        hosts = tuple(vs_hosts)

        out = visible & self.clients(Mode.SIDECAR) & self.importers(host)
        if self.sidecars and out:
            key = (
                ("vs-importers", vs.meta.ref, hosts)
                if self._scope_index().detailed
                else ("vs-importers of", vs_ns)
            )
            found = self._memo.get(key)
            if found is None:
                found = self._memo[key] = self._split(
                    lambda s: s.imports_virtual_service(vs_ns, hosts), vs_ns, [vs_ns]
                )
            out &= found  # type: ignore[operator]
        if self.waypoint_takes(vs, host) and visible_to(visible, self.waypoint(host).ref):
            out |= self.clients(Mode.AMBIENT)
        return out

    def waypoint_takes(self, vs: VirtualService, host: str) -> bool:
        """Whether the host's waypoint (if any) takes `vs`: the service's or its namespace."""
        use = self.waypoint(host)
        if use.ref is None:
            return False
        service = self.registry(host)
        allowed = {use.ref.namespace, service.meta.ref.namespace if service else ""}
        return vs.meta.ref.namespace in allowed

    def policy_namespace(
        self,
        namespace: str,
        host: str,
        mode: Mode | None = None,
        pod: dict[str, str] | None = None,
    ) -> str | None:
        """The namespace whose DestinationRule lookup applies for clients in `namespace`
        (None: they apply none): their own for sidecars, the waypoint's for ambient ones."""
        mode = mode or self.mode(namespace, pod)
        if mode is Mode.OUTSIDE:
            return None
        if mode is Mode.AMBIENT:
            use = self.waypoint(host)
            return use.ref.namespace if use.ref is not None else None
        if pod is not None:  # the workload's own Sidecar (workloadSelector) decides
            sidecar = self.sidecar_for(namespace, pod)
            scope = read_scope(sidecar, namespace) if sidecar else None
            service = self.registry(host)
            if scope is None or service is None:
                return namespace
            owner = service.meta.ref.namespace
            return namespace if scope.imports_service(owner, host) else None
        return namespace if namespace in self.importers(host) else None

    def pod_imports(
        self, namespace: str, pod: dict[str, str], vs: VirtualService, vs_hosts: Iterable[str]
    ) -> bool:
        """Whether a workload's own Sidecar imports `vs` (by the VirtualService's namespace)."""
        sidecar = self.sidecar_for(namespace, pod)
        scope = read_scope(sidecar, namespace) if sidecar else None
        return scope is None or scope.imports_virtual_service(vs.meta.ref.namespace, vs_hosts)

    def proxy(
        self, namespace: str, host: str, mode: Mode, pod: dict[str, str] | None = None
    ) -> str:
        """Which proxy decides a request of a client in `namespace` to `host`, for a trace."""
        if mode is Mode.OUTSIDE:
            return (
                f"no proxy: {namespace} is out of the mesh (no VirtualService or DestinationRule)"
            )
        if mode is Mode.AMBIENT:
            use = self.waypoint(host)
            if use.ref is None:
                why = f": {use.problem}" if use.problem else " (the service has no waypoint)"
                return f"ztunnel: no L7 routing and no DestinationRule policy{why}"
            return f"waypoint {use.named}"
        if self.policy_namespace(namespace, host, mode, pod) is None:
            return (
                f"sidecar in {namespace}: its Sidecar does not import {host} (no route, no "
                "DestinationRule: passthrough or blackhole by outboundTrafficPolicy)"
            )
        return f"sidecar in {namespace}"

    def why_not(
        self,
        host: str,
        clients: ClientSet,
        vs: VirtualService | None = None,
        vs_hosts: Iterable[str] = (),
        name: str | None = None,
    ) -> str:
        """Why `clients` apply no VirtualService (`vs`, or any) or DestinationRule to `host`."""
        parts = []
        use = self.waypoint(host)
        ambient = clients & self.clients(Mode.AMBIENT)
        if ambient and use.ref is None:
            why = use.problem or "the service has no waypoint"
            parts.append(
                f"ambient {ambient.describe()} go through ztunnel, which applies no "
                f"VirtualService or DestinationRule ({why})"
            )
        elif ambient and vs is not None and not self.waypoint_takes(vs, host):
            service = self.registry(host)
            owner = service.meta.ref.namespace if service else "?"
            own = use.ref.namespace if use.ref else "?"
            where = (
                f"{owner} (the service's and the waypoint's namespace)"
                if own == owner
                else f"{owner} (the service's namespace) or {own} (the waypoint's)"
            )
            parts.append(
                f"ambient {ambient.describe()} go through waypoint {use.named}, which applies "
                f"only VirtualServices of {where}, not of {vs.meta.ref.namespace}"
            )
        outside = clients & self.clients(Mode.OUTSIDE)
        if outside:
            parts.append(f"{outside.describe()} are out of the mesh (no proxy)")
        sidecars = clients & self.clients(Mode.SIDECAR)
        hidden = sidecars - self.importers(host)
        if hidden:
            parts.append(f"the Sidecar of {hidden.describe()} does not import {name or host}")
        elif sidecars and vs is not None and self.sidecars:
            left_out = sidecars - self.narrow(sidecars, vs, vs_hosts, host)
            if left_out:
                parts.append(
                    f"the Sidecar of {left_out.describe()} does not import VirtualServices of "
                    f"namespace {vs.meta.ref.namespace} for this host"
                )
        return "; ".join(parts)

    def instead(self, host: str, clients: ClientSet) -> str:
        """Where requests of `clients`, whose proxy applies no config to `host`, go."""
        parts = []
        ambient = clients & self.clients(Mode.AMBIENT)
        if ambient:
            parts.append(f"ztunnel sends requests of ambient {ambient.describe()} to any pod")
        outside = clients & self.clients(Mode.OUTSIDE)
        if outside:
            parts.append(f"{outside.describe()} (out of the mesh) reach any pod directly")
        hidden = clients & self.clients(Mode.SIDECAR) - self.importers(host)
        for ns in hidden.names if not hidden.everyone else ():
            sidecar = self.sidecar_for(ns)
            if sidecar is not None and sidecar.outbound_mode == "REGISTRY_ONLY":
                parts.append(
                    f"requests of clients in {ns} are blocked (their Sidecar's "
                    "outboundTrafficPolicy is REGISTRY_ONLY: 502)"
                )
            else:
                parts.append(
                    f"requests of clients in {ns} leave by the passthrough cluster (unless the "
                    "mesh's outboundTrafficPolicy is REGISTRY_ONLY: then 502)"
                )
        if not parts:
            return ""
        return "; ".join(parts) + ", with no DestinationRule policy at all"

    def summary(self, host: str, scope: ClientSet) -> tuple[str, ...]:
        """Who applies the host's routes and DestinationRule, for the tree and the report:
        "sidecar clients in ... apply them", "ambient clients in web bypass them: ..."."""
        unread = (self.unread(),) if self.unread() else ()
        if self.trivial:
            return unread
        importers = self.importers(host)
        if not scope - (self.clients(Mode.SIDECAR) & importers):
            # Every client of the view is a sidecar that applies it: nothing to say, whatever
            # other namespaces are (an unlabelled one out of the mesh concerns only itself).
            return unread
        use = self.waypoint(host)
        # The same for every host with these importers and this waypoint (sets kept per
        # namespace), so kept by them: the text names no host.
        key = ("summary", importers, use, scope)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._summary(host, scope)
        return unread + found  # type: ignore[operator]

    def _summary(self, host: str, scope: ClientSet) -> tuple[str, ...]:
        out = []
        sidecars = scope & self.clients(Mode.SIDECAR) & self.importers(host)
        if sidecars:
            out.append(f"applied by sidecar {sidecars.describe()}")
        ambient = scope & self.clients(Mode.AMBIENT)
        use = self.waypoint(host)
        if ambient and use.ref is not None:
            out.append(f"applied by waypoint {use.named} for ambient {ambient.describe()}")
        bypass = scope - self.appliers(host)
        if bypass:
            out.append(f"bypassed: {self.why_not(host, bypass, name='it')}")
        return tuple(out)


def visible_to(clients: ClientSet, ref: ObjectRef | None) -> bool:
    return ref is not None and ref.namespace in clients
