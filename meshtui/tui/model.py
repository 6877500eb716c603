"""What the inspector shows, indexed once per analysis: plain classes, no Textual.

The tree, the filter, the finding navigation (n/N) and the header all read a :class:`MeshView`
built from the core's immutable :class:`~meshtui.mesh.analysis.Analysis` snapshots. Nothing
here decides Istio semantics: it groups, orders and searches what the core computed.
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from meshtui.mesh.analysis import Analysis, HostAnalysis, SubsetAnalysis
from meshtui.mesh.diff import HostChange
from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import ObjectRef, Workload
from meshtui.mesh.routes import RouteRef

if TYPE_CHECKING:
    from rich.text import Text

    from meshtui.tui.fixes import FixPanel

NO_NAMESPACE = "(no namespace)"
_DIGITS = re.compile(r"(\d+)")
LAYOUTS_KEPT = 4


class Kind(StrEnum):
    """What a node of the tree stands for."""

    CLUSTER = "cluster"
    INPUT = "input"  # the findings of loading (files that could not be read)
    LOAD_FINDING = "load-finding"
    NAMESPACE = "namespace"
    HOST = "host"
    DEFAULT = "default"  # traffic to the host without a subset
    SUBSET = "subset"
    UNDEFINED = "undefined"  # a subset that routes name but no DestinationRule defines
    WORKLOAD = "workload"


class Sort(StrEnum):
    FINDINGS = "findings first"
    NAME = "alphabetical"


@frozen
class NodeRef:
    """The identity of a tree node: stable across reloads, so cursor and expansion survive."""

    kind: Kind
    cluster: int = 0
    namespace: str = ""
    host: str = ""
    subset: str = ""
    workload: ObjectRef | None = None
    finding: int = -1  # index into the cluster's load findings


@dataclass(slots=True)
class HostEntry:
    """One host of one cluster, with what sorting and searching need precomputed."""

    analysis: HostAnalysis
    cluster: int
    namespace: str
    rank: int  # the worst finding's severity rank, 0 without findings
    label: Text | None = None  # the tree label, cached by the widget
    changes: tuple[HostChange, ...] = ()  # `meshtui diff`: what the change does to it
    preview: bool = False  # of part of the input: what it lacks may still be read
    _blob: str | None = None
    _key: tuple[tuple[str | int, ...], str] | None = None

    @property
    def name_key(self) -> tuple[tuple[str | int, ...], str]:
        """The host's natural sort key, computed once."""
        if self._key is None:
            self._key = (natural_key(self.host), self.host)
        return self._key

    @property
    def host(self) -> str:
        return self.analysis.host

    @property
    def ref(self) -> NodeRef:
        return NodeRef(Kind.HOST, self.cluster, self.namespace, self.host)

    def blob(self) -> str:
        """Lower-case text the filter searches: host, subsets, labels, workloads and the
        routes to it (meshtui.tui.model._route_names)."""
        if self._blob is None:
            self._blob = "\n".join(_search_terms(self.analysis)).lower()
        return self._blob


def _labels(labels: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{k}={v}" for k, v in labels]


def _workload_terms(workloads: Sequence[Workload] | None) -> list[str]:
    out: list[str] = []
    for w in workloads or ():
        out.append(f"{w.meta.ref.kind} {w.meta.ref.namespaced_name}")
        out += _labels(w.labels.items())
    return out


def _all_routes(h: HostAnalysis) -> Iterator[RouteRef]:
    """Every route the tree shows under the host: carrying traffic or dropped, to the host
    itself or to one of its subsets."""
    yield from h.routes
    yield from h.dropped_routes
    for s in h.subsets:
        yield from s.dropped_routes


def _route_names(r: RouteRef) -> tuple[str, ...]:
    """What a person calls the resource a route is written in, `kind ns/name`: the
    VirtualService (and its root, for a delegate's rule), or the Gateway API route
    (`HTTPRoute ns/name`), never the VirtualService pilot generates from it."""
    if r.delegate is not None:
        return (str(r.written_in), str(r.virtual_service))
    return (str(r.written_in),)


def _search_terms(h: HostAnalysis) -> list[str]:
    terms = [h.host]
    terms += dict.fromkeys(name for r in _all_routes(h) for name in _route_names(r))
    if h.service is not None:
        terms.append(h.service.meta.ref.name)
    for s in h.subsets:
        terms.append(s.name)
        terms += _labels(s.labels.items())
    terms += h.undefined_subsets
    terms += _workload_terms(h.workloads)
    return terms


@frozen
class Match:
    """Why a host passed the filter: which of its subsets and workloads hold the text, and
    whether routes to it are written in a resource whose name holds it."""

    host: bool
    subsets: frozenset[str] = frozenset()
    workloads: frozenset[ObjectRef] = frozenset()
    routes: bool = False


def match_host(entry: HostEntry, query: str) -> Match | None:
    """Whether the host, one of its subsets, their labels, its workloads or the name of a
    VirtualService or Gateway API route routing to it contain `query`."""
    q = query.lower()
    if not q:
        return Match(host=True)
    if q not in entry.blob():
        return None
    h = entry.analysis
    name = h.service.meta.ref.name.lower() if h.service is not None else ""
    workloads = frozenset(
        w.meta.ref for w in h.workloads or () if any(q in t.lower() for t in _workload_terms([w]))
    )
    subsets = {
        s.name
        for s in h.subsets
        if q in s.name.lower()
        or any(q in t.lower() for t in _labels(s.labels.items()))
        or any(w.meta.ref in workloads for w in s.workloads or ())
    }
    subsets |= {u for u in h.undefined_subsets if q in u.lower()}
    routed = [r for r in _all_routes(h) if any(q in n.lower() for n in _route_names(r))]
    # The subsets those routes name open too: the rows that show the routes' weights.
    subsets |= {r.subset for r in routed if r.subset}
    host = q in h.host.lower() or q in name
    return Match(host, frozenset(subsets), workloads, routes=bool(routed))


@dataclass(slots=True)
class NamespaceGroup:
    name: str
    hosts: list[HostEntry]
    matches: dict[str, Match] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return max((h.rank for h in self.hosts), default=0)

    def counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for h in self.hosts:
            for f in h.analysis.findings:
                counts[f.severity] += 1
        return counts


@dataclass(slots=True)
class ClusterGroup:
    index: int
    name: str
    load_findings: list[Finding]
    namespaces: list[NamespaceGroup]

    @property
    def host_count(self) -> int:
        return sum(len(n.hosts) for n in self.namespaces)


@frozen
class ViewOptions:
    query: str = ""
    findings_only: bool = False
    changed_only: bool = False  # `meshtui diff`: only the hosts the change affects
    sort: Sort = Sort.FINDINGS
    namespace: str = ""  # `:ns NAME`: only this namespace's hosts


def natural_key(name: str) -> tuple[str | int, ...]:
    """Names in the order people count: `svc2` before `svc10` before `svc1000`.

    Text and numbers alternate in the key (re.split with a group), so two keys always compare
    text with text and number with number at the same position.
    """
    parts = _DIGITS.split(name.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _worst(findings: Iterable[Finding]) -> int:
    return max((f.severity.rank for f in findings), default=0)


class MeshView:
    """The analyses of one source, grouped by cluster and namespace for display.

    Built from the `previous` view of the same source (a live change, a saved file), it keeps
    the entries of hosts whose analysis is the same object, and lays out from the previous
    layouts when the changed hosts keep their places (see :meth:`layout`)."""

    def __init__(
        self,
        analyses: Sequence[Analysis],
        previous: MeshView | None = None,
        changes: Sequence[HostChange] = (),
        preview: str = "",
    ) -> None:
        self.analyses = list(analyses)
        # Of part of the input, while the rest is read ("120/498 files read"): hosts listed,
        # no verdicts, nothing said missing.
        self.preview = preview
        # `meshtui diff`: the changes per host (of the first cluster: a diff is of one mesh).
        self.changes: dict[str, tuple[HostChange, ...]] = {}
        for c in changes:
            self.changes[c.host] = (*self.changes.get(c.host, ()), c)
        self.entries: list[list[HostEntry]] = []
        self._by_host: list[dict[str, HostEntry]] = []
        if previous is not None and len(previous.analyses) != len(self.analyses):
            previous = None
        # Hosts whose entry is new, by cluster; None: no previous view to compare with.
        self._changed: list[list[HostEntry]] | None = [] if previous is not None else None
        for i, analysis in enumerate(self.analyses):
            before = previous._by_host[i] if previous is not None else {}
            entries = []
            changed = []
            for h in analysis.hosts.values():
                entry = before.get(h.host)
                if entry is None or entry.analysis is not h:
                    key = entry._key if entry is not None else None
                    entry = HostEntry(h, i, h.namespace or NO_NAMESPACE, _worst(h.findings))
                    entry.preview = bool(preview)
                    entry._key = key  # the name's sort key depends on the name alone
                    changed.append(entry)
                if i == 0 and entry.changes != self.changes.get(h.host, ()):
                    entry.changes = self.changes.get(h.host, ())
                    entry.label = None
                entries.append(entry)
            self.entries.append(entries)
            self._by_host.append({e.host: e for e in entries})
            if self._changed is not None:
                self._changed.append(changed)
        self._previous = previous
        if previous is not None:
            previous._previous = None  # keep one view back, not every view ever shown
        self.multi = len(self.analyses) > 1
        self._layouts: dict[ViewOptions, Layout] = {}
        self._counts: dict[Severity, int] | None = None
        self.fixes: FixPanel | None = None  # the verified fixes the detail pane shows

    def namespaces(self) -> list[str]:
        """Every namespace with a host, in natural order (what `:ns` completes)."""
        names = {e.namespace for entries in self.entries for e in entries}
        return sorted(names, key=natural_key)

    def input_namespaces(self) -> list[str]:
        """Every namespace the input names: of a host, a workload, a DestinationRule or a
        VirtualService (where a client may be; what `c` completes and checks against)."""
        names: set[str] = set()
        for a in self.analyses:
            for h in a.hosts.values():
                if h.namespace:
                    names.add(h.namespace)
                names.update(w.meta.ref.namespace for w in h.workloads or ())
                names.update(r.meta.ref.namespace for r in (*h.destination_rules, *h.other_rules))
                names.update(r.meta.ref.namespace for v in h.views if v.rule for r in v.rule.rules)
                names.update(r.virtual_service.namespace for r in h.routes)
        return sorted(names, key=natural_key)

    # -- counts for the header -----------------------------------------------------------

    @property
    def host_count(self) -> int:
        return sum(len(a.hosts) for a in self.analyses)

    @property
    def subset_count(self) -> int:
        return sum(a.subset_count for a in self.analyses)

    @property
    def workload_count(self) -> int:
        return sum(a.workload_count for a in self.analyses)

    def counts(self) -> dict[Severity, int]:
        if self._counts is None:
            total = dict.fromkeys(Severity, 0)
            for a in self.analyses:
                for severity, n in a.counts().items():
                    total[severity] += n
            self._counts = total
        return dict(self._counts)

    # -- lookups -------------------------------------------------------------------------

    def cluster_name(self, index: int) -> str:
        analysis = self.analyses[index]
        return analysis.cluster or analysis.overlay or f"cluster {index + 1}"

    def entry(self, ref: NodeRef) -> HostEntry | None:
        return self.entry_for(ref.cluster, ref.host)

    def entry_for(self, cluster: int, host: str) -> HostEntry | None:
        if not 0 <= cluster < len(self._by_host):
            return None
        return self._by_host[cluster].get(host)

    def host(self, ref: NodeRef) -> HostAnalysis | None:
        entry = self.entry(ref)
        return entry.analysis if entry else None

    def subset(self, ref: NodeRef) -> SubsetAnalysis | None:
        host = self.host(ref)
        return host.subset(ref.subset) if host else None

    def workload(self, ref: NodeRef) -> Workload | None:
        host = self.host(ref)
        if host is None:
            return None
        for w in host.workloads or ():
            if w.meta.ref == ref.workload:
                return w
        return None

    def load_finding(self, ref: NodeRef) -> Finding | None:
        if not 0 <= ref.cluster < len(self.analyses):
            return None
        findings = self.analyses[ref.cluster].load_findings
        return findings[ref.finding] if 0 <= ref.finding < len(findings) else None

    def findings_on(self, ref: NodeRef) -> list[Finding]:
        """The findings a node carries (a host carries only those not on a subset)."""
        if ref.kind is Kind.LOAD_FINDING:
            f = self.load_finding(ref)
            return [f] if f else []
        if ref.kind is Kind.INPUT:
            return list(self.analyses[ref.cluster].load_findings)
        host = self.host(ref)
        if host is None:
            return []
        if ref.kind is Kind.HOST:
            nodes = {s.name for s in host.subsets} | set(host.undefined_subsets)
            return [f for f in host.findings if not f.subset or f.subset not in nodes]
        if ref.kind is Kind.SUBSET:
            return [
                f
                for f in host.findings
                if f.subset == ref.subset and f.code is not Code.UNDEFINED_SUBSET
            ]
        if ref.kind is Kind.UNDEFINED:
            return [
                f
                for f in host.findings
                if f.subset == ref.subset and f.code is Code.UNDEFINED_SUBSET
            ]
        return []

    # -- what is shown -------------------------------------------------------------------

    def layout(self, options: ViewOptions) -> Layout:
        """The grouped, ordered view for these options (the last few are kept)."""
        layout = self._layouts.get(options)
        if layout is None:
            previous = self._previous
            before = previous._layouts.get(options) if previous is not None else None
            if previous is not None and before is not None:
                layout = self._relaid(previous, before, options)
            if layout is None:
                layout = Layout(self, self.groups(options))
            if len(self._layouts) >= LAYOUTS_KEPT:
                self._layouts.pop(next(iter(self._layouts)))
            self._layouts[options] = layout
        return layout

    def _relaid(self, previous: MeshView, before: Layout, options: ViewOptions) -> Layout | None:
        """The previous view's layout with this view's entries, when every changed host keeps
        its place: same hosts, same namespaces, same worst severity, same filter verdict.
        A save or a watch event usually changes a policy, not a host's place; the 10,000-host
        sort and index are then not redone. None when a place may have changed."""
        if self._changed is None:
            return None
        matches: dict[tuple[int, str], Match] = {}
        for i, changed in enumerate(self._changed):
            old = previous._by_host[i]
            if len(old) != len(self._by_host[i]):
                return None  # a host came or went
            for entry in changed:
                was = old.get(entry.host)
                if was is None or (was.namespace, was.rank) != (entry.namespace, entry.rank):
                    return None
                if options.query:
                    match = match_host(entry, options.query)
                    if (match is None) != (match_host(was, options.query) is None):
                        return None
                    if match is not None:
                        matches[(i, entry.host)] = match
        groups = []
        for cluster in before.groups:
            i = cluster.index
            load = self._load_findings(i, options)
            if load != cluster.load_findings or self.cluster_name(i) != cluster.name:
                return None
            entries = self._by_host[i]
            namespaces = []
            for ns in cluster.namespaces:
                found = ns.matches
                if matches:
                    found = dict(found)
                    for entry in ns.hosts:
                        found[entry.host] = matches.get((i, entry.host), found[entry.host])
                namespaces.append(
                    NamespaceGroup(ns.name, [entries[e.host] for e in ns.hosts], found)
                )
            groups.append(ClusterGroup(i, cluster.name, load, namespaces))
        return Layout(self, groups, like=before)

    def _load_findings(self, cluster: int, options: ViewOptions) -> list[Finding]:
        load = list(self.analyses[cluster].load_findings)
        if options.query:
            q = options.query.lower()
            load = [f for f in load if q in f.message.lower() or q in (f.file or "").lower()]
        return load

    def groups(self, options: ViewOptions) -> list[ClusterGroup]:
        """Clusters → namespaces → hosts that pass the filter, in display order."""
        out = []
        for i, entries in enumerate(self.entries):
            by_ns: dict[str, NamespaceGroup] = {}
            for entry in entries:
                if options.findings_only and not entry.rank:
                    continue
                if options.changed_only and not entry.changes:
                    continue
                if options.namespace and entry.namespace != options.namespace:
                    continue
                match = match_host(entry, options.query) if options.query else None
                if options.query and match is None:
                    continue
                group = by_ns.get(entry.namespace)
                if group is None:
                    group = by_ns[entry.namespace] = NamespaceGroup(entry.namespace, [])
                group.hosts.append(entry)
                if match is not None:
                    group.matches[entry.host] = match
            namespaces = list(by_ns.values())
            if options.sort is Sort.FINDINGS:
                for ns in namespaces:
                    ns.hosts.sort(key=lambda e: (-e.rank, e.name_key))
                namespaces.sort(
                    key=lambda n: (-n.rank, n.name == NO_NAMESPACE, natural_key(n.name))
                )
            else:
                for ns in namespaces:
                    ns.hosts.sort(key=lambda e: e.name_key)
                namespaces.sort(key=lambda n: (n.name == NO_NAMESPACE, natural_key(n.name)))
            out.append(
                ClusterGroup(i, self.cluster_name(i), self._load_findings(i, options), namespaces)
            )
        return out


def host_children(h: HostAnalysis, cluster: int, namespace: str) -> list[NodeRef]:
    """A host's children in display order: `(no subset)`, its subsets, undefined subsets."""
    base = NodeRef(Kind.DEFAULT, cluster, namespace, h.host)
    out = [base]
    out += [NodeRef(Kind.SUBSET, cluster, namespace, h.host, s.name) for s in h.subsets]
    out += [NodeRef(Kind.UNDEFINED, cluster, namespace, h.host, u) for u in h.undefined_subsets]
    return out


def node_workloads(view: MeshView, ref: NodeRef) -> tuple[Workload, ...] | None:
    """The workloads under a `(no subset)` or subset node (None: not known)."""
    host = view.host(ref)
    if host is None:
        return None
    if ref.kind is Kind.DEFAULT:
        return host.workloads
    if ref.kind is Kind.SUBSET:
        subset = host.subset(ref.subset)
        return subset.workloads if subset else None
    return None


def finding_targets(view: MeshView, groups: Sequence[ClusterGroup]) -> list[NodeRef]:
    """Every node that carries a finding, in the order the tree shows them."""
    out: list[NodeRef] = []
    for cluster in groups:
        for j, f in enumerate(view.analyses[cluster.index].load_findings):
            if f in cluster.load_findings:
                out.append(NodeRef(Kind.LOAD_FINDING, cluster.index, finding=j))
        for ns in cluster.namespaces:
            for entry in ns.hosts:
                if not entry.rank:
                    continue
                h = entry.analysis
                if view.findings_on(entry.ref):
                    out.append(entry.ref)
                for child in host_children(h, entry.cluster, entry.namespace)[1:]:
                    if view.findings_on(child):
                        out.append(child)
    return out


class Layout:
    """Where every node sits in display order, for n/N and for restoring the cursor."""

    def __init__(
        self, view: MeshView, groups: Sequence[ClusterGroup], like: Layout | None = None
    ) -> None:
        """`like`: a layout with the same places (MeshView._relaid), whose indexes are shared."""
        # The view keeps its layouts; a layout refers back weakly, so that a replaced view is
        # freed at once by reference counting, not left for the cyclic collector (a live
        # source replaces the view several times a second).
        self._view = weakref.ref(view)
        self.groups = list(groups)
        self._targets: list[NodeRef] | None = None
        self._target_keys: list[tuple[int, ...]] = []
        if like is not None:
            self._namespaces = like._namespaces
            self._hosts = like._hosts
            self.shape = like.shape
            return
        self._namespaces: dict[tuple[int, str], int] = {}
        self._hosts: dict[tuple[int, str], int] = {}
        shape = []
        for cluster in self.groups:
            namespaces = []
            for i, ns in enumerate(cluster.namespaces):
                self._namespaces[(cluster.index, ns.name)] = i
                hosts = []
                for j, entry in enumerate(ns.hosts):
                    self._hosts[(cluster.index, entry.host)] = j
                    hosts.append(entry.host)
                namespaces.append((ns.name, tuple(hosts)))
            shape.append((cluster.index, cluster.name, tuple(cluster.load_findings), *namespaces))
        # Clusters, their load findings, namespaces and hosts in display order: a new analysis
        # of the same shape can update the tree in place.
        self.shape = tuple(shape)

    @property
    def view(self) -> MeshView:
        """The view this layout belongs to (whoever holds a layout holds its view)."""
        view = self._view()
        if view is None:
            raise ReferenceError("a Layout outlived the MeshView that made it")
        return view

    @property
    def targets(self) -> list[NodeRef]:
        """The nodes with findings in display order (worked out on the first n/N)."""
        if self._targets is None:
            self._targets = finding_targets(self.view, self.groups)
            self._target_keys = [self.key(t) for t in self._targets]
        return self._targets

    def shows(self, ref: NodeRef) -> bool:
        """Whether the node is part of this layout (its host passed the filter)."""
        if ref.kind in (Kind.CLUSTER, Kind.INPUT, Kind.LOAD_FINDING):
            return 0 <= ref.cluster < len(self.view.analyses)
        if ref.kind is Kind.NAMESPACE:
            return (ref.cluster, ref.namespace) in self._namespaces
        return (ref.cluster, ref.host) in self._hosts

    def key(self, ref: NodeRef) -> tuple[int, ...]:
        c = ref.cluster
        if ref.kind is Kind.CLUSTER:
            return (c,)
        if ref.kind is Kind.INPUT:
            return (c, 0)
        if ref.kind is Kind.LOAD_FINDING:
            return (c, 0, ref.finding)
        ns = self._namespaces.get((c, ref.namespace), -1)
        if ref.kind is Kind.NAMESPACE:
            return (c, 1, ns)
        base = (c, 1, ns, self._hosts.get((c, ref.host), -1))
        if ref.kind is Kind.HOST:
            return base
        host = self.view.host(ref)
        if host is None:
            return base
        names = [s.name for s in host.subsets]
        if ref.kind is Kind.WORKLOAD:
            parent = names.index(ref.subset) + 1 if ref.subset in names else 0
            workloads = node_workloads(
                self.view,
                NodeRef(
                    Kind.SUBSET if ref.subset else Kind.DEFAULT,
                    c,
                    ref.namespace,
                    ref.host,
                    ref.subset,
                ),
            )
            refs = [w.meta.ref for w in workloads or ()]
            return (*base, parent, refs.index(ref.workload) if ref.workload in refs else 0)
        if ref.kind is Kind.SUBSET:
            return (*base, names.index(ref.subset) + 1 if ref.subset in names else 0)
        if ref.kind is Kind.UNDEFINED:
            undefined = list(host.undefined_subsets)
            index = undefined.index(ref.subset) if ref.subset in undefined else 0
            return (*base, len(names) + 1 + index)
        return (*base, 0)

    def next_target(self, ref: NodeRef | None, backwards: bool = False) -> NodeRef | None:
        """The next (or previous) node with a finding after `ref`, wrapping around."""
        if not self.targets:
            return None
        if ref is None:
            return self.targets[-1 if backwards else 0]
        key = self.key(ref)
        if backwards:
            i = bisect_left(self._target_keys, key) - 1
            return self.targets[i]  # -1 wraps to the last
        i = bisect_right(self._target_keys, key)
        return self.targets[i % len(self.targets)]
