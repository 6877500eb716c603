"""`@frozen` (meshtui/mesh/frozen.py) builds what `@dataclass(frozen=True, slots=True)` builds."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import InitVar, dataclass, field

import pytest

from meshtui.mesh.frozen import frozen


def twins(body: dict) -> tuple[type, type]:
    """The same class made by @frozen and by the dataclass decorator."""
    made = []
    for decorate in (frozen, dataclass(frozen=True, slots=True)):
        namespace = dict(body)
        made.append(decorate(type("Thing", (), namespace)))
    return made[0], made[1]


PLAIN = {
    "__annotations__": {"a": "int", "b": "str", "c": "dict"},
    "b": "x",
    "c": field(default_factory=dict),
}


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "y", {"k": 1}), {}), ((), {"a": 2, "c": {"z": 0}}), ((3,), {"b": "q"})],
)
def test_the_same_arguments_make_the_same_value(args, kwargs) -> None:
    fast, slow = twins(PLAIN)
    made, reference = fast(*args, **kwargs), slow(*args, **kwargs)
    assert dataclasses.asdict(made) == dataclasses.asdict(reference)
    assert repr(made) == repr(reference)
    assert made == fast(*args, **kwargs)
    assert dataclasses.replace(made, b="r").b == "r"


def test_a_default_factory_makes_a_new_value_each_time() -> None:
    fast, _ = twins(PLAIN)
    assert fast(1).c is not fast(1).c


def test_the_value_stays_frozen_and_hashable() -> None:
    fast, _ = twins({"__annotations__": {"a": "int", "b": "str"}, "b": "x"})
    value = fast(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 2
    assert hash(value) == hash(fast(1)) and value == fast(1) and value != fast(2)


@pytest.mark.parametrize(
    ("args", "message"),
    [((), "missing 1 required positional argument: 'a'"), ((1, 2, 3, 4), "positional")],
)
def test_wrong_arguments_are_refused_as_the_dataclass_refuses_them(args, message) -> None:
    fast, _ = twins(PLAIN)
    with pytest.raises(TypeError, match=message):
        fast(*args)


def test_post_init_runs_after_the_fields_are_set() -> None:
    def post(self) -> None:
        object.__setattr__(self, "a", self.a * 2)

    fast, slow = twins({"__annotations__": {"a": "int"}, "__post_init__": post})
    assert fast(2).a == slow(2).a == 4


def test_an_init_only_variable_keeps_the_dataclass_init() -> None:
    def post(self, scale: int) -> None:
        object.__setattr__(self, "a", self.a * scale)

    body = {"__annotations__": {"a": "int", "scale": InitVar[int]}, "__post_init__": post}
    fast, slow = twins(body)
    assert fast(2, 3).a == slow(2, 3).a == 6


def test_the_cores_values_cross_processes_whole() -> None:
    """What check/split.py sends between processes: findings, and what they name."""
    from meshtui.mesh.clients import ClientSet
    from meshtui.mesh.findings import Code, Finding
    from meshtui.mesh.resources import ObjectRef, Origin

    ref = ObjectRef("DestinationRule", "shop", "reviews")
    finding = Finding(
        Code.SUBSET_POLICY_NEVER_APPLIED,
        "m",
        host="reviews.shop.svc.cluster.local",
        subset="v1",
        resource=ref,
        origin=Origin(file="mesh.yaml", line=3),
        path=("spec", "subsets", 0),
        clients=ClientSet.of(["shop"]),
    )
    again = pickle.loads(pickle.dumps(finding))
    assert again == finding and hash(again) == hash(finding)
