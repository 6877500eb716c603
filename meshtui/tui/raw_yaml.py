"""The raw YAML pane: the documents of the resources a node is made of, numbered with their
own lines, never interpreted as markup."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from meshtui.mesh.resources import Meta
from meshtui.tui.sections import SECTION, yaml_block
from meshtui.tui.text import (
    MUTED,
    safe,
    where,
)


def first_line(meta: Meta, text: str) -> int:
    """The file line of the first line of a document's text, so the raw view numbers lines as
    the file does: the origin names the document's first content line (after comments and
    `---`), which is the text's first line that is not one of those. 1 without a file."""
    origin = meta.origin
    if not origin.file or not origin.line or origin.item is not None:
        return 1
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "---", "%")):
            return max(origin.line - i, 1)
    return origin.line


def numbered(text: str, start: int) -> Text:
    """YAML with a gutter of line numbers, unwrapped: the pane scrolls sideways instead."""
    code = yaml_block(text)
    lines = code.split("\n", allow_blank=True)
    width = len(str(start + len(lines) - 1))
    out = Text("\n").join(
        Text.assemble((f"{start + i:>{width}} │ ", MUTED), line) for i, line in enumerate(lines)
    )
    out.no_wrap = True
    return out


def raw_yaml(documents: Sequence[tuple[Meta, str | None]]) -> Text:
    """The raw YAML of the resources involved, each under a comment naming it, with the line
    numbers of its file."""
    if not documents:
        return Text("No resources behind this node.", style=MUTED)
    parts: list[Text] = [
        Text.assemble(("Raw YAML", SECTION), ("  y: back to the analysis · / search", MUTED))
    ]
    for meta, text in documents:
        parts.append(
            Text.assemble(
                "\n# ",
                (f"{meta.ref.kind} " if meta.ref.kind else "", "bold"),
                (safe(meta.ref.namespaced_name) if meta.ref.kind else "", "bold"),
                ("  " + where(meta), MUTED),
            )
        )
        if text is None:
            parts.append(Text("(the source cannot show this resource)", style=MUTED))
        else:
            parts.append(numbered(text, first_line(meta, text)))
    return Text("\n").join(parts)
