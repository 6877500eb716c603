"""End to end, live: the installed `meshtui` in tmux against the loopback API server, which
stops, is reloaded against (`r`) while gone, and comes back."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kubeapi import KubeAPIServer
from tests.live.cluster_fixtures import load_bookinfo
from tests.tui.test_e2e_tmux import TMUX, Terminal, meshtui_command

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (apt-get install -y tmux); end-to-end test skipped"
)


def header(screen: str) -> str:
    return screen.splitlines()[0] if screen else ""


@pytest.fixture
def live_terminal(kube_api: KubeAPIServer, tmp_path: Path) -> Iterator[Terminal]:
    load_bookinfo(kube_api)
    name = f"meshtui-live-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    term = Terminal(name, tmp_path / "tmux.sock")
    home = tmp_path / "home"
    home.mkdir()
    command = (
        f"env -u COLUMNS -u LINES -u KUBECONFIG HOME={home} TERM=xterm-256color "
        f"{meshtui_command()} --kubeconfig {kube_api.kubeconfig} --context alpha "
        "--request-timeout 2"
    )
    term.tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    try:
        yield term
    finally:
        term.tmux("kill-server")


def test_stop_reload_start_never_says_live_while_gone_and_is_live_after(
    kube_api: KubeAPIServer, live_terminal: Terminal
):
    term = live_terminal
    screen = term.wait_for(lambda s: "● live" in header(s) and "reviews" in s)
    assert "context alpha (all namespaces)" in header(screen)

    kube_api.stop()
    term.wait_for(lambda s: "reconnecting" in header(s) or "stale since" in header(s))
    term.send("r")
    screen = term.wait_for(lambda s: "reload failed: context alpha" in s)
    for _ in range(15):  # 1.5 s: neither the header nor a banner claims the view is live
        screen = term.screen()
        assert "● live" not in header(screen) and "connection restored" not in screen
        time.sleep(0.1)

    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
    kube_api.start()
    term.wait_for(lambda s: "● live" in header(s), timeout=30)
    # What the server holds now: reviews' routed subsets v1 and v2 are undefined.
    screen = term.wait_for(lambda s: "✖ 2 errors" in header(s), timeout=10)
    assert "reviews" in screen
    term.send("q")
    term.wait_for(lambda s: "● live" not in s)
    assert kube_api.methods() == {"GET"}
