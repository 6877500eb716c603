"""Which DestinationRule applies to a host, and how several are merged (pilot/pkg/model).

Lookup for a client in namespace C calling a host of namespace S: C's own DRs, else the DRs
of S exported to C, else the root namespace's exported to C (PushContext.destinationRule).
Merge: per namespace and host, in creationTimestamp then name order (mergeDestinationRule).
"""

from __future__ import annotations

import pytest

from meshtui.mesh.destination_rules import DestinationRuleIndex, consolidate
from meshtui.mesh.hosts import MeshConfig
from tests.helpers import (
    ISTIO_API_VERSIONS,
    analyze,
    build_mesh,
    dr,
    host,
    parse,
    service,
    subset,
    svc_host,
)

REVIEWS = svc_host("reviews", "bookinfo")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}
ROUND_ROBIN = {"loadBalancer": {"simple": "ROUND_ROBIN"}}
MUTUAL = {"tls": {"mode": "ISTIO_MUTUAL"}}


def index(*objs, config: MeshConfig | None = None) -> DestinationRuleIndex:
    idx = DestinationRuleIndex(config or MeshConfig())
    for o in objs:
        idx.add(parse(o))
    return idx


def names(rule) -> list[str]:
    return [] if rule is None else [r.meta.ref.namespaced_name for r in rule.rules]


def subset_names(rule) -> list[str]:
    return [s.name for s, _ in rule.subsets]


def service_view(*objs, host_name: str = REVIEWS):
    """The DRs applying to `host_name` as meshtui shows it (from the service's namespace)."""
    return host(analyze(service("reviews", namespace="bookinfo"), *objs), host_name)


# -- most specific host --------------------------------------------------------------------


def test_exact_dr_host_beats_wildcard():
    idx = index(
        dr("wild", "*.bookinfo.svc.cluster.local", namespace="bookinfo"),
        dr("exact", "reviews", namespace="bookinfo"),
        dr("star", "*", namespace="bookinfo"),
    )
    assert names(idx.lookup(REVIEWS, "bookinfo", "bookinfo")) == ["bookinfo/exact"]


def test_longer_wildcard_beats_shorter():
    idx = index(
        dr("local", "*.cluster.local", namespace="bookinfo"),
        dr("ns", "*.bookinfo.svc.cluster.local", namespace="bookinfo"),
        dr("star", "*", namespace="bookinfo"),
    )
    assert names(idx.lookup(REVIEWS, "bookinfo", "bookinfo")) == ["bookinfo/ns"]


def test_wildcard_dr_applies_to_every_host_it_covers():
    analysis = analyze(
        service("reviews", namespace="bookinfo"),
        service("ratings", namespace="bookinfo"),
        dr("mtls", "*.bookinfo.svc.cluster.local", namespace="bookinfo", policy=MUTUAL),
    )
    for name in ("reviews", "ratings"):
        assert host(analysis, svc_host(name, "bookinfo")).policy.as_dict() == MUTUAL


# -- which namespace's DR ------------------------------------------------------------------


def test_client_namespace_dr_wins_over_service_namespace():
    idx = index(
        dr("svc-side", REVIEWS, namespace="bookinfo", subsets=[subset("v1")]),
        dr("client-side", REVIEWS, namespace="frontend", subsets=[subset("v2")]),
    )
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["frontend/client-side"]
    assert names(idx.lookup(REVIEWS, "bookinfo", "bookinfo")) == ["bookinfo/svc-side"]


def test_service_view_notes_drs_other_namespaces_see():
    reviews = service_view(
        dr("svc-side", "reviews", namespace="bookinfo"),
        dr("client-side", REVIEWS, namespace="frontend"),
    )
    assert [r.meta.ref.namespaced_name for r in reviews.destination_rules] == ["bookinfo/svc-side"]
    assert [r.meta.ref.namespaced_name for r in reviews.other_rules] == ["frontend/client-side"]


def test_service_namespace_dr_wins_over_root_namespace():
    idx = index(
        dr("mesh-wide", "*.cluster.local", namespace="istio-system", policy=MUTUAL),
        dr("reviews", "reviews", namespace="bookinfo"),
    )
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/reviews"]


def test_root_namespace_dr_applies_when_service_namespace_has_none():
    reviews = service_view(
        dr("mesh-wide", "*.cluster.local", namespace="istio-system", policy=MUTUAL)
    )
    assert [r.meta.ref.namespaced_name for r in reviews.destination_rules] == [
        "istio-system/mesh-wide"
    ]
    assert reviews.policy.as_dict() == MUTUAL


def test_root_namespace_follows_mesh_config():
    objs = [
        service("reviews", namespace="bookinfo"),
        dr("mesh-wide", "*.cluster.local", namespace="mesh-root", policy=MUTUAL),
    ]
    assert host(analyze(*objs), REVIEWS).rule is None
    custom = analyze(*objs, config=MeshConfig(root_namespace="mesh-root"))
    assert host(custom, REVIEWS).policy.as_dict() == MUTUAL


def test_dr_of_an_unrelated_namespace_does_not_apply():
    reviews = service_view(dr("elsewhere", REVIEWS, namespace="payments", subsets=[subset("v1")]))
    assert reviews.rule is None
    assert [r.meta.ref.name for r in reviews.other_rules] == ["elsewhere"]


# -- exportTo ------------------------------------------------------------------------------


def test_dr_without_export_to_is_seen_from_every_namespace():
    idx = index(dr("reviews", "reviews", namespace="bookinfo"))
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/reviews"]


def test_dr_exported_dot_is_not_seen_from_other_namespace():
    idx = index(dr("reviews", "reviews", namespace="bookinfo", export_to=["."]))
    assert idx.lookup(REVIEWS, "frontend", "bookinfo") is None
    assert names(idx.lookup(REVIEWS, "bookinfo", "bookinfo")) == ["bookinfo/reviews"]


def test_dr_exported_to_a_named_namespace_is_seen_only_there():
    idx = index(dr("reviews", "reviews", namespace="bookinfo", export_to=["frontend", "."]))
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/reviews"]
    assert idx.lookup(REVIEWS, "payments", "bookinfo") is None


def test_dr_exported_only_to_other_namespace_does_not_apply_in_its_own_namespace():
    # pilot keeps a DR in its namespace's local index only when exportTo is empty, `*`, `.`
    # or names that namespace; `exportTo: [frontend]` is for frontend's clients alone.
    idx = index(dr("reviews", "reviews", namespace="bookinfo", export_to=["frontend"]))
    assert idx.lookup(REVIEWS, "bookinfo", "bookinfo") is None
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/reviews"]
    assert (
        service_view(dr("reviews", "reviews", namespace="bookinfo", export_to=["frontend"])).rule
        is None
    )


def test_exported_wildcard_dr_applies_when_the_exact_dr_is_private():
    # The most specific host is chosen among the DRs exported to the client, so a private
    # exact DR does not hide an exported wildcard one (pilot's exportedByNamespace index).
    idx = index(
        dr("private", "reviews", namespace="bookinfo", export_to=["."], subsets=[subset("v1")]),
        dr("wild", "*.bookinfo.svc.cluster.local", namespace="bookinfo", subsets=[subset("v2")]),
    )
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/wild"]
    assert names(idx.lookup(REVIEWS, "bookinfo", "bookinfo")) == ["bookinfo/private"]


def test_private_root_dr_is_not_seen_from_other_namespaces():
    idx = index(dr("root-private", "*", namespace="istio-system", export_to=["."]))
    assert idx.lookup(REVIEWS, "bookinfo", "bookinfo") is None


# -- merging -------------------------------------------------------------------------------


def test_merged_drs_concatenate_subsets_in_creation_then_name_order():
    reviews = service_view(
        dr(
            "a",
            "reviews",
            namespace="bookinfo",
            created="2024-03-01T00:00:00Z",
            subsets=[subset("v3")],
        ),
        dr(
            "b",
            "reviews",
            namespace="bookinfo",
            created="2024-01-01T00:00:00Z",
            subsets=[subset("v1")],
        ),
        dr(
            "c",
            "reviews",
            namespace="bookinfo",
            created="2024-01-01T00:00:00Z",
            subsets=[subset("v2")],
        ),
    )
    assert [r.meta.ref.name for r in reviews.destination_rules] == ["b", "c", "a"]
    assert [s.name for s in reviews.subsets] == ["v1", "v2", "v3"]
    assert [s.destination_rule.meta.ref.name for s in reviews.subsets] == ["b", "c", "a"]


def test_without_creation_timestamps_drs_merge_in_name_order():
    reviews = service_view(
        dr("zeta", "reviews", namespace="bookinfo", subsets=[subset("v2")]),
        dr("alpha", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
    )
    assert [r.meta.ref.name for r in reviews.destination_rules] == ["alpha", "zeta"]
    assert [s.name for s in reviews.subsets] == ["v1", "v2"]


def test_later_subset_with_a_name_already_present_is_ignored():
    reviews = service_view(
        dr("a", "reviews", namespace="bookinfo", subsets=[subset("v1", {"track": "stable"})]),
        dr("b", "reviews", namespace="bookinfo", subsets=[subset("v1", {"track": "canary"})]),
    )
    assert [(s.name, dict(s.labels)) for s in reviews.subsets] == [("v1", {"track": "stable"})]
    assert reviews.rule.duplicates[0].ignored.name == "b"


def test_first_top_level_policy_wins_when_merging():
    reviews = service_view(
        dr("a", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        dr("b", "reviews", namespace="bookinfo", policy=RANDOM),
        dr("c", "reviews", namespace="bookinfo", policy=ROUND_ROBIN),
    )
    assert reviews.policy.as_dict() == RANDOM
    assert reviews.rule.policy_rule.meta.ref.name == "b"


def test_drs_with_equal_export_to_are_merged():
    entries = consolidate(
        [
            parse(
                dr("a", "reviews", namespace="bookinfo", export_to=["."], subsets=[subset("v1")])
            ),
            parse(
                dr("b", "reviews", namespace="bookinfo", export_to=["."], subsets=[subset("v2")])
            ),
        ]
    )
    assert len(entries) == 1
    assert subset_names(entries[0]) == ["v1", "v2"]


def test_drs_with_different_export_to_are_not_merged():
    objs = [
        dr(
            "a",
            "reviews",
            namespace="bookinfo",
            export_to=["."],
            subsets=[subset("v1")],
            policy=RANDOM,
        ),
        dr("b", "reviews", namespace="bookinfo", export_to=["*"], subsets=[subset("v2")]),
    ]
    entries = consolidate([parse(o) for o in objs])
    assert [[r.meta.ref.name for r in e.rules] for e in entries] == [["a"], ["b"]]
    # A client uses the last catch-all entry (SidecarScope.DestinationRule): b alone.
    reviews = service_view(*objs)
    assert [r.meta.ref.name for r in reviews.destination_rules] == ["b"]
    assert [s.name for s in reviews.subsets] == ["v2"]
    assert reviews.policy.as_dict() == {}
    # From another namespace only the exported one exists.
    idx = index(*objs)
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/b"]


def test_dr_without_export_to_and_dr_exported_to_star_are_kept_apart():
    # pilot compares exportTo as written: an empty set is not equal to {"*"}.
    entries = consolidate(
        [
            parse(dr("a", "reviews", namespace="bookinfo", subsets=[subset("v1")])),
            parse(
                dr("b", "reviews", namespace="bookinfo", export_to=["*"], subsets=[subset("v2")])
            ),
        ]
    )
    assert [[r.meta.ref.name for r in e.rules] for e in entries] == [["a"], ["b"]]


@pytest.mark.parametrize(("catch_all", "selected"), [("a-all", "b-sel"), ("b-all", "a-sel")])
def test_workload_selector_dr_not_merged_with_catch_all(catch_all, selected):
    reviews = service_view(
        dr(catch_all, "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        dr(
            selected,
            "reviews",
            namespace="bookinfo",
            selector={"app": "productpage"},
            policy=MUTUAL,
            subsets=[subset("v2")],
        ),
    )
    # Clients without the selected labels see the catch-all rule only.
    assert [r.meta.ref.name for r in reviews.destination_rules] == [catch_all]
    assert [s.name for s in reviews.subsets] == ["v1"]
    assert reviews.policy.as_dict() == {}


def test_drs_with_the_same_workload_selector_are_merged():
    entries = consolidate(
        [
            parse(dr("a", "reviews", selector={"app": "x"}, subsets=[subset("v1")])),
            parse(dr("b", "reviews", selector={"app": "x"}, subsets=[subset("v2")])),
        ]
    )
    assert len(entries) == 1
    assert subset_names(entries[0]) == ["v1", "v2"]


def test_drs_with_different_workload_selectors_are_not_merged():
    entries = consolidate(
        [
            parse(dr("a", "reviews", selector={"app": "x"}, subsets=[subset("v1")])),
            parse(dr("b", "reviews", selector={"app": "y"}, subsets=[subset("v2")])),
        ]
    )
    assert [subset_names(e) for e in entries] == [["v1"], ["v2"]]


def test_workload_selector_dr_is_not_exported():
    idx = index(dr("sel", "reviews", namespace="bookinfo", selector={"app": "x"}))
    assert idx.lookup(REVIEWS, "frontend", "bookinfo") is None


def test_drs_for_different_hosts_are_not_merged():
    mesh = build_mesh(
        service("reviews", namespace="bookinfo"),
        service("ratings", namespace="bookinfo"),
        dr("reviews", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        dr("ratings", "ratings", namespace="bookinfo", subsets=[subset("v2")]),
    )
    analysis = mesh.analyze()
    assert [s.name for s in host(analysis, REVIEWS).subsets] == ["v1"]
    assert [s.name for s in host(analysis, svc_host("ratings", "bookinfo")).subsets] == ["v2"]


def test_short_and_fqdn_hosts_of_one_service_merge():
    reviews = service_view(
        dr("a", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        dr("b", REVIEWS, namespace="bookinfo", subsets=[subset("v2")]),
    )
    assert [s.name for s in reviews.subsets] == ["v1", "v2"]


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS)
def test_drs_of_any_api_version_merge(api_version):
    reviews = service_view(
        dr("a", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        dr("b", "reviews", namespace="bookinfo", api_version=api_version, subsets=[subset("v2")]),
    )
    assert [s.name for s in reviews.subsets] == ["v1", "v2"]


def test_client_in_root_namespace_sees_service_namespace_dr_before_exported_root_dr():
    # PushContext.destinationRule: for a proxy in the root namespace (an ingress gateway in
    # istio-system) only the root namespace's private DRs come first; its exported ones are
    # the last resort, after the service namespace's.
    idx = index(
        dr("root", REVIEWS, namespace="istio-system", subsets=[subset("v9")]),
        dr("reviews", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
    )
    assert names(idx.lookup(REVIEWS, "istio-system", "bookinfo")) == ["bookinfo/reviews"]
    assert names(idx.lookup(REVIEWS, "frontend", "bookinfo")) == ["bookinfo/reviews"]


def test_client_in_root_namespace_uses_a_private_root_dr_first():
    idx = index(
        dr("root", REVIEWS, namespace="istio-system", export_to=["."]),
        dr("reviews", "reviews", namespace="bookinfo"),
    )
    assert names(idx.lookup(REVIEWS, "istio-system", "bookinfo")) == ["istio-system/root"]
