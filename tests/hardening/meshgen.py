"""Generators for the hardening tests: meshes as raw Kubernetes objects, and hostile values.

A mesh is a list of plain dicts, as `kubectl get -o json` would show them. The same lists are
fed to the core (`parse_object` → `Mesh`) by the property tests and written to YAML folders
for the loader and `meshtui check` by the fuzz tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import yaml
from hypothesis import strategies as st

from meshtui.check.report import finding_json, render_json, to_json
from meshtui.mesh.analysis import Analysis, Mesh
from meshtui.mesh.findings import Code
from meshtui.mesh.resources import InvalidField, Origin, Resource, Workload, parse_object

Obj = dict[str, Any]

ISTIO = "networking.istio.io/v1"
DOMAIN = "svc.cluster.local"
# Distinctive names, so a namespace can be renamed by replacing its name in every string.
NAMESPACES = ("nsq0", "nsq1", "nsq2")
SERVICES = ("alpha", "beta", "gamma")
VERSIONS = ("v1", "v2", "v3")
PORTS = (8080, 9090)
POLICY_FIELDS = ("loadBalancer", "connectionPool", "outlierDetection", "tls")


def fqdn(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.{DOMAIN}"


# -- objects --------------------------------------------------------------------------------


def service(name: str, namespace: str, ports: Iterable[int] = (8080,)) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": f"p{p}", "port": p} for p in ports],
        },
    }


def deployment(name: str, namespace: str, labels: Mapping[str, str], replicas: int = 1) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
            },
        },
    }


def pod(name: str, namespace: str, labels: Mapping[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def destination_rule(
    name: str,
    namespace: str,
    host: str,
    subsets: Sequence[Obj] = (),
    policy: Obj | None = None,
    export_to: list[str] | None = None,
) -> Obj:
    spec: Obj = {"host": host}
    if policy is not None:
        spec["trafficPolicy"] = policy
    if subsets:
        spec["subsets"] = list(subsets)
    if export_to is not None:
        spec["exportTo"] = export_to
    return {
        "apiVersion": ISTIO,
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def destination(host: str, subset: str | None = None, weight: int | None = None) -> Obj:
    out: Obj = {"destination": {"host": host}}
    if subset is not None:
        out["destination"]["subset"] = subset
    if weight is not None:
        out["weight"] = weight
    return out


def virtual_service(
    name: str,
    namespace: str,
    hosts: Sequence[str],
    http: Sequence[Obj] = (),
    tcp: Sequence[Obj] = (),
    gateways: list[str] | None = None,
) -> Obj:
    spec: Obj = {"hosts": list(hosts)}
    if gateways is not None:
        spec["gateways"] = gateways
    if http:
        spec["http"] = list(http)
    if tcp:
        spec["tcp"] = list(tcp)
    return {
        "apiVersion": ISTIO,
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def service_entry(name: str, namespace: str, hosts: Sequence[str]) -> Obj:
    return {
        "apiVersion": ISTIO,
        "kind": "ServiceEntry",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": list(hosts),
            "ports": [{"number": 443, "name": "https", "protocol": "TLS"}],
            "resolution": "DNS",
        },
    }


# -- strategies: valid meshes ---------------------------------------------------------------

load_balancers = st.sampled_from(
    [
        {"simple": "ROUND_ROBIN"},
        {"simple": "LEAST_REQUEST"},
        {"simple": "RANDOM"},
        {"consistentHash": {"httpHeaderName": "x-user"}},
    ]
)
connection_pools = st.sampled_from(
    [
        {"tcp": {"maxConnections": 10}},
        {"http": {"http2MaxRequests": 100}},
        {"tcp": {"maxConnections": 5}, "http": {"maxRetries": 2}},
    ]
)
outlier_detections = st.builds(
    lambda n, i: {"consecutive5xxErrors": n, "interval": f"{i}s"},
    st.integers(1, 10),
    st.integers(1, 60),
)
tls_settings = st.sampled_from([{"mode": "ISTIO_MUTUAL"}, {"mode": "DISABLE"}, {"mode": "SIMPLE"}])
_FIELD_VALUES = {
    "loadBalancer": load_balancers,
    "connectionPool": connection_pools,
    "outlierDetection": outlier_detections,
    "tls": tls_settings,
}


def _port_entries() -> st.SearchStrategy[list[Obj]]:
    # Istio's webhook rejects a port-level entry that sets nothing (validatePortTrafficPolicies).
    entry = st.builds(
        lambda port, fields, fallback: {"port": {"number": port}, **(fields or fallback)},
        st.sampled_from(PORTS),
        st.fixed_dictionaries({}, optional=_FIELD_VALUES),
        st.fixed_dictionaries(_FIELD_VALUES).map(lambda d: dict(list(d.items())[:1])),
    )
    return st.lists(entry, max_size=2, unique_by=lambda e: e["port"]["number"])


@st.composite
def policies(draw: st.DrawFn, *, nonempty: bool = False) -> Obj:
    """A TrafficPolicy: a few top-level fields, sometimes port-level settings."""
    policy = draw(st.fixed_dictionaries({}, optional=_FIELD_VALUES))
    ports = draw(_port_entries())
    if ports:
        policy["portLevelSettings"] = ports
    if nonempty and not policy:
        policy["loadBalancer"] = draw(load_balancers)
    return policy


@st.composite
def subsets(draw: st.DrawFn) -> list[Obj]:
    names = draw(st.lists(st.sampled_from(VERSIONS), max_size=3, unique=True))
    out = []
    for name in names:
        s: Obj = {"name": name, "labels": {"version": name}}
        if draw(st.booleans()):
            s["trafficPolicy"] = draw(policies(nonempty=True))
        out.append(s)
    return out


@st.composite
def routes(draw: st.DrawFn, namespace: str, services: Sequence[tuple[str, str]]) -> list[Obj]:
    """`http` routes to the given (namespace, service) hosts, some subsets, weights, mirrors."""
    out = []
    for _ in range(draw(st.integers(1, 2))):
        dests = []
        for _ in range(draw(st.integers(1, 3))):
            ns, name = draw(st.sampled_from(services))
            host = name if ns == namespace and draw(st.booleans()) else fqdn(name, ns)
            subset = draw(st.none() | st.sampled_from((*VERSIONS, "v9")))
            weight = draw(st.none() | st.sampled_from([0, 10, 50, 100]))
            dests.append(destination(host, subset, weight))
        if len(dests) > 1 and not sum(d.get("weight") or 0 for d in dests):
            # Istio's webhook rejects several destinations whose weights total 0
            # (validateHTTPRouteDestinations): the first takes the traffic.
            dests[0]["weight"] = 100
        r: Obj = {"route": dests}
        if draw(st.integers(0, 4)) == 0:
            ns, name = draw(st.sampled_from(services))
            r["mirror"] = {"host": fqdn(name, ns), "subset": draw(st.sampled_from(VERSIONS))}
        out.append(r)
    return out


@st.composite
def meshes(draw: st.DrawFn) -> list[Obj]:
    """A small mesh: namespaces with Services, Deployments, DRs (subsets, policies) and VSs."""
    objs: list[Obj] = []
    namespaces = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=3, unique=True))
    hosts: list[tuple[str, str]] = []
    for ns in namespaces:
        for name in draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True)):
            hosts.append((ns, name))
            ports = draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2, unique=True))
            objs.append(service(name, ns, ports))
            for v in draw(st.lists(st.sampled_from(VERSIONS), max_size=3, unique=True)):
                labels = {"app": name, "version": v}
                if draw(st.integers(0, 3)) == 0:
                    objs.append(pod(f"{name}-{v}-pod", ns, labels))
                else:
                    objs.append(deployment(f"{name}-{v}", ns, labels, draw(st.integers(0, 3))))
            for k in range(draw(st.integers(0, 2))):
                host = draw(st.sampled_from([name, fqdn(name, ns)]))
                top = draw(st.none() | policies(nonempty=True))
                objs.append(destination_rule(f"{name}-dr{k}", ns, host, draw(subsets()), top))
    for ns in namespaces:
        for k in range(draw(st.integers(0, 2))):
            targets = draw(st.lists(st.sampled_from(hosts), min_size=1, max_size=2, unique=True))
            vs_hosts = [fqdn(name, t_ns) for t_ns, name in targets]
            gateways = draw(st.none() | st.just(["mesh"]) | st.just(["edge-gateway"]))
            http = draw(routes(ns, hosts))
            tcp = draw(st.just([]) | routes(ns, hosts))
            objs.append(virtual_service(f"route{k}", ns, vs_hosts, http, tcp, gateways))
    if draw(st.booleans()):
        # The same external host declared in two namespaces, under the same name.
        for ns in draw(st.lists(st.sampled_from(namespaces), min_size=1, max_size=2, unique=True)):
            objs.append(service_entry("external", ns, ["api.example.com"]))
        objs.append(
            destination_rule(
                "external",
                namespaces[0],
                "api.example.com",
                draw(subsets()),
                draw(st.none() | policies(nonempty=True)),
            )
        )
    if draw(st.integers(0, 3)) == 0:
        ns = draw(st.sampled_from(namespaces))
        objs.append(
            destination_rule(
                "wildcard", ns, f"*.{ns}.{DOMAIN}", draw(subsets()), draw(policies(nonempty=True))
            )
        )
    return objs


# -- strategies: hostile values -------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "*", ".", "~", "mesh", "v1", "0", "[bold]x[/]", "\x1b[31m", "a\x00b"])
)
# Any JSON-like value: what a field of a live object or a careless YAML file can hold.
json_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.integers(0, 9), inner, max_size=3)
    ),
    max_leaves=8,
)


def deeply_nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside `obj` (mapping keys and list indexes)."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield (*prefix, i)
            yield from paths(v, (*prefix, i))


def get_path(obj: Any, path: Sequence[Any]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def set_path(obj: Any, path: Sequence[Any], value: Any) -> None:
    get_path(obj, path[:-1])[path[-1]] = value


def replace_strings(value: Any, old: str, new: str) -> Any:
    """A deep copy of `value` with `old` replaced by `new` in every string (keys too)."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, Mapping):
        return {
            replace_strings(k, old, new): replace_strings(v, old, new) for k, v in value.items()
        }
    if isinstance(value, list):
        return [replace_strings(v, old, new) for v in value]
    return value


# -- running the core -----------------------------------------------------------------------


def build_mesh(
    objs: Sequence[Obj], lines: Sequence[int] | None = None
) -> tuple[Mesh, list[InvalidField]]:
    """Parse raw objects and load them into a Mesh the way the offline source does.

    Object i is said to come from line `lines[i]` of mesh.yaml (default: i + 1). What the API
    server or Istio's webhook rejects is among the invalid ones: an InvalidField, or a
    resource read without the rejected fields (loaded, marked rejected, out of the analysis).
    """
    resources: list[Resource] = []
    invalid: list[InvalidField] = []
    for i, obj in enumerate(objs):
        parsed = parse_object(obj, Origin(file="mesh.yaml", line=lines[i] if lines else i + 1))
        if isinstance(parsed, InvalidField):
            invalid.append(parsed)
        elif parsed is not None:
            resources.append(parsed)
            if parsed.meta.rejected is not None:
                invalid.append(parsed.meta.rejected)
    mesh = Mesh()
    mesh.workloads.mark_known(r.meta.ref.namespace for r in resources if isinstance(r, Workload))
    mesh.load(resources)
    return mesh, invalid


def analyze(objs: Sequence[Obj], lines: Sequence[int] | None = None) -> Analysis:
    return build_mesh(objs, lines)[0].analyze()


def report(analysis: Analysis) -> dict[str, Any]:
    """The `check -o json` document of an analysis, through the real renderer."""
    return json.loads(render_json(to_json([analysis], [analysis.findings], "mesh")))


def canonical(value: Any, drop: frozenset[str] = frozenset()) -> Any:
    """`value` with every list sorted and the keys in `drop` removed: JSON modulo order."""
    if isinstance(value, Mapping):
        return {k: canonical(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        items = [canonical(v, drop) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def never_applied(analysis: Analysis) -> set[tuple[str, str]]:
    return {
        (f.host or "", f.subset or "")
        for f in analysis.findings
        if f.code is Code.SUBSET_POLICY_NEVER_APPLIED
    }


def finding_set(analysis: Analysis) -> set[str]:
    return {json.dumps(finding_json(f), sort_keys=True) for f in analysis.findings}


def strict_json(text: str) -> Any:
    """Parse JSON as a strict parser would: NaN and Infinity are not JSON."""

    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=False)


def mutated(obj: Obj, path: Sequence[Any], value: Any) -> Obj:
    out = copy.deepcopy(obj)
    set_path(out, path, value)
    return out
