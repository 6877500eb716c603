"""Grouping, sorting, filtering and finding navigation of the view model (no Textual)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.mesh.findings import Code
from meshtui.mesh.resources import Origin, parse_object
from meshtui.sources.files import FileSource
from meshtui.tui.model import Kind, MeshView, NodeRef, Sort, ViewOptions, match_host
from tests.hardening.meshgen import build_mesh, meshes
from tests.tui.helpers import BOOKINFO, DORMANT, hostile_as_stored

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
    view = MeshView([hostile_as_stored()])
    [entry] = view.entries[0]
    base = entry.ref
    on_host = view.findings_on(base)
    on_v2 = view.findings_on(NodeRef(Kind.SUBSET, 0, base.namespace, base.host, "v2[/]"))
    ghost = NodeRef(Kind.UNDEFINED, 0, base.namespace, base.host, "ghost\x1b[5m")
    # Only what Istio's webhook would now refuse (hosts and names that are no DNS names).
    assert {f.code for f in on_host} == {Code.INVALID_RESOURCE}
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


# -- a view built from the one before (a live change, a saved file) ---------------------------

OPTIONS = [
    ViewOptions(),
    ViewOptions(sort=Sort.NAME),
    ViewOptions(findings_only=True),
    ViewOptions(query="v1"),
    ViewOptions(query="alpha"),
    ViewOptions(namespace="nsq1"),
]


def places(view: MeshView, options: ViewOptions) -> list[object]:
    """What the tree shows for these options: clusters, namespaces, hosts, filter matches,
    each host with the analysis of this view."""
    layout = view.layout(options)
    out: list[object] = []
    for cluster in layout.groups:
        hosts = view.analyses[cluster.index].hosts
        for ns in cluster.namespaces:
            assert all(e.analysis is hosts[e.host] for e in ns.hosts)
            out.append((cluster.index, ns.name, [e.host for e in ns.hosts], ns.matches))
        out.append(tuple(cluster.load_findings))
    out.append([layout.key(ref) for ref in layout.targets])
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(meshes(), meshes(), st.data())
def test_a_view_built_from_the_last_one_shows_what_a_fresh_view_shows(first, second, data):
    mesh, _ = build_mesh(first)
    view = MeshView([mesh.analyze()])
    for options in OPTIONS:
        view.layout(options)
    for step in range(data.draw(st.integers(1, 4), "changes")):
        obj = data.draw(st.sampled_from([*first, *second]), "changed")
        if data.draw(st.booleans(), "remove"):
            mesh.remove(parse_object(obj, Origin(file="m.yaml", line=1)).meta.ref)
        else:
            mesh.add(parse_object(obj, Origin(file="m.yaml", line=100 + step)))
        analysis = mesh.analyze()
        view = MeshView([analysis], previous=view)
        fresh = MeshView([analysis])
        for options in data.draw(st.permutations(OPTIONS), "looked at"):
            assert places(view, options) == places(fresh, options)


def test_a_view_built_from_the_last_one_keeps_unchanged_hosts_and_their_places():
    mesh = FileSource([BOOKINFO]).load()[0]
    view = MeshView([mesh.analyze()])
    before = view.layout(ViewOptions())
    ratings = next(o for o in mesh.destination_rules if o.meta.ref.name == "ratings")
    changed = replace(ratings, traffic_policy={"loadBalancer": {"simple": "RANDOM"}})
    mesh.add(changed)
    after = MeshView([mesh.analyze()], previous=view)
    layout = after.layout(ViewOptions())
    assert layout.shape is before.shape  # the same places: the tree updates in place
    old = {e.host: e for e in view.entries[0]}
    new = {e.host: e for e in after.entries[0]}
    assert [h for h in new if new[h] is not old[h]] == ["ratings.bookinfo.svc.cluster.local"]
