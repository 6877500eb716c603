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
    if status.startswith(("stale", "down", "folder missing")):
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

    _parts: tuple[Text, Text, Text | None, Text | None, list[Text], str] | None = None

    def summarize(
        self, label: str, view: MeshView | None, status: str, loading: bool, partial: str = ""
    ) -> None:
        counts: Text | None = None
        findings: Text | None = None
        if view is not None:
            counts = Text(
                f"{plural(view.host_count, 'host')} · {plural(view.subset_count, 'subset')}"
                f" · {plural(view.workload_count, 'workload')}"
            )
            badge = counts_badge(view.counts())
            findings = badge if badge else Text("✔ no findings", style="bold green")
            if view.preview:  # part of the input: its verdicts would be premature
                findings = Text(f"{view.preview} · verdicts when all is read", style="bold")
        tail = []
        if loading:
            tail.append(Text("⟳ loading…", style="bold"))
        if status:
            tail.append(status_text(status))
        name = Text("meshtui", style="bold")
        source = Text(safe(label) or "(no source)")
        self._parts = (name, source, counts, findings, tail, partial)
        self._show()

    def _show(self) -> None:
        """What fits on the line: on a narrow terminal the findings and the live status stay;
        the partial-read marker shortens first (`?` names the kinds), then the counts go, then
        the source's name is shortened."""
        if self._parts is None:
            return
        name, source, counts, findings, tail, partial = self._parts
        sep = Text(" │ ", style=MUTED)
        room = self.content_region.width or 1_000
        marker = None
        if partial:  # kinds a live source could not read: details under `?`
            marker = Text(f"◐ partial: {safe(partial)}", style="bold yellow")

        def line(*parts: Text | None) -> Text:
            return sep.join([p for p in parts if p is not None])

        text = line(name, source, counts, findings, *tail, marker)
        if text.cell_len > room and marker is not None:
            marker = Text("◐ partial (?)", style="bold yellow")  # the help names them
            text = line(name, source, counts, findings, *tail, marker)
        if text.cell_len > room:
            text = line(name, source, findings, *tail, marker)
        if text.cell_len > room:
            rest = line(findings, *tail, marker).cell_len + name.cell_len + 2 * sep.cell_len
            keep = max(room - rest - 1, 4)
            if source.cell_len > keep:
                source = Text("…" + source.plain[-keep + 1 :], style=source.style)
            text = line(name, source, findings, *tail, marker)
        self.update(text)

    def on_resize(self) -> None:
        self._show()
