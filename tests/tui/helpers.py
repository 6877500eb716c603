"""Helpers for driving the inspector in tests and reading what it shows."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
import yaml
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.worker import WorkerFailed

from meshtui.mesh.analysis import Analysis, Mesh
from meshtui.mesh.resources import InvalidField, Origin, parse_object
from meshtui.sources.files import FileSource
from meshtui.tui.app import MeshApp

ROOT = Path(__file__).resolve().parents[2]
# Copies of the examples (examples/ may change under the README's feet; these do not), and a
# resource full of markup and terminal escapes. Paths are relative to ROOT, as shown on screen.
BOOKINFO = "tests/tui/fixtures/bookinfo"
DORMANT = "tests/tui/fixtures/dormant-policy"
HOSTILE = "tests/tui/fixtures/hostile"
GATEWAY_API = "tests/tui/fixtures/gateway-api"  # examples/gateway-api: ingress and a mesh route
# A route to the dormant fixture's subset v2 (checkout in shop): its policy then applies.
ROUTE_TO_V2 = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: checkout, namespace: shop}
spec:
  hosts: [checkout]
  http:
  - route:
    - destination: {host: checkout, subset: v2}
"""


def editable_copy(
    fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None = None
) -> Path:
    """A copy of a fixture folder, `mesh` under tmp_path, for a test to change. With
    `monkeypatch`, the test runs in tmp_path, so the app shows the folder as `mesh`."""
    folder = tmp_path / "mesh"
    shutil.copytree(ROOT / fixture, folder)
    if monkeypatch is not None:
        monkeypatch.chdir(tmp_path)
    return folder


def hostile_as_stored() -> Analysis:
    """The hostile fixture as a cluster holding it would give it: there pilot reads what is
    stored without validating it again, so its Istio resources (which Istio's webhook would
    reject offline) are analysed, hostile subset names and all."""
    docs = yaml.safe_load_all((ROOT / HOSTILE / "hostile.yaml").read_text())
    resources = [parse_object(d, Origin(cluster="hostile")) for d in docs]
    mesh = Mesh(cluster="hostile")
    mesh.workloads.mark_all_known()
    mesh.load([r for r in resources if r is not None and not isinstance(r, InvalidField)])
    return mesh.analyze()


def make_app(*paths: str) -> MeshApp:
    return MeshApp(FileSource(paths))


async def settle(pilot: Pilot) -> None:
    """Wait for loading (and raw YAML) workers, then for the screen to catch up."""
    with contextlib.suppress(WorkerFailed):  # a failed load is the app's to report
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def press(pilot: Pilot, *keys: str) -> None:
    """Press keys one by one; after a key that started a worker (r, y), wait for it."""
    for key in keys:
        await pilot.press(key)
        if any(w.is_running for w in pilot.app.workers):
            await settle(pilot)


def widget_text(widget: Widget) -> str:
    """The text a widget renders over its whole size (all of a scrollable body)."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))


def screen_text(app: MeshApp) -> str:
    """What the terminal shows right now."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def detail_text(app: MeshApp) -> str:
    """The whole detail pane, as laid out (scrolling reaches all of it)."""
    return widget_text(app.detail_pane.body)


def tree_text(app: MeshApp) -> str:
    return widget_text(app.host_tree)


def cursor_label(app: MeshApp) -> str:
    node = app.host_tree.cursor_node
    return node.label.plain if node is not None else ""  # type: ignore[union-attr]


def tree_label(tree: str, name: str) -> str:
    """The tree line of a subset (or `(no subset)`), without the tree's drawing."""
    for line in tree.splitlines():
        text = line.split("─ ", 1)[-1].removeprefix("▶ ").removeprefix("▼ ").strip()
        if text.startswith(f"{name}  "):
            return text
    raise AssertionError(f"no {name} in the tree:\n{tree}")
