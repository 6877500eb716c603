"""The schema of DestinationRule and VirtualService: what the API server rejects is an
InvalidResource (the resource is dropped, as Istio never sees it); an unknown field is an
UnknownField warning naming the closest known field."""

from __future__ import annotations

import pytest

from meshtui.mesh import schema
from meshtui.mesh.findings import Code
from meshtui.mesh.resources import InvalidField, Origin, format_path, parse_object
from meshtui.sources.files import FileSource
from tests.helpers import (
    analyze,
    dest,
    dr,
    host,
    port_policy,
    route,
    service,
    subset,
    svc_host,
    to_yaml,
    vs,
)


def issues(kind: str, spec: object) -> list[tuple[str, str]]:
    return [(format_path(i.path), i.code) for i in schema.validate(kind, spec)]


def test_bookinfo_like_rule_has_no_issue():
    spec = dr(
        "reviews",
        "reviews",
        policy={
            "loadBalancer": {"simple": "LEAST_REQUEST", "localityLbSetting": {"enabled": True}},
            "connectionPool": {"tcp": {"maxConnections": 100, "connectTimeout": "30ms"}},
            "outlierDetection": {
                "consecutive5xxErrors": 7,
                "interval": "5m",
                "baseEjectionTime": "1h30m",
            },
            "tls": {"mode": "ISTIO_MUTUAL"},
            "portLevelSettings": [port_policy(9080, loadBalancer={"simple": "ROUND_ROBIN"})],
        },
        subsets=[subset("v1"), subset("v2", policy={"loadBalancer": {"simple": "RANDOM"}})],
    )["spec"]
    assert issues("DestinationRule", spec) == []


def test_a_string_where_an_integer_belongs_is_rejected_with_its_field():
    spec = {"host": "r", "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": "lots"}}}}
    [issue] = schema.validate("DestinationRule", spec)
    assert issue.fatal
    assert format_path(issue.path) == "spec.trafficPolicy.connectionPool.tcp.maxConnections"
    assert issue.message == "must be an integer, not a string"


def test_an_enum_value_outside_the_api_is_rejected_and_the_closest_named():
    [issue] = schema.validate(
        "DestinationRule", {"host": "r", "trafficPolicy": {"tls": {"mode": "MUTAL"}}}
    )
    assert issue.fatal
    assert "did you mean MUTUAL?" in issue.message


def test_least_conn_is_accepted_but_deprecated():
    # istio/api destination_rule.proto: LEAST_CONN = 1 [deprecated=true]; the CRD still lists it.
    found = schema.validate(
        "DestinationRule",
        {"host": "r", "trafficPolicy": {"loadBalancer": {"simple": "LEAST_CONN"}}},
    )
    assert [(i.code, i.fatal) for i in found] == [(schema.DEPRECATED, False)]
    assert "LEAST_REQUEST" in found[0].message


@pytest.mark.parametrize("value", ["1s", "500ms", "1h30m", "0.5s", "0", "7200s"])
def test_go_durations_are_accepted(value):
    assert (
        issues(
            "DestinationRule",
            {"host": "r", "trafficPolicy": {"connectionPool": {"tcp": {"connectTimeout": value}}}},
        )
        == []
    )


@pytest.mark.parametrize("value", ["1", "1 s", "soon", "", "-1s", "1d", 5])
def test_malformed_durations_are_rejected(value):
    found = schema.validate(
        "DestinationRule",
        {"host": "r", "trafficPolicy": {"connectionPool": {"tcp": {"connectTimeout": value}}}},
    )
    assert [i.fatal for i in found] == [True]


def test_64_bit_integers_may_be_strings_of_digits():
    lb = {"consistentHash": {"useSourceIp": True, "ringHash": {"minimumRingSize": "1024"}}}
    assert issues("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": lb}}) == []
    lb["consistentHash"]["ringHash"]["minimumRingSize"] = "many"
    assert issues("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": lb}}) == [
        ("spec.trafficPolicy.loadBalancer.consistentHash.ringHash.minimumRingSize", schema.INVALID)
    ]


def test_an_unknown_field_is_a_warning_naming_the_closest_field():
    [issue] = schema.validate("DestinationRule", {"host": "r", "subset": [{"name": "v1"}]})
    assert not issue.fatal
    assert issue.code == schema.UNKNOWN
    assert format_path(issue.path) == "spec.subset"
    assert "did you mean subsets?" in issue.message


def test_two_members_of_a_oneof_are_rejected():
    lb = {"simple": "RANDOM", "consistentHash": {"useSourceIp": True}}
    found = schema.validate("DestinationRule", {"host": "r", "trafficPolicy": {"loadBalancer": lb}})
    assert [(format_path(i.path), i.fatal) for i in found] == [
        ("spec.trafficPolicy.loadBalancer", True)
    ]


def test_missing_required_fields_are_rejected():
    assert issues("DestinationRule", {"subsets": [{"labels": {"a": "b"}}]}) == [
        ("spec.subsets[0].name", schema.INVALID),
        ("spec.host", schema.INVALID),
    ]


def test_virtual_service_fields_are_checked_too():
    spec = vs("r", ["r"], http=[route(dest("r", "v1"), timeout="soon", retries={"attempts": "3"})])[
        "spec"
    ]
    spec["http"][0]["mirror_percent"] = 5
    assert issues("VirtualService", spec) == [
        ("spec.http[0].timeout", schema.INVALID),
        ("spec.http[0].retries.attempts", schema.INVALID),
        ("spec.http[0].mirror_percent", schema.UNKNOWN),
    ]


def test_label_values_must_be_strings():
    assert issues(
        "DestinationRule", {"host": "r", "subsets": [{"name": "v1", "labels": {"version": 1}}]}
    ) == [("spec.subsets[0].labels.version", schema.INVALID)]


def test_a_rejected_resource_is_marked_rejected_with_its_first_field_and_the_others():
    obj = dr(
        "reviews", "reviews", policy={"loadBalancer": {"simple": "FASTEST"}, "tls": {"mode": 1}}
    )
    parsed = parse_object(obj, Origin(file="t.yaml", line=1))
    assert not isinstance(parsed, InvalidField)
    rejected = parsed.meta.rejected
    assert isinstance(rejected, InvalidField)
    assert format_path(rejected.path) == "spec.trafficPolicy.loadBalancer.simple"
    assert "(and 1 more: spec.trafficPolicy.tls.mode must be" in rejected.message


def test_a_resource_that_cannot_be_read_without_its_rejected_field_is_an_invalid_field():
    parsed = parse_object(
        {**dr("reviews", "reviews"), "spec": {"host": 7}}, Origin(file="t.yaml", line=1)
    )
    assert isinstance(parsed, InvalidField)
    assert format_path(parsed.path) == "spec.host"


def test_the_rest_of_the_input_is_still_analysed_around_a_rejected_resource(tmp_path):
    (tmp_path / "mesh.yaml").write_text(
        to_yaml(
            service("reviews"),
            dr("other", "reviews", policy={"connectionPool": {"tcp": {"maxConnections": "lots"}}}),
            dr("reviews", "reviews", subsets=[subset("v1")]),
        )
    )
    [mesh] = FileSource([tmp_path]).load()
    analysis = mesh.analyze()
    reviews = host(analysis, svc_host("reviews"))
    assert [r.meta.ref.name for r in reviews.destination_rules] == ["reviews"]
    [invalid] = [f for f in analysis.findings if f.code is Code.INVALID_RESOURCE]
    assert str(invalid.resource) == "DestinationRule default/other"
    assert invalid.field == "spec.trafficPolicy.connectionPool.tcp.maxConnections"


def test_unknown_fields_become_findings_on_the_rules_host():
    rule = dr("reviews", "reviews", subsets=[subset("v1")])
    rule["spec"]["subset"] = []
    analysis = analyze(service("reviews"), rule)
    [finding] = [f for f in analysis.findings if f.code is Code.UNKNOWN_FIELD]
    assert finding.host == svc_host("reviews")
    assert finding.field == "spec.subset"
    assert "did you mean subsets?" in finding.message


def test_hostile_specs_never_raise():
    for spec in (
        None,
        [],
        "x",
        {"trafficPolicy": []},
        {1: 2},
        {"subsets": [None, 1, {"name": None}]},
        {"http": [{"route": [{"destination": {"host": ["x"]}}]}]},
        {"host": float("nan")},
    ):
        schema.validate("DestinationRule", spec)
        schema.validate("VirtualService", spec)
