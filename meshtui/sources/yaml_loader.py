"""PyYAML's C loader, reading YAML as Kubernetes does (as JSON values) and fast.

Split from files.py: how one document's bytes become plain values; files.py decides which
bytes are read, and reports what goes wrong.
"""

from __future__ import annotations

import math
import re
from types import GeneratorType
from typing import Any

import yaml

try:
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


class _Loader(_Base):
    """YAML read as Kubernetes reads it: as JSON values (sigs.k8s.io/yaml converts YAML to JSON).

    Timestamps and !!binary stay the strings they are written as, a !!set is a mapping, and
    NaN or an infinity is an error, so every value can be printed as JSON. A key written twice
    in one mapping is an error too, as kubectl reports it, not a silent last-one-wins.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own = node.value  # flatten_mapping deletes merge keys (<<) from this very list
        mapping = super().construct_mapping(node, deep)
        if len(mapping) < len(node.value):  # a key repeated, or one a merge provides overridden
            seen: set[tuple[type, Any]] = set()
            for key_node, _ in own:
                key = self.construct_object(key_node)
                if (type(key), key) in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add((type(key), key))
        return mapping

    def construct_finite_float(self, node: yaml.ScalarNode) -> float:
        value = self.construct_yaml_float(node)
        if not math.isfinite(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value} is not a number JSON can hold", node.start_mark
            )
        return value

    # -- speed: Kubernetes YAML is nearly always plain JSON values -------------------------

    # Whether the document may hold anchors (and so aliases); see load_document.
    anchored = True

    # libyaml's composer calls these two around every node for path resolvers
    # (add_path_resolver), which meshtui never registers: builtins that take the same
    # arguments and keep nothing cost a fraction of the Python methods they replace.
    descend_resolver = staticmethod({}.get)  # (parent, index) -> index
    ascend_resolver = staticmethod(tuple)  # () -> ()

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        """The tag of a node without an explicit one, as BaseResolver.resolve gives it.

        libyaml asks Python for the tag of every node. Without path resolvers a mapping or a
        sequence gets the default tag, a quoted scalar is a string, and a plain scalar's tag
        depends on its text alone (the implicit resolvers' regular expressions): remembered
        for short ones, as manifests repeat the same keys and values."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 64 and len(_PLAIN_TAGS) < 100_000:
                    _PLAIN_TAGS[value] = tag
            return tag
        if kind is yaml.MappingNode:
            return _MAP
        if kind is yaml.SequenceNode:
            return _SEQ
        return super().resolve(kind, value, implicit)

    def construct_document(self, node: yaml.Node) -> Any:
        """Build a plain document by a direct walk, anything else the standard way.

        PyYAML constructs every node through a generic, generator-based dispatch; string-keyed
        mappings, sequences and scalars of the usual tags (nearly every Kubernetes object) are
        built twice as fast directly, to the same values. An alias, a merge key, a duplicate
        key, another tag or an error takes the standard path, which then reports what it does.
        """
        try:
            return self._plain(node, set() if self.anchored else None)
        except (_NotPlain, yaml.YAMLError, RecursionError):
            return super().construct_document(node)

    def _plain(self, node: yaml.Node, seen: set[int] | None) -> Any:
        """`seen`: the collections built so far, to notice an alias (None: there are none)."""
        cls = type(node)
        tag = node.tag
        if cls is _Scalar:
            if tag == _STR:
                return node.value
            if tag not in _PLAIN_SCALARS:
                raise _NotPlain
            value = self.yaml_constructors[tag](self, node)
            if isinstance(value, GeneratorType):
                raise _NotPlain
            return value
        if seen is not None:
            if id(node) in seen:  # an alias: the standard path shares one object
                raise _NotPlain
            seen.add(id(node))
        # String leaves, most of a manifest, are taken in place rather than by a call.
        if cls is yaml.MappingNode and tag == _MAP:
            out = {}
            for key, item in node.value:
                if type(key) is not _Scalar or key.tag != _STR:
                    raise _NotPlain
                if type(item) is _Scalar and item.tag == _STR:
                    out[key.value] = item.value
                else:
                    out[key.value] = self._plain(item, seen)
            if len(out) < len(node.value):  # a duplicate key: the standard path reports it
                raise _NotPlain
            return out
        if cls is yaml.SequenceNode and tag == _SEQ:
            return [
                item.value
                if type(item) is _Scalar and item.tag == _STR
                else self._plain(item, seen)
                for item in node.value
            ]
        raise _NotPlain


def load_document(chunk: bytes) -> Any:
    """One YAML document's value, read as Kubernetes reads it (see _Loader)."""
    loader = _Loader(chunk)
    # Without an anchor there is no alias (libyaml refuses one it cannot resolve), so the
    # direct walk need not remember what it built.
    loader.anchored = b"&" in chunk
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _NotPlain(Exception):
    pass


_Scalar = yaml.ScalarNode
_PLAIN_TAGS: dict[str, str] = {}  # a plain scalar's text -> its implicit tag
_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))
_PLAIN_SCALARS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp", "binary")
}

_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Base.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:binary", _Base.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:set", _Base.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_finite_float)


# -- limits: what no document may make the loader do -----------------------------------

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
