"""Findings about the clients' data plane (meshtui.mesh.dataplane): config that no proxy of
some clients applies, and data-plane config that configures nothing.

Kiali keys its ambient checks (business/checkers/ambient_policy_checker.go) off the destination
Service's namespace; pilot's answer depends on the client's proxy, so these findings name the
clients: ambient ones (through ztunnel or a waypoint), and sidecars scoped by a Sidecar.
"""

from __future__ import annotations

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.dataplane import Mode
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.policy import sets_anything
from meshtui.mesh.resources import Service, ServiceEntry, Sidecar, VirtualService
from meshtui.mesh.routes import is_mesh_bound, visibility


def _input_clients(mesh: MeshIndex) -> ClientSet:
    """The client namespaces the input shows (workloads, Gateways); every one when it holds
    no workload (a folder of config alone says nothing about clients)."""
    workloads = mesh.workloads.namespaces()  # the same object until workloads change
    gateways = frozenset(ref.namespace for ref in mesh.gateways)
    kept = _INPUT_CLIENTS.get(id(mesh))
    if kept is not None and kept[0] is workloads and kept[1] == gateways:
        return kept[2]
    present = workloads | gateways
    found = ClientSet.of(present) if present else ClientSet.all()
    if len(_INPUT_CLIENTS) > 8:  # meshes come and go with reloads: keep the last few
        _INPUT_CLIENTS.clear()
    _INPUT_CLIENTS[id(mesh)] = (workloads, gateways, found)
    return found


# The last answer of _input_clients per mesh: asked for every host, it changes only with the
# workloads' namespaces or the Gateways.
_INPUT_CLIENTS: dict[int, tuple[frozenset[str], frozenset[str], ClientSet]] = {}


def host_findings(
    mesh: MeshIndex,
    host: str,
    service: Service | ServiceEntry | None,
    rule: ConsolidatedRule | None,
) -> list[Finding]:
    """The data-plane findings of one host."""
    dp = mesh.dataplane
    if dp.trivial:
        return []
    clients = _input_clients(mesh) & mesh.scope
    ambient = dp.clients(Mode.AMBIENT) & clients
    use = dp.waypoint(host)
    if not ambient and not dp.sidecars:
        return []
    # The VirtualServices naming the host (wildcards aside), whoever they are visible to.
    mesh_services = [vs for vs in mesh.routes.claims(host) if is_mesh_bound(vs)]
    out: list[Finding] = []
    if use.ref is None and ambient and not clients & dp.appliers(host):
        # Every client of the input is ambient (or applies nothing): the config is dead. Where
        # sidecar clients still apply it, the host's data-plane summary says who bypasses it.
        out += _without_waypoint(mesh, host, ambient, rule, mesh_services, use.problem)
    if use.problem and ambient and isinstance(service, Service):
        problem = use.problem.removeprefix(f"waypoint {use.named} ")
        out.append(
            Finding(
                Code.WAYPOINT_UNAVAILABLE,
                f"{host} is to use waypoint {use.named} (istio.io/use-waypoint), but it "
                f"{problem}: ambient {ambient.describe()} get no waypoint, so no L7 routing "
                "or policy",
                host=host,
                resource=service.meta.ref,
                origin=service.meta.origin,
                clients=ambient,
            )
        )
    if use.ref is not None:
        for vs in mesh_services:
            seen = visibility(vs) & ambient
            if seen and not dp.waypoint_takes(vs, host):
                why = dp.why_not(host, seen, vs, mesh.routes.hosts_of(vs))
                out.append(
                    Finding(
                        Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE,
                        f"VirtualService {vs.meta.ref.namespaced_name} routes {host}, but {why}: "
                        "its routes do nothing for them",
                        host=host,
                        resource=vs.meta.ref,
                        origin=vs.meta.origin,
                        clients=seen,
                    )
                )
    out += _hidden_by_sidecar(mesh, host, mesh_services)
    return out


def _without_waypoint(
    mesh: MeshIndex,
    host: str,
    ambient: ClientSet,
    rule: ConsolidatedRule | None,
    services: list[VirtualService],
    problem: str,
) -> list[Finding]:
    why = problem or "the service has no waypoint"
    still = "no client in the input applies it"
    out = []
    for dr in rule.rules if rule else ():
        parts = []
        if sets_anything(dr.traffic_policy):
            parts.append("a trafficPolicy")
        if dr.subsets:
            parts.append(f"subsets {', '.join(s.name for s in dr.subsets)}")
        if not parts:
            continue
        out.append(
            Finding(
                Code.AMBIENT_WITHOUT_WAYPOINT,
                f"DestinationRule {dr.meta.ref.namespaced_name} sets {' and '.join(parts)} for "
                f"{host}, but ambient {ambient.describe()} reach it through ztunnel, which "
                f"applies no DestinationRule ({why}); {still}",
                host=host,
                resource=dr.meta.ref,
                origin=dr.meta.origin,
                clients=ambient,
            )
        )
    for vs in services:
        seen = visibility(vs) & ambient
        if not seen:
            continue
        out.append(
            Finding(
                Code.AMBIENT_WITHOUT_WAYPOINT,
                f"VirtualService {vs.meta.ref.namespaced_name} routes {host}, but ambient "
                f"{seen.describe()} reach it through ztunnel, which applies no VirtualService "
                f"({why}); {still}",
                host=host,
                resource=vs.meta.ref,
                origin=vs.meta.origin,
                clients=seen,
            )
        )
    return out


def _hidden_by_sidecar(mesh: MeshIndex, host: str, services: list[VirtualService]) -> list[Finding]:
    """A VirtualService of namespace N routes the host for N's clients, but N's Sidecar does
    not import the host (by its Service's namespace) or the VirtualService (by N)."""
    dp = mesh.dataplane
    if not dp.sidecars:
        return []
    out = []
    for vs in services:
        namespace = vs.meta.ref.namespace
        scope = dp.scope(namespace)
        if (
            scope is None
            or namespace not in visibility(vs)
            or dp.mode(namespace) is not Mode.SIDECAR
            or namespace not in mesh.scope
        ):
            continue
        sidecar = dp.sidecar_for(namespace)
        assert sidecar is not None
        if namespace not in dp.importers(host):
            what = f"does not import {host} (so no route and no DestinationRule for it)"
        elif not scope.imports_virtual_service(namespace, mesh.routes.hosts_of(vs)):
            what = f"does not import VirtualServices of {namespace} for {host}"
        else:
            continue
        out.append(_sidecar_finding(sidecar, namespace, host, vs, what))
    return out


def _sidecar_finding(
    sidecar: Sidecar, namespace: str, host: str, vs: VirtualService, what: str
) -> Finding:
    own = sidecar.meta.ref.namespace == namespace
    which = f"Sidecar {sidecar.meta.ref.namespaced_name}" + (
        "" if own else f" (the root namespace's default, read for {namespace})"
    )
    return Finding(
        Code.SIDECAR_HIDES_ROUTED_HOST,
        f"{which} {what} (egress hosts: {', '.join(sidecar.egress_hosts or ())}), yet "
        f"VirtualService {vs.meta.ref.namespaced_name} routes it: clients in {namespace} get "
        "no route from it",
        host=host,
        resource=sidecar.meta.ref,
        origin=sidecar.meta.origin,
        path=("spec", "egress"),
        clients=ClientSet.of([namespace]),
    )


def sidecar_findings(mesh: MeshIndex) -> list[Finding]:
    """IST0167 (pkg/config/analysis/analyzers/sidecar/selector.go): a Sidecar selecting ambient
    pods, or a namespace-wide Sidecar in an ambient namespace, has no effect."""
    dp = mesh.dataplane
    out = []
    for sidecar in sorted(dp.sidecars.values(), key=lambda s: str(s.meta.ref)):
        namespace = sidecar.meta.ref.namespace
        selector = sidecar.workload_selector
        if not selector:
            if dp.mode(namespace) is Mode.AMBIENT:
                why = f"namespace {namespace} is ambient"
            else:
                continue
        else:
            pods = [
                w
                for w in mesh.workloads.select(namespace, selector)
                if dp.mode(namespace, dict(w.labels)) is Mode.AMBIENT
            ]
            if not pods:
                continue
            why = f"the workloads it selects are ambient ({pods[0].meta.ref})"
        out.append(
            Finding(
                Code.SIDECAR_SELECTS_AMBIENT,
                f"Sidecar {sidecar.meta.ref.namespaced_name} has no effect: {why}, and ambient "
                "pods have no sidecar",
                resource=sidecar.meta.ref,
                origin=sidecar.meta.origin,
                clients=ClientSet.of([namespace]),
            )
        )
    return out
