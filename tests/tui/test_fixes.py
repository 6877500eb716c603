"""The suggested fixes are real fixes: applied to the files, the core no longer finds the issue."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshtui.mesh.findings import Code
from meshtui.sources.files import FileSource
from meshtui.tui.fixes import fixes_for, move_to_host_level, route_to_subset
from tests.tui.helpers import BOOKINFO, DORMANT, HOSTILE, editable_copy


def analyse(path: Path | str):
    [mesh] = FileSource([str(path)]).load()
    return mesh.analyze()


def dormant_finding(analysis):
    return next(f for f in analysis.findings if f.code is Code.SUBSET_POLICY_NEVER_APPLIED)


def test_dormant_policy_gets_both_documented_fixes():
    analysis = analyse(DORMANT)
    finding = dormant_finding(analysis)
    host = analysis.hosts[finding.host]
    fixes = fixes_for(finding, host)
    assert [f.title for f in fixes] == [
        "move the policy to the host level",
        "route traffic to the subset",
    ]


def test_moving_the_policy_to_the_host_level_clears_the_finding(tmp_path: Path):
    folder = editable_copy(DORMANT, tmp_path)
    analysis = analyse(folder)
    finding = dormant_finding(analysis)
    host = analysis.hosts[finding.host]
    fix = move_to_host_level(host, host.subset("v2"))
    (folder / "destination-rule.yaml").write_text(fix.yaml)

    after = analyse(folder)
    assert after.findings == []
    moved = after.hosts[finding.host]
    assert moved.port_policies[8080].get("loadBalancer").value == {"simple": "LEAST_REQUEST"}


def test_routing_to_the_subset_clears_the_finding(tmp_path: Path):
    folder = editable_copy(DORMANT, tmp_path)
    analysis = analyse(folder)
    finding = dormant_finding(analysis)
    host = analysis.hosts[finding.host]
    fix = route_to_subset(host, host.subset("v2"))
    (folder / "virtual-service.yaml").write_text(fix.yaml)

    after = analyse(folder)
    assert after.findings == []
    subset = after.hosts[finding.host].subset("v2")
    assert subset.routed
    assert subset.ports[8080].get("loadBalancer").value == {"simple": "LEAST_REQUEST"}


def test_moving_a_policy_over_a_host_policy_says_what_it_replaces():
    analysis = analyse(BOOKINFO)
    host = analysis.hosts["reviews.bookinfo.svc.cluster.local"]
    fix = move_to_host_level(host, host.subset("v3"))
    doc = yaml.safe_load(fix.yaml)
    top = doc["spec"]["trafficPolicy"]
    assert top["tls"] == {"mode": "ISTIO_MUTUAL"}
    assert top["connectionPool"] == {"http": {"http1MaxPendingRequests": 10}}
    assert top["portLevelSettings"][0]["port"] == {"number": 9080}
    subsets = {s["name"]: s for s in doc["spec"]["subsets"]}
    assert "trafficPolicy" not in subsets["v3"]
    assert subsets["v1"]["trafficPolicy"] == {"loadBalancer": {"simple": "ROUND_ROBIN"}}
    assert any("replaces the host-level connectionPool" in note for note in fix.notes)
    assert any("subsets v1, v2" in note for note in fix.notes)


def test_a_route_fix_names_the_virtual_service_that_already_routes_the_host():
    analysis = analyse(BOOKINFO)
    host = analysis.hosts["reviews.bookinfo.svc.cluster.local"]
    fix = route_to_subset(host, host.subset("v3"))
    assert any("VirtualService bookinfo/reviews already routes" in n for n in fix.notes)


def test_an_undefined_subset_gets_a_destination_rule_that_defines_it():
    analysis = analyse(HOSTILE)
    finding = next(f for f in analysis.findings if f.code is Code.UNDEFINED_SUBSET)
    [fix] = fixes_for(finding, analysis.hosts[finding.host])
    doc = yaml.safe_load(fix.yaml)
    names = [s["name"] for s in doc["spec"]["subsets"]]
    assert names == ["[bold]v1", "v2[/]", "ghost\x1b[5m"]
    assert "\x1b" not in fix.yaml  # safe_dump escapes it; the pane shows it as text


def test_a_subset_that_selects_nothing_is_shown_the_labels_in_use():
    analysis = analyse(HOSTILE)
    finding = next(f for f in analysis.findings if f.code is Code.SUBSET_SELECTS_NOTHING)
    [fix] = fixes_for(finding, analysis.hosts[finding.host])
    assert yaml.safe_load(fix.yaml) == [
        {"name": "v2[/]", "labels": {"version": "v1\x1b]0;pwned\x07"}}
    ]
