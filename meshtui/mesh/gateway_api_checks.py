"""Findings about Gateway API routes: their parents and backends, the listeners that admit
them, VirtualServices that name a Kubernetes Gateway, and what a Gateway API route changes for
the clients whose sidecars use it (subset policy bypassed, a VirtualService ignored).

The rules come from pilot/pkg/config/kube/gateway (route_collections.go, conversion.go,
gateway_collection.go) and the Gateway API's own conditions (Accepted, ResolvedRefs); the
routing verdicts are the routing table's (meshtui.mesh.routing), never recomputed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import SEVERITY, Code, Finding, Severity
from meshtui.mesh.gateway_api import admitting_listeners, granted
from meshtui.mesh.resources import (
    ISTIO_NETWORKING_GROUP,
    KUBERNETES_GATEWAY,
    Gateway,
    GatewayRoute,
    KubernetesGateway,
    ObjectRef,
    Origin,
    ReferenceGrant,
    Resource,
    VirtualService,
)
from meshtui.mesh.routes import MESH_GATEWAY, RouteIndex, RouteRef, gateway_ref, visibility
from meshtui.mesh.routing import HostRoutes, RoutingTable, first_wins, gateway_api_clients

_BACKEND_KINDS = {("", "Service"), (ISTIO_NETWORKING_GROUP, "Hostname")}


class GatewayApiMesh(Protocol):
    """What the checks read of the mesh index."""

    cluster: str | None
    gateway_routes: Mapping[ObjectRef, GatewayRoute]
    kubernetes_gateways: Mapping[ObjectRef, KubernetesGateway]
    reference_grants: Mapping[ObjectRef, ReferenceGrant]
    gateways: Mapping[ObjectRef, Gateway]
    routes: RouteIndex
    table: RoutingTable

    @property
    def scope(self) -> ClientSet: ...

    def get(self, ref: ObjectRef) -> Resource | None: ...


def _missing_level(mesh: GatewayApiMesh) -> Severity:
    # Offline, an object missing from the files may exist in the cluster.
    return Severity.ERROR if mesh.cluster is not None else Severity.WARNING


def route_findings(mesh: GatewayApiMesh, domain: str) -> list[Finding]:
    """Parents, backends and listener admission of every Gateway API route."""
    out: list[Finding] = []
    grants = list(mesh.reference_grants.values())
    for ref in sorted(mesh.gateway_routes, key=str):
        route = mesh.gateway_routes[ref]
        origin = route.meta.origin

        def finding(
            code: Code,
            message: str,
            path: tuple,
            level: Severity | None = None,
            ref: ObjectRef = ref,
            origin: Origin = origin,
        ) -> None:
            out.append(
                Finding.at(
                    level or SEVERITY[code],
                    code,
                    f"{ref}: {message}",
                    resource=ref,
                    origin=origin,
                    path=path,
                )
            )

        if not route.parents:
            finding(
                Code.ROUTE_WITHOUT_PARENT,
                "has no parentRefs, so no Gateway and no sidecar uses it",
                ("spec",),
            )
        has_gateway_parent = False
        for parent in route.parents:
            if not parent.mesh and not parent.gateway:
                finding(
                    Code.UNSUPPORTED_REF_KIND,
                    f"parentRef {parent.group or 'core'}/{parent.kind} {parent.name} is not a "
                    "kind Istio attaches routes to (Gateway, Service, ServiceEntry); pilot "
                    "skips it",
                    parent.path,
                )
                continue
            found = mesh.get(parent.ref)
            if found is None:
                what = "Gateway" if parent.gateway else parent.kind
                finding(
                    Code.ROUTE_PARENT_NOT_FOUND,
                    f"parent {what} {parent.namespace}/{parent.name} does not exist, so pilot "
                    "builds nothing from the route for it",
                    parent.path,
                    _missing_level(mesh),
                )
                continue
            if isinstance(found, KubernetesGateway):
                has_gateway_parent = True
                _, why = admitting_listeners(found, parent, route)
                if why:
                    finding(
                        Code.ROUTE_NOT_ADMITTED,
                        f"Gateway {parent.namespace}/{parent.name} does not admit it: {why}",
                        parent.path,
                    )
        for i, status in enumerate(route.status):
            parent_ref = status.get("parentRef")
            parent = parent_ref.get("name", "?") if isinstance(parent_ref, Mapping) else "?"
            for j, condition in enumerate(status.get("conditions") or ()):
                if not isinstance(condition, Mapping) or condition.get("status") != "False":
                    continue
                if condition.get("type") not in ("Accepted", "ResolvedRefs"):
                    continue
                finding(
                    Code.ROUTE_CONDITION_FALSE,
                    f"the controller reports {condition.get('type')}=False for parent "
                    f"{parent} (reason {condition.get('reason', '?')}): "
                    f"{condition.get('message', '')}".rstrip(": "),
                    ("status", "parents", i, "conditions", j),
                )
        for rule in route.rules:
            for b in rule.backends:
                if (b.group, b.kind) not in _BACKEND_KINDS and b.kind != "ServiceEntry":
                    finding(
                        Code.UNSUPPORTED_REF_KIND,
                        f"backendRef {b.group or 'core'}/{b.kind} {b.name} is not a kind Istio "
                        "routes to (Service, Hostname, ServiceEntry): its share answers 500",
                        b.path,
                    )
                    continue
                if b.kind != "Service":
                    continue
                if mesh.get(ObjectRef("Service", b.namespace, b.name)) is None:
                    finding(
                        Code.BACKEND_NOT_FOUND,
                        f"backend Service {b.namespace}/{b.name} does not exist: pilot keeps "
                        f"its share ({b.weight}) of the rule's traffic and answers it with 500",
                        b.path,
                        _missing_level(mesh),
                    )
                elif (
                    has_gateway_parent
                    and b.namespace != route.meta.ref.namespace
                    and not granted(grants, route, b)
                ):
                    finding(
                        Code.BACKEND_REF_NOT_PERMITTED,
                        f"backend Service {b.namespace}/{b.name} is in another namespace and no "
                        f"ReferenceGrant in {b.namespace} allows {route.meta.ref.kind}s of "
                        f"{route.meta.ref.namespace} to refer to it: its share answers 500 at "
                        "the gateway",
                        b.path,
                    )
    return out


def kubernetes_gateway_bindings(mesh: GatewayApiMesh) -> list[Finding]:
    """VirtualServices whose `gateways` name a Kubernetes Gateway (and no Istio Gateway of
    that name): pilot's gateways look VSs up by the generated Istio Gateway name (pkg/config/
    gateway/kube InternalGatewayName, `gw~istio-autogenerated-k8s-gateway~listener`), so they
    bind to nothing."""
    out = []
    if not mesh.kubernetes_gateways:
        return out
    for vs in mesh.routes:
        if vs.gateway_semantics:
            continue
        namespace = vs.meta.ref.namespace
        for i, name in enumerate(vs.gateways):
            ref = gateway_ref(name, namespace)
            if name == MESH_GATEWAY or ref is None or ref in mesh.gateways:
                continue
            k8s = ObjectRef(KUBERNETES_GATEWAY, ref.namespace, ref.name)
            gateway = mesh.kubernetes_gateways.get(k8s)
            if gateway is None:
                continue
            listeners = [lst.name for lst in gateway.listeners] or ["<listener>"]
            internal = ", ".join(
                f"{ref.namespace}/{ref.name}~istio-autogenerated-k8s-gateway~{lst}"
                for lst in listeners
            )
            out.append(
                Finding(
                    Code.VIRTUAL_SERVICE_ON_KUBERNETES_GATEWAY,
                    f"{vs.meta.ref}: gateways[{i}] {name!r} is a Kubernetes Gateway "
                    f"({ref.namespace}/{ref.name}), which VirtualServices cannot bind to: the "
                    "gateway looks them up by the Istio Gateway it generates per listener, so "
                    "these routes carry no traffic through it (istioctl analyze is silent). "
                    f"Fix: write an HTTPRoute with parentRefs [{{name: {ref.name}, namespace: "
                    f"{ref.namespace}}}] and these rules; binding to the generated name "
                    f"({internal}) works but is internal and flagged by istioctl (IST0165)",
                    resource=vs.meta.ref,
                    origin=vs.meta.origin,
                    path=("spec", "gateways", i),
                )
            )
    return out


def host_findings(
    mesh: GatewayApiMesh, host: str, routes: HostRoutes, rule: ConsolidatedRule | None
) -> list[Finding]:
    """What the Gateway API routes that carry `host`'s traffic change for their clients."""
    gateway_api = [r for r in routes.live if r.gateway_api and r.kind != "mirror"]
    out: list[Finding] = []
    if gateway_api and rule is not None:
        out += _bypassed_subsets(host, gateway_api, routes.live, rule)
    out += _mixed_sources(mesh, host)
    return out


def _bypassed_subsets(
    host: str, gateway_api: list[RouteRef], live: tuple[RouteRef, ...], rule: ConsolidatedRule
) -> list[Finding]:
    clients = ClientSet.none()
    sources: dict[ObjectRef, None] = {}
    for r in gateway_api:
        clients |= r.clients
        sources[r.written_in] = None
    out = []
    for subset, dr in rule.subsets:
        if not subset.traffic_policy:
            continue
        reached = ClientSet.none()
        for r in live:
            if r.subset == subset.name:
                reached |= r.clients
        dead = clients - reached
        if not dead or not reached:
            continue  # applied for no client at all: SubsetPolicyNeverApplied says so
        names = ", ".join(str(s) for s in sources)
        out.append(
            Finding(
                Code.SUBSET_POLICY_BYPASSED,
                f"subset {subset.name}'s trafficPolicy is never applied for {dead.describe()}: "
                f"their sidecars route {host} by {names}, whose backends name Services, never "
                "subsets (the DestinationRule's top-level and port-level policy still apply). "
                "Fix: give each version its own Service and send to it as a backendRef (the "
                "Gateway API way), or route those clients with a VirtualService naming subset "
                f"{subset.name}",
                host=host,
                subset=subset.name,
                resource=dr.meta.ref,
                origin=dr.meta.origin,
                path=subset.path,
                clients=dead,
            )
        )
    return out


def _label(vs: VirtualService) -> str:
    kind = vs.source_kind or "VirtualService"
    return f"{kind} {vs.meta.ref.namespaced_name}"


def _mixed_sources(mesh: GatewayApiMesh, host: str) -> list[Finding]:
    claims = mesh.routes.claims(host)
    generated = [vs for vs in claims if vs.gateway_semantics]
    native = [vs for vs in claims if not vs.gateway_semantics]
    out = []
    for g in generated:
        for n in native:
            # Sidecars keep one of them; a waypoint takes both in a row (waypoint_routes).
            both = gateway_api_clients(g) & visibility(n) & mesh.scope
            both &= first_wins(mesh.table.dataplane)
            if not both:
                continue
            g_users = mesh.table.host_users(g, host) & both
            n_users = mesh.table.host_users(n, host) & both
            parts = []
            if g_users:
                own = (
                    "a Gateway API route of the clients' own namespace comes first"
                    if not g_users.everyone and g_users.names == {g.meta.ref.namespace}
                    else "it is the older"
                )
                parts.append(f"{g_users.describe()} use {_label(g)} ({own}) and ignore {_label(n)}")
            if n_users:
                parts.append(f"{n_users.describe()} use {_label(n)} and ignore {_label(g)}")
            if not parts:
                continue
            ignored = n if g_users else g
            out.append(
                Finding(
                    Code.MIXED_ROUTE_SOURCES,
                    f"{_label(g)} and {_label(n)} both claim {host}: " + "; ".join(parts),
                    host=host,
                    resource=ignored.meta.ref,
                    origin=ignored.meta.origin,
                    path=("spec", "hosts") if ignored is n else ("spec", "parentRefs"),
                    clients=g_users if ignored is n else n_users,
                )
            )
    return out
