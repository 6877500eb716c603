"""ClusterSource.load: paginated lists, the served Istio version, and degrading on 403/404."""

from __future__ import annotations

import pytest

from meshtui.mesh.findings import Code
from meshtui.mesh.resources import Meta, ObjectRef, Origin
from meshtui.sources import kube
from meshtui.sources.cluster import PAGE_SIZE, ClusterSource, _continue_token
from meshtui.sources.files import LoadError
from tests.kubeapi import KubeAPIServer
from tests.kubeapi.objects import destination_rule, many_pods, pod, virtual_service
from tests.live.cluster_fixtures import DETAILS, REVIEWS, load_bookinfo


def source(server: KubeAPIServer, **options) -> ClusterSource:
    return ClusterSource(contexts=["alpha"], kubeconfig=str(server.kubeconfig), **options)


def lists_of(server: KubeAPIServer, resource: str):
    return [r for r in server.requests if r.resource == resource and r.verb == "list"]


# -- pagination ----------------------------------------------------------------------------


def test_every_pod_of_a_long_list_is_read_page_by_page(kube_api):
    load_bookinfo(kube_api)
    kube_api.add_many(many_pods(2 * PAGE_SIZE + 1))  # 1,001 more pods: three pages

    (analysis,) = [m.analyze() for m in source(kube_api).load()]

    assert analysis.workload_count == 2 * PAGE_SIZE + 1 + 10
    pages = lists_of(kube_api, "pods")
    assert [r.query.get("limit") for r in pages] == [str(PAGE_SIZE)] * 3
    assert ["continue" in r.query for r in pages] == [False, True, True]
    assert all(r.status == 200 for r in pages)


def test_a_continue_token_that_expired_restarts_the_list(kube_api):
    load_bookinfo(kube_api)
    kube_api.add_many(many_pods(PAGE_SIZE + 1))
    kube_api.fail_next(1, code=410, match=lambda r: "continue" in r.query)

    (mesh,) = source(kube_api).load()

    assert len(mesh.workloads) == PAGE_SIZE + 1 + 10
    pages = lists_of(kube_api, "pods")
    assert [("continue" in r.query, r.status) for r in pages] == [
        (False, 200),
        (True, 410),
        (False, 200),
        (True, 200),
    ]


def test_the_continue_token_is_read_from_the_list_metadata_only():
    page = b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",'
    page += b'"continue":"abc"},"items":[{"metadata":{"continue":"no"}}]}'
    items_first = b'{"items":[{"metadata":{"continue":"no"}}],"metadata":{"continue":"abc"}}'

    assert _continue_token(page) == "abc"
    assert _continue_token(items_first) == ""  # then the page is decoded to find it
    assert _continue_token(b'{"metadata":{"resourceVersion":"9"},"items":[]}') == ""


# -- what is kept ----------------------------------------------------------------------------


def test_only_the_fields_the_view_needs_are_kept_of_a_pod(kube_api):
    kube_api.add(pod("shop", "cart-0", {"app": "cart"}, node="node-7", ip="10.9.0.4"))

    (mesh,) = source(kube_api).load()

    (workload,) = mesh.workloads.select("shop", {"app": "cart"})
    assert (workload.phase, workload.ready, workload.pod_ip, workload.node) == (
        "Running",
        1,
        "10.9.0.4",
        "node-7",
    )
    raw = dict(workload.meta.raw)
    assert set(raw) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert raw["spec"] == {"nodeName": "node-7"}
    assert "containers" not in str(raw)


def test_an_invalid_resource_is_a_finding_and_the_rest_is_analysed(kube_api):
    load_bookinfo(kube_api)
    kube_api.add(destination_rule("bookinfo", "broken", "ratings", subsets="v1"))

    (mesh,) = source(kube_api).load()

    analysis = mesh.analyze()
    assert [f.code for f in analysis.load_findings] == [Code.INVALID_RESOURCE]
    assert "DestinationRule bookinfo/broken" in analysis.load_findings[0].message
    assert len(analysis.hosts) == 4


# -- the served Istio version --------------------------------------------------------------


@pytest.mark.parametrize(
    ("served", "read"),
    [(["v1beta1"], "v1beta1"), (["v1alpha3"], "v1alpha3"), (["v1", "v1beta1"], "v1")],
)
def test_istio_resources_are_read_in_the_version_the_cluster_serves(kube_api, served, read):
    load_bookinfo(kube_api)
    kube_api.set_served_versions({"networking.istio.io": served})

    (mesh,) = source(kube_api).load()

    versions = {r.version for r in kube_api.requests if r.group == "networking.istio.io"}
    assert versions == {read}
    analysis = mesh.analyze()
    assert [s.name for s in analysis.hosts[REVIEWS].subsets] == ["v1", "v2", "v3"]
    assert analysis.hosts[REVIEWS].subsets[2].policy_never_applied
    rule = analysis.hosts[REVIEWS].destination_rules[0]
    assert rule.meta.raw["apiVersion"] == f"networking.istio.io/{read}"


def test_without_the_istio_group_services_and_pods_are_still_shown(kube_api):
    load_bookinfo(kube_api)
    kube_api.set_served_versions({"networking.istio.io": []})
    src = source(kube_api)

    (mesh,) = src.load()

    assert src.warnings == ["alpha: Istio CRDs are not installed in this cluster"]
    analysis = mesh.analyze()
    assert sorted(analysis.hosts) == sorted(
        f"{n}.bookinfo.svc.cluster.local" for n in ("details", "productpage", "ratings", "reviews")
    )
    assert len(analysis.hosts[REVIEWS].workloads) == 6
    assert not analysis.findings
    assert not [r for r in kube_api.requests if r.group == "networking.istio.io" and r.resource]


def test_an_istio_kind_the_cluster_does_not_serve_is_a_warning(kube_api):
    load_bookinfo(kube_api)
    kube_api.fail_next(1, code=404, match="/serviceentries")
    src = source(kube_api)

    (mesh,) = src.load()

    assert src.warnings == [
        "alpha: this cluster does not serve serviceentries "
        "(/apis/networking.istio.io/v1/serviceentries: 404)"
    ]
    assert mesh.analyze().hosts[REVIEWS].subsets


# -- 403 -----------------------------------------------------------------------------------


def test_pods_forbidden_cluster_wide_are_read_where_the_istio_config_lives(kube_api):
    load_bookinfo(kube_api)
    kube_api.add(virtual_service("web", "frontend", ["frontend.web.svc.cluster.local"]))
    kube_api.add(pod("web", "frontend-0", {"app": "frontend"}))
    kube_api.add(pod("elsewhere", "batch-0", {"app": "batch"}))
    kube_api.forbid_pods_cluster_wide()
    kube_api.forbid("pods", namespace="web")
    src = source(kube_api)

    (mesh,) = src.load()

    assert src.warnings == [
        "alpha: cannot list pods cluster-wide (403); read them in bookinfo; "
        "could not see namespaces web"
    ]
    pods = [(r.namespace, r.status) for r in lists_of(kube_api, "pods")]
    assert pods == [(None, 403), ("bookinfo", 200), ("web", 403)]
    analysis = mesh.analyze()
    assert len(analysis.hosts[REVIEWS].subsets[2].workloads) == 1
    assert analysis.hosts[DETAILS].workloads is not None
    assert not mesh.workloads.is_known("web")
    assert analysis.workload_count == 10


def test_a_forbidden_namespace_given_with_n_is_named(kube_api):
    load_bookinfo(kube_api)
    kube_api.forbid("pods", namespace="shop")
    src = source(kube_api, namespaces=["bookinfo", "shop"])

    src.load()

    assert src.warnings == ["alpha: cannot list pods in namespace shop (403)"]


def test_a_server_error_while_listing_stops_the_load_with_the_context_named(kube_api, monkeypatch):
    monkeypatch.setattr(kube, "RETRY_BACKOFF", (0.01,))
    load_bookinfo(kube_api)
    kube_api.fail_for(30, code=500, match="/destinationrules")  # retried once, then given up

    with pytest.raises(LoadError, match=r"^context alpha: .*destinationrules: 500"):
        source(kube_api).load()


def test_a_connection_closed_without_an_answer_is_tried_again_once(kube_api):
    # A kept-alive connection the server (or a load balancer) closed while it sat in the pool
    # fails only once a request is on it; the GET is sent again on a new connection.
    load_bookinfo(kube_api)
    kube_api.close_next(1, match="/destinationrules")

    (analysis,) = [m.analyze() for m in source(kube_api).load()]

    assert [s.name for s in analysis.hosts[REVIEWS].subsets] == ["v1", "v2", "v3"]
    assert len(lists_of(kube_api, "destinationrules")) == 2


def test_a_connection_closed_twice_stops_the_load_with_the_context_named(kube_api):
    load_bookinfo(kube_api)
    kube_api.close_next(2, match="/destinationrules")

    with pytest.raises(LoadError, match=r"^context alpha: .*without response"):
        source(kube_api).load()
    assert len(lists_of(kube_api, "destinationrules")) == 2


def test_raw_yaml_of_a_routes_virtual_service_is_found_by_its_reference(kube_api):
    # The inspector knows a route's VirtualService only by reference; live, the source
    # answers with the object it read (trimmed), as YAML.
    load_bookinfo(kube_api)
    src = source(kube_api)
    src.load()
    [route] = [r for r in src.snapshot()[0].hosts[REVIEWS].routes if r.subset == "v1"]
    text = src.document_text(Meta(ref=route.virtual_service, origin=route.origin))
    assert text is not None
    assert "kind: VirtualService" in text and "subset: v1" in text
    missing = Meta(ref=ObjectRef("VirtualService", "nowhere", "x"), origin=Origin(cluster="alpha"))
    assert src.document_text(missing) is None
