"""The help screen: every key, read from the bindings themselves so it cannot drift."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from meshtui.tui.text import safe

KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "escape": "esc",
    "ctrl+p": "ctrl+p",
    "down": "↓",
    "up": "↑",
    "left": "←",
    "right": "→",
}


def key_text(keys: str) -> str:
    """`j,down` → `j ↓`."""
    return " ".join(KEY_NAMES.get(k, k) for k in keys.split(","))


def bindings_table(sections: Sequence[tuple[str, Iterable[BindingType]]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, min_width=14)
    table.add_column()
    for i, (title, bindings) in enumerate(sections):
        if i:
            table.add_row(Text(""), Text(""))
        table.add_row(Text(title, style="bold underline"), Text(""))
        for b in bindings:
            if isinstance(b, Binding):
                table.add_row(Text(key_text(b.key), style="bold"), Text(b.description))
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every key binding with what it does; any of esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    """

    def __init__(
        self, sections: Sequence[tuple[str, Iterable[BindingType]]], notes: Sequence[str] = ()
    ) -> None:
        super().__init__()
        self.sections = sections
        self.notes = notes  # what a live source could not read, in full

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "meshtui keys"
            scroll.border_subtitle = "esc close"
            yield Static(bindings_table(self.sections), id="help-keys")
            if self.notes:
                text = Text()
                text.append("Not read (findings that depend on it are withheld)\n", "bold")
                text.append("\n".join(f"• {safe(note)}" for note in self.notes))
                yield Static(text, id="help-partial")
