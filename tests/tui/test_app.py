"""The inspector beyond single keys: loading in a worker, live updates, hostile text, colour."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.resources import Origin, parse_object
from meshtui.sources import Source
from meshtui.sources.files import FileSource
from meshtui.tui.app import MeshApp
from meshtui.tui.model import Kind, NodeRef
from meshtui.tui.screens.help import HelpScreen
from meshtui.tui.screenshot import screenshot
from tests.tui.helpers import (
    BOOKINFO,
    DORMANT,
    HOSTILE,
    ROOT,
    ROUTE_TO_V2,
    cursor_label,
    detail_text,
    editable_copy,
    make_app,
    press,
    screen_text,
    settle,
    tree_text,
)

SIZE = (120, 40)


class SlowSource(Source):
    """A folder that takes until `release` is set to read: the UI must answer meanwhile."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.files = FileSource([path])
        self.label = self.files.label
        self.release = threading.Event()

    def load(self) -> list[Mesh]:
        self.release.wait(10)
        return self.files.load()


async def test_loading_runs_in_a_worker_with_an_indicator_and_keys_still_work():
    source = SlowSource(DORMANT)
    app = MeshApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "⟳ loading…" in screen_text(app).splitlines()[0]
        assert app.host_tree.loading
        await pilot.press("question_mark")  # the UI answers while the source is read
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        source.release.set()
        await settle(pilot)
        assert "loading" not in screen_text(app).splitlines()[0]
        assert "checkout" in tree_text(app)
        assert app.focused is app.host_tree


async def test_apply_analysis_from_another_thread_keeps_cursor_and_open_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """What the live source does: new analyses from its watch thread, tree refreshed in place."""
    folder = editable_copy(DORMANT, tmp_path, monkeypatch)
    async with make_app("mesh").run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "j", "j", "l")  # subset v1, opened on its workloads
        assert cursor_label(app) == "v1  no route"
        assert "Deployment shop/checkout-v1" in tree_text(app)
        (folder / "virtual-service.yaml").write_text(ROUTE_TO_V2)
        analyses = [mesh.analyze() for mesh in FileSource(["mesh"]).load()]

        await asyncio.to_thread(app.call_from_thread, app.apply_analysis, analyses)
        await settle(pilot)

        assert cursor_label(app) == "v1  no route"
        tree = tree_text(app)
        assert "Deployment shop/checkout-v1" in tree
        assert "v2  100%" in tree
        assert "policy never applied" not in tree
        assert "✔ no findings" in screen_text(app).splitlines()[0]
        assert "subset v1 of checkout.shop.svc.cluster.local" in detail_text(app)


async def test_a_change_above_the_cursor_updates_in_place_and_the_cursor_stays_put(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A live change to an open host above the cursor adds a line there: the cursor must stay
    on its node, other open nodes stay open, and only the changed host is rebuilt."""
    folder = editable_copy(BOOKINFO, tmp_path, monkeypatch)
    async with make_app("mesh").run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        tree = app.host_tree
        await press(pilot, "s")  # by name: details, productpage, ratings, reviews
        details = next(n for n in tree.root.children[0].children if "details" in str(n.label))
        tree.expand_node(details)
        reviews = next(n for n in tree.root.children[0].children if "reviews" in str(n.label))
        tree.reveal(NodeRef(Kind.SUBSET, 0, "bookinfo", "reviews.bookinfo.svc.cluster.local", "v2"))
        await press(pilot, "l")  # open v2 on its workload
        await settle(pilot)
        assert cursor_label(app) == "v2  10%"
        rules = folder / "destination-rules.yaml"
        details_subsets = (
            "  host: details\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n  subsets:\n"
        )
        assert details_subsets in rules.read_text()
        rules.write_text(
            rules.read_text().replace(
                details_subsets, details_subsets + "  - name: v9\n    labels: {version: v9}\n"
            )
        )
        analyses = [mesh.analyze() for mesh in FileSource(["mesh"]).load()]

        await asyncio.to_thread(app.call_from_thread, app.apply_analysis, analyses)
        await settle(pilot)

        assert cursor_label(app) == "v2  10%"
        assert "subset v2 of reviews.bookinfo.svc.cluster.local" in detail_text(app)
        shown = tree_text(app)
        assert "v9  ⚠ selects nothing" in shown  # the changed host, rebuilt while open
        assert "Deployment bookinfo/reviews-v2" in shown  # v2 still open
        # In place: the unchanged host's node is the same node, not a rebuilt copy.
        assert (
            next(n for n in tree.root.children[0].children if "reviews" in str(n.label)) is reviews
        )


async def test_a_source_that_cannot_be_read_at_all_exits_2_with_the_reason():
    app = make_app("tests/tui/fixtures/no-such-folder")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.is_running
    assert app.return_code == 2
    assert "no-such-folder: no such file or directory" in app.load_error


class FakeLiveSource(Source):
    """A live source without a cluster: the test changes its mesh and calls `notify`."""

    live = True

    def __init__(self, path: str) -> None:
        super().__init__()
        self.files = FileSource([path])
        self.label = "context fake (all namespaces)"
        self.notify: Callable[[set[str]], None] | None = None
        self.state = "live"

    def load(self) -> list[Mesh]:
        meshes = self.files.load()
        with self.lock:
            self.meshes = meshes
            self.warnings = ["pods: 403 forbidden cluster-wide; read namespace shop only"]
        return meshes

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        self.notify = notify

    @property
    def status(self) -> str:
        return self.state


async def test_a_live_source_is_followed_its_changes_shown_in_place():
    source = FakeLiveSource(DORMANT)
    app = MeshApp(source)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert "● live" in screen_text(app).splitlines()[0]
        assert any("403 forbidden" in str(n.message) for n in app._notifications)
        assert source.notify is not None
        await press(pilot, "j", "j")  # subset v1
        assert cursor_label(app) == "v1  no route"

        route = parse_object(yaml.safe_load(ROUTE_TO_V2), Origin(cluster="fake"))
        with source.lock:
            hosts = source.meshes[0].add(route)
        source.state = "stale since 10:42"
        notify = source.notify
        await asyncio.to_thread(notify, hosts)  # from another thread, as a watch does
        await pilot.pause(0.5)
        await settle(pilot)

        assert cursor_label(app) == "v1  no route"
        assert "v2  100%" in tree_text(app)
        header = screen_text(app).splitlines()[0]
        assert "✔ no findings" in header
        assert "⚠ stale since 10:42" in header


async def test_status_of_a_live_source_shows_in_the_header():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        app.status = "reconnecting"
        await pilot.pause()
        assert "⟳ reconnecting" in screen_text(app).splitlines()[0]


async def test_several_clusters_are_grouped_by_cluster():
    bookinfo = FileSource([BOOKINFO]).load()[0]
    dormant = FileSource([DORMANT]).load()[0]
    bookinfo.cluster, dormant.cluster = "east", "west"
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.apply_analysis([bookinfo.analyze(), dormant.analyze()])
        await pilot.pause()
        tree = tree_text(app)
        assert "▼ cluster east  4 hosts  ⚠ 1 warning" in tree
        assert "cluster west  1 host  ⚠ 1 warning" in tree
        assert "5 hosts · 8 subsets · 8 workloads" in screen_text(app).splitlines()[0]
        await press(pilot, "n", "n")
        assert cursor_label(app).startswith("v2  ⚠ policy never applied")


async def test_unreadable_input_is_a_finding_under_input_files(tmp_path: Path):
    folder = editable_copy(DORMANT, tmp_path)
    (folder / "broken.yaml").write_text("kind: [unclosed\n")
    async with make_app(str(folder)).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        assert "input files  ✖ 1 error" in tree_text(app)
        await press(pilot, "g")
        await press(pilot, "n")
        assert cursor_label(app).startswith("✖ error ParseError")
        text = detail_text(app)
        assert "ParseError" in text and "broken.yaml:" in text
        assert "The file could not be read as YAML or JSON." in text


async def test_markup_and_escapes_in_resources_are_shown_as_text_never_run():
    async with make_app(HOSTILE).run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app = pilot.app
        for keys in ([], ["n"], ["n"], ["y"], ["y", "g"]):
            await press(pilot, *keys)
            shown = screen_text(app) + detail_text(app)
            assert "\x1b" not in shown and "\x07" not in shown
        await press(pilot, "g", "j", "j", "j", "j")  # input files, 2 findings, namespace, host
        assert cursor_label(app).startswith("[bold]evil[/bold]")
        shown = screen_text(app) + detail_text(app)
        assert "namespace ns-\\x1b[31mred" in shown
        # Istio's webhook rejects the DestinationRule (no DNS names): its finding quotes the
        # hostile values, literally (tests/tui/test_text.py shows them on subset nodes).
        await press(pilot, "g", "j")
        shown = screen_text(app) + detail_text(app)
        assert "InvalidResource" in shown
        assert "'v1\\x1b]0;pwned\\x07'" in shown
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        assert "[bold]evil[/bold]" in svg.replace("&#160;", " ")


async def test_raw_yaml_of_a_hostile_resource_is_inert():
    async with make_app(HOSTILE).run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "y")
        text = detail_text(app)
        assert "# Service ns-\\x1b[31mred/[bold]evil[/bold]" in text
        assert 'name: "[bold]evil[/bold]"' in text
        assert "\x1b" not in text


async def test_findings_read_without_colour(monkeypatch: pytest.MonkeyPatch):
    """NO_COLOR: every finding still has its icon and words."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        shown = screen_text(app)
        assert "⚠ 1 warning" in shown
        assert "v3  ⚠ policy never applied" in shown
        await press(pilot, "n")
        assert "⚠ policy never applied: no route names this subset" in screen_text(app)
        svg = app.export_screenshot()
        assert "policy&#160;never&#160;applied" in svg


async def test_the_readme_screenshot_is_current(monkeypatch: pytest.MonkeyPatch):
    """docs/screenshot.svg is what the app shows today on the bookinfo example."""
    monkeypatch.chdir(ROOT)  # the path is shown as given
    svg = await screenshot(["examples/bookinfo"])
    readme_svg = (ROOT / "docs" / "screenshot.svg").read_text(encoding="utf-8")
    assert svg == readme_svg, (
        "the README's screenshot is out of date: run "
        "`python -m meshtui.tui.screenshot examples/bookinfo docs/screenshot.svg`"
    )


async def test_clearing_the_filter_brings_back_what_was_open():
    app = make_app(BOOKINFO)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        details = NodeRef(Kind.HOST, 0, "bookinfo", "details.bookinfo.svc.cluster.local")
        app.host_tree.reveal(NodeRef(Kind.DEFAULT, 0, "bookinfo", details.host))  # opens it
        await pilot.pause()
        assert app.host_tree.node_for(details).is_expanded
        await press(pilot, "slash", *"ratings", "enter")
        assert "details" not in tree_text(app)
        await press(pilot, "escape")
        await pilot.pause()
        node = app.host_tree.node_for(details)
        assert node is not None and node.is_expanded
        assert "(no subset)" in tree_text(app)
