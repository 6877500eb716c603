"""Which VirtualService routes reach which host and subset (the explicit-route index).

A subset's cluster receives traffic only through a route whose destination names the subset:
`http[].route`, `tcp[].route`, `tls[].route`, and mirrors (`http[].mirror`, `mirrors[]`).
Routes of a delegate VirtualService count for the root that delegates to it, bound to the
root's gateways. A weight-0 destination beside others gets no traffic (pilot drops it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.hosts import MeshConfig, resolve_host
from meshtui.mesh.reachability import RuleIssue, rule_issues
from meshtui.mesh.resources import Destination, ObjectRef, Origin, Path, Route, VirtualService

MESH_GATEWAY = "mesh"


def gateway_ref(name: str, namespace: str) -> ObjectRef | None:
    """The Gateway a VirtualService in `namespace` binds to by `name` (None for `mesh`).

    pilot/pkg/model/virtualservice.go resolveGatewayName: `ns/name` (`./name` is the VS's own
    namespace), a short name in the VS's namespace, or the legacy `name.ns[.svc...]` form.
    """
    if name == MESH_GATEWAY:
        return None
    if "/" in name:
        ns, _, short = name.partition("/")
        return ObjectRef("Gateway", namespace if ns == "." else ns, short)
    if "." in name:
        short, _, rest = name.partition(".")
        return ObjectRef("Gateway", rest.split(".")[0], short)
    return ObjectRef("Gateway", namespace, name)


@dataclass(frozen=True, slots=True)
class RouteRef:
    """One destination of one route, resolved: what reaches `host` (and `subset`)."""

    virtual_service: ObjectRef
    kind: str  # "http", "tcp", "tls" or "mirror"
    route_index: int
    route_name: str
    host: str
    subset: str
    port: int | None
    weight: int  # effective percentage of the route's traffic (mirrored share for mirrors)
    gateways: tuple[str, ...]
    match: str
    origin: Origin
    path: Path
    delegate: ObjectRef | None = None  # the delegate VS the route was written in
    unreachable: str = ""  # why the rule can never match ("" when it can)

    @property
    def reachable(self) -> bool:
        return not self.unreachable

    @property
    def carries_traffic(self) -> bool:
        # A mirror with an explicit 0% sends nothing to the subset's cluster (pilot sets no
        # request mirror policy for it), so it does not count either.
        return self.weight > 0

    @property
    def mesh_bound(self) -> bool:
        return MESH_GATEWAY in self.gateways

    def describe(self) -> str:
        where = f" (delegate {self.delegate.namespaced_name})" if self.delegate else ""
        name = f" {self.route_name!r}" if self.route_name else ""
        return f"{self.virtual_service} {self.kind}[{self.route_index}]{name}{where}"


def effective_weights(destinations: tuple[Destination, ...]) -> list[int]:
    """Percentages of a route's traffic per destination, as pilot builds weighted clusters."""
    if len(destinations) == 1:
        return [100]
    weights = [d.weight or 0 for d in destinations]
    total = sum(w for w in weights if w > 0)
    if total == 0:
        return [0] * len(weights)
    return [round(w * 100 / total) if w > 0 else 0 for w in weights]


def visible_anywhere(vs: VirtualService) -> bool:
    return not vs.export_to or any(e != "~" for e in vs.export_to)


def exported_to(vs: VirtualService, namespace: str) -> bool:
    """Whether `namespace` sees `vs` (a delegate is used only by roots it is exported to)."""
    own = vs.meta.ref.namespace
    return not vs.export_to or any(
        e == "*" or e == namespace or (e == "." and own == namespace) for e in vs.export_to
    )


def _route_gateways(route: Route, vs_gateways: tuple[str, ...]) -> tuple[str, ...]:
    if route.match_gateways:
        return tuple(dict.fromkeys(route.match_gateways))
    return vs_gateways or (MESH_GATEWAY,)


def _refs(
    vs: VirtualService,
    gateways: tuple[str, ...],
    config: MeshConfig,
    root: VirtualService,
    delegate: ObjectRef | None,
    unreachable: Mapping[tuple[str, int], str],
    outer: str = "",
) -> list[RouteRef]:
    namespace = vs.meta.ref.namespace
    out = []
    for route in vs.routes:
        if route.delegate is not None:
            continue
        route_gateways = _route_gateways(route, gateways)
        why = outer or unreachable.get((route.kind, route.index), "")
        for dest, weight in zip(
            route.destinations, effective_weights(route.destinations), strict=True
        ):
            out.append(
                RouteRef(
                    root.meta.ref,
                    route.kind,
                    route.index,
                    route.name,
                    resolve_host(dest.host, namespace, config.domain),
                    dest.subset,
                    dest.port,
                    weight,
                    route_gateways,
                    route.match,
                    vs.meta.origin,
                    dest.path,
                    delegate,
                    why,
                )
            )
        for mirror in route.mirrors:
            out.append(
                RouteRef(
                    root.meta.ref,
                    "mirror",
                    route.index,
                    route.name,
                    resolve_host(mirror.host, namespace, config.domain),
                    mirror.subset,
                    mirror.port,
                    mirror.weight if mirror.weight is not None else 100,
                    route_gateways,
                    route.match,
                    vs.meta.origin,
                    mirror.path,
                    delegate,
                    why,
                )
            )
    return out


def is_mesh_bound(vs: VirtualService) -> bool:
    """Whether sidecars use `vs` at all (pilot's getGatewayNames: no gateways means mesh)."""
    return not vs.gateways or MESH_GATEWAY in vs.gateways


def visibility(vs: VirtualService) -> ClientSet:
    """The client namespaces `vs` is exported to (pilot's initVirtualServices).

    `*` anywhere makes it public; otherwise `~` hides it; otherwise the names (`.` is its own
    namespace). No exportTo is the mesh default, public.
    """
    export = vs.export_to
    if not export or "*" in export:
        return ClientSet.all()
    if "~" in export:
        return ClientSet.none()
    own = vs.meta.ref.namespace
    return ClientSet.of(own if e == "." else e for e in export)


def _order_key(vs: VirtualService) -> tuple[str, str, str]:
    # pilot/pkg/model/config.go configCompareByCreationTime: creation time, name, namespace.
    return (vs.meta.creation_timestamp, vs.meta.ref.name, vs.meta.ref.namespace)


def precedes(first: VirtualService, then: VirtualService) -> ClientSet:
    """The clients whose sidecars take `first` before `then` when both claim a host.

    pilot/pkg/model/virtualservice.go SelectVirtualServices: the VSs private to the client's
    namespace, then those exported to it by name, then the public ones, each list in
    creation order (virtualservice_controller.go sortMergedVirtualServicesByCreationTime).
    """
    a, b = visibility(first), visibility(then)
    if a.everyone and b.everyone:
        return ClientSet.all() if _order_key(first) < _order_key(then) else ClientSet.none()
    if a.everyone:
        return ClientSet.none()  # `then` is private or exported wherever it is seen
    if b.everyone:
        return a
    out = []
    for ns in a.names & b.names:
        rank_a = 0 if ns == first.meta.ref.namespace else 1
        rank_b = 0 if ns == then.meta.ref.namespace else 1
        if (rank_a, _order_key(first)) < (rank_b, _order_key(then)):
            out.append(ns)
    return ClientSet.of(out)


class RouteIndex:
    """Route references by destination host, kept up to date as VirtualServices change.

    Beside the routes it keeps which mesh-bound VirtualServices claim which hosts, so it can say
    which one a client's sidecar uses for a host (the first claim wins; pilot's httproute.go
    drops later ones as "duplicate domain"), and which rules can never match.
    """

    def __init__(self, config: MeshConfig) -> None:
        self.config = config
        self._services: dict[ObjectRef, VirtualService] = {}
        self._refs: dict[ObjectRef, list[RouteRef]] = {}
        self._by_host: dict[str, list[RouteRef]] = defaultdict(list)
        self._delegated_by: dict[ObjectRef, set[ObjectRef]] = defaultdict(set)
        # resolved host -> the mesh-bound VirtualServices whose `hosts` name it
        self._claims: dict[str, set[ObjectRef]] = defaultdict(set)
        self._issues: dict[ObjectRef, list[RuleIssue]] = {}
        self._users: dict[tuple[ObjectRef, str], ClientSet] = {}

    def __len__(self) -> int:
        return len(self._services)

    def __iter__(self):
        return iter(self._services.values())

    def get(self, ref: ObjectRef) -> VirtualService | None:
        return self._services.get(ref)

    def routes_to(self, host: str) -> list[RouteRef]:
        return self._by_host.get(host, [])

    def refs_of(self, ref: ObjectRef) -> list[RouteRef]:
        """Every route reference a root VirtualService (with its delegates) makes."""
        return self._refs.get(ref, [])

    def hosts(self) -> set[str]:
        return {h for h, refs in self._by_host.items() if refs}

    def contested_hosts(self) -> set[str]:
        """Hosts that several mesh-bound VirtualServices claim (candidates for IST0109)."""
        return {h for h, claims in self._claims.items() if len(claims) > 1}

    def claims(self, host: str) -> list[VirtualService]:
        """The mesh-bound VirtualServices naming `host` in their `hosts`, in pilot's order."""
        out = [self._services[r] for r in self._claims.get(host, ())]
        return sorted(out, key=_order_key)

    def rule_issues(self, ref: ObjectRef) -> list[RuleIssue]:
        return self._issues.get(ref, [])

    def users(self, vs: VirtualService, host: str | None = None) -> ClientSet:
        """Whose sidecars use `vs` for `host` (for any of its hosts when None)."""
        if host is None:
            out = ClientSet.none()
            for h in self._vs_hosts(vs):
                out |= self.users(vs, h)
            return out
        key = (vs.meta.ref, host)
        cached = self._users.get(key)
        if cached is None:
            cached = visibility(vs) if is_mesh_bound(vs) and vs.hosts else ClientSet.none()
            for other in self.claims(host):
                if other.meta.ref != vs.meta.ref and cached:
                    cached = cached - (precedes(other, vs) & visibility(other))
            self._users[key] = cached
        return cached

    def hosts_bound_to(self, gateway: ObjectRef) -> set[str]:
        """Hosts with a route bound to `gateway` (`ns/name`, or a short name in the VS's ns)."""
        out = set()
        for host, refs in self._by_host.items():
            for r in refs:
                if any(gateway_ref(g, r.virtual_service.namespace) == gateway for g in r.gateways):
                    out.add(host)
                    break
        return out

    def _vs_hosts(self, vs: VirtualService) -> list[str]:
        namespace = vs.meta.ref.namespace
        return [resolve_host(h, namespace, self.config.domain) for h in vs.hosts]

    def add(self, vs: VirtualService) -> set[str]:
        """Add or replace a VirtualService; returns the hosts whose routes changed."""
        affected = self._drop(vs.meta.ref)
        self._services[vs.meta.ref] = vs
        self._issues[vs.meta.ref] = rule_issues(vs.routes)
        for route in vs.routes:
            if route.delegate is not None:
                self._delegated_by[route.delegate].add(vs.meta.ref)
        if is_mesh_bound(vs) and visible_anywhere(vs):
            for host in self._vs_hosts(vs):
                self._claims[host].add(vs.meta.ref)
        affected |= self._index(vs.meta.ref)
        # A delegate changed: its roots' references change with it.
        for root in self._delegated_by.get(vs.meta.ref, ()):
            affected |= self._reindex(root)
        return affected | self._contest(vs)

    def remove(self, ref: ObjectRef) -> set[str]:
        if ref not in self._services:
            return set()
        affected = self._drop(ref)
        del self._services[ref]
        self._issues.pop(ref, None)
        for root in list(self._delegated_by.get(ref, ())):
            affected |= self._reindex(root)
        return affected

    def _contest(self, vs: VirtualService) -> set[str]:
        """Hosts whose analysis depends on who wins the hosts `vs` claims."""
        self._users.clear()
        affected = set()
        for host in self._vs_hosts(vs):
            claims = self._claims.get(host, ())
            if len(claims) > 1:
                affected.add(host)  # its ConflictingVirtualServices findings change
            for ref in claims:
                affected |= {r.host for r in self._refs.get(ref, ())}
        return affected

    def _reindex(self, ref: ObjectRef) -> set[str]:
        return self._unindex(ref) | self._index(ref)

    def _drop(self, ref: ObjectRef) -> set[str]:
        old = self._services.get(ref)
        if old is None:
            return set()
        for route in old.routes:
            if route.delegate is not None:
                self._delegated_by[route.delegate].discard(ref)
        affected = self._contest(old)
        for host in self._vs_hosts(old):
            claims = self._claims.get(host)
            if claims is not None:
                claims.discard(ref)
                if not claims:
                    del self._claims[host]
        return affected | self._unindex(ref)

    def _unindex(self, ref: ObjectRef) -> set[str]:
        refs = self._refs.pop(ref, [])
        hosts = {r.host for r in refs}
        for host in hosts:
            self._by_host[host] = [r for r in self._by_host[host] if r.virtual_service != ref]
            if not self._by_host[host]:
                del self._by_host[host]
        return hosts

    def _unreachable(self, ref: ObjectRef) -> dict[tuple[str, int], str]:
        return {(i.kind, i.index): i.reason for i in self._issues.get(ref, ()) if i.unreachable}

    def _index(self, ref: ObjectRef) -> set[str]:
        vs = self._services.get(ref)
        # A VirtualService without hosts is a delegate: it routes only through a root.
        if vs is None or not vs.hosts or not visible_anywhere(vs):
            return set()
        gateways = vs.gateways or (MESH_GATEWAY,)
        unreachable = self._unreachable(ref)
        refs = _refs(vs, gateways, self.config, vs, None, unreachable)
        for route in vs.routes:
            child = self._services.get(route.delegate) if route.delegate else None
            if child is not None and not child.hosts and exported_to(child, ref.namespace):
                # A delegate's rules are tried only when the root's delegating rule matches.
                outer = unreachable.get((route.kind, route.index), "")
                refs += _refs(
                    child,
                    _route_gateways(route, gateways),
                    self.config,
                    vs,
                    child.meta.ref,
                    self._unreachable(child.meta.ref),
                    f"the delegating rule {route.kind}[{route.index}]: {outer}" if outer else "",
                )
                # pilot's mergeHTTPRoute: a delegate route without a mirror takes the root's.
                if route.mirrors and any(not r.mirrors for r in child.routes if r.kind == "http"):
                    inherited = replace(route, destinations=(), delegate=None)
                    refs += _refs(
                        replace(vs, routes=(inherited,)),
                        gateways,
                        self.config,
                        vs,
                        None,
                        unreachable,
                    )
        self._refs[ref] = refs
        for r in refs:
            self._by_host[r.host].append(r)
        return {r.host for r in refs}
