"""The two situations of the Gateway API issue in the inspector: the tree lists the HTTPRoute's
route beside the VirtualService's with its clients, and the detail pane names the HTTPRoute,
its rule and where it is written (`check` and `trace` agree:
tests/check/test_gateway_api_views.py)."""

from __future__ import annotations

from textual.widgets import Input

from meshtui.tui.model import Kind, NodeRef
from meshtui.tui.screens.trace import TraceScreen
from tests.tui.helpers import (
    GATEWAY_API,
    detail_text,
    make_app,
    press,
    screen_text,
    settle,
    tree_label,
    tree_text,
    widget_text,
)

ROUTING = "tests/fixtures/routing"
SIZE = (120, 40)


async def test_the_httproute_carries_bookinfo_and_the_virtual_service_everyone_else():
    app = make_app(f"{ROUTING}/httproute-consumer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "⚠ 2 warnings" in screen_text(app).splitlines()[0]
        tree = tree_text(app)
        assert tree_label(tree, "(no subset)") == "(no subset)  100%  clients: bookinfo"
        assert tree_label(tree, "v2") == "v2  50%  clients: all but bookinfo"
        await press(pilot, "j")  # the traffic without a subset
        detail = " ".join(detail_text(app).split())
        assert "→ HTTPRoute bookinfo/reviews rules[0]" in detail
        assert "100% to the host port 9080" in detail and "for clients in bookinfo" in detail
        assert "httproute-consumer/mesh.yaml:48" in detail  # its backendRef's rule
        await press(pilot, "j", "j")  # subset v2
        detail = " ".join(detail_text(app).split())
        assert "SubsetPolicyBypassedByGatewayRoute" in detail
        assert "never applied for clients in bookinfo" in detail


async def test_a_virtual_service_on_a_kubernetes_gateway_routes_nothing_there():
    app = make_app(f"{ROUTING}/vs-on-k8s-gateway")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = tree_text(app)
        assert tree_label(tree, "v3") == "v3  ⚠ policy never applied"
        await press(pilot, "j", "j", "j")  # subset v3
        detail = " ".join(detail_text(app).split())
        assert "dropped: it is bound only to ingress/web, a Kubernetes Gateway" in detail


def filter_keys(text: str) -> list[str]:
    names = {"/": "slash", "-": "minus", " ": "space"}
    return ["slash", *(names.get(c, c) for c in text), "enter"]


async def test_the_filter_keeps_the_hosts_a_gateway_api_route_routes():
    # The HTTPRoute's name is no host, subset, label or pod: the filter matches it as the
    # resource the routes are written in, and opens the hosts to show the routes' rows.
    app = make_app(GATEWAY_API)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, *filter_keys("storefront"))  # the ingress route: catalog and web
        tree = tree_text(app)
        assert "2 hosts · filter “storefront”" in screen_text(app)
        assert "catalog  " in tree and "web  " in tree and "catalog-v1" not in tree
        assert tree_label(tree, "(no subset)").startswith("(no subset)  100% gateway only")
        await press(pilot, "escape", *filter_keys("catalog-canary"))  # the mesh route
        tree = tree_text(app)
        assert "catalog-v1" in tree and "catalog-v2" in tree and "web" not in tree
        assert "(no subset)  90%" in tree  # catalog-v1's row, opened
        await press(pilot, "escape", *filter_keys("httproute bookstore/"))  # by kind, too
        assert "4 hosts · filter" in screen_text(app)


async def test_the_filter_matches_virtual_service_names_the_same_way():
    # frontend/payments-beta is a consumer override sending frontend's clients to subset v2.
    app = make_app("tests/tui/fixtures/bookinfo", f"{ROUTING}/override")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, *filter_keys("payments-beta"))
        tree = tree_text(app)
        assert "1 host · filter “payments-beta”" in screen_text(app)
        assert tree_label(tree, "v2").startswith("v2  100%  clients: frontend")
        await press(pilot, "escape", *filter_keys("virtualservice bookinfo/ratings"))
        assert "1 host · filter" in screen_text(app) and "ratings" in tree_text(app)


async def test_detail_and_trace_name_a_gateway_api_rule_as_written():
    # Rule 0 of HTTPRoute shop/a has two matches (two routes); shop/b's catch-all never matches.
    rules = f"{ROUTING}/httproute-rules"
    v2 = "reviews-v2.shop.svc.cluster.local"
    app = make_app(rules)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.host_tree.reveal(NodeRef(Kind.DEFAULT, 0, "shop", v2))
        await pilot.pause()
        detail = detail_text(app)
        assert "→ HTTPRoute shop/a  rules[0].matches[1]" in detail
        assert f"{rules}/mesh.yaml:29" in detail  # that match's own line
        assert "✗ HTTPRoute shop/b  rules[0]" in detail
        assert "dropped: the same match as HTTPRoute shop/a rules[1]" in detail
        assert "http[" not in detail
        # A request to the Service the routes are attached to, with the canary header.
        assert app.host_tree.reveal(NodeRef(Kind.HOST, 0, "shop", "reviews.shop.svc.cluster.local"))
        await press(pilot, "t")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        screen.query_one("#trace-headers", Input).value = "x-canary: 1"
        screen.query_one("#trace-path", Input).value = "/q"
        await press(pilot, "enter")
        shown = widget_text(screen.query_one("#trace-result"))
        assert "rule    HTTPRoute shop/a rules[0].matches[1]" in shown
        assert f"  │ {rules}/mesh.yaml:29" in shown
        assert "skipped HTTPRoute shop/b rules[1]: uri exact '/v2/x' wanted" in shown
        assert "http[" not in shown
