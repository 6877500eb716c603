"""Files laid over a cluster: "what happens if I apply this folder to prod?".

As `istioctl analyze` does with files and a live cluster (istioctl/pkg/analyze: the files'
resources are added to the cluster's and take the place of the cluster's own resource of the
same kind, namespace and name), every context's mesh is the cluster's resources with the
files' on top. The cluster is read (only GET, as ever) and followed by the ClusterSource as it
is; its list and watch feed the mesh below the files' layer, so a cluster change to a resource
a file replaces stays hidden until the file no longer defines it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Finding
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import Meta, ObjectRef, Resource
from meshtui.sources import Source
from meshtui.sources.cluster import Cluster, ClusterSource
from meshtui.sources.folder import FileSource


class LaidMesh(Mesh):
    """One cluster's mesh with the files' resources laid over it.

    `load`, `add`, `remove` and `clear_findings` are what the cluster's list and watch call;
    `put` is what the files call."""

    def __init__(self, config: MeshConfig | None, cluster: str | None) -> None:
        super().__init__(config, cluster)
        self.layer: dict[ObjectRef, Resource] = {}
        self.under: dict[ObjectRef, Resource] = {}  # the cluster's versions the files hide
        self.layer_findings: list[Finding] = []
        self.cluster_findings: list[Finding] = []

    def lay(self, resources: Iterable[Resource], findings: Iterable[Finding]) -> None:
        """The files' first read, before the cluster's."""
        self.layer = {r.meta.ref: r for r in resources}
        super().load(self.layer.values())
        self.layer_findings = list(findings)
        self._findings()

    # -- the cluster's side --------------------------------------------------------------

    def load(self, resources: Iterable[Resource]) -> None:
        below = []
        for resource in resources:
            ref = resource.meta.ref
            if ref in self.layer:
                self.under[ref] = resource
            else:
                below.append(resource)
        super().load(below)

    def add(self, resource: Resource) -> set[str]:
        ref = resource.meta.ref
        if ref in self.layer:
            self.under[ref] = resource
            return set()
        return super().add(resource)

    def remove(self, ref: ObjectRef) -> set[str]:
        if ref in self.layer:
            self.under.pop(ref, None)
            return set()
        return super().remove(ref)

    def clear_findings(self, origin_file: str | None = None) -> None:
        self.cluster_findings = []
        self._findings()

    def add_finding(self, finding: Finding) -> None:
        self.cluster_findings.append(finding)
        super().add_finding(finding)

    def _findings(self) -> None:
        super().clear_findings()
        for finding in (*self.layer_findings, *self.cluster_findings):
            super().add_finding(finding)

    # -- the files' side -----------------------------------------------------------------

    def put(self, ref: ObjectRef, resource: Resource | None) -> set[str]:
        """The files now define `resource` for `ref` (None: they no longer do)."""
        if resource is not None:
            self.layer[ref] = resource
            return super().add(resource)
        if self.layer.pop(ref, None) is None:
            return set()
        below = self.under.pop(ref, None)
        return super().add(below) if below is not None else super().remove(ref)

    def put_findings(self, findings: Iterable[Finding]) -> None:
        self.layer_findings = list(findings)
        self._findings()


class _LaidClusterSource(ClusterSource):
    """The ClusterSource, each of whose contexts feeds a LaidMesh instead of a plain Mesh."""

    def __init__(self, cluster: ClusterSource, prepare: Callable[[LaidMesh], None]) -> None:
        super().__init__(
            contexts=cluster.contexts,
            kubeconfig=cluster.kubeconfig,
            namespaces=cluster.namespaces,
            request_timeout=cluster.request_timeout,
            config=cluster.config,
        )
        self._prepare = prepare

    def _connect(self) -> list[Cluster]:
        clusters = super()._connect()
        for c in clusters:
            # Before a cluster is listed (it may hand back clusters it already listed).
            if not isinstance(c.mesh, LaidMesh) and not c.streams:
                laid = LaidMesh(self.config, c.name)
                self._prepare(laid)
                c.mesh = laid
        return clusters


class OverlaySource(Source):
    """PATHs with `--context`: the files' resources over each context's, followed both ways."""

    live = True

    def __init__(self, files: FileSource, cluster: ClusterSource) -> None:
        super().__init__()
        self.files = files
        self.cluster = _LaidClusterSource(cluster, self._lay)
        self.lock = self.cluster.lock  # the cluster's watch threads change the meshes under it
        self.files.lock = self.lock
        self.label = f"{files.label} over {self.cluster.label}"
        self.notes = [*files.notes]
        self.laid: list[LaidMesh] = []

    def _lay(self, mesh: LaidMesh) -> None:
        contents = self.files.contents
        if contents is None:  # preflight: the cluster is only asked whether it answers
            return
        mesh.lay(contents.in_force(), contents.findings())
        self.laid.append(mesh)

    def preflight(self) -> None:
        self.cluster.preflight()

    def load(self) -> list[Mesh]:
        self.stop()
        self.files.load()
        self.laid = []
        meshes = self.cluster.load()
        contents = self.files.contents
        assert contents is not None
        contents.layers = list(self.laid)
        names = ", ".join(c.name for c in self.cluster.clusters)
        self.label = f"{self.files.label} over context {names}"
        self.notes = [
            *self.files.notes,
            f"{self.files.label} laid over context {names}: a file's resource replaces the "
            "cluster's of the same kind, namespace and name",
        ]
        with self.lock:
            self.meshes = list(meshes)
            self.warnings = [*self.files.warnings, *self.cluster.warnings]
            self.details = list(self.files.details)
        return self.meshes

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        self.cluster.watch(notify)
        self.files.watch(notify)

    def stop(self) -> None:
        self.files.stop()
        self.cluster.stop()

    @property
    def status(self) -> str:
        return self.cluster.status or self.files.status

    @property
    def problem(self) -> str:
        return "; ".join(p for p in (self.cluster.problem, self.files.problem) if p)

    def refine(self, findings: Iterable[Finding]) -> list[Finding]:
        return self.files.refine(findings)

    def kind_states(self) -> list[Any]:
        """What the cluster could read, kind by kind (the files are read whole)."""
        return list(getattr(self.cluster, "kind_states", list)())

    def document_text(self, meta: Meta) -> str | None:
        if meta.origin.file is not None:
            return self.files.document_text(meta)
        return super().document_text(meta)
