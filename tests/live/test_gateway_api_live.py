"""The Gateway API live: listed and watched from a loopback API server that serves its CRDs
(each kind at its own version), and a note, not an error, from one that serves none."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshtui.mesh.findings import Code
from meshtui.mesh.resources import GatewayRoute, ObjectRef
from meshtui.sources.cluster import ClusterSource
from tests.kubeapi import KubeAPIServer
from tests.live.cluster_fixtures import eventually, load_bookinfo

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests/fixtures/routing/httproute-consumer/mesh.yaml"
REVIEWS = "reviews.reviews.svc.cluster.local"
STATUS = {
    "parents": [
        {
            "parentRef": {"group": "", "kind": "Service", "name": "reviews"},
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


def test_the_controllers_false_condition_is_a_finding(gateway_api):
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
