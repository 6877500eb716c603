"""The detail of a selected node, as one Rich `Text` laid out for the pane's width.

Every value from a resource is appended as plain text (never markup) after `printable()`.
Shows what the core computed: the effective policy per port with each field's origin, the
routes that reach the node, the findings with their explanation and fixes, and where the
resources are. A subset whose own policy is never applied shows that policy struck through,
and the host's policy, which is the one in force.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from meshtui.mesh.findings import Severity
from meshtui.tui.model import Kind, MeshView, NodeRef
from meshtui.tui.sections import (
    DEFAULT_WIDTH,
    LISTED,
    Locate,
    changes_section,
    findings_section,
    indent,
    involved,
    labels_text,
    never_applied_rows,
    no_routes,
    policy_or_unread,
    routes_section,
    section,
    source_section,
    title,
    unchanged,
    workloads_section,
)
from meshtui.tui.text import (
    MUTED,
    NEVER_APPLIED,
    counts_badge,
    finding_counts,
    plural,
    routing_badge,
    safe,
    selects_nothing_badge,
    workload_status,
)


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
    out += policy_or_unread(h, h.policy, h.port_policies, width)
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
    none = no_routes(h, "No VirtualService routes to this host: default routing.")
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
    out += policy_or_unread(h, h.policy, h.port_policies, width)
    empty = (
        "No VirtualService routes to this host: default routing sends traffic here."
        if not h.routes
        else "No route sends traffic to the host without a subset."
    )
    dropped = [r for r in h.dropped_routes if not r.subset]
    out += routes_section(h.default_routes, no_routes(h, empty), locate, dropped)
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
        out += policy_or_unread(h, h.policy, h.port_policies, width)
    else:
        note = "" if s.has_own_policy else "no policy of its own: the host's applies"
        out.append(section("Effective policy", Text(note, style=MUTED)))
        out += policy_or_unread(h, s.policy, s.ports, width, s.name)
    out += findings_section(view.findings_on(ref), h, locate, width, view.fixes)
    empty = (
        "No route carries traffic to this subset."
        if s.dropped_routes
        else "No VirtualService route names this subset."
    )
    out += routes_section(s.routes, no_routes(h, empty), locate, s.dropped_routes)
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
    view: MeshView, ref: NodeRef | None, locate: Locate = unchanged, width: int = DEFAULT_WIDTH
) -> Text:
    """What the detail pane shows for a node."""
    if ref is None:
        return Text("Nothing selected.", style=MUTED)
    parts = DETAIL[ref.kind](view, ref, locate, width)
    if not parts:
        parts = [Text("This node is no longer in the analysis.", style=MUTED)]
    return Text("\n").join(parts)
