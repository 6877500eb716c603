"""The routes a waypoint builds for one service port: every VirtualService it takes, in a row.

A sidecar keeps one VirtualService per host (meshtui.mesh.routing); a waypoint concatenates
them (pilot/pkg/networking/core/listener_waypoint.go):

- **Which VirtualServices** (getVirtualServiceForWaypoint): those of its SidecarScope's egress
  listener, i.e. `VirtualServicesForGateway(waypoint namespace, mesh)` (push_context.go:
  private to its namespace, exported to it by name, then public, Gateway API ones of its own
  namespace first; each oldest first), kept when in the service's or the waypoint's namespace
  and with a host that `Matches` the service (exact or wildcard, every one of them). Native
  VirtualServices and those pilot generates from HTTPRoutes are in the same list: neither kind
  wins, the order decides.
- **HTTP** (buildWaypointInboundHTTPRouteConfig, waypointInboundRoute): one virtual host whose
  routes are each VirtualService's in that order. A match block with `sourceLabels` is dropped;
  the rest are translated with the waypoint as the proxy (route.go TranslateRoute,
  sourceMatchHTTP): `port` must be the service port, `gateways` must name mesh, a
  `sourceNamespace` must be the waypoint's. A rule without match, or a block that translates to
  a catch-all (route.go IsCatchAllRoute: path prefix `/` or regex `.*`, no header, query or
  method condition), ends that VirtualService's routes; Envoy takes the first route that
  matches, so it also hides every later VirtualService's routes. No route at all: the default
  route to the service.
- **TCP and TLS** (buildWaypointNetworkFilters, getWaypointTCPRoutes): one rule takes all the
  port's traffic: the first TLS rule of any of them whose match fits (no source labels or
  namespace; `sniHosts` exactly the service), else the first such TCP rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh.dataplane import DataPlane
from meshtui.mesh.delegation import ProxyRule, proxy_rules
from meshtui.mesh.frozen import frozen
from meshtui.mesh.reachability import catch_all
from meshtui.mesh.resources import ObjectRef, VirtualService
from meshtui.mesh.routes import MESH_GATEWAY, RouteIndex, RouteRef, in_client_order, is_mesh_bound

_HTTP = "http"
_L4 = ("tls", "tcp")  # getWaypointTCPRoutes: every VS's TLS rules first, then TCP
RuleKey = tuple[ObjectRef, str, ObjectRef | None, int]


@frozen
class WaypointRule:
    """A rule as the waypoint has it: `rule.matches` are the blocks it builds (none: every
    request), or `why_not` says why it builds none, or `hidden_by` names the catch-all before
    it that takes every request it would match."""

    rule: ProxyRule
    why_not: str = ""
    hidden_by: str = ""

    @property
    def reachable(self) -> bool:
        return not self.why_not and not self.hidden_by

    @property
    def key(self) -> RuleKey:
        return rule_key(self.rule)


def rule_key(rule: ProxyRule) -> RuleKey:
    written = rule.delegate_route or rule.route
    return (rule.virtual_service.meta.ref, rule.route.kind, rule.delegate, written.index)


def route_key(r: RouteRef) -> RuleKey:
    return (r.virtual_service, r.rule_kind, r.delegate, r.route_index)


@frozen
class WaypointRoutes:
    """The waypoint's routes for one host and port, in the order Envoy tries them."""

    waypoint: ObjectRef
    named: str  # `ns/name`, as the labels name it
    virtual_services: tuple[VirtualService, ...]  # those that build a route here, in order
    rules: tuple[WaypointRule, ...]

    @property
    def namespace(self) -> str:
        return self.waypoint.namespace

    def reaches(self, r: RouteRef) -> bool:
        """Whether a request can take this route at the waypoint (a root rule's inherited
        mirror: when one of its rules can)."""
        key = route_key(r)
        found = [w for w in self.rules if w.key == key]
        if not found and r.delegate is None:
            found = [
                w
                for w in self.rules
                if w.key[:2] == key[:2] and w.rule.route.index == r.route_index
            ]
        return any(w.reachable for w in found)

    def why_not(self, r: RouteRef) -> str:
        """Why the waypoint sends no request by this route ("" when it may)."""
        key = route_key(r)
        for w in self.rules:
            if w.key == key and not w.reachable:
                return w.why_not or f"{w.hidden_by} before it takes every request"
        return ""

    def takes(self, vs: VirtualService) -> bool:
        """Whether some rule of `vs` can take a request here."""
        return any(w.reachable and w.rule.virtual_service is vs for w in self.rules)


def _http_builds(match: Mapping[str, Any], port: int | None, namespace: str) -> str:
    """Why the waypoint builds no route from this block ("" when it does)."""
    if match.get("sourceLabels"):
        return "a waypoint drops matches on sourceLabels"
    wanted = match.get("port")
    if wanted and port is not None and wanted != port:
        return f"it matches port {wanted}, not {port}"
    gateways = match.get("gateways") or ()
    if gateways:
        return "" if MESH_GATEWAY in gateways else "its gateways leave out mesh"
    source = match.get("sourceNamespace")
    if source and source != namespace:
        return f"sourceNamespace {source} is compared with the waypoint's namespace, {namespace}"
    return ""


def _l4_builds(match: Mapping[str, Any], port: int | None, host: str, kind: str) -> str:
    """matchTLS / matchTCP with the waypoint's empty labels and namespace (getTLSRouteMatch)."""
    if match.get("sourceLabels") or match.get("sourceNamespace"):
        return "a waypoint matches no source labels or namespace in TCP and TLS rules"
    gateways = match.get("gateways") or ()
    if gateways and MESH_GATEWAY not in gateways:
        return "its gateways leave out mesh"
    wanted = match.get("port")
    if wanted and port is not None and wanted != port:
        return f"it matches port {wanted}, not {port}"
    if kind == "tls" and list(match.get("sniHosts") or ()) != [host]:
        return f"a waypoint takes a TLS match only with sniHosts [{host}]"
    return ""


def _label(rule: ProxyRule) -> str:
    where = f" (delegate {rule.delegate.namespaced_name})" if rule.delegate else ""
    return f"{rule.virtual_service.meta.ref.namespaced_name} {rule.label}{where}"


# How the waypoint builds one rule: why it builds none (""), the match blocks it builds (none:
# every request), and what makes the rule hide every later one ("" when nothing does).
Build = Callable[[ProxyRule], tuple[str, tuple[Mapping[str, Any], ...], str]]


def _in_a_row(rules: list[ProxyRule], build: Build) -> list[WaypointRule]:
    """The rules as the waypoint has them, in order: after one that takes every request, the
    rest are hidden (Envoy takes the first route that matches)."""
    out: list[WaypointRule] = []
    hiding = ""
    for rule in rules:
        if hiding:
            out.append(WaypointRule(rule, hidden_by=hiding))
            continue
        why, built, hides = build(rule)
        if why:
            out.append(WaypointRule(rule, why_not=why))
            continue
        out.append(WaypointRule(replace(rule, matches=built)))
        if hides:
            hiding = f"{_label(rule)}, which {hides},"
    return out


def _http_build(port: int | None, namespace: str) -> Build:
    def build(rule: ProxyRule) -> tuple[str, tuple[Mapping[str, Any], ...], str]:
        if rule.problem:
            return rule.problem, (), ""
        if not rule.matches:
            return "", (), "has no match"
        whys = [_http_builds(m, port, namespace) for m in rule.matches]
        built = tuple(m for m, why in zip(rule.matches, whys, strict=True) if not why)
        if not built:
            return "; ".join(dict.fromkeys(whys)), (), ""
        return "", built, "matches every request" if any(map(catch_all, built)) else ""

    return build


def _l4_build(port: int | None, host: str) -> Build:
    def build(rule: ProxyRule) -> tuple[str, tuple[Mapping[str, Any], ...], str]:
        whys = [_l4_builds(m, port, host, rule.route.kind) for m in rule.matches]
        if rule.problem or (whys and all(whys)):
            return rule.problem or "; ".join(dict.fromkeys(whys)), (), ""
        # The first rule that fits takes all of the port's traffic (getWaypointTCPRoutes).
        return "", (), "takes all of the port's traffic at the waypoint"

    return build


def waypoint_routes(
    index: RouteIndex, dataplane: DataPlane, host: str, port: int | None, kinds: tuple[str, ...]
) -> WaypointRoutes | None:
    """The routes the host's waypoint builds on `port` (None: the host has no waypoint)."""
    use = dataplane.waypoint(host)
    if use.ref is None:
        return None
    key = ("waypoint routes", host, port, kinds)
    found = index.memo.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    service = dataplane.registry(host)
    own = use.ref.namespace
    allowed = {own, service.meta.ref.namespace if service else own}
    claiming = [*index.claims(host), *(vs for _, vs in index.wildcard_claims(host))]
    taken = in_client_order(
        (
            vs
            for vs in {id(vs): vs for vs in claiming}.values()
            if is_mesh_bound(vs) and vs.meta.ref.namespace in allowed
        ),
        own,
    )
    rules: list[WaypointRule] = []
    if _HTTP in kinds:
        rules += _in_a_row(proxy_rules(index, taken, _HTTP), _http_build(port, own))
    if any(k in kinds for k in _L4):
        l4 = [r for kind in _L4 for r in proxy_rules(index, taken, kind)]
        rules += _in_a_row(l4, _l4_build(port, host))
    building = {w.rule.virtual_service.meta.ref for w in rules if not w.why_not}
    found = WaypointRoutes(
        use.ref,
        use.named,
        tuple(vs for vs in taken if vs.meta.ref in building),
        tuple(rules),
    )
    index.memo[key] = found
    return found
