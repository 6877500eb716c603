"""A one-line text field where ctrl+c empties the field first and quits when it is empty."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class TextLine(Input):
    """ctrl+c is handled here, in the field's own turn: keys typed just before it (queued for
    the field while the app already sees ctrl+c) are in the value by then, so a line that was
    being typed is emptied rather than the app quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "clear_or_quit", "Clear the line, or quit when it is empty", show=False)
    ]

    def action_clear_or_quit(self) -> None:
        if self.value:
            self.value = ""
            self.cursor_position = 0
        else:
            self.app.exit(0)
