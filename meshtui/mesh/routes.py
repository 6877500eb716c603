"""Which VirtualService routes reach which host and subset (the explicit-route index).

A subset's cluster receives traffic only through a route whose destination names the subset:
`http[].route`, `tcp[].route`, `tls[].route`, and mirrors (`http[].mirror`, `mirrors[]`).
Routes of a delegate VirtualService count for the root that delegates to it, bound to the
root's gateways. A weight-0 destination beside others gets no traffic (pilot drops it).
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import field, fields
from typing import Any

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.delegation import ProxyRule, proxy_rules
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import MeshConfig, is_wildcard, resolve_host
from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.reachability import RuleIssue, rule_issues
from meshtui.mesh.resources import (
    Destination,
    ObjectRef,
    Origin,
    Path,
    Route,
    VirtualService,
    rule_label,
)

MESH_GATEWAY = "mesh"
NO_CLIENT = ClientSet.none()


def gateway_ref(name: str, namespace: str) -> ObjectRef | None:
    """The Gateway a VirtualService in `namespace` binds to by `name` (None for `mesh`).

    pilot/pkg/model/virtualservice.go resolveGatewayName: `ns/name` (`./name` is the VS's own
    namespace), a short name in the VS's namespace, or the legacy `name.ns[.svc...]` form.
    """
    if name == MESH_GATEWAY:
        return None
    if "/" in name:
        ns, _, short = name.partition("/")
        return ObjectRef("Gateway", namespace if ns == "." else ns, short)
    if "." in name:
        short, _, rest = name.partition(".")
        return ObjectRef("Gateway", rest.split(".")[0], short)
    return ObjectRef("Gateway", namespace, name)


@frozen
class RouteRef:
    """One destination of one rule as the client's proxy has it (delegates merged into their
    root): what reaches `host` (and `subset`), for whom, or why pilot builds no route from it.

    The route index holds these with no `clients`; the routing table (meshtui.mesh.routing)
    hands out copies with `clients` set and, where no client takes the route, `dropped`.
    """

    virtual_service: ObjectRef
    kind: str  # "http", "tcp", "tls" or "mirror"
    route_index: int
    route_name: str
    host: str
    subset: str
    port: int | None
    weight: int  # effective percentage of the route's traffic (mirrored share for mirrors)
    gateways: tuple[str, ...]
    match: str
    origin: Origin
    path: Path
    delegate: ObjectRef | None = None  # the delegate VS the route was written in
    dropped: str = ""  # why pilot builds no route from it for any client ("" when it does)
    never_matches: bool = False  # dropped by the rules themselves, whoever uses the VS
    clients: ClientSet = NO_CLIENT  # whose requests it carries (set by the table)
    guess: bool = False  # `clients` assumes a Gateway that the input does not hold
    # The rule's match blocks as the proxy has them (a delegate's completed by its root's),
    # and the kind of rule: which ports and clients pilot builds the route for.
    matches: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    rule_kind: str = ""
    # The Gateway API route (HTTPRoute, ...) the rule was written in, when `virtual_service`
    # is one pilot generates from such routes (meshtui.mesh.gateway_api); never a subset then.
    source: ObjectRef | None = None
    # The rule's own field in `written_in`: `spec.http[i]`, or the Gateway API route's
    # `spec.rules[i]` (`.matches[j]` where pilot split a rule of several matches).
    rule_path: Path = ()
    # The controller's Accepted / ResolvedRefs conditions for the route's parent, as (type,
    # status, reason), when its status holds them (meshtui.mesh.gateway_api parent_conditions).
    conditions: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)

    @property
    def reachable(self) -> bool:
        return not self.dropped

    @property
    def carries_traffic(self) -> bool:
        # A mirror with an explicit 0% sends nothing to the subset's cluster (pilot sets no
        # request mirror policy for it), so it does not count either.
        return self.weight > 0 and not self.dropped

    @property
    def mesh_bound(self) -> bool:
        return MESH_GATEWAY in self.gateways

    @property
    def written_in(self) -> ObjectRef:
        """The resource whose YAML holds the route (the delegate's, the Gateway API route's)."""
        return self.source or self.delegate or self.virtual_service

    @property
    def gateway_api(self) -> bool:
        return self.source is not None

    @property
    def rule(self) -> str:
        """The rule as its author wrote it: `http[2]`, or a Gateway API route's `rules[1]`
        (meshtui.mesh.objects Route.label), never the generated VirtualService's `http[i]`."""
        if self.source is not None:
            return rule_label(self.rule_path) or self.kind
        return f"{self.kind}[{self.route_index}]"

    def describe(self) -> str:
        name = f" {self.route_name!r}" if self.route_name else ""
        if self.source is not None:
            return f"{self.source} {self.rule}{name}"
        where = f" (delegate {self.delegate.namespaced_name})" if self.delegate else ""
        return f"{self.virtual_service} {self.rule}{name}{where}"


_ROUTE_FIELDS = tuple(f.name for f in fields(RouteRef))
_route_values = operator.attrgetter(*_ROUTE_FIELDS)
_CLIENTS, _GUESS, _DROPPED = (_ROUTE_FIELDS.index(n) for n in ("clients", "guess", "dropped"))


def resolved(r: RouteRef, clients: ClientSet, guess: bool = False, dropped: str = "") -> RouteRef:
    """A copy of an indexed route with who it carries traffic for (the routing table makes
    one per route and view: `dataclasses.replace` costs several times as much)."""
    values = list(_route_values(r))
    values[_CLIENTS], values[_GUESS], values[_DROPPED] = clients, guess, dropped or r.dropped
    return RouteRef(*values)


def effective_weights(destinations: tuple[Destination, ...]) -> list[int]:
    """Percentages of a route's traffic per destination, as pilot builds weighted clusters."""
    if len(destinations) == 1:
        return [100]
    weights = [d.weight or 0 for d in destinations]
    total = sum(w for w in weights if w > 0)
    if total == 0:
        return [0] * len(weights)
    return [round(w * 100 / total) if w > 0 else 0 for w in weights]


def visible_anywhere(vs: VirtualService) -> bool:
    return not vs.export_to or any(e != "~" for e in vs.export_to)


def rule_gateways(
    matches: tuple[Mapping[str, Any], ...], vs_gateways: tuple[str, ...], namespace: str
) -> tuple[str, ...]:
    """The gateways (or `mesh`) a rule is built for: pilot attaches the VirtualService to its
    `gateways` (getGatewayNames: none means mesh) and a match block naming gateways keeps the
    rule only for those of them (sourceMatchHTTP); a block without gateways, all of them."""
    bound = vs_gateways or (MESH_GATEWAY,)
    if not matches:
        return bound
    out: dict[str, None] = {}
    for m in matches:
        named = {gateway_ref(g, namespace) for g in (m.get("gateways") or ()) if isinstance(g, str)}
        out.update(
            dict.fromkeys(g for g in bound if not named or gateway_ref(g, namespace) in named)
        )
    return tuple(out)


def unbound_gateways(matches: tuple[Mapping[str, Any], ...], vs_gateways: tuple[str, ...]) -> str:
    """Why a rule whose every match names only gateways the VS is not bound to never matches."""
    named = sorted(
        {str(g) for m in matches for g in (m.get("gateways") or ()) if isinstance(g, str)}
    )
    bound = ", ".join(vs_gateways or (MESH_GATEWAY,))
    return (
        f"its matches name only gateway{'s' if len(named) > 1 else ''} {', '.join(named)}, "
        f"which the VirtualService is not bound to (it is bound to {bound})"
    )


def is_mesh_bound(vs: VirtualService) -> bool:
    """Whether sidecars use `vs` at all (pilot's getGatewayNames: no gateways means mesh)."""
    return not vs.gateways or MESH_GATEWAY in vs.gateways


def visibility(vs: VirtualService) -> ClientSet:
    """The client namespaces `vs` is exported to (pilot's initVirtualServices).

    `*` anywhere makes it public; otherwise `~` hides it; otherwise the names (`.` is its own
    namespace). No exportTo is the mesh default, public.
    """
    export = vs.export_to
    if not export or "*" in export:
        return ClientSet.all()
    if "~" in export:
        return ClientSet.none()
    own = vs.meta.ref.namespace
    return ClientSet.of(own if e == "." else e for e in export)


def _order_key(vs: VirtualService) -> tuple[str, str, str]:
    # pilot/pkg/model/config.go configCompareByCreationTime: creation time, name, namespace.
    return (vs.meta.creation_timestamp, vs.meta.ref.name, vs.meta.ref.namespace)


def _client_rank(vs: VirtualService, namespace: str) -> tuple[int, tuple[str, str, str]]:
    own = vs.gateway_semantics and vs.meta.ref.namespace == namespace
    return (0 if own else 1, _order_key(vs))


def precedes(first: VirtualService, then: VirtualService) -> ClientSet:
    """The clients whose sidecars take `first` before `then` when both claim a host.

    pilot/pkg/model/virtualservice.go SelectVirtualServices: the VSs private to the client's
    namespace, then those exported to it by name, then the public ones, each list in
    creation order (virtualservice_controller.go sortMergedVirtualServicesByCreationTime).
    """
    a, b = visibility(first), visibility(then)
    if a.everyone and b.everyone:
        out = ClientSet.all() if _order_key(first) < _order_key(then) else ClientSet.none()
        if not first.gateway_semantics and not then.gateway_semantics:
            return out
        # push_context.go VirtualServicesForGateway and SelectVirtualServices (unified sidecar
        # scoping, on by default since 1.24): among the public VSs, those generated from Gateway
        # API routes of the client's own namespace come first (the consumer override).
        special = {v.meta.ref.namespace for v in (first, then) if v.gateway_semantics}
        wins = [ns for ns in special if _client_rank(first, ns) < _client_rank(then, ns)]
        return (out - ClientSet.of(special)) | ClientSet.of(wins)
    if a.everyone:
        return ClientSet.none()  # `then` is private or exported wherever it is seen
    if b.everyone:
        return a
    out = []
    for ns in a.names & b.names:
        rank_a = 0 if ns == first.meta.ref.namespace else 1
        rank_b = 0 if ns == then.meta.ref.namespace else 1
        if (rank_a, _order_key(first)) < (rank_b, _order_key(then)):
            out.append(ns)
    return ClientSet.of(out)


def in_client_order(services: Iterable[VirtualService], namespace: str) -> list[VirtualService]:
    """The VSs a proxy in `namespace` sees, in pilot's order for it (SelectVirtualServices:
    private to it, then exported to it by name, then public; each oldest first)."""
    seen = [vs for vs in services if namespace in visibility(vs)]

    def order(a: VirtualService, b: VirtualService) -> int:
        return -1 if namespace in precedes(a, b) else 1

    return sorted(seen, key=functools.cmp_to_key(order))


class RouteIndex:
    """Route references by destination host, kept up to date as VirtualServices change.

    Beside the routes it keeps which mesh-bound VirtualServices claim which hosts (by name, and
    by wildcard), from which the routing table works out which one each client's sidecar uses.
    """

    def __init__(self, config: MeshConfig) -> None:
        self.config = config
        self._services: dict[ObjectRef, VirtualService] = {}
        self._refs: dict[ObjectRef, list[RouteRef]] = {}
        self._by_host: dict[str, list[RouteRef]] = defaultdict(list)
        self._delegated_by: dict[ObjectRef, set[ObjectRef]] = defaultdict(set)
        # VirtualServices without hosts: delegates, used only through a root that names them.
        self._hostless: set[ObjectRef] = set()
        # resolved host -> the mesh-bound VirtualServices whose `hosts` name it
        self._claims: dict[str, set[ObjectRef]] = defaultdict(set)
        # mesh-bound VirtualServices with a wildcard host -> those hosts
        self._wildcards: dict[ObjectRef, tuple[str, ...]] = {}
        self._issues: dict[ObjectRef, list[RuleIssue]] = {}
        # The routing table's memo (who uses which VS where); cleared on every change.
        self.memo: dict[object, object] = {}

    def __len__(self) -> int:
        return len(self._services)

    def __iter__(self):
        return iter(self._services.values())

    def get(self, ref: ObjectRef) -> VirtualService | None:
        return self._services.get(ref)

    def routes_to(self, host: str) -> list[RouteRef]:
        """Every route reference to `host`, as indexed: no clients, only static drops."""
        return self._by_host.get(host, [])

    def refs_of(self, ref: ObjectRef) -> list[RouteRef]:
        """Every route reference a root VirtualService (with its delegates) makes."""
        return self._refs.get(ref, [])

    def hosts(self) -> set[str]:
        return {h for h, refs in self._by_host.items() if refs}

    def contested_hosts(self) -> set[str]:
        """Hosts that several mesh-bound VirtualServices claim, and wildcard hosts that one
        narrows for the namespaces it is exported to (candidates for IST0109)."""
        out = {h for h, claims in self._claims.items() if len(claims) > 1}
        return out | {narrow for narrow, _, _ in self.narrowings()}

    def contested(self, host: str) -> bool:
        """Whether IST0109 may be said of `host` (see contested_hosts)."""
        if len(self._claims.get(host, ())) > 1:
            return True
        return is_wildcard(host) and any(n == host for n, _, _ in self.narrowings())

    def narrowings(self) -> list[tuple[str, VirtualService, VirtualService]]:
        """(narrow host, its VirtualService, the one whose wider wildcard covers it), where one
        of the two is public and the other exported to some namespaces only: for those
        namespaces' sidecars the most specific host wins the names under the narrow one, as
        istioctl's ConflictingMeshGatewayHostsAnalyzer compares a scoped host with the public
        hosts it Matches (getExportToAllNamespacesVSListForScopedHost)."""
        kept = self.memo.get("narrowings")
        if kept is not None:
            return kept  # type: ignore[return-value]
        out: list[tuple[str, VirtualService, VirtualService]] = []
        self.memo["narrowings"] = out
        for ref, patterns in self._wildcards.items():
            vs = self._services[ref]
            for other_ref, others in self._wildcards.items():
                if other_ref == ref:
                    continue
                other = self._services[other_ref]
                if visibility(vs).everyone == visibility(other).everyone:
                    continue
                for narrow in patterns:
                    if any(w != narrow and host_matches(narrow, w) for w in others):
                        out.append((narrow, vs, other))
        return out

    def claims(self, host: str) -> list[VirtualService]:
        """The mesh-bound VirtualServices naming `host` in their `hosts`, in pilot's order."""
        out = [self._services[r] for r in self._claims.get(host, ())]
        return sorted(out, key=_order_key)

    def wildcard_claims(self, host: str) -> list[tuple[str, VirtualService]]:
        """Mesh-bound VirtualServices whose wildcard hosts cover `host`, with the pattern."""
        out = []
        for ref, patterns in self._wildcards.items():
            covering = [p for p in patterns if p != host and host_matches(host, p)]
            if covering:
                out.append((max(covering, key=len), self._services[ref]))
        return sorted(out, key=lambda pv: _order_key(pv[1]))

    def rule_issues(self, ref: ObjectRef) -> list[RuleIssue]:
        return self._issues.get(ref, [])

    def hosts_bound_to(self, gateway: ObjectRef) -> set[str]:
        """Hosts with a route bound to `gateway` (`ns/name`, or a short name in the VS's ns)."""
        out = set()
        for host, refs in self._by_host.items():
            for r in refs:
                if any(gateway_ref(g, r.virtual_service.namespace) == gateway for g in r.gateways):
                    out.add(host)
                    break
        return out

    def hosts_of(self, vs: VirtualService) -> list[str]:
        """The hosts `vs` names, resolved in its namespace."""
        namespace = vs.meta.ref.namespace
        return [resolve_host(h, namespace, self.config.domain) for h in vs.hosts]

    def add(self, vs: VirtualService) -> set[str]:
        """Add or replace a VirtualService; returns the hosts whose routes changed."""
        affected = self._drop(vs.meta.ref)
        self._services[vs.meta.ref] = vs
        self._issues[vs.meta.ref] = rule_issues(vs.routes)
        if not vs.hosts:
            self._hostless.add(vs.meta.ref)
        for route in vs.routes:
            if route.delegate is not None:
                self._delegated_by[route.delegate].add(vs.meta.ref)
        if is_mesh_bound(vs) and visible_anywhere(vs):
            for host in self.hosts_of(vs):
                self._claims[host].add(vs.meta.ref)
            wild = tuple(h for h in self.hosts_of(vs) if is_wildcard(h))
            if wild:
                self._wildcards[vs.meta.ref] = wild
        affected |= self._index(vs.meta.ref)
        # A delegate changed: its roots' references change with it.
        for root in self._delegated_by.get(vs.meta.ref, ()):
            affected |= self._reindex(root)
        return affected | self._contest(vs)

    def remove(self, ref: ObjectRef) -> set[str]:
        if ref not in self._services:
            return set()
        affected = self._drop(ref)
        del self._services[ref]
        self._hostless.discard(ref)
        self._issues.pop(ref, None)
        for root in list(self._delegated_by.get(ref, ())):
            affected |= self._reindex(root)
        return affected

    def orphan_delegates(self) -> list[VirtualService]:
        """Delegates (VirtualServices without hosts) that no root VirtualService names: pilot
        builds no route from them (they have no host of their own to route)."""
        return [
            self._services[ref]
            for ref in sorted(self._hostless, key=str)
            if not any(root in self._services for root in self._delegated_by.get(ref, ()))
        ]

    def routed_by_claims(self, host: str) -> set[str]:
        """The hosts routed by the VirtualServices that claim `host`: who wins `host` (and on
        which of its ports) decides whether their routes carry traffic."""
        out: set[str] = set()
        for ref in self._claims.get(host, ()):
            out |= {r.host for r in self._refs.get(ref, ())}
        for ref, patterns in self._wildcards.items():
            if any(host_matches(host, p) for p in patterns):
                out |= {r.host for r in self._refs.get(ref, ())}
        return out

    def _contest(self, vs: VirtualService) -> set[str]:
        """Hosts whose analysis depends on who wins the hosts `vs` claims."""
        self.memo.clear()
        affected = set()
        for host in self.hosts_of(vs):
            claims = self._claims.get(host, ())
            if len(claims) > 1:
                affected.add(host)  # its ConflictingVirtualServices findings change
                for ref in claims:  # a VirtualService's conflicts are said once, on one host
                    affected |= set(self.hosts_of(self._services[ref]))
            for ref in claims:
                affected |= {r.host for r in self._refs.get(ref, ())}
            if is_wildcard(host):  # the VSs it may outrank for the hosts it covers
                affected |= self._narrowed_by(vs, host)
                for other in self._wildcards:
                    if other != vs.meta.ref:
                        affected |= {r.host for r in self._refs.get(other, ())}
                for claimed, refs in self._claims.items():
                    if host_matches(claimed, host):
                        for ref in refs:
                            affected |= {r.host for r in self._refs.get(ref, ())}
        return affected

    def _narrowed_by(self, vs: VirtualService, pattern: str) -> set[str]:
        """The narrow hosts of the narrowings `vs`'s wildcard `pattern` takes part in (see
        narrowings), whose IST0109 its change may change."""
        if vs.meta.ref not in self._wildcards:
            return set()
        public = visibility(vs).everyone
        out = set()
        for ref, patterns in self._wildcards.items():
            if ref == vs.meta.ref or visibility(self._services[ref]).everyone == public:
                continue
            for other in patterns:
                if other != pattern and host_matches(other, pattern):
                    out.add(other)
                elif other != pattern and host_matches(pattern, other):
                    out.add(pattern)
        return out

    def _reindex(self, ref: ObjectRef) -> set[str]:
        return self._unindex(ref) | self._index(ref)

    def _drop(self, ref: ObjectRef) -> set[str]:
        old = self._services.get(ref)
        if old is None:
            return set()
        self._hostless.discard(ref)
        for route in old.routes:
            if route.delegate is not None:
                self._delegated_by[route.delegate].discard(ref)
        affected = self._contest(old)
        for host in self.hosts_of(old):
            claims = self._claims.get(host)
            if claims is not None:
                claims.discard(ref)
                if not claims:
                    del self._claims[host]
        self._wildcards.pop(ref, None)
        return affected | self._unindex(ref)

    def _unindex(self, ref: ObjectRef) -> set[str]:
        self.memo.clear()
        refs = self._refs.pop(ref, [])
        hosts = {r.host for r in refs}
        for host in hosts:
            self._by_host[host] = [r for r in self._by_host[host] if r.virtual_service != ref]
            if not self._by_host[host]:
                del self._by_host[host]
        return hosts

    def _unreachable(self, ref: ObjectRef) -> dict[tuple[str, int], str]:
        return {(i.kind, i.index): i.reason for i in self._issues.get(ref, ()) if i.unreachable}

    def _index(self, ref: ObjectRef) -> set[str]:
        vs = self._services.get(ref)
        # A VirtualService without hosts is a delegate: it routes only through a root.
        if vs is None or not vs.hosts or not visible_anywhere(vs):
            return set()
        refs: list[RouteRef] = []
        inherited: set[int] = set()
        for kind in ("http", "tcp", "tls"):
            for rule in proxy_rules(self, [vs], kind):
                refs += self._rule_refs(vs, rule)
                # pilot's mergeHTTPRoute: a delegate rule without a mirror takes the root's;
                # those mirrors are written in the root, listed once per root rule.
                root = rule.route
                if (
                    rule.delegate_route is not None
                    and root.mirrors
                    and not rule.delegate_route.mirrors
                    and root.index not in inherited
                ):
                    inherited.add(root.index)
                    refs += self._destination_refs(
                        vs, rule, (), root.mirrors, root, vs, vs.meta.ref.namespace
                    )
        self.memo.clear()
        self._refs[ref] = refs
        for r in refs:
            self._by_host[r.host].append(r)
        return {r.host for r in refs}

    def _rule_refs(self, vs: VirtualService, rule: ProxyRule) -> list[RouteRef]:
        """The references one proxy rule makes, with the reason pilot drops it, if any."""
        written = rule.delegate_route or rule.route
        owner = self._services.get(rule.delegate) if rule.delegate else vs
        if owner is None:  # a missing delegate: the rule has no destination to reference
            return []
        mirrors = rule.delegate_route.mirrors if rule.delegate_route else rule.mirrors
        return self._destination_refs(
            vs, rule, rule.destinations, mirrors, written, owner, rule.namespace
        )

    def _destination_refs(
        self,
        vs: VirtualService,
        rule: ProxyRule,
        destinations: tuple[Destination, ...],
        mirrors: tuple[Destination, ...],
        written: Route,
        owner: VirtualService,
        namespace: str,
    ) -> list[RouteRef]:
        dropped = self._static_drop(vs, rule, written, owner)
        gateways = rule_gateways(rule.matches, vs.gateways, vs.meta.ref.namespace)
        delegate = owner.meta.ref if owner is not vs else None
        common = {
            "route_index": written.index,
            "route_name": written.name,
            "gateways": gateways,
            "match": written.match,
            "origin": written.source_origin or owner.meta.origin,
            "source": written.source,
            "rule_path": written.written_at,
            "conditions": written.conditions,
            "delegate": delegate,
            "dropped": dropped,
            "never_matches": bool(dropped),
            "matches": rule.matches,
            "rule_kind": rule.route.kind,
        }
        out = []
        weights = effective_weights(destinations) if destinations else []
        for dest, weight in zip(destinations, weights, strict=True):
            host = resolve_host(dest.host, namespace, self.config.domain)
            ref = RouteRef(
                vs.meta.ref,
                written.kind,
                host=host,
                subset=dest.subset,
                port=dest.port,
                weight=weight,
                path=dest.path,
                **common,
            )
            # A backend pilot cannot resolve keeps its share and answers 500 (Gateway API).
            out.append(resolved(ref, NO_CLIENT, dropped=dest.invalid) if dest.invalid else ref)
        for mirror in mirrors:
            host = resolve_host(mirror.host, namespace, self.config.domain)
            out.append(
                RouteRef(
                    vs.meta.ref,
                    "mirror",
                    host=host,
                    subset=mirror.subset,
                    port=mirror.port,
                    weight=mirror.weight if mirror.weight is not None else 100,
                    path=mirror.path,
                    **common,
                )
            )
        return out

    def _static_drop(
        self, vs: VirtualService, rule: ProxyRule, written: Route, owner: VirtualService
    ) -> str:
        """Why pilot builds no route from this rule for anyone, whoever wins the host."""
        outer = self._unreachable(vs.meta.ref).get((rule.route.kind, rule.route.index), "")
        if rule.delegate_route is not None:
            if outer:
                return f"the delegating rule {rule.label}: {outer}"
            if rule.problem:
                return (
                    f"{rule.problem} ({rule.label} of {vs.meta.ref.namespaced_name}): "
                    "pilot drops the rule"
                )
            inner = self._unreachable(owner.meta.ref).get((written.kind, written.index), "")
            if inner:
                return inner
        elif outer:
            return outer
        if not rule_gateways(rule.matches, vs.gateways, vs.meta.ref.namespace):
            return unbound_gateways(rule.matches, vs.gateways)
        return ""
