"""`meshtui check` through the real command line: reports, formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.cli import main
from tests.helpers import dest, dr, port_policy, route, service, subset, to_yaml, vs

ROOT = Path(__file__).resolve().parents[2]
DORMANT = ROOT / "examples" / "dormant-policy"
BOOKINFO = ROOT / "examples" / "bookinfo"
MUTUAL = {"mode": "ISTIO_MUTUAL"}


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch):
    # Paths in reports are shown as given; run from the repository like a user would.
    monkeypatch.chdir(ROOT)


def check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def check_json(capsys, *args: str) -> tuple[int, dict]:
    code, out, _ = check(capsys, *args, "-o", "json")
    return code, json.loads(out)


def write(tmp_path: Path, *objs: dict, name: str = "mesh.yaml") -> Path:
    (tmp_path / name).write_text(to_yaml(*objs))
    return tmp_path


def line_of(path: Path, needle: str) -> int:
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


# -- the examples --------------------------------------------------------------------------


def test_dormant_policy_is_shown_with_its_file_and_line_and_fails():
    proc = subprocess.run(
        [sys.executable, "-m", "meshtui", "check", "examples/dormant-policy", "-o", "text"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    rule = DORMANT / "destination-rule.yaml"
    where = f"examples/dormant-policy/destination-rule.yaml:{line_of(rule, 'trafficPolicy:')}"
    lines = proc.stdout.splitlines()
    [finding] = [line for line in lines if "SubsetPolicyNeverApplied" in line]
    assert "subset v2" in finding
    assert "DestinationRule shop/checkout" in finding
    assert where in finding
    # Grouped by host: the finding comes under its host's heading.
    assert lines[lines.index(finding) - 1] == "checkout.shop.svc.cluster.local"
    # The summary, before the notes (how the data plane was decided).
    assert "1 warning" in [line for line in lines if not line.startswith("note:")][-1]


@pytest.mark.parametrize(
    ("fix", "namespace"), [("fix-host-level", "shop-host-level"), ("fix-route", "shop-routed")]
)
def test_both_fixes_show_no_finding_and_pass(capsys, fix, namespace):
    code, out, _ = check(capsys, f"examples/dormant-policy/{fix}", "-o", "text")
    assert code == 0
    assert "SubsetPolicyNeverApplied" not in out
    lines = out.splitlines()
    assert lines[-2] == f"examples/dormant-policy/{fix}: 1 host, no findings"
    assert lines[-1] == (
        f"note: no mesh labels in these files for {namespace}: clients "
        "assumed to have sidecars (label the Namespace istio-injection=enabled, or "
        "istio.io/dataplane-mode=ambient, to say otherwise)"
    )


def test_error_threshold_passes_with_only_warnings(capsys):
    code, out, _ = check(capsys, "examples/dormant-policy", "--failure-threshold", "error")
    assert code == 0
    assert "SubsetPolicyNeverApplied" in out


def test_error_threshold_fails_on_an_error(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs("reviews", ["reviews"], http=[route(dest("reviews", "v9"))]),
    )
    code, out, _ = check(capsys, str(folder), "--failure-threshold", "error")
    assert code == 1
    assert "UndefinedSubset" in out


def test_info_threshold_fails_on_an_info_finding(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("reviews"),
        dr("a", "reviews", subsets=[subset("v1")]),
        dr("b", "reviews", subsets=[subset("v2")]),
    )
    code, out, _ = check(capsys, str(folder))
    assert code == 0
    assert "MultipleDestinationRules" in out
    code, _, _ = check(capsys, str(folder), "--failure-threshold", "info")
    assert code == 1


def test_no_such_path_exits_2_with_a_message():
    proc = subprocess.run(
        [sys.executable, "-m", "meshtui", "check", "no/such/manifests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no/such/manifests" in proc.stderr
    assert "no such file or directory" in proc.stderr
    assert proc.stdout == ""


def test_broken_file_is_reported_and_fails_but_the_rest_is_checked(capsys, tmp_path):
    (tmp_path / "broken.yaml").write_text("kind: Service\nmetadata:\n  name: a\n   bad: indent\n")
    write(
        tmp_path,
        service("reviews"),
        dr("r", "reviews", subsets=[subset("v1", policy={"tls": MUTUAL})]),
    )
    code, data = check_json(capsys, str(tmp_path))
    assert code == 1
    # (SubsetSelectsNothing is info: no workload in the input to confirm v1's pods.)
    assert sorted(f["code"] for f in data["findings"]) == [
        "ParseError",
        "SubsetPolicyNeverApplied",
        "SubsetSelectsNothing",
    ]
    [parse_error] = [f for f in data["findings"] if f["code"] == "ParseError"]
    assert (parse_error["file"], parse_error["line"]) == (str(tmp_path / "broken.yaml"), 4)


# -- JSON ----------------------------------------------------------------------------------

HOST_KEYS = {"host", "policy", "ports", "destinationRules", "subsets"}
SUBSET_KEYS = {"name", "labels", "destinationRule", "policy", "ports", "routes", "workloads"}
ROUTE_KEYS = {"virtualService", "kind", "weight", "gateways"}
FINDING_KEYS = {"code", "severity", "host", "subset", "resource", "message", "file", "line"}


def bookinfo(capsys) -> dict:
    _, data = check_json(capsys, "examples/bookinfo")
    return {h["host"]: h for h in data["hosts"]} | {"findings": data["findings"]}


def test_json_has_the_contract_keys(capsys):
    code, data = check_json(capsys, "examples/bookinfo")
    assert code == 1
    assert {"hosts", "findings"} <= set(data)
    assert data["hosts"] and data["findings"]
    for h in data["hosts"]:
        assert set(h) >= HOST_KEYS, h.keys()
        for s in h["subsets"]:
            assert set(s) >= SUBSET_KEYS, s.keys()
            for r in s["routes"]:
                assert set(r) >= ROUTE_KEYS, r.keys()
    for f in data["findings"]:
        assert set(f) >= FINDING_KEYS, f.keys()


def test_json_finding_of_the_dormant_policy(capsys):
    _, data = check_json(capsys, "examples/dormant-policy")
    [finding] = data["findings"]
    assert finding["code"] == "SubsetPolicyNeverApplied"
    assert finding["severity"] == "warning"
    assert finding["host"] == "checkout.shop.svc.cluster.local"
    assert finding["subset"] == "v2"
    assert finding["resource"] == "DestinationRule shop/checkout"
    assert finding["file"] == "examples/dormant-policy/destination-rule.yaml"
    assert finding["line"] == line_of(DORMANT / "destination-rule.yaml", "trafficPolicy:")
    assert isinstance(finding["message"], str) and finding["message"]


def test_json_policies_use_istio_field_names_with_defaults_absent(capsys):
    hosts = bookinfo(capsys)
    reviews = hosts["reviews.bookinfo.svc.cluster.local"]
    assert reviews["destinationRules"] == ["bookinfo/reviews"]
    assert reviews["policy"] == {"tls": MUTUAL, "connectionPool": {"tcp": {"maxConnections": 100}}}
    # Port-level settings on 9080 replace tls and connectionPool with Istio's defaults.
    assert reviews["ports"] == {"9080": {"loadBalancer": {"simple": "LEAST_REQUEST"}}}
    subsets = {s["name"]: s for s in reviews["subsets"]}
    assert subsets["v1"]["labels"] == {"version": "v1"}
    assert subsets["v1"]["destinationRule"] == "bookinfo/reviews"
    assert subsets["v1"]["policy"] == {
        "tls": MUTUAL,
        "connectionPool": {"tcp": {"maxConnections": 100}},
        "loadBalancer": {"simple": "ROUND_ROBIN"},
    }
    assert subsets["v1"]["ports"] == {"9080": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}
    assert subsets["v3"]["ports"] == {
        "9080": {
            "loadBalancer": {"simple": "LEAST_REQUEST"},
            "connectionPool": {"http": {"http1MaxPendingRequests": 10}},
        }
    }
    assert subsets["v1"]["workloads"] == ["Deployment bookinfo/reviews-v1"]


def test_json_weights_are_effective(capsys):
    hosts = bookinfo(capsys)
    reviews = {s["name"]: s for s in hosts["reviews.bookinfo.svc.cluster.local"]["subsets"]}
    assert [
        (r["virtualService"], r["kind"], r["weight"], r["gateways"])
        for r in reviews["v1"]["routes"]
    ] == [("bookinfo/reviews", "http", 90, ["mesh"])]
    assert [r["weight"] for r in reviews["v2"]["routes"]] == [10]
    assert reviews["v3"]["routes"] == []
    ratings = hosts["ratings.bookinfo.svc.cluster.local"]["subsets"][0]
    # A lone destination without a weight gets all the traffic.
    assert [r["weight"] for r in ratings["routes"]] == [100]


def test_json_ports_cover_service_ports_and_port_level_settings(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("shop", ports=(80, 8080, 7070, 9090)),
        dr(
            "shop",
            "shop",
            policy={"portLevelSettings": [port_policy(9090, tls=MUTUAL)]},
            subsets=[
                subset(
                    "v1",
                    policy={
                        "portLevelSettings": [port_policy(7070, loadBalancer={"simple": "RANDOM"})]
                    },
                )
            ],
        ),
        vs("shop", ["shop"], http=[route(dest("shop", "v1"))]),
    )
    _, data = check_json(capsys, str(folder))
    [shop] = data["hosts"]
    assert sorted(shop["ports"], key=int) == ["80", "7070", "8080", "9090"]
    assert shop["ports"]["9090"] == {"tls": MUTUAL}
    assert shop["ports"]["80"] == {}
    [v1] = shop["subsets"]
    assert sorted(v1["ports"], key=int) == ["80", "7070", "8080", "9090"]
    assert v1["ports"]["7070"] == {"loadBalancer": {"simple": "RANDOM"}}
    assert v1["ports"]["9090"] == {"tls": MUTUAL}


def test_json_ports_leave_out_port_level_settings_for_a_port_the_service_lacks(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("shop", ports=(80,)),
        dr("shop", "shop", policy={"portLevelSettings": [port_policy(12345, tls=MUTUAL)]}),
    )
    _, data = check_json(capsys, str(folder))
    [shop] = data["hosts"]
    assert list(shop["ports"]) == ["80"]
    [finding] = [f for f in data["findings"] if f["code"] == "PortNotInService"]
    assert finding["resource"] == "DestinationRule default/shop"
    assert "port 12345" in finding["message"]


def test_json_workloads_are_null_when_not_known(capsys, tmp_path):
    folder = write(tmp_path, service("shop"), dr("shop", "shop", subsets=[subset("v1")]))
    _, data = check_json(capsys, str(folder))
    assert data["hosts"][0]["subsets"][0]["workloads"] is None


# -- SARIF ---------------------------------------------------------------------------------


def test_sarif_is_valid_sarif_2_1_0(capsys):
    code, out, _ = check(capsys, "examples/bookinfo", "examples/dormant-policy", "-o", "sarif")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == "2.1.0"
    assert "sarif" in doc["$schema"]
    [run] = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "meshtui"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert {
        "SubsetPolicyNeverApplied",
        "UndefinedSubset",
        "SubsetSelectsNothing",
        "DuplicateSubset",
        "MultipleDestinationRules",
        "InvalidResource",
        "ParseError",
    } <= set(rule_ids)
    assert len(run["results"]) == 2
    for result in run["results"]:
        assert result["ruleId"] in rule_ids
        if "ruleIndex" in result:
            assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert result["message"]["text"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert (ROOT / uri).is_file()
        line = physical["region"]["startLine"]
        assert isinstance(line, int) and line >= 1
    dormant = [r for r in run["results"] if "checkout" in r["message"]["text"]]
    [result] = dormant
    assert result["ruleId"] == "SubsetPolicyNeverApplied"
    assert result["level"] == "warning"
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "examples/dormant-policy/destination-rule.yaml"
    assert region["region"]["startLine"] == line_of(
        DORMANT / "destination-rule.yaml", "trafficPolicy:"
    )


def test_sarif_uris_are_percent_encoded(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "my manifests"
    folder.mkdir()
    (folder / "rule #1.yaml").write_text((DORMANT / "destination-rule.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    code, out, _ = check(capsys, "my manifests", "-o", "sarif")
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    assert results  # the dormant policy (and, with no Service here, its unconfirmed host)
    for result in results:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == "my%20manifests/rule%20%231.yaml"


def test_sarif_without_findings_has_an_empty_result_list(capsys):
    code, out, _ = check(capsys, "examples/dormant-policy/fix-route", "-o", "sarif")
    assert code == 0
    assert json.loads(out)["runs"][0]["results"] == []


# -- terminal safety -----------------------------------------------------------------------


def test_text_report_shows_escape_sequences_in_names_escaped(capsys, tmp_path):
    evil = "evil\x1b]0;pwned\x07\x1b[2J"
    (tmp_path / "mesh.yaml").write_text(
        to_yaml(
            service("shop"),
            dr(evil, "shop", subsets=[subset("v1", policy={"tls": MUTUAL})]),
        )
    )
    code, out, _ = check(capsys, str(tmp_path), "-o", "text")
    assert code == 1
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "DestinationRule default/evil\\x1b]0;pwned\\x07\\x1b[2J" in out


def test_json_report_escapes_control_characters(capsys, tmp_path):
    (tmp_path / "mesh.yaml").write_text(
        to_yaml(
            service("shop"),
            dr("evil\x1b[31m", "shop", subsets=[subset("v1", policy={"tls": MUTUAL})]),
        )
    )
    code, out, _ = check(capsys, str(tmp_path), "-o", "json")
    assert code == 1
    assert "\x1b" not in out
    assert json.loads(out)["findings"][0]["resource"] == "DestinationRule default/evil\x1b[31m"
