"""The interactive inspector: `meshtui PATH` and `meshtui --context CTX` open it.

Loading and analysis run in a worker thread, so the interface answers keys while a big mesh is
read; a live source hands new analyses to :meth:`MeshApp.apply_analysis` (through
`call_from_thread`) and the tree is rebuilt in place, keeping the cursor and what is open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Tree
from textual.worker import Worker, WorkerState

from meshtui.mesh.analysis import Analysis
from meshtui.mesh.findings import Finding
from meshtui.mesh.fixes import Fix
from meshtui.mesh.resources import Meta
from meshtui.sources import Source
from meshtui.tui.commands import MeshCommands
from meshtui.tui.detail import detail, involved, raw_yaml
from meshtui.tui.fixes import FixPanel
from meshtui.tui.model import MeshView, NodeRef, Sort, ViewOptions
from meshtui.tui.screens.help import HelpScreen
from meshtui.tui.text import MUTED, plural, safe
from meshtui.tui.widgets.detail_pane import DetailPane
from meshtui.tui.widgets.mesh_tree import MeshTree
from meshtui.tui.widgets.summary import SummaryBar

LOAD_GROUP = "load"
LIVE_GROUP = "live"
YAML_GROUP = "yaml"
LIVE_REFRESH_SECONDS = 0.25  # changes of a live source are gathered this long, then shown
STATUS_POLL_SECONDS = 1.0
EXIT_UNREADABLE = 2
# Above this many hosts, the filter waits for a pause in the typing before it rebuilds the tree.
DEBOUNCE_HOSTS = 2_000
DEBOUNCE_SECONDS = 0.2


class SourceChanged(Message):
    """A live source saw changes to these hosts (posted from its watch threads)."""

    def __init__(self, hosts: set[str]) -> None:
        super().__init__()
        self.hosts = hosts


class MeshApp(App[int]):
    """Per-host trees of effective policy, routes and findings, driven by the keyboard."""

    CSS_PATH = "meshtui.tcss"
    TITLE = "meshtui"
    COMMANDS: ClassVar = App.COMMANDS | {MeshCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding runs as the key arrives, not after the tree's queued keys: what is
        # typed right after `/` goes to the filter (see check_action for text fields).
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("n", "next_finding", "Next finding"),
        Binding("N", "previous_finding", "Prev finding"),
        Binding("f", "toggle_findings_only", "Findings only"),
        Binding("s", "toggle_sort", "Sort"),
        Binding("y", "toggle_yaml", "YAML"),
        Binding("c", "copy_fix", "Copy fix", show=False),
        Binding("w", "write_fix", "Write fix", show=False),
        Binding("F", "next_fix", "Next fix", show=False),
        Binding("r", "reload", "Reload"),
        Binding("tab", "switch_pane", "Switch pane", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    status: reactive[str] = reactive("")
    """A live source's connection (live, reconnecting, stale); the header shows it."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source
        self.mesh_view: MeshView | None = None
        self.options = ViewOptions()
        self.show_yaml = False
        self.busy = False
        self.load_error = ""
        self._located: dict[Finding, Finding] = {}
        self._filter_timer: Timer | None = None
        self._live_timer: Timer | None = None
        self._changed_hosts: set[str] = set()
        self._warned: set[str] = set()
        self.summary = SummaryBar(id="summary")
        self.host_tree = MeshTree(id="tree")
        self.filter_input = Input(
            placeholder="filter: host, subset, label or pod", id="filter", disabled=True
        )
        self.detail_pane = DetailPane(id="detail")

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.summary
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.host_tree
                yield self.filter_input
            yield self.detail_pane
        yield Footer()

    _problem = ""

    def on_mount(self) -> None:
        self._focus(self.host_tree)
        self.detail_pane.show(Text(f"Reading {safe(self.source.label)} …", style=MUTED))
        self._titles()
        if self.source.live:
            self.set_interval(STATUS_POLL_SECONDS, self._poll_status)
        self.action_reload()

    # -- loading ---------------------------------------------------------------------------------

    def _in_thread(self, work: Callable[[], object], group: str) -> None:
        """Run blocking work in a thread worker; a newer run of the same group replaces it, and
        a failure is the worker's state to report (on_worker_state_changed), not a crash."""
        self.run_worker(
            work, name=group, group=group, thread=True, exclusive=True, exit_on_error=False
        )

    def action_reload(self) -> None:
        """Read the source again in a worker thread; the current tree stays until it is done."""
        self.busy = True
        self.host_tree.loading = self.mesh_view is None
        self._summary()
        self._in_thread(self._load, LOAD_GROUP)

    def _load(self) -> tuple[MeshView, list[list[Finding]]]:
        """In the worker thread: read, analyse, and index for display."""
        meshes = self.source.load()
        with self.source.lock:  # a live source's watch threads change its meshes
            analyses = [mesh.analyze() for mesh in meshes]
        refined = [self.source.refine(a.findings) for a in analyses]
        view = MeshView(analyses)
        view.layout(self.options)
        return view, refined

    def _snapshot(self) -> MeshView:
        """In a worker thread: the live source's current analysis (changed hosts only are
        re-analysed: the core caches the others)."""
        view = MeshView(self.source.snapshot())
        view.layout(self.options)
        return view

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == LOAD_GROUP:
            if event.state is WorkerState.SUCCESS and worker.result is not None:
                view, refined = worker.result
                self.load_error = ""
                self._apply_view(view, refined)
                self._loaded()
            elif event.state is WorkerState.ERROR:
                self._load_failed(worker.error)
        elif worker.group == LIVE_GROUP and event.state is WorkerState.SUCCESS:
            if not self.busy:  # a reload under way brings newer data
                self._apply_view(worker.result)
                self._poll_status()
        elif worker.group == YAML_GROUP and event.state is WorkerState.SUCCESS:
            ref, documents = worker.result
            if self.show_yaml and ref == self._cursor_ref():
                self.detail_pane.show(raw_yaml(documents))

    def _loaded(self) -> None:
        """After a (re)load: say what the source could not see, and follow a live one."""
        for warning in self.source.warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                self.notify(
                    safe(warning),
                    title="Not everything could be read",
                    severity="warning",
                    timeout=10,
                    markup=False,
                )
        if self.source.live:
            self.source.watch(self._source_changed)
            self._poll_status()

    def _source_changed(self, hosts: set[str]) -> None:
        """Called by the live source from its watch threads: hand over to the UI thread."""
        self.post_message(SourceChanged(set(hosts)))

    @on(SourceChanged)
    def _schedule_refresh(self, event: SourceChanged) -> None:
        # Changes come in bursts (a rollout touches many pods): refresh once per burst.
        self._changed_hosts |= event.hosts
        if self._live_timer is None:
            self._live_timer = self.set_timer(LIVE_REFRESH_SECONDS, self._refresh_live)

    def _refresh_live(self) -> None:
        self._live_timer = None
        self._changed_hosts = set()
        if self.busy:
            return
        self._in_thread(self._snapshot, LIVE_GROUP)

    def _poll_status(self) -> None:
        self.status = self.source.status
        # A live source failing after start-up says why, once per new problem, and says so
        # again when it is back.
        # Status and problem are read one after the other while watch threads change them:
        # a problem announced stays announced until the status itself says live.
        problem = safe(self.source.problem) if self.status not in ("", "live") else ""
        if problem and problem != self._problem:
            self.notify(
                problem, title=f"cluster {self.status}", severity="error", timeout=15, markup=False
            )
            self._problem = problem
        elif self.status == "live" and self._problem:
            self.notify("connection restored: the view is live again", title="cluster live")
            self._problem = ""

    def _load_failed(self, error: BaseException | None) -> None:
        self.busy = False
        self.host_tree.loading = False
        self.load_error = safe(str(error) if error else "unknown error")
        self._summary()
        if self.mesh_view is None:
            # Nothing was ever read (no such path, no cluster): say so and exit 2, as `check`.
            self.exit(return_code=EXIT_UNREADABLE, message=Text(f"meshtui: {self.load_error}"))
            return
        self.notify(self.load_error, title="Reload failed", severity="error", markup=False)

    def apply_analysis(
        self,
        analyses: Sequence[Analysis],
        refined: Sequence[Sequence[Finding]] | None = None,
    ) -> None:
        """Show new analyses (a reload, or a live update), keeping cursor and open nodes.

        `refined` are the findings the source located more precisely (per analysis, as
        `Source.refine` returns them); without them findings are located on demand.
        """
        self._apply_view(MeshView(analyses), refined)

    def _apply_view(
        self, view: MeshView, refined: Sequence[Sequence[Finding]] | None = None
    ) -> None:
        first = self.mesh_view is None
        self.mesh_view = view
        view.fixes = FixPanel(self.source)
        self._located = {}
        if refined is not None:
            for analysis, located in zip(view.analyses, refined, strict=False):
                found = analysis.findings
                if len(found) == len(located):
                    self._located.update(zip(found, located, strict=True))
        self.busy = False
        self.host_tree.loading = False
        self._rebuild()
        if first:  # the loading indicator took the focus away from the tree
            self._focus(self.host_tree)

    def locate(self, finding: Finding) -> Finding:
        """The finding with the most precise location the source knows (cached)."""
        if finding not in self._located:
            try:
                self._located[finding] = self.source.refine([finding])[0]
            except (OSError, IndexError, ValueError):
                self._located[finding] = finding
        return self._located[finding]

    # -- rendering -------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        if self.mesh_view is None:
            return
        self.host_tree.show(self.mesh_view, self.options)
        self._summary()
        self._titles()
        self._show_detail()

    def _summary(self) -> None:
        self.summary.summarize(self.source.label, self.mesh_view, self.status, self.busy)

    def watch_status(self) -> None:
        if self.is_mounted:
            self._summary()

    def _titles(self) -> None:
        tree = self.host_tree
        shown = tree.positions.groups if tree.positions else []
        count = sum(c.host_count for c in shown)
        parts = [plural(count, "host")]
        if self.options.query:
            parts.append(f"filter “{safe(self.options.query)}”")
        if self.options.findings_only:
            parts.append("findings only")
        tree.border_title = Text(" · ".join(parts))
        tree.border_subtitle = Text(f"sort: {self.options.sort.value}")
        self.detail_pane.border_title = Text("raw YAML" if self.show_yaml else "detail")

    def _cursor_ref(self) -> NodeRef | None:
        node = self.host_tree.cursor_node
        return node.data if node is not None else None

    def _show_detail(self) -> None:
        if self.mesh_view is None:
            return
        ref = self._cursor_ref()
        if self.show_yaml:
            metas = involved(self.mesh_view, ref) if ref is not None else []
            self.detail_pane.show(Text("Reading YAML …", style=MUTED))
            self._in_thread(lambda: (ref, self._documents(metas)), YAML_GROUP)
        else:
            view = self.mesh_view
            fixes = self._node_fixes()
            if view.fixes is not None and view.fixes.selected not in fixes:
                view.fixes.selected = fixes[0] if fixes else None  # the first shows its diff
            self.detail_pane.show(lambda width: detail(view, ref, self.locate, width))

    # -- fixes -----------------------------------------------------------------------------------

    def _node_fixes(self) -> list[Fix]:
        """The fixes the detail pane lists for the node under the cursor, in its order."""
        view, ref = self.mesh_view, self._cursor_ref()
        if view is None or view.fixes is None or ref is None:
            return []
        return [fix for f in view.findings_on(ref) for fix in view.fixes.fixes(f)]

    def _selected_fix(self) -> Fix | None:
        fixes = self._node_fixes()
        panel = self.mesh_view.fixes if self.mesh_view else None
        if not fixes or panel is None:
            if not self.show_yaml:
                self.notify("No fix for this node: select a finding with a fix", timeout=3)
            return None
        if panel.selected not in fixes:
            panel.selected = fixes[0]
        return panel.selected

    def action_next_fix(self) -> None:
        """Select the next fix of the node (the selected one shows its diff)."""
        fixes = self._node_fixes()
        if not fixes or self.mesh_view is None or self.mesh_view.fixes is None:
            return
        panel = self.mesh_view.fixes
        now = fixes.index(panel.selected) if panel.selected in fixes else -1
        panel.selected = fixes[(now + 1) % len(fixes)]
        self._show_detail()

    def action_copy_fix(self) -> None:
        """Copy the selected fix's objects as YAML (OSC 52), ready for `kubectl apply -f -`."""
        fix = self._selected_fix()
        if fix is None or self.mesh_view is None or self.mesh_view.fixes is None:
            return
        self.copy_to_clipboard(self.mesh_view.fixes.renderer.yaml(fix))
        self.notify(f"Copied fix “{safe(fix.title)}” to the clipboard", timeout=4)

    def action_write_fix(self) -> None:
        """Write the selected fix's objects to a new YAML file in the working directory."""
        fix = self._selected_fix()
        if fix is None or self.mesh_view is None or self.mesh_view.fixes is None:
            return
        try:
            path = self.mesh_view.fixes.write(fix, Path.cwd())
        except OSError as err:
            self.notify(f"Could not write the fix: {safe(str(err))}", severity="error")
            return
        self.notify(f"Wrote fix “{safe(fix.title)}” to {safe(str(path))}", timeout=6)

    def _documents(self, metas: Sequence[Meta]) -> list[tuple[Meta, str | None]]:
        out = []
        for meta in metas:
            try:
                text = self.source.document_text(meta)
            except OSError:
                text = None
            out.append((meta, text))
        return out

    @on(Tree.NodeHighlighted)
    def _highlighted(self) -> None:
        if self.host_tree.is_attached:  # not once the app is closing
            self._show_detail()

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":
            # `/` typed into a text field (the filter, the palette) is a character.
            return self.screen is self.host_tree.screen and not isinstance(self.focused, Input)
        return True

    @staticmethod
    def _focus(widget: Widget) -> None:
        # Focus now, not on the next turn of the message loop (Widget.focus): keys typed right
        # after `/` (or enter) are already queued and must reach the widget they were meant for.
        widget.screen.set_focus(widget)

    def action_filter(self) -> None:
        """Open the filter line and type into it."""
        box = self.filter_input
        box.disabled = False
        box.add_class("-visible")
        self._focus(box)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        big = self.mesh_view is not None and self.mesh_view.host_count > DEBOUNCE_HOSTS
        if big:  # rebuilding thousands of hosts per keystroke would lag behind the typing
            self._filter_timer = self.set_timer(DEBOUNCE_SECONDS, self._apply_filter)
        else:
            self._apply_filter()

    def _apply_filter(self) -> None:
        self._filter_timer = None
        query = self.filter_input.value.strip()
        if query != self.options.query:
            self.options = replace(self.options, query=query)
            self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._apply_filter()
        self._focus(self.host_tree)
        if not self.options.query:
            self._hide_filter()

    def _hide_filter(self) -> None:
        box = self.filter_input
        box.remove_class("-visible")
        box.disabled = True

    def action_clear_filter(self) -> None:
        """Empty the filter and show every host again."""
        box = self.filter_input
        self._hide_filter()
        self._focus(self.host_tree)
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if box.value or self.options.query:
            with box.prevent(Input.Changed):
                box.value = ""
            self.options = replace(self.options, query="")
            self._rebuild()

    def action_next_finding(self) -> None:
        self._go_to_finding(backwards=False)

    def action_previous_finding(self) -> None:
        self._go_to_finding(backwards=True)

    def _go_to_finding(self, *, backwards: bool) -> None:
        tree = self.host_tree
        positions = tree.positions
        target = positions.next_target(self._cursor_ref(), backwards) if positions else None
        if target is None:
            self.notify("No findings in this view.", timeout=3)
            return
        self._focus(tree)
        tree.reveal(target)
        self._show_detail()

    def action_toggle_findings_only(self) -> None:
        self.options = replace(self.options, findings_only=not self.options.findings_only)
        self._rebuild()

    def action_toggle_sort(self) -> None:
        sort = Sort.NAME if self.options.sort is Sort.FINDINGS else Sort.FINDINGS
        self.options = replace(self.options, sort=sort)
        self._rebuild()

    def action_toggle_yaml(self) -> None:
        self.show_yaml = not self.show_yaml
        self._titles()
        self._show_detail()

    def action_expand(self) -> None:
        self.host_tree.action_expand()

    def action_collapse(self) -> None:
        self.host_tree.action_collapse()

    def action_switch_pane(self) -> None:
        if self.host_tree.has_focus:
            self._focus(self.detail_pane)
        else:
            self._focus(self.host_tree)

    def action_help(self) -> None:
        self.push_screen(
            HelpScreen(
                [
                    ("Tree", MeshTree.BINDINGS),
                    ("Inspector", self.BINDINGS),
                    ("Detail pane (tab to focus)", DetailPane.BINDINGS),
                    (
                        "Anywhere",
                        [
                            Binding(
                                self.COMMAND_PALETTE_BINDING,
                                "command_palette",
                                "Command palette: every action by name",
                            )
                        ],
                    ),
                ]
            )
        )


def run_app(source: Source) -> int:
    """Run the inspector on a source until the person quits; the exit status."""
    app = MeshApp(source)
    try:
        app.run()
    finally:
        source.stop()  # a live source's watch threads
    return app.return_code or 0
