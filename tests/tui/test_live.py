"""The inspector on the live cluster source, against the Kubernetes API server on loopback."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot

from meshtui.sources import watching
from meshtui.tui.app import MeshApp
from tests.kubeapi import objects as k
from tests.tui.helpers import cursor_label, detail_text, press, screen_text, settle, tree_text

cluster = pytest.importorskip("meshtui.sources.cluster")

SIZE = (120, 40)
DORMANT_SUBSETS = [
    {"name": "v1", "labels": {"version": "v1"}},
    {
        "name": "v2",
        "labels": {"version": "v2"},
        "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}},
    },
]


def seed(server) -> None:
    server.store.add_many(
        [
            k.service("shop", "checkout", port=8080),
            k.pod("shop", "checkout-v1-7d9f", {"app": "checkout", "version": "v1"}),
            k.pod("shop", "checkout-v2-5c4b", {"app": "checkout", "version": "v2"}, ip="10.0.0.2"),
            k.destination_rule("shop", "checkout", "checkout", subsets=DORMANT_SUBSETS),
        ]
    )


async def until_live(pilot, app: MeshApp) -> None:
    """The header says live once every watch is open (they open after the load)."""
    for _ in range(30):
        if "● live" in screen_text(app).splitlines()[0]:
            break
        await pilot.pause(0.1)
    assert "● live" in screen_text(app).splitlines()[0]


@asynccontextmanager
async def live_inspector(
    kube_api, *, notifications: bool = False, **source_options: Any
) -> AsyncIterator[tuple[Pilot, MeshApp, Any]]:
    """The inspector on the seeded loopback cluster, once its header says live; its source
    stopped after."""
    seed(kube_api)
    source = cluster.ClusterSource(
        contexts=["alpha"], kubeconfig=str(kube_api.kubeconfig), **source_options
    )
    app = MeshApp(source)
    try:
        async with app.run_test(size=SIZE, notifications=notifications) as pilot:
            await settle(pilot)
            await until_live(pilot, app)
            yield pilot, app, source
    finally:
        source.stop()


async def test_live_pods_and_a_watched_change_show_in_place(kube_api):
    async with live_inspector(kube_api) as (pilot, app, _):
        assert "v2  ⚠ policy never applied" in tree_text(app)
        await press(pilot, "n", "l", "l")  # subset v2, open, onto its pod
        assert cursor_label(app).startswith("Pod shop/checkout-v2-5c4b  Running ready")
        text = detail_text(app)
        assert "pod IP 10.0.0.2" in text and "node node-1" in text

        route = {"route": [{"destination": {"host": "checkout", "subset": "v2"}}]}
        kube_api.store.add(k.virtual_service("shop", "checkout", ["checkout"], http=[route]))
        for _ in range(50):  # the watch event, then the gathered refresh
            await pilot.pause(0.1)
            if "v2  100%" in tree_text(app):
                break
        assert "v2  100%" in tree_text(app)
        assert cursor_label(app).startswith("Pod shop/checkout-v2-5c4b")
        assert "✔ no findings" in screen_text(app).splitlines()[0]


async def test_a_cluster_lost_after_start_up_is_said_on_screen_then_restored(kube_api, monkeypatch):
    monkeypatch.setattr(watching, "BACKOFF", (0.05, 0.1, 0.2))
    monkeypatch.setattr(watching, "STALE_AFTER", 0.5)
    async with live_inspector(kube_api, notifications=True, request_timeout=2) as (pilot, app, _):
        kube_api.stop()  # the API server goes away: open watches drop, reconnects fail
        seen = ""
        for _ in range(80):
            await pilot.pause(0.1)
            seen = screen_text(app)
            if "context alpha:" in seen:
                break
        assert "context alpha:" in seen  # the banner says which cluster and why
        assert "reconnecting" in seen.splitlines()[0] or "stale" in seen.splitlines()[0]
        kube_api.start()  # back on the same port
        for _ in range(100):
            await pilot.pause(0.1)
            seen = screen_text(app)
            # The header changes at once; the toast is mounted a frame later.
            if "● live" in seen.splitlines()[0] and "connection restored" in seen:
                break
        assert "● live" in seen.splitlines()[0]
        assert "connection restored" in seen


async def test_the_status_poll_never_waits_for_a_snapshot_holding_the_sources_lock(kube_api):
    """A live snapshot analyses under the source's lock; the header's poll on the UI thread
    skips a turn instead of waiting (keys would wait with it), and reads the status after."""
    async with live_inspector(kube_api) as (_, app, source):
        held, answered = threading.Event(), threading.Event()

        def snapshot_in_progress() -> None:
            with source.lock:
                held.set()
                answered.wait(10)  # released early only if the poll came back meanwhile

        holder = threading.Thread(target=snapshot_in_progress)
        holder.start()
        held.wait(5)
        app.status = "(not polled)"
        app.poll_status()  # with the lock taken elsewhere: back at once, nothing read
        came_back_while_held = not answered.is_set() and holder.is_alive()
        answered.set()
        holder.join()
        assert came_back_while_held
        assert app.status == "(not polled)"
        app.poll_status()  # the lock is free again: the status is read
        assert app.status == "live"
