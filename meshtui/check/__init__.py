"""`meshtui check`: the analysis for scripts and CI, with exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from meshtui.check.report import render_json, render_sarif, render_text, to_json
from meshtui.mesh.findings import Severity, reaches
from meshtui.mesh.suppress import SuppressRule
from meshtui.sources import Source

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNREADABLE = 2


def run_check(
    source: Source,
    output: str = "text",
    threshold: Severity = Severity.WARNING,
    out: TextIO | None = None,
    suppress: Sequence[SuppressRule] = (),
) -> int:
    """Load, analyse and report; exit 1 when a finding reaches the threshold (suppressed
    findings are only counted)."""
    out = out or sys.stdout
    meshes = source.load()
    for mesh in meshes:
        mesh.suppress_rules = tuple(suppress)
    analyses = [mesh.analyze() for mesh in meshes]
    findings = [source.refine(a.findings) for a in analyses]
    if output == "json":
        out.write(render_json(to_json(analyses, findings, source.label)))
    elif output == "sarif":
        out.write(render_sarif(analyses, findings))
    else:
        out.write(render_text(analyses, findings, source.label))
    failing = any(reaches(f.severity, threshold) for fs in findings for f in fs)
    return EXIT_FINDINGS if failing else EXIT_OK
