"""The inspector under live churn: memory over time, and key latency while the cluster changes.

    python benchmarks/live_churn.py [--hosts 10000] [--pods-per-second 100]
        [--rules-per-second 1] [--minutes 5] [--sample-seconds 15] [--presses 20]
        [--sweep RATE] [--garbage] [--stacks] [--tracemalloc FRAMES]

A loopback Kubernetes API server (tests/kubeapi) runs in a child process with the mesh of
benchmarks/live_load.py (generate_mesh's, fixed seed; 10,000 hosts: 50,000 sidecar-injected
pods). The inspector (the real app, headless through Textual's Pilot, 120x40) follows it live.
Once it is live, the child churns the cluster (tests/live/churn.py: pods relabelled between
subsets, added and deleted; DestinationRules edited) at the given rates for --minutes. Every
--sample-seconds the run records the app's RSS and times --presses j/k presses (key to the
first frame showing the cursor moved). After the churn it waits for the view to settle, records
RSS again and times `q` (key to the app's exit). With --sweep, every pod and DestinationRule is
first sent again once, so that the churn runs on a mesh read wholly from watch events, as after
a long session (a first replacement changes an object's size: json shares a list page's keys).

Targets (issue 26): RSS after the churn within 1.25x of RSS before it; key to repaint under
50 ms during churn; `q` under 1 s. A benchmark, not a test: it prints figures and exits 0.
Small runs: `--hosts 500 --pods-per-second 20 --minutes 0.5`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

MEMORY_TARGET = 1.25
KEY_TARGET = 0.050
QUIT_TARGET = 1.0


class Collections:
    """Every pass of CPython's cyclic collector in this process: when, which generation, how
    long. A pass holds the GIL, so the interface stalls for as long as it takes; a full pass
    (generation 2) traverses every tracked object that is not frozen."""

    def __init__(self) -> None:
        self.passes: list[tuple[float, int, float]] = []  # (start, generation, seconds)
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            now = time.perf_counter()
            self.passes.append((self._start, info["generation"], now - self._start))

    def close(self) -> None:
        gc.callbacks.remove(self._callback)

    def between(self, t0: float, t1: float) -> dict[int, list[float]]:
        """Durations of the passes that started between t0 and t1, by generation."""
        out: dict[int, list[float]] = {0: [], 1: [], 2: []}
        for start, generation, seconds in self.passes:
            if t0 <= start < t1:
                out[generation].append(seconds)
        return out


class Stalls:
    """The longest waits of the event loop beyond a 10 ms tick: how long the interface could not
    answer a key (a collection, a long handler), whether or not a sampled key fell in it."""

    def __init__(self) -> None:
        self.lags: list[tuple[float, float]] = []  # (when, seconds late)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            late = time.perf_counter() - t0 - 0.01
            if late > 0.05:
                self.lags.append((t0, late))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def longest(self, t0: float, t1: float) -> float:
        return max((late for when, late in self.lags if t0 <= when < t1), default=0.0)


class Watchdog:
    """What the event loop's thread was running during each stall: a thread looks every 10 ms,
    and once the loop's tick is more than `after` seconds late it records that thread's stack
    (the innermost frames of meshtui, Textual and rich; a stall inside a collection shows the
    frame that triggered it). Counts by stack, to tell what the long stalls have in common."""

    def __init__(self, after: float = 0.1) -> None:
        self.after = after
        self.tick = time.perf_counter()
        self.stacks: Counter[str] = Counter()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def beat(self) -> None:
        """Run on the event loop: the tick the watchdog compares against."""
        while not self._stop.is_set():
            self.tick = time.perf_counter()
            await asyncio.sleep(0.01)

    def _watch(self) -> None:
        seen = 0.0  # the tick of the stall already recorded
        while not self._stop.wait(0.01):
            tick = self.tick
            if tick != seen and time.perf_counter() - tick > self.after:
                seen = tick
                frames = sys._current_frames()
                stack = _stack(frames.pop(self._loop_thread, None))
                frames.pop(threading.get_ident(), None)
                # The loop's thread waiting in asyncio (for the interpreter lock, or in
                # select): what the other threads ran is the likelier cause.
                others = sorted({_stack(f, 3) for f in frames.values()} - {_NONE})
                if stack == _NONE and others:
                    stack += " while other threads ran: " + " | ".join(others)
                self.stacks[stack] += 1

    def stop(self) -> None:
        self._stop.set()


def _ours(filename: str) -> str | None:
    """A source file of meshtui, Textual or rich, named from its package on; None otherwise."""
    for package in ("meshtui", "textual", "rich"):
        at = filename.rfind(f"/{package}/")
        if at >= 0:
            return filename[at + 1 :]
    return None


def _stack(frame: Any, depth: int = 6) -> str:
    """The innermost `depth` frames of meshtui, Textual and rich, innermost first."""
    parts = []
    while frame is not None and len(parts) < depth:
        name = _ours(frame.f_code.co_filename)
        if name is not None:
            parts.append(f"{name}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(parts) or _NONE


_NONE = "(outside meshtui, Textual and rich)"


def _site(traceback: tracemalloc.Traceback) -> str:
    """Where a block was allocated: the innermost three frames of meshtui, Textual or rich,
    after the innermost frame of all when that is elsewhere (json, the kubernetes client)."""
    frames = list(reversed(traceback))  # innermost first
    ours = [f"{name}:{f.lineno}" for f in frames if (name := _ours(f.filename)) is not None]
    site = " < ".join(ours[:3])
    if _ours(frames[0].filename) is None:
        site = f"{Path(frames[0].filename).name}:{frames[0].lineno} < {site}"
    return site


def allocations_grown(before: tracemalloc.Snapshot, top: int = 15) -> list[str]:
    """What the heap gained between the churn's middle and its end, by where it was
    allocated (tracemalloc). Over the second half the churn replaces what it replaced in the
    first, so what still grows is kept by something: strings and numbers, which the
    collector does not track, included."""
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for diff in after.compare_to(before, "traceback"):
        site = _site(diff.traceback)
        size[site] += diff.size_diff
        count[site] += diff.count_diff
    return [
        f"{grown / 1e6:+7.2f} MB in {count[site]:+9,} blocks  {site}"
        for site, grown in size.most_common(top)
    ]


def tracked() -> tuple[int, int]:
    """Objects the cyclic collector tracks: frozen (left out of its passes), and the rest."""
    return gc.get_freeze_count(), len(gc.get_objects())


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def thawed() -> Iterator[None]:
    """The whole heap in the collector's reach for the block, and frozen again after it; the
    inspector's callback is left out meanwhile (after a long pass it freezes everything)."""
    callbacks = gc.callbacks[:]
    gc.callbacks.clear()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.freeze()
        gc.callbacks[:] = callbacks


def _by_type(objects: Iterable[object]) -> Counter[str]:
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)


def census() -> Counter[str]:
    """Every object the collector tracks, frozen or not, by type, after collecting what is
    dead: what grows between two censuses is kept alive by something."""
    with thawed():
        gc.collect()
        return _by_type(gc.get_objects())


def cyclic_garbage(top: int = 15) -> list[tuple[str, int]]:
    """What lies in reference cycles that nothing reaches, frozen or not, by type: what churn
    leaves for the whole-heap pass (or `r`) to free."""
    from tests.collector import dead_in_cycles

    with thawed():
        counts = _by_type(dead_in_cycles())
    return counts.most_common(top)


# -- the server and its churn, in a child process -------------------------------------------


def _serve(hosts: int, folder: str, conn: Any) -> None:
    from live_load import mesh_objects

    from tests.kubeapi import KubeAPIServer
    from tests.live.churn import Churn

    objects, _ = mesh_objects(hosts)
    pods = [o for o in objects if o["kind"] == "Pod"]
    rules = [o for o in objects if o["kind"] == "DestinationRule"]
    server = KubeAPIServer(bookmark_interval=60)
    with server:
        server.add_many(objects)
        kubeconfig = server.write_kubeconfig(Path(folder) / "kubeconfig")
        conn.send({"kubeconfig": str(kubeconfig), "pods": len(pods), "rules": len(rules)})
        churn = Churn(server, pods, rules, seed=26, extra_pods=max(10, len(pods) // 100))
        command = conn.recv()
        if command[0] == "sweep":
            conn.send(sweep(churn, command[1]))
            command = conn.recv()
        pods_rate, rules_rate, seconds = command
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            # Keep up with the wanted rates in small steps (ten a second).
            while churn.pod_changes < int(elapsed * pods_rate):
                churn.pod_change()
            while churn.rule_changes < int(elapsed * rules_rate):
                churn.rule_change()
            time.sleep(0.1)
        conn.send({"pods": churn.pod_changes, "rules": churn.rule_changes})
        conn.recv()  # until the parent is done


def sweep(churn: Any, rate: int) -> int:
    """Every pod and DestinationRule sent again once, unchanged, at `rate` a second: each is
    then an object read from a watch event, as every object is after a long enough churn (one
    read from a list page is a different size: json shares a page's keys), so what grows after
    it is growth, not first replacements."""
    objects = [*churn.pods, *churn.rules]
    start = time.monotonic()
    for i, obj in enumerate(objects):
        churn.server.update(obj)
        ahead = i / rate - (time.monotonic() - start)
        if ahead > 0.1:
            time.sleep(ahead)
    return len(objects)


def shown_findings(app: Any) -> int:
    """The findings of the analysis on screen (the view's own counts, as its summary shows them).
    Churn changes them (a relabelled pod can leave a subset with no pods:
    SubsetSelectsNothing), and the objects that hold them with them, so a census of live
    objects is read beside this count."""
    return sum(app.mesh_view.counts().values())


async def settled(app: Any, quiet: float = 3.0) -> None:
    """Until the app has been live and idle (no snapshot being taken) for `quiet` seconds."""
    since = time.monotonic()
    while time.monotonic() - since < quiet:
        await asyncio.sleep(0.1)
        if app.status != "live" or app.busy:
            since = time.monotonic()


# -- the inspector ----------------------------------------------------------------------------


async def run(args: argparse.Namespace, kubeconfig: str, conn: Any) -> dict[str, Any]:
    from tui_latency import FrameClock

    from meshtui.sources.cluster import ClusterSource
    from meshtui.tui.app import MeshApp

    source = ClusterSource(["alpha"], kubeconfig)
    app = MeshApp(source)
    clock = FrameClock(app)
    out: dict[str, Any] = {"samples": []}

    async def keys(pilot: Any, count: int) -> list[float]:
        times = []
        for i in range(count):
            t0 = time.perf_counter()
            await pilot.press("j" if (i // 5) % 2 == 0 else "k")
            times.append(await clock.first_after(t0, timeout=30) - t0)
            await asyncio.sleep(0.05)
        return times

    started = time.perf_counter()
    collections = Collections()
    stalls = Stalls()
    watchdog = Watchdog() if args.stacks else None
    async with app.run_test(size=(120, 40)) as pilot:
        stalls.start()
        if watchdog is not None:
            beat = asyncio.get_running_loop().create_task(watchdog.beat())
        while app.status != "live" or app.busy:
            await asyncio.sleep(0.1)
        out["live_after"] = time.perf_counter() - started
        live_at = time.perf_counter()
        if args.sweep:
            conn.send(("sweep", args.sweep))
            out["swept"] = await asyncio.to_thread(conn.recv)
            await settled(app)
        await pilot.press("j")
        await asyncio.sleep(1)
        out["rss_before"] = rss_mb()
        out["findings_before"] = shown_findings(app)
        out["tracked_before"] = tracked()
        out["blocks_before"] = sys.getallocatedblocks()
        out["keys_before"] = await keys(pilot, args.presses)
        if args.garbage:
            out["census_before"] = census()
        seconds = args.minutes * 60
        if args.tracemalloc:
            tracemalloc.start(args.tracemalloc)
        conn.send((args.pods_per_second, args.rules_per_second, seconds))
        churn_at = time.perf_counter()
        if watchdog is not None:
            watchdog.start()
        t0 = time.monotonic()
        while (elapsed := time.monotonic() - t0) < seconds:
            await asyncio.sleep(max(0.0, min(args.sample_seconds, seconds - elapsed)))
            latencies = await keys(pilot, args.presses)
            sample = (time.monotonic() - t0, rss_mb(), latencies)
            out.setdefault("blocks", []).append(sys.getallocatedblocks())
            if args.tracemalloc and "traced_mid" not in out and sample[0] >= seconds / 2:
                out["traced_mid"] = tracemalloc.take_snapshot()
            out["samples"].append(sample)
            full = [s for _, g, s in collections.passes if g == 2]
            print(
                f"  {sample[0]:6.0f} s  RSS {sample[1]:7.0f} MB  key→repaint median "
                f"{statistics.median(latencies) * 1000:5.1f} ms, max {max(latencies) * 1000:5.1f}"
                f" ms  blocks {out['blocks'][-1] / 1e6:.2f} M  full collections {len(full)}, "
                "longest "
                f"{max(full, default=0) * 1000:.0f} ms  [{app.status}]",
                flush=True,
            )
        out["churned"] = await asyncio.to_thread(conn.recv)
        churn_end = time.perf_counter()
        if watchdog is not None:
            watchdog.stop()
            beat.cancel()
            out["stacks"] = watchdog.stacks.most_common(12)
        await asyncio.sleep(3)  # the last changes shown
        out["rss_after"] = rss_mb()
        out["findings_after"] = shown_findings(app)
        out["tracked_after"] = tracked()
        out["blocks_after"] = sys.getallocatedblocks()
        out["keys_after"] = await keys(pilot, args.presses)
        if args.tracemalloc:
            out["allocated"] = allocations_grown(out.pop("traced_mid"))
        if args.garbage:
            out["garbage"] = cyclic_garbage()
            out["census_after"] = census()
        t0 = time.perf_counter()
        await pilot.press("q")
        while app.is_running:
            await asyncio.sleep(0.005)
        out["quit"] = time.perf_counter() - t0
        stalls.stop()
    collections.close()
    out["collections"] = {
        "load": collections.between(started, live_at),
        "churn": collections.between(churn_at, churn_end),
    }
    out["stall_churn"] = stalls.longest(churn_at, churn_end)
    out["stalls"] = sorted(
        ((when - churn_at, late) for when, late in stalls.lags if churn_at <= when < churn_end),
        key=lambda s: -s[1],
    )[:8]
    out["passes"] = [
        (start - churn_at, seconds)
        for start, generation, seconds in collections.passes
        if generation == 2 and seconds > 0.1 and churn_at <= start < churn_end
    ]
    out["refreezes"] = app.loader.heap.refreezes
    out["settled"] = app.loader.heap.settled
    source.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--pods-per-second", type=int, default=100)
    parser.add_argument("--rules-per-second", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--sample-seconds", type=float, default=15)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument(
        "--sweep",
        type=int,
        default=0,
        metavar="RATE",
        help="before the churn, send every pod and DestinationRule again once (RATE a second), "
        "so that the churn measures growth, not each object's first replacement",
    )
    parser.add_argument(
        "--garbage",
        action="store_true",
        help="after the churn, list what lies in dead cycles and which live objects grew",
    )
    parser.add_argument(
        "--stacks",
        action="store_true",
        help="during the churn, record what the event loop ran in each stall over 100 ms",
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace allocations during the churn (FRAMES deep) and list what grew over its "
        "second half, by where it was allocated (slow: for small runs)",
    )
    args = parser.parse_args(argv)
    from live_load import machine

    os.environ["no_proxy"] = ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1"]))
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("fork").Process(
            target=_serve, args=(args.hosts, folder, child), daemon=True
        )
        server.start()
        info = parent.recv()
        print(
            f"server: {args.hosts} hosts, {info['pods']} pods, {info['rules']} DestinationRules; "
            f"churn {args.pods_per_second} pod changes/s and {args.rules_per_second} "
            f"DestinationRule edits/s for {args.minutes:g} min"
        )
        r = asyncio.run(run(args, info["kubeconfig"], parent))
        parent.send("done")
        server.join(10)
    during = [t for _, _, times in r["samples"] for t in times]
    growth = r["rss_after"] / r["rss_before"]
    ok = {True: "ok", False: "MISSED"}
    print(f"live after {r['live_after']:.1f} s; churned {r['churned']}")
    if "swept" in r:
        print(f"before the churn, {r['swept']:,} objects sent again once (--sweep)")
    print(
        f"RSS before churn {r['rss_before']:.0f} MB, after {r['rss_after']:.0f} MB: "
        f"x{growth:.2f} (target <= {MEMORY_TARGET}) {ok[growth <= MEMORY_TARGET]}"
    )
    print(
        f"key→repaint before churn median {statistics.median(r['keys_before']) * 1000:.1f} ms; "
        f"during churn median {statistics.median(during) * 1000:.1f} ms, "
        f"p95 {sorted(during)[int(len(during) * 0.95) - 1] * 1000:.1f} ms, "
        f"max {max(during) * 1000:.1f} ms (target < {KEY_TARGET * 1000:.0f} ms) "
        f"{ok[statistics.median(during) < KEY_TARGET]}; after "
        f"{statistics.median(r['keys_after']) * 1000:.1f} ms"
    )
    for phase, passes in r["collections"].items():
        print(
            f"collections during {phase}: "
            + "; ".join(
                f"gen {g}: {len(d)}, longest {max(d, default=0) * 1000:.0f} ms, "
                f"in all {sum(d):.2f} s"
                for g, d in passes.items()
            )
        )
    longest_gc = max(r["collections"]["churn"][2] + r["collections"]["churn"][1], default=0)
    print(
        f"longest collection during churn: {longest_gc * 1000:.0f} ms; longest stall of the "
        f"event loop during churn: {r['stall_churn'] * 1000:.0f} ms"
    )
    print(
        "objects tracked by the collector (frozen / collected): before churn "
        "{:,} / {:,}, after {:,} / {:,}".format(*r["tracked_before"], *r["tracked_after"])
    )
    print(
        f"findings on screen: before churn {r['findings_before']:,}, after {r['findings_after']:,}"
    )
    # Every object CPython's allocator holds, tracked or not (strings, numbers): flat blocks
    # under a rising RSS are pages the allocators keep, not objects.
    print(
        "blocks allocated by Python's object allocator: before churn "
        f"{r['blocks_before']:,}, after {r['blocks_after']:,}"
    )
    print(f"times the survivors of a long full collection were frozen: {r['refreezes']}")
    print(
        f"whole-heap passes at idle moments (the frozen set grown by memory.GROWTH): {r['settled']}"
    )
    print(
        "longest stalls of the event loop during churn (s into it: ms): "
        + ", ".join(f"{when:.0f}: {late * 1000:.0f}" for when, late in r["stalls"])
    )
    print(
        "full collections over 100 ms during churn (s into it: ms): "
        + ", ".join(f"{when:.0f}: {took * 1000:.0f}" for when, took in r["passes"])
    )
    for line in r.get("allocated", []):
        print(f"  grown over the churn's second half: {line}")
    for stack, count in r.get("stacks", []):
        print(f"  stalls over 100 ms in: {count:4} × {stack}")
    for name, count in r.get("garbage", []):
        print(f"  in dead cycles after the churn: {count:8,} {name}")
    if "census_after" in r:
        for name, count in (r["census_after"] - r["census_before"]).most_common(15):
            print(f"  live objects grown: {count:+8,} {name}")
    print(
        f"q to exit: {r['quit'] * 1000:.0f} ms (target < {QUIT_TARGET * 1000:.0f} ms) "
        f"{ok[r['quit'] < QUIT_TARGET]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
