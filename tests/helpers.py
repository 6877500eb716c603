"""Tiny builders of Kubernetes and Istio objects (dicts as `kubectl get -o json` shows them).

Tests write what a user writes; these only spare them the boilerplate of apiVersion/metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from meshtui.mesh.analysis import Analysis, HostAnalysis, Mesh, SubsetAnalysis
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import InvalidField, Origin, Resource, Workload, parse_object

ISTIO_V1 = "networking.istio.io/v1"
ISTIO_API_VERSIONS = (
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
)

Obj = dict[str, Any]


def _metadata(name: str, namespace: str | None, created: str | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if created is not None:
        meta["creationTimestamp"] = created
    return meta


def subset(name: str, labels: Mapping[str, str] | None = None, policy: Obj | None = None) -> Obj:
    out: Obj = {"name": name, "labels": dict(labels if labels is not None else {"version": name})}
    if policy is not None:
        out["trafficPolicy"] = policy
    return out


def port_policy(number: int, **fields: Any) -> Obj:
    """One `portLevelSettings` entry."""
    return {"port": {"number": number}, **fields}


def dr(
    name: str,
    host: str,
    *,
    namespace: str | None = "default",
    subsets: Iterable[Obj] = (),
    policy: Obj | None = None,
    export_to: list[str] | None = None,
    selector: Mapping[str, str] | None = None,
    created: str | None = None,
    api_version: str = ISTIO_V1,
) -> Obj:
    spec: Obj = {"host": host}
    if policy is not None:
        spec["trafficPolicy"] = policy
    subsets = list(subsets)
    if subsets:
        spec["subsets"] = subsets
    if export_to is not None:
        spec["exportTo"] = export_to
    if selector is not None:
        spec["workloadSelector"] = {"matchLabels": dict(selector)}
    return {
        "apiVersion": api_version,
        "kind": "DestinationRule",
        "metadata": _metadata(name, namespace, created),
        "spec": spec,
    }


def dest(
    host: str, subset: str | None = None, *, weight: int | None = None, port: int | None = None
) -> Obj:
    """One weighted destination of a route (`route[]` entry)."""
    d: Obj = {"host": host}
    if subset is not None:
        d["subset"] = subset
    if port is not None:
        d["port"] = {"number": port}
    out: Obj = {"destination": d}
    if weight is not None:
        out["weight"] = weight
    return out


def tls_route(*destinations: Obj, sni: Iterable[str] = ("reviews",), **extra: Any) -> Obj:
    """A `tls` rule: Istio's webhook requires a match with the SNI hosts it serves."""
    return {"match": [{"sniHosts": list(sni)}], **route(*destinations, **extra)}


def route(*destinations: Obj, **extra: Any) -> Obj:
    """One `http`/`tcp`/`tls` entry routing to `destinations`."""
    out: Obj = dict(extra)
    if destinations:
        out["route"] = list(destinations)
    return out


def vs(
    name: str,
    hosts: Iterable[str] | None,
    *,
    namespace: str | None = "default",
    http: Iterable[Obj] = (),
    tcp: Iterable[Obj] = (),
    tls: Iterable[Obj] = (),
    gateways: list[str] | None = None,
    export_to: list[str] | None = None,
    api_version: str = ISTIO_V1,
    created: str | None = None,
) -> Obj:
    spec: Obj = {}
    if hosts is not None:
        spec["hosts"] = list(hosts)
    if gateways is not None:
        spec["gateways"] = gateways
    if export_to is not None:
        spec["exportTo"] = export_to
    for key, routes in (("http", http), ("tcp", tcp), ("tls", tls)):
        routes = list(routes)
        if routes:
            spec[key] = routes
    return {
        "apiVersion": api_version,
        "kind": "VirtualService",
        "metadata": _metadata(name, namespace, created),
        "spec": spec,
    }


def gateway(name: str, hosts: Iterable[str] = ("*",), *, namespace: str = "default") -> Obj:
    """An ingress Gateway with one HTTP server for `hosts`."""
    return {
        "apiVersion": ISTIO_V1,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": list(hosts)}
            ],
        },
    }


def service(
    name: str,
    *,
    namespace: str | None = "default",
    selector: Mapping[str, str] | None = None,
    ports: Iterable[int] = (80,),
) -> Obj:
    spec: Obj = {"ports": [{"name": f"http-{p}", "port": p} for p in ports]}
    spec["selector"] = dict(selector if selector is not None else {"app": name})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(name, namespace, None),
        "spec": spec,
    }


def service_entry(
    name: str,
    hosts: Iterable[str],
    *,
    namespace: str | None = "default",
    ports: Iterable[int] = (443,),
    selector: Mapping[str, str] | None = None,
    api_version: str = ISTIO_V1,
    export_to: list[str] | None = None,
) -> Obj:
    spec: Obj = {
        "hosts": list(hosts),
        "ports": [{"number": p, "name": f"p{p}", "protocol": "TLS"} for p in ports],
    }
    if selector is not None:
        spec["workloadSelector"] = {"labels": dict(selector)}
    if export_to is not None:
        spec["exportTo"] = export_to
    return {
        "apiVersion": api_version,
        "kind": "ServiceEntry",
        "metadata": _metadata(name, namespace, None),
        "spec": spec,
    }


def deployment(
    name: str,
    labels: Mapping[str, str],
    *,
    namespace: str | None = "default",
    replicas: int | None = 1,
    kind: str = "Deployment",
) -> Obj:
    api = {"Job": "batch/v1"}.get(kind, "apps/v1")
    spec: Obj = {"template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": []}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": _metadata(name, namespace, None),
        "spec": spec,
    }


def pod(name: str, labels: Mapping[str, str], *, namespace: str | None = "default") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**_metadata(name, namespace, None), "labels": dict(labels)},
        "spec": {"containers": []},
    }


# -- from objects to the core's values ---------------------------------------------------------


def parse(obj: Obj, origin: Origin | None = None) -> Resource:
    parsed = parse_object(obj, origin or Origin(file="test.yaml", line=1))
    assert parsed is not None, f"{obj.get('kind')} not read"
    assert not isinstance(parsed, InvalidField), parsed
    assert parsed.meta.rejected is None, parsed.meta.rejected
    return parsed


def build_mesh(*objs: Obj, config: MeshConfig | None = None) -> Mesh:
    """A Mesh fed the way the offline source feeds it (workload namespaces marked known)."""
    resources = [parse(o) for o in objs]
    mesh = Mesh(config)
    mesh.workloads.mark_known(r.meta.ref.namespace for r in resources if isinstance(r, Workload))
    mesh.load(resources)
    return mesh


def analyze(*objs: Obj, config: MeshConfig | None = None) -> Analysis:
    return build_mesh(*objs, config=config).analyze()


def host(analysis: Analysis, name: str) -> HostAnalysis:
    assert name in analysis.hosts, f"{name} not in {sorted(analysis.hosts)}"
    return analysis.hosts[name]


def subset_of(analysis: Analysis, host_name: str, name: str) -> SubsetAnalysis:
    found = host(analysis, host_name).subset(name)
    assert found is not None, f"no subset {name} of {host_name}"
    return found


def codes(analysis: Analysis) -> list[str]:
    return sorted(f.code.value for f in analysis.findings)


def to_yaml(*objs: Obj) -> str:
    """A multi-document YAML stream, as `kubectl get -o yaml` would write each object."""
    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objs)


def svc_host(name: str, namespace: str = "default") -> str:
    return f"{name}.{namespace}.svc.cluster.local"
