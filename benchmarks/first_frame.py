"""The inspector's first frame on a large folder, from process launch, in a real terminal.

    python benchmarks/first_frame.py [--shape compact] [--hosts 10000] [--presses 20]
                                     [--repeat 1] [--before CHECKOUT]

Runs `meshtui DIR` in tmux (120x40) on the 10,000-host mesh of benchmarks/shapes.py and polls
the pane: the first frame is the first capture showing a host row of the tree, timed from
just before tmux is asked to start the process (Python's start and imports included). While
the rest is read (the header says "verdicts when all is read"), `j` is pressed and the time to
the first capture that differs (the cursor moved) is key-to-repaint; a capture costs a few
milliseconds, which these figures include. Then the time until the whole input is shown, and
the process's peak resident memory (VmHWM). Then, in this process (Textual's Pilot), the
time from `j` to the first frame drawn, while the rest is read and after (a tmux capture
alone costs tens of milliseconds on a busy machine). With `--before`, another checkout is
run the same way, alternated. Targets (issue 24): first frame within 1.5 s; key-to-repaint
under 30 ms while loading; peak memory no more than before.
A benchmark, not a test: it prints the figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_scale import machine  # noqa: E402
from shapes import shape_folder  # noqa: E402

SESSION = "meshtui-first-frame"
HOST_ROW = re.compile(r"[├└]─ [▶▼] \S")
PREVIEW = "verdicts when all is read"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _pane(escapes: bool = False) -> str:
    return _tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", SESSION)


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _key(pane: str) -> float | None:
    """Press `j`; the seconds until the pane differs from `pane` (None: not within 5 s)."""
    sent = time.perf_counter()
    _tmux("send-keys", "-t", SESSION, "j")
    while time.perf_counter() - sent < 5:
        if _pane(escapes=True) != pane:
            return time.perf_counter() - sent
    return None


def run(folder: Path, checkout: Path, presses: int, timeout: float = 120) -> dict[str, Any]:
    """One launch: first frame, key-to-repaint while loading, whole input shown, peak MB."""
    _tmux("kill-session", "-t", SESSION)
    command = f"cd {checkout} && PYTHONPATH={checkout} exec {sys.executable} -m meshtui {folder}"
    start = time.perf_counter()
    _tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command)
    pid = int(_tmux("display", "-p", "-t", SESSION, "#{pane_pid}").strip() or 0)
    out: dict[str, Any] = {"keys": []}
    try:
        while time.perf_counter() - start < timeout:
            pane = _pane()
            if HOST_ROW.search(pane):
                out["first"] = time.perf_counter() - start
                out["preview"] = PREVIEW in pane
                break
            time.sleep(0.005)
        while time.perf_counter() - start < timeout:
            pane = _pane(escapes=True)
            if PREVIEW not in pane and "loading…" not in pane:
                out["all"] = time.perf_counter() - start
                break
            if len(out["keys"]) < presses:
                key = _key(pane)
                if key is not None and PREVIEW in _pane():  # answered while the rest is read
                    out["keys"].append(key)
            else:
                time.sleep(0.02)
        # The same keys once all is shown: what the capture itself costs, and the baseline.
        time.sleep(0.5)
        out["after"] = [k for k in (_key(_pane(escapes=True)) for _ in range(presses)) if k]
        out["peak_mb"] = _peak_mb(pid) if pid else 0.0
    finally:
        _tmux("kill-session", "-t", SESSION)
    return out


async def keys_in_process(folder: Path, presses: int) -> tuple[list[float], list[float]]:
    """Key-to-repaint measured inside the app (Textual's Pilot, frames as tui_latency.py
    times them), on the same folder: `j` while the rest is read, then once it is shown."""
    from tui_latency import FrameClock

    from meshtui.sources.files import FileSource
    from meshtui.tui.app import MeshApp

    app = MeshApp(FileSource([str(folder)]))
    clock = FrameClock(app)
    loading: list[float] = []
    after: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.mesh_view is None:
            await asyncio.sleep(0.005)
        await pilot.pause()
        for _ in range(presses):
            t0 = time.perf_counter()
            await pilot.press("j")
            frame = await clock.first_after(t0, timeout=10)
            view = app.mesh_view
            if view is None or not view.preview:
                break
            loading.append(frame - t0)
            await asyncio.sleep(0.05)  # keys as a person presses them, not a burst
        while app.mesh_view is None or app.mesh_view.preview or app.busy:
            await asyncio.sleep(0.05)
        await pilot.pause()
        for _ in range(presses):
            t0 = time.perf_counter()
            await pilot.press("j")
            after.append(await clock.first_after(t0, timeout=10) - t0)
            await pilot.pause()
    return loading, after


def _ms(keys: list[float]) -> str:
    if not keys:
        return "-"
    return (
        f"median {statistics.median(keys) * 1000:.0f} ms / max {max(keys) * 1000:.0f} ms"
        f" ({len(keys)} keys)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="compact")
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before", metavar="DIR", help="another checkout, run alternately")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed (apt-get install -y tmux)")
    root = HERE / "out"
    root.mkdir(exist_ok=True)
    folder = shape_folder(args.shape, args.hosts, args, root).resolve()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    checkouts = {"this": HERE.parent}
    if args.before:
        checkouts["before"] = Path(args.before).resolve()
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in checkouts}
    for _ in range(args.repeat):
        for name, checkout in checkouts.items():
            result = run(folder, checkout, args.presses)
            results[name].append(result)
            print(
                f"  {name}: first frame {result.get('first', float('nan')):.2f} s"
                f" ({'hosts of the first files' if result.get('preview') else 'whole input'}),"
                f" whole input {result.get('all', float('nan')):.2f} s, key-to-repaint while"
                f" loading {_ms(result['keys'])}, after {_ms(result['after'])},"
                f" peak {result['peak_mb']:.0f} MB",
                flush=True,
            )
    loading, after = asyncio.run(keys_in_process(folder, args.presses))
    print(
        f"in process (this checkout): key-to-repaint while loading {_ms(loading)}"
        f" (target 30 ms), after loading {_ms(after)}"
    )
    for name, runs in results.items():
        firsts = [r["first"] for r in runs if "first" in r]
        keys = [k for r in runs for k in r["keys"]]
        after = [k for r in runs for k in r["after"]]
        print(
            f"{name}: best first frame {min(firsts):.2f} s (target 1.5 s); key-to-repaint"
            f" while loading {_ms(keys)} (target 30 ms), after loading {_ms(after)};"
            f" peak {max(r['peak_mb'] for r in runs):.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
