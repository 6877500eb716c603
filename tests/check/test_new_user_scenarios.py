"""The three gaps a new user met (issue 10), as `meshtui check` now reports them."""

from __future__ import annotations

import json

from meshtui.cli import main
from tests.helpers import dr, port_policy, service, subset, to_yaml


def report(capsys, tmp_path, *objs) -> dict:
    (tmp_path / "m.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    return json.loads(capsys.readouterr().out)


def test_a_rule_for_a_host_nothing_defines_is_dead_config_in_its_own_namespace(capsys, tmp_path):
    data = report(
        capsys,
        tmp_path,
        service("web", namespace="shop"),
        dr("github", "api.github.com", namespace="shop", policy={"tls": {"mode": "SIMPLE"}}),
    )
    [github] = [h for h in data["hosts"] if h["host"] == "api.github.com"]
    codes = {f["code"] for f in data["findings"] if f["host"] == "api.github.com"}
    assert {"UnknownDestinationRuleHost", "NoCaCertificates"} <= codes
    assert github["destinationRules"] == ["shop/github"]


def test_wrong_types_deprecated_values_and_typos_are_no_longer_silent(capsys, tmp_path):
    pool = dr("pool", "web", policy={"connectionPool": {"tcp": {"maxConnections": "lots"}}})
    lb = dr("lb", "web", namespace="other", policy={"loadBalancer": {"simple": "LEAST_CONN"}})
    typo = dr("typo", "web", namespace="third")
    typo["spec"]["subset"] = [subset("v1")]
    data = report(capsys, tmp_path, service("web"), pool, lb, typo)
    found = {(f["code"], f["resource"], f.get("field")) for f in data["findings"]}
    assert (
        "InvalidResource",
        "DestinationRule default/pool",
        "spec.trafficPolicy.connectionPool.tcp.maxConnections",
    ) in found
    assert (
        "DeprecatedField",
        "DestinationRule other/lb",
        "spec.trafficPolicy.loadBalancer.simple",
    ) in found
    assert ("UnknownField", "DestinationRule third/typo", "spec.subset") in found
    [web] = [h for h in data["hosts"] if h["host"] == "web.default.svc.cluster.local"]
    assert "default/pool" not in web["destinationRules"]  # rejected: never reaches Istio


def test_port_settings_for_a_port_the_service_lacks_are_not_a_port(capsys, tmp_path):
    rule = dr(
        "web", "web", policy={"portLevelSettings": [port_policy(12345, tls={"mode": "DISABLE"})]}
    )
    data = report(capsys, tmp_path, service("web", ports=(80,)), rule)
    [web] = data["hosts"]
    assert list(web["ports"]) == ["80"]
    assert [f["code"] for f in data["findings"]] == ["PortNotInService"]
