"""End to end: the installed `meshtui` in a real terminal (tmux) follows its folder: an edited,
added, removed and broken file each show up on screen with no key pressed."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sources.test_follow_tui import DORMANT, EXTRA, ROUTE_TO_V2
from tests.tui.test_e2e_tmux import TMUX, Terminal, meshtui_command

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (apt-get install -y tmux); end-to-end test skipped"
)


@pytest.fixture
def folder_terminal(tmp_path: Path) -> Iterator[Terminal]:
    shutil.copytree(DORMANT, tmp_path / "mesh")
    name = f"meshtui-follow-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    term = Terminal(name, tmp_path / "tmux.sock")
    command = (
        f"cd {tmp_path} && env -u COLUMNS -u LINES TERM=xterm-256color {meshtui_command()} mesh"
    )
    term.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    try:
        yield term
    finally:
        term.tmux("kill-server")


def header(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


def test_edits_show_up_in_a_real_terminal_without_a_key(folder_terminal: Terminal, tmp_path):
    term = folder_terminal
    mesh = tmp_path / "mesh"
    term.wait_for(lambda s: "v2  ⚠ policy never applied" in s and "Help" in s)

    (mesh / "route.yaml").write_text(ROUTE_TO_V2)  # added
    screen = term.wait_for(lambda s: "v2  100%" in s)
    assert "✔ no findings" in header(screen)

    rule = mesh / "destination-rule.yaml"  # edited: v2's labels no longer match a workload
    rule.write_text(rule.read_text().replace("labels: {version: v2}", "labels: {version: v9}"))
    # routed 100%, its requests fail (503): an error
    screen = term.wait_for(lambda s: "✖ 1 error" in header(s))
    assert "v2  ✖ selects nothing" in screen

    (mesh / "extra.yaml").write_text(EXTRA)
    term.wait_for(lambda s: "2 hosts" in header(s))
    (mesh / "extra.yaml").unlink()  # removed
    term.wait_for(lambda s: "1 host ·" in header(s))

    (mesh / "route.yaml").write_text("kind: [\n")  # broken
    screen = term.wait_for(lambda s: "input files  ✖ 1 error" in s)
    assert "v2  ⚠ policy never applied" in screen  # the route is gone, the rest stays

    term.send("q")
    term.wait_for(lambda s: "policy never applied" not in s)
