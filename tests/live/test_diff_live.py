"""`meshtui diff cluster NEW`: what applying a folder would do to the live cluster (the
loopback API server, real client), the folder laid over the cluster's resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshtui.cli import main
from tests.kubeapi import KubeAPIServer
from tests.live.cluster_fixtures import BOOKINFO, load_bookinfo

REVIEWS = "reviews.bookinfo.svc.cluster.local"


def diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["diff", *args, "-o", "json"])
    return status, json.loads(capsys.readouterr().out)


def test_applying_a_folder_to_the_cluster(kube_api: KubeAPIServer, capsys, tmp_path: Path):
    load_bookinfo(kube_api)
    live = ["--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig)]
    # The cluster against the files it was loaded from: nothing changes for traffic.
    status, doc = diff(capsys, "cluster", str(BOOKINFO), *live)
    assert (status, doc["changes"], doc["ineffective"]) == (0, [], [])
    assert doc["findings"] == {"added": [], "resolved": []}

    change = tmp_path / "change"
    change.mkdir()
    vs = (BOOKINFO / "virtual-services.yaml").read_text().split("\n---\n")[0]
    (change / "reviews.yaml").write_text(
        vs.replace("weight: 90", "weight: 0").replace("weight: 10", "weight: 100")
    )
    status, doc = diff(capsys, "cluster", str(change), *live)
    assert doc["old"].startswith("alpha") or "alpha" in doc["old"]
    [entry] = doc["changes"]
    assert entry["host"] == REVIEWS and entry["clientNamespaces"] == ["*"]
    routes = [
        (c["subset"], c["oldWeight"], c["newWeight"])
        for c in entry["changes"]
        if c["kind"] == "route"
    ]
    assert routes == [("v1", 90, None), ("v2", 10, 100)]
    assert status == 0
    # Only reads: GET, never a Secret.
    assert {r.method for r in kube_api.requests} == {"GET"}
    assert not any("secrets" in r.path for r in kube_api.requests)


def test_routing_expectations_hold_on_the_live_cluster(kube_api: KubeAPIServer, capsys):
    load_bookinfo(kube_api)
    example = Path(__file__).resolve().parents[2] / "examples" / "expectations" / "bookinfo.yaml"
    live = ["--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig)]
    assert main(["test", str(example), *live]) == 0
    assert capsys.readouterr().out.rstrip().endswith("5 passed, 0 failed")
