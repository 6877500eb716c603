"""What one input (a file, or a kustomize folder's build) contributed to the mesh: read whole,
or, when following, with the documents that did not change taken from the last read."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import Resource
from meshtui.sources.fast_yaml import FastParser
from meshtui.sources.reading import LoadResult, load_file


@dataclass
class Unit:
    """What one input contributed, and the file's identity when it was read (a changed size,
    time or inode means it must be read again)."""

    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    objects: int = 0
    stamp: tuple[int, ...] | None = None
    built: bool = False  # a kustomize folder's build
    documents: dict[tuple[int, bytes], Any] | None = None  # what each document gave (following)
    skipped: Counter[str] = field(default_factory=Counter)  # kinds not analysed (files.py)
    notes: list[str] = field(default_factory=list)  # a remote base not fetched, ...
    fallbacks: list[tuple[str, int, str]] = field(default_factory=list)  # read by PyYAML


def stamp(path: Path) -> tuple[int, ...] | None:
    """size, mtime, ctime and inode: a file rewritten in place or replaced changes one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def read_unit(
    path: Path,
    namespace: str,
    last: Unit | None = None,
    follow: bool = False,
    fast: FastParser | None = None,
) -> Unit:
    """Read one input as a whole read would (its findings and resources). When following,
    the documents of the `last` read that did not change are taken as they were; `fast`
    reads documents with rapidyaml where it can (files.fast_reading)."""
    built = path.is_dir()
    before = None if built else stamp(path)
    result = LoadResult(namespace=namespace, fast=fast)
    if follow:
        result.memo = (last.documents if last is not None else None) or {}
    load_file(path, result)
    documents = result.kept if follow else None
    unit = Unit(
        result.resources,
        result.findings,
        result.objects,
        before,
        built,
        documents,
        result.skipped,
        result.notes,
    )
    unit.fallbacks = result.fallbacks
    return unit
