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
        # What the batch built lives on (resources, analyses, the report): freezing then
        # unfreezing moves every tracked object straight to the oldest generation, so the next
        # young collections do not traverse the millions of objects the pause let pile up.
        gc.freeze()
        gc.unfreeze()
        gc.enable()
