"""The core's fix generator: every fix it offers is verified, edits what exists, and says what
else it changes. Cases follow Istio's rules (shared/istio-semantics.md); the end-to-end round
trip through files and `meshtui check` is in tests/check/test_fixes.py."""

from __future__ import annotations

from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.fix import Fix
from meshtui.mesh.fixes import Fixer, fixes_for
from meshtui.mesh.resources import ObjectRef
from tests.helpers import (
    Obj,
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

HOST = svc_host("checkout", "shop")


def finding(mesh, code: Code) -> Finding:
    return next(f for f in mesh.analyze().findings if f.code is code)


def titles(fixes: list[Fix]) -> list[str]:
    return [f.title for f in fixes]


def base(*extra: Obj, subsets=None, policy=None) -> list[Obj]:
    return [
        service("checkout", namespace="shop", ports=[8080]),
        deployment("checkout-v1", {"app": "checkout", "version": "v1"}, namespace="shop"),
        deployment("checkout-v2", {"app": "checkout", "version": "v2"}, namespace="shop"),
        dr(
            "checkout",
            "checkout",
            namespace="shop",
            policy=policy,
            subsets=subsets
            or [subset("v1"), subset("v2", policy={"loadBalancer": {"simple": "LEAST_REQUEST"}})],
        ),
        *extra,
    ]


def test_a_dormant_policy_without_a_virtual_service_gets_a_new_one_and_a_host_level_move():
    mesh = build_mesh(*base())
    fixes = fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED), mesh)
    assert titles(fixes) == [
        "route requests with header x-subset: v2 to the subset",
        "send 10% of the traffic to the subset",
        "move the policy to the host level",
    ]
    header = fixes[0].resources[0]
    assert header.replaces is None
    assert header.object["spec"]["hosts"] == ["checkout"]
    move = fixes[2].resources[0]
    assert move.replaces == ObjectRef("DestinationRule", "shop", "checkout")
    assert move.object["spec"]["trafficPolicy"] == {"loadBalancer": {"simple": "LEAST_REQUEST"}}
    assert "traffic without a subset" in fixes[2].description


def test_the_weight_split_takes_the_share_the_user_picks():
    objs = base(
        vs("checkout", ["checkout"], namespace="shop", http=[route(dest("checkout", "v1"))])
    )
    mesh = build_mesh(*objs)
    fixes = Fixer(mesh, weight=25).fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED))
    split = next(f for f in fixes if f.title == "send 25% of the traffic to the subset")
    assert split.resources[0].replaces == ObjectRef("VirtualService", "shop", "checkout")
    weights = [d["weight"] for d in split.resources[0].object["spec"]["http"][0]["route"]]
    assert weights == [75, 25]
    assert "moves real traffic" in split.description


def test_a_move_that_replaces_a_host_field_says_which_value_it_replaces():
    objs = base(policy={"loadBalancer": {"simple": "ROUND_ROBIN"}, "tls": {"mode": "ISTIO_MUTUAL"}})
    mesh = build_mesh(*objs)
    fixes = fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED), mesh)
    move = next(f for f in fixes if f.title == "move the policy to the host level")
    top = move.resources[0].object["spec"]["trafficPolicy"]
    assert top == {"loadBalancer": {"simple": "LEAST_REQUEST"}, "tls": {"mode": "ISTIO_MUTUAL"}}
    assert "loadBalancer {'simple': 'ROUND_ROBIN'} → {'simple': 'LEAST_REQUEST'}" in (
        move.description
    )


def test_a_field_that_cannot_be_in_force_on_a_shadowed_port_is_not_moved():
    # A port entry drops the host's tunnel on its port (pilot's GetPortLevelTrafficPolicy),
    # and a port entry cannot carry one: no host-level move can put it in force there.
    objs = base(
        policy={"portLevelSettings": [port_policy(8080, loadBalancer={"simple": "RANDOM"})]},
        subsets=[
            subset("v1"),
            subset(
                "v2",
                policy={
                    "tunnel": {"protocol": "CONNECT", "targetHost": "egress", "targetPort": 8080}
                },
            ),
        ],
    )
    mesh = build_mesh(*objs)
    fixes = fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED), mesh)
    assert "move the policy to the host level" not in titles(fixes)
    assert fixes  # the route fixes still put it in force for the subset's traffic


def test_the_move_goes_to_the_merged_rule_whose_top_level_policy_is_in_force():
    objs = [
        service("checkout", namespace="shop"),
        dr("a-first", "checkout", namespace="shop", policy={"tls": {"mode": "ISTIO_MUTUAL"}}),
        dr(
            "b-second",
            "checkout",
            namespace="shop",
            subsets=[subset("v2", policy={"loadBalancer": {"simple": "RANDOM"}})],
        ),
    ]
    mesh = build_mesh(*objs)
    fixes = fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED), mesh)
    move = next(f for f in fixes if f.title == "move the policy to the host level")
    assert [r.replaces.name for r in move.resources if r.replaces] == ["a-first", "b-second"]
    first, second = (r.object["spec"] for r in move.resources)
    assert first["trafficPolicy"]["loadBalancer"] == {"simple": "RANDOM"}
    assert second["subsets"] == [{"name": "v2", "labels": {"version": "v2"}}]


def test_a_second_virtual_service_for_the_host_is_never_offered():
    # Only a gateway-bound VirtualService routes the host: a new mesh one is not a second one.
    gateway_vs = vs(
        "edge", ["checkout"], namespace="shop", gateways=["edge"], http=[route(dest("checkout"))]
    )
    mesh = build_mesh(*base(gateway_vs))
    fixes = fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED), mesh)
    assert [r.replaces for r in fixes[0].resources] == [None]
    # With a mesh VirtualService whose raw object is unknown, no route fix is guessed.
    mesh = build_mesh(
        *base(vs("checkout", ["checkout"], namespace="shop", http=[route(dest("checkout"))]))
    )
    no_raw = Fixer(mesh, raw=lambda r: None)
    assert no_raw.fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED)) == []


def test_an_undefined_subset_without_a_workload_carrying_its_name_is_only_redirected():
    objs = base(
        vs("checkout", ["checkout"], namespace="shop", http=[route(dest("checkout", "v7"))])
    )
    mesh = build_mesh(*objs)
    fixes = fixes_for(finding(mesh, Code.UNDEFINED_SUBSET), mesh)
    assert titles(fixes) == ["route to subset v1 instead", "route to the whole service instead"]
    assert "serves every client of the route (clients in namespace shop)" in fixes[1].description


def test_a_subset_that_selects_nothing_is_given_labels_its_workloads_carry():
    objs = base(subsets=[subset("v1"), subset("v2", {"version": "v9"})])
    mesh = build_mesh(*objs)
    [fix] = fixes_for(finding(mesh, Code.SUBSET_SELECTS_NOTHING), mesh)
    subsets = fix.resources[0].object["spec"]["subsets"]
    assert subsets[1]["labels"] == {"version": "v1"}


def test_a_fix_leaves_out_what_the_api_server_sets():
    objs = base()
    rule = objs[3]
    rule["metadata"].update(
        resourceVersion="1023",
        uid="6f1c",
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[{"manager": "kubectl"}],
        labels={"team": "shop"},
    )
    rule["status"] = {"observedGeneration": 1}
    mesh = build_mesh(*objs)
    fixes = fixes_for(finding(mesh, Code.SUBSET_POLICY_NEVER_APPLIED), mesh)
    move = next(f for f in fixes if f.title == "move the policy to the host level")
    fixed = move.resources[0].object
    assert fixed["metadata"] == {
        "name": "checkout",
        "namespace": "shop",
        "labels": {"team": "shop"},
    }
    assert "status" not in fixed
