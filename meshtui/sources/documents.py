"""The bytes of an input and the documents in them: `---` splitting, the line a person would
point at for each document, and a document's text as written."""

from __future__ import annotations

import bisect
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

from meshtui.mesh.resources import (
    Origin,
)
from meshtui.sources.yaml_loader import load_document

_DOC_MARKER = re.compile(rb"^---(?=[ \t\r\n]|$)", re.M)


def read(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes with lone CR line breaks (old Mac style) made LF.

    libyaml counts a lone CR as a line break; splitting documents and numbering lines here
    count LF. YAML reads either break as the same LF, so the documents do not change.
    Standard input (`-`) is read once and kept, so its lines can be looked up again later; so
    is the output of a build (`kustomize build DIR`), under that name."""
    name = str(path)
    if name == STDIN_NAME and STDIN_NAME not in _kept:
        _kept[STDIN_NAME] = sys.stdin.buffer.read()
    data = _kept[name] if name in _kept else Path(path).read_bytes()
    if b"\r" in data:
        data = _LONE_CR.sub(b"\n", data)
    return data


_LONE_CR = re.compile(rb"\r(?!\n)")
# `meshtui check -` reads standard input, as `kubectl apply -f -` does; its documents are
# named <stdin> in findings.
STDIN = "-"
STDIN_NAME = "<stdin>"
_kept: dict[str, bytes] = {}


def keep(name: str, data: bytes) -> None:
    """Keep generated input (a build's output) under `name`, which findings then point at."""
    _kept[name] = data


def kept(name: str) -> bool:
    """Whether input is kept under `name` (standard input read ahead, a build's output)."""
    return name in _kept


def split_documents(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (first line, bytes) of each `---`-separated document of a YAML stream."""
    starts = _marker_starts(data)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    line = 1
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        yield line, chunk
        line += chunk.count(b"\n")


def _marker_starts(data: bytes) -> list[int]:
    """Where each line that is a `---` document marker starts (what _DOC_MARKER matches).

    Found with bytes.find from newline to newline: the regular expression's `^` in
    multi-line mode is tried at every byte, seconds over a large JSON file with no marker."""
    starts = [0] if _DOC_MARKER.match(data) else []
    at = data.find(b"\n---")
    while at >= 0:
        if data[at + 4 : at + 5] in _AFTER_MARKER:
            starts.append(at + 1)
        at = data.find(b"\n---", at + 4)
    return starts


_AFTER_MARKER = (b"", b" ", b"\t", b"\r", b"\n")


def content_line(start: int, chunk: bytes) -> int:
    """The line a person would point at for a document: its first line that is not the
    `---` marker, a comment or blank (the chunk's own first line if there is none).

    Found by one regular-expression search, not by splitting the document into lines: this
    runs once per document, 78,000 times in a 10,000-host mesh."""
    pos = 0
    if _DOC_MARKER.match(chunk):
        end = chunk.find(b"\n")
        first = chunk if end < 0 else chunk[:end]
        if first.strip()[3:].strip()[:1] not in (b"", b"#"):
            return start  # `--- !tag` or `--- |`: the document starts on the marker line
        if end < 0:
            return start
        pos = end + 1
    found = _CONTENT.search(chunk, pos)
    return start if found is None else start + chunk.count(b"\n", 0, found.start())


# A line with something other than blanks (as bytes.strip() counts them) and a comment.
_CONTENT = re.compile(rb"^[ \t\r\x0b\x0c]*[^ \t\r\n\x0b\x0c#]", re.M)


class _Documents:
    """A file's documents, looked up by the line their origin names (the content line):
    (first line, bytes). The line of each document is worked out only when it is asked for,
    as a file of 78,000 documents may have findings in a few thousand."""

    def __init__(self, data: bytes) -> None:
        self.parts = list(split_documents(data))
        self.starts = [line for line, _ in self.parts]

    def get(self, line: int) -> tuple[int, bytes] | None:
        # The document whose lines hold `line`; it is the one named by it if `line` is its
        # content line (a document's content line is among its own lines).
        i = bisect.bisect_right(self.starts, line) - 1
        if i < 0:
            return None
        start, chunk = self.parts[i]
        return (start, chunk) if content_line(start, chunk) == line else None


_documents = _Documents


def document_text(origin: Origin) -> str | None:
    """The text of the document `origin` names, as written (comments included)."""
    if origin.file is None or origin.line is None:
        return None
    try:
        data = read(origin.file)
    except OSError:
        return None
    document = _documents(data).get(origin.line)
    if document is not None:
        chunk = document[1]
        if origin.item is None:
            text = chunk.decode("utf-8", errors="replace").replace("\r\n", "\n")
            return text.removeprefix("---").lstrip("\n")
        try:
            doc = load_document(chunk)
            return yaml.safe_dump(doc["items"][origin.item], sort_keys=False)
        except (yaml.YAMLError, LookupError, TypeError):
            return None
    if origin.line == 1 and origin.file.endswith(".json"):
        return data.decode("utf-8", errors="replace")
    return None
