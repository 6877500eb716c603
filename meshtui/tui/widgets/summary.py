"""The header line: the source, what it holds, and its findings by severity."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from meshtui.tui.model import MeshView
from meshtui.tui.text import MUTED, counts_badge, plural, safe


def status_text(status: str) -> Text:
    """A live source's status, with an icon: `● live`, `⟳ reconnecting`, `⚠ stale since …`."""
    if status == "live":
        return Text("● live", style="bold green")
    if status == "reconnecting":
        return Text("⟳ reconnecting", style="bold yellow")
    if status.startswith("stale"):
        return Text(f"⚠ {safe(status)}", style="bold red")
    return Text(safe(status), style="bold")


class SummaryBar(Static):
    """`meshtui │ source │ 4 hosts · 8 subsets · 6 workloads │ ⚠ 1 warning │ status`."""

    DEFAULT_CSS = """
    SummaryBar {
        dock: top;
        height: 1;
        padding: 0 1;
    }
    """

    _parts: tuple[Text, Text, Text | None, Text | None, list[Text]] | None = None

    def summarize(self, label: str, view: MeshView | None, status: str, loading: bool) -> None:
        counts: Text | None = None
        findings: Text | None = None
        if view is not None:
            counts = Text(
                f"{plural(view.host_count, 'host')} · {plural(view.subset_count, 'subset')}"
                f" · {plural(view.workload_count, 'workload')}"
            )
            badge = counts_badge(view.counts())
            findings = badge if badge else Text("✔ no findings", style="bold green")
        tail = []
        if loading:
            tail.append(Text("⟳ loading…", style="bold"))
        if status:
            tail.append(status_text(status))
        self._parts = (Text("meshtui", style="bold"), Text(safe(label) or "(no source)"), counts,
                       findings, tail)  # fmt: skip
        self._show()

    def _show(self) -> None:
        """On a narrow terminal the findings and the live status stay: the counts go first,
        then the source is shortened."""
        if self._parts is None:
            return
        name, source, counts, findings, tail = self._parts
        sep = Text(" │ ", style=MUTED)
        room = self.content_region.width or 1_000

        def line(*parts: Text | None) -> Text:
            return sep.join([p for p in parts if p is not None])

        text = line(name, source, counts, findings, *tail)
        if text.cell_len > room:
            text = line(name, source, findings, *tail)
        if text.cell_len > room:
            rest = line(findings, *tail).cell_len + len(name) + 2 * sep.cell_len
            keep = max(room - rest - 1, 4)
            if source.cell_len > keep:
                source = Text("…" + source.plain[-keep + 1 :], style=source.style)
            text = line(name, source, findings, *tail)
        self.update(text)

    def on_resize(self) -> None:
        self._show()
