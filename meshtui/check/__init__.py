"""`meshtui check`: the analysis for scripts and CI, with exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from meshtui.check.report import (
    Encoded,
    every_overlay_once,
    render_json,
    render_sarif,
    render_text,
    report_document,
    to_json,
)
from meshtui.check.split import Report, shares
from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Severity, reaches
from meshtui.mesh.partial import Withheld
from meshtui.mesh.printable import printable
from meshtui.mesh.suppress import SuppressRule
from meshtui.sources import FORBIDDEN, KindState, Source, known_analyses, partial_notes
from meshtui.sources.discovery import LoadError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNREADABLE = 2


def run_check(
    source: Source,
    output: str = "text",
    threshold: Severity = Severity.WARNING,
    out: TextIO | None = None,
    fixes: bool = True,
    max_fixes: int | None = None,
    fix_weight: int = 10,
    allow_partial: bool = False,
    suppress: Sequence[SuppressRule] = (),
    jobs: int | None = None,
) -> int:
    """Load, analyse and report; exit 1 when a finding reaches the threshold.

    A kind the findings need that could not be read at all (403) is exit 2 (LoadError)
    unless `allow_partial`: then the findings that depend on it are withheld, and the report
    says what is missing. Suppressed findings are only counted. `jobs`: how many processes
    write a JSON report (check/split.py; None: one per core for a large mesh)."""
    out = out or sys.stdout
    meshes = source.scoped(source.load())
    for mesh in meshes:
        mesh.suppress_rules = tuple(suppress)
    states = source.kind_states()
    unread = [s for s in states if s.state == FORBIDDEN]
    if unread and not allow_partial:
        raise LoadError(
            "could not read "
            + "; ".join(s.describe() for s in unread)
            + ": findings that depend on them would be guesses "
            "(--allow-partial reports the rest)"
        )
    count = shares(meshes, jobs) if output == "json" and not any(s.partial for s in states) else 1
    if count > 1:
        return _split_json(source, meshes[0], count, threshold, out, fixes, max_fixes, fix_weight)
    analyses, withheld = known_analyses(source, [mesh.analyze() for mesh in meshes])
    findings = [source.refine(a.findings) for a in analyses]
    analyses, findings, meshes = every_overlay_once(analyses, findings, meshes)
    partial = partial_document(states, withheld)
    notes = source.notes  # how the input was read: an assumed namespace, files over a cluster
    # and how the clients' data plane was decided (namespaces assumed to have sidecars)
    notes = [*dict.fromkeys(n for a in analyses for n in a.notes), *notes]
    renderer = None
    if fixes:
        from meshtui.sources.fix_render import FixRenderer

        renderer = FixRenderer(source, meshes, weight=fix_weight, limit=max_fixes)
    if output == "json":
        document = to_json(analyses, findings, source.label, renderer)
        if partial:
            document["partial"] = partial
        if notes:
            document["notes"] = list(notes)
        out.write(render_json(document))
    elif output == "sarif":
        out.write(_with_notifications(render_sarif(analyses, findings, renderer), partial, notes))
    else:
        out.write(_partial_text(partial) + render_text(analyses, findings, source.label, renderer))
        out.writelines(f"note: {printable(note)}\n" for note in notes)
    failing = any(reaches(f.severity, threshold) for fs in findings for f in fs)
    return EXIT_FINDINGS if failing else EXIT_OK


def _split_json(
    source: Source,
    mesh: Mesh,
    count: int,
    threshold: Severity,
    out: TextIO,
    fixes: bool,
    max_fixes: int | None,
    fix_weight: int,
) -> int:
    """The JSON report written by `count` processes (check/split.py): the same document."""
    report = Report(source, mesh, count, fixes, max_fixes, fix_weight)
    hosts, findings, counts = report.write()
    parts = report.parts
    source.details.append(
        f"the report written by {count} processes, each analysing a share of the hosts"
    )
    notes = [*dict.fromkeys(parts[0].notes), *source.notes]
    suppressed = sum(p.suppressed for p in parts)
    plane = parts[0].client_data_plane
    document = report_document(
        source.label,
        mesh.client_namespace,
        plane,
        Encoded(hosts),
        Encoded(findings),
        counts,
        suppressed,
    )
    if notes:
        document["notes"] = notes
    out.write(render_json(document))
    failing = any(reaches(Severity(s), threshold) for s in counts)
    return EXIT_FINDINGS if failing else EXIT_OK


def partial_document(states: list[KindState], withheld: list[Withheld]) -> dict[str, Any]:
    """The report's `partial` object: what could not be read and what it held back; empty
    when everything was read."""
    notes = partial_notes(states)
    if not notes and not withheld:
        return {}
    return {
        "unread": [
            {
                "cluster": s.cluster,
                "kind": s.kind,
                "reason": s.reason,
                "namespaces": list(s.unseen),
                **({"readIn": list(s.read_in)} if s.read_in is not None else {}),
                "wholly": s.state == FORBIDDEN,
            }
            for s in states
            if s.partial
        ],
        "withheld": [
            {
                "cluster": w.cluster,
                "code": w.code.value,
                "count": w.count,
                "because": w.message,
                **({"notJudged": True} if w.not_judged else {}),
            }
            for w in withheld
        ],
        "notes": notes + [w.message for w in withheld],
    }


def _partial_text(partial: dict[str, Any]) -> str:
    if not partial:
        return ""
    lines = ["PARTIAL: not everything could be read; findings that would depend on it are"]
    lines.append("withheld, not reported as passing:")
    lines += [f"  - {note}" for note in partial["notes"]]
    return "\n".join(lines) + "\n\n"


def _with_notifications(sarif: str, partial: dict[str, Any], notes: Sequence[str] = ()) -> str:
    """SARIF with the partial read (warnings) and how the input was read (notes, e.g. an
    assumed namespace) said as run-level tool execution notifications."""
    said = [("warning", note) for note in (partial["notes"] if partial else [])]
    said += [("note", note) for note in notes]
    if not said:
        return sarif
    doc = json.loads(sarif)
    doc["runs"][0]["invocations"] = [
        {
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": level, "message": {"text": text}} for level, text in said
            ],
        }
    ]
    return render_json(doc)
