"""`:ctx` on a live view, against two Kubernetes API servers on loopback (two clusters)."""

from __future__ import annotations

import pytest

from meshtui.tui.app import MeshApp
from tests.kubeapi import objects as k
from tests.tui.helpers import press, screen_text, settle, tree_text

cluster = pytest.importorskip("meshtui.sources.cluster")

SIZE = (120, 40)


async def wait_for(pilot, check, tries: int = 50) -> None:
    for _ in range(tries):
        await settle(pilot)
        if check():
            return
        await pilot.pause(0.1)


async def test_ctx_switches_adds_and_keeps_the_view_when_a_context_cannot_be_read(
    kube_api_pair,
):
    alpha, beta = kube_api_pair
    alpha.store.add(k.service("shop", "checkout", port=8080))
    beta.store.add(k.service("pay", "payments", port=8080))
    source = cluster.ClusterSource(contexts=["alpha"], kubeconfig=str(alpha.kubeconfig))
    app = MeshApp(source)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            assert "checkout" in tree_text(app)

            await press(pilot, "colon", *"ctx ")
            assert "alpha  beta" in screen_text(app)  # the kubeconfig's contexts, under the line
            await press(pilot, "tab")
            assert app.command_line.value == "ctx alpha"
            await press(pilot, "ctrl+c", *"ctx b", "tab", "enter")
            await wait_for(pilot, lambda: "payments" in tree_text(app))
            tree = tree_text(app)
            assert "payments" in tree and "checkout" not in tree
            assert "context beta" in screen_text(app).splitlines()[0]

            # The new context is followed live, as the first was.
            beta.store.add(k.service("pay", "ledger", port=8080))
            await wait_for(pilot, lambda: "ledger" in tree_text(app))
            assert "ledger" in tree_text(app)

            await press(pilot, "colon", *"ctx +alpha", "enter")
            await wait_for(pilot, lambda: "checkout" in tree_text(app))
            tree = tree_text(app)
            assert "cluster beta" in tree and "cluster alpha" in tree
            assert "checkout" in tree and "payments" in tree

            await press(pilot, "colon", *"ctx nowhere", "enter")
            await settle(pilot)
            messages = [f"{n.title}: {n.message}" for n in app._notifications]
            assert any(
                m.startswith("Context not switched") and "'nowhere' not found" in m
                for m in messages
            )
            assert "checkout" in tree_text(app) and "payments" in tree_text(app)
            assert "● live" in screen_text(app).splitlines()[0]
    finally:
        app.source.stop()
        source.stop()
