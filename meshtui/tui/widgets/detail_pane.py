"""The right pane: the detail of the selected node, or raw YAML, scrollable and searchable."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from meshtui.tui.keys import Scope, bindings
from meshtui.tui.widgets.paged import PagedScroll

Build = Callable[[int], Text]
MATCH = "reverse"
CURRENT_MATCH = "bold black on yellow"
CONTEXT_LINES = 2  # lines kept above a match scrolled to
_MEASURE = Console(width=1000, color_system=None, force_terminal=False)


class DetailPane(PagedScroll):
    """Shows `Text` (never markup) laid out for the pane's width, rebuilt when it changes.

    The detail is wrapped here, one line of the text per row, so a search knows which row a
    match is on; raw YAML is not wrapped at all (it scrolls sideways) so no continuation of a
    long line can pass for a key at column 0.
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.PANE)

    DEFAULT_CSS = """
    DetailPane {
        overflow-x: hidden;
        overflow-y: auto;
    }
    DetailPane > #detail-body {
        width: 1fr;
        height: auto;
    }
    DetailPane.-nowrap {
        overflow-x: auto;
    }
    DetailPane.-nowrap > #detail-body {
        width: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._build: Build = lambda width: Text("")
        self._width = 0
        self._text = Text("")
        self.wrap = True
        self.search_query = ""
        self.matches: list[tuple[int, int, int]] = []  # (row, start, end) in the shown text
        self.current = -1

    def compose(self) -> ComposeResult:
        yield Static(id="detail-body")

    @property
    def body(self) -> Static:
        return self.query_one("#detail-body", Static)

    @property
    def text_width(self) -> int:
        """Columns for text: the pane without its border, padding and scrollbar."""
        width = self.scrollable_content_region.width
        return width if width > 10 else 80

    def show(self, build: Build | Text, *, wrap: bool = True) -> None:
        """Show `build(width)` (or fixed text) from the top; `wrap=False` keeps lines whole."""
        self._build = build if callable(build) else (lambda width: build)
        self.wrap = wrap
        self.set_class(not wrap, "-nowrap")
        self._layout()
        self.scroll_to(0, 0, animate=False)

    def _layout(self) -> None:
        self._width = self.text_width
        text = self._build(self._width)
        if self.wrap:
            lines = text.wrap(_MEASURE, self._width, overflow="fold")
            text = Text("\n").join(lines)
        else:
            text = text.copy()
            text.no_wrap = True
            text.overflow = "ignore"
        self._text = text
        self._find()
        self._render_text()

    def _render_text(self) -> None:
        if not self.matches:
            self.body.update(self._text)
            return
        text = self._text.copy()
        offsets = _line_offsets(text.plain)
        for i, (row, start, end) in enumerate(self.matches):
            at = offsets[row]
            text.stylize(CURRENT_MATCH if i == self.current else MATCH, at + start, at + end)
        self.body.update(text)

    # -- search (`/` while the pane has focus, then n / N) ------------------------------------

    def search(self, query: str) -> int:
        """Mark every match of `query` (any case) and go to the first one from the top of the
        view; the number of matches."""
        self.search_query = query
        self._find()
        if self.matches:
            top = round(self.scroll_y)
            self.current = next((i for i, m in enumerate(self.matches) if m[0] >= top), 0)
            self._go()
        self._render_text()
        return len(self.matches)

    def step(self, backwards: bool = False) -> bool:
        """To the next (or previous) match, wrapping around; False when there is none."""
        if not self.matches:
            return False
        self.current = (self.current + (-1 if backwards else 1)) % len(self.matches)
        self._go()
        self._render_text()
        return True

    def clear_search(self) -> None:
        self.search_query = ""
        self.matches = []
        self.current = -1
        self._render_text()

    def _find(self) -> None:
        self.matches = []
        if not self.search_query:
            self.current = -1
            return
        needle = self.search_query.lower()
        for row, line in enumerate(self._text.plain.lower().split("\n")):
            start = line.find(needle)
            while start >= 0:
                self.matches.append((row, start, start + len(needle)))
                start = line.find(needle, start + len(needle))
        self.current = min(self.current, len(self.matches) - 1)

    def _go(self) -> None:
        row, start, end = self.matches[self.current]
        x = self.scroll_x
        view = self.scrollable_content_region.width
        if not self.wrap and not x <= start < end <= x + view:
            x = max(0, start - view // 4)
        y = self.scroll_y
        height = self.scrollable_content_region.height
        if not y <= row < y + height:
            y = max(0, row - CONTEXT_LINES)
        self.scroll_to(x, y, animate=False, force=True)

    @property
    def position(self) -> str:
        """`match 2/5`, for the search line."""
        if not self.search_query:
            return ""
        if not self.matches:
            return "no match"
        return f"match {self.current + 1}/{len(self.matches)}"

    def action_scroll_sideways(self, columns: int) -> None:
        self.scroll_relative(x=columns, animate=False)

    def on_resize(self, event: events.Resize) -> None:
        if self.text_width != self._width:
            self._layout()


def _line_offsets(plain: str) -> list[int]:
    """The offset in `plain` where each line starts."""
    offsets = [0]
    for i, char in enumerate(plain):
        if char == "\n":
            offsets.append(i + 1)
    return offsets
