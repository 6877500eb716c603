"""Edit a YAML document in place: the fixed object written into its own text.

A fix changes a few fields of a resource; re-dumping the whole object would reformat every
flow-style mapping and drop the comments in it, so its diff would show the whole document.
This changes only the text of what changed (keys added or removed, list items inserted,
values replaced), keeping the rest byte for byte. The result is checked by parsing it back:
when it does not give the fixed object exactly, the caller falls back to a full dump.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import yaml

try:
    _Base: Any = yaml.CSafeLoader  # libyaml: marks (index, line, column) as in pure Python
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


class Loader(_Base):
    """YAML as Kubernetes reads it: timestamps and binary stay the strings they are."""


Loader.add_constructor("tag:yaml.org,2002:timestamp", _Base.construct_yaml_str)
Loader.add_constructor("tag:yaml.org,2002:binary", _Base.construct_yaml_str)

Edit = tuple[int, int, str]  # replace text[start:end] with the string


class _Unsupported(Exception):
    """A change this editor does not make in place (the caller re-dumps the object)."""


def _block(value: Any, column: int) -> str:
    """`value` as block YAML, every line indented to `column`."""
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=100)
    return "".join(" " * column + line for line in text.splitlines(keepends=True))


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9)
    text = text.strip()
    return text[: -len("\n...")].strip() if text.endswith("\n...") else text


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_after(text: str, index: int) -> int:
    """The index just past the end of the line `index` is on."""
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _last_end(node: yaml.Node) -> int:
    """Where a node's own text ends (block collections end at their last value)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _last_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_end(node.value[-1])
    return node.end_mark.index


def _is_block(node: yaml.Node) -> bool:
    return (
        isinstance(node, yaml.MappingNode | yaml.SequenceNode)
        and not node.flow_style
        and bool(node.value)
    )


def _replace(text: str, node: yaml.Node, new: Any, edits: list[Edit]) -> None:
    """A value written on one line (a scalar or flow collection) replaced by a flow value."""
    start, end = node.start_mark.index, node.end_mark.index
    if _is_block(node) or "\n" in text[start:end]:
        raise _Unsupported
    edits.append((start, end, _flow(new)))


def _edit(text: str, node: yaml.Node, old: Any, new: Any, edits: list[Edit]) -> None:
    if old == new:
        return
    if isinstance(node, yaml.MappingNode) and _is_block(node) and isinstance(new, Mapping):
        _edit_mapping(text, node, old, new, edits)
    elif isinstance(node, yaml.SequenceNode) and _is_block(node) and isinstance(new, list):
        _edit_sequence(text, node, old, new, edits)
    else:
        _replace(text, node, new, edits)


def _edit_mapping(
    text: str, node: yaml.MappingNode, old: Mapping[str, Any], new: Mapping[str, Any], edits: list
) -> None:
    column = node.value[0][0].start_mark.column
    for i, (key_node, value_node) in enumerate(node.value):
        key = key_node.value
        if key not in old:
            raise _Unsupported
        if key not in new:
            if i == 0:
                raise _Unsupported  # its line may carry the `- ` of a list item
            start = _line_start(text, key_node.start_mark.index)
            edits.append((start, _line_after(text, _last_end(value_node)), ""))
        elif _is_block(value_node) or value_node.start_mark.line == key_node.start_mark.line:
            _edit(text, value_node, old[key], new[key], edits)
        else:
            raise _Unsupported
    added = {k: v for k, v in new.items() if k not in old}
    if added:
        at = _line_after(text, _last_end(node))
        edits.append((at, at, _block(added, column)))


def _identity(item: Any) -> str:
    """What names a list item across an edit: a route's `name`, a destination, a port."""
    if isinstance(item, Mapping):
        for key in ("name", "destination", "port"):
            if item.get(key) is not None:
                return json.dumps({key: item[key]}, sort_keys=True, default=str)
    return json.dumps(item, sort_keys=True, default=str)


def _edit_sequence(text: str, node: yaml.SequenceNode, old: list, new: list, edits: list) -> None:
    column = node.start_mark.column
    # Items are paired by identity, so a changed item is edited in place and a new one
    # inserted, rather than every item after the change rewritten.
    keys = [_identity(v) for v in old]
    wanted = [_identity(v) for v in new]
    matcher = difflib.SequenceMatcher(a=keys, b=wanted, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                _edit(text, node.value[i1 + k], old[i1 + k], new[j1 + k], edits)
            continue
        if i2 > i1:
            start = _line_start(text, node.value[i1].start_mark.index)
            edits.append((start, _line_after(text, _last_end(node.value[i2 - 1])), ""))
        if j2 > j1:
            if i1 < len(node.value):
                at = _line_start(text, node.value[i1].start_mark.index)
            else:
                at = _line_after(text, _last_end(node.value[-1]))
            edits.append((at, at, _block(new[j1:j2], column)))


def edit_document(text: str, before: Any, after: Any) -> str | None:
    """`text` (one YAML document holding `before`) changed to hold `after`; None if the
    change cannot be made in place."""
    try:
        node = yaml.compose(text, Loader=Loader)
        if node is None:
            return None
        edits: list[Edit] = []
        _edit(text, node, before, after, edits)
    except (_Unsupported, yaml.YAMLError, RecursionError, IndexError, TypeError, ValueError):
        return None  # also keys JSON cannot sort (mixed types): the caller re-dumps
    out = text
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + replacement + out[end:]
    try:
        if yaml.load(out, Loader=Loader) != after:
            return None
    except (yaml.YAMLError, RecursionError):
        return None
    return out
