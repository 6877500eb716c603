"""What every kind of fix works with: the mesh, the resources as read (to edit a copy), and how
a fixed object names the one it replaces."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.fix import FixedResource
from meshtui.mesh.fix_docs import applyable
from meshtui.mesh.resources import ObjectRef, Resource

API_VERSION = "networking.istio.io/v1"
DEFAULT_WEIGHT = 10  # the share of traffic a weight-split fix sends to the subset (percent)

Obj = dict[str, Any]
RawLookup = Callable[[Resource], Mapping[str, Any] | None]


class FixContext:
    """The mesh a fix is made for, its resources as read (each read once), and the share a
    weight split moves (`--fix-weight`)."""

    def __init__(
        self, mesh: Mesh, raw: RawLookup | None = None, weight: int = DEFAULT_WEIGHT
    ) -> None:
        self.mesh = mesh
        self._raw_lookup = raw or (lambda r: r.meta.raw)
        if not 1 <= weight <= 99:
            raise ValueError(f"--fix-weight {weight}: the share must be between 1 and 99 percent")
        self.weight = weight
        self._raws: dict[ObjectRef, Obj | None] = {}

    def raw(self, resource: Resource) -> Obj | None:
        """The resource as read (a deep copy to edit), or None when the source has none."""
        ref = resource.meta.ref
        if ref not in self._raws:
            try:
                found = self._raw_lookup(resource)
            except (OSError, ValueError):
                found = None
            self._raws[ref] = applyable(found) if isinstance(found, Mapping) else None
        found = self._raws[ref]
        return copy.deepcopy(found) if found is not None else None

    def replacing(self, resource: Resource, doc: Obj) -> FixedResource:
        """`doc` as the fixed version of `resource`."""
        return FixedResource(doc, resource.meta.ref, resource.meta.origin, self.raw(resource))
