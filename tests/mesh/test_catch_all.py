"""A catch-all ends the routes pilot builds from a VirtualService (route.go
BuildHTTPRoutesForVirtualService: it stops at a rule without match and at a block that
IsCatchAllRoute calls a catch-all, for the proxies that block is translated for), and HTTP
blocks naming gateways ignore their source conditions (route.go sourceMatchHTTP).

What a user sees: a rule behind a catch-all is unreachable, and a subset only it names has its
policy never applied, for the clients the catch-all holds for and no others."""

from __future__ import annotations

from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.trace import Client, trace
from tests.helpers import build_mesh, deployment, dest, dr, route, service, subset, svc_host, vs

HOST = svc_host("reviews", "shop")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}
JASON = {"headers": {"end-user": {"exact": "jason"}}}


def _mesh(*http: dict[str, Any], delegate: dict[str, Any] | None = None) -> Mesh:
    objs = [
        service("reviews", namespace="shop", ports=(9080,)),
        dr(
            "reviews",
            "reviews",
            namespace="shop",
            subsets=[subset("v1"), subset("v2", policy=RANDOM)],
        ),
        vs("reviews", ["reviews"], namespace="shop", http=http),
        deployment("web", {"app": "web"}, namespace="front"),
        deployment("shop-web", {"app": "shop-web"}, namespace="shop"),
    ]
    return build_mesh(*objs, *([delegate] if delegate else []))


def _findings(mesh: Mesh, client: str | None = None) -> list[Finding]:
    mesh.set_client_namespace(client)
    return mesh.analyze().findings


def _never_applied(mesh: Mesh, client: str | None = None) -> list[Finding]:
    return [f for f in _findings(mesh, client) if f.code is Code.SUBSET_POLICY_NEVER_APPLIED]


def _to(subset_name: str, **match: Any) -> dict[str, Any]:
    rule = route(dest("reviews", subset_name))
    if match:
        rule["match"] = [match]
    return rule


def test_a_rule_after_a_prefix_slash_block_is_unreachable_and_its_subset_policy_dead():
    mesh = _mesh(_to("v1", uri={"prefix": "/"}), _to("v2", **JASON))
    found = _findings(mesh)
    [unreachable] = [f for f in found if f.code is Code.UNREACHABLE_RULE]
    assert "http[1]" in unreachable.message
    assert "http[0] before it matches every request" in unreachable.message
    assert unreachable.istio is None  # istioctl says nothing of it: meshtui's own finding
    [dead] = _never_applied(mesh)
    assert "'v2'" in dead.message
    # The request the rule was written for goes by the catch-all, as the trace says.
    t = trace(mesh, Client("front"), HOST, 9080, headers={"end-user": "jason"})
    assert t.rule == "http[0]" and [h.subset for h in t.destinations] == ["v1"]


def test_a_regex_dot_star_block_is_a_catch_all_too_but_a_header_block_is_not():
    assert _never_applied(_mesh(_to("v1", uri={"regex": ".*"}), _to("v2", **JASON)))
    narrow = _mesh(_to("v1", uri={"prefix": "/"}, **JASON), _to("v2", uri={"prefix": "/b"}))
    assert not _never_applied(narrow)
    assert not [f for f in _findings(narrow) if f.code is Code.UNREACHABLE_RULE]


def test_a_catch_all_for_one_source_namespace_hides_later_rules_from_it_only():
    mesh = _mesh(_to("v1", uri={"prefix": "/"}, sourceNamespace="front"), _to("v2", **JASON))
    assert not [f for f in _findings(mesh) if f.code is Code.UNREACHABLE_RULE]
    assert not _never_applied(mesh, "shop")  # shop's sidecars have http[1]
    [dead] = _never_applied(mesh, "front")
    table = mesh.table.routes_to(HOST, ClientSet.of(["front"]))
    assert {r.subset for r in table.live} == {"v1"}
    [hidden] = [r for r in table.dropped if r.subset == "v2"]
    assert "http[0] before it matches every request" in hidden.dropped
    t = trace(mesh, Client("shop"), HOST, 9080, headers={"end-user": "jason"})
    assert [h.subset for h in t.destinations] == ["v2"]
    assert dead.message


def test_a_catch_all_on_another_port_hides_nothing_on_this_one():
    mesh = _mesh(_to("v1", uri={"prefix": "/"}, port=8080), _to("v2", **JASON))
    assert not _never_applied(mesh, "front")


def test_a_catch_all_for_some_pods_by_source_labels_hides_nothing_from_the_namespace():
    mesh = _mesh(_to("v1", sourceLabels={"app": "web"}), _to("v2", **JASON))
    assert not _never_applied(mesh, "front")


def test_an_http_block_naming_mesh_ignores_its_source_namespace():
    """sourceMatchHTTP: with `gateways`, the block is built for every proxy of a named gateway
    (mesh: every sidecar), whatever `sourceNamespace` says; so it is a catch-all for them all."""
    alone = _mesh(_to("v2", **JASON, gateways=["mesh"], sourceNamespace="front"))
    assert not _never_applied(alone, "shop")  # built for shop's sidecars too
    hiding = _mesh(
        _to("v1", uri={"prefix": "/"}, gateways=["mesh"], sourceNamespace="front"),
        _to("v2", **JASON),
    )
    assert _never_applied(hiding, "shop") and _never_applied(hiding, "front")
    for mesh, subset_name in ((alone, "v2"), (hiding, "v1")):  # the trace agrees
        t = trace(mesh, Client("shop"), HOST, 9080, headers={"end-user": "jason"})
        assert t.rule == "http[0]" and [h.subset for h in t.destinations] == [subset_name]


def test_a_delegates_catch_all_merged_into_its_root_ends_the_roots_routes():
    """pilot merges a delegate's rules into the root before it builds routes: a delegate rule
    without match under a root block `prefix: /` is a catch-all there, and the root's later
    rules are built for nobody; istioctl's check of each VirtualService alone cannot see it."""
    delegate = vs("reviews-d", None, namespace="shop", http=[_to("v1")])
    root_rule = {"match": [{"uri": {"prefix": "/"}}], "delegate": {"name": "reviews-d"}}
    mesh = _mesh(root_rule, _to("v2", **JASON), delegate=delegate)
    [dead] = _never_applied(mesh, "front")
    assert "matches every request" in dead.message
    narrowing = _mesh(
        {"match": [{"uri": {"prefix": "/"}}], "delegate": {"name": "reviews-d"}},
        _to("v2", **JASON),
        delegate=vs("reviews-d", None, namespace="shop", http=[_to("v1", uri={"prefix": "/a"})]),
    )
    assert not _never_applied(narrowing, "front")  # the merged rule matches /a only
