"""A git revision as a source: `REV:PATH` read from the repository of the working directory,
without a checkout (`git ls-tree` and `git cat-file`, which only read), so `meshtui diff
origin/main:mesh mesh` compares a branch with the working tree.

Each file is kept under its `REV:PATH` name (sources.files.keep), so findings point at
`origin/main:mesh/reviews.yaml:12` and the loader reads it as it reads any file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

from meshtui.mesh.hosts import MeshConfig
from meshtui.sources.files import LoadError, is_input, keep
from meshtui.sources.folder import FileSource, Key

GIT_TIMEOUT = 60.0


def is_revision(spec: str) -> bool:
    """Whether a side is `REV:PATH` rather than a file: it has a colon, and no file of that
    name exists (a file wins, as `git` itself would have it with `--`)."""
    rev, sep, _ = spec.partition(":")
    return bool(sep and rev) and not os.path.lexists(spec)


def _git(args: list[str], what: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise LoadError(f"{what}: git is not installed") from None
    except subprocess.TimeoutExpired:
        raise LoadError(f"{what}: git did not answer in {GIT_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise LoadError(f"{what}: {message[-1] if message else 'git failed'}")
    return done.stdout


class RevisionSource(FileSource):
    """The YAML and JSON files under PATH in git revision REV."""

    def __init__(
        self, spec: str, config: MeshConfig | None = None, *, namespace: str | None = None
    ) -> None:
        super().__init__([spec], config, namespace=namespace, follow=False)
        self.revision, _, path = spec.partition(":")
        self.path = path  # "" is the whole tree, as `git show REV:` has it
        self._order: dict[Path, Key] = {}

    def _inputs(self, warnings: list[str]) -> list[Path]:
        spec = f"{self.revision}:{self.path}"
        _git(["rev-parse", "--git-dir"], spec)  # "not a git repository" said as git says it
        try:
            _git(["rev-parse", "--verify", "--quiet", f"{self.revision}^{{commit}}"], spec)
        except LoadError:
            raise LoadError(
                f"{spec}: unknown revision {self.revision!r} in the git repository of {os.getcwd()}"
            ) from None
        # As in `git show REV:PATH`, PATH is from the repository's top unless it starts with
        # ./ or ../ (from the working directory).
        relative = self.path.startswith(("./", "../")) or self.path in (".", "..")
        scope = [] if relative else ["--full-tree"]
        where = ["--", self.path] if self.path else []
        listing = _git(["ls-tree", "-r", "-z", "--full-name", *scope, self.revision, *where], spec)
        entries = []
        for item in listing.split(b"\0"):
            if not item:
                continue
            meta, _, name = item.partition(b"\t")
            mode, kind, oid = meta.split(b" ")
            path = name.decode("utf-8", "surrogateescape")
            parts = PurePosixPath(path).parts
            if kind != b"blob" or mode == b"120000" or not is_input(parts[-1]):
                continue
            if any(p.startswith(".") for p in parts[:-1]):
                continue
            entries.append((parts, oid.decode()))
        if not entries:
            raise LoadError(
                f"{spec}: no YAML or JSON file at {self.path or 'the top'} in {self.revision}"
            )
        # A folder's files before its subfolders, each sorted: the order of a folder's read.
        entries.sort(key=lambda e: (tuple((1, p) for p in e[0][:-1]), (0, e[0][-1])))
        blobs = self._blobs([oid for _, oid in entries], spec)
        out = []
        for i, ((parts, _), data) in enumerate(zip(entries, blobs, strict=True)):
            name = Path(f"{self.revision}:{'/'.join(parts)}")
            keep(str(name), data)
            self._order[name] = (0, ((0, f"{i:09d}"),))
            out.append(name)
        return out

    def _blobs(self, oids: list[str], what: str) -> list[bytes]:
        """Every blob's bytes through one `git cat-file --batch`."""
        data = _git_input(["cat-file", "--batch"], "\n".join(oids) + "\n", what)
        out = []
        at = 0
        for _ in oids:
            end = data.index(b"\n", at)
            header = data[at:end].split(b" ")
            if len(header) != 3:
                raise LoadError(f"{what}: git cat-file: {header[0].decode()} is missing")
            size = int(header[2])
            out.append(data[end + 1 : end + 1 + size])
            at = end + 1 + size + 1
        return out

    def key(self, path: Path) -> Key | None:
        return self._order.get(path)


def _git_input(args: list[str], text: str, what: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args],
            input=text.encode(),
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as err:
        raise LoadError(f"{what}: git: {err}") from None
    if done.returncode != 0:
        raise LoadError(f"{what}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout
