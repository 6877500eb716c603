"""`meshtui check` against istioctl analyze's own analyzer test cases.

Each case below restates, with meshes written here, the conditions of one test case of
istio/istio pkg/config/analysis/analyzers/analyzers_test.go (its testdata/*.yaml) and the
(code, resource) pairs istioctl expects. istioctl runs one analyzer per case; meshtui runs
every check, so the comparison is per istioctl code, over the meshtui codes that stand for it.

Istio's cases for the codes meshtui has (analyzers_test.go at istio/istio 86c9f01) are 28;
`ISTIO_CASES` maps each to the test here that restates it. They agree per code (in
DestinationRuleWithFakeHost at info: the input holds no Service, so meshtui cannot confirm
the host is missing), with one difference in count, not in the set
(virtualServiceDestinationHosts: an empty destination, `route: [{}]`, is istioctl's IST0101
for host "", and meshtui's IST0106, as Istio's webhook rejects it:
validateHTTPRouteDestinations). Only virtualServiceJWTClaimRoute is left out: it
needs RequestAuthentication, which meshtui does not read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshtui.cli import main
from meshtui.mesh.findings import RULES, Code
from tests.helpers import (
    ISTIO_API_VERSIONS,
    ISTIO_V1,
    deployment,
    dest,
    dr,
    pod,
    route,
    service,
    service_entry,
    subset,
    to_yaml,
    vs,
)

Obj = dict[str, Any]


def found(capsys, tmp_path: Path, objs: list[Obj], codes: set[Code]) -> set[tuple[str, str]]:
    """The (istio code, resource) pairs of `meshtui check` among the findings of `codes`."""
    (tmp_path / "case.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    return {
        (RULES[Code(f["code"])].istio or f["code"], f["resource"])
        for f in data["findings"]
        if Code(f["code"]) in codes
    }


def gateway(name: str, namespace: str, *hosts: list[str]) -> Obj:
    return {
        "apiVersion": ISTIO_V1,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {"hosts": h, "port": {"number": 80, "name": "http", "protocol": "HTTP"}}
                for h in hosts
            ],
        },
    }


def annotated(obj: Obj, **annotations: str) -> Obj:
    obj["metadata"]["annotations"] = annotations
    return obj


# -- virtualServiceDestinationHosts: IST0101 (host, mirror host, host:port) and IST0112 ----

DESTINATION_HOSTS = {Code.UNKNOWN_HOST, Code.UNKNOWN_PORT, Code.DESTINATION_PORT_REQUIRED}


def test_destination_hosts_case(capsys, tmp_path):
    mirror = route(dest("reviews", "v1"), mirror={"host": "reviews-bogus", "subset": "v1"})
    objs = [
        service("reviews", ports=(42,)),
        service("reviews-2port", ports=(80, 443)),
        service_entry("external-reviews", ["external-reviews.org"]),
        service_entry("eu-wildcard", ["*.eu.bookinfo.com"]),
        # Exported to its own namespace only: a wildcard nobody else sees.
        service_entry("ignore", ["*"], namespace="default-ignore", export_to=["."]),
        service_entry("other", ["other.bookinfo.com"], namespace="other", export_to=["."]),
        service_entry("exported", ["abc.bookinfo.com"], namespace="other", export_to=["default"]),
        vs("reviews", None, http=[route(dest("reviews", "v1"))]),
        # An empty destination beside it: the webhook rejects the VS, the rest is checked.
        vs("reviews-bogushost", None, http=[route({}, dest("reviews-bogus", "v1"))]),
        vs("reviews-fqdn", None, http=[route(dest("reviews.default.svc.cluster.local", "v1"))]),
        vs("reviews-external", None, http=[route(dest("external-reviews.org"))]),
        vs("reviews-bookinfo-eu", None, http=[route(dest("reviews.eu.bookinfo.com"))]),
        vs("reviews-bookinfo-eu-wildcard", None, http=[route(dest("*.eu.bookinfo.com"))]),
        vs("reviews-bookinfo-other", None, http=[route(dest("other.bookinfo.com"))]),
        vs("reviews-mirror", None, http=[route(dest("reviews", "v1"), mirror={"host": "reviews"})]),
        vs("reviews-mirror-bogushost", None, http=[mirror]),
        vs("reviews-bogusport", None, http=[route(dest("reviews", "v1", port=999))]),
        vs("reviews-2port-missing", None, http=[route(dest("reviews-2port", "v1"))]),
        vs("reviews-2port-present", None, http=[route(dest("reviews-2port", "v1", port=80))]),
        vs(
            "cross-namespace",
            ["reviews"],
            namespace="istio-system",
            http=[route(dest("reviews.default.svc.cluster.local"))],
        ),
        annotated(service("details", ports=(9080,)), **{"networking.istio.io/exportTo": "banana"}),
        vs(
            "cross-namespace-details",
            ["details"],
            namespace="istio-system",
            http=[route(dest("details.default.svc.cluster.local"))],
        ),
        vs(
            "banana-details",
            ["details"],
            namespace="banana",
            http=[route(dest("details.default.svc.cluster.local"))],
        ),
        annotated(
            service("hello", namespace="hello", ports=(9080,)),
            **{"networking.istio.io/exportTo": "hello1,hello2,."},
        ),
        *(
            vs(
                "hello",
                ["hello"],
                namespace=ns,
                http=[route(dest("hello.hello.svc.cluster.local"))],
            )
            for ns in ("hello1", "hello2", "hello")
        ),
        vs(
            "hello-export-to-bogus",
            ["hello"],
            namespace="hello",
            export_to=["bogus"],
            http=[route(dest("hello.hello.svc.cluster.local"))],
        ),
        vs("vs-to-exported-serviceentry", None, http=[route(dest("abc.bookinfo.com"))]),
    ]
    got = found(capsys, tmp_path, objs, DESTINATION_HOSTS | {Code.INVALID_RESOURCE})
    # istioctl's second IST0101 there is for host "" (the empty destination): the webhook
    # rejects that destination, so meshtui says IST0106 instead.
    assert ("IST0106", "VirtualService default/reviews-bogushost") in got
    assert {g for g in got if g[0] != "IST0106"} == {
        ("IST0101", "VirtualService default/reviews-bogushost"),
        ("IST0101", "VirtualService default/reviews-bookinfo-other"),
        ("IST0101", "VirtualService default/reviews-mirror-bogushost"),
        ("IST0101", "VirtualService default/reviews-bogusport"),
        ("IST0112", "VirtualService default/reviews-2port-missing"),
        ("IST0101", "VirtualService istio-system/cross-namespace-details"),
        ("IST0101", "VirtualService hello/hello-export-to-bogus"),
    }


def test_no_port_to_a_virtual_services_own_multi_port_host_is_fine_for_sidecars(capsys, tmp_path):
    # pilot's GetDestinationCluster: without a port, the port the request arrived on, which
    # for a sidecar's route to the VirtualService's own host is one of that host's ports.
    # istioctl reports IST0112 here too; meshtui follows pilot. Through a gateway, the
    # arrival port is the gateway's, so it is reported.
    objs = [
        service("two", ports=(80, 443)),
        vs("own", ["two"], http=[route(dest("two"))]),
        vs("other", ["front"], http=[route(dest("two"))]),
        vs("edge", ["two"], gateways=["ingress"], http=[route(dest("two"))]),
    ]
    assert found(capsys, tmp_path, objs, {Code.DESTINATION_PORT_REQUIRED}) == {
        ("IST0112", "VirtualService default/other"),
        ("IST0112", "VirtualService default/edge"),
    }


# -- virtualServiceDestinationRules: IST0101 for a subset no DestinationRule defines ---------


def test_destination_rules_case(capsys, tmp_path):
    # As in istioctl's case: no Service, and VirtualServices without hosts (delegates that no
    # root names). Pilot builds no route from them, so meshtui says it as a warning.
    objs = [
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs("reviews", None, http=[route(dest("reviews", "v1"))]),
        vs("reviews-bogussubset", None, http=[route(dest("reviews", "bogus"))]),
        vs("reviews-fqdn", None, http=[route(dest("reviews.default.svc.cluster.local", "v1"))]),
        vs(
            "reviews-mirror",
            None,
            http=[route(dest("reviews", "v1"), mirror={"host": "reviews", "subset": "v1"})],
        ),
        vs(
            "reviews-mirror-bogussubset",
            None,
            http=[route(dest("reviews", "v1"), mirror={"host": "reviews", "subset": "bogus"})],
        ),
    ]
    (tmp_path / "case.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    undefined = [f for f in data["findings"] if f["code"] == "UndefinedSubset"]
    assert sorted((f["istio"], f["resource"], f["severity"]) for f in undefined) == [
        ("IST0101", "VirtualService default/reviews-bogussubset", "warning"),
        ("IST0101", "VirtualService default/reviews-mirror-bogussubset", "warning"),
    ]
    assert all("no root VirtualService names" in f["message"] for f in undefined)


def test_a_root_makes_the_delegates_undefined_subset_an_error(capsys, tmp_path):
    # Named by a root, the delegate's route carries traffic: the 503 is real. The host is
    # still unknown (no Service in the input): the subset is judged all the same.
    part = vs("reviews-part", None, http=[route(dest("reviews", "bogus"))])
    root = vs("reviews", ["reviews"], http=[route(delegate={"name": "reviews-part"})])
    objs = [dr("reviews", "reviews", subsets=[subset("v1")]), part, root]
    (tmp_path / "case.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    [f] = [f for f in data["findings"] if f["code"] == "UndefinedSubset"]
    assert (f["resource"], f["severity"]) == ("VirtualService default/reviews-part", "error")
    assert "no root VirtualService names" not in f["message"]


# -- virtualServiceConflictingMeshGatewayHosts(WithExportTo): IST0109, once per VirtualService -


def test_conflicting_hosts_are_reported_once_per_virtual_service(capsys, tmp_path):
    # bar/ratings shares ratings.foo with foo/ratings and google.com with team2/ratings; the
    # scoped `*.productpage.d` of foo sits under bar's public `*.d`.
    objs = [
        vs("ratings", ["ratings"], namespace="foo", http=[route(dest("ratings"))]),
        vs(
            "ratings",
            ["ratings.foo.svc.cluster.local", "google.com"],
            namespace="bar",
            gateways=["istio-ingressgateway", "mesh"],
            http=[route(dest("ratings.foo.svc.cluster.local"))],
        ),
        vs(
            "ratings",
            ["ratings.team1.svc.cluster.local", "google.com"],
            namespace="team2",
            export_to=["."],
            http=[route(dest("ratings.team1.svc.cluster.local"))],
        ),
        vs("pd", ["*.productpage.d"], namespace="foo", export_to=["."], http=[route(dest("p"))]),
        vs("pd", ["*.d"], namespace="bar", export_to=["*"], http=[route(dest("p"))]),
    ]
    (tmp_path / "case.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    said = sorted(f["resource"] for f in data["findings"] if f["istio"] == "IST0109")
    assert said == [
        "VirtualService bar/pd",
        "VirtualService bar/ratings",
        "VirtualService foo/pd",
        "VirtualService foo/ratings",
        "VirtualService team2/ratings",
    ]
    [bar] = [f for f in data["findings"] if f["resource"] == "VirtualService bar/ratings"]
    assert bar["code"] == "ConflictingVirtualServices" and "google.com" in bar["message"]


# -- virtualServiceGateways and "host not found in the gateway": IST0132 -------------------


def test_gateways_case(capsys, tmp_path):
    bare = {"selector": {"istio": "ingressgateway"}}
    objs = [
        {**gateway("httpbin-gateway", "default"), "spec": bare},
        {**gateway("crossnamespace-gw", "another"), "spec": bare},
        vs("httpbin", ["*"], gateways=["httpbin-gateway"]),
        vs("httpbin-bogus", ["*"], gateways=["httpbin-gateway-bogus"]),
        vs("httpbin-mesh", ["*"], gateways=["mesh"]),
        vs("cross-test", ["*"], gateways=["another/crossnamespace-gw"]),
    ]
    # As istioctl: httpbin-bogus, whose gateway does not exist, gets IST0101 and IST0132 (no
    # server of a missing gateway accepts its hosts). The VirtualServices have no routes, which
    # Istio's webhook rejects (IST0106): their gateways are checked all the same.
    assert found(capsys, tmp_path, objs, {Code.HOST_NOT_IN_GATEWAY, Code.UNKNOWN_GATEWAY}) == {
        ("IST0101", "VirtualService default/httpbin-bogus"),
        ("IST0132", "VirtualService default/cross-test"),
        ("IST0132", "VirtualService default/httpbin-bogus"),
        ("IST0132", "VirtualService default/httpbin"),
    }


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS[:2])  # the case, and its beta twin
def test_host_not_found_in_gateway_case(capsys, tmp_path, api_version):
    gw = "istio-system/"
    objs = [
        gateway("gw1", "istio-system", ["testing-01.com"]),
        vs("ok-01", ["testing-01.com"], gateways=[gw + "gw1"]),
        vs("bad-01", ["wrong-01.com"], gateways=[gw + "gw1"]),
        gateway("gw2", "istio-system", ["*.testing-02.com"]),
        vs("ok-02", ["web.testing-02.com"], gateways=[gw + "gw2"]),
        vs("bad-02", ["web.wrong.com"], gateways=[gw + "gw2"]),
        gateway("gw3a", "istio-system", ["*.api.testing-03.com"]),
        gateway("gw3b", "istio-system", ["*.homepage.testing-03.com"]),
        vs(
            "ok-03",
            ["user.api.testing-03.com", "profile.homepage.testing-03.com"],
            gateways=[gw + "gw3a", gw + "gw3b"],
        ),
        vs("bad-03", ["user.api.testing-03.com"], gateways=[gw + "gw3a", gw + "gw3b"]),
        gateway("gw4", "istio-system", ["*.testing-01-04.com"], ["web.testing-02-04.com"]),
        vs("ok-04a", ["web.testing-02-04.com"], gateways=[gw + "gw4"]),
        vs("ok-04b", ["profile.user.testing-01-04.com"], gateways=[gw + "gw4"]),
        vs("bad-04", ["user.testing-02-04.com", "users.testing-02-04.com"], gateways=[gw + "gw4"]),
    ]
    for obj in objs:
        obj["apiVersion"] = api_version
    assert found(capsys, tmp_path, objs, {Code.HOST_NOT_IN_GATEWAY}) == {
        ("IST0132", f"VirtualService default/bad-0{i}") for i in range(1, 5)
    }


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS[:2])
def test_gateway_host_with_a_namespace_prefix_applies_to_that_namespace_only(
    capsys, tmp_path, api_version
):
    # "host defined in virtualservice not found in the gateway with ns": `ns/host` servers.
    objs = [
        gateway("gw", "istio-system", ["foo/testing-01.com"], ["./testing-02.com"]),
        vs("other-ns", ["testing-01.com"], gateways=["istio-system/gw"]),
        vs("right-ns", ["testing-01.com"], namespace="foo", gateways=["istio-system/gw"]),
        vs("own-ns", ["testing-02.com"], namespace="istio-system", gateways=["gw"]),
    ]
    for obj in objs:
        obj["apiVersion"] = api_version
    assert found(capsys, tmp_path, objs, {Code.HOST_NOT_IN_GATEWAY}) == {
        ("IST0132", "VirtualService default/other-ns")
    }


# -- virtualServiceInternalGatewayRef: IST0165 -----------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        # istioctl's case: the `~` name pilot generates, which Istio's webhook refuses in a
        # VirtualService of one's own (validateGatewayNames): IST0106, and IST0165 says why.
        "istio-ingress/gateway~istio-autogenerated-k8s-gateway~foo",
        "istio-ingress/gateway-istio-autogenerated-k8s-gateway-foo",
    ],
)
def test_internal_gateway_reference_case(capsys, tmp_path, name):
    objs = [vs("httpbin", ["foo.com"], gateways=[name], http=[route(dest("httpbin", port=80))])]
    assert found(capsys, tmp_path, objs, {Code.INTERNAL_GATEWAY_REFERENCE}) == {
        ("IST0165", "VirtualService default/httpbin")
    }


# -- CaCertificateAnalyzer: IST0128 (host level), IST0129 (port level) -------------------------

TLS = {Code.NO_CA_CERTIFICATES, Code.NO_CA_CERTIFICATES_PORT}


def tls(mode: str, **more: str) -> Obj:
    return {"mode": mode, **more}


def port_tls(mode: str, **more: str) -> Obj:
    return {"portLevelSettings": [{"port": {"number": 8443}, "tls": tls(mode, **more)}]}


CERTS = {"clientCertificate": "/etc/certs/cert.pem", "privateKey": "/etc/certs/key.pem"}


@pytest.mark.parametrize(
    ("name", "policy", "selector", "expected"),
    [
        ("simple at destination level", {"tls": tls("SIMPLE")}, None, {"IST0128"}),
        ("mutual at destination level", {"tls": tls("MUTUAL", **CERTS)}, None, {"IST0128"}),
        ("simple at port level", port_tls("SIMPLE"), None, {"IST0129"}),
        ("mutual at port level", port_tls("MUTUAL", **CERTS), None, {"IST0129"}),
        (
            "credentialName without workloadSelector",
            {"tls": tls("SIMPLE", credentialName="db-cred")},
            None,
            {"IST0128"},
        ),
        (
            "credentialName with workloadSelector",
            {"tls": tls("SIMPLE", credentialName="db-cred")},
            {"app": "client"},
            set(),
        ),
        (
            "port credentialName without workloadSelector",
            port_tls("SIMPLE", credentialName="db-cred"),
            None,
            {"IST0129"},
        ),
        (
            "port credentialName with workloadSelector",
            port_tls("SIMPLE", credentialName="db-cred"),
            {"app": "client"},
            set(),
        ),
        (
            "mutual at destination level and simple at port level",
            {"tls": tls("MUTUAL", **CERTS), **port_tls("SIMPLE")},
            None,
            {"IST0128", "IST0129"},
        ),
        (
            "simple at destination level and mutual at port level",
            {"tls": tls("SIMPLE"), **port_tls("MUTUAL", **CERTS)},
            None,
            {"IST0128", "IST0129"},
        ),
        (
            "both caCertificates",
            {
                "tls": tls("MUTUAL", caCertificates="/ca.pem", **CERTS),
                **port_tls("SIMPLE", caCertificates="/ca.pem"),
            },
            None,
            set(),
        ),
        ("istio mutual needs none", {"tls": tls("ISTIO_MUTUAL")}, None, set()),
    ],
)
def test_ca_certificates_cases(capsys, tmp_path, name, policy, selector, expected):
    objs = [service("db"), dr("db-tls", "db", policy=policy, selector=selector)]
    assert found(capsys, tmp_path, objs, TLS) == {
        (code, "DestinationRule default/db-tls") for code in expected
    }


def test_subset_tls_without_ca_is_found_too(capsys, tmp_path):
    # meshtui's addition: istioctl looks at the host and port levels only.
    subset = {"name": "v1", "labels": {"version": "v1"}, "trafficPolicy": {"tls": tls("SIMPLE")}}
    objs = [service("db"), dr("db-tls", "db", subsets=[subset])]
    (tmp_path / "case.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    [f] = [f for f in data["findings"] if f["code"] == "NoCaCertificates"]
    assert (f["subset"], f["field"]) == ("v1", "spec.subsets[0].trafficPolicy.tls")


# -- DestinationRuleWithFakeHost: IST0174 ------------------------------------------------------


def test_destination_rule_with_fake_host_case(capsys, tmp_path):
    fake = dr(
        "fake-host",
        "fake-svc.default.svc.cluster.local",
        policy={"loadBalancer": {"simple": "LEAST_REQUEST"}},
    )
    # istioctl's case holds the DR alone. A folder without any Service says nothing about
    # which services exist: meshtui says so at info (as IST0173 without pods), and judges
    # Kubernetes hosts when the input has Services.
    assert found(capsys, tmp_path, [fake], {Code.UNKNOWN_DESTINATION_RULE_HOST}) == {
        ("IST0174", "DestinationRule default/fake-host")
    }
    assert found(
        capsys, tmp_path, [fake, service("real")], {Code.UNKNOWN_DESTINATION_RULE_HOST}
    ) == {("IST0174", "DestinationRule default/fake-host")}


def test_external_host_without_service_entry_is_judged_without_services(capsys, tmp_path):
    github = dr("github", "api.github.com", policy={"tls": tls("SIMPLE", caCertificates="/ca")})
    assert found(capsys, tmp_path, [github], {Code.UNKNOWN_DESTINATION_RULE_HOST}) == {
        ("IST0174", "DestinationRule default/github")
    }
    entry = service_entry("github", ["api.github.com"], ports=(443,))
    assert found(capsys, tmp_path, [github, entry], {Code.UNKNOWN_DESTINATION_RULE_HOST}) == set()


# -- PodNotSelectedAnalyzer: IST0173 with node topology labels ----------------------------------


def node(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def scheduled_pod(name: str, labels: dict[str, str], node_name: str) -> Obj:
    obj = pod(name, labels)
    obj["spec"] = {"nodeName": node_name, "containers": [{"name": "app", "image": "app"}]}
    return obj


REGION, ZONE = "topology.kubernetes.io/region", "topology.kubernetes.io/zone"


def test_subsets_with_topology_labels_case(capsys, tmp_path):
    subsets = [
        {"name": "region-us-west", "labels": {REGION: "us-west-1"}},
        {"name": "zone-us-west-1a", "labels": {ZONE: "us-west-1a"}},
        {"name": "app-v1", "labels": {"version": "v1"}},
        {"name": "mixed-labels", "labels": {"version": "v1", REGION: "us-west-1"}},
        # Not in istioctl's case: a zone no node has.
        {"name": "zone-elsewhere", "labels": {ZONE: "eu-central-1a"}},
    ]
    objs = [
        dr("topology", "httpbin.default.svc.cluster.local", subsets=subsets),
        service("httpbin", ports=(8000,)),
        scheduled_pod("httpbin-pod", {"app": "httpbin", "version": "v1"}, "test-node"),
        node(
            "test-node",
            **{"kubernetes.io/hostname": "test-node", REGION: "us-west-1", ZONE: "us-west-1a"},
        ),
    ]
    (tmp_path / "case.yaml").write_text(to_yaml(*objs))
    main(["check", str(tmp_path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    nothing = [
        (f["subset"], f["resource"])
        for f in data["findings"]
        if f["code"] == "SubsetSelectsNothing"
    ]
    assert nothing == [("zone-elsewhere", "DestinationRule default/topology")]


def test_empty_topology_labels_case(capsys, tmp_path):
    # An empty node locality label is no locality: the subset asking for "" selects nothing.
    subsets = [
        {"name": "empty-region", "labels": {REGION: ""}},
        {"name": "app-v1", "labels": {"version": "v1"}},
    ]
    objs = [
        dr("empty-topology-labels", "httpbin.default.svc.cluster.local", subsets=subsets),
        service("httpbin", ports=(8000,)),
        scheduled_pod("httpbin-pod", {"app": "httpbin", "version": "v1"}, "test-node"),
        node("test-node", **{REGION: ""}),
    ]
    assert found(capsys, tmp_path, objs, {Code.SUBSET_SELECTS_NOTHING}) == {
        ("IST0173", "DestinationRule default/empty-topology-labels")
    }


def test_subsets_not_select_pods_case(capsys, tmp_path):
    fake = {"name": "fake", "labels": {"version": "v3"}}
    rule = dr("subsets-not-select-pods", "httpbin.default.svc.cluster.local", subsets=[fake])
    # istioctl's case holds no pod: meshtui reports it too, at info, as unconfirmed...
    assert found(capsys, tmp_path, [rule, service("httpbin")], {Code.SUBSET_SELECTS_NOTHING}) == {
        ("IST0173", "DestinationRule default/subsets-not-select-pods")
    }
    # ...and with the service's pods in the input, it says what istioctl says.
    pods = [scheduled_pod("httpbin-v1", {"app": "httpbin", "version": "v1"}, "n1")]
    assert found(
        capsys, tmp_path, [rule, service("httpbin"), *pods], {Code.SUBSET_SELECTS_NOTHING}
    ) == {("IST0173", "DestinationRule default/subsets-not-select-pods")}


def test_topology_subset_of_pod_templates_is_not_judged_without_nodes(capsys, tmp_path):
    # A Deployment's pods have no node yet: whether they are in a zone is not known.
    objs = [
        dr("zoned", "httpbin", subsets=[{"name": "a", "labels": {ZONE: "us-west-1a"}}]),
        service("httpbin"),
        deployment("httpbin", {"app": "httpbin"}),
    ]
    assert found(capsys, tmp_path, objs, {Code.SUBSET_SELECTS_NOTHING}) == set()


# -- The 28 cases, and where each is restated ---------------------------------------------------

_HERE = "tests/check/test_analyzer_parity.py"
_MESH = "tests/mesh/test_istioctl_parity.py"
_CA = f"{_HERE}::test_ca_certificates_cases"
_ONCE = f"{_MESH}::test_ist0109_one_report_per_virtual_service"
_NARROW = f"{_MESH}::test_ist0109_a_scoped_wildcard_narrowing_a_public_one"
_K8S = "tests/check/test_gateway_api_views.py::" + (
    "test_istios_analyzer_case_for_virtual_services_on_kubernetes_gateways"
)
_NOT_FOUND = f"{_HERE}::test_host_not_found_in_gateway_case"
_WITH_NS = f"{_HERE}::test_gateway_host_with_a_namespace_prefix_applies_to_that_namespace_only"
ISTIO_CASES = {
    "virtualServiceConflictingMeshGatewayHosts": _ONCE,
    "virtualServiceConflictingMeshGatewayHostsWithExportTo": _NARROW,
    "virtualServiceDestinationHosts": f"{_HERE}::test_destination_hosts_case",
    "virtualServiceDestinationRules": f"{_HERE}::test_destination_rules_case",
    "virtualServiceGateways": f"{_HERE}::test_gateways_case",
    "virtualServiceKubernetesGateways": _K8S,
    "virtualServiceInternalGatewayRef": f"{_HERE}::test_internal_gateway_reference_case",
    "destinationrule with no cacert, simple at destinationlevel": _CA,
    "destinationrule with no cacert, mutual at destinationlevel": _CA,
    "destinationrule with no cacert, simple at portlevel": _CA,
    "destinationrule with credentialname, simple at destinationlevel, no workloadSelector": _CA,
    "destinationrule with credentialname, simple at destinationlevel, workloadSelector": _CA,
    "destinationrule with credentialname, simple at portlevel, no workloadSelector": _CA,
    "destinationrule with credentialname, simple at portlevel, workloadSelector": _CA,
    "destinationrule with no cacert, mutual at portlevel": _CA,
    "destinationrule with no cacert, mutual at destinationlevel and simple at port level": _CA,
    "destinationrule with no cacert, simple at destinationlevel and mutual at port level": _CA,
    "destinationrule with both cacerts": _CA,
    "dupmatches": f"{_MESH}::test_ist0130_and_ist0131_duplicate_and_catch_all_rules",
    "host defined in virtualservice not found in the gateway": _NOT_FOUND,
    "host defined in virtualservice not found in the gateway(beta version)": _NOT_FOUND,
    "host defined in virtualservice not found in the gateway with ns": _WITH_NS,
    "host defined in virtualservice not found in the gateway with ns(beta version)": _WITH_NS,
    "Route Rule no effect on Ingress": f"{_MESH}::test_ist0140_gateway_route_without_subset",
    "DestinationRuleWithFakeHost": f"{_HERE}::test_destination_rule_with_fake_host_case",
    "DestinationRuleSubsetsNotSelectPods": f"{_HERE}::test_subsets_not_select_pods_case",
    "DestinationRuleSubsetsWithTopologyLabels": f"{_HERE}::test_subsets_with_topology_labels_case",
    "DestinationRuleEmptyTopologyLabels": f"{_HERE}::test_empty_topology_labels_case",
}


def test_every_istio_case_is_restated_by_a_test_that_exists():
    import ast

    assert len(ISTIO_CASES) == 28
    root = Path(__file__).resolve().parents[2]
    for case, where in ISTIO_CASES.items():
        file, _, name = where.partition("::")
        tree = ast.parse((root / file).read_text())
        defined = {
            n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in defined, f"{case}: {where} does not exist"
