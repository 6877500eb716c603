"""`meshtui check` on what Istio would reject, policy written but never applied, and the
findings a user should not have to dismiss (issue 23), as `check -o json` reports them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.cli import main
from tests.helpers import dest, dr, route, service, subset, to_yaml, vs


def check_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "-o", "json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def write(tmp_path: Path, *objs: dict) -> Path:
    (tmp_path / "mesh.yaml").write_text(to_yaml(*objs))
    return tmp_path / "mesh.yaml"


def line_of(path: Path, needle: str, after: int = 0) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if i > after and needle in text)


def found(report: dict, code: str) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == code]


@pytest.mark.parametrize(
    ("policy", "needle", "words"),
    [
        ({"connectionPool": {"tcp": {"connectTimeout": "0s"}}}, "connectTimeout", "at least 1ms"),
        (
            {"portLevelSettings": [{"port": {"number": 70000}, "tls": {"mode": "DISABLE"}}]},
            "70000",
            "between 1 and 65535",
        ),
    ],
)
def test_what_the_webhook_rejects_is_an_invalid_resource_at_its_line(
    tmp_path, capsys, policy, needle, words
):
    path = write(tmp_path, service("reviews"), dr("reviews", "reviews", policy=policy))
    code, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert code == 1
    assert invalid["severity"] == "error"
    assert invalid["line"] == line_of(path, needle)
    assert words in invalid["message"]
    assert "Istio's webhook rejects it" in invalid["message"]


def test_weights_totalling_zero_and_an_sni_host_outside_the_hosts_are_rejected(tmp_path, capsys):
    path = write(
        tmp_path,
        service("reviews"),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", weight=0), dest("reviews", weight=0))],
            tls=[
                {
                    "match": [{"sniHosts": ["shop.example.com"]}],
                    "route": [{"destination": {"host": "reviews"}}],
                }
            ],
        ),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert invalid["field"] == "spec.http[0].route"
    assert "weights total 0" in invalid["message"]
    assert "SNI host 'shop.example.com' is not covered" in invalid["message"]
    assert invalid["line"] == line_of(path, "route:")


def test_one_invalid_route_does_not_hide_the_other_findings_of_its_virtual_service(
    tmp_path, capsys
):
    path = write(
        tmp_path,
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs(
            "reviews",
            ["reviews"],
            http=[
                {"match": [{"uri": {"prefix": "/a"}}], "route": [{}]},
                route(dest("ratings-typo")),
            ],
        ),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert invalid["field"] == "spec.http[0].route[0].destination"
    [unknown] = found(report, "UnknownHost")
    assert unknown["resource"] == "VirtualService default/reviews"
    assert unknown["line"] == line_of(path, "ratings-typo")
