"""Reading Kubernetes and Istio objects into the core's typed model (parse_object)."""

from __future__ import annotations

import pytest

from meshtui.mesh.resources import (
    DestinationRule,
    InvalidField,
    Origin,
    Service,
    ServiceEntry,
    VirtualService,
    Workload,
    format_path,
    object_kind,
    parse_object,
)
from tests.helpers import (
    ISTIO_API_VERSIONS,
    deployment,
    dest,
    dr,
    parse,
    pod,
    route,
    service,
    service_entry,
    subset,
    vs,
)

ORIGIN = Origin(file="x.yaml", line=3)


def invalid(obj: dict) -> InvalidField:
    """What the API server or Istio's webhook rejects: an InvalidField, or a resource read
    without the rejected fields and marked rejected."""
    parsed = parse_object(obj, ORIGIN)
    if parsed is not None and not isinstance(parsed, InvalidField):
        parsed = parsed.meta.rejected
    assert isinstance(parsed, InvalidField), parsed
    return parsed


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS)
def test_destination_rule_is_read_in_every_served_api_version(api_version):
    rule = parse(
        dr(
            "reviews",
            "reviews",
            namespace="bookinfo",
            api_version=api_version,
            policy={"tls": {"mode": "ISTIO_MUTUAL"}},
            subsets=[subset("v1", policy={"loadBalancer": {"simple": "RANDOM"}})],
            export_to=["."],
        )
    )
    assert isinstance(rule, DestinationRule)
    assert rule.host == "reviews"
    assert rule.traffic_policy == {"tls": {"mode": "ISTIO_MUTUAL"}}
    assert [(s.name, dict(s.labels)) for s in rule.subsets] == [("v1", {"version": "v1"})]
    assert rule.subsets[0].traffic_policy == {"loadBalancer": {"simple": "RANDOM"}}
    assert rule.subsets[0].path == ("spec", "subsets", 0)
    assert rule.export_to == (".",)


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS)
def test_virtual_service_is_read_in_every_served_api_version(api_version):
    parsed = parse(
        vs(
            "reviews",
            ["reviews"],
            api_version=api_version,
            http=[route(dest("reviews", "v1", weight=90), dest("reviews", "v2", weight=10))],
            tcp=[route(dest("db", port=5432))],
            tls=[{**route(dest("secure", "v1")), "match": [{"sniHosts": ["reviews"]}]}],
        )
    )
    assert isinstance(parsed, VirtualService)
    assert [(r.kind, r.index) for r in parsed.routes] == [("http", 0), ("tls", 0), ("tcp", 0)]
    http = parsed.routes[0]
    assert [(d.host, d.subset, d.weight) for d in http.destinations] == [
        ("reviews", "v1", 90),
        ("reviews", "v2", 10),
    ]
    assert parsed.routes[2].destinations[0].port == 5432


@pytest.mark.parametrize("api_version", ISTIO_API_VERSIONS)
def test_service_entry_is_read_in_every_served_api_version(api_version):
    parsed = parse(
        service_entry("ext", ["api.example.com"], api_version=api_version, selector={"app": "x"})
    )
    assert isinstance(parsed, ServiceEntry)
    assert parsed.hosts == ("api.example.com",)
    assert [p.number for p in parsed.ports] == [443]
    assert parsed.workload_selector == {"app": "x"}


def test_istio_kind_of_another_group_is_not_read():
    obj = dr("reviews", "reviews", api_version="example.com/v1")
    assert object_kind(obj) is None
    assert parse_object(obj, ORIGIN) is None


def test_crd_named_service_in_another_group_is_not_read():
    obj = service("reviews")
    obj["apiVersion"] = "serving.knative.dev/v1"
    assert parse_object(obj, ORIGIN) is None


@pytest.mark.parametrize(
    "obj",
    [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
        {"kind": "Service", "metadata": {"name": "no-api-version"}},
        ["not", "an", "object"],
        "scalar",
        None,
    ],
    ids=["configmap", "secret", "no-apiversion", "list", "scalar", "null"],
)
def test_unrelated_objects_are_not_read(obj):
    assert object_kind(obj) is None


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("Deployment", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("DaemonSet", "apps/v1"),
        ("ReplicaSet", "apps/v1"),
        ("Job", "batch/v1"),
    ],
)
def test_pod_templates_of_controllers_are_workloads(kind, api_version):
    obj = deployment("w", {"app": "a"}, kind=kind)
    assert obj["apiVersion"] == api_version
    parsed = parse(obj)
    assert isinstance(parsed, Workload)
    assert parsed.meta.ref.kind == kind
    assert parsed.labels == {"app": "a"}


def test_replica_counts_of_workloads():
    assert parse(deployment("d", {"a": "b"}, replicas=3)).replicas == 3
    # Kubernetes defaults replicas to 1.
    assert parse(deployment("d", {"a": "b"}, replicas=None)).replicas == 1
    # A DaemonSet runs one pod per node: the count is not in the manifest.
    assert parse(deployment("d", {"a": "b"}, kind="DaemonSet", replicas=None)).replicas is None
    job = deployment("j", {"a": "b"}, kind="Job", replicas=None)
    job["spec"]["parallelism"] = 4
    assert parse(job).replicas == 4
    assert parse(pod("p", {"a": "b"})).replicas == 1


def test_bare_pod_labels_come_from_its_metadata():
    parsed = parse(pod("p", {"app": "reviews", "version": "v1"}))
    assert parsed.labels == {"app": "reviews", "version": "v1"}


def test_service_selector_and_ports():
    parsed = parse(service("reviews", selector={"app": "reviews"}, ports=(9080, 9090)))
    assert isinstance(parsed, Service)
    assert parsed.selector == {"app": "reviews"}
    assert [p.number for p in parsed.ports] == [9080, 9090]


def test_service_without_selector_has_none():
    obj = service("external")
    del obj["spec"]["selector"]
    assert parse(obj).selector is None


def test_namespace_defaults_to_default():
    assert parse(dr("r", "reviews", namespace=None)).meta.ref.namespace == "default"


def test_creation_timestamp_is_kept_for_merge_order():
    rule = parse(dr("r", "reviews", created="2024-01-02T03:04:05Z"))
    assert rule.meta.creation_timestamp == "2024-01-02T03:04:05Z"


def test_subsets_of_the_wrong_type_name_the_field():
    obj = dr("r", "reviews")
    obj["spec"]["subsets"] = "v1"
    bad = invalid(obj)
    assert bad.path == ("spec", "subsets")
    assert bad.message == "must be a list, not a string"
    assert str(bad.ref) == "DestinationRule default/r"
    assert bad.origin == ORIGIN


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda o: o["spec"].update(host=7), ("spec", "host")),
        (lambda o: o["spec"].pop("host"), ("spec", "host")),
        (lambda o: o["spec"].update(trafficPolicy="tls"), ("spec", "trafficPolicy")),
        (
            lambda o: o["spec"]["trafficPolicy"].update(loadBalancer=["RANDOM"]),
            ("spec", "trafficPolicy", "loadBalancer"),
        ),
        (
            lambda o: o["spec"]["trafficPolicy"].update(portLevelSettings=[{"tls": {}}]),
            ("spec", "trafficPolicy", "portLevelSettings", 0, "port"),
        ),
        (lambda o: o["spec"]["subsets"][0].pop("name"), ("spec", "subsets", 0, "name")),
        (
            lambda o: o["spec"]["subsets"][0].update(labels={"version": ["v1"]}),
            ("spec", "subsets", 0, "labels", "version"),
        ),
        (lambda o: o["spec"].update(exportTo="."), ("spec", "exportTo")),
        (lambda o: o.update(metadata={"namespace": "x"}), ("metadata", "name")),
    ],
    ids=[
        "host-int",
        "host-missing",
        "policy-string",
        "lb-list",
        "port-entry-without-port",
        "subset-without-name",
        "label-value-list",
        "export-to-string",
        "no-name",
    ],
)
def test_destination_rule_fields_of_the_wrong_type(mutate, path):
    obj = dr("r", "reviews", policy={"tls": {"mode": "SIMPLE"}}, subsets=[subset("v1")])
    mutate(obj)
    assert invalid(obj).path == path


def test_route_weight_must_be_an_integer():
    obj = vs("v", ["reviews"], http=[route(dest("reviews", "v1", weight=1))])
    obj["spec"]["http"][0]["route"][0]["weight"] = "50"
    bad = invalid(obj)
    assert bad.path == ("spec", "http", 0, "route", 0, "weight")
    assert "integer" in bad.message


def test_route_destination_needs_a_host():
    obj = vs("v", ["reviews"], http=[{"route": [{"destination": {"subset": "v1"}}]}])
    assert invalid(obj).path == ("spec", "http", 0, "route", 0, "destination", "host")


def test_mirror_and_mirrors_are_read_with_their_percentages():
    parsed = parse(
        vs(
            "v",
            ["reviews"],
            http=[
                route(
                    dest("reviews", "v1"),
                    mirror={"host": "reviews", "subset": "v2"},
                    mirrorPercentage={"value": 25.0},
                ),
                route(
                    dest("reviews", "v1"),
                    mirrors=[{"destination": {"host": "reviews", "subset": "v3"}}],
                ),
            ],
        )
    )
    assert parsed.meta.rejected is None
    mirrors = [m for r in parsed.routes for m in r.mirrors]
    assert [(m.host, m.subset, m.weight) for m in mirrors] == [
        ("reviews", "v2", 25),
        ("reviews", "v3", 100),
    ]


def test_delegate_defaults_to_the_root_namespace():
    parsed = parse(vs("root", ["reviews"], namespace="front", http=[{"delegate": {"name": "d"}}]))
    ref = parsed.routes[0].delegate
    assert (ref.kind, ref.namespace, ref.name) == ("VirtualService", "front", "d")


def test_match_gateways_are_collected():
    parsed = parse(
        vs(
            "v",
            ["reviews"],
            http=[route(dest("reviews"), match=[{"gateways": ["gw-a"]}, {"gateways": ["gw-b"]}])],
        )
    )
    assert parsed.routes[0].match_gateways == ("gw-a", "gw-b")


def test_format_path_names_fields_as_kubectl_does():
    assert format_path(("spec", "subsets", 0, "trafficPolicy")) == "spec.subsets[0].trafficPolicy"
    assert format_path(()) == ""
