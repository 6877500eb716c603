"""Checks of each DestinationRule and VirtualService against the rest of the mesh.

What istioctl analyze's analyzers (pkg/config/analysis/analyzers) and Kiali's checkers
(business/checkers) say about these two kinds, one function per rule, plus what the schema
found short of rejecting a resource. They read the :class:`~meshtui.mesh.index.MeshIndex`'s
indexes and run once per analysis; each finding names its resource, field and host, so the
analysis can hang it on the host it concerns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.model import HostAnalysis
from meshtui.mesh.resources import (
    EXPORT_TO_ANNOTATION,
    Destination,
    DestinationRule,
    ObjectRef,
    Path,
    Resource,
    Service,
    Subset,
    VirtualService,
    Workload,
    format_path,
)
from meshtui.mesh.routes import MESH_GATEWAY, RouteRef, gateway_ref
from meshtui.mesh.selection import closest_labels
from meshtui.mesh.suppress import SuppressRule, is_suppressed
from meshtui.mesh.virtual_services import unknown_gateways
from meshtui.mesh.webhook import STORED

ALL = "*"


@dataclass(frozen=True, slots=True)
class Known:
    """A Service or ServiceEntry host as the analyzers see it: its ports (None: unknown)."""

    ports: tuple[int, ...] | None


# An in-cluster host in an input without any Service: meshtui cannot tell whether it exists.
UNJUDGED = Known(None)


@dataclass
class Registry:
    """Hosts by visibility scope, as istioctl's util.InitServiceEntryHostMap builds them:
    (scope namespace or `*`, FQDN) for exact hosts, and the wildcard hosts apart."""

    exact: dict[tuple[str, str], Known] = field(default_factory=dict)
    wildcards: list[tuple[str, str, Known]] = field(default_factory=list)
    # Whether the input holds Services at all: a folder of Istio config alone says nothing
    # about which Kubernetes services exist (live, the API server always lists some).
    services_known: bool = True

    def add(self, scope: str, host: str, known: Known) -> None:
        if host.startswith("*"):
            self.wildcards.append((scope, host[1:], known))
        else:
            self.exact.setdefault((scope, host), known)

    def lookup(
        self, namespace: str, export_to: Iterable[str], host: str, domain: str
    ) -> Known | None:
        """The Service or ServiceEntry a resource in `namespace` reaches by `host`.

        istioctl's util.GetDestinationHost: a host exported to all namespaces; else one in the
        scopes the referring resource's own exportTo names (its namespace when it has none);
        else a wildcard ServiceEntry host visible to the namespace that covers it.
        """
        fqdn = resolve_host(host, namespace, domain)
        found = self.exact.get((ALL, fqdn))
        if found is not None:
            return found
        scopes = [namespace if e == "." else e for e in export_to] or [namespace]
        for scope in scopes:
            found = self.exact.get((scope, fqdn))
            if found is not None:
                return found
        bare = fqdn.removeprefix("*")
        for scope, suffix, known in self.wildcards:
            if scope in (ALL, namespace) and bare.endswith(suffix):
                return known
        if fqdn.startswith("*"):
            # A wildcard host (a mesh-wide `*.local` DR) covers every visible host under it,
            # as pilot applies it; istioctl's lookup misses these and reports IST0174.
            visible = {ALL, *scopes}
            for (scope, name), known in self.exact.items():
                if scope in visible and name.endswith(bare):
                    return known
        if not self.services_known and (fqdn.endswith(f".svc.{domain}") or fqdn == "*"):
            return UNJUDGED
        return None


def _scopes(export_to: Iterable[str], own: str) -> list[str]:
    scopes = []
    for e in export_to:
        e = e.strip()
        if e == ALL:
            return [ALL]
        scopes.append(own if e == "." else e)
    return scopes or [ALL]


# The Services an Istio install creates in its namespace (istioctl install's default and demo
# profiles, manifests/charts/gateways and istio-control): known to exist though the input
# rarely holds them, as the documented egress gateway pattern routes to the egress gateway.
ISTIO_INSTALL_SERVICES = (
    "istiod",
    "istio-ingressgateway",
    "istio-egressgateway",
    "istio-eastwestgateway",
)


def registry(mesh: MeshIndex) -> Registry:
    """Every Service and ServiceEntry host with the namespaces it is visible in, and the
    Services an Istio install creates (their ports are not judged)."""
    out = Registry(services_known=bool(mesh._hosts.services))
    domain = mesh.config.domain
    for name in ISTIO_INSTALL_SERVICES:
        host = f"{name}.{mesh.config.root_namespace}.svc.{domain}"
        if host not in mesh._hosts.services:
            out.add(ALL, host, UNJUDGED)
    for host, service in mesh._hosts.services.items():
        ns = service.meta.ref.namespace
        annotation = (service.meta.annotations or {}).get(EXPORT_TO_ANNOTATION)
        known = Known(tuple(p.number for p in service.ports))
        for scope in _scopes(annotation.split(",") if annotation else (), ns):
            out.add(scope, host, known)
    entries = {e.meta.ref: e for es in mesh._hosts.entries.values() for e in es}
    for entry in entries.values():
        ns = entry.meta.ref.namespace
        known = Known(tuple(p.number for p in entry.ports))
        for h in entry.hosts:
            for scope in _scopes(entry.export_to, ns):
                out.add(scope, resolve_host(h, ns, domain), known)
    return out


@dataclass
class CheckState:
    """The checks' findings kept between analyses, per resource and per host."""

    version: int
    registry: Registry
    resources: dict[ObjectRef, tuple[object, list[Finding]]] = field(default_factory=dict)
    refs: dict[str | None, set[ObjectRef]] = field(default_factory=lambda: defaultdict(set))
    by_host: dict[str | None, list[Finding]] = field(default_factory=dict)

    def _ordered(self, host: str | None) -> list[Finding]:
        found = [
            f for ref in self.refs.get(host, ()) for f in self.resources[ref][1] if f.host == host
        ]
        found.sort(key=_order)
        return found

    def _keep(self, ref: ObjectRef, resource: object, found: list[Finding]) -> None:
        self.resources[ref] = (resource, found)
        for f in found:
            self.refs[f.host].add(ref)


def _order(f: Finding) -> tuple[Any, ...]:
    # One order whichever resource was read or changed last: a full and an incremental
    # analysis list a host's findings alike.
    return (*f.sort_key(), str(f.resource or ""), f.file or "", f.line or 0, f.path)


def check_mesh(
    mesh: MeshIndex,
) -> tuple[Mapping[str | None, list[Finding]], set[str | None] | None]:
    """Every finding of the rules below, over every DestinationRule and VirtualService, by
    host (None: no host), and the hosts whose findings changed since the last call (None: any
    may have).

    A resource's findings depend on it and on the Services, ServiceEntries and Gateways
    only, so they are kept per resource until one of those changes, and only the resources
    added, replaced or removed since the last call are checked again (a live mesh
    re-analyses on every watch event, a followed folder on every save)."""
    touched = mesh.take_touched()
    state = mesh.check_state
    if not isinstance(state, CheckState) or state.version != mesh.registry_version:
        state = CheckState(mesh.registry_version, registry(mesh))
        rejected = [r for r in mesh._resources.values() if _checked_alone(r)]
        native = (vs for vs in mesh.routes if not vs.gateway_semantics)  # gateway_api.py checks
        for resource in (*mesh.destination_rules, *native, *rejected):
            state._keep(resource.meta.ref, resource, _check(mesh, resource, state.registry))
        state.by_host = {host: state._ordered(host) for host in state.refs}
        mesh.check_state = state
        return state.by_host, None
    changed: set[str | None] = set()
    for ref in touched:
        resource = mesh.get(ref)
        kept = state.resources.get(ref)
        if kept is not None and kept[0] is resource:
            continue
        if kept is not None:
            state.resources.pop(ref)
            for f in kept[1]:
                changed.add(f.host)
                state.refs[f.host].discard(ref)
        if isinstance(resource, DestinationRule | VirtualService) or (
            resource is not None and _checked_alone(resource)
        ):  # else removed, or unchecked
            found = _check(mesh, resource, state.registry)
            state._keep(ref, resource, found)
            changed.update(f.host for f in found)
    for host in changed:
        found = state._ordered(host)
        if found:
            state.by_host[host] = found
        else:
            state.by_host.pop(host, None)
            state.refs.pop(host, None)
    return state.by_host, changed


def _checked_alone(resource: Resource) -> bool:
    """A resource checked here though the analysis does not index it (rejected), or that is
    not a DestinationRule or VirtualService but has issues of its own (a ServiceEntry)."""
    if resource.meta.rejected is not None:
        return True
    return not isinstance(resource, DestinationRule | VirtualService) and bool(resource.meta.issues)


def _check(mesh: MeshIndex, resource: Resource, known: Registry) -> list[Finding]:
    found = _checks(mesh, resource, known)
    if resource.meta.rejected is None:
        return found
    # A rejected resource is read without its rejected fields (or the list entries holding
    # them): what is said about such a field, what holds it, or the list an entry left out
    # was in (a subset whose labels were dropped has "no labels", a route left with one
    # destination "gives it all the traffic") would be about the reading, not what was written.
    cut = [p[:-1] if isinstance(p[-1], int) else p for p in resource.meta.left_out]
    return _rejection(resource) + [
        f for f in found if len(f.path) < 2 or not any(_holds(f.path, p) for p in cut)
    ]


def _checks(mesh: MeshIndex, resource: Resource, known: Registry) -> list[Finding]:
    if not isinstance(resource, DestinationRule | VirtualService):
        return _schema_findings(resource, None)
    if isinstance(resource, DestinationRule):
        found = _schema_findings(resource, _dr_host(mesh, resource))
        return found + destination_rule_findings(mesh, resource, known)
    found = _schema_findings(resource, None) + virtual_service_findings(mesh, resource, known)
    if resource.meta.rejected is not None and mesh.gateways_known:
        # The analysis reads only the VirtualServices Istio accepts; the gateways a rejected
        # one binds to are checked here (they change the registry's version).
        found += unknown_gateways(resource, mesh.gateways, None)
    return found


def _holds(a: Path, b: Path) -> bool:
    """Whether one field path holds the other (or they are the same field)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _rejection(resource: Resource) -> list[Finding]:
    """InvalidResource for a resource the API server or Istio's webhook rejects: Istio never
    sees it. The rest of it is checked as any other (a fix of the rejected field must not
    bring the next finding to light only then)."""
    rejected = resource.meta.rejected
    if rejected is None:
        return []
    where = format_path(rejected.path)
    return [
        Finding(
            Code.INVALID_RESOURCE,
            f"{rejected.ref} is ignored: " + " ".join(p for p in (where, rejected.message) if p),
            resource=rejected.ref,
            origin=rejected.origin,
            path=rejected.path,
        )
    ]


def _dr_host(mesh: MeshIndex, rule: DestinationRule) -> str:
    return resolve_host(rule.host, rule.meta.ref.namespace, mesh.config.domain)


def _schema_findings(resource: Resource, host: str | None) -> list[Finding]:
    codes = {
        "UnknownField": Code.UNKNOWN_FIELD,
        "DeprecatedField": Code.DEPRECATED_FIELD,
        "IgnoredField": Code.IGNORED_FIELD,
        STORED: Code.INVALID_RESOURCE,
    }
    stored = (
        "; the resource is stored in the cluster and pilot applies it as it is, but applying "
        "it again fails"
    )
    return [
        Finding(
            codes[issue.code],
            f"{resource.meta.ref}: {_field(issue.path)} {issue.message}"
            + (stored if issue.code == STORED else ""),
            host=host,
            resource=resource.meta.ref,
            origin=resource.meta.origin,
            path=issue.path,
        )
        for issue in resource.meta.issues
        if issue.code in codes
    ]


def _field(path: Path) -> str:
    return format_path(path)


# -- DestinationRules -----------------------------------------------------------------------

_TLS_WITHOUT_CA = ("SIMPLE", "MUTUAL")


def destination_rule_findings(
    mesh: MeshIndex, rule: DestinationRule, known: Registry
) -> list[Finding]:
    host = _dr_host(mesh, rule)
    ref = rule.meta.ref
    out: list[Finding] = []

    def finding(code: Code, message: str, path: Path, subset: str | None = None) -> Finding:
        return Finding(
            code,
            message,
            host=host,
            subset=subset,
            resource=ref,
            origin=rule.meta.origin,
            path=path,
        )

    target = known.lookup(ref.namespace, rule.export_to, rule.host, mesh.config.domain)
    if target is None:
        # destinationrule/subset.go (PodNotSelectedAnalyzer): NewUnknownDestinationRuleHost.
        out.append(
            finding(
                Code.UNKNOWN_DESTINATION_RULE_HOST,
                f"{ref}: host {rule.host!r} is no Service or ServiceEntry visible from namespace "
                f"{ref.namespace}; Istio builds no cluster for it, so its traffic policy and "
                "subsets are never applied",
                ("spec", "host"),
            )
        )
    policies: list[tuple[Mapping[str, Any] | None, Path, str | None]] = [
        (rule.traffic_policy, ("spec", "trafficPolicy"), None)
    ]
    policies += [(s.traffic_policy, (*s.path, "trafficPolicy"), s.name) for s in rule.subsets]
    for policy, path, subset in policies:
        out += _tls_findings(rule, policy, path, subset, finding)
        if target is not None and not rule.host.startswith("*"):
            out += _port_findings(rule, policy, path, subset, target, finding)
    egress = _is_egress_gateway(host)
    for s in rule.subsets:
        if not s.labels:
            # Kiali business/checkers/destinationrules (KIA0209): a subset without labels.
            # Istio's egress gateway tasks (egress-gateway, egress-gateway-tls-origination)
            # give the egress gateway a label-less subset per destination to carry its TLS
            # settings: the whole gateway under another name is what is meant there.
            message = (
                f"subset {s.name!r} of {host} has no labels: it selects every endpoint of the "
                "service"
            )
            if egress:
                message += (
                    ", as Istio's documented egress gateway pattern means (a label-less subset "
                    "per destination carries its traffic policy)"
                )
            out.append(
                replace(
                    finding(Code.SUBSET_WITHOUT_LABELS, message, s.path, s.name),
                    level=Severity.INFO if egress else None,
                )
            )
    return out


def _is_egress_gateway(host: str) -> bool:
    """Whether `host` is an Istio egress gateway's Service (istio-egressgateway, or a named
    one such as istio-egressgateway-tls)."""
    return host.split(".", 1)[0].startswith("istio-egressgateway")


def _tls_findings(rule, policy, path, subset, finding) -> Iterator[Finding]:  # type: ignore[no-untyped-def]
    """destinationrule/ca-certificates.go (CaCertificateAnalyzer): TLS SIMPLE or MUTUAL with
    no caCertificates, unless credentialName is set on a DR with a workloadSelector (the
    credential then comes from the workload's own secret). Host and port level as istioctl;
    the subset's own policy as meshtui's addition."""
    if not isinstance(policy, Mapping):
        return
    where = f" of subset {subset!r}" if subset else ""
    tls = policy.get("tls")
    if _unverified(tls, rule):
        yield finding(
            Code.NO_CA_CERTIFICATES,
            f"{rule.meta.ref}: TLS mode {tls['mode']}{where} has no caCertificates: the "
            f"server certificate of {rule.host} is verified against the system roots; a server "
            "with a private CA will fail the handshake (pin a CA with caCertificates or "
            "credentialName)",
            (*path, "tls"),
            subset,
        )
    for i, entry in enumerate(policy.get("portLevelSettings") or ()):
        tls = entry.get("tls") if isinstance(entry, Mapping) else None
        if _unverified(tls, rule):
            number = (entry.get("port") or {}).get("number")
            yield finding(
                Code.NO_CA_CERTIFICATES_PORT,
                f"{rule.meta.ref}: TLS mode {tls['mode']} on port {number}{where} has no "
                f"caCertificates: there the server certificate of {rule.host} is verified "
                "against the system roots; a server with a private CA will fail the handshake "
                "(pin a CA with caCertificates or credentialName)",
                (*path, "portLevelSettings", i, "tls"),
                subset,
            )


def _unverified(tls: object, rule: DestinationRule) -> bool:
    if not isinstance(tls, Mapping) or tls.get("mode") not in _TLS_WITHOUT_CA:
        return False
    if tls.get("caCertificates"):
        return False
    return not (tls.get("credentialName") and rule.workload_selector is not None)


def _port_findings(rule, policy, path, subset, target: Known, finding) -> Iterator[Finding]:  # type: ignore[no-untyped-def]
    """portLevelSettings for a port the Service or ServiceEntry does not expose: pilot only
    builds clusters for the service's ports, so the settings are never used."""
    if not isinstance(policy, Mapping) or not target.ports:
        return
    for i, entry in enumerate(policy.get("portLevelSettings") or ()):
        number = (entry.get("port") or {}).get("number") if isinstance(entry, Mapping) else None
        if isinstance(number, int) and number not in target.ports:
            ports = ", ".join(str(p) for p in sorted(target.ports))
            where = f" of subset {subset!r}" if subset else ""
            yield finding(
                Code.PORT_NOT_IN_SERVICE,
                f"{rule.meta.ref}: portLevelSettings{where} for port {number}, which "
                f"{rule.host} does not expose (its ports: {ports}); they never apply",
                (*path, "portLevelSettings", i, "port", "number"),
                subset,
            )


# -- VirtualServices ------------------------------------------------------------------------


def _destinations(vs: VirtualService) -> Iterator[tuple[Destination, Path, bool]]:
    """Every route and mirror destination: (destination, path of its `destination`, mirror)."""
    for route in vs.routes:
        for d in route.destinations:
            yield d, (*d.path, "destination"), False
        for m in route.mirrors:
            yield m, m.path, True


def virtual_service_findings(mesh: MeshIndex, vs: VirtualService, known: Registry) -> list[Finding]:
    ref = vs.meta.ref
    domain = mesh.config.domain
    out: list[Finding] = []

    def finding(code: Code, message: str, path: Path, host: str | None) -> Finding:
        return Finding(code, message, host=host, resource=ref, origin=vs.meta.origin, path=path)

    # virtualservice/destinationhosts.go (DestinationHostAnalyzer): hosts and ports. Without
    # a port, pilot (networking/util GetDestinationCluster) takes the host's only port, else
    # the port the request arrived on: a sidecar's route to one of the VirtualService's own
    # hosts arrives on a port of that host and works, so meshtui reports IST0112 only where
    # the arrival port may be another (another host, or a gateway's server port).
    own_hosts = {resolve_host(h, ref.namespace, domain) for h in vs.hosts}
    gateway_bound = any(g != MESH_GATEWAY for g in vs.gateways) or any(
        g != MESH_GATEWAY for r in vs.routes for g in r.match_gateways
    )
    for d, path, mirror in _destinations(vs):
        host = resolve_host(d.host, ref.namespace, domain)
        what = "mirror host" if mirror else "host"
        target = known.lookup(ref.namespace, vs.export_to, d.host, domain)
        if target is None:
            out.append(_unknown_host(mesh, vs, what, d.host, (*path, "host"), host))
        elif target.ports is None:
            continue
        elif d.port is None:
            if len(target.ports) > 1 and (host not in own_hosts or gateway_bound):
                ports = ", ".join(str(p) for p in target.ports)
                out.append(
                    finding(
                        Code.DESTINATION_PORT_REQUIRED,
                        f"{ref}: {what} {d.host!r} exposes several ports ({ports}); the "
                        "destination must name one",
                        path,
                        host,
                    )
                )
        elif d.port not in target.ports:
            out.append(
                finding(
                    Code.UNKNOWN_PORT,
                    f"{ref}: {what} {d.host}:{d.port} does not exist: {d.host} exposes "
                    f"{', '.join(str(p) for p in target.ports) or 'no ports'}",
                    (*path, "port", "number"),
                    host,
                )
            )
    out += _route_findings(vs, domain, finding)
    out += _gateway_findings(mesh, vs, finding)
    return out


def _unknown_host(
    mesh: MeshIndex, vs: VirtualService, what: str, written: str, path: Path, host: str
) -> Finding:
    """UnknownHost: an error live, where the API server lists every Service; offline, the
    host is only not in these files (another tool, a federation or the cluster may create it
    at run time), a warning."""
    ref = vs.meta.ref
    if mesh.cluster is not None:
        level = Severity.ERROR
        why = f"is no Service or ServiceEntry visible from namespace {ref.namespace}"
        after = "its requests fail"
    else:
        level = Severity.WARNING
        why = (
            f"is not in these files: no Service or ServiceEntry here is visible from "
            f"namespace {ref.namespace}"
        )
        after = "if the cluster does not create it at run time, its requests fail"
    return Finding.at(
        level,
        Code.UNKNOWN_HOST,
        f"{ref}: {what} {written!r} {why}; {after}",
        host=host,
        resource=ref,
        origin=vs.meta.origin,
        path=path,
    )


def _route_findings(vs: VirtualService, domain: str, finding) -> Iterator[Finding]:  # type: ignore[no-untyped-def]
    """Kiali's route checkers: a lone destination's weight (KIA1104) and the same host and
    subset twice in one route (KIA1105)."""
    ns = vs.meta.ref.namespace
    for route in vs.routes:
        dests = route.destinations
        if len(dests) == 1 and dests[0].weight is not None and dests[0].weight < 100:
            d = dests[0]
            yield finding(
                Code.SINGLE_DESTINATION_WEIGHT,
                f"{vs.meta.ref} {route.kind}[{route.index}]: the only destination has weight "
                f"{d.weight}, but Istio sends it all the traffic (weight 100)",
                (*d.path, "weight"),
                resolve_host(d.host, ns, domain),
            )
        seen: dict[tuple[str, str], int] = {}
        for i, d in enumerate(dests):
            key = (resolve_host(d.host, ns, domain), d.subset)
            if key in seen:
                subset = f" subset {d.subset!r}" if d.subset else ""
                yield finding(
                    Code.DUPLICATE_DESTINATION,
                    f"{vs.meta.ref} {route.kind}[{route.index}]: destination {i} repeats "
                    f"{d.host}{subset} of destination {seen[key]}",
                    (*d.path, "destination"),
                    key[0],
                )
            else:
                seen[key] = i


# Gateways Istio generates for a Kubernetes Gateway API gateway: `<gw>-istio-autogenerated-
# k8s-gateway-<listener>` (pkg/config/kube IsInternalGatewayReference; `~` in older releases).
_INTERNAL_GATEWAY = ("-istio-autogenerated-k8s-gateway-", "~istio-autogenerated-k8s-gateway~")


def _gateway_findings(mesh: MeshIndex, vs: VirtualService, finding) -> Iterator[Finding]:  # type: ignore[no-untyped-def]
    """virtualservice/gateways.go (GatewayAnalyzer): a generated gateway (IST0165), and a
    gateway none of whose servers accepts any of the VirtualService's hosts (IST0132).
    istioctl also reports IST0132 for a gateway that does not exist; meshtui says that once,
    as UnknownGateway, rather than twice."""
    ns = vs.meta.ref.namespace
    for i, name in enumerate(vs.gateways):
        if name == MESH_GATEWAY:
            continue
        path: Path = ("spec", "gateways", i)
        if any(mark in name.rpartition("/")[2] for mark in _INTERNAL_GATEWAY):
            yield finding(
                Code.INTERNAL_GATEWAY_REFERENCE,
                f"{vs.meta.ref}: gateway {name!r} is generated by Istio for a Kubernetes "
                "Gateway API gateway; bind routes with an HTTPRoute to that gateway instead",
                path,
                None,
            )
            continue
        gw_ref = gateway_ref(name, ns)
        gateway = mesh.gateways.get(gw_ref) if gw_ref else None
        if gw_ref is not None and gateway is None and mesh.table.kubernetes_gateway(gw_ref):
            # A Kubernetes Gateway: istioctl checks its listeners' hostnames (a listener
            # without one accepts every host) and reports nothing else (gateways.go
            # vsHostInKubernetesGateway); that the VS binds to nothing is meshtui's own
            # finding, VirtualServiceOnKubernetesGateway.
            k8s = mesh.kubernetes_gateways[
                ObjectRef("KubernetesGateway", gw_ref.namespace, gw_ref.name)
            ]
            names = [lst.hostname for lst in k8s.listeners]
            if names and all(names) and not any(_overlap(g, h) for g in names for h in vs.hosts):
                yield finding(
                    Code.HOST_NOT_IN_GATEWAY,
                    f"{vs.meta.ref}: no listener of Kubernetes Gateway {name} accepts any of its "
                    f"hosts ({', '.join(vs.hosts) or 'none'})",
                    path,
                    None,
                )
            continue
        if gw_ref is not None and gateway is None and mesh.gateways_known:
            # istioctl's GatewayAnalyzer reports IST0132 besides IST0101 here: no server of
            # a gateway that does not exist accepts the hosts (analyzers_test.go,
            # virtualServiceGateways).
            yield finding(
                Code.HOST_NOT_IN_GATEWAY,
                f"{vs.meta.ref}: gateway {name} does not exist, so no server accepts its hosts "
                f"({', '.join(vs.hosts) or 'none'}) (see UnknownGateway)",
                path,
                None,
            )
        if gateway is None or gw_ref is None:
            continue
        accepted = _gateway_hosts(gateway.servers, gw_ref.namespace, ns)
        if not any(_overlap(g, h) for g in accepted for h in vs.hosts):
            yield finding(
                Code.HOST_NOT_IN_GATEWAY,
                f"{vs.meta.ref}: no server of gateway {name} accepts any of its hosts "
                f"({', '.join(vs.hosts) or 'none'}), so the gateway never uses its routes",
                path,
                None,
            )


def _gateway_hosts(servers: Iterable[Any], gateway_ns: str, vs_ns: str) -> list[str]:
    """The server hosts that apply to VirtualServices of `vs_ns` (`ns/host`, `./host`,
    `*/host`, or a bare host), as gateways.go sanitizeServerHostNamespace and
    host.NamesForNamespace read them."""
    out = []
    for server in servers:
        for h in server.hosts:
            ns, slash, name = h.partition("/")
            if not slash:
                out.append(h)
            elif ns == "*" or ns == vs_ns or (ns == "." and gateway_ns == vs_ns):
                out.append(name)
    return out


def _overlap(a: str, b: str) -> bool:
    """Whether two host names overlap, either may be a wildcard (istio host.Name.Matches)."""
    if a == b:
        return True
    if a.startswith("*") and b.startswith("*"):
        return a[1:].endswith(b[1:]) or b[1:].endswith(a[1:])
    if a.startswith("*"):
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return False


class Completed:
    """Every host's analysis with the checks' findings added and what the suppression rules
    and annotations take out removed: kept between analyses, so that a change completes
    again only the hosts it touched."""

    def __init__(self, rules: tuple[SuppressRule, ...]) -> None:
        self.rules = rules
        self.known: set[str] = set()  # every host of the mesh, with an analysis or not
        self.hosts: dict[str, HostAnalysis] = {}  # in host order
        self.suppressed: dict[str, list[Finding]] = {}

    def put(
        self,
        mesh: MeshIndex,
        host: str,
        analysis: HostAnalysis | None,
        checks: Mapping[str | None, list[Finding]],
    ) -> None:
        """Set one host's analysis (None: the host has none) from the core and the checks."""
        self.suppressed.pop(host, None)
        if analysis is None:
            self.hosts.pop(host, None)
            return
        extra = checks.get(host)
        if extra:
            merged = sorted((*analysis.findings, *extra), key=Finding.sort_key)
            analysis = replace(analysis, findings=tuple(merged))
        if self.rules or mesh.has_suppress_annotations():
            kept, out = _suppress(mesh, analysis.findings)
            if out:
                self.suppressed[host] = out
                analysis = replace(analysis, findings=tuple(kept))
        self.hosts[host] = analysis

    def loose(
        self, mesh: MeshIndex, load: Iterable[Finding], checks: Mapping[str | None, list[Finding]]
    ) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
        """The findings of no host's analysis (loading, checks of hosts the mesh does not
        analyse), and every suppressed finding, hosts' first."""
        loose = list(load) + list(checks.get(None, ()))
        for host, found in checks.items():
            if host is not None and host not in self.hosts:
                loose += found
        suppressed = [f for host in sorted(self.suppressed) for f in self.suppressed[host]]
        if self.rules or mesh.has_suppress_annotations():
            loose, out = _suppress(mesh, loose)
            suppressed += out
        return tuple(loose), tuple(suppressed)


def _suppress(mesh: MeshIndex, findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """The findings kept and those the mesh's rules or its resources' annotations suppress."""

    def annotations_of(ref: ObjectRef) -> Mapping[str, str] | None:
        resource = mesh.get(ref)
        return resource.meta.annotations if resource is not None else None

    kept: list[Finding] = []
    out: list[Finding] = []
    for f in findings:
        (out if is_suppressed(f, mesh.suppress_rules, annotations_of) else kept).append(f)
    return kept, out


# -- subsets and the pods they select --------------------------------------------------------


def selects_nothing(
    host: str,
    subset: Subset,
    dr: DestinationRule,
    workloads: Sequence[Workload],
    routes: Iterable[RouteRef],
) -> Finding:
    """SubsetSelectsNothing (IST0173): no workload of the service carries the subset's
    labels. An error when a route that can match sends traffic to the subset (pilot builds the
    cluster with no endpoints: 503, no healthy upstream); the labels the pods carry that the
    subset most likely means are named (a typo in a key or value)."""
    labels = ", ".join(f"{k}={v}" for k, v in subset.labels.items())
    # In a fixed order: the message must not depend on the order resources were read in.
    routed = sorted((r for r in routes if r.carries_traffic and r.reachable), key=RouteRef.describe)
    message = (
        f"subset {subset.name!r} of {host} selects no workload: none of the {len(workloads)} "
        f"workload(s) of the service has labels {labels}"
    )
    close = closest_labels(subset.labels, [w.labels for w in workloads])
    if close is not None:
        message += f"; did you mean {', '.join(f'{k}={v}' for k, v in close.items())}?"
    if routed:
        message += (
            f"; {routed[0].describe()} sends it traffic, which fails with 503 (no healthy upstream)"
        )
    return Finding.at(
        Severity.ERROR if routed else Severity.WARNING,
        Code.SUBSET_SELECTS_NOTHING,
        message,
        host=host,
        subset=subset.name,
        resource=dr.meta.ref,
        origin=dr.meta.origin,
        path=(*subset.path, "labels") if subset.path else (),
    )


def selection_unconfirmed(
    host: str, subset: Subset, dr: DestinationRule, service: Service
) -> Finding:
    """SubsetSelectsNothing at info where the input holds no workload at all: istioctl's
    PodNotSelectedAnalyzer (destinationrule/subset.go) reports IST0173 there; meshtui cannot
    confirm the selection."""
    return Finding.at(
        Severity.INFO,
        Code.SUBSET_SELECTS_NOTHING,
        f"subset {subset.name!r} of {host}: the input holds no workload in namespace "
        f"{service.meta.ref.namespace}, so whether its labels select any pod cannot be "
        "confirmed (istioctl reports IST0173 here)",
        host=host,
        subset=subset.name,
        resource=dr.meta.ref,
        origin=dr.meta.origin,
        path=(*subset.path, "labels") if subset.path else (),
    )
