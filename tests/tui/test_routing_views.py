"""The four situations of the "one routing model" issue in the inspector: the tree's labels and
the detail pane read the same routing table as `check` and `trace`
(tests/check/test_routing_views.py), so a subset never shows a weight beside "never applied"."""

from __future__ import annotations

from tests.tui.helpers import (
    detail_text,
    make_app,
    press,
    screen_text,
    settle,
    tree_label,
    tree_text,
)

ROUTING = "tests/fixtures/routing"
SIZE = (120, 40)


async def test_a_dropped_delegate_rule_shows_no_weight_and_says_why():
    app = make_app(f"{ROUTING}/delegate")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = tree_text(app)
        assert tree_label(tree, "v1") == "v1  100%"
        assert tree_label(tree, "v2") == "v2  ⚠ policy never applied"
        await press(pilot, "j", "j", "j")  # subset v2
        detail = detail_text(app)
        assert detail.startswith("subset v2 of cart.shop.svc.cluster.local")
        assert "Routes that carry no traffic here" in detail
        assert "✗ VirtualService shop/cart  http[0] 'checkout'" in detail
        assert "dropped: its match conflicts with the root rule's match" in " ".join(detail.split())
        assert "⚠ 2 warnings" in screen_text(app).splitlines()[0]


async def test_a_rule_through_a_missing_gateway_counts_no_weight():
    app = make_app(f"{ROUTING}/missing-gateway")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = tree_text(app)
        assert tree_label(tree, "v1") == "v1  100%"
        assert tree_label(tree, "v3") == "v3  ⚠ policy never applied"
        await press(pilot, "j", "j", "j")  # subset v3
        detail = " ".join(detail_text(app).split())
        assert "dropped: it is bound only to gateways that do not exist: edge" in detail


async def test_a_client_view_shows_only_routes_its_sidecars_import():
    app = make_app(f"{ROUTING}/client-view")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")  # a host without findings starts closed
        assert tree_label(tree_text(app), "v2") == "v2  100%  clients: team"
        await press(pilot, "c")
        # jobs holds no workload in the input: the prompt says so, and enter again confirms
        await pilot.press(*"jobs", "enter", "enter")
        await settle(pilot)
        assert "as clients in jobs see it" in screen_text(app).splitlines()[0]
        v2 = tree_label(tree_text(app), "v2")
        assert v2.startswith("v2  ⚠ policy never applied")
        assert "%" not in v2


async def test_a_consumer_override_is_no_error_and_names_whose_traffic_each_route_carries():
    app = make_app(f"{ROUTING}/override")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = screen_text(app).splitlines()[0]
        assert "error" not in header and "ℹ 2 infos" in header
        tree = tree_text(app)
        assert tree_label(tree, "v1") == "v1  100%  clients: all but frontend"
        assert tree_label(tree, "v2") == "v2  100%  clients: frontend"
        await press(pilot, "j", "j", "j")  # subset v2
        detail = " ".join(detail_text(app).split())
        assert "VirtualService frontend/payments-beta http[0]" in detail
        assert "for clients in frontend" in detail
