"""The inspector follows its folder: an edited, added, removed or broken file shows up on the
screen by itself (no key pressed), through the same path a live cluster's changes take."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from meshtui.sources.files import FileSource
from meshtui.tui.app import MeshApp
from tests.tui.helpers import ROOT, ROUTE_TO_V2, screen_text, settle, tree_text

SIZE = (120, 40)
DORMANT = ROOT / "tests" / "tui" / "fixtures" / "dormant-policy"
EXTRA = """apiVersion: v1
kind: Service
metadata: {name: extra, namespace: shop}
spec:
  ports: [{port: 80}]
"""


@asynccontextmanager
async def following(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Pilot]:
    """The inspector on a copy of the dormant-policy folder, shown as `mesh`, following it."""
    shutil.copytree(DORMANT, tmp_path / "mesh")
    monkeypatch.chdir(tmp_path)
    source = FileSource(["mesh"], follow=True)
    app = MeshApp(source)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            assert "⚠ 1 warning" in header(app)
            assert "v2  ⚠ policy never applied" in tree_text(app)
            yield pilot
    finally:
        source.stop()


def header(app: MeshApp) -> str:
    return screen_text(app).splitlines()[0]


async def shows(pilot: Pilot, check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Let the app run (no key) until `check` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if check():
            return True
    return check()


async def test_an_edited_file_shows_up_without_a_key(tmp_path, monkeypatch):
    async with following(tmp_path, monkeypatch) as pilot:
        rule = Path("mesh/destination-rule.yaml")
        text = rule.read_text()
        rule.write_text(text[: text.index("    trafficPolicy:")])  # the dormant policy goes
        assert await shows(pilot, lambda: "✔ no findings" in header(pilot.app))
        assert "policy never applied" not in tree_text(pilot.app)


async def test_an_added_file_shows_up_without_a_key(tmp_path, monkeypatch):
    async with following(tmp_path, monkeypatch) as pilot:
        Path("mesh/route.yaml").write_text(ROUTE_TO_V2)
        assert await shows(pilot, lambda: "v2  100%" in tree_text(pilot.app))
        assert "✔ no findings" in header(pilot.app)


async def test_a_removed_file_shows_up_without_a_key(tmp_path, monkeypatch):
    async with following(tmp_path, monkeypatch) as pilot:
        extra = Path("mesh/extra.yaml")
        extra.write_text(EXTRA)
        assert await shows(pilot, lambda: "2 hosts" in header(pilot.app))
        assert "extra" in tree_text(pilot.app)
        extra.unlink()
        assert await shows(pilot, lambda: "1 host ·" in header(pilot.app))
        assert "extra" not in tree_text(pilot.app)


async def test_a_broken_file_is_a_finding_and_the_rest_stays(tmp_path, monkeypatch):
    async with following(tmp_path, monkeypatch) as pilot:
        Path("mesh/route.yaml").write_text(ROUTE_TO_V2)
        assert await shows(pilot, lambda: "v2  100%" in tree_text(pilot.app))
        Path("mesh/route.yaml").write_text(ROUTE_TO_V2.replace("hosts: [checkout]", "hosts: ["))
        assert await shows(pilot, lambda: "✖ 1 error" in header(pilot.app))
        app = pilot.app
        # The route's file no longer parses: its route is gone, the other files stay.
        assert "v2  ⚠ policy never applied" in tree_text(app)
        assert "1 host · 2 subsets · 2 workloads" in header(app)
        assert "input files  ✖ 1 error" in tree_text(app)
        await pilot.press("N")  # the ParseError is a finding like any other, with its place
        assert await shows(pilot, lambda: "ParseError  mesh/route.yaml:7" in tree_text(app))


async def test_the_inspector_on_a_folder_without_yaml_exits_2_saying_so(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here\n")
    app = MeshApp(FileSource([tmp_path], follow=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert app.return_code == 2
    assert app.load_error == f"0 files with YAML or JSON under {tmp_path}"


def without_dormant_policy(folder: Path) -> None:
    rule = folder / "destination-rule.yaml"
    text = rule.read_text()
    rule.write_text(text[: text.index("    trafficPolicy:")])


async def test_a_folder_moved_away_is_missing_and_followed_again_when_moved_back(
    tmp_path, monkeypatch
):
    async with following(tmp_path, monkeypatch) as pilot:
        app = pilot.app
        Path("mesh").rename("away")
        assert await shows(pilot, lambda: "folder missing" in header(app))
        assert await shows(pilot, lambda: "mesh was moved or deleted" in screen_text(app))
        assert "v2  ⚠ policy never applied" in tree_text(app)  # what it held, still shown
        without_dormant_policy(Path("away"))  # not at the followed path: not shown
        await pilot.pause(1.0)
        assert "⚠ 1 warning" in header(app)

        Path("away").rename("mesh")  # back: read again, with the edit made meanwhile
        assert await shows(pilot, lambda: "✔ no findings" in header(app))
        assert "folder missing" not in header(app)
        Path("mesh/extra.yaml").write_text(EXTRA)  # and followed again
        assert await shows(pilot, lambda: "2 hosts" in header(app))
        assert "kustomiz" not in screen_text(app)


async def test_a_folder_deleted_and_recreated_is_followed_at_its_path(tmp_path, monkeypatch):
    async with following(tmp_path, monkeypatch) as pilot:
        app = pilot.app
        shutil.rmtree("mesh")
        assert await shows(pilot, lambda: "folder missing" in header(app))

        shutil.copytree(DORMANT, "mesh")  # what `git checkout` does
        without_dormant_policy(Path("mesh"))
        assert await shows(pilot, lambda: "✔ no findings" in header(app))
        assert "folder missing" not in header(app)
        Path("mesh/extra.yaml").write_text(EXTRA)
        assert await shows(pilot, lambda: "2 hosts" in header(app))
        assert "kustomiz" not in screen_text(app)
