"""A waypoint's routes (meshtui.mesh.waypoint_routes): every VirtualService it takes, in a row,
built as its own proxy; the table and the trace read the same list. Cases from
pilot/pkg/networking/core/listener_waypoint.go (buildWaypointInboundHTTPRouteConfig,
getVirtualServiceForWaypoint, waypointInboundRoute) and route.go (IsCatchAllRoute)."""

from __future__ import annotations

from typing import Any

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.resources import Origin, parse_object
from meshtui.mesh.trace import Client, trace
from meshtui.mesh.waypoint_routes import catch_all
from tests.helpers import build_mesh, dest, dr, route, service, subset, svc_host, vs
from tests.mesh.test_dataplane import namespace, waypoint

CART = svc_host("cart", "shop")
WEB = ClientSet.of(["web"])
FRONTEND = ClientSet.of(["frontend"])
OLD, NEW = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"


def shop(*extra: dict[str, Any]):
    """cart in shop, whose namespace sends ambient clients through shop/waypoint; web's clients
    are ambient, frontend's have sidecars."""
    return build_mesh(
        namespace("shop", **{"istio.io/use-waypoint": "waypoint"}),
        namespace("web", **{"istio.io/dataplane-mode": "ambient"}),
        namespace("frontend", **{"istio-injection": "enabled"}),
        waypoint("shop"),
        service("cart", namespace="shop"),
        dr("cart", "cart", namespace="shop", subsets=[subset("v1"), subset("v2"), subset("v3")]),
        *extra,
    )


def live(mesh, scope: ClientSet) -> set[tuple[str, str]]:
    return {(r.virtual_service.name, r.subset) for r in mesh.table.routes_to(CART, scope).live}


def dropped(mesh, scope: ClientSet, name: str) -> str:
    return next(
        r for r in mesh.table.routes_to(CART, scope).dropped if r.virtual_service.name == name
    ).dropped


def test_a_catch_all_in_the_first_virtual_service_hides_the_next_ones_rules_at_the_waypoint():
    mesh = shop(
        vs("first", ["cart"], namespace="shop", http=[route(dest("cart", "v1"))], created=OLD),
        vs(
            "second",
            ["cart"],
            namespace="shop",
            http=[route(dest("cart", "v2"), match=[{"uri": {"prefix": "/api"}}])],
            created=NEW,
        ),
    )
    assert live(mesh, WEB) == {("first", "v1")}
    assert "shop/first http[0], which has no match, before it takes every request" in dropped(
        mesh, WEB, "second"
    )
    t = trace(mesh, Client("web"), CART, 80, path="/api/x")
    assert t.virtual_service.name == "first" and t.rule == "http[0]"
    assert t.proxy == "waypoint shop/waypoint applies VirtualService shop/first, shop/second"


def test_without_a_catch_all_the_waypoint_goes_on_to_the_next_virtual_service():
    mesh = shop(
        vs(
            "first",
            ["cart"],
            namespace="shop",
            http=[route(dest("cart", "v1"), match=[{"uri": {"prefix": "/old"}}])],
            created=OLD,
        ),
        vs("second", ["cart"], namespace="shop", http=[route(dest("cart", "v2"))], created=NEW),
    )
    assert live(mesh, WEB) == {("first", "v1"), ("second", "v2")}
    t = trace(mesh, Client("web"), CART, 80, path="/api")
    assert (t.virtual_service.name, t.rule) == ("second", "http[0]")
    # A sidecar keeps the first VirtualService for the host, as before.
    assert live(mesh, FRONTEND) == {("first", "v1")}


def test_a_prefix_slash_match_is_a_catch_all_a_header_match_is_not():
    assert catch_all({"uri": {"prefix": "/"}}) and catch_all({"uri": {"regex": ".*"}})
    assert catch_all({}) and catch_all({"port": 8080})
    assert not catch_all({"uri": {"prefix": "/"}, "headers": {"x": {"exact": "1"}}})
    assert not catch_all({"uri": {"exact": "/"}}) and not catch_all({"method": {"exact": "GET"}})


def test_the_waypoint_compares_source_namespace_with_its_own_and_drops_source_labels():
    mesh = shop(
        vs(
            "cart",
            ["cart"],
            namespace="shop",
            http=[
                route(dest("cart", "v1"), match=[{"sourceNamespace": "web"}]),
                route(dest("cart", "v2"), match=[{"sourceLabels": {"app": "checkout"}}]),
                route(dest("cart", "v3"), match=[{"sourceNamespace": "shop"}]),
            ],
        )
    )
    # web's requests reach the waypoint, whose own namespace is shop: only v3's rule is built,
    # and it matches every request.
    assert live(mesh, WEB) == {("cart", "v3")}
    t = trace(mesh, Client("web"), CART, 80)
    assert (t.rule, t.destinations[0].subset) == ("http[2]", "v3")
    skipped = {s.rule: s.why for s in t.skipped}
    assert (
        "sourceNamespace web is compared with the waypoint's namespace, shop" in skipped["http[0]"]
    )
    assert "a waypoint drops matches on sourceLabels" in skipped["http[1]"]
    # A sidecar compares sourceNamespace with its own namespace, and sourceLabels with its
    # pod's labels (some pod of frontend may carry them).
    assert live(mesh, FRONTEND) == {("cart", "v2")}


def test_an_httproute_and_a_virtual_service_are_concatenated_in_the_waypoints_order():
    """Neither kind wins at a waypoint: the generated VirtualService and the native one are
    both taken, oldest first (push_context.go VirtualServicesForGateway), and a catch-all of
    the first hides the second."""
    httproute = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "cart", "namespace": "shop", "creationTimestamp": OLD},
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "cart"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
                    "backendRefs": [{"name": "cart", "port": 8080}],
                }
            ],
        },
    }
    native = vs("cart", ["cart"], namespace="shop", http=[route(dest("cart", "v2"))], created=NEW)
    mesh = shop(httproute, native)
    assert ("cart", "v2") in live(mesh, WEB)
    assert trace(mesh, Client("web"), CART, 80, path="/v1/x").destinations[0].subset == ""
    assert trace(mesh, Client("web"), CART, 80, path="/other").destinations[0].subset == "v2"


def test_on_a_tcp_port_the_first_rule_that_fits_the_waypoint_takes_all_the_traffic():
    """getWaypointTCPRoutes: TLS rules then TCP rules, of every VirtualService in the row; the
    first whose match fits (no source namespace or labels at a waypoint) takes everything."""
    mesh = shop(
        vs(
            "first",
            ["cart"],
            namespace="shop",
            tcp=[route(dest("cart", "v1"), match=[{"sourceNamespace": "web"}])],
            created=OLD,
        ),
        vs("second", ["cart"], namespace="shop", tcp=[route(dest("cart", "v2"))], created=NEW),
        vs("third", ["cart"], namespace="shop", tcp=[route(dest("cart", "v3"))], created=NEW),
    )
    mesh.add(parse(tcp_service()))
    assert live(mesh, WEB) == {("second", "v2")}
    assert "which takes all of the port's traffic at the waypoint" in dropped(mesh, WEB, "third")
    t = trace(mesh, Client("web"), CART, 80)
    assert (t.virtual_service.name, [h.subset for h in t.destinations]) == ("second", ["v2"])


def tcp_service() -> dict[str, Any]:
    svc = service("cart", namespace="shop")
    svc["spec"]["ports"] = [{"name": "tcp-db", "port": 80}]
    return svc


def parse(obj: dict[str, Any]):
    return parse_object(obj, Origin(file="mesh.yaml", line=1))
