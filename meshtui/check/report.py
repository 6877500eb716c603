"""The non-interactive report of `meshtui check`: JSON (a contract), text and SARIF 2.1.0."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from meshtui import __version__
from meshtui.mesh.analysis import Analysis, HostAnalysis, SubsetAnalysis
from meshtui.mesh.batch import collector_paused
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.findings import EXPLANATION, RULES, SEVERITY, Code, Finding, Severity
from meshtui.mesh.policy import EffectivePolicy
from meshtui.mesh.printable import printable
from meshtui.mesh.resources import Workload
from meshtui.mesh.routes import RouteRef

if TYPE_CHECKING:
    from meshtui.sources.fix_render import FixRenderer


# -- JSON -----------------------------------------------------------------------------------


def _policies(policy: EffectivePolicy, ports: Mapping[int, EffectivePolicy]) -> dict[str, Any]:
    """`policy`, `policyOrigins`, `ports` and `portOrigins`. Most ports share the policy
    without a port (policy.effective_policies), so each distinct policy is written once and
    its output shared: the report is only serialised."""
    written: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}

    def write(pol: EffectivePolicy) -> tuple[dict[str, Any], dict[str, str]]:
        out = written.get(id(pol))
        if out is None:
            out = written[id(pol)] = (pol.as_dict(), pol.origins())
        return out

    by_port = [(str(p), write(pol)) for p, pol in sorted(ports.items())]
    own = write(policy)
    return {
        "policy": own[0],
        "policyOrigins": own[1],
        "ports": {p: out[0] for p, out in by_port},
        "portOrigins": {p: out[1] for p, out in by_port},
    }


def _route(r: RouteRef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "virtualService": r.virtual_service.namespaced_name,
        "kind": r.kind,
        "weight": r.weight,
        "gateways": list(r.gateways),
        "route": r.route_index,
        "match": r.match,
    }
    if r.route_name:
        out["name"] = r.route_name
    if r.subset:
        out["subset"] = r.subset
    if r.port is not None:
        out["port"] = r.port
    if r.delegate is not None:
        out["delegate"] = r.delegate.namespaced_name
    if r.source is not None:
        # A rule of a Gateway API route: the route written, and its `rules[]` entry.
        out["routeKind"] = r.source.kind
        out["gatewayApiRoute"] = r.source.namespaced_name
        out["gatewayApiRule"] = r.rule
        if r.conditions:  # the controller's, for this parent (live)
            out["gatewayApiConditions"] = [
                {"type": t, "status": v, "reason": why} for t, v, why in r.conditions
            ]
    if r.dropped:
        out["dropped"] = r.dropped
    elif r.clients:
        out.update(_clients(r.clients))
    return out


def workload_name(w: Workload) -> str:
    return str(w.meta.ref)


def _workloads(workloads: Sequence[Workload] | None) -> list[str] | None:
    return None if workloads is None else [workload_name(w) for w in workloads]


def _subset(s: SubsetAnalysis) -> dict[str, Any]:
    return {
        "name": s.name,
        "labels": dict(s.labels),
        "destinationRule": s.destination_rule.meta.ref.namespaced_name,
        **_policies(s.policy, s.ports),
        "ownPolicy": dict(s.own_policy) if s.own_policy else None,
        "routes": [_route(r) for r in s.routes],
        "droppedRoutes": [_route(r) for r in s.dropped_routes],
        "workloads": _workloads(s.workloads),
        "policyNeverApplied": s.policy_never_applied,
        **_clients(s.clients),
    }


def _clients(clients: ClientSet | None) -> dict[str, Any]:
    """`clientNamespaces` (`["*"]` for all) and, with `*`, the `exceptClientNamespaces`."""
    if clients is None:
        return {}
    out: dict[str, Any] = {"clientNamespaces": clients.namespaces}
    if clients.exceptions:
        out["exceptClientNamespaces"] = clients.exceptions
    return out


def host_json(h: HostAnalysis, cluster: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "host": h.host,
        "namespace": h.namespace,
        "kind": h.service.meta.ref.kind if h.service else None,
        **_policies(h.policy, h.port_policies),
        "destinationRules": [r.meta.ref.namespaced_name for r in h.destination_rules],
        "otherDestinationRules": [r.meta.ref.namespaced_name for r in h.other_rules],
        "subsets": [_subset(s) for s in h.subsets],
        "routes": [_route(r) for r in h.default_routes],
        "droppedRoutes": [_route(r) for r in h.dropped_routes if not r.subset],
        "workloads": _workloads(h.workloads),
        "undefinedSubsets": list(h.undefined_subsets),
        "dataPlane": list(h.data_plane),
        "destinationRulesByClient": [
            {
                "destinationRules": [r.meta.ref.namespaced_name for r in v.rule.rules]
                if v.rule
                else [],
                **_clients(v.clients),
            }
            for v in h.views
        ],
    }
    if h.unread:
        _unknown(out, h.unread)
    if cluster is not None:
        out["cluster"] = cluster
    return out


def _unknown(out: dict[str, Any], unread: Sequence[str]) -> None:
    """Null, not empty, what rests on a kind that could not be read: `[]` or `{}` would read
    as "none", a verdict the report cannot give."""
    out["unread"] = list(unread)
    if "DestinationRule" in unread:
        for key in (
            "policy",
            "policyOrigins",
            "ports",
            "portOrigins",
            "destinationRules",
            "otherDestinationRules",
            "subsets",
            "undefinedSubsets",
            "destinationRulesByClient",
        ):
            out[key] = None
    if "VirtualService" in unread:
        out["routes"] = None
        for subset in out["subsets"] or ():
            subset["routes"] = None
            subset["policyNeverApplied"] = None


def finding_json(f: Finding, cluster: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": f.code.value,
        "severity": f.severity.value,
        "host": f.host,
        "subset": f.subset,
        "resource": str(f.resource) if f.resource else None,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "istio": f.istio,
        **_clients(f.clients),
    }
    if f.field:
        out["field"] = f.field
    if cluster is not None:
        out["cluster"] = cluster
    return out


# The label of the findings that every overlay has alike (see every_overlay_once).
EVERY_OVERLAY = "*"


def every_overlay_once(
    analyses: Sequence[Analysis], findings: Sequence[Sequence[Finding]], meshes: Sequence[Any]
) -> tuple[list[Analysis], list[list[Finding]], list[Any]]:
    """Where the analyses are kustomize overlays (alternatives), a finding every one of them
    has alike (a file they share, a host of it) is reported once, under EVERY_OVERLAY, not
    once per overlay. The meshes are listed to match, for the fixes of each finding."""
    if len(analyses) < 2 or not all(a.overlay for a in analyses):
        return list(analyses), [list(fs) for fs in findings], list(meshes)

    def key(f: Finding) -> tuple[Any, ...]:
        return (f.code, f.message, f.file, f.line, f.resource, f.host, f.subset, f.path)

    common = set.intersection(*({key(f) for f in fs} for fs in findings))
    if not common:
        return list(analyses), [list(fs) for fs in findings], list(meshes)
    shared = [f for f in findings[0] if key(f) in common]
    every = replace(analyses[0], hosts={}, load_findings=(), suppressed=(), overlay=EVERY_OVERLAY)
    rest = [[f for f in fs if key(f) not in common] for fs in findings]
    return [every, *analyses], [shared, *rest], [meshes[0], *meshes]


def to_json(
    analyses: Sequence[Analysis],
    findings: Sequence[Sequence[Finding]],
    source: str,
    fixes: FixRenderer | None = None,
) -> dict[str, Any]:
    client = analyses[0].client_namespace if analyses else None
    """The JSON document of `check -o json`; `findings` are per analysis, already refined."""
    multi = len(analyses) > 1
    hosts: list[dict[str, Any]] = []
    all_findings: list[dict[str, Any]] = []
    with collector_paused():
        for i, (analysis, fs) in enumerate(zip(analyses, findings, strict=True)):
            cluster = analysis.cluster if multi else None
            # A finding of every overlay alike has no "overlay" (every_overlay_once).
            said = analysis.overlay not in (None, EVERY_OVERLAY)
            overlay = {"overlay": analysis.overlay} if said else {}
            hosts += [host_json(h, cluster) | overlay for h in analysis.hosts.values()]
            all_findings += [
                _fixes_json(finding_json(f, cluster) | overlay, f, fixes, i) for f in fs
            ]
    counts = Counter(f["severity"] for f in all_findings)
    suppressed = sum(len(a.suppressed) for a in analyses)
    plane = analyses[0].client_data_plane if analyses else None
    return report_document(source, client, plane, hosts, all_findings, counts, suppressed)


def report_document(
    source: str,
    client: str | None,
    plane: str | None,
    hosts: list[Any],
    findings: list[Any],
    counts: Mapping[str, int],
    suppressed: int,
) -> dict[str, Any]:
    """The JSON report's document: its keys in their order, the summary counted from
    `counts` (severity value: findings). `hosts` and `findings` may be Encoded."""
    return {
        "source": source,
        "clientNamespace": client,
        "clientDataPlane": plane,
        "hosts": hosts,
        "findings": findings,
        "summary": {
            "hosts": len(hosts),
            **{s.value: counts.get(s.value, 0) for s in Severity},
            "suppressed": suppressed,
        },
    }


def _fixes_json(
    out: dict[str, Any], f: Finding, fixes: FixRenderer | None, mesh: int
) -> dict[str, Any]:
    """A finding's JSON with its verified fixes (`fixes`), when fixes are asked for."""
    found = fixes.fixes(f, mesh) if fixes is not None else None
    if fixes is not None and found is not None:
        out["fixes"] = [fixes.fix_json(fix, f) for fix in found]
    return out


def render_json(document: Any) -> str:
    """The document as JSON, one line per item of a top-level list (a host, a finding, a
    SARIF run), so a report of 10,000 hosts stays readable with grep and diff.

    Items are written by orjson; one whose text is not ASCII or holds DEL (or that orjson
    cannot write) by the json module with ensure_ascii, so no control character or C1 byte a
    resource name holds reaches a terminal unescaped. orjson writes NaN as null (json writes
    NaN, which is not JSON): no report holds one, as the loaders refuse such numbers.
    """
    if not isinstance(document, Mapping) or not all(type(k) is str for k in document):
        return encode(document) + "\n"
    fields = []
    for key, value in document.items():
        if type(value) in (list, Encoded) and value:
            items = ",\n    ".join(value if type(value) is Encoded else map(encode, value))
            fields.append(f"  {encode(key)}: [\n    {items}\n  ]")
        else:
            fields.append(f"  {encode(key)}: {encode(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n" if fields else "{}\n"


class Encoded(list[str]):
    """A list whose items are already JSON text (encode): render_json writes them as they
    are, one per line (check/split.py writes hosts and findings in several processes)."""


_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def encode(value: Any) -> str:
    """One value as compact JSON, ASCII only (see render_json)."""
    try:
        out = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # e.g. an integer past 64 bits
        return _ENCODE(value)
    # DEL is ASCII, and orjson leaves it as it is.
    return out.decode("ascii") if out.isascii() and b"\x7f" not in out else _ENCODE(value)


# -- text -----------------------------------------------------------------------------------


def _location(f: Finding) -> str:
    if f.file:
        return f"{f.file}:{f.line}" if f.line else f.file
    if f.origin is not None and f.origin.cluster:
        return f"context {f.origin.cluster}"
    return ""


def render_text(
    analyses: Sequence[Analysis],
    findings: Sequence[Sequence[Finding]],
    source: str,
    fixes: FixRenderer | None = None,
) -> str:
    """A readable report grouped by host: every finding with where it is and why it matters."""
    lines: list[str] = []
    total = {s: 0 for s in Severity}
    hosts = 0
    for i, (analysis, fs) in enumerate(zip(analyses, findings, strict=True)):
        hosts += len(analysis.hosts)
        if analysis.overlay == EVERY_OVERLAY:
            lines.append("== every overlay ==")
            lines.append("")
        elif analysis.overlay:  # one of several alternatives (kustomize overlays)
            lines.append(f"== overlay {printable(analysis.overlay)} ==")
            lines.append("")
        elif len(analyses) > 1:
            lines.append(f"== cluster {printable(analysis.cluster or '?')} ==")
            lines.append("")
        by_host: dict[str, list[Finding]] = {}
        for f in fs:
            total[f.severity] += 1
            by_host.setdefault(f.host or "", []).append(f)
        for host in sorted(by_host, key=lambda h: (h != "", h)):
            lines.append(printable(host) if host else "input")
            for f in by_host[host]:
                where = _location(f)
                subject = " ".join(
                    part
                    for part in (
                        f"subset {f.subset}" if f.subset else "",
                        str(f.resource) if f.resource else "",
                    )
                    if part
                )
                code = f"{f.code.value} ({f.istio})" if f.istio else f.code.value
                head = f"  {f.severity.icon} {f.severity.value:<7} {code}"
                lines.append(printable(f"{head}  {subject}" + (f"  ({where})" if where else "")))
                lines.append(printable(f"      {f.message}"))
                if f.clients is not None and (f.clients.names or not f.clients.everyone):
                    lines.append(printable(f"      affects {f.clients.describe()}"))
                lines += _fixes_text(f, fixes, i)
            lines.append("")
    summary = ", ".join(f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in total.items() if n)
    suppressed = sum(len(a.suppressed) for a in analyses)
    if suppressed:  # suppressed findings are counted, never silently hidden
        summary = f"{summary or 'no findings'} ({suppressed} suppressed)"
    if fixes is not None and fixes.omitted:
        lines.append(f"fixes shown for the first {fixes.limit} findings (--max-fixes N for more)")
    client = analyses[0].client_namespace if analyses else None
    view = f" as clients in {printable(client)} see it" if client else ""
    plane = analyses[0].client_data_plane if analyses else None
    if client and plane:
        view += f" ({printable(plane)})"
    lines.append(
        f"{printable(source)}{view}: {hosts} host{'s' if hosts != 1 else ''}, "
        + (summary or "no findings")
    )
    return "\n".join(lines) + "\n"


def _fixes_text(f: Finding, fixes: FixRenderer | None, mesh: int) -> list[str]:
    """Each verified fix of a finding: its title, what it does, and its diff."""
    found = fixes.fixes(f, mesh) if fixes is not None else None
    if fixes is None or found is None:
        return []
    lines = []
    for n, fix in enumerate(found, 1):
        number = f" {n}" if len(found) > 1 else ""
        lines.append(printable(f"      fix{number}: {fix.title}"))
        lines += [printable(f"        {line}") for line in textwrap.wrap(fix.description, 88)]
        for resource in fix.resources:
            lines += [printable(f"        {line}") for line in fixes.diff(resource, f).splitlines()]
    return lines


# -- SARIF ----------------------------------------------------------------------------------

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(file: str) -> str:
    """A SARIF artifact URI: relative to the working directory where it can be (code-scanning
    tools resolve it against the checkout), percent-encoded (spaces, <stdin>)."""
    path = Path(file)
    try:
        return quote(path.resolve().relative_to(Path.cwd().resolve()).as_posix())
    except ValueError:
        return path.resolve().as_uri()


# istioctl analyze's message codes, as a SARIF taxonomy that meshtui's rules relate to.
_ISTIOCTL = {
    "name": "istioctl-analyze",
    "rules": [
        {"id": code, "name": code}
        for code in sorted({r.istio for r in RULES.values() if r.istio is not None})
    ],
}


def _istio_relationship(code: str) -> dict[str, Any]:
    return {
        "target": {"id": code, "toolComponent": {"name": "istioctl-analyze"}},
        "kinds": ["equal"],
    }


def render_sarif(
    analyses: Sequence[Analysis],
    findings: Iterable[Sequence[Finding]],
    fixes: FixRenderer | None = None,
) -> str:
    codes = list(Code)
    rules = [
        {
            "id": code.value,
            "name": code.value,
            "shortDescription": {"text": code.value},
            "fullDescription": {"text": EXPLANATION[code]},
            "help": {"text": EXPLANATION[code]},
            "defaultConfiguration": {"level": _SARIF_LEVEL[SEVERITY[code]]},
            **(
                {"relationships": [_istio_relationship(RULES[code].istio)]}
                if RULES[code].istio
                else {}
            ),
        }
        for code in codes
    ]
    results = []
    for i, (analysis, fs) in enumerate(zip(analyses, findings, strict=True)):
        for f in fs:
            result: dict[str, Any] = {
                "ruleId": f.code.value,
                "ruleIndex": codes.index(f.code),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
            }
            if f.file:
                region = {"startLine": f.line or 1}
                result["locations"] = [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(f.file)},
                            "region": region,
                        }
                    }
                ]
            elif f.resource is not None:
                result["locations"] = [
                    {
                        "logicalLocations": [
                            {
                                "name": f.resource.name,
                                "fullyQualifiedName": str(f.resource),
                                "kind": "resource",
                            }
                        ]
                    }
                ]
            props: dict[str, Any] = {
                k: v for k, v in (("host", f.host), ("subset", f.subset), ("istio", f.istio)) if v
            }
            props.update(_clients(f.clients))
            if analysis.cluster:
                props["cluster"] = analysis.cluster
            if analysis.overlay and analysis.overlay != EVERY_OVERLAY:
                props["overlay"] = analysis.overlay
            if props:
                result["properties"] = props
            _sarif_fixes(result, f, fixes, i)
            results.append(result)
        # Suppressed findings stay in the log, marked as SARIF says (§3.27.23), so
        # code-scanning tools count them without raising them.
        results += [
            {
                "ruleId": f.code.value,
                "ruleIndex": codes.index(f.code),
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
                "suppressions": [{"kind": "external"}],
            }
            for f in analysis.suppressed
        ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "meshtui",
                        "version": __version__,
                        "rules": rules,
                    },
                    "extensions": [_ISTIOCTL],
                },
                "results": results,
            }
        ],
    }
    return render_json(doc)


def _sarif_fixes(result: dict[str, Any], f: Finding, fixes: FixRenderer | None, mesh: int) -> None:
    """SARIF `fixes` (artifact changes) for the verified fixes whose files are known."""
    if fixes is None:
        return
    found = [fixes.sarif_fix(fix, _uri) for fix in fixes.fixes(f, mesh) or ()]
    if any(found):
        result["fixes"] = [x for x in found if x]
