"""Semantics under transformation: invariants of the core over generated meshes.

Each property builds a small mesh (namespaces, Services, Deployments and Pods, DestinationRules
with subsets and policies, VirtualServices) as raw objects, runs it through `parse_object` and
`Mesh`, transforms the input and checks what Istio's rules say must (and must not) change.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from meshtui.check.report import render_json, to_json
from meshtui.mesh.analysis import Mesh
from meshtui.mesh.policy import OTHER_FIELDS, PORT_LEVEL_FIELDS
from meshtui.mesh.resources import InvalidField, ObjectRef, Origin, Resource, parse_object
from tests.hardening.hostile import run_json
from tests.hardening.meshgen import (
    NAMESPACES,
    Obj,
    analyze,
    build_mesh,
    canonical,
    deeply_nested,
    destination,
    destination_rule,
    dump,
    finding_set,
    fqdn,
    get_path,
    json_values,
    meshes,
    mutated,
    never_applied,
    paths,
    pod,
    replace_strings,
    report,
    service,
    virtual_service,
)

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- (a) a route to a subset makes its policy apply ------------------------------------------


@PROPERTY
@given(meshes(), st.data())
def test_adding_a_route_to_a_subset_clears_its_subset_policy_never_applied(objs, data):
    before = analyze(objs)
    dormant = sorted(never_applied(before))
    assume(dormant)
    host, subset = data.draw(st.sampled_from(dormant))
    namespace = before.hosts[host].namespace
    assert namespace is not None
    route = {"route": [destination(host, subset)]}
    # Sidecars use only the first VirtualService claiming a host (pilot: oldest, then by name),
    # so the route goes into that one, first and matched by a header, as a user would add it;
    # a second VirtualService for the host would be dropped.
    claiming = [
        o
        for o in objs
        if o["kind"] == "VirtualService"
        and host in o["spec"].get("hosts", [])
        and o["spec"].get("gateways") in (None, ["mesh"])
    ]
    # The generated ServiceEntry's only port is TLS: sidecars apply tcp (and tls) rules there,
    # never http ones (route.go builds http routes for HTTP ports only).
    kind = "tcp" if host == "api.example.com" else "http"
    if claiming:
        winner = min(claiming, key=lambda o: (o["metadata"]["name"], o["metadata"]["namespace"]))
        edited = copy.deepcopy(winner)
        if kind == "http":
            match = {"headers": {"x-meshtui-property": {"exact": "1"}}}
        else:
            match = {"sourceLabels": {"meshtui-property": "1"}}
        edited["spec"][kind] = [{**route, "match": [match]}, *edited["spec"].get(kind, [])]
        objs = [edited if o is winner else o for o in objs]
    else:
        objs = [*objs, virtual_service("added-route", namespace, [host], **{kind: [route]})]
    after = analyze(objs)
    assert never_applied(after) == never_applied(before) - {(host, subset)}
    assert not after.hosts[host].subset(subset).policy_never_applied


# -- (b) the policy moved to the host level applies to every route ---------------------------


def _dormant_subsets_of_policyless_rules(objs: list[Obj]) -> list[tuple[int, int]]:
    """(object index, subset index) of subsets with a policy in DRs without a host policy."""
    out = []
    for i, obj in enumerate(objs):
        if obj["kind"] != "DestinationRule" or "trafficPolicy" in obj["spec"]:
            continue
        for j, s in enumerate(obj["spec"].get("subsets", [])):
            if s.get("trafficPolicy"):
                out.append((i, j))
    return out


def _expected_field(host_policy: Obj, own: Obj | None, field: str, port: int | None):
    """Istio's rule, written out independently of meshtui's merge: (value, level)."""
    own = own or {}

    def port_entry(policy: Obj) -> Obj | None:
        if port is None:
            return None
        for e in policy.get("portLevelSettings", []):
            if e["port"]["number"] == port:
                return e
        return None

    host_entry, own_entry = port_entry(host_policy), port_entry(own)
    if own_entry is not None and field in PORT_LEVEL_FIELDS:
        return own_entry.get(field)
    if field in own:
        return own[field]
    if host_entry is not None and field in PORT_LEVEL_FIELDS:
        return host_entry.get(field)
    return host_policy.get(field)


@PROPERTY
@given(meshes(), st.data())
def test_moving_a_subset_policy_to_the_host_level_applies_it_to_all_traffic(objs, data):
    candidates = _dormant_subsets_of_policyless_rules(objs)
    assume(candidates)
    i, j = data.draw(st.sampled_from(candidates))
    dr = objs[i]
    name = dr["spec"]["subsets"][j]["name"]
    before = analyze(objs)
    # The hosts whose merged rule takes its top-level policy from this DR once it has one.
    ref = f"{dr['metadata']['namespace']}/{dr['metadata']['name']}"
    hosts = [
        h.host
        for h in before.hosts.values()
        if h.rule is not None
        and h.rule.traffic_policy is None
        and ref in (r.meta.ref.namespaced_name for r in h.rule.rules)
    ]
    assume(hosts)
    moved = mutated(dr, ("spec", "subsets", j), {k: v for k, v in dr["spec"]["subsets"][j].items()})
    policy = moved["spec"]["subsets"][j].pop("trafficPolicy")
    moved["spec"]["trafficPolicy"] = policy
    after = analyze([*objs[:i], moved, *objs[i + 1 :]])

    for host in hosts:
        h = after.hosts[host]
        s = h.subset(name)
        assert s is not None
        if s.destination_rule.meta.ref.namespaced_name == ref:  # not a same-named earlier one
            assert not s.policy_never_applied
        fields = (*PORT_LEVEL_FIELDS, *OTHER_FIELDS)
        # No-subset traffic: the moved policy, on every port.
        for port, effective in [(None, h.policy), *h.port_policies.items()]:
            for field in fields:
                expected = _expected_field(policy, None, field, port)
                assert effective.get(field).value == expected, (host, port, field)
        # Every subset: the moved policy, except in the fields the subset sets itself.
        for s in h.subsets:
            own = dict(s.own_policy) if s.own_policy else None
            for port, effective in [(None, s.policy), *s.ports.items()]:
                for field in fields:
                    expected = _expected_field(policy, own, field, port)
                    assert effective.get(field).value == expected, (host, s.name, port, field)


# -- (c) order never matters -----------------------------------------------------------------


@PROPERTY
@given(meshes(), st.randoms(use_true_random=False))
def test_shuffling_resources_never_changes_the_verdicts(objs, rnd):
    before = analyze(objs)
    order = list(range(len(objs)))
    rnd.shuffle(order)
    # Each object keeps its own origin (line), wherever it now sits in the input.
    after = analyze([objs[i] for i in order], [i + 1 for i in order])
    assert finding_set(after) == finding_set(before)
    assert canonical(report(after)) == canonical(report(before))


@settings(PROPERTY, max_examples=30, suppress_health_check=list(HealthCheck))
@given(meshes(), st.randoms(use_true_random=False))
def test_spreading_documents_over_files_in_any_order_never_changes_the_report(
    tmp_path_factory, objs, rnd
):
    """The same through the real loader and `check -o json`: only file and line may change."""
    one = tmp_path_factory.mktemp("one")
    (one / "mesh.yaml").write_text("---\n".join(dump(o) for o in objs))
    many = tmp_path_factory.mktemp("many")
    shuffled = list(objs)
    rnd.shuffle(shuffled)
    files = rnd.randint(1, len(shuffled))
    for k in range(files):
        part = shuffled[k::files]
        path = many / rnd.choice(["a", "b", "sub/c", "z"]) / f"{rnd.randrange(100):02d}-{k}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n".join(dump(o) for o in part))
    drop = frozenset({"source", "file", "line", "diff"})  # a fix's diff names its file
    rc_one, report_one, _ = run_json(one)
    rc_many, report_many, _ = run_json(many)
    assert rc_one == rc_many
    assert canonical(report_many, drop) == canonical(report_one, drop)


# -- (d) a namespace's name is only a name ---------------------------------------------------


@PROPERTY
@given(meshes(), st.sampled_from(NAMESPACES))
def test_renaming_a_namespace_renames_its_hosts_and_changes_nothing_else(objs, namespace):
    # The new name sorts where the old one did: pilot breaks creation-time ties between
    # ServiceEntries by name, then namespace, so the order of names is part of the input.
    new = f"{namespace}renamed"
    before = report(analyze(objs))
    after = report(analyze([replace_strings(o, namespace, new) for o in objs]))
    assert canonical(after) == canonical(replace_strings(before, namespace, new))
    hosts_before = {h["host"] for h in before["hosts"]}
    hosts_after = {h["host"] for h in after["hosts"]}
    renamed = {h for h in hosts_before if f".{namespace}." in h}
    assert hosts_after == (hosts_before - renamed) | {
        h.replace(f".{namespace}.", f".{new}.") for h in renamed
    }


# -- (e) nothing makes the core raise --------------------------------------------------------


def _run_core(objs: list[Obj]) -> None:
    analysis = build_mesh(objs)[0].analyze()
    render_json(to_json([analysis], [analysis.findings], "mesh"))


@PROPERTY
@given(meshes(), st.data())
def test_no_value_in_any_field_makes_the_core_raise(objs, data):
    objs = list(objs)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(objs) - 1))
        where = list(paths(objs[i]))
        path = data.draw(st.sampled_from(where))
        objs[i] = mutated(objs[i], path, data.draw(json_values))
    _run_core(objs)


@pytest.mark.parametrize("depth", [40, 400, 5000])
@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("DestinationRule", ("spec", "trafficPolicy", "loadBalancer")),
        ("DestinationRule", ("spec", "subsets", 0, "trafficPolicy", "tls")),
        ("VirtualService", ("spec", "http", 0, "match", 0, "port")),
        ("Service", ("metadata", "creationTimestamp")),
        ("Pod", ("status", "phase")),
    ],
)
def test_deeply_nested_values_do_not_make_the_core_raise(kind, field, depth):
    objs = {
        "DestinationRule": destination_rule(
            "r", "nsq0", "alpha", [{"name": "v1", "trafficPolicy": {}}], {}
        ),
        "VirtualService": virtual_service(
            "v", "nsq0", ["alpha"], http=[{"match": [{}], "route": [destination("alpha")]}]
        ),
        "Service": service("alpha", "nsq0"),
        "Pod": pod("p", "nsq0", {"app": "alpha"}),
    }
    obj = mutated(objs[kind], field, deeply_nested(depth))
    _run_core([obj, service("alpha", "nsq0")])


@PROPERTY
@given(st.lists(json_values, min_size=1, max_size=10), st.sampled_from(["metadata", "spec"]))
def test_arbitrary_objects_of_known_kinds_do_not_make_the_core_raise(values, where):
    kinds = [
        ("v1", "Service"),
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("networking.istio.io/v1", "DestinationRule"),
        ("networking.istio.io/v1beta1", "VirtualService"),
        ("networking.istio.io/v1alpha3", "ServiceEntry"),
    ]
    objs = []
    for n, value in enumerate(values):
        api, kind = kinds[n % len(kinds)]
        obj: Obj = {"apiVersion": api, "kind": kind, "metadata": {"name": f"o{n}"}}
        obj[where] = value
        objs.append(obj)
    _run_core(objs)


def test_a_self_containing_policy_from_a_live_object_does_not_make_the_core_raise():
    policy: Obj = {}
    policy["loadBalancer"] = policy
    rule = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "r", "namespace": "nsq0"},
        "spec": {"host": "alpha", "trafficPolicy": policy},
    }
    _run_core([rule])


def test_renaming_helper_only_touches_the_namespace():
    obj = virtual_service("route0", "nsq1", [fqdn("alpha", "nsq1")])
    renamed = replace_strings(obj, "nsq1", "zrenamed")
    assert get_path(renamed, ("metadata", "namespace")) == "zrenamed"
    assert renamed["spec"]["hosts"] == ["alpha.zrenamed.svc.cluster.local"]
    assert json.dumps(renamed).count("zrenamed") == 2


# -- (g) client views ----------------------------------------------------------------------


def _client_view(objs: list[Obj], namespace: str | None) -> set[str]:
    """The verdicts sidecars in `namespace` get (every client's when None): the findings
    without the client namespaces they name, and their wording, which names them too."""
    mesh, _ = build_mesh(objs)
    mesh.set_client_namespace(namespace)
    drop = frozenset({"clientNamespaces", "exceptClientNamespaces", "message"})
    return {
        json.dumps(canonical(json.loads(f), drop), sort_keys=True)
        for f in finding_set(mesh.analyze())
    }


@PROPERTY
@given(meshes(), st.data())
def test_a_new_client_namespace_with_its_own_rules_changes_no_other_namespace_view(objs, data):
    """A DR in a third namespace applies only to clients there (push_context.go
    destinationRule: the client's own namespace first)."""
    namespace = data.draw(st.sampled_from(NAMESPACES), "client namespace")
    before = _client_view(objs, namespace)
    target = data.draw(st.sampled_from([o for o in objs if o["kind"] == "Service"]), "host")
    host = fqdn(target["metadata"]["name"], target["metadata"]["namespace"])
    policy = {"loadBalancer": {"simple": "RANDOM"}}
    own = destination_rule(
        "mine",
        "nsfresh",
        host,
        [{"name": "v9", "labels": {"version": "v9"}, "trafficPolicy": policy}],
        policy,
    )
    assert _client_view([*objs, own], namespace) == before
    # Two namespaces without config of their own see the same mesh.
    assert _client_view(objs, "nsfresh") == _client_view(objs, "nsother")


@PROPERTY
@given(meshes(), st.sampled_from(NAMESPACES))
def test_with_one_client_class_the_all_clients_view_is_that_class_view(objs, namespace):
    analysis = analyze(objs)
    assume(all(len(h.views) <= 1 for h in analysis.hosts.values()))
    assert _client_view(objs, None) == _client_view(objs, namespace)


# -- (h) following changes --------------------------------------------------------------------


def _parsed(obj: Obj, line: int) -> Resource:
    parsed = parse_object(obj, Origin(file="mesh.yaml", line=line))
    assert parsed is not None and not isinstance(parsed, InvalidField)
    return parsed


def _fresh(resources: dict[ObjectRef, Resource]) -> Mesh:
    mesh = Mesh()
    mesh.workloads.mark_known(NAMESPACES)
    mesh.load(resources.values())
    return mesh


def _noisy(obj: Obj, data: st.DataObject) -> Obj:
    """The object, perhaps with what the checks report (an unknown field, a missing host)
    and perhaps with istioctl's suppression annotation."""
    out = copy.deepcopy(obj)
    if obj["kind"] == "DestinationRule" and data.draw(st.booleans(), "unknown field"):
        out["spec"]["trafficPolicy"] = {**(out["spec"].get("trafficPolicy") or {}), "bogus": 1}
    if obj["kind"] == "VirtualService" and data.draw(st.booleans(), "missing host"):
        out["spec"]["http"] = [{"route": [destination(fqdn("nowhere", "nsq0"))]}]
    if data.draw(st.integers(0, 4), "suppressed") == 0:
        code = data.draw(st.sampled_from(["IST0101", "IST0173", "*"]))
        out["metadata"]["annotations"] = {"galley.istio.io/analyze-suppress": code}
    return out


@settings(PROPERTY, max_examples=60)
@given(meshes(), meshes(), st.data())
def test_a_mesh_followed_change_by_change_analyses_as_one_read_at_the_end(first, second, data):
    """Following a cluster or a folder re-analyses only the hosts a change touches; whatever
    the changes and whenever the view is taken, it is the analysis of a fresh read."""
    current: dict[ObjectRef, Resource] = {}
    for i, obj in enumerate(first):
        resource = _parsed(obj, i + 1)
        current[resource.meta.ref] = resource
    mesh = _fresh(current)
    mesh.analyze()
    pool = [*first, *second]
    for step in range(data.draw(st.integers(1, 12), "changes")):
        if current and data.draw(st.integers(0, 3), "remove") == 0:
            ref = data.draw(st.sampled_from(sorted(current, key=str)), "removed")
            del current[ref]
            mesh.remove(ref)
        else:
            obj = _noisy(data.draw(st.sampled_from(pool), "changed"), data)
            resource = _parsed(obj, 1000 + step)
            current[resource.meta.ref] = resource
            mesh.add(resource)
        if data.draw(st.booleans(), "looked at"):
            mesh.analyze()
    # The route index keeps a re-added VirtualService's routes last: orders may differ
    # (as between two reads in other orders, (c)), verdicts may not.
    got, want = mesh.analyze(), _fresh(current).analyze()
    assert list(got.hosts) == list(want.hosts)  # in host order, as the tree and reports list them
    assert finding_set(got) == finding_set(want)
    assert set(got.suppressed) == set(want.suppressed)
    assert canonical(report(got)) == canonical(report(want))
