"""Suggested fixes for findings, each verified by re-analysis before it is offered.

A fix is the whole objects as they would be after it (ready for `kubectl apply`), each naming
the existing resource it replaces. Before a fix is offered, it is applied to an in-memory copy
of the resources that matter for the host (mesh/fix_verify.py: a small :class:`Mesh`, the
fixed objects read back with :func:`parse_object`) and the copy is analysed again: the fix is
kept only if the finding
is gone, no new error or SubsetPolicyNeverApplied appears, no second VirtualService claims the
host, and, for a dormant subset policy, that policy is in force afterwards on every port where
the subset would have used it.

Each kind of fix lives in its own module: fix_host_level (move a dormant subset policy to the
host level), fix_routes (route traffic to the subset), fix_subsets (an undefined subset, a
subset that selects no pod). This module asks them and keeps what the verifier proves.
"""

from __future__ import annotations

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.fix import Fix
from meshtui.mesh.fix_context import DEFAULT_WEIGHT, FixContext, RawLookup
from meshtui.mesh.fix_host_level import move_to_host_level
from meshtui.mesh.fix_routes import route_fixes
from meshtui.mesh.fix_subsets import select_workloads, undefined_subset_fixes
from meshtui.mesh.fix_verify import Verifier, claimed_hosts
from meshtui.mesh.resources import VirtualService
from meshtui.mesh.routing import claiming

__all__ = ["DEFAULT_WEIGHT", "Fixer", "fixes_for"]


class Fixer(FixContext):
    """Fixes for the findings of one mesh: each kind of fix (fix_host_level, fix_routes,
    fix_subsets) proposes, the verifier (fix_verify) keeps what re-analysis proves."""

    def virtual_services_for(self, host: str) -> list[VirtualService]:
        """Mesh-bound VirtualServices whose `hosts` claim `host`, the one in force first."""
        domain = self.mesh.config.domain
        found = [
            vs
            for vs in claiming(self.mesh.routes, host)
            # One generated from a Gateway API route is not editable.
            if not vs.gateway_semantics and claimed_hosts(vs, domain)
        ]
        # pilot's sortMergedVirtualServicesByCreationTime: the oldest wins a host.
        return sorted(found, key=_vs_order)

    # -- the entry point -----------------------------------------------------------------

    def fixes_for(self, finding: Finding) -> list[Fix]:
        """The verified fixes for a finding, the safest first; [] when none passes."""
        if not finding.host or not finding.subset:
            return []
        host = self.mesh.analyze_host(finding.host)
        if host is None:
            return []
        candidates: list[Fix] = []
        subset = host.subset(finding.subset)
        if finding.code is Code.SUBSET_POLICY_NEVER_APPLIED and subset is not None:
            candidates += route_fixes(self, host, subset)
            move = move_to_host_level(self, host, subset)
            candidates += [move] if move else []
        elif finding.code is Code.UNDEFINED_SUBSET:
            candidates += undefined_subset_fixes(self, host, finding)
        elif finding.code is Code.SUBSET_SELECTS_NOTHING and subset is not None:
            fix = select_workloads(self, host, subset)
            candidates += [fix] if fix else []
        verifier = Verifier(self.mesh, host, finding, self.virtual_services_for(host.host))
        return [fix for fix in candidates if verifier.passes(fix)]


def _vs_order(vs: VirtualService) -> tuple[str, str, str]:
    return (vs.meta.creation_timestamp, vs.meta.ref.name, vs.meta.ref.namespace)


def fixes_for(
    finding: Finding, mesh: Mesh, raw: RawLookup | None = None, weight: int = DEFAULT_WEIGHT
) -> list[Fix]:
    """The verified fixes for one finding (a :class:`Fixer` serves many at once)."""
    return Fixer(mesh, raw, weight).fixes_for(finding)
