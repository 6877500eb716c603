"""The Gateway API live: listed and watched from a loopback API server that serves its CRDs
(each kind at its own version), and a note, not an error, from one that serves none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from meshtui.cli import main
from meshtui.mesh.findings import Code
from meshtui.mesh.resources import GatewayRoute, ObjectRef
from meshtui.sources.cluster import ClusterSource
from meshtui.tui.app import MeshApp
from meshtui.tui.model import Kind, NodeRef
from tests.kubeapi import KubeAPIServer
from tests.live.cluster_fixtures import eventually, load_bookinfo, pods_of
from tests.live.test_cluster_cli import check, without_locations
from tests.tui.helpers import detail_text, settle, tree_label, tree_text

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests/fixtures/routing/httproute-consumer/mesh.yaml"
REVIEWS = "reviews.reviews.svc.cluster.local"
STATUS = {
    "parents": [
        {
            # As the controller writes it: the spec's parentRef, verbatim.
            "parentRef": {
                "group": "",
                "kind": "Service",
                "name": "reviews",
                "namespace": "reviews",
                "port": 9080,
            },
            "controllerName": "istio.io/gateway-controller",
            "conditions": [
                {"type": "Accepted", "status": "True", "reason": "Accepted"},
                {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"},
            ],
        }
    ]
}


def source(server: KubeAPIServer) -> ClusterSource:
    return ClusterSource(contexts=["alpha"], kubeconfig=str(server.kubeconfig))


def load_consumer(server: KubeAPIServer) -> None:
    for doc in yaml.safe_load_all(CONSUMER.read_text()):
        if doc["kind"] == "HTTPRoute":
            doc["status"] = STATUS
        server.add(doc)


def test_routes_are_listed_at_their_served_version_and_give_the_offline_answer(gateway_api):
    load_consumer(gateway_api)
    src = source(gateway_api)
    (mesh,) = src.load()
    assert src.notes == []
    listed = {
        (r.resource, r.version)
        for r in gateway_api.requests
        if r.group == "gateway.networking.k8s.io" and r.resource
    }
    assert ("httproutes", "v1") in listed and ("tcproutes", "v1alpha2") in listed
    assert ("referencegrants", "v1beta1") in listed
    analysis = mesh.analyze()
    host = analysis.hosts[REVIEWS]
    [route] = [r for r in host.routes if r.gateway_api]
    assert str(route.written_in) == "HTTPRoute bookinfo/reviews"
    assert sorted(f.code.value for f in analysis.findings) == [
        "HTTPRouteAndVirtualServiceClaimHost",
        "SubsetPolicyBypassedByGatewayRoute",
    ]
    # The controller's status conditions are kept for the views.
    httproute = mesh.get(ObjectRef("HTTPRoute", "bookinfo", "reviews"))
    assert isinstance(httproute, GatewayRoute)
    [parent] = httproute.status
    assert [c["type"] for c in parent["conditions"]] == ["Accepted", "ResolvedRefs"]
    assert route.conditions == (
        ("Accepted", "True", "Accepted"),
        ("ResolvedRefs", "True", "ResolvedRefs"),
    )


def test_a_watched_route_change_reroutes_the_host(gateway_api):
    load_consumer(gateway_api)
    src = source(gateway_api)
    (mesh,) = src.load()
    changed: list[set[str]] = []
    src.watch(changed.append)
    try:
        gateway_api.delete("gateway.networking.k8s.io/v1/HTTPRoute", "bookinfo", "reviews")
        eventually(
            lambda: not [r for r in mesh.analyze().hosts[REVIEWS].routes if r.gateway_api] or None,
            what="the HTTPRoute's route gone",
        )
        # The VirtualService now routes bookinfo's clients too.
        [v1] = [r for r in mesh.analyze().hosts[REVIEWS].routes if r.subset == "v1"]
        assert v1.clients.everyone and not v1.clients.names
        assert not [f for f in mesh.analyze().findings if f.code is Code.SUBSET_POLICY_BYPASSED]
    finally:
        src.stop()


def test_a_cluster_without_the_gateway_api_is_a_note_not_an_error(kube_api):
    load_bookinfo(kube_api)
    src = source(kube_api)
    (mesh,) = src.load()
    assert src.notes == ["alpha: Gateway API not installed"]
    assert src.warnings == []
    assert mesh.analyze().hosts
    assert not [
        r for r in kube_api.requests if r.group == "gateway.networking.k8s.io" and r.resource
    ]


def test_the_controllers_false_condition_is_a_finding(gateway_api, capsys):
    load_consumer(gateway_api)
    route = gateway_api.get("gateway.networking.k8s.io/v1/HTTPRoute", "bookinfo", "reviews")
    route["status"]["parents"][0]["conditions"][1] = {
        "type": "ResolvedRefs",
        "status": "False",
        "reason": "BackendNotFound",
        "message": "backend(reviews.reviews) not found",
    }
    gateway_api.update(route)
    (mesh,) = source(gateway_api).load()
    [f] = [f for f in mesh.analyze().findings if f.code is Code.ROUTE_CONDITION_FALSE]
    assert str(f.resource) == "HTTPRoute bookinfo/reviews"
    assert "ResolvedRefs=False for parent reviews (reason BackendNotFound)" in f.message
    assert f.path == ("status", "parents", 0, "conditions", 1)
    # check's JSON gives the route's conditions beside it.
    _, doc, _ = check(capsys, "--context", "alpha", "--kubeconfig", str(gateway_api.kubeconfig))
    [host] = [h for h in doc["hosts"] if h["host"] == REVIEWS]
    [r] = [r for r in host["routes"] if r.get("routeKind") == "HTTPRoute"]
    assert r["gatewayApiConditions"] == [
        {"type": "Accepted", "status": "True", "reason": "Accepted"},
        {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound"},
    ]


FIXTURES = {
    "consumer": ROOT / "tests/fixtures/routing/httproute-consumer",
    "vs-on-k8s-gateway": ROOT / "tests/fixtures/routing/vs-on-k8s-gateway",
    "ingress": ROOT / "tests/fixtures/gateway-api-ingress",
    "rules": ROOT / "tests/fixtures/routing/httproute-rules",
}
# One request per fixture that goes through a Gateway API route (or the VirtualService that a
# Kubernetes Gateway leaves unbound), as `meshtui trace` arguments.
REQUESTS = {
    "consumer": ["--from", "bookinfo", "--to", "reviews.reviews"],
    "vs-on-k8s-gateway": ["--from", "shop", "--to", "catalog.shop", "--path", "/catalog"],
    "ingress": ["--gateway", "ingress/web", "--to", "shop.example.com", "--path", "/catalog/x"],
    "rules": ["--from", "shop", "--to", "reviews.shop", "-H", "x-canary: 1", "--path", "/q"],
}


def cluster_objects(folder: Path) -> list[dict]:
    """The folder as a cluster holds it: Deployments become their Pods."""
    out = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out += pods_of(doc) if doc["kind"] == "Deployment" else [doc]
    return out


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_check_and_trace_live_give_the_offline_answer(gateway_api, capsys, name):
    # The two situations of the issue and the rules of mesh and gateway routes, read from the
    # loopback API server: the same report (JSON, text, SARIF) and the same trace as offline.
    gateway_api.add_many(cluster_objects(FIXTURES[name]))
    live = ["--context", "alpha", "--kubeconfig", str(gateway_api.kubeconfig)]
    live_status, live_doc, err = check(capsys, *live)
    offline_status, offline_doc, _ = check(capsys, str(FIXTURES[name]))
    assert live_status == offline_status
    assert without_locations(live_doc) == without_locations(offline_doc)
    assert "not installed" not in err + json.dumps(live_doc)  # the Gateway API is served
    codes = sorted(f["code"] for f in offline_doc["findings"])
    main(["check", *live, "--max-fixes", "0"])
    text = capsys.readouterr().out
    assert all(code in text for code in codes)
    main(["check", *live, "-o", "sarif", "--max-fixes", "0"])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == codes

    main(["trace", *live, *REQUESTS[name], "-o", "json"])
    live_trace = json.loads(capsys.readouterr().out)
    main(["trace", str(FIXTURES[name]), *REQUESTS[name], "-o", "json"])
    offline_trace = json.loads(capsys.readouterr().out)
    differ = {"cluster", "location", "destinations"}  # a file:line offline; Pods live
    if all(d["workloads"] is None for d in offline_trace["destinations"]):
        # The folder holds no workload: offline its pods are not known, live there are none.
        differ.add("problems")
    assert {k: v for k, v in live_trace.items() if k not in differ} == {
        k: v for k, v in offline_trace.items() if k not in differ
    }
    assert [d["host"] for d in live_trace["destinations"]] == [
        d["host"] for d in offline_trace["destinations"]
    ]


async def test_the_inspector_on_a_cluster_shows_the_httproute_beside_the_virtual_service(
    gateway_api,
):
    # Situation 1 of the issue, live: the tree says who each route carries, the detail pane
    # names the HTTPRoute and its rule.
    load_consumer(gateway_api)
    src = source(gateway_api)
    app = MeshApp(src)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for _ in range(50):
                if "(no subset)" in tree_text(app):
                    break
                await pilot.pause(0.1)
            tree = tree_text(app)
            assert tree_label(tree, "(no subset)") == "(no subset)  100%  clients: bookinfo"
            assert tree_label(tree, "v2") == "v2  50%  clients: all but bookinfo"
            assert app.host_tree.reveal(NodeRef(Kind.DEFAULT, 0, "reviews", REVIEWS))
            await pilot.pause()
            detail = " ".join(detail_text(app).split())
            assert "→ HTTPRoute bookinfo/reviews rules[0]" in detail
            assert "for clients in bookinfo" in detail
            # The controller's conditions for this parent, as its status holds them.
            assert "status Accepted ✓ ResolvedRefs ✓" in detail
    finally:
        src.stop()
