"""Files read into resources: each file split at its `---` markers, each document parsed
(rapidyaml where it reads as PyYAML does, PyYAML's C loader otherwise: fast_yaml.py), and
every Kubernetes object in it made a resource; what goes wrong is a finding with its file and
line, and the documents around a broken one still load.

Which files are read is discovery.py; their bytes and documents, documents.py; the lines of
fields inside them, lines.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from meshtui.sources import fast_yaml, kustomize
from meshtui.sources.discovery import discover
from meshtui.sources.documents import content_line, keep, read, split_documents
from meshtui.sources.fast_yaml import Fallback, FastParser
from meshtui.sources.yaml_loader import (
    _check_aliases,
    _check_nesting,
    _TooLarge,
    load_document,
)


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
    # Kinds meshtui does not analyse, as `Kind (group)`, with how many objects of each.
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)  # how the input was read (a remote base)
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


def load(
    paths: Iterable[str | os.PathLike[str]], namespace: str | None = None, fast: bool = False
) -> LoadResult:
    """Read every file; unreadable or broken input becomes error findings, never an exception.

    `namespace` is that of resources written without one (default: `default`). `fast`: read
    with rapidyaml where it gives what PyYAML gives (fast_yaml.py)."""
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
    built = kustomize.cached_build(folder, command) if command else kustomize.Build(b"", "no tool")
    if built.remote:
        # Offline, a remote base cannot be fetched: not an error of the input, but this
        # kustomization is not analysed.
        result.notes.append(
            f"{name}: remote base {built.remote} could not be fetched (offline?); this "
            "kustomization is not analysed"
        )
        return
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
    screened = screen(data, result)
    for line, chunk in split_documents(data):
        if memo is None:
            doc = _parse_chunk(chunk, name, line, result, screened)
            if doc is not None:
                _add_document(doc, name, content_line(line, chunk), result)
            continue
        # Following edits: a document unchanged, at the same line, is what it was.
        key = (line, hashlib.blake2b(chunk, digest_size=16).digest())
        known = memo.get(key)
        if known is None:
            marks = len(result.resources), len(result.findings), result.objects
            doc = _parse_chunk(chunk, name, line, result, screened)
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


def screen(data: bytes, result: LoadResult) -> bool:
    """Whether the fast path may skip looking at each document's bytes of this file: the
    file's passed that look as a whole (fast_yaml.screen)."""
    return result.fast is not None and fast_yaml.screen(data)


def _parse_chunk(
    chunk: bytes, file: str, line: int, result: LoadResult, screened: bool = False
) -> Any:
    try:
        _check_nesting(chunk)
        if result.fast is not None:
            try:
                return result.fast.parse(chunk, screened)
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
        if isinstance(obj.get("kind"), str):
            group = str(obj.get("apiVersion") or "").rpartition("/")[0]
            result.skipped[f"{obj['kind']} ({group})" if group else str(obj["kind"])] += 1
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
                beyond_istio=True,  # no schema error: istioctl's IST0106 does not stand for it
            )
        )
    return list(first.values())


def skipped_note(skipped: Counter[str]) -> str | None:
    """The note naming the kinds meshtui read past: what they hold or create is not seen."""
    if not skipped:
        return None
    kinds = ", ".join(f"{kind} ×{n}" if n > 1 else kind for kind, n in sorted(skipped.items()))
    return (
        f"skipped {sum(skipped.values())} object(s) of kinds meshtui does not analyse: {kinds}; "
        "the analysis is partial for them (what they hold, create or scope is not seen)"
    )
