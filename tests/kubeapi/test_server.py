"""The loopback API server, exercised with the real kubernetes client over real HTTPS."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from tests.kubeapi import KubeAPIServer, generate_tls, write_kubeconfig
from tests.kubeapi.objects import (
    configmap,
    destination_rule,
    many_pods,
    pod,
    secret,
    service,
    virtual_service,
)

ISTIO = "networking.istio.io"


# ---------------------------------------------------------------------------------------------
# helpers


def client_for(server: KubeAPIServer, context: str = "alpha") -> client.ApiClient:
    return config.new_client_from_config(str(server.kubeconfig), context=context)


@pytest.fixture
def api(kube_api: KubeAPIServer) -> Iterator[client.ApiClient]:
    api_client = client_for(kube_api)
    yield api_client
    api_client.close()


def raw_get(api_client: client.ApiClient, path: str) -> tuple[int, dict]:
    """GET any path through the client's own REST stack, returning (status, parsed JSON)."""
    auth = api_client.configuration.auth_settings()["BearerToken"]["value"]
    response = api_client.call_api(
        "GET", api_client.configuration.host + path, header_params={"Authorization": auth}
    )
    return response.status, json.loads(response.read())


def status_of(exc: ApiException) -> dict:
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == exc.status
    return body


def collect(stream, count: int) -> list[dict]:
    events = []
    for event in stream:
        events.append(event)
        if len(events) == count:
            break
    return events


def later(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


# ---------------------------------------------------------------------------------------------
# lifecycle, TLS, kubeconfig


def test_starts_and_stops_quickly(kube_api_tls):
    began = time.perf_counter()
    with KubeAPIServer(tls=kube_api_tls) as server:
        assert server.port > 0 and server.url.startswith("https://127.0.0.1:")
    assert time.perf_counter() - began < 0.5


def test_kubeconfig_has_two_contexts_with_their_own_users(kube_api):
    contexts, current = config.list_kube_config_contexts(str(kube_api.kubeconfig))
    assert [c["name"] for c in contexts] == ["alpha", "beta"]
    assert current["name"] == "alpha"
    for name in ("alpha", "beta"):
        api_client = client_for(kube_api, name)
        names = [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
        assert "default" in names
        api_client.close()
    assert [r.user for r in kube_api.requests] == ["alpha", "beta"]


def test_load_kube_config_with_the_default_configuration(kube_api, monkeypatch):
    monkeypatch.setattr(client.Configuration, "_default", None)
    config.load_kube_config(config_file=str(kube_api.kubeconfig), context="beta")
    v1 = client.CoreV1Api()
    assert v1.read_namespace("default").metadata.name == "default"
    assert kube_api.requests[-1].user == "beta"


def test_certificate_is_verified(kube_api, tmp_path):
    # A kubeconfig trusting some other CA must not be able to talk to the server.
    other = generate_tls(tmp_path / "other")
    context = dataclasses.replace(kube_api.context("alpha"), ca_data=other.ca_data)
    path = write_kubeconfig(tmp_path / "kubeconfig", [context])
    cfg = client.Configuration()
    config.load_kube_config(str(path), client_configuration=cfg)
    cfg.retries = False
    with pytest.raises((urllib3.exceptions.SSLError, ApiException)) as info:
        client.CoreV1Api(client.ApiClient(cfg)).list_namespace()
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert kube_api.requests == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_certificates_work_too(tmp_path):
    tls = generate_tls(tmp_path / "tls", backend="openssl")
    with KubeAPIServer(tls=tls) as server:
        server.kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        api_client = client_for(server)
        assert client.VersionApi(api_client).get_code().git_version == "v1.31.0"
        api_client.close()


def test_two_servers_are_two_clusters(kube_api_pair):
    first, second = kube_api_pair
    first.add(pod("shop", "cart-0"))
    second.add(pod("shop", "till-0"))
    seen = {}
    for context in ("alpha", "beta"):
        api_client = client_for(first, context)
        pods = client.CoreV1Api(api_client).list_namespaced_pod("shop").items
        seen[context] = [p.metadata.name for p in pods]
        api_client.close()
    assert seen == {"alpha": ["cart-0"], "beta": ["till-0"]}
    assert {r.user for r in first.requests} == {"alpha"}
    assert {r.user for r in second.requests} == {"beta"}


# ---------------------------------------------------------------------------------------------
# discovery


def test_discovery(kube_api, api, tmp_path):
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"pods", "services", "namespaces", "secrets", "configmaps"} <= set(core)
    assert core["pods"].namespaced and not core["namespaces"].namespaced
    assert core["pods"].kind == "Pod" and "watch" in core["pods"].verbs

    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert set(groups) == {"apps", ISTIO}  # the Gateway API is served only when asked for
    assert groups[ISTIO].preferred_version.version == "v1"
    assert [v.version for v in groups[ISTIO].versions] == ["v1", "v1beta1", "v1alpha3"]

    status, group = raw_get(api, f"/apis/{ISTIO}")
    assert status == 200 and group["kind"] == "APIGroup"
    assert group["preferredVersion"] == {"groupVersion": f"{ISTIO}/v1", "version": "v1"}
    status, resources = raw_get(api, f"/apis/{ISTIO}/v1alpha3")
    assert resources["kind"] == "APIResourceList"
    assert resources["groupVersion"] == f"{ISTIO}/v1alpha3"
    names = {r["name"]: r for r in resources["resources"]}
    assert set(names) == {
        "destinationrules",
        "virtualservices",
        "serviceentries",
        "gateways",
        "sidecars",
    }
    assert names["destinationrules"]["shortNames"] == ["dr"]

    version = client.VersionApi(api).get_code()
    assert (version.major, version.minor, version.git_version) == ("1", "31", "v1.31.0")

    # The dynamic client walks discovery the way kubectl does.
    dynamic = DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    rules = dynamic.resources.get(api_version=f"{ISTIO}/v1beta1", kind="DestinationRule")
    kube_api.add(destination_rule("default", "reviews", "reviews.default.svc.cluster.local"))
    listed = rules.get(namespace="default")
    assert [i.metadata.name for i in listed.items] == ["reviews"]
    assert listed.items[0].apiVersion == f"{ISTIO}/v1beta1"


def test_istio_group_can_be_absent(kube_api_tls, tmp_path):
    with KubeAPIServer(tls=kube_api_tls, istio_versions=()) as server:
        server.kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        api_client = client_for(server)
        groups = [g.name for g in client.ApisApi(api_client).get_api_versions().groups]
        assert groups == ["apps"]
        for path in (f"/apis/{ISTIO}", f"/apis/{ISTIO}/v1", f"/apis/{ISTIO}/v1/gateways"):
            status, body = raw_get(api_client, path)
            assert (status, body["kind"], body["reason"], body["code"]) == (
                404,
                "Status",
                "NotFound",
                404,
            )
        with pytest.raises(ApiException) as info:
            client.CustomObjectsApi(api_client).list_cluster_custom_object(
                ISTIO, "v1", "destinationrules"
            )
        assert info.value.status == 404
        assert status_of(info.value)["reason"] == "NotFound"
        api_client.close()


def test_istio_group_with_only_old_versions(kube_api, api):
    kube_api.set_served_versions({ISTIO: ["v1beta1", "v1alpha3"]})
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups[ISTIO].preferred_version.version == "v1beta1"
    custom = client.CustomObjectsApi(api)
    kube_api.add(destination_rule("default", "r", "r.default.svc.cluster.local"))
    listed = custom.list_cluster_custom_object(ISTIO, "v1alpha3", "destinationrules")
    assert listed["items"][0]["apiVersion"] == f"{ISTIO}/v1alpha3"
    with pytest.raises(ApiException) as info:
        custom.list_cluster_custom_object(ISTIO, "v1", "destinationrules")
    assert info.value.status == 404


# ---------------------------------------------------------------------------------------------
# get and list


def test_get_one_object_and_not_found(kube_api, api):
    added = kube_api.add(service("shop", "cart"))
    v1 = client.CoreV1Api(api)
    got = v1.read_namespaced_service("cart", "shop")
    assert got.metadata.uid == added["metadata"]["uid"]
    assert got.metadata.resource_version == added["metadata"]["resourceVersion"]
    assert got.metadata.creation_timestamp is not None
    with pytest.raises(ApiException) as info:
        v1.read_namespaced_service("till", "shop")
    body = status_of(info.value)
    assert info.value.status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'services "till" not found'
    assert body["details"] == {"name": "till", "kind": "services"}


def test_list_pages_with_limit_and_continue(kube_api, api):
    kube_api.add_many(pod("shop", f"web-{i:02d}") for i in range(23))
    v1 = client.CoreV1Api(api)
    first = v1.list_namespaced_pod("shop", limit=10)
    assert first.kind == "PodList" and first.api_version == "v1"
    assert first.metadata.remaining_item_count == 13 and first.metadata._continue
    list_rv = first.metadata.resource_version
    kube_api.add(pod("shop", "web-00a"))  # after the first page: not part of this list
    second = v1.list_namespaced_pod("shop", limit=10, _continue=first.metadata._continue)
    third = v1.list_namespaced_pod("shop", limit=10, _continue=second.metadata._continue)
    assert third.metadata._continue is None and third.metadata.remaining_item_count is None
    assert {second.metadata.resource_version, third.metadata.resource_version} == {list_rv}
    names = [p.metadata.name for page in (first, second, third) for p in page.items]
    assert names == [f"web-{i:02d}" for i in range(23)]
    # A fresh list sees the new pod.
    assert len(v1.list_namespaced_pod("shop").items) == 24
    # A token is only good for the list it came from.
    with pytest.raises(ApiException) as info:
        v1.list_namespaced_pod("other", limit=10, _continue=first.metadata._continue)
    assert info.value.status == 400


def test_list_raw_json_has_real_wire_shape(kube_api, api):
    kube_api.add(pod("shop", "web-0"))
    kube_api.add(destination_rule("shop", "web", "web.shop.svc.cluster.local", version="v1alpha3"))
    response = client.CoreV1Api(api).list_pod_for_all_namespaces(_preload_content=False)
    assert response.headers["Content-Type"] == "application/json"
    doc = json.loads(response.data)
    assert doc["kind"] == "PodList" and doc["apiVersion"] == "v1"
    assert doc["metadata"] == {"resourceVersion": kube_api.resource_version}
    [item] = doc["items"]
    assert "kind" not in item and "apiVersion" not in item  # built-in list items carry no type
    assert item["metadata"]["namespace"] == "shop"
    assert item["metadata"]["resourceVersion"].isdigit()

    response = client.CustomObjectsApi(api).list_cluster_custom_object(
        ISTIO, "v1", "destinationrules", _preload_content=False
    )
    doc = json.loads(response.data)
    assert doc["kind"] == "DestinationRuleList" and doc["apiVersion"] == f"{ISTIO}/v1"
    [item] = doc["items"]
    # custom resources keep apiVersion/kind on items, rewritten to the version asked for
    assert (item["apiVersion"], item["kind"]) == (f"{ISTIO}/v1", "DestinationRule")


def test_an_updated_object_is_listed_once_and_can_be_deleted(kube_api, api):
    kube_api.add_many(pod("shop", f"web-{i}") for i in range(3))
    v1 = client.CoreV1Api(api)
    assert len(v1.list_namespaced_pod("shop").items) == 3  # the sorted listing is now cached
    kube_api.update(pod("shop", "web-1", {"app": "web", "version": "v2"}))
    listed = v1.list_namespaced_pod("shop").items
    assert [p.metadata.name for p in listed] == ["web-0", "web-1", "web-2"]
    assert listed[1].metadata.labels == {"app": "web", "version": "v2"}
    kube_api.delete("Pod", "shop", "web-1")
    assert [p.metadata.name for p in v1.list_namespaced_pod("shop").items] == ["web-0", "web-2"]
    assert len(v1.list_pod_for_all_namespaces().items) == 2


def test_continue_token_expires_after_compaction(kube_api, api):
    kube_api.add_many(pod("shop", f"web-{i}") for i in range(5))
    v1 = client.CoreV1Api(api)
    first = v1.list_pod_for_all_namespaces(limit=2)
    kube_api.compact()
    with pytest.raises(ApiException) as info:
        v1.list_pod_for_all_namespaces(limit=2, _continue=first.metadata._continue)
    assert info.value.status == 410
    assert status_of(info.value)["reason"] == "Expired"


def test_label_and_field_selectors(kube_api, api):
    kube_api.add(pod("shop", "a", {"app": "web", "tier": "front"}, node="n1"))
    kube_api.add(pod("shop", "b", {"app": "web", "tier": "back"}, node="n2"))
    kube_api.add(pod("shop", "c", {"app": "db"}, node="n1"))
    v1 = client.CoreV1Api(api)

    def names(**kwargs) -> list[str]:
        return [p.metadata.name for p in v1.list_pod_for_all_namespaces(**kwargs).items]

    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app=web,tier!=front") == ["b"]
    assert names(label_selector="tier in (front,back)") == ["a", "b"]
    assert names(label_selector="!tier") == ["c"]
    assert names(field_selector="spec.nodeName=n1") == ["a", "c"]
    assert names(field_selector="metadata.name!=a,spec.nodeName=n1") == ["c"]
    with pytest.raises(ApiException) as info:
        names(field_selector="spec.bogus=1")
    assert info.value.status == 400


def test_lists_ten_thousand_pods_in_pages_of_500(kube_api, api):
    kube_api.add_many(many_pods(10_000))
    v1 = client.CoreV1Api(api)
    seen, token, pages = 0, None, 0
    while True:
        response = v1.list_pod_for_all_namespaces(
            limit=500, _continue=token, _preload_content=False
        )
        doc = json.loads(response.data)
        seen += len(doc["items"])
        pages += 1
        token = doc["metadata"].get("continue")
        if not token:
            break
    assert (seen, pages) == (10_000, 20)


# ---------------------------------------------------------------------------------------------
# watch


def test_watch_delivers_changes_after_the_listed_version(kube_api, api):
    kube_api.add(pod("shop", "web-0"))
    v1 = client.CoreV1Api(api)
    list_rv = v1.list_namespaced_pod("shop").metadata.resource_version
    kube_api.add(pod("shop", "web-1"))
    kube_api.add(pod("other", "ignored"))  # another namespace: not in this watch
    changed = pod("shop", "web-0", {"app": "web", "version": "v2"})
    timers = [
        later(0.1, lambda: kube_api.update(changed)),
        later(0.2, lambda: kube_api.delete("Pod", "shop", "web-1")),
    ]
    stream = watch.Watch().stream(
        v1.list_namespaced_pod, "shop", resource_version=list_rv, timeout_seconds=5
    )
    events = collect(stream, 3)
    for timer in timers:
        timer.join()
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "web-1"),
        ("MODIFIED", "web-0"),
        ("DELETED", "web-1"),
    ]
    assert events[1]["object"].metadata.labels["version"] == "v2"
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and versions[0] > int(list_rv)
    assert events[2]["raw_object"]["kind"] == "Pod"  # watch events carry the type


def test_watch_without_version_starts_with_current_state(kube_api, api):
    kube_api.add(pod("shop", "web-0"))
    kube_api.add(pod("shop", "web-1"))
    stream = watch.Watch().stream(
        client.CoreV1Api(api).list_namespaced_pod, "shop", timeout_seconds=5
    )
    events = collect(stream, 2)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "web-0"),
        ("ADDED", "web-1"),
    ]


def test_watch_custom_objects_under_an_old_version(kube_api, api):
    rv = kube_api.resource_version
    kube_api.add(destination_rule("shop", "web", "web.shop.svc.cluster.local"))
    kube_api.add(virtual_service("shop", "web", ["web"]))
    custom = client.CustomObjectsApi(api)
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        ISTIO,
        "v1alpha3",
        "shop",
        "destinationrules",
        resource_version=rv,
        timeout_seconds=5,
    )
    [event] = collect(stream, 1)
    assert event["type"] == "ADDED"
    assert event["object"]["apiVersion"] == f"{ISTIO}/v1alpha3"
    assert event["object"]["spec"]["host"] == "web.shop.svc.cluster.local"


def test_watch_bookmarks(kube_api, api):
    kube_api.bookmark_interval = 60
    rv = kube_api.resource_version
    later(0.1, lambda: kube_api.add(pod("elsewhere", "x")))  # moves the version on
    later(0.3, kube_api.send_bookmarks)
    w = watch.Watch()
    stream = w.stream(
        client.CoreV1Api(api).list_namespaced_pod,
        "shop",
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    )
    [event] = collect(stream, 1)
    assert event["type"] == "BOOKMARK"
    assert event["raw_object"]["kind"] == "Pod"
    assert event["raw_object"]["metadata"]["resourceVersion"] == kube_api.resource_version
    assert w.resource_version == kube_api.resource_version


def test_periodic_bookmarks(kube_api, api):
    kube_api.bookmark_interval = 0.1
    response = client.CoreV1Api(api).list_pod_for_all_namespaces(
        watch=True,
        resource_version=kube_api.resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    lines = [json.loads(line) for line in watch.watch.iter_resp_lines(response)]
    assert len(lines) >= 3
    assert {e["type"] for e in lines} == {"BOOKMARK"}


def test_watch_from_compacted_version_is_gone_as_an_error_event(kube_api, api):
    old = kube_api.resource_version
    kube_api.add(pod("shop", "web-0"))
    kube_api.compact()
    v1 = client.CoreV1Api(api)
    response = v1.list_namespaced_pod(
        "shop", watch=True, resource_version=old, _preload_content=False
    )
    assert response.status == 200
    [line] = list(watch.watch.iter_resp_lines(response))
    event = json.loads(line)
    assert event["type"] == "ERROR"
    assert event["object"]["kind"] == "Status" and event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    # The client's Watch retries once on 410, then gives up with an ApiException.
    with pytest.raises(ApiException) as info:
        collect(watch.Watch().stream(v1.list_namespaced_pod, "shop", resource_version=old), 1)
    assert info.value.status == 410


def test_watch_from_compacted_version_is_gone_as_http_410(kube_api, api):
    kube_api.watch_gone = "http"
    old = kube_api.resource_version
    kube_api.add(pod("shop", "web-0"))
    kube_api.compact()
    with pytest.raises(ApiException) as info:
        collect(
            watch.Watch().stream(
                client.CoreV1Api(api).list_namespaced_pod,
                "shop",
                resource_version=old,
                timeout_seconds=2,
            ),
            1,
        )
    assert info.value.status == 410
    assert status_of(info.value)["reason"] == "Expired"


def test_a_watcher_behind_the_bounded_history_gets_410(kube_api_tls, tmp_path):
    with KubeAPIServer(tls=kube_api_tls, history_limit=10) as server:
        server.kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        old = server.resource_version
        server.add_many(pod("shop", f"web-{i:02d}") for i in range(40))
        api_client = client_for(server)
        response = client.CoreV1Api(api_client).list_namespaced_pod(
            "shop", watch=True, resource_version=old, _preload_content=False
        )
        [line] = list(watch.watch.iter_resp_lines(response))
        assert json.loads(line)["object"]["code"] == 410
        api_client.close()


def test_watch_timeout_ends_the_stream_cleanly(kube_api, api):
    began = time.monotonic()
    events = list(
        watch.Watch().stream(
            client.CoreV1Api(api).list_namespaced_pod,
            "shop",
            resource_version=kube_api.resource_version,
            timeout_seconds=1,
        )
    )
    assert events == []
    assert 0.9 < time.monotonic() - began < 3


def test_dropped_watch_resumes_without_losing_events(kube_api, api):
    rv = kube_api.resource_version
    kube_api.add_many(pod("shop", f"web-{i}") for i in range(5))
    kube_api.drop_watch_after(2)
    v1 = client.CoreV1Api(api)
    w = watch.Watch()
    received = []
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in w.stream(
            v1.list_namespaced_pod, "shop", resource_version=rv, timeout_seconds=5
        ):
            received.append(event["object"].metadata.name)
    assert received == ["web-0", "web-1"]
    for event in w.stream(
        v1.list_namespaced_pod, "shop", resource_version=w.resource_version, timeout_seconds=5
    ):
        received.append(event["object"].metadata.name)
        if len(received) == 5:
            break
    assert received == [f"web-{i}" for i in range(5)]
    watches = [r for r in kube_api.requests if r.verb == "watch"]
    assert watches[0].query["resourceVersion"] == rv
    assert int(watches[1].query["resourceVersion"]) > int(rv)  # resumed where it was cut


def test_stop_ends_open_watches(kube_api_tls, tmp_path):
    server = KubeAPIServer(tls=kube_api_tls).start()
    server.kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    api_client = client_for(server)
    outcome = []

    def watch_forever():
        try:
            for _ in watch.Watch().stream(
                client.CoreV1Api(api_client).list_namespaced_pod,
                "shop",
                resource_version=server.resource_version,
            ):
                pass
        except Exception as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=watch_forever)
    thread.start()
    time.sleep(0.2)
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 1
    thread.join(5)
    assert not thread.is_alive() and outcome


# ---------------------------------------------------------------------------------------------
# authentication, authorization


def test_unknown_and_revoked_tokens_get_401(kube_api, api):
    v1 = client.CoreV1Api(api)
    v1.list_namespace()
    kube_api.revoke_token("alpha-token")
    with pytest.raises(ApiException) as info:
        v1.list_namespace()
    assert info.value.status == 401
    assert status_of(info.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert kube_api.requests[-1].user is None and kube_api.requests[-1].status == 401
    beta = client_for(kube_api, "beta")
    client.CoreV1Api(beta).list_namespace()  # other tokens still work
    beta.close()


def test_pods_forbidden_cluster_wide_but_allowed_per_namespace(kube_api, api):
    kube_api.add(pod("shop", "web-0"))
    kube_api.forbid_pods_cluster_wide()
    v1 = client.CoreV1Api(api)
    with pytest.raises(ApiException) as info:
        v1.list_pod_for_all_namespaces()
    body = status_of(info.value)
    assert info.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods is forbidden: User "alpha" cannot list resource "pods" in API group "" '
        "at the cluster scope"
    )
    assert body["details"] == {"kind": "pods"}
    with pytest.raises(ApiException) as info:
        collect(watch.Watch().stream(v1.list_pod_for_all_namespaces, timeout_seconds=1), 1)
    assert info.value.status == 403
    assert [p.metadata.name for p in v1.list_namespaced_pod("shop").items] == ["web-0"]


def test_forbid_a_whole_resource(kube_api, api):
    kube_api.add(destination_rule("shop", "web", "web"))
    rule = kube_api.forbid("destinationrules", group=ISTIO)
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as info:
        custom.list_namespaced_custom_object(ISTIO, "v1", "shop", "destinationrules")
    assert status_of(info.value)["message"] == (
        'destinationrules.networking.istio.io is forbidden: User "alpha" cannot list resource '
        '"destinationrules" in API group "networking.istio.io" in the namespace "shop"'
    )
    kube_api.allow(rule)
    assert custom.list_namespaced_custom_object(ISTIO, "v1", "shop", "destinationrules")["items"]


def test_without_a_token_only_version_and_health_are_public(kube_api):
    http = urllib3.PoolManager(ca_certs=str(kube_api.tls.ca_cert), retries=False)
    assert http.request("GET", kube_api.url + "/version").json()["gitVersion"] == "v1.31.0"
    assert http.request("GET", kube_api.url + "/healthz").data == b"ok"
    response = http.request("GET", kube_api.url + "/api/v1/pods")
    assert response.status == 401 and response.json()["reason"] == "Unauthorized"
    token = {"Authorization": "Bearer alpha-token"}
    response = http.request("HEAD", kube_api.url + "/api/v1/pods", headers=token)
    assert response.status == 405 and response.data == b""
    assert [(r.method, r.user, r.status) for r in kube_api.requests] == [
        ("GET", None, 200),
        ("GET", None, 200),
        ("GET", None, 401),
        ("HEAD", "alpha", 405),
    ]
    http.clear()


# ---------------------------------------------------------------------------------------------
# faults


def test_500_for_the_next_requests_then_recovery(kube_api, api):
    v1 = client.CoreV1Api(api)
    kube_api.fail_next(2)
    for _ in range(2):
        with pytest.raises(ApiException) as info:
            v1.list_namespace()
        body = status_of(info.value)
        assert info.value.status == 500 and body["reason"] == "InternalError"
    assert v1.list_namespace().items


def test_500_for_a_time_window(kube_api, api):
    v1 = client.CoreV1Api(api)
    kube_api.fail_for(0.3, match="/pods")
    with pytest.raises(ApiException):
        v1.list_pod_for_all_namespaces()
    v1.list_namespace()  # not matching: unaffected
    time.sleep(0.35)
    v1.list_pod_for_all_namespaces()


def test_429_and_503_say_when_to_retry(kube_api, api):
    auth = api.configuration.auth_settings()["BearerToken"]["value"]

    def answer() -> urllib3.BaseHTTPResponse:  # no client retries: the raw answer
        return api.rest_client.pool_manager.request(
            "GET",
            f"{kube_api.url}/api/v1/namespaces",
            headers={"Authorization": auth},
            retries=False,
        )

    for code in (429, 503):
        kube_api.fail_next(1, code=code)
        response = answer()
        assert response.status == code and response.headers["Retry-After"] == "1"
    kube_api.fail_next(1, code=500)
    response = answer()
    assert response.status == 500 and "Retry-After" not in response.headers
    assert answer().status == 200


def test_a_stopped_server_starts_again_on_its_port_with_its_objects(kube_api, api):
    kube_api.add(pod("shop", "web-0"))
    port = kube_api.port
    kube_api.stop()
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        client.CoreV1Api(api).list_pod_for_all_namespaces(_request_timeout=2)

    kube_api.start()

    assert kube_api.port == port
    pods = client.CoreV1Api(api).list_pod_for_all_namespaces(_request_timeout=2)
    assert [p.metadata.name for p in pods.items] == ["web-0"]


def test_hang_exceeds_the_request_timeout(kube_api, api):
    kube_api.hang_next(5, count=10)
    began = time.monotonic()
    with pytest.raises((urllib3.exceptions.MaxRetryError, urllib3.exceptions.ReadTimeoutError)):
        client.CoreV1Api(api).list_namespace(_request_timeout=0.2)
    assert time.monotonic() - began < 2.5  # urllib3 retries a GET up to 3 times
    kube_api.clear_faults()
    assert client.CoreV1Api(api).list_namespace(_request_timeout=2).items


def test_close_drops_the_connection_without_an_answer(kube_api, api):
    kube_api.close_next(1, match="/pods")
    raw = urllib3.PoolManager(retries=False, ca_certs=str(kube_api.tls.ca_cert))
    headers = {"Authorization": "Bearer alpha-token"}
    with pytest.raises(urllib3.exceptions.ProtocolError, match="without response"):
        raw.request("GET", f"{kube_api.url}/api/v1/pods", headers=headers)
    # The fault was taken once, by the matching request, which the log still records.
    assert raw.request("GET", f"{kube_api.url}/api/v1/pods", headers=headers).status == 200
    assert [r.path for r in kube_api.requests].count("/api/v1/pods") == 2


def test_stall_silences_open_watches_and_leaves_new_requests_unanswered(kube_api, api):
    kube_api.bookmark_interval = 0.1
    raw = urllib3.PoolManager(retries=False, ca_certs=str(kube_api.tls.ca_cert))
    headers = {"Authorization": "Bearer alpha-token"}
    url = f"{kube_api.url}/api/v1/pods?watch=true&allowWatchBookmarks=true"
    timeout = urllib3.Timeout(connect=2, read=0.5)
    stream = raw.request("GET", url, headers=headers, preload_content=False, timeout=timeout)
    lines = stream.stream(1)
    assert b"BOOKMARK" in b"".join(itertools.takewhile(lambda c: c != b"\n", lines))

    kube_api.stall()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        for _ in lines:  # what was sent before the stall, then silence
            pass
    with pytest.raises((urllib3.exceptions.MaxRetryError, urllib3.exceptions.ReadTimeoutError)):
        client.CoreV1Api(api).list_namespace(_request_timeout=(2, 0.3))

    kube_api.clear_faults()
    assert client.CoreV1Api(api).list_namespace(_request_timeout=2).items


# ---------------------------------------------------------------------------------------------
# the request log


def test_request_log_records_method_path_query_user(kube_api, api):
    v1 = client.CoreV1Api(api)
    v1.list_namespaced_pod("shop", limit=5, label_selector="app=web")
    [record] = kube_api.requests
    assert (record.method, record.path, record.user, record.status) == (
        "GET",
        "/api/v1/namespaces/shop/pods",
        "alpha",
        200,
    )
    assert record.query == {"labelSelector": "app=web", "limit": "5"}
    assert (record.verb, record.resource, record.namespace) == ("list", "pods", "shop")


def test_writes_are_logged_and_refused_with_405(kube_api, api):
    v1 = client.CoreV1Api(api)
    with pytest.raises(ApiException) as info:
        v1.create_namespaced_config_map("shop", configmap("shop", "settings"))
    assert info.value.status == 405
    assert status_of(info.value)["reason"] == "MethodNotAllowed"
    with pytest.raises(ApiException) as info:
        v1.delete_namespaced_pod("web-0", "shop")
    assert info.value.status == 405
    with pytest.raises(ApiException):
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            ISTIO, "v1", "shop", "destinationrules", "web", {"spec": {}}
        )
    assert [(r.method, r.path, r.status) for r in kube_api.requests] == [
        ("POST", "/api/v1/namespaces/shop/configmaps", 405),
        ("DELETE", "/api/v1/namespaces/shop/pods/web-0", 405),
        ("PATCH", f"/apis/{ISTIO}/v1/namespaces/shop/destinationrules/web", 405),
    ]
    assert [r.verb for r in kube_api.requests] == ["create", "delete", "patch"]
    assert kube_api.resources_requested() == {"configmaps", "pods", "destinationrules"}
    assert kube_api.methods() == {"POST", "DELETE", "PATCH"}
    assert kube_api.count("ConfigMap") == 0
    v1.list_namespace()  # the connection is still usable after a refused write


def test_a_read_only_session_proves_it_sent_only_gets(kube_api, api):
    kube_api.add(secret("shop", "password"))
    kube_api.add(configmap("shop", "settings"))
    kube_api.add(pod("shop", "web-0"))
    kube_api.add(destination_rule("shop", "web", "web"))
    v1 = client.CoreV1Api(api)
    v1.list_pod_for_all_namespaces()
    v1.list_service_for_all_namespaces()
    client.CustomObjectsApi(api).list_cluster_custom_object(ISTIO, "v1", "destinationrules")
    assert kube_api.methods() == {"GET"}
    assert kube_api.resources_requested() == {"pods", "services", "destinationrules"}
    assert not {"secrets", "configmaps"} & kube_api.resources_requested()
