"""Gateway API routes as pilot reads them: the VirtualServices it generates from them.

Pilot never routes by an HTTPRoute directly: it converts each route into internal
VirtualServices (pilot/pkg/config/kube/gateway/route_collections.go HTTPRouteCollection,
conversion.go convertHTTPRoute) that then take part in sidecar routing like any other, with
"gateway semantics" (model.UseGatewaySemantics). meshtui does the same, so that Gateway API
routes are entries of the one routing table (meshtui.mesh.routing), never a second model:

- a *mesh* route (parent a Service or ServiceEntry) becomes one VirtualService per route
  namespace, parent port and host; the routes of one namespace on one parent are merged,
  oldest first, and their rules re-sorted by Gateway API precedence (sortHTTPRoutes);
- a rule with N matches becomes N rules of one match each; `parentRef.port` adds a port match
  (augmentPortMatch);
- backends never name a subset (buildDestination): default weight 1, weight 0 dropped, all
  zero answers 500 (convertHTTPRoute, "no >0 weight backends").

- a *gateway* route (parent a Kubernetes Gateway) becomes one VirtualService per admitting
  listener and host, bound to the Istio Gateway pilot generates for that listener
  (gateway_collection.go, InternalGatewayName), which meshtui generates too.

The findings about routes (parents, backends, listeners) are meshtui.mesh.gateway_api_checks'.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.hosts import service_host
from meshtui.mesh.resources import (
    GATEWAY_API_GROUP,
    ISTIO_NETWORKING_GROUP,
    KUBERNETES_GATEWAY,
    BackendRef,
    Destination,
    Gateway,
    GatewayRoute,
    GatewayServer,
    KubernetesGateway,
    Listener,
    Meta,
    ObjectRef,
    ParentRef,
    ReferenceGrant,
    Resource,
    Route,
    RouteRule,
    ServiceEntry,
    VirtualService,
)

Lookup = Callable[[ObjectRef], Resource | None]
# Whether a gateway route may refer to a backend (ReferenceGrant), by route and backend.
Grants = Callable[[GatewayRoute, BackendRef], bool]
Permitted = Callable[[BackendRef], bool]
HTTP_KINDS = ("HTTPRoute", "GRPCRoute")
MESH_GATEWAY = "mesh"


def backend_host(b: BackendRef, domain: str) -> str | None:
    """The host a backend sends to (conversion.go buildDestination): a Service's FQDN, an Istio
    `Hostname` taken literally, a ServiceEntry's name is not a host; None for other kinds."""
    if b.group == "" and b.kind == "Service":
        return service_host(b.name, b.namespace, domain)
    if b.group == ISTIO_NETWORKING_GROUP and b.kind == "Hostname":
        return b.name
    return None


def parent_hosts(parent: ParentRef, lookup: Lookup, domain: str) -> list[str] | None:
    """The hosts a mesh parent names (route_collections.go: a Service's FQDN, each host of a
    ServiceEntry; `spec.hostnames` is ignored); None when the parent does not exist."""
    found = lookup(parent.ref)
    if parent.kind == "Service":
        return [service_host(parent.name, parent.namespace, domain)] if found else None
    if isinstance(found, ServiceEntry):
        return list(found.hosts)
    return None


# -- matches --------------------------------------------------------------------------------------


def _string(kind: str, value: str) -> dict[str, str]:
    return {"regex": value} if kind == "RegularExpression" else {"exact": value}


def istio_match(kind: str, match: Mapping[str, Any] | None, port: int | None) -> dict[str, Any]:
    """One Gateway API match as the VirtualService match pilot writes for it
    (conversion.go createURIMatch, createHeadersMatch, createQueryParamsMatch,
    createMethodMatch; createGRPCURIMatch for GRPCRoute)."""
    out: dict[str, Any] = {}
    m = match or {}
    if kind == "HTTPRoute":
        path = m.get("path")
        if isinstance(path, Mapping):
            ptype = path.get("type") or "PathPrefix"
            value = path.get("value") or "/"
            if ptype == "PathPrefix":
                # "When specified, a trailing `/` is ignored"; pilot then builds Envoy's
                # path_separated_prefix for gateway semantics (route.go translateURIMatch).
                value = value.rstrip("/") or "/"
                out["uri"] = {"prefix": value, "pathSeparated": True}
            else:
                out["uri"] = _string(ptype, value)
        method = m.get("method")
        if isinstance(method, str) and method:
            out["method"] = {"exact": method}
        query = {
            q["name"]: _string(q.get("type") or "Exact", str(q.get("value") or ""))
            for q in m.get("queryParams") or ()
            if isinstance(q, Mapping)
        }
        if query:
            out["queryParams"] = query
    elif kind == "GRPCRoute":
        g = m.get("method")
        if isinstance(g, Mapping):
            service, name = g.get("service") or "", g.get("method") or ""
            if g.get("type") == "RegularExpression":
                out["uri"] = {"regex": f"/{service or '[^/]+'}/{name or '.+'}"}
            elif service and name:
                out["uri"] = {"exact": f"/{service}/{name}"}
            elif service:
                out["uri"] = {"prefix": f"/{service}/"}
            elif name:
                out["uri"] = {"regex": f"/[^/]+/{re.escape(name)}"}
    headers = {
        str(h["name"]).lower(): _string(h.get("type") or "Exact", str(h.get("value") or ""))
        for h in m.get("headers") or ()
        if isinstance(h, Mapping)
    }
    if headers:
        out["headers"] = headers
    if port is not None:
        out["port"] = port
    return out


def _uri_rank(match: Mapping[str, Any]) -> tuple[int, int]:
    uri = match.get("uri")
    if not isinstance(uri, Mapping):
        return (-1, 0)
    for rank, key in ((3, "exact"), (2, "prefix"), (1, "regex")):
        if key in uri:
            return (rank, len(str(uri[key])))
    return (-1, 0)


def _precedes(a: Route, b: Route) -> int:
    """conversion.go sortHTTPRoutes: exact > prefix > regex path, longer first, a method match,
    more headers, more query params; a rule without match last (a stable sort)."""
    if not a.matches:
        return 0 if not b.matches else 1
    if not b.matches:
        return -1
    m1, m2 = a.matches[0], b.matches[0]
    r1, r2 = _uri_rank(m1), _uri_rank(m2)
    if r1[0] != r2[0]:
        return -1 if r1[0] > r2[0] else 1
    if r1[1] != r2[1]:
        return -1 if r1[1] > r2[1] else 1
    if ("method" in m1) != ("method" in m2):
        return -1 if "method" in m1 else 1
    h1, h2 = len(m1.get("headers") or ()), len(m2.get("headers") or ())
    if h1 != h2:
        return -1 if h1 > h2 else 1
    q1, q2 = len(m1.get("queryParams") or ()), len(m2.get("queryParams") or ())
    return -1 if q1 > q2 else (1 if q1 < q2 else 0)


def _summary(match: Mapping[str, Any]) -> str:
    bits = []
    uri = match.get("uri")
    # Prefix `/` (the CRD's default path) matches every request: not worth a word.
    if isinstance(uri, Mapping) and uri.get("prefix") != "/":
        bits += [f"path {k} {v}" for k, v in uri.items() if k != "pathSeparated"]
    if isinstance(match.get("method"), Mapping):
        bits.append(f"method {match['method'].get('exact')}")
    bits += [f"header {h}" for h in match.get("headers") or ()]
    bits += [f"query {q}" for q in match.get("queryParams") or ()]
    if match.get("port") is not None:
        bits.append(f"port {match['port']}")
    return " & ".join(bits) or "any"


# -- rules ----------------------------------------------------------------------------------------


def _destinations(
    backends: Iterable[BackendRef], domain: str, permitted: Permitted | None
) -> tuple[Destination, ...]:
    """buildHTTPDestination: default weight 1 (set when parsing), weight-0 backends dropped,
    no subset ever; one backend left takes everything. At a gateway (`permitted` given), a
    backend of another namespace without a ReferenceGrant keeps its share and answers 500."""
    out = []
    for b in backends:
        host = backend_host(b, domain)
        if b.weight == 0 or host is None:
            continue
        invalid = ""
        if permitted is not None and not permitted(b):
            invalid = (
                f"no ReferenceGrant in {b.namespace} lets the route refer to {b.kind} "
                f"{b.name}: its share answers 500 (RefNotPermitted)"
            )
        out.append(Destination(host, "", b.port, b.weight, b.path, invalid))
    return tuple(out)


def _actions(route: GatewayRoute, rule: RouteRule, domain: str) -> tuple[dict, tuple]:
    """What the rule does besides routing, as the VirtualService fields pilot sets
    (convertHTTPRoute: filters, timeouts), and its mirrors."""
    actions: dict[str, Any] = {}
    mirrors = []
    for i, f in enumerate(rule.filters):
        kind = f.get("type")
        if kind == "RequestMirror" and isinstance(f.get("requestMirror"), Mapping):
            ref = f["requestMirror"].get("backendRef")
            if isinstance(ref, Mapping) and isinstance(ref.get("name"), str):
                b = BackendRef(
                    str(ref.get("group") or ""),
                    str(ref.get("kind") or "Service"),
                    str(ref.get("namespace") or route.meta.ref.namespace),
                    ref["name"],
                    ref.get("port") if isinstance(ref.get("port"), int) else None,
                    1,
                    (*rule.path, "filters", i),
                )
                host = backend_host(b, domain)
                if host is not None:
                    mirrors.append(Destination(host, "", b.port, 100, b.path))
        elif kind == "URLRewrite" and isinstance(f.get("urlRewrite"), Mapping):
            actions["rewrite"] = dict(f["urlRewrite"])
        elif kind == "RequestRedirect" and isinstance(f.get("requestRedirect"), Mapping):
            actions["redirect"] = dict(f["requestRedirect"])
        elif kind in ("RequestHeaderModifier", "ResponseHeaderModifier"):
            key = "request" if kind.startswith("Request") else "response"
            body = f.get(kind[0].lower() + kind[1:])
            if isinstance(body, Mapping):
                actions.setdefault("headers", {})[key] = dict(body)
    timeouts = rule.timeouts or {}
    timeout = timeouts.get("request") or timeouts.get("backendRequest")
    if isinstance(timeout, str) and timeout:
        actions["timeout"] = timeout
    return actions, tuple(mirrors)


def convert_rules(
    route: GatewayRoute,
    port: int | None,
    domain: str,
    permitted: Permitted | None = None,
    conditions: tuple[tuple[str, str, str], ...] = (),
) -> list[Route]:
    """The VirtualService rules pilot writes for one route on one parent: one per match
    (carrying the controller's conditions for that parent, when known)."""
    kind = route.meta.ref.kind
    rule_kind = {"TCPRoute": "tcp", "TLSRoute": "tls"}.get(kind, "http")
    out = []
    for rule in route.rules:
        actions, mirrors = _actions(route, rule, domain)
        destinations = _destinations(rule.backends, domain, permitted)
        # "when there are no >0 weight backends return 500" (convertHTTPRoute).
        if (
            rule_kind == "http"
            and "redirect" not in actions
            and not any(b.weight for b in rule.backends)
        ):
            actions["directResponse"] = {"status": 500}
        matches: list[dict[str, Any]]
        if rule_kind == "http":
            matches = [istio_match(kind, m, port) for m in rule.matches or (None,)]
        elif rule_kind == "tls":
            sni = {"sniHosts": list(route.hostnames)} if route.hostnames else {}
            matches = [{**sni, **({"port": port} if port is not None else {})}]
        else:
            matches = [{"port": port}] if port is not None else [{}]
        # Pilot names an unnamed rule `ns.route.index`; meshtui names it by `rules[i]` instead,
        # and each route of a rule with several matches by its `matches[j]` (Route.label).
        name = rule.name
        for j, match in enumerate(matches):
            written = (match,) if match else ()
            where = (*rule.path, "matches", j) if len(matches) > 1 else rule.path
            out.append(
                Route(
                    kind=rule_kind,
                    index=0,
                    name=name,
                    destinations=destinations,
                    mirrors=mirrors,
                    match_gateways=(),
                    match=_summary(match),
                    matches=written,
                    actions=actions,
                    source=route.meta.ref,
                    source_origin=route.meta.origin,
                    source_path=where,
                    conditions=conditions,
                )
            )
    return out


def _age(route: GatewayRoute) -> tuple[str, str, str]:
    # route_collections.go sortRoutesByCreationTime: creation time, then namespace/name.
    return (route.meta.creation_timestamp, route.meta.ref.namespace, route.meta.ref.name)


KUBERNETES_GATEWAY_NAME = "istio-autogenerated-k8s-gateway"
_ROUTE_PROTOCOLS = {
    "HTTPRoute": ("HTTP", "HTTPS"),
    "GRPCRoute": ("HTTP", "HTTPS"),
    "TCPRoute": ("TCP",),
    "TLSRoute": ("TLS",),
}


def granted(grants: Iterable[ReferenceGrant], route: GatewayRoute, backend: BackendRef) -> bool:
    """Whether the route may refer to the backend: same namespace, or a ReferenceGrant in the
    backend's namespace from routes of this kind and namespace to it (Gateway API)."""
    if backend.namespace == route.meta.ref.namespace:
        return True
    kind = route.meta.ref.kind
    for grant in grants:
        if grant.meta.ref.namespace != backend.namespace:
            continue
        source = any(
            g == GATEWAY_API_GROUP and k == kind and ns == route.meta.ref.namespace
            for g, k, ns in grant.sources
        )
        target = any(
            k == backend.kind and (not n or n == backend.name) for _, k, n in grant.targets
        )
        if source and target:
            return True
    return False


def internal_gateway_name(gateway: str, listener: str) -> str:
    """The Istio Gateway pilot generates per listener (pkg/config/gateway/kube
    InternalGatewayName): VirtualServices bind to it, never to the Kubernetes Gateway."""
    return f"{gateway}~{KUBERNETES_GATEWAY_NAME}~{listener}"


def listener_of(gateway: ObjectRef) -> tuple[ObjectRef, str] | None:
    """The Kubernetes Gateway and listener a generated Istio Gateway stands for (the inverse
    of internal_gateway_name); None for any other Gateway."""
    name, sep, listener = gateway.name.partition(f"~{KUBERNETES_GATEWAY_NAME}~")
    if not sep:
        return None
    return ObjectRef(KUBERNETES_GATEWAY, gateway.namespace, name), listener


def gateway_name(written: str) -> str:
    """A gateway as a person names it: `ingress/web listener http` for the Istio Gateway pilot
    generates for a Kubernetes Gateway's listener, any other name as it is (`mesh`)."""
    namespace, sep, name = written.rpartition("/")
    listener = listener_of(ObjectRef("Gateway", namespace, name)) if sep else None
    if listener is None:
        return written
    return f"{listener[0].namespaced_name} listener {listener[1]}"


def generated_gateways(gateways: Iterable[KubernetesGateway]) -> list[Gateway]:
    """The Istio Gateways pilot generates from Kubernetes Gateways, one per listener
    (gateway_collection.go): its hostname (any when unset) for the namespaces allowedRoutes
    admits (`Same`: the Gateway's own, `./host`; else any, `*/host`)."""
    out = []
    for gw in gateways:
        if gw.meta.rejected is not None:
            continue
        for lst in gw.listeners:
            scope = "." if lst.allowed_from == "Same" else "*"
            ref = ObjectRef(
                "Gateway", gw.meta.ref.namespace, internal_gateway_name(gw.meta.ref.name, lst.name)
            )
            out.append(
                Gateway(
                    meta=Meta(ref=ref, origin=gw.meta.origin, raw=gw.meta.raw),
                    servers=(
                        GatewayServer((f"{scope}/{lst.hostname or '*'}",), lst.port, lst.path),
                    ),
                    selector=None,
                )
            )
    return out


def listener_gateway(
    gateways: Mapping[ObjectRef, Gateway], gateway: ObjectRef, host: str, port: int | None
) -> ObjectRef | None:
    """The generated Istio Gateway of a Kubernetes Gateway's listener that takes a request for
    `host` (on `port`, when given): what a trace through the Kubernetes Gateway goes through."""
    prefix = f"{gateway.name}~{KUBERNETES_GATEWAY_NAME}~"
    for ref, found in sorted(gateways.items(), key=lambda item: str(item[0])):
        if ref.namespace != gateway.namespace or not ref.name.startswith(prefix):
            continue
        for server in found.servers:
            if port is not None and server.port != port:
                continue
            if any(host_matches(host, h.split("/", 1)[-1]) for h in server.hosts):
                return ref
    return None


def admitting_listeners(
    gateway: KubernetesGateway, parent: ParentRef, route: GatewayRoute
) -> tuple[list[Listener], str]:
    """The listeners of `gateway` that admit the route, and why none does when none does
    (Gateway API route attachment: sectionName and port, allowedRoutes namespaces and kinds,
    hostname intersection)."""
    listeners = [
        lst
        for lst in gateway.listeners
        if (not parent.section or lst.name == parent.section)
        and (parent.port is None or lst.port == parent.port)
    ]
    if not listeners:
        which = f"sectionName {parent.section!r}" if parent.section else f"port {parent.port}"
        return [], f"no listener of Gateway {gateway.meta.ref.namespaced_name} has {which}"
    why = []
    admitted = []
    kind = route.meta.ref.kind
    for lst in listeners:
        if lst.allowed_from == "Same" and route.meta.ref.namespace != gateway.meta.ref.namespace:
            why.append(
                f"listener {lst.name} admits routes of namespace {gateway.meta.ref.namespace} "
                "only (allowedRoutes.namespaces.from: Same, the default)"
            )
            continue
        kinds = lst.allowed_kinds
        if (kinds and kind not in kinds) or (
            not kinds and lst.protocol and lst.protocol not in _ROUTE_PROTOCOLS.get(kind, ())
        ):
            why.append(f"listener {lst.name} ({lst.protocol or 'any protocol'}) admits no {kind}")
            continue
        if not listener_hosts(lst, route):
            why.append(
                f"listener {lst.name}'s hostname {lst.hostname} matches none of the "
                f"route's hostnames ({', '.join(route.hostnames)})"
            )
            continue
        admitted.append(lst)
    return admitted, "" if admitted else "; ".join(why)


def listener_hosts(listener: Listener, route: GatewayRoute) -> list[str]:
    """The hosts a route serves on a listener: its hostnames that the listener's hostname
    admits (the more specific of the two), or the listener's hostname (any when unset)."""
    if not route.hostnames:
        return [listener.hostname or "*"]
    if not listener.hostname:
        return list(route.hostnames)
    out = []
    for h in route.hostnames:
        if host_matches(h, listener.hostname):
            out.append(h)
        elif host_matches(listener.hostname, h):
            out.append(listener.hostname)
    return out


CONDITION_TYPES = ("Accepted", "ResolvedRefs")


def parent_conditions(route: GatewayRoute, parent: ParentRef) -> tuple[tuple[str, str, str], ...]:
    """The controller's Accepted and ResolvedRefs conditions for `parent` in the route's
    `status.parents` (Gateway API RouteParentStatus), as (type, status, reason)."""
    for status in route.status:
        ref = status.get("parentRef")
        if not isinstance(ref, Mapping) or ref.get("name") != parent.name:
            continue
        group = GATEWAY_API_GROUP if ref.get("group") is None else ref.get("group")
        if (group, ref.get("kind") or "Gateway") != (parent.group, parent.kind):
            continue
        if (ref.get("namespace") or route.meta.ref.namespace) != parent.namespace:
            continue
        if (ref.get("sectionName") or "") != parent.section or ref.get("port") != parent.port:
            continue
        return tuple(
            (str(c["type"]), str(c.get("status") or ""), str(c.get("reason") or ""))
            for c in status.get("conditions") or ()
            if isinstance(c, Mapping) and c.get("type") in CONDITION_TYPES
        )
    return ()


def mesh_virtual_services(
    routes: Iterable[GatewayRoute], lookup: Lookup, domain: str, grants: Grants | None = None
) -> list[VirtualService]:
    """The VirtualServices pilot generates for the parents of `routes`: per mesh parent and
    per admitting listener of a Gateway parent (route_collections.go)."""
    groups: dict[tuple, list[GatewayRoute]] = defaultdict(list)
    bound: dict[tuple, str] = {}
    parent_ns: dict[tuple, str] = {}
    # The parent each route is in a group for: its status conditions are that parent's.
    parent_of: dict[tuple[tuple, ObjectRef], ParentRef] = {}
    for route in sorted(routes, key=_age):
        if route.meta.rejected is not None:
            continue
        http = route.meta.ref.kind in HTTP_KINDS
        # HTTPRoutes and GRPCRoutes merge by key (mergeHTTPRoutes); a TCPRoute or TLSRoute is
        # a VirtualService of its own.
        family = "http" if http else route.meta.ref.kind
        own = () if http else (route.meta.ref.name,)
        targets: list[tuple[tuple, str, str, ParentRef]] = []
        for parent in route.parents:
            if parent.mesh:
                # Mesh routes: one VS per route namespace, parent port and host.
                for host in parent_hosts(parent, lookup, domain) or ():
                    key = (family, route.meta.ref.namespace, parent.port or 0, host, *own)
                    targets.append((key, MESH_GATEWAY, parent.namespace, parent))
            elif parent.gateway:
                gateway = lookup(parent.ref)
                if not isinstance(gateway, KubernetesGateway):
                    continue
                listeners, _ = admitting_listeners(gateway, parent, route)
                for lst in listeners:
                    # Gateway routes: one VS per listener and host, whatever the namespace.
                    name = f"{parent.namespace}/{internal_gateway_name(parent.name, lst.name)}"
                    for host in listener_hosts(lst, route):
                        key = (family, name, 0, host, *own)
                        targets.append((key, name, route.meta.ref.namespace, parent))
        for key, gateway_name, namespace, parent in targets:
            if route in groups[key]:
                continue
            groups[key].append(route)
            parent_of[(key, route.meta.ref)] = parent
            bound[key] = gateway_name
            parent_ns.setdefault(key, namespace)
    out = []
    used: set[ObjectRef] = set()
    for key in sorted(groups, key=lambda k: tuple(str(p) for p in k)):
        members = groups[key]
        host, port = key[3], key[2] or None
        rules: list[Route] = []
        for route in members:
            permitted = None
            if bound[key] != MESH_GATEWAY and grants is not None:
                # ReferenceGrants are checked for gateway parents only (enforceRefGrant).
                permitted = functools.partial(grants, route)
            conditions = parent_conditions(route, parent_of[(key, route.meta.ref)])
            rules += convert_rules(route, port, domain, permitted, conditions)
        if key[0] == "http":
            rules.sort(key=functools.cmp_to_key(_precedes))
        first = members[0]
        ref = ObjectRef(first.meta.ref.kind, first.meta.ref.namespace, first.meta.ref.name)
        if ref in used:  # one route with several parents: name each generated VS apart
            where = host if bound[key] == MESH_GATEWAY else f"{bound[key]}/{host}"
            ref = ObjectRef(
                ref.kind, ref.namespace, f"{ref.name}@{where}" + (f":{port}" if port else "")
            )
        used.add(ref)
        counters: dict[str, int] = defaultdict(int)
        numbered = []
        for r in rules:
            numbered.append(_renumber(r, counters[r.kind]))
            counters[r.kind] += 1
        out.append(
            VirtualService(
                meta=Meta(
                    ref=ref,
                    origin=first.meta.origin,
                    creation_timestamp=first.meta.creation_timestamp,
                    raw=first.meta.raw,
                ),
                hosts=(host,),
                gateways=(bound[key],),
                export_to=(),
                routes=tuple(numbered),
                source_kind=first.meta.ref.kind,
                parent_namespace=parent_ns[key],
            )
        )
    return out


def _renumber(route: Route, index: int) -> Route:
    return Route(
        kind=route.kind,
        index=index,
        name=route.name,
        destinations=route.destinations,
        mirrors=route.mirrors,
        match_gateways=(),
        match=route.match,
        matches=route.matches,
        actions=route.actions,
        source=route.source,
        source_origin=route.source_origin,
        source_path=route.source_path,
        conditions=route.conditions,
    )
