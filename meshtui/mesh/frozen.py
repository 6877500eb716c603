"""`@frozen`: an immutable dataclass with slots, built about twice as fast.

The core's values are frozen dataclasses, and a 10,000-host mesh makes millions of them
(references, origins, routes, findings). A frozen dataclass's own `__init__` sets each field
through `object.__setattr__` (looked up as a global, then as an attribute, on every call);
the one made here calls each slot's own setter, bound once. Everything else is the
dataclass's: fields, defaults, `__eq__`, `__hash__`, `__repr__`, `replace`, and the error on
assignment. A class with what that `__init__` does not cover (init-only variables, fields
left out of `__init__` or keyword-only) keeps the dataclass's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

_MISSING = object()


@dataclass_transform(frozen_default=True)
def frozen(cls: type[T]) -> type[T]:
    """`@dataclass(frozen=True, slots=True)` with the faster `__init__`."""
    made: type[T] = dataclasses.dataclass(frozen=True, slots=True)(cls)
    init = _fast_init(made)
    if init is not None:
        made.__init__ = init  # type: ignore[misc]
    return made


def _fast_init(cls: type) -> Callable[..., None] | None:
    fields = dataclasses.fields(cls)
    if any(not f.init or f.kw_only for f in fields):
        return None
    init_only = getattr(dataclasses, "_FIELD_INITVAR", None)
    if any(f._field_type is init_only for f in cls.__dataclass_fields__.values()):  # type: ignore[attr-defined]
        return None
    scope: dict[str, Any] = {"_MISSING": _MISSING}
    params = ["self"]
    body = []
    for f in fields:
        scope[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not dataclasses.MISSING:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING: {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    return init
