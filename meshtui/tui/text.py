"""Rich `Text` for labels and badges: every name from a resource goes through `printable()`.

Nothing here builds markup strings: values are appended as plain text with a style, so a
resource called `[bold]x` or holding `\\x1b[31m` shows literally. Severity is always an icon
and a word, never a colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.text import Text

from meshtui.mesh.analysis import HostAnalysis, SubsetAnalysis
from meshtui.mesh.clients import ClientSet
from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.partial import plural_kind
from meshtui.mesh.resources import Meta, Service, Workload
from meshtui.mesh.routes import RouteRef
from meshtui.tui.model import ClusterGroup, HostEntry, Match, NamespaceGroup
from meshtui.tui.style import (
    GATEWAY_STYLE,
    MATCH_STYLE,
    MUTED,
    ROUTE_STYLE,
    SEVERITY_STYLE,
    UNREAD_STYLE,
    plural,
    safe,
)


def severity_word(severity: Severity, n: int | None = None) -> Text:
    """`⚠ warning` or `⚠ 2 warnings`: icon and word in the severity's style."""
    word = severity.value if n is None else plural(n, severity.value)
    return Text(f"{severity.icon} {word}", style=SEVERITY_STYLE[severity])


def counts_badge(counts: Mapping[Severity, int]) -> Text:
    parts = [severity_word(s, n) for s, n in counts.items() if n]
    return Text("  ").join(parts)


def finding_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for f in findings:
        counts[f.severity] += 1
    return counts


def _with_badges(name: Text, badges: Sequence[Text]) -> Text:
    out = name
    for badge in badges:
        if badge:
            out = Text.assemble(out, "  ", badge)
    return out


def highlight(text: Text, query: str) -> Text:
    if query:
        text.highlight_words([query], style=MATCH_STYLE, case_sensitive=False)
    return text


def cluster_label(group: ClusterGroup) -> Text:
    counts: dict[Severity, int] = finding_counts(group.load_findings)
    for ns in group.namespaces:
        for s, n in ns.counts().items():
            counts[s] += n
    return _with_badges(
        Text.assemble(("cluster ", MUTED), (safe(group.name), "bold")),
        [Text(plural(group.host_count, "host"), style=MUTED), counts_badge(counts)],
    )


def input_label(findings: Sequence[Finding]) -> Text:
    return _with_badges(Text("input files", style="bold"), [counts_badge(finding_counts(findings))])


def load_finding_label(f: Finding) -> Text:
    where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
    return Text.assemble(
        severity_word(f.severity), " ", (f.code.value, "bold"), "  ", (safe(where), MUTED)
    )


def namespace_label(group: NamespaceGroup) -> Text:
    return _with_badges(
        Text.assemble(("namespace ", MUTED), (safe(group.name), "bold")),
        [Text(plural(len(group.hosts), "host"), style=MUTED), counts_badge(group.counts())],
    )


def host_name(h: HostAnalysis) -> str:
    """A Service's name (its host is `name.namespace.svc.<domain>`); other hosts in full."""
    if h.service is not None and h.service.meta.ref.kind == "Service":
        return h.service.meta.ref.name
    return h.host


def not_readable(kind: str) -> str:
    """What is said where a kind that could not be read (403) would be shown."""
    return f"{plural_kind(kind)} not readable (403)"


CHANGED_BADGE = "Δ changed"


def host_label(entry: HostEntry, match: Match | None = None, query: str = "") -> Text:
    h = entry.analysis
    name = highlight(Text(safe(host_name(h)), style="bold"), query if match else "")
    if entry.preview:  # part of the input: a Service or DestinationRule may still come
        return name
    if (
        not h.findings
        and h.rule is not None
        and isinstance(h.service, Service)
        and not h.unread
        and not entry.changes
    ):
        return name  # the common case, kept cheap: thousands of these are built at once
    badges = [counts_badge(finding_counts(h.findings))]
    if entry.changes:
        badges.insert(0, Text(CHANGED_BADGE, style="bold magenta"))
    if h.service is None:
        badges.append(Text("no Service", style=MUTED))
    elif h.service.meta.ref.kind != "Service":
        badges.append(Text(h.service.meta.ref.kind, style=MUTED))
    if "DestinationRule" in h.unread:
        badges.append(Text(not_readable("DestinationRule"), style=UNREAD_STYLE))
    elif h.rule is None:
        badges.append(Text("no DestinationRule", style=MUTED))
    return _with_badges(name, badges)


RULE_LABEL_WIDTH = 24
RULES_SHOWN = 3


def rule_label(r: RouteRef) -> str:
    """What a person calls a route rule: its name, what it matches (`x-canary`), or `default`
    for a rule that matches everything."""
    if r.route_name:
        label = r.route_name
    elif r.match == "any":
        label = "default"
    else:
        label = r.match.replace("header ", "").replace("query ", "?")
    if len(label) > RULE_LABEL_WIDTH:
        label = label[: RULE_LABEL_WIDTH - 1] + "…"
    return safe(label)


def _rule_key(r: RouteRef) -> tuple[object, ...]:
    # A mirror belongs to the http rule it is written in.
    kind = "http" if r.kind == "mirror" else r.kind
    return (r.virtual_service, r.delegate, kind, r.route_index)


def _target(r: RouteRef) -> str:
    return safe(r.subset) if r.subset else safe(r.host.split(".")[0])


def routing_badge(routes: Sequence[RouteRef], *, targets: bool = False) -> Text:
    """How routes send traffic, rule by rule: `90%`; with several rules
    `x-canary: 100% · default: 10%`; with `targets`, a split names where each share goes
    (`default: 90% v1 / 10% v3`). Then `mirror`, and `gateway only` when no rule is bound to
    the mesh. Shares of different rules never add up, so they are never listed as one."""
    carrying = [r for r in routes if r.carries_traffic]
    if not carrying:
        return Text("weight 0 only" if routes else "", style=MUTED)
    rules: dict[tuple[object, ...], list[RouteRef]] = {}
    for r in carrying:
        rules.setdefault(_rule_key(r), []).append(r)
    parts: list[Text] = []
    for refs in list(rules.values())[:RULES_SHOWN]:
        sent = [r for r in refs if r.kind != "mirror"]
        mirrored = [r for r in refs if r.kind == "mirror"]
        named = targets and len(sent) > 1
        shares = [f"{r.weight}% {_target(r)}" if named else f"{r.weight}%" for r in sent]
        text = " / ".join(shares)
        if mirrored:
            share = ", ".join(f"{r.weight}%" for r in mirrored if r.weight != 100)
            text = " ".join(p for p in (text, "mirror", share) if p)
        part = Text(text, style=ROUTE_STYLE)
        if len(rules) > 1:
            part = Text.assemble((f"{rule_label(refs[0])}: ", MUTED), part)
        parts.append(part)
    out = Text(" · ").join(parts)
    if len(rules) > RULES_SHOWN:
        out.append(f" · +{len(rules) - RULES_SHOWN} rules", style=MUTED)
    if not any(r.mesh_bound for r in carrying):
        out.append(" gateway only", style=GATEWAY_STYLE)
    who = route_clients(carrying)
    if who is not None:
        out.append(f"  {safe(who.short())}", style=MUTED)
    return out


def route_clients(routes: Sequence[RouteRef]) -> ClientSet | None:
    """The clients the routes carry requests of, when that is not every client (None)."""
    who = ClientSet.none()
    for r in routes:
        who |= r.clients
    if not who or (who.everyone and not who.names):
        return None
    return who


def default_label(h: HostAnalysis) -> Text:
    routes = h.default_routes
    if "VirtualService" in h.unread and not routes:
        badge = Text(not_readable("VirtualService"), style=UNREAD_STYLE)
    elif routes:
        badge = routing_badge(routes)
    elif not h.routes:
        badge = Text("default routing", style=MUTED)
    else:
        badge = Text("no route", style=MUTED)
    return _with_badges(Text("(no subset)", style="italic"), [badge])


NEVER_APPLIED = "policy never applied"
SELECTS_NOTHING = "selects nothing"


def selects_nothing_badge(s: SubsetAnalysis) -> Text:
    """`⚠ selects nothing`, or `✖ selects nothing` where a route sends the subset traffic."""
    severity = max(
        (f.severity for f in s.findings if f.code is Code.SUBSET_SELECTS_NOTHING),
        key=lambda v: v.rank,
        default=Severity.WARNING,
    )
    return Text(f"{severity.icon} {SELECTS_NOTHING}", style=SEVERITY_STYLE[severity])


def subset_problems(s: SubsetAnalysis) -> list[Text]:
    """The highlighted badges of a subset: icon and words."""
    out = []
    if s.policy_never_applied:
        out.append(Text(f"{Severity.WARNING.icon} {NEVER_APPLIED}", style="bold yellow"))
    if s.selects_nothing:
        out.append(selects_nothing_badge(s))
    for f in s.findings:
        if f.code not in (Code.SUBSET_POLICY_NEVER_APPLIED, Code.SUBSET_SELECTS_NOTHING):
            out.append(severity_word(f.severity) + Text(f" {f.code.value}"))
    return out


def subset_label(s: SubsetAnalysis, query: str = "", unread: Sequence[str] = ()) -> Text:
    """A subset's line; `unread`: the kinds its host's source could not read."""
    name = highlight(Text(safe(s.name), style="bold"), query)
    problems = subset_problems(s)
    badges = [*problems, routing_badge(s.routes)]
    if not s.routes and not s.policy_never_applied:
        badges.append(Text("no route", style=MUTED))
    if (not s.clients.everyone or s.clients.names) and route_clients(s.routes) != s.clients:
        # Not every client applies the DestinationRule that defines this subset.
        badges.append(Text(safe(s.clients.short()), style=MUTED))
    return _with_badges(name, badges)


def undefined_label(name: str, query: str = "") -> Text:
    return highlight(
        Text.assemble(
            (f"{Severity.ERROR.icon} undefined subset ", "bold red"), (safe(name), "bold red")
        ),
        query,
    )


def workload_status(w: Workload) -> str:
    if w.meta.ref.kind == "Pod":
        ready = {None: "", 1: "ready", 0: "not ready"}.get(w.ready, f"{w.ready} ready")
        return " ".join(p for p in (w.phase, ready) if p)
    if w.replicas is None:
        return "one per node"
    if w.ready is not None:
        return f"{w.ready}/{w.replicas} ready"
    return plural(w.replicas, "replica")


def workload_label(w: Workload, query: str = "") -> Text:
    return highlight(
        Text.assemble(safe(str(w.meta.ref)), "  ", (safe(workload_status(w)), MUTED)), query
    )


def where(meta: Meta) -> str:
    """file:line offline; namespace/name and context live."""
    origin = meta.origin
    if origin.file:
        return safe(str(origin))
    cluster = f" (context {origin.cluster})" if origin.cluster else ""
    return safe(f"{meta.ref.namespaced_name}{cluster}")


def finding_where(f: Finding) -> str:
    if f.file:
        return safe(f"{f.file}:{f.line}" if f.line else f.file)
    if f.resource is not None:
        cluster = f" (context {f.origin.cluster})" if f.origin and f.origin.cluster else ""
        return safe(f"{f.resource.namespaced_name}{cluster}")
    return ""
