"""Fixes as the reports show them: whole objects, YAML, and a unified diff against the file.

The core (meshtui/mesh/fixes.py) decides and verifies fixes from the resources as read; this
module reads those resources back from their files (the offline loader keeps no raw copy),
and turns each fix into what `check` prints (JSON, text, SARIF) and what the inspector shows
and copies. A diff replaces the resource's whole document in its file, so it applies with
`patch -p1` / `git apply` and its hunks carry the file's own line numbers.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Finding
from meshtui.mesh.fix import Fix, FixedResource
from meshtui.mesh.fix_docs import plain
from meshtui.mesh.fixes import DEFAULT_WEIGHT, Fixer
from meshtui.mesh.resources import Origin, Resource
from meshtui.sources import Source
from meshtui.sources.yaml_edit import Loader as _Loader
from meshtui.sources.yaml_edit import edit_document

try:
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Dumper = yaml.SafeDumper


def dump(obj: Any) -> str:
    """One object as block-style YAML, keys in their order (what `kubectl apply -f` takes)."""
    return yaml.dump(
        obj,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=100,
        allow_unicode=False,
    )


@dataclass(slots=True)
class _Document:
    start: int  # first line of the document's span (1-based), its `---` marker included
    content: int  # the line its origin names (first content line)
    lines: list[str]  # the span's lines, with their line ends


class _FileCache:
    """Files read once, split into documents as the loader splits them, each parsed once."""

    def __init__(self) -> None:
        self._files: dict[str, list[str] | None] = {}
        self._documents: dict[str, dict[int, _Document]] = {}
        self._parsed: dict[tuple[str, int], Any] = {}

    def lines(self, file: str) -> list[str] | None:
        if file not in self._files:
            from meshtui.sources.files import read

            try:
                text = read(file).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                self._files[file] = None
            else:
                self._files[file] = text.replace("\r\n", "\n").splitlines(keepends=True)
        return self._files[file]

    def is_json(self, file: str) -> bool:
        lines = self.lines(file) or []
        head = "".join(lines[:5]).lstrip()[:1]
        return file.endswith(".json") or head in ("{", "[")

    def document(self, origin: Origin) -> _Document | None:
        if origin.file is None or origin.line is None:
            return None
        lines = self.lines(origin.file)
        if lines is None:
            return None
        if self.is_json(origin.file):
            return _Document(1, 1, lines) if origin.line == 1 else None
        if origin.file not in self._documents:
            from meshtui.sources.files import content_line, split_documents

            found = {}
            data = "".join(lines).encode("utf-8")
            for start, chunk in split_documents(data):
                n = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") or not chunk else 1)
                content = content_line(start, chunk)
                found[content] = _Document(start, content, lines[start - 1 : start - 1 + n])
            self._documents[origin.file] = found
        return self._documents[origin.file].get(origin.line)

    def parsed(self, origin: Origin) -> Any:
        """The document at `origin`, parsed (once)."""
        if origin.file is None or origin.line is None:
            return None
        key = (origin.file, origin.line)
        if key not in self._parsed:
            doc = self.document(origin)
            text = "".join(doc.lines) if doc is not None else ""
            try:
                if not text:
                    self._parsed[key] = None
                elif self.is_json(origin.file):
                    self._parsed[key] = json.loads(text)
                else:
                    self._parsed[key] = yaml.load(text, _Loader)
            except (yaml.YAMLError, ValueError, RecursionError):
                self._parsed[key] = None
        return self._parsed[key]

    def raw(self, origin: Origin) -> Mapping[str, Any] | None:
        """The object at `origin` as read (an item of a `kind: List` included)."""
        obj = self.parsed(origin)
        if origin.item is not None:
            items = obj.get("items") if isinstance(obj, Mapping) else None
            if not isinstance(items, list) or origin.item >= len(items):
                return None
            obj = items[origin.item]
        return obj if isinstance(obj, Mapping) else None


def _raw(source: Source, files: _FileCache, resource: Resource) -> Mapping[str, Any] | None:
    """A resource as read: kept with it, from its file, or the source's text of it."""
    if resource.meta.raw is not None:
        return resource.meta.raw
    origin = resource.meta.origin
    if origin.file is not None:
        return files.raw(origin)
    text = source.document_text(resource.meta)
    try:
        return yaml.load(text, _Loader) if text else None
    except (yaml.YAMLError, RecursionError):
        return None


class FixRenderer:
    """Fixes of a source's meshes, computed on demand and rendered for the reports."""

    def __init__(
        self,
        source: Source,
        meshes: Sequence[Mesh],
        weight: int = DEFAULT_WEIGHT,
        limit: int | None = None,
    ):
        self.source = source
        self.files = _FileCache()
        # The fixers' lookup names the cache and the source, not this renderer: a renderer
        # and its fixers in a reference cycle would wait for the cyclic collector, and the
        # inspector makes one per live update.
        self.fixers = [Fixer(m, partial(_raw, source, self.files), weight) for m in meshes]
        self._fixes: dict[tuple[int, Finding], list[Fix]] = {}
        # Verifying costs a re-analysis per fix: a report computes fixes for this many
        # findings (in report order), so a mesh with thousands of findings stays fast.
        self.limit = limit
        self.omitted = 0

    def fixes(self, finding: Finding, mesh: int = 0) -> list[Fix] | None:
        """The verified fixes of a finding; None past the limit (not computed)."""
        key = (mesh, finding)
        if key not in self._fixes:
            if self.limit is not None and len(self._fixes) >= self.limit:
                self.omitted += 1
                return None
            self._fixes[key] = (
                self.fixers[mesh].fixes_for(finding) if mesh < len(self.fixers) else []
            )
        return self._fixes[key]

    # -- what a fix looks like in each output -------------------------------------------

    def new_file(self, resource: FixedResource, near: Finding | None = None) -> str:
        """Where a new resource would go: beside the finding's file, named after it."""
        ref = resource.ref
        name = f"{ref.kind.lower()}-{ref.namespace}-{ref.name}.yaml"
        folder = os.path.dirname(near.file) if near is not None and near.file else ""
        return os.path.join(folder, name) if folder and not folder.startswith("<") else name

    def after_lines(self, resource: FixedResource) -> tuple[_Document, list[str]] | None:
        """The replaced document's span in its file, and the lines that replace it."""
        origin = resource.origin
        doc = self.files.document(origin) if origin is not None else None
        if doc is None or origin is None or origin.file is None:
            return None
        obj: Any = plain(resource.object)
        if origin.item is not None:
            whole = plain(self.files.parsed(origin))
            if not isinstance(whole, dict) or not isinstance(whole.get("items"), list):
                return None
            whole["items"][origin.item] = obj
            obj = whole
        if self.files.is_json(origin.file):
            text = json.dumps(obj, indent=2) + "\n"
            return doc, text.splitlines(keepends=True)
        # The changed fields edited into the document's own text (its style and comments
        # kept); else the object re-dumped, after what precedes it (`---`, comments).
        edited = edit_document("".join(doc.lines), self.files.parsed(origin), obj)
        if edited is not None:
            return doc, edited.splitlines(keepends=True)
        keep = doc.lines[: doc.content - doc.start]
        new = dump(obj).splitlines(keepends=True)
        trailing = []
        for line in reversed(doc.lines[len(keep) :]):
            if line.strip():
                break
            trailing.insert(0, line)
        return doc, keep + new + trailing

    def diff(self, resource: FixedResource, near: Finding | None = None) -> str:
        """A unified diff of the resource against its file (or of a new file).

        Only the resource's document and a few lines around it are compared, with the
        file's line numbers in the hunk headers."""
        origin = resource.origin
        if resource.replaces is None:
            path = self.new_file(resource, near)
            new = dump(plain(resource.object)).splitlines(keepends=True)
            return "".join(difflib.unified_diff([], new, "/dev/null", _side("b", path), n=3))
        span = self.after_lines(resource) if origin and origin.item is None else None
        if span is not None and origin is not None and origin.file is not None:
            doc, new = span
            lines = self.files.lines(origin.file) or []
            first = max(doc.start - 1 - _CONTEXT, 0)
            end = doc.start - 1 + len(doc.lines)
            before, after = lines[first : doc.start - 1], lines[end : end + _CONTEXT]
            hunks = difflib.unified_diff(
                before + doc.lines + after,
                before + new + after,
                _side("a", origin.file),
                _side("b", origin.file),
                n=3,
            )
            return "".join(_shift(line, first) for line in hunks)
        # Live, or an item of a `kind: List`: the object as read against the fixed one.
        label = str(resource.replaces)
        if origin is not None and origin.file is not None:
            label = f"{origin.file} ({label}, item {origin.item} of line {origin.line})"
        old = dump(plain(resource.before or {})).splitlines(keepends=True)
        new = dump(plain(resource.object)).splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, _side("a", label), _side("b", label), n=3))

    def yaml(self, fix: Fix) -> str:
        """The fix's objects as one multi-document YAML stream, for `kubectl apply -f -`."""
        return "---\n".join(dump(plain(r.object)) for r in fix.resources)

    def fix_json(self, fix: Fix, near: Finding | None = None) -> dict[str, Any]:
        return {
            "title": fix.title,
            "description": fix.description,
            "resources": [plain(r.object) for r in fix.resources],
            "replaces": [str(r.replaces) if r.replaces else None for r in fix.resources],
            "diff": "".join(self.diff(r, near) for r in fix.resources),
        }

    def sarif_fix(self, fix: Fix, uri: Any) -> dict[str, Any] | None:
        """A SARIF `fix`: each file-backed resource's document replaced by the fixed one."""
        changes = []
        for r in fix.resources:
            span = self.after_lines(r) if r.replaces is not None else None
            if span is None or r.origin is None or r.origin.file is None:
                continue
            doc, new = span
            end = doc.start + len(doc.lines) - 1
            changes.append(
                {
                    "artifactLocation": {"uri": uri(r.origin.file)},
                    "replacements": [
                        {
                            "deletedRegion": {"startLine": doc.start, "endLine": end},
                            "insertedContent": {"text": "".join(new).removesuffix("\n")},
                        }
                    ],
                }
            )
        if not changes:
            return None
        return {
            "description": {"text": f"{fix.title}: {fix.description}"},
            "artifactChanges": changes,
        }


_CONTEXT = 3
_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def _shift(line: str, offset: int) -> str:
    """A diff line of a file's excerpt, renumbered to the whole file's lines."""
    m = _HUNK.match(line)
    if not m:
        return line
    old, new = int(m.group(1)) + offset, int(m.group(3)) + offset
    return f"@@ -{old}{m.group(2) or ''} +{new}{m.group(4) or ''} @@\n"


def _side(prefix: str, path: object) -> str:
    """A diff header's file as git writes it: `a/` + the path relative to the working
    directory, or without its leading `/` when it lies elsewhere (never `a//tmp/...`)."""
    text = str(path)
    if os.path.isabs(text):
        relative = os.path.relpath(text)
        text = relative if not relative.startswith("..") else text.lstrip("/")
    return f"{prefix}/{text}"
