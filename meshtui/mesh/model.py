"""What an analysis is made of: immutable per-host, per-subset snapshots that the interfaces
render and the checks complete. No logic beyond reading them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.frozen import frozen
from meshtui.mesh.policy import EffectivePolicy, sets_anything
from meshtui.mesh.resources import (
    DestinationRule,
    Service,
    ServiceEntry,
    ServicePort,
    Subset,
    Workload,
)
from meshtui.mesh.routes import RouteRef

# Stands for every namespace no resource names (none can have this name): they all see the
# same DestinationRules and VirtualServices.
UNNAMED_NAMESPACE = "\x00unnamed"
EVERY_CLIENT = ClientSet.all()


@frozen
class ClientView:
    """The client namespaces that apply one DestinationRule (or none) to a host."""

    clients: ClientSet
    rule: ConsolidatedRule | None


@frozen
class SubsetAnalysis:
    name: str
    labels: Mapping[str, str]
    destination_rule: DestinationRule
    own_policy: Mapping[str, Any] | None
    policy: EffectivePolicy
    ports: Mapping[int, EffectivePolicy]
    routes: tuple[RouteRef, ...]  # routes that carry its clients' requests to it
    workloads: tuple[Workload, ...] | None  # None: the host's workloads are not known
    findings: tuple[Finding, ...]
    subset: Subset
    clients: ClientSet = EVERY_CLIENT  # who applies the DestinationRule defining it
    dropped_routes: tuple[RouteRef, ...] = ()  # routes naming it that carry none of that
    never_applied_why: str = ""  # with SubsetPolicyNeverApplied: why no route counts
    traffic_instead: str = ""  # and where the requests of its clients go instead

    @property
    def has_own_policy(self) -> bool:
        return sets_anything(self.own_policy)

    @property
    def routed(self) -> bool:
        return bool(self.routes)

    @property
    def policy_never_applied(self) -> bool:
        return any(f.code is Code.SUBSET_POLICY_NEVER_APPLIED for f in self.findings)

    @property
    def selects_nothing(self) -> bool:
        """No pod carries the labels (at info, with no workload in the input, it is unknown)."""
        return any(
            f.code is Code.SUBSET_SELECTS_NOTHING and f.severity is not Severity.INFO
            for f in self.findings
        )


@frozen
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
    dropped_routes: tuple[RouteRef, ...] = ()  # routes to it pilot builds for no client here
    # Kinds the source could not read (mesh.partial): what rests on them is unknown, not none.
    unread: tuple[str, ...] = ()
    # Which proxies apply its routes and DestinationRule for which clients, when not every
    # client is a sidecar importing it (meshtui.mesh.dataplane); empty otherwise.
    data_plane: tuple[str, ...] = ()

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


@frozen
class Analysis:
    """An immutable snapshot: every host's analysis plus the findings of loading."""

    hosts: Mapping[str, HostAnalysis]
    load_findings: tuple[Finding, ...] = ()
    cluster: str | None = None
    workload_count: int = 0
    overlay: str | None = None  # the kustomize overlay analysed, one of several alternatives
    suppressed: tuple[Finding, ...] = ()  # findings a suppression rule or annotation took out
    client_namespace: str | None = None  # the analysis is for sidecars in this namespace
    # How the clients' data plane was decided (meshtui.mesh.dataplane): namespaces assumed to
    # have sidecars for want of labels, said as notes; and the view's data plane.
    notes: tuple[str, ...] = ()
    client_data_plane: str | None = None

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
