"""The checks of each resource against the rest of the mesh, run and kept between analyses.

What istioctl analyze's analyzers (pkg/config/analysis/analyzers) and Kiali's checkers
(business/checkers) say about DestinationRules (destination_rule_checks.py) and
VirtualServices (virtual_service_checks.py), against the hosts that exist (registry.py), plus
what the schema and Istio's webhook found in any resource. Each finding names its resource,
field and host, so the analysis can hang it on the host it concerns; :func:`check_mesh` keeps
them per resource and re-checks only what changed, and :class:`Completed` merges them into the
hosts' analyses with suppression applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.mesh.destination_rule_checks import destination_rule_findings, rule_host
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.model import HostAnalysis
from meshtui.mesh.registry import Registry, registry
from meshtui.mesh.resources import (
    DestinationRule,
    ObjectRef,
    Path,
    Resource,
    VirtualService,
    format_path,
)
from meshtui.mesh.suppress import SuppressRule, is_suppressed
from meshtui.mesh.virtual_service_checks import virtual_service_findings
from meshtui.mesh.virtual_services import unknown_gateways
from meshtui.mesh.webhook import INTERNAL_GATEWAY, STORED


@dataclass
class CheckState:
    """The checks' findings kept between analyses, per resource and per host."""

    version: int
    registry: Registry
    resources: dict[ObjectRef, tuple[object, list[Finding]]] = field(default_factory=dict)
    refs: dict[str | None, set[ObjectRef]] = field(default_factory=lambda: defaultdict(set))
    by_host: dict[str | None, list[Finding]] = field(default_factory=dict)

    def _ordered(self, host: str | None) -> list[Finding]:
        found = [
            f for ref in self.refs.get(host, ()) for f in self.resources[ref][1] if f.host == host
        ]
        found.sort(key=_order)
        return found

    def _keep(self, ref: ObjectRef, resource: object, found: list[Finding]) -> None:
        self.resources[ref] = (resource, found)
        for f in found:
            self.refs[f.host].add(ref)


def _order(f: Finding) -> tuple[Any, ...]:
    # One order whichever resource was read or changed last: a full and an incremental
    # analysis list a host's findings alike.
    return (*f.sort_key(), str(f.resource or ""), f.file or "", f.line or 0, f.path)


def check_mesh(
    mesh: MeshIndex,
) -> tuple[Mapping[str | None, list[Finding]], set[str | None] | None]:
    """Every finding of the rules below, over every DestinationRule and VirtualService, by
    host (None: no host), and the hosts whose findings changed since the last call (None: any
    may have).

    A resource's findings depend on it and on the Services, ServiceEntries and Gateways
    only, so they are kept per resource until one of those changes, and only the resources
    added, replaced or removed since the last call are checked again (a live mesh
    re-analyses on every watch event, a followed folder on every save)."""
    touched = mesh.take_touched()
    state = mesh.check_state
    if not isinstance(state, CheckState) or state.version != mesh.registry_version:
        state = CheckState(mesh.registry_version, registry(mesh))
        rejected = [r for r in mesh._resources.values() if _checked_alone(r)]
        native = (vs for vs in mesh.routes if not vs.gateway_semantics)  # gateway_api.py checks
        for resource in (*mesh.destination_rules, *native, *rejected):
            state._keep(resource.meta.ref, resource, _check(mesh, resource, state.registry))
        state.by_host = {host: state._ordered(host) for host in state.refs}
        mesh.check_state = state
        return state.by_host, None
    changed: set[str | None] = set()
    for ref in touched:
        resource = mesh.get(ref)
        kept = state.resources.get(ref)
        if kept is not None and kept[0] is resource:
            continue
        if kept is not None:
            state.resources.pop(ref)
            for f in kept[1]:
                changed.add(f.host)
                state.refs[f.host].discard(ref)
        if isinstance(resource, DestinationRule | VirtualService) or (
            resource is not None and _checked_alone(resource)
        ):  # else removed, or unchecked
            found = _check(mesh, resource, state.registry)
            state._keep(ref, resource, found)
            changed.update(f.host for f in found)
    for host in changed:
        found = state._ordered(host)
        if found:
            state.by_host[host] = found
        else:
            state.by_host.pop(host, None)
            state.refs.pop(host, None)
    return state.by_host, changed


def _checked_alone(resource: Resource) -> bool:
    """A resource checked here though the analysis does not index it (rejected), or that is
    not a DestinationRule or VirtualService but has issues of its own (a ServiceEntry)."""
    if resource.meta.rejected is not None:
        return True
    return not isinstance(resource, DestinationRule | VirtualService) and bool(resource.meta.issues)


def _check(mesh: MeshIndex, resource: Resource, known: Registry) -> list[Finding]:
    found = _checks(mesh, resource, known)
    if resource.meta.rejected is None:
        return found
    # A rejected resource is read without its rejected fields (or the list entries holding
    # them): what is said about such a field, what holds it, the list an entry left out was
    # in, or the weights of its other entries (a subset whose labels were dropped has "no
    # labels", a route left with one destination "gives it all the traffic") would be about
    # the reading, not what was written. The other entries' own references stand (an unknown
    # host beside a destination left out). A generated gateway's name is rejected, and
    # IST0165 says why: it stays.
    return _rejection(resource) + [
        f
        for f in found
        if len(f.path) < 2
        or f.code is Code.INTERNAL_GATEWAY_REFERENCE
        or not any(_about_reading(f.path, p) for p in resource.meta.left_out)
    ]


def _about_reading(path: Path, left_out: Path) -> bool:
    """Whether a finding at `path` is about how the resource was read without `left_out`."""
    if _holds(path, left_out):
        return True
    if not isinstance(left_out[-1], int):
        return False
    entries = left_out[:-1]
    return path[: len(entries)] == entries and (
        len(path) <= len(entries) or "weight" in path[len(entries) :]
    )


def _checks(mesh: MeshIndex, resource: Resource, known: Registry) -> list[Finding]:
    if not isinstance(resource, DestinationRule | VirtualService):
        return _schema_findings(resource, None)
    if isinstance(resource, DestinationRule):
        found = _schema_findings(resource, rule_host(mesh, resource))
        return found + destination_rule_findings(mesh, resource, known)
    found = _schema_findings(resource, None) + virtual_service_findings(mesh, resource, known)
    if resource.meta.rejected is not None and mesh.gateways_known:
        # The analysis reads only the VirtualServices Istio accepts; the gateways a rejected
        # one binds to are checked here (they change the registry's version).
        found += unknown_gateways(resource, mesh.gateways, None)
    return found


def _holds(a: Path, b: Path) -> bool:
    """Whether one field path holds the other (or they are the same field)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _rejection(resource: Resource) -> list[Finding]:
    """InvalidResource for a resource the API server or Istio's webhook rejects: Istio never
    sees it. The rest of it is checked as any other (a fix of the rejected field must not
    bring the next finding to light only then)."""
    rejected = resource.meta.rejected
    if rejected is None:
        return []
    where = format_path(rejected.path)
    return [
        Finding(
            Code.INVALID_RESOURCE,
            f"{rejected.ref} is ignored: " + " ".join(p for p in (where, rejected.message) if p),
            resource=rejected.ref,
            origin=rejected.origin,
            path=rejected.path,
        )
    ]


def _schema_findings(resource: Resource, host: str | None) -> list[Finding]:
    codes = {
        "UnknownField": Code.UNKNOWN_FIELD,
        "DeprecatedField": Code.DEPRECATED_FIELD,
        "IgnoredField": Code.IGNORED_FIELD,
        INTERNAL_GATEWAY: Code.INTERNAL_GATEWAY_REFERENCE,
        STORED: Code.INVALID_RESOURCE,
    }
    stored = (
        "; the resource is stored in the cluster and pilot applies it as it is, but applying "
        "it again fails"
    )
    return [
        Finding(
            codes[issue.code],
            f"{resource.meta.ref}: {_field(issue.path)} {issue.message}"
            + (stored if issue.code == STORED else ""),
            host=host,
            resource=resource.meta.ref,
            origin=resource.meta.origin,
            path=issue.path,
        )
        for issue in resource.meta.issues
        if issue.code in codes
    ]


def _field(path: Path) -> str:
    return format_path(path)


class Completed:
    """Every host's analysis with the checks' findings added and what the suppression rules
    and annotations take out removed: kept between analyses, so that a change completes
    again only the hosts it touched."""

    def __init__(self, rules: tuple[SuppressRule, ...]) -> None:
        self.rules = rules
        self.known: set[str] = set()  # every host of the mesh, with an analysis or not
        self.hosts: dict[str, HostAnalysis] = {}  # in host order
        self.suppressed: dict[str, list[Finding]] = {}

    def put(
        self,
        mesh: MeshIndex,
        host: str,
        analysis: HostAnalysis | None,
        checks: Mapping[str | None, list[Finding]],
    ) -> None:
        """Set one host's analysis (None: the host has none) from the core and the checks."""
        self.suppressed.pop(host, None)
        if analysis is None:
            self.hosts.pop(host, None)
            return
        extra = checks.get(host)
        if extra:
            merged = sorted((*analysis.findings, *extra), key=Finding.sort_key)
            analysis = replace(analysis, findings=tuple(merged))
        if self.rules or mesh.has_suppress_annotations():
            kept, out = _suppress(mesh, analysis.findings)
            if out:
                self.suppressed[host] = out
                analysis = replace(analysis, findings=tuple(kept))
        self.hosts[host] = analysis

    def loose(
        self,
        mesh: MeshIndex,
        load: Iterable[Finding],
        checks: Mapping[str | None, list[Finding]],
        owns: Callable[[str | None], bool] | None = None,
    ) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
        """The findings of no host's analysis (loading, checks of hosts the mesh does not
        analyse), and every suppressed finding, hosts' first. `owns`: which hosts' checks
        (None: of no host) are this analysis's to report (one share's, Mesh.analyze)."""
        loose = list(load)
        if owns is None or owns(None):
            loose += checks.get(None, ())
        for host, found in checks.items():
            if host is not None and host not in self.hosts and (owns is None or owns(host)):
                loose += found
        suppressed = [f for host in sorted(self.suppressed) for f in self.suppressed[host]]
        if self.rules or mesh.has_suppress_annotations():
            loose, out = _suppress(mesh, loose)
            suppressed += out
        return tuple(loose), tuple(suppressed)


def _suppress(mesh: MeshIndex, findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """The findings kept and those the mesh's rules or its resources' annotations suppress."""

    def annotations_of(ref: ObjectRef) -> Mapping[str, str] | None:
        resource = mesh.get(ref)
        return resource.meta.annotations if resource is not None else None

    kept: list[Finding] = []
    out: list[Finding] = []
    for f in findings:
        (out if is_suppressed(f, mesh.suppress_rules, annotations_of) else kept).append(f)
    return kept, out
