"""The client-view prompt: whose sidecars the inspector shows the mesh for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

EVERY_CLIENT = "all"


class ClientScreen(ModalScreen[str | None]):
    """Ask for a client namespace; enter applies it (empty: every client), esc cancels.

    `known`: the namespaces the input names, completed with tab; another one is said to have
    no client in the input, and applied only on a second enter."""

    DEFAULT_CSS = """
    ClientScreen {
        align: center middle;
    }
    ClientScreen > Vertical {
        width: 64;
        max-width: 100%;
        height: auto;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    ClientScreen #client-warning {
        color: $warning;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "complete", "Complete the namespace", priority=True),
    ]
    AUTO_FOCUS = "#client-namespace"

    def __init__(self, current: str, known: Sequence[str] = ()) -> None:
        super().__init__()
        self.current = current
        self.known = list(known)
        self._warned = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Show the mesh as sidecars in this namespace see it: the DestinationRule and "
                "VirtualService they use. Empty: every client. tab completes.",
                markup=False,
            )
            yield Input(
                value=self.current,
                placeholder="namespace",
                id="client-namespace",
                suggester=SuggestFromList([*self.known, EVERY_CLIENT], case_sensitive=True),
            )
            yield Static("", id="client-warning", markup=False)

    @property
    def field(self) -> Input:
        return self.query_one("#client-namespace", Input)

    def action_complete(self) -> None:
        field = self.field
        field.cursor_position = len(field.value)
        field.action_cursor_right()  # at the end of the field: takes the suggestion

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name and name != EVERY_CLIENT and name not in self.known and name != self._warned:
            self._warned = name
            shown = ", ".join(self.known[:8]) + (" …" if len(self.known) > 8 else "")
            self.query_one("#client-warning", Static).update(
                f"No client in namespace {name} in the input; it names {shown or 'none'}. "
                "enter again to use it anyway."
            )
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
