"""Styles and the one way text from a resource is made inert: shared by every part of the
inspector, and importing none of them (the view model, the fixes panel and the labels all
use it without depending on each other)."""

from __future__ import annotations

from meshtui.mesh.findings import Severity
from meshtui.mesh.printable import printable

SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "bold yellow",
    Severity.INFO: "bold cyan",
}
MUTED = "dim"
ROUTE_STYLE = "green"
UNREAD_STYLE = "bold magenta"  # unknown: neither a finding nor "none"
GATEWAY_STYLE = "magenta"
MATCH_STYLE = "reverse"


def safe(value: object) -> str:
    """A resource's text made inert: control characters shown as escapes."""
    return printable(str(value))


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"
