"""The command palette (ctrl+p): every action of the inspector, searchable by name."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (command, action of MeshApp, help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Filter hosts, subsets, labels and pods", "filter", "Type to narrow the tree (key /)"),
    ("Clear the filter", "clear_filter", "Show every host again (key esc)"),
    ("Next finding", "next_finding", "Select the next node with a finding (key n)"),
    ("Previous finding", "previous_finding", "Select the previous node with a finding (key N)"),
    ("Show only hosts with findings", "toggle_findings_only", "Toggle (key f)"),
    ("Show only hosts the diff changes", "toggle_changed_only", "meshtui diff (key d)"),
    ("Sort hosts: findings first or alphabetical", "toggle_sort", "Toggle (key s)"),
    ("Toggle raw YAML", "toggle_yaml", "The YAML of the resources behind the node (key y)"),
    ("Copy the selected fix", "copy_fix", "Its YAML to the terminal's clipboard, OSC 52 (key C)"),
    ("Write the selected fix to a file", "write_fix", "A new YAML file here (key w)"),
    ("Show the selected fix in $PAGER", "page_fix", "Its YAML in less, or $PAGER (key P)"),
    ("Select the next fix", "next_fix", "The selected fix shows its diff (key F)"),
    ("Trace a request", "trace", "Which rule, subset, policy and pods it gets (key t)"),
    ("Expand node", "expand", "Open the selected node (keys enter l →)"),
    ("Collapse node", "collapse", "Close the selected node (keys h ←)"),
    ("Reload", "reload", "Read the source again (key r)"),
    (
        "Command line: namespace, context, client view, quit",
        "command",
        "Type :ns NAME, :ctx NAME, :client NS, :q (key :)",
    ),
    (
        "Client view: the mesh as sidecars in one namespace see it",
        "client_view",
        "Which DestinationRule and VirtualService clients in a namespace use (key c)",
    ),
    ("Help: every key", "help", "Show the keys (key ?)"),
    ("Quit", "quit", "Leave meshtui (keys q, ctrl+c)"),
)


class MeshCommands(Provider):
    """Commands for every key of the inspector."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        # The app's own actions, by name: the palette needs nothing else of it.
        return [
            (name, getattr(self.app, f"action_{action}"), help_text)
            for name, action, help_text in COMMANDS
        ]

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
