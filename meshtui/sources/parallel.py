"""A large folder's files read in worker processes beside this one, in the order they are given.

Parsing is most of a large folder's load, and one process parses on one core: the files past
this process's own share go, in batches, to `cpu_count - 1` worker processes, which read each
exactly as this process would (units.read_unit, rapidyaml where it reads as PyYAML does) and
send back what it contributed. This process reads the first files itself meanwhile (the
inspector's preview comes from them), then takes the batches back in order, so the units come
out in the order of the inputs whoever read them (tests/sources/test_parallel_reading.py reads
every corpus both ways). Inputs read here only: kustomize builds and standard input, which live
in this process (documents.keep), and small folders, where starting workers costs more than it
saves. A pool that cannot start or breaks is not an error: its files are read here instead.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from meshtui.mesh.batch import collector_paused
from meshtui.sources import fast_yaml
from meshtui.sources.documents import kept
from meshtui.sources.units import Unit, read_unit

# Below this many bytes of files a folder is read in this process: starting a worker (a fork,
# or a fresh interpreter importing the loader when threads run) costs a few hundred ms at most,
# and this much YAML takes a second or more to read.
PARALLEL_BYTES = 8 << 20
# Files are sent to workers in batches of about this many bytes: few enough round trips, and
# small enough that the last batch does not keep one core busy long after the others.
BATCH_BYTES = 1 << 20
# This process's share is a little more than an even split: it also unpickles the workers'
# units, while the workers also pickle them and start up.
OWN_SHARE_BONUS = 1.08
# An interactive reader (the inspector) reads only this much itself, the first files, which its
# preview shows; the rest goes to a worker on every core, so that parsing never holds the
# interface's interpreter lock.
INTERACTIVE_OWN_BYTES = 1 << 20

Reader = Callable[[Path], Unit]

_parser: fast_yaml.FastParser | None = None  # a worker's own rapidyaml tree


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Reading:
    """What a read with workers did, for `--verbose`: how many files, how many of them the
    workers read, and with how many workers."""

    def __init__(self) -> None:
        self.files = 0
        self.by_workers = 0
        self.workers = 0
        self.method = ""  # how the workers were started: fork, forkserver

    def note(self) -> str | None:
        if not self.by_workers:
            return None
        plural = "es" if self.workers != 1 else ""
        return (
            f"{self.by_workers} of {self.files} files read by {self.workers} worker "
            f"process{plural} ({self.method}) beside this one"
        )


def read_units(
    inputs: Sequence[Path],
    reader: Reader,
    namespace: str,
    follow: bool = False,
    fast: bool = True,
    tally: Reading | None = None,
    interactive: bool = False,
) -> Iterator[tuple[Path, Unit]]:
    """(input, unit) for every input, in order: `reader` reads here, workers read the rest.

    `fast` is whether rapidyaml reads where it can (the caller's choice for its own reads).
    Workers: one fewer than the cores, so that this process keeps one; none for a folder of
    less than PARALLEL_BYTES. `interactive`: this process draws an interface meanwhile, and
    reads only the first INTERACTIVE_OWN_BYTES itself, with a worker on every core. `tally` is
    told what the workers read."""
    tally = tally if tally is not None else Reading()
    tally.files = len(inputs)
    available = cores()
    workers = available if interactive and available > 1 else available - 1
    shareable = {p: size for p in inputs if (size := _size(p)) is not None}
    total = sum(shareable.values())
    if workers < 1 or total < PARALLEL_BYTES or len(shareable) < 2:
        for path in inputs:
            yield path, reader(path)
        return
    share = INTERACTIVE_OWN_BYTES if interactive else total / (workers + 1) * OWN_SHARE_BONUS
    own = _own_share(shareable, share)
    batches = _batches({p: size for p, size in shareable.items() if p not in own})
    pool, tally.method = _pool(workers)
    futures: dict[Path, tuple[Future[list[Unit]], int]] = {}
    try:
        if pool is not None:
            tally.workers = workers
            for batch in batches:
                future = pool.submit(_read_batch, [str(p) for p in batch], namespace, follow, fast)
                for i, path in enumerate(batch):
                    futures[path] = (future, i)
        for path in inputs:
            unit = _from_worker(futures.get(path))
            if unit is None:
                unit = reader(path)
            else:
                tally.by_workers += 1
            yield path, unit
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _size(path: Path) -> int | None:
    """A regular file's size, if a worker may read it; None for what only this process can
    read (a kustomize folder, standard input, a build's kept output)."""
    if kept(str(path)):
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _own_share(sizes: dict[Path, int], share: float) -> set[Path]:
    """The first files, up to `share` bytes: read here while the workers read the rest."""
    own: set[Path] = set()
    taken = 0
    for path, size in sizes.items():
        if taken >= share:
            break
        own.add(path)
        taken += size
    return own


def _batches(sizes: dict[Path, int]) -> list[list[Path]]:
    """The files in input order, in batches of about BATCH_BYTES."""
    batches: list[list[Path]] = []
    batch: list[Path] = []
    size = 0
    for path, bytes_ in sizes.items():
        batch.append(path)
        size += bytes_
        if size >= BATCH_BYTES:
            batches.append(batch)
            batch, size = [], 0
    if batch:
        batches.append(batch)
    return batches


def _pool(workers: int) -> tuple[ProcessPoolExecutor | None, str]:
    """Worker processes: forked when this process runs one thread (the CLI: nothing to copy
    but the loader, already imported), otherwise started fresh from a fork server (the
    inspector reads in a worker thread, and a fork copies other threads' locks as they are)."""
    method = "fork" if threading.active_count() == 1 else "forkserver"
    try:
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload([__name__])
        return ProcessPoolExecutor(max_workers=workers, mp_context=context), method
    except (OSError, ValueError):  # no fork on this platform, no processes left
        return None, method


def _from_worker(entry: tuple[Future[list[Unit]], int] | None) -> Unit | None:
    """The unit a worker read, or None when none did (its batch failed: read it here)."""
    if entry is None:
        return None
    future, i = entry
    try:
        return future.result()[i]
    except Exception:  # a broken pool, a unit that would not pickle: read here instead
        return None


def _read_batch(paths: list[str], namespace: str, follow: bool, fast: bool) -> list[Unit]:
    """In a worker: read each file as units.read_unit reads it here."""
    global _parser
    if fast and _parser is None and fast_yaml.available():
        _parser = fast_yaml.FastParser()
    parser = _parser if fast else None
    with collector_paused(), fast_yaml.quiet_stderr():
        return [read_unit(Path(p), namespace, follow=follow, fast=parser) for p in paths]
