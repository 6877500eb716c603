"""`check -o json` written by several processes, each analysing a share of the hosts.

Once a large mesh is read, analysing it, finding its findings' lines, verifying their fixes
and writing the JSON is about half of what `check` does, and each host's part of it is its own.
So on a machine with more than one core this process forks a child per other core after
reading. In a first round each analyses its share of the hosts (`Mesh.analyze(share)`, share 0
being this process's, which also has the findings of no host) and sends back its hosts' and
findings' JSON, already written; this process puts the findings in the order one process
lists them (`Finding.sort_key`, a stable sort: ties stay in the order of one analysis, its
loose findings before its hosts'). In a second round the fixes of the first `--max-fixes`
distinct findings of that order (FixRenderer's rule) are verified, dealt out to every process
alike whichever share found them (a verification is a re-analysis: most of the first findings
are in the first share). tests/check/test_split.py compares the reports byte for byte. A child
that fails or dies is not an error: this process does its work instead.

Only where forking is sound and pays: one mesh (no clusters or overlays to list), everything
read, a single thread (a fork copies other threads' locks as they are), and at least
SPLIT_HOSTS hosts unless `--jobs` asks for a split.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from typing import TYPE_CHECKING, Any

from meshtui.check.report import encode, finding_json, host_json
from meshtui.mesh.analysis import Mesh, Share
from meshtui.mesh.batch import collector_paused
from meshtui.mesh.findings import Finding
from meshtui.mesh.validation import check_mesh
from meshtui.sources import Source
from meshtui.sources.parallel import cores

if TYPE_CHECKING:
    from meshtui.sources.fix_render import FixRenderer

# Below this many hosts one process writes the report: forking and merging cost more than
# half of a small mesh's analysis.
SPLIT_HOSTS = 2000
# This process's share, as a part of an even one: it also gathers the others' parts, puts the
# findings in order and writes the report, and with fixes it verifies those of its first
# findings while the others finish (Report._meanwhile): most of the report's first findings
# are this share's, and a verification (a re-analysis, about 10 ms) costs what analysing some
# twenty hosts does, so --max-fixes 100 at 10,000 hosts is about a fifth of a share.
FIRST_SHARE = 0.9
FIRST_SHARE_WITH_FIXES = 0.8

Fixes = list[dict[str, Any]]  # a finding's fixes as the JSON report lists them
Checks = dict[str | None, list[Finding]]  # check_mesh's findings, by host


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
    (sort key, severity, JSON text, rank among its distinct findings). A finding among its
    share's first `limit` distinct ones may be among the report's, whose fixes are listed:
    its JSON comes as a dict (`items`), and the finding itself (`candidates`, by rank)."""

    hosts: list[str]
    findings: list[tuple[tuple[Any, ...], str, str | None, int]]
    items: dict[int, dict[str, Any]]
    candidates: dict[int, Finding]
    suppressed: int
    notes: tuple[str, ...]
    client_data_plane: str | None


def write_share(
    source: Source,
    mesh: Mesh,
    share: Share,
    fixes: bool,
    limit: int | None,
    checks: Checks | None = None,
) -> Written:
    """Analyse one share of the hosts and write its part of the report, fixes aside;
    `checks`: the checks' findings, if another process found them."""
    analysis = mesh.analyze(share, checks)
    found = source.refine(analysis.findings)
    with collector_paused():
        hosts = [encode(host_json(h)) for h in analysis.hosts.values()]
        ranks: dict[Finding, int] = {}
        out: list[tuple[tuple[Any, ...], str, str | None, int]] = []
        items: dict[int, dict[str, Any]] = {}
        candidates: dict[int, Finding] = {}
        for f in found:
            rank = ranks.setdefault(f, len(ranks))
            item = finding_json(f)
            if fixes and (limit is None or rank < limit):
                items[len(out)] = item
                candidates[rank] = f
                out.append((f.sort_key(), f.severity.value, None, rank))
            else:
                out.append((f.sort_key(), f.severity.value, encode(item), rank))
    return Written(
        hosts,
        out,
        items,
        candidates,
        len(analysis.suppressed),
        analysis.notes,
        analysis.client_data_plane,
    )


def verify(renderer: FixRenderer | None, findings: Sequence[Finding]) -> list[Fixes]:
    """Each finding's verified fixes, as the JSON report lists them."""
    if renderer is None:
        return [[] for _ in findings]
    with collector_paused():
        return [[renderer.fix_json(x, f) for x in renderer.fixes(f) or ()] for f in findings]


class Report:
    """The report's hosts and findings, written by `count` processes."""

    def __init__(
        self,
        source: Source,
        mesh: Mesh,
        count: int,
        fixes: bool,
        limit: int | None,
        weight: int,
    ) -> None:
        self.source, self.mesh, self.count = source, mesh, count
        self.fixes, self.limit, self.weight = fixes, limit, weight
        self.parts: list[Written] = []
        self.verified: dict[tuple[int, int], Fixes] = {}  # (share, its rank): fixes
        self._fixer: FixRenderer | None = None

    def _renderer(self) -> FixRenderer | None:
        if not self.fixes:
            return None
        if self._fixer is None:
            from meshtui.sources.fix_render import FixRenderer

            self._fixer = FixRenderer(self.source, [self.mesh], weight=self.weight)
        return self._fixer

    def _share(self, index: int) -> Share:
        first = FIRST_SHARE_WITH_FIXES if self.fixes and self.limit != 0 else FIRST_SHARE
        return Share(index, self.count, first / self.count)

    def _write(self, index: int, checks: Checks | None = None) -> Written:
        share = self._share(index)
        return write_share(self.source, self.mesh, share, self.fixes, self.limit, checks)

    def _meanwhile(self, children: list[tuple[int, Connection] | None]) -> None:
        """Until every child has sent its share, verify the fixes of this share's first
        findings: in report order they come first in each severity, so the report most
        likely lists their fixes, and this share is the smaller one (FIRST_SHARE)."""
        own = self.parts[0].candidates
        for rank in sorted(own):
            if all(child is None or child[1].poll() for child in children):
                return
            self.verified[(0, rank)] = verify(self._renderer(), [own[rank]])[0]

    def write(self) -> tuple[list[str], list[str], dict[str, int]]:
        """The hosts' JSON, the findings' JSON and the count of each severity."""
        children = [self._fork(i) for i in range(1, self.count)]
        # The first child finds the mesh-wide checks' findings first and sends them, while
        # this process analyses its hosts (which do not need them).
        self.mesh.analyze_hosts(self._share(0))
        checks = _receive(children[0])
        if not isinstance(checks, dict):  # it failed: find them here
            children[0] = None
            checks = None
        self.parts = [self._write(0, checks)]
        self._meanwhile(children)
        for i, child in enumerate(children, 1):
            written = _receive(child)
            if not isinstance(written, Written):  # it failed: write its share here
                children[i - 1] = None
                written = self._write(i)
            self.parts.append(written)
        order = list(self._order())
        fixed = self._verify(order, children)
        hosts = [h for part in self.parts for h in part.hosts]
        findings: list[str] = []
        counts: dict[str, int] = {}
        for n, i, rank in order:
            _, severity, text, local = self.parts[n].findings[i]
            if text is None:  # among its share's first `limit`: written here, fixes or not
                item = self.parts[n].items[i]
                first = self.limit is None or rank < self.limit  # else verified in vain
                listed = fixed.get((n, local)) if first else None
                text = encode(item if listed is None else item | {"fixes": listed})
            findings.append(text)
            counts[severity] = counts.get(severity, 0) + 1
        return hosts, findings, counts

    def _order(self) -> Iterator[tuple[int, int, int]]:
        """(share, index in it, rank among the report's distinct findings) of every finding,
        in report order."""
        ranks: list[dict[int, int]] = [{} for _ in self.parts]  # a share's rank -> report's

        def keyed(n: int) -> Iterator[tuple[tuple[Any, ...], int, int]]:
            return ((entry[0], n, i) for i, entry in enumerate(self.parts[n].findings))

        merged = heapq.merge(*map(keyed, range(len(self.parts))), key=lambda e: e[0])
        for _, n, i in merged:
            local = self.parts[n].findings[i][3]
            yield n, i, ranks[n].setdefault(local, sum(map(len, ranks)))

    def _verify(
        self, order: list[tuple[int, int, int]], children: list[tuple[int, Connection] | None]
    ) -> dict[tuple[int, int], Fixes]:
        """The fixes of the report's first `limit` distinct findings, by (share, rank in it),
        verified by every process in turn."""
        wanted: list[tuple[int, int]] = []  # (share, its rank), in report order
        if self.fixes:
            seen = set(self.verified)
            for n, i, rank in order:
                key = (n, self.parts[n].findings[i][3])
                if (self.limit is None or rank < self.limit) and key not in seen:
                    seen.add(key)
                    wanted.append(key)
        workers = [None, *children]  # this process, then each child (None: failed)
        alive = [k for k, child in enumerate(workers) if k == 0 or child is not None]
        dealt: list[list[tuple[int, int]]] = [[] for _ in workers]
        for j, key in enumerate(wanted):
            dealt[alive[j % len(alive)]].append(key)
        for child, keys in zip(workers[1:], dealt[1:], strict=True):
            if child is not None:
                _send(child, [self.parts[n].candidates[r] for n, r in keys])
        out = dict(self.verified)
        renderer = self._renderer()
        mine = dealt[0]
        found = verify(renderer, [self.parts[n].candidates[r] for n, r in mine])
        out.update(zip(mine, found, strict=True))
        for child, keys in zip(workers[1:], dealt[1:], strict=True):
            got = _receive(child)
            if not isinstance(got, list) or len(got) != len(keys):  # it failed: verify here
                got = verify(renderer, [self.parts[n].candidates[r] for n, r in keys])
            elif child is not None:
                _close(child)
            out.update(zip(keys, got, strict=True))
        return out

    def _fork(self, index: int) -> tuple[int, Connection] | None:
        """A child writing share `index`, then verifying the fixes it is sent: (its pid, its
        end of the pipe); None if none could start."""
        try:
            here, there = Pipe()
        except OSError:
            return None
        gc.freeze()  # the child's collector need not touch (and so copy) the parent's objects
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            here.close()
            there.close()
            return None
        if pid:
            gc.unfreeze()  # this process's heap is as it was
            there.close()
            return pid, here
        status = 1
        try:  # the child: leave without the parent's cleanup, whatever happens
            here.close()
            if index == 1:  # the first child: the checks' findings first, for this process
                there.send(dict(check_mesh(self.mesh)[0]))
            there.send(self._write(index))
            findings = there.recv()
            there.send(verify(self._renderer(), findings))
            status = 0
        finally:
            os._exit(status)


def _send(child: tuple[int, Connection], value: Any) -> None:
    with contextlib.suppress(OSError, ValueError):  # it died: _receive says so
        child[1].send(value)


def _receive(child: tuple[int, Connection] | None) -> Any:
    """What a child sent next, or None if it failed (then it is reaped)."""
    if child is None:
        return None
    try:
        return child[1].recv()
    except Exception:  # EOF, a broken pipe, what would not unpickle
        _close(child)
        return None


def _close(child: tuple[int, Connection]) -> None:
    pid, conn = child
    conn.close()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
