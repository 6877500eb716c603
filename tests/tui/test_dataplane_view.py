"""The data-plane situations of issue 25 in the inspector: the tree's labels, the header and the
detail pane read the same table as `check` and `trace` (tests/check/test_dataplane_views.py)."""

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

FIXTURES = "tests/fixtures/dataplane"
SIZE = (120, 40)


async def test_the_host_says_which_data_plane_applies_its_routes_and_ambient_clients_bypass_them():
    app = make_app(f"{FIXTURES}/ambient")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "l")  # a host without findings starts closed
        assert tree_label(tree_text(app), "v2").startswith("v2  50%  clients: all but web")
        detail = " ".join(detail_text(app).split())
        assert "Data plane applied by sidecar clients in every namespace but web" in detail
        assert "bypassed: ambient clients in web go through ztunnel" in detail
        await press(pilot, "c")
        # web's clients are named by its Namespace only: the prompt asks to confirm it
        await pilot.press(*"web", "enter", "enter")
        await settle(pilot)
        header = screen_text(app).splitlines()[0]
        assert "as clients in web see it (ambient" in header
        v2 = tree_label(tree_text(app), "v2")
        assert v2.startswith("v2  ⚠ policy never applied")
        assert "%" not in v2


async def test_the_consumer_route_a_waypoint_ignores_carries_nothing():
    app = make_app(f"{FIXTURES}/waypoint")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = tree_text(app)
        assert tree_label(tree, "v3").startswith("v3  ⚠ policy never applied")
        assert tree_label(tree, "v2").startswith("v2  10%")
        detail = " ".join(detail_text(app).split())
        assert "applied by waypoint shop/waypoint for ambient clients in shop, web" in detail
        assert "WaypointIgnoresVirtualService" in detail or "waypoint shop/waypoint" in detail


async def test_the_trace_screen_says_ztunnel_decides_for_an_ambient_client():
    from textual.widgets import Input

    from meshtui.tui.model import Kind, NodeRef
    from tests.tui.test_trace_screen import open_form, result_text

    app = make_app(f"{FIXTURES}/ambient")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(
            pilot, NodeRef(Kind.HOST, 0, "shop", "cart.shop.svc.cluster.local")
        )
        namespace = screen.query_one("#trace-namespace", Input)
        namespace.value = "web"
        await press(pilot, "enter")
        await pilot.pause()
        shown = " ".join(result_text(screen).split())
        assert "proxy ztunnel: no L7 routing and no DestinationRule policy" in shown
        assert "no VirtualService: default route" in shown


async def test_a_rule_behind_a_catch_all_at_the_waypoint_carries_nothing_and_says_why():
    from meshtui.tui.model import Kind, NodeRef

    app = make_app(f"{FIXTURES}/waypoint-routes")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert tree_label(tree_text(app), "v2").startswith("v2  ⚠ policy never applied")
        app.host_tree.reveal(NodeRef(Kind.SUBSET, 0, "shop", "cart.shop.svc.cluster.local", "v2"))
        await pilot.pause()
        detail = " ".join(detail_text(app).split())
        assert "shop/cart-default http[0], which has no match, before it takes every" in detail
