"""kustomize folders: built as `kubectl apply -k` would build them, and the output read.

A folder holding a kustomization file means "build me": its `namespace:`, patches and
generators change the resources, so reading its YAML files one by one gives a mesh that is not
the one applied. meshtui runs `kustomize build DIR`, or `kubectl kustomize DIR` when only kubectl
is installed, and reads the output as it would read a file named `kustomize build DIR`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

# The names kustomize itself looks for (sigs.k8s.io/kustomize/api/konfig:
# RecognizedKustomizationFileNames).
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BUILD_TIMEOUT_SECONDS = 120
NO_TOOL = (
    "kustomize folders are read as plain YAML: neither kustomize nor kubectl is installed, "
    "so their namespace, patches and generators are not applied"
)


def is_kustomization(folder: Path) -> bool:
    """Does `folder` hold a kustomization file?"""
    return any((folder / name).is_file() for name in KUSTOMIZATION_FILES)


def kustomization_file(folder: Path) -> Path:
    """The kustomization file of a folder (the first kustomize recognises)."""
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return folder / KUSTOMIZATION_FILES[0]


def build_command() -> list[str] | None:
    """How to build here: `kustomize build`, else `kubectl kustomize`, else None."""
    tool = shutil.which("kustomize")
    if tool:
        return [tool, "build"]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    return None


def build_name(folder: Path) -> str:
    """The name findings give the build output: what one would run to see it."""
    return f"kustomize build {folder}"


@dataclass(frozen=True)
class Build:
    """The output of one build, or why there is none."""

    output: bytes
    error: str = ""
    remote: str = ""  # a remote base the build could not fetch (offline), if that is why


# What a remote kustomize resource looks like (kustomize's remote targets: git URLs, go-getter
# style `github.com/org/repo//path?ref=`), and the stderr of a failed fetch.
_REMOTE = re.compile(
    r"(?:https?://|ssh://|git@|git::|(?:github\.com|gitlab\.com|bitbucket\.org)/)[^\s'\"]+"
)
_FETCH_FAILED = ("git fetch", "git clone", "Could not resolve host", "unable to access")


def build(folder: Path, command: list[str]) -> Build:
    """Run the build; a failure is its first line of error output, never an exception."""
    try:
        done = subprocess.run(
            [*command, os.fspath(folder)],
            capture_output=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Build(b"", f"did not finish within {BUILD_TIMEOUT_SECONDS} s")
    except OSError as err:
        return Build(b"", str(err.strerror or err))
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", errors="replace").strip()
        first = next((line for line in text.splitlines() if line.strip()), "")
        remote = _REMOTE.search(text) if any(m in text for m in _FETCH_FAILED) else None
        return Build(
            b"",
            first.removeprefix("Error: ") or f"exit status {done.returncode}",
            remote.group(0) if remote else "",
        )
    return Build(done.stdout)


# -- Which kustomizations are alternatives, and building them ---------------------------------


def local_references(folder: Path) -> list[Path]:
    """The local folders a kustomization builds on (`resources`, `bases`, `components` that
    are directories); remote ones and files are not folders of this tree."""
    try:
        doc = yaml.safe_load(kustomization_file(folder).read_bytes())
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for key in ("resources", "bases", "components"):
        entries = doc.get(key)
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, str) or _REMOTE.match(entry) or "://" in entry:
                continue
            path = Path(os.path.normpath(folder / entry))
            if path.is_dir() and is_kustomization(path):
                out.append(path)
    return out


def closure(folder: Path, refs: Callable[[Path], list[Path]] = local_references) -> list[Path]:
    """`folder` and every local kustomization it builds on, transitively (cycles stop)."""
    seen: dict[Path, None] = {}
    todo = [folder]
    while todo:
        here = todo.pop()
        if here in seen:
            continue
        seen[here] = None
        todo += refs(here)
    return list(seen)


@dataclass(frozen=True)
class Plan:
    """What to build among the kustomize folders found: `shared` are built for every mesh;
    each tuple of `alternatives` holds overlays of one base, of which a mesh takes one (as
    one applies one overlay, not all of them); `bases` are built only inside their overlays."""

    shared: tuple[Path, ...] = ()
    alternatives: tuple[tuple[Path, ...], ...] = ()
    bases: tuple[Path, ...] = ()


def plan(folders: list[Path], refs: Callable[[Path], list[Path]] = local_references) -> Plan:
    """Group the kustomize folders a walk found (kubeflow's layout: `base/` with `overlays/a`
    and `overlays/b`): a folder another one builds on is a base; folders that build on a
    common base are alternatives; the rest stand alone."""
    reach = {f: set(closure(f, refs)) for f in folders}
    # In a cycle (which kustomize refuses) no folder is the other's base: each is built, and
    # its build's error is a finding.
    bases = {f for f in folders if any(f in reach[o] and o not in reach[f] for o in folders)}
    roots = [f for f in folders if f not in bases]
    # Roots sharing any folder of their trees are one family (union-find over the roots).
    parent = {r: r for r in roots}

    def find(r: Path) -> Path:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for i, a in enumerate(roots):
        for b in roots[i + 1 :]:
            if reach[a] & reach[b]:
                parent[find(b)] = find(a)
    families: dict[Path, list[Path]] = {}
    for r in roots:
        families.setdefault(find(r), []).append(r)
    return Plan(
        shared=tuple(f[0] for f in families.values() if len(f) == 1),
        alternatives=tuple(tuple(f) for f in families.values() if len(f) > 1),
        bases=tuple(sorted(bases)),
    )


def tree_digest(folder: Path, refs: Callable[[Path], list[Path]] = local_references) -> str:
    """A digest of everything a build of `folder` reads from this tree: every file under the
    folder and under the local kustomizations it builds on (names and bytes)."""
    digest = hashlib.blake2b(digest_size=20)
    for root in sorted(closure(folder, refs)):
        for here, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                path = Path(here) / name
                try:
                    data = path.read_bytes()
                except OSError:
                    data = b"\0unreadable"
                digest.update(os.fsencode(path) + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


# Builds by the digest of their tree: a rebuild of unchanged input is not run again (a followed
# folder re-reads on every save; an overlay's edit leaves its siblings' builds as they were).
_CACHE: dict[tuple[str, tuple[str, ...]], Build] = {}
_CACHE_SIZE = 256


def cached_build(folder: Path, command: list[str]) -> Build:
    """`build`, or the last build of the same content with the same command. Failures other
    than an unreachable remote base are not kept (the next read tries again)."""
    key = (tree_digest(folder), (*command, os.fspath(folder)))
    found = _CACHE.get(key)
    if found is not None:
        return found
    done = build(folder, command)
    if not done.error or done.remote:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = done
    return done


def build_all(folders: list[Path], command: list[str]) -> dict[Path, Build]:
    """Build several folders at once (each build is a process of its own), through the cache."""
    if len(folders) <= 1:
        return {f: cached_build(f, command) for f in folders}
    workers = min(len(folders), max(2, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        built = pool.map(lambda f: cached_build(f, command), folders)
        return dict(zip(folders, built, strict=True))
