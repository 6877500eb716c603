"""PATHs with --context: the files' resources laid over the cluster's, as istioctl analyze does
(same kind, namespace and name replace; others add). The real kubernetes client talks to the
loopback API server (tests/kubeapi), which must see only GET requests."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from meshtui.cli import main
from meshtui.sources.cluster import ClusterSource
from meshtui.sources.files import FileSource
from meshtui.sources.overlay import OverlaySource
from tests.kubeapi import KubeAPIServer
from tests.kubeapi import objects as k
from tests.tui.helpers import ROUTE_TO_V2

HOST = "checkout.shop.svc.cluster.local"
SUBSETS = [
    {"name": "v1", "labels": {"version": "v1"}},
    {
        "name": "v2",
        "labels": {"version": "v2"},
        "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}},
    },
]
RULE_WITHOUT_V2 = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: checkout, namespace: shop}
spec:
  host: checkout
  subsets:
  - name: v1
    labels: {version: v1}
"""
NEW_SERVICE = """apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  ports: [{port: 80}]
"""


@pytest.fixture(autouse=True)
def _no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def cluster(kube_api: KubeAPIServer) -> KubeAPIServer:
    """A cluster where subset v2's policy is dormant (no route names it)."""
    kube_api.add_many(
        [
            k.service("shop", "checkout", port=8080),
            k.pod("shop", "checkout-v1-7d9f", {"app": "checkout", "version": "v1"}),
            k.pod("shop", "checkout-v2-5c4b", {"app": "checkout", "version": "v2"}),
            k.destination_rule("shop", "checkout", "checkout", subsets=SUBSETS),
            k.secret("shop", "token"),
        ]
    )
    yield kube_api
    writes = [f"{r.method} {r.path}" for r in kube_api.requests if r.method != "GET"]
    assert not writes, f"requests other than GET: {writes}"
    assert not [r for r in kube_api.requests if r.resource in ("secrets", "configmaps")]


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["check", *args, "-o", "json"])
    out, err = capsys.readouterr()
    assert err == ""
    return status, json.loads(out)


def test_the_cluster_alone_has_the_dormant_policy(cluster, capsys):
    status, document = check(capsys, "--context", "alpha", "--kubeconfig", str(cluster.kubeconfig))
    assert status == 1
    assert [f["code"] for f in document["findings"]] == ["SubsetPolicyNeverApplied"]


def test_a_file_that_adds_a_route_is_laid_over_the_cluster(cluster, capsys, tmp_path):
    (tmp_path / "route.yaml").write_text(ROUTE_TO_V2)
    (tmp_path / "cart.yaml").write_text(NEW_SERVICE)
    args = [str(tmp_path), "--context", "alpha", "--kubeconfig", str(cluster.kubeconfig)]
    status, document = check(capsys, *args)
    assert status == 0
    assert document["findings"] == []
    assert document["source"] == f"{tmp_path} over context alpha"
    hosts = {h["host"]: h for h in document["hosts"]}
    assert set(hosts) == {HOST, "cart.shop.svc.cluster.local"}  # the file's Service adds one
    [v2] = [s for s in hosts[HOST]["subsets"] if s["name"] == "v2"]
    assert v2["routes"][0]["virtualService"] == "shop/checkout"
    assert v2["workloads"] == ["Pod shop/checkout-v2-5c4b"]  # the cluster's pods


def test_a_file_replaces_the_cluster_resource_of_the_same_name(cluster, capsys, tmp_path):
    (tmp_path / "rule.yaml").write_text(RULE_WITHOUT_V2)
    (tmp_path / "route.yaml").write_text(ROUTE_TO_V2)
    args = [str(tmp_path), "--context", "alpha", "--kubeconfig", str(cluster.kubeconfig)]
    status, document = check(capsys, *args)
    assert status == 1
    # The cluster's rule had v2; the file's, which replaces it, does not: the route breaks.
    [finding] = document["findings"]
    assert finding["code"] == "UndefinedSubset"
    [host] = [h for h in document["hosts"] if h["host"] == HOST]
    assert [s["name"] for s in host["subsets"]] == ["v1"]
    assert finding["file"] == str(tmp_path / "route.yaml")


def test_text_report_says_folder_over_context(cluster, capsys, tmp_path):
    (tmp_path / "route.yaml").write_text(ROUTE_TO_V2)
    status = main(
        ["check", str(tmp_path), "--context", "alpha", "--kubeconfig", str(cluster.kubeconfig)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert f"{tmp_path} over context alpha: 1 host, no findings" in out
    assert f"note: {tmp_path} laid over context alpha" in out


def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_followed_overlay_takes_changes_from_both_sides(cluster, tmp_path):
    folder = tmp_path / "mesh"
    folder.mkdir()
    (folder / "rule.yaml").write_text(RULE_WITHOUT_V2)
    source = OverlaySource(
        FileSource([folder], follow=True),
        ClusterSource(contexts=["alpha"], kubeconfig=str(cluster.kubeconfig)),
    )
    changed = threading.Event()
    source.load()
    source.watch(lambda hosts: changed.set())

    def subsets() -> list[str]:
        [analysis] = source.snapshot()
        return [s.name for s in analysis.hosts[HOST].subsets]

    try:
        assert subsets() == ["v1"]
        # The cluster changes the rule the file replaces: hidden by the file.
        cluster.update(k.destination_rule("shop", "checkout", "checkout", subsets=SUBSETS[:1]))
        cluster.add(k.service("shop", "cart", port=80))  # a change the file does not hide
        _wait(lambda: "cart.shop.svc.cluster.local" in source.snapshot()[0].hosts)
        assert subsets() == ["v1"]
        # The file goes: the cluster's own (current) rule is in force again.
        (folder / "rule.yaml").unlink()
        (folder / "route.yaml").write_text(ROUTE_TO_V2)
        _wait(lambda: subsets() == ["v1"] and source.snapshot()[0].findings)
        [finding] = source.snapshot()[0].findings
        assert finding.code.value == "UndefinedSubset"  # the cluster's rule has no v2 now
    finally:
        source.stop()
