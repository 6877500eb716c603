"""What the inspector draws is freed by reference counting, not left in cycles for the collector
(tui/acyclic.py, MeshTree.clear): a frozen heap would keep such cycles until a whole-heap pass."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widgets.tree import TreeNode

from meshtui.tui import acyclic
from tests.collector import dead_in_cycles
from tests.tui.helpers import BOOKINFO, make_app, press, settle

STYLES = [None, Style(bold=True)]


def _strips() -> Iterator[Strip]:
    """Fresh strips (nothing cached yet) of several shapes: empty, one segment, several, wide
    characters."""
    shapes = [
        [],
        [Segment("hello")],
        [Segment("ab", Style(color="red")), Segment("cd"), Segment("e", Style(italic=True))],
        [Segment("日本"), Segment("x")],
    ]
    for segments in shapes:
        yield Strip(list(segments))


def _same(a: Strip, b: Strip) -> bool:
    return list(a) == list(b) and a.cell_length == b.cell_length


def test_crop_extend_gives_what_textuals_own_gives_for_every_range():
    own_crop_extend, _ = acyclic.original()
    acyclic.install()
    for strip, twin in zip(_strips(), _strips(), strict=True):
        n = strip.cell_length
        for start, end, style in itertools.product(range(-2, n + 3), range(0, n + 4), STYLES):
            assert _same(
                strip.crop_extend(start, end, style), own_crop_extend(twin, start, end, style)
            ), (list(strip), start, end, style)


def test_divide_gives_what_textuals_own_gives_for_every_cut():
    _, own_divide = acyclic.original()
    acyclic.install()
    for strip, twin in zip(_strips(), _strips(), strict=True):
        n = strip.cell_length
        cut_lists = [[n], [n + 1], [0, n], [1], [1, n], [n, n + 2], [2, 3, n], []]
        for cuts in cut_lists:
            ours = strip.divide(iter(cuts))  # any iterable, as Textual takes it
            theirs = own_divide(twin, list(cuts))
            assert len(ours) == len(theirs)
            assert all(_same(a, b) for a, b in zip(ours, theirs, strict=True)), (cuts, n)


def test_a_line_as_wide_as_its_region_does_not_hold_itself():
    acyclic.install()
    strip = Strip([Segment("hello")])
    assert strip.crop_extend(0, 5, None) is strip
    assert strip.divide([5]) == [strip]
    assert not any(r is strip._crop_extend_cache._cache for r in gc.get_referrers(strip))
    assert strip not in strip._divide_cache._cache.get((5,), [])


def test_a_cleared_line_cache_holds_nothing_and_works_as_before():
    acyclic.install()
    cache: LRUCache[int, Strip] = LRUCache(3)
    line = Strip([Segment("x")])
    for key in range(5):  # two evicted
        cache[key] = line
    assert list(cache.keys()) == [2, 3, 4]
    ring = list(cache._cache.values())
    cache.clear()
    assert len(cache) == 0 and cache.get(4) is None
    assert all(link == [] for link in ring)  # no link names another: nothing left in a cycle
    for key in range(4):
        cache[key] = line
    assert cache.get(0) is None and cache.get(3) is line and list(cache.keys()) == [1, 2, 3]


@pytest.mark.asyncio
async def test_drawing_and_rebuilding_the_tree_leave_no_lines_or_nodes_in_cycles():
    app = make_app(BOOKINFO)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        dead_in_cycles()  # what loading left (workers, the event loop's)
        # Moves repaint lines; `s` re-sorts (a new layout: the tree is built again); `enter`
        # opens hosts, and the filter rebuilds the tree twice more.
        await press(pilot, "j", "j", "enter", "j", "s", "j", "s", "slash", "r", "e", "v")
        await pilot.press("escape")
        await pilot.pause()
        assert app.host_tree.root.children  # the tree is there, drawn again
        dead = dead_in_cycles()
        lines = [o for o in dead if isinstance(o, Strip)]
        nodes = [o for o in dead if isinstance(o, TreeNode)]
        assert not lines, f"{len(lines)} drawn lines in cycles"
        assert not nodes, f"{len(nodes)} tree nodes in cycles"
