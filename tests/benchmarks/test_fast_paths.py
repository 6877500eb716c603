"""The fast paths taken for scale give exactly what the straightforward code gives."""

from __future__ import annotations

import json
import math
import re
from enum import IntEnum, StrEnum

import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshtui.check.report import render_json
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.resources import Origin
from meshtui.sources.documents import (
    _DOC_MARKER,
    _Documents,
    _marker_starts,
    content_line,
    split_documents,
)
from meshtui.sources.lines import _compose, _field_line, _refine_lines
from meshtui.sources.yaml_loader import (
    _DEEP_BLOCK,
    _DEEP_FIRST,
    MAX_NESTING,
    _Base,
    _Loader,
    load_document,
)
from tests.hardening.meshgen import paths


class Color(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def _reference(document: object) -> str:
    return json.dumps(document, ensure_ascii=True)


def _reread(text: str) -> str:
    """What the JSON text holds, encoded the reference way (NaN and all)."""
    return json.dumps(json.loads(text), ensure_ascii=True)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    # No NaN or infinity: no report holds one (the loaders refuse numbers JSON cannot hold),
    # and orjson writes them as null (test_render_json_writes_nan_as_null).
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from([Color.RED, Level.HIGH])
)
_keys = st.text() | st.integers() | st.booleans() | st.sampled_from([Color.RED])
_documents = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=30,
)


@given(_documents)
def test_render_json_holds_what_json_dumps_writes(document: object) -> None:
    assert _reread(render_json(document)) == _reference(document)


def test_render_json_writes_nan_as_null() -> None:
    """Where orjson parts from the json module (which writes NaN, not JSON at all)."""
    assert json.loads(render_json({"x": [math.nan, math.inf]})) == {"x": [None, None]}


def test_render_json_escapes_control_characters_and_non_ascii() -> None:
    document = {"name": "\x1b]8;;http://x\x07é\u2028", "nested": {"empty": {}, "list": []}}
    text = render_json(document)
    assert text.isascii() and "\x1b" not in text and "\\u001b" in text
    assert _reread(text) == _reference(document)


def test_render_json_writes_one_line_per_host_and_finding() -> None:
    hosts = [{"host": f"h{i}", "subsets": [{"name": "v1"}]} for i in range(3)]
    document = {"source": "s", "hosts": hosts, "findings": [], "summary": {"hosts": 3}}
    lines = render_json(document).splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert [json.loads(line.rstrip(",")) for line in lines[3:6]] == hosts
    assert '  "findings": [],' in lines


# -- the YAML loader's direct construction and remembered tags -------------------------------


class _Reference(_Loader):
    """The loader without its fast paths: tags resolved and documents constructed as PyYAML
    does (with the loader's own constructors, duplicate-key check and all)."""

    resolve = _Base.resolve
    descend_resolver = _Base.descend_resolver
    ascend_resolver = _Base.ascend_resolver
    construct_document = _Base.construct_document


def _outcome(text: str, loader: type) -> tuple[str, object]:
    try:
        return "value", list(yaml.load_all(text, Loader=loader))
    except (yaml.YAMLError, RecursionError) as err:
        return type(err).__name__, str(err)


_words = st.sampled_from(
    ["name", "v1", "yes", "no", "on", "off", "null", "~", "true", "False", "1", "0x1f", "0o17",
     "1_000", "1:30", "-2", "3.5", ".nan", ".inf", "-.Inf", "1e3", "2024-01-01",
     "2024-01-01T10:00:00Z", "", "a b", "<<", "=", "'q'", '"d"', "#c", "é", "10s"]
)  # fmt: skip
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | _words,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_words | st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)
# Fragments the dumper never writes: aliases, merge keys, duplicate keys, explicit tags.
_fragments = st.sampled_from(
    [
        "a: &x {k: v}\nb: *x\n",
        "a: &x [1, 2]\nb: [*x, *x]\n",
        "base: &b {p: 1}\nm:\n  <<: *b\n  q: 2\n",
        "m: {<<: {p: 1}, p: 2}\n",
        "k: 1\nk: 2\n",
        "m: {a: 1, a: 1}\n",
        "t: !!str 123\n",
        "t: !!int '7'\n",
        "t: !!float '1.5'\n",
        "t: !!binary aGVsbG8=\n",
        "t: !!set {a, b}\n",
        "t: !!omap [{a: 1}]\n",
        "t: !custom x\n",
        "t: .nan\n",
        "? [1, 2]\n: v\n",
        "1: int key\n",
        "yes: bool key\n",
        "null: null key\n",
        "=: value key\n",
        "s: 2001-12-14t21:59:43.10-05:00\n",
        "d: {x: [a, {y: z}], e: [], f: {}}\n",
    ]
)


@given(st.lists(_values | _fragments, min_size=1, max_size=4), st.booleans())
def test_the_loader_builds_what_pyyaml_builds(parts: list[object], flow: bool) -> None:
    docs = [p if isinstance(p, str) else yaml.safe_dump(p, default_flow_style=flow) for p in parts]
    text = "---\n".join(docs)
    assert _outcome(text, _Loader) == _outcome(text, _Reference)


def _one(text: str, load: object) -> tuple[str, object]:
    try:
        return "value", load(text.encode())  # type: ignore[operator]
    except (yaml.YAMLError, RecursionError) as err:
        return type(err).__name__, str(err)


@given(_values | _fragments, st.booleans())
def test_one_document_is_read_as_pyyaml_reads_it(part: object, flow: bool) -> None:
    """load_document, as files are read: its walk skips alias tracking without an anchor."""
    text = part if isinstance(part, str) else yaml.safe_dump(part, default_flow_style=flow)
    assert _one(text, load_document) == _one(text, lambda b: yaml.load(b, Loader=_Reference))


def test_the_tag_shortcuts_hold_only_without_path_resolvers() -> None:
    # _Loader.resolve skips BaseResolver's path lookup, and its descend/ascend hooks keep
    # nothing: right only while no path resolver is registered (PyYAML registers none).
    assert not _Loader.yaml_path_resolvers


def test_the_loader_keeps_an_aliased_node_one_object() -> None:
    doc = yaml.load("a: &x {k: v}\nb: *x\n", Loader=_Loader)
    assert doc["a"] is doc["b"]
    doc = load_document(b"a: &x {k: v}\nb: *x\n")
    assert doc["a"] is doc["b"]


# -- the line a document is named by ---------------------------------------------------------


def _content_line_reference(start: int, chunk: bytes) -> int:
    """The first line that is not the marker, blank or a comment, found line by line."""
    for i, raw in enumerate(chunk.split(b"\n")):
        text = raw.strip()
        if i == 0 and _DOC_MARKER.match(raw) and text[3:].strip()[:1] not in (b"", b"#"):
            return start
        if text and not text.startswith(b"#") and not (i == 0 and _DOC_MARKER.match(raw)):
            return start + i
    return start


_lines = st.lists(
    st.sampled_from(
        [b"", b"  ", b"\t", b"\r", b"\x0b", b"# c", b"  # c", b"---", b"--- # c", b"--- |",
         b"---x", b"a: 1", b" - b", b"\x0c#", b"#", b"--- !t"]
    ),
    max_size=6,
)  # fmt: skip


@given(st.integers(1, 50), _lines)
def test_content_line_is_the_first_line_with_content(start: int, lines: list[bytes]) -> None:
    chunk = b"\n".join(lines)
    assert content_line(start, chunk) == _content_line_reference(start, chunk)


@given(st.lists(_lines, max_size=5))
def test_documents_are_found_by_their_content_line_as_by_a_full_index(docs: list[list[bytes]]):
    data = b"\n".join(b"\n".join([b"---", *lines]) for lines in docs)
    full = {content_line(line, chunk): (line, chunk) for line, chunk in split_documents(data)}
    found = _Documents(data)
    for line in range(data.count(b"\n") + 3):
        assert found.get(line) == full.get(line)


_indents = st.lists(
    st.sampled_from([b" ", b"\t", b"-", b"?", b":", b"x", b"\n", b"\r"]), max_size=120
)


@given(_indents)
def test_deep_block_lines_are_found_as_with_a_multiline_anchor(parts: list[bytes]) -> None:
    chunk = b"".join(parts)
    reference = re.compile(rb"^[ \t?:-]{%d}" % (MAX_NESTING // 4), re.M).search(chunk)
    fast = _DEEP_FIRST.match(chunk) or _DEEP_BLOCK.search(chunk)
    assert bool(fast) == bool(reference)


_marker_parts = st.lists(
    st.sampled_from([b"---", b"\n", b"--- ", b"---\t", b"---\r", b"----", b"a", b" ", b"\r\n"]),
    max_size=12,
)


@given(_marker_parts)
def test_document_markers_are_found_as_by_the_multiline_pattern(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert _marker_starts(data) == [m.start() for m in _DOC_MARKER.finditer(data)]


# -- the line of a field in a JSON list ------------------------------------------------------

# Characters of the Basic Multilingual Plane: json.dumps writes others as surrogate pairs,
# which libyaml cannot compose, so the whole list, the reference, would have no lines.
_bmp = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=6)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _bmp,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_bmp, inner, max_size=3),
    max_leaves=12,
)
_json_items = st.lists(st.dictionaries(_bmp, _json_values, max_size=4), max_size=6)


@given(_json_items, st.sampled_from([None, 0, 1, 2, 4]), st.booleans(), st.data())
def test_a_field_in_a_json_list_is_on_the_line_composing_the_whole_list_gives(
    tmp_path_factory, items, indent, before, data
):
    """`kubectl get -o json` lists: each item with findings is composed alone (see
    lines._json_items), on the line the whole document's composition gives."""
    document = {"apiVersion": "v1", "items": items, "kind": "List"}
    if before:  # `items` after other keys, or before them
        document = {"items": items, "metadata": {"a": [1, {"b": 2}]}, "kind": "List"}
    path = tmp_path_factory.mktemp("json") / "list.json"
    path.write_text(json.dumps(document, indent=indent))
    wanted = []
    for item, value in enumerate(items):
        for field in data.draw(st.lists(st.sampled_from([(), *paths(value)]), max_size=3)):
            origin = Origin(file=str(path), line=1, item=item)
            wanted.append(Finding(Code.INVALID_RESOURCE, "x", origin=origin, path=field))
    whole = _compose(path.read_bytes(), 1)
    # A field not found (or a list libyaml cannot compose) keeps the document's line.
    expected = [(_field_line(whole, f.origin, f.path) if f.path else None) or 1 for f in wanted]
    assert [f.line for f in _refine_lines(list(wanted))] == expected


# -- the line of a field in a document written on one line -----------------------------------

_documents = st.lists(
    st.tuples(st.dictionaries(_bmp, _json_values, min_size=1, max_size=4), st.booleans()),
    min_size=1,
    max_size=4,
)


@given(_documents, st.booleans(), st.data())
def test_a_field_in_a_one_line_document_is_on_the_line_composing_it_gives(
    tmp_path_factory, documents, comments, data
):
    """A flow-style document on one line is not composed (lines._one_line): its fields are
    on the line composing it gives, beside block documents that are, comments or not."""
    texts = []
    for value, flow in documents:
        style = {"default_flow_style": True, "width": float("inf")} if flow else {}
        text = yaml.safe_dump(value, **style)
        texts.append(("# before\n" if comments else "") + text + ("# after\n" if comments else ""))
    path = tmp_path_factory.mktemp("flow") / "mesh.yaml"
    path.write_text("---\n" + "---\n".join(texts))
    found = _Documents(path.read_bytes())
    wanted = []
    for (value, _), (start, chunk) in zip(documents, found.parts, strict=True):
        line = content_line(start, chunk)
        for field in data.draw(st.lists(st.sampled_from([(), *paths(value)]), max_size=3)):
            wanted.append(
                Finding(
                    Code.INVALID_RESOURCE,
                    "x",
                    origin=Origin(file=str(path), line=line),
                    path=field,
                )
            )
    expected = []
    for f in wanted:
        start, chunk = found.get(f.line)
        node = _compose(chunk, start)
        expected.append((_field_line(node, f.origin, f.path) if f.path else None) or f.line)
    assert [f.line for f in _refine_lines(list(wanted))] == expected
