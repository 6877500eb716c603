"""Sources feed the core: a folder of YAML offline, a cluster live."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import Meta


class Source(ABC):
    """Where resources come from; `label` says so in the header and the report."""

    label: str = ""

    @abstractmethod
    def load(self) -> list[Mesh]:
        """Read everything once: one Mesh per cluster (a folder is one)."""

    def refine(self, findings: Iterable[Finding]) -> list[Finding]:
        """Sharpen findings' locations where the source can (a field's own line)."""
        return list(findings)

    def document_text(self, meta: Meta) -> str | None:
        """The resource as YAML, for the raw view."""
        if meta.raw is None:
            return None
        import yaml

        return yaml.safe_dump(dict(meta.raw), sort_keys=False)
