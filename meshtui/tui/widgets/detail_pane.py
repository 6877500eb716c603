"""The right pane: the detail of the selected node, scrollable."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

Build = Callable[[int], Text]


class DetailPane(VerticalScroll):
    """Shows `Text` (never markup) laid out for the pane's width, rebuilt when it changes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "lines(1)", "Scroll down", show=False),
        Binding("k,up", "lines(-1)", "Scroll up", show=False),
        Binding("g,home", "to_top", "Top", show=False),
        Binding("G,end", "to_bottom", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._build: Build = lambda width: Text("")
        self._width = 0

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

    def show(self, build: Build | Text) -> None:
        """Show `build(width)` (or fixed text) from the top."""
        self._build = build if callable(build) else (lambda width: build)
        self._width = self.text_width
        self.body.update(self._build(self._width))
        if self.scroll_y:
            self.scroll_home(animate=False)

    # Like less: the text moves at once, without a scrolling animation.
    def action_lines(self, lines: int) -> None:
        self.scroll_relative(y=lines, animate=False)

    def action_to_top(self) -> None:
        self.scroll_home(animate=False)

    def action_to_bottom(self) -> None:
        self.scroll_end(animate=False)

    def on_resize(self, event: events.Resize) -> None:
        if self.text_width != self._width:
            self._width = self.text_width
            self.body.update(self._build(self._width))
