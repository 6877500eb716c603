"""Findings: what meshtui tells a person about their traffic policy, with stable codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from meshtui.mesh.resources import ObjectRef, Origin, Path, format_path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Code(StrEnum):
    SUBSET_POLICY_NEVER_APPLIED = "SubsetPolicyNeverApplied"
    UNDEFINED_SUBSET = "UndefinedSubset"
    SUBSET_SELECTS_NOTHING = "SubsetSelectsNothing"
    DUPLICATE_SUBSET = "DuplicateSubset"
    MULTIPLE_DESTINATION_RULES = "MultipleDestinationRules"
    INVALID_RESOURCE = "InvalidResource"
    PARSE_ERROR = "ParseError"


SEVERITY = {
    Code.SUBSET_POLICY_NEVER_APPLIED: Severity.WARNING,
    Code.UNDEFINED_SUBSET: Severity.ERROR,
    Code.SUBSET_SELECTS_NOTHING: Severity.WARNING,
    Code.DUPLICATE_SUBSET: Severity.WARNING,
    Code.MULTIPLE_DESTINATION_RULES: Severity.INFO,
    Code.INVALID_RESOURCE: Severity.ERROR,
    Code.PARSE_ERROR: Severity.ERROR,
}

# One line a person can act on, shown in `check -o text`, SARIF rule help and the TUI.
EXPLANATION = {
    Code.SUBSET_POLICY_NEVER_APPLIED: (
        "Istio applies a subset's trafficPolicy only to traffic that a route sends to that "
        "subset; with no such route, default routing goes to the whole service and the "
        "subset's policy is dead config."
    ),
    Code.UNDEFINED_SUBSET: (
        "A route names a subset that no DestinationRule for that host defines; Istio has no "
        "cluster for it and requests fail with 503 (no healthy upstream)."
    ),
    Code.SUBSET_SELECTS_NOTHING: (
        "No workload of the service carries all of the subset's labels, so traffic routed to "
        "the subset has no endpoints."
    ),
    Code.DUPLICATE_SUBSET: (
        "Several merged DestinationRules define a subset of the same name; Istio keeps the "
        "first and ignores the others."
    ),
    Code.MULTIPLE_DESTINATION_RULES: (
        "Several DestinationRules for one host were merged: subsets are concatenated and the "
        "top-level trafficPolicy of the first one that has one wins."
    ),
    Code.INVALID_RESOURCE: "The resource has a field of the wrong type; Istio would reject it.",
    Code.PARSE_ERROR: "The file could not be read as YAML or JSON.",
}


@dataclass(frozen=True, slots=True)
class Finding:
    code: Code
    message: str
    host: str | None = None
    subset: str | None = None
    resource: ObjectRef | None = None
    origin: Origin | None = None
    path: Path = ()  # the field within the resource, for sources that can locate it

    @property
    def field(self) -> str | None:
        return format_path(self.path) if self.path else None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.code]

    @property
    def file(self) -> str | None:
        return self.origin.file if self.origin else None

    @property
    def line(self) -> int | None:
        return self.origin.line if self.origin else None

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (
            -self.severity.rank,
            self.host or "",
            self.subset or "",
            self.code.value,
            self.message,
        )


def reaches(severity: Severity, threshold: Severity) -> bool:
    return severity.rank >= threshold.rank
