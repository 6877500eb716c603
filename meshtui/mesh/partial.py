"""Findings from a partial read: what the analysis may say when some kinds could not be read.

A finding that says something is missing ("no DestinationRule defines the subset", "no route
names it", "no workload carries the labels") is only true when every object of the kind it
looked for was read. When a source could not read that kind (403), the finding would be a
guess presented as a verdict, so it is withheld and counted instead. Findings about what was
read (a duplicate subset, two merged DestinationRules, an invalid field) stand.

Pure: kinds are plain names ("DestinationRule"), as sources report them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from meshtui.mesh.analysis import Analysis, HostAnalysis
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.frozen import frozen

EVERY_KIND = frozenset(
    {"DestinationRule", "VirtualService", "ServiceEntry", "Gateway", "Service", "Pod"}
)

# The kinds whose complete absence-or-presence a finding's verdict rests on.
DEPENDS_ON: dict[Code, frozenset[str]] = {
    # A route names a subset that no DestinationRule defines: needs every DestinationRule
    # (istioctl analyze's virtualservice/destinationrules.go looks the subset up in all of
    # them; pilot's cluster builder makes a subset cluster only from a DestinationRule read).
    # Which routes count for a client also depends on which VirtualService its sidecar uses.
    Code.UNDEFINED_SUBSET: frozenset({"DestinationRule", "VirtualService"}),
    # No route sends traffic to the subset: needs every VirtualService (pilot routes to a
    # subset cluster only from a VirtualService route, networking/core route building).
    # Which clients use the subset's DestinationRule, and whether a gateway a route binds
    # to exists, decide too.
    Code.SUBSET_POLICY_NEVER_APPLIED: frozenset({"VirtualService", "DestinationRule", "Gateway"}),
    # Which VirtualServices claim a host: needs them all.
    Code.CONFLICTING_VIRTUAL_SERVICES: frozenset({"VirtualService"}),
    Code.VIRTUAL_SERVICE_OVERRIDE: frozenset({"VirtualService"}),
    Code.GATEWAY_ROUTE_BYPASSES_SUBSETS: frozenset({"VirtualService"}),
    # A gateway that does not exist: needs every Gateway.
    Code.UNKNOWN_GATEWAY: frozenset({"Gateway"}),
    # About the rules of a VirtualService that was read.
    Code.UNREACHABLE_RULE: frozenset(),
    Code.INEFFECTIVE_MATCH: frozenset(),
    Code.DELEGATE_RULE_DROPPED: frozenset(),
    # No workload carries the subset's labels: needs the pods and the service's selector
    # (Kiali's business/checkers/destinationrules no_dest_checker matches them the same way).
    # The core already leaves it out where pods were not read in the service's namespace.
    Code.SUBSET_SELECTS_NOTHING: frozenset({"Pod", "Service"}),
    # About objects that were read: true whatever else exists.
    Code.DUPLICATE_SUBSET: frozenset(),
    Code.MULTIPLE_DESTINATION_RULES: frozenset(),
    Code.INVALID_RESOURCE: frozenset(),
    Code.PARSE_ERROR: frozenset(),
    # -- schema, references and analyzer parity (issue 10) --
    # About the resource alone (its schema, its TLS settings, its routes' weights).
    Code.UNKNOWN_FIELD: frozenset(),
    Code.DEPRECATED_FIELD: frozenset(),
    Code.NO_CA_CERTIFICATES: frozenset(),
    Code.NO_CA_CERTIFICATES_PORT: frozenset(),
    Code.SINGLE_DESTINATION_WEIGHT: frozenset(),
    Code.DUPLICATE_DESTINATION: frozenset(),
    Code.SUBSET_WITHOUT_LABELS: frozenset(),
    Code.INTERNAL_GATEWAY_REFERENCE: frozenset(),
    # A host or port that is no Service or ServiceEntry (istioctl's
    # util.InitServiceEntryHostMap reads both): needs them all.
    Code.UNKNOWN_HOST: frozenset({"Service", "ServiceEntry"}),
    Code.UNKNOWN_PORT: frozenset({"Service", "ServiceEntry"}),
    Code.DESTINATION_PORT_REQUIRED: frozenset({"Service", "ServiceEntry"}),
    Code.UNKNOWN_DESTINATION_RULE_HOST: frozenset({"Service", "ServiceEntry"}),
    Code.PORT_NOT_IN_SERVICE: frozenset({"Service", "ServiceEntry"}),
    # No server of the Gateway accepts the hosts: needs the Gateway.
    Code.HOST_NOT_IN_GATEWAY: frozenset({"Gateway"}),
    # -- issue 23 --
    # A field pilot ignores: about the resource alone.
    Code.IGNORED_FIELD: frozenset(),
    # The DestinationRules merged with this one: needs them all (pilot's mergeDestinationRule
    # keeps the first top-level trafficPolicy among every DR of the namespace for the host).
    Code.MERGED_POLICY_IGNORED: frozenset({"DestinationRule"}),
    # -- Gateway API routes (issue 21) --
    Code.ROUTE_WITHOUT_PARENT: frozenset(),
    Code.UNSUPPORTED_REF_KIND: frozenset(),
    # A parent or backend that does not exist: needs every object of its kind.
    Code.ROUTE_PARENT_NOT_FOUND: frozenset({"Service", "ServiceEntry", "KubernetesGateway"}),
    Code.BACKEND_NOT_FOUND: frozenset({"Service"}),
    Code.BACKEND_REF_NOT_PERMITTED: frozenset({"ReferenceGrant"}),
    Code.ROUTE_NOT_ADMITTED: frozenset({"KubernetesGateway"}),
    Code.VIRTUAL_SERVICE_ON_KUBERNETES_GATEWAY: frozenset({"KubernetesGateway"}),
    # Which route source each client uses for the host: needs every route of both APIs.
    Code.SUBSET_POLICY_BYPASSED: frozenset({"VirtualService", "HTTPRoute", "DestinationRule"}),
    Code.MIXED_ROUTE_SOURCES: frozenset({"VirtualService", "HTTPRoute"}),
    Code.ROUTE_CONDITION_FALSE: frozenset(),  # the controller's word on the route read
    # -- the client's data plane (issue 25) --
    # Which clients are ambient: the Namespaces' labels; the config they skip was read.
    Code.AMBIENT_WITHOUT_WAYPOINT: frozenset({"Namespace", "Service"}),
    Code.WAYPOINT_UNAVAILABLE: frozenset({"Service"}),
    Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE: frozenset({"Namespace", "VirtualService"}),
    # Which Sidecar a namespace has, and the Service's namespace it imports by.
    Code.SIDECAR_HIDES_ROUTED_HOST: frozenset({"Sidecar", "Service", "ServiceEntry"}),
    Code.SIDECAR_SELECTS_AMBIENT: frozenset({"Namespace", "Pod"}),
}


# The findings about the data plane itself (issue 25): judged on labels and Sidecars.
DATA_PLANE_CODES = (
    Code.AMBIENT_WITHOUT_WAYPOINT,
    Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE,
    Code.SIDECAR_HIDES_ROUTED_HOST,
    Code.SIDECAR_SELECTS_AMBIENT,
)


def depends_on(code: Code) -> frozenset[str]:
    """The kinds a finding of `code` needs read in full; a code not in the table (a new
    analyzer) is taken to need every kind, so it never speaks from a partial read."""
    return DEPENDS_ON.get(code, EVERY_KIND)


def plural_kind(kind: str) -> str:
    """`DestinationRule` -> `DestinationRules`, `ServiceEntry` -> `ServiceEntries`."""
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


@frozen
class Withheld:
    """Findings of one code left out because kinds they need could not be read; or, with
    `not_judged`, `count` subsets the check could not be run on at all."""

    code: Code
    count: int
    kinds: tuple[str, ...]
    reasons: tuple[str, ...]
    cluster: str | None = None
    not_judged: bool = False

    @property
    def message(self) -> str:
        missing = "; ".join(
            f"{plural_kind(k)} not readable ({r})" if r else f"{plural_kind(k)} not readable"
            for k, r in zip(self.kinds, self.reasons, strict=True)
        )
        where = f"{self.cluster}: " if self.cluster else ""
        if self.not_judged and not self.count:
            return f"{where}{self.code.value} not judged: {missing}"
        if self.not_judged:
            subsets = f"{self.count} subset{'s' if self.count != 1 else ''}"
            return f"{where}{self.code.value} not judged for {subsets}: {missing}"
        return (
            f"{where}{self.count} {self.code.value} finding{'s' if self.count != 1 else ''} "
            f"withheld (unknown): {missing}"
        )


def _blocked(code: Code, unread: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted(k for k in depends_on(code) if k in unread))


def withhold(
    findings: Iterable[Finding], unread: Mapping[str, str], cluster: str | None = None
) -> tuple[list[Finding], list[Withheld]]:
    """The findings that stand, and per code those withheld; `unread` maps a kind that could
    not be read to why (e.g. "forbidden cluster-wide (403)")."""
    findings = list(findings)
    if not unread:
        return findings, []
    kept: list[Finding] = []
    counts: dict[Code, int] = {}
    for f in findings:
        if _blocked(f.code, unread):
            counts[f.code] = counts.get(f.code, 0) + 1
        else:
            kept.append(f)
    notes = []
    for code, count in sorted(counts.items(), key=lambda item: item[0].value):
        kinds = _blocked(code, unread)
        notes.append(Withheld(code, count, kinds, tuple(unread[k] for k in kinds), cluster))
    return kept, notes


def withhold_analysis(
    analysis: Analysis, unread: Mapping[str, str]
) -> tuple[Analysis, list[Withheld]]:
    """`analysis` without the findings that depend on an unread kind (hosts, subsets and load
    findings alike). Without DestinationRules the subsets that routes name are not called
    undefined either: the tree would otherwise still say so."""
    if not unread:
        return analysis, []
    no_rules = "DestinationRule" in unread
    kinds = tuple(sorted(unread))
    hosts: dict[str, HostAnalysis] = {}
    every: list[Finding] = list(analysis.load_findings)
    unjudged = 0  # subsets whose pods were not read: SubsetSelectsNothing was not checked
    for name, host in analysis.hosts.items():
        every += host.findings
        kept, _ = withhold(host.findings, unread)
        subsets = tuple(
            replace(s, findings=tuple(withhold(s.findings, unread)[0])) for s in host.subsets
        )
        unjudged += sum(1 for s in host.subsets if s.workloads is None)
        hosts[name] = replace(
            host,
            findings=tuple(kept),
            subsets=subsets,
            undefined_subsets=() if no_rules else host.undefined_subsets,
            unread=kinds,
        )
    load, _ = withhold(analysis.load_findings, unread)
    _, notes = withhold(every, unread, analysis.cluster)
    for code in DATA_PLANE_CODES:
        blocked = _blocked(code, unread)
        if {"Namespace", "Sidecar"} & set(blocked) and not any(n.code is code for n in notes):
            # Who is ambient, or which Sidecar scopes a client, is unknown: the check ran on
            # clients taken to have sidecars, so its silence is no verdict either.
            reasons = tuple(unread[k] for k in blocked)
            notes.append(Withheld(code, 0, blocked, reasons, analysis.cluster, True))
    blocked = _blocked(Code.SUBSET_SELECTS_NOTHING, unread)
    if "Pod" in blocked and unjudged:
        # The core does not run this check where no pod was read: nothing to withhold, but
        # its silence is no verdict either.
        reasons = tuple(unread[k] for k in blocked)
        notes.append(
            Withheld(
                Code.SUBSET_SELECTS_NOTHING, unjudged, blocked, reasons, analysis.cluster, True
            )
        )
    return replace(analysis, hosts=hosts, load_findings=tuple(load)), notes
