"""Routing expectations (`meshtui test`): a request and what must happen to it, checked with
the trace engine, which reads the same routing table as every view.

The file format is documented in docs/expectations.md with a JSON schema
(docs/expectations.schema.json); meshtui.sources.expectations reads it with line numbers.
Here: the parsed case, and how one is checked against a mesh. Pure: no I/O, no YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.frozen import frozen
from meshtui.mesh.trace import (
    Trace,
    TraceError,
)
from meshtui.mesh.trace_request import written_request

# What a case may expect, in the order they are checked and reported.
EXPECT_KEYS = (
    "virtualService",
    "rule",
    "subset",
    "destinations",
    "timeout",
    "retries",
    "policy",
    "fails",
)
REQUEST_KEYS = ("from", "gateway", "to", "method", "path", "headers")


@frozen
class Case:
    """One request and its expectations; `lines` says where each key was written."""

    name: str
    request: Mapping[str, Any]
    expect: Mapping[str, Any]
    file: str = ""
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict)  # "expect.subset" -> its line


@frozen
class Mismatch:
    """An expectation that does not hold: what was expected, what the trace says."""

    key: str
    expected: Any
    actual: Any
    line: int = 0


@frozen
class CaseResult:
    case: Case
    trace: Trace | None
    mismatches: tuple[Mismatch, ...] = ()
    error: str = ""  # the request could not be traced (no such workload, ambiguous port)

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.error


def _trace(mesh: Mesh, request: Mapping[str, Any]) -> Trace:
    """The trace of a case's request, as `meshtui trace` would make it."""
    return written_request(
        mesh,
        to=str(request["to"]),
        client=str(request.get("from") or ""),
        gateway=str(request.get("gateway") or ""),
        path=str(request.get("path") or "/"),
        method=str(request.get("method") or "GET"),
        headers={str(k): str(v) for k, v in (request.get("headers") or {}).items()},
    )


def contains(actual: Any, expected: Any) -> bool:
    """Whether `actual` holds what `expected` says: mappings need only the keys written,
    everything else is equal (a number written as a string compares as text)."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, str) and not isinstance(actual, str) and actual is not None:
        return str(actual) == expected
    return bool(actual == expected)


def _hops(t: Trace, policy: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "host": h.host,
            "subset": h.subset or None,
            "weight": h.weight,
            **({"policy": h.policy.as_dict()} if policy else {}),
        }
        for h in t.destinations
        if h.weight > 0
    ]


def _check(t: Trace, key: str, expected: Any) -> tuple[bool, Any]:
    """Whether the trace satisfies `expected` for `key`, and what it has there."""
    if key == "virtualService":
        actual = t.virtual_service.namespaced_name if t.virtual_service else None
        return actual == expected, actual
    if key == "rule":
        shown = f"{t.rule} {t.rule_name!r}" if t.rule_name else t.rule
        return expected in (t.rule, t.rule_name or None), shown
    if key == "subset":
        hops = _hops(t)
        ok = len(hops) == 1 and hops[0]["subset"] == expected and hops[0]["weight"] == 100
        return ok, hops
    if key == "destinations":
        hops = _hops(t, policy=any("policy" in d for d in expected))
        wanted = sorted(expected, key=lambda d: (str(d.get("subset")), d.get("weight", 0)))
        got = sorted(hops, key=lambda d: (str(d["subset"]), d["weight"]))
        return contains(got, wanted), hops
    if key in ("timeout", "retries"):
        actual = t.actions.get(key)
        return contains(actual, expected), actual
    if key == "policy":
        policies = [h.policy.as_dict() for h in t.destinations if h.weight > 0]
        return bool(policies) and all(contains(p, expected) for p in policies), policies
    if key == "fails":
        problems = list(t.problems)
        if isinstance(expected, str):
            return any(expected in p for p in problems), problems
        return bool(problems) == bool(expected), problems
    raise KeyError(key)


_MISSING = object()


def check_case(mesh: Mesh, case: Case) -> CaseResult:
    """Trace the case's request and hold it against each expectation. Unless it says
    `fails`, a case expects the request to get through."""
    try:
        t = _trace(mesh, case.request)
    except TraceError as err:
        return CaseResult(case, None, error=str(err))
    mismatches = []
    expect = dict(case.expect)
    expect.setdefault("fails", False)
    for key in EXPECT_KEYS:
        expected = expect.get(key, _MISSING)
        if expected is _MISSING:
            continue
        ok, actual = _check(t, key, expected)
        if not ok:
            line = case.lines.get(f"expect.{key}", case.line)
            mismatches.append(Mismatch(key, expected, actual, line))
    return CaseResult(case, t, tuple(mismatches))
