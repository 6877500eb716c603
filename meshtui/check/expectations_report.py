"""`meshtui test FILE [PATH]`: routing expectations checked with the trace engine, reported
like a test runner (one line per case, what happened for a failure), as JSON, or as JUnit XML
for CI.

Exit status: 0 every case passes, 1 one fails, 2 the file or the input could not be read (a
mistake in the file is reported as file:line).
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, TextIO

from meshtui.check.report import render_json
from meshtui.check.trace_report import to_json as trace_json
from meshtui.mesh.analysis import Mesh
from meshtui.mesh.expect import Case, CaseResult, check_case
from meshtui.mesh.printable import printable
from meshtui.mesh.trace import Trace, prepare
from meshtui.sources.arguments import add_source_arguments, build_source

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD = 2


def _json_value(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value


def _happened(t: Trace | None) -> str:
    """One line of what the request got: the rule, where it went, whether it failed."""
    if t is None:
        return ""
    rule = (
        f"{t.virtual_service.namespaced_name} {t.rule}"
        if t.virtual_service and t.rule
        else "the default route"
        if t.default_route
        else "no rule"
    )
    hops = (
        ", ".join(f"{h.subset or h.host} {h.weight}%" for h in t.destinations if h.weight > 0)
        or "nowhere"
    )
    fails = f"; fails: {'; '.join(t.problems)}" if t.problems else ""
    return f"{rule} → {hops}{fails}"


def failure_lines(r: CaseResult) -> list[str]:
    """For a failing case: each expectation that does not hold, expected against got."""
    if r.error:
        return [f"cannot trace the request: {r.error}"]
    out = []
    for m in r.mismatches:
        where = f"{r.case.file}:{m.line}"
        out.append(f"{m.key} ({where})")
        out.append(f"  - expected: {_json_value(m.expected)}")
        out.append(f"  + got:      {_json_value(m.actual)}")
    out.append(f"the request got: {_happened(r.trace)}")
    return out


def render_text(results: Sequence[CaseResult], label: str) -> str:
    lines = [f"meshtui test {results[0].case.file if results else ''} against {label}"]
    for r in results:
        mark = "✓" if r.passed else "✗"
        lines.append(f"  {mark} {r.case.name}")
        if not r.passed:
            lines += [f"      {line}" for line in failure_lines(r)]
    failed = sum(not r.passed for r in results)
    passed = len(results) - failed
    lines.append(f"{passed} passed, {failed} failed")
    return "\n".join(printable(line) for line in lines) + "\n"


def to_json(results: Sequence[CaseResult], label: str) -> dict[str, Any]:
    return {
        "source": label,
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "cases": [
            {
                "name": r.case.name,
                "file": r.case.file,
                "line": r.case.line,
                "passed": r.passed,
                "error": r.error or None,
                "mismatches": [
                    {"expectation": m.key, "line": m.line, "expected": m.expected, "got": m.actual}
                    for m in r.mismatches
                ],
                "trace": trace_json(r.trace) if r.trace is not None else None,
            }
            for r in results
        ],
    }


def render_junit(results: Sequence[CaseResult], label: str, file: str) -> str:
    """JUnit XML: one testsuite for the file, a testcase per case, a failure per mismatch
    (an error when the request could not be traced)."""
    failures = sum(bool(r.mismatches) for r in results)
    errors = sum(bool(r.error) for r in results)
    suites = ET.Element("testsuites", tests=str(len(results)), failures=str(failures))
    suites.set("errors", str(errors))
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"meshtui test {file}",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="source", value=label)
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            name=r.case.name,
            classname=file,
            file=file,
            line=str(r.case.line),
        )
        if r.error:
            ET.SubElement(case, "error", message=r.error, type="TraceError").text = r.error
        elif r.mismatches:
            message = "; ".join(
                f"{m.key}: expected {_json_value(m.expected)}, got {_json_value(m.actual)}"
                for m in r.mismatches
            )
            node = ET.SubElement(case, "failure", message=message, type="ExpectationFailed")
            node.text = "\n".join(failure_lines(r))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="meshtui test",
        description="Check routing expectations (requests and what must happen to them) "
        "against a folder or the live cluster, with the trace engine. The file format: "
        "docs/expectations.md.",
        epilog="exit status: 0 every case passes, 1 one fails, 2 the file or the input could "
        "not be read",
    )
    p.add_argument("file", metavar="FILE", help="the expectations (YAML)")
    add_source_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        choices=("text", "json", "junit"),
        default="text",
        help="text: one line per case; json; junit: JUnit XML for CI",
    )
    return p


def run_cases(mesh: Mesh, cases: Sequence[Case]) -> list[CaseResult]:
    prepare(mesh)
    return [check_case(mesh, c) for c in cases]


def run_test(argv: Sequence[str], out: TextIO | None = None) -> int:
    """`meshtui test FILE [PATH]`: read, check every case, report; the exit status."""
    from meshtui.sources.expectations import read_expectations
    from meshtui.sources.files import LoadError

    out = out or sys.stdout
    p = parser()
    args = p.parse_args(list(argv))
    try:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as err:
        print(f"meshtui test: {args.file}: cannot read it: {err}", file=sys.stderr)
        return EXIT_BAD
    cases, errors = read_expectations(args.file, text)
    if errors:
        for e in errors:
            print(f"meshtui test: {printable(str(e))}", file=sys.stderr)
        return EXIT_BAD
    try:
        source = build_source(args, p, check=True)
        source.preflight()
        meshes = source.load()
    except LoadError as err:
        print(f"meshtui test: {err}", file=sys.stderr)
        return EXIT_BAD
    if len(meshes) != 1:
        which = (
            "kustomize overlays that are alternatives: give one --overlay"
            if meshes[0].overlay
            else "clusters: give one --context"
        )
        print(f"meshtui test: {len(meshes)} {which}", file=sys.stderr)
        return EXIT_BAD
    results = run_cases(meshes[0], cases)
    if args.output == "json":
        out.write(render_json(to_json(results, source.label)))
    elif args.output == "junit":
        out.write(render_junit(results, source.label, args.file))
    else:
        out.write(render_text(results, source.label))
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED
