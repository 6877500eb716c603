"""`meshtui test FILE [PATH]`: routing expectations checked with the trace engine, on
examples/bookinfo: passing and failing cases, a malformed file, JSON and JUnit XML."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from meshtui.cli import main
from meshtui.mesh.expect import EXPECT_KEYS, REQUEST_KEYS
from meshtui.sources.expectations import CASE_KEYS, DESTINATION_KEYS

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = str(ROOT / "examples" / "bookinfo")
EXAMPLE = str(ROOT / "examples" / "expectations" / "bookinfo.yaml")


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "routing.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


FAILING = """
tests:
- name: ratings gets through to v1
  request: {from: bookinfo, to: ratings}
  expect:
    subset: v1
- name: reviews all to v2 with a 2s timeout
  request:
    from: bookinfo
    to: reviews:9080
    headers: {x-beta: true}
  expect:
    subset: v2
    timeout: 2s
- name: details is expected to fail
  request: {from: bookinfo, to: details}
  expect:
    fails: true
"""


def test_the_example_passes_on_bookinfo(capsys):
    assert main(["test", EXAMPLE, BOOKINFO]) == 0
    out = capsys.readouterr().out
    assert "  ✓ the reviews canary sends 90% to v1 and 10% to v2" in out
    assert out.rstrip().endswith("5 passed, 0 failed")


def test_a_failing_case_shows_what_was_expected_and_what_happened(tmp_path, capsys):
    file = write(tmp_path, FAILING)
    assert main(["test", file, BOOKINFO]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "  ✓ ratings gets through to v1" in lines
    assert "  ✗ reviews all to v2 with a 2s timeout" in lines
    at = lines.index("  ✗ reviews all to v2 with a 2s timeout")
    assert lines[at + 1 : at + 7] == [
        f"      subset ({file}:12)",
        "        - expected: v2",
        '        + got:      [{"host": "reviews.bookinfo.svc.cluster.local", "subset": "v1", '
        '"weight": 90}, {"host": "reviews.bookinfo.svc.cluster.local", "subset": "v2", '
        '"weight": 10}]',
        f"      timeout ({file}:13)",
        "        - expected: 2s",
        "        + got:      null",
    ]
    assert "the request got: bookinfo/reviews http[0] → v1 90%, v2 10%" in out
    assert "  ✗ details is expected to fail" in lines
    assert out.rstrip().endswith("1 passed, 2 failed")


def test_a_request_that_fails_with_503_is_an_expectation(tmp_path, capsys):
    (tmp_path / "mesh").mkdir()
    text = Path(BOOKINFO, "virtual-services.yaml").read_text()
    (tmp_path / "mesh" / "vs.yaml").write_text(text.replace("subset: v2}", "subset: v9}"))
    for name in ("services.yaml", "destination-rules.yaml", "deployments.yaml"):
        (tmp_path / "mesh" / name).write_text(Path(BOOKINFO, name).read_text())
    file = write(
        tmp_path,
        """
        tests:
        - name: one request in ten fails
          request: {from: bookinfo, to: reviews}
          expect:
            destinations: [{subset: v1, weight: 90}, {subset: v9, weight: 10}]
            fails: "503"
        """,
    )
    assert main(["test", file, str(tmp_path / "mesh")]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_json_output_carries_the_trace_of_each_case(tmp_path, capsys):
    file = write(tmp_path, FAILING)
    assert main(["test", file, BOOKINFO, "-o", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["passed"], doc["failed"]) == (1, 2)
    case = doc["cases"][1]
    assert case["name"] == "reviews all to v2 with a 2s timeout"
    assert [(m["expectation"], m["line"]) for m in case["mismatches"]] == [
        ("subset", 12),
        ("timeout", 13),
    ]
    assert case["trace"]["virtualService"] == "bookinfo/reviews"
    assert case["trace"]["request"]["headers"] == {"x-beta": "true"}


def test_junit_xml_reads_in_a_junit_parser(tmp_path, capsys):
    junitparser = pytest.importorskip("junitparser", reason="the test extra installs it")
    file = write(tmp_path, FAILING)
    assert main(["test", file, BOOKINFO, "-o", "junit"]) == 1
    report = tmp_path / "report.xml"
    report.write_text(capsys.readouterr().out)
    xml = junitparser.JUnitXml.fromfile(str(report))
    [suite] = list(xml)
    assert (suite.tests, suite.failures, suite.errors) == (3, 2, 0)
    cases = {c.name: c for c in suite}
    assert cases["ratings gets through to v1"].is_passed
    [failure] = cases["reviews all to v2 with a 2s timeout"].result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message.startswith("subset: expected v2, got [")
    assert "timeout: expected 2s, got null" in failure.message


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "tests:\n- name: a\n  request: {from: ns, to: h}\n  expect:\n    subsett: v1\n",
            5,
            "tests[0].expect: unknown key 'subsett' (known: virtualService, rule, subset, ",
        ),
        (
            "tests:\n- name: a\n  request: {from: ns, to: h}\n  expect:\n"
            "    destinations:\n    - {subset: v1, weight: ten}\n",
            6,
            "tests[0].expect.destinations[0].weight must be int",
        ),
        (
            "tests:\n- name: a\n  request: {from: ns}\n  expect: {}\n",
            3,
            "tests[0].request needs `to: HOST[:PORT]`",
        ),
        (
            "tests:\n- name: a\n  request: {from: ns, to: 'h:99999'}\n  expect: {}\n",
            3,
            "the port of 'h:99999' must be a number 1-65535",
        ),
        (
            "tests:\n- name: a\n  request: {from: ns, to: h}\n  expect:\n    timeout: soon\n",
            5,
            "tests[0].expect.timeout: 'soon' is not a duration",
        ),
        ("tests:\n- name: [a\n", 3, "not YAML"),
        ("cases: []\n", 1, "the file: unknown key 'cases'"),
    ],
    ids=["misspelt", "type", "missing", "port", "duration", "yaml", "top"],
)
def test_a_malformed_file_is_reported_by_file_and_line(tmp_path, capsys, text, where, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["test", str(path), BOOKINFO]) == 2
    err = capsys.readouterr().err
    assert f"meshtui test: {path}:{where}: " in err
    assert message in err


def test_the_schema_documents_every_key_the_reader_takes():
    schema = json.loads((ROOT / "docs" / "expectations.schema.json").read_text())
    case = schema["$defs"]["case"]
    assert tuple(case["properties"]) == CASE_KEYS
    assert tuple(schema["$defs"]["request"]["properties"]) == REQUEST_KEYS
    assert tuple(schema["$defs"]["expect"]["properties"]) == EXPECT_KEYS
    assert tuple(schema["$defs"]["destination"]["properties"]) == DESTINATION_KEYS


def test_a_case_through_a_kubernetes_gateway_is_traced_as_meshtui_trace_traces_it(tmp_path, capsys):
    # `meshtui trace --gateway ingress/public` goes through the listener pilot generates for
    # the Kubernetes Gateway; a case naming the same gateway must take the same path (it once
    # looked for an Istio Gateway of that name and reported "no proxy serves it").
    gateway_api = str(ROOT / "examples" / "gateway-api")
    file = write(
        tmp_path,
        """
        tests:
        - name: the API goes to the catalog
          request: {gateway: ingress/public, to: www.bookstore.example, path: /api}
          expect: {virtualService: bookstore/storefront, timeout: 5s}
        - name: the rest goes to the web front end, with no timeout
          request: {gateway: ingress/public, to: www.bookstore.example, path: /}
          expect: {virtualService: bookstore/storefront, timeout: 5s}
        """,
    )
    assert main(["test", file, gateway_api]) == 1
    out = capsys.readouterr().out
    assert "  ✓ the API goes to the catalog" in out
    assert "  ✗ the rest goes to the web front end, with no timeout" in out
    assert "no proxy serves it" not in out
    assert out.rstrip().endswith("1 passed, 1 failed")
