"""Reading the fields of a raw object (a dict from YAML or JSON) by path: each reader checks
the type the Istio or Kubernetes API gives the field and raises :class:`Invalid` with the
field's path otherwise, so a wrong field is reported at its line and the rest still loads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshtui.mesh.objects import Path, ServicePort
from meshtui.mesh.schema import is_mapping


class Invalid(Exception):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    float: "a number",
    type(None): "null",
}


def describe(value: object) -> str:
    for cls, name in TYPE_NAMES.items():
        if type(value) is cls:
            return name
    if is_mapping(value):
        return "a mapping"
    return type(value).__name__


def mapping(value: object, path: Path, *, required: bool = False) -> Mapping[str, Any] | None:
    if value is None and not required:
        return None
    if not is_mapping(value):
        raise Invalid(path, f"must be a mapping, not {describe(value)}")
    return value


def list_of(value: object, path: Path) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(path, f"must be a list, not {describe(value)}")
    return value


def string(value: object, path: Path, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        if isinstance(value, str):
            raise Invalid(path, "must not be empty")
        raise Invalid(path, f"must be a string, not {describe(value)}")
    return value


def integer(value: object, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(path, f"must be an integer, not {describe(value)}")
    return value


def labels_of(value: object, path: Path) -> dict[str, str]:
    m = mapping(value, path)
    if m is None:
        return {}
    out: dict[str, str] = {}
    for k, v in m.items():
        if not isinstance(k, str):
            raise Invalid(path, f"label keys must be strings, not {describe(k)}")
        if isinstance(v, bool) or v is None or isinstance(v, Mapping | list):
            raise Invalid((*path, k), f"label values must be strings, not {describe(v)}")
        out[k] = str(v)
    return out


# An entry a salvaged parse leaves out: the webhook or the schema rejects it (see `_salvage`).
PRUNED = object()


def items_of(value: object, path: Path) -> list[tuple[int, Any]]:
    """The entries of a list with their indexes, without those a salvaged parse left out."""
    return [(i, v) for i, v in enumerate(list_of(value, path)) if v is not PRUNED]


def mappings_of(value: object, path: Path) -> Iterator[tuple[int, Path, Mapping[str, Any]]]:
    """The entries of a list of mappings: index, path and mapping of each, in order, without
    those a salvaged parse left out; Invalid when an entry is reached that is no mapping."""
    for i, raw in items_of(value, path):
        at: Path = (*path, i)
        entry = mapping(raw, at, required=True)
        assert entry is not None
        yield i, at, entry


def str_list(value: object, path: Path) -> tuple[str, ...]:
    return tuple(string(v, (*path, i), required=True) for i, v in items_of(value, path))


def ports(value: object, path: Path, number_key: str) -> tuple[ServicePort, ...]:
    """A Service's or ServiceEntry's ports (`number_key`: `port` or `number`)."""
    ports = []
    for _, at, p in mappings_of(value, path):
        number = integer(p.get(number_key), (*at, number_key))
        if number is None:
            raise Invalid(at, f"must have a {number_key}")
        ports.append(
            ServicePort(
                number=number,
                name=string(p.get("name"), (*at, "name")),
                protocol=string(p.get("protocol"), (*at, "protocol")),
            )
        )
    return tuple(ports)
