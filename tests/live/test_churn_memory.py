"""Memory under live churn: what the inspector holds does not grow with the number of changes.

The live source follows a loopback API server while pods come, go and change subsets and a
DestinationRule is edited; after each round the inspector's headless path runs as in the app
(snapshot, partial-read filter, view model built from the previous one). The memory held by
meshtui's own allocations after N rounds and after 4N rounds must be the same: what one
update builds is freed when the next replaces it. The cyclic collector is off while it runs,
so anything left to it (an update kept alive by a reference cycle) counts as retained too.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import meshtui
from meshtui.sources import known_analyses
from meshtui.sources.cluster import ClusterSource
from meshtui.tui.app import MeshApp
from meshtui.tui.model import MeshView, ViewOptions
from tests.collector import dead_in_cycles
from tests.kubeapi import KubeAPIServer
from tests.live.churn import Churn
from tests.live.cluster_fixtures import bookinfo, bookinfo_objects, eventually, load_bookinfo

PACKAGE = str(Path(meshtui.__file__).resolve().parent)
ROUNDS = 8
# Allowed difference between the two measurements: allocator and dict resizing noise, far
# below what the view model of one update holds (tens of kilobytes for bookinfo).
NOISE = 48 * 1024


def held_by_meshtui() -> tuple[int, list[str]]:
    """Bytes allocated with a meshtui frame on the stack that are still in use, and the
    meshtui objects that only the cyclic collector could free (by type)."""
    # (The collection also empties the interpreter's free lists, which tracemalloc counts.)
    cyclic = sorted({type(o).__name__ for o in dead_in_cycles() if _ours(o)})
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, f"{PACKAGE}/*", all_frames=True)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename")), cyclic


def _ours(obj: object) -> bool:
    return type(obj).__module__.startswith("meshtui.")


def caught_up(src: ClusterSource, wanted: dict[str, int]) -> Callable[[], bool]:
    """Whether the source's watches have seen every change up to `wanted` (kind -> rv)."""

    def check() -> bool:
        with src.lock:
            streams = list(src.clusters[0].streams)
        return all(
            any(s.kind.kind == kind and int(s.resource_version or 0) >= rv for s in streams)
            for kind, rv in wanted.items()
        )

    return check


def test_memory_does_not_grow_with_the_number_of_live_changes(kube_api: KubeAPIServer):
    load_bookinfo(kube_api)
    pods = [o for o in bookinfo_objects() if o["metadata"]["name"].startswith("reviews-v")]
    rules = [bookinfo("DestinationRule", "reviews"), bookinfo("DestinationRule", "ratings")]
    churn = Churn(kube_api, pods, rules, extra_pods=6)
    src = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=5)
    src.load()
    src.watch(lambda hosts: None)
    options = ViewOptions()
    view = MeshView(known_analyses(src, src.snapshot())[0])
    view.layout(options)

    def run(rounds: int) -> None:
        nonlocal view
        for _ in range(rounds):
            wanted = churn.round(pod_changes=5, rule_changes=1)
            eventually(caught_up(src, wanted), 10, "the watches to see the round's changes")
            view = MeshView(known_analyses(src, src.snapshot())[0], previous=view)
            view.layout(options)

    def settle() -> None:
        # Two updates without changes: the previous view, kept for the next update's
        # layout, then holds the same analyses as the current one (not the last round's
        # replaced ones, whose size depends on which hosts that round changed).
        nonlocal view
        for _ in range(2):
            view = MeshView(known_analyses(src, src.snapshot())[0], previous=view)
            view.layout(options)

    try:
        run(ROUNDS)  # caches, interned names and the extra pods reach their steady size
        gc.collect()  # what earlier tests of this process left: not this test's to count
        gc.disable()
        tracemalloc.start(16)
        run(ROUNDS)
        settle()
        after_n, cyclic_n = held_by_meshtui()
        run(3 * ROUNDS)
        settle()
        after_4n, cyclic_4n = held_by_meshtui()
    finally:
        tracemalloc.stop()
        gc.enable()
        src.stop()
    # Each update is freed by reference counting as soon as the next replaces it: none is
    # left for the cyclic collector, which a busy process runs on its oldest objects rarely.
    assert not cyclic_n and not cyclic_4n
    assert after_4n - after_n < NOISE, (
        f"meshtui held {after_n / 1024:.0f} KiB after {ROUNDS} rounds of changes and "
        f"{after_4n / 1024:.0f} KiB after {4 * ROUNDS}"
    )


async def test_the_inspectors_live_updates_leave_no_analysis_to_the_cyclic_collector(kube_api):
    # The real app this time: each live snapshot runs in a Textual worker, and Textual keeps a
    # finished worker in a reference cycle. Had the worker held the view it built, every
    # replaced view (analyses of every host) would wait for a full collection, which at 10,000
    # hosts stalls the inspector for seconds (benchmarks/README.md, "Live churn").
    load_bookinfo(kube_api)
    pods = [o for o in bookinfo_objects() if o["metadata"]["name"].startswith("reviews-v")]
    rules = [bookinfo("DestinationRule", "reviews"), bookinfo("DestinationRule", "ratings")]
    churn = Churn(kube_api, pods, rules, extra_pods=6)
    source = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=5)
    app = MeshApp(source)

    async def next_view(pilot) -> None:
        shown = app.mesh_view
        churn.round(pod_changes=3, rule_changes=1)
        for _ in range(100):
            await pilot.pause(0.05)
            if app.mesh_view is not shown:
                return
        raise AssertionError("the change never reached the inspector")

    try:
        async with app.run_test(size=(120, 40)) as pilot:
            while app.status != "live" or app.busy:
                await pilot.pause(0.05)
            app.loader.heap.release()  # nothing frozen: every cycle is the collector's to find
            for _ in range(3):
                await next_view(pilot)
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.disable()
            for _ in range(4):
                await next_view(pilot)
            gc.collect()
            cyclic = sorted(
                {
                    type(o).__name__
                    for o in gc.garbage
                    if type(o).__module__.startswith("meshtui.mesh.") or isinstance(o, MeshView)
                }
            )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        source.stop()
    assert not cyclic, f"replaced analyses were left to the cyclic collector: {cyclic}"
