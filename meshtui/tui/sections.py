"""The building blocks of the detail pane: titled sections, effective policy rows with where
each field comes from, route lines (carried or dropped, with the reason), findings with their
fixes, workloads, sources and what a diff changed. Every value from a resource is appended as
plain text (never markup) after `printable()`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from meshtui.mesh.analysis import HostAnalysis, SubsetAnalysis
from meshtui.mesh.findings import EXPLANATION, Finding, location_probe
from meshtui.mesh.gateway_api import gateway_name
from meshtui.mesh.policy import PORT_LEVEL_FIELDS, EffectiveField, EffectivePolicy, Level
from meshtui.mesh.resources import Meta, ObjectRef, Origin, ServicePort, Workload
from meshtui.mesh.routes import RouteRef
from meshtui.tui.fixes import FixPanel, fix_block
from meshtui.tui.model import Kind, MeshView, NodeRef
from meshtui.tui.text import (
    MUTED,
    UNREAD_STYLE,
    counts_badge,
    finding_counts,
    finding_where,
    not_readable,
    routing_badge,
    safe,
    severity_word,
    where,
    workload_status,
)

Locate = Callable[[Finding], Finding]

DEFAULT_WIDTH = 80
LISTED = 25  # a namespace or the input files list this many entries, not thousands
SECTION = "bold underline"


def unchanged(f: Finding) -> Finding:
    return f


def compact(value: Any) -> str:
    """A policy value as one line of flow-style YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000_000)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return safe(text.replace("\n", " "))


def yaml_block(text: str) -> Text:
    """YAML shown as highlighted text; each line made inert first (control characters escaped)."""
    code = "\n".join(safe(line.expandtabs(2)) for line in text.rstrip("\n").split("\n"))
    highlighted = Syntax(code, "yaml", theme="ansi_dark").highlight(code)
    highlighted.rstrip()
    highlighted.no_wrap = False
    highlighted.overflow = "fold"
    return highlighted


def section(title: str, *extra: Text | str) -> Text:
    out = Text.assemble("\n", (title, SECTION))
    for e in extra:
        if e:
            out.append("  ")
            out.append(e)
    return out


def _origin(f: EffectiveField, port: int | None, subset: str) -> str:
    if f.level is Level.HOST:
        return "host"
    if f.level is Level.HOST_PORT:
        return f"host port {port}"
    if f.level is Level.SUBSET:
        return f"subset {safe(subset)}"
    if f.level is Level.SUBSET_PORT:
        return f"subset {safe(subset)} port {port}"
    return "Istio default"


def _shown(policy: EffectivePolicy) -> list[EffectiveField]:
    """The port-level fields always (a default there often surprises), others when set."""
    return [f for f in policy.fields if f.name in PORT_LEVEL_FIELDS or not f.is_default]


def indent(text: Text, n: int = 2) -> Text:
    """Every line of `text` shifted right by `n` columns."""
    pad = " " * n
    return Text("\n").join(Text.assemble(pad, line) for line in text.split("\n"))


_MEASURE = Console(width=1000, color_system=None, force_terminal=False)


def field_rows(rows: Sequence[tuple[Text, Text, Text]], width: int) -> Text:
    """field · value · origin in aligned columns; long values wrap under their column and an
    origin that does not fit after its value goes below it."""
    if not rows:
        return Text("")
    name_w = max(r[0].cell_len for r in rows)
    room = max(width - name_w - 2, 12)
    value_w = min(max(r[1].cell_len for r in rows), room)
    pad = " " * (name_w + 2)
    lines = []
    for name, value, origin in rows:
        parts = _wrap(value, room)
        first = Text.assemble(name, " " * (name_w - name.cell_len + 2), parts[0])
        lines.append(first)
        lines += [Text.assemble(pad, part) for part in parts[1:]]
        if not origin:
            continue
        last = lines[-1]
        if len(parts) == 1 and name_w + 2 + value_w + 2 + origin.cell_len <= width:
            last.append(" " * (value_w - value.cell_len + 2))
            last.append_text(origin)
        else:
            lines += [Text.assemble(pad, part) for part in _wrap(origin, room)]
    return Text("\n").join(lines)


def _wrap(text: Text, width: int) -> list[Text]:
    return list(text.wrap(_MEASURE, width, overflow="fold")) if text.cell_len > width else [text]


def policy_rows(
    policy: EffectivePolicy,
    port: int | None,
    width: int,
    subset: str = "",
    host_policy: EffectivePolicy | None = None,
) -> Text:
    """field · value · origin; a default that hides a host value says so."""
    rows = []
    for f in _shown(policy):
        if f.is_default:
            value = Text("Istio default", style="italic " + MUTED)
            origin = Text("")
            hidden = host_policy.get(f.name) if host_policy is not None else None
            if hidden is not None and not hidden.is_default and port is not None:
                origin = Text(f"port {port} settings replace the host's", style=MUTED)
        else:
            value = Text(compact(f.value))
            origin = Text(_origin(f, port, subset), style=MUTED)
        rows.append((Text(f.name, style="bold"), value, origin))
    return field_rows(rows, width)


def _port_name(port: int, ports: Sequence[ServicePort]) -> str:
    for p in ports:
        if p.number == port and p.name:
            return f"port {port} ({safe(p.name)})"
    return f"port {port}"


def policy_by_port(
    policy: EffectivePolicy,
    ports: Mapping[int, EffectivePolicy],
    service_ports: Sequence[ServicePort],
    width: int,
    subset: str = "",
) -> list[Text]:
    """The effective policy of every port (or of the host when no port is known)."""
    if not ports:
        return [
            Text("all ports", style="italic"),
            indent(policy_rows(policy, None, width - 2, subset)),
        ]
    out: list[Text] = []
    for port, pol in sorted(ports.items()):
        out.append(Text(_port_name(port, service_ports), style="italic"))
        out.append(indent(policy_rows(pol, port, width - 2, subset, host_policy=policy)))
    return out


def never_applied_rows(s: SubsetAnalysis, width: int) -> Text:
    """The fields the subset's own policy sets, struck through: they never reach traffic."""
    struck = "strike " + MUTED
    fields: list[tuple[EffectiveField, int | None]] = [
        (f, None) for f in s.policy.fields if f.level is Level.SUBSET
    ]
    for port, pol in sorted(s.ports.items()):
        fields += [(f, port) for f in pol.fields if f.level is Level.SUBSET_PORT]
    rows = [
        (
            Text(f.name, style="bold " + struck),
            Text(compact(f.value), style=struck),
            Text(f"{_origin(f, port, s.name)} · never applied", style=MUTED),
        )
        for f, port in fields
    ]
    return field_rows(rows, width)


def rule_origin(r: RouteRef, locate: Locate = unchanged) -> Origin:
    """Where the route's own rule (`http[i]`, a Gateway API route's `rules[i]`) is written:
    the source locates that field as it locates a finding's (a line in the file offline; the
    resource live)."""
    return locate(location_probe(r.written_in, r.origin, r.rule_path)).origin or r.origin


def conditions_line(conditions: Sequence[tuple[str, str, str]]) -> Text:
    """The controller's view of a Gateway API route on this parent: `Accepted ✓`, or
    `ResolvedRefs ✗ BackendNotFound` (the status the route's controller wrote)."""
    out = Text.assemble(("  status ", MUTED))
    for kind, status, reason in conditions:
        ok = status == "True"
        out.append(f" {safe(kind)} ")
        out.append("✓" if ok else "✗", style="green" if ok else "bold red")
        if not ok:
            out.append(f" {safe(reason or status or 'unknown')}", style="red")
    return out


def route_line(r: RouteRef, locate: Locate = unchanged) -> Text:
    """Which VirtualService route, how much of its traffic, to what, through which gateways."""
    name = f" {safe(r.route_name)!r}" if r.route_name else ""
    share = f"mirror {r.weight}%" if r.kind == "mirror" else f"{r.weight}%"
    target = f"subset {safe(r.subset)}" if r.subset else "the host"
    port = f" port {r.port}" if r.port is not None else ""
    # A Gateway API route's rule is named as written: `HTTPRoute ns/name  rules[0]`.
    head = Text.assemble(
        ("✗ ", "red") if r.dropped else ("→ ", "green"),
        (f"{r.written_in.kind if r.source else 'VirtualService'} ", MUTED),
        (safe((r.source or r.virtual_service).namespaced_name), "bold"),
        f"  {safe(r.rule)}{name}",
    )
    what = Text.assemble(
        "  ",
        (share, "bold green" if r.carries_traffic else MUTED),
        f" to {target}{port}",
        ("  via ", MUTED),
        safe(", ".join(gateway_name(g) for g in r.gateways)),
        ("  match ", MUTED),
        safe(r.match),
    )
    lines = [head, what]
    if r.dropped:
        lines.append(Text.assemble(("  dropped: ", "bold red"), safe(r.dropped)))
    elif r.clients and (not r.clients.everyone or r.clients.names):
        lines.append(Text.assemble(("  for ", MUTED), safe(r.clients.describe())))
    if r.delegate is not None:
        lines.append(
            Text.assemble(("  written in delegate ", MUTED), safe(r.delegate.namespaced_name))
        )
    if r.conditions:
        lines.append(conditions_line(r.conditions))
    lines.append(Text.assemble("  ", (safe(str(rule_origin(r, locate))), MUTED)))
    return Text("\n").join(lines)


def routes_section(
    routes: Sequence[RouteRef],
    empty: str,
    locate: Locate = unchanged,
    dropped: Sequence[RouteRef] = (),
) -> list[Text]:
    """The routes that carry traffic here, then those that name it but carry none, each with
    the reason (what pilot drops is shown as dropped, never as a share of traffic)."""
    out: list[Text] = [section("Routes", routing_badge(routes, targets=True))]
    if not routes:
        out.append(Text(empty, style=MUTED))
    out += [route_line(r, locate) for r in routes]
    if dropped:
        out.append(section("Routes that carry no traffic here"))
        out += [route_line(r, locate) for r in dropped]
    return out


def finding_block(
    f: Finding,
    host: HostAnalysis | None,
    locate: Locate = unchanged,
    width: int = DEFAULT_WIDTH,
    fixes: FixPanel | None = None,
) -> list[Text]:
    located = locate(f)
    head = Text.assemble(severity_word(f.severity), "  ", (f.code.value, "bold"))
    where_line = Text.assemble(("where  ", MUTED), finding_where(located))
    if located.field:
        where_line.append(f"  {safe(located.field)}", style=MUTED)
    out: list[Text] = [
        head,
        Text(safe(f.message)),
        Text.assemble(("why    ", MUTED), EXPLANATION[f.code]),
        where_line,
    ]
    found = fixes.fixes(f) if fixes is not None and host is not None else []
    for i, fix in enumerate(found, 1):
        out += fix_block(i, len(found), fix, fixes, f, width) if fixes else []
    return out


def findings_section(
    findings: Sequence[Finding],
    host: HostAnalysis | None,
    locate: Locate,
    width: int,
    fixes: FixPanel | None = None,
) -> list[Text]:
    if not findings:
        return []
    out: list[Text] = [section("Findings", counts_badge(finding_counts(findings)))]
    for i, f in enumerate(findings):
        if i:
            out.append(Text(""))
        out += finding_block(f, host, locate, width, fixes)
    return out


def _meta(ref: ObjectRef, origin: Origin) -> Meta:
    return Meta(ref=ref, origin=origin)


def route_metas(routes: Iterable[RouteRef]) -> list[Meta]:
    """The VirtualServices (delegates, Gateway API routes) routes were written in, once each."""
    seen: dict[ObjectRef, Meta] = {}
    for r in routes:
        ref = r.written_in
        if ref not in seen:
            seen[ref] = _meta(ref, r.origin)
    return list(seen.values())


def involved(view: MeshView, ref: NodeRef) -> list[Meta]:
    """The resources a node is made of: what `y` shows and the Source section lists."""
    if ref.kind is Kind.LOAD_FINDING:
        f = view.load_finding(ref)
        if f is None or f.origin is None:
            return []
        return [_meta(f.resource or ObjectRef("", "", f.file or ""), f.origin)]
    host = view.host(ref)
    if host is None:
        return []
    if ref.kind is Kind.WORKLOAD:
        w = view.workload(ref)
        return [w.meta] if w else []
    service = [host.service.meta] if host.service is not None else []
    rules = [r.meta for r in host.destination_rules]
    if ref.kind is Kind.HOST:
        return service + rules + route_metas((*host.routes, *host.dropped_routes))
    if ref.kind is Kind.DEFAULT:
        dropped = (r for r in host.dropped_routes if not r.subset)
        return service + rules + route_metas((*host.default_routes, *dropped))
    if ref.kind is Kind.SUBSET:
        s = host.subset(ref.subset)
        if s is None:
            return []
        return [s.destination_rule.meta, *route_metas((*s.routes, *s.dropped_routes))]
    if ref.kind is Kind.UNDEFINED:
        named = (*host.routes, *host.dropped_routes)
        return rules + route_metas(r for r in named if r.subset == ref.subset)
    return []


def source_section(metas: Sequence[Meta]) -> list[Text]:
    if not metas:
        return []
    out: list[Text] = [section("Source", Text("y: raw YAML", style=MUTED))]
    for m in metas:
        out.append(
            Text.assemble(
                (f"{m.ref.kind} ", MUTED),
                (safe(m.ref.namespaced_name), "bold"),
                "  ",
                (where(m), MUTED),
            )
        )
    return out


def workloads_section(
    workloads: Sequence[Workload] | None, unread: Sequence[str] = ()
) -> list[Text]:
    if workloads is None and "Pod" in unread:
        return [section("Workloads"), Text(not_readable("Pod"), style=UNREAD_STYLE)]
    if workloads is None:
        return [section("Workloads"), Text("not known (no workloads were read)", style=MUTED)]
    out: list[Text] = [section("Workloads", Text(str(len(workloads)), style=MUTED))]
    if not workloads:
        out.append(Text("none", style=MUTED))
    for w in workloads:
        out.append(Text.assemble(safe(str(w.meta.ref)), "  ", (safe(workload_status(w)), MUTED)))
    return out


def labels_text(labels: Mapping[str, str]) -> Text:
    if not labels:
        return Text("(none: every workload of the service)", style=MUTED)
    return Text(", ".join(f"{safe(k)}={safe(v)}" for k, v in labels.items()))


def title(*parts: tuple[str, str] | str) -> Text:
    return Text.assemble(*parts)


# -- per kind --------------------------------------------------------------------------------


_ALL_SUBSETS = object()


def changes_section(view: MeshView, ref: NodeRef, subset: object = _ALL_SUBSETS) -> list[Text]:
    """`meshtui diff`: what the change does to this host (or to one subset, or to traffic
    without a subset), old → new, per group of clients; nothing without a diff."""
    entry = view.entry(ref)
    if entry is None or not entry.changes:
        return []
    out: list[Text] = []
    for group in entry.changes:
        shown = [c for c in group.changes if subset is _ALL_SUBSETS or c.subset == subset]
        if not shown:
            continue
        out.append(Text(safe(group.clients.describe()), style="bold"))
        out += [Text.assemble(("  Δ ", "magenta"), safe(c.text)) for c in shown]
    if out:
        out.insert(0, section("Changed by this diff", Text("old → new", style=MUTED)))
    return out


def policy_or_unread(
    h: HostAnalysis,
    policy: EffectivePolicy,
    ports: Mapping[int, EffectivePolicy],
    width: int,
    subset: str = "",
) -> list[Text]:
    """The effective policy, unless it rests on DestinationRules that could not be read:
    then Istio's defaults would be a guess shown as a fact."""
    if "DestinationRule" in h.unread:
        return [
            Text(f"{not_readable('DestinationRule')}: the policy is unknown", style=UNREAD_STYLE)
        ]
    return policy_by_port(policy, ports, h.ports, width, subset)


def no_routes(h: HostAnalysis, empty: str) -> str:
    """What an empty list of routes says: none, or unknown when VirtualServices are unread."""
    if "VirtualService" in h.unread:
        return f"{not_readable('VirtualService')}: the routes are unknown."
    return empty
