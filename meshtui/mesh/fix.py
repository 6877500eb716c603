"""What a fix is: the whole objects it writes (each replacing a resource, or new) and what it
does, in words. meshtui.mesh.fixes makes fixes; meshtui.mesh.fix_verify proves each by
analysing the mesh again with it applied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import ObjectRef, Origin


@frozen
class FixedResource:
    """One whole object as it is after the fix, and the existing resource it replaces."""

    object: Mapping[str, Any]
    replaces: ObjectRef | None = None  # None: a new resource
    origin: Origin | None = None  # where the replaced resource is (file and line)
    before: Mapping[str, Any] | None = None  # the replaced object as read

    @property
    def ref(self) -> ObjectRef:
        meta = self.object.get("metadata") or {}
        return ObjectRef(
            str(self.object.get("kind", "")), str(meta.get("namespace", "")), str(meta["name"])
        )


@frozen
class Fix:
    """A verified fix: what it does, in words, and the objects to apply."""

    title: str
    description: str
    resources: tuple[FixedResource, ...]
