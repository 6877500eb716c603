"""Reading the source, and following a live one, in worker threads.

The inspector never blocks on I/O: a (re)load, a live snapshot and a context switch each run in
a thread worker, and their results come back to the UI thread (`Loader.finished`), where the
inspector shows them (:class:`LoadTarget`). A live source's changes arrive from its watch
threads in bursts; they are gathered (one message per burst, one snapshot at a time), so that
the work follows the hosts that changed, not the number of watch events.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any, Protocol

from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.diff import HostChange
from meshtui.mesh.findings import Finding
from meshtui.mesh.model import Analysis
from meshtui.sources import Source, known_analyses
from meshtui.tui.contexts import current_contexts, is_cluster, switched
from meshtui.tui.memory import Handoff, LongLivedHeap, taken
from meshtui.tui.model import MeshView, ViewOptions
from meshtui.tui.style import safe

LOAD_GROUP = "load"
LIVE_GROUP = "live"
CONTEXT_GROUP = "context"
LIVE_REFRESH_SECONDS = 0.25  # changes of a live source are gathered this long, then shown
LOADING_SWITCH_INTERVAL = 0.0005  # seconds: Python's switch interval while a first load runs
PAINT_WAIT_SECONDS = 1.0  # the most a first load waits for its preview to be painted

_FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)

Refined = Sequence[Sequence[Finding]]
Loaded = tuple[MeshView, list[list[Finding]]]


class SourceChanged(Message):
    """A live source saw changes to these hosts (posted from its watch threads)."""

    def __init__(self, hosts: set[str]) -> None:
        super().__init__()
        self.hosts = hosts


class LoadTarget(Protocol):
    """What the loader reads for and shows its results on: the inspector (MeshApp)."""

    source: Source
    mesh_view: MeshView | None
    options: ViewOptions

    def changes(self) -> tuple[HostChange, ...]: ...
    def show_view(self, view: MeshView, refined: Refined | None = None) -> None: ...
    def show_preview(self, view: MeshView, painted: Callable[[], object]) -> None: ...
    def call_from_thread(self, callback: Callable[..., object], *args: Any) -> Any: ...
    def show_reading(self) -> None: ...
    def show_load_failed(self) -> None: ...
    def show_other_source(self, view: MeshView, refined: Refined) -> None: ...
    def source_loaded(self) -> None: ...
    def poll_status(self) -> None: ...
    def notify(self, message: str, **options: Any) -> None: ...
    def post_message(self, message: Message) -> bool: ...
    def set_timer(self, delay: float, callback: Callable[[], object]) -> Timer: ...
    def run_worker(self, work: Callable[[], object], **options: Any) -> Worker[Any]: ...


def without_verdicts(analysis: Analysis) -> Analysis:
    """The analysis with its hosts and subsets but no findings: what a preview lists."""
    hosts = {
        name: replace(h, findings=(), subsets=tuple(replace(s, findings=()) for s in h.subsets))
        for name, h in analysis.hosts.items()
    }
    return replace(analysis, hosts=hosts, load_findings=(), suppressed=(), notes=())


def in_thread(target: LoadTarget, work: Callable[[], object], group: str) -> None:
    """Run blocking work in a thread worker; a newer run of the same group replaces it, and a
    failure is the worker's state to report (on_worker_state_changed), not a crash. The result
    is handed over in a box that the handler empties (`taken`): tui/memory.py, Handoff."""
    target.run_worker(
        lambda: Handoff(work()),
        name=group,
        group=group,
        thread=True,
        exclusive=True,
        exit_on_error=False,
    )


class Loader:
    """Loads, reloads and follows the inspector's source; at most one snapshot at a time."""

    def __init__(self, target: LoadTarget) -> None:
        self.target = target
        self.busy = False  # a (re)load is under way: the current tree stays until it is done
        self.error = ""  # why the last (re)load failed ("" when it did not)
        self._timer: Timer | None = None
        # A live source changed since the last snapshot started: kept until one starts,
        # whatever happens meanwhile (a reload in flight, or one that fails).
        self._pending = False
        self._running = False  # one live snapshot at a time: bursts coalesce behind it
        self._notice_lock = threading.Lock()
        self._notice_posted = False  # a SourceChanged is on its way to the UI thread
        self.heap = LongLivedHeap()  # what a load built, kept out of the collector's passes

    # -- (re)loading ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the source again in a worker thread; the current tree stays until it is done
        (the first time, the hosts of the first files read are listed meanwhile)."""
        self.busy = True
        self.target.show_reading()
        source = self.target.source
        first = self.target.mesh_view is None
        in_thread(self.target, lambda: self.load(source, first), LOAD_GROUP)

    def load(self, source: Source, preview: bool = False) -> Loaded:
        """In the worker thread: read, analyse, and index for display; with `preview`, the
        part read first is shown while the rest is read (see `_preview`)."""
        if preview:
            # Keys are answered meanwhile: the UI thread waits for the interpreter lock each
            # time it takes it back from this thread, up to the switch interval (5 ms), and a
            # repaint takes it back many times.
            interval = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, LOADING_SWITCH_INTERVAL))
            try:
                meshes = source.load_with_preview(lambda *part: self._preview(source, *part))
            finally:
                sys.setswitchinterval(interval)
        else:
            meshes = source.load()
        with source.lock:  # a live source's watch threads change its meshes
            analyses = [mesh.analyze() for mesh in source.scoped(meshes)]
        analyses, _ = known_analyses(source, analyses)  # no verdict from an unread kind
        refined = [source.refine(a.findings) for a in analyses]
        view = MeshView(analyses, changes=self.target.changes())
        view.layout(self.target.options)
        self.heap.keep()
        return view, refined

    def _preview(self, source: Source, meshes: list[Mesh], read: int, total: int) -> None:
        """In the worker thread: list the hosts of what is read so far, without verdicts (a
        DestinationRule or a Service still unread would change them), and show them."""
        analyses = [without_verdicts(mesh.analyze()) for mesh in source.scoped(meshes)]
        view = MeshView(analyses, preview=f"{read}/{total} files read")
        view.layout(self.target.options)
        painted = threading.Event()
        with suppress(RuntimeError):  # the app is closing: nothing to show it on
            self.target.call_from_thread(self.target.show_preview, view, painted.set)
            # Read on once the preview is on the screen: until then the UI thread has the
            # interpreter to itself (bounded, should a frame never come).
            painted.wait(PAINT_WAIT_SECONDS)

    def snapshot(self) -> MeshView:
        """In a worker thread: the live source's current analysis (changed hosts only are
        re-analysed: the core caches the others)."""
        target = self.target
        analyses = known_analyses(target.source, target.source.snapshot())[0]
        # Unchanged hosts keep their places.
        view = MeshView(analyses, previous=target.mesh_view, changes=target.changes())
        view.layout(target.options)
        return view

    def finished(self, event: Worker.StateChanged) -> bool:
        """A worker of the loader changed state (False: not one of the loader's)."""
        worker, state = event.worker, event.state
        if worker.group not in (LOAD_GROUP, LIVE_GROUP, CONTEXT_GROUP):
            return False
        result = taken(worker) if state is WorkerState.SUCCESS else None
        if worker.group == LOAD_GROUP:
            if result is not None:
                view, refined = result
                self.error = ""
                self.busy = False
                self.target.show_view(view, refined)
                self.loaded()
                if self._pending:  # e.g. another client view chosen during the load
                    self._arm()
            elif state is WorkerState.ERROR:
                self._failed(worker.error)
        elif worker.group == LIVE_GROUP and state in _FINISHED:
            self._running = False
            if state is WorkerState.SUCCESS and not self.busy:
                self.target.show_view(result)  # (a reload under way brings newer data)
                self.target.poll_status()
            if self._pending:  # changes that came while it ran: one more, after a pause
                self._arm()
        elif worker.group == CONTEXT_GROUP:
            self._context_done(event, result)
        else:
            return False
        return True

    def loaded(self) -> None:
        """After a (re)load: say what the source could not see, and follow a live one."""
        self.target.source_loaded()
        if self.target.source.live:
            self.target.source.watch(self.source_changed)
            self.target.poll_status()

    def _failed(self, error: BaseException | None) -> None:
        self.busy = False
        self.error = safe(str(error) if error else "unknown error")
        self.target.show_load_failed()
        if self.target.source.live:
            self.target.poll_status()  # the source kept running: say how it is, not "live"
            # It also kept following: what changed while the reload failed is shown now.
            self._arm()

    # -- following a live source ----------------------------------------------------------------

    def source_changed(self, hosts: set[str]) -> None:
        """Called by the live source from its watch threads: hand over to the UI thread, one
        message at a time (a hundred events a second are one message, not a hundred)."""
        with self._notice_lock:
            if self._notice_posted:
                return
            self._notice_posted = True
        self.target.post_message(SourceChanged(set(hosts)))

    def schedule(self) -> None:
        """A SourceChanged reached the UI thread: refresh once the burst settles."""
        with self._notice_lock:
            self._notice_posted = False
        # Changes come in bursts (a rollout touches many pods): refresh once per burst, and
        # never start a snapshot while one runs. Under churn the work then follows the hosts
        # that changed (the core re-analyses only those), not the number of watch events.
        self._pending = True
        self._arm()

    def refresh_now(self) -> None:
        """Show the source as it is now (another client view): a snapshot now, or right after
        the one that runs."""
        self._pending = True
        self.refresh_live()

    def _arm(self) -> None:
        if self._timer is None and not self._running:
            delay = min(LIVE_REFRESH_SECONDS, self.target.source.settle)  # a folder's gather
            self._timer = self.target.set_timer(delay, self.refresh_live)

    def refresh_live(self) -> None:
        """Take a snapshot of the live source in a worker, unless one runs or a reload does
        (they end by taking up the changes still pending)."""
        self._timer = None
        if self.busy or self._running or not self._pending:
            return
        self._pending = False
        self._running = True
        in_thread(self.target, self.snapshot, LIVE_GROUP)

    # -- switching kubeconfig contexts (`:ctx`) -------------------------------------------------

    def switch_context(self, argument: str) -> None:
        """`:ctx NAME` reads that kubeconfig context instead, `:ctx +NAME` beside the others;
        the current view stays until the new one has loaded, and stays if it cannot."""
        target = self.target
        if not is_cluster(target.source):
            target.notify(
                "`:ctx` switches the context of a live view (meshtui --context CTX); "
                "this one reads files",
                severity="warning",
                markup=False,
            )
            return
        if not argument.removeprefix("+"):
            shown = ", ".join(current_contexts(target.source)) or "(current)"
            target.notify(f"context {safe(shown)}", title=":ctx NAME switches", markup=False)
            return
        new = switched(target.source, argument)
        target.notify(f"Reading {safe(new.label)} …", timeout=3, markup=False)

        def load() -> tuple[Source, Loaded]:
            try:
                new.preflight()
                return new, self.load(new)
            except BaseException:
                new.stop()
                raise

        in_thread(target, load, CONTEXT_GROUP)

    def _context_done(self, event: Worker.StateChanged, result: object) -> None:
        if event.state is WorkerState.ERROR:
            reason = safe(str(event.worker.error) or "unknown error")
            self.target.notify(reason, title="Context not switched", severity="error", markup=False)
        elif isinstance(result, tuple):
            new, (view, refined) = result
            old, self.target.source = self.target.source, new
            old.stop()
            self.target.show_other_source(view, refined)
            self.loaded()
