"""`meshtui trace` on a live cluster (the loopback API server, real client) gives the same
answer as on the folder the cluster was loaded from."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshtui.cli import main
from tests.kubeapi import KubeAPIServer
from tests.live.cluster_fixtures import BOOKINFO, bookinfo, load_bookinfo


def trace(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["trace", *args, "-o", "json"])
    return status, json.loads(capsys.readouterr().out)


def without_workloads(doc: dict[str, Any]) -> dict[str, Any]:
    """The trace minus what differs by nature: Deployments offline, their Pods live; the
    rule's file and line offline (`location`), none live."""
    hops = [{k: v for k, v in h.items() if k != "workloads"} for h in doc["destinations"]]
    kept = {k: v for k, v in doc.items() if k not in ("cluster", "location")}
    return {**kept, "destinations": hops}


REQUESTS = [
    ["--from", "bookinfo", "--to", "reviews:9080"],
    ["--from", "bookinfo", "--to", "ratings", "--path", "/ratings/1"],
    ["--from", "default", "--to", "productpage.bookinfo:9080"],
    ["--from", "bookinfo/productpage-v1", "--to", "reviews", "--method", "POST"],
    [
        "--from",
        "istio-system",
        "--gateway",
        "bookinfo/bookinfo-gateway",
        "--to",
        "x.example",
        "--path",
        "/productpage",
    ],
]


@pytest.mark.parametrize(
    "request_args", REQUESTS, ids=["canary", "ratings", "default", "workload", "gw"]
)
def test_live_and_offline_traces_agree(kube_api: KubeAPIServer, capsys, request_args):
    load_bookinfo(kube_api)
    live = ["--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig)]

    live_status, live_doc = trace(capsys, *live, *request_args)
    offline_status, offline_doc = trace(capsys, str(BOOKINFO), *request_args)

    assert live_status == offline_status
    assert without_workloads(live_doc) == without_workloads(offline_doc)
    assert live_doc["cluster"] == "alpha"
    for live_hop, offline_hop in zip(
        live_doc["destinations"], offline_doc["destinations"], strict=True
    ):
        # Each Deployment offline is its running Pods live.
        deployments = {w.split("/")[1] for w in offline_hop["workloads"] or ()}
        pods = {w.split("/")[1].rsplit("-", 2)[0] for w in live_hop["workloads"] or ()}
        assert pods == deployments


def test_live_trace_sees_a_change_of_the_cluster(kube_api: KubeAPIServer, capsys):
    load_bookinfo(kube_api)
    reviews = bookinfo("VirtualService", "reviews")
    reviews["spec"]["http"][0]["route"] = [{"destination": {"host": "reviews", "subset": "v3"}}]
    kube_api.update(reviews)

    status, doc = trace(
        capsys, "--kubeconfig", str(kube_api.kubeconfig), "--from", "bookinfo", "--to", "reviews"
    )
    assert status == 0
    [hop] = doc["destinations"]
    assert (hop["subset"], hop["weight"]) == ("v3", 100)
    assert hop["policy"]["connectionPool"]  # v3's own policy, dormant until now
    assert [w.split("/")[1].rsplit("-", 2)[0] for w in hop["workloads"]] == ["reviews-v3"]
