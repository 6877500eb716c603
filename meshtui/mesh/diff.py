"""What a change does to traffic, and for whom: two analyses compared per client class.

Both sides are analyses for every client; the routing table gives each live route the client
namespaces whose requests it carries, and each host's views say which DestinationRule each
client applies. The namespaces any of these name on either side, plus "every other namespace",
are the client classes that can differ; a class's routes, DestinationRule, effective policies
(per subset and port) and pods are compared old against new. Nothing here decides routing: it
reads what the analysis and routing table decided, so `diff` agrees with `check` and `trace`.

A resource edited with no effect for any client is `ineffective`, with the Istio rule that
makes it so; an edit for which no rule applies but which changes nothing (a reordering, a
default spelled out, a file split) is a rewrite and reports nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import Finding
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import is_wildcard, resolve_host
from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.model import UNNAMED_NAMESPACE, Analysis, HostAnalysis
from meshtui.mesh.policy import (
    PORT_LEVEL_FIELDS,
    EffectiveField,
    EffectivePolicy,
    Level,
    effective_policies,
    port_settings,
)
from meshtui.mesh.resources import DestinationRule, ObjectRef, Resource, VirtualService, Workload
from meshtui.mesh.routes import RouteRef

ROUTE, POLICY, SUBSET, WORKLOADS, DESTINATION_RULE, HOST = (
    "route",
    "policy",
    "subset",
    "workloads",
    "destinationRule",
    "host",
)


@frozen
class Change:
    """One thing a class of clients gets differently. `old`/`new` None: absent on that side
    (a route's weight, a subset, a policy field left at Istio's default)."""

    what: str  # ROUTE, POLICY, SUBSET, WORKLOADS, DESTINATION_RULE or HOST
    subset: str | None = None
    port: int | None = None
    name: str | None = None  # the policy field, or the route ("shop/reviews http[0]")
    old: Any = None
    new: Any = None
    old_origin: str | None = None  # where a policy field comes from (host, subset-port, ...)
    new_origin: str | None = None
    why: str = ""  # why a route carries no traffic now (the routing table's reason), or why
    # a subset's policy starts or stops counting (it is now routed to, or no longer)

    @property
    def text(self) -> str:
        """One line for a person: what changes, old → new."""
        return describe(self)


@frozen
class HostChange:
    """What changes for requests to `host` from `clients`."""

    host: str
    clients: ClientSet
    changes: tuple[Change, ...]


@frozen
class Ineffective:
    """A resource that changed but changes no route or policy for any client, and why."""

    resource: ObjectRef
    host: str
    why: str


@frozen
class MeshDiff:
    changes: tuple[HostChange, ...]
    ineffective: tuple[Ineffective, ...]
    added: tuple[Finding, ...]  # findings the new side has and the old one has not
    resolved: tuple[Finding, ...]  # and the other way round

    @property
    def empty(self) -> bool:
        return not (self.changes or self.ineffective or self.added or self.resolved)

    @property
    def hosts(self) -> list[str]:
        """The hosts whose traffic changes, each once, in order."""
        return sorted({c.host for c in self.changes})


# -- words ---------------------------------------------------------------------------------


def policy_value(value: Any) -> str:
    """A policy field's value as JSON (None: Istio's default)."""
    if value is None:
        return "Istio's default"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def share(value: int | None) -> str:
    """A route's share of the traffic (None: no such route)."""
    return "no route" if value is None else f"{value}%"


def where(c: Change) -> str:
    """`subset v2 port 9080`: what a change is about, below the host."""
    parts = []
    if c.subset:
        parts.append(f"subset {c.subset}")
    if c.port is not None:
        parts.append(f"port {c.port}")
    return " ".join(parts)


def describe(c: Change) -> str:
    """One line for a person: what changes, old → new (with where a policy comes from)."""
    place = where(c)
    if c.what == ROUTE:
        to = f" to {place}" if place else " to the host"
        why = f" ({c.why})" if c.why else ""
        return f"route {c.name}{to}: {share(c.old)} → {share(c.new)}{why}"
    if c.what == POLICY:
        old = policy_value(c.old) + (f" (from {c.old_origin})" if c.old is not None else "")
        new = policy_value(c.new) + (f" (from {c.new_origin})" if c.new is not None else "")
        why = f" ({c.why})" if c.why else ""
        return f"{place + ' ' if place else ''}{c.name}: {old} → {new}{why}"
    if c.what == SUBSET:
        if c.new:
            return f"subset {c.subset} now defined: requests routed to it reach its pods"
        return (
            f"subset {c.subset} no longer defined in the DestinationRule in force: requests "
            "routed to it fail with 503"
        )
    if c.what == WORKLOADS:
        lead = f"{place} pods" if place else "pods"
        return f"{lead}: {', '.join(c.old) or 'none'} → {', '.join(c.new) or 'none'}"
    if c.what == DESTINATION_RULE:
        old = ", ".join(c.old) or "none"
        new = ", ".join(c.new) or "none"
        return f"DestinationRule in force: {old} → {new}"
    if c.what == HOST:
        return "host added" if c.new else "host removed"
    return f"{c.what}: {policy_value(c.old)} → {policy_value(c.new)}"


# -- one client class's view of one host ----------------------------------------------------------

Policies = Mapping[int | None, EffectivePolicy]


@frozen
class _Side:
    """What clients of one class get for one host: the DestinationRule in force, the routes
    that carry their requests, the effective policies (host and per subset, per port) and
    the pods each subset selects."""

    present: bool
    rules: tuple[str, ...]
    routes: Mapping[tuple[Any, ...], RouteRef]
    policy: Policies
    subsets: Mapping[str, Policies | None]  # the subsets routed to (None: not defined)
    workloads: _Pods | None
    subset_workloads: Mapping[str, _Pods | None]


_ABSENT = _Side(False, (), {}, {}, {}, None, {})


def _route_key(r: RouteRef) -> tuple[Any, ...]:
    # A named rule is itself wherever it moves; an unnamed one is its place in the list: in
    # its VirtualService, or in its Gateway API route (the generated VirtualService's order
    # changes with every route merged into it).
    return (
        (r.source or r.virtual_service).namespaced_name,
        r.kind,
        r.route_name or r.rule,
        r.subset,
        r.port,
    )


def route_label(r: RouteRef) -> str:
    """`ns/name http[0] 'name'` (`mirror` for a mirror of the rule); a Gateway API route's rule
    as written, `HTTPRoute ns/name rules[0]`."""
    kind = r.rule_kind or r.kind
    name = f" {r.route_name!r}" if r.route_name else ""
    mirror = " mirror" if r.kind == "mirror" else ""
    if r.source is not None:
        return f"{r.source} {r.rule}{name}{mirror}"
    return f"{r.virtual_service.namespaced_name} {kind}[{r.route_index}]{name}{mirror}"


def _policies(
    rule: ConsolidatedRule | None, subset_policy: Mapping[str, Any] | None, ports: list[int]
) -> Policies:
    """The effective policy on each of the host's ports (the policy without a port when its
    ports are not known: only then can no port-level entry replace it)."""
    base, per_port = effective_policies(rule.traffic_policy if rule else None, subset_policy, ports)
    return dict(per_port) if ports else {None: base}


# Labels a controller stamps on the pods it makes: a Deployment and its pods are the same pods.
_POD_TEMPLATE_LABELS = ("pod-template-hash", "controller-revision-hash", "pod-template-generation")


@frozen
class _Pods:
    """The pods a host or subset reaches: compared by their labels (a Deployment in a file
    and its running Pods are the same pods), named by their resources."""

    kinds: frozenset[frozenset[tuple[str, str]]]
    names: tuple[str, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Pods) and self.kinds == other.kinds

    def __hash__(self) -> int:
        return hash(self.kinds)


def _names(w: Iterable[Workload] | None) -> _Pods | None:
    if w is None:
        return None
    found = list(w)
    kinds = frozenset(
        frozenset((k, v) for k, v in x.labels.items() if k not in _POD_TEMPLATE_LABELS)
        for x in found
    )
    return _Pods(kinds, tuple(sorted(str(x.meta.ref) for x in found)))


def _side(h: HostAnalysis | None, namespace: str) -> _Side:
    if h is None:
        return _ABSENT
    view = next((v for v in h.views if namespace in v.clients), None)
    rule = view.rule if view is not None else h.rule
    ports = sorted({p.number for p in h.ports})
    routes = {_route_key(r): r for r in h.routes if namespace in r.clients}
    # A subset's policy and pods matter only to requests routed to it: a subset no route of
    # this class names changes nothing for it (pilot builds its cluster, no request uses it).
    routed = {r.subset for r in routes.values() if r.subset}
    subsets: dict[str, Policies | None] = dict.fromkeys(routed)  # None: routed, not defined
    subset_workloads: dict[str, _Pods | None] = {}
    for subset, _dr in rule.subsets if rule else ():
        if subset.name not in routed or subsets[subset.name] is not None:
            continue  # not routed to; or a duplicate, and Istio uses the first definition
        subsets[subset.name] = _policies(rule, subset.traffic_policy, ports)
        shown = h.subset(subset.name)
        subset_workloads[subset.name] = (
            _names(shown.workloads) if shown is not None and shown.subset == subset else None
        )
    return _Side(
        True,
        tuple(r.meta.ref.namespaced_name for r in rule.rules) if rule else (),
        routes,
        _policies(rule, None, ports),
        subsets,
        _names(h.workloads),
        subset_workloads,
    )


def _field_changes(old: Policies, new: Policies, subset: str | None) -> list[Change]:
    # A side whose ports are not known has the policy of any port: compare it on each of the
    # other side's ports.
    if set(old) == {None} and None not in new:
        old = dict.fromkeys(new, old[None])
    elif set(new) == {None} and None not in old:
        new = dict.fromkeys(old, new[None])
    out = []
    for port in sorted(set(old) | set(new), key=lambda p: -1 if p is None else p):
        before, after = old.get(port), new.get(port)
        for name in _field_names(before, after):
            a = _field(before, name)
            b = _field(after, name)
            if a.value == b.value:
                continue  # the same value from elsewhere changes nothing in force
            out.append(
                Change(
                    POLICY,
                    subset,
                    port,
                    name,
                    a.value,
                    b.value,
                    a.level.value,
                    b.level.value,
                )
            )
    return out


def _field_names(*policies: EffectivePolicy | None) -> list[str]:
    names: list[str] = []
    for p in policies:
        for f in p.fields if p else ():
            if f.name not in names:
                names.append(f.name)
    return names


def _field(policy: EffectivePolicy | None, name: str) -> EffectiveField:
    if policy is None:
        return EffectiveField(name, None, Level.DEFAULT)
    return policy.get(name)


def _compare(old: _Side, new: _Side, dropped: Mapping[tuple[Any, ...], RouteRef]) -> list[Change]:
    """What one client class gets differently for one host."""
    out: list[Change] = []
    if old.present != new.present:  # a Service, ServiceEntry or first rule for it came or went
        out.append(
            Change(
                HOST, old="defined" if old.present else None, new="defined" if new.present else None
            )
        )
    if old.rules != new.rules:
        out.append(Change(DESTINATION_RULE, old=list(old.rules), new=list(new.rules)))
    for key in sorted(set(old.routes) | set(new.routes), key=_sortable):
        a, b = old.routes.get(key), new.routes.get(key)
        if a is not None and b is not None and a.weight == b.weight:
            continue
        gone = dropped.get(key) if b is None else None
        r = b or gone or a  # a route pilot now drops is named where it now is
        assert r is not None
        out.append(
            Change(
                ROUTE,
                subset=r.subset or None,
                port=r.port,
                name=route_label(r),
                old=a.weight if a else None,
                new=b.weight if b else None,
                why=gone.dropped if gone is not None else "",
            )
        )
    for name in sorted(set(old.subsets) | set(new.subsets)):
        before, after = old.subsets.get(name), new.subsets.get(name)
        routed_both = name in old.subsets and name in new.subsets
        if routed_both and (before is None) != (after is None):
            # Routed to on both sides, defined on one: requests to it now fail with 503 (the
            # findings say so too), or now reach it.
            out.append(
                Change(
                    SUBSET,
                    subset=name,
                    old="defined" if before is not None else None,
                    new="defined" if after is not None else None,
                )
            )
            continue
        if before is None and after is None:
            continue  # routed to, never defined: the findings say it
        if not routed_both:
            # Newly routed to (or no longer): the policy its requests now get (or got).
            why = "now routed to" if name in new.subsets else "no longer routed to"
            for c in _field_changes(before or {}, after or {}, name):
                out.append(replace(c, why=f"subset {name} is {why}"))
            continue
        out += _field_changes(before, after, name)  # type: ignore[arg-type]
        was, now = old.subset_workloads.get(name), new.subset_workloads.get(name)
        if was is not None and now is not None and was != now:
            out.append(Change(WORKLOADS, subset=name, old=list(was.names), new=list(now.names)))
    out += _field_changes(old.policy, new.policy, None)
    if old.workloads is not None and new.workloads is not None and old.workloads != new.workloads:
        out.append(Change(WORKLOADS, old=list(old.workloads.names), new=list(new.workloads.names)))
    return out


def _sortable(key: tuple[Any, ...]) -> tuple[Any, ...]:
    vs, kind, rule, subset, port = key
    rule = f"{rule:09d}" if isinstance(rule, int) else rule
    return (vs, kind, rule, subset or "", port or 0)


def _classes(old: HostAnalysis | None, new: HostAnalysis | None) -> list[tuple[str, ClientSet]]:
    """The client classes that can see the host differently: each namespace a view, route or
    subset names on either side, then every other namespace."""
    named: set[str] = set()
    for h in (old, new):
        if h is None:
            continue
        for v in h.views:
            named |= v.clients.names
        for r in h.routes:
            named |= r.clients.names
        for s in h.subsets:
            named |= s.clients.names
    named.discard(UNNAMED_NAMESPACE)
    classes = [(ns, ClientSet.of([ns])) for ns in sorted(named)]
    return [*classes, (UNNAMED_NAMESPACE, ClientSet(True, frozenset(named)))]


def _fingerprint(h: HostAnalysis) -> tuple[Any, ...]:
    """Everything `host_changes` reads of a host, cheap to build and compare: two hosts with
    equal fingerprints change nothing for any client (most hosts of a large mesh), so their
    per-class effective policies need not be worked out."""
    rules = tuple(
        (
            v.clients,
            tuple(r.meta.ref for r in v.rule.rules) if v.rule else None,
            v.rule.traffic_policy if v.rule else None,
            tuple((s.name, s.labels, s.traffic_policy) for s, _ in v.rule.subsets)
            if v.rule
            else (),
        )
        for v in h.views
    )
    routes = tuple((_route_key(r), r.weight, r.clients) for r in h.routes)
    pods = (_names(h.workloads), tuple((s.name, _names(s.workloads)) for s in h.subsets))
    return (tuple(p.number for p in h.ports), rules, routes, pods, h.rule is not None)


def host_changes(old: HostAnalysis | None, new: HostAnalysis | None) -> list[HostChange]:
    """What changes for requests to one host, grouped by the clients it changes the same for
    (nothing where neither side analyses it: an edit may reach a host that is analysed on
    neither side, as a wildcard it narrows)."""
    if old is None and new is None:
        return []
    host = (new or old).host  # type: ignore[union-attr]
    dropped = {_route_key(r): r for r in (new.dropped_routes if new else ())}
    groups: list[tuple[list[Change], ClientSet]] = []
    for namespace, clients in _classes(old, new):
        changes = _compare(_side(old, namespace), _side(new, namespace), dropped)
        if not changes:
            continue
        for i, (seen, who) in enumerate(groups):
            if seen == changes:
                groups[i] = (seen, who | clients)
                break
        else:
            groups.append((changes, clients))
    return [HostChange(host, clients, tuple(changes)) for changes, clients in groups]


# -- findings ------------------------------------------------------------------------------------


def finding_key(f: Finding) -> tuple[Any, ...]:
    """What makes two findings the same across two readings of a mesh: not where the YAML
    sits (file and line move with any edit, a field's index with an edit above it), but what
    is wrong, where in the mesh."""
    return (f.code, f.severity, f.host, f.subset, f.resource, f.message)


def _narrower(new: Finding, old: list[Finding]) -> bool:
    """Whether `new` concerns no client that one of `old` (same key) did not: a finding
    that now reaches fewer clients is not one the change introduces."""
    for f in old:
        if f.clients is None or (new.clients is not None and not (new.clients - f.clients)):
            return True
    return False


def _finding_difference(
    old: Iterable[Finding], new: Iterable[Finding]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    old_by: dict[tuple[Any, ...], list[Finding]] = {}
    new_by: dict[tuple[Any, ...], list[Finding]] = {}
    for f in old:
        old_by.setdefault(finding_key(f), []).append(f)
    for f in new:
        new_by.setdefault(finding_key(f), []).append(f)
    added = tuple(
        f for key, fs in new_by.items() for f in fs if not _narrower(f, old_by.get(key, []))
    )
    # Resolved: gone for every client (one that reaches fewer clients is still there).
    resolved = tuple(f for key, fs in old_by.items() if key not in new_by for f in fs)
    return added, resolved


# -- resources that changed to no effect ----------------------------------------------------------


def content(resource: Resource) -> Any:
    """What a resource says, without where it was read or when it was made: a YAML rewrite
    (flow or block style, key order, another file, apiVersion v1beta1 for v1) is the same."""
    raw = resource.meta.raw
    if raw is None:
        return resource
    meta = raw.get("metadata") or {}
    body = {k: v for k, v in raw.items() if k not in ("metadata", "status", "apiVersion")}
    return (body, meta.get("labels") or {})


def changed_resources(
    old: MeshIndex, new: MeshIndex
) -> list[tuple[Resource | None, Resource | None]]:
    """Every resource added, removed or edited (old, new; None where it is missing)."""
    olds = {r.meta.ref: r for r in old.resources()}
    news = {r.meta.ref: r for r in new.resources()}
    out = []
    for ref in sorted(set(olds) | set(news), key=str):
        a, b = olds.get(ref), news.get(ref)
        if a is None or b is None or content(a) != content(b):
            out.append((a, b))
    return out


def _touched_hosts(mesh: MeshIndex, resource: Resource) -> set[str]:
    if isinstance(resource, DestinationRule):
        return {resolve_host(resource.host, resource.meta.ref.namespace, mesh.config.domain)}
    if isinstance(resource, VirtualService):
        hosts = set(mesh.routes.hosts_of(resource))
        hosts |= {r.host for r in mesh.routes.refs_of(resource.meta.ref)}
        return hosts
    return set()


def _covered(host: str, changed: set[str]) -> bool:
    if is_wildcard(host):
        return any(host_matches(h, host) for h in changed)
    return host in changed


def _policy_of(rule: DestinationRule | None) -> Mapping[str, Any]:
    return (rule.traffic_policy if rule else None) or {}


def _dr_why(
    old: DestinationRule | None, new: DestinationRule | None, h: HostAnalysis | None
) -> str:
    """The Istio rule that makes an edit of a DestinationRule change nothing in force."""
    rule = new or old
    assert rule is not None
    if h is None:
        return ""
    if new is not None and not any(
        v.rule is not None and any(r.meta.ref == new.meta.ref for r in v.rule.rules)
        for v in h.views
    ):
        used = sorted({r.meta.ref.namespaced_name for v in h.views if v.rule for r in v.rule.rules})
        instead = f": they apply {', '.join(used)}" if used else ""
        return f"no client applies it to {h.host}{instead}"
    reasons: list[str] = []
    before, after = _policy_of(old), _policy_of(new)
    ports = sorted({p.number for p in h.ports})
    for name in PORT_LEVEL_FIELDS:
        if before.get(name) == after.get(name) or not ports:
            continue
        if all(port_settings(after or before, p) is not None for p in ports):
            which = ", ".join(str(p) for p in ports)
            s = "s" if len(ports) > 1 else ""
            reasons.append(
                f"port{s} {which}'s own portLevelSettings replace the host-level {name} "
                f"(a port-level entry replaces the four port-level fields whole)"
            )
    old_subsets = {s.name: s for s in (old.subsets if old else ())}
    new_subsets = {s.name: s for s in (new.subsets if new else ())}
    for name in sorted(set(old_subsets) | set(new_subsets)):
        a, b = old_subsets.get(name), new_subsets.get(name)
        if (
            a is not None
            and b is not None
            and (a.labels, a.traffic_policy)
            == (
                b.labels,
                b.traffic_policy,
            )
        ):
            continue  # the same subset (perhaps moved in the list)
        shown = h.subset(name)
        if shown is not None and shown.routes:
            continue
        verb = "is added" if a is None else "is removed" if b is None else "changes"
        reasons.append(
            f"subset {name} {verb}, but no route sends any client's requests to it (a subset's "
            "policy applies only to traffic routed to the subset)"
        )
    return "; ".join(reasons)


def _vs_why(new: VirtualService | None, h: Iterable[HostAnalysis]) -> str:
    """The routing table's reason why the edited VirtualService's routes carry nothing."""
    if new is None:
        return ""
    ref = new.meta.ref
    live = [r for a in h for r in a.routes if r.virtual_service == ref]
    dropped = [r for a in h for r in a.dropped_routes if r.virtual_service == ref]
    if dropped and not live:
        return f"no client uses it: {dropped[0].dropped}"
    return ""


def _changes_alone(
    mesh: Mesh, before: Resource | None, after: Resource | None, now: Analysis
) -> bool:
    """Whether the edit of one resource, alone, changes anything for a client: the new mesh
    with that resource as it was is analysed again where the index says the edit reaches
    (the analysis decides; this only compares), then the resource is put back.

    The index's own add and remove are called: a source's layering (files over a cluster)
    must not turn the trial into a no-op."""
    ref = (after or before).meta.ref  # type: ignore[union-attr]
    reached = Mesh.add(mesh, before) if before is not None else Mesh.remove(mesh, ref)
    try:
        for host in sorted(reached):
            if host_changes(mesh.analyze_host(host), now.hosts.get(host)):
                return True
        return False
    finally:
        if after is not None:
            Mesh.add(mesh, after)
        else:
            Mesh.remove(mesh, ref)


def _ineffective(
    old_mesh: Mesh,
    new_mesh: Mesh,
    old: Analysis,
    new: Analysis,
    changes: list[HostChange],
) -> list[Ineffective]:
    changed_hosts = {c.host for c in changes}
    out = []
    for a, b in changed_resources(old_mesh, new_mesh):
        resource = b or a
        assert resource is not None
        if not isinstance(resource, DestinationRule | VirtualService):
            continue
        hosts = set()
        for mesh, r in ((old_mesh, a), (new_mesh, b)):
            if r is not None:
                hosts |= _touched_hosts(mesh, r)
        # Where its hosts changed, other edits may be the cause: try this one alone.
        if any(_covered(h, changed_hosts) for h in hosts) and _changes_alone(new_mesh, a, b, new):
            continue
        why = ""
        host = ""
        if isinstance(resource, DestinationRule):
            for host in sorted(hosts):
                why = _dr_why(a, b, new.hosts.get(host) or old.hosts.get(host))  # type: ignore[arg-type]
                if why:
                    break
        else:
            analyses = [new.hosts[h] for h in sorted(hosts) if h in new.hosts]
            why = _vs_why(b, analyses)  # type: ignore[arg-type]
            host = next(iter(sorted(hosts)), "")
        if why:
            out.append(Ineffective(resource.meta.ref, host, why))
    return out


# -- the whole ---------------------------------------------------------------------------------


def diff(old_mesh: Mesh, old: Analysis, new_mesh: Mesh, new: Analysis) -> MeshDiff:
    """What changes from `old` to `new` for traffic, for whom; `*_mesh` hold the resources
    the analyses were made from (to name the edits that change nothing; `new_mesh` is
    tried with single edits undone, and left as it was)."""
    changes: list[HostChange] = []
    for host in sorted(set(old.hosts) | set(new.hosts)):
        before, after = old.hosts.get(host), new.hosts.get(host)
        if before is not None and after is not None and _fingerprint(before) == _fingerprint(after):
            continue
        changes += host_changes(before, after)
    added, resolved = _finding_difference(old.findings, new.findings)
    return MeshDiff(
        tuple(changes),
        tuple(_ineffective(old_mesh, new_mesh, old, new, changes)),
        added,
        resolved,
    )
