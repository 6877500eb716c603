"""The reference checks on their own: Kiali's extras, where findings are hung, and the
place of a host only a DestinationRule names."""

from __future__ import annotations

from meshtui.mesh.findings import Code
from tests.helpers import (
    analyze,
    build_mesh,
    dest,
    dr,
    parse,
    port_policy,
    route,
    service,
    subset,
    svc_host,
    tls_route,
    vs,
)


def of(analysis, code: Code) -> list[tuple[str | None, str | None, str | None]]:
    return sorted((f.host, f.subset, f.field) for f in analysis.findings if f.code is code)


def test_a_lone_destination_with_a_weight_below_100_is_kialis_kia1104():
    analysis = analyze(
        service("reviews"),
        vs("r", ["reviews"], http=[route(dest("reviews", weight=30))]),
        vs("full", ["reviews"], tcp=[route(dest("reviews", weight=100))]),
        vs(
            "split",
            ["reviews"],
            tls=[tls_route(dest("reviews", weight=30), dest("reviews", weight=70))],
        ),
    )
    assert of(analysis, Code.SINGLE_DESTINATION_WEIGHT) == [
        (svc_host("reviews"), None, "spec.http[0].route[0].weight")
    ]


def test_the_same_host_and_subset_twice_in_one_route_is_kialis_kia1105():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2")]),
        vs(
            "r",
            ["reviews"],
            http=[
                route(dest("reviews", "v1", weight=50), dest("reviews", "v2", weight=50)),
                route(
                    dest("reviews", "v1", weight=50),
                    dest("reviews.default.svc.cluster.local", "v1", weight=50),
                ),
            ],
        ),
    )
    assert of(analysis, Code.DUPLICATE_DESTINATION) == [
        (svc_host("reviews"), None, "spec.http[1].route[1].destination")
    ]


def test_a_subset_without_labels_is_kialis_kia0209():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), {"name": "all"}]),
    )
    assert of(analysis, Code.SUBSET_WITHOUT_LABELS) == [
        (svc_host("reviews"), "all", "spec.subsets[1]")
    ]


def test_a_host_only_a_destination_rule_names_is_shown_in_the_rules_namespace():
    analysis = analyze(
        service("reviews", namespace="shop"),
        dr("github", "api.github.com", namespace="shop", policy={"tls": {"mode": "SIMPLE"}}),
    )
    github = analysis.hosts["api.github.com"]
    assert github.namespace == "shop"
    assert {f.code for f in github.findings} == {
        Code.UNKNOWN_DESTINATION_RULE_HOST,
        Code.NO_CA_CERTIFICATES,
    }


def test_port_level_settings_of_a_known_port_are_drawn_and_not_reported():
    analysis = analyze(
        service("reviews", ports=(9080,)),
        dr(
            "reviews",
            "reviews",
            policy={"portLevelSettings": [port_policy(9080, tls={"mode": "DISABLE"})]},
        ),
    )
    assert of(analysis, Code.PORT_NOT_IN_SERVICE) == []
    assert sorted(analysis.hosts[svc_host("reviews")].port_policies) == [9080]


def test_a_mirror_to_a_missing_host_names_the_mirror_field():
    analysis = analyze(
        service("reviews"),
        vs(
            "r",
            ["reviews"],
            http=[
                route(dest("reviews"), mirror={"host": "shadow"}),
                route(dest("reviews"), mirrors=[{"destination": {"host": "ghost"}}]),
            ],
        ),
    )
    assert of(analysis, Code.UNKNOWN_HOST) == [
        (svc_host("ghost"), None, "spec.http[1].mirrors[0].destination.host"),
        (svc_host("shadow"), None, "spec.http[0].mirror.host"),
    ]


def test_a_wildcard_rule_covering_a_service_has_a_host():
    analysis = analyze(
        service("reviews", namespace="shop"),
        dr(
            "mesh-wide",
            "*.local",
            namespace="istio-system",
            policy={"tls": {"mode": "ISTIO_MUTUAL"}},
        ),
        dr("nothing", "*.example.org", namespace="istio-system"),
    )
    assert [
        str(f.resource) for f in analysis.findings if f.code is Code.UNKNOWN_DESTINATION_RULE_HOST
    ] == ["DestinationRule istio-system/nothing"]


def test_findings_follow_live_changes_of_services_and_routes():
    mesh = build_mesh(service("reviews"), vs("r", ["reviews"], http=[route(dest("ghost"))]))
    assert of(mesh.analyze(), Code.UNKNOWN_HOST) == [
        (svc_host("ghost"), None, "spec.http[0].route[0].destination.host")
    ]
    ghost = parse(service("ghost"))
    mesh.add(ghost)
    assert of(mesh.analyze(), Code.UNKNOWN_HOST) == []
    mesh.add(parse(vs("r", ["reviews"], http=[route(dest("ghost", port=81))])))
    assert [f.field for f in mesh.analyze().findings if f.code is Code.UNKNOWN_PORT] == [
        "spec.http[0].route[0].destination.port.number"
    ]
    mesh.remove(ghost.meta.ref)
    assert [f.code for f in mesh.analyze().findings if f.code is Code.UNKNOWN_HOST] == [
        Code.UNKNOWN_HOST
    ]
