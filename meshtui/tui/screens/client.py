"""The client-view prompt: whose sidecars the inspector shows the mesh for."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ClientScreen(ModalScreen[str | None]):
    """Ask for a client namespace; enter applies it (empty: every client), esc cancels."""

    DEFAULT_CSS = """
    ClientScreen {
        align: center middle;
    }
    ClientScreen > Vertical {
        width: 64;
        height: auto;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Show the mesh as sidecars in this namespace see it: the DestinationRule and "
                "VirtualService they use. Empty: every client.",
                markup=False,
            )
            yield Input(value=self.current, placeholder="namespace", id="client-namespace")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
