"""Sources feed the core: a folder of YAML offline, a cluster live."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from meshtui.mesh.analysis import Analysis, Mesh
from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import Meta


class Source(ABC):
    """Where resources come from; `label` says so in the header and the report.

    A live source also keeps its meshes current in background threads: it calls the
    `notify` function given to :meth:`watch` after each change, and readers take a
    consistent :meth:`snapshot` under its lock.
    """

    label: str = ""
    live: bool = False

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.meshes: list[Mesh] = []
        self.warnings: list[str] = []
        self.client_namespace: str | None = None  # whose view; None: every client

    def set_client_namespace(self, namespace: str | None) -> None:
        """Analyse as sidecars in `namespace` see the mesh from now on (None: every client)."""
        with self.lock:
            self.client_namespace = namespace or None
            self.scoped(self.meshes)

    def scoped(self, meshes: list[Mesh]) -> list[Mesh]:
        """`meshes` set to this source's client view (after a load made them anew)."""
        for mesh in meshes:
            if mesh.client_namespace != self.client_namespace:
                mesh.set_client_namespace(self.client_namespace)
        return meshes

    def preflight(self) -> None:
        """Fail fast (LoadError) before a UI starts, e.g. when a cluster is unreachable."""
        return None

    @abstractmethod
    def load(self) -> list[Mesh]:
        """Read everything once: one Mesh per cluster (a folder is one)."""

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
        """`live`, `reconnecting`, `stale since T`, or empty for a source that does not follow."""
        return ""

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
