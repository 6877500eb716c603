"""The interactive inspector: `meshtui PATH` and `meshtui --context CTX` open it.

Loading and analysis run in a worker thread, so the interface answers keys while a big mesh is
read; a live source hands new analyses to :meth:`MeshApp.apply_analysis` (through
`call_from_thread`) and the tree is rebuilt in place, keeping the cursor and what is open.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Tree
from textual.worker import Worker, WorkerState

from meshtui.mesh.analysis import Analysis
from meshtui.mesh.diff import HostChange, MeshDiff
from meshtui.mesh.findings import Finding
from meshtui.mesh.fix import Fix
from meshtui.mesh.resources import Meta
from meshtui.mesh.trace import Trace
from meshtui.sources import Source, known_analyses, partial_marker, partial_notes
from meshtui.tui.command_mode import COMMANDS, CommandLine, find, split
from meshtui.tui.commands import MeshCommands
from meshtui.tui.contexts import context_names, current_contexts, is_cluster, switched
from meshtui.tui.detail import detail
from meshtui.tui.fixes import FixPanel
from meshtui.tui.keys import Scope, bindings
from meshtui.tui.model import MeshView, NodeRef, Sort, ViewOptions
from meshtui.tui.raw_yaml import raw_yaml
from meshtui.tui.screens.client import ClientScreen
from meshtui.tui.screens.help import HelpScreen
from meshtui.tui.screens.trace import Marks, TraceScreen, first_form, mark_reached, tracer
from meshtui.tui.sections import involved
from meshtui.tui.text import MUTED, plural, safe
from meshtui.tui.widgets.detail_pane import DetailPane
from meshtui.tui.widgets.mesh_tree import MeshTree
from meshtui.tui.widgets.summary import SummaryBar
from meshtui.tui.widgets.text_line import TextLine

LOAD_GROUP = "load"
LIVE_GROUP = "live"
YAML_GROUP = "yaml"
LIVE_REFRESH_SECONDS = 0.25  # changes of a live source are gathered this long, then shown
STATUS_POLL_SECONDS = 1.0
EXIT_UNREADABLE = 2
# Above this many hosts, the filter waits for a pause in the typing before it rebuilds the tree.
DEBOUNCE_HOSTS = 2_000
DEBOUNCE_SECONDS = 0.2
CONTEXT_GROUP = "context"
NARROW_COLUMNS = 100
# Actions that open a line to type into: not from a text field (there the key is a character)
# nor over another screen (help, palette).
TYPING_ACTIONS = {"filter", "command", "client_view"}


_FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


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
    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.APP)  # meshtui.tui.keys: one table
    # Under 100 columns the tree and the detail stack (meshtui.tcss: Screen.-narrow).
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (NARROW_COLUMNS, "-wide"),
    ]

    status: reactive[str] = reactive("")
    """A live source's connection (live, reconnecting, stale); the header shows it."""

    def __init__(self, source: Source, diff: MeshDiff | None = None, label: str = "") -> None:
        super().__init__()
        self.source = source
        # `meshtui diff OLD NEW` in a terminal: the inspector on NEW, the changed hosts marked.
        self.diff = diff
        self.diff_label = label
        self.mesh_view: MeshView | None = None
        self.options = ViewOptions()
        self.show_yaml = False
        self.busy = False
        self.load_error = ""
        self._located: dict[Finding, Finding] = {}
        self._filter_timer: Timer | None = None
        self._live_timer: Timer | None = None
        # A live source changed since the last snapshot started: kept until one starts,
        # whatever happens meanwhile (a reload in flight, or one that fails).
        self._live_pending = False
        self._live_running = False  # one live snapshot at a time: bursts coalesce behind it
        self._notice_lock = threading.Lock()
        self._notice_posted = False  # a SourceChanged is on its way to the UI thread
        self._trace_marks: Marks = {}  # what the last trace marked in the tree
        self._warned: set[str] = set()
        self.summary = SummaryBar(id="summary")
        self.host_tree = MeshTree(id="tree")
        self.filter_input = TextLine(
            placeholder="filter: host, subset, label or pod", id="filter", disabled=True
        )
        self.detail_pane = DetailPane(id="detail")
        self.search_input = TextLine(placeholder="search the pane", id="search", disabled=True)
        self.command_line = CommandLine(self, id="command")

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.summary
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.host_tree
                yield self.filter_input
            with Vertical(id="right"):
                yield self.detail_pane
                yield self.search_input
        yield self.command_line
        yield Footer()

    _problem = ""
    partial = ""  # the header's marker of kinds a live source could not (wholly) read

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
        source = self.source
        self._in_thread(lambda: self._load(source), LOAD_GROUP)

    def _load(self, source: Source) -> tuple[MeshView, list[list[Finding]]]:
        """In the worker thread: read, analyse, and index for display."""
        meshes = source.load()
        with source.lock:  # a live source's watch threads change its meshes
            analyses = [mesh.analyze() for mesh in source.scoped(meshes)]
        analyses, _ = known_analyses(source, analyses)  # no verdict from an unread kind
        refined = [source.refine(a.findings) for a in analyses]
        view = MeshView(analyses, changes=self._changes())
        view.layout(self.options)
        return view, refined

    def _snapshot(self) -> MeshView:
        """In a worker thread: the live source's current analysis (changed hosts only are
        re-analysed: the core caches the others)."""
        analyses = known_analyses(self.source, self.source.snapshot())[0]
        # Unchanged hosts keep their places.
        view = MeshView(analyses, previous=self.mesh_view, changes=self._changes())
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
                if self._live_pending:  # e.g. another client view chosen during the load
                    self._arm_live_timer()
            elif event.state is WorkerState.ERROR:
                self._load_failed(worker.error)
        elif worker.group == LIVE_GROUP and event.state in _FINISHED:
            self._live_running = False
            if event.state is WorkerState.SUCCESS and not self.busy:
                self._apply_view(worker.result)  # (a reload under way brings newer data)
                self._poll_status()
            if self._live_pending:  # changes that came while it ran: one more, after a pause
                self._arm_live_timer()
        elif worker.group == YAML_GROUP and event.state is WorkerState.SUCCESS:
            ref, documents = worker.result
            if self.show_yaml and ref == self._cursor_ref():
                self.detail_pane.show(raw_yaml(documents), wrap=False)
        elif worker.group == CONTEXT_GROUP:
            self._context_done(event)

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
        """Called by the live source from its watch threads: hand over to the UI thread, one
        message at a time (a hundred events a second are one message, not a hundred)."""
        with self._notice_lock:
            if self._notice_posted:
                return
            self._notice_posted = True
        self.post_message(SourceChanged(set(hosts)))

    @on(SourceChanged)
    def _schedule_refresh(self, event: SourceChanged) -> None:
        with self._notice_lock:
            self._notice_posted = False
        # Changes come in bursts (a rollout touches many pods): refresh once per burst, and
        # never start a snapshot while one runs. Under churn the work then follows the hosts
        # that changed (the core re-analyses only those), not the number of watch events.
        self._live_pending = True
        self._arm_live_timer()

    def _arm_live_timer(self) -> None:
        if self._live_timer is None and not self._live_running:
            delay = min(LIVE_REFRESH_SECONDS, self.source.settle)  # a folder's are gathered
            self._live_timer = self.set_timer(delay, self._refresh_live)

    def _refresh_live(self) -> None:
        """Take a snapshot of the live source in a worker, unless one runs or a reload does
        (they end by taking up the changes still pending: `_live_pending`)."""
        self._live_timer = None
        if self.busy or self._live_running or not self._live_pending:
            return
        self._live_pending = False
        self._live_running = True
        self._in_thread(self._snapshot, LIVE_GROUP)

    def _poll_status(self) -> None:
        self.status = self.source.status
        partial = partial_marker(self.source.kind_states())
        if partial != self.partial:  # lasting, unlike a toast: what could not be read
            self.partial = partial
            self._summary()
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
        if self.source.live:
            self._poll_status()  # the source kept running: say how it is, not "live"
            # It also kept following: what changed while the reload failed is shown now.
            self._arm_live_timer()
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
        self._apply_view(MeshView(analyses, changes=self._changes()), refined)

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
        label = self.source.label
        if self.diff is not None:
            hosts = len(self.diff.hosts)
            label = f"diff {self.diff_label} · {plural(hosts, 'host')} changed"
        if self.source.client_namespace:
            label += f" · as clients in {self.source.client_namespace} see it"
            analyses = self.mesh_view.analyses if self.mesh_view else []
            plane = analyses[0].client_data_plane if analyses else None
            if plane:
                label += f" ({plane})"  # which proxy decides for them: the data plane
        self.summary.summarize(label, self.mesh_view, self.status, self.busy, self.partial)

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
        if self.options.namespace:
            parts.append(f"ns {safe(self.options.namespace)}")
        if self.options.findings_only:
            parts.append("findings only")
        if self.options.changed_only:
            parts.append("changed only")
        tree.border_title = Text(" · ".join(parts))
        tree.border_subtitle = Text(f"sort: {self.options.sort.value}")
        self.detail_pane.border_title = Text("raw YAML" if self.show_yaml else "detail")
        self._search_title()

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
        # OSC 52 is a request to the terminal, which never answers: many accept it, some
        # ignore it (or need it enabled, tmux's set-clipboard). Say what was done.
        self.notify(
            f"Sent fix “{safe(fix.title)}” to the terminal's clipboard (OSC 52); if nothing "
            "was pasted, your terminal ignores it: w writes the fix to a file, P shows it "
            "in $PAGER",
            timeout=8,
            markup=False,
        )

    def action_page_fix(self) -> None:
        """Show the selected fix's objects in $PAGER (less), to copy from there."""
        fix = self._selected_fix()
        if fix is None or self.mesh_view is None or self.mesh_view.fixes is None:
            return
        text = self.mesh_view.fixes.renderer.yaml(fix)
        command = shlex.split(os.environ.get("PAGER") or "less")
        try:
            with self.suspend():
                subprocess.run(command, input=text.encode(), check=False)
        except (OSError, SuspendNotSupported) as err:
            self.notify(
                f"Could not run {safe(' '.join(command))}: {safe(str(err))}; w writes the fix "
                "to a file",
                severity="error",
                markup=False,
            )

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
        if action == "interrupt":
            # A meshtui text line takes ctrl+c in its own turn (TextLine); the palette's does not.
            return not isinstance(self.screen.focused, TextLine)
        if action in TYPING_ACTIONS:
            # `/` or `:` typed into a text field (filter, search, command, palette) is a
            # character, and neither opens a line over the help or the palette.
            return self.screen is self.host_tree.screen and not isinstance(self.focused, Input)
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # The palette's Quit is the inspector's own (MeshCommands), listed once.
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command

    def action_interrupt(self) -> None:
        """ctrl+c: quit, as q does (and k9s, less, htop); in the palette's field, when it holds
        text, empty it first (meshtui's own lines do the same themselves: TextLine)."""
        focused = self.screen.focused
        if isinstance(focused, Input) and focused.value:
            focused.value = ""
            return
        self.exit(0)

    def quit_app(self) -> None:
        self.exit(0)

    @staticmethod
    def _focus(widget: Widget) -> None:
        # Focus now, not on the next turn of the message loop (Widget.focus): keys typed right
        # after `/` (or enter) are already queued and must reach the widget they were meant for.
        widget.screen.set_focus(widget)

    def action_filter(self) -> None:
        """Open the filter line and type into it; with the detail pane focused, search it."""
        if self.detail_pane.has_focus:
            self._open_search()
            return
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
        """esc: leave the pane search if in it (or clear it), else empty the filter."""
        pane = self.detail_pane
        if self.search_input.has_focus or (pane.has_focus and pane.search_query):
            self._close_search()
            return
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
        if not self._step_search(backwards=False):
            self._go_to_finding(backwards=False)

    def action_previous_finding(self) -> None:
        if not self._step_search(backwards=True):
            self._go_to_finding(backwards=True)

    # -- searching the detail or raw YAML pane ---------------------------------------------------

    def _open_search(self) -> None:
        box = self.search_input
        box.disabled = False
        box.add_class("-visible")
        with box.prevent(Input.Changed):
            box.value = ""
        self._focus(box)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.detail_pane.search(event.value)
        self._search_title()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self._hide_search()
        pane = self.detail_pane
        self._focus(pane)
        if pane.search_query and not pane.matches:
            self.notify(f"Not found: {safe(pane.search_query)}", timeout=3, markup=False)

    def _hide_search(self) -> None:
        self.search_input.remove_class("-visible")
        self.search_input.disabled = True

    def _close_search(self) -> None:
        self._hide_search()
        self.detail_pane.clear_search()
        self._search_title()
        self._focus(self.detail_pane)

    def _step_search(self, *, backwards: bool) -> bool:
        """n / N in the focused pane after a search: the next match (True), else False."""
        pane = self.detail_pane
        if not (pane.has_focus and pane.search_query):
            return False
        if not pane.step(backwards):
            self.notify(f"Not found: {safe(pane.search_query)}", timeout=3, markup=False)
        self._search_title()
        return True

    def _search_title(self) -> None:
        pane = self.detail_pane
        if pane.search_query:
            pane.border_subtitle = Text(f"/{safe(pane.search_query)} · {pane.position}")
        else:
            pane.border_subtitle = ""

    # -- command mode (`:`) ----------------------------------------------------------------------

    def action_command(self) -> None:
        """Open the command line (`:ns NAME`, `:ctx NAME`, `:q`)."""
        self.command_line.open()
        self._focus(self.command_line)

    def _leave_command(self) -> None:
        self.command_line.close()
        self._focus(self.host_tree)

    @on(CommandLine.Left)
    def _command_left(self) -> None:
        self._leave_command()

    @on(Input.Submitted, "#command")
    def _command_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._leave_command()
        name, argument = split(event.value)
        if not name:
            return
        command = find(name)
        if command is None:
            known = ", ".join(f":{c.name}" for c in COMMANDS)
            self.notify(
                f"Unknown command :{safe(name)} (commands: {known})",
                severity="warning",
                timeout=5,
                markup=False,
            )
            return
        command.run(self, argument)

    def namespace_names(self) -> list[str]:
        return self.mesh_view.namespaces() if self.mesh_view is not None else []

    def show_namespace(self, name: str) -> None:
        """`:ns NAME`: only that namespace's hosts; `:ns` / `:ns all`: every namespace."""
        if name and self.mesh_view is not None and name not in self.namespace_names():
            self.notify(f"No namespace {safe(name)} in this view", severity="warning", markup=False)
            return
        if name != self.options.namespace:
            self.options = replace(self.options, namespace=name)
            self._rebuild()

    def context_names(self) -> list[str]:
        return context_names(self.source)

    def switch_context(self, argument: str) -> None:
        """`:ctx NAME` reads that kubeconfig context instead, `:ctx +NAME` beside the others;
        the current view stays until the new one has loaded, and stays if it cannot."""
        if not is_cluster(self.source):
            self.notify(
                "`:ctx` switches the context of a live view (meshtui --context CTX); "
                "this one reads files",
                severity="warning",
                markup=False,
            )
            return
        if not argument.removeprefix("+"):
            shown = ", ".join(current_contexts(self.source)) or "(current)"
            self.notify(f"context {safe(shown)}", title=":ctx NAME switches", markup=False)
            return
        new = switched(self.source, argument)
        self.notify(f"Reading {safe(new.label)} …", timeout=3, markup=False)

        def load() -> tuple[Source, tuple[MeshView, list[list[Finding]]]]:
            try:
                new.preflight()
                return new, self._load(new)
            except BaseException:
                new.stop()
                raise

        self._in_thread(load, CONTEXT_GROUP)

    def _context_done(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            reason = safe(str(event.worker.error) or "unknown error")
            self.notify(reason, title="Context not switched", severity="error", markup=False)
        elif event.state is WorkerState.SUCCESS and event.worker.result is not None:
            new, (view, refined) = event.worker.result
            old, self.source = self.source, new
            old.stop()
            self._warned = set()
            self._problem = ""
            self.options = replace(self.options, namespace="")
            self.mesh_view = None
            # Another cluster: laid out afresh (namespaces opened as at start), not kept.
            self.host_tree.show(view, self.options, keep=False)
            self._apply_view(view, refined)
            self._loaded()

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

    def _changes(self) -> tuple[HostChange, ...]:
        return self.diff.changes if self.diff is not None else ()

    def action_toggle_changed_only(self) -> None:
        """Only the hosts the diff changes (`meshtui diff` in a terminal)."""
        if self.diff is None:
            self.notify("No diff: `meshtui diff OLD NEW` marks what a change changes", timeout=4)
            return
        self.options = replace(self.options, changed_only=not self.options.changed_only)
        self._rebuild()

    def action_toggle_findings_only(self) -> None:
        self.options = replace(self.options, findings_only=not self.options.findings_only)
        self._rebuild()

    def action_toggle_sort(self) -> None:
        sort = Sort.NAME if self.options.sort is Sort.FINDINGS else Sort.FINDINGS
        self.options = replace(self.options, sort=sort)
        self._rebuild()

    def action_client_view(self) -> None:
        """Ask whose view to show: sidecars in one namespace, or every client."""
        current = self.source.client_namespace or ""
        known = self.mesh_view.input_namespaces() if self.mesh_view is not None else []
        self.push_screen(ClientScreen(current, known), self.set_client_namespace)

    def set_client_namespace(self, namespace: str | None) -> None:
        """Show the mesh as sidecars in `namespace` see it ("" or None: every client)."""
        if namespace is None:
            return  # the prompt was cancelled
        self.source.set_client_namespace(namespace.strip() or None)
        self._summary()
        self._live_pending = True
        self._refresh_live()  # or, if one runs, right after it

    def action_toggle_yaml(self) -> None:
        self.show_yaml = not self.show_yaml
        self._titles()
        self._show_detail()

    def action_trace(self) -> None:
        """Trace a request to the host or subset under the cursor (form, then its path);
        once it closes, the tree marks what the request reached."""
        ref = self._cursor_ref()
        view = self.mesh_view
        host = view.host(ref) if view is not None and ref is not None and ref.host else None
        if ref is None or host is None:
            self.notify("Put the cursor on a host or subset to trace a request to it.", timeout=4)
            return
        form = first_form(host, self.source.client_namespace)
        screen = TraceScreen(host.host, form, tracer(self.source, ref.cluster, host.host))

        def done(result: Trace | None) -> None:
            mark_reached(self.host_tree, self.mesh_view, result, ref.cluster, self._trace_marks)

        self.push_screen(screen, done)

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
        self.push_screen(HelpScreen(notes=partial_notes(self.source.kind_states())))


def run_app(source: Source, diff: MeshDiff | None = None, label: str = "") -> int:
    """Run the inspector on a source until the person quits; the exit status. With a `diff`
    (of which `source` is the new side), the hosts it changes are marked."""
    app = MeshApp(source, diff, label)
    try:
        app.run()
    finally:
        source.stop()  # a live source's watch threads
    return app.return_code or 0
