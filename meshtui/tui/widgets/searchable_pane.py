"""The right side: the detail pane with its search line under it.

`/` with the pane focused opens the line; typing marks matches as you go, enter goes back to the
pane (n / N step through the matches), esc leaves the search.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input

from meshtui.tui.style import safe
from meshtui.tui.widgets.detail_pane import DetailPane
from meshtui.tui.widgets.text_line import TextLine


def focus_now(widget: Widget) -> None:
    """Focus now, not on the next turn of the message loop (Widget.focus): keys typed right
    after `/` (or enter) are already queued and must reach the widget they were meant for."""
    widget.screen.set_focus(widget)


class SearchablePane(Vertical):
    """A :class:`DetailPane` and the line that searches it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pane = DetailPane(id="detail")
        self.line = TextLine(placeholder="search the pane", id="search", disabled=True)

    def compose(self) -> ComposeResult:
        yield self.pane
        yield self.line

    @property
    def searching(self) -> bool:
        """In the search line, or in the pane with a search shown."""
        return self.line.has_focus or (self.pane.has_focus and bool(self.pane.search_query))

    def open(self) -> None:
        """Open an empty search line and type into it."""
        line = self.line
        line.disabled = False
        line.add_class("-visible")
        with line.prevent(Input.Changed):
            line.value = ""
        focus_now(line)

    @on(Input.Changed, "#search")
    def _changed(self, event: Input.Changed) -> None:
        self.pane.search(event.value)
        self.show_position()

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self._hide()
        pane = self.pane
        focus_now(pane)
        if pane.search_query and not pane.matches:
            self.notify(f"Not found: {safe(pane.search_query)}", timeout=3, markup=False)

    def _hide(self) -> None:
        self.line.remove_class("-visible")
        self.line.disabled = True

    def close(self) -> None:
        """Leave the search: no line, no marks; the pane keeps the focus."""
        self._hide()
        self.pane.clear_search()
        self.show_position()
        focus_now(self.pane)

    def step(self, *, backwards: bool) -> bool:
        """n / N in the focused pane after a search: the next match (True), else False."""
        pane = self.pane
        if not (pane.has_focus and pane.search_query):
            return False
        if not pane.step(backwards):
            self.notify(f"Not found: {safe(pane.search_query)}", timeout=3, markup=False)
        self.show_position()
        return True

    def show_position(self) -> None:
        """The pane's subtitle: the search and which match the pane is on."""
        pane = self.pane
        if pane.search_query:
            pane.border_subtitle = Text(f"/{safe(pane.search_query)} · {pane.position}")
        else:
            pane.border_subtitle = ""
