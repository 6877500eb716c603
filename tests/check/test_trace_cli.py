"""`meshtui trace` through the real command line: the story, the JSON contract, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.cli import main
from tests.helpers import deployment, dest, dr, route, service, subset, to_yaml, vs

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ROOT / "examples" / "bookinfo"
REVIEWS = "reviews.bookinfo.svc.cluster.local"


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def trace(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["trace", *args])
    out, err = capsys.readouterr()
    return code, out, err


def trace_json(capsys, *args: str) -> tuple[int, dict]:
    code, out, _ = trace(capsys, *args, "-o", "json")
    return code, json.loads(out)


def write(tmp_path: Path, *objs: dict) -> Path:
    (tmp_path / "mesh.yaml").write_text(to_yaml(*objs))
    return tmp_path


def test_bookinfo_reviews_canary_as_json(capsys):
    code, doc = trace_json(capsys, "examples/bookinfo", "--from", "bookinfo", "--to", "reviews")

    assert code == 0
    assert {k: doc[k] for k in ("from", "host", "port", "virtualService", "rule", "ruleName")} == {
        "from": "bookinfo",
        "host": REVIEWS,
        "port": 9080,
        "virtualService": "bookinfo/reviews",
        "rule": "http[0]",
        "ruleName": "canary",
    }
    assert doc["skipped"] == []
    assert doc["mirror"] == []
    assert doc["problems"] == []
    v1, v2 = doc["destinations"]
    assert (v1["subset"], v1["weight"], v2["subset"], v2["weight"]) == ("v1", 90, "v2", 10)
    assert v1["destinationRule"] == "bookinfo/reviews"
    assert v1["policy"] == {"loadBalancer": {"simple": "ROUND_ROBIN"}}
    assert v1["policyOrigins"] == {"loadBalancer": "subset"}
    assert v1["workloads"] == ["Deployment bookinfo/reviews-v1"]


def test_text_reads_as_the_story_of_the_request(capsys):
    code, out, _ = trace(
        capsys, "examples/bookinfo", "--from", "bookinfo", "--to", "reviews:9080", "--path", "/x"
    )

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "GET /x from a sidecar in namespace bookinfo to "
        "reviews.bookinfo.svc.cluster.local:9080 (http)"
    )
    assert lines[1] == "VirtualService bookinfo/reviews handles it."
    # The rule, and where it is written (its own line).
    assert lines[2] == (
        "  matches bookinfo/reviews http[0] 'canary' (examples/bookinfo/virtual-services.yaml:11)."
    )
    assert "   90%  reviews.bookinfo.svc.cluster.local:9080 subset v1" in lines
    assert "    reaches Deployment bookinfo/reviews-v1" in lines
    assert lines[-1] == "The request gets through."


def test_skipped_rules_and_problems_make_exit_1(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("reviews", ports=(9080,)),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs(
            "reviews",
            ["reviews"],
            http=[
                route(dest("reviews", "v1"), match=[{"headers": {"end-user": {"exact": "a"}}}]),
                route(dest("reviews", "v3")),
            ],
        ),
    )
    code, out, _ = trace(capsys, str(folder), "--from", "default", "--to", "reviews")
    assert code == 1
    assert (
        "  skips default/reviews http[0]: header end-user: exact 'a' wanted, "
        "the request has no end-user header"
    ) in out
    assert "The request fails:" in out
    assert "  ✗ subset 'v3' of reviews.default.svc.cluster.local is undefined" in out

    code, doc = trace_json(
        capsys, str(folder), "--from", "default", "--to", "reviews", "-H", "End-User: a"
    )
    assert (code, doc["rule"], doc["problems"]) == (0, "http[0]", [])


def test_gateway_trace(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("web", ports=(8080,)),
        deployment("web", {"app": "web"}),
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "public", "namespace": "default"},
            "spec": {
                "servers": [
                    {
                        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                        "hosts": ["*/web.example.com"],
                    }
                ]
            },
        },
        vs("web", ["web.example.com"], gateways=["public"], http=[route(dest("web"))]),
    )
    code, doc = trace_json(
        capsys, str(folder), "--gateway", "default/public", "--to", "web.example.com"
    )
    assert code == 0
    assert (doc["gateway"], doc["port"], doc["virtualService"]) == (
        "default/public",
        80,
        "default/web",
    )
    assert doc["destinations"][0]["host"] == "web.default.svc.cluster.local"
    assert doc["destinations"][0]["port"] == 8080


def test_names_from_resources_cannot_reach_the_terminal(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("reviews", ports=(9080,)),
        vs("reviews", ["reviews"], http=[route(dest("reviews"), name="\x1b[31mred")]),
    )
    _, out, _ = trace(capsys, str(folder), "--from", "default", "--to", "reviews")
    assert "\x1b" not in out
    assert "\\x1b[31mred" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "reviews"], "--from NAMESPACE[/WORKLOAD] is required"),
        (["--from", "bookinfo", "--to", "reviews:http"], "the port must be a number"),
        (["--from", "bookinfo/nobody", "--to", "reviews"], "no workload 'nobody'"),
        (["--from", "bookinfo", "--to", "reviews", "-H", "novalue"], "is not 'name: value'"),
        (["--gateway", "public", "--to", "x"], "is not NAMESPACE/NAME"),
    ],
)
def test_bad_requests_exit_2(capsys, args, message):
    code, out, err = trace(capsys, "examples/bookinfo", *args)
    assert code == 2
    assert out == ""
    assert message in err


def test_ambiguous_port_exits_2(capsys, tmp_path):
    folder = write(tmp_path, service("reviews", ports=(9080, 9443)))
    code, _, err = trace(capsys, str(folder), "--from", "default", "--to", "reviews")
    assert code == 2
    assert "has ports 9080, 9443: give HOST:PORT" in err


def test_unreadable_input_exits_2(capsys, tmp_path):
    code, _, err = trace(capsys, str(tmp_path / "missing"), "--from", "a", "--to", "b")
    assert code == 2
    assert "meshtui:" in err


def test_trace_does_not_import_textual():
    code = (
        "import sys\n"
        "from meshtui.cli import main\n"
        "main(['trace', 'examples/bookinfo', '--from', 'bookinfo', '--to', 'reviews'])\n"
        "assert not any(m == 'textual' or m.startswith('textual.') for m in sys.modules), "
        "'textual imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "The request gets through." in result.stdout


def test_a_split_with_one_failing_branch_says_which_share_fails(capsys, tmp_path):
    folder = write(
        tmp_path,
        service("reviews", ports=(9080,)),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=90), dest("reviews", "v3", weight=10))],
        ),
    )
    code, out, _ = trace(capsys, str(folder), "--from", "default", "--to", "reviews")
    assert code == 1
    assert "10% of these requests fail:" in out and "The request fails" not in out
    assert "  ✗ subset 'v3' of reviews.default.svc.cluster.local is undefined" in out
