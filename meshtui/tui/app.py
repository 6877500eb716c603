"""The interactive inspector: `meshtui PATH` and `meshtui --context CTX` open it.

The app lays out the panes and turns keys into actions; what the actions do lives beside it:
reading and following the source in workers (meshtui.tui.loading), the fix keys
(meshtui.tui.fix_actions), the pane's search (widgets/searchable_pane), the filter line
(widgets/filter_line) and command mode (meshtui.tui.command_mode). A live source's new
analyses reach :meth:`MeshApp.show_view` on the UI thread and the tree is rebuilt in place,
keeping the cursor and what is open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Tree
from textual.worker import Worker, WorkerState

from meshtui.mesh.analysis import Analysis
from meshtui.mesh.diff import HostChange, MeshDiff
from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import Meta
from meshtui.mesh.trace import Trace
from meshtui.sources import KindState, Source, partial_marker, partial_notes
from meshtui.tui import acyclic
from meshtui.tui.command_mode import CommandLine
from meshtui.tui.commands import MeshCommands
from meshtui.tui.contexts import context_names
from meshtui.tui.detail import detail
from meshtui.tui.fix_actions import FixActions
from meshtui.tui.fixes import FixPanel
from meshtui.tui.keys import Scope, bindings
from meshtui.tui.loading import Loader, Refined, SourceChanged, in_thread
from meshtui.tui.memory import keep_heap_at_exit, taken
from meshtui.tui.model import MeshView, NodeRef, Sort, ViewOptions
from meshtui.tui.raw_yaml import raw_yaml
from meshtui.tui.screens.client import ClientScreen
from meshtui.tui.screens.help import HelpScreen
from meshtui.tui.screens.trace import Marks, TraceScreen, first_form, mark_reached, tracer
from meshtui.tui.sections import involved
from meshtui.tui.text import MUTED, plural, safe
from meshtui.tui.widgets.filter_line import FilterLine
from meshtui.tui.widgets.mesh_tree import MeshTree
from meshtui.tui.widgets.searchable_pane import SearchablePane, focus_now
from meshtui.tui.widgets.summary import SummaryBar
from meshtui.tui.widgets.text_line import TextLine

YAML_GROUP = "yaml"
STATUS_POLL_SECONDS = 1.0
# A live view checks this often whether the heap's frozen garbage is due a pass, which runs
# only once no key has come for IDLE_SECONDS (tui/memory.py, LongLivedHeap.settle).
SETTLE_CHECK_SECONDS = 10.0
IDLE_SECONDS = 5.0
EXIT_UNREADABLE = 2
NARROW_COLUMNS = 100
# Actions that open a line to type into: not from a text field (there the key is a character)
# nor over another screen (help, palette).
TYPING_ACTIONS = {"filter", "command", "client_view"}


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
        acyclic.install()  # rendered lines freed by reference counting (tui/acyclic.py)
        self.source = source
        # `meshtui diff OLD NEW` in a terminal: the inspector on NEW, the changed hosts marked.
        self.diff = diff
        self.diff_label = label
        self.mesh_view: MeshView | None = None
        self.options = ViewOptions()
        self.show_yaml = False
        self.loader = Loader(self)
        self.fix_actions = FixActions(self)
        self._located: dict[Finding, Finding] = {}
        self._trace_marks: Marks = {}  # what the last trace marked in the tree
        self._warned: set[str] = set()
        self.summary = SummaryBar(id="summary")
        self.host_tree = MeshTree(id="tree")
        self.filter_input = FilterLine(self._apply_filter, self._host_count, id="filter")
        self.right = SearchablePane(id="right")
        self.detail_pane = self.right.pane
        self.search_input = self.right.line
        self.command_line = CommandLine(self, id="command")

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.summary
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.host_tree
                yield self.filter_input
            yield self.right
        yield self.command_line
        yield Footer()

    _problem = ""
    _last_input = 0.0  # time.monotonic() of the last key or mouse event
    partial = ""  # the header's marker of kinds a live source could not (wholly) read

    def on_unmount(self) -> None:
        self.loader.heap.release()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self._last_input = time.monotonic()
        await super().on_event(event)

    async def _settle_heap(self) -> bool:
        """Nobody typing for a while and nothing loading: the pause of a whole-heap pass (if
        the heap has grown enough to need one) goes unnoticed. True if it ran."""
        # The driver's thread hands keys to the event loop as tasks: let them be posted first,
        # then take the pass only with nothing waiting (a key queued now would wait seconds).
        await asyncio.sleep(0)
        if not self._idle():
            return False
        return self.loader.heap.settle()

    def _idle(self) -> bool:
        """No key or mouse event for IDLE_SECONDS, none waiting, and no load running."""
        return (
            not self.loader.busy
            and time.monotonic() - self._last_input >= IDLE_SECONDS
            and self.message_queue_size == 0  # the driver posts keys to the app
        )

    def on_mount(self) -> None:
        focus_now(self.host_tree)
        self.detail_pane.show(Text(f"Reading {safe(self.source.label)} …", style=MUTED))
        self._titles()
        if self.source.live:
            self.set_interval(STATUS_POLL_SECONDS, self.poll_status)
            self.set_interval(SETTLE_CHECK_SECONDS, self._settle_heap)
        self.action_reload()

    def _host_count(self) -> int:
        return self.mesh_view.host_count if self.mesh_view is not None else 0

    # -- loading (meshtui.tui.loading does it in workers; these show what it brings) ------------

    @property
    def busy(self) -> bool:
        """A (re)load is under way (the current tree stays until it is done)."""
        return self.loader.busy

    @property
    def load_error(self) -> str:
        """Why the last (re)load failed ("" when it did not)."""
        return self.loader.error

    def action_reload(self) -> None:
        """Read the source again in a worker thread; the current tree stays until it is done."""
        self.loader.reload()

    def show_reading(self) -> None:
        self.host_tree.loading = self.mesh_view is None
        self._summary()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self.loader.finished(event):
            return
        worker = event.worker
        if worker.group == YAML_GROUP and event.state is WorkerState.SUCCESS:
            ref, documents = taken(worker)
            if self.show_yaml and ref == self.cursor_ref():
                self.detail_pane.show(raw_yaml(documents), wrap=False)

    def source_loaded(self) -> None:
        """After a (re)load: say what the source could not see (once per warning)."""
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

    @on(SourceChanged)
    def _source_changed(self) -> None:
        self.loader.schedule()

    def poll_status(self) -> None:
        # A live snapshot analyses the changed hosts under the source's lock (hundreds of ms at
        # 10,000 hosts under churn), and the watch threads take it for every event: the UI
        # thread never waits for it. A poll that finds it taken is skipped; the next one (every
        # STATUS_POLL_SECONDS, and after every snapshot) reads the status.
        lock = self.source.lock
        if not lock.acquire(blocking=False):
            return
        try:
            status = self.source.status
            states = self.source.kind_states()
            problem = self.source.problem
        finally:
            lock.release()
        self._show_status(status, states, problem)

    def _show_status(self, status: str, states: list[KindState], problem: str) -> None:
        self.status = status
        partial = partial_marker(states)
        if partial != self.partial:  # lasting, unlike a toast: what could not be read
            self.partial = partial
            self._summary()
        # A live source failing after start-up says why, once per new problem, and says so
        # again when it is back.
        # Status and problem are read one after the other while watch threads change them:
        # a problem announced stays announced until the status itself says live.
        problem = safe(problem) if self.status not in ("", "live") else ""
        if problem and problem != self._problem:
            self.notify(
                problem, title=f"cluster {self.status}", severity="error", timeout=15, markup=False
            )
            self._problem = problem
        elif self.status == "live" and self._problem:
            self.notify("connection restored: the view is live again", title="cluster live")
            self._problem = ""

    def show_load_failed(self) -> None:
        self.host_tree.loading = False
        self._summary()
        if self.mesh_view is None:
            # Nothing was ever read (no such path, no cluster): say so and exit 2, as `check`.
            self.exit(return_code=EXIT_UNREADABLE, message=Text(f"meshtui: {self.load_error}"))
            return
        self.notify(self.load_error, title="Reload failed", severity="error", markup=False)

    def show_other_source(self, view: MeshView, refined: Refined) -> None:
        """Another kubeconfig context was read (`:ctx`): laid out afresh, not kept."""
        self._warned = set()
        self._problem = ""
        self.options = replace(self.options, namespace="")
        self.mesh_view = None
        # Another cluster: laid out afresh (namespaces opened as at start), not kept.
        self.host_tree.show(view, self.options, keep=False)
        self.show_view(view, refined)

    def apply_analysis(
        self,
        analyses: Sequence[Analysis],
        refined: Sequence[Sequence[Finding]] | None = None,
    ) -> None:
        """Show new analyses (a reload, or a live update), keeping cursor and open nodes.

        `refined` are the findings the source located more precisely (per analysis, as
        `Source.refine` returns them); without them findings are located on demand.
        """
        self.show_view(MeshView(analyses, changes=self.changes()), refined)

    def show_view(self, view: MeshView, refined: Refined | None = None) -> None:
        """Show a view the loader built (or `apply_analysis`), keeping cursor and open nodes."""
        first = self.mesh_view is None
        if self.mesh_view is not None and self.mesh_view.preview:
            # The whole input after a preview: laid out as a first view, the cursor kept.
            self.host_tree.show(view, self.options, keep=False)
        self.mesh_view = view
        view.fixes = FixPanel(self.source)
        self._located = {}
        if refined is not None:
            for analysis, located in zip(view.analyses, refined, strict=False):
                found = analysis.findings
                if len(found) == len(located):
                    self._located.update(zip(found, located, strict=True))
        self.loader.busy = False
        self.host_tree.loading = False
        self._rebuild()
        if first:  # the loading indicator took the focus away from the tree
            focus_now(self.host_tree)

    def show_preview(self, view: MeshView, painted: Callable[[], object]) -> None:
        """The hosts of the first files read, while the loader reads the rest: keys move
        through them; verdicts and details come with the whole input. `painted` is called
        once they are on the screen."""
        if self.mesh_view is None:
            self.mesh_view = view
            self.host_tree.loading = False
            self._rebuild()
            focus_now(self.host_tree)
        self.call_after_refresh(painted)

    def locate(self, finding: Finding) -> Finding:
        """The finding with the most precise location the source knows (cached)."""
        if finding not in self._located:
            try:
                self._located[finding] = self.source.refine([finding])[0]
            except (OSError, IndexError, ValueError):
                self._located[finding] = finding
        return self._located[finding]

    def changes(self) -> tuple[HostChange, ...]:
        """The hosts a diff changes (`meshtui diff` in a terminal), marked in the tree."""
        return self.diff.changes if self.diff is not None else ()

    # -- rendering -------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        if self.mesh_view is None:
            return
        self.host_tree.show(self.mesh_view, self.options)
        self._summary()
        self._titles()
        self.show_detail()

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
        self.right.show_position()

    def cursor_ref(self) -> NodeRef | None:
        node = self.host_tree.cursor_node
        return node.data if node is not None else None

    def show_detail(self) -> None:
        """The detail pane for the node under the cursor (or its raw YAML, read in a worker)."""
        if self.mesh_view is None:
            return
        ref = self.cursor_ref()
        if self.mesh_view.preview:
            note = f"Reading {safe(self.source.label)} ({self.mesh_view.preview}) …"
            self.detail_pane.show(Text(note, style=MUTED))
        elif self.show_yaml:
            metas = involved(self.mesh_view, ref) if ref is not None else []
            self.detail_pane.show(Text("Reading YAML …", style=MUTED))
            in_thread(self, lambda: (ref, self._documents(metas)), YAML_GROUP)
        else:
            view = self.mesh_view
            fixes = self.fix_actions.node_fixes()
            if view.fixes is not None and view.fixes.selected not in fixes:
                view.fixes.selected = fixes[0] if fixes else None  # the first shows its diff
            self.detail_pane.show(lambda width: detail(view, ref, self.locate, width))

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
            self.show_detail()

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

    def action_next_fix(self) -> None:
        self.fix_actions.next()

    def action_copy_fix(self) -> None:
        self.fix_actions.copy()

    def action_page_fix(self) -> None:
        self.fix_actions.page()

    def action_write_fix(self) -> None:
        self.fix_actions.write()

    # -- the filter (`/` in the tree) and the pane's search (`/` in the pane) --------------------

    def action_filter(self) -> None:
        """Open the filter line and type into it; with the detail pane focused, search it."""
        if self.detail_pane.has_focus:
            self.right.open()
            return
        self.filter_input.open()
        focus_now(self.filter_input)

    def _apply_filter(self, query: str) -> None:
        if query != self.options.query:
            self.options = replace(self.options, query=query)
            self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.filter_input.submit_pending()
        focus_now(self.host_tree)
        if not self.options.query:
            self.filter_input.close()

    def action_clear_filter(self) -> None:
        """esc: leave the pane search if in it (or clear it), else empty the filter."""
        if self.right.searching:
            self.right.close()
            return
        box = self.filter_input
        box.close()
        focus_now(self.host_tree)
        had = bool(box.value)
        box.clear()
        if had or self.options.query:
            self.options = replace(self.options, query="")
            self._rebuild()

    def action_next_finding(self) -> None:
        if not self.right.step(backwards=False):
            self._go_to_finding(backwards=False)

    def action_previous_finding(self) -> None:
        if not self.right.step(backwards=True):
            self._go_to_finding(backwards=True)

    def _go_to_finding(self, *, backwards: bool) -> None:
        tree = self.host_tree
        positions = tree.positions
        target = positions.next_target(self.cursor_ref(), backwards) if positions else None
        if target is None:
            self.notify("No findings in this view.", timeout=3)
            return
        focus_now(tree)
        tree.reveal(target)
        self.show_detail()

    # -- command mode (`:`; meshtui.tui.command_mode runs what is typed) -------------------------

    def action_command(self) -> None:
        """Open the command line (`:ns NAME`, `:ctx NAME`, `:q`)."""
        self.command_line.open()
        focus_now(self.command_line)

    def leave_command(self) -> None:
        self.command_line.close()
        focus_now(self.host_tree)

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
        """`:ctx NAME` reads that kubeconfig context instead, `:ctx +NAME` beside the others."""
        self.loader.switch_context(argument)

    # -- view options ----------------------------------------------------------------------------

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
        self.loader.refresh_now()

    def action_toggle_yaml(self) -> None:
        self.show_yaml = not self.show_yaml
        self._titles()
        self.show_detail()

    def action_trace(self) -> None:
        """Trace a request to the host or subset under the cursor (form, then its path);
        once it closes, the tree marks what the request reached."""
        ref = self.cursor_ref()
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
            focus_now(self.detail_pane)
        else:
            focus_now(self.host_tree)

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
        keep_heap_at_exit()
    return app.return_code or 0
