"""The analysis of a mesh: per host, its subsets, effective policies, routes and findings.

:class:`Mesh` is the mutable index a source feeds (all at once, or one watch event at a time);
it re-analyses only the hosts a change touches and hands out immutable :class:`Analysis`
snapshots that the interfaces render.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshtui.mesh.batch import collector_paused
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
from meshtui.mesh.routes import RouteIndex, RouteRef
from meshtui.mesh.selection import WorkloadIndex
from meshtui.mesh.suppress import SuppressRule
from meshtui.mesh.topology import select_subset
from meshtui.mesh.validation import complete


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

    @property
    def findings(self) -> list[Finding]:
        out = list(self.load_findings)
        for host in self.hosts.values():
            out += host.findings
        out.sort(key=Finding.sort_key)
        return out

    def counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for f in self.findings:
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

    def __init__(self, config: MeshConfig | None = None, cluster: str | None = None) -> None:
        self.config = config or MeshConfig()
        self.cluster = cluster
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
        self.check_cache: dict[str, Any] = {}
        self._suppress_annotated: set[ObjectRef] = set()

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
        self._cache.clear()

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

    def _add(self, resource: Resource) -> set[str]:
        """Index a resource; returns the hosts whose routes changed (for VirtualServices)."""
        ref = resource.meta.ref
        routed = self._remove(self._resources[ref]) if ref in self._resources else set()
        self._resources[ref] = resource
        if resource.meta.annotations and SUPPRESS_ANNOTATION in resource.meta.annotations:
            self._suppress_annotated.add(ref)
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
        self._suppress_annotated.discard(ref)
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
            return self.destination_rules.hosts_for(resource, set(self.hosts()))
        if isinstance(resource, VirtualService):
            return set()  # the route index reports what a VirtualService changes
        if isinstance(resource, Gateway):
            return self.routes.hosts_bound_to(ref)
        if isinstance(resource, Node):  # its topology labels may change any subset's pods
            return set(self.hosts())
        assert isinstance(resource, Workload)
        hosts = set()
        for host in self._hosts.services_by_namespace.get(ref.namespace, ()):
            selector = self._hosts.services[host].selector
            if selector and all(resource.labels.get(k) == v for k, v in selector.items()):
                hosts.add(host)
        for host, entries in self._hosts.entries.items():
            for entry in entries:
                sel = entry.workload_selector
                if (
                    entry.meta.ref.namespace == ref.namespace
                    and sel
                    and all(resource.labels.get(k) == v for k, v in sel.items())
                ):
                    hosts.add(host)
        return hosts

    # -- reading -------------------------------------------------------------------------

    def hosts(self) -> list[str]:
        """Every host the mesh knows: Services, ServiceEntries, DR hosts and route targets."""
        hosts = set(self._hosts.services) | set(self._hosts.entries)
        hosts |= self.destination_rules.exact_hosts()
        hosts |= self.routes.hosts()
        return sorted(hosts)

    def analyze(self) -> Analysis:
        hosts: dict[str, HostAnalysis] = {}
        with collector_paused():
            for host in self.hosts():
                result = self.analyze_host(host)
                if result is not None:
                    hosts[host] = result
            hosts, load, suppressed = complete(self, hosts, tuple(self._load_findings))
        return Analysis(
            hosts=hosts,
            load_findings=load,
            cluster=self.cluster,
            workload_count=len(self.workloads),
            suppressed=suppressed,
        )

    def has_suppress_annotations(self) -> bool:
        return bool(self._suppress_annotated)

    def analyze_host(self, host: str) -> HostAnalysis | None:
        if host in self._cache:
            return self._cache[host]
        result = self._analyze_host(host)
        self._cache[host] = result
        return result

    def _analyze_host(self, host: str) -> HostAnalysis | None:
        service: Service | ServiceEntry | None = self._hosts.services.get(host)
        entries = self._hosts.entries.get(host)
        if service is None and entries:
            # pilot's sortConfigByCreationTime: creation time, then name, then namespace.
            service = min(
                entries,
                key=lambda e: (e.meta.creation_timestamp, e.meta.ref.name, e.meta.ref.namespace),
            )
        namespace = (
            service.meta.ref.namespace if service else host_namespace(host, self.config.domain)
        )
        client = namespace or self.config.root_namespace
        rule = self.destination_rules.lookup(host, client, namespace)
        if rule is None and service is None:
            # No Service or ServiceEntry (an external host, or one outside the input): show
            # the rule as the clients of the first namespace whose own DRs name the host see it.
            for owner in sorted(
                {r.meta.ref.namespace for r in self.destination_rules.matching(host)}
            ):
                rule = self.destination_rules.lookup(host, owner, namespace)
                if rule is not None:
                    break
        routes = tuple(self.routes.routes_to(host))
        if service is None and rule is None and not routes:
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
        findings: list[Finding] = []
        subsets = tuple(
            self._analyze_subset(host, service, rule, subset, dr, routes, port_numbers, workloads)
            for subset, dr in (rule.subsets if rule else ())
        )
        for s in subsets:
            findings += s.findings
        if rule is not None:
            findings += self._rule_findings(host, rule)
        undefined = self._undefined_subsets(host, namespace, rule, routes)
        findings += undefined[1]
        own = {r.meta.ref for r in (rule.rules if rule else ())}
        others = tuple(r for r in self.destination_rules.matching(host) if r.meta.ref not in own)
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
            subsets=subsets,
            routes=routes,
            workloads=workloads,
            undefined_subsets=undefined[0],
            findings=tuple(findings),
        )

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

        if sets_anything(own) and not any(r.carries_traffic for r in sub_routes):
            # Sorted, so the message does not depend on the order of files and documents.
            zero = sorted({r.describe() for r in sub_routes if not r.carries_traffic})
            why = (
                f"only weight-0 destinations name it ({', '.join(zero)})"
                if zero
                else "no VirtualService route names it"
            )
            findings.append(
                finding(
                    Code.SUBSET_POLICY_NEVER_APPLIED,
                    f"subset {subset.name!r} of {host} has its own trafficPolicy, but {why}: "
                    f"traffic goes to the whole service with the host-level policy",
                    "trafficPolicy",
                )
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

    def _undefined_subsets(
        self,
        host: str,
        namespace: str | None,
        rule: ConsolidatedRule | None,
        routes: tuple[RouteRef, ...],
    ) -> tuple[tuple[str, ...], list[Finding]]:
        defined = {s.name for s, _ in rule.subsets} if rule else set()
        names: list[str] = []
        findings = []
        for r in routes:
            if not r.subset or not self._subset_missing(host, namespace, defined, r):
                continue
            if r.subset not in names:
                names.append(r.subset)
            findings.append(
                Finding(
                    Code.UNDEFINED_SUBSET,
                    f"{r.describe()} routes to subset {r.subset!r} of {host}, which no "
                    f"DestinationRule for that host defines (requests fail with 503)",
                    host=host,
                    subset=r.subset,
                    resource=r.delegate or r.virtual_service,
                    origin=r.origin,
                    path=r.path,
                )
            )
        return tuple(names), findings

    def _subset_missing(
        self, host: str, namespace: str | None, defined: set[str], r: RouteRef
    ) -> bool:
        """Whether a client the route serves has no DR defining its subset (IST0101, a 503).

        A mesh-bound route serves the VirtualService's own namespace, whose clients use that
        namespace's DR for the host when it has one; exported further, it also serves clients
        that use the service's DR. A gateway's namespace is not known offline: either view
        defining the subset is enough there.
        """
        seen = self.destination_rules.lookup(host, r.virtual_service.namespace, namespace)
        in_vs_namespace = seen is not None and any(s.name == r.subset for s, _ in seen.subsets)
        if not r.mesh_bound:
            return r.subset not in defined and not in_vs_namespace
        vs = self.routes.get(r.virtual_service)
        own = vs.meta.ref.namespace if vs else ""
        export = set(vs.export_to) if vs and vs.export_to else {"*"}
        serves_own = bool(export & {"*", ".", own})
        serves_others = bool(export - {".", own, "~"})
        return (serves_own and not in_vs_namespace) or (serves_others and r.subset not in defined)


def _selector(service: Service | ServiceEntry | None) -> Mapping[str, str] | None:
    if isinstance(service, Service):
        return service.selector
    if isinstance(service, ServiceEntry):
        return service.workload_selector
    return None
