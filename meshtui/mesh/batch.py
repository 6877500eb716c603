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
            # (Asked here, not at every batch's start: CPython counts the frozen set by walking
            # it, two million objects at 10,000 hosts, holding the interpreter for tens of ms;
            # a live update's small batch would stall the inspector's keys each time.)
            frozen_before = gc.get_freeze_count() > 0
            # What a bulk batch built lives on (resources, analyses, the report): freezing
            # then unfreezing moves every tracked object straight to the oldest generation, so
            # the next young collections do not traverse the millions the pause let pile up.
            # Not after a small batch: objects moved so are never counted towards a full
            # collection, and the cyclic garbage of a live session (each update's old view)
            # then piled up there unfreed, megabytes a minute. Where the embedding program
            # keeps a frozen heap (the inspector: tui/memory.py), unfreezing would hand all of
            # it back to the collector; what the batch built joins the frozen set instead.
            gc.freeze()
            if not frozen_before:
                gc.unfreeze()
        gc.enable()
