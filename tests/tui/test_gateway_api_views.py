"""The two situations of the Gateway API issue in the inspector: the tree lists the HTTPRoute's
route beside the VirtualService's with its clients, and the detail pane names the HTTPRoute,
its rule and where it is written (`check` and `trace` agree:
tests/check/test_gateway_api_views.py)."""

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
