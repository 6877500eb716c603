"""`meshtui diff OLD NEW`: what a change does to traffic, for whom, as text, JSON or Markdown
(for a pull-request comment).

Exit status: 0, or 1 when the change adds a finding at or above the threshold (default
error); 2 when a side cannot be read (an unknown revision, a path that does not exist).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from meshtui.check.report import finding_json, render_json
from meshtui.mesh.analysis import Analysis, Mesh
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.diff import (
    DESTINATION_RULE,
    POLICY,
    ROUTE,
    WORKLOADS,
    Change,
    HostChange,
    MeshDiff,
    diff,
    policy_value,
    share,
    where,
)
from meshtui.mesh.findings import Finding, Severity, reaches
from meshtui.mesh.printable import printable
from meshtui.mesh.suppress import SuppressRule
from meshtui.sources import FORBIDDEN, Source

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD = 2
OUTPUT_FORMATS = {
    "text": "for people (default)",
    "json": "a stable document for scripts",
    "markdown": "a pull-request comment",
}


# -- the comparison ---------------------------------------------------------------------------


class Side:
    """One side read and analysed: its label, mesh and analysis (findings with their lines)."""

    def __init__(self, source: Source, mesh: Mesh, analysis: Analysis) -> None:
        self.source = source
        self.mesh = mesh
        self.analysis = analysis


def read_side(
    source: Source, client_namespace: str | None, suppress: Sequence[SuppressRule]
) -> Side:
    """Load and analyse one side; LoadError when it cannot be read, or holds several
    clusters (a diff compares one mesh with one mesh)."""
    from meshtui.sources.files import LoadError

    source.client_namespace = client_namespace
    source.preflight()
    meshes = source.scoped(source.load())
    if len(meshes) != 1:
        what = "kustomize overlays that are alternatives" if meshes[0].overlay else "clusters"
        raise LoadError(
            f"{source.label}: {len(meshes)} {what}; a diff compares one mesh with one"
            + (": give the folder of one overlay" if meshes[0].overlay else "")
        )
    unread = [s for s in source.kind_states() if s.state == FORBIDDEN]
    if unread:
        raise LoadError(
            "could not read " + "; ".join(s.describe() for s in unread) + ": a diff would guess"
        )
    [mesh] = meshes
    mesh.suppress_rules = tuple(suppress)
    return Side(source, mesh, mesh.analyze())


def compare(old: Side, new: Side) -> MeshDiff:
    return diff(old.mesh, old.analysis, new.mesh, new.analysis)


# -- words --------------------------------------------------------------------------------------


def summary(d: MeshDiff) -> str:
    if d.empty:
        return "No change to traffic for any client, and no finding added or resolved."
    hosts = len(d.hosts)
    parts = [
        f"{hosts} host{'s' if hosts != 1 else ''} change{'s' if hosts == 1 else ''} "
        "for some clients",
        f"{len(d.ineffective)} edit{'s' if len(d.ineffective) != 1 else ''} with no effect",
        f"{len(d.added)} finding{'s' if len(d.added) != 1 else ''} added",
        f"{len(d.resolved)} resolved",
    ]
    return "; ".join(parts) + "."


# -- JSON ---------------------------------------------------------------------------------------


def _clients(clients: ClientSet) -> dict[str, Any]:
    out: dict[str, Any] = {"clientNamespaces": clients.namespaces}
    if clients.exceptions:
        out["exceptClientNamespaces"] = clients.exceptions
    return out


def change_json(c: Change) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": c.what}
    if c.subset is not None:
        out["subset"] = c.subset
    if c.port is not None:
        out["port"] = c.port
    if c.what == ROUTE:
        out.update(route=c.name, oldWeight=c.old, newWeight=c.new)
        if c.why:
            out["why"] = c.why
    elif c.what == POLICY:
        out.update(
            field=c.name,
            old=c.old,
            new=c.new,
            oldOrigin=c.old_origin if c.old is not None else None,
            newOrigin=c.new_origin if c.new is not None else None,
        )
        if c.why:
            out["why"] = c.why
    else:
        out.update(old=c.old, new=c.new)
    out["text"] = c.text
    return out


def host_change_json(h: HostChange) -> dict[str, Any]:
    return {
        "host": h.host,
        "effective": True,
        **_clients(h.clients),
        "changes": [change_json(c) for c in h.changes],
    }


def _findings_json(findings: Sequence[Finding], side: Side) -> list[dict[str, Any]]:
    return [finding_json(f, side.mesh.cluster) for f in side.source.refine(findings)]


def to_json(d: MeshDiff, old: Side, new: Side) -> dict[str, Any]:
    return {
        "old": old.source.label,
        "new": new.source.label,
        "summary": summary(d),
        "changes": [host_change_json(h) for h in d.changes],
        "ineffective": [
            {
                "resource": str(i.resource),
                "host": i.host,
                "effective": False,
                "why": i.why,
            }
            for i in d.ineffective
        ],
        "findings": {
            "added": _findings_json(d.added, new),
            "resolved": _findings_json(d.resolved, old),
        },
    }


# -- text ---------------------------------------------------------------------------------------


def _finding_line(f: Finding) -> str:
    where = f"  ({f.file}:{f.line})" if f.file else ""
    subject = str(f.resource) if f.resource else ""
    return f"  {f.severity.icon} {f.severity.value:<7} {f.code.value}  {subject}{where}"


def render_text(d: MeshDiff, old: Side, new: Side) -> str:
    lines = [f"{old.source.label} → {new.source.label}", summary(d), ""]
    for h in d.changes:
        lines.append(f"{h.host}: {h.clients.describe()}")
        lines += [f"  {c.text}" for c in h.changes]
        lines.append("")
    if d.ineffective:
        lines.append("Edits with no effect on any client:")
        for i in d.ineffective:
            lines.append(f"  {i.resource} ({i.host}): {i.why}")
        lines.append("")
    for title, findings, side in (
        ("Findings added", d.added, new),
        ("Findings resolved", d.resolved, old),
    ):
        if not findings:
            continue
        lines.append(f"{title}:")
        for f in side.source.refine(findings):
            lines.append(_finding_line(f))
            lines.append(f"      {f.message}")
        lines.append("")
    return "\n".join(printable(line) for line in lines).rstrip("\n") + "\n"


# -- Markdown -----------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]<>()#+-.!|~"} | {"\n": " ", "\r": " "})


def md(text: object) -> str:
    """Text from a resource made inert in Markdown (no link, HTML, table cell break)."""
    return printable(str(text)).translate(_MD_SPECIAL)


def _md_code(text: object) -> str:
    body = printable(str(text)).replace("`", "'").replace("\n", " ").replace("|", "\\|")
    return f"`{body}`"


def _md_change_row(c: Change) -> str:
    if c.what == ROUTE:
        what, old, new = f"route {_md_code(c.name)}", share(c.old), share(c.new)
    elif c.what == POLICY:
        what = _md_code(c.name)
        old = _md_code(policy_value(c.old)) + (f" ({c.old_origin})" if c.old is not None else "")
        new = _md_code(policy_value(c.new)) + (f" ({c.new_origin})" if c.new is not None else "")
    elif c.what == DESTINATION_RULE:
        what = "DestinationRule in force"
        old = ", ".join(_md_code(r) for r in c.old) or "none"
        new = ", ".join(_md_code(r) for r in c.new) or "none"
    elif c.what == WORKLOADS:
        what = "pods"
        old = ", ".join(_md_code(w) for w in c.old) or "none"
        new = ", ".join(_md_code(w) for w in c.new) or "none"
    else:
        what = c.what
        old, new = ("defined" if c.old else "—"), ("defined" if c.new else "—")
    place = md(where(c)) or "host"
    why = f" ({md(c.why)})" if c.why else ""
    return f"| {what} | {place} | {old} | {new}{why} |"


def _md_finding(f: Finding) -> str:
    where = f" ({_md_code(f'{f.file}:{f.line}')})" if f.file else ""
    resource = f" {_md_code(f.resource)}" if f.resource else ""
    return f"- **{f.severity.value}** {_md_code(f.code.value)}{resource}{where}: {md(f.message)}"


def render_markdown(d: MeshDiff, old: Side, new: Side) -> str:
    """A pull-request comment: one-line summary, added findings first, a section per changed
    host with its clients and a table; what has no effect and resolved findings folded."""
    lines = [
        f"**meshtui diff** {_md_code(old.source.label)} → {_md_code(new.source.label)}: "
        + md(summary(d)),
        "",
    ]
    if d.added:
        lines += ["### Findings added", ""]
        lines += [_md_finding(f) for f in new.source.refine(d.added)]
        lines.append("")
    for h in d.changes:
        lines += [f"### {_md_code(h.host)}", "", f"Affects {md(h.clients.describe())}.", ""]
        rows = ["| change | where | old | new |", "| --- | --- | --- | --- |"]
        rows += [_md_change_row(c) for c in h.changes]
        if len(h.changes) > 10:
            lines += ["<details><summary>" + f"{len(h.changes)} changes</summary>", ""]
            lines += [*rows, "", "</details>"]
        else:
            lines += rows
        lines.append("")
    if d.ineffective:
        lines += ["<details><summary>Edits with no effect on any client</summary>", ""]
        lines += [
            f"- {_md_code(i.resource)} ({_md_code(i.host)}): {md(i.why)}" for i in d.ineffective
        ]
        lines += ["", "</details>", ""]
    if d.resolved:
        lines += ["<details><summary>Findings resolved</summary>", ""]
        lines += [_md_finding(f) for f in old.source.refine(d.resolved)]
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- the command --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="meshtui diff",
        description="What a change does to traffic, and for whom: routes, effective policies, "
        "subsets and pods per client namespace, edits that change nothing, and the findings "
        "the change adds or resolves.",
        epilog="each side: a folder, a file, - (standard input), REV:PATH (a git revision, "
        "read without a checkout, e.g. origin/main:mesh), or `cluster` (the live cluster; "
        "files on the other side are laid over it, as kubectl apply would). Exit status: 0, "
        "1 the change adds a finding at or above --failure-threshold, 2 a side cannot be read",
    )
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="the namespace of resources written without one (as kubectl apply -n); with "
        "`cluster`, the namespaces to read",
    )
    p.add_argument(
        "--client-namespace",
        metavar="NS",
        help="compare only what sidecars in NS get (default: every client)",
    )
    p.add_argument(
        "-o",
        "--output",
        choices=tuple(OUTPUT_FORMATS),
        help="; ".join(f"{name}: {what}" for name, what in OUTPUT_FORMATS.items())
        + " (default: the inspector on NEW with the changed hosts marked, in a terminal; "
        "else text)",
    )
    p.add_argument(
        "--failure-threshold",
        choices=[s.value for s in Severity],
        default=Severity.ERROR.value,
        help="lowest severity of an added finding that makes the exit status 1 (default: error)",
    )
    p.add_argument(
        "--suppress",
        action="append",
        default=[],
        metavar="CODE=KIND NS/NAME",
        help="suppress a finding on both sides, as `check --suppress`; repeatable",
    )
    live = p.add_argument_group("live cluster (read-only), for a `cluster` side")
    live.add_argument("--context", action="append", default=[], metavar="CTX")
    live.add_argument("--kubeconfig", metavar="FILE")
    live.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS")
    return p


Inspect = Callable[[Source, MeshDiff, str], int]


def run_diff(argv: Sequence[str], out: TextIO | None = None, inspect: Inspect | None = None) -> int:
    """`meshtui diff ARGS`: read both sides, compare, print; the exit status. Without `-o`,
    `inspect` (given by the command line in a terminal) shows the diff in the inspector."""
    from meshtui.sources.files import LoadError
    from meshtui.sources.sides import side_sources

    out = out or sys.stdout
    p = parser()
    args = p.parse_args(list(argv))
    try:
        rules = [SuppressRule.parse(text) for text in args.suppress]
    except ValueError as err:
        p.error(str(err))
    try:
        sources = side_sources(args.old, args.new, args)
        old, new = (read_side(s, args.client_namespace, rules) for s in sources)
    except LoadError as err:
        print(f"meshtui diff: {err}", file=sys.stderr)
        return EXIT_BAD
    result = compare(old, new)
    if args.output is None and inspect is not None:
        return inspect(new.source, result, f"{old.source.label} → {new.source.label}")
    if args.output == "json":
        out.write(render_json(to_json(result, old, new)))
    elif args.output == "markdown":
        out.write(render_markdown(result, old, new))
    else:
        out.write(render_text(result, old, new))
    threshold = Severity(args.failure_threshold)
    failing = any(reaches(f.severity, threshold) for f in result.added)
    return EXIT_FINDINGS if failing else EXIT_OK
