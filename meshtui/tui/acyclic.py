"""Textual's rendered lines without the references that make them reference cycles.

`Strip.crop_extend` and `Strip.divide` cache their result on the strip, and when the result is
the strip itself (a line already as wide as its region: nearly every line the compositor
draws) the strip holds itself. Every line drawn is then a reference cycle that only the cyclic
collector frees, and once the inspector has frozen the heap (tui/memory.py) a line frozen on
screen that dies later waits for the next whole-heap pass: under live churn these made most of
what piled up between passes (benchmarks/README.md, "Live churn"). An identity result needs no
cache, so these wrappers return the strip without storing it; every other call goes to
Textual's own method, unchanged (tests/tui/test_acyclic.py compares them over many strips).

Textual's `LRUCache` (the tree's cache of drawn lines, among others) keeps its entries in a
ring of links; `clear` drops the ring whole, and a ring is a cycle, so every line the tree had
cached (a thousand, at each change of its nodes) went to the collector. Clearing unlinks the
ring first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

_crop_extend = Strip.crop_extend
_divide = Strip.divide
_lru_clear = LRUCache.clear


def _acyclic_crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    # Textual extends to `end` (nothing to do when the strip is that wide) and then crops to
    # [max(0, start), end): the strip itself exactly when it starts at 0 and ends at `end`.
    if start <= 0 and end == self.cell_length:
        return self
    return _crop_extend(self, start, end, style)


def _acyclic_divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    # Textual keeps the cuts within the strip; a single cut at its end is the strip itself.
    cuts = list(cuts)
    length = self.cell_length
    if [cut for cut in cuts if cut <= length] == [length]:
        return [self]
    return _divide(self, cuts)


def _acyclic_clear(self: LRUCache[Any, Any]) -> None:
    # Each entry is a link [previous, next, key, value] of the ring: emptied, none names another.
    for link in self._cache.values():
        link.clear()
    _lru_clear(self)


def install() -> None:
    """Make Textual's strips and line caches acyclic for this process (idempotent)."""
    strip: Any = Strip
    strip.crop_extend = _acyclic_crop_extend
    strip.divide = _acyclic_divide
    cache: Any = LRUCache
    cache.clear = _acyclic_clear


def original() -> tuple[Any, Any]:
    """Textual's own `crop_extend` and `divide` (for the test that compares them)."""
    return _crop_extend, _divide
