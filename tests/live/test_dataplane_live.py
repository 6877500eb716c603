"""The data plane on a live cluster: Namespaces (labels), Sidecars and waypoint Gateways are
listed and watched read-only, and give the verdicts the same objects give in a folder; where
files and a cluster differ (a Namespace without mesh labels), the cluster's labels decide."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshtui.cli import main
from meshtui.sources.cluster import ClusterSource
from tests.live.cluster_fixtures import eventually

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kube_api(gateway_api):
    """Waypoints are Gateway API Gateways: these clusters serve the Gateway API."""
    return gateway_api


FIXTURES = ROOT / "tests" / "fixtures" / "dataplane"
ADDRESS = {"addresses": [{"type": "IPAddress", "value": "10.96.0.20"}]}


def documents(folder: str) -> list[dict[str, Any]]:
    docs = list(yaml.safe_load_all((FIXTURES / folder / "mesh.yaml").read_text()))
    pods = []
    for doc in docs:
        if doc["kind"] == "Gateway" and doc["apiVersion"].startswith("gateway.networking"):
            doc["status"] = copy.deepcopy(ADDRESS)  # a deployed waypoint has an address
        if doc["kind"] == "Deployment":  # the pod the cluster runs for it (pods are read live)
            meta = doc["metadata"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            pods.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{meta['name']}-0",
                        "namespace": meta["namespace"],
                        "labels": dict(labels),
                    },
                    "spec": {"containers": [{"name": "app", "image": "app:1"}]},
                    "status": {"phase": "Running"},
                }
            )
    return docs + pods


def load(server, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        if doc["kind"] == "Namespace":
            server.update(doc) if _exists(server, doc) else server.add(doc)
        else:
            server.add(doc)


def _exists(server, doc: dict[str, Any]) -> bool:
    spec = server.store.spec_for(doc)
    return server.store.get(spec, "", doc["metadata"]["name"]) is not None


def check(capsys, *args: str) -> dict[str, Any]:
    main(["check", *args, "-o", "json", "--max-fixes", "0"])
    return json.loads(capsys.readouterr().out)


def verdicts(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    for h in doc["hosts"]:
        for s in h["subsets"]:
            out.append(
                (
                    s["name"],
                    tuple(r["virtualService"] for r in s["routes"]),
                    tuple(r["dropped"] for r in s["droppedRoutes"]),
                )
            )
        out += [
            (tuple(v["destinationRules"]), tuple(v["clientNamespaces"]))
            for v in h["destinationRulesByClient"]
        ]
    out += [(f["code"], f["message"]) for f in doc["findings"]]
    return sorted(out, key=repr)


@pytest.mark.parametrize(
    ("folder", "client"),
    [
        ("ambient", None),
        ("ambient", "web"),
        ("waypoint", None),
        ("waypoint", "web"),
        ("sidecar-scope", None),
        ("sidecar-scope", "batch"),
        ("waypoint-routes", None),
        ("waypoint-routes", "web"),
    ],
)
def test_live_gives_the_verdicts_of_the_same_objects_in_a_folder(kube_api, capsys, folder, client):
    load(kube_api, documents(folder))
    scope = ["--client-namespace", client] if client else []
    live = check(capsys, "--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig), *scope)
    offline = check(capsys, str(FIXTURES / folder), *scope)
    assert verdicts(live) == verdicts(offline)
    # Read-only, and never a Secret.
    assert {r.method for r in kube_api.requests} == {"GET"}
    assert not any("secrets" in r.path for r in kube_api.requests)
    listed = {r.path for r in kube_api.requests if r.verb == "list"}
    assert {"/api/v1/namespaces", "/apis/networking.istio.io/v1/sidecars"} <= listed
    assert "/apis/gateway.networking.k8s.io/v1/gateways" in listed


def test_live_an_unlabelled_namespace_is_out_of_the_mesh_where_files_assume_sidecars(
    kube_api, capsys
):
    docs = documents("ambient")
    jobs = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jobs"}}
    load(kube_api, [*docs, jobs])
    live = check(
        capsys,
        "--context",
        "alpha",
        "--kubeconfig",
        str(kube_api.kubeconfig),
        "--client-namespace",
        "jobs",
    )
    [host] = live["hosts"]
    assert [v["destinationRules"] for v in host["destinationRulesByClient"]] == [[]]
    [dropped] = next(s for s in host["subsets"] if s["name"] == "v2")["droppedRoutes"]
    assert "clients in jobs are out of the mesh (no proxy)" in dropped["dropped"]


def test_a_waypoint_without_an_address_is_not_ready_until_it_gets_one(kube_api):
    docs = documents("waypoint")
    waypoint = next(d for d in docs if d["kind"] == "Gateway")
    del waypoint["status"]
    load(kube_api, docs)
    source = ClusterSource(contexts=["alpha"], kubeconfig=str(kube_api.kubeconfig))
    [mesh] = source.load()
    host = "cart.shop.svc.cluster.local"
    assert mesh.dataplane.waypoint(host).problem == (
        "waypoint shop/waypoint is not ready (no address)"
    )
    source.watch(lambda hosts: None)
    try:
        ready = copy.deepcopy(waypoint)
        ready["status"] = copy.deepcopy(ADDRESS)
        kube_api.update(ready)
        eventually(lambda: mesh.dataplane.waypoint(host).ref is not None, what="waypoint ready")
    finally:
        source.stop()


def test_live_trace_at_a_waypoint_stops_at_the_catch_all_as_offline(kube_api, capsys):
    load(kube_api, documents("waypoint-routes"))
    args = ["--from", "web", "--to", "cart.shop", "--path", "/beta", "-o", "json"]
    main(["trace", "--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig), *args])
    live = json.loads(capsys.readouterr().out)
    main(["trace", str(FIXTURES / "waypoint-routes"), *args])
    offline = json.loads(capsys.readouterr().out)
    assert (live["virtualService"], live["rule"]) == ("shop/cart-default", "http[0]")
    assert {k: live[k] for k in ("proxy", "virtualService", "rule", "skipped")} == {
        k: offline[k] for k in ("proxy", "virtualService", "rule", "skipped")
    }
