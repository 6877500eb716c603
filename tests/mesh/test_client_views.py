"""Client-aware verdicts: Istio's answer depends on the namespace of the calling sidecar.

Each case is a situation a user met, with pilot's answer:
- push_context.go destinationRule: a client namespace's own DR comes first;
- virtualservice.go SelectVirtualServices + httproute.go "duplicate domain": the first VS to
  claim a host wins for a client, later ones are dropped;
- validation.go analyzeUnreachableHTTPRules: a rule after a catch-all never matches.
"""

from __future__ import annotations

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.findings import Code
from tests.helpers import (
    analyze,
    build_mesh,
    deployment,
    dest,
    dr,
    gateway,
    host,
    route,
    service,
    subset,
    svc_host,
    vs,
)

RANDOM = {"loadBalancer": {"simple": "RANDOM"}}
LEAST = {"loadBalancer": {"simple": "LEAST_REQUEST"}}
PAYMENTS = svc_host("payments", "pay")
REVIEWS = svc_host("reviews")


def of(analysis, code):
    return [f for f in analysis.findings if f.code is code]


# -- a client namespace's own DestinationRule -----------------------------------------------


def payments_mesh():
    return [
        service("payments", namespace="pay", selector={"app": "payments"}),
        deployment("payments-v1", {"app": "payments", "version": "v1"}, namespace="pay"),
        deployment("payments-v2", {"app": "payments", "version": "v2"}, namespace="pay"),
        dr("payments", "payments", namespace="pay", subsets=[subset("v1")]),
        dr(
            "payments-from-frontend",
            "payments.pay.svc.cluster.local",
            namespace="frontend",
            subsets=[subset("v2", policy=RANDOM)],
        ),
        vs(
            "payments",
            ["payments.pay.svc.cluster.local"],
            namespace="frontend",
            http=[route(dest("payments.pay.svc.cluster.local", "v2"))],
        ),
    ]


def test_a_subset_only_the_client_namespace_dr_defines_fails_only_for_the_others():
    analysis = analyze(*payments_mesh())
    [undefined] = of(analysis, Code.UNDEFINED_SUBSET)
    assert undefined.clients == ClientSet(True, frozenset({"frontend"}))
    assert "only DestinationRule frontend/payments-from-frontend defines" in undefined.message
    assert "clients in every namespace but frontend get 503" in undefined.message
    # frontend's clients are routed to v2 and use its RANDOM policy: not dead config.
    assert not of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)


def test_the_frontend_view_uses_its_own_dr_and_has_no_503():
    mesh = build_mesh(*payments_mesh())
    mesh.set_client_namespace("frontend")
    analysis = mesh.analyze()
    assert not of(analysis, Code.UNDEFINED_SUBSET)
    h = host(analysis, PAYMENTS)
    assert [r.meta.ref.namespaced_name for r in h.destination_rules] == [
        "frontend/payments-from-frontend"
    ]
    [v2] = h.subsets
    assert v2.name == "v2"
    assert v2.policy.as_dict() == RANDOM
    assert v2.routed


def test_any_other_client_view_gets_the_503():
    mesh = build_mesh(*payments_mesh())
    mesh.set_client_namespace("shop")
    [undefined] = of(mesh.analyze(), Code.UNDEFINED_SUBSET)
    assert undefined.clients == ClientSet.of(["shop"])
    assert [s.name for s in host(mesh.analyze(), PAYMENTS).subsets] == ["v1"]


def test_the_all_clients_view_lists_both_drs_subsets_with_their_clients():
    h = host(analyze(*payments_mesh()), PAYMENTS)
    by_name = {s.name: s for s in h.subsets}
    assert by_name["v1"].clients == ClientSet(True, frozenset({"frontend"}))
    assert by_name["v2"].clients == ClientSet.of(["frontend"])
    rules = {tuple(r.meta.ref.name for r in v.rule.rules): v.clients for v in h.views if v.rule}
    assert rules == {
        ("payments",): ClientSet(True, frozenset({"frontend"})),
        ("payments-from-frontend",): ClientSet.of(["frontend"]),
    }


def test_a_subset_policy_only_a_client_namespace_dr_holds_is_dead_when_no_client_there_routes():
    objs = payments_mesh()
    objs[-1] = vs(
        "payments",
        ["payments.pay.svc.cluster.local"],
        namespace="pay",
        export_to=["."],  # only clients in pay use it; they apply pay's DR, without v2
        http=[route(dest("payments", "v2"))],
    )
    analysis = analyze(*objs)
    [dead] = of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert dead.subset == "v2" and dead.clients == ClientSet.of(["frontend"])
    assert "serves only clients in pay" in dead.message
    [undefined] = of(analysis, Code.UNDEFINED_SUBSET)
    assert undefined.clients == ClientSet.of(["pay"])


# -- which VirtualService a sidecar uses -------------------------------------------------------


def two_virtual_services(a_created: str, b_created: str):
    return [
        service("reviews", selector={"app": "reviews"}),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs("reviews-a", ["reviews"], http=[route(dest("reviews", "v1"))], created=a_created),
        vs("reviews-b", ["reviews"], http=[route(dest("reviews", "v2"))], created=b_created),
    ]


def test_the_later_of_two_virtual_services_for_a_host_is_dropped_and_its_subset_dead():
    analysis = analyze(*two_virtual_services("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"))
    [dead] = of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert dead.subset == "v2"
    assert "default/reviews-a for" in dead.message and "not this one" in dead.message
    conflicts = of(analysis, Code.CONFLICTING_VIRTUAL_SERVICES)
    assert {f.resource.name for f in conflicts} == {"reviews-a", "reviews-b"}
    [on_b] = [f for f in conflicts if f.resource.name == "reviews-b"]
    assert "it was created first" in on_b.message
    assert on_b.istio == "IST0109"


def test_the_older_virtual_service_wins_whatever_its_name():
    analysis = analyze(*two_virtual_services("2024-03-01T00:00:00Z", "2024-02-01T00:00:00Z"))
    assert not of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert host(analysis, REVIEWS).subset("v2").routed
    [on_a] = [
        f for f in of(analysis, Code.CONFLICTING_VIRTUAL_SERVICES) if f.resource.name == "reviews-a"
    ]
    assert "use default/reviews-b because it was created first" in on_a.message


def test_offline_without_creation_times_the_conflict_says_the_winner_is_undefined():
    analysis = analyze(*two_virtual_services(None, None))
    [on_b] = [
        f for f in of(analysis, Code.CONFLICTING_VIRTUAL_SERVICES) if f.resource.name == "reviews-b"
    ]
    assert "no creationTimestamp" in on_b.message


def test_a_client_namespace_private_virtual_service_comes_before_a_public_one():
    objs = [
        *two_virtual_services("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")[:3],
        vs(
            "reviews-mine",
            ["reviews.default.svc.cluster.local"],
            namespace="canary",
            export_to=["."],
            http=[route(dest("reviews.default.svc.cluster.local", "v2"))],
            created="2025-01-01T00:00:00Z",
        ),
    ]
    mesh = build_mesh(*objs)
    assert mesh.virtual_service_for(REVIEWS, "canary").meta.ref.name == "reviews-mine"
    assert mesh.virtual_service_for(REVIEWS, "shop").meta.ref.name == "reviews-a"
    # v2's policy reaches canary's clients: not dead, and no conflict for anyone else.
    analysis = mesh.analyze()
    assert not of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    # The override is deterministic (a private VirtualService comes first whatever its age):
    # info on both, not the creation-time conflict, which stays between the public two only.
    overrides = of(analysis, Code.VIRTUAL_SERVICE_OVERRIDE)
    assert {(f.resource.name, f.clients) for f in overrides} == {
        ("reviews-a", ClientSet.of(["canary"])),
        ("reviews-mine", ClientSet.of(["canary"])),
    }
    assert all(f.istio == "IST0109" for f in overrides)
    mine = next(f for f in overrides if f.resource.name == "reviews-mine")
    assert "overrides default/reviews-a for clients in canary" in mine.message
    assert not of(analysis, Code.CONFLICTING_VIRTUAL_SERVICES)


# -- rules that can never match --------------------------------------------------------------


def test_a_rule_after_a_catch_all_never_matches_and_does_not_route_its_subset():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs(
            "reviews",
            ["reviews"],
            http=[
                route(dest("reviews", "v1")),
                route(dest("reviews", "v2"), match=[{"headers": {"x-canary": {"exact": "1"}}}]),
            ],
        ),
    )
    [unreachable] = of(analysis, Code.UNREACHABLE_RULE)
    assert unreachable.path == ("spec", "http", 1)
    assert unreachable.istio == "IST0130"
    [dead] = of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert dead.subset == "v2"
    assert "can never match" in dead.message


def test_reversing_the_rules_makes_the_header_rule_reachable():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs(
            "reviews",
            ["reviews"],
            http=[
                route(dest("reviews", "v2"), match=[{"headers": {"x-canary": {"exact": "1"}}}]),
                route(dest("reviews", "v1")),
            ],
        ),
    )
    assert not of(analysis, Code.UNREACHABLE_RULE)
    assert not of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)


# -- where traffic goes instead ----------------------------------------------------------------


def test_a_dormant_subset_of_a_routed_host_says_where_the_traffic_goes():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2"), subset("v3", policy=LEAST)]),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=90), dest("reviews", "v2", weight=10))],
        ),
    )
    [dead] = of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert "sends the host's traffic to subsets v1, v2, so subset 'v3' gets none of it" in (
        dead.message
    )
    assert "whole service" not in dead.message


def test_a_dormant_subset_of_an_unrouted_host_gets_the_host_policy_sentence():
    analysis = analyze(
        service("reviews"), dr("reviews", "reviews", subsets=[subset("v3", policy=LEAST)])
    )
    [dead] = of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert dead.message.endswith("traffic goes to the whole service with the host-level policy")


# -- gateways ----------------------------------------------------------------------------------


def test_a_route_bound_only_to_a_missing_gateway_carries_nothing():
    analysis = analyze(
        service("reviews"),
        gateway("public"),
        dr("reviews", "reviews", subsets=[subset("v2", policy=RANDOM)]),
        vs("edge", ["reviews.example.com"], gateways=["gone"], http=[route(dest("reviews", "v2"))]),
    )
    [unknown] = of(analysis, Code.UNKNOWN_GATEWAY)
    assert "default/gone, which does not exist" in unknown.message
    [dead] = of(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert "gateways that do not exist: gone" in dead.message


def test_a_gateway_route_without_subset_bypasses_the_mesh_subset_routing():
    analysis = analyze(
        service("ratings"),
        gateway("edge", ["ratings.example.com"]),
        dr("ratings", "ratings", subsets=[subset("v1")]),
        vs("ratings", ["ratings"], http=[route(dest("ratings", "v1"))]),
        vs(
            "edge",
            ["ratings.example.com"],
            gateways=["edge"],
            http=[route(dest("ratings"))],
        ),
    )
    [bypass] = of(analysis, Code.GATEWAY_ROUTE_BYPASSES_SUBSETS)
    assert bypass.resource.name == "edge"
    assert bypass.istio == "IST0140"
