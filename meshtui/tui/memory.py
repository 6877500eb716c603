"""The inspector's heap and CPython's cyclic collector: the mesh kept out of full collections.

A full collection traverses every tracked object outside the frozen set, holding the GIL: at
10,000 hosts (two million tracked objects) that stalled the inspector for seconds, several times
a minute under live churn, and found almost nothing, because what an update replaces is freed
by reference counting (tests/live/test_churn_memory.py keeps it so). After a load the heap is
frozen (`gc.freeze`): the mesh, its analyses and the view then lie outside every collection.
Churn replaces parts of it, and the replacements join the collected generations; once a full
collection takes longer than `FULL_PASS_BUDGET`, what survived it (live: it has just collected
the rest) is frozen too, so full collections stay short however long the session runs.

What is frozen and later dies in a reference cycle is freed by a reload (`r`), which collects
once over the whole heap before freezing it again, and by `settle`: once the heap has
grown by `GROWTH` since the last such pass, the inspector runs one at a moment nobody is typing
(the pause is seconds at 10,000 hosts), so memory stays bounded however long churn goes on.
The core's updates make no cycles, and neither do Textual's rendered lines, line caches and
replaced tree nodes since tui/acyclic.py and MeshTree.clear unlink them; what is left (a
finished worker, widgets a screen drops) is small (benchmarks/README.md, "Live churn", has the
memory measured over 5 and 30 minutes of churn).

What a pass frees lies scattered among what lives, and glibc's malloc keeps such pages: after
each pass they are handed back (`malloc_trim`).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
import time
from typing import Any, Generic, TypeVar

from textual.worker import Worker

T = TypeVar("T")

# A full collection longer than this (seconds) freezes its survivors: the longest pause the
# collector may add to a key's answer under churn, against the 50 ms budget of key to repaint.
FULL_PASS_BUDGET = 0.05
OLDEST = 2
# How much the heap may grow (a share of the blocks allocated after the last whole-heap pass)
# before an idle moment collects it again.
GROWTH = 0.1


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim  # noqa: B018 - glibc only: musl and macOS lack it
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def return_freed_memory() -> None:
    """Hand the pages malloc holds free back to the system (glibc's malloc_trim): after a
    whole-heap pass has freed what churn left, they would otherwise stay in the process's
    resident set."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class LongLivedHeap:
    """Freezes the heap after each load and, while the inspector runs, the survivors of any full
    collection that took too long; `release` hands everything back to the collector."""

    def __init__(self, budget: float = FULL_PASS_BUDGET) -> None:
        self.budget = budget
        self.frozen = False
        self.closed = False  # released: a load that ends later (an app quit early) keeps nothing
        self.refreezes = 0  # times the survivors of a full collection were frozen (benchmarks)
        self.settled = 0  # whole-heap passes `settle` ran (benchmarks)
        self._baseline = 0  # blocks allocated after the last whole-heap pass
        self._started = 0.0
        self._lock = threading.Lock()

    def keep(self) -> None:
        """After a load (in its worker): what it built lives until the next load. A reload first
        collects what earlier loads froze and has died since, once, so nothing frozen outlives a
        reload."""
        with self._lock:
            if self.closed:
                return
            if self.frozen:
                gc.unfreeze()
                gc.collect()
                return_freed_memory()
            gc.freeze()
            self._baseline = sys.getallocatedblocks()
            if not self.frozen:
                gc.callbacks.append(self._collected)
                self.frozen = True

    def grown(self) -> bool:
        """Whether the heap has grown by `GROWTH` since the last whole-heap pass.

        Measured in blocks allocated (what died frozen in a cycle stays allocated), which
        CPython counts by its pools, in well under a millisecond; `gc.get_freeze_count` walks
        the frozen set (two million objects at 10,000 hosts), holding the interpreter for tens
        of ms, and was asked every few seconds. Growth of what lives also counts: it brings
        one pass that frees little, and the next baseline is taken after it."""
        return self.frozen and sys.getallocatedblocks() > self._baseline * (1 + GROWTH)

    def settle(self) -> bool:
        """Collect the whole heap once and freeze what lives, if the heap has grown by
        `GROWTH`: what died frozen since (finished workers, dropped widgets) is freed.
        Call it when a pause does not matter (no key for a while); True if it ran."""
        with self._lock:
            if self.closed or not self.grown():
                return False
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            return_freed_memory()
            self._baseline = sys.getallocatedblocks()
            self.settled += 1
            return True

    def release(self) -> None:
        """The inspector is done (or a test's app): everything frozen goes back to the oldest
        generation, to be collected as usual."""
        with self._lock:
            self.closed = True
            if self.frozen:
                gc.callbacks.remove(self._collected)
                gc.unfreeze()
                self.frozen = False

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        # Called by CPython around every collection, in whichever thread triggered it.
        if info.get("generation") != OLDEST:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif time.perf_counter() - self._started > self.budget:
            # The collection is over: the old generation holds only what it found reachable,
            # and freezing moves lists, so nothing is traversed here. (Freezing instead after
            # the next update is shown, after one more collection, so that the lines Textual
            # had drawn before it are not frozen, was measured too: frozen objects grew as
            # much, and the extra collection on the UI thread slowed keys; benchmarks/README.)
            gc.freeze()
            self.refreezes += 1


class Handoff(Generic[T]):
    """A worker thread's result, handed to the UI thread once.

    Textual keeps a finished Worker in a reference cycle (its task's context names it the
    active worker), so whatever the Worker holds lives until a full collection finds the cycle;
    the result of a live snapshot is a whole view, the replaced one once the next is shown. The
    Worker holds this box instead, and `taken` empties it."""

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value: T | None = value

    def take(self) -> T | None:
        value, self._value = self._value, None
        return value


def taken(worker: Worker[Any]) -> Any:
    """The result of a finished worker whose work returned a `Handoff` (None if it failed),
    which the worker no longer holds."""
    result = worker.result
    return result.take() if isinstance(result, Handoff) else result


def keep_heap_at_exit() -> None:
    """The process ends next: freeze the heap, so that the interpreter's last collection at exit
    does not traverse a mesh that is about to be freed anyway (seconds at 10,000 hosts)."""
    gc.freeze()
