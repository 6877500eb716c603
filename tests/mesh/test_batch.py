"""collector_paused: batches run without the cyclic collector, yet leave it their garbage."""

from __future__ import annotations

import gc
import weakref

from meshtui.mesh.batch import collector_paused


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
