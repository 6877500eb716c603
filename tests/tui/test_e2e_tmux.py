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


Start = Callable[[str], Terminal]


@pytest.fixture
def start_terminal(tmp_path: Path) -> Iterator[Start]:
    """Runs a shell command line in a new 120x40 tmux session at the repository's root."""
    started: list[Terminal] = []

    def start(command: str) -> Terminal:
        name = f"meshtui-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        term = Terminal(name, tmp_path / f"tmux-{len(started)}.sock")
        # COLUMNS/LINES from the test runner would override the terminal size Textual reads.
        line = f"cd {ROOT} && env -u COLUMNS -u LINES TERM=xterm-256color {command}"
        term.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", line)
        started.append(term)
        return term

    try:
        yield start
    finally:
        for term in started:
            term.tmux("kill-server")  # the session and its private server, whatever happened


@pytest.fixture
def terminal(start_terminal: Start) -> Terminal:
    return start_terminal(f"{meshtui_command()} examples/bookinfo")


def test_meshtui_on_bookinfo_in_a_real_terminal(terminal: Terminal):
    screen = terminal.wait_for(lambda s: "policy never applied" in s and "n Next" in s)
    assert "examples/bookinfo" in screen
    assert "4 hosts · 6 subsets · 6 workloads" in screen
    assert "reviews  ⚠ 1 warning" in screen
    assert "? Help  q Quit" in screen and "n Next" in screen  # the footer

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


def test_colon_commands_and_ctrl_c_in_a_real_terminal(start_terminal: Start):
    # The shell says how meshtui exited, and the pane stays to show it.
    terminal = start_terminal(
        f"bash -c '{meshtui_command()} examples/bookinfo; echo meshtui-exit=$?; sleep 60'"
    )
    terminal.wait_for(lambda s: "policy never applied" in s and "? Help" in s)

    terminal.send(":")
    terminal.wait_for(lambda s: "ns  ctx  client  q" in s)
    terminal.send("ns", "Tab")  # completes the command, then lists the namespaces
    terminal.wait_for(lambda s: "all  bookinfo" in s)
    terminal.send("b", "Tab", "Enter")
    screen = terminal.wait_for(lambda s: "4 hosts · ns bookinfo" in s)
    assert "sort: findings first" in screen  # `s` typed in the line did not sort

    terminal.send(":", "pods", "Enter")
    terminal.wait_for(lambda s: "Unknown command :pods" in s)

    terminal.send(":", "ns book", "C-c")  # ctrl+c in the line empties it, and meshtui stays
    screen = terminal.wait_for(lambda s: "ns  ctx  client  q" in s)
    assert "meshtui-exit" not in screen
    terminal.send("Escape")
    terminal.wait_for(lambda s: "tab Complete" not in s and "? Help" in s)

    terminal.send("C-c")  # ctrl+c quits, as q does
    screen = terminal.wait_for(lambda s: "meshtui-exit=" in s)
    assert "meshtui-exit=0" in screen
    assert "Press ctrl+q" not in screen


def test_a_piped_stdout_is_one_line_and_no_escape_codes(start_terminal: Start):
    terminal = start_terminal(
        f"bash -c '{meshtui_command()} examples/bookinfo | od -c | head -3; "
        "echo meshtui-exit=${PIPESTATUS[0]}; sleep 60'"
    )
    screen = terminal.wait_for(lambda s: "meshtui-exit=" in s)
    assert "meshtui-exit=2" in screen
    assert "standard output is not a terminal" in screen
    assert "meshtui check examples/bookinfo" in screen
    # What reached the pipe: nothing (od prints only its end offset, 0000000).
    lines = [line for line in screen.splitlines() if line.strip()]
    assert "0000000" in lines and "033" not in screen


def test_yaml_piped_into_bare_meshtui_opens_the_inspector_on_it(start_terminal: Start, tmp_path):
    # `kustomize build | meshtui`: the documents come on stdin, the keys from the terminal.
    stream = tmp_path / "rendered.yaml"
    files = sorted((ROOT / "examples" / "bookinfo").glob("*.yaml"))
    stream.write_text("".join("---\n" + f.read_text() for f in files))
    terminal = start_terminal(
        f"bash -c 'cat {stream} | {meshtui_command()}; echo meshtui-exit=$?; sleep 60'"
    )
    screen = terminal.wait_for(lambda s: "<stdin>" in s and "reviews" in s)
    assert "kubeconfig" not in screen
    terminal.send("q")
    screen = terminal.wait_for(lambda s: "meshtui-exit=" in s)
    assert "meshtui-exit=0" in screen


def test_p_shows_the_selected_fix_in_the_pager(start_terminal: Start, tmp_path):
    out = tmp_path / "paged.yaml"
    terminal = start_terminal(f"PAGER='tee {out}' {meshtui_command()} examples/bookinfo")
    terminal.wait_for(lambda s: "Help" in s and "reviews" in s)
    terminal.send("n")
    terminal.wait_for(lambda s: "Fix 1 of" in s)
    terminal.send("P")
    deadline = time.monotonic() + 20
    while not (out.exists() and "kind: VirtualService" in out.read_text()):
        assert time.monotonic() < deadline, "the pager got no fix"
        time.sleep(0.1)
    terminal.wait_for(lambda s: "Fix 1 of" in s)  # back in the inspector once the pager ends


def test_keys_typed_right_after_c_reach_the_client_prompt(start_terminal: Start):
    # A burst from the terminal (one read): the letters after `c` must not reach the tree.
    terminal = start_terminal(f"{meshtui_command()} tests/tui/fixtures/clients")
    terminal.wait_for(lambda s: "Help" in s and "payments" in s)
    terminal.send("c", *"frontends", "Enter")
    screen = terminal.wait_for(lambda s: "No client in namespace frontends" in s)
    assert "sort: findings first" in screen  # s did not reach the tree
    terminal.send("BSpace", "Enter")
    terminal.wait_for(lambda s: "as clients in frontend see it" in s)
