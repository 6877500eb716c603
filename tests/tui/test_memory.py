"""LongLivedHeap and Handoff: the inspector's mesh out of full collections, and nothing big
kept alive by Textual's reference cycles (tui/memory.py)."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events

from meshtui.mesh.batch import BULK_OBJECTS, collector_paused
from meshtui.tui.app import IDLE_SECONDS
from meshtui.tui.memory import _LIBC, GROWTH, Handoff, LongLivedHeap, return_freed_memory
from tests.tui.helpers import BOOKINFO, make_app, settle


class _Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def _collected(obj: object) -> bool:
    """Whether the collector's passes would traverse `obj` (it is not frozen)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture
def heap() -> Iterator[LongLivedHeap]:
    kept = LongLivedHeap(budget=0.0)  # every full collection is over budget
    yield kept
    kept.release()
    assert gc.get_freeze_count() == 0


def test_a_load_leaves_what_it_built_out_of_the_collectors_passes(heap: LongLivedHeap):
    mesh = _Node()
    assert _collected(mesh)
    heap.keep()
    assert not _collected(mesh)
    heap.release()
    assert _collected(mesh)  # handed back: collected as usual again


def test_a_reload_frees_what_the_last_load_froze_and_has_died_since(heap: LongLivedHeap):
    replaced = _Node()
    alive = weakref.ref(replaced)
    heap.keep()
    del replaced  # died in a cycle while frozen: no collection can reach it
    gc.collect()
    assert alive() is not None
    heap.keep()  # the reload
    assert alive() is None


def test_a_full_collection_over_budget_freezes_what_survived_it(heap: LongLivedHeap):
    heap.keep()
    built_since = _Node()  # what a live update built, and still lives
    dead = _Node()
    dead_since = weakref.ref(dead)
    del dead
    gc.collect()  # a full collection (the budget is 0 s: over it)
    assert dead_since() is None  # the collection ran before the freeze
    assert not _collected(built_since)
    assert heap.refreezes == 1


def test_young_collections_never_freeze(heap: LongLivedHeap):
    heap.keep()
    young = _Node()
    gc.collect(1)
    assert _collected(young)


def test_a_load_that_ends_after_the_app_closed_keeps_nothing(heap: LongLivedHeap):
    heap.release()
    heap.keep()
    assert gc.get_freeze_count() == 0


def test_a_bulk_batch_joins_a_frozen_heap_instead_of_thawing_it(heap: LongLivedHeap):
    mesh = _Node()
    heap.keep()
    with collector_paused():
        built = [[i] for i in range(2 * BULK_OBJECTS)]  # a relist, an analysis of all hosts
    assert not _collected(mesh)
    assert not _collected(built)


def test_a_handoff_is_emptied_when_taken():
    view = _Node()
    box = Handoff(view)
    assert box.take() is view
    assert box.take() is None  # the worker that keeps the box keeps nothing big


def test_settle_frees_what_died_frozen_once_the_heap_has_grown(heap: LongLivedHeap):
    heap.keep()
    assert not heap.settle()  # nothing grown: no whole-heap pass
    # Churn: replacements frozen by over-budget collections, then replaced in turn.
    grown = [_Node() for _ in range(int(sys.getallocatedblocks() * GROWTH) + 1000)]
    gc.freeze()
    dead = weakref.ref(grown[0])
    kept = grown[-1]
    del grown
    gc.collect()
    assert dead() is not None  # frozen garbage: no ordinary collection reaches it
    assert heap.grown()
    assert heap.settle()
    assert dead() is None
    assert not _collected(kept)  # what lives is frozen again
    assert not heap.grown() and not heap.settle()


def test_asking_whether_to_collect_never_walks_the_frozen_set(heap: LongLivedHeap, monkeypatch):
    # Asked every few seconds by the inspector; CPython's frozen count walks two million
    # objects at 10,000 hosts, holding the interpreter for tens of ms.
    heap.keep()
    monkeypatch.setattr(gc, "get_freeze_count", lambda: pytest.fail("walked the frozen set"))
    assert not heap.grown()
    assert not heap.settle()
    monkeypatch.undo()  # before the fixture's own check of the frozen set


async def test_the_idle_pass_waits_for_quiet_and_never_runs_over_a_waiting_key():
    """The whole-heap pass stalls the UI for seconds at 10,000 hosts: a key typed recently, or
    one already waiting to be handled, puts it off; after five quiet seconds it runs."""
    app = make_app(BOOKINFO)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        heap = app.loader.heap
        assert heap.frozen
        grown = [_Node() for _ in range(int(sys.getallocatedblocks() * GROWTH) + 1000)]
        gc.freeze()
        dead = weakref.ref(grown[0])
        del grown
        assert heap.grown()

        await pilot.press("j")
        assert not await app._settle_heap()  # a key just now
        app._last_input -= IDLE_SECONDS
        app.post_message(events.Key("k", "k"))
        assert not app._idle()  # the key waits in the queue: no pass over it
        await pilot.pause()
        app._last_input -= IDLE_SECONDS
        assert await app._settle_heap()
        assert dead() is None and not heap.grown()


def _rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) * 1024


@pytest.mark.skipif(_LIBC is None or not Path("/proc/self/status").exists(), reason="glibc only")
def test_freed_memory_goes_back_to_the_system_after_a_whole_heap_pass():
    """What churn freed lies scattered among what lives: without a trim, malloc keeps those
    pages, and the inspector's resident set only ever grows."""
    blocks = [bytes(4000) + bytes([i % 251]) for i in range(40_000)]  # 160 MB, malloc's
    kept = blocks[::16]  # what lives on, scattered over the heap
    del blocks
    before = _rss()
    return_freed_memory()
    assert _rss() < before - 50 * 1024 * 1024
    assert len(kept) == 2500
