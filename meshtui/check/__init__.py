"""`meshtui check`: the analysis for scripts and CI, with exit codes."""

from __future__ import annotations

import sys
from typing import TextIO

from meshtui.check.report import render_json, render_sarif, render_text, to_json
from meshtui.mesh.findings import Severity, reaches
from meshtui.sources import Source

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
) -> int:
    """Load, analyse and report; exit 1 when a finding reaches the threshold."""
    out = out or sys.stdout
    meshes = source.load()
    analyses = [mesh.analyze() for mesh in meshes]
    findings = [source.refine(a.findings) for a in analyses]
    renderer = None
    if fixes:
        from meshtui.check.fixes import FixRenderer

        renderer = FixRenderer(source, meshes, weight=fix_weight, limit=max_fixes)
    if output == "json":
        out.write(render_json(to_json(analyses, findings, source.label, renderer)))
    elif output == "sarif":
        out.write(render_sarif(analyses, findings, renderer))
    else:
        out.write(render_text(analyses, findings, source.label, renderer))
    failing = any(reaches(f.severity, threshold) for fs in findings for f in fs)
    return EXIT_FINDINGS if failing else EXIT_OK
