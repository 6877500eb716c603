"""The inspector's request trace: a small form, then the request's path through the mesh.

`t` on a host or subset opens it. The form asks who sends the request and what it looks like;
the answer is drawn as a path (client → VS rule → weights → subset → DR → policy → pods), and
when the form closes the tree marks every host, subset and default route the request reaches.
The core (meshtui.mesh.trace) decides everything; this module only asks and draws.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from meshtui.mesh.analysis import HostAnalysis
from meshtui.mesh.findings import Severity
from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import ObjectRef
from meshtui.mesh.trace import (
    Client,
    Hop,
    Trace,
    TraceError,
    default_port,
    failing_share,
    find_workload,
    located,
    trace,
)
from meshtui.sources import Source
from meshtui.tui.model import Kind, MeshView, NodeRef
from meshtui.tui.style import MUTED, SEVERITY_STYLE, safe
from meshtui.tui.widgets.mesh_tree import MeshTree

REACHED_STYLE = "bold reverse green"
FAILED_STYLE = SEVERITY_STYLE[Severity.ERROR]


@frozen
class TraceForm:
    """What the person typed: who sends the request, and the request."""

    namespace: str
    port: str
    path: str
    method: str
    headers: str  # `name: value`, several separated by `;`


Tracer = Callable[[TraceForm], Trace]


def parse_headers(written: str) -> dict[str, str]:
    out = {}
    for item in written.split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise TraceError(f"header {item.strip()!r} is not 'name: value'")
        out[name.strip().lower()] = value.strip()
    return out


# -- the path view -------------------------------------------------------------------------------


def _json(value: object) -> str:
    return safe(json.dumps(value, sort_keys=True))


def _hop(out: Text, hop: Hop, last: bool) -> None:
    branch, stem = ("└─", "  ") if last else ("├─", "│ ")
    out.append(f"  {branch} {hop.weight:>3}% ", style="bold")
    out.append("→ ")
    out.append(safe(hop.host), style="bold")
    if hop.port:
        out.append(f":{hop.port}")
    out.append(" → ")
    out.append(f"subset {safe(hop.subset)}" if hop.subset else "(no subset)", style="bold")
    dr = hop.destination_rule
    out.append(" → ")
    out.append(f"DR {safe(dr.meta.ref.namespaced_name)}" if dr else "no DR", style="cyan")
    out.append("\n")
    fields = [f for f in hop.policy.fields if f.value not in (None, {}, [])]
    out.append(f"  {stem}      policy ", style=MUTED)
    if not fields:
        out.append("Istio's defaults\n", style=MUTED)
    for i, f in enumerate(fields):
        if i:
            out.append(f"  {stem}             ", style=MUTED)
        out.append(f"{f.name} ")
        out.append(_json(f.value))
        out.append(f"  ({f.level.value})\n", style=MUTED)
    out.append(f"  {stem}      pods   ", style=MUTED)
    if hop.workloads is None:
        out.append("not known\n", style=MUTED)
    elif not hop.workloads:
        out.append("none\n", style=FAILED_STYLE)
    else:
        out.append(", ".join(safe(w.meta.ref.name) for w in hop.workloads) + "\n")


def _written(vs: ObjectRef, written_in: ObjectRef | None) -> str:
    """`VS ns/name`, or the Gateway API route the rule is written in: `HTTPRoute ns/name`."""
    if written_in is not None and written_in.kind != "VirtualService":
        return f"{written_in.kind} {safe(written_in.namespaced_name)}"
    return f"VS {safe(vs.namespaced_name)}"


def path_view(t: Trace) -> Text:
    """The trace as a path, one step per line: the request, the rule, then each destination."""
    out = Text()
    out.append("client  ", style=MUTED)
    out.append(safe(t.client.describe()) + "\n", style="bold")
    r = t.request
    out.append(f"  │ {r.method} {safe(r.path)} → {safe(t.host)}:{t.port} ({t.protocol})\n")
    if t.proxy and t.proxy != f"sidecar in {t.client.namespace}" and not t.client.gateway:
        out.append("proxy   ", style=MUTED)  # the data plane decides (ztunnel, a waypoint)
        out.append(safe(t.proxy) + "\n", style="bold")
    out.append("rule    ", style=MUTED)
    if t.default_route:
        out.append("no VirtualService: default route\n", style="bold")
    elif t.rule and t.virtual_service:
        out.append(f"{_written(t.virtual_service, t.written_in)} {t.rule}", style="bold green")
        if t.rule_name:
            out.append(f" {safe(t.rule_name)!r}", style="green")
        if t.delegate:
            out.append(f" → delegate {safe(t.delegate.namespaced_name)} {t.delegate_rule}")
        out.append("\n")
        if t.rule_location:
            out.append(f"  │ {safe(t.rule_location)}\n", style=MUTED)
    else:
        out.append("no rule matches\n", style=FAILED_STYLE)
    for s in t.skipped:
        out.append(f"  │ skipped {_written(s.virtual_service, s.written_in)} {s.rule}", style=MUTED)
        if s.delegate:
            out.append(f" (delegate {safe(s.delegate.namespaced_name)} {s.delegate_rule})")
        out.append(f": {safe(s.why)}\n", style=MUTED)
    for i, hop in enumerate(t.destinations):
        _hop(out, hop, i == len(t.destinations) - 1)
    for hop in t.mirrors:
        out.append(f"  mirrored {hop.weight}% → {safe(hop.host)}", style=MUTED)
        out.append(f" subset {safe(hop.subset)}\n" if hop.subset else "\n", style=MUTED)
    extras = [
        f"{k} {_json(t.actions[k])}" for k in ("timeout", "retries", "fault") if k in t.actions
    ]
    if extras:
        out.append("rule sets " + "; ".join(extras) + "\n", style=MUTED)
    if t.problems:
        share = failing_share(t)
        if share < 100:  # a split: only the share sent where it fails fails
            out.append(f"✖ {share}% of these requests fail:\n", style=FAILED_STYLE)
        for p in t.problems:
            out.append(f"✖ {safe(p)}\n", style=FAILED_STYLE)
    else:
        out.append("✓ the request gets through\n", style="bold green")
    return out


def reached(t: Trace, cluster: int, namespace_of: Callable[[str], str | None]) -> list[NodeRef]:
    """The tree nodes the request reaches: each destination's host and subset (or default)."""
    out: list[NodeRef] = []
    for hop in t.destinations:
        if hop.weight <= 0:
            continue
        namespace = namespace_of(hop.host)
        if namespace is None:
            continue
        out.append(NodeRef(Kind.HOST, cluster, namespace, hop.host))
        if hop.subset:
            kind = Kind.SUBSET if hop.subset_rule is not None else Kind.UNDEFINED
            out.append(NodeRef(kind, cluster, namespace, hop.host, hop.subset))
        else:
            out.append(NodeRef(Kind.DEFAULT, cluster, namespace, hop.host))
    return list(dict.fromkeys(out))


# -- the form --------------------------------------------------------------------------------------


class TraceScreen(ModalScreen[Trace | None]):
    """Asks for a request to a host, traces it on enter, and shows its path."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close and mark the path in the tree"),
        # The fields take letters and arrows; the path, longer than a small terminal, scrolls.
        Binding("pagedown,ctrl+d", "scroll_result(1)", "Scroll the path down", show=False),
        Binding("pageup,ctrl+u", "scroll_result(-1)", "Scroll the path up", show=False),
    ]
    SHORT = 30  # below this many rows the fields lose their spacing

    DEFAULT_CSS = """
    TraceScreen {
        align: center middle;
    }
    TraceScreen > Vertical {
        width: 100;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        padding: 0 1;
        background: $surface;
    }
    TraceScreen Horizontal {
        height: 1;
        margin: 0 0 1 0;
    }
    TraceScreen Label {
        width: 10;
    }
    TraceScreen Input, TraceScreen Input:focus {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
    }
    TraceScreen Input:focus {
        background: $accent 30%;
    }
    TraceScreen.-short Horizontal {
        margin: 0;
    }
    TraceScreen #trace-result-scroll {
        height: auto;
        max-height: 26;
    }
    """

    def __init__(self, host: str, form: TraceForm, tracer: Tracer) -> None:
        super().__init__()
        self.host = host
        self.form = form
        self.tracer = tracer
        self.result: Trace | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Text(f"trace a request to {safe(self.host)}")
            box.border_subtitle = "enter trace · tab next field · pgup/pgdn scroll · esc close"
            for label, name, value, hint in (
                ("from ns", "namespace", self.form.namespace, "client namespace[/workload]"),
                ("port", "port", self.form.port, "port"),
                ("path", "path", self.form.path, "/path?query"),
                ("method", "method", self.form.method, "GET"),
                ("headers", "headers", self.form.headers, "name: value; name: value"),
            ):
                with Horizontal():
                    yield Label(label)
                    yield Input(value, placeholder=hint, id=f"trace-{name}")
            with VerticalScroll(id="trace-result-scroll"):
                yield Static(
                    Text("Press enter to trace.", style=MUTED), id="trace-result", markup=False
                )

    def on_resize(self) -> None:
        self._fit()

    def on_mount(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Give the path the rows the form leaves (it scrolls within them), so the whole box
        stays on screen: at 80x24 the path of a split is longer than what is left."""
        rows = self.size.height
        if not rows:
            return
        self.set_class(rows < self.SHORT, "-short")
        fields = 5 if rows < self.SHORT else 10
        scroll = self.query_one("#trace-result-scroll", VerticalScroll)
        scroll.styles.max_height = max(3, min(26, rows - fields - 2))

    def action_scroll_result(self, pages: int) -> None:
        scroll = self.query_one("#trace-result-scroll", VerticalScroll)
        if pages > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def _value(self, name: str) -> str:
        return self.query_one(f"#trace-{name}", Input).value

    @on(Input.Submitted)
    def run_trace(self) -> None:
        """Trace the request the form describes and draw its path."""
        form = TraceForm(
            *(self._value(n) for n in ("namespace", "port", "path", "method", "headers"))
        )
        result = self.query_one("#trace-result", Static)
        try:
            self.result = self.tracer(form)
        except TraceError as err:
            self.result = None
            result.update(Text(safe(str(err)), style=FAILED_STYLE))
            return
        result.update(path_view(self.result))

    def action_close(self) -> None:
        self.dismiss(self.result)


# -- what the app wires in ---------------------------------------------------------------------


def tracer(source: Source, cluster: int, host: str) -> Tracer:
    """Trace requests to `host` in the source's mesh of `cluster`, under its lock."""

    def run(form: TraceForm) -> Trace:
        with source.lock:  # a live source's watch threads change its meshes
            if cluster >= len(source.meshes):
                raise TraceError("the mesh is not loaded")
            mesh = source.meshes[cluster]
            namespace, _, name = form.namespace.strip().partition("/")
            if not namespace:
                raise TraceError("say which namespace the request comes from")
            workload = find_workload(mesh, namespace, name) if name else None
            if name and workload is None:
                raise TraceError(f"no workload {name!r} in namespace {namespace}")
            port_text = form.port.strip()
            if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
                raise TraceError(f"port {port_text!r} is not a number from 1 to 65535")
            port = int(port_text) if port_text else default_port(mesh, host, None)
            found = trace(
                mesh,
                Client(namespace, workload, name=name),
                host,
                port,
                path=form.path.strip() or "/",
                method=form.method.strip() or "GET",
                headers=parse_headers(form.headers),
            )
        return located(found, lambda f: source.refine([f])[0])

    return run


def first_form(host: HostAnalysis, client_namespace: str | None) -> TraceForm:
    """The form as it opens: from the client view's namespace (key c) when one is chosen,
    else the host's own, to its first port."""
    ports = [p.number for p in host.ports]
    return TraceForm(
        namespace=client_namespace or host.namespace or "default",
        port=str(ports[0]) if ports else "",
        path="/",
        method="GET",
        headers="",
    )


Marks = dict[NodeRef, tuple[Text, Text]]
"""The labels the last trace replaced, and the marked labels it put in their place."""


def mark_reached(
    tree: MeshTree, view: MeshView | None, result: Trace | None, cluster: int, marked: Marks
) -> None:
    """Mark in the tree what the last trace reached (and unmark what the one before did)."""
    for ref, (original, shown) in marked.items():
        node = tree.node_for(ref)
        # A reload or live update since then relabelled the node: its label is current.
        if node is not None and isinstance(node.label, Text) and node.label.plain == shown.plain:
            node.set_label(original)
    marked.clear()
    if result is None or view is None:
        return

    def namespace_of(host: str) -> str | None:
        entry = view.entry_for(cluster, host)
        return entry.namespace if entry else None

    weights = {(h.host, h.subset): h.weight for h in result.destinations}
    refs = reached(result, cluster, namespace_of)
    for ref in refs:
        node = tree.node_for(ref)
        if node is None:
            continue
        original = node.label.copy() if isinstance(node.label, Text) else Text(str(node.label))
        share = weights.get((ref.host, ref.subset), 0)
        badge = " ◀ traced" if ref.kind is Kind.HOST else f" ◀ {share}% of the trace"
        shown = original + Text(badge, style=REACHED_STYLE)
        marked[ref] = (original, shown)
        node.set_label(shown)
    if refs:
        # Open what the request reaches, so the marks show, but leave the cursor where it
        # was: closing the trace must not move the person's place in the tree.
        cursor = tree.cursor_node.data if tree.cursor_node is not None else None
        for ref in refs:
            tree.reveal(ref)
        if cursor is not None:
            tree.reveal(cursor)
