"""The tree's filter line: the tree follows what is typed, host by host.

Rebuilding thousands of hosts per keystroke would lag behind the typing, so on a big mesh the
line waits for a pause before it applies the query.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.timer import Timer
from textual.widgets import Input

from meshtui.tui.widgets.text_line import TextLine

# Above this many hosts, the filter waits for a pause in the typing before it rebuilds the tree.
DEBOUNCE_HOSTS = 2_000
DEBOUNCE_SECONDS = 0.2


class FilterLine(TextLine):
    """Calls `apply(query)` as the query changes; `hosts()` says how big the mesh is."""

    def __init__(
        self, apply: Callable[[str], None], hosts: Callable[[], int], *, id: str | None = None
    ) -> None:
        super().__init__(
            placeholder="filter: host, subset, label, pod or route", id=id, disabled=True
        )
        self._apply = apply
        self._hosts = hosts
        self._timer: Timer | None = None

    def open(self) -> None:
        self.disabled = False
        self.add_class("-visible")

    def close(self) -> None:
        self.remove_class("-visible")
        self.disabled = True

    @on(Input.Changed)
    def _changed(self) -> None:
        self._cancel()
        if self._hosts() > DEBOUNCE_HOSTS:
            self._timer = self.set_timer(DEBOUNCE_SECONDS, self.flush)
        else:
            self.flush()

    def _cancel(self) -> bool:
        pending = self._timer is not None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        return pending

    def flush(self) -> None:
        """Apply what is typed now (enter, or the pause after typing)."""
        self._timer = None
        self._apply(self.value.strip())

    def submit_pending(self) -> None:
        """Enter: a query still waiting for the pause is applied now."""
        if self._cancel():
            self.flush()

    def clear(self) -> None:
        """Empty the line without applying anything (the caller shows every host)."""
        self._cancel()
        if self.value:
            with self.prevent(Input.Changed):
                self.value = ""
