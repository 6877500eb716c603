"""Verification of a fix: applied to a small copy of the mesh, and the copy re-analysed.

The copy holds only the resources that decide the host's analysis, so verifying stays cheap
at any mesh size. A fix passes if the finding is gone, no new error or
SubsetPolicyNeverApplied appears on the hosts it touches, no second VirtualService claims the
host (sidecars drop all but the oldest: pilot/pkg/networking/core/httproute.go, "duplicate
domain"; istioctl IST0109), and a dormant subset policy is in force afterwards on every port.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from meshtui.mesh.analysis import HostAnalysis, Mesh
from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.fix import Fix
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import matches, resolve_host
from meshtui.mesh.policy import EffectivePolicy, Level
from meshtui.mesh.resources import (
    InvalidField,
    ObjectRef,
    Origin,
    Resource,
    VirtualService,
    parse_object,
)
from meshtui.mesh.routes import MESH_GATEWAY, gateway_ref, visible_anywhere
from meshtui.mesh.routing import claiming


def contains(have: Any, want: Any) -> bool:
    """Whether every leaf of `want` is in `have` with the same value."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(
            k in have and contains(have[k], v) for k, v in want.items()
        )
    return have == want


def claimed_hosts(vs: VirtualService, domain: str) -> list[str]:
    """The hosts a VirtualService claims for sidecars (mesh-bound and visible somewhere)."""
    if vs.gateways and MESH_GATEWAY not in vs.gateways:
        return []
    if not vs.hosts or not visible_anywhere(vs):
        return []
    return [resolve_host(h, vs.meta.ref.namespace, domain) for h in vs.hosts]


def _key(f: Finding) -> tuple[str, str, str, str]:
    return (f.code.value, f.host or "", f.subset or "", str(f.resource or ""))


def _serious(findings: Iterable[Finding]) -> Counter[tuple[str, str, str, str]]:
    return Counter(
        _key(f)
        for f in findings
        if f.severity is Severity.ERROR or f.code is Code.SUBSET_POLICY_NEVER_APPLIED
    )


class Verifier:
    """Applies fixes to a small copy of the mesh (the host's resources) and re-analyses it.

    One copy per finding: each candidate's resources are added to it (the mesh re-analyses
    only the hosts they touch), compared with the analysis before, and taken out again.
    """

    def __init__(
        self,
        mesh: Mesh,
        host: HostAnalysis,
        finding: Finding,
        claimants: Iterable[VirtualService] = (),
    ) -> None:
        self.mesh = mesh
        self.host = host
        self.finding = finding
        self.scope = self._scope(claimants)
        self.small = Mesh(mesh.config)
        if host.workloads is not None and host.namespace:
            self.small.workloads.mark_known([host.namespace])
        self.small.load(self.scope.values())
        self.before = {h: a for h, a in self.small.analyze().hosts.items()}
        self.before_claims = len(_claimants(self.small, host.host))

    def _scope(self, claimants: Iterable[VirtualService]) -> dict[ObjectRef, Resource]:
        """The resources that decide the host's analysis: its service and workloads, every
        DestinationRule for it, the VirtualServices that route or claim it, their gateways."""
        mesh = self.mesh
        host = self.host.host
        out: dict[ObjectRef, Resource] = {}

        def put(resource: Resource | None) -> None:
            if resource is not None:
                out[resource.meta.ref] = resource

        put(self.host.service)
        for w in self.host.workloads or ():
            put(w)
        for dr in mesh.destination_rules.matching(host):
            put(dr)
        named = (*self.host.routes, *self.host.dropped_routes)
        refs = {r.virtual_service for r in named}
        refs |= {r.delegate for r in named if r.delegate}
        for ref in refs:
            put(mesh.routes.get(ref))
        for vs in claimants:
            put(vs)
        # Which of these VirtualServices a client uses for its own hosts depends on the others
        # claiming those hosts: without them the copy could route where the mesh does not.
        for resource in list(out.values()):
            if isinstance(resource, VirtualService):
                for claimed in mesh.routes.hosts_of(resource):
                    for vs in claiming(mesh.routes, claimed):
                        put(vs)
        # Who applies what: a fix must carry traffic for the clients' own proxies.
        plane = mesh.dataplane
        for r in (*plane.namespaces.values(), *plane.sidecars.values(), *plane.waypoints.values()):
            put(r)
        for resource in list(out.values()):
            if isinstance(resource, VirtualService):
                for g in resource.gateways:
                    gw = gateway_ref(g, resource.meta.ref.namespace)
                    put(mesh.gateways.get(gw) if gw else None)
        return out

    def passes(self, fix: Fix) -> bool:
        replaced: dict[ObjectRef, Resource] = {}
        for fr in fix.resources:
            parsed = parse_object(fr.object, fr.origin or Origin())
            if (
                parsed is None
                or isinstance(parsed, InvalidField)
                or parsed.meta.rejected is not None
            ):
                return False
            if fr.replaces is not None and parsed.meta.ref != fr.replaces:
                return False
            replaced[parsed.meta.ref] = parsed
        originals = {ref: self.small.get(ref) for ref in replaced}
        affected = {self.host.host}
        for resource in replaced.values():
            affected |= self.small.add(resource)
        try:
            return self._judge(affected)
        finally:
            for ref, original in originals.items():
                if original is None:
                    self.small.remove(ref)
                else:
                    self.small.add(original)

    def _judge(self, affected: set[str]) -> bool:
        after = self.small
        findings = [g for h in sorted(affected) for g in (after.analyze_host(h) or _NONE).findings]
        f = self.finding
        gone = not any(
            g.code is f.code
            and g.host == f.host
            and g.subset == f.subset
            and g.resource == f.resource
            and (g.path == f.path or f.code is Code.SUBSET_POLICY_NEVER_APPLIED)
            for g in findings
        )
        if not gone:
            return False
        before = _serious(g for h in affected if h in self.before for g in self.before[h].findings)
        now = _serious(findings)
        if any(n > before[k] for k, n in now.items()):
            return False
        if len(_claimants(after, self.host.host)) > max(self.before_claims, 1):
            return False
        if f.code is Code.SUBSET_POLICY_NEVER_APPLIED:
            return self._policy_in_force(after)
        return True

    def _policy_in_force(self, after: Mesh) -> bool:
        """The dormant subset's own fields are in force afterwards on every port: for the
        subset's traffic if a route now carries it, else for the host's default traffic."""
        subset = self.host.subset(self.finding.subset or "")
        now = after.analyze_host(self.host.host)
        if subset is None or now is None:
            return False
        later = now.subset(subset.name)
        routed = later is not None and later.routed
        wanted: list[tuple[int | None, EffectivePolicy]] = [(None, subset.policy)]
        wanted += list(subset.ports.items())
        for port, policy in wanted:
            if routed and later is not None:
                have = later.policy if port is None else later.ports.get(port)
            else:
                have = now.policy if port is None else now.port_policies.get(port)
            if have is None:
                return False
            for field in policy.fields:
                if field.level not in (Level.SUBSET, Level.SUBSET_PORT):
                    continue
                if not contains(have.get(field.name).value, field.value):
                    return False
        return True


@frozen
class _NoHost:
    findings: tuple[Finding, ...] = ()


_NONE = _NoHost()


def _claimants(mesh: Mesh, host: str) -> list[VirtualService]:
    domain = mesh.config.domain
    return [vs for vs in mesh.routes if any(matches(host, p) for p in claimed_hosts(vs, domain))]
