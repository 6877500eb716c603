"""What Istio's validating webhook rejects (istio/istio pkg/config/validation): one case per
rule, each naming the Istio function it follows, and the specs it must accept."""

from __future__ import annotations

from typing import Any

import pytest

from meshtui.mesh import webhook
from meshtui.mesh.resources import format_path

DR = "DestinationRule"
VS = "VirtualService"
SE = "ServiceEntry"
SC = "Sidecar"


def _to(host: str = "reviews", **extra: Any) -> dict:
    return {"destination": {"host": host, **extra}}


def _vs(**spec: Any) -> dict:
    return {"hosts": ["reviews"], "http": [{"route": [_to()]}], **spec}


def _dr_policy(**policy: Any) -> dict:
    return {"host": "reviews", "trafficPolicy": policy}


# (rule in Istio, kind, spec, the field rejected, words of the message)
REJECTED = [
    # -- agent.ValidateDuration: at least 1ms, whole milliseconds --
    (
        "agent.ValidateDuration",
        DR,
        _dr_policy(connectionPool={"tcp": {"connectTimeout": "0s"}}),
        "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
        "at least 1ms",
    ),
    (
        "agent.ValidateDuration",
        DR,
        _dr_policy(outlierDetection={"interval": "500us"}),
        "spec.trafficPolicy.outlierDetection.interval",
        "at least 1ms",
    ),
    (
        "agent.ValidateDuration",
        VS,
        _vs(http=[{"route": [_to()], "timeout": "1.5ms"}]),
        "spec.http[0].timeout",
        "whole milliseconds",
    ),
    (
        "agent.ValidateDuration",
        VS,
        _vs(http=[{"route": [_to()], "retries": {"attempts": 2, "perTryTimeout": "0s"}}]),
        "spec.http[0].retries.perTryTimeout",
        "at least 1ms",
    ),
    # -- agent.ValidatePort: 1..65535 --
    (
        "agent.ValidatePort",
        VS,
        _vs(http=[{"route": [_to(port={"number": 70000})]}]),
        "spec.http[0].route[0].destination.port.number",
        "between 1 and 65535",
    ),
    (
        "agent.ValidatePort",
        DR,
        _dr_policy(portLevelSettings=[{"port": {"number": 65536}, "tls": {"mode": "DISABLE"}}]),
        "spec.trafficPolicy.portLevelSettings[0].port.number",
        "between 1 and 65535",
    ),
    (
        "agent.ValidatePort",
        SE,
        {"hosts": ["api.example.com"], "ports": [{"number": 0, "name": "x", "protocol": "TLS"}]},
        "spec.ports[0].number",
        "between 1 and 65535",
    ),
    # -- validateHTTPRouteDestinations / validateRouteDestinations --
    (
        "validateHTTPRouteDestinations",
        VS,
        _vs(
            http=[{"route": [{**_to(subset="v1"), "weight": 0}, {**_to(subset="v2"), "weight": 0}]}]
        ),
        "spec.http[0].route",
        "total 0",
    ),
    (
        "validateHTTPRouteDestinations",
        VS,
        _vs(http=[{"route": [{}]}]),
        "spec.http[0].route[0].destination",
        "is required",
    ),
    (
        "validateHTTPRouteDestinations",
        VS,
        _vs(http=[{"route": [{**_to(), "weight": -5}]}]),
        "spec.http[0].route[0].weight",
        "cannot be negative",
    ),
    (
        "validateRouteDestinations",
        VS,
        _vs(http=None, tcp=[{"route": [{**_to(), "weight": 0}, {**_to("ratings"), "weight": 0}]}]),
        "spec.tcp[0].route",
        "total 0",
    ),
    # -- validateSniHost: SNI hosts covered by the VirtualService's hosts --
    (
        "validateSniHost",
        VS,
        _vs(http=None, tls=[{"match": [{"sniHosts": ["other.example.com"]}], "route": [_to()]}]),
        "spec.tls[0].match[0].sniHosts[0]",
        "not covered by the VirtualService's hosts",
    ),
    (
        "validateTLSMatch",
        VS,
        _vs(http=None, tls=[{"match": [{"port": 443}], "route": [_to()]}]),
        "spec.tls[0].match[0]",
        "sniHosts",
    ),
    ("validateTLSRoute", VS, _vs(http=None, tls=[{"route": [_to()]}]), "spec.tls[0]", "match"),
    # -- ValidateVirtualService --
    ("ValidateVirtualService", VS, {"hosts": ["reviews"]}, "spec", "http, tcp or tls"),
    (
        "ValidateVirtualService",
        VS,
        _vs(hosts=["*"]),
        "spec.hosts[0]",
        "not allowed for a mesh-bound VirtualService",
    ),
    (
        "ValidateVirtualService",
        VS,
        _vs(hosts=["*.example.com", "api.example.com"]),
        "spec.hosts[0]",
        "overlap",
    ),
    (
        "ValidateVirtualService",
        VS,
        {"hosts": [], "gateways": ["gw"], "http": [{"route": [_to()]}]},
        "spec.gateways",
        "delegate",
    ),
    ("agent.ValidateWildcardDomain", VS, _vs(hosts=["Bad_Host"]), "spec.hosts[0]", "invalid"),
    ("validateGatewayNames", VS, _vs(gateways=["istio-system/"]), "spec.gateways[0]", "gateway"),
    # -- validateHTTPRoute and its parts --
    (
        "validateHTTPRouteConflict",
        VS,
        _vs(http=[{"redirect": {"uri": "/x"}, "route": [_to()]}]),
        "spec.http[0].route",
        "redirect",
    ),
    ("validateHTTPRouteConflict", VS, _vs(http=[{"name": "x"}]), "spec.http[0]", "route, redirect"),
    (
        "validateHTTPRouteConflict",
        VS,
        _vs(
            http=[
                {
                    "route": [_to()],
                    "mirror": {"host": "a"},
                    "mirrors": [{"destination": {"host": "b"}}],
                }
            ]
        ),
        "spec.http[0].mirrors",
        "mirror and mirrors",
    ),
    (
        "validateHTTPRouteConflict",
        VS,
        _vs(http=[{"delegate": {"name": "d"}, "route": [_to()]}]),
        "spec.http[0].route",
        "delegate",
    ),
    (
        "validateHTTPFaultInjection",
        VS,
        _vs(http=[{"route": [_to()], "fault": {"abort": {"httpStatus": 700}}}]),
        "spec.http[0].fault.abort.httpStatus",
        "between 200 and 599",
    ),
    (
        "validateHTTPFaultInjection",
        VS,
        _vs(http=[{"route": [_to()], "fault": {}}]),
        "spec.http[0].fault",
        "abort, a delay",
    ),
    (
        "validatePercentage",
        VS,
        _vs(
            http=[
                {
                    "route": [_to()],
                    "fault": {"delay": {"fixedDelay": "1s", "percentage": {"value": 150}}},
                }
            ]
        ),
        "spec.http[0].fault.delay.percentage.value",
        "0.0001 and 100",
    ),
    (
        "validateHTTPRedirect",
        VS,
        _vs(http=[{"redirect": {"uri": "/x", "redirectCode": 200}}]),
        "spec.http[0].redirect.redirectCode",
        "3xx",
    ),
    (
        "validateHTTPDirectResponse",
        VS,
        _vs(http=[{"directResponse": {"status": 99}}]),
        "spec.http[0].directResponse.status",
        "between 200 and 599",
    ),
    (
        "agent.ValidateHTTPRetry",
        VS,
        _vs(http=[{"route": [_to()], "retries": {"attempts": 3, "retryOn": "5xx,sometimes"}}]),
        "spec.http[0].retries.retryOn",
        "'sometimes'",
    ),
    (
        "agent.ValidateHTTPRetry",
        VS,
        _vs(http=[{"route": [_to()], "retries": {"attempts": 0, "retryOn": "5xx"}}]),
        "spec.http[0].retries.attempts",
        "retries disabled",
    ),
    (
        "validateHTTPRewrite",
        VS,
        _vs(http=[{"route": [_to()], "rewrite": {}}]),
        "spec.http[0].rewrite",
        "uri, uriRegexRewrite or authority",
    ),
    (
        "validateHTTPRouteMatchRequest",
        VS,
        _vs(http=[{"match": [{"headers": {"x-user": {"prefix": ""}}}], "route": [_to()]}]),
        "spec.http[0].match[0].headers.x-user",
        "empty prefix",
    ),
    (
        "validateSubsetName",
        VS,
        _vs(http=[{"route": [_to(subset="v1_beta")]}]),
        "spec.http[0].route[0].destination.subset",
        "subset name",
    ),
    (
        "validateDestination",
        VS,
        _vs(http=[{"route": [_to("*")]}]),
        "spec.http[0].route[0].destination.host",
        "not a destination host",
    ),
    ("validateExportTo", VS, _vs(exportTo=["*", "shop"]), "spec.exportTo", "other entries"),
    ("validateExportTo", VS, _vs(exportTo=["~"]), "spec.exportTo[0]", "only for ServiceEntries"),
    # -- ValidateDestinationRule --
    ("agent.ValidateWildcardDomain", DR, {"host": "reviews..shop"}, "spec.host", "invalid"),
    (
        "ValidateDestinationRule",
        DR,
        {"host": "reviews", "subsets": [{"name": "v1"}, {"name": "v1"}]},
        "spec.subsets[1].name",
        "defined twice",
    ),
    (
        "validateSubsetName",
        DR,
        {"host": "reviews", "subsets": [{"name": "V1.0"}]},
        "spec.subsets[0].name",
        "subset name",
    ),
    (
        "labels.Instance.Validate",
        DR,
        {"host": "r", "subsets": [{"name": "v1", "labels": {"version": "v 1"}}]},
        "spec.subsets[0].labels.version",
        "label value",
    ),
    ("validateTrafficPolicy", DR, _dr_policy(), "spec.trafficPolicy", "at least one field"),
    (
        "validateTrafficPolicy",
        DR,
        _dr_policy(
            tunnel={"targetHost": "a.b", "targetPort": 8080}, proxyProtocol={"version": "V1"}
        ),
        "spec.trafficPolicy",
        "tunnel and proxyProtocol",
    ),
    (
        "validateConnectionPool",
        DR,
        _dr_policy(connectionPool={}),
        "spec.trafficPolicy.connectionPool",
        "http or tcp",
    ),
    (
        "validateConnectionPool",
        DR,
        _dr_policy(connectionPool={"http": {"http2MaxRequests": -1}}),
        "spec.trafficPolicy.connectionPool.http.http2MaxRequests",
        "negative",
    ),
    (
        "validateOutlierDetection",
        DR,
        _dr_policy(outlierDetection={"maxEjectionPercent": 101}),
        "spec.trafficPolicy.outlierDetection.maxEjectionPercent",
        "between 0 and 100",
    ),
    (
        "validateOutlierDetection",
        DR,
        _dr_policy(outlierDetection={"consecutiveLocalOriginFailures": 3}),
        "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures",
        "splitExternalLocalOriginErrors",
    ),
    (
        "validateLoadBalancer",
        DR,
        _dr_policy(loadBalancer={"consistentHash": {"maglev": {"tableSize": 1000}}}),
        "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize",
        "prime",
    ),
    (
        "agent.ValidateLocalityLbSetting",
        DR,
        _dr_policy(
            loadBalancer={"localityLbSetting": {"distribute": [{"from": "a/*", "to": {"b/*": 60}}]}}
        ),
        "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to",
        "total 60",
    ),
    (
        "agent.ValidateTLS",
        DR,
        _dr_policy(tls={"mode": "MUTUAL", "caCertificates": "/ca.pem"}),
        "spec.trafficPolicy.tls.clientCertificate",
        "MUTUAL",
    ),
    (
        "agent.ValidateTLS",
        DR,
        _dr_policy(tls={"mode": "SIMPLE", "credentialName": "c", "caCertificates": "/ca.pem"}),
        "spec.trafficPolicy.tls.credentialName",
        "cannot be set with",
    ),
    (
        "validatePortTrafficPolicies",
        DR,
        _dr_policy(portLevelSettings=[{"port": {"number": 80}}]),
        "spec.trafficPolicy.portLevelSettings[0]",
        "must set a field",
    ),
    (
        "validateTunnelSettings",
        DR,
        _dr_policy(tunnel={"protocol": "GET", "targetHost": "a.b", "targetPort": 80}),
        "spec.trafficPolicy.tunnel.protocol",
        "CONNECT or POST",
    ),
    (
        "validateExportTo",
        DR,
        {"host": "r", "exportTo": ["other"], "workloadSelector": {"matchLabels": {"app": "a"}}},
        "spec.exportTo",
        "workloadSelector",
    ),
    # -- ValidateServiceEntry --
    ("ValidateServiceEntry", SE, {"hosts": []}, "spec.hosts", "at least one host"),
    ("ValidateServiceEntry", SE, {"hosts": ["*"]}, "spec.hosts[0]", "not a ServiceEntry host"),
    (
        "ValidateServiceEntry",
        SE,
        {
            "hosts": ["a.example.com"],
            "ports": [{"number": 443, "name": "a"}, {"number": 443, "name": "b"}],
        },
        "spec.ports[1].number",
        "defined twice",
    ),
    (
        "ValidateProtocol",
        SE,
        {"hosts": ["a.example.com"], "ports": [{"number": 1, "name": "a", "protocol": "HTTP3"}]},
        "spec.ports[0].protocol",
        "protocol",
    ),
    (
        "ValidateServiceEntry",
        SE,
        {"hosts": ["*.example.com"], "resolution": "DNS"},
        "spec.hosts[0]",
        "resolution DNS",
    ),
    (
        "ValidateServiceEntry",
        SE,
        {
            "hosts": ["a.example.com"],
            "addresses": ["10.0.0.0/8"],
            "resolution": "DNS",
            "endpoints": [{"address": "a"}],
        },
        "spec.addresses",
        "CIDR",
    ),
    # -- ValidateSidecar --
    ("ValidateSidecar", SC, {}, "spec", "egress, ingress"),
    (
        "ValidateSidecar",
        SC,
        {"egress": [{"hosts": []}]},
        "spec.egress[0].hosts",
        "at least one host",
    ),
    (
        "ValidateSidecar",
        SC,
        {
            "egress": [
                {"hosts": ["./*"]},
                {"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["./*"]},
            ]
        },
        "spec.egress[0]",
        "last one",
    ),
    (
        "agent.ValidateNamespaceSlashWildcardHostname",
        SC,
        {"egress": [{"hosts": ["istio-system"]}]},
        "spec.egress[0].hosts[0]",
        "namespace/host",
    ),
    (
        "agent.ValidatePort",
        SC,
        {"ingress": [{"port": {"number": 99999, "protocol": "HTTP", "name": "h"}}]},
        "spec.ingress[0].port.number",
        "65535",
    ),
    (
        "validateSidecarOutboundTrafficPolicy",
        SC,
        {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY", "egressProxy": {"host": "a.b"}}},
        "spec.outboundTrafficPolicy.egressProxy",
        "ALLOW_ANY",
    ),
]


@pytest.mark.parametrize(
    ("rule", "kind", "spec", "field", "words"),
    REJECTED,
    ids=[f"{r[0]}:{r[3]}" for r in REJECTED],
)
def test_the_webhook_rejects(rule, kind, spec, field, words):
    spec = {k: v for k, v in spec.items() if v is not None}
    found = [
        i for i in webhook.validate(kind, spec, "shop") if format_path(i.path) == field and i.fatal
    ]
    assert found, [(format_path(i.path), i.message) for i in webhook.validate(kind, spec, "shop")]
    assert any(words in i.message and rule in i.message for i in found), [i.message for i in found]


ACCEPTED = [
    (
        DR,
        {
            "host": "reviews",
            "trafficPolicy": {
                "connectionPool": {"tcp": {"connectTimeout": "30ms", "idleTimeout": "0s"}},
                "outlierDetection": {"consecutive5xxErrors": 5, "interval": "1m30s"},
                "loadBalancer": {"consistentHash": {"maglev": {"tableSize": 65537}}},
                "tls": {"mode": "SIMPLE", "credentialName": "c"},
            },
            "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
            "exportTo": ["."],
        },
    ),
    (
        VS,
        {
            "hosts": ["reviews", "*.example.com"],
            "http": [
                {
                    "match": [{"uri": {"prefix": ""}}],
                    "route": [
                        {**_to(subset="v1"), "weight": 100},
                        {**_to(subset="v2"), "weight": 0},
                    ],
                    "timeout": "1.5s",
                    "retries": {"attempts": 3, "retryOn": "5xx,503", "perTryTimeout": "2s"},
                },
                {"redirect": {"uri": "/"}},
            ],
            "tls": [{"match": [{"sniHosts": ["api.example.com"]}], "route": [_to()]}],
            "tcp": [{"route": [_to(port={"number": 65535})]}],
        },
    ),
    (VS, {"hosts": [], "http": [{"route": [_to()]}]}),  # a delegate
    (VS, {"hosts": ["*"], "gateways": ["istio-system/ingress"], "http": [{"route": [_to()]}]}),
    (
        SE,
        {
            "hosts": ["api.example.com"],
            "ports": [{"number": 443, "name": "https", "protocol": "TLS"}],
            "resolution": "DNS",
        },
    ),
    (SC, {"egress": [{"hosts": ["./*", "istio-system/*"]}]}),
]


@pytest.mark.parametrize(("kind", "spec"), ACCEPTED)
def test_the_webhook_accepts(kind, spec):
    assert [(format_path(i.path), i.message) for i in webhook.validate(kind, spec, "shop")] == []


def test_consecutive_errors_is_ignored_by_pilot_and_the_replacement_is_named():
    [issue] = webhook.validate(DR, _dr_policy(outlierDetection={"consecutiveErrors": 7}), "shop")
    assert not issue.fatal
    assert issue.code == webhook.IGNORED
    assert format_path(issue.path) == "spec.trafficPolicy.outlierDetection.consecutiveErrors"
    assert "consecutive5xxErrors: 7" in issue.message


@pytest.mark.parametrize(
    ("text", "ns"), [("0", 0), ("1ms", 10**6), ("1m30s", 90 * 10**9), ("1.5h", 5400 * 10**9)]
)
def test_go_durations_are_read(text, ns):
    assert webhook.duration_ns(text) == ns


def test_a_stored_resource_the_webhook_refuses_now_is_reported_and_still_in_force():
    # Live, pilot reads stored config without validating it again (pilot/pkg/config/kube/
    # crdclient): the VirtualService routes; the finding says applying it again fails.
    from meshtui.mesh.analysis import Mesh
    from meshtui.mesh.findings import Code
    from meshtui.mesh.resources import Origin, parse_object

    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "shop"},
        "spec": _vs(http=[{"route": [_to(subset="v1")], "timeout": "0s"}]),
    }
    parsed = parse_object(vs, Origin(cluster="prod"))
    assert parsed.meta.rejected is None
    mesh = Mesh(cluster="prod")
    mesh.load([parsed])
    analysis = mesh.analyze()
    [invalid] = [f for f in analysis.findings if f.code is Code.INVALID_RESOURCE]
    assert invalid.field == "spec.http[0].timeout"
    assert "stored in the cluster and pilot applies it as it is" in invalid.message
    assert any(r.subset == "v1" for h in analysis.hosts.values() for r in h.routes)


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ({"fixedDelay": "1s", "percent": 10}, "DeprecatedField", "write percentage: {value: 10}"),
        (
            {"fixedDelay": "1s", "percent": 10, "percentage": {"value": 5}},
            "IgnoredField",
            "is ignored: percentage is set",
        ),
    ],
)
def test_fault_delay_percent_is_deprecated_and_ignored_beside_percentage(fault, code, words):
    # pilot/pkg/networking/core/route/route.go TranslateFault: percent counts only without
    # percentage (the issue said pilot ignores it: it reads it then).
    spec = _vs(http=[{"route": [_to()], "fault": {"delay": fault}}])
    [issue] = webhook.validate(VS, spec, "shop")
    assert (format_path(issue.path), issue.code) == ("spec.http[0].fault.delay.percent", code)
    assert words in issue.message
