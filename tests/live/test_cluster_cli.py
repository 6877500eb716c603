"""`meshtui check` on a live cluster: the kubeconfig as kubectl reads it, the same report as
offline, and errors that stop before any UI with exit status 2.

The real kubernetes client talks HTTPS to the loopback API server (tests/kubeapi)."""

from __future__ import annotations

import json
import sys
import time
import types
from typing import Any

import pytest

from meshtui.cli import main
from tests.kubeapi import KubeAPIServer, write_kubeconfig
from tests.kubeapi.objects import service
from tests.live.cluster_fixtures import BOOKINFO, REVIEWS, bookinfo, load_bookinfo

RESOURCE_KINDS = {
    "services",
    "pods",
    "destinationrules",
    "virtualservices",
    "serviceentries",
    "gateways",  # Istio's, and Gateway API's for the waypoints among them
    "sidecars",
}


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Run `meshtui check ARGS -o json`: exit status, the JSON document, stderr."""
    status = main(["check", *args, "-o", "json"])
    out, err = capsys.readouterr()
    return status, json.loads(out) if out else None, err


def without_locations(document: dict[str, Any]) -> dict[str, Any]:
    """The report minus what differs by nature between a folder and a cluster: file and line
    of findings, and workloads (Deployments offline, their Pods live)."""
    hosts = []
    for host in document["hosts"]:
        host = {k: v for k, v in host.items() if k != "workloads"}
        host["subsets"] = [
            {k: v for k, v in s.items() if k != "workloads"} for s in host["subsets"]
        ]
        hosts.append(host)
    findings = [
        {k: v for k, v in f.items() if k not in ("file", "line")} for f in document["findings"]
    ]
    for f in findings:  # a fix's diff is against a file offline, the object as read live
        f["fixes"] = [{k: v for k, v in fix.items() if k != "diff"} for fix in f["fixes"]]
    return {"hosts": hosts, "findings": findings, "summary": document["summary"]}


@pytest.fixture
def no_tui(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TUI must never start in these tests: its entry point fails if it is reached."""

    def run_app(source: object) -> int:
        raise AssertionError("the TUI started")

    monkeypatch.setitem(sys.modules, "meshtui.tui.app", types.SimpleNamespace(run_app=run_app))


# -- same core, same findings --------------------------------------------------------------


def test_check_on_a_cluster_reports_what_check_on_the_folder_reports(kube_api, capsys):
    load_bookinfo(kube_api)

    live_status, live, _ = check(
        capsys, "--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig)
    )
    offline_status, offline, _ = check(capsys, str(BOOKINFO))

    assert live_status == offline_status == 1  # the dormant v3 policy is a warning
    assert without_locations(live) == without_locations(offline)
    assert [f["code"] for f in live["findings"]] == ["SubsetPolicyNeverApplied"]
    assert live["findings"][0]["field"] == "spec.subsets[2].trafficPolicy"
    assert live["source"] == "context alpha (all namespaces)"


def test_live_workloads_are_the_pods_of_the_subset(kube_api, capsys):
    load_bookinfo(kube_api)

    _, live, _ = check(capsys, "--kubeconfig", str(kube_api.kubeconfig))

    reviews = next(h for h in live["hosts"] if h["host"] == REVIEWS)
    by_subset = {s["name"]: s["workloads"] for s in reviews["subsets"]}
    assert by_subset == {
        "v1": [f"Pod bookinfo/reviews-v1-7f9c-{i}" for i in range(3)],
        "v2": [f"Pod bookinfo/reviews-v2-7f9c-{i}" for i in range(2)],
        "v3": ["Pod bookinfo/reviews-v3-7f9c-0"],
    }
    assert len(reviews["workloads"]) == 6


# -- the kubeconfig, as kubectl reads it ----------------------------------------------------


def test_without_context_the_current_context_of_the_kubeconfig_is_read(kube_api_pair, capsys):
    first, second = kube_api_pair  # alpha (current) on the first, beta on the second
    load_bookinfo(first)

    status, report, _ = check(capsys, "--kubeconfig", str(first.kubeconfig))

    assert status == 1 and report["summary"]["hosts"] == 4
    assert report["source"] == "context alpha (all namespaces)"
    assert second.requests == []


def test_kubeconfig_env_with_several_files_merges_their_contexts(
    kube_api_pair, capsys, tmp_path, monkeypatch
):
    first, second = kube_api_pair
    load_bookinfo(first)
    second.add(service("shop", "cart"))
    one = write_kubeconfig(tmp_path / "one", [first.context("alpha")])
    two = write_kubeconfig(tmp_path / "two", [second.context("beta")])
    monkeypatch.setenv("KUBECONFIG", f"{one}:{tmp_path / 'missing'}:{two}")

    _, current, _ = check(capsys)  # no PATH, no --context: the first file's current context
    _, beta, _ = check(capsys, "--context", "beta")

    assert current["source"].startswith("context alpha") and current["summary"]["hosts"] == 4
    assert [h["host"] for h in beta["hosts"]] == ["cart.shop.svc.cluster.local"]


def test_kubeconfig_option_wins_over_the_environment(kube_api, capsys, tmp_path, monkeypatch):
    load_bookinfo(kube_api)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "does-not-exist"))

    status, report, _ = check(capsys, "--kubeconfig", str(kube_api.kubeconfig))

    assert status == 1 and report["summary"]["hosts"] == 4


def test_in_a_pod_without_a_kubeconfig_the_service_account_is_read(
    kube_api, kube_api_tls, capsys, tmp_path, monkeypatch
):
    from kubernetes.config import incluster_config

    load_bookinfo(kube_api)
    token = tmp_path / "token"
    token.write_text("alpha-token")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(kube_api_tls.ca_cert))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(kube_api.port))

    status, report, _ = check(capsys)

    assert status == 1 and report["summary"]["hosts"] == 4
    assert report["source"] == "context in-cluster (all namespaces)"
    assert {r.user for r in kube_api.requests if r.resource} == {"alpha"}


def test_unknown_context_is_one_line_listing_the_contexts_and_exit_2(kube_api, capsys, no_tui):
    for command in (["check", "--context", "prod"], ["--context", "prod"]):
        status = main([*command, "--kubeconfig", str(kube_api.kubeconfig)])
        out, err = capsys.readouterr()

        assert status == 2 and out == ""
        assert err == "meshtui: context 'prod' not found in kubeconfig; contexts: alpha, beta\n"
    assert kube_api.requests == []


def test_missing_kubeconfig_is_a_message_and_exit_2(capsys, tmp_path, no_tui):
    status = main(["check", "--kubeconfig", str(tmp_path / "nope")])

    assert status == 2
    assert capsys.readouterr().err == f"meshtui: no kubeconfig found at {tmp_path / 'nope'}\n"


# -- errors stop before the UI --------------------------------------------------------------


@pytest.mark.parametrize("command", [["check"], []], ids=["check", "tui"])
def test_unreachable_api_server_is_a_clear_message_and_exit_2(kube_api, capsys, no_tui, command):
    kube_api.stop()

    start = time.monotonic()
    status = main([*command, "--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig)])
    err = capsys.readouterr().err

    assert status == 2
    assert time.monotonic() - start < 5
    assert err.startswith(f"meshtui: context alpha: cannot reach the API server at {kube_api.url}")
    assert "refused" in err and "object at 0x" not in err and err.count("\n") == 1


@pytest.mark.parametrize("command", [["check"], []], ids=["check", "tui"])
def test_revoked_credentials_are_a_message_about_credentials_and_exit_2(
    kube_api, capsys, no_tui, command
):
    load_bookinfo(kube_api)
    kube_api.revoke_token("alpha-token")

    status = main([*command, "--kubeconfig", str(kube_api.kubeconfig)])

    assert status == 2
    assert capsys.readouterr().err == (
        "meshtui: context alpha: the API server rejected the credentials "
        "(401 Unauthorized): log in again\n"
    )
    assert [r.status for r in kube_api.requests] == [401]


def test_a_request_that_hangs_is_given_up_after_the_request_timeout(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.hang_next(10, count=5, match="/pods")

    start = time.monotonic()
    status, _, err = check(
        capsys, "--kubeconfig", str(kube_api.kubeconfig), "--request-timeout", "0.5"
    )
    elapsed = time.monotonic() - start

    assert status == 2
    assert "no answer within 0.5 s (--request-timeout)" in err
    # urllib3 alone would have retried the GET three times: four times the timeout.
    assert elapsed < 1.5
    assert len([r for r in kube_api.requests if r.resource == "pods"]) == 1


# -- namespaces ----------------------------------------------------------------------------


def _listed_scopes(server: KubeAPIServer) -> set[str | None]:
    return {r.namespace for r in server.requests if r.verb == "list"}


def test_namespace_options_list_only_those_namespaces(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.add(service("shop", "cart"))
    kube_api.add(service("other", "search"))

    _, report, _ = check(
        capsys, "--kubeconfig", str(kube_api.kubeconfig), "-n", "bookinfo", "-n", "shop"
    )

    assert _listed_scopes(kube_api) == {"bookinfo", "shop"}
    listed = {(r.resource, r.namespace) for r in kube_api.requests if r.verb == "list"}
    assert listed == {(kind, ns) for kind in RESOURCE_KINDS for ns in ("bookinfo", "shop")}
    hosts = {h["host"] for h in report["hosts"]}
    assert "cart.shop.svc.cluster.local" in hosts
    assert "search.other.svc.cluster.local" not in hosts
    assert report["source"] == "context alpha (bookinfo, shop)"


@pytest.mark.parametrize("scope", [["-A"], []], ids=["all-namespaces", "default"])
def test_all_namespaces_is_one_cluster_wide_list_per_kind(kube_api, capsys, scope):
    load_bookinfo(kube_api)
    kube_api.add(service("other", "search"))

    _, report, _ = check(capsys, "--kubeconfig", str(kube_api.kubeconfig), *scope)

    assert _listed_scopes(kube_api) == {None}
    # Nodes and Namespaces (cluster-scoped: topology labels, data-plane labels) only when
    # every namespace is read.
    listed = {r.resource for r in kube_api.requests if r.verb == "list"}
    assert listed == RESOURCE_KINDS | {"nodes", "namespaces"}
    assert "search.other.svc.cluster.local" in {h["host"] for h in report["hosts"]}


# -- what the source could not see is said on stderr -----------------------------------------


def test_check_says_on_stderr_when_the_istio_crds_are_missing(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.set_served_versions({"networking.istio.io": []})

    status, report, err = check(capsys, "--kubeconfig", str(kube_api.kubeconfig))

    assert status == 0
    assert err == "meshtui: warning: alpha: Istio CRDs are not installed in this cluster\n"
    assert report["summary"]["hosts"] == 4


# -- several clusters ----------------------------------------------------------------------


def test_two_contexts_are_two_meshes_each_analysed_on_its_own(kube_api_pair, capsys):
    first, second = kube_api_pair
    load_bookinfo(first)
    load_bookinfo(second)
    # On beta the canary is over: every reviews subset gets traffic, nothing is dormant.
    routed = bookinfo("VirtualService", "reviews")
    routed["spec"]["http"][0]["route"] = [
        {"destination": {"host": "reviews", "subset": s}, "weight": w}
        for s, w in (("v1", 40), ("v2", 30), ("v3", 30))
    ]
    second.update(routed)

    status, report, _ = check(
        capsys, "--context", "alpha", "--context", "beta", "--kubeconfig", str(first.kubeconfig)
    )

    assert status == 1
    assert report["source"] == "context alpha, beta (all namespaces)"
    clusters = [h["cluster"] for h in report["hosts"]]
    assert clusters == ["alpha"] * 4 + ["beta"] * 4
    assert [(f["cluster"], f["code"], f["subset"]) for f in report["findings"]] == [
        ("alpha", "SubsetPolicyNeverApplied", "v3")
    ]
    beta_reviews = next(
        h for h in report["hosts"] if h["cluster"] == "beta" and h["host"] == REVIEWS
    )
    assert [s["policyNeverApplied"] for s in beta_reviews["subsets"]] == [False] * 3
    assert first.requests and second.requests


def test_a_context_that_fails_names_itself(kube_api_pair, capsys, no_tui):
    first, second = kube_api_pair
    second.revoke_token("beta-token")

    status, _, err = check(
        capsys, "--context", "alpha", "--context", "beta", "--kubeconfig", str(first.kubeconfig)
    )

    assert status == 2
    assert err.startswith("meshtui: context beta: the API server rejected the credentials")
