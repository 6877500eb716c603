"""The benchmark's mesh generator writes a folder `meshtui check` reads as the generator meant."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from meshtui.cli import main

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "generate_mesh.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_mesh", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_mesh", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate_mesh() -> ModuleType:
    return _generator()


def _check_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    status = main(["check", str(folder), "-o", "json"])
    assert status == 1  # the dormant policies are warnings: the default threshold is reached
    return json.loads(capsys.readouterr().out)


def test_check_reads_every_generated_host_and_the_dormant_policies_the_generator_left(
    generate_mesh: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = generate_mesh.generate(tmp_path, hosts=20, subsets=3, workloads=5, seed=1)
    report = _check_json(tmp_path, capsys)

    assert report["summary"]["hosts"] == stats.hosts == 20
    assert all(len(h["subsets"]) == 3 for h in report["hosts"])
    codes = Counter(f["code"] for f in report["findings"])
    assert stats.dormant > 0
    assert codes["SubsetPolicyNeverApplied"] == stats.dormant
    assert codes["SubsetSelectsNothing"] == stats.selects_nothing
    assert codes["UndefinedSubset"] == stats.undefined
    assert codes["MultipleDestinationRules"] == stats.merged
    assert not codes["ParseError"] and not codes["InvalidResource"]
    dormant = {
        (f["host"], f["subset"])
        for f in report["findings"]
        if f["code"] == "SubsetPolicyNeverApplied"
    }
    assert dormant == set(stats.dormant_subsets)


def test_the_same_seed_writes_the_same_folder(generate_mesh: ModuleType, tmp_path: Path) -> None:
    generate_mesh.generate(tmp_path / "a", hosts=20, seed=7)
    generate_mesh.generate(tmp_path / "b", hosts=20, seed=7)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_emitter_writes_yaml_that_reads_back_as_written(generate_mesh: ModuleType) -> None:
    obj = {
        "metadata": {"name": "reviews", "labels": {"app": "reviews"}, "created": "2024-01-01"},
        "spec": {
            "ports": [{"port": 8080, "name": "http"}, {"port": 9090}],
            "empty": {},
            "none": [],
            "flags": [
                True,
                "true",
                "yes",
                "on",
                "null",
                "~",
                "10s",
                "1.5",
                "a: b",
                "a:b",
                "key:",
                "#x",
            ],
        },
    }
    assert yaml.safe_load(generate_mesh.to_yaml(obj)) == obj


def test_the_gateway_api_benchmark_routes_both_meshes_alike(tmp_path):
    # benchmarks/gateway_api_scale.py compares like with like: the same hosts and live routes.
    path = GENERATOR.with_name("gateway_api_scale.py")
    spec = importlib.util.spec_from_file_location("gateway_api_scale", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(tmp_path / "vs", 60, gateway_api=False)
    bench.generate(tmp_path / "hr", 60, gateway_api=True)
    _, vs_hosts, vs_routes = bench.measure(tmp_path / "vs")
    _, hr_hosts, hr_routes = bench.measure(tmp_path / "hr")
    assert (vs_hosts, vs_routes) == (hr_hosts, hr_routes) == (180, 180)
