"""Command mode, as in k9s: `:` opens a line, `:ns shop` runs a command, esc leaves.

A command is one entry of :data:`COMMANDS`: its name, what it takes, what it does, the function
that runs it and the one that lists its completions. The line completes the command's name and
then its argument (tab, or → at the end of the line), and lists what fits under it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Protocol

from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import Input

from meshtui.mesh.frozen import frozen
from meshtui.tui.model import natural_key
from meshtui.tui.style import safe
from meshtui.tui.widgets.text_line import TextLine

ALL = "all"
LISTED = 8  # completions shown under the line


class CommandTarget(Protocol):
    """What commands act on: the inspector (MeshApp)."""

    def namespace_names(self) -> list[str]: ...
    def context_names(self) -> list[str]: ...
    def show_namespace(self, name: str) -> None: ...
    def switch_context(self, argument: str) -> None: ...
    def set_client_namespace(self, namespace: str | None) -> None: ...
    def quit_app(self) -> None: ...
    def leave_command(self) -> None: ...
    def notify(self, message: str, **options: Any) -> None: ...


@frozen
class Command:
    name: str
    usage: str  # what it takes, for the help: `NAME`, `[NAME|all]`
    help: str
    run: Callable[[CommandTarget, str], None]
    complete: Callable[[CommandTarget], Iterable[str]] | None = None
    aliases: tuple[str, ...] = ()


def _namespaces(target: CommandTarget) -> Iterable[str]:
    return [ALL, *target.namespace_names()]


# One entry per command; the help, the README and completion read this table.
COMMANDS: tuple[Command, ...] = (
    Command(
        "ns",
        "[NAME]",
        "only the hosts of namespace NAME; `:ns` or `:ns all` shows every namespace",
        lambda target, arg: target.show_namespace("" if arg == ALL else arg),
        _namespaces,
        aliases=("namespace",),
    ),
    Command(
        "ctx",
        "[+]NAME",
        "live: read kubeconfig context NAME instead (`+NAME` adds it beside the others)",
        lambda target, arg: target.switch_context(arg),
        lambda target: target.context_names(),
        aliases=("context",),
    ),
    Command(
        "client",
        "[NS|all]",
        "the mesh as sidecars in namespace NS see it (their DestinationRule and "
        "VirtualService); `:client` or `:client all`: every client",
        lambda target, arg: target.set_client_namespace("" if arg == ALL else arg),
        _namespaces,
    ),
    Command("q", "", "quit", lambda target, arg: target.quit_app(), aliases=("quit", "q!")),
)


def find(name: str, commands: Sequence[Command] = COMMANDS) -> Command | None:
    for c in commands:
        if name == c.name or name in c.aliases:
            return c
    return None


def split(line: str) -> tuple[str, str]:
    """`ns  shop ` → (`ns`, `shop`); a leading `:` is allowed."""
    name, _, arg = line.strip().removeprefix(":").strip().partition(" ")
    return name, arg.strip()


def candidates(
    line: str, target: CommandTarget, commands: Sequence[Command] = COMMANDS
) -> list[str]:
    """Whole lines that complete `line`: command names, then the command's arguments."""
    text = line.lstrip()
    if " " not in text:
        return [c.name for c in commands if c.name.startswith(text)]
    name, arg = split(text)
    command = find(name, commands)
    if command is None or command.complete is None:
        return []
    prefix = arg.startswith("+") and command.name == "ctx"
    word = arg[1:] if prefix else arg
    values = sorted(set(command.complete(target)), key=natural_key)
    mark = "+" if prefix else ""
    return [f"{name} {mark}{v}" for v in values if v.startswith(word) and v != word]


def _common_prefix(values: Sequence[str]) -> str:
    first, last = min(values), max(values)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


class CommandSuggester(Suggester):
    """The first completion, shown greyed after the cursor."""

    def __init__(self, target: CommandTarget) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.target = target

    async def get_suggestion(self, value: str) -> str | None:
        found = candidates(value, self.target)
        return found[0] if found and value else None


class CommandLine(TextLine):
    """The `:` line. Typed keys are characters here, never the inspector's single-key actions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete"),
        Binding("escape", "leave", "Leave", key_display="esc"),
    ]

    DEFAULT_CSS = """
    CommandLine {
        display: none;
        height: 3;
        border: round $accent;
        border-subtitle-align: left;
    }
    CommandLine.-visible {
        display: block;
    }
    """

    def __init__(self, target: CommandTarget, *, id: str | None = None) -> None:
        super().__init__(
            placeholder="ns NAME · ctx NAME · q", suggester=CommandSuggester(target), id=id
        )
        self.target = target
        self.border_title = ":"

    def open(self) -> None:
        self.value = ""
        self.disabled = False
        self.add_class("-visible")
        self._hint("")

    def close(self) -> None:
        self.remove_class("-visible")
        self.disabled = True

    def action_complete(self) -> None:
        """Like a shell: the one completion (a command then waits for its argument), else the
        longest prefix all completions share, else the first of them."""
        found = candidates(self.value, self.target)
        if not found:
            return
        if len(found) == 1:
            value = found[0]
            command = find(value)
            if " " not in value and command is not None and command.usage:
                value += " "
        else:
            value = _common_prefix(found)
            if len(value) <= len(self.value):
                value = found[0]
        self.value = value
        self.cursor_position = len(value)

    def action_leave(self) -> None:
        self.target.leave_command()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Run the command typed, once the line is left (a command may open a screen)."""
        event.stop()
        self.target.leave_command()
        name, argument = split(event.value)
        if not name:
            return
        command = find(name)
        if command is None:
            known = ", ".join(f":{c.name}" for c in COMMANDS)
            self.target.notify(
                f"Unknown command :{safe(name)} (commands: {known})",
                severity="warning",
                timeout=5,
                markup=False,
            )
            return
        command.run(self.target, argument)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._hint(event.value)

    def _hint(self, value: str) -> None:
        found = candidates(value, self.target)
        shown = [split(f)[1] or split(f)[0] for f in found[:LISTED]]
        more = f" … +{len(found) - LISTED}" if len(found) > LISTED else ""
        self.border_subtitle = "  ".join(shown) + more if shown else "tab completes · esc leaves"
