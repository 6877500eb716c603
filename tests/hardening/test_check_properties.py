"""Invariants of the schema, reference and suppression checks over generated meshes."""

from __future__ import annotations

import json
from collections.abc import Mapping

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from meshtui.mesh import schema
from meshtui.mesh.findings import Code
from meshtui.mesh.resources import format_path
from meshtui.mesh.suppress import SuppressRule
from tests.hardening.meshgen import (
    Obj,
    analyze,
    build_mesh,
    get_path,
    json_values,
    meshes,
    mutated,
    paths,
)

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHECKED = ("DestinationRule", "VirtualService")


def _mapping_paths(obj: Obj) -> list[tuple]:
    """Paths (under spec) of every mapping in a DR or VS, the spec itself included."""
    return [("spec",)] + [
        p
        for p in paths(obj.get("spec"), ("spec",))
        if isinstance(get_path(obj, p), Mapping) and not _in_free_map(p)
    ]


def _in_free_map(path: tuple) -> bool:
    # Labels and headers are maps: any key is allowed there.
    return any(
        part in ("labels", "matchLabels", "sourceLabels", "headers", "set", "add", "to")
        for part in path
    )


@PROPERTY
@given(meshes(), st.data())
def test_an_unknown_field_anywhere_is_one_warning_and_changes_nothing_else(objs, data):
    candidates = [i for i, o in enumerate(objs) if o.get("kind") in CHECKED]
    assume(candidates)
    i = data.draw(st.sampled_from(candidates))
    where = data.draw(st.sampled_from(_mapping_paths(objs[i])))
    assume(isinstance(get_path(objs[i], where), Mapping))
    # Not inside a field that is itself unknown: only the outermost one is reported.
    unknown = [x.path for x in schema.validate(objs[i]["kind"], objs[i]["spec"]) if not x.fatal]
    assume(not any(where[: len(p)] == p for p in unknown))
    key = "zzUnknownField"
    # A JSON round trip first: the generator shares policy mappings between levels.
    changed = mutated(json.loads(json.dumps(objs[i])), (*where, key), 1)
    before = analyze(objs)
    after = analyze([*objs[:i], changed, *objs[i + 1 :]])

    old = {f.field for f in before.findings if f.code is Code.UNKNOWN_FIELD}
    new = [f.field for f in after.findings if f.code is Code.UNKNOWN_FIELD and f.field not in old]
    assert new == [format_path((*where, key))]
    rest = [f.message for f in after.findings if f.field != new[0]]
    assert sorted(rest) == sorted(f.message for f in before.findings)
    assert sorted(after.hosts) == sorted(before.hosts)


@PROPERTY
@given(meshes(), st.data())
def test_a_wrong_value_anywhere_never_raises_and_rejects_or_keeps_the_resource(objs, data):
    candidates = [i for i, o in enumerate(objs) if o.get("kind") in CHECKED]
    assume(candidates)
    i = data.draw(st.sampled_from(candidates))
    where = data.draw(st.sampled_from(list(paths(objs[i].get("spec"), ("spec",)))))
    value = data.draw(json_values)
    changed = mutated(objs[i], where, value)
    mesh, invalid = build_mesh([*objs[:i], changed, *objs[i + 1 :]])
    analysis = mesh.analyze()
    found = [x for x in schema.validate(changed["kind"], changed["spec"]) if x.fatal]
    # Rejected by the schema: dropped as the API server would; else analysed as usual.
    assert bool(found) <= bool(invalid)
    assert analysis.hosts is not None


@PROPERTY
@given(meshes())
def test_suppressing_everything_moves_every_finding_and_loses_none(objs):
    mesh, _ = build_mesh(objs)
    before = mesh.analyze()
    mesh.suppress_rules = (SuppressRule.parse("*=* */*"),)
    after = mesh.analyze()
    assert [f for f in after.findings if f.resource is not None] == []
    kept = [f for f in before.findings if f.resource is not None]
    assert sorted(f.message for f in after.suppressed) == sorted(f.message for f in kept)
