"""The line of a field inside a document, looked up on demand: only for the findings that name
a field, each file read and split once, each document composed once."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

import yaml

from meshtui.mesh.batch import collector_paused
from meshtui.mesh.findings import Finding
from meshtui.mesh.resources import (
    Origin,
)
from meshtui.mesh.resources import Path as FieldPath
from meshtui.sources.documents import _Documents, _documents, read
from meshtui.sources.yaml_loader import _Loader


def _document_node(origin: Origin, data: bytes) -> tuple[yaml.Node, int] | None:
    """The composed node of the document that starts at `origin.line`, and its line offset."""
    found = _documents(data).get(origin.line or 0)
    return _compose(found[1], found[0]) if found else None


def _compose(chunk: bytes, line: int) -> tuple[yaml.Node, int] | None:
    try:
        node = yaml.compose(chunk, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None
    return (node, line - 1) if node is not None else None


def locate(origin: Origin, path: FieldPath, data: bytes | None = None) -> int | None:
    """The 1-based line of the field at `path` in the document `origin` names, if found."""
    if origin.file is None or origin.line is None:
        return None
    if data is None:
        try:
            data = read(origin.file)
        except OSError:
            return None
    return _field_line(_document_node(origin, data), origin, path)


def _field_line(found: tuple[yaml.Node, int] | None, origin: Origin, path: FieldPath) -> int | None:
    if found is None:
        return None
    node, offset = found
    full: FieldPath = (("items", origin.item) if origin.item is not None else ()) + tuple(path)
    line = node.start_mark.line
    for part in full:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    child, line = v, k.start_mark.line
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return offset + line + 1


def refine_lines(findings: Iterable[Finding]) -> list[Finding]:
    """Point findings that name a field at the field's own line.

    Each file is read and split once, and each document composed once for all its findings
    (a finding per subset of a 10,000-document file must not re-read the file each time).
    """
    with collector_paused():
        return _refine_lines(list(findings))


def _refine_lines(out: list[Finding]) -> list[Finding]:
    documents: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, f in enumerate(out):
        if f.path and f.origin is not None and f.origin.file is not None and f.origin.line:
            documents[(f.origin.file, f.origin.line)].append(i)
    chunks: _Documents | dict[int, tuple[int, bytes]] = {}
    current = None
    for (file, at), indices in sorted(documents.items()):
        if file != current:
            current = file
            try:
                chunks = _documents(read(file))
            except OSError:
                chunks = {}
        document = chunks.get(at)
        if document is not None and _one_line(document[1], document[0], at):
            continue  # every field is on the document's own line
        items = _json_items(document[1], document[0], indices, out) if document else None
        found = None
        if items is None and document is not None:
            found = _compose(document[1], document[0])
        for i in indices:
            f = out[i]
            assert f.origin is not None
            if items is not None:  # the item alone was composed: its path starts inside it
                line = _field_line(items.get(f.origin.item), replace(f.origin, item=None), f.path)
            else:
                line = _field_line(found, f.origin, f.path)
            if line is not None and line != f.origin.line:
                f = replace(f, origin=replace(f.origin, line=line))
                out[i] = f
    return out


def _one_line(chunk: bytes, start: int, at: int) -> bool:
    """Whether a document's content is all on its content line `at` (a flow-style document
    written on one line): nothing need be composed to know its fields' line. Any line break
    libyaml counts besides `\n` (`\r`, NEL, LS, PS) is left to composing."""
    offset = 0
    for _ in range(at - start):
        offset = chunk.find(b"\n", offset) + 1
        if not offset:
            return False
    rest = chunk[offset:].rstrip(b" \t\n")
    return b"\n" not in rest and b"\r" not in rest and rest.isascii()


def _json_items(
    chunk: bytes, first_line: int, indices: list[int], findings: list[Finding]
) -> dict[int | None, tuple[yaml.Node, int] | None] | None:
    """For findings in items of a JSON `kind: List` (`kubectl get -o json`), each such item
    composed alone, with its line offset; None for any other document (composed whole).

    Composing a whole list of a few MB for the fields of a few items cost more than reading
    the mesh; the items before the last one needed are only skipped by the json module."""
    wanted: set[int] = set()
    for i in indices:
        item = findings[i].origin.item if findings[i].origin is not None else None
        if item is None:
            return None
        wanted.add(item)
    if not _JSON_OBJECT.match(chunk):
        return None
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(c in text for c in _OTHER_BREAKS):
        return None  # libyaml counts these as line breaks too: compose the whole document
    try:
        spans = _item_spans(text, max(wanted))
    except (ValueError, IndexError):
        return None
    if spans is None:
        return None
    out: dict[int | None, tuple[yaml.Node, int] | None] = {}
    offset, counted = first_line - 1, 0  # lines before `counted`, counted once for all items
    for item in sorted(wanted):
        if item >= len(spans):
            out[item] = None
            continue
        start, end = spans[item]
        offset += text.count("\n", counted, start)
        counted = start
        composed = _compose(text[start:end].encode("utf-8"), 1)
        out[item] = (composed[0], offset) if composed is not None else None
    return out


_JSON_OBJECT = re.compile(rb"[ \t\n\r]*\{")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_JSON = json.JSONDecoder()


def _item_spans(text: str, last: int) -> list[tuple[int, int]] | None:
    """Where the first `last + 1` items of the top-level object's `items` array start and
    end in `text` (fewer if it has fewer); None without an `items` array."""
    space = _JSON_SPACE.match
    at = space(text).end()
    if text[at] != "{":
        return None
    at = space(text, at + 1).end()
    while text[at] == '"':
        key, at = json.decoder.scanstring(text, at + 1)
        at = space(text, at).end()
        if text[at] != ":":
            return None
        at = space(text, at + 1).end()
        if key == "items" and text[at] == "[":
            spans: list[tuple[int, int]] = []
            at = space(text, at + 1).end()
            while text[at] != "]" and len(spans) <= last:
                _, end = _JSON.raw_decode(text, at)
                spans.append((at, end))
                at = space(text, end).end()
                if text[at] == ",":
                    at = space(text, at + 1).end()
            return spans
        _, at = _JSON.raw_decode(text, at)
        at = space(text, at).end()
        if text[at] == ",":
            at = space(text, at + 1).end()
    return None
