"""Explicit routes to a subset: which VirtualService destinations send it traffic.

Istio docs ("Destination rules routing evaluation"): a subset's policy applies only to traffic
that a route sends to that subset. Route translation (pilot/pkg/networking/core): weight-0
destinations beside others are dropped from the weighted clusters; a lone destination gets
all traffic; mirrors send a copy to the subset's cluster unless their percentage is zero.
"""

from __future__ import annotations

import pytest

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import Destination, Origin, parse_object
from meshtui.mesh.routes import RouteIndex, effective_weights
from tests.helpers import (
    ISTIO_API_VERSIONS,
    analyze,
    dest,
    dr,
    parse,
    route,
    service,
    subset,
    subset_of,
    svc_host,
    vs,
)

REVIEWS = svc_host("reviews")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}


def reviews_mesh(*virtual_services, subsets=("v1", "v2")):
    """Service reviews with a DR whose every subset has its own policy, plus the given VSs."""
    return analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset(s, policy=RANDOM) for s in subsets]),
        *virtual_services,
    )


def weights(analysis, name):
    return [r.weight for r in subset_of(analysis, REVIEWS, name).routes]


def routed(analysis, name) -> bool:
    return subset_of(analysis, REVIEWS, name).routed


def ds(*ws):
    return tuple(Destination("h", "", None, w) for w in ws)


def test_weights_are_shares_of_the_route():
    assert effective_weights(ds(90, 10)) == [90, 10]
    assert effective_weights(ds(1, 1, 2)) == [25, 25, 50]


def test_lone_destination_without_weight_gets_100():
    analysis = reviews_mesh(vs("r", ["reviews"], http=[route(dest("reviews", "v1"))]))
    assert weights(analysis, "v1") == [100]
    assert routed(analysis, "v1")


def test_lone_destination_with_weight_zero_still_gets_100():
    analysis = reviews_mesh(vs("r", ["reviews"], http=[route(dest("reviews", "v1", weight=0))]))
    assert weights(analysis, "v1") == [100]
    assert routed(analysis, "v1")


def test_weight_zero_destination_beside_others_does_not_route():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=100), dest("reviews", "v2", weight=0))],
        )
    )
    assert weights(analysis, "v1") == [100]
    # pilot builds no weighted cluster for it: not a route of v2's, shown as dropped
    assert weights(analysis, "v2") == []
    [zero] = subset_of(analysis, REVIEWS, "v2").dropped_routes
    assert zero.weight == 0 and zero.dropped == "it has weight 0"
    assert not routed(analysis, "v2")
    assert subset_of(analysis, REVIEWS, "v2").policy_never_applied


def test_split_route_gives_each_subset_its_weight():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=90), dest("reviews", "v2", weight=10))],
        )
    )
    assert weights(analysis, "v1") == [90]
    assert weights(analysis, "v2") == [10]


def test_mirror_counts_as_explicit_route():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            http=[route(dest("reviews", "v1"), mirror={"host": "reviews", "subset": "v2"})],
        )
    )
    mirror = subset_of(analysis, REVIEWS, "v2").routes
    assert [(r.kind, r.weight) for r in mirror] == [("mirror", 100)]
    assert routed(analysis, "v2")


def test_mirror_percentage_is_the_mirrored_share():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            http=[
                route(
                    dest("reviews", "v1"),
                    mirror={"host": "reviews", "subset": "v2"},
                    mirrorPercentage={"value": 10.0},
                )
            ],
        )
    )
    assert weights(analysis, "v2") == [10]
    assert routed(analysis, "v2")


def test_mirrors_list_counts():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            http=[
                route(
                    dest("reviews", "v1"),
                    mirrors=[{"destination": {"host": "reviews", "subset": "v2"}}],
                )
            ],
        )
    )
    assert [r.kind for r in subset_of(analysis, REVIEWS, "v2").routes] == ["mirror"]
    assert routed(analysis, "v2")


@pytest.mark.parametrize(
    "mirror",
    [
        {"mirror": {"host": "reviews", "subset": "v2"}, "mirrorPercentage": {"value": 0}},
        {
            "mirrors": [
                {"destination": {"host": "reviews", "subset": "v2"}, "percentage": {"value": 0.0}}
            ]
        },
    ],
    ids=["mirror", "mirrors"],
)
def test_mirror_with_zero_percent_does_not_count(mirror):
    # pilot: "If zero percent is provided explicitly, we should not mirror."
    analysis = reviews_mesh(vs("r", ["reviews"], http=[route(dest("reviews", "v1"), **mirror)]))
    assert not routed(analysis, "v2")
    assert subset_of(analysis, REVIEWS, "v2").policy_never_applied


def test_mirror_of_a_fraction_of_a_percent_counts():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            http=[
                route(
                    dest("reviews", "v1"),
                    mirror={"host": "reviews", "subset": "v2"},
                    mirrorPercentage={"value": 0.5},
                )
            ],
        )
    )
    assert routed(analysis, "v2")


def test_tcp_and_tls_routes_count():
    svc = service("reviews", ports=(9080, 443))
    svc["spec"]["ports"] = [{"name": "tcp-db", "port": 9080}, {"name": "tls", "port": 443}]
    analysis = analyze(
        svc,
        dr("reviews", "reviews", subsets=[subset(s, policy=RANDOM) for s in ("v1", "v2")]),
        # On the TCP port only t builds a route; on the TLS port both do, and s is first by
        # name (no creation times): each VirtualService wins the host on one port.
        vs("t", ["reviews"], tcp=[route(dest("reviews", "v1", port=9080))]),
        vs("s", ["reviews"], tls=[route(dest("reviews", "v2"), match=[{"sniHosts": ["reviews"]}])]),
    )
    assert [r.kind for r in subset_of(analysis, REVIEWS, "v1").routes] == ["tcp"]
    assert [r.kind for r in subset_of(analysis, REVIEWS, "v2").routes] == ["tls"]
    assert routed(analysis, "v1")
    assert routed(analysis, "v2")


def test_route_without_subset_does_not_count_for_any_subset():
    analysis = reviews_mesh(vs("r", ["reviews"], http=[route(dest("reviews"))]))
    assert not routed(analysis, "v1")
    default = analysis.hosts[REVIEWS].default_routes
    assert [(r.virtual_service.name, r.weight) for r in default] == [("r", 100)]


def test_route_to_another_host_does_not_count():
    analysis = reviews_mesh(vs("r", ["ratings"], http=[route(dest("ratings", "v1"))]))
    assert not routed(analysis, "v1")


def test_delegate_vs_routes_count_for_root_hosts():
    analysis = reviews_mesh(
        vs("root", ["reviews"], namespace="default", http=[{"delegate": {"name": "child"}}]),
        vs("child", None, http=[route(dest("reviews", "v1"))]),
    )
    refs = subset_of(analysis, REVIEWS, "v1").routes
    assert [(r.virtual_service.name, r.delegate.name) for r in refs] == [("root", "child")]
    assert routed(analysis, "v1")


def test_delegate_in_another_namespace_counts():
    analysis = reviews_mesh(
        vs("root", ["reviews"], http=[{"delegate": {"name": "child", "namespace": "team"}}]),
        vs("child", None, namespace="team", http=[route(dest(REVIEWS, "v2"))]),
    )
    assert routed(analysis, "v2")


def test_delegate_routes_are_bound_to_the_root_gateways():
    analysis = reviews_mesh(
        vs("root", ["reviews.example.com"], gateways=["edge"], http=[{"delegate": {"name": "c"}}]),
        vs("c", None, http=[route(dest("reviews", "v1"))]),
    )
    assert [r.gateways for r in subset_of(analysis, REVIEWS, "v1").routes] == [("edge",)]


def test_vs_with_hosts_is_not_used_as_a_delegate():
    analysis = reviews_mesh(
        vs("root", ["ratings"], http=[{"delegate": {"name": "other"}}]),
        vs("other", ["other"], http=[route(dest("reviews", "v1"))]),
    )
    # `other` routes to v1 on its own (once), not a second time through `root`.
    assert [r.virtual_service.name for r in subset_of(analysis, REVIEWS, "v1").routes] == ["other"]


def test_delegate_without_root_does_not_count():
    analysis = reviews_mesh(vs("orphan", None, http=[route(dest("reviews", "v1"))]))
    assert not routed(analysis, "v1")


def test_vs_exported_nowhere_is_rejected_and_does_not_count():
    # Istio's webhook allows exportTo ~ only for ServiceEntries (validateExportTo): such a
    # VirtualService never reaches pilot.
    objs = [
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1", policy=RANDOM)]),
        vs("r", ["reviews"], export_to=["~"], http=[route(dest("reviews", "v1"))]),
    ]
    resources = [parse_object(o, Origin(file="t.yaml", line=1)) for o in objs]
    assert resources[2].meta.rejected is not None
    mesh = Mesh()
    mesh.load(resources)
    analysis = mesh.analyze()
    assert not routed(analysis, "v1")
    assert subset_of(analysis, REVIEWS, "v1").policy_never_applied
    [invalid] = [f for f in analysis.findings if f.code is Code.INVALID_RESOURCE]
    assert invalid.field == "spec.exportTo[0]"


def test_vs_exported_to_its_own_namespace_counts():
    analysis = reviews_mesh(
        vs("r", ["reviews"], export_to=["."], http=[route(dest("reviews", "v1"))])
    )
    assert routed(analysis, "v1")


def test_gateway_bound_route_counts():
    analysis = reviews_mesh(
        vs(
            "edge",
            ["reviews.example.com"],
            gateways=["istio-system/ingress"],
            http=[route(dest("reviews", "v1"))],
        )
    )
    refs = subset_of(analysis, REVIEWS, "v1").routes
    assert [r.gateways for r in refs] == [("istio-system/ingress",)]
    assert routed(analysis, "v1")


def test_empty_gateways_mean_mesh():
    analysis = reviews_mesh(vs("r", ["reviews"], http=[route(dest("reviews", "v1"))]))
    assert [r.gateways for r in subset_of(analysis, REVIEWS, "v1").routes] == [("mesh",)]


def test_match_gateways_narrow_the_route_to_those_gateways():
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            gateways=["mesh", "edge"],
            http=[route(dest("reviews", "v1"), match=[{"gateways": ["edge"]}])],
        )
    )
    assert [r.gateways for r in subset_of(analysis, REVIEWS, "v1").routes] == [("edge",)]


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS)
def test_routes_of_every_api_version_count(api_version):
    analysis = reviews_mesh(
        vs("r", ["reviews"], api_version=api_version, http=[route(dest("reviews", "v1"))])
    )
    assert routed(analysis, "v1")


# -- the index, kept up to date ------------------------------------------------------------


def test_route_index_reports_the_hosts_a_virtual_service_change_touches():
    index = RouteIndex(MeshConfig())
    first = parse(vs("r", ["reviews"], http=[route(dest("reviews", "v1"))]))
    assert index.add(first) == {REVIEWS}
    moved = parse(vs("r", ["reviews"], http=[route(dest("ratings", "v1"))]))
    # Replacing it touches the host it left and the one it now routes to.
    assert index.add(moved) == {REVIEWS, svc_host("ratings")}
    assert index.routes_to(REVIEWS) == []
    assert index.remove(moved.meta.ref) == {svc_host("ratings")}
    assert index.hosts() == set()


def test_delegate_added_after_its_root_is_indexed_under_the_root():
    index = RouteIndex(MeshConfig())
    index.add(parse(vs("root", ["reviews"], http=[{"delegate": {"name": "child"}}])))
    child = parse(vs("child", None, http=[route(dest("reviews", "v1"))]))
    assert index.add(child) == {REVIEWS}
    assert [r.virtual_service.name for r in index.routes_to(REVIEWS)] == ["root"]
    assert index.remove(child.meta.ref) == {REVIEWS}
    assert index.routes_to(REVIEWS) == []


@pytest.mark.parametrize(
    ("export_to", "counts"),
    [(["."], False), (["default"], True), (["*"], True), (None, True)],
    ids=["private-to-team", "exported-to-root-namespace", "star", "default"],
)
def test_delegate_counts_only_when_exported_to_the_root_namespace(export_to, counts):
    # pilot merges a delegate into its root only when the delegate's exportTo covers the
    # root's namespace.
    child = vs("child", None, namespace="team", http=[route(dest(REVIEWS, "v1"))])
    if export_to is not None:
        child["spec"]["exportTo"] = export_to
    analysis = reviews_mesh(
        vs("root", ["reviews"], http=[{"delegate": {"name": "child", "namespace": "team"}}]),
        child,
    )
    assert routed(analysis, "v1") is counts


def test_mirror_on_a_delegating_route_is_inherited_by_the_delegate_routes():
    # pilot's mergeHTTPRoute: a delegate route without a mirror takes the root route's.
    analysis = reviews_mesh(
        vs(
            "root",
            ["reviews"],
            http=[{"delegate": {"name": "child"}, "mirror": {"host": "reviews", "subset": "v2"}}],
        ),
        vs("child", None, http=[route(dest("reviews", "v1"))]),
    )
    assert [
        (r.kind, r.virtual_service.name) for r in subset_of(analysis, REVIEWS, "v2").routes
    ] == [("mirror", "root")]
    assert routed(analysis, "v2")


def test_mirror_on_a_delegating_route_without_its_delegate_does_not_count():
    analysis = reviews_mesh(
        vs(
            "root",
            ["reviews"],
            http=[{"delegate": {"name": "gone"}, "mirror": {"host": "reviews", "subset": "v2"}}],
        )
    )
    assert not routed(analysis, "v2")


@pytest.mark.parametrize(("percent", "counts"), [(0, False), (5, True)])
def test_deprecated_mirror_percent_is_read_when_mirror_percentage_is_absent(percent, counts):
    analysis = reviews_mesh(
        vs(
            "r",
            ["reviews"],
            api_version="networking.istio.io/v1alpha3",
            http=[
                route(
                    dest("reviews", "v1"),
                    mirror={"host": "reviews", "subset": "v2"},
                    mirrorPercent=percent,
                )
            ],
        )
    )
    assert routed(analysis, "v2") is counts
