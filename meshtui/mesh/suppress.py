"""Suppressing findings as istioctl analyze does, counted rather than silently dropped.

Two ways, both istioctl's: the `galley.istio.io/analyze-suppress` annotation on a resource (a
comma-separated list of codes, or `*`), and `--suppress "CODE=Kind namespace/name"` rules
(istioctl's `Kind name.namespace` form is read too). A code is meshtui's (`UnknownHost`) or
istioctl's (`IST0101`); the code, kind and name may hold `*` wildcards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import SUPPRESS_ANNOTATION, ObjectRef


@dataclass(frozen=True, slots=True)
class SuppressRule:
    """One `--suppress` rule: a code pattern and a resource pattern."""

    code: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str) -> SuppressRule:
        """`CODE=Kind namespace/name`; raises ValueError naming what is wrong."""
        code, eq, resource = text.partition("=")
        kind, _, name = resource.strip().partition(" ")
        name = name.strip()
        if not eq or not code.strip() or not kind or not name:
            raise ValueError(
                f"--suppress {text!r}: expected CODE=Kind namespace/name, e.g. "
                '"IST0101=VirtualService default/reviews" (wildcards * allowed)'
            )
        if "/" in name:
            namespace, _, short = name.partition("/")
        elif "." in name:  # istioctl's `name.namespace`
            short, _, namespace = name.rpartition(".")
        else:
            namespace, short = "*", name
        return cls(code.strip(), kind, namespace, short)

    def matches(self, finding: Finding) -> bool:
        codes = [finding.code.value] + ([finding.istio] if finding.istio else [])
        if not any(fnmatchcase(c, self.code) for c in codes):
            return False
        ref = finding.resource
        if ref is None:
            return self.kind == "*" and self.namespace == "*" and self.name == "*"
        return (
            fnmatchcase(ref.kind, self.kind)
            and fnmatchcase(ref.namespace, self.namespace)
            and fnmatchcase(ref.name, self.name)
        )


def annotated_codes(annotations: Mapping[str, str] | None) -> set[str]:
    """The codes a resource's analyze-suppress annotation names (`*` for every code)."""
    value = (annotations or {}).get(SUPPRESS_ANNOTATION, "")
    return {c.strip() for c in value.split(",") if c.strip()}


def is_suppressed(
    finding: Finding,
    rules: Iterable[SuppressRule],
    annotations_of: Callable[[ObjectRef], Mapping[str, str] | None],
) -> bool:
    """Whether a rule or the annotation on the finding's own resource suppresses it."""
    if any(rule.matches(finding) for rule in rules):
        return True
    if finding.resource is None:
        return False
    codes = annotated_codes(annotations_of(finding.resource))
    return bool(codes) and ("*" in codes or finding.code.value in codes or finding.istio in codes)
