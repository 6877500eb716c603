"""collector_paused: batches run without the cyclic collector, yet leave it their garbage."""

from __future__ import annotations

import gc
import weakref

from meshtui.mesh.batch import BULK_OBJECTS, collector_paused, keep_long_lived


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


def test_a_bulk_batch_freezes_what_it_built_and_a_reload_frees_what_died_since():
    try:
        with collector_paused():
            kept = [[] for _ in range(BULK_OBJECTS)]  # a mesh's worth of objects
            node = _Node()
            alive = weakref.ref(node)
        assert gc.get_freeze_count() >= len(kept)  # left out of later collections
        del node  # a cycle the load built, dead since (a replaced view, a rebuilt tree)
        gc.collect()
        assert alive() is not None  # frozen: no collection looks at it
        keep_long_lived(release_dead=True)  # what a reload does
        assert alive() is None
    finally:
        gc.unfreeze()
