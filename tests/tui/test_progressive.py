"""The inspector opens a large folder progressively: the hosts of the first files read are
listed, and keys move through them, while the rest is read; verdicts come with the whole input
(a DestinationRule or Service still unread would change them)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from meshtui.sources import folder as folder_module
from meshtui.tui.app import MeshApp
from tests.tui.helpers import (
    DORMANT,
    ROOT,
    cursor_label,
    detail_text,
    make_app,
    screen_text,
    settle,
    tree_text,
)

SIZE = (120, 40)
PAYMENTS = """apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
spec:
  ports:
  - {name: http, port: 8080}
"""


@pytest.fixture
def held_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """A folder of three files (destination-rule.yaml, service.yaml, zz-payments.yaml) whose
    reading stops before the second until the event is set; the preview comes after the first."""
    folder = tmp_path / "mesh"
    shutil.copytree(ROOT / DORMANT, folder)
    (folder / "zz-payments.yaml").write_text(PAYMENTS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(folder_module, "PREVIEW_SECONDS", 0.0)
    release = threading.Event()
    read_unit = folder_module.read_unit
    read: list[Path] = []

    def held(path: Path, *args: Any, **kwargs: Any) -> Any:
        read.append(path)
        if len(read) == 2:
            release.wait(10)
        return read_unit(path, *args, **kwargs)

    monkeypatch.setattr(folder_module, "read_unit", held)
    return release


def header(app: MeshApp) -> str:
    return screen_text(app).splitlines()[0]


async def until_preview(pilot: Any) -> None:
    for _ in range(200):  # the preview comes from the loading thread: wait for it, bounded
        if "verdicts when all is read" in header(pilot.app):
            await pilot.pause()  # and the tree drawn
            return
        await pilot.pause(0.02)
    raise AssertionError(f"no preview; the screen shows:\n{screen_text(pilot.app)}")


async def test_the_first_files_are_listed_and_keys_work_while_the_rest_is_read(
    held_folder: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("mesh")
    async with app.run_test(size=SIZE) as pilot:
        await until_preview(pilot)
        assert "1/3 files read" in header(app) and "⟳ loading…" in header(app)
        assert "checkout" in tree_text(app) and "payments" not in tree_text(app)
        # No verdict on part of the input: the subset policy's finding is not shown yet.
        # No verdict on part of the input, and nothing said missing that may still be read.
        assert "no Service" not in tree_text(app) and "warning" not in header(app)
        before = cursor_label(app)
        await pilot.press("k")  # the loading thread is still held: the tree answers keys
        await pilot.pause()
        assert cursor_label(app) != before and cursor_label(app).startswith("namespace shop")
        assert "verdicts when all is read" in header(app)
        assert "Reading mesh (1/3 files read)" in detail_text(app)
        held_folder.set()
        await settle(pilot)
        assert "verdicts when all is read" not in header(app)
        assert "loading" not in header(app)
        assert "checkout" in tree_text(app) and "payments" in tree_text(app)
        assert "1 warning" in header(app)  # the verdicts of the whole input
        assert app.focused is app.host_tree
        assert cursor_label(app).startswith("namespace shop")  # where the user left it
        progressive = tree_text(app)
    # Laid out as a first view of the whole input (a small mesh opens on its problems), not
    # as the preview had it: as a load without a preview lays it out.
    monkeypatch.setattr(folder_module, "PREVIEW_SECONDS", 60.0)
    async with make_app("mesh").run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tree_text(pilot.app) == progressive


async def test_a_reload_keeps_the_tree_it_has_instead_of_a_preview(
    held_folder: threading.Event,
) -> None:
    held_folder.set()
    app = make_app("mesh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        held_folder.clear()
        shown = tree_text(app)
        await pilot.press("r")
        await pilot.pause(0.1)
        assert "verdicts when all is read" not in header(app)
        assert tree_text(app) == shown
        held_folder.set()
        await settle(pilot)
        assert "1 warning" in header(app)
