"""Which files are input: explicit files as given, folders searched for YAML and JSON, and a
kustomize folder as one input (its build)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from meshtui.sources import kustomize
from meshtui.sources.documents import STDIN, STDIN_NAME

SUFFIXES = (".yaml", ".yml", ".json")


class LoadError(Exception):
    """The input could not be read at all (no such path): `check` exits 2."""


def discover(
    paths: Iterable[str | os.PathLike[str]], warnings: list[str] | None = None
) -> list[Path]:
    """The files to read: explicit files as given, folders searched for YAML and JSON.

    A folder holding a kustomization file is itself one input (built, then read), when a tool
    that builds it is installed; otherwise it is searched as any folder, and `warnings` says so.
    """
    out: list[Path] = []
    seen: set[tuple[int, int]] = set()
    builds = _Builds(warnings)
    for raw in paths:
        if str(raw) == STDIN:
            out.append(Path(STDIN_NAME))
            continue
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise LoadError(f"{raw}: no such file or directory")
        if path.is_dir():
            out += _walk(path, seen, builds)
        else:
            out.append(path)
    return out


class _Builds:
    """Whether kustomize folders are built here; the missing tool is said once."""

    def __init__(self, warnings: list[str] | None) -> None:
        self.warnings = warnings
        self.command = kustomize.build_command()

    def builds(self, folder: Path) -> bool:
        if not kustomize.is_kustomization(folder):
            return False
        if self.command is None:
            if self.warnings is not None and kustomize.NO_TOOL not in self.warnings:
                self.warnings.append(kustomize.NO_TOOL)
            return False
        return True


def _walk(root: Path, seen: set[tuple[int, int]], builds: _Builds) -> list[Path]:
    found: list[Path] = []
    # Follow links to folders, but never enter the same folder twice (symlink loops).
    for folder, dirs, files in os.walk(root, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            dirs[:] = []
            continue
        seen.add(key)
        if builds.builds(Path(folder)):
            found.append(Path(folder))  # its files are the build's input, not the mesh
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_input(name):
                path = Path(folder) / name
                # A FIFO named x.yaml blocks the read forever, a link to /dev/zero never ends:
                # in a folder only regular files are read (and broken links, to report them).
                try:
                    if not stat.S_ISREG(os.stat(path).st_mode):
                        continue
                except OSError:
                    pass
                found.append(path)
    return found


def is_input(name: str) -> bool:
    """Is a file of this name read when found in a folder?"""
    return name.endswith(SUFFIXES) and not name.startswith(".")
