"""End to end: the installed `meshtui` in a real terminal (tmux), driven by keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.helpers import ROOT

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (apt-get install -y tmux); end-to-end test skipped"
)


def meshtui_command() -> str:
    """The installed console script, next to this Python if it is not on PATH."""
    found = shutil.which("meshtui") or str(Path(sys.executable).with_name("meshtui"))
    return found


class Terminal:
    """A detached tmux session of 120x40 on a tmux server of its own (no user config)."""

    def __init__(self, name: str, socket: Path) -> None:
        self.name = name
        self.socket = socket

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-S", str(self.socket), "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, check: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out; the terminal shows:\n{screen}")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    name = f"meshtui-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    term = Terminal(name, tmp_path / "tmux.sock")
    # COLUMNS/LINES from the test runner would override the terminal size Textual reads.
    command = (
        f"cd {ROOT} && env -u COLUMNS -u LINES TERM=xterm-256color "
        f"{meshtui_command()} examples/bookinfo"
    )
    term.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    try:
        yield term
    finally:
        term.tmux("kill-server")  # the session and its private server, whatever happened


def test_meshtui_on_bookinfo_in_a_real_terminal(terminal: Terminal):
    screen = terminal.wait_for(lambda s: "policy never applied" in s and "Next finding" in s)
    assert "examples/bookinfo" in screen
    assert "4 hosts · 6 subsets · 6 workloads" in screen
    assert "reviews  ⚠ 1 warning" in screen
    assert "Next finding" in screen  # the footer

    terminal.send("n")
    screen = terminal.wait_for(lambda s: "subset v3 of reviews" in s)
    assert "⚠ policy never applied: no route names this subset" in screen
    assert "Subset policy  never applied: no route names this subset" in screen

    terminal.send("/")
    terminal.send("ratings")
    screen = terminal.wait_for(lambda s: "1 host · filter “ratings”" in s)
    tree = "\n".join(line[:48] for line in screen.splitlines())
    assert "ratings" in tree and "details" not in tree and "reviews" not in tree
    terminal.send("Escape")
    terminal.wait_for(lambda s: "productpage" in s and "filter" not in s)

    terminal.send("?")
    terminal.wait_for(lambda s: "meshtui keys" in s and "Next finding" in s)
    terminal.send("Escape")
    terminal.wait_for(lambda s: "meshtui keys" not in s)

    terminal.send("q")
    terminal.wait_for(lambda s: "policy never applied" not in s)
