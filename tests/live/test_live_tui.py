"""The inspector on a live source that fails, recovers and cannot read everything: what the
header, the banners and the help say (Pilot, real app, loopback API server)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from meshtui.sources import cluster, kube, watching
from meshtui.tui.app import MeshApp
from meshtui.tui.model import Kind, NodeRef
from tests.live.cluster_fixtures import REVIEWS, load_bookinfo
from tests.tui.helpers import detail_text, press, screen_text, settle, tree_text

SIZE = (120, 40)
pytestmark = pytest.mark.usefixtures("fast")


def header(app: MeshApp) -> str:
    return screen_text(app).splitlines()[0]


async def until(pilot, app: MeshApp, check: Callable[[str], bool], seconds: float = 5) -> str:
    """Let the app run until the screen passes `check`; the screen then."""
    screen = screen_text(app)
    for _ in range(int(seconds * 10)):
        screen = screen_text(app)
        if check(screen):
            return screen
        await pilot.pause(0.1)
    raise AssertionError(f"not within {seconds} s; the screen shows:\n{screen}")


def source_for(server, **options) -> cluster.ClusterSource:
    return cluster.ClusterSource(["alpha"], str(server.kubeconfig), request_timeout=2, **options)


async def test_reload_while_the_server_is_gone_keeps_the_view_honest_and_recovers(kube_api):
    load_bookinfo(kube_api)
    source = source_for(kube_api)
    app = MeshApp(source)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0])
            kube_api.stop()
            await until(pilot, app, lambda s: "● live" not in s.splitlines()[0])

            await press(pilot, "r")

            screen = await until(pilot, app, lambda s: "reload failed: context alpha" in s)
            assert "Reload failed" in screen
            for _ in range(20):  # never "live" while the server is gone, not even briefly
                assert "● live" not in header(app)
                assert "connection restored" not in screen_text(app)
                await pilot.pause(0.1)
            assert "reconnecting" in header(app) or "stale since" in header(app)

            kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
            kube_api.start()
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0], 8)
            await until(pilot, app, lambda s: "connection restored" in s)
            # The data is the server's: the deleted rule's routed subsets are undefined now.
            await until(pilot, app, lambda s: "✖ 2 errors" in s.splitlines()[0], 5)
            assert {"v1", "v2"} == set(source.snapshot()[0].hosts[REVIEWS].undefined_subsets)
    finally:
        source.stop()


async def test_forbidden_destination_rules_are_a_lasting_partial_marker_not_errors(kube_api):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")
    source = source_for(kube_api)
    app = MeshApp(source)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0])
            # Named when the line has room; at 120 columns the help names it.
            assert header(app).rstrip().endswith("● live │ ◐ partial (?)")
            await pilot.resize_terminal(160, 40)
            await until(pilot, app, lambda s: "◐ partial: DestinationRules" in s.splitlines()[0])
            assert "✔ no findings" in header(app)  # no invented "503" for each routed subset
            assert "undefined" not in tree_text(app)

            await press(pilot, "?")
            help_text = screen_text(app)
            assert "Not read (findings that depend on it are withheld)" in help_text
            assert "alpha: DestinationRules not readable: forbidden cluster-wide (403)" in help_text
    finally:
        source.stop()


async def test_pods_unseen_in_a_namespace_stay_in_the_header(kube_api):
    load_bookinfo(kube_api)
    kube_api.forbid_pods_cluster_wide()
    source = source_for(kube_api)
    app = MeshApp(source)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(pilot)
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0])
            marker = "◐ partial: Pods"
            assert header(app).rstrip().endswith(marker)
            await pilot.pause(1.5)  # toasts come and go; the marker stays
            assert marker in header(app)
    finally:
        source.stop()


async def test_a_change_during_a_failing_reload_is_shown_once_the_reload_gives_up(
    kube_api, monkeypatch
):
    load_bookinfo(kube_api)
    monkeypatch.setattr(kube, "RETRY_BACKOFF", (0.3, 0.3, 0.3, 0.3))  # the reload fails in ~1 s
    source = source_for(kube_api)
    app = MeshApp(source)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0])
            assert "⚠ 1 warning" in header(app) and "error" not in header(app)
            kube_api.fail_for(60, code=500, match=lambda r: r.verb == "list")

            await pilot.press("r")
            assert app.busy
            # The watches still follow the server: this change arrives while the reload fails.
            kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")

            await until(pilot, app, lambda s: "Reload failed" in s, 10)
            # The subsets the reviews routes name are undefined now: 2 errors, still live.
            screen = await until(pilot, app, lambda s: "✖ 2 errors" in s.splitlines()[0], 5)
            assert "● live" in screen.splitlines()[0]
    finally:
        source.stop()


@pytest.mark.parametrize(
    ("kind", "resource", "tree_says", "detail_says", "never"),
    [
        (
            "DestinationRule",
            "destinationrules",
            "DestinationRules not readable (403)",
            "DestinationRules not readable (403): the policy is unknown",
            ("no DestinationRule", "Istio default"),
        ),
        (
            "VirtualService",
            "virtualservices",
            "VirtualServices not readable (403)",
            "VirtualServices not readable (403): the routes are unknown.",
            ("default routing", "No VirtualService routes"),
        ),
    ],
)
async def test_an_unreadable_kind_is_said_where_it_would_be_shown_not_shown_as_none(
    kube_api, kind, resource, tree_says, detail_says, never
):
    load_bookinfo(kube_api)
    kube_api.forbid(resource)
    source = source_for(kube_api)
    app = MeshApp(source)
    try:
        async with app.run_test(size=(220, 40)) as pilot:
            await settle(pilot)
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0])
            app.host_tree.reveal(NodeRef(Kind.DEFAULT, 0, "bookinfo", REVIEWS))
            await pilot.pause()
            tree, detail = tree_text(app), detail_text(app)
            assert tree_says in tree
            assert detail_says in detail
            for words in never:
                assert words not in tree and words not in detail
    finally:
        source.stop()


async def test_two_contexts_one_down_at_start_open_with_the_other_and_join_later(
    kube_api_pair, monkeypatch
):
    first, second = kube_api_pair
    for server in kube_api_pair:
        load_bookinfo(server)
    monkeypatch.setattr(watching, "BACKOFF", (0.1, 0.2, 0.4))
    second.stop()
    source = cluster.ClusterSource(
        ["alpha", "beta"], str(first.kubeconfig), request_timeout=2, open_partially=True
    )
    source.preflight()
    app = MeshApp(source)
    try:
        async with app.run_test(size=(160, 40), notifications=True) as pilot:
            await settle(pilot)
            await until(pilot, app, lambda s: "down: beta" in s.splitlines()[0])
            assert app.is_running  # not exit 2: alpha can be inspected
            await until(pilot, app, lambda s: "context beta: cannot reach the API server" in s)
            assert "reviews" in tree_text(app)

            second.start()
            await until(pilot, app, lambda s: "● live" in s.splitlines()[0], 8)
            # beta's namespace too, once the view with beta's objects is drawn (the header
            # may say live a moment before it)
            await until(pilot, app, lambda s: tree_text(app).count("bookinfo") >= 2, 8)
    finally:
        source.stop()
