"""`check -o json` written by several processes, each analysing a share of the hosts.

Once a large mesh is read, analysing it, finding its findings' lines, verifying their fixes
and writing the JSON is about half of what `check` does, and each host's part of it is its own.
So on a machine with more than one core this process forks a child per other core after
reading: each analyses its share of the hosts (`Mesh.analyze(share)`, share 0 being this
process's, which also has the findings of no host) and sends back its hosts' and findings'
JSON, already written; this process puts them together as one process would have written
them: hosts in host order, findings in report order (`Finding.sort_key`, a stable sort, ties
kept in the order one analysis lists them: its loose findings before its hosts'), fixes for the
first `--max-fixes` findings of that order. tests/check/test_split.py compares the two
reports byte for byte. A child that fails or dies is not an error: this process then writes
that share itself.

Only where forking is sound and pays: one mesh (no clusters or overlays to list), everything
read, a single thread (a fork copies other threads' locks as they are), and at least
SPLIT_HOSTS hosts unless `--jobs` asks for a split.
"""

from __future__ import annotations

import gc
import heapq
import os
import pickle
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from meshtui.check.report import encode, finding_json, host_json
from meshtui.mesh.analysis import Mesh, Share
from meshtui.mesh.batch import collector_paused
from meshtui.mesh.findings import Finding
from meshtui.sources import Source

# Below this many hosts one process writes the report: forking and merging cost more than
# half of a small mesh's analysis.
SPLIT_HOSTS = 2000


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def shares(meshes: Sequence[Mesh], jobs: int | None) -> int:
    """How many processes write the report: 1 unless a split is sound and pays (above)."""
    if len(meshes) != 1 or meshes[0].overlay is not None:
        return 1
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return 1
    wanted = jobs if jobs is not None else cores()
    if wanted < 2:
        return 1
    hosts = meshes[0].host_count()
    if jobs is None and hosts < SPLIT_HOSTS:
        return 1
    return max(1, min(wanted, hosts))


@dataclass(slots=True)
class Written:
    """One share's part of the report: its hosts' JSON, and per finding in its report order
    (sort key, severity, JSON text, rank among its distinct findings). The first `limit`
    distinct findings come as a dict with their fixes instead of text, since one of them
    may be among the report's first `limit` (`fixed`)."""

    hosts: list[str]
    findings: list[tuple[tuple[Any, ...], str, str | None, int]]
    fixed: dict[int, tuple[dict[str, Any], list[Any] | None]]
    suppressed: int
    notes: tuple[str, ...]
    client_data_plane: str | None


def write_share(
    source: Source,
    mesh: Mesh,
    share: Share,
    fixes: bool,
    limit: int | None,
    weight: int,
) -> Written:
    """Analyse one share of the hosts and write its part of the report."""
    analysis = mesh.analyze(share)
    found = source.refine(analysis.findings)
    renderer = None
    if fixes:
        from meshtui.sources.fix_render import FixRenderer

        renderer = FixRenderer(source, [mesh], weight=weight, limit=limit)
    with collector_paused():
        hosts = [encode(host_json(h)) for h in analysis.hosts.values()]
        ranks: dict[Finding, int] = {}
        out: list[tuple[tuple[Any, ...], str, str | None, int]] = []
        fixed: dict[int, tuple[dict[str, Any], list[Any] | None]] = {}
        for f in found:
            rank = ranks.setdefault(f, len(ranks))
            item = finding_json(f)
            if renderer is not None and (limit is None or rank < limit):
                known = renderer.fixes(f)
                listed = None if known is None else [renderer.fix_json(x, f) for x in known]
                fixed[len(out)] = (item, listed)
                out.append((f.sort_key(), f.severity.value, None, rank))
            else:
                out.append((f.sort_key(), f.severity.value, encode(item), rank))
    return Written(
        hosts,
        out,
        fixed,
        len(analysis.suppressed),
        analysis.notes,
        analysis.client_data_plane,
    )


def write_shares(
    source: Source, mesh: Mesh, count: int, fixes: bool, limit: int | None, weight: int
) -> list[Written]:
    """Every share's part, share 0 written here and the others in forked children (or here,
    where a child fails)."""
    from meshtui.mesh.validation import check_mesh

    check_mesh(mesh)  # once, before forking: every share reads the checks' findings
    children = [_fork(source, mesh, Share(i, count), fixes, limit, weight) for i in range(1, count)]
    parts = [write_share(source, mesh, Share(0, count), fixes, limit, weight)]
    for i, child in enumerate(children, 1):
        written = _collect(child)
        if written is None:
            written = write_share(source, mesh, Share(i, count), fixes, limit, weight)
        parts.append(written)
    return parts


def _fork(
    source: Source, mesh: Mesh, share: Share, fixes: bool, limit: int | None, weight: int
) -> tuple[int, int] | None:
    """A child writing `share` into a pipe: (its pid, the pipe's read end); None if none
    could start."""
    try:
        read, write = os.pipe()
    except OSError:
        return None
    gc.freeze()  # the collector need not touch (and so copy) the parent's objects
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid:
        os.close(write)
        return pid, read
    status = 1
    try:  # the child: write its share, send it, and leave without the parent's cleanup
        os.close(read)
        data = pickle.dumps(
            write_share(source, mesh, share, fixes, limit, weight), pickle.HIGHEST_PROTOCOL
        )
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        status = 0
    finally:
        os._exit(status)


def _collect(child: tuple[int, int] | None) -> Written | None:
    """What a child sent, or None if it failed."""
    if child is None:
        return None
    pid, read = child
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 1
    if status != 0:
        return None
    try:
        written = pickle.loads(data)
    except Exception:
        return None
    return written if isinstance(written, Written) else None


def merged(parts: Sequence[Written], limit: int | None) -> Iterator[tuple[str, str]]:
    """(severity, JSON text) of every finding, in report order, with the fixes of the first
    `limit` distinct findings of that order (FixRenderer's rule)."""
    ranks: list[dict[int, int]] = [{} for _ in parts]  # a share's rank -> the report's

    def keyed(n: int) -> Iterator[tuple[tuple[Any, ...], int, int]]:
        return ((entry[0], n, i) for i, entry in enumerate(parts[n].findings))

    for _, n, i in heapq.merge(*map(keyed, range(len(parts))), key=lambda e: e[0]):
        _, severity, text, local = parts[n].findings[i]
        rank = ranks[n].setdefault(local, sum(map(len, ranks)))
        if text is None:  # among its share's first `limit`: written here, fixes or not
            item, listed = parts[n].fixed[i]
            if listed is not None and (limit is None or rank < limit):
                item = item | {"fixes": listed}
            text = encode(item)
        yield severity, text


def report_parts(
    parts: Sequence[Written], limit: int | None
) -> tuple[list[str], list[str], dict[str, int]]:
    """The hosts' JSON, the findings' JSON and the count of each severity."""
    hosts = [h for part in parts for h in part.hosts]
    findings: list[str] = []
    counts: dict[str, int] = {}
    for severity, text in merged(parts, limit):
        findings.append(text)
        counts[severity] = counts.get(severity, 0) + 1
    return hosts, findings, counts
