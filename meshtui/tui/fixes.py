"""The fix view: the core's verified fixes, one selected, shown as a diff with line numbers.

The fixes themselves come from meshtui/mesh/fixes.py (shared with `meshtui check`); this
module only renders them and keeps which one is selected, so a key can copy it (OSC 52) or
write it to a file.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from rich.text import Text

from meshtui.mesh.findings import Finding
from meshtui.mesh.fix import Fix
from meshtui.sources import Source
from meshtui.sources.fix_render import FixRenderer
from meshtui.tui.style import MUTED, safe

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


class FixPanel:
    """The fixes of one view of a source, computed on demand, and the one selected."""

    def __init__(self, source: Source) -> None:
        self.source = source
        with source.lock:
            self.meshes = list(source.meshes)
            self.renderer = FixRenderer(source, self.meshes)
        self.selected: Fix | None = None

    def fixes(self, finding: Finding) -> list[Fix]:
        """The verified fixes of a finding (the core re-analyses under the source's lock)."""
        cluster = finding.origin.cluster if finding.origin else None
        index = next((i for i, m in enumerate(self.meshes) if m.cluster == cluster), 0)
        try:
            with self.source.lock:
                return self.renderer.fixes(finding, index) or []
        except (OSError, ValueError):
            return []

    def write(self, fix: Fix, folder: Path) -> Path:
        """Write a fix's objects to a new YAML file in `folder`; returns where."""
        slug = re.sub(r"[^a-z0-9]+", "-", fix.title.lower()).strip("-")[:40] or "fix"
        path = folder / f"meshtui-fix-{slug}.yaml"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"meshtui-fix-{slug}-{n}.yaml"
        path.write_text(self.renderer.yaml(fix), encoding="utf-8")
        return path


def diff_lines(diff: str) -> list[Text]:
    """A unified diff with the file's line numbers before and after in a gutter."""
    out: list[Text] = []
    old = new = 0
    for line in diff.splitlines():
        hunk = _HUNK.match(line)
        if line.startswith(("---", "+++")):
            out.append(Text(safe(line), style="bold"))
        elif hunk:
            old, new = int(hunk.group(1)), int(hunk.group(2))
            out.append(Text(safe(line), style="cyan"))
        elif line.startswith("-"):
            out.append(Text.assemble((f"{old:>5}       ", MUTED), (safe(line), "red")))
            old += 1
        elif line.startswith("+"):
            out.append(Text.assemble((f"      {new:>5} ", MUTED), (safe(line), "green")))
            new += 1
        else:
            out.append(Text.assemble((f"{old:>5} {new:>5} ", MUTED), safe(line)))
            old += 1
            new += 1
    return out


def fix_block(
    n: int, total: int, fix: Fix, panel: FixPanel, finding: Finding, width: int
) -> list[Text]:
    """A fix: its title, what it does; the selected one also with its diff and the keys."""
    selected = fix is panel.selected
    label = f"Fix {n} of {total}: " if total > 1 else "Fix: "
    out: list[Text] = [
        Text.assemble(
            ("▶ " if selected else "  ", "bold green"),
            (label, "bold green"),
            (safe(fix.title), "bold"),
        )
    ]
    for line in textwrap.wrap(safe(fix.description), max(width - 4, 20)):
        out.append(Text(f"    {line}", style=MUTED))
    if not selected:
        return out
    out.append(Text("    C copies it · w writes it to a file · F selects the next fix", MUTED))
    for resource in fix.resources:
        out += diff_lines(panel.renderer.diff(resource, finding))
    return out
