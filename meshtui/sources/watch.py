"""Following folders as they are edited: filesystem notifications through `watchfiles`.

`watchfiles` (Rust `notify`: inotify on Linux, FSEvents on macOS) gathers a burst of changes
(an editor's save is a write, a rename and a chmod) and yields them once the filesystem is quiet
for `STEP_MS`, so a one-file save is one reload of that file.
"""

from __future__ import annotations

import os
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


class _Either:
    """Set when either event is: the watcher's stop, or one watch's own (a folder that went)."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


class Watcher:
    """Watch folders (recursively) and single files; `changed(paths)` is called from a thread,
    `changed(None)` when changes may have been missed (after a failure): look at everything.

    A folder is followed by its path, not its inode: moved away (its watch would follow it
    elsewhere) or deleted, it is `missing` until a folder is at its path again (moved back,
    re-created by `git checkout` or an editor), which is then watched and read anew."""

    def __init__(
        self,
        folders: Iterable[Path],
        files: Iterable[Path],
        changed: Callable[[set[Path] | None], None],
    ) -> None:
        # Absolute, as the notifications name them (a followed folder's own events included).
        self.folders = sorted({Path(os.path.abspath(f)) for f in folders})
        self.files = set(files)
        self.changed = changed
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.failing_since: float | None = None
        self.last_error = ""
        self.missing: dict[Path, float] = {}  # folder -> since when it is not at its path
        self._folder_stops: dict[Path, threading.Event] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for folder in self.folders:
            self._watch_folder(folder)
        if self.folders:
            # A folder's own move, deletion or re-creation shows in its parent's entries.
            parents = sorted({f.parent for f in self.folders})
            self._thread(parents, recursive=False, keep=set(self.folders), roots=True)
        if self.files:
            # A file is watched through its folder: editors save by writing a new file and
            # renaming it over the old one, which a watch on the old file's inode would miss.
            parents = sorted({f.parent for f in self.files})
            self._thread(parents, recursive=False, keep=self.files)

    def _watch_folder(self, folder: Path) -> None:
        own = threading.Event()
        with self._lock:
            old = self._folder_stops.get(folder)
            if old is not None:
                old.set()
            self._folder_stops[folder] = own
        self._thread([folder], recursive=True, keep=None, own=own)

    def _thread(
        self,
        paths: list[Path],
        *,
        recursive: bool,
        keep: set[Path] | None,
        own: threading.Event | None = None,
        roots: bool = False,
    ) -> None:
        thread = threading.Thread(
            target=self._follow,
            args=(paths, recursive, keep, own or threading.Event(), roots),
            name=f"watch {' '.join(map(str, paths))[:60]}",
            daemon=True,
        )
        thread.start()
        self.threads.append(thread)

    def _follow(
        self,
        paths: list[Path],
        recursive: bool,
        keep: set[Path] | None,
        own: threading.Event,
        roots: bool,
    ) -> None:
        attempt = 0
        stop = _Either(self.stop_event, own)
        while not stop.is_set():
            try:
                for changes in watchfiles.watch(
                    *paths,
                    watch_filter=None,
                    step=STEP_MS,
                    debounce=DEBOUNCE_MS,
                    stop_event=stop,
                    recursive=recursive,
                    rust_timeout=1_000,
                    yield_on_timeout=self.failing_since is not None,
                    raise_interrupt=False,
                ):
                    if own.is_set():
                        return
                    if self.failing_since is not None:  # back: look at what was missed
                        self.failing_since = None
                        self.last_error = ""
                        attempt = 0
                        self.changed(None)
                    found = {Path(p) for _, p in changes}
                    if keep is not None:
                        found &= keep
                    moved = found & set(self.folders)
                    if roots or moved:
                        self._roots_changed(moved)
                        found -= moved
                    if found and not roots:
                        self.changed(found)
                return
            except (OSError, RuntimeError) as err:
                if recursive and any(not p.is_dir() for p in paths):
                    self._roots_changed({p for p in paths if not p.is_dir()})
                    return  # the folder went: its parent's watch sees it come back
                if self.failing_since is None:
                    self.failing_since = time.time()
                self.last_error = str(err) or type(err).__name__
            if stop.is_set() or self.stop_event.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]):
                return
            attempt += 1

    def _roots_changed(self, folders: set[Path]) -> None:
        """A followed folder was moved, deleted or (re-)created at its path."""
        back = False
        for folder in sorted(folders):
            if folder.is_dir():
                with self._lock:
                    self.missing.pop(folder, None)
                self._watch_folder(folder)  # the folder now at the path, not the old inode
                back = True
            else:
                with self._lock:
                    self.missing.setdefault(folder, time.time())
                    own = self._folder_stops.pop(folder, None)
                if own is not None:
                    own.set()
        if back:
            self.changed(None)  # read what the folder at the path holds now

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=2)
        self.threads = []
