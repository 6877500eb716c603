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

    _last: tuple[str, MeshView | None, str, bool, str] | None = None

    def on_resize(self) -> None:
        if self._last is not None:  # what fits on the line depends on its width
            self.summarize(*self._last)

    def summarize(
        self, label: str, view: MeshView | None, status: str, loading: bool, partial: str = ""
    ) -> None:
        self._last = (label, view, status, loading, partial)
        sep = Text(" │ ", style=MUTED)
        parts = [Text("meshtui", style="bold"), Text(safe(label) or "(no source)")]
        if view is not None:
            parts.append(
                Text(
                    f"{plural(view.host_count, 'host')} · {plural(view.subset_count, 'subset')}"
                    f" · {plural(view.workload_count, 'workload')}"
                )
            )
            counts = counts_badge(view.counts())
            parts.append(counts if counts else Text("✔ no findings", style="bold green"))
        if loading:
            parts.append(Text("⟳ loading…", style="bold"))
        if status:
            parts.append(status_text(status))
        if partial:  # kinds a live source could not read: details under `?`
            marker = Text(f"◐ partial: {safe(partial)}", style="bold yellow")
            if len(sep.join([*parts, marker])) > self.size.width - 2:
                marker = Text("◐ partial (?)", style="bold yellow")  # the help names them
            parts.append(marker)
        self.update(sep.join(parts))
