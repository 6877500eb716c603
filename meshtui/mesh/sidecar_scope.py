"""Sidecar egress scope: which hosts and VirtualServices a Sidecar lets its proxies import.

pilot/pkg/model/sidecar.go convertIstioListenerToWrapper reads `ns/host` egress entries (`.`
the proxy's namespace, `*` any, `~ns/host` excludes), selectServices imports services by the
Service's namespace (an entry for it, else `*`), and virtualservice.go SelectVirtualServices
imports VirtualServices by the VirtualService's own namespace. meshtui.mesh.dataplane asks
these per client namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import matches
from meshtui.mesh.resources import Sidecar


@frozen
class Scope:
    """A Sidecar's egress hosts read for one client namespace: namespace -> hosts."""

    sidecar: Sidecar
    imported: dict[str, tuple[str, ...]]
    excluded: dict[str, tuple[str, ...]]

    def _listed(self, table: dict[str, tuple[str, ...]], ns: str, host: str) -> bool:
        return any(matches(host, p) for p in table.get(ns, ())) or any(
            matches(host, p) for p in table.get("*", ())
        )

    def imports_service(self, namespace: str, host: str) -> bool:
        """selectServices: an entry for the Service's namespace or `*`, not excluded."""
        if self._listed(self.excluded, namespace, host):
            return False
        return self._listed(self.imported, namespace, host)

    def imports_virtual_service(self, namespace: str, hosts: Iterable[str]) -> bool:
        """SelectVirtualServices: an entry for the VirtualService's namespace or `*` matching
        any of its hosts (either way round for wildcards, as pilot's Matches)."""
        for host in hosts:
            if self._listed(self.excluded, namespace, host):
                continue
            for ns in (namespace, "*"):
                for pattern in self.imported.get(ns, ()):
                    if matches(host, pattern) or matches(pattern, host):
                        return True
        return False


class ScopeIndex:
    """Namespaces by what their Sidecar scope imports (see DataPlane._scope_index)."""

    def __init__(self) -> None:
        self.everything: set[str] = set()  # no Sidecar, or `*/*` with nothing excluded
        self.wholesale: dict[str, set[str]] = {}  # namespace -> who imports all of it
        self.detailed: list[tuple[str, Scope]] = []  # who needs a look host by host

    def add(self, namespace: str, scope: Scope | None) -> None:
        if scope is None:
            self.everything.add(namespace)
            return
        simple = not scope.excluded and all(
            p == "*" for patterns in scope.imported.values() for p in patterns
        )
        if not simple:
            self.detailed.append((namespace, scope))
            return
        for ns in scope.imported:
            if ns == "*":
                self.everything.add(namespace)
            else:
                self.wholesale.setdefault(ns, set()).add(namespace)

    def importers(self, namespace: str, test: Callable[[Scope], bool]) -> set[str]:
        """Who imports from `namespace` (by `ns/*`, `*/*`), and who of the rest passes `test`."""
        out = self.everything | self.wholesale.get(namespace, set())
        out.update(n for n, scope in self.detailed if test(scope))
        return out


def read_scope(sidecar: Sidecar, namespace: str) -> Scope | None:
    if sidecar.egress_hosts is None:
        return None
    imported: dict[str, list[str]] = {}
    excluded: dict[str, list[str]] = {}
    for entry in sidecar.egress_hosts:
        if entry.count("/") != 1:
            continue  # pilot logs and skips it (the webhook rejects it first)
        ns, host = entry.split("/")
        table = imported
        if ns.startswith("~"):  # 1.31: `~ns/host` excludes
            ns, table = ns[1:] or "*", excluded
        if ns == ".":
            ns = namespace
        table.setdefault(ns, []).append(host)
    return Scope(
        sidecar,
        {k: tuple(v) for k, v in imported.items()},
        {k: tuple(v) for k, v in excluded.items()},
    )
