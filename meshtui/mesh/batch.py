"""Batch work over a whole mesh, run without the cyclic garbage collector.

Loading, analysing and reporting a mesh allocate millions of small objects that form no
reference cycles (parsed documents, resources, analyses, report values). CPython's cyclic
collector, triggered by allocation counts, re-traverses the ever-growing heap dozens of times
meanwhile and finds nothing: a quarter of `meshtui check`'s time at 10,000 hosts. Reference
counting still frees everything as usual; only the search for cycles waits for the batch's end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A batch that leaves at least this many new tracked objects is a bulk one (a load, a whole
# analysis); a live update's re-analysis of a few hosts leaves far fewer.
BULK_OBJECTS = 100_000


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (nesting and threads are harmless)."""
    if not gc.isenabled():  # paused already (an enclosing batch, or the embedding program)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_count()[0] >= BULK_OBJECTS:
            keep_long_lived()
        gc.enable()


def keep_long_lived(*, release_dead: bool = False) -> None:
    """After a bulk batch, or a load (which its caller knows to be one): what it built lives
    on (resources, analyses, the report), so the whole heap is frozen, left out of every later
    collection. A live session's updates then make the collector traverse what they built,
    not the millions of objects of the mesh (a full collection of a 2,000-host mesh took a
    second, and ran every few seconds under churn).

    `release_dead` (a reload): what earlier calls froze and has died since (the replaced
    view's and tree's cycles) is released and collected first, one full pass, so frozen
    garbage never outlives one reload. Not after a small batch: its objects are freed by the
    young collections; frozen, or moved straight to the oldest generation, each live update's
    garbage would pile up unfreed (megabytes a minute)."""
    if release_dead and gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    gc.freeze()
