"""collector_paused: batches run without the cyclic collector, yet leave it their garbage."""

from __future__ import annotations

import gc
import weakref

from meshtui.mesh.batch import BULK_OBJECTS, collector_paused


class _Node:
    """An object in a reference cycle, as a replaced view model or widget tree is."""

    def __init__(self) -> None:
        self.me = self


def test_a_small_batch_leaves_its_cyclic_garbage_to_the_young_collections():
    # A live update re-analyses a few hosts in a batch, many times a minute. Had its objects
    # been moved to the oldest generation, which a full collection rarely visits, each
    # update's cycles would pile up there (the inspector grew by megabytes a minute).
    with collector_paused():
        node = _Node()
        alive = weakref.ref(node)
        del node
    assert gc.isenabled()
    gc.collect(1)  # the young generations only
    assert alive() is None


def test_batches_nest_and_the_collector_runs_again_after_the_outer_one():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_small_batch_never_counts_the_frozen_set(monkeypatch):
    # CPython counts the frozen set by walking it: two million objects in the inspector at
    # 10,000 hosts, tens of ms holding the interpreter, at every live update's batch.
    walks = []
    count = gc.get_freeze_count
    monkeypatch.setattr(gc, "get_freeze_count", lambda: walks.append(1) or count())
    with collector_paused():
        _Node()
    assert walks == []
    with collector_paused():  # a bulk batch asks, once, whether to keep its objects frozen
        kept = [_Node() for _ in range(BULK_OBJECTS)]
    assert walks == [1]
    del kept
