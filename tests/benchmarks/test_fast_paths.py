"""The fast paths taken for scale give exactly what the straightforward code gives."""

from __future__ import annotations

import json
from enum import IntEnum, StrEnum

from hypothesis import given
from hypothesis import strategies as st

from meshtui.check.report import render_json


class Color(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def _reference(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: the fast path hands them to json
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
def test_render_json_is_byte_identical_to_json_dumps_with_indent(document: object) -> None:
    assert render_json(document) == _reference(document)


def test_render_json_escapes_control_characters_and_non_ascii() -> None:
    document = {"name": "\x1b]8;;http://x\x07é\u2028", "nested": {"empty": {}, "list": []}}
    assert render_json(document) == _reference(document)
