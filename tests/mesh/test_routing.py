"""The routing table is the oracle the trace must agree with (shared/testing.md): for generated
meshes and every client namespace, every subset a traced request reaches is one the client's
table routes to, and every route the table lists is reached by a request built from its own
match."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.findings import Code
from meshtui.mesh.trace import Client, trace
from tests.helpers import build_mesh, dest, dr, route, service, subset, svc_host, vs

NAMESPACES = ("a", "b", "c")
CLIENTS = (*NAMESPACES, "elsewhere")
SERVICES = ("web", "api")
PORTS = (8080, 9090)
TIMES = ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", None)
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}


@st.composite
def matches(draw: st.DrawFn, k: int) -> list[dict]:
    """Rule k's match: its own path prefix (so a request built from it matches no other rule's
    prefix) or, now and then, every path (a catch-all, which ends the routes pilot builds for
    the proxies it holds for), maybe narrowed to a port, a source namespace or a gateway (with a
    source namespace too, which pilot then ignores for HTTP: route.go sourceMatchHTTP)."""
    if draw(st.integers(0, 4)) == 0:
        return []
    every = draw(st.integers(0, 5)) == 0
    block: dict = {"uri": {"prefix": "/" if every else f"/r{k}/"}}
    extra = draw(st.sampled_from(["", "port", "source", "gateway", "gateway+source"]))
    if extra == "port":
        block["port"] = draw(st.sampled_from(PORTS))
    if extra in ("source", "gateway+source"):
        block["sourceNamespace"] = draw(st.sampled_from(NAMESPACES))
    if extra in ("gateway", "gateway+source"):
        block["gateways"] = [draw(st.sampled_from(["mesh", "missing"]))]
    return [block]


@st.composite
def routing_meshes(draw: st.DrawFn) -> list[dict]:
    objs: list[dict] = []
    hosts = [(ns, name) for ns in NAMESPACES[:2] for name in SERVICES]
    for ns, name in hosts:
        objs.append(service(name, namespace=ns, ports=draw(st.sampled_from([(8080,), PORTS]))))
        objs.append(
            dr(
                name,
                name,
                namespace=ns,
                subsets=[subset("v1"), subset("v2", policy=RANDOM), subset("v3")],
            )
        )
        if draw(st.booleans()):  # a client namespace's own DR for the host, maybe exported
            client = draw(st.sampled_from(NAMESPACES))
            objs.append(
                dr(
                    f"{name}-{ns}-own",
                    svc_host(name, ns),
                    namespace=client,
                    subsets=[subset("v2", policy=RANDOM)],
                    export_to=draw(st.sampled_from([None, ["."], ["*"], ["c"]])),
                )
            )
    k = 0
    for n in range(draw(st.integers(1, 4))):
        ns = draw(st.sampled_from(NAMESPACES))
        targets = draw(st.lists(st.sampled_from(hosts), min_size=1, max_size=2, unique=True))
        rules = []
        for _ in range(draw(st.integers(1, 3))):
            t_ns, t_name = draw(st.sampled_from(hosts))
            dests = [
                dest(svc_host(t_name, t_ns), draw(st.sampled_from(["v1", "v2", "v3"])))
                for _ in range(draw(st.integers(1, 2)))
            ]
            if len(dests) == 2:
                dests[0]["weight"], dests[1]["weight"] = draw(
                    st.sampled_from([(50, 50), (100, 0), (90, 10)])
                )
            rules.append(route(*dests, match=draw(matches(k))))
            k += 1
        objs.append(
            vs(
                f"vs{n}",
                [svc_host(name, t_ns) for t_ns, name in targets],
                namespace=ns,
                http=rules,
                export_to=draw(st.sampled_from([None, ["."], ["*"], ["b"]])),
                created=draw(st.sampled_from(TIMES)),
            )
        )
    # Gateway API mesh routes (issue 21): entries of the same table, ordered against the VSs.
    for n in range(draw(st.integers(0, 3))):
        ns = draw(st.sampled_from(NAMESPACES))
        p_ns, p_name = draw(st.sampled_from(hosts))
        parent: dict = {"group": "", "kind": "Service", "name": p_name, "namespace": p_ns}
        if draw(st.booleans()):
            parent["port"] = draw(st.sampled_from(PORTS))
        rules = []
        for _ in range(draw(st.integers(1, 2))):
            backends = []
            for _ in range(draw(st.integers(1, 2))):
                b_ns, b_name = draw(st.sampled_from(hosts))
                ref: dict = {"name": b_name, "namespace": b_ns}
                weight = draw(st.sampled_from([None, 1, 3, 0]))
                if weight is not None:
                    ref["weight"] = weight
                backends.append(ref)
            rule: dict = {"backendRefs": backends}
            if draw(st.integers(0, 3)):
                rule["matches"] = [{"path": {"type": "PathPrefix", "value": f"/r{k}"}}]
                k += 1
            rules.append(rule)
        meta: dict = {"name": f"hr{n}", "namespace": ns}
        created = draw(st.sampled_from(TIMES))
        if created:
            meta["creationTimestamp"] = created
        objs.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": meta,
                "spec": {"parentRefs": [parent], "rules": rules},
            }
        )
    return objs


def _request_path(r) -> str:
    for m in r.matches:
        uri = m.get("uri") or {}
        prefix = uri.get("prefix")
        if prefix:
            # A Gateway API PathPrefix matches whole segments only.
            return prefix + ("/x" if uri.get("pathSeparated") else "x")
    return "/"


@st.composite
def data_planes(draw: st.DrawFn) -> list[dict]:
    """Namespace labels (sidecar, ambient with or without a waypoint, out of the mesh) and
    Sidecars for the generated namespaces (meshtui.mesh.dataplane)."""
    objs: list[dict] = []
    for ns in CLIENTS:
        labels = draw(
            st.sampled_from(
                [
                    None,
                    {"istio-injection": "enabled"},
                    {"istio-injection": "disabled"},
                    {"istio.io/dataplane-mode": "ambient"},
                    {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"},
                    {
                        "istio.io/dataplane-mode": "ambient",
                        "istio.io/use-waypoint": "waypoint",
                        "istio.io/use-waypoint-namespace": "c",
                    },
                ]
            )
        )
        if labels is not None:
            objs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "labels": labels},
                }
            )
        if draw(st.integers(0, 2)) == 0:
            hosts = draw(
                st.lists(st.sampled_from(["./*", "*/*", "a/*", "b/*"]), min_size=1, max_size=2)
            )
            objs.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "Sidecar",
                    "metadata": {"name": "default", "namespace": ns},
                    "spec": {"egress": [{"hosts": hosts}]},
                }
            )
        if draw(st.booleans()):
            objs.append(
                {
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "Gateway",
                    "metadata": {"name": "waypoint", "namespace": ns},
                    "spec": {"gatewayClassName": "istio-waypoint"},
                }
            )
    return objs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objs=routing_meshes(), data=st.data())
def test_the_trace_reaches_what_the_table_routes_and_the_table_routes_what_it_reaches(objs, data):
    check_trace_against_table(objs, data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objs=routing_meshes(), plane=data_planes(), data=st.data())
def test_with_data_planes_the_trace_and_the_table_still_agree(objs, plane, data):
    # HTTPRoutes included: a waypoint takes them and VirtualServices in one row, in its order.
    check_trace_against_table([*objs, *plane], data)


def check_trace_against_table(objs: list[dict], data: st.DataObject) -> None:
    mesh = build_mesh(*objs)
    hosts = [h for h in mesh.hosts() if mesh.analyze_host(h) is not None]
    for client in CLIENTS:
        scope = ClientSet.of([client])
        live = [r for h in hosts for r in mesh.table.routes_to(h, scope).live]
        routed = {(r.virtual_service, r.host, r.subset) for r in live if r.kind != "mirror"}
        for host in hosts:
            service = mesh.analyze_host(host).service
            for port in sorted({p.number for p in service.ports}) if service else ():
                path = data.draw(st.sampled_from(["/", *(f"/r{k}/x" for k in range(18))]))
                t = trace(mesh, Client(client), host, port, path=path)
                if t.virtual_service is None:
                    continue  # default routing: no VirtualService route is involved
                for hop in t.destinations:
                    if hop.weight > 0:
                        assert (t.virtual_service, hop.host, hop.subset) in routed
        for r in live:
            if r.kind == "mirror" or r.weight <= 0 or "mesh" not in r.gateways:
                continue
            vs_ = mesh.routes.get(r.virtual_service)
            sent = False
            for host in mesh.routes.hosts_of(vs_):
                service = mesh.analyze_host(host).service
                for port in sorted({p.number for p in service.ports}):
                    # Where the table says the route takes this client's requests to the host
                    # and port (its sidecar's rule, or the waypoint's), a request built from
                    # the route's own match must take it.
                    if client not in mesh.table.port_clients(r, host, port, ("http",)):
                        continue
                    t = trace(mesh, Client(client), host, port, path=_request_path(r))
                    assert t.virtual_service == r.virtual_service
                    # The rule as written: `http[i]`, or the Gateway API route's `rules[i]`.
                    assert (t.written_in, t.rule) == (r.source or r.virtual_service, r.rule)
                    assert (r.host, r.subset) in {(h.host, h.subset) for h in t.destinations}
                    sent = True
            assert sent, f"{r.describe()} is live for {client} but no request reaches it"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objs=routing_meshes(), client=st.sampled_from([None, *CLIENTS]))
def test_one_view_never_contradicts_itself(objs, client):
    """No weight beside "never applied", no route both carried and dropped, no DestinationRule
    both in force and never applied, whatever the view."""
    mesh = build_mesh(*objs)
    mesh.set_client_namespace(client)
    analysis = mesh.analyze()
    unknown = {
        f.resource for f in analysis.findings if f.code is Code.UNKNOWN_DESTINATION_RULE_HOST
    }
    for h in analysis.hosts.values():
        assert not {id(r) for r in h.routes} & {id(r) for r in h.dropped_routes}
        assert all(r.dropped for r in h.dropped_routes)
        assert all(r.weight > 0 and r.clients and not r.dropped for r in h.routes)
        for s in h.subsets:
            if s.policy_never_applied:
                assert not s.routes, (h.host, s.name)
            assert all(r.clients & s.clients for r in s.routes)
            assert all(r.dropped for r in s.dropped_routes)
        for v in h.views:
            in_force = {r.meta.ref for r in (v.rule.rules if v.rule else ())}
            assert not in_force & unknown, (h.host, in_force & unknown)
