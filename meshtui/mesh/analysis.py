"""The analysis of a mesh: per host, its subsets, effective policies, routes and findings.

:class:`Mesh` is the index a source feeds (meshtui.mesh.index) with the analysis on top: it
re-analyses only the hosts a change touches and hands out immutable
:class:`~meshtui.mesh.model.Analysis` snapshots that the interfaces render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh import gateway_api_checks
from meshtui.mesh.batch import collector_paused
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.dataplane import Mode
from meshtui.mesh.dataplane_findings import host_findings, sidecar_findings
from meshtui.mesh.destination_rules import ConsolidatedRule, merged_policy_findings
from meshtui.mesh.findings import Code, Finding, Severity, nearest_name
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import MeshConfig, host_namespace
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.model import (
    EVERY_CLIENT,
    UNNAMED_NAMESPACE,
    Analysis,
    ClientView,
    HostAnalysis,
    SubsetAnalysis,
)
from meshtui.mesh.policy import PolicyMerges, policy_ports
from meshtui.mesh.resources import (
    DestinationRule,
    ObjectRef,
    Service,
    ServiceEntry,
    Subset,
    Workload,
    pod_selector,
)
from meshtui.mesh.routes import RouteRef
from meshtui.mesh.routing import NOBODY, HostRoutes
from meshtui.mesh.subset_selection import selection_unconfirmed, selects_nothing
from meshtui.mesh.topology import select_subset
from meshtui.mesh.validation import Completed, check_mesh
from meshtui.mesh.virtual_services import (
    conflicts,
    designated_host,
    gateway_bypasses,
    orphan_delegate_subsets,
    rule_findings,
    unknown_gateways,
)

__all__ = [
    "EVERY_CLIENT",
    "UNNAMED_NAMESPACE",
    "Analysis",
    "ClientView",
    "HostAnalysis",
    "Mesh",
    "Share",
    "SubsetAnalysis",
]


@frozen
class Share:
    """One of `count` shares of a mesh's hosts, consecutive in host order: what one process
    analyses when several write one report (check/split.py)."""

    index: int
    count: int
    first: float | None = None  # share 0's part of the hosts (None: 1 / count, as the others)

    def of(self, hosts: list[str]) -> list[str]:
        return hosts[self._bound(self.index, len(hosts)) : self._bound(self.index + 1, len(hosts))]

    def _bound(self, index: int, n: int) -> int:
        """Where share `index` starts among `n` hosts: share 0 takes `first` of them, the
        others split the rest evenly."""
        if index >= self.count:
            return n
        if index == 0 or self.first is None:
            return index * n // self.count
        head = min(n, round(self.first * n))
        return head + (index - 1) * (n - head) // (self.count - 1)


class Mesh(MeshIndex):
    """The index of one cluster's (or one folder's) resources, analysed host by host."""

    def __init__(
        self,
        config: MeshConfig | None = None,
        cluster: str | None = None,
        client_namespace: str | None = None,
    ) -> None:
        super().__init__(config, cluster, client_namespace)
        self._cache: dict[str, HostAnalysis | None] = {}
        # The last analysis, completed (validation.Completed), and the hosts changed since.
        self._completed: Completed | None = None
        self._dirty: set[str] = set()

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

    def analyze_hosts(self, share: Share) -> None:
        """Analyse a share's hosts ahead of the checks' findings (kept for `analyze(share)`):
        a process that is sent the checks by another can start on its hosts meanwhile."""
        with collector_paused():
            for host in share.of(sorted(self._host_set())):
                self.analyze_host(host)

    def analyze(
        self,
        share: Share | None = None,
        checks: Mapping[str | None, list[Finding]] | None = None,
    ) -> Analysis:
        """The whole mesh's analysis. After a change only the hosts it touched are analysed
        and completed again (`_invalidate`); the rest are the last analysis's objects.
        `share`: only that share of the hosts, analysed afresh and not kept (one process's
        part of a report written by several, check/split.py), with the checks' findings given
        (`checks`, as check_mesh finds them) or found here."""
        with collector_paused():
            if share is not None:
                found = checks if checks is not None else check_mesh(self)[0]
                return self._analyze_share(share, found)
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
            load, suppressed = done.loose(self, self._loose(), checks)
        return self._snapshot(done, load, suppressed)

    def _analyze_share(self, share: Share, checks: Mapping[str | None, list[Finding]]) -> Analysis:
        """The analysis of one share of the hosts: theirs, and the findings of their own
        that no analysis holds (a host's checks when the host has no analysis); share 0
        also has the findings of loading and of no host of the mesh."""
        known = self._host_set()
        mine = share.of(sorted(known))
        done = Completed(self.suppress_rules)
        done.known = set(mine)
        for host in mine:
            done.put(self, host, self.analyze_host(host), checks)
        first = share.index == 0

        def owns(host: str | None) -> bool:
            return host in done.known or (first and (host is None or host not in known))

        loose = self._loose() if first else []
        load, suppressed = done.loose(self, loose, checks, owns)
        return self._snapshot(done, load, suppressed)

    def _loose(self) -> list[Finding]:
        """The findings of no host's analysis that are not the checks' (check_mesh)."""
        gateway_api = gateway_api_checks.route_findings(self, self.config.domain)
        gateway_api += gateway_api_checks.kubernetes_gateway_bindings(self)
        loose = [*self._load_findings, *gateway_api, *sidecar_findings(self)]
        loose += orphan_delegate_subsets(self.routes, self._defined_subsets)
        return loose

    def _snapshot(
        self, done: Completed, load: tuple[Finding, ...], suppressed: tuple[Finding, ...]
    ) -> Analysis:
        return Analysis(
            hosts=dict(done.hosts),
            load_findings=load,
            cluster=self.cluster,
            overlay=self.overlay,
            workload_count=len(self.workloads),
            suppressed=suppressed,
            client_namespace=self.client_namespace,
            notes=self._data_plane_notes(),
            client_data_plane=self._client_data_plane(),
        )

    def _client_data_plane(self) -> str | None:
        """The view's data plane for the header: its namespace's, or its workload's."""
        if self.client_namespace is None:
            return None
        plane = self.dataplane.describe(self.client_namespace)
        pod = self.dataplane.pod
        if pod is not None:
            return f"{pod[1]}: {plane}"
        workloads = self.workloads.select(self.client_namespace)
        mixed = self.dataplane.mixed_short(self.client_namespace, workloads)
        if mixed:  # kept short for the header: the notes and the detail pane name them
            return f"{self.dataplane.mode(self.client_namespace).value}, {mixed}"
        return plane

    def _data_plane_notes(self) -> tuple[str, ...]:
        """Which client namespaces of the input are only assumed to have sidecars."""
        clients = self.workloads.namespaces() | {ref.namespace for ref in self.gateways}
        if self.client_namespace is not None:
            clients = {self.client_namespace}
        unread = self.dataplane.unread()
        if unread:  # live, Namespaces or Sidecars forbidden: said once, not as "no label"
            return (unread, *self.mixed_data_planes())
        assumed = self.dataplane.assumed(clients)
        if not assumed:
            return self.mixed_data_planes()
        where = "these files" if self.cluster is None else "what could be read"
        return (
            f"no mesh labels in {where} for {', '.join(assumed)}: clients assumed to have "
            "sidecars (label the Namespace istio-injection=enabled, or "
            "istio.io/dataplane-mode=ambient, to say otherwise)",
            *self.mixed_data_planes(),
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

    def _defined_subsets(self, host: str, client_namespace: str) -> list[str] | None:
        """The subsets the DestinationRule clients in `client_namespace` apply to `host`
        defines (None: they apply none)."""
        service = self._service(host)
        namespace = (
            service.meta.ref.namespace if service else host_namespace(host, self.config.domain)
        )
        rule = self.destination_rules.lookup(host, client_namespace, namespace)
        return [s.name for s, _ in rule.subsets] if rule else None

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
        views, primary = self._data_plane_views(host, namespace, views, primary)
        rule = primary.rule
        indexed = self.routes.routes_to(host)
        table = self.table.routes_to(host, self.scope)
        routes = table.live
        contested = self.routes.contested(host)
        if service is None and rule is None and not indexed and not contested:
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
        merges = PolicyMerges(port_numbers)
        workloads = self._host_workloads(service)
        conflict_findings, dropped = conflicts(self.table, host, self.scope)
        findings: list[Finding] = list(conflict_findings)
        subsets: list[SubsetAnalysis] = []
        names: set[str] = set()
        for subset, dr, in_force, clients in self._subset_entries(primary, views):
            applies, unused = _subset_routes(subset.name, clients, table)
            analysed = self._subset_verdict(
                host,
                self._analyze_subset(
                    host, service, in_force, subset, dr, merges, workloads, applies, unused
                ),
                clients,
                table,
                dropped,
            )
            findings += analysed.findings
            if subset.name not in names:  # the tree shows one subset per name
                names.add(subset.name)
                subsets.append(analysed)
        if rule is not None:
            findings += self._rule_findings(host, rule)
        undefined = self._undefined_subsets(host, views, routes)
        findings += undefined[1]
        findings += self._virtual_service_findings(host, indexed)
        findings += gateway_api_checks.host_findings(self, host, table, rule)
        findings += host_findings(self, host, service, rule)
        own = {r.meta.ref for r in (rule.rules if rule else ())}
        others = tuple(r for r in matching if r.meta.ref not in own)
        findings.sort(key=Finding.sort_key)
        policy, port_policies = merges(host_policy, None)
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
            dropped_routes=table.dropped,
            data_plane=self.dataplane.summary(host, self.scope) + self.mixed_data_planes(),
        )

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

    def _data_plane_views(
        self, host: str, service_namespace: str | None, views: list[ClientView], primary: ClientView
    ) -> tuple[list[ClientView], ClientView]:
        """The views as the data plane splits them (meshtui.mesh.dataplane): clients whose proxy
        applies no DestinationRule to the host (ztunnel without waypoint, out of the mesh, a
        Sidecar not importing it) apply none; ambient clients through a waypoint apply the one
        a proxy of the waypoint's namespace would (cluster_waypoint.go, the waypoint's
        SidecarScope). The primary view keeps its rule, with the clients left to it."""
        dp = self.dataplane
        if dp.trivial:
            return views, primary
        lookup = self.destination_rules.lookup
        appliers = dp.appliers(host)
        use = dp.waypoint(host)
        ambient = dp.clients(Mode.AMBIENT) & appliers if use.ref is not None else NOBODY
        moved = appliers.complement() | ambient
        if not moved & self.scope:
            return views, primary
        split = [ClientView(v.clients - moved, v.rule) for v in views]
        extra = [(appliers.complement() & self.scope, None)]
        if ambient and use.ref is not None:
            extra.append((ambient & self.scope, lookup(host, use.ref.namespace, service_namespace)))
        for clients, rule in extra:
            if not clients:
                continue
            key = tuple(r.meta.ref for r in rule.rules) if rule else None
            for i, v in enumerate(split):
                if (tuple(r.meta.ref for r in v.rule.rules) if v.rule else None) == key:
                    split[i] = ClientView(v.clients | clients, v.rule)
                    break
            else:
                split.append(ClientView(clients, rule))
        kept = [v for v in split if v.clients]
        same = next((v for v in kept if v.rule is primary.rule), None)
        return kept, same or ClientView(NOBODY, primary.rule)

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

    def _virtual_service_findings(self, host: str, routes: list[RouteRef]) -> list[Finding]:
        findings = gateway_bypasses(self.routes, host)
        for ref in sorted({r.virtual_service for r in routes}, key=str):
            vs = self.routes.get(ref)
            if vs is None or designated_host(self.routes, vs) != host:
                continue
            findings += rule_findings(self.routes, vs, host)
            if self.gateways_known:
                findings += unknown_gateways(vs, self.gateways, host, self.table.kubernetes_gateway)
        return findings

    def _host_workloads(
        self, service: Service | ServiceEntry | None
    ) -> tuple[Workload, ...] | None:
        selector = pod_selector(service)
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
        merges: PolicyMerges,
        host_workloads: tuple[Workload, ...] | None,
        routes: tuple[RouteRef, ...],
        dropped_routes: tuple[RouteRef, ...],
    ) -> SubsetAnalysis:
        host_policy = rule.traffic_policy
        own = subset.traffic_policy
        workloads = None
        if host_workloads is not None and service is not None:
            workloads = tuple(
                select_subset(
                    self.workloads,
                    self.nodes,
                    service.meta.ref.namespace,
                    pod_selector(service) or {},
                    subset.labels,
                )
            )
        findings = []
        if workloads is not None and host_workloads and not workloads:
            findings.append(selects_nothing(host, subset, dr, host_workloads, routes))
        elif (
            host_workloads is None
            and isinstance(service, Service)
            and service.selector
            and subset.labels
            and not len(self.workloads)
            and self.cluster is None  # offline input without pods; live, unread pods are partial
        ):
            findings.append(selection_unconfirmed(host, subset, dr, service))
        policy, port_policies = merges(host_policy, own)
        return SubsetAnalysis(
            name=subset.name,
            labels=subset.labels,
            destination_rule=dr,
            own_policy=own,
            policy=policy,
            ports=port_policies,
            routes=routes,
            workloads=workloads,
            findings=tuple(findings),
            subset=subset,
            dropped_routes=dropped_routes,
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
        findings += merged_policy_findings(host, rule)
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
        table: HostRoutes,
        dropped: Mapping[ObjectRef, str],
    ) -> SubsetAnalysis:
        """SubsetPolicyNeverApplied: no client that uses this subset's DR is routed to it.

        The routing table says which routes carry whose requests; a route to the subset counts
        for the clients it carries that also apply this DR (pilot applies a subset's policy
        only to traffic a route explicitly sends to the subset, through their DR's cluster).
        """
        scoped = clients & self.scope
        if clients != EVERY_CLIENT:
            analysed = replace(analysed, clients=scoped)
        if not analysed.has_own_policy or analysed.routes:
            return analysed
        name = analysed.name
        why = _why_not_routed(analysed.dropped_routes, dropped)
        instead = _where_traffic_goes(name, clients, table.live)
        bypass = (
            self.scope - self.dataplane.appliers(host) if not self.dataplane.trivial else NOBODY
        )
        if bypass and not self.scope - bypass:
            # None of the view's clients has a proxy that applies a DestinationRule here.
            instead = self.dataplane.instead(host, bypass) or instead
        dead = Finding(
            Code.SUBSET_POLICY_NEVER_APPLIED,
            f"subset {name!r} of {host} has its own trafficPolicy, but {why}: {instead}",
            host=host,
            subset=name,
            resource=analysed.destination_rule.meta.ref,
            origin=analysed.destination_rule.meta.origin,
            path=(*analysed.subset.path, "trafficPolicy") if analysed.subset.path else (),
            clients=scoped,
        )
        return replace(
            analysed,
            findings=(dead, *analysed.findings),
            clients=scoped,
            never_applied_why=_short(why),
            traffic_instead=instead,
        )

    def _undefined_subsets(
        self,
        host: str,
        views: list[ClientView],
        routes: tuple[RouteRef, ...],
    ) -> tuple[tuple[str, ...], list[Finding]]:
        """UndefinedSubset (IST0101): a route that some clients take names a subset their DR
        in force does not define; pilot has no cluster for it and they get 503."""
        names: list[str] = []
        findings = []
        for r in routes:
            users, guess = r.clients, r.guess
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
            near = nearest_name(
                r.subset, [s.name for v in views if v.rule for s, _ in v.rule.subsets]
            )
            if near:
                why += f"; did you mean {near}?"
            level = self._undefined_level(missing)
            if level is Severity.WARNING:
                why += (
                    "; none of these namespaces has a client (a workload or a Gateway) in the "
                    "input, so only clients outside these files would get it"
                )
            findings.append(
                Finding.at(
                    level,
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

    def _undefined_level(self, missing: ClientSet) -> Severity:
        """An error when a client namespace that gets the 503 has a client in the input (a
        workload or a Gateway), or when the input holds no workload at all (a folder of Istio
        config alone says nothing about clients); else a warning: the clients are
        hypothetical (the documented egress gateway pattern keeps its DestinationRule in the
        application's namespace). Asked for one client namespace, its clients are taken to
        exist."""
        if not len(self.workloads) or self.client_namespace is not None:
            return Severity.ERROR
        present = self.workloads.namespaces() | {ref.namespace for ref in self.gateways}
        return Severity.ERROR if missing & ClientSet.of(present) else Severity.WARNING


def _short(why: str) -> str:
    """The reason for the tree and detail headline, without the list of routes."""
    if why.startswith("no VirtualService route"):
        return "no route names this subset"
    return why.split(" (")[0].split(":")[0]


def _subset_routes(
    name: str, clients: ClientSet, table: HostRoutes
) -> tuple[tuple[RouteRef, ...], tuple[RouteRef, ...]]:
    """The routes that carry the subset's clients (those applying its DR) to it, and those that
    name it but carry none of them, each with the reason."""
    applies: list[RouteRef] = []
    elsewhere: list[RouteRef] = []
    for r in table.live:
        if r.subset != name:
            continue
        shared = r.clients & clients
        if shared == r.clients:
            applies.append(r)
        elif shared:
            applies.append(replace(r, clients=shared))
        else:
            elsewhere.append(
                replace(
                    r,
                    dropped=f"serves only {r.clients.describe()}, whose DestinationRule does "
                    f"not hold this subset ({clients.describe()} use this one)",
                )
            )
    unused = (*(r for r in table.dropped if r.subset == name), *elsewhere)
    return tuple(applies), unused


def _why_not_routed(unused: tuple[RouteRef, ...], dropped: Mapping[ObjectRef, str]) -> str:
    """Why no route to the subset counts, naming each route that names it."""
    if not unused:
        return "no VirtualService route names it"
    if all(r.weight <= 0 and not r.never_matches for r in unused):
        names = sorted({r.describe() for r in unused})
        return f"only weight-0 destinations name it ({', '.join(names)})"
    reasons: list[str] = []
    for r in unused:
        if r.never_matches:
            reasons.append(f"{r.describe()} can never match ({r.dropped})")
        elif r.weight <= 0:
            reasons.append(f"{r.describe()} gives it weight 0")
        elif r.virtual_service in dropped and not r.clients:
            reasons.append(f"{r.describe()} is dropped: {dropped[r.virtual_service]}")
        elif r.clients:
            reasons.append(f"{r.describe()} {r.dropped}")
        else:
            reasons.append(f"{r.describe()} is used by no client ({r.dropped})")
    return "no route that names it carries traffic: " + "; ".join(sorted(set(reasons)))


def _where_traffic_goes(name: str, clients: ClientSet, routes: tuple[RouteRef, ...]) -> str:
    """Where these clients' requests for the host go instead; only without a VS is it the
    whole service with the host-level policy."""
    subsets: set[str] = set()
    whole = False
    services: set[str] = set()
    for r in routes:
        if r.kind == "mirror" or not r.clients & clients:
            continue
        if r.subset:
            subsets.add(r.subset)
        else:
            whole = True
        # A Gateway API route is named as written (HTTPRoute ns/name), never a subset.
        services.add(f"{r.written_in.kind} {r.written_in.namespaced_name}")
    if not services:
        return "traffic goes to the whole service with the host-level policy"
    targets = []
    if subsets:
        targets.append(f"subset{'s' if len(subsets) > 1 else ''} {', '.join(sorted(subsets))}")
    if whole:
        targets.append("the whole service")
    gateway_api = (
        " (Gateway API backends never name a subset)"
        if any(r.gateway_api and r.clients & clients for r in routes)
        else ""
    )
    return (
        f"{', '.join(sorted(services))} send{'s' if len(services) == 1 else ''} the host's "
        f"traffic to {' and '.join(targets)}{gateway_api}, so subset {name!r} gets none of it"
    )
