"""PyYAML's C loader, reading YAML as Kubernetes does (as JSON values) and fast.

Split from files.py: how one document's bytes become plain values; files.py decides which
bytes are read, and reports what goes wrong.
"""

from __future__ import annotations

import math
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

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        """The tag of a node, remembered for short scalars (pure: it depends on them alone).

        libyaml asks Python for the tag of every node, and the implicit resolvers try regular
        expressions on each plain scalar; manifests repeat the same keys and values."""
        if kind is yaml.ScalarNode and len(value) <= 64:
            key = (value, implicit)
            tag = _TAGS.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_TAGS) < 100_000:
                    _TAGS[key] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def construct_document(self, node: yaml.Node) -> Any:
        """Build a plain document by a direct walk, anything else the standard way.

        PyYAML constructs every node through a generic, generator-based dispatch; string-keyed
        mappings, sequences and scalars of the usual tags (nearly every Kubernetes object) are
        built twice as fast directly, to the same values. An alias, a merge key, a duplicate
        key, another tag or an error takes the standard path, which then reports what it does.
        """
        try:
            return self._plain(node, set())
        except (_NotPlain, yaml.YAMLError, RecursionError):
            return super().construct_document(node)

    def _plain(self, node: yaml.Node, seen: set[int]) -> Any:
        cls = type(node)
        tag = node.tag
        if cls is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag not in _PLAIN_SCALARS:
                raise _NotPlain
            value = self.yaml_constructors[tag](self, node)
            if isinstance(value, GeneratorType):
                raise _NotPlain
            return value
        if id(node) in seen:  # an alias: the standard path shares one object
            raise _NotPlain
        seen.add(id(node))
        if cls is yaml.MappingNode and tag == _MAP:
            out = {}
            for key, item in node.value:
                if type(key) is not yaml.ScalarNode or key.tag != _STR:
                    raise _NotPlain
                out[key.value] = self._plain(item, seen)
            if len(out) < len(node.value):  # a duplicate key: the standard path reports it
                raise _NotPlain
            return out
        if cls is yaml.SequenceNode and tag == _SEQ:
            return [self._plain(item, seen) for item in node.value]
        raise _NotPlain


class _NotPlain(Exception):
    pass


_TAGS: dict[tuple[str, Any], str] = {}
_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))
_PLAIN_SCALARS = {
    f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "timestamp", "binary")
}

_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Base.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:binary", _Base.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:set", _Base.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_finite_float)
