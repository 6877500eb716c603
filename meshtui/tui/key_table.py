"""The README's key table, made from the one key table (keys.py) and the `:` commands
(command_mode.py), so the README never disagrees with the app: `python -m meshtui.tui.key_table`
prints it. Nothing in the app imports this module."""

from __future__ import annotations

from meshtui.tui.command_mode import COMMANDS
from meshtui.tui.keys import KEYS, ORDER, key_text


def markdown() -> str:
    """The README's key table, and the `:` commands under it."""
    lines = ["| key | where | does |", "| --- | --- | --- |"]
    for scope in ORDER:
        for k in KEYS:
            if k.scope is scope:
                cells = " ".join(f"`{shown}`" for shown in key_text(k.keys).split(" "))
                lines.append(f"| {cells} | {scope.where} | {k.description} |")
    lines += ["", "| command | does |", "| --- | --- |"]
    for c in COMMANDS:
        usage = f":{c.name} {c.usage}".rstrip()
        lines.append(f"| `{usage}` | {c.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
