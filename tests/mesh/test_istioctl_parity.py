"""The situations of istioctl analyze's own analyzer tests, as meshes written here.

Istio's tests (pkg/config/analysis/analyzers/analyzers_test.go with testdata/
virtualservice_conflictingmeshgatewayhosts*.yaml, virtualservice_dupmatches.yaml,
virtualservice_overlappingmatches.yaml, virtualservice_route_rule_no_effects_ingress.yaml) run
one analyzer and expect an exact set of (message code, resource). meshtui runs every check, so
the comparison is per istioctl code: the resources meshtui reports under that code.
"""

from __future__ import annotations

from collections import Counter

from meshtui.mesh.analysis import Analysis
from meshtui.mesh.findings import Code
from tests.helpers import analyze, dest, dr, gateway, route, service, subset, vs


def reported(analysis: Analysis, istio: str) -> set[str]:
    return {
        f.resource.namespaced_name
        for f in analysis.findings
        if f.istio == istio and f.resource is not None
    }


def to(host: str) -> dict:
    return route(dest(host))


# -- IST0109 ConflictingMeshGatewayVirtualServiceHosts ----------------------------------------


def sharing_a_host() -> Analysis:
    """istioctl's virtualServiceConflictingMeshGatewayHosts case, restated."""
    return analyze(
        # Two public mesh VSs for one short host in one namespace: both reported.
        vs("page", ["page"], namespace="foo", http=[to("page")]),
        vs("page-copy", ["page"], namespace="foo", http=[to("page")]),
        # Alone on its host: nothing.
        vs("notes", ["notes"], namespace="foo", http=[to("notes")]),
        # Same host, but bound to a gateway only: no conflict with foo/notes.
        vs(
            "notes",
            ["notes.foo.svc.cluster.local"],
            namespace="bar",
            gateways=["ingress"],
            http=[to("notes.foo.svc.cluster.local")],
        ),
        # `mesh` named explicitly, and a FQDN naming the same host: both reported.
        vs("stars", ["stars"], namespace="foo", gateways=["mesh"], http=[to("stars")]),
        vs(
            "stars",
            ["stars.foo.svc.cluster.local", "example.com"],
            namespace="bar",
            gateways=["ingress", "mesh"],
            http=[to("stars.foo.svc.cluster.local")],
        ),
        # Each exported only to its own namespace: no client sees both.
        vs("stars", ["stars"], namespace="t1", export_to=["."], http=[to("stars")]),
        vs(
            "stars",
            ["stars.t1.svc.cluster.local", "example.com"],
            namespace="t2",
            export_to=["."],
            gateways=["ingress", "mesh"],
            http=[to("stars.t1.svc.cluster.local")],
        ),
        # Exported to all explicitly, and public by default: both reported.
        vs("stars", ["stars"], namespace="t3", export_to=["*"], http=[to("stars")]),
        vs(
            "stars",
            ["stars.t3.svc.cluster.local"],
            namespace="t4",
            gateways=["ingress", "mesh"],
            http=[to("stars.t3.svc.cluster.local")],
        ),
    )


def test_ist0109_mesh_virtual_services_sharing_a_host():
    analysis = sharing_a_host()
    # t2/stars conflicts with the public bar/stars on example.com for clients in t2.
    assert reported(analysis, "IST0109") == {
        "foo/page",
        "foo/page-copy",
        "foo/stars",
        "bar/stars",
        "t2/stars",
        "t3/stars",
        "t4/stars",
    }


def test_ist0109_export_to_decides_who_sees_both():
    analysis = analyze(
        vs("p", ["*.page"], namespace="foo", http=[to("page.foo.svc.cluster.local")]),
        vs("p", ["*.page"], namespace="bar", http=[to("page.bar.svc.cluster.local")]),
        # foo's only to foo, bar's only to bar: never both for one client.
        vs("pb", ["*.page.b"], namespace="foo", export_to=["foo"], http=[to("b.foo")]),
        vs("pb", ["*.page.b"], namespace="bar", export_to=["."], http=[to("b.bar")]),
        # foo's to foo, bar's to all: clients in foo see both.
        vs("pc", ["*.page.c"], namespace="foo", export_to=["foo"], http=[to("c.foo")]),
        vs("pc", ["*.page.c"], namespace="bar", export_to=["*"], http=[to("c.bar")]),
    )
    assert reported(analysis, "IST0109") == {"foo/p", "bar/p", "foo/pc", "bar/pc"}


def test_ist0109_one_report_per_virtual_service():
    # bar/stars shares stars.foo with foo/stars and example.com with t2/stars: one finding
    # (as istioctl's analyzer reports each VirtualService once) naming both hosts.
    analysis = sharing_a_host()
    said = Counter(
        f.resource.namespaced_name for f in analysis.findings if f.istio == "IST0109" and f.resource
    )
    assert set(said.values()) == {1}
    [bar] = [
        f
        for f in analysis.findings
        if f.istio == "IST0109" and f.resource.name == "stars" and f.resource.namespace == "bar"
    ]
    assert "stars.foo.svc.cluster.local" in bar.message and "example.com" in bar.message
    # One of the two is a conflict decided by creation time: the finding is an error.
    assert bar.code is Code.CONFLICTING_VIRTUAL_SERVICES


def test_ist0109_a_scoped_wildcard_narrowing_a_public_one():
    # virtualServiceConflictingMeshGatewayHostsWithExportTo's productpage-d: `*.page.d` of
    # foo, exported to foo only, under bar's public `*.d`. Foo's sidecars build both virtual
    # hosts and the more specific domain takes the names under *.page.d: an override for foo.
    analysis = analyze(
        vs("pd", ["*.page.d"], namespace="foo", export_to=["."], http=[to("d.foo")]),
        vs("pd", ["*.d"], namespace="bar", export_to=["*"], http=[to("d.bar")]),
        # Both public: the most specific host wins for everyone, as designed; no finding.
        vs("pe", ["*.page.e"], namespace="foo", http=[to("e.foo")]),
        vs("pe", ["*.e"], namespace="bar", http=[to("e.bar")]),
    )
    assert reported(analysis, "IST0109") == {"foo/pd", "bar/pd"}
    found = [f for f in analysis.findings if f.istio == "IST0109"]
    assert {f.code for f in found} == {Code.VIRTUAL_SERVICE_OVERRIDE}
    assert all(f.clients.names == {"foo"} and not f.clients.everyone for f in found)


# -- IST0130 VirtualServiceUnreachableRule / IST0131 VirtualServiceIneffectiveMatch ---------


def test_ist0130_and_ist0131_duplicate_and_catch_all_rules():
    uri = {"uri": {"prefix": "/api"}}
    analysis = analyze(
        service("svc"),
        # The second rule repeats the first's only match: unreachable, and that match ineffective.
        vs("dup", ["svc"], http=[route(dest("svc"), match=[uri]), route(dest("svc"), match=[uri])]),
        # One of two matches repeats: only that match is ineffective.
        vs(
            "almost",
            ["svc"],
            http=[
                route(dest("svc"), match=[uri]),
                route(dest("svc"), match=[uri, {"uri": {"prefix": "/other"}}]),
            ],
        ),
        # After a rule without match, nothing is reached.
        vs("after-catch-all", ["svc"], http=[route(dest("svc")), route(dest("svc"), match=[uri])]),
        # Two rules without match: the second never matches (TCP).
        vs("tcp-twice", ["svc"], tcp=[route(dest("svc")), route(dest("svc"))]),
        # A TCP rule repeating the port match of an earlier one.
        vs(
            "tcp-dup",
            ["svc"],
            tcp=[
                route(dest("svc"), match=[{"port": 80}]),
                route(dest("svc"), match=[{"port": 80}]),
            ],
        ),
    )
    assert reported(analysis, "IST0130") == {
        "default/dup",
        "default/after-catch-all",
        "default/tcp-twice",
        "default/tcp-dup",
    }
    assert reported(analysis, "IST0131") == {"default/dup", "default/almost", "default/tcp-dup"}


def test_ist0131_prefix_overlaps_as_istio_judges_them():
    get = {"method": {"exact": "GET"}}
    analysis = analyze(
        service("svc"),
        # A longer prefix after a shorter one without method, in one rule.
        vs(
            "in-one-rule",
            ["svc"],
            http=[
                route(
                    dest("svc"),
                    match=[
                        {"uri": {"prefix": "/v1/item"}},
                        {"uri": {"prefix": "/v1/items"}, **get},
                    ],
                )
            ],
        ),
        # The same, over two rules: the second rule's only match is covered.
        vs(
            "two-rules",
            ["svc"],
            http=[
                route(dest("svc"), match=[{"uri": {"prefix": "/v1/item"}, **get}]),
                route(dest("svc", "v1"), match=[{"uri": {"prefix": "/v1/items"}, **get}]),
            ],
        ),
        # A different method is not covered.
        vs(
            "methods",
            ["svc"],
            http=[
                route(dest("svc"), match=[{"uri": {"prefix": "/v1/i"}, **get}]),
                route(
                    dest("svc"),
                    match=[
                        {"uri": {"prefix": "/v1/item"}, **get},
                        {"uri": {"prefix": "/v1/items"}, "method": {"exact": "POST"}},
                    ],
                ),
            ],
        ),
        # An exact uri is never compared with prefixes (as in Istio): nothing reported.
        vs(
            "exact",
            ["svc"],
            http=[route(dest("svc"), match=[{"uri": {"prefix": "/"}}, {"uri": {"exact": "/"}}])],
        ),
    )
    assert reported(analysis, "IST0131") == {
        "default/in-one-rule",
        "default/two-rules",
        "default/methods",
    }
    # istioctl reports the covered rule of "two-rules" as IST0131 only; meshtui also says the
    # rule is unreachable, under its own code and without an istioctl code.
    assert reported(analysis, "IST0130") == set()
    unreachable = [f for f in analysis.findings if f.code.value == "UnreachableRule"]
    assert [(f.resource.name, f.path, f.istio) for f in unreachable] == [
        ("two-rules", ("spec", "http", 1), None)
    ]


# -- IST0140 IngressRouteRulesNotAffected -----------------------------------------------------


def test_ist0140_gateway_route_without_subset():
    analysis = analyze(
        service("ratings"),
        dr("ratings", "ratings", subsets=[subset("v1")]),
        gateway("gw-one", ["one.example.com"], namespace="istio-system"),
        gateway("gw-two", ["two.example.com"], namespace="istio-system"),
        vs(
            "one",
            ["one.example.com"],
            gateways=["istio-system/gw-one"],
            http=[route(dest("ratings"))],
        ),
        vs(
            "two",
            ["two.example.com"],
            gateways=["istio-system/gw-two"],
            http=[route(dest("ratings", "v1"))],
        ),
        vs("ratings", ["ratings"], http=[route(dest("ratings", "v1"))]),
    )
    assert reported(analysis, "IST0140") == {"default/one"}
