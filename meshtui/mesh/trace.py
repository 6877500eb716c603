"""A request trace: which VirtualService rule, subset, DestinationRule, policy and pods one
request gets, as pilot would configure the client that sends it.

The steps are pilot's: the client's proxy (a sidecar in a namespace, or a named gateway) picks
the VirtualService for the host (pilot/pkg/model virtualservice.go SelectVirtualServices; a
gateway merges every VS bound to it for the host, pilot/pkg/networking/core gateway.go), follows
delegates (virtualservice.go mergeHTTPRoutes), tries the rules in order and takes the first that
matches (route.go BuildHTTPRoutesForVirtualService), splits the traffic by weight
(applyHTTPRouteDestination), and each destination uses the DestinationRule in force for that
client (push_context.go destinationRule) with the effective policy on the destination port
(GetDestinationCluster picks the port; util MergeTrafficPolicy the policy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh.analysis import HostAnalysis, Mesh
from meshtui.mesh.dataplane import Mode, pod_labels
from meshtui.mesh.delegation import ProxyRule, proxy_rules
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import Finding, location_probe
from meshtui.mesh.frozen import frozen
from meshtui.mesh.gateway_api import gateway_name
from meshtui.mesh.hosts import is_wildcard, resolve_host
from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.matching import Request, match_any
from meshtui.mesh.policy import EffectivePolicy, effective_policies
from meshtui.mesh.resources import (
    Destination,
    DestinationRule,
    Gateway,
    ObjectRef,
    Origin,
    Path,
    Subset,
    VirtualService,
    Workload,
    pod_selector,
)
from meshtui.mesh.routes import effective_weights
from meshtui.mesh.routing import (
    builds_for,
    gateway_virtual_services,
    port_protocol,
    route_kinds,
    sidecar_candidates,
    sidecar_virtual_service,
)
from meshtui.mesh.routing import prepare as prepare_routing
from meshtui.mesh.waypoint_routes import WaypointRoutes, waypoint_routes


def prepare(mesh: Mesh) -> None:
    """Index the mesh's VirtualServices by every host they name, wildcards included (what a
    gateway trace needs), now rather than in the first trace: a loader calls it after loading."""
    prepare_routing(mesh.routes)


class TraceError(ValueError):
    """The request cannot be traced as asked (a bad request): the message says why."""


@frozen
class Client:
    """Who sends the request: a sidecar in a namespace (maybe a named workload) or a gateway."""

    namespace: str
    workload: Workload | None = None
    gateway: ObjectRef | None = None
    name: str = ""  # the workload as the person named it (a Deployment's pod, live)

    def describe(self) -> str:
        if self.gateway is not None:
            # The Istio Gateway pilot generates for a listener is named as its listener.
            return f"gateway {gateway_name(self.gateway.namespaced_name)}"
        if self.workload is not None:
            return f"{self.workload.meta.ref} (namespace {self.namespace})"
        return f"a sidecar in namespace {self.namespace}"

    @property
    def written(self) -> str:
        """NAMESPACE[/WORKLOAD], as given on the command line."""
        if self.workload is not None:
            return f"{self.namespace}/{self.name or self.workload.meta.ref.name}"
        return self.namespace


@frozen
class Skipped:
    """A rule tried before the one that matched, and why it did not."""

    virtual_service: ObjectRef
    # "http[0]", the rule's place in the VS it belongs to (the root's for delegates); a
    # Gateway API route's `rules[0]` (`rules[0].matches[1]`) in `written_in`.
    rule: str
    name: str
    why: str
    delegate: ObjectRef | None = None
    delegate_rule: str = ""
    written_in: ObjectRef | None = None  # the VirtualService, or the Gateway API route


@frozen
class Hop:
    """One destination of the matched rule: where its share of the traffic goes, and how."""

    host: str
    subset: str
    port: int | None
    weight: int  # percent of the rule's traffic (of the request's, for a mirror)
    rule: ConsolidatedRule | None  # the DestinationRule(s) in force for this client
    subset_rule: DestinationRule | None  # the DR defining the subset, if one does
    policy: EffectivePolicy
    workloads: tuple[Workload, ...] | None  # None: not known (no selector, or not read)
    in_registry: bool

    @property
    def destination_rule(self) -> DestinationRule | None:
        """The DR a reader looks at: the subset's, else the one whose policy is in force."""
        if self.subset_rule is not None:
            return self.subset_rule
        if self.rule is None:
            return None
        return self.rule.policy_rule or self.rule.rules[0]


@frozen
class Trace:
    """The whole answer for one request."""

    client: Client
    request: Request
    host: str
    port: int
    protocol: str
    virtual_service: ObjectRef | None  # the VS whose rule matched, else the one that handles it
    merged: tuple[ObjectRef, ...]  # every VS taking part (several on a gateway)
    rule: str | None
    rule_name: str
    delegate: ObjectRef | None
    delegate_rule: str
    skipped: tuple[Skipped, ...]
    destinations: tuple[Hop, ...]
    mirrors: tuple[Hop, ...]
    actions: Mapping[str, Any]
    problems: tuple[str, ...]
    proxy: str = ""  # which proxy decides (meshtui.mesh.dataplane): sidecar, ztunnel, waypoint
    # Where the matched rule is written, as its author wrote it: the VirtualService (its
    # `http[i]`) or the Gateway API route (its `rules[i]`), the document and the field (an
    # interface has its source locate the line: `located`).
    written_in: ObjectRef | None = None
    rule_origin: Origin | None = None
    rule_path: Path = ()
    # The Gateway API routes behind `merged` (pilot merges the HTTPRoutes of one namespace on
    # one parent into one VirtualService, named here after the oldest).
    gateway_api_routes: tuple[ObjectRef, ...] = ()

    @property
    def default_route(self) -> bool:
        """No VirtualService: pilot's default route sends everything to the host itself."""
        return not self.merged and self.client.gateway is None

    @property
    def rule_location(self) -> str:
        """`file:line` of the matched rule offline; "" live (the resource is named already)
        or without a matched rule."""
        origin = self.rule_origin
        return str(origin) if origin is not None and origin.file is not None else ""


def located(t: Trace, locate: Callable[[Finding], Finding]) -> Trace:
    """The trace with its rule's origin at the rule's own line, as a source locates a field
    (Source.refine): the interfaces print where the rule is written."""
    if t.written_in is None or t.rule_origin is None:
        return t
    origin = locate(location_probe(t.written_in, t.rule_origin, t.rule_path)).origin
    return replace(t, rule_origin=origin or t.rule_origin)


# -- the destinations -----------------------------------------------------------------------------


def _registry(mesh: Mesh, host: str) -> HostAnalysis | None:
    """The host's analysis when a Service or ServiceEntry defines it (a wildcard one too)."""
    analysis = mesh.analyze_host(host)
    if analysis is not None and analysis.service is not None:
        return analysis
    for pattern in mesh.hosts():
        if is_wildcard(pattern) and host_matches(host, pattern):
            found = mesh.analyze_host(pattern)
            if found is not None and found.service is not None:
                return found
    return None


def _destination_port(dest: Destination, registry: HostAnalysis | None, port: int) -> int:
    """pilot's GetDestinationCluster: the destination's port, else the service's only port,
    else the port the request was sent to."""
    if dest.port is not None:
        return dest.port
    ports = registry.ports if registry else ()
    return ports[0].number if len(ports) == 1 else port


def _hop(
    mesh: Mesh, client: Client, dest: Destination, namespace: str, weight: int, port: int
) -> Hop:
    host = resolve_host(dest.host, namespace, mesh.config.domain)
    registry = _registry(mesh, host)
    dest_port = _destination_port(dest, registry, port)
    rule = None
    if client.gateway is not None:
        rule = mesh.destination_rule_for(host, client.namespace, _client_labels(mesh, client))
    else:
        # The data plane decides whose DestinationRule lookup applies (or none).
        mode = mesh.dataplane.mode(client.namespace, _pod_labels(client))
        namespace_for = mesh.dataplane.policy_namespace(
            client.namespace, host, mode, _pod_labels(client)
        )
        if namespace_for is not None:
            labels = _client_labels(mesh, client) if namespace_for == client.namespace else None
            rule = mesh.destination_rule_for(host, namespace_for, labels)
    found: tuple[Subset, DestinationRule] | None = None
    if dest.subset and rule is not None:
        found = next(((s, r) for s, r in rule.subsets if s.name == dest.subset), None)
    _, by_port = effective_policies(
        rule.traffic_policy if rule else None,
        found[0].traffic_policy if found else None,
        [dest_port],
    )
    workloads = None
    service = registry.service if registry else None
    selector = pod_selector(service)
    if service is not None and selector and mesh.workloads.is_known(service.meta.ref.namespace):
        labels = found[0].labels if found else {}
        workloads = tuple(mesh.workloads.select(service.meta.ref.namespace, selector, labels))
    return Hop(
        host=host,
        subset=dest.subset,
        port=dest_port,
        weight=weight,
        rule=rule,
        subset_rule=found[1] if found else None,
        policy=by_port[dest_port],
        workloads=workloads,
        in_registry=registry is not None,
    )


def failing_share(t: Trace) -> int:
    """The percentage of these requests that fail: 100 when the request itself does (no rule,
    no destination, a gateway that refuses it), else the weights of the destinations that
    fail (a 10% canary to an undefined subset fails 10%, not every request)."""
    if not t.problems:
        return 0
    failing = [h for h in t.destinations if h.weight > 0 and _hop_problems(h, t.client)]
    of_hops = {p for h in failing for p in _hop_problems(h, t.client)}
    if not failing or any(p not in of_hops for p in t.problems):
        return 100
    return min(100, sum(h.weight for h in failing))


def _hop_problems(hop: Hop, client: Client) -> list[str]:
    where = f"{hop.host}:{hop.port}" if hop.port else hop.host
    if not hop.in_registry:
        return [
            f"{hop.host} is not in the service registry (no Service or ServiceEntry): "
            "the client's proxy has no cluster for it"
        ]
    if hop.subset and hop.subset_rule is None:
        seen = (
            f"the DestinationRule in force for {client.namespace} "
            f"({', '.join(r.meta.ref.namespaced_name for r in hop.rule.rules)}) does not define it"
            if hop.rule
            else f"no DestinationRule for {hop.host} applies to clients in {client.namespace}"
        )
        return [f"subset {hop.subset!r} of {hop.host} is undefined for this client: {seen} (503)"]
    if hop.workloads is not None and not hop.workloads:
        what = f"subset {hop.subset!r} of {where}" if hop.subset else where
        return [f"{what} has no pods: no workload of the service carries its labels (503)"]
    return []


# -- the trace ------------------------------------------------------------------------------------


def _why(rule: ProxyRule, request: Request) -> str:
    namespace = rule.virtual_service.meta.ref.namespace
    return rule.problem or match_any(rule.matches, request, namespace, rule.route.kind).why


def _skip(rule: ProxyRule, why: str) -> Skipped:
    ref = rule.virtual_service.meta.ref
    return Skipped(
        ref, rule.label, rule.name, why, rule.delegate, rule.delegate_label, rule.written_in
    )


def _rule_place(rule: ProxyRule) -> tuple[Origin, Path]:
    """The document and field of a rule: a Gateway API route's `rules[]` (or `matches[]`)
    entry, else the VirtualService's `http[i]`."""
    route = rule.route
    return route.source_origin or rule.virtual_service.meta.origin, route.written_at


def _pod_labels(client: Client) -> dict[str, str] | None:
    """What decides the named workload's data plane: its labels, its inject annotation."""
    return pod_labels(client.workload) if client.workload is not None else None


def _client_labels(mesh: Mesh, client: Client) -> Mapping[str, str] | None:
    """The labels of the client's proxy: the named workload's, or a gateway's selector (the
    labels of the pods it runs on); None when not known."""
    if client.workload is not None:
        return client.workload.labels
    gateway = mesh.gateways.get(client.gateway) if client.gateway else None
    return gateway.selector if gateway is not None else None


def target_host(mesh: Mesh, written: str, client_namespace: str) -> str:
    """The host a client in `client_namespace` means by `written`, as its DNS search path
    completes it: `reviews`, `reviews.bookinfo`, `reviews.bookinfo.svc` or the full name."""
    domain = mesh.config.domain
    name = written.rstrip(".").lower()
    if "." not in name:
        return resolve_host(name, client_namespace, domain)
    if name.endswith(f".svc.{domain}"):
        return name
    for candidate in (f"{name}.svc.{domain}", f"{name}.{domain}"):
        if mesh.analyze_host(candidate) is not None:
            return candidate
    return name


def default_port(mesh: Mesh, host: str, gateway: Gateway | None) -> int:
    """The port a request goes to when none is given: the service's only port (or a gateway
    server's for the host); several ports make the request ambiguous."""
    if gateway is not None:
        for server in gateway.servers:
            if server.port is not None and any(
                host_matches(host, h.split("/", 1)[-1]) for h in server.hosts
            ):
                return server.port
        raise TraceError(f"gateway {gateway.meta.ref.namespaced_name} has no server for {host}")
    registry = _registry(mesh, host)
    ports = sorted({p.number for p in registry.ports}) if registry else []
    if len(ports) == 1:
        return ports[0]
    if not ports:
        return 80
    raise TraceError(f"{host} has ports {', '.join(map(str, ports))}: give HOST:PORT")


def _gateway_problems(mesh: Mesh, gateway: ObjectRef, host: str, port: int) -> list[str]:
    found = mesh.gateways.get(gateway)
    if found is None:
        return [f"there is no Gateway {gateway.namespaced_name}: no proxy serves it"]
    for server in found.servers:
        if server.port == port and any(
            host_matches(host, h.split("/", 1)[-1]) for h in server.hosts
        ):
            return []
    return [
        f"Gateway {gateway.namespaced_name} has no server for {host} on port {port}: "
        "the gateway does not accept the request"
    ]


def _at_waypoint(
    waypoint: WaypointRoutes, request: Request, skipped: list[Skipped]
) -> ProxyRule | None:
    """The rule the waypoint takes for the request, noting those tried before it. The waypoint
    built each rule as its own proxy: a `sourceNamespace` it kept is its own namespace."""
    own = replace(request, source_namespace=waypoint.namespace, source_labels={})
    for w in waypoint.rules:
        if w.why_not:
            skipped.append(_skip(w.rule, f"the waypoint builds no route from it: {w.why_not}"))
            continue
        why = _why(w.rule, own)
        if not why:
            return w.rule
        skipped.append(_skip(w.rule, why))
    return None


def trace(
    mesh: Mesh,
    client: Client,
    host: str,
    port: int,
    *,
    path: str = "/",
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> Trace:
    """Follow one request from `client` to `host:port` through the mesh's configuration."""
    registry = _registry(mesh, host)
    service = registry.service if registry else None
    protocol = port_protocol(service, port)
    request = Request(
        host=host,
        port=port,
        path=path or "/",
        method=method.upper(),
        headers={k.lower(): v for k, v in (headers or {}).items()},
        source_namespace=client.namespace,
        source_labels=_client_labels(mesh, client),
        gateway=client.gateway,
    )
    problems: list[str] = []
    kinds = route_kinds(protocol)
    proxy = f"gateway {client.gateway.namespaced_name}" if client.gateway else ""
    passed_over: list[VirtualService] = []
    waypoint: WaypointRoutes | None = None
    if client.gateway is not None:
        problems += _gateway_problems(mesh, client.gateway, host, port)
        services = gateway_virtual_services(
            mesh.routes, mesh.gateways, host, port, client.gateway, client.namespace
        )
    else:
        dp = mesh.dataplane
        mode = dp.mode(client.namespace, _pod_labels(client))
        proxy = dp.proxy(client.namespace, host, mode, _pod_labels(client))
        if dp.policy_namespace(client.namespace, host, mode, _pod_labels(client)) is None:
            services = []  # no proxy of this client applies L7 config to the host
        elif mode is Mode.AMBIENT:
            # The waypoint concatenates every VirtualService it takes, in its own order, and
            # builds their rules as its own proxy (meshtui.mesh.waypoint_routes).
            waypoint = waypoint_routes(mesh.routes, dp, host, port, kinds)
            services = list(waypoint.virtual_services) if waypoint else []
            if waypoint is not None and services:
                names = ", ".join(vs.meta.ref.namespaced_name for vs in services)
                proxy += f" applies VirtualService {names}"
        elif client.workload is not None and mode is not dp.mode(client.namespace):
            # A workload whose own labels give it a sidecar in a namespace that has none: its
            # VirtualServices are those its own Sidecar imports, first that builds a route.
            pod = pod_labels(client.workload)
            found = None
            for vs in sidecar_candidates(mesh.routes, host, client.namespace):
                if not dp.pod_imports(client.namespace, pod, vs, mesh.routes.hosts_of(vs)):
                    continue
                if builds_for(vs, request, kinds):
                    found = vs
                    break
                passed_over.append(vs)
            services = [found] if found is not None else []
        else:
            found, passed_over = sidecar_virtual_service(mesh.routes, host, request, kinds, dp)
            services = [found] if found is not None else []
    skipped = [
        _skip(rule, _why(rule, request)) for rule in proxy_rules(mesh.routes, passed_over, kinds[0])
    ]
    matched: ProxyRule | None = None
    if waypoint is not None:
        matched = _at_waypoint(waypoint, request, skipped)
    else:
        rules = [r for kind in kinds for r in proxy_rules(mesh.routes, services, kind)]
        for rule in rules:
            why = _why(rule, request)
            if not why:
                matched = rule
                break
            skipped.append(_skip(rule, why))
    destinations: list[Hop] = []
    mirrors: list[Hop] = []
    if matched is not None:
        weights = effective_weights(matched.destinations) if matched.destinations else []
        for dest, weight in zip(matched.destinations, weights, strict=True):
            destinations.append(_hop(mesh, client, dest, matched.namespace, weight, port))
        for mirror in matched.mirrors:
            share = mirror.weight if mirror.weight is not None else 100
            mirrors.append(_hop(mesh, client, mirror, matched.namespace, share, port))
        if not matched.destinations and not ({"redirect", "directResponse"} & set(matched.actions)):
            problems.append(f"rule {matched.route.written_as} has no destination")
    elif not services and client.gateway is None:
        # No VirtualService: the default route sends the request to the host on that port.
        destinations.append(_hop(mesh, client, Destination(host, "", None, None), "", 100, port))
    elif client.gateway is not None and not services:
        problems.append(
            f"no VirtualService bound to gateway {client.gateway.namespaced_name} has host "
            f"{host}: the gateway answers 404"
        )
    else:
        names = ", ".join(vs.meta.ref.namespaced_name for vs in services)
        problems.append(f"no rule of {names} matches the request: the proxy answers 404 (NR)")
    for dest in matched.destinations if matched is not None else ():
        if dest.invalid:
            problems.append(f"{dest.host}: {dest.invalid}")
    for hop in destinations:
        if hop.weight > 0:
            problems += _hop_problems(hop, client)
    place = _rule_place(matched) if matched is not None else None
    return Trace(
        client=client,
        request=request,
        host=host,
        port=port,
        protocol=protocol,
        virtual_service=(
            matched.virtual_service.meta.ref
            if matched
            else services[0].meta.ref
            if services
            else None
        ),
        merged=tuple(vs.meta.ref for vs in services),
        rule=matched.label if matched else None,
        rule_name=matched.name if matched else "",
        delegate=matched.delegate if matched else None,
        delegate_rule=matched.delegate_label if matched else "",
        skipped=tuple(skipped),
        destinations=tuple(destinations),
        mirrors=tuple(mirrors),
        actions=dict(matched.actions) if matched else {},
        problems=tuple(dict.fromkeys(problems)),
        proxy=proxy,
        written_in=matched.written_in if matched else None,
        gateway_api_routes=tuple(
            dict.fromkeys(r.source for vs in services for r in vs.routes if r.source)
        ),
        rule_origin=place[0] if place else None,
        rule_path=place[1] if place else (),
    )


def find_workload(mesh: Mesh, namespace: str, name: str) -> Workload | None:
    """The workload a client names (`--from ns/name`): a controller or a pod of that name, or
    (live, where only pods are read) a pod the named controller owns, so that one name works
    offline and live."""
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod"):
        found = mesh.workloads.get(ObjectRef(kind, namespace, name))
        if found is not None:
            return found
    for workload in mesh.workloads.select(namespace):
        kind, _, owner = workload.owner.partition("/")
        # A Deployment's pods belong to its ReplicaSets, named `<deployment>-<hash>`.
        if owner == name or (kind == "ReplicaSet" and owner.rpartition("-")[0] == name):
            return workload
    return None
