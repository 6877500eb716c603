"""Gateway API mesh routes in the routing table, case by case from pilot's rules
(pilot/pkg/config/kube/gateway route_collections.go, conversion.go; route.go
buildSidecarVirtualHostsForVirtualService; push_context.go / virtualservice.go ordering)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.findings import Code
from meshtui.mesh.trace import Client, trace
from tests.helpers import build_mesh, dest, dr, parse, route, service, subset, svc_host, vs

REVIEWS = svc_host("reviews", "shop")
GROUP = "gateway.networking.k8s.io/v1"


def httproute(
    name: str,
    namespace: str,
    rules: list[dict[str, Any]],
    *,
    parent: str = "reviews",
    parent_namespace: str | None = "shop",
    port: int | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    ref: dict[str, Any] = {"group": "", "kind": "Service", "name": parent}
    if parent_namespace:
        ref["namespace"] = parent_namespace
    if port is not None:
        ref["port"] = port
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if created:
        meta["creationTimestamp"] = created
    return {
        "apiVersion": GROUP,
        "kind": "HTTPRoute",
        "metadata": meta,
        "spec": {"parentRefs": [ref], "rules": rules},
    }


def backend(name: str, weight: int | None = None, namespace: str = "shop") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "namespace": namespace, "port": 9080}
    if weight is not None:
        out["weight"] = weight
    return out


def svc(name: str, namespace: str = "shop") -> dict[str, Any]:
    return service(name, namespace=namespace, ports=(9080,))


def live(mesh, host: str = REVIEWS):
    return mesh.table.routes_to(host).live


def go(mesh, namespace: str, path: str = "/", host: str = REVIEWS, **kw):
    return trace(mesh, Client(namespace), host, 9080, path=path, **kw)


def test_a_producer_route_is_used_by_every_client():
    mesh = build_mesh(
        svc("reviews"),
        svc("reviews-v1"),
        httproute("r", "shop", [{"backendRefs": [backend("reviews-v1")]}]),
    )
    [r] = live(mesh, svc_host("reviews-v1", "shop"))
    assert r.clients == ClientSet.all() and r.subset == "" and r.weight == 100
    assert str(r.written_in) == "HTTPRoute shop/r"
    assert go(mesh, "anywhere").destinations[0].host == svc_host("reviews-v1", "shop")


def test_a_consumer_route_is_used_only_by_clients_of_its_namespace():
    mesh = build_mesh(
        svc("reviews"),
        svc("reviews-v1"),
        httproute("r", "front", [{"backendRefs": [backend("reviews-v1")]}]),
    )
    [r] = live(mesh, svc_host("reviews-v1", "shop"))
    assert r.clients == ClientSet.of(["front"])
    assert go(mesh, "front").destinations[0].host == svc_host("reviews-v1", "shop")
    assert go(mesh, "other").virtual_service is None  # default route to the Service


def test_an_httproute_of_the_clients_namespace_beats_an_older_public_virtual_service():
    older = vs(
        "reviews",
        ["reviews"],
        namespace="shop",
        http=[route(dest("reviews", "v1"))],
        created="2020-01-01T00:00:00Z",
    )
    mesh = build_mesh(
        svc("reviews"),
        svc("reviews-v2"),
        dr("reviews", "reviews", namespace="shop", subsets=[subset("v1")]),
        older,
        httproute(
            "r", "shop", [{"backendRefs": [backend("reviews-v2")]}], created="2024-01-01T00:00:00Z"
        ),
    )
    # A producer route: for clients in shop it comes first; elsewhere the older VS wins.
    [gw] = live(mesh, svc_host("reviews-v2", "shop"))
    assert gw.clients == ClientSet.of(["shop"])
    [native] = live(mesh)
    assert native.subset == "v1" and native.clients == ClientSet(True, frozenset({"shop"}))


def test_an_older_producer_route_beats_a_newer_public_virtual_service_everywhere():
    newer = vs(
        "reviews",
        ["reviews"],
        namespace="shop",
        http=[route(dest("reviews", "v1"))],
        created="2025-01-01T00:00:00Z",
    )
    mesh = build_mesh(
        svc("reviews"),
        svc("reviews-v2"),
        dr("reviews", "reviews", namespace="shop", subsets=[subset("v1")]),
        newer,
        httproute(
            "r", "shop", [{"backendRefs": [backend("reviews-v2")]}], created="2020-01-01T00:00:00Z"
        ),
    )
    [gw] = live(mesh, svc_host("reviews-v2", "shop"))
    assert gw.clients == ClientSet.all()
    assert live(mesh) == ()
    assert go(mesh, "anywhere").destinations[0].host == svc_host("reviews-v2", "shop")


def test_backends_default_to_weight_one_and_weight_zero_is_dropped():
    mesh = build_mesh(
        svc("reviews"),
        svc("a"),
        svc("b"),
        svc("c"),
        httproute("r", "shop", [{"backendRefs": [backend("a"), backend("b"), backend("c", 0)]}]),
    )
    assert [r.weight for r in live(mesh, svc_host("a", "shop"))] == [50]
    assert [r.weight for r in live(mesh, svc_host("b", "shop"))] == [50]
    assert not mesh.routes.routes_to(svc_host("c", "shop"))
    hops = go(mesh, "shop").destinations
    assert sorted((h.host, h.weight) for h in hops) == [
        (svc_host("a", "shop"), 50),
        (svc_host("b", "shop"), 50),
    ]


def test_all_backends_at_weight_zero_answer_500():
    mesh = build_mesh(
        svc("reviews"), svc("a"), httproute("r", "shop", [{"backendRefs": [backend("a", 0)]}])
    )
    t = go(mesh, "shop")
    assert t.destinations == () or list(t.destinations) == []
    assert t.actions["directResponse"] == {"status": 500}


def test_routes_of_one_namespace_on_one_parent_merge_in_gateway_api_precedence():
    # The older route's prefix rule is written first, yet the newer route's exact match wins:
    # pilot concatenates the rules, oldest route first, then sorts them (sortHTTPRoutes).
    prefix = {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}]}
    exact = {"matches": [{"path": {"type": "Exact", "value": "/api/v2"}}]}
    mesh = build_mesh(
        svc("reviews"),
        svc("a"),
        svc("b"),
        httproute(
            "old",
            "shop",
            [{**prefix, "backendRefs": [backend("a")]}],
            created="2020-01-01T00:00:00Z",
        ),
        httproute(
            "new",
            "shop",
            [{**exact, "backendRefs": [backend("b")]}],
            created="2024-01-01T00:00:00Z",
        ),
    )
    t = go(mesh, "shop", "/api/v2")
    assert [h.host for h in t.destinations] == [svc_host("b", "shop")]
    # The trace names the rule as written, not its place in the generated VirtualService.
    assert (str(t.written_in), t.rule, t.skipped) == ("HTTPRoute shop/new", "rules[0]", ())
    other = go(mesh, "shop", "/api/v1")
    assert [h.host for h in other.destinations] == [svc_host("a", "shop")]
    assert [(str(s.written_in), s.rule) for s in other.skipped] == [
        ("HTTPRoute shop/new", "rules[0]")
    ]
    # Both live routes belong to one generated VirtualService, written in their own routes.
    [a] = live(mesh, svc_host("a", "shop"))
    [b] = live(mesh, svc_host("b", "shop"))
    assert a.virtual_service == b.virtual_service
    assert (str(a.written_in), str(b.written_in)) == ("HTTPRoute shop/old", "HTTPRoute shop/new")


def test_a_rule_with_two_matches_is_two_routes_and_prefix_matches_whole_segments():
    rule = {
        "matches": [
            {"path": {"type": "PathPrefix", "value": "/api/"}},
            {"headers": [{"name": "X-Beta", "value": "1"}]},
        ],
        "backendRefs": [backend("a")],
    }
    mesh = build_mesh(svc("reviews"), svc("a"), httproute("r", "shop", [rule]))
    assert len(live(mesh, svc_host("a", "shop"))) == 2
    assert go(mesh, "shop", "/api").destinations[0].host == svc_host("a", "shop")
    assert go(mesh, "shop", "/api/x").destinations[0].host == svc_host("a", "shop")
    # /apix is not under the /api segment (Envoy's path_separated_prefix): no rule matches.
    miss = go(mesh, "shop", "/apix")
    assert miss.destinations == () and "404" in miss.problems[0]
    hit = go(mesh, "shop", "/other", headers={"x-beta": "1"})
    assert hit.destinations[0].host == svc_host("a", "shop")


def test_a_parent_port_adds_a_port_match():
    mesh = build_mesh(
        service("reviews", namespace="shop", ports=(9080, 9090)),
        svc("a"),
        httproute("r", "shop", [{"backendRefs": [backend("a")]}], port=9090),
    )
    assert trace(mesh, Client("shop"), REVIEWS, 9090).destinations[0].host == svc_host("a", "shop")
    assert trace(mesh, Client("shop"), REVIEWS, 9080).virtual_service is None


def test_a_subset_policy_is_never_applied_for_the_clients_of_a_gateway_api_route():
    policy = {"outlierDetection": {"consecutive5xxErrors": 3}}
    mesh = build_mesh(
        svc("reviews"),
        dr("reviews", "reviews", namespace="shop", subsets=[subset("v1", policy=policy)]),
        httproute("r", "shop", [{"backendRefs": [backend("reviews")]}]),
    )
    # No client reaches v1 at all: one finding, SubsetPolicyNeverApplied, naming the HTTPRoute
    # (SubsetPolicyBypassedByGatewayRoute is for a subset others still reach).
    findings = mesh.analyze().findings
    assert not [f for f in findings if f.code is Code.SUBSET_POLICY_BYPASSED]
    [found] = [f for f in findings if f.code is Code.SUBSET_POLICY_NEVER_APPLIED]
    assert found.subset == "v1" and found.clients == ClientSet.all()
    assert "HTTPRoute shop/r sends the host's traffic to the whole service" in found.message
    assert "Gateway API backends never name a subset" in found.message
    [hop] = go(mesh, "shop").destinations
    assert hop.subset == "" and "outlierDetection" not in hop.policy.as_dict()


def test_a_missing_parent_service_drops_the_route_with_a_finding():
    mesh = build_mesh(svc("a"), httproute("r", "shop", [{"backendRefs": [backend("a")]}]))
    assert not mesh.routes.routes_to(svc_host("a", "shop"))
    [f] = [f for f in mesh.analyze().findings if f.code is Code.ROUTE_PARENT_NOT_FOUND]
    assert "parent Service shop/reviews does not exist" in f.message
    assert f.path == ("spec", "parentRefs", 0)


def test_a_missing_backend_service_is_a_finding():
    mesh = build_mesh(svc("reviews"), httproute("r", "shop", [{"backendRefs": [backend("gone")]}]))
    [f] = [f for f in mesh.analyze().findings if f.code is Code.BACKEND_NOT_FOUND]
    assert "backend Service shop/gone does not exist" in f.message
    assert f.path == ("spec", "rules", 0, "backendRefs", 0)


def test_a_live_change_to_the_route_reroutes_the_host():
    mesh = build_mesh(svc("reviews"), svc("a"), svc("b"))

    mesh.add(parse(httproute("r", "shop", [{"backendRefs": [backend("a")]}])))
    assert go(mesh, "x").destinations[0].host == svc_host("a", "shop")
    changed = mesh.add(parse(httproute("r", "shop", [{"backendRefs": [backend("b")]}])))
    assert svc_host("b", "shop") in changed
    assert go(mesh, "x").destinations[0].host == svc_host("b", "shop")
    mesh.remove(parse(httproute("r", "shop", [])).meta.ref)
    assert go(mesh, "x").virtual_service is None


def test_a_grpcroute_method_match_routes_that_grpc_path():
    grpc = {
        "apiVersion": GROUP,
        "kind": "GRPCRoute",
        "metadata": {"name": "g", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "reviews"}],
            "rules": [
                {
                    "matches": [{"method": {"service": "shop.Reviews", "method": "Get"}}],
                    "backendRefs": [backend("a")],
                }
            ],
        },
    }
    mesh = build_mesh(svc("reviews"), svc("a"), grpc)
    hit = go(mesh, "shop", "/shop.Reviews/Get", method="POST")
    assert [h.host for h in hit.destinations] == [svc_host("a", "shop")]
    assert go(mesh, "shop", "/shop.Reviews/List", method="POST").destinations == ()


def test_a_tcproute_routes_the_services_tcp_port():
    tcp_service = service("db", namespace="shop", ports=(5432,))
    tcp_service["spec"]["ports"][0]["name"] = "tcp-postgres"
    tcp = {
        "apiVersion": "gateway.networking.k8s.io/v1alpha2",
        "kind": "TCPRoute",
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "db"}],
            "rules": [{"backendRefs": [{"name": "db-v2", "port": 5432}]}],
        },
    }
    mesh = build_mesh(tcp_service, service("db-v2", namespace="shop", ports=(5432,)), tcp)
    [r] = mesh.table.routes_to(svc_host("db-v2", "shop")).live
    assert (r.kind, r.clients, str(r.written_in)) == ("tcp", ClientSet.all(), "TCPRoute shop/db")
    t = trace(mesh, Client("shop"), svc_host("db", "shop"), 5432)
    assert [h.host for h in t.destinations] == [svc_host("db-v2", "shop")]


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=6))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["name", "namespace", "kind", "group", "port", "weight", "path", "type",
                 "value", "headers", "matches", "backendRefs", "filters", "method"]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "Gateway"]),
    spec=st.dictionaries(
        st.sampled_from(["parentRefs", "rules", "hostnames", "listeners"]), _VALUES, max_size=3
    ),
)
def test_no_gateway_api_object_makes_the_core_raise(kind, spec):
    from meshtui.mesh.analysis import Mesh
    from meshtui.mesh.resources import InvalidField, Origin, parse_object

    obj = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "shop"},
        "spec": spec,
    }
    parsed = parse_object(obj, Origin(file="x.yaml", line=1))
    mesh = Mesh()
    mesh.load([parse(svc("reviews"))])
    if parsed is not None and not isinstance(parsed, InvalidField):
        mesh.add(parsed)
    mesh.analyze()


def test_a_serviceentry_parent_routes_each_of_its_hosts():
    from tests.helpers import service_entry

    route = httproute(
        "ext",
        "shop",
        [
            {
                "backendRefs": [
                    {
                        "group": "networking.istio.io",
                        "kind": "Hostname",
                        "name": "b.example.com",
                        "port": 443,
                    }
                ]
            }
        ],
    )
    route["spec"]["parentRefs"] = [
        {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "ext"}
    ]
    entries = [
        service_entry("ext", ["a.example.com"], namespace="shop", ports=(443,)),
        service_entry("b", ["b.example.com"], namespace="shop", ports=(443,)),
    ]
    for e in entries:  # HTTP on the port: an HTTPRoute builds http rules only
        e["spec"]["ports"][0]["protocol"] = "HTTP"
    mesh = build_mesh(*entries, route)
    [r] = mesh.table.routes_to("b.example.com").live
    assert (str(r.written_in), r.clients) == ("HTTPRoute shop/ext", ClientSet.all())
    t = trace(mesh, Client("shop"), "a.example.com", 443)
    assert [h.host for h in t.destinations] == ["b.example.com"]


def test_a_tlsroute_routes_the_services_tls_port_by_sni():
    tls_service = service("secure", namespace="shop", ports=(443,))
    tls_service["spec"]["ports"][0]["name"] = "tls"
    tls = {
        "apiVersion": "gateway.networking.k8s.io/v1alpha2",
        "kind": "TLSRoute",
        "metadata": {"name": "secure", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"group": "", "kind": "Service", "name": "secure"}],
            "hostnames": ["secure.shop.svc.cluster.local"],
            "rules": [{"backendRefs": [{"name": "secure-v2", "port": 443}]}],
        },
    }
    mesh = build_mesh(tls_service, service("secure-v2", namespace="shop", ports=(443,)), tls)
    [r] = mesh.table.routes_to(svc_host("secure-v2", "shop")).live
    assert (r.kind, str(r.written_in)) == ("tls", "TLSRoute shop/secure")
    assert r.matches == ({"sniHosts": ["secure.shop.svc.cluster.local"]},)


def test_a_route_carries_the_controllers_conditions_for_its_own_parent_only():
    # status.parents[] names each parent as the spec's parentRef does (namespace defaulted to
    # the route's); a status for another port of the Service is another parent's.
    route_obj = httproute("r", "shop", [{"backendRefs": [backend("a")]}], port=9080)

    def status(port: int, reason: str) -> dict[str, Any]:
        return {
            "parentRef": {"group": "", "kind": "Service", "name": "reviews", "port": port},
            "controllerName": "istio.io/gateway-controller",
            "conditions": [
                {"type": "Accepted", "status": "True", "reason": "Accepted"},
                {"type": "ResolvedRefs", "status": "False", "reason": reason},
                {"type": "Programmed", "status": "True", "reason": "Programmed"},
            ],
        }

    route_obj["status"] = {"parents": [status(8080, "Other"), status(9080, "BackendNotFound")]}
    mesh = build_mesh(svc("reviews"), svc("a"), route_obj)
    [r] = live(mesh, svc_host("a", "shop"))
    assert r.conditions == (
        ("Accepted", "True", "Accepted"),
        ("ResolvedRefs", "False", "BackendNotFound"),
    )
    # Without a status (files usually hold none), nothing is claimed.
    mesh = build_mesh(
        svc("reviews"), svc("a"), httproute("r", "shop", [{"backendRefs": [backend("a")]}])
    )
    [r] = live(mesh, svc_host("a", "shop"))
    assert r.conditions == ()


def test_a_rule_without_matches_is_the_crds_path_prefix_and_sorts_before_a_regex_path():
    # The HTTPRoute CRD defaults a rule's matches to `path: {type: PathPrefix, value: /}`, so
    # pilot never sees a rule without match: sortHTTPRoutes puts that prefix (rank 2) before a
    # RegularExpression path (rank 1), and the regex rule of the newer route gets nothing.
    regex = {"matches": [{"path": {"type": "RegularExpression", "value": "/api/.*"}}]}
    mesh = build_mesh(
        svc("reviews"),
        svc("a"),
        svc("b"),
        httproute("old", "shop", [{"backendRefs": [backend("a")]}], created="2020-01-01T00:00:00Z"),
        httproute(
            "new",
            "shop",
            [{**regex, "backendRefs": [backend("b")]}],
            created="2024-01-01T00:00:00Z",
        ),
    )
    t = go(mesh, "shop", "/api/x")
    assert [h.host for h in t.destinations] == [svc_host("a", "shop")]
    assert (str(t.written_in), t.rule) == ("HTTPRoute shop/old", "rules[0]")
    # A match with headers only gets the default path too, and is summarised without it.
    header_only = {"matches": [{"headers": [{"name": "x-canary", "value": "1"}]}]}
    mesh = build_mesh(
        svc("reviews"),
        svc("a"),
        httproute("r", "shop", [{**header_only, "backendRefs": [backend("a")]}]),
    )
    [r] = live(mesh, svc_host("a", "shop"))
    assert r.match == "header x-canary"
    assert r.matches[0]["uri"] == {"prefix": "/", "pathSeparated": True}
