"""Suppression as istioctl analyze does it: the analyze-suppress annotation and --suppress
rules; what is suppressed is counted, not dropped silently."""

from __future__ import annotations

import json

import pytest

from meshtui.cli import main
from meshtui.mesh.findings import Code
from meshtui.mesh.suppress import SuppressRule
from tests.helpers import build_mesh, dest, route, service, to_yaml, vs

SUPPRESS = "galley.istio.io/analyze-suppress"


def ghost_route(name: str = "r", namespace: str = "shop", **annotations: str) -> dict:
    obj = vs(name, [name], namespace=namespace, http=[route(dest("ghost"))])
    if annotations:
        obj["metadata"]["annotations"] = annotations
    return obj


def test_rule_parses_namespace_slash_name_and_istioctls_name_dot_namespace():
    assert SuppressRule.parse("IST0101=VirtualService shop/r") == SuppressRule(
        "IST0101", "VirtualService", "shop", "r"
    )
    assert SuppressRule.parse("IST0101=VirtualService r.shop") == SuppressRule(
        "IST0101", "VirtualService", "shop", "r"
    )


@pytest.mark.parametrize("text", ["IST0101", "=VirtualService a/b", "IST0101=VirtualService"])
def test_malformed_rules_are_refused(text):
    with pytest.raises(ValueError, match="expected CODE=Kind namespace/name"):
        SuppressRule.parse(text)


@pytest.mark.parametrize(
    "rule",
    ["IST0101=VirtualService shop/r", "UnknownHost=VirtualService shop/*", "IST01*=* */r"],
)
def test_a_matching_rule_moves_the_finding_to_suppressed(rule):
    mesh = build_mesh(service("real", namespace="shop"), ghost_route())
    mesh.suppress_rules = (SuppressRule.parse(rule),)
    analysis = mesh.analyze()
    assert Code.UNKNOWN_HOST not in {f.code for f in analysis.findings}
    assert [f.code for f in analysis.suppressed] == [Code.UNKNOWN_HOST]


def test_a_rule_for_another_resource_suppresses_nothing():
    mesh = build_mesh(service("real", namespace="shop"), ghost_route())
    mesh.suppress_rules = (SuppressRule.parse("IST0101=VirtualService other/r"),)
    analysis = mesh.analyze()
    assert Code.UNKNOWN_HOST in {f.code for f in analysis.findings}
    assert analysis.suppressed == ()


@pytest.mark.parametrize("value", ["IST0101", "*", "IST0132, UnknownHost"])
def test_the_annotation_suppresses_the_codes_it_names_on_its_own_resource(value):
    analysis = build_mesh(
        service("real", namespace="shop"),
        ghost_route(**{SUPPRESS: value}),
        ghost_route("other"),
    ).analyze()
    remaining = [
        (f.code, str(f.resource)) for f in analysis.findings if f.code is Code.UNKNOWN_HOST
    ]
    assert remaining == [(Code.UNKNOWN_HOST, "VirtualService shop/other")]
    assert [str(f.resource) for f in analysis.suppressed] == ["VirtualService shop/r"]


def test_check_counts_suppressed_findings_in_text_json_and_sarif(capsys, tmp_path):
    (tmp_path / "m.yaml").write_text(to_yaml(service("real", namespace="shop"), ghost_route()))
    rule = ["--suppress", "IST0101=VirtualService shop/r"]
    assert main(["check", str(tmp_path), *rule]) == 0
    assert capsys.readouterr().out.rstrip().endswith("2 hosts, no findings (1 suppressed)")
    main(["check", str(tmp_path), "-o", "json", *rule])
    assert json.loads(capsys.readouterr().out)["summary"]["suppressed"] == 1
    main(["check", str(tmp_path), "-o", "sarif", *rule])
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert (result["ruleId"], result["suppressions"]) == ("UnknownHost", [{"kind": "external"}])
