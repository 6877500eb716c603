"""The index a source feeds: every resource of one cluster (or folder), by the hosts it defines
or touches, kept up to date one change at a time.

:class:`MeshIndex` knows what is there and which hosts a change touches; it draws no verdict.
The analysis (:class:`meshtui.mesh.analysis.Mesh`) and the checks (meshtui.mesh.validation)
read it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from meshtui.mesh.batch import collector_paused
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.dataplane import DataPlane, pod_labels
from meshtui.mesh.destination_rules import ConsolidatedRule, DestinationRuleIndex
from meshtui.mesh.findings import Finding
from meshtui.mesh.gateway_api import generated_gateways, granted, mesh_virtual_services
from meshtui.mesh.hosts import MeshConfig, host_namespace, resolve_host, service_host
from meshtui.mesh.resources import (
    SUPPRESS_ANNOTATION,
    DestinationRule,
    Gateway,
    GatewayRoute,
    KubernetesGateway,
    Namespace,
    Node,
    ObjectRef,
    ReferenceGrant,
    Resource,
    Service,
    ServiceEntry,
    Sidecar,
    VirtualService,
    Waypoint,
    Workload,
)
from meshtui.mesh.routes import RouteIndex
from meshtui.mesh.routing import RoutingTable, sidecar_candidates
from meshtui.mesh.selection import WorkloadIndex, selects
from meshtui.mesh.suppress import SuppressRule


@dataclass
class _Hosts:
    """Which resources define which hosts."""

    services: dict[str, Service] = field(default_factory=dict)
    entries: dict[str, list[ServiceEntry]] = field(default_factory=lambda: defaultdict(list))
    services_by_namespace: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


class MeshIndex:
    """The mutable index of one cluster's (or one folder's) resources."""

    def __init__(
        self,
        config: MeshConfig | None = None,
        cluster: str | None = None,
        client_namespace: str | None = None,
    ) -> None:
        self.config = config or MeshConfig()
        self.cluster = cluster
        # The kustomize overlay this mesh is built from, where overlays are alternatives
        # (sources.kustomize.Plan): each is a mesh of its own.
        self.overlay: str | None = None
        self.client_namespace = client_namespace or None
        self.destination_rules = DestinationRuleIndex(self.config)
        self.routes = RouteIndex(self.config)
        self.workloads = WorkloadIndex()
        self.gateways: dict[ObjectRef, Gateway] = {}
        # Gateway API routes and the VirtualServices pilot generates from their mesh parents
        # (meshtui.mesh.gateway_api), which the route index holds like any other.
        self.gateway_routes: dict[ObjectRef, GatewayRoute] = {}
        self.reference_grants: dict[ObjectRef, ReferenceGrant] = {}
        self._generated: dict[ObjectRef, VirtualService] = {}
        self._listeners: dict[ObjectRef, Gateway] = {}
        self._loading = False
        self.kubernetes_gateways: dict[ObjectRef, KubernetesGateway] = {}
        self.dataplane = DataPlane(self.config, self._service, lambda: self.cluster is not None)
        self.table = RoutingTable(
            self.routes,
            self.gateways,
            lambda: self.gateways_known,
            self._service,
            self.kubernetes_gateways,
            self.dataplane,
        )
        self.nodes: dict[str, Mapping[str, str]] = {}  # node name -> labels (topology)
        self._hosts = _Hosts()
        self._resources: dict[ObjectRef, Resource] = {}
        self._load_findings: list[Finding] = []
        self.suppress_rules: tuple[SuppressRule, ...] = ()  # `check --suppress`
        # Bumped when Services, ServiceEntries or Gateways change: the reference checks of
        # validation.py are kept per resource until then.
        self.registry_version = 0
        self.check_state: object | None = None  # validation.check_mesh's, between analyses
        self._touched: set[ObjectRef] = set()  # resources changed since the last checks
        self._suppress_annotated: set[ObjectRef] = set()
        self._mixed: dict[str, str] | None = None  # mixed_data_planes, until workloads change

    def add_finding(self, finding: Finding) -> None:
        """A finding from loading (ParseError, InvalidResource): kept as it is."""
        self._load_findings.append(finding)

    def clear_findings(self, origin_file: str | None = None) -> None:
        self._load_findings = [
            f for f in self._load_findings if origin_file is not None and f.file != origin_file
        ]

    def get(self, ref: ObjectRef) -> Resource | None:
        return self._resources.get(ref)

    def resources(self) -> list[Resource]:
        """Every resource indexed (what `diff` compares to name the edits of no effect)."""
        return list(self._resources.values())

    def load(self, resources: Iterable[Resource]) -> None:
        """Add many resources at once, without tracking which hosts they touch."""
        with collector_paused():
            self._loading = True
            try:
                for resource in resources:
                    self._add(resource)
            finally:
                self._loading = False
            self._sync_gateway_api()
        self._forget()

    def _sync_gateway_api(self) -> set[str]:
        """Regenerate the VirtualServices of Gateway API mesh routes (their parents, Services
        and ServiceEntries, decide them); returns the hosts whose routes changed."""
        if self._loading or not (
            self.gateway_routes or self._generated or self.kubernetes_gateways or self._listeners
        ):
            return set()
        affected: set[str] = set()
        # The Istio Gateways pilot generates per listener: VSs bind to them (not to the
        # Kubernetes Gateway), so the routing table finds them beside the Istio Gateways.
        listeners = {g.meta.ref: g for g in generated_gateways(self.kubernetes_gateways.values())}
        for ref in self._listeners.keys() | listeners.keys():
            if self._listeners.get(ref) != listeners.get(ref):
                self.gateways.pop(ref, None)
                if ref in listeners:
                    self.gateways[ref] = listeners[ref]
                affected |= self.routes.hosts_bound_to(ref)
                self.routes.memo.clear()
        self._listeners = listeners
        new = {
            vs.meta.ref: vs
            for vs in mesh_virtual_services(
                self.gateway_routes.values(),
                self._resources.get,
                self.config.domain,
                functools.partial(granted, list(self.reference_grants.values())),
            )
        }
        for ref in self._generated.keys() - new.keys():
            affected |= self.routes.remove(ref)
        for ref, vs in new.items():
            if self._generated.get(ref) != vs:
                affected |= self.routes.add(vs)
        self._generated = new
        return affected

    def add(self, resource: Resource) -> set[str]:
        """Add or replace one resource; returns the hosts whose analysis it changed."""
        old = self._resources.get(resource.meta.ref)
        affected = self._affected(old) if old is not None else set()
        namespace = resource.meta.ref.namespace
        if isinstance(resource, Workload) and not self.workloads.is_known(namespace):
            # The namespace's first workload: every host there now has known workloads.
            affected |= self._namespace_hosts(namespace)
        affected |= self._add(resource)
        affected |= self._affected(resource)
        self._invalidate(affected)
        return affected

    def remove(self, ref: ObjectRef) -> set[str]:
        old = self._resources.get(ref)
        if old is None:
            return set()
        affected = self._affected(old) | self._remove(old)
        self._invalidate(affected)
        return affected

    def _invalidate(self, hosts: set[str]) -> None:
        """A change touched the analyses of `hosts` (the analysis keeps caches; the index none)."""

    def _forget(self) -> None:
        """Every host's analysis may have changed (bulk loads, another client's view)."""

    def take_touched(self) -> set[ObjectRef]:
        """The resources added, replaced or removed since the last call (for the checks)."""
        touched, self._touched = self._touched, set()
        return touched

    def _add(self, resource: Resource) -> set[str]:
        """Index a resource; returns the hosts whose routes changed (for VirtualServices)."""
        ref = resource.meta.ref
        routed = self._remove(self._resources[ref]) if ref in self._resources else set()
        self._resources[ref] = resource
        if self.check_state is not None:
            self._touched.add(ref)
        if resource.meta.annotations and SUPPRESS_ANNOTATION in resource.meta.annotations:
            self._suppress_annotated.add(ref)
            self._completed = None  # its findings may be on any host: complete them all
        if resource.meta.rejected is not None:
            return routed  # Istio never sees it: only the checks of validation.py read it
        if isinstance(resource, Service | ServiceEntry | Gateway):
            self.registry_version += 1
            self.routes.memo.clear()  # ports and protocols decide which VS a client uses
            self.dataplane.changed()  # and a Service's labels its waypoint
        if self.dataplane.add(resource):
            self.routes.memo.clear()  # the data plane decides who applies which VS
            self._mixed = None
        elif isinstance(resource, Workload):
            self.workloads.add(resource)
            self._mixed = None
        elif isinstance(resource, DestinationRule):
            self.destination_rules.add(resource)
        elif isinstance(resource, VirtualService):
            routed |= self.routes.add(resource)
        elif isinstance(resource, Service):
            host = service_host(ref.name, ref.namespace, self.config.domain)
            self._hosts.services[host] = resource
            self._hosts.services_by_namespace[ref.namespace].add(host)
        elif isinstance(resource, ServiceEntry):
            for host in self._entry_hosts(resource):
                self._hosts.entries[host].append(resource)
        elif isinstance(resource, Gateway):
            self.gateways[ref] = resource
        elif isinstance(resource, Node):
            self.nodes[ref.name] = resource.labels
        elif isinstance(resource, GatewayRoute):
            self.gateway_routes[ref] = resource
        elif isinstance(resource, KubernetesGateway):
            self.kubernetes_gateways[ref] = resource
            self.routes.memo.clear()  # VSs naming it bind to nothing
        elif isinstance(resource, ReferenceGrant):
            self.reference_grants[ref] = resource
            routed |= self._sync_gateway_api()
        if isinstance(resource, GatewayRoute | Service | ServiceEntry | KubernetesGateway):
            routed |= self._sync_gateway_api()
        return routed

    def _remove(self, resource: Resource) -> set[str]:
        ref = resource.meta.ref
        self._resources.pop(ref, None)
        if self.check_state is not None:
            self._touched.add(ref)
        if ref in self._suppress_annotated:
            self._suppress_annotated.discard(ref)
            self._completed = None
        if resource.meta.rejected is not None:
            return set()
        if isinstance(resource, Service | ServiceEntry | Gateway):
            self.registry_version += 1
            self.routes.memo.clear()
            self.dataplane.changed()
        if self.dataplane.remove(resource):
            self.routes.memo.clear()
            self._mixed = None
        elif isinstance(resource, Workload):
            self.workloads.remove(ref)
            self._mixed = None
        elif isinstance(resource, DestinationRule):
            self.destination_rules.remove(ref)
        elif isinstance(resource, VirtualService):
            return self.routes.remove(ref)
        elif isinstance(resource, Service):
            host = service_host(ref.name, ref.namespace, self.config.domain)
            self._hosts.services.pop(host, None)
            self._hosts.services_by_namespace[ref.namespace].discard(host)
        elif isinstance(resource, Gateway):
            self.gateways.pop(ref, None)
        elif isinstance(resource, Node):
            self.nodes.pop(ref.name, None)
        elif isinstance(resource, ServiceEntry):
            for host in self._entry_hosts(resource):
                entries = [e for e in self._hosts.entries.get(host, []) if e.meta.ref != ref]
                if entries:
                    self._hosts.entries[host] = entries
                else:
                    self._hosts.entries.pop(host, None)
        elif isinstance(resource, GatewayRoute):
            self.gateway_routes.pop(ref, None)
        elif isinstance(resource, KubernetesGateway):
            self.kubernetes_gateways.pop(ref, None)
            self.routes.memo.clear()
        elif isinstance(resource, ReferenceGrant):
            self.reference_grants.pop(ref, None)
            return self._sync_gateway_api()
        if isinstance(resource, GatewayRoute | Service | ServiceEntry | KubernetesGateway):
            return self._sync_gateway_api()
        return set()

    def _entry_hosts(self, entry: ServiceEntry) -> list[str]:
        return [resolve_host(h, entry.meta.ref.namespace, self.config.domain) for h in entry.hosts]

    def _namespace_hosts(self, namespace: str) -> set[str]:
        hosts = set(self._hosts.services_by_namespace.get(namespace, ()))
        for host, entries in self._hosts.entries.items():
            if any(e.meta.ref.namespace == namespace for e in entries):
                hosts.add(host)
        return hosts

    def _affected(self, resource: Resource) -> set[str]:
        ref = resource.meta.ref
        if isinstance(resource, Service):
            host = service_host(ref.name, ref.namespace, self.config.domain)
            # Its ports decide which VirtualService wins it, and so where their routes go.
            return {host} | self.routes.routed_by_claims(host)
        if isinstance(resource, ServiceEntry):
            hosts = set(self._entry_hosts(resource))
            for host in list(hosts):
                hosts |= self.routes.routed_by_claims(host)
            return hosts
        if isinstance(resource, DestinationRule):
            return self.destination_rules.hosts_for(resource, self._host_set())
        if isinstance(resource, VirtualService):
            return set()  # the route index reports what a VirtualService changes
        if isinstance(resource, Gateway):
            return self.routes.hosts_bound_to(ref)
        if isinstance(resource, Workload) and self.dataplane.overrides(resource):
            # Its own data plane makes its namespace's workloads mixed: every host says so.
            return self._host_set()
        if isinstance(resource, Node | Namespace | Sidecar | Waypoint):
            # Topology labels may change any subset's pods; the data plane any host's clients.
            return self._host_set()
        if not isinstance(resource, Workload):  # Gateway API kinds: the route index says
            return set()
        assert isinstance(resource, Workload)
        hosts = set()
        for host in self._hosts.services_by_namespace.get(ref.namespace, ()):
            selector = self._hosts.services[host].selector
            if selector and selects(selector, resource.labels):
                hosts.add(host)
        for host, entries in self._hosts.entries.items():
            for entry in entries:
                sel = entry.workload_selector
                if (
                    entry.meta.ref.namespace == ref.namespace
                    and sel
                    and selects(sel, resource.labels)
                ):
                    hosts.add(host)
        return hosts

    def hosts(self) -> list[str]:
        """Every host the mesh knows: Services, ServiceEntries, DR hosts and route targets."""
        return sorted(self._host_set())

    def host_count(self) -> int:
        """How many hosts some resource names (the most an analysis lists)."""
        return len(self._host_set())

    def _host_set(self) -> set[str]:
        hosts = set(self._hosts.services) | set(self._hosts.entries)
        hosts |= self.destination_rules.exact_hosts()
        hosts |= self.routes.hosts()
        hosts |= self.routes.contested_hosts()
        return hosts

    def mixed_data_planes(self) -> tuple[str, ...]:
        """For each client namespace in the view whose workloads' own labels split it by data
        plane, how ("web: workloads of mixed data planes, 2 ambient and 1 sidecar ...")."""
        if self._mixed is None:
            self._mixed = {
                ns: found
                for ns in sorted(self.workloads.namespaces())
                if (found := self.dataplane.mixed(ns, self.workloads.select(ns)))
            }
        return tuple(line for ns, line in self._mixed.items() if ns in self.scope)

    def has_suppress_annotations(self) -> bool:
        return bool(self._suppress_annotated)

    @property
    def scope(self) -> ClientSet:
        """The clients the analysis speaks for: all, or those of `--client-namespace`."""
        if self.client_namespace is None:
            return ClientSet.all()
        return ClientSet.of([self.client_namespace])

    def set_client_namespace(self, namespace: str | None) -> None:
        """Analyse as sidecars in `namespace` see the mesh (None: every client)."""
        self.client_namespace = namespace or None
        if self.dataplane.pod is not None and self.dataplane.pod[0] != namespace:
            self.dataplane.clear_pod()
            self.routes.memo.clear()
        self._forget()

    def set_client_workload(self, workload: Workload | None) -> None:
        """Analyse as that workload's proxy sees the mesh: its namespace's view, with its own
        labels deciding its data plane and Sidecar (`--client ns/workload`)."""
        if workload is None:
            self.dataplane.clear_pod()
        else:
            ref = workload.meta.ref
            self.client_namespace = ref.namespace
            self.dataplane.set_pod(ref.namespace, f"{ref.kind} {ref.name}", pod_labels(workload))
        self.routes.memo.clear()
        self._forget()

    @property
    def gateways_known(self) -> bool:
        """Whether a Gateway missing from the input is missing from the mesh.

        Live, meshtui lists Gateways; offline, a folder without any Gateway is taken to hold
        only part of the config, so gateway bindings are not judged there.
        """
        return bool(self.gateways or self.kubernetes_gateways) or self.cluster is not None

    def service_namespace(self, host: str) -> str | None:
        """The namespace of the Service or ServiceEntry behind `host` (DR lookup order)."""
        service = self._service(host)
        if service is not None:
            return service.meta.ref.namespace
        return host_namespace(host, self.config.domain)

    def _service(self, host: str) -> Service | ServiceEntry | None:
        """The Service behind `host`, else its oldest ServiceEntry (pilot's
        sortConfigByCreationTime: creation time, then name, then namespace)."""
        service = self._hosts.services.get(host)
        entries = self._hosts.entries.get(host)
        if service is None and entries:
            return min(
                entries,
                key=lambda e: (e.meta.creation_timestamp, e.meta.ref.name, e.meta.ref.namespace),
            )
        return service

    def destination_rule_for(
        self, host: str, client_namespace: str, labels: Mapping[str, str] | None = None
    ) -> ConsolidatedRule | None:
        """The merged DestinationRule sidecars in `client_namespace` apply to `host` (with a
        proxy's `labels`: the one that proxy applies, workloadSelector DRs included)."""
        return self.destination_rules.lookup(
            host, client_namespace, self.service_namespace(host), labels
        )

    def virtual_service_for(self, host: str, client_namespace: str) -> VirtualService | None:
        """The mesh VirtualService sidecars in `client_namespace` use for `host`, if any.

        The first in pilot's order (private, exported by name, public; oldest first) wins;
        later ones claiming the same host are dropped for that client.
        """
        for vs in sidecar_candidates(self.routes, host, client_namespace, self.dataplane):
            if client_namespace in self.table.host_users(vs, host):
                return vs
        return None
