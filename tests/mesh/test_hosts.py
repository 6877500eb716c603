"""Host names as pilot resolves and matches them (ResolveShortnameToFQDN, host.Name.Matches)."""

from __future__ import annotations

from meshtui.mesh.hosts import (
    MeshConfig,
    host_namespace,
    matches,
    most_specific,
    resolve_host,
    service_host,
)
from tests.helpers import (
    analyze,
    dest,
    dr,
    host,
    route,
    service,
    service_entry,
    subset,
    svc_host,
    vs,
)


def test_short_host_resolves_against_the_namespace_of_the_resource():
    assert resolve_host("reviews", "bookinfo") == "reviews.bookinfo.svc.cluster.local"


def test_short_dr_host_applies_to_the_service_of_its_own_namespace():
    analysis = analyze(
        service("reviews", namespace="bookinfo"),
        dr("reviews", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
    )
    reviews = host(analysis, "reviews.bookinfo.svc.cluster.local")
    assert [r.meta.ref.name for r in reviews.destination_rules] == ["reviews"]


def test_host_with_dots_is_not_expanded():
    assert resolve_host("reviews.bookinfo", "other") == "reviews.bookinfo"
    # So a DR written with `reviews.bookinfo` does not apply to the Kubernetes service host.
    analysis = analyze(
        service("reviews", namespace="bookinfo"),
        dr("reviews", "reviews.bookinfo", namespace="bookinfo", subsets=[subset("v1")]),
    )
    assert host(analysis, svc_host("reviews", "bookinfo")).rule is None


def test_fully_qualified_host_is_taken_as_written():
    fqdn = "reviews.bookinfo.svc.cluster.local"
    assert resolve_host(fqdn, "frontend") == fqdn


def test_wildcard_and_ip_hosts_are_taken_as_written():
    assert resolve_host("*", "bookinfo") == "*"
    assert resolve_host("*.example.com", "bookinfo") == "*.example.com"
    assert resolve_host("10.0.0.1", "bookinfo") == "10.0.0.1"
    assert resolve_host("2001:db8::1", "bookinfo") == "2001:db8::1"


def test_domain_suffix_defaults_to_cluster_local_and_follows_mesh_config():
    assert service_host("reviews", "bookinfo") == "reviews.bookinfo.svc.cluster.local"
    assert resolve_host("reviews", "bookinfo", "corp.internal") == (
        "reviews.bookinfo.svc.corp.internal"
    )
    analysis = analyze(
        service("reviews", namespace="bookinfo"),
        dr("reviews", "reviews", namespace="bookinfo"),
        config=MeshConfig(domain="corp.internal"),
    )
    assert list(analysis.hosts) == ["reviews.bookinfo.svc.corp.internal"]
    assert analysis.hosts["reviews.bookinfo.svc.corp.internal"].rule is not None


def test_vs_destination_short_host_resolves_against_vs_namespace_not_dr_namespace():
    analysis = analyze(
        service("reviews", namespace="bookinfo"),
        dr(
            "reviews",
            "reviews",
            namespace="bookinfo",
            subsets=[subset("v1", policy={"loadBalancer": {"simple": "RANDOM"}})],
        ),
        # Written in `frontend`: `reviews` means reviews.frontend.svc.cluster.local.
        vs("to-reviews", ["reviews"], namespace="frontend", http=[route(dest("reviews", "v1"))]),
    )
    bookinfo = host(analysis, svc_host("reviews", "bookinfo"))
    assert bookinfo.subset("v1").routes == ()
    assert bookinfo.subset("v1").policy_never_applied
    frontend = host(analysis, svc_host("reviews", "frontend"))
    assert [r.virtual_service.namespaced_name for r in frontend.routes] == ["frontend/to-reviews"]
    assert frontend.undefined_subsets == ("v1",)


def test_service_host_is_name_namespace_svc_domain():
    analysis = analyze(service("ratings", namespace="bookinfo"))
    assert list(analysis.hosts) == ["ratings.bookinfo.svc.cluster.local"]
    assert host_namespace("ratings.bookinfo.svc.cluster.local") == "bookinfo"
    assert host_namespace("api.example.com") is None


def test_service_entry_hosts_are_hosts():
    analysis = analyze(service_entry("ext", ["api.example.com", "auth.example.com"]))
    assert sorted(analysis.hosts) == ["api.example.com", "auth.example.com"]
    assert analysis.hosts["api.example.com"].service.meta.ref.name == "ext"
    assert [p.number for p in analysis.hosts["api.example.com"].ports] == [443]


def test_wildcard_matches_by_suffix_only():
    assert matches("reviews.bookinfo.svc.cluster.local", "*.bookinfo.svc.cluster.local")
    assert not matches("reviews.bookinfo2.svc.cluster.local", "*.bookinfo.svc.cluster.local")
    assert matches("reviews.bookinfo.svc.cluster.local", "*.cluster.local")
    assert matches("anything.example.com", "*")
    assert not matches("reviews.bookinfo.svc.cluster.local", "ratings.bookinfo.svc.cluster.local")
    # A non-wildcard pattern never matches a different host.
    assert not matches("a.example.com", "example.com")


def test_exact_host_is_most_specific():
    patterns = ["*", "*.cluster.local", "reviews.bookinfo.svc.cluster.local"]
    assert most_specific("reviews.bookinfo.svc.cluster.local", patterns) == patterns[2]


def test_longer_wildcard_is_more_specific_than_shorter():
    patterns = ["*", "*.svc.cluster.local", "*.bookinfo.svc.cluster.local", "*.cluster.local"]
    assert most_specific("reviews.bookinfo.svc.cluster.local", patterns) == (
        "*.bookinfo.svc.cluster.local"
    )
    assert most_specific("api.example.com", patterns) == "*"
    assert most_specific("api.example.com", ["*.cluster.local"]) is None
