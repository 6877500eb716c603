"""The offline source: a folder (recursive) or files of Kubernetes YAML or JSON.

Each file is split at its `---` document markers before parsing, so one broken document is
reported (file and line) while the documents around it still load. Parsing uses PyYAML's C
loader; the line of a document is known from the split, and the line of a field inside it is
looked up only for the few findings that point at one.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import re
import stat
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from meshtui.mesh.batch import collector_paused
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.resources import (
    InvalidField,
    ObjectRef,
    Origin,
    Resource,
    Workload,
    format_path,
    parse_object,
)
from meshtui.mesh.resources import Path as FieldPath
from meshtui.sources import fast_yaml, kustomize
from meshtui.sources.fast_yaml import Fallback, FastParser
from meshtui.sources.yaml_loader import _Loader, load_document

SUFFIXES = (".yaml", ".yml", ".json")
# A document that expands (through aliases) to more nodes than this is refused, so an alias
# bomb ("billion laughs") cannot eat the machine.
MAX_EXPANDED_NODES = 200_000
# Below that cap, aliases may still multiply a document at most this many times (past a small
# allowance): a policy is printed again for every subset and port it reaches, so 50 bombs just
# under the cap (a 26 KB file) made `check -o json` print 480 MB in 2.7 GB of memory.
ALIAS_EXPANSION_RATIO = 10
ALIAS_EXPANSION_ALLOWANCE = 1_000
# libyaml's composer recurses in C: a document nested some 25,000 levels deep overflows the
# stack and kills the process (a segfault, not an exception). Kubernetes objects are a few
# dozen levels deep at most, so deeper documents are refused before they are composed.
MAX_NESTING = 200
# A line starting with this many indentation or indicator characters may nest deeply: the first
# line, or one after a newline (searched for from the newline, which the regex engine finds
# fast, rather than with `^` and re.M, which it tries at every byte: 3x slower per document).
_DEEP_FIRST = re.compile(rb"[ \t?:-]{%d}" % (MAX_NESTING // 4))
_DEEP_BLOCK = re.compile(rb"\n[ \t?:-]{%d}" % (MAX_NESTING // 4))
_DOC_MARKER = re.compile(rb"^---(?=[ \t\r\n]|$)", re.M)


class LoadError(Exception):
    """The input could not be read at all (no such path): `check` exits 2."""


@dataclass
class LoadResult:
    """What reading gave: resources, findings of reading, and how much was looked at.

    `namespace` is given to resources written without one (`kubectl apply -n`); `objects`
    counts Kubernetes objects (a mapping with a `kind`), whether meshtui models them or not,
    so that input holding none can be told apart from a mesh with no hosts."""

    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    objects: int = 0
    namespace: str = "default"
    warnings: list[str] = field(default_factory=list)
    # What each document of a file gave, by its line and a digest of its bytes: given the last
    # read's (`memo`), unchanged documents are not parsed again; `kept` is this read's.
    memo: dict[tuple[int, bytes], tuple[list[Resource], list[Finding], int]] | None = None
    kept: dict[tuple[int, bytes], tuple[list[Resource], list[Finding], int]] = field(
        default_factory=dict
    )
    # rapidyaml for the documents it reads as PyYAML does (fast_yaml.py); None: PyYAML only.
    fast: FastParser | None = None
    # The documents PyYAML read instead, and why: (file, line, reason), for --verbose.
    fallbacks: list[tuple[str, int, str]] = field(default_factory=list)


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


def load(
    paths: Iterable[str | os.PathLike[str]], namespace: str | None = None, fast: bool = False
) -> LoadResult:
    """Read every file; unreadable or broken input becomes error findings, never an exception.

    `namespace` is that of resources written without one (default: `default`). `fast`: read
    with rapidyaml where it gives what PyYAML gives (fast_yaml.py); it silences standard error
    meanwhile, so not while the inspector draws there."""
    result = LoadResult(namespace=namespace or "default")
    with collector_paused(), fast_reading(result, fast):
        for path in discover(paths, result.warnings):
            result.files += 1
            load_file(path, result)
    return result


@contextmanager
def fast_reading(result: LoadResult, fast: bool) -> Iterator[None]:
    """Read `result`'s documents with rapidyaml meanwhile, when asked and installed."""
    if not fast or not fast_yaml.available():
        yield
        return
    result.fast = FastParser()
    try:
        with fast_yaml.quiet_stderr():
            yield
    finally:
        result.fast = None


def fallback_notes(fallbacks: Iterable[tuple[str, int, str]]) -> list[str]:
    """One line per file whose documents (some of them) PyYAML read instead of rapidyaml."""
    by_file: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for file, line, reason in fallbacks:
        by_file[file].append((line, reason))
    out = []
    for file, found in by_file.items():
        shown = "; ".join(f"line {line}: {reason}" for line, reason in found[:3])
        more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
        count = f"{len(found)} document{'s' if len(found) != 1 else ''}"
        out.append(f"{file}: {count} read by PyYAML ({shown}{more})")
    return out


def _error(code: Code, file: str, line: int, message: str, item: int | None = None) -> Finding:
    return Finding(code, message, origin=Origin(file=file, line=line, item=item))


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


def load_file(path: Path, result: LoadResult) -> None:
    """Read one input (a file, or a kustomize folder's build) into `result`."""
    if path.is_dir():
        _load_build(path, result)
        return
    _load_data(str(path), result)


def _load_build(folder: Path, result: LoadResult) -> None:
    """Build a kustomize folder and read the output, named `kustomize build DIR` in findings
    (its lines are those of the output, which `kubectl kustomize DIR` prints again)."""
    name = kustomize.build_name(folder)
    command = kustomize.build_command()
    built = kustomize.build(folder, command) if command else kustomize.Build(b"", "no tool")
    if built.error:
        source = str(kustomize.kustomization_file(folder))
        message = f"{name} failed: {built.error}"
        result.findings.append(_error(Code.PARSE_ERROR, source, 1, message))
        return
    keep(name, built.output)
    _load_data(name, result)


def _load_data(name: str, result: LoadResult) -> None:
    try:
        data = read(name)
    except OSError as err:
        result.findings.append(
            _error(Code.PARSE_ERROR, name, 1, f"cannot read {name}: {err.strerror or err}")
        )
        return
    if b"\x00" in data:
        result.findings.append(
            _error(Code.PARSE_ERROR, name, 1, f"{name} is a binary file, not YAML or JSON")
        )
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        result.findings.append(
            _error(Code.PARSE_ERROR, name, line, f"{name} is not UTF-8 text (byte {err.start})")
        )
        return
    if name.endswith(".json") or data.lstrip()[:1] in (b"{", b"["):
        try:
            doc = json.loads(data, parse_constant=_not_finite, parse_float=_finite_float)
        except _NotFinite as err:
            line = data.count(b"\n", 0, max(data.find(str(err).encode()), 0)) + 1
            message = f"{name}:{line}: {err} is not a number JSON can hold"
            result.findings.append(_error(Code.PARSE_ERROR, name, line, message))
            return
        except RecursionError:
            result.findings.append(_error(Code.PARSE_ERROR, name, 1, f"{name}: nesting too deep"))
            return
        except ValueError:
            pass  # not JSON after all: YAML is a superset, let the YAML path report it
        else:
            _add_document(doc, name, 1, result)
            return
    memo = result.memo
    for line, chunk in split_documents(data):
        if memo is None:
            doc = _parse_chunk(chunk, name, line, result)
            if doc is not None:
                _add_document(doc, name, content_line(line, chunk), result)
            continue
        # Following edits: a document unchanged, at the same line, is what it was.
        key = (line, hashlib.blake2b(chunk, digest_size=16).digest())
        known = memo.get(key)
        if known is None:
            marks = len(result.resources), len(result.findings), result.objects
            doc = _parse_chunk(chunk, name, line, result)
            if doc is not None:
                _add_document(doc, name, content_line(line, chunk), result)
            known = (
                result.resources[marks[0] :],
                result.findings[marks[1] :],
                result.objects - marks[2],
            )
        else:
            result.resources += known[0]
            result.findings += known[1]
            result.objects += known[2]
        result.kept[key] = known


class _NotFinite(ValueError):
    pass


def _not_finite(token: str) -> float:
    raise _NotFinite(token)  # NaN, Infinity: Python's json accepts them, JSON does not


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _NotFinite(token)
    return value


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


def _parse_chunk(chunk: bytes, file: str, line: int, result: LoadResult) -> Any:
    try:
        _check_nesting(chunk)
        if result.fast is not None:
            try:
                return result.fast.parse(chunk)
            except Fallback as err:
                result.fallbacks.append((file, content_line(line, chunk), err.reason))
        if b"&" in chunk and b"*" in chunk:
            _check_aliases(chunk)
        return load_document(chunk)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = line + (mark.line if mark else 0)
        message = f"{file}:{at}: {err.problem or err.context or 'invalid YAML'}"
        result.findings.append(_error(Code.PARSE_ERROR, file, at, message))
    except (yaml.YAMLError, RecursionError, _TooLarge) as err:
        reason = "nesting too deep" if isinstance(err, RecursionError) else str(err)
        result.findings.append(_error(Code.PARSE_ERROR, file, line, f"{file}:{line}: {reason}"))
    return None


class _TooLarge(Exception):
    pass


def _check_nesting(chunk: bytes) -> None:
    """Refuse documents nested deeper than MAX_NESTING, before libyaml composes them."""
    # Cheap bound first: flow nesting takes a bracket per level, block nesting at least one
    # column of indentation or indicators per two levels.
    if (
        chunk.count(b"[") + chunk.count(b"{") < MAX_NESTING // 2
        and not _DEEP_FIRST.match(chunk)
        and not _DEEP_BLOCK.search(chunk)
    ):
        return
    depth = 0
    for event in yaml.parse(chunk, Loader=_Loader):  # libyaml's parser does not recurse
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise yaml.MarkedYAMLError(
                    problem=f"nested deeper than {MAX_NESTING} levels",
                    problem_mark=event.start_mark,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_aliases(chunk: bytes) -> None:
    """Refuse documents whose aliases expand beyond MAX_EXPANDED_NODES, or many times over."""
    node = yaml.compose(chunk, Loader=_Loader)
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            if sizes[key] == 0:  # still being counted: the node contains itself
                raise yaml.MarkedYAMLError(
                    problem="an alias refers to the node that contains it (a recursive structure)",
                    problem_mark=n.start_mark,
                )
            return sizes[key]
        sizes[key] = 0
        total = 1
        if isinstance(n, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total += sum(size(v) for v in n.value)
        if total > MAX_EXPANDED_NODES:
            raise _TooLarge(f"aliases expand to more than {MAX_EXPANDED_NODES} nodes")
        sizes[key] = total
        return total

    if node is not None:
        total = size(node)
        allowed = max(ALIAS_EXPANSION_ALLOWANCE, ALIAS_EXPANSION_RATIO * len(sizes))
        if total > allowed:
            raise _TooLarge(
                f"aliases expand {len(sizes)} nodes to {total} (at most {allowed} allowed)"
            )


def _add_document(doc: Any, file: str, line: int, result: LoadResult) -> None:
    if not isinstance(doc, Mapping):
        return  # not a Kubernetes object: skipped silently
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        items = doc.get("items")
        if not isinstance(items, list):
            result.findings.append(
                _error(Code.INVALID_RESOURCE, file, line, f"{file}:{line}: items must be a list")
            )
            return
        for i, item in enumerate(items):
            _add_object(item, Origin(file=file, line=line, item=i), result)
        return
    _add_object(doc, Origin(file=file, line=line), result)


def _add_object(obj: Any, origin: Origin, result: LoadResult) -> None:
    if not isinstance(obj, Mapping):
        return
    if isinstance(obj.get("kind"), str):
        result.objects += 1
    parsed = parse_object(obj, origin, default_namespace=result.namespace, keep_raw=False)
    if parsed is None:
        return
    if isinstance(parsed, InvalidField):
        result.findings.append(
            Finding(
                Code.INVALID_RESOURCE,
                f"{parsed.ref} is ignored: "
                + " ".join(p for p in (format_path(parsed.path), parsed.message) if p),
                resource=parsed.ref,
                origin=origin,
                path=parsed.path,
            )
        )
        return
    result.resources.append(parsed)


# -- lines of fields, looked up on demand --------------------------------------------------


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


def without_owned(resources: list[Resource]) -> list[Resource]:
    """Drop Pods and ReplicaSets whose controller is in the input too (a `kubectl get all`
    dump): the controller's template already stands for them, with its replica count."""
    present = {
        (r.meta.ref.namespace, f"{r.meta.ref.kind}/{r.meta.ref.name}")
        for r in resources
        if isinstance(r, Workload)
    }
    return [
        r
        for r in resources
        if not (isinstance(r, Workload) and r.owner and (r.meta.ref.namespace, r.owner) in present)
    ]


def first_definitions(resources: list[Resource], findings: list[Finding]) -> list[Resource]:
    """Keep the first definition of each kind/namespace/name (files are read in path order);
    a cluster holds one object per name, so a second one is reported and ignored."""
    first: dict[ObjectRef, Resource] = {}
    for r in resources:
        ref = r.meta.ref
        if ref not in first:
            first[ref] = r
            continue
        findings.append(
            Finding(
                Code.INVALID_RESOURCE,
                f"{ref} is defined more than once; the definition at {first[ref].meta.origin} "
                f"is used and this one is ignored",
                resource=ref,
                origin=r.meta.origin,
            )
        )
    return list(first.values())


def __getattr__(name: str) -> Any:
    """`FileSource` lives in folder.py (reading and following); it is importable from here."""
    if name == "FileSource":
        from meshtui.sources.folder import FileSource

        return FileSource
    raise AttributeError(name)
