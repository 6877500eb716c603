"""Sources feed the core: a folder of YAML offline, a cluster live."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

from meshtui.mesh.analysis import Analysis, Mesh
from meshtui.mesh.findings import Finding
from meshtui.mesh.frozen import frozen
from meshtui.mesh.partial import Withheld, plural_kind, withhold_analysis
from meshtui.mesh.resources import Meta
from meshtui.mesh.trace import find_workload

# What a live source knows of one kind, in one cluster.
WATCHING = "watching"  # listed, and a watch keeps it current
LISTED = "listed"  # listed, not (yet) watched
STALE = "stale"  # was read, but its watch is failing: it may be out of date since `since`
FORBIDDEN = "forbidden"  # could not be read (403): the analysis must not guess about it
ABSENT = "absent"  # the cluster does not serve it (404): there are none


@frozen
class KindState:
    """Whether a source has a kind (watching, listed), lost it (stale since T) or cannot read
    it (forbidden; absent: not installed, so known to be empty)."""

    cluster: str
    kind: str
    state: str
    reason: str = ""
    since: float | None = None  # STALE: when its watch began to fail (epoch seconds)
    unseen: tuple[str, ...] = ()  # namespaces where it is forbidden
    read_in: tuple[str, ...] | None = None  # forbidden cluster-wide: the namespaces read

    def describe(self) -> str:
        """One line for a person: what is missing and why."""
        kinds = plural_kind(self.kind)
        if self.state == FORBIDDEN:
            text = f"{kinds} not readable: {self.reason}"
            if self.read_in:
                text += f"; read only in {', '.join(self.read_in)}"
            return f"{self.cluster}: {text}"
        if self.state == STALE:
            return f"{self.cluster}: {kinds} may be out of date: {self.reason}"
        parts = []
        if self.read_in is not None:
            where = ", ".join(self.read_in) or "no namespace yet"
            parts.append(f"not readable cluster-wide (403), read in {where}")
        if self.unseen:
            parts.append(f"not readable in {', '.join(self.unseen)} (403)")
        return f"{self.cluster}: {kinds} {'; '.join(parts)}" if parts else ""

    @property
    def partial(self) -> bool:
        """Whether something of this kind could not be read (all of it, or some namespaces)."""
        return self.state == FORBIDDEN or bool(self.unseen) or self.read_in is not None


def unread_kinds(states: Iterable[KindState], cluster: str | None) -> dict[str, str]:
    """Kind -> reason, for the kinds of `cluster` that could not be read: findings that
    depend on them are withheld (meshtui.mesh.partial)."""
    return {
        s.kind: s.reason
        for s in states
        if s.state == FORBIDDEN and (cluster is None or s.cluster == cluster)
    }


def partial_notes(states: Iterable[KindState]) -> list[str]:
    """What could not be read, one line per kind, for the header's details and reports."""
    return [s.describe() for s in states if s.partial]


def partial_marker(states: Sequence[KindState]) -> str:
    """The header's lasting marker: the kinds not (wholly) read, e.g. "DestinationRules,
    Pods" (`partial_notes` says which namespaces); "" when everything was read."""
    names: list[str] = []
    for s in states:
        if not s.partial:
            continue
        name = plural_kind(s.kind)
        if name not in names:
            names.append(name)
    return ", ".join(names)


def known_analyses(
    source: Source, analyses: Sequence[Analysis]
) -> tuple[list[Analysis], list[Withheld]]:
    """The analyses without the findings that depend on a kind the source could not read."""
    states = source.kind_states()
    if not any(s.state == FORBIDDEN for s in states):
        return list(analyses), []
    out: list[Analysis] = []
    withheld: list[Withheld] = []
    for analysis in analyses:
        kept, notes = withhold_analysis(analysis, unread_kinds(states, analysis.cluster))
        out.append(kept)
        withheld += notes
    return out, withheld


# Meshes of part of the input, how many inputs they hold and how many there are.
Preview = Callable[[list[Mesh], int, int], None]


class Source(ABC):
    """Where resources come from; `label` says so in the header and the report.

    A live source also keeps its meshes current in background threads: it calls the
    `notify` function given to :meth:`watch` after each change, and readers take a
    consistent :meth:`snapshot` under its lock.
    """

    label: str = ""
    live: bool = False
    settle: float = 0.25
    """How long a burst of changes is gathered before it is shown (a rollout touches many
    pods); a source whose notifications are already gathered says less."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.meshes: list[Mesh] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []
        """How the input was read (an assumed namespace, a build), said in every report."""
        self.details: list[str] = []
        """How the input was read, said when asked (--verbose): e.g. which YAML parser."""
        self.client_namespace: str | None = None  # whose view; None: every client
        # `--client ns/workload`: the view of that workload's own proxy (in client_namespace)
        self.client_workload: str | None = None

    def set_client_namespace(self, namespace: str | None) -> None:
        """Analyse as sidecars in `namespace` see the mesh from now on (None: every client)."""
        with self.lock:
            self.client_namespace = namespace or None
            self.client_workload = None
            self.scoped(self.meshes)

    def scoped(self, meshes: list[Mesh]) -> list[Mesh]:
        """`meshes` set to this source's client view (after a load made them anew)."""
        for mesh in meshes:
            if mesh.client_namespace != self.client_namespace:
                mesh.set_client_namespace(self.client_namespace)
            if self.client_workload and self.client_namespace:
                self._scope_workload(mesh, self.client_namespace, self.client_workload)
        return meshes

    def _scope_workload(self, mesh: Mesh, namespace: str, name: str) -> None:
        found = find_workload(mesh, namespace, name)
        pod = mesh.dataplane.pod
        if found is not None and (pod is None or pod[2] != dict(found.labels)):
            mesh.set_client_workload(found)
        elif found is None:
            note = (
                f"no workload {name} in namespace {namespace} in the input: the view is the "
                "namespace's, from its labels and its namespace-wide Sidecar"
            )
            if note not in self.notes:
                self.notes.append(note)

    def preflight(self) -> None:
        """Fail fast (LoadError) before a UI starts, e.g. when a cluster is unreachable."""
        return None

    @abstractmethod
    def load(self) -> list[Mesh]:
        """Read everything once: one Mesh per cluster (a folder is one)."""

    def load_with_preview(self, preview: Preview) -> list[Mesh]:
        """`load`, calling `preview` once on the way, where the source can, with meshes of
        what it has read so far (a large folder: the inspector lists hosts meanwhile)."""
        return self.load()

    def snapshot(self) -> list[Analysis]:
        """The current analysis of every mesh, consistent under the source's lock."""
        with self.lock:
            return [mesh.analyze() for mesh in self.scoped(self.meshes)]

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        """Start following changes; `notify(hosts)` is called from a background thread."""
        return None

    def stop(self) -> None:
        """Stop following changes."""
        return None

    @property
    def problem(self) -> str:
        """What is wrong while the status is not `live` (shown as a banner), else ""."""
        return ""

    @property
    def status(self) -> str:
        """`live`, `connecting`, `reconnecting`, `stale since T`, or empty for a source that
        does not follow; `live` only while every kind read is being watched."""
        return ""

    def kind_states(self) -> list[KindState]:
        """Per cluster and kind, what the source knows (empty: a source that reads files)."""
        return []

    def refine(self, findings: Iterable[Finding]) -> list[Finding]:
        """Sharpen findings' locations where the source can (a field's own line)."""
        return list(findings)

    def document_text(self, meta: Meta) -> str | None:
        """The resource as YAML, for the raw view (looked up by reference when `meta` is only
        a reference, e.g. the VirtualService a route was written in)."""
        raw = meta.raw
        if raw is None:
            with self.lock:
                for mesh in self.meshes:
                    if meta.origin.cluster not in (None, mesh.cluster):
                        continue
                    found = mesh.get(meta.ref)
                    if found is not None and found.meta.raw is not None:
                        raw = found.meta.raw
                        break
        if raw is None:
            return None
        import yaml

        return yaml.safe_dump(dict(raw), sort_keys=False)
