"""Every key of the inspector in one table.

The widgets' bindings, the help screen (`?`) and the README's key table are all made from
:data:`KEYS`, so what the app does, what it says it does and what the README says cannot drift.
`python -m meshtui.tui.keys` prints the README's table.
"""

from __future__ import annotations

from enum import StrEnum

from textual.binding import Binding

from meshtui.mesh.frozen import frozen


class Scope(StrEnum):
    """Who binds a key: the app (anywhere), the tree, the detail pane, or every scrolling pane
    (tree, detail/raw YAML, help), each with actions of the same names."""

    SCROLL = "Every pane: tree, detail, raw YAML, help"
    TREE = "Tree"
    PANE = "Detail and raw YAML (tab to focus)"
    APP = "Inspector"

    @property
    def where(self) -> str:
        """The README's short word for the scope."""
        return {"SCROLL": "every pane", "TREE": "tree", "PANE": "detail, YAML"}.get(
            self.name, "anywhere"
        )


@frozen
class Key:
    keys: str  # Textual key names, comma-separated, as in a Binding
    action: str
    description: str
    scope: Scope
    footer: bool = False
    priority: bool = False
    bound: bool = True  # False: bound by Textual itself (ctrl+p), listed for the help only

    def binding(self) -> Binding:
        """The footer shows a short word; the help and the tooltip the whole description."""
        return Binding(
            self.keys,
            self.action,
            FOOTER.get(self.action, self.description) if self.footer else self.description,
            show=self.footer,
            priority=self.priority,
            key_display=display(self.keys.split(",")[0]) if self.footer else None,
            tooltip=self.description,
        )


KEYS: tuple[Key, ...] = (
    Key("j,down", "down", "Down a line", Scope.SCROLL),
    Key("k,up", "up", "Up a line", Scope.SCROLL),
    Key("ctrl+d", "half_page_down", "Half a page down", Scope.SCROLL),
    Key("ctrl+u", "half_page_up", "Half a page up", Scope.SCROLL),
    Key("space,pagedown", "page_down", "A page down", Scope.SCROLL),
    Key("b,pageup", "page_up", "A page up", Scope.SCROLL),
    Key("g,home", "top", "Top", Scope.SCROLL),
    Key("G,end", "bottom", "Bottom", Scope.SCROLL),
    Key("l,right,enter", "expand", "Expand; on an open node, into its first child", Scope.TREE),
    Key("h,left", "collapse", "Collapse; on a closed node, out to its parent", Scope.TREE),
    Key("l,right", "scroll_sideways(8)", "Scroll right (long YAML lines)", Scope.PANE),
    Key("h,left", "scroll_sideways(-8)", "Scroll left", Scope.PANE),
    # `?` and `q` come first: the footer keeps them on the narrowest terminal.
    Key("question_mark", "help", "This help: every key and command", Scope.APP, footer=True),
    Key("q", "quit", "Quit", Scope.APP, footer=True),
    # Priority: the key acts as it arrives, so what is typed right after `/` or `:` goes to the
    # line it opens, not to the tree (MeshApp.check_action keeps them characters in text fields).
    Key(
        "slash",
        "filter",
        "Filter the tree; in the detail or YAML pane, search it",
        Scope.APP,
        footer=True,
        priority=True,
    ),
    Key(
        "colon", "command", "Command: :ns, :ctx, :client, :q (tab completes)", Scope.APP, True, True
    ),
    Key("n", "next_finding", "Next finding (after a pane search: next match)", Scope.APP, True),
    Key("N", "previous_finding", "Previous finding (or match)", Scope.APP, True),
    Key("f", "toggle_findings_only", "Only hosts with findings", Scope.APP, True),
    Key("d", "toggle_changed_only", "Only hosts the change changes (meshtui diff)", Scope.APP),
    Key("s", "toggle_sort", "Sort: findings first or by name", Scope.APP, True),
    Key("y", "toggle_yaml", "Raw YAML of the resources involved", Scope.APP, True),
    Key("r", "reload", "Reload", Scope.APP, True),
    Key(
        "C",
        "copy_fix",
        "Send the selected fix to the clipboard (OSC 52)",
        Scope.APP,
    ),
    Key("w", "write_fix", "Write the selected fix to a file here", Scope.APP),
    Key("P", "page_fix", "Show the selected fix in $PAGER", Scope.APP),
    Key("F", "next_fix", "Next fix of the node (it shows its diff)", Scope.APP),
    Key(
        "c",
        "client_view",
        "Client view: the mesh as sidecars in one namespace see it",
        Scope.APP,
        True,
        priority=True,  # as / and :, so that what is typed next goes to its prompt
    ),
    Key("t", "trace", "Trace a request to the host or subset under the cursor", Scope.APP),
    Key("escape", "clear_filter", "Clear the filter, the search or the command", Scope.APP),
    Key("tab", "switch_pane", "Switch between tree and detail", Scope.APP),
    Key("ctrl+c", "interrupt", "Quit; in a text field, clear it first", Scope.APP, priority=True),
    Key(
        "ctrl+p",
        "command_palette",
        "Command palette: every action by name",
        Scope.APP,
        bound=False,
    ),
)

KEY_NAMES = {
    "slash": "/",
    "colon": ":",
    "question_mark": "?",
    "escape": "esc",
    "down": "↓",
    "up": "↑",
    "left": "←",
    "right": "→",
    "pagedown": "pgdn",
    "pageup": "pgup",
}
# Footer labels: short words, so `? Help` and `q Quit` fit at 80 columns with the rest.
FOOTER = {
    "help": "Help",
    "quit": "Quit",
    "filter": "Filter",
    "command": "Command",
    "next_finding": "Next",
    "previous_finding": "Prev",
    "toggle_findings_only": "Findings",
    "toggle_sort": "Sort",
    "toggle_yaml": "YAML",
    "reload": "Reload",
    "client_view": "Client",
}


def display(key: str) -> str:
    return KEY_NAMES.get(key, key)


def key_text(keys: str) -> str:
    """`j,down` → `j ↓`."""
    return " ".join(display(k) for k in keys.split(","))


def bindings(scope: Scope) -> list[Binding]:
    """The bindings of one scope, in table order (the footer's order)."""
    return [key.binding() for key in KEYS if key.scope is scope and key.bound]


ORDER = (Scope.APP, Scope.TREE, Scope.PANE, Scope.SCROLL)


def sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(keys shown, what they do)]) per scope, the order of the help screen."""
    return [
        (scope.value, [(key_text(k.keys), k.description) for k in KEYS if k.scope is scope])
        for scope in ORDER
    ]
