"""The keys that act on the fixes of the node under the cursor: select the next, copy it,
page it, write it to a file.

Which fixes a node has, and which one is selected, is the view's :class:`FixPanel`; this module
is what the keys do with them, and what the inspector is told to say.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from textual.app import SuspendNotSupported

from meshtui.mesh.fix import Fix
from meshtui.tui.fixes import FixPanel
from meshtui.tui.model import MeshView, NodeRef
from meshtui.tui.style import safe


class FixTarget(Protocol):
    """What the fix keys act on: the inspector (MeshApp)."""

    mesh_view: MeshView | None
    show_yaml: bool

    def cursor_ref(self) -> NodeRef | None: ...
    def show_detail(self) -> None: ...
    def notify(self, message: str, **options: Any) -> None: ...
    def copy_to_clipboard(self, text: str) -> None: ...
    def suspend(self) -> AbstractContextManager[None]: ...


class FixActions:
    """Next / copy / page / write the selected fix of the node under the cursor."""

    def __init__(self, target: FixTarget) -> None:
        self.target = target

    def node_fixes(self) -> list[Fix]:
        """The fixes the detail pane lists for the node under the cursor, in its order."""
        view, ref = self.target.mesh_view, self.target.cursor_ref()
        if view is None or view.fixes is None or ref is None:
            return []
        return [fix for f in view.findings_on(ref) for fix in view.fixes.fixes(f)]

    def _panel(self) -> FixPanel | None:
        view = self.target.mesh_view
        return view.fixes if view is not None else None

    def _selected(self) -> tuple[FixPanel, Fix] | None:
        """The panel and its selected fix (the node's first if none is); None, with a word to
        the person, when the node has no fix."""
        fixes = self.node_fixes()
        panel = self._panel()
        if not fixes or panel is None:
            if not self.target.show_yaml:
                self.target.notify("No fix for this node: select a finding with a fix", timeout=3)
            return None
        if panel.selected not in fixes:
            panel.selected = fixes[0]
        return panel, panel.selected

    def next(self) -> None:
        """Select the next fix of the node (the selected one shows its diff)."""
        fixes = self.node_fixes()
        panel = self._panel()
        if not fixes or panel is None:
            return
        now = fixes.index(panel.selected) if panel.selected in fixes else -1
        panel.selected = fixes[(now + 1) % len(fixes)]
        self.target.show_detail()

    def copy(self) -> None:
        """Copy the selected fix's objects as YAML (OSC 52), ready for `kubectl apply -f -`."""
        if (selected := self._selected()) is None:
            return
        panel, fix = selected
        self.target.copy_to_clipboard(panel.renderer.yaml(fix))
        # OSC 52 is a request to the terminal, which never answers: many accept it, some
        # ignore it (or need it enabled, tmux's set-clipboard). Say what was done.
        self.target.notify(
            f"Sent fix “{safe(fix.title)}” to the terminal's clipboard (OSC 52); if nothing "
            "was pasted, your terminal ignores it: w writes the fix to a file, P shows it "
            "in $PAGER",
            timeout=8,
            markup=False,
        )

    def page(self) -> None:
        """Show the selected fix's objects in $PAGER (less), to copy from there."""
        if (selected := self._selected()) is None:
            return
        panel, fix = selected
        text = panel.renderer.yaml(fix)
        command = shlex.split(os.environ.get("PAGER") or "less")
        try:
            with self.target.suspend():
                subprocess.run(command, input=text.encode(), check=False)
        except (OSError, SuspendNotSupported) as err:
            self.target.notify(
                f"Could not run {safe(' '.join(command))}: {safe(str(err))}; w writes the "
                "fix to a file",
                severity="error",
                markup=False,
            )

    def write(self) -> None:
        """Write the selected fix's objects to a new YAML file in the working directory."""
        if (selected := self._selected()) is None:
            return
        panel, fix = selected
        try:
            path = panel.write(fix, Path.cwd())
        except OSError as err:
            self.target.notify(f"Could not write the fix: {safe(str(err))}", severity="error")
            return
        self.target.notify(f"Wrote fix “{safe(fix.title)}” to {safe(str(path))}", timeout=6)
