"""How fast the inspector answers on a big mesh: first frame and key-to-repaint latency.

    python benchmarks/tui_latency.py [--hosts 10000] [--namespaces 100] [--presses 100]

Generates a mesh of N hosts in memory (fixed seed: Services, Deployments, DestinationRules with
subsets, some policies dormant, VirtualServices for most hosts) through the core's own parser
and analysis, runs the app headless (Textual's Pilot) and measures, from the moment the core's
output is complete in the app's loading worker, the time to the first frame that shows the tree
(the worker's indexing for display, the handover and the tree build are inside it); then, over
j/k presses (down and up the tree, each moving the cursor to another host), the time from the
key to the first frame
that shows the cursor moved (key-to-repaint), and to the last frame of that key (the detail
pane rebuilt for the new host). A frame is the compositor's update rendered to terminal
sequences, as a real terminal would receive it.

Targets: first frame <= 1.5 s after the data is ready; median key-to-repaint <= 30 ms.
A benchmark, not a test: it prints the figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import Origin, Workload, parse_object
from meshtui.sources import Source
from meshtui.tui.app import MeshApp

FIRST_FRAME_TARGET = 1.5
MEDIAN_TARGET = 0.030


def _objects(hosts: int, namespaces: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    per_ns = max(1, hosts // namespaces)
    for i in range(hosts):
        ns = f"team-{i // per_ns:03d}"
        name = f"svc-{i:05d}"
        versions = ["v1", "v2", "v3"][: rng.choice((1, 2, 2, 3))]
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 8080}]},
            }
        )
        for v in versions:
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"{name}-{v}", "namespace": ns},
                    "spec": {
                        "replicas": rng.choice((1, 2, 3)),
                        "template": {"metadata": {"labels": {"app": name, "version": v}}},
                    },
                }
            )
        subsets = []
        for v in versions:
            subset: dict[str, Any] = {"name": v, "labels": {"version": v}}
            if rng.random() < 0.3:
                subset["trafficPolicy"] = {"loadBalancer": {"simple": "LEAST_REQUEST"}}
            subsets.append(subset)
        out.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "DestinationRule",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "host": name,
                    "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
                    "subsets": subsets,
                },
            }
        )
        if rng.random() < 0.7:
            routed = versions[:2]
            weights = [100] if len(routed) == 1 else [90, 10]
            out.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "VirtualService",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {
                        "hosts": [name],
                        "http": [
                            {
                                "route": [
                                    {"destination": {"host": name, "subset": v}, "weight": w}
                                    for v, w in zip(routed, weights, strict=True)
                                ]
                            }
                        ],
                    },
                }
            )
    return out


class MemorySource(Source):
    """A generated mesh, parsed and analysed by the core once, without files.

    `prepare()` does the core's work ahead of the run; `load()` then hands out the analysed
    mesh (its analysis is cached per host), so the run measures the inspector, and `ready`
    records when the core's output is complete inside the app's worker (after `refine`).
    """

    def __init__(self, hosts: int, namespaces: int, seed: int = 7) -> None:
        super().__init__()
        self.label = f"generated mesh ({hosts} hosts)"
        self.objects = _objects(hosts, namespaces, seed)
        self.meshes: list[Mesh] = []
        self.ready: list[float] = []
        self.gate = threading.Event()

    def prepare(self) -> float:
        """Parse and analyse; returns the seconds it took."""
        t = time.perf_counter()
        resources = []
        for i, obj in enumerate(self.objects):
            parsed = parse_object(obj, Origin(file="generated.yaml", line=i + 1))
            if parsed is not None and not hasattr(parsed, "message"):
                resources.append(parsed)
        mesh = Mesh()
        mesh.workloads.mark_known(
            r.meta.ref.namespace for r in resources if isinstance(r, Workload)
        )
        mesh.load(resources)  # type: ignore[arg-type]
        mesh.analyze()
        self.meshes = [mesh]
        return time.perf_counter() - t

    def load(self) -> list[Mesh]:
        # A real read of 10,000 hosts takes seconds: the app has long started when the data is
        # ready. The gate keeps the app's own start-up out of the measured time.
        self.gate.wait(30)
        return self.meshes

    def refine(self, findings: Iterable[Finding]) -> list[Finding]:
        out = list(findings)
        self.ready.append(time.perf_counter())
        return out


class FrameClock:
    """Records when the app hands a frame to the terminal, rendering it as a terminal would."""

    def __init__(self, app: MeshApp) -> None:
        self.frames: list[float] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None:
                renderable.render_segments(app.console)
                self.frames.append(time.perf_counter())

        app._display = display  # type: ignore[method-assign]

    async def first_after(self, t0: float, timeout: float = 5.0) -> float:
        """The first frame drawn after `t0`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            later = [t for t in self.frames if t > t0]
            if later:
                return later[0]
            await asyncio.sleep(0.0005)
        raise TimeoutError("no frame")


async def measure(
    hosts: int, namespaces: int, presses: int, updates_count: int = 10
) -> dict[str, float]:
    source = MemorySource(hosts, namespaces)
    analysis_time = source.prepare()
    app = MeshApp(source)
    clock = FrameClock(app)
    shown: list[float] = []  # when the tree of the new analysis is built
    original_apply = app.show_view

    blocked: list[float] = []  # how long each view handover held the UI thread

    def apply(*args: Any, **kwargs: Any) -> None:
        t = time.perf_counter()
        original_apply(*args, **kwargs)
        shown.append(time.perf_counter())
        blocked.append(shown[-1] - t)

    app.show_view = apply  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()  # started, showing the loading indicator
        source.gate.set()
        while not shown:
            await asyncio.sleep(0.001)
        # The loading indicator draws frames meanwhile: the first frame of the tree is the
        # first one after the tree was built.
        first = await clock.first_after(shown[0], timeout=30)
        # Let the worker's leftovers and the first layout settle before timing keys.
        await pilot.pause()
        await pilot.press("j")  # onto the first host
        await pilot.pause()
        detail_updates: list[float] = []
        pane = app.detail_pane
        original_show = pane.show

        def show(*args: Any, **kwargs: Any) -> None:
            original_show(*args, **kwargs)
            detail_updates.append(time.perf_counter())

        pane.show = show  # type: ignore[method-assign]
        first_repaint, settled = [], []
        for i in range(presses):
            key = "j" if (i // 10) % 2 == 0 else "k"
            t0 = time.perf_counter()
            await pilot.press(key)
            first_repaint.append(await clock.first_after(t0) - t0)
            await pilot.pause()
            shown = [t for t in detail_updates if t > t0]
            settled.append(await clock.first_after(shown[-1]) - t0 if shown else 0.0)
        # Live updates: one DestinationRule changes (as a watch event would bring it); the
        # app re-analyses in a worker and rebuilds the visible tree, keeping cursor and open
        # nodes. Measured: change to first frame of the new tree, and the UI thread's share.
        updates, held = [], []
        mesh = source.meshes[0]
        rules = [o for o in source.objects if o["kind"] == "DestinationRule"]
        for i in range(updates_count):
            rule = rules[(i * 97) % len(rules)]
            lb = "RANDOM" if i % 2 == 0 else "ROUND_ROBIN"
            changed = {
                **rule,
                "spec": {**rule["spec"], "trafficPolicy": {"loadBalancer": {"simple": lb}}},
            }
            t0 = time.perf_counter()
            with source.lock:
                mesh.add(parse_object(changed, Origin(file="generated.yaml", line=1)))
            before = len(shown)
            app.loader.refresh_now()
            while len(shown) == before:
                await asyncio.sleep(0.001)
            updates.append(await clock.first_after(shown[-1]) - t0)
            held.append(blocked[-1])
            await pilot.pause()
    first_repaint.sort()
    settled.sort()
    updates.sort()
    held.sort()
    return {
        "update_median": statistics.median(updates),
        "update_max": updates[-1],
        "held_median": statistics.median(held),
        "held_max": held[-1],
        "load_and_analysis": analysis_time,
        "first_frame": first - source.ready[0],
        "median": statistics.median(first_repaint),
        "p95": first_repaint[int(len(first_repaint) * 0.95) - 1],
        "settled_median": statistics.median(settled),
        "settled_p95": settled[int(len(settled) * 0.95) - 1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--presses", type=int, default=100)
    args = parser.parse_args()
    r = asyncio.run(measure(args.hosts, args.namespaces, args.presses))
    ok = {True: "ok", False: "MISSED"}
    print(f"meshtui TUI latency: {args.hosts} hosts in {args.namespaces} namespaces")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"core parse + analysis (before the run): {r['load_and_analysis']:.2f} s")
    print(
        f"first frame after data ready:  {r['first_frame'] * 1000:7.1f} ms  "
        f"(target <= {FIRST_FRAME_TARGET * 1000:.0f} ms) "
        f"{ok[r['first_frame'] <= FIRST_FRAME_TARGET]}"
    )
    print(
        f"key-to-repaint median:          {r['median'] * 1000:7.1f} ms  "
        f"(target <= {MEDIAN_TARGET * 1000:.0f} ms) {ok[r['median'] <= MEDIAN_TARGET]}"
    )
    print(f"key-to-repaint p95:             {r['p95'] * 1000:7.1f} ms")
    print(
        f"key to detail pane updated:     {r['settled_median'] * 1000:7.1f} ms median, "
        f"{r['settled_p95'] * 1000:.1f} ms p95"
    )
    print(
        f"live update to new tree shown:  {r['update_median'] * 1000:7.1f} ms median, "
        f"{r['update_max'] * 1000:.1f} ms max; UI thread held {r['held_median'] * 1000:.1f} ms "
        f"median, {r['held_max'] * 1000:.1f} ms max"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
