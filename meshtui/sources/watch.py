"""Following folders as they are edited: filesystem notifications through `watchfiles`.

`watchfiles` (Rust `notify`: inotify on Linux, FSEvents on macOS) gathers a burst of changes
(an editor's save is a write, a rename and a chmod) and yields them once the filesystem is quiet
for `STEP_MS`, so a one-file save is one reload of that file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

# Changes are handed over once nothing changed for this long (an editor's save is several
# events within a few milliseconds), and at the latest after DEBOUNCE_MS of continuous change.
STEP_MS = 20
DEBOUNCE_MS = 400
# A watch that fails (a folder removed, inotify's limit reached) is opened again after these
# pauses; what changed meanwhile is found by reading every file's size and time again.
BACKOFF = (1.0, 2.0, 5.0, 10.0)


class Watcher:
    """Watch folders (recursively) and single files; `changed(paths)` is called from a thread,
    `changed(None)` when changes may have been missed (after a failure): look at everything."""

    def __init__(
        self,
        folders: Iterable[Path],
        files: Iterable[Path],
        changed: Callable[[set[Path] | None], None],
    ) -> None:
        self.folders = sorted(set(folders))
        self.files = set(files)
        self.changed = changed
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.failing_since: float | None = None
        self.last_error = ""

    def start(self) -> None:
        if self.folders:
            self._thread(self.folders, recursive=True, keep=None)
        if self.files:
            # A file is watched through its folder: editors save by writing a new file and
            # renaming it over the old one, which a watch on the old file's inode would miss.
            parents = sorted({f.parent for f in self.files})
            self._thread(parents, recursive=False, keep=self.files)

    def _thread(self, paths: list[Path], *, recursive: bool, keep: set[Path] | None) -> None:
        thread = threading.Thread(
            target=self._follow,
            args=(paths, recursive, keep),
            name=f"watch {' '.join(map(str, paths))[:60]}",
            daemon=True,
        )
        thread.start()
        self.threads.append(thread)

    def _follow(self, paths: list[Path], recursive: bool, keep: set[Path] | None) -> None:
        attempt = 0
        while not self.stop_event.is_set():
            try:
                for changes in watchfiles.watch(
                    *paths,
                    watch_filter=None,
                    step=STEP_MS,
                    debounce=DEBOUNCE_MS,
                    stop_event=self.stop_event,
                    recursive=recursive,
                    rust_timeout=1_000,
                    yield_on_timeout=self.failing_since is not None,
                    raise_interrupt=False,
                ):
                    if self.failing_since is not None:  # back: look at what was missed
                        self.failing_since = None
                        self.last_error = ""
                        attempt = 0
                        self.changed(None)
                    found = {Path(p) for _, p in changes}
                    if keep is not None:
                        found &= keep
                    if found:
                        self.changed(found)
                return
            except (OSError, RuntimeError) as err:
                if self.failing_since is None:
                    self.failing_since = time.time()
                self.last_error = str(err) or type(err).__name__
            if self.stop_event.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]):
                return
            attempt += 1

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=2)
        self.threads = []
