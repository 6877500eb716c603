"""Request traces: the rule, destinations, DestinationRule, policy and pods pilot gives one
request, and the problems that make it fail."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.mesh.policy import effective_policy
from meshtui.mesh.resources import ObjectRef
from meshtui.mesh.trace import Client, find_workload, target_host, trace
from tests.helpers import (
    build_mesh,
    deployment,
    dest,
    dr,
    port_policy,
    route,
    service,
    subset,
    svc_host,
    vs,
)

REVIEWS = svc_host("reviews", "shop")
RATINGS = svc_host("ratings", "shop")


def gateway(name: str, namespace: str, hosts: list[str], port: int = 80) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {"port": {"number": port, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
            ],
        },
    }


def shop(*extra: dict):
    """reviews (v1, v2) and ratings in namespace shop, with a DR defining v1 and v2."""
    return build_mesh(
        service("reviews", namespace="shop", ports=(9080,)),
        service("ratings", namespace="shop", ports=(9080,)),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}, namespace="shop"),
        deployment("reviews-v2", {"app": "reviews", "version": "v2"}, namespace="shop"),
        deployment("ratings-v1", {"app": "ratings", "version": "v1"}, namespace="shop"),
        dr("reviews", "reviews", namespace="shop", subsets=[subset("v1"), subset("v2")]),
        *extra,
    )


def names(workloads) -> list[str]:
    return [w.meta.ref.name for w in workloads]


# -- rule order and weights ----------------------------------------------------------------------


def test_first_matching_rule_wins_and_earlier_rules_say_why_not():
    mesh = shop(
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            http=[
                route(
                    dest("reviews", "v2"),
                    name="jason",
                    match=[{"headers": {"end-user": {"exact": "jason"}}}],
                ),
                route(dest("reviews", "v1"), name="api", match=[{"uri": {"prefix": "/api"}}]),
                route(dest("reviews", "v2"), name="rest"),
            ],
        )
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080, path="/api/items")

    assert t.virtual_service == ObjectRef("VirtualService", "shop", "reviews")
    assert (t.rule, t.rule_name) == ("http[1]", "api")
    assert [(s.rule, s.why) for s in t.skipped] == [
        ("http[0]", "header end-user: exact 'jason' wanted, the request has no end-user header")
    ]
    assert [(d.subset, d.weight, names(d.workloads)) for d in t.destinations] == [
        ("v1", 100, ["reviews-v1"])
    ]
    assert t.problems == ()

    jason = trace(mesh, Client("shop"), REVIEWS, 9080, path="/api", headers={"End-User": "jason"})
    assert jason.rule == "http[0]"
    assert jason.skipped == ()


def test_weights_split_the_rule_and_weight_zero_is_shown_but_not_checked():
    mesh = shop(
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            http=[
                route(
                    dest("reviews", "v1", weight=3),
                    dest("reviews", "v2", weight=1),
                    dest("reviews", "v9", weight=0),
                )
            ],
        )
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080)

    assert [(d.subset, d.weight) for d in t.destinations] == [("v1", 75), ("v2", 25), ("v9", 0)]
    assert t.problems == ()  # v9 is undefined, but pilot drops a weight-0 destination


def test_rule_actions_and_mirror_are_reported():
    mesh = shop(
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            http=[
                route(
                    dest("reviews", "v1"),
                    timeout="2s",
                    retries={"attempts": 3},
                    fault={"delay": {"fixedDelay": "1s", "percentage": {"value": 10}}},
                    mirror={"host": "reviews", "subset": "v2"},
                    mirrorPercentage={"value": 5},
                )
            ],
        )
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080)

    assert t.actions["timeout"] == "2s"
    assert t.actions["retries"] == {"attempts": 3}
    assert "delay" in t.actions["fault"]
    assert [(m.subset, m.weight, names(m.workloads)) for m in t.mirrors] == [
        ("v2", 5, ["reviews-v2"])
    ]


def test_source_labels_use_the_named_workloads_labels():
    mesh = shop(
        deployment("web", {"app": "web"}, namespace="shop"),
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            http=[
                route(dest("reviews", "v2"), match=[{"sourceLabels": {"app": "web"}}]),
                route(dest("reviews", "v1")),
            ],
        ),
    )
    web = find_workload(mesh, "shop", "web")
    assert web is not None

    assert trace(mesh, Client("shop", web), REVIEWS, 9080).destinations[0].subset == "v2"
    anonymous = trace(mesh, Client("shop"), REVIEWS, 9080)
    assert anonymous.destinations[0].subset == "v1"
    assert "client's labels are not known" in anonymous.skipped[0].why


# -- which VirtualService ------------------------------------------------------------------------


def test_no_virtual_service_is_the_default_route_with_the_host_policy():
    mesh = shop(dr("ratings", "ratings", namespace="shop", policy={"tls": {"mode": "DISABLE"}}))
    t = trace(mesh, Client("web"), RATINGS, 9080)

    assert t.default_route
    assert (t.virtual_service, t.rule) == (None, None)
    [hop] = t.destinations
    assert (hop.host, hop.subset, hop.weight) == (RATINGS, "", 100)
    assert hop.policy.as_dict() == {"tls": {"mode": "DISABLE"}}
    assert hop.policy.origins() == {"tls": "host"}
    assert names(hop.workloads) == ["ratings-v1"]


def test_a_private_virtual_service_wins_for_its_own_namespace_only():
    mesh = shop(
        vs(
            "public",
            ["reviews.shop.svc.cluster.local"],
            namespace="shop",
            http=[route(dest("reviews", "v1"))],
        ),
        vs(
            "mine",
            ["reviews.shop.svc.cluster.local"],
            namespace="web",
            export_to=["."],
            http=[route(dest("reviews.shop.svc.cluster.local", "v2"))],
        ),
    )
    assert trace(mesh, Client("web"), REVIEWS, 9080).virtual_service.name == "mine"
    assert trace(mesh, Client("other"), REVIEWS, 9080).virtual_service.name == "public"
    for client in ("web", "other", "shop"):  # the same choice as the core's
        chosen = mesh.virtual_service_for(REVIEWS, client)
        assert trace(mesh, Client(client), REVIEWS, 9080).virtual_service == chosen.meta.ref


def test_a_virtual_service_not_exported_to_the_client_is_not_used():
    mesh = shop(
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            export_to=["."],
            http=[route(dest("reviews", "v2"))],
        ),
    )
    t = trace(mesh, Client("web"), REVIEWS, 9080)
    assert t.default_route


def test_short_target_hosts_resolve_from_the_client_namespace():
    mesh = shop()
    assert target_host(mesh, "reviews", "shop") == REVIEWS
    assert target_host(mesh, "reviews.shop", "web") == REVIEWS
    assert target_host(mesh, "reviews.shop.svc", "web") == REVIEWS
    assert target_host(mesh, "example.com", "web") == "example.com"


# -- delegates -----------------------------------------------------------------------------------


def test_delegate_rules_are_narrowed_by_the_root_rule():
    mesh = shop(
        vs(
            "root",
            ["reviews"],
            namespace="shop",
            http=[
                {
                    "match": [{"uri": {"prefix": "/api"}}],
                    "delegate": {"name": "reviews-api", "namespace": "team"},
                },
                route(dest("reviews", "v1"), name="rest"),
            ],
        ),
        vs(
            "reviews-api",
            None,
            namespace="team",
            http=[
                route(
                    dest("reviews.shop.svc.cluster.local", "v2"),
                    name="beta",
                    match=[{"uri": {"prefix": "/api/beta"}}],
                ),
                route(dest("reviews.shop.svc.cluster.local", "v1"), name="stable"),
            ],
        ),
    )
    beta = trace(mesh, Client("shop"), REVIEWS, 9080, path="/api/beta/x")
    assert (beta.rule, beta.delegate, beta.delegate_rule) == (
        "http[0]",
        ObjectRef("VirtualService", "team", "reviews-api"),
        "http[0]",
    )
    assert beta.destinations[0].subset == "v2"

    stable = trace(mesh, Client("shop"), REVIEWS, 9080, path="/api/v1")
    assert (stable.rule, stable.delegate_rule, stable.rule_name) == ("http[0]", "http[1]", "stable")
    assert "uri prefix '/api/beta' wanted" in stable.skipped[0].why

    # The delegate's catch-all still carries the root's /api condition.
    rest = trace(mesh, Client("shop"), REVIEWS, 9080, path="/home")
    assert (rest.rule, rest.rule_name, len(rest.skipped)) == ("http[1]", "rest", 2)


def test_a_missing_delegate_is_skipped_with_the_reason():
    mesh = shop(
        vs(
            "root",
            ["reviews"],
            namespace="shop",
            http=[
                {"delegate": {"name": "gone"}},
                route(dest("reviews", "v1")),
            ],
        ),
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080)
    assert t.rule == "http[1]"
    assert t.skipped[0].why == "delegate shop/gone does not exist"


def test_a_delegate_rule_that_conflicts_with_the_root_is_dropped():
    mesh = shop(
        vs(
            "root",
            ["reviews"],
            namespace="shop",
            http=[
                {"match": [{"uri": {"prefix": "/api"}}], "delegate": {"name": "child"}},
            ],
        ),
        vs(
            "child",
            None,
            namespace="shop",
            http=[
                route(dest("reviews", "v2"), match=[{"uri": {"prefix": "/other"}}]),
                route(dest("reviews", "v1")),
            ],
        ),
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080, path="/other")
    assert t.rule is None
    assert t.skipped[0].why == "its match conflicts with the root rule's match"
    assert any("matches the request" in p for p in t.problems)


# -- gateways ------------------------------------------------------------------------------------


def test_gateway_merges_every_virtual_service_bound_to_it_for_the_host():
    gw = ObjectRef("Gateway", "shop", "public")
    mesh = shop(
        gateway("public", "shop", ["*/shop.example.com"]),
        vs(
            "a-api",
            ["shop.example.com"],
            namespace="shop",
            gateways=["public"],
            http=[route(dest("ratings"), match=[{"uri": {"prefix": "/ratings"}}])],
        ),
        vs(
            "b-web",
            ["shop.example.com"],
            namespace="shop",
            gateways=["public"],
            http=[route(dest("reviews", "v1"))],
        ),
        vs(
            "mesh-only", ["shop.example.com"], namespace="shop", http=[route(dest("reviews", "v2"))]
        ),
    )
    client = Client("shop", gateway=gw)

    web = trace(mesh, client, "shop.example.com", 80, path="/")
    assert [r.name for r in web.merged] == ["a-api", "b-web"]
    assert (web.virtual_service.name, web.rule) == ("b-web", "http[0]")
    assert web.skipped[0].virtual_service.name == "a-api"
    assert web.destinations[0].subset == "v1"

    api = trace(mesh, client, "shop.example.com", 80, path="/ratings/1")
    assert (api.virtual_service.name, api.destinations[0].host) == ("a-api", RATINGS)


def test_gateway_prefers_the_exact_host_over_a_wildcard():
    gw = ObjectRef("Gateway", "shop", "public")
    mesh = shop(
        gateway("public", "shop", ["*"]),
        vs("any", ["*"], namespace="shop", gateways=["public"], http=[route(dest("ratings"))]),
        vs(
            "exact",
            ["shop.example.com"],
            namespace="shop",
            gateways=["shop/public"],
            http=[route(dest("reviews", "v1"))],
        ),
    )
    t = trace(mesh, Client("shop", gateway=gw), "shop.example.com", 80)
    assert [r.name for r in t.merged] == ["exact"]


def test_gateway_problems_unknown_gateway_host_not_served_and_no_route():
    gw = ObjectRef("Gateway", "shop", "public")
    mesh = shop(gateway("public", "shop", ["*/shop.example.com"]))
    t = trace(mesh, Client("shop", gateway=gw), "other.example.com", 80)
    assert any("has no server for other.example.com on port 80" in p for p in t.problems)
    assert any("no VirtualService bound to gateway shop/public" in p for p in t.problems)

    missing = trace(mesh, Client("shop", gateway=ObjectRef("Gateway", "x", "y")), "a", 80)
    assert any("there is no Gateway x/y" in p for p in missing.problems)


# -- DestinationRules and policies ---------------------------------------------------------------


def test_the_client_namespace_destination_rule_wins_for_that_client():
    mesh = shop(
        dr(
            "reviews-web",
            "reviews.shop.svc.cluster.local",
            namespace="web",
            subsets=[subset("v1", policy={"loadBalancer": {"simple": "RANDOM"}})],
        ),
        vs("reviews", ["reviews"], namespace="shop", http=[route(dest("reviews", "v1"))]),
    )
    web = trace(mesh, Client("web"), REVIEWS, 9080).destinations[0]
    assert web.destination_rule.meta.ref.namespaced_name == "web/reviews-web"
    assert web.policy.as_dict() == {"loadBalancer": {"simple": "RANDOM"}}

    other = trace(mesh, Client("other"), REVIEWS, 9080).destinations[0]
    assert other.destination_rule.meta.ref.namespaced_name == "shop/reviews"
    assert other.policy.as_dict() == {}


def test_a_workload_selector_rule_applies_to_the_workloads_it_selects_only():
    """sidecar.go SidecarScope.DestinationRule: a DR of the client's own namespace whose
    workloadSelector selects the proxy's labels comes before the namespace's catch-all."""
    random = {"loadBalancer": {"simple": "RANDOM"}}
    least = {"loadBalancer": {"simple": "LEAST_REQUEST"}}
    mesh = shop(
        deployment("canary", {"app": "web", "track": "canary"}, namespace="web"),
        deployment("stable", {"app": "web", "track": "stable"}, namespace="web"),
        deployment("batch", {"app": "batch", "track": "canary"}, namespace="jobs"),
        dr("reviews-all", REVIEWS, namespace="web", policy=least),
        dr("reviews-canary", REVIEWS, namespace="web", policy=random, selector={"track": "canary"}),
        # Another namespace's selector DR is for its own proxies, whatever their labels.
        dr(
            "reviews-canary", REVIEWS, namespace="shop", policy=random, selector={"track": "canary"}
        ),
    )

    def hop(namespace: str, workload: str | None):
        named = find_workload(mesh, namespace, workload) if workload else None
        return trace(mesh, Client(namespace, named), REVIEWS, 9080).destinations[0]

    canary = hop("web", "canary")
    assert canary.destination_rule.meta.ref.namespaced_name == "web/reviews-canary"
    assert canary.policy.as_dict() == random
    for other in (hop("web", "stable"), hop("web", None)):
        assert other.destination_rule.meta.ref.namespaced_name == "web/reviews-all"
        assert other.policy.as_dict() == least
    batch = hop("jobs", "batch")
    assert batch.destination_rule.meta.ref.namespaced_name == "shop/reviews"
    assert batch.policy.as_dict() == {}


def test_port_level_policy_on_the_destination_port():
    mesh = build_mesh(
        service("reviews", namespace="shop", ports=(9080, 9443)),
        deployment("reviews-v1", {"app": "reviews"}, namespace="shop"),
        dr(
            "reviews",
            "reviews",
            namespace="shop",
            policy={
                "tls": {"mode": "ISTIO_MUTUAL"},
                "portLevelSettings": [port_policy(9443, loadBalancer={"simple": "RANDOM"})],
            },
        ),
    )
    on_9443 = trace(mesh, Client("shop"), REVIEWS, 9443).destinations[0]
    assert on_9443.policy.as_dict() == {"loadBalancer": {"simple": "RANDOM"}}
    assert on_9443.policy.origins() == {"loadBalancer": "host-port"}
    on_9080 = trace(mesh, Client("shop"), REVIEWS, 9080).destinations[0]
    assert on_9080.policy.as_dict() == {"tls": {"mode": "ISTIO_MUTUAL"}}


def test_a_destination_without_port_uses_the_services_only_port():
    mesh = shop(
        vs("reviews", ["reviews"], namespace="shop", http=[route(dest("ratings"))]),
    )
    hop = trace(mesh, Client("shop"), REVIEWS, 9080).destinations[0]
    assert (hop.host, hop.port) == (RATINGS, 9080)


# -- problems ------------------------------------------------------------------------------------


def test_subset_defined_only_for_other_clients_is_a_problem_for_this_one():
    mesh = shop(
        dr(
            "reviews-web", "reviews.shop.svc.cluster.local", namespace="web", subsets=[subset("v1")]
        ),
        vs(
            "reviews",
            ["reviews.shop.svc.cluster.local"],
            namespace="shop",
            http=[route(dest("reviews", "v2"))],
        ),
    )
    assert trace(mesh, Client("shop"), REVIEWS, 9080).problems == ()
    [problem] = trace(mesh, Client("web"), REVIEWS, 9080).problems
    assert problem.startswith("subset 'v2' of reviews.shop.svc.cluster.local is undefined")
    assert "web/reviews-web" in problem


def test_host_not_in_registry_is_a_problem():
    mesh = shop(vs("reviews", ["reviews"], namespace="shop", http=[route(dest("nowhere"))]))
    [problem] = trace(mesh, Client("shop"), REVIEWS, 9080).problems
    assert problem.startswith("nowhere.shop.svc.cluster.local is not in the service registry")


def test_no_pods_is_a_problem():
    mesh = shop(
        dr("ratings", "ratings", namespace="shop", subsets=[subset("v9")]),
        vs("ratings", ["ratings"], namespace="shop", http=[route(dest("ratings", "v9"))]),
    )
    [problem] = trace(mesh, Client("shop"), RATINGS, 9080).problems
    assert problem == (
        "subset 'v9' of ratings.shop.svc.cluster.local:9080 has no pods: no workload of the "
        "service carries its labels (503)"
    )


def test_no_matching_rule_is_a_problem():
    mesh = shop(
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            http=[
                route(dest("reviews", "v1"), match=[{"uri": {"exact": "/only"}}]),
            ],
        )
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080, path="/else")
    assert t.destinations == ()
    assert t.problems == (
        "no rule of shop/reviews matches the request: the proxy answers 404 (NR)",
    )


def test_tcp_ports_use_tcp_routes():
    mesh = build_mesh(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "db", "namespace": "shop"},
            "spec": {"selector": {"app": "db"}, "ports": [{"name": "tcp-pg", "port": 5432}]},
        },
        deployment("db", {"app": "db"}, namespace="shop"),
        vs(
            "db",
            ["db"],
            namespace="shop",
            http=[route(dest("nowhere"))],
            tcp=[route(dest("db"), match=[{"port": 5432}])],
        ),
    )
    t = trace(mesh, Client("shop"), svc_host("db", "shop"), 5432)
    assert (t.protocol, t.rule, t.problems) == ("tcp", "tcp[0]", ())


# -- property ------------------------------------------------------------------------------------

NAMESPACES = ["shop", "web", "istio-system"]


@st.composite
def meshes_without_virtual_services(draw):
    objs = [
        service("reviews", namespace="shop", ports=(9080,)),
        deployment("reviews-v1", {"app": "reviews"}, namespace="shop"),
    ]
    for i in range(draw(st.integers(0, 3))):
        ns = draw(st.sampled_from(NAMESPACES))
        host = draw(st.sampled_from(["reviews.shop.svc.cluster.local", "*.shop.svc.cluster.local"]))
        policy = draw(
            st.sampled_from(
                [
                    None,
                    {"tls": {"mode": "DISABLE"}},
                    {
                        "loadBalancer": {"simple": "RANDOM"},
                        "portLevelSettings": [
                            port_policy(9080, connectionPool={"tcp": {"maxConnections": 7}})
                        ],
                    },
                ]
            )
        )
        export = draw(st.sampled_from([None, ["."], ["*"], ["web"]]))
        objs.append(
            dr(
                f"dr{i}",
                host,
                namespace=ns,
                policy=policy,
                export_to=export,
                subsets=[subset("v1")],
            )
        )
    return build_mesh(*objs)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(meshes_without_virtual_services(), st.sampled_from(NAMESPACES), st.text(max_size=8))
def test_without_virtual_services_every_trace_is_the_default_route(mesh, client, path):
    t = trace(mesh, Client(client), REVIEWS, 9080, path="/" + path)

    assert t.default_route and t.rule is None and t.skipped == ()
    [hop] = t.destinations
    assert (hop.host, hop.subset, hop.weight) == (REVIEWS, "", 100)
    rule = mesh.destination_rules.lookup(REVIEWS, client, "shop")
    expected = effective_policy(rule.traffic_policy if rule else None, None, 9080)
    assert hop.policy == expected
    assert hop.rule is rule or (
        hop.rule is not None and rule is not None and hop.rule.rules == rule.rules
    )


def test_gateway_server_namespace_restricts_which_virtual_services_bind():
    gw = ObjectRef("Gateway", "shop", "public")
    mesh = shop(
        gateway("public", "shop", ["./shop.example.com"]),
        vs(
            "elsewhere",
            ["shop.example.com"],
            namespace="web",
            gateways=["shop/public"],
            http=[route(dest("ratings.shop.svc.cluster.local"))],
        ),
        vs(
            "own",
            ["shop.example.com"],
            namespace="shop",
            gateways=["public"],
            http=[route(dest("reviews", "v1"))],
        ),
    )
    t = trace(mesh, Client("shop", gateway=gw), "shop.example.com", 80)
    assert [r.name for r in t.merged] == ["own"]
    assert t.problems == ()


def test_a_virtual_service_with_no_route_for_the_port_leaves_the_host_to_the_next_one():
    # pilot builds no virtual host from a VS none of whose rules apply on the port: the host
    # falls to the next VS claiming it, and without one to the default route.
    only_8080 = vs(
        "a-old",
        ["reviews"],
        namespace="shop",
        http=[route(dest("reviews", "v2"), match=[{"port": 8080}])],
    )
    mesh = shop(
        only_8080, vs("b-new", ["reviews"], namespace="shop", http=[route(dest("reviews", "v1"))])
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080)
    assert (t.virtual_service.name, t.destinations[0].subset) == ("b-new", "v1")
    assert [(s.virtual_service.name, s.why) for s in t.skipped] == [
        ("a-old", "port 8080 wanted, the request goes to port 9080")
    ]

    alone = trace(shop(only_8080), Client("shop"), REVIEWS, 9080)
    assert alone.default_route
    assert alone.destinations[0].subset == ""
    assert trace(shop(only_8080), Client("shop"), REVIEWS, 8080).destinations[0].subset == "v2"


def test_a_wildcard_virtual_service_claims_the_hosts_it_covers():
    mesh = shop(
        vs("wide", ["*.svc.cluster.local"], namespace="shop", http=[route(dest("ratings"))]),
        vs(
            "narrow",
            ["*.shop.svc.cluster.local"],
            namespace="shop",
            http=[route(dest("reviews.shop.svc.cluster.local", "v2"))],
        ),
    )
    t = trace(mesh, Client("web"), REVIEWS, 9080)
    assert (t.virtual_service.name, t.destinations[0].subset) == ("narrow", "v2")
    exact = shop(
        vs("narrow", ["*.shop.svc.cluster.local"], namespace="shop", http=[route(dest("ratings"))]),
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            export_to=["web"],
            http=[route(dest("reviews", "v1"))],
        ),
    )
    # Exported to web by name comes before public, whatever the creation order.
    assert trace(exact, Client("web"), REVIEWS, 9080).virtual_service.name == "reviews"
    assert trace(exact, Client("other"), REVIEWS, 9080).virtual_service.name == "narrow"


def test_a_gateway_proxy_has_the_labels_its_gateway_selects():
    gw = ObjectRef("Gateway", "shop", "public")
    mesh = shop(
        gateway("public", "shop", ["*/shop.example.com"]),
        vs(
            "web",
            ["shop.example.com"],
            namespace="shop",
            gateways=["public"],
            http=[
                route(dest("reviews", "v2"), match=[{"sourceLabels": {"istio": "egressgateway"}}]),
                route(dest("reviews", "v1"), match=[{"sourceLabels": {"istio": "ingressgateway"}}]),
            ],
        ),
    )
    t = trace(mesh, Client("shop", gateway=gw), "shop.example.com", 80)
    assert (t.rule, t.destinations[0].subset) == ("http[1]", "v1")
    assert t.skipped[0].why == (
        "sourceLabels istio=egressgateway wanted, the client has istio=ingressgateway"
    )


def test_tls_ports_use_tls_routes_matched_by_sni():
    mesh = build_mesh(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "pay", "namespace": "shop"},
            "spec": {"selector": {"app": "pay"}, "ports": [{"name": "https", "port": 443}]},
        },
        deployment("pay", {"app": "pay", "version": "v1"}, namespace="shop"),
        dr("pay", "pay", namespace="shop", subsets=[subset("v1")]),
        vs(
            "pay",
            ["pay", "pay.shop.svc.cluster.local", "other.example.com"],
            namespace="shop",
            tls=[
                route(dest("pay", "v1"), match=[{"sniHosts": ["other.example.com"]}]),
                route(
                    dest("pay", "v1"),
                    match=[{"port": 443, "sniHosts": ["pay.shop.svc.cluster.local"]}],
                ),
            ],
        ),
    )
    t = trace(mesh, Client("web"), svc_host("pay", "shop"), 443)
    assert (t.protocol, t.rule, t.destinations[0].subset) == ("tls", "tls[1]", "v1")
    assert t.skipped[0].why == (
        "sniHosts [other.example.com] wanted, the SNI is pay.shop.svc.cluster.local"
    )


def test_a_redirect_rule_answers_without_a_destination():
    mesh = shop(
        vs(
            "reviews",
            ["reviews"],
            namespace="shop",
            http=[
                {"match": [{"uri": {"exact": "/old"}}], "redirect": {"uri": "/new"}},
                route(dest("reviews", "v1")),
            ],
        )
    )
    t = trace(mesh, Client("shop"), REVIEWS, 9080, path="/old")
    assert (t.rule, t.destinations, t.problems) == ("http[0]", (), ())
    assert t.actions["redirect"] == {"uri": "/new"}
