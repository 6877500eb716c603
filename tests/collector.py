"""What CPython's cyclic collector finds unreachable, for tests and benchmarks that check that
nothing is left to it (the inspector freezes its heap, so a cycle waits for a whole-heap pass)."""

from __future__ import annotations

import gc


def dead_in_cycles() -> list[object]:
    """Everything in unreachable reference cycles now, kept aside by a collection instead of
    freed (DEBUG_SAVEALL), then handed over: freed by the next collection once dropped."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        dead = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(0)
    return dead
