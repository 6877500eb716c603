"""Which VirtualService routes reach which host and subset (the explicit-route index).

A subset's cluster receives traffic only through a route whose destination names the subset:
`http[].route`, `tcp[].route`, `tls[].route`, and mirrors (`http[].mirror`, `mirrors[]`).
Routes of a delegate VirtualService count for the root that delegates to it, bound to the
root's gateways. A weight-0 destination beside others gets no traffic (pilot drops it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from meshtui.mesh.hosts import MeshConfig, resolve_host
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
) -> list[RouteRef]:
    namespace = vs.meta.ref.namespace
    out = []
    for route in vs.routes:
        if route.delegate is not None:
            continue
        route_gateways = _route_gateways(route, gateways)
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
                )
            )
    return out


class RouteIndex:
    """Route references by destination host, kept up to date as VirtualServices change."""

    def __init__(self, config: MeshConfig) -> None:
        self.config = config
        self._services: dict[ObjectRef, VirtualService] = {}
        self._refs: dict[ObjectRef, list[RouteRef]] = {}
        self._by_host: dict[str, list[RouteRef]] = defaultdict(list)
        self._delegated_by: dict[ObjectRef, set[ObjectRef]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._services)

    def __iter__(self):
        return iter(self._services.values())

    def get(self, ref: ObjectRef) -> VirtualService | None:
        return self._services.get(ref)

    def routes_to(self, host: str) -> list[RouteRef]:
        return self._by_host.get(host, [])

    def hosts(self) -> set[str]:
        return {h for h, refs in self._by_host.items() if refs}

    def hosts_bound_to(self, gateway: ObjectRef) -> set[str]:
        """Hosts with a route bound to `gateway` (`ns/name`, or a short name in the VS's ns)."""
        out = set()
        for host, refs in self._by_host.items():
            for r in refs:
                if any(gateway_ref(g, r.virtual_service.namespace) == gateway for g in r.gateways):
                    out.add(host)
                    break
        return out

    def add(self, vs: VirtualService) -> set[str]:
        """Add or replace a VirtualService; returns the hosts whose routes changed."""
        affected = self._drop(vs.meta.ref)
        self._services[vs.meta.ref] = vs
        for route in vs.routes:
            if route.delegate is not None:
                self._delegated_by[route.delegate].add(vs.meta.ref)
        affected |= self._index(vs.meta.ref)
        # A delegate changed: its roots' references change with it.
        for root in self._delegated_by.get(vs.meta.ref, ()):
            affected |= self._reindex(root)
        return affected

    def remove(self, ref: ObjectRef) -> set[str]:
        if ref not in self._services:
            return set()
        affected = self._drop(ref)
        del self._services[ref]
        for root in list(self._delegated_by.get(ref, ())):
            affected |= self._reindex(root)
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
        return self._unindex(ref)

    def _unindex(self, ref: ObjectRef) -> set[str]:
        refs = self._refs.pop(ref, [])
        hosts = {r.host for r in refs}
        for host in hosts:
            self._by_host[host] = [r for r in self._by_host[host] if r.virtual_service != ref]
            if not self._by_host[host]:
                del self._by_host[host]
        return hosts

    def _index(self, ref: ObjectRef) -> set[str]:
        vs = self._services.get(ref)
        # A VirtualService without hosts is a delegate: it routes only through a root.
        if vs is None or not vs.hosts or not visible_anywhere(vs):
            return set()
        gateways = vs.gateways or (MESH_GATEWAY,)
        refs = _refs(vs, gateways, self.config, vs, None)
        for route in vs.routes:
            child = self._services.get(route.delegate) if route.delegate else None
            if child is not None and not child.hosts and exported_to(child, ref.namespace):
                refs += _refs(
                    child, _route_gateways(route, gateways), self.config, vs, child.meta.ref
                )
                # pilot's mergeHTTPRoute: a delegate route without a mirror takes the root's.
                if route.mirrors and any(not r.mirrors for r in child.routes if r.kind == "http"):
                    inherited = replace(route, destinations=(), delegate=None)
                    refs += _refs(replace(vs, routes=(inherited,)), gateways, self.config, vs, None)
        self._refs[ref] = refs
        for r in refs:
            self._by_host[r.host].append(r)
        return {r.host for r in refs}
