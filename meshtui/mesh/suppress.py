"""Suppressing findings as istioctl analyze does, counted rather than silently dropped.

Two ways, both istioctl's: the `galley.istio.io/analyze-suppress` annotation on a resource (a
comma-separated list of codes, or `*`), and `--suppress "CODE=Kind namespace/name"` rules
(istioctl's `Kind name.namespace` form is read too, and `CODE=*` for every resource). A code
is meshtui's (`UnknownHost`) or istioctl's (`IST0101`); the code, kind and name may hold `*`
wildcards. A code no finding has is refused (istioctl only warns; a misspelt code would
suppress nothing while the user believes it does).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase

from meshtui.mesh.findings import RULES, Finding
from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import SUPPRESS_ANNOTATION, ObjectRef


@frozen
class SuppressRule:
    """One `--suppress` rule: a code pattern and a resource pattern."""

    code: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str) -> SuppressRule:
        """`CODE=Kind namespace/name`, or `CODE=*` for every resource (as istioctl's glob
        over `Kind name.namespace` reads it); raises ValueError naming what is wrong,
        an unknown code included (a misspelt code would suppress nothing)."""
        code, eq, resource = text.partition("=")
        code = code.strip()
        kind, _, name = resource.strip().partition(" ")
        name = name.strip()
        if eq and code and kind == "*" and not name:
            name = "*/*"
        if not eq or not code or not kind or not name:
            raise ValueError(
                f"--suppress {text!r}: expected CODE=Kind namespace/name, e.g. "
                '"IST0101=VirtualService default/reviews", or CODE=* for every resource '
                "(wildcards * allowed)"
            )
        known = known_codes()
        if not any(fnmatchcase(c, code) for c in known):
            near = difflib.get_close_matches(code, sorted(known), n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise ValueError(
                f"--suppress {text!r}: no finding has code {code!r}{hint} (a meshtui code such "
                "as UnknownHost, or an istioctl code such as IST0101; see the findings table "
                "in the README)"
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


def known_codes() -> set[str]:
    """Every code a finding can carry: meshtui's and the istioctl codes they stand for."""
    return {c.value for c in RULES} | {r.istio for r in RULES.values() if r.istio}


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
