"""The Mesh index and its analysis: whole-host results, incremental updates, invariants."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import Code, Severity
from meshtui.mesh.resources import InvalidField, Origin, parse_object
from tests.helpers import (
    analyze,
    build_mesh,
    deployment,
    dest,
    dr,
    host,
    parse,
    pod,
    port_policy,
    route,
    service,
    service_entry,
    subset,
    svc_host,
    tls_route,
    vs,
)

REVIEWS = svc_host("reviews")
RATINGS = svc_host("ratings")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}


def test_host_ports_are_the_service_ports_not_port_level_settings_it_lacks():
    reviews = host(
        analyze(
            service("reviews", ports=(9080, 9090)),
            dr(
                "reviews",
                "reviews",
                policy={
                    "tls": {"mode": "ISTIO_MUTUAL"},
                    "portLevelSettings": [port_policy(9080, loadBalancer={"simple": "RANDOM"})],
                },
                subsets=[
                    subset(
                        "v1",
                        policy={
                            "portLevelSettings": [port_policy(15000, tls={"mode": "ISTIO_MUTUAL"})]
                        },
                    )
                ],
            ),
        ),
        REVIEWS,
    )
    # Port 15000 is no port of the Service: its settings never apply (PortNotInService).
    assert sorted(reviews.port_policies) == [9080, 9090]
    assert reviews.port_policies[9080].as_dict() == {"loadBalancer": {"simple": "RANDOM"}}
    assert reviews.port_policies[9090].as_dict() == {"tls": {"mode": "ISTIO_MUTUAL"}}
    assert sorted(reviews.subset("v1").ports) == [9080, 9090]
    assert [(f.code, f.subset) for f in reviews.findings if f.code is Code.PORT_NOT_IN_SERVICE] == [
        (Code.PORT_NOT_IN_SERVICE, "v1")
    ]


def test_host_without_service_dr_or_route_is_not_listed():
    analysis = analyze(deployment("lonely", {"app": "lonely"}))
    assert analysis.hosts == {}
    assert analysis.workload_count == 1


def test_dr_for_a_service_host_missing_from_the_input_is_still_analysed():
    # A folder of Istio config without its Services: the DR's host is still checked, and
    # whether the host exists is not judged: UnknownDestinationRuleHost at info only, saying so.
    analysis = analyze(dr("reviews", "reviews", subsets=[subset("v1", policy=RANDOM)]))
    reviews = host(analysis, REVIEWS)
    assert reviews.service is None
    assert [(f.code, f.severity) for f in reviews.findings] == [
        (Code.SUBSET_POLICY_NEVER_APPLIED, Severity.WARNING),
        (Code.UNKNOWN_DESTINATION_RULE_HOST, Severity.INFO),
    ]
    [unconfirmed] = [f for f in reviews.findings if f.severity is Severity.INFO]
    assert "the input holds no Service at all, so whether it exists cannot be confirmed" in (
        unconfirmed.message
    )


def test_analysis_counts_findings_by_severity():
    analysis = analyze(
        service("reviews"), dr("reviews", "reviews", subsets=[subset("v1", policy=RANDOM)])
    )
    assert {s.value: n for s, n in analysis.counts().items()} == {
        "error": 0,
        "warning": 1,  # SubsetPolicyNeverApplied
        "info": 1,  # SubsetSelectsNothing: no workload in the input to confirm v1's pods
    }
    assert analysis.subset_count == 1


# -- incremental updates ------------------------------------------------------------------

BASE = [
    service("reviews", selector={"app": "reviews"}),
    service("ratings", selector={"app": "ratings"}),
    dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
    dr("ratings", "ratings", subsets=[subset("v1", policy=RANDOM)]),
    vs("reviews", ["reviews"], http=[route(dest("reviews", "v1"))]),
    deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
    deployment("ratings-v1", {"app": "ratings", "version": "v1"}),
]


def assert_same_as_fresh(mesh: Mesh, final: list[dict]) -> None:
    got, want = mesh.analyze(), build_mesh(*final).analyze()
    assert got == want
    assert list(got.hosts) == list(want.hosts)  # host order too: the tree and reports list it


def updated(mesh_objs: list[dict], obj: dict) -> list[dict]:
    key = (obj["kind"], obj["metadata"]["name"])
    out = [o for o in mesh_objs if (o["kind"], o["metadata"]["name"]) != key]
    return [*out, obj]


def removed(mesh_objs: list[dict], kind: str, name: str) -> list[dict]:
    return [o for o in mesh_objs if (o["kind"], o["metadata"]["name"]) != (kind, name)]


def warmed() -> Mesh:
    mesh = build_mesh(*BASE)
    mesh.analyze()
    return mesh


def test_changed_dr_reanalyses_its_host_not_the_mesh():
    mesh = warmed()
    ratings_before = mesh.analyze_host(RATINGS)
    changed = dr("reviews", "reviews", policy=RANDOM, subsets=[subset("v1"), subset("v2")])
    assert mesh.add(parse(changed)) == {REVIEWS}
    assert mesh.analyze_host(RATINGS) is ratings_before
    assert_same_as_fresh(mesh, updated(BASE, changed))
    assert not host(mesh.analyze(), REVIEWS).subset("v2").policy_never_applied


def test_added_dr_returns_its_host():
    mesh = warmed()
    extra = dr("reviews-extra", "reviews", subsets=[subset("v3")])
    assert mesh.add(parse(extra)) == {REVIEWS}
    assert_same_as_fresh(mesh, [*BASE, extra])


def test_wildcard_dr_touches_every_host_it_covers():
    mesh = warmed()
    wild = dr("all", "*.default.svc.cluster.local", namespace="default", export_to=["*"])
    assert mesh.add(parse(wild)) == {REVIEWS, RATINGS}
    assert_same_as_fresh(mesh, [*BASE, wild])


def test_removed_dr_returns_its_host():
    mesh = warmed()
    assert mesh.remove(parse(BASE[2]).meta.ref) == {REVIEWS}
    assert_same_as_fresh(mesh, removed(BASE, "DestinationRule", "reviews"))
    assert host(mesh.analyze(), REVIEWS).rule is None


def test_changed_vs_returns_old_and_new_hosts():
    mesh = warmed()
    moved = vs("reviews", ["reviews"], http=[route(dest("ratings", "v1"))])
    assert mesh.add(parse(moved)) == {REVIEWS, RATINGS}
    final = updated(BASE, moved)
    assert_same_as_fresh(mesh, final)
    assert not host(mesh.analyze(), RATINGS).subset("v1").policy_never_applied


def test_added_vs_routing_to_a_subset_clears_its_finding():
    mesh = warmed()
    # A second VS for the host: with no creation times pilot takes the first by name, so
    # "a-to-v2" wins over "reviews" and its route to v2 is the one sidecars use.
    new = vs("a-to-v2", ["reviews"], http=[route(dest("reviews", "v2"))])
    assert mesh.add(parse(new)) == {REVIEWS}
    assert_same_as_fresh(mesh, [*BASE, new])
    analysis = host(mesh.analyze(), REVIEWS)
    assert not analysis.subset("v2").policy_never_applied
    assert {
        f.resource.name for f in analysis.findings if f.code.value == "ConflictingVirtualServices"
    } == {"a-to-v2", "reviews"}


def test_removed_vs_returns_its_hosts():
    mesh = warmed()
    assert mesh.remove(parse(BASE[4]).meta.ref) == {REVIEWS}
    assert_same_as_fresh(mesh, removed(BASE, "VirtualService", "reviews"))


def test_added_and_removed_service_return_its_host():
    mesh = warmed()
    new = service("details", selector={"app": "details"})
    assert mesh.add(parse(new)) == {svc_host("details")}
    assert_same_as_fresh(mesh, [*BASE, new])
    assert mesh.remove(parse(BASE[1]).meta.ref) == {RATINGS}
    assert_same_as_fresh(mesh, removed([*BASE, new], "Service", "ratings"))


def test_a_host_first_named_after_the_first_analysis_takes_its_place_in_host_order():
    # No Service changes, so only the touched hosts are analysed again (Mesh._complete_again).
    mesh = warmed()
    rule = dr("details", "details", policy=RANDOM)
    assert mesh.add(parse(rule)) == {svc_host("details")}
    assert list(mesh.analyze().hosts) == [svc_host("details"), RATINGS, REVIEWS]
    assert_same_as_fresh(mesh, [*BASE, rule])
    mesh.remove(parse(rule).meta.ref)
    assert_same_as_fresh(mesh, BASE)


def test_added_workload_returns_the_hosts_that_select_it():
    mesh = warmed()
    new = deployment("reviews-v2", {"app": "reviews", "version": "v2"})
    assert mesh.add(parse(new)) == {REVIEWS}
    assert_same_as_fresh(mesh, [*BASE, new])


def test_relabelled_workload_returns_old_and_new_hosts():
    mesh = warmed()
    moved = deployment("reviews-v1", {"app": "ratings", "version": "v1"})
    assert mesh.add(parse(moved)) == {REVIEWS, RATINGS}
    assert_same_as_fresh(mesh, updated(BASE, moved))


def test_removed_workload_returns_the_hosts_that_selected_it():
    mesh = warmed()
    assert mesh.remove(parse(BASE[5]).meta.ref) == {REVIEWS}
    assert_same_as_fresh(mesh, removed(BASE, "Deployment", "reviews-v1"))


def test_first_workload_of_a_namespace_makes_its_hosts_workloads_known():
    objs = [service("a", namespace="shop"), service("b", namespace="shop")]
    mesh = build_mesh(*objs)
    assert host(mesh.analyze(), svc_host("b", "shop")).workloads is None
    new = pod("a-0", {"app": "a"}, namespace="shop")
    assert svc_host("b", "shop") in mesh.add(parse(new))
    assert host(mesh.analyze(), svc_host("b", "shop")).workloads == ()
    assert_same_as_fresh(mesh, [*objs, new])


def test_added_and_removed_service_entry_return_its_hosts():
    mesh = warmed()
    entry = service_entry("ext", ["api.example.com", "auth.example.com"])
    assert mesh.add(parse(entry)) == {"api.example.com", "auth.example.com"}
    assert_same_as_fresh(mesh, [*BASE, entry])
    assert mesh.remove(parse(entry).meta.ref) == {"api.example.com", "auth.example.com"}
    assert_same_as_fresh(mesh, BASE)


def test_removing_an_unknown_resource_changes_nothing():
    mesh = warmed()
    assert mesh.remove(parse(dr("nope", "nope")).meta.ref) == set()


# -- invariants ----------------------------------------------------------------------------

SUBSET_NAMES = ("v1", "v2", "v3", "canary")
POLICIES = st.sampled_from(
    [
        None,
        RANDOM,
        {"connectionPool": {"http": {"http1MaxPendingRequests": 10}}},
        {"tls": {"mode": "ISTIO_MUTUAL"}},
        {"portLevelSettings": [port_policy(80, loadBalancer={"simple": "LEAST_REQUEST"})]},
    ]
)
SUBSETS = st.lists(
    st.tuples(st.sampled_from(SUBSET_NAMES), POLICIES),
    min_size=1,
    max_size=4,
    unique_by=lambda t: t[0],
)


def rule_with(subsets) -> dict:
    return dr("reviews", "reviews", subsets=[subset(n, policy=p) for n, p in subsets])


def never_applied(analysis) -> set[str]:
    return {f.subset for f in analysis.findings if f.code is Code.SUBSET_POLICY_NEVER_APPLIED}


def test_a_tcp_route_on_an_http_port_does_not_apply_the_subset_policy():
    # pilot builds only the VirtualService's http rules into an HTTP port's route table
    # (route.go BuildSidecarVirtualHostWrapper); its tcp rules serve TCP ports.
    analysis = analyze(
        service("reviews"),
        rule_with([("v1", {"loadBalancer": {"simple": "RANDOM"}})]),
        vs("r", ["reviews"], tcp=[route(dest("reviews", "v1"))]),
    )
    assert never_applied(analysis) == {"v1"}
    [finding] = [f for f in analysis.findings if f.code is Code.SUBSET_POLICY_NEVER_APPLIED]
    assert "pilot builds it for no port and client" in finding.message


@given(subsets=SUBSETS, data=st.data())
def test_adding_a_route_to_a_subset_clears_its_never_applied_finding(subsets, data):
    name = data.draw(st.sampled_from([n for n, _ in subsets]))
    kind = data.draw(st.sampled_from(["http", "tcp", "tls", "mirror"]))
    if kind == "mirror":
        spec = {"http": [route(dest("reviews"), mirror={"host": "reviews", "subset": name})]}
    elif kind == "tls":
        spec = {kind: [tls_route(dest("reviews", name))]}
    else:
        spec = {kind: [route(dest("reviews", name))]}
    svc = service("reviews")
    if kind in ("tcp", "tls"):  # a sidecar applies tcp and tls rules on such ports only
        svc["spec"]["ports"][0]["name"] = f"{kind}-80"
    analysis = analyze(svc, rule_with(subsets), vs("r", ["reviews"], **spec))
    assert name not in never_applied(analysis)
    expected = {n for n, p in subsets if p is not None and n != name}
    assert never_applied(analysis) == expected


@given(subsets=SUBSETS)
def test_moving_subset_policies_to_the_host_level_clears_the_findings(subsets):
    moved_policy: dict[str, Any] = {}
    for _, policy in subsets:
        moved_policy.update(policy or {})
    analysis = analyze(
        service("reviews"),
        dr(
            "reviews",
            "reviews",
            policy=moved_policy or None,
            subsets=[subset(n) for n, _ in subsets],
        ),
    )
    assert never_applied(analysis) == set()


MIXED = [
    service("reviews", selector={"app": "reviews"}),
    service("reviews", namespace="bookinfo"),
    dr("b", "reviews", subsets=[subset("v1", {"track": "canary"}), subset("v2", policy=RANDOM)]),
    dr("a", "reviews", policy=RANDOM, subsets=[subset("v1")]),
    dr("wild", "*.default.svc.cluster.local", subsets=[subset("x", policy=RANDOM)]),
    dr("c", svc_host("reviews", "bookinfo"), namespace="frontend", subsets=[subset("v7")]),
    vs(
        "r1",
        ["reviews"],
        http=[route(dest("reviews", "v1", weight=50), dest("reviews", "v9", weight=50))],
    ),
    vs("r2", ["reviews"], namespace="frontend", tcp=[route(dest("reviews", "v7"))]),
    vs("root", ["x.example.com"], gateways=["gw"], http=[{"delegate": {"name": "child"}}]),
    vs("child", None, http=[route(dest("reviews", "v2"))]),
    deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
    pod("reviews-pod", {"app": "reviews", "version": "v3"}),
    service_entry("ext", ["api.example.com"]),
]


def verdicts(analysis) -> list[tuple]:
    return [
        (f.code, f.host, f.subset, str(f.resource), f.message, f.path) for f in analysis.findings
    ]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(MIXED))
def test_the_order_of_resources_never_changes_the_verdicts(order):
    assert verdicts(analyze(*order)) == verdicts(analyze(*MIXED))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 200)
    | st.floats(allow_nan=False)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += paths(v, (*prefix, i))
    return out


def mutate(obj: dict, path: tuple, value: Any) -> dict:
    obj = copy.deepcopy(obj)
    if not path:
        return value
    target = obj
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return obj


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_makes_the_core_raise(data):
    objs = []
    for template in data.draw(st.lists(st.sampled_from(MIXED), min_size=1, max_size=6)):
        obj = template
        for _ in range(data.draw(st.integers(0, 3))):
            if not isinstance(obj, dict):
                break
            path = data.draw(st.sampled_from(paths(obj)))
            obj = mutate(obj, path, data.draw(JSON))
        objs.append(obj)
    mesh = Mesh()
    for obj in objs:
        parsed = (
            parse_object(obj, Origin(file="fuzz.yaml", line=1)) if isinstance(obj, dict) else None
        )
        if parsed is not None and not isinstance(parsed, InvalidField):
            mesh.add(parsed)
    analysis = mesh.analyze()
    for h in analysis.hosts.values():
        h.policy.as_dict()
        for s in h.subsets:
            s.policy.as_dict()
