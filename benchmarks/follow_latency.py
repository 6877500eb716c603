"""How soon a saved file is on the inspector's screen, on a generated mesh of 10,000 hosts.

    python benchmarks/follow_latency.py [--hosts 10000] [--edits 10]

Runs the app headless (Textual's Pilot) on benchmarks/generate_mesh.py's folder (seed 1, cached
under benchmarks/out/), following it as `meshtui DIR` does, then saves one file at a time (one
DestinationRule's load balancer changes, the way an editor writes it) and measures from the
write to the first frame that shows the new tree: the watcher's notice, re-reading that one
file, `Mesh.add` of what changed, the re-analysis of the touched hosts and the in-place tree
update. Target: within 200 ms of the write.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from check_scale import machine, mesh_folder  # noqa: E402
from tui_latency import FrameClock  # noqa: E402

from meshtui.sources.files import FileSource  # noqa: E402
from meshtui.tui.app import MeshApp  # noqa: E402

_LB = re.compile(rb"simple: (ROUND_ROBIN|LEAST_REQUEST|RANDOM|PASSTHROUGH)")


def rule_files(folder: Path) -> list[Path]:
    """Files holding a DestinationRule with a load balancer to change."""
    return sorted(p for p in folder.rglob("*.yaml") if _LB.search(p.read_bytes()))


def edit(path: Path, i: int) -> None:
    """Change the first load balancer of the file, written in place as an editor saves."""
    data = path.read_bytes()
    new = b"RANDOM" if i % 2 == 0 else b"LEAST_REQUEST"
    match = _LB.search(data)
    assert match is not None
    changed = data[: match.start(1)] + new + data[match.end(1) :]
    if changed == data:
        changed = data[: match.start(1)] + b"ROUND_ROBIN" + data[match.end(1) :]
    path.write_bytes(changed)


async def measure(folder: Path, edits: int) -> dict[str, Any]:
    source = FileSource([str(folder)], follow=True)
    app = MeshApp(source)
    clock = FrameClock(app)
    shown: list[float] = []
    original = app.show_view

    def apply(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        shown.append(time.perf_counter())

    app.show_view = apply  # type: ignore[method-assign]
    notified: list[float] = []  # when the source, having re-read the file, tells the app
    original_changed = app.loader.source_changed

    def source_changed(hosts: set[str]) -> None:
        notified.append(time.perf_counter())
        original_changed(hosts)

    app.loader.source_changed = source_changed  # type: ignore[method-assign]
    files = rule_files(folder)
    read = []
    latencies = []
    t_load = time.perf_counter()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            while not shown:
                await asyncio.sleep(0.05)
            load = time.perf_counter() - t_load
            hosts = app.mesh_view.host_count if app.mesh_view else 0
            await pilot.pause(1.0)  # the watcher is set up after the first view
            for i in range(edits):
                path = files[(i * 37) % len(files)]
                before = len(shown)
                t0 = time.perf_counter()
                edit(path, i)
                while len(shown) == before:
                    await asyncio.sleep(0.001)
                    if time.perf_counter() - t0 > 10:
                        raise TimeoutError(f"no update after editing {path}")
                latencies.append(await clock.first_after(shown[-1]) - t0)
                read.append(min(t for t in notified if t > t0) - t0)
                await pilot.pause(0.3)
    finally:
        source.stop()
    latencies.sort()
    read.sort()
    return {
        "read_median": statistics.median(read),
        "hosts": hosts,
        "load": load,
        "median": statistics.median(latencies),
        "max": latencies[-1],
        "all": latencies,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    folder, files, size = mesh_folder(args.hosts, args, out)
    # A copy to edit, so the cached folder of the other benchmarks stays as generated.
    work = out / f"follow-{folder.name}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".generated"))
    print(machine())
    print(f"{args.hosts:,} hosts, {files} files, {size:.1f} MB; {args.edits} one-file saves")
    result = asyncio.run(measure(work, args.edits))
    shutil.rmtree(work, ignore_errors=True)
    ms = [round(x * 1000) for x in result["all"]]
    print(f"loaded {result['hosts']:,} hosts in {result['load']:.1f} s")
    median, worst = result["median"] * 1000, result["max"] * 1000
    print(f"write to frame: median {median:.0f} ms, max {worst:.0f} ms")
    print(f"all (ms): {ms}")
    print(
        f"of which write to the source's notice (watch, re-read, Mesh.add): median "
        f"{result['read_median'] * 1000:.0f} ms"
    )
    ok = result["median"] <= 0.2
    print(f"target median <= 200 ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
