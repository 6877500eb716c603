"""The detail of a selected node, as one Rich `Text` laid out for the pane's width.

Every value from a resource is appended as plain text (never markup) after `printable()`.
Shows what the core computed: the effective policy per port with each field's origin, the
routes that reach the node, the findings with their explanation and fixes, and where the
resources are. A subset whose own policy is never applied shows that policy struck through,
and the host's policy, which is the one in force.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from meshtui.mesh.analysis import HostAnalysis, SubsetAnalysis
from meshtui.mesh.findings import EXPLANATION, Code, Finding, Severity
from meshtui.mesh.policy import PORT_LEVEL_FIELDS, EffectiveField, EffectivePolicy, Level
from meshtui.mesh.resources import Meta, ObjectRef, Origin, ServicePort, Workload
from meshtui.mesh.routes import RouteRef
from meshtui.tui.fixes import FixPanel, fix_block
from meshtui.tui.model import Kind, MeshView, NodeRef
from meshtui.tui.text import (
    MUTED,
    NEVER_APPLIED,
    UNREAD_STYLE,
    counts_badge,
    finding_counts,
    finding_where,
    not_readable,
    plural,
    routing_badge,
    safe,
    selects_nothing_badge,
    severity_word,
    where,
    workload_status,
)

Locate = Callable[[Finding], Finding]
DEFAULT_WIDTH = 80
LISTED = 25  # a namespace or the input files list this many entries, not thousands
SECTION = "bold underline"


def _same(f: Finding) -> Finding:
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


def rule_origin(r: RouteRef, locate: Locate = _same) -> Origin:
    """Where the route's own rule (`http[i]`) is written: the source locates that field as it
    locates a finding's (a line in the file offline; the resource live). The probe is a
    finding in form only: it is never shown."""
    probe = Finding(
        Code.INVALID_RESOURCE,
        "",
        resource=r.written_in,
        origin=r.origin,
        path=tuple(r.path[:3]),
    )
    return locate(probe).origin or r.origin


def route_line(r: RouteRef, locate: Locate = _same) -> Text:
    """Which VirtualService route, how much of its traffic, to what, through which gateways."""
    name = f" {safe(r.route_name)!r}" if r.route_name else ""
    share = f"mirror {r.weight}%" if r.kind == "mirror" else f"{r.weight}%"
    target = f"subset {safe(r.subset)}" if r.subset else "the host"
    port = f" port {r.port}" if r.port is not None else ""
    # A Gateway API route's rule is named as written: `HTTPRoute ns/name  rules[0]`.
    rule = f"rules[{r.path[2]}]" if r.source is not None and len(r.path) > 2 else ""
    head = Text.assemble(
        ("✗ ", "red") if r.dropped else ("→ ", "green"),
        (f"{r.written_in.kind if r.source else 'VirtualService'} ", MUTED),
        (safe((r.source or r.virtual_service).namespaced_name), "bold"),
        f"  {rule or f'{r.kind}[{r.route_index}]'}{name}",
    )
    what = Text.assemble(
        "  ",
        (share, "bold green" if r.carries_traffic else MUTED),
        f" to {target}{port}",
        ("  via ", MUTED),
        safe(", ".join(r.gateways)),
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
    lines.append(Text.assemble("  ", (safe(str(rule_origin(r, locate))), MUTED)))
    return Text("\n").join(lines)


def routes_section(
    routes: Sequence[RouteRef],
    empty: str,
    locate: Locate = _same,
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
    locate: Locate = _same,
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


def _policy(
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


def _no_routes(h: HostAnalysis, empty: str) -> str:
    """What an empty list of routes says: none, or unknown when VirtualServices are unread."""
    if "VirtualService" in h.unread:
        return f"{not_readable('VirtualService')}: the routes are unknown."
    return empty


def host_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    h = view.host(ref)
    if h is None:
        return [Text("This host is no longer in the analysis.", style=MUTED)]
    out: list[Text] = [title(("host ", MUTED), (safe(h.host), "bold"))]
    if h.service is not None:
        ports = ", ".join(f"{p.number}" + (f"/{safe(p.name)}" if p.name else "") for p in h.ports)
        out.append(
            Text.assemble(
                (f"{h.service.meta.ref.kind} ", MUTED),
                safe(h.service.meta.ref.namespaced_name),
                (f"  ports {ports}" if ports else "", MUTED),
            )
        )
    counts = counts_badge(finding_counts(h.findings))
    if counts:
        out.append(counts)
    out += changes_section(view, ref)
    out += findings_section(view.findings_on(ref), h, locate, width, view.fixes)
    if h.subsets or h.undefined_subsets:
        out.append(section("Subsets"))
        for s in h.subsets:
            badges = []
            if s.policy_never_applied:
                badges.append(Text(f"{Severity.WARNING.icon} {NEVER_APPLIED}", style="bold yellow"))
            if s.selects_nothing:
                badges.append(selects_nothing_badge(s))
            badges.append(routing_badge(s.routes) or Text("no route", style=MUTED))
            out.append(
                Text.assemble((safe(s.name), "bold"), "  ", labels_text(s.labels), "  ")
                + Text("  ").join(badges)
            )
        for u in h.undefined_subsets:
            out.append(Text(f"{Severity.ERROR.icon} undefined subset {safe(u)}", style="bold red"))
    if h.data_plane:
        # Not every client is a sidecar importing the host: which proxy applies what.
        out.append(section("Data plane"))
        out += [Text(safe(line)) for line in h.data_plane]
    out.append(section("Policy for traffic without a subset"))
    out += _policy(h, h.policy, h.port_policies, width)
    if "DestinationRule" in h.unread:
        pass  # which rule is in force for whom is as unknown as the rules
    elif len(h.views) > 1:
        # pilot picks the DestinationRule per client namespace: its own first.
        out.append(section("DestinationRule in force, by client"))
        for v in h.views:
            rules = ", ".join(r.meta.ref.namespaced_name for r in v.rule.rules) if v.rule else ""
            out.append(
                Text.assemble(
                    (safe(v.clients.describe()), "bold"),
                    ("  ", ""),
                    (safe(rules), "") if rules else ("none: Istio defaults", MUTED),
                )
            )
    elif h.other_rules:
        out.append(section("Other DestinationRules"))
        out.append(
            Text(
                "not in force for any client here (another namespace's own, or not exported): "
                + ", ".join(safe(r.meta.ref.namespaced_name) for r in h.other_rules),
                style=MUTED,
            )
        )
    none = _no_routes(h, "No VirtualService routes to this host: default routing.")
    out += routes_section(h.routes, none, locate, h.dropped_routes)
    out += source_section(involved(view, ref))
    return out


def default_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    h = view.host(ref)
    if h is None:
        return []
    out: list[Text] = [
        title(("(no subset) ", "italic"), ("of ", MUTED), (safe(h.host), "bold")),
        Text("Traffic to the whole service: the host-level policy applies.", style=MUTED),
    ]
    out += changes_section(view, ref, None)
    out.append(section("Effective policy"))
    out += _policy(h, h.policy, h.port_policies, width)
    empty = (
        "No VirtualService routes to this host: default routing sends traffic here."
        if not h.routes
        else "No route sends traffic to the host without a subset."
    )
    dropped = [r for r in h.dropped_routes if not r.subset]
    out += routes_section(h.default_routes, _no_routes(h, empty), locate, dropped)
    out += workloads_section(h.workloads, h.unread)
    out += source_section(involved(view, ref))
    return out


def subset_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    h = view.host(ref)
    s = view.subset(ref)
    if h is None or s is None:
        return []
    out: list[Text] = [
        title(("subset ", MUTED), (safe(s.name), "bold"), (" of ", MUTED), (safe(h.host), "bold")),
        Text.assemble(("labels ", MUTED), labels_text(s.labels)),
    ]
    if not s.clients.everyone or s.clients.names:
        out.append(
            Text.assemble(
                ("clients ", MUTED),
                safe(f"defined by {s.destination_rule.meta.ref.namespaced_name}, which "),
                safe(s.clients.describe()),
                " apply",
            )
        )
    if s.policy_never_applied:
        out.append(
            Text(
                f"{Severity.WARNING.icon} {NEVER_APPLIED}: {safe(s.never_applied_why)}",
                style="bold yellow",
            )
        )
    elif s.routed:
        out.append(Text.assemble(("✔ routed  ", "bold green"), routing_badge(s.routes)))
    if s.selects_nothing:
        out.append(selects_nothing_badge(s))
    out += changes_section(view, ref, s.name)
    if s.policy_never_applied:
        out.append(
            section(
                "Subset policy",
                Text(f"never applied: {safe(s.never_applied_why)}", style="bold yellow"),
            )
        )
        out.append(indent(never_applied_rows(s, width - 2)))
        out.append(
            section(
                "Policy in force",
                Text(f"none of this subset's: {safe(s.traffic_instead)}", style=MUTED),
            )
        )
        out += _policy(h, h.policy, h.port_policies, width)
    else:
        note = "" if s.has_own_policy else "no policy of its own: the host's applies"
        out.append(section("Effective policy", Text(note, style=MUTED)))
        out += _policy(h, s.policy, s.ports, width, s.name)
    out += findings_section(view.findings_on(ref), h, locate, width, view.fixes)
    empty = (
        "No route carries traffic to this subset."
        if s.dropped_routes
        else "No VirtualService route names this subset."
    )
    out += routes_section(s.routes, _no_routes(h, empty), locate, s.dropped_routes)
    out += workloads_section(s.workloads, h.unread)
    out += source_section(involved(view, ref))
    return out


def undefined_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    h = view.host(ref)
    if h is None:
        return []
    out: list[Text] = [
        Text.assemble(
            (f"{Severity.ERROR.icon} undefined subset ", "bold red"),
            (safe(ref.subset), "bold red"),
            (" of ", MUTED),
            (safe(h.host), "bold"),
        ),
        Text(
            "Defined subsets: " + (", ".join(safe(s.name) for s in h.subsets) or "none"),
            style=MUTED,
        ),
    ]
    out += findings_section(view.findings_on(ref), h, locate, width, view.fixes)
    out += routes_section(
        [r for r in h.routes if r.subset == ref.subset],
        "",
        locate,
        [r for r in h.dropped_routes if r.subset == ref.subset],
    )
    out += source_section(involved(view, ref))
    return out


def workload_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    w = view.workload(ref)
    h = view.host(ref)
    if w is None or h is None:
        return []
    out: list[Text] = [
        title((f"{w.meta.ref.kind} ", MUTED), (safe(w.meta.ref.namespaced_name), "bold")),
        Text.assemble(("status ", MUTED), safe(workload_status(w))),
        Text.assemble(("labels ", MUTED), labels_text(w.labels)),
    ]
    for label, value in (("node", w.node), ("pod IP", w.pod_ip), ("owner", w.owner)):
        if value:
            out.append(Text.assemble((f"{label} ", MUTED), safe(value)))
    subsets = [s.name for s in h.subsets if s.workloads and w in s.workloads]
    out.append(
        Text.assemble(
            ("in subsets ", MUTED), safe(", ".join(subsets)) if subsets else ("none", MUTED)
        )
    )
    out += source_section([w.meta])
    return out


def namespace_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    entries = [e for e in view.entries[ref.cluster] if e.namespace == ref.namespace]
    findings = [f for e in entries for f in e.analysis.findings]
    out: list[Text] = [
        title(("namespace ", MUTED), (safe(ref.namespace), "bold")),
        Text(plural(len(entries), "host"), style=MUTED),
    ]
    counts = counts_badge(finding_counts(findings))
    out.append(counts if counts else Text("no findings", style=MUTED))
    flagged = sorted((e for e in entries if e.rank), key=lambda e: (-e.rank, e.name_key))
    if flagged:
        out.append(section("Hosts with findings", Text("n: next finding", style=MUTED)))
    for e in flagged[:LISTED]:
        badge = counts_badge(finding_counts(e.analysis.findings))
        out.append(Text.assemble((safe(e.host), "bold"), "  ", badge))
    if len(flagged) > LISTED:
        out.append(Text(f"… and {len(flagged) - LISTED} more", style=MUTED))
    return out


def cluster_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    a = view.analyses[ref.cluster]
    out: list[Text] = [
        title(("cluster ", MUTED), (safe(view.cluster_name(ref.cluster)), "bold")),
        Text(
            f"{plural(len(a.hosts), 'host')} · {plural(a.subset_count, 'subset')} · "
            f"{plural(a.workload_count, 'workload')}",
            style=MUTED,
        ),
    ]
    counts = counts_badge(a.counts())
    out.append(counts if counts else Text("no findings", style=MUTED))
    return out


def input_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    findings = view.findings_on(ref)
    out: list[Text] = [
        Text("input files", style="bold"),
        Text("Documents that could not be read as Kubernetes resources.", style=MUTED),
    ]
    out += findings_section(findings[:LISTED], None, locate, width)
    if len(findings) > LISTED:
        out.append(Text(f"\n… and {len(findings) - LISTED} more (n: next finding)", style=MUTED))
    return out


def load_finding_detail(view: MeshView, ref: NodeRef, locate: Locate, width: int) -> list[Text]:
    findings = view.findings_on(ref)
    out: list[Text] = [Text("input file", style="bold")]
    out += findings_section(findings, None, locate, width)
    out += source_section(involved(view, ref))
    return out


DETAIL: dict[Kind, Callable[[MeshView, NodeRef, Locate, int], list[Text]]] = {
    Kind.HOST: host_detail,
    Kind.DEFAULT: default_detail,
    Kind.SUBSET: subset_detail,
    Kind.UNDEFINED: undefined_detail,
    Kind.WORKLOAD: workload_detail,
    Kind.NAMESPACE: namespace_detail,
    Kind.CLUSTER: cluster_detail,
    Kind.INPUT: input_detail,
    Kind.LOAD_FINDING: load_finding_detail,
}


def detail(
    view: MeshView, ref: NodeRef | None, locate: Locate = _same, width: int = DEFAULT_WIDTH
) -> Text:
    """What the detail pane shows for a node."""
    if ref is None:
        return Text("Nothing selected.", style=MUTED)
    parts = DETAIL[ref.kind](view, ref, locate, width)
    if not parts:
        parts = [Text("This node is no longer in the analysis.", style=MUTED)]
    return Text("\n").join(parts)


def first_line(meta: Meta, text: str) -> int:
    """The file line of the first line of a document's text, so the raw view numbers lines as
    the file does: the origin names the document's first content line (after comments and
    `---`), which is the text's first line that is not one of those. 1 without a file."""
    origin = meta.origin
    if not origin.file or not origin.line or origin.item is not None:
        return 1
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "---", "%")):
            return max(origin.line - i, 1)
    return origin.line


def numbered(text: str, start: int) -> Text:
    """YAML with a gutter of line numbers, unwrapped: the pane scrolls sideways instead."""
    code = yaml_block(text)
    lines = code.split("\n", allow_blank=True)
    width = len(str(start + len(lines) - 1))
    out = Text("\n").join(
        Text.assemble((f"{start + i:>{width}} │ ", MUTED), line) for i, line in enumerate(lines)
    )
    out.no_wrap = True
    return out


def raw_yaml(documents: Sequence[tuple[Meta, str | None]]) -> Text:
    """The raw YAML of the resources involved, each under a comment naming it, with the line
    numbers of its file."""
    if not documents:
        return Text("No resources behind this node.", style=MUTED)
    parts: list[Text] = [
        Text.assemble(("Raw YAML", SECTION), ("  y: back to the analysis · / search", MUTED))
    ]
    for meta, text in documents:
        parts.append(
            Text.assemble(
                "\n# ",
                (f"{meta.ref.kind} " if meta.ref.kind else "", "bold"),
                (safe(meta.ref.namespaced_name) if meta.ref.kind else "", "bold"),
                ("  " + where(meta), MUTED),
            )
        )
        if text is None:
            parts.append(Text("(the source cannot show this resource)", style=MUTED))
        else:
            parts.append(numbered(text, first_line(meta, text)))
    return Text("\n").join(parts)
