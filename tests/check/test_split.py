"""`check -o json` written by several processes (check/split.py) is the report one writes.

Each comparison runs the real command line twice in a fresh interpreter (a fork needs a
process of one thread, which a pytest-xdist worker is not): `--jobs 1` and `--jobs N`, with
`--verbose` saying that N processes wrote the second, and compares the bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import dest, dr, route, service, subset, to_yaml, vs

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "benchmarks" / "generate_mesh.py"

# Runs `meshtui check` for each (folder, options) it is given, with --jobs 1 and with each
# other --jobs, and prints what differed and what --verbose said of the split.
COMPARE = r"""
import contextlib, io, json, os, sys
from meshtui.cli import main
from meshtui.check import split

failing = os.environ.get("SPLIT_CHILD_FAILS")  # write_share, verify: where a child fails
if failing:
    parent = os.getpid()
    works = getattr(split, failing)

    def fails(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(3)  # as if killed
        return works(*args, **kwargs)

    setattr(split, failing, fails)

def run(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", *args, "-o", "json", "--verbose"])
    return code, out.getvalue(), err.getvalue()

results = []
for folder, options, jobs in json.loads(sys.argv[1]):
    one = run([folder, *options, "--jobs", "1"])
    for n in jobs:
        many = run([folder, *options, "--jobs", str(n)])
        results.append({
            "case": [folder, options, n],
            "same": one[:2] == many[:2],
            "split": "processes, each" in many[2],
            "hosts": json.loads(one[1])["summary"]["hosts"] if one[1] else 0,
            "single": "processes, each" not in one[2],
            "findings": len(json.loads(one[1])["findings"]),
        })
print(json.dumps(results))
"""


def compare(cases: list[tuple[str, list[str], list[int]]], **env: str) -> list[dict]:
    import os

    done = subprocess.run(
        [sys.executable, "-c", COMPARE, json.dumps(cases)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_same(results: list[dict]) -> None:
    for r in results:
        assert r["same"], f"{r['case']}: the split report differs from one process's"
        if r["hosts"] > 1:  # one host is one share
            assert r["split"], f"{r['case']}: --verbose does not say the report was split"
        assert r["single"], f"{r['case']}: --jobs 1 split the report"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated mesh of 300 hosts: errors, warnings and infos on both sides of a split."""
    out = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [sys.executable, str(GENERATOR), str(out), "--hosts", "300", "--seed", "3"],
        check=True,
        capture_output=True,
    )
    return out


def test_every_example_and_fixture_reads_the_same_split_in_two_or_three(generated: Path) -> None:
    # examples/expectations holds what `meshtui test` expects, no mesh
    folders = sorted(
        p for p in (ROOT / "examples").iterdir() if p.is_dir() and p.name != "expectations"
    )
    folders += sorted(p for p in (ROOT / "tests" / "fixtures").iterdir() if p.is_dir())
    cases = [(str(f.relative_to(ROOT)), [], [2, 3]) for f in folders]
    cases.append((str(generated), [], [2, 3]))
    results = compare(cases)
    assert_same(results)
    assert sum(r["findings"] for r in results) > 200  # the comparison has findings to order


@pytest.mark.parametrize(
    "options",
    [
        ["--max-fixes", "0"],
        ["--max-fixes", "3"],  # the first three of the report: all on one side of the split
        ["--max-fixes", "150"],  # more than one side's findings
        ["--no-fixes"],
        ["--suppress", "SubsetPolicyNeverApplied=DestinationRule *"],
        ["--client-namespace", "growth-0001"],
        ["--failure-threshold", "error"],
    ],
)
def test_fix_limits_suppression_and_views_read_the_same_split(
    generated: Path, options: list[str]
) -> None:
    assert_same(compare([(str(generated), options, [2])]))


def test_findings_of_no_host_and_of_hosts_without_analysis_are_reported_once(
    tmp_path: Path,
) -> None:
    """A parse error (no host), a DestinationRule for a host nothing defines (its checks, no
    analysis) and each host's own findings, split across up to four processes."""
    objs: list[dict] = []
    for i in range(6):
        host = f"svc{i}.shop.svc.cluster.local"
        objs += [
            service(f"svc{i}", namespace="shop"),
            dr(f"svc{i}", host, namespace="shop", subsets=[subset("v1"), subset("v2")]),
            vs(f"svc{i}", [host], namespace="shop", http=[route(dest(host, "v3"))]),
        ]
    objs.append(
        dr("ghost", "ghost.shop.svc.cluster.local", namespace="shop", subsets=[subset("v1")])
    )
    (tmp_path / "mesh.yaml").write_text(to_yaml(*objs) + "---\n{bad: [\n")
    results = compare([(str(tmp_path), [], [2, 3, 4])])
    assert_same(results)
    assert results[0]["findings"] >= 8


@pytest.mark.parametrize("where", ["check_mesh", "write_share", "verify"])
def test_a_child_that_fails_leaves_its_work_to_this_process(generated: Path, where: str) -> None:
    """A child that dies finding the checks' findings for this process, writing its share,
    or verifying the fixes it was dealt."""
    assert_same(compare([(str(generated), [], [2, 3])], SPLIT_CHILD_FAILS=where))
