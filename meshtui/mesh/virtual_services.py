"""Findings about VirtualServices themselves: conflicts, rules that never match, gateways.

- ConflictingVirtualServices (IST0109): several mesh-bound VSs claim one host; a client's
  sidecar uses the first in pilot's order and drops the rest ("duplicate domain",
  pilot/pkg/networking/core/httproute.go).
- UnreachableRule / IneffectiveMatch (IST0130 / IST0131): see meshtui.mesh.reachability.
- UnknownGateway (IST0101): a VS bound to a Gateway that does not exist.
- GatewayRouteBypassesSubsets (IST0140): a gateway route to a host without a subset while the
  mesh routes that host by subsets (pkg/config/analysis/analyzers/virtualservice
  destinationhosts.go analyzeSubset).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.delegation import proxy_rules
from meshtui.mesh.findings import Code, Finding, Severity, nearest_name
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.resources import Gateway, ObjectRef, Origin, Path, VirtualService
from meshtui.mesh.routes import (
    MESH_GATEWAY,
    RouteIndex,
    RouteRef,
    gateway_ref,
    precedes,
    rule_gateways,
    unbound_gateways,
    visibility,
)
from meshtui.mesh.routing import RoutingTable, first_wins


def _why_first(winner: VirtualService, losers: list[VirtualService], clients: ClientSet) -> str:
    """Why pilot takes `winner` before `losers` for `clients` (a phrase after "because")."""
    won = visibility(winner)
    if not won.everyone:
        if not clients.everyone and winner.meta.ref.namespace in clients.names:
            return "it is private to the clients' own namespace, which comes first"
        if all(visibility(o).everyone for o in losers if o is not winner):
            return "it is exported to those namespaces by name, which comes before public ones"
    loser = next((o for o in losers if o is not winner), winner)
    a, b = winner.meta.creation_timestamp, loser.meta.creation_timestamp
    if a and b and a != b:
        return f"it was created first ({a}, the other {b})"
    if a and b:
        return "both were created in the same second, and pilot then takes the first by name"
    return (
        "with no creationTimestamp (offline) the order is set only when they are applied; "
        "pilot takes the older one, and with equal times the first by name, as assumed here"
    )


def _by_creation(a: VirtualService, b: VirtualService) -> ClientSet:
    """The clients seeing both for whom pilot orders `a` and `b` by creation time alone (both
    public, or both exported to them by name with the same rank): who wins for them depends on
    when each was applied, and offline it is not known at all."""
    va, vb = visibility(a), visibility(b)
    if va.everyone and vb.everyone:
        return va & vb
    if va.everyone or vb.everyone:
        return ClientSet.none()
    tied = [
        ns
        for ns in va.names & vb.names
        if (ns == a.meta.ref.namespace) == (ns == b.meta.ref.namespace)
    ]
    return ClientSet.of(tied)


# What one host says of one VirtualService's IST0109: the code, the sentence, and for whom.
Entry = tuple[Code, str, ClientSet]


def conflicts(
    table: RoutingTable, host: str, scope: ClientSet
) -> tuple[list[Finding], dict[ObjectRef, str]]:
    """IST0109 on each VS that shares `host` with another for some client; and for each VS
    that some of those clients drop, a phrase saying so (for the dormancy message).

    A VirtualService is reported once, as istioctl's ConflictingMeshGatewayHostsAnalyzer
    reports it once: on the first of its hosts in conflict, naming what happens on each."""
    entries, dropped = _host_conflicts(table, host, scope)
    findings: list[Finding] = []
    for ref, entry in entries.items():
        vs = table.index.get(ref)
        if vs is None:
            continue
        parts = [(host, entry)]
        for other in sorted(set(_claimed_hosts(table, vs)) - {host}):
            there = _host_conflicts(table, other, scope)[0].get(ref)
            if there is not None:
                parts.append((other, there))
        if min(h for h, _ in parts) != host:
            continue  # said on that host
        code = (
            Code.CONFLICTING_VIRTUAL_SERVICES
            if any(e[0] is Code.CONFLICTING_VIRTUAL_SERVICES for _, e in parts)
            else Code.VIRTUAL_SERVICE_OVERRIDE
        )
        clients = ClientSet.none()
        for _, e in parts:
            clients |= e[2]
        findings.append(
            Finding(
                code,
                "; also: ".join(e[1] for _, e in sorted(parts)),
                host=host,
                resource=ref,
                origin=vs.meta.origin,
                path=("spec", "hosts"),
                clients=clients,
            )
        )
    return findings, dropped


def _claimed_hosts(table: RoutingTable, vs: VirtualService) -> set[str]:
    """The hosts on which IST0109 may be said of `vs`: its own, and those it narrows or
    another narrows under its wildcard."""
    index = table.index
    hosts = {h for h in index.hosts_of(vs) if index.contested(h)}
    return hosts | {n for n, a, b in index.narrowings() if vs is a or vs is b}


def _host_conflicts(
    table: RoutingTable, host: str, scope: ClientSet
) -> tuple[dict[ObjectRef, Entry], dict[ObjectRef, str]]:
    """What `host` says of each VirtualService claiming it (see conflicts).

    Where the order is decided by namespace (a client's own VirtualService, or one exported to
    it by name, before public ones: SelectVirtualServices), the outcome is deterministic and the
    override is reported as info (VirtualServiceOverride); where creation time decides, as an
    error (ConflictingVirtualServices)."""
    key = ("conflicts", host, scope)
    kept = table.index.memo.get(key)
    if kept is not None:
        return kept  # type: ignore[return-value]
    # A Gateway API route against a VirtualService is meshtui.mesh.gateway_api_checks' finding.
    claims = [vs for vs in table.index.claims(host) if not vs.gateway_semantics]
    entries: dict[ObjectRef, Entry] = {}
    dropped: dict[ObjectRef, str] = {}
    table.index.memo[key] = (entries, dropped)
    _narrowed(table, host, scope, entries)
    if len(claims) < 2:
        return entries, dropped
    names = ", ".join(vs.meta.ref.namespaced_name for vs in claims)
    # Sidecars keep one VirtualService per host; a waypoint takes them all in a row.
    scope = scope & first_wins(table.dataplane)
    for vs in claims:
        seen = visibility(vs) & scope
        rivals = ClientSet.none()
        timed = ClientSet.none()
        for other in claims:
            if other is not vs:
                rivals |= visibility(other)
                timed |= _by_creation(vs, other) & visibility(other)
        overlap = seen & rivals
        if not overlap:
            continue
        uses = table.host_users(vs, host) & scope
        lost = overlap - uses
        winner = next(
            (w for w in claims if w is not vs and precedes(w, vs) & visibility(w) & lost),
            None,
        )
        if lost and winner is not None:
            dropped[vs.meta.ref] = (
                f"sidecars of {lost.describe()} use VirtualService "
                f"{winner.meta.ref.namespaced_name} for {host}, not this one"
            )
        if not timed & overlap:
            beaten = [
                o.meta.ref.namespaced_name
                for o in claims
                if o is not vs and precedes(vs, o) & visibility(o) & uses
            ]
            if beaten and uses:
                message = (
                    f"VirtualService {vs.meta.ref.namespaced_name} overrides "
                    f"{', '.join(beaten)} for {uses.describe()}: their sidecars take it "
                    f"first for {host} because {_why_first(vs, claims, uses)}; every "
                    "other client uses the one it overrides"
                )
                entries[vs.meta.ref] = (Code.VIRTUAL_SERVICE_OVERRIDE, message, uses)
            elif lost and winner is not None:
                message = (
                    f"VirtualService {winner.meta.ref.namespaced_name} overrides this one "
                    f"for {lost.describe()}: their sidecars take it first for {host} because "
                    f"{_why_first(winner, [vs], lost)}; every other client uses this one"
                )
                entries[vs.meta.ref] = (Code.VIRTUAL_SERVICE_OVERRIDE, message, lost)
            continue
        if lost and winner is not None:
            why = _why_first(winner, [vs], lost)
            verdict = (
                f"{lost.describe()} use {winner.meta.ref.namespaced_name} because {why}; "
                f"this VirtualService's routes for {host} carry no traffic for them"
            )
        else:
            verdict = f"{uses.describe()} use this one for {host}"
        entries[vs.meta.ref] = (
            Code.CONFLICTING_VIRTUAL_SERVICES,
            f"VirtualServices {names} all claim host {host} for sidecars; pilot uses only "
            f"the first for each client and drops the others: {verdict}",
            lost if lost else overlap,
        )
    return entries, dropped


def _narrowed(
    table: RoutingTable, host: str, scope: ClientSet, entries: dict[ObjectRef, Entry]
) -> None:
    """A wildcard host that narrows another VirtualService's wider wildcard (`*.page.d` under
    `*.d`), one of them public and the other exported to some namespaces only: for those
    namespaces' sidecars both build a virtual host and the most specific domain takes the
    names under `host` (Envoy's domain match), so the wider one's routes do not serve them
    there. istioctl reports such pairs as IST0109; the outcome is deterministic."""
    for narrow, vs, wide in table.index.narrowings():
        if narrow != host or vs.gateway_semantics or wide.gateway_semantics:
            continue
        scoped = vs if not visibility(vs).everyone else wide
        clients = visibility(scoped) & scope
        if not clients:
            continue
        patterns = [p for p in table.index.hosts_of(wide) if p != host and host_matches(host, p)]
        wider = max(patterns, key=len) if patterns else "*"
        a, b = vs.meta.ref.namespaced_name, wide.meta.ref.namespaced_name
        said = (
            f"for {clients.describe()}, names under {host} go by VirtualService {a} (its host "
            f"{host} is more specific than {wider} of {b}), the rest of {wider} by {b}"
        )
        entries.setdefault(vs.meta.ref, (Code.VIRTUAL_SERVICE_OVERRIDE, said, clients))
        entries.setdefault(wide.meta.ref, (Code.VIRTUAL_SERVICE_OVERRIDE, said, clients))


def designated_host(routes: RouteIndex, vs: VirtualService) -> str | None:
    """The one host whose analysis carries the findings about `vs` as a whole."""
    refs = routes.refs_of(vs.meta.ref)
    return min(r.host for r in refs) if refs else None


def rule_findings(routes: RouteIndex, vs: VirtualService, host: str) -> list[Finding]:
    """UnreachableRule and IneffectiveMatch for `vs` and the delegates it reaches, and
    DelegateRuleDropped for delegate rules whose match does not narrow the root rule's."""
    out: list[Finding] = []
    delegates = {r.delegate for r in routes.refs_of(vs.meta.ref) if r.delegate is not None}
    for ref in (vs.meta.ref, *sorted(delegates, key=str)):
        owner = routes.get(ref)
        if owner is None:
            continue
        unreachable = set()
        for issue in routes.rule_issues(ref):
            where = _rule_site(owner, issue.kind, issue.index)
            if issue.unreachable:
                unreachable.add((issue.kind, issue.index))
                out.append(
                    Finding(
                        Code.UNREACHABLE_RULE,
                        f"rule {where.rule} of {where.resource} can never match: "
                        f"{issue.reason}; its destinations get no traffic from it",
                        host=host,
                        resource=where.resource,
                        origin=where.origin,
                        path=where.path,
                        # istioctl analyzes no VirtualService pilot generates.
                        beyond_istio=issue.by_prefix or issue.after_catch_all or where.generated,
                    )
                )
            elif not where.generated:
                # A rule pilot generates from a Gateway API route has one match (pilot splits
                # a rule per match): an ineffective match is the unreachable rule, said once.
                match = issue.match_index or 0
                out.append(
                    Finding(
                        Code.INEFFECTIVE_MATCH,
                        f"match {match} of rule {where.rule} of {where.resource} never "
                        f"matches: {issue.reason}",
                        host=host,
                        resource=where.resource,
                        origin=where.origin,
                        path=(*where.path, "match", match),
                    )
                )
        if ref == vs.meta.ref:
            out += _unbound_rules(vs, host, unreachable)
    out += _dropped_delegate_rules(routes, vs, host)
    return out


@frozen
class RuleSite:
    """Where a rule of a VirtualService is written, for a finding about it: the VS's
    `http[i]`, or, in a VirtualService pilot generates, the Gateway API route's `rules[i]`."""

    resource: ObjectRef
    rule: str
    origin: Origin | None
    path: Path
    generated: bool


def _rule_site(owner: VirtualService, kind: str, index: int) -> RuleSite:
    for route in owner.routes:
        if route.source is not None and (route.kind, route.index) == (kind, index):
            origin = route.source_origin or owner.meta.origin
            return RuleSite(route.source, route.label, origin, route.written_at, True)
    return RuleSite(
        owner.meta.ref, f"{kind}[{index}]", owner.meta.origin, ("spec", kind, index), False
    )


def _unbound_rules(vs: VirtualService, host: str, reported: set[tuple[str, int]]) -> list[Finding]:
    """UnreachableRule for a rule whose every match names only gateways the VirtualService is
    not bound to: pilot attaches the VS to its own gateways only, and there the match's
    `gateways` leave the rule out (sourceMatchHTTP)."""
    out = []
    namespace = vs.meta.ref.namespace
    for route in vs.routes:
        if not route.match_gateways or (route.kind, route.index) in reported:
            continue
        if rule_gateways(route.matches, vs.gateways, namespace):
            continue
        rule = f"{route.kind}[{route.index}]"
        out.append(
            Finding(
                Code.UNREACHABLE_RULE,
                f"rule {rule} of VirtualService {vs.meta.ref.namespaced_name} can never match: "
                f"{unbound_gateways(route.matches, vs.gateways)}; its destinations get no "
                "traffic from it",
                host=host,
                resource=vs.meta.ref,
                origin=vs.meta.origin,
                path=("spec", route.kind, route.index, "match"),
                beyond_istio=True,
            )
        )
    return out


def _dropped_delegate_rules(routes: RouteIndex, vs: VirtualService, host: str) -> list[Finding]:
    """DelegateRuleDropped: pilot's mergeHTTPRoutes drops a delegate rule none of whose match
    blocks narrows a block of the root rule (hasConflict), so it never carries traffic."""
    out: list[Finding] = []
    if all(route.delegate is None for route in vs.routes):
        return out
    for rule in proxy_rules(routes, [vs], "http"):
        if rule.delegate is None or rule.delegate_route is None or not rule.problem:
            continue
        delegate = routes.get(rule.delegate)
        if delegate is None:
            continue
        sub = rule.delegate_route
        out.append(
            Finding(
                Code.DELEGATE_RULE_DROPPED,
                f"rule http[{sub.index}] of delegate VirtualService "
                f"{rule.delegate.namespaced_name} ({sub.match or 'no match'}) is dropped: "
                f"{rule.problem} ({rule.label} of {vs.meta.ref.namespaced_name}: "
                f"{rule.route.match or 'no match'}), so pilot builds no route from it and "
                "its destinations get no traffic from it",
                host=host,
                resource=rule.delegate,
                origin=delegate.meta.origin,
                path=("spec", "http", sub.index, "match"),
            )
        )
    return out


def unknown_gateways(
    vs: VirtualService,
    gateways: Mapping[ObjectRef, Gateway],
    host: str | None,
    kubernetes: Callable[[ObjectRef], bool] = lambda ref: False,
) -> list[Finding]:
    """Gateways `vs` binds to (at the top or in a match) that do not exist (IST0101). A
    Kubernetes Gateway of the name exists for istioctl (gateways.go), so is not reported."""
    out = []
    named: list[tuple[str, tuple[str | int, ...]]] = [
        (g, ("spec", "gateways", i)) for i, g in enumerate(vs.gateways)
    ]
    for route in vs.routes:
        for n, match in enumerate(route.matches):
            for i, g in enumerate(match.get("gateways") or ()):
                if isinstance(g, str):
                    named.append((g, ("spec", route.kind, route.index, "match", n, "gateways", i)))
    reported = set()
    for name, path in named:
        ref = gateway_ref(name, vs.meta.ref.namespace)
        if ref is None or ref in gateways or ref in reported or kubernetes(ref):
            continue
        reported.add(ref)
        out.append(
            Finding(
                Code.UNKNOWN_GATEWAY,
                f"VirtualService {vs.meta.ref.namespaced_name} binds to gateway "
                f"{ref.namespaced_name}, which does not exist: its routes for that gateway "
                f"carry no traffic",
                host=host,
                resource=vs.meta.ref,
                origin=vs.meta.origin,
                path=path,
            )
        )
    return out


def gateway_bypasses(routes: RouteIndex, host: str) -> list[Finding]:
    """IST0140: gateway routes to `host` without a subset while mesh routes use subsets."""
    subset_routes: dict[ObjectRef, list[str]] = {}
    for vs in routes.claims(host):
        names = sorted(
            {r.subset for r in routes.refs_of(vs.meta.ref) if r.host == host and r.subset}
        )
        if names:
            subset_routes[vs.meta.ref] = names
    if not subset_routes:
        return []
    out = []
    seen: set[ObjectRef] = set()
    for r in routes.routes_to(host):
        if r.kind != "http" or r.subset or r.virtual_service in seen:
            continue
        through = [g for g in r.gateways if g != MESH_GATEWAY]
        if not through:
            continue
        seen.add(r.virtual_service)
        owner, names = next(iter(sorted(subset_routes.items(), key=lambda kv: str(kv[0]))))
        out.append(_bypass(r, host, through, owner, names))
    return out


def _bypass(
    r: RouteRef, host: str, through: list[str], owner: ObjectRef, names: list[str]
) -> Finding:
    return Finding(
        Code.GATEWAY_ROUTE_BYPASSES_SUBSETS,
        f"{r.describe()} sends traffic from gateway {', '.join(through)} to {host} without a "
        f"subset, while VirtualService {owner.namespaced_name} routes sidecar traffic for it to "
        f"subsets {', '.join(names)}: requests through the gateway reach every pod of the "
        f"service, and those subset routes and policies do not apply to them",
        host=host,
        resource=r.delegate or r.virtual_service,
        origin=r.origin,
        path=r.path,
    )


def orphan_delegate_subsets(
    routes: RouteIndex,
    lookup: Callable[[str, str], Sequence[str] | None],
) -> list[Finding]:
    """UndefinedSubset (IST0101, a warning) in a delegate no root VirtualService names.

    Pilot builds no route from such a delegate (it has no host of its own), so nothing fails
    today; istioctl's DestinationRuleAnalyzer checks its subsets all the same, and once a root
    delegates to it, a subset no DestinationRule defines answers 503. `lookup(host,
    namespace)` gives the subsets defined for `host` by the DestinationRule clients in the
    delegate's namespace apply (None: no DestinationRule)."""
    out: list[Finding] = []
    domain = routes.config.domain
    for vs in routes.orphan_delegates():
        ns = vs.meta.ref.namespace
        for route in vs.routes:
            for d in (*route.destinations, *route.mirrors):
                if not d.subset or d.invalid:
                    continue
                host = resolve_host(d.host, ns, domain)
                defined = lookup(host, ns) or ()
                if d.subset in defined:
                    continue
                near = nearest_name(d.subset, defined)
                out.append(
                    Finding.at(
                        Severity.WARNING,
                        Code.UNDEFINED_SUBSET,
                        f"VirtualService {vs.meta.ref.namespaced_name} {route.kind}[{route.index}]"
                        f" routes to subset {d.subset!r} of {host}, which no DestinationRule "
                        "for that host defines"
                        + (f"; did you mean {near}?" if near else "")
                        + ". It is a delegate (no hosts) that no root VirtualService names, so "
                        "it carries no traffic now; once a root delegates to it, these "
                        "requests fail with 503",
                        host=host,
                        subset=d.subset,
                        resource=vs.meta.ref,
                        origin=vs.meta.origin,
                        path=d.path,
                    )
                )
    return out
