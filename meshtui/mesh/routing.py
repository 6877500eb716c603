"""The routing table: which routes carry which clients' requests, as pilot builds each proxy's.

For a sidecar, pilot builds one virtual host per host and port from the VirtualServices the
client imports (pilot/pkg/networking/core/route/route.go BuildSidecarVirtualHostWrapper): it
takes them in the client's order (pilot/pkg/model/virtualservice.go SelectVirtualServices:
private to the client's namespace, then exported to it by name, then public; each oldest first),
skips one that builds no route for the port ("no routes matched": a match `port` or
`sourceNamespace` for someone else, or only rules of another protocol), and keeps the first for
each domain (httproute.go "duplicate domain"). A wildcard host claims the hosts it covers, the
most specific wildcard first. A gateway merges every VirtualService bound to it (gateway.go).
Delegates are merged into their roots by the route index (meshtui.mesh.delegation).

Namespaces are open-ended, so the table speaks of client sets (meshtui.mesh.clients): every
route carries the set of client namespaces whose requests it can take, or the reason pilot
builds it for nobody. Every view (tree, detail, check, trace, fixes) reads these; nothing else
decides which VirtualService a client uses.

Not every client is a sidecar importing every host: the data plane (meshtui.mesh.dataplane)
narrows each contender's clients to those whose proxy takes it (ambient clients only through a
waypoint, which takes the service's and its own namespace's VirtualServices all in a row, a
catch-all hiding what follows: meshtui.mesh.waypoint_routes; out-of-mesh clients never;
sidecars as their Sidecar scope imports the host and the VirtualService).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.dataplane import DataPlane, Mode
from meshtui.mesh.delegation import ProxyRule, proxy_rules
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import is_wildcard
from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.matching import Request, builds_route
from meshtui.mesh.reachability import catch_all
from meshtui.mesh.resources import (
    KUBERNETES_GATEWAY,
    Gateway,
    ObjectRef,
    Service,
    ServiceEntry,
    VirtualService,
)
from meshtui.mesh.routes import (
    MESH_GATEWAY,
    RouteIndex,
    RouteRef,
    gateway_ref,
    in_client_order,
    is_mesh_bound,
    precedes,
    resolved,
    visibility,
)
from meshtui.mesh.waypoint_routes import RuleKey, route_key, rule_key, waypoint_routes

HTTP, TCP, TLS = "http", "tcp", "tls"
ALL_KINDS = (HTTP, TCP, TLS)
# Port-name prefixes and ServiceEntry protocols, as pilot's protocol.Parse reads them.
_HTTP_PROTOCOLS = {"http", "http2", "grpc", "grpc-web", "h2c"}
_TLS_PROTOCOLS = {"https", "tls"}
_TCP_PROTOCOLS = {"tcp", "mongo", "mysql", "redis", "thrift", "udp"}

EVERYONE = ClientSet.all()
NOBODY = ClientSet.none()
Registry = Callable[[str], Service | ServiceEntry | None]


def _protocol_of(name: str) -> str | None:
    word = name.lower().split("-", 1)[0] if name else ""
    if name.lower().startswith("grpc-web"):
        return HTTP
    if word in _HTTP_PROTOCOLS:
        return HTTP
    if word in _TLS_PROTOCOLS:
        return TLS
    if word in _TCP_PROTOCOLS:
        return TCP
    return None


def _declared_protocol(service: Service | ServiceEntry | None, port: int) -> str | None:
    """The protocol `port` declares (a ServiceEntry's `protocol`, else the port name's prefix),
    None when it declares none or the host has no such port."""
    for p in service.ports if service else ():
        if p.number != port:
            continue
        if isinstance(service, ServiceEntry):
            return _protocol_of(p.protocol) or _protocol_of(p.name)
        return _protocol_of(p.name)
    return None


def port_protocol(service: Service | ServiceEntry | None, port: int) -> str:
    """How the client's proxy treats traffic to `port`: http, tls or tcp. An unnamed port is
    sniffed, and an HTTP request on it takes the HTTP routes (IsHTTPOrSniffed)."""
    return _declared_protocol(service, port) or HTTP


def route_kinds(protocol: str) -> tuple[str, ...]:
    """The rule lists pilot reads for traffic of `protocol` (TLS falls back to TCP rules)."""
    return (TLS, TCP) if protocol == TLS else (protocol,)


def _port_kinds(service: Service | ServiceEntry, port: int) -> tuple[str, ...]:
    """The rule kinds a sidecar applies on `port`: an HTTP port takes `http` rules only, a TCP
    port `tcp`, a TLS port `tls` then `tcp`; a port whose protocol is not declared is sniffed,
    and pilot builds both its HTTP and its TCP filter chains (protocol auto-detection)."""
    declared = _declared_protocol(service, port)
    return route_kinds(declared) if declared else ALL_KINDS


def _ports(service: Service | ServiceEntry | None) -> list[tuple[int | None, tuple[str, ...]]]:
    """The host's ports with the rule kinds each takes; unknown ports: any port, any kind."""
    ports = sorted({p.number for p in service.ports}) if service else []
    if not service or not ports:
        return [(None, ALL_KINDS)]
    return [(p, _port_kinds(service, p)) for p in ports]


# -- which clients a rule is built for ------------------------------------------------------------


def _block_clients(match: Mapping[str, Any], port: int | None, kind: str = HTTP) -> ClientSet:
    """The sidecars pilot builds one match block for on `port`: a block whose `port` is another
    is dropped (TranslateRoute, matchTCP), and so is one whose `gateways` leave out mesh. For
    HTTP, `gateways` naming mesh build it for every sidecar whatever its `sourceNamespace` says
    (route.go sourceMatchHTTP checks the source only without gateways); TCP and TLS check both
    (tls.go matchTCP, matchTLS). `sourceLabels` depend on the pod, so any namespace may match."""
    wanted_port = match.get("port")
    if wanted_port and port is not None and wanted_port != port:
        return ClientSet.none()
    gateways = match.get("gateways") or ()
    if gateways and MESH_GATEWAY not in gateways:
        return ClientSet.none()
    if gateways and kind == HTTP:
        return ClientSet.all()
    source = match.get("sourceNamespace")
    if isinstance(source, str) and source:
        return ClientSet.of([source])
    return ClientSet.all()


def rule_clients(
    matches: Sequence[Mapping[str, Any]], kind: str, port: int | None, kinds: tuple[str, ...]
) -> ClientSet:
    """The sidecars a rule of `kind` with these match blocks is built for on `port`."""
    if kind not in kinds:
        return ClientSet.none()
    if not matches:
        return EVERYONE
    out = ClientSet.none()
    for m in matches:
        out |= _block_clients(m, port, kind)
    return out


def hiding_clients(rule: ProxyRule, port: int | None) -> ClientSet:
    """The sidecars whose routes from a VirtualService end with this HTTP rule: pilot stops at
    a rule without match, and at a block it translates into a catch-all route, for the proxies
    it translates it for (route.go BuildHTTPRoutesForVirtualService, IsCatchAllRoute). A block
    with `sourceLabels` (and no `gateways`) holds for some pods of a namespace only, so it
    hides nothing from the namespace as a whole."""
    if rule.problem:
        return ClientSet.none()  # pilot's merge dropped the rule: nothing of it is built
    if not rule.matches:
        return EVERYONE
    out = ClientSet.none()
    for m in rule.matches:
        if catch_all(m) and (m.get("gateways") or not m.get("sourceLabels")):
            out |= _block_clients(m, port, HTTP)
    return out


def _builds(vs: VirtualService, port: int | None, kinds: tuple[str, ...]) -> ClientSet:
    """The sidecars for which `vs` builds any route on `port` (else it makes no virtual host
    there and the host falls to the next VirtualService, or to the default route)."""
    out = ClientSet.none()
    for route in vs.routes:
        out |= rule_clients(route.matches, route.kind, port, kinds)
        if out.everyone and not out.names:
            break
    return out & gateway_api_clients(vs)


def first_wins(dataplane: DataPlane | None) -> ClientSet:
    """The clients that keep one VirtualService per host: sidecars (all, without data plane)."""
    return dataplane.first_wins() if dataplane is not None else EVERYONE


def gateway_api_clients(vs: VirtualService) -> ClientSet:
    """The sidecars a VS generated from a Gateway API mesh route is built for: every client
    when the route is in its parent's namespace (a producer route), else only clients of the
    route's namespace (a consumer route); route.go buildSidecarVirtualHostsForVirtualService,
    "Gateway allows only routes from the namespace of the proxy, or namespace of the
    destination". A native VirtualService: everyone it is exported to."""
    if not vs.gateway_semantics or vs.parent_namespace == vs.meta.ref.namespace:
        return EVERYONE
    return ClientSet.of([vs.meta.ref.namespace])


# -- which VirtualService each client uses --------------------------------------------------------


@frozen
class Contender:
    """A mesh-bound VirtualService claiming a host, for the clients it claims it for."""

    virtual_service: VirtualService
    clients: ClientSet  # who sees it as a claim on the host (its exportTo; wildcards narrowed)
    pattern: str  # the host as it names it (a wildcard covering the host, or the host)


def contenders(index: RouteIndex, host: str, dataplane: DataPlane | None = None) -> list[Contender]:
    """Every mesh-bound VirtualService that claims `host` for some client: those naming it, and
    for each client the most specific wildcard covering it (route.go
    mostSpecificWildcardVsIndex; the first in the client's order on a tie); with the data
    plane, each narrowed to the clients whose proxy takes it."""
    key = ("contenders", host, dataplane is not None)
    found = index.memo.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    out = [Contender(vs, visibility(vs), host) for vs in index.claims(host)]
    wild = index.wildcard_claims(host) if not is_wildcard(host) else []
    for pattern, vs in wild:
        if any(c.virtual_service is vs for c in out):
            continue
        chosen = visibility(vs)
        for other_pattern, other in wild:
            if other is vs:
                continue
            if len(other_pattern) > len(pattern):
                chosen -= visibility(other)
            elif len(other_pattern) == len(pattern):
                chosen -= precedes(other, vs) & visibility(other)
        if chosen:
            out.append(Contender(vs, chosen, pattern))
    if dataplane is not None and not dataplane.trivial:
        out = [
            Contender(c.virtual_service, narrowed, c.pattern)
            for c in out
            if (
                narrowed := dataplane.narrow(
                    c.clients, c.virtual_service, index.hosts_of(c.virtual_service), host
                )
            )
        ]
    index.memo[key] = out
    return out


def users(
    index: RouteIndex,
    vs: VirtualService,
    host: str,
    port: int | None,
    kinds: tuple[str, ...],
    dataplane: DataPlane | None = None,
) -> ClientSet:
    """The clients whose virtual host for `host` on `port` comes from `vs`: sidecars whose
    first VS in their order it is; ambient clients when the host's waypoint, which takes
    every VS it imports in a row, has a rule of it that a request can reach."""
    key = ("users", vs.meta.ref, host, port, kinds, dataplane is not None)
    found = index.memo.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    rivals = contenders(index, host, dataplane)
    sidecars = first_wins(dataplane)
    mine = next((c for c in rivals if c.virtual_service is vs), None)
    out = ClientSet.none()
    if mine is not None and is_mesh_bound(vs):
        out = mine.clients & sidecars & _builds(vs, port, kinds)
        for other in rivals:
            if other is mine or not out:
                continue
            first = precedes(other.virtual_service, vs) & other.clients & sidecars
            if first:
                out -= first & _builds(other.virtual_service, port, kinds)
    if dataplane is not None and not dataplane.trivial:
        # Ambient clients through the host's waypoint: it takes `vs` if a rule of it can take
        # a request there (meshtui.mesh.waypoint_routes), whatever the clients see.
        waypoint = waypoint_routes(index, dataplane, host, port, kinds)
        if waypoint is not None and waypoint.takes(vs):
            out |= dataplane.clients(Mode.AMBIENT)
    index.memo[key] = out
    return out


def sidecar_candidates(
    index: RouteIndex, host: str, namespace: str, dataplane: DataPlane | None = None
) -> list[VirtualService]:
    """The VSs a sidecar in `namespace` considers for `host`, in its order: the first that
    builds a route for the request's port and client wins (what `users` says per client set)."""
    claims = [
        c.virtual_service for c in contenders(index, host, dataplane) if namespace in c.clients
    ]
    return in_client_order(claims, namespace)


def server_hosts(gateway: Gateway | None, host: str, port: int) -> list[str] | None:
    """The `ns/host` entries of the gateway's servers on `port` that accept `host` (None: the
    Gateway is not known, so nothing restricts which VirtualServices bind)."""
    if gateway is None:
        return None
    out = []
    for server in gateway.servers:
        if server.port not in (None, port):
            continue
        for written in server.hosts:
            ns, sep, pattern = written.rpartition("/")
            if host_matches(host, pattern):
                out.append(f"{ns if sep else '*'}/{pattern}")
    return out


def admitted(vs: VirtualService, gateway: ObjectRef, servers: list[str] | None) -> bool:
    """Whether a server's `ns/host` lets this VS bind: `*/host` any namespace, `./host` the
    Gateway's own, `ns/host` that one (pilot gateway.go, the server hosts' namespace part)."""
    if servers is None:
        return True
    own = vs.meta.ref.namespace
    for entry in servers:
        ns = entry.split("/", 1)[0]
        if ns == "*" or ns == own or (ns == "." and own == gateway.namespace):
            return True
    return False


def bound_to(vs: VirtualService, gateway: ObjectRef | None) -> bool:
    names = vs.gateways or (MESH_GATEWAY,)
    if gateway is None:
        return MESH_GATEWAY in names
    return any(gateway_ref(g, vs.meta.ref.namespace) == gateway for g in names)


def builds_for(vs: VirtualService, request: Request, kinds: tuple[str, ...]) -> bool:
    """Whether pilot builds any route of `vs` for this request's port and client (the one
    request's answer to what `users` says for client sets)."""
    namespace = vs.meta.ref.namespace
    if request.source_namespace not in gateway_api_clients(vs):
        return False
    for route in vs.routes:
        if route.kind not in kinds:
            continue
        if not route.matches or any(builds_route(m, request, namespace) for m in route.matches):
            return True
    return False


def sidecar_virtual_service(
    index: RouteIndex,
    host: str,
    request: Request,
    kinds: tuple[str, ...],
    dataplane: DataPlane | None = None,
) -> tuple[VirtualService | None, list[VirtualService]]:
    """The VS whose routes a sidecar has for the host on the request's port, and those passed
    over before it because they build no route there for this client."""
    passed_over = []
    for vs in sidecar_candidates(index, host, request.source_namespace, dataplane):
        if builds_for(vs, request, kinds):
            return vs, passed_over
        passed_over.append(vs)
    return None, passed_over


class _GatewayClaims:
    """Root VirtualServices by the hosts they name (resolved; wildcards apart), whatever they
    bind to, rebuilt when the set of VSs changes: VSs are immutable, so the identity of each
    one is the version of the index. Gateways match a request's host against wildcards."""

    def __init__(self, services: tuple[VirtualService, ...], domain: str) -> None:
        self.services = services
        self.exact: dict[str, list[VirtualService]] = {}
        self.wildcards: list[tuple[str, VirtualService]] = []
        suffix = f".svc.{domain}"
        exact = self.exact
        for vs in services:
            # A VS without hosts is a delegate: it claims nothing itself.
            namespace = vs.meta.ref.namespace
            for h in vs.hosts:
                if h.startswith("*"):
                    self.wildcards.append((h, vs))
                    continue
                if "." not in h and ":" not in h:  # resolve_host, inlined: this loop is hot
                    h = f"{h}.{namespace}{suffix}"
                claims = exact.setdefault(h, [])
                if not claims or claims[-1] is not vs:
                    claims.append(vs)

    def current(self, services: tuple[VirtualService, ...]) -> bool:
        return len(services) == len(self.services) and all(
            map(operator.is_, services, self.services)
        )

    def claiming(self, host: str) -> list[VirtualService]:
        """Every VS with a host covering `host` (exact or wildcard), each once."""
        found = list(self.exact.get(host, ()))
        found += [vs for pattern, vs in self.wildcards if host_matches(host, pattern)]
        return list({id(vs): vs for vs in found}.values())


_GATEWAY_CLAIMS: dict[int, _GatewayClaims] = {}


def claiming(index: RouteIndex, host: str) -> list[VirtualService]:
    """Every root VirtualService whose hosts cover `host` (exact or wildcard), whatever it
    binds to, each once; the index is built once per set of VirtualServices."""
    services = tuple(index)
    found = _GATEWAY_CLAIMS.get(id(index))
    if found is None or not found.current(services):
        if len(_GATEWAY_CLAIMS) > 8:  # meshes come and go with reloads: keep the last few
            _GATEWAY_CLAIMS.clear()
        found = _GATEWAY_CLAIMS[id(index)] = _GatewayClaims(services, index.config.domain)
    return found.claiming(host)


def prepare(index: RouteIndex) -> None:
    """Index the VirtualServices by every host they name, wildcards included (what a gateway
    needs), now rather than at the first gateway lookup: a loader calls it after loading."""
    claiming(index, "")


def gateway_virtual_services(
    index: RouteIndex,
    gateways: Mapping[ObjectRef, Gateway],
    host: str,
    port: int,
    gateway: ObjectRef,
    proxy_namespace: str,
) -> list[VirtualService]:
    """The VSs a gateway merges for `host`: every one bound to it (and admitted by its server
    for the host) whose most specific host matching the request is the same, in pilot's order
    (gateway.go merges them into one virtual host, never drops one)."""
    servers = server_hosts(gateways.get(gateway), host, port)
    bound = in_client_order(
        (
            vs
            for vs in claiming(index, host)
            if bound_to(vs, gateway) and admitted(vs, gateway, servers)
        ),
        proxy_namespace,
    )
    best: str | None = None
    keyed: list[tuple[str, VirtualService]] = []
    for vs in bound:
        hosts = [h for h in index.hosts_of(vs) if host_matches(host, h)]
        if not hosts:
            continue
        key = host if host in hosts else max(hosts, key=len)
        keyed.append((key, vs))
        if best is None or key == host or (best != host and len(key) > len(best)):
            best = key
    return [vs for key, vs in keyed if key == best]


# -- the table ------------------------------------------------------------------------------------


@frozen
class HostRoutes:
    """The routes to one host in one view: those that carry some client's requests, and those
    pilot builds for no client in the view, each with the reason."""

    live: tuple[RouteRef, ...]
    dropped: tuple[RouteRef, ...]


class RoutingTable:
    """Who each indexed route carries traffic for, read from the route index, the Gateways and
    the service registry (ports and protocols decide which VirtualService a client uses)."""

    def __init__(
        self,
        index: RouteIndex,
        gateways: Mapping[ObjectRef, Gateway],
        gateways_known: Callable[[], bool],
        registry: Registry,
        kubernetes_gateways: Mapping[ObjectRef, object] | None = None,
        dataplane: DataPlane | None = None,
    ) -> None:
        self.index = index
        self.gateways = gateways
        self.gateways_known = gateways_known
        self.registry = registry
        self.kubernetes_gateways = kubernetes_gateways if kubernetes_gateways is not None else {}
        self.dataplane = dataplane

    def kubernetes_gateway(self, ref: ObjectRef | None) -> bool:
        """Whether a VS's gateway name is a Kubernetes Gateway (and no Istio Gateway): pilot
        binds no VirtualService to it by that name (core/gateway.go looks VSs up by the Istio
        Gateway it generates per listener, `gw~istio-autogenerated-k8s-gateway~listener`)."""
        return (
            ref is not None
            and ref not in self.gateways
            and ObjectRef(KUBERNETES_GATEWAY, ref.namespace, ref.name) in self.kubernetes_gateways
        )

    def routes_to(self, host: str, scope: ClientSet = EVERYONE) -> HostRoutes:
        """Every route to `host`, resolved: `live` carries requests of clients in `scope`."""
        live: list[RouteRef] = []
        dropped: list[RouteRef] = []
        for r in self.index.routes_to(host):
            resolved = self.resolve(r, scope)
            (dropped if resolved.dropped else live).append(resolved)
        return HostRoutes(tuple(live), tuple(dropped))

    def resolve(self, r: RouteRef, scope: ClientSet = EVERYONE) -> RouteRef:
        """`r` with the clients whose requests it carries, or the reason it carries none.

        Kept in the index's memo, which every change of VirtualServices, Services, Service
        Entries and Gateways clears: an indexed route object lives as long as its memo entry."""
        if r.dropped:
            return r
        key = ("resolve", id(r), scope)
        found = self.index.memo.get(key)
        if found is None:
            found = self.index.memo[key] = self._resolve(r, scope)
        return found  # type: ignore[return-value]

    def _resolve(self, r: RouteRef, scope: ClientSet) -> RouteRef:
        vs = self.index.get(r.virtual_service)
        if vs is None:
            return resolved(r, NOBODY, dropped="its VirtualService is gone")
        clients, guess = self._clients(vs, r)
        if not clients:
            return resolved(r, clients, dropped=self._why_nobody(vs, r, scope))
        if r.weight <= 0:
            what = "mirrors 0% of the requests" if r.kind == "mirror" else "has weight 0"
            return resolved(r, clients, guess, f"it {what}")
        seen = clients & scope
        if not seen:
            # Users named only when they are a list: "every namespace but ..." would name
            # namespaces that have nothing to do with this view (out of the mesh, say).
            users = "clients of other namespaces" if clients.everyone else clients.describe()
            why = f"is used only by {users}, not by {scope.describe()}"
            hidden = next(
                (h for _, p, _ in self._ports_of(vs) if (h := self._hidden_why(vs, r, p, scope))),
                "",
            )
            if hidden:
                why = f"is not applied for {scope.describe()}: {hidden}"
            dp = self.dataplane
            if dp is not None and not dp.trivial:
                # The data plane's reason, when the view's clients' proxy does not take the
                # VirtualService for the hosts it claims (not the route's destination).
                hosts = self.index.hosts_of(vs)
                reason = "; ".join(
                    dict.fromkeys(
                        found
                        for h in hosts
                        if (found := dp.why_not(h, scope, vs, hosts))
                        and not dp.narrow(scope, vs, hosts, h)
                    )
                )
                if not reason and scope & dp.clients(Mode.AMBIENT):
                    reason = self.waypoint_why(r)
                why = f"is not applied for them: {reason}" if reason else why
            return resolved(r, clients, guess, why)
        return resolved(r, seen, guess)

    def host_users(self, vs: VirtualService, host: str) -> ClientSet:
        """The sidecars that use `vs` for `host`, on any of its ports."""
        out = ClientSet.none()
        for port, kinds in _ports(self.registry(host)):
            out |= users(self.index, vs, host, port, kinds, self.dataplane)
        return out

    def _clients(self, vs: VirtualService, r: RouteRef) -> tuple[ClientSet, bool]:
        out = ClientSet.none()
        guess = False
        if MESH_GATEWAY in r.gateways:
            for host, port, kinds in self._ports_of(vs):
                out |= self.port_clients(r, host, port, kinds)
        seen = visibility(vs)
        for name in r.gateways:
            if name == MESH_GATEWAY:
                continue
            # A gateway applies the DestinationRules of its own namespace, and sees the VS
            # when exported there. Offline without Gateways that namespace is unknown.
            ref = gateway_ref(name, vs.meta.ref.namespace)
            if self.kubernetes_gateway(ref):
                continue
            if ref in self.gateways:
                out |= seen & ClientSet.of([ref.namespace])
            elif not self.gateways_known():
                out |= seen
                guess = True
        return out, guess

    def _ports_of(self, vs: VirtualService) -> list[tuple[str, int | None, tuple[str, ...]]]:
        """Every port of every host `vs` claims, with the rule kinds each takes."""
        key = ("ports", vs.meta.ref)
        found = self.index.memo.get(key)
        if found is None:
            found = self.index.memo[key] = [
                (host, port, kinds)
                for host in self.index.hosts_of(vs)
                for port, kinds in _ports(self.registry(host))
            ]
        return found  # type: ignore[return-value]

    def port_clients(
        self, r: RouteRef, host: str, port: int | None, kinds: tuple[str, ...]
    ) -> ClientSet:
        """The clients whose requests to `host` on `port` the mesh-bound route `r` can take:
        sidecars that use its VirtualService there and for which pilot builds the rule; ambient
        clients when the host's waypoint has the rule and no catch-all before it."""
        vs = self.index.get(r.virtual_service)
        if vs is None:
            return NOBODY
        used = users(self.index, vs, host, port, kinds, self.dataplane)
        if not used:
            return NOBODY
        dp = self.dataplane
        through_waypoint = NOBODY
        if dp is not None and not dp.trivial:
            through_waypoint = used - dp.first_wins()
        out = (used - through_waypoint) & rule_clients(r.matches, r.rule_kind, port, kinds)
        if out and r.rule_kind == HTTP:
            out -= self.hidden(vs, port).get(route_key(r), NOBODY)
        if through_waypoint:
            waypoint = waypoint_routes(self.index, dp, host, port, kinds)  # type: ignore[arg-type]
            if waypoint is not None and waypoint.reaches(r):
                out |= through_waypoint
        return out

    def hidden(self, vs: VirtualService, port: int | None) -> dict[RuleKey, ClientSet]:
        """For each HTTP rule of `vs` (delegates merged in), the sidecars for which a rule
        before it on `port` ends the VirtualService's routes (`hiding_clients`): pilot builds
        none of the rest for them. A delegate's rule that several root rules take is hidden
        only where it is hidden behind each of them."""
        key = ("hidden", vs.meta.ref, port)
        found = self.index.memo.get(key)
        if found is None:
            found = {}
            hiding = NOBODY
            for rule in proxy_rules(self.index, [vs], HTTP):
                k = rule_key(rule)
                found[k] = found[k] & hiding if k in found else hiding
                hiding = hiding | hiding_clients(rule, port)
            self.index.memo[key] = found
        return found  # type: ignore[return-value]

    def _hidden_why(
        self, vs: VirtualService, r: RouteRef, port: int | None, among: ClientSet = EVERYONE
    ) -> str:
        """Why the sidecars (of `among`) a rule is built for on `port` have no route from it:
        a catch-all before it ends the VirtualService's routes for them ("" if not why)."""
        if r.rule_kind != HTTP:
            return ""
        built = rule_clients(r.matches, r.rule_kind, port, (HTTP,)) & among
        if not built or built - self.hidden(vs, port).get(route_key(r), NOBODY):
            return ""
        first = next(
            (
                rule.label
                for rule in proxy_rules(self.index, [vs], HTTP)
                if hiding_clients(rule, port) & built
            ),
            "a rule",
        )
        return (
            f"{first} before it matches every request on port {port} (pilot builds no route "
            "after a catch-all)"
        )

    def waypoint_why(self, r: RouteRef) -> str:
        """Why no waypoint of the route's hosts sends a request by it ("" when one may)."""
        vs = self.index.get(r.virtual_service)
        dp = self.dataplane
        if vs is None or dp is None or dp.trivial:
            return ""
        whys = []
        for host, port, kinds in self._ports_of(vs):
            waypoint = waypoint_routes(self.index, dp, host, port, kinds)
            if waypoint is None:
                continue
            if waypoint.reaches(r):
                return ""
            why = waypoint.why_not(r)
            if why:
                whys.append(f"waypoint {waypoint.named} for {host}: {why}")
        return "; ".join(dict.fromkeys(whys))

    def _why_nobody(self, vs: VirtualService, r: RouteRef, scope: ClientSet = EVERYONE) -> str:
        """Why a route that can match carries no client's requests."""
        missing = [
            g
            for g in r.gateways
            if g != MESH_GATEWAY and gateway_ref(g, vs.meta.ref.namespace) not in self.gateways
        ]
        k8s = [g for g in missing if self.kubernetes_gateway(gateway_ref(g, vs.meta.ref.namespace))]
        if k8s and len(missing) == len(r.gateways):
            return (
                f"it is bound only to {', '.join(k8s)}, a Kubernetes Gateway, to which "
                "VirtualServices cannot bind (pilot looks them up by the Istio Gateway it "
                "generates per listener); write an HTTPRoute with it as parent"
            )
        if missing and len(missing) == len(r.gateways):
            return f"it is bound only to gateways that do not exist: {', '.join(missing)}"
        if not visibility(vs):
            return "its VirtualService is exported to no namespace"
        hosts = self.index.hosts_of(vs)
        dp = self.dataplane
        if dp is not None and not dp.trivial:
            # The data plane's reason, when no proxy of the clients that see it takes it.
            seen = visibility(vs) & scope or visibility(vs)  # the view's clients, if any
            why = [
                dp.why_not(h, seen, vs, hosts)
                for h in hosts
                if not dp.narrow(visibility(vs), vs, hosts, h)
            ]
            if why and len(why) == len(hosts) and all(why):
                return "; ".join(dict.fromkeys(why))
        # Sidecars keep another VirtualService; a waypoint has the rule behind a catch-all.
        waypoint = self.waypoint_why(r)
        for host in hosts:
            for port, kinds in _ports(self.registry(host)):
                built = rule_clients(r.matches, r.rule_kind, port, kinds)
                if not built:
                    continue
                winners = [
                    c.virtual_service.meta.ref.namespaced_name
                    for c in contenders(self.index, host, self.dataplane)
                    if c.virtual_service is not vs
                    and precedes(c.virtual_service, vs) & c.clients & built & first_wins(dp)
                ]
                hidden = self._hidden_why(vs, r, port)
                if hidden and not winners:
                    hidden = f"for the sidecars it is built for, {hidden}"
                    return f"{hidden}; {waypoint}" if waypoint else hidden
                if winners:
                    sidecars = (
                        f"sidecars that see it use VirtualService {', '.join(winners)} for "
                        f"{host} instead (pilot keeps the first VirtualService for a host)"
                    )
                    return f"{sidecars}; {waypoint}" if waypoint else sidecars
        if waypoint:
            return waypoint
        if vs.gateway_semantics and not gateway_api_clients(vs).everyone:
            return (
                f"it is a consumer route of namespace {vs.meta.ref.namespace}: pilot builds it "
                f"only for clients there, and they use another route for {', '.join(hosts)}"
            )
        return f"pilot builds it for no port and client of {', '.join(hosts)}"
