"""A scrolling pane with the paging keys every pane shares (j k, ctrl+d ctrl+u, space b, g G)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType
from textual.containers import ScrollableContainer

from meshtui.tui.keys import Scope, bindings


class PagedScroll(ScrollableContainer):
    """Like less: the text moves at once, without a scrolling animation."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.SCROLL)

    def _by(self, lines: int) -> None:
        self.scroll_relative(y=lines, animate=False)

    @property
    def _page(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def action_down(self) -> None:
        self._by(1)

    def action_up(self) -> None:
        self._by(-1)

    def action_half_page_down(self) -> None:
        self._by(max(self.scrollable_content_region.height // 2, 1))

    def action_half_page_up(self) -> None:
        self._by(-max(self.scrollable_content_region.height // 2, 1))

    def action_page_down(self) -> None:
        self._by(self._page)

    def action_page_up(self) -> None:
        self._by(-self._page)

    def action_top(self) -> None:
        self.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.scroll_end(animate=False)
