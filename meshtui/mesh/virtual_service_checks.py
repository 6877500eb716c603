"""What istioctl analyze's VirtualService analyzers and Kiali's checkers say about one
VirtualService's references: destination hosts and ports that do not exist, gateways that do
not exist or do not admit its hosts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.hosts import overlap, resolve_host
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.registry import Registry
from meshtui.mesh.resources import (
    Destination,
    ObjectRef,
    Path,
    VirtualService,
)
from meshtui.mesh.routes import MESH_GATEWAY, gateway_ref


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
            if names and all(names) and not any(overlap(g, h) for g in names for h in vs.hosts):
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
        if not any(overlap(g, h) for g in accepted for h in vs.hosts):
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
