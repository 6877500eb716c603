"""Sets of client namespaces: whose sidecars a verdict holds for.

Istio's answer for a host depends on the namespace of the client proxy (its own DestinationRule
first, the VirtualServices exported to it). The namespaces of a mesh are open-ended, so a set is
either a finite list of namespaces or "every namespace except" a finite list; that is enough to
say "clients in frontend" and "clients in every other namespace" exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from meshtui.mesh.frozen import frozen

ALL_CLIENTS = "*"


@frozen
class ClientSet:
    """`names` when `everyone` is False; every namespace but `names` when it is True."""

    everyone: bool
    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, names: Iterable[str]) -> ClientSet:
        return cls(False, frozenset(names))

    @classmethod
    def all(cls) -> ClientSet:
        return _ALL

    @classmethod
    def none(cls) -> ClientSet:
        return _NONE

    def __bool__(self) -> bool:
        # Namespaces are open-ended: "every namespace but a few" is never empty.
        return self.everyone or bool(self.names)

    def __contains__(self, namespace: str) -> bool:
        return (namespace in self.names) != self.everyone

    def __or__(self, other: ClientSet) -> ClientSet:
        # Most sets met are everyone or no one: those need no set arithmetic.
        if other is _NONE or self is _ALL:
            return self
        if self is _NONE or other is _ALL:
            return other
        if len(self.names) + len(other.names) > _LARGE:
            return _union(self, other)
        return self._union(other)

    def __and__(self, other: ClientSet) -> ClientSet:
        if other is _ALL or self is _NONE:
            return self
        if self is _ALL or other is _NONE:
            return other
        if len(self.names) + len(other.names) > _LARGE:
            return _intersection(self, other)
        return self._intersection(other)

    def _union(self, other: ClientSet) -> ClientSet:
        if self.everyone and other.everyone:
            return ClientSet(True, self.names & other.names)
        if self.everyone:
            return ClientSet(True, self.names - other.names)
        if other.everyone:
            return ClientSet(True, other.names - self.names)
        return ClientSet(False, self.names | other.names)

    def _intersection(self, other: ClientSet) -> ClientSet:
        if self.everyone and other.everyone:
            return ClientSet(True, self.names | other.names)
        if self.everyone:
            return ClientSet(False, other.names - self.names)
        if other.everyone:
            return ClientSet(False, self.names - other.names)
        return ClientSet(False, self.names & other.names)

    def __sub__(self, other: ClientSet) -> ClientSet:
        if other is _NONE or self is _NONE:
            return self
        return self & other.complement()

    def complement(self) -> ClientSet:
        if not self.names:
            return _NONE if self.everyone else _ALL
        if len(self.names) > _LARGE:
            return _complement(self)
        return ClientSet(not self.everyone, self.names)

    @property
    def namespaces(self) -> list[str]:
        """The JSON form: `["*"]` for every namespace, else the sorted names."""
        return [ALL_CLIENTS] if self.everyone else sorted(self.names)

    @property
    def exceptions(self) -> list[str]:
        """With `namespaces == ["*"]`: the namespaces left out."""
        return sorted(self.names) if self.everyone else []

    def short(self) -> str:
        """For a tree badge: "clients: frontend", "clients: all but frontend"."""
        if self.everyone:
            return "clients: all" + (f" but {', '.join(sorted(self.names))}" if self.names else "")
        return f"clients: {', '.join(sorted(self.names)) or 'none'}"

    def describe(self) -> str:
        """ "clients in frontend", "clients in every namespace but frontend", ..."""
        if self.everyone and not self.names:
            return "clients in every namespace"
        if self.everyone:
            return f"clients in every namespace but {', '.join(sorted(self.names))}"
        if not self.names:
            return "no client"
        return f"clients in {', '.join(sorted(self.names))}"


_ALL = ClientSet(True)
_NONE = ClientSet(False)

# Sets naming many namespaces (a mesh with a hundred ambient namespaces) recur host after host;
# their operations are kept, so each is computed once and the same object comes back (a
# frozenset keeps its hash, and an object equals itself at once).
_LARGE = 16


@functools.lru_cache(maxsize=1 << 14)
def _union(a: ClientSet, b: ClientSet) -> ClientSet:
    return a._union(b)


@functools.lru_cache(maxsize=1 << 14)
def _intersection(a: ClientSet, b: ClientSet) -> ClientSet:
    return a._intersection(b)


@functools.lru_cache(maxsize=1 << 12)
def _complement(a: ClientSet) -> ClientSet:
    return ClientSet(not a.everyone, a.names)
