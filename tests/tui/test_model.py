"""Grouping, sorting, filtering and finding navigation of the view model (no Textual)."""

from __future__ import annotations

from meshtui.mesh.findings import Code
from meshtui.sources.files import FileSource
from meshtui.tui.model import Kind, MeshView, NodeRef, Sort, ViewOptions, match_host
from tests.tui.helpers import BOOKINFO, DORMANT, HOSTILE

REVIEWS = "reviews.bookinfo.svc.cluster.local"


def view_of(*paths: str) -> MeshView:
    return MeshView([mesh.analyze() for mesh in FileSource(paths).load()])


def hosts(view: MeshView, options: ViewOptions) -> list[str]:
    groups = view.groups(options)
    return [e.host.split(".")[0] for c in groups for n in c.namespaces for e in n.hosts]


def test_hosts_with_findings_sort_first_then_by_name():
    view = view_of(BOOKINFO)
    assert hosts(view, ViewOptions()) == ["reviews", "details", "productpage", "ratings"]
    assert hosts(view, ViewOptions(sort=Sort.NAME)) == [
        "details",
        "productpage",
        "ratings",
        "reviews",
    ]


def test_namespaces_with_findings_sort_first():
    view = view_of(BOOKINFO, DORMANT)
    names = [n.name for n in view.groups(ViewOptions())[0].namespaces]
    assert names == ["bookinfo", "shop"]
    view = view_of(DORMANT, BOOKINFO)
    assert [n.name for n in view.groups(ViewOptions(findings_only=True))[0].namespaces] == [
        "bookinfo",
        "shop",
    ]


def test_findings_only_keeps_hosts_with_findings():
    assert hosts(view_of(BOOKINFO), ViewOptions(findings_only=True)) == ["reviews"]


def test_filter_matches_hosts_subsets_labels_and_workloads_case_insensitively():
    view = view_of(BOOKINFO)
    assert hosts(view, ViewOptions(query="RATINGS")) == ["ratings"]
    assert hosts(view, ViewOptions(query="version=v3")) == ["reviews"]
    assert hosts(view, ViewOptions(query="productpage-v1")) == ["productpage"]
    assert hosts(view, ViewOptions(query="no-such-thing")) == []


def test_a_match_says_which_subsets_and_workloads_hold_the_text():
    view = view_of(BOOKINFO)
    entry = view.entry(NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS))
    match = match_host(entry, "v3")
    assert match is not None and not match.host
    assert match.subsets == frozenset({"v3"})
    assert {w.name for w in match.workloads} == {"reviews-v3"}
    assert match_host(entry, "reviews").host


def test_subset_findings_sit_on_the_subset_node_and_undefined_ones_on_their_own():
    view = view_of(HOSTILE)
    [entry] = view.entries[0]
    base = entry.ref
    on_host = view.findings_on(base)
    on_v2 = view.findings_on(NodeRef(Kind.SUBSET, 0, base.namespace, base.host, "v2[/]"))
    ghost = NodeRef(Kind.UNDEFINED, 0, base.namespace, base.host, "ghost\x1b[5m")
    assert on_host == []
    assert {f.code for f in on_v2} == {
        Code.SUBSET_POLICY_NEVER_APPLIED,
        Code.SUBSET_SELECTS_NOTHING,
    }
    assert [f.code for f in view.findings_on(ghost)] == [Code.UNDEFINED_SUBSET]


def test_next_finding_follows_the_tree_and_wraps_both_ways():
    view = view_of(BOOKINFO, DORMANT)
    layout = view.layout(ViewOptions())
    targets = [(t.kind, t.host.split(".")[0], t.subset) for t in layout.targets]
    assert targets == [(Kind.SUBSET, "reviews", "v3"), (Kind.SUBSET, "checkout", "v2")]
    first, second = layout.targets
    assert layout.next_target(None) == first
    assert layout.next_target(NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS)) == first
    assert layout.next_target(first) == second
    assert layout.next_target(second) == first
    assert layout.next_target(first, backwards=True) == second
    assert layout.next_target(NodeRef(Kind.NAMESPACE, 0, "shop"), backwards=True) == first


def test_layouts_are_kept_per_options():
    view = view_of(BOOKINFO)
    assert view.layout(ViewOptions()) is view.layout(ViewOptions())
    assert view.layout(ViewOptions(query="x")) is not view.layout(ViewOptions())
