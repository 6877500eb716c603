"""The analysis of a mesh: per host, its subsets, effective policies, routes and findings.

:class:`Mesh` is the mutable index a source feeds (all at once, or one watch event at a time);
it re-analyses only the hosts a change touches and hands out immutable :class:`Analysis`
snapshots that the interfaces render.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.mesh.batch import collector_paused
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.destination_rules import ConsolidatedRule, DestinationRuleIndex
from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.hosts import MeshConfig, host_namespace, resolve_host, service_host
from meshtui.mesh.policy import EffectivePolicy, effective_policies, policy_ports, sets_anything
from meshtui.mesh.resources import (
    SUPPRESS_ANNOTATION,
    DestinationRule,
    Gateway,
    Node,
    ObjectRef,
    Resource,
    Service,
    ServiceEntry,
    ServicePort,
    Subset,
    VirtualService,
    Workload,
)
from meshtui.mesh.routes import (
    MESH_GATEWAY,
    RouteIndex,
    RouteRef,
    gateway_ref,
    is_mesh_bound,
    visibility,
)
from meshtui.mesh.selection import WorkloadIndex, selects
from meshtui.mesh.suppress import SuppressRule
from meshtui.mesh.topology import select_subset
from meshtui.mesh.validation import Completed, check_mesh
from meshtui.mesh.virtual_services import (
    conflicts,
    designated_host,
    gateway_bypasses,
    rule_findings,
    unknown_gateways,
)

# Stands for every namespace no resource names (none can have this name): they all see the
# same DestinationRules and VirtualServices.
UNNAMED_NAMESPACE = "\x00unnamed"
EVERY_CLIENT = ClientSet.all()


@dataclass(frozen=True, slots=True)
class ClientView:
    """The client namespaces that apply one DestinationRule (or none) to a host."""

    clients: ClientSet
    rule: ConsolidatedRule | None


@dataclass(frozen=True, slots=True)
class SubsetAnalysis:
    name: str
    labels: Mapping[str, str]
    destination_rule: DestinationRule
    own_policy: Mapping[str, Any] | None
    policy: EffectivePolicy
    ports: Mapping[int, EffectivePolicy]
    routes: tuple[RouteRef, ...]
    workloads: tuple[Workload, ...] | None  # None: the host's workloads are not known
    findings: tuple[Finding, ...]
    subset: Subset
    clients: ClientSet = EVERY_CLIENT  # who applies the DestinationRule defining it
    never_applied_why: str = ""  # with SubsetPolicyNeverApplied: why no route counts
    traffic_instead: str = ""  # and where the requests of its clients go instead

    @property
    def has_own_policy(self) -> bool:
        return sets_anything(self.own_policy)

    @property
    def routed(self) -> bool:
        return any(r.carries_traffic for r in self.routes)

    @property
    def policy_never_applied(self) -> bool:
        return any(f.code is Code.SUBSET_POLICY_NEVER_APPLIED for f in self.findings)

    @property
    def selects_nothing(self) -> bool:
        return any(f.code is Code.SUBSET_SELECTS_NOTHING for f in self.findings)


@dataclass(frozen=True, slots=True)
class HostAnalysis:
    host: str
    namespace: str | None
    service: Service | ServiceEntry | None
    ports: tuple[ServicePort, ...]
    rule: ConsolidatedRule | None
    other_rules: tuple[DestinationRule, ...]
    policy: EffectivePolicy
    port_policies: Mapping[int, EffectivePolicy]
    subsets: tuple[SubsetAnalysis, ...]
    routes: tuple[RouteRef, ...]
    workloads: tuple[Workload, ...] | None
    undefined_subsets: tuple[str, ...]
    findings: tuple[Finding, ...]
    views: tuple[ClientView, ...] = ()  # every client's DestinationRule in force
    clients: ClientSet = EVERY_CLIENT  # the clients `rule` (the one shown) is for
    # Kinds the source could not read (mesh.partial): what rests on them is unknown, not none.
    unread: tuple[str, ...] = ()

    @property
    def destination_rules(self) -> tuple[DestinationRule, ...]:
        return tuple(self.rule.rules) if self.rule else ()

    @property
    def default_routes(self) -> tuple[RouteRef, ...]:
        """Routes to the host without a subset: they use the host-level policy."""
        return tuple(r for r in self.routes if not r.subset)

    @property
    def worst(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    def subset(self, name: str) -> SubsetAnalysis | None:
        for s in self.subsets:
            if s.name == name:
                return s
        return None


@dataclass(frozen=True, slots=True)
class Analysis:
    """An immutable snapshot: every host's analysis plus the findings of loading."""

    hosts: Mapping[str, HostAnalysis]
    load_findings: tuple[Finding, ...] = ()
    cluster: str | None = None
    workload_count: int = 0
    suppressed: tuple[Finding, ...] = ()  # findings a suppression rule or annotation took out
    client_namespace: str | None = None  # the analysis is for sidecars in this namespace

    @property
    def findings(self) -> list[Finding]:
        out = list(self.load_findings)
        for host in self.hosts.values():
            out += host.findings
        out.sort(key=Finding.sort_key)
        return out

    def counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for f in self.load_findings:
            counts[f.severity] += 1
        for host in self.hosts.values():
            for f in host.findings:
                counts[f.severity] += 1
        return counts

    @property
    def subset_count(self) -> int:
        return sum(len(h.subsets) for h in self.hosts.values())


@dataclass
class _Hosts:
    """Which resources define which hosts."""

    services: dict[str, Service] = field(default_factory=dict)
    entries: dict[str, list[ServiceEntry]] = field(default_factory=lambda: defaultdict(list))
    services_by_namespace: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


class Mesh:
    """The mutable index of one cluster's (or one folder's) resources."""

    def __init__(
        self,
        config: MeshConfig | None = None,
        cluster: str | None = None,
        client_namespace: str | None = None,
    ) -> None:
        self.config = config or MeshConfig()
        self.cluster = cluster
        self.client_namespace = client_namespace or None
        self.destination_rules = DestinationRuleIndex(self.config)
        self.routes = RouteIndex(self.config)
        self.workloads = WorkloadIndex()
        self.gateways: dict[ObjectRef, Gateway] = {}
        self.nodes: dict[str, Mapping[str, str]] = {}  # node name -> labels (topology)
        self._hosts = _Hosts()
        self._resources: dict[ObjectRef, Resource] = {}
        self._load_findings: list[Finding] = []
        self._cache: dict[str, HostAnalysis | None] = {}
        self.suppress_rules: tuple[SuppressRule, ...] = ()  # `check --suppress`
        # Bumped when Services, ServiceEntries or Gateways change: the reference checks of
        # validation.py are kept per resource until then.
        self.registry_version = 0
        self.check_state: object | None = None  # validation.check_mesh's, between analyses
        self._touched: set[ObjectRef] = set()  # resources changed since the last checks
        self._suppress_annotated: set[ObjectRef] = set()
        # The last analysis, completed (validation.Completed), and the hosts changed since.
        self._completed: Completed | None = None
        self._dirty: set[str] = set()

    # -- feeding -------------------------------------------------------------------------

    def add_finding(self, finding: Finding) -> None:
        """A finding from loading (ParseError, InvalidResource): kept as it is."""
        self._load_findings.append(finding)

    def clear_findings(self, origin_file: str | None = None) -> None:
        self._load_findings = [
            f for f in self._load_findings if origin_file is not None and f.file != origin_file
        ]

    def get(self, ref: ObjectRef) -> Resource | None:
        return self._resources.get(ref)

    def load(self, resources: Iterable[Resource]) -> None:
        """Add many resources at once, without tracking which hosts they touch."""
        with collector_paused():
            for resource in resources:
                self._add(resource)
        self._forget()

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
        for host in hosts:
            self._cache.pop(host, None)
        if self._completed is not None:
            self._dirty |= hosts

    def _forget(self) -> None:
        """Analyse every host again next time (bulk loads, another client's view)."""
        self._cache.clear()
        self._completed = None
        self._dirty = set()

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
        if isinstance(resource, Service | ServiceEntry | Gateway):
            self.registry_version += 1
        if isinstance(resource, Workload):
            self.workloads.add(resource)
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
        return routed

    def _remove(self, resource: Resource) -> set[str]:
        ref = resource.meta.ref
        self._resources.pop(ref, None)
        if self.check_state is not None:
            self._touched.add(ref)
        if ref in self._suppress_annotated:
            self._suppress_annotated.discard(ref)
            self._completed = None
        if isinstance(resource, Service | ServiceEntry | Gateway):
            self.registry_version += 1
        if isinstance(resource, Workload):
            self.workloads.remove(ref)
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
            return {service_host(ref.name, ref.namespace, self.config.domain)}
        if isinstance(resource, ServiceEntry):
            return set(self._entry_hosts(resource))
        if isinstance(resource, DestinationRule):
            return self.destination_rules.hosts_for(resource, self._host_set())
        if isinstance(resource, VirtualService):
            return set()  # the route index reports what a VirtualService changes
        if isinstance(resource, Gateway):
            return self.routes.hosts_bound_to(ref)
        if isinstance(resource, Node):  # its topology labels may change any subset's pods
            return self._host_set()
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

    # -- reading -------------------------------------------------------------------------

    def hosts(self) -> list[str]:
        """Every host the mesh knows: Services, ServiceEntries, DR hosts and route targets."""
        return sorted(self._host_set())

    def _host_set(self) -> set[str]:
        hosts = set(self._hosts.services) | set(self._hosts.entries)
        hosts |= self.destination_rules.exact_hosts()
        hosts |= self.routes.hosts()
        hosts |= self.routes.contested_hosts()
        return hosts

    def analyze(self) -> Analysis:
        """The whole mesh's analysis. After a change only the hosts it touched are analysed
        and completed again (`_invalidate`); the rest are the last analysis's objects."""
        with collector_paused():
            checks, changed = check_mesh(self)
            done = self._completed
            if done is None or changed is None or done.rules != self.suppress_rules:
                done = Completed(self.suppress_rules)
                done.known = self._host_set()
                for host in sorted(done.known):
                    done.put(self, host, self.analyze_host(host), checks)
                self._completed = done
            else:
                self._complete_again(done, changed, checks)
            self._dirty = set()
            load, suppressed = done.loose(self, self._load_findings, checks)
        return Analysis(
            hosts=dict(done.hosts),
            load_findings=load,
            cluster=self.cluster,
            workload_count=len(self.workloads),
            suppressed=suppressed,
            client_namespace=self.client_namespace,
        )

    def _complete_again(
        self,
        done: Completed,
        changed: set[str | None],
        checks: Mapping[str | None, list[Finding]],
    ) -> None:
        hosts = self._host_set()
        dirty = self._dirty | {h for h in changed if h is not None}
        if hosts != done.known:  # hosts that came or went are among the changed ones
            dirty |= hosts ^ done.known
            done.known = hosts
        added = False
        for host in dirty:
            had = host in done.hosts
            done.put(self, host, self.analyze_host(host) if host in hosts else None, checks)
            added |= not had and host in done.hosts
        if added:  # a host the last analysis did not list: keep them in host order
            done.hosts = dict(sorted(done.hosts.items()))

    def has_suppress_annotations(self) -> bool:
        return bool(self._suppress_annotated)

    def analyze_host(self, host: str) -> HostAnalysis | None:
        if host in self._cache:
            return self._cache[host]
        result = self._analyze_host(host)
        self._cache[host] = result
        return result

    def _analyze_host(self, host: str) -> HostAnalysis | None:
        service = self._service(host)
        namespace = (
            service.meta.ref.namespace if service else host_namespace(host, self.config.domain)
        )
        matching = self.destination_rules.matching(host)
        views = self._views(host, namespace, matching)
        primary = self._primary(views, service, namespace, matching)
        rule = primary.rule
        routes = tuple(self.routes.routes_to(host))
        contested = len(self.routes.claims(host)) > 1
        if service is None and rule is None and not routes and not contested:
            return None
        host_policy = rule.traffic_policy if rule else None
        ports = service.ports if service else ()
        # Port-level settings draw a port only where the host's ports are not known: on a
        # Service or ServiceEntry without it they never apply (PortNotInService).
        port_numbers = sorted(
            {p.number for p in ports}
            | (
                policy_ports(
                    host_policy, *(s.traffic_policy for s, _ in (rule.subsets if rule else ()))
                )
                if not ports
                else set()
            )
        )
        workloads = self._host_workloads(service)
        carried = [(r, *self._route_clients(r)) for r in routes]
        conflict_findings, dropped = conflicts(self.routes, host, self.scope)
        findings: list[Finding] = list(conflict_findings)
        subsets: list[SubsetAnalysis] = []
        names: set[str] = set()
        for subset, dr, in_force, clients in self._subset_entries(primary, views):
            analysed = self._subset_verdict(
                host,
                self._analyze_subset(
                    host, service, in_force, subset, dr, routes, port_numbers, workloads
                ),
                clients,
                carried,
                dropped,
            )
            findings += analysed.findings
            if subset.name not in names:  # the tree shows one subset per name
                names.add(subset.name)
                subsets.append(analysed)
        if rule is not None:
            findings += self._rule_findings(host, rule)
        undefined = self._undefined_subsets(host, views, carried)
        findings += undefined[1]
        findings += self._virtual_service_findings(host, routes)
        own = {r.meta.ref for r in (rule.rules if rule else ())}
        others = tuple(r for r in matching if r.meta.ref not in own)
        findings.sort(key=Finding.sort_key)
        policy, port_policies = effective_policies(host_policy, None, port_numbers)
        return HostAnalysis(
            host=host,
            # A host only a DestinationRule names is shown in the DR's own namespace.
            namespace=namespace or (rule.rules[0].meta.ref.namespace if rule else None),
            service=service,
            ports=ports,
            rule=rule,
            other_rules=tuple(
                sorted(others, key=lambda r: (r.meta.ref.namespace, r.meta.ref.name))
            ),
            policy=policy,
            port_policies=port_policies,
            subsets=tuple(subsets),
            routes=routes,
            workloads=workloads,
            undefined_subsets=undefined[0],
            findings=tuple(findings),
            views=tuple(views),
            clients=primary.clients,
        )

    # -- client scope ------------------------------------------------------------------

    @property
    def scope(self) -> ClientSet:
        """The clients the analysis speaks for: all, or those of `--client-namespace`."""
        if self.client_namespace is None:
            return ClientSet.all()
        return ClientSet.of([self.client_namespace])

    def set_client_namespace(self, namespace: str | None) -> None:
        """Analyse as sidecars in `namespace` see the mesh (None: every client)."""
        self.client_namespace = namespace or None
        self._forget()

    @property
    def gateways_known(self) -> bool:
        """Whether a Gateway missing from the input is missing from the mesh.

        Live, meshtui lists Gateways; offline, a folder without any Gateway is taken to hold
        only part of the config, so gateway bindings are not judged there.
        """
        return bool(self.gateways) or self.cluster is not None

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
        for vs in self.routes.claims(host):
            if client_namespace in self.routes.users(vs, host):
                return vs
        return None

    def _views(
        self, host: str, service_namespace: str | None, matching: list[DestinationRule]
    ) -> list[ClientView]:
        """The client namespaces grouped by the DestinationRule they apply to `host`.

        Only namespaces a DR names can differ: those holding a DR for the host (a client's own
        DR comes first) and those a DR is exported to by name; every other namespace sees what
        an unnamed one sees (pilot/pkg/model/push_context.go destinationRule).
        """
        lookup = self.destination_rules.lookup
        if self.client_namespace is not None:
            return [ClientView(self.scope, lookup(host, self.client_namespace, service_namespace))]
        if all(
            r.meta.ref.namespace == service_namespace
            and r.workload_selector is None
            and (not r.export_to or "*" in r.export_to)
            for r in matching
        ):
            # Only the service's namespace has DRs for the host, all exported everywhere:
            # every client, its own namespace's included, applies the same merged rule.
            return [ClientView(ClientSet.all(), lookup(host, UNNAMED_NAMESPACE, service_namespace))]
        named = {self.config.root_namespace}
        if service_namespace:
            named.add(service_namespace)
        for r in matching:
            named.add(r.meta.ref.namespace)
            named.update(e for e in r.export_to if e not in (".", "*", "~"))
        groups: dict[tuple[ObjectRef, ...] | None, ClientView] = {}
        for ns, clients in [
            *((ns, ClientSet.of([ns])) for ns in sorted(named)),
            (UNNAMED_NAMESPACE, ClientSet(True, frozenset(named))),
        ]:
            rule = lookup(host, ns, service_namespace)
            key = tuple(r.meta.ref for r in rule.rules) if rule else None
            seen = groups.get(key)
            groups[key] = ClientView(seen.clients | clients if seen else clients, rule)
        return list(groups.values())

    def _primary(
        self,
        views: list[ClientView],
        service: Service | ServiceEntry | None,
        namespace: str | None,
        matching: list[DestinationRule],
    ) -> ClientView:
        """The view the host's own policy is shown for: its namespace's clients."""
        client = namespace or self.config.root_namespace
        primary = next((v for v in views if client in v.clients), views[0])
        if primary.rule is None and service is None:
            # No Service or ServiceEntry (an external host, or one outside the input): show
            # the rule as the clients of the first namespace whose own DRs name the host see it.
            for owner in sorted({r.meta.ref.namespace for r in matching}):
                found = next((v for v in views if owner in v.clients and v.rule), None)
                if found is not None:
                    return found
        return primary

    def _subset_entries(
        self, primary: ClientView, views: list[ClientView]
    ) -> list[tuple[Subset, DestinationRule, ConsolidatedRule, ClientSet]]:
        """Every subset some client's DR in force defines, with the clients using that DR."""
        out: dict[tuple[ObjectRef, str], list[Any]] = {}
        for view in [primary, *(v for v in views if v is not primary)]:
            if view.rule is None:
                continue
            for subset, dr in view.rule.subsets:
                key = (dr.meta.ref, subset.name)
                if key in out:
                    out[key][3] = out[key][3] | view.clients
                else:
                    out[key] = [subset, dr, view.rule, view.clients]
        return [tuple(v) for v in out.values()]  # type: ignore[misc]

    def _route_clients(self, r: RouteRef) -> tuple[ClientSet, bool]:
        """Whose requests a route can carry; True beside it when that is a guess.

        Sidecars use a route when its VirtualService wins one of its hosts for them; a gateway
        applies the DRs of its own namespace, taken to be its Gateway resource's. Offline
        without Gateways that namespace is unknown: any client view may be the gateway's.
        """
        vs = self.routes.get(r.virtual_service)
        if vs is None or not r.reachable:
            return ClientSet.none(), False
        seen = visibility(vs)
        out = ClientSet.none()
        guess = False
        for name in r.gateways:
            if name == MESH_GATEWAY:
                if is_mesh_bound(vs):
                    out |= self.routes.users(vs)
                continue
            ref = gateway_ref(name, vs.meta.ref.namespace)
            if ref in self.gateways:
                out |= seen & ClientSet.of([ref.namespace])
            elif not self.gateways_known:
                out |= seen
                guess = True
        return out & self.scope, guess

    def _virtual_service_findings(self, host: str, routes: tuple[RouteRef, ...]) -> list[Finding]:
        findings = gateway_bypasses(self.routes, host)
        for ref in sorted({r.virtual_service for r in routes}, key=str):
            vs = self.routes.get(ref)
            if vs is None or designated_host(self.routes, vs) != host:
                continue
            findings += rule_findings(self.routes, vs, host)
            if self.gateways_known:
                findings += unknown_gateways(vs, self.gateways, host)
        return findings

    def _host_workloads(
        self, service: Service | ServiceEntry | None
    ) -> tuple[Workload, ...] | None:
        selector = _selector(service)
        if service is None or not selector:
            return None
        namespace = service.meta.ref.namespace
        if not self.workloads.is_known(namespace):
            return None
        return tuple(self.workloads.select(namespace, selector))

    def _analyze_subset(
        self,
        host: str,
        service: Service | ServiceEntry | None,
        rule: ConsolidatedRule,
        subset: Subset,
        dr: DestinationRule,
        routes: tuple[RouteRef, ...],
        port_numbers: list[int],
        host_workloads: tuple[Workload, ...] | None,
    ) -> SubsetAnalysis:
        host_policy = rule.traffic_policy
        own = subset.traffic_policy
        sub_routes = tuple(r for r in routes if r.subset == subset.name)
        workloads = None
        if host_workloads is not None and service is not None:
            workloads = tuple(
                select_subset(
                    self.workloads,
                    self.nodes,
                    service.meta.ref.namespace,
                    _selector(service) or {},
                    subset.labels,
                )
            )
        findings = []

        def finding(code: Code, message: str, field: str) -> Finding:
            """A finding on this subset, pointing at one of its fields in the DR."""
            return Finding(
                code,
                message,
                host=host,
                subset=subset.name,
                resource=dr.meta.ref,
                origin=dr.meta.origin,
                path=(*subset.path, field) if subset.path else (),
            )

        if workloads is not None and host_workloads and not workloads:
            labels = ", ".join(f"{k}={v}" for k, v in subset.labels.items())
            findings.append(
                finding(
                    Code.SUBSET_SELECTS_NOTHING,
                    f"subset {subset.name!r} of {host} selects no workload: none of the "
                    f"{len(host_workloads)} workload(s) of the service has labels {labels}",
                    "labels",
                )
            )
        policy, port_policies = effective_policies(host_policy, own, port_numbers)
        return SubsetAnalysis(
            name=subset.name,
            labels=subset.labels,
            destination_rule=dr,
            own_policy=own,
            policy=policy,
            ports=port_policies,
            routes=sub_routes,
            workloads=workloads,
            findings=tuple(findings),
            subset=subset,
        )

    def _rule_findings(self, host: str, rule: ConsolidatedRule) -> list[Finding]:
        findings = []
        if len(rule.rules) > 1:
            names = ", ".join(r.meta.ref.namespaced_name for r in rule.rules)
            policy = (
                f"; top-level trafficPolicy from {rule.policy_rule.meta.ref.namespaced_name}"
                if rule.policy_rule
                else ""
            )
            first = rule.rules[0]
            findings.append(
                Finding(
                    Code.MULTIPLE_DESTINATION_RULES,
                    f"{len(rule.rules)} DestinationRules for {host} are merged in this order: "
                    f"{names}{policy}",
                    host=host,
                    resource=first.meta.ref,
                    origin=first.meta.origin,
                )
            )
        for dup in rule.duplicates:
            ignored = next(r for r in rule.rules if r.meta.ref == dup.ignored)
            findings.append(
                Finding(
                    Code.DUPLICATE_SUBSET,
                    f"subset {dup.name!r} of {host} is defined in {dup.kept.namespaced_name} and "
                    f"again in {dup.ignored.namespaced_name}; Istio uses the one in "
                    f"{dup.kept.namespaced_name} and ignores the other",
                    host=host,
                    subset=dup.name,
                    resource=dup.ignored,
                    origin=ignored.meta.origin,
                    path=dup.subset.path,
                )
            )
        return findings

    def _subset_verdict(
        self,
        host: str,
        analysed: SubsetAnalysis,
        clients: ClientSet,
        carried: list[tuple[RouteRef, ClientSet, bool]],
        dropped: Mapping[ObjectRef, str],
    ) -> SubsetAnalysis:
        """SubsetPolicyNeverApplied: no client that uses this subset's DR is routed to it.

        A route counts when it can match, carries weight and its VirtualService is the one
        some client using this DR takes for the host (pilot applies a subset's policy only
        to traffic a route explicitly sends to the subset).
        """
        name = analysed.name
        applied = ClientSet.none()
        for r, users, _ in carried:
            if r.subset == name and r.carries_traffic:
                applied |= users & clients
        if not analysed.has_own_policy or applied:
            if clients == EVERY_CLIENT:
                return analysed
            return replace(analysed, clients=clients & self.scope)
        why = self._why_not_routed(name, clients, carried, dropped)
        instead = _where_traffic_goes(name, clients, carried)
        dead = Finding(
            Code.SUBSET_POLICY_NEVER_APPLIED,
            f"subset {name!r} of {host} has its own trafficPolicy, but {why}: {instead}",
            host=host,
            subset=name,
            resource=analysed.destination_rule.meta.ref,
            origin=analysed.destination_rule.meta.origin,
            path=(*analysed.subset.path, "trafficPolicy") if analysed.subset.path else (),
            clients=clients & self.scope,
        )
        findings = [dead, *analysed.findings]
        return replace(
            analysed,
            findings=tuple(findings),
            clients=clients & self.scope,
            never_applied_why=_short(why),
            traffic_instead=instead,
        )

    def _why_not_routed(
        self,
        name: str,
        clients: ClientSet,
        carried: list[tuple[RouteRef, ClientSet, bool]],
        dropped: Mapping[ObjectRef, str],
    ) -> str:
        """Why no route to the subset counts, naming each route that names it."""
        reasons: list[str] = []
        for r, users, _ in carried:
            if r.subset != name:
                continue
            if not r.carries_traffic:
                reasons.append(f"{r.describe()} gives it weight 0")
            elif not r.reachable:
                reasons.append(f"{r.describe()} can never match ({r.unreachable})")
            elif r.virtual_service in dropped and not users:
                reasons.append(f"{r.describe()} is dropped: {dropped[r.virtual_service]}")
            elif not users:
                reasons.append(f"{r.describe()} is used by no client ({self._unused(r)})")
            else:
                reasons.append(
                    f"{r.describe()} serves only {users.describe()}, whose DestinationRule "
                    f"does not hold this subset ({clients.describe()} use this one)"
                )
        if not reasons:
            return "no VirtualService route names it"
        zero = sorted({r.describe() for r, _, _ in carried if r.subset == name})
        if all(not r.carries_traffic for r, _, _ in carried if r.subset == name):
            return f"only weight-0 destinations name it ({', '.join(zero)})"
        return "no route that names it carries traffic: " + "; ".join(sorted(set(reasons)))

    def _unused(self, r: RouteRef) -> str:
        vs = self.routes.get(r.virtual_service)
        missing = [
            g
            for g in r.gateways
            if g != MESH_GATEWAY
            and vs is not None
            and gateway_ref(g, vs.meta.ref.namespace) not in self.gateways
        ]
        if missing and len(missing) == len(r.gateways):
            return f"it is bound only to gateways that do not exist: {', '.join(missing)}"
        if vs is not None and not visibility(vs):
            return "its VirtualService is exported to no namespace"
        if vs is not None and self.client_namespace is not None:
            return f"clients in {self.client_namespace} do not use its VirtualService"
        return "its VirtualService is not used by any client"

    def _undefined_subsets(
        self,
        host: str,
        views: list[ClientView],
        carried: list[tuple[RouteRef, ClientSet, bool]],
    ) -> tuple[tuple[str, ...], list[Finding]]:
        """UndefinedSubset (IST0101): a route that some clients take names a subset their DR
        in force does not define; pilot has no cluster for it and they get 503."""
        names: list[str] = []
        findings = []
        for r, users, guess in carried:
            if not r.subset or not users:
                continue
            defined = ClientSet.none()
            missing = ClientSet.none()
            definers: set[str] = set()
            for view in views:
                part = users & view.clients
                if not part:
                    continue
                holder = next(
                    (
                        dr
                        for s, dr in (view.rule.subsets if view.rule else ())
                        if s.name == r.subset
                    ),
                    None,
                )
                if holder is None:
                    missing |= part
                else:
                    defined |= part
                    definers.add(holder.meta.ref.namespaced_name)
            if not missing or (guess and defined):
                continue
            if r.subset not in names:
                names.append(r.subset)
            if defined:
                why = (
                    f"which only DestinationRule {', '.join(sorted(definers))} defines, used by "
                    f"{defined.describe()}; {missing.describe()} get 503 (no healthy upstream)"
                )
            else:
                who = "" if missing == users else f" for {missing.describe()}"
                why = (
                    f"which no DestinationRule for that host defines{who} (requests fail with 503)"
                )
            findings.append(
                Finding(
                    Code.UNDEFINED_SUBSET,
                    f"{r.describe()} routes to subset {r.subset!r} of {host}, {why}",
                    host=host,
                    subset=r.subset,
                    resource=r.delegate or r.virtual_service,
                    origin=r.origin,
                    path=r.path,
                    clients=missing,
                )
            )
        return tuple(names), findings


def _short(why: str) -> str:
    """The reason for the tree and detail headline, without the list of routes."""
    if why.startswith("no VirtualService route"):
        return "no route names this subset"
    return why.split(" (")[0].split(":")[0]


def _where_traffic_goes(
    name: str, clients: ClientSet, carried: list[tuple[RouteRef, ClientSet, bool]]
) -> str:
    """Where these clients' requests for the host go instead; only without a VS is it the
    whole service with the host-level policy."""
    subsets: set[str] = set()
    whole = False
    services: set[str] = set()
    for r, users, _ in carried:
        if r.kind == "mirror" or not r.carries_traffic or not users & clients:
            continue
        if r.subset:
            subsets.add(r.subset)
        else:
            whole = True
        services.add(r.virtual_service.namespaced_name)
    if not services:
        return "traffic goes to the whole service with the host-level policy"
    targets = []
    if subsets:
        targets.append(f"subset{'s' if len(subsets) > 1 else ''} {', '.join(sorted(subsets))}")
    if whole:
        targets.append("the whole service")
    return (
        f"VirtualService {', '.join(sorted(services))} sends the host's traffic to "
        f"{' and '.join(targets)}, so subset {name!r} gets none of it"
    )


def _selector(service: Service | ServiceEntry | None) -> Mapping[str, str] | None:
    if isinstance(service, Service):
        return service.selector
    if isinstance(service, ServiceEntry):
        return service.workload_selector
    return None
