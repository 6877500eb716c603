"""The help screen: every key and `:` command, from the tables the bindings are made of."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from meshtui.tui.command_mode import COMMANDS
from meshtui.tui.keys import key_text, sections
from meshtui.tui.text import safe
from meshtui.tui.widgets.paged import PagedScroll

__all__ = ["HelpScreen", "help_table", "key_text"]


def _keys_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, min_width=14)
    table.add_column()
    for shown, does in rows:
        table.add_row(Text(shown, style="bold"), Text(does))
    return table


def help_table() -> Group:
    """Each section's title on a line of its own, over a table of its keys."""
    groups = [*sections()]
    groups.append(
        ("Commands (after :)", [(f":{c.name} {c.usage}".rstrip(), c.help) for c in COMMANDS])
    )
    parts: list[RenderableType] = []
    for i, (title, rows) in enumerate(groups):
        if i:
            parts.append(Text(""))
        parts.append(Text(title, style="bold underline"))
        parts.append(_keys_table(rows))
    return Group(*parts)


class HelpScroll(PagedScroll):
    """The help's text, paged with the keys of every pane."""

    DEFAULT_CSS = """
    HelpScroll {
        overflow-x: hidden;
        overflow-y: auto;
    }
    """


class HelpScreen(ModalScreen[None]):
    """Lists every key binding with what it does; any of esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > HelpScroll {
        width: 80;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    """

    def __init__(self, notes: Sequence[str] = ()) -> None:
        super().__init__()
        self.notes = notes  # what a live source could not read, in full

    def compose(self) -> ComposeResult:
        with HelpScroll() as scroll:
            scroll.border_title = "meshtui keys"
            scroll.border_subtitle = "esc close"
            if self.notes:  # first: it is what the header's `◐ partial (?)` sends people here for
                text = Text()
                text.append("Not read (findings that depend on it are withheld)\n", "bold")
                text.append("\n".join(f"• {safe(note)}" for note in self.notes))
                text.append("\n")
                yield Static(text, id="help-partial")
            yield Static(help_table(), id="help-keys")

    def on_mount(self) -> None:
        self.query_one(HelpScroll).focus()
