"""Typed model of the Kubernetes and Istio resources Istio reads, and their parser.

Sources hand raw objects (dicts from YAML or JSON) to :func:`parse_object`; the core only ever
sees the small frozen values defined here. A wrong field type is reported as an
:class:`InvalidField` with the path to the field, so a source can turn it into a line number.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from meshtui.mesh import schema, webhook

ISTIO_NETWORKING_GROUP = "networking.istio.io"
ISTIO_NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")

WORKLOAD_KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
ISTIO_KINDS = ("DestinationRule", "VirtualService", "ServiceEntry", "Gateway")
# Istio kinds meshtui only validates (what Istio's webhook would reject): none left, Sidecars
# are read for the data plane too (meshtui.mesh.sidecar_scope).
VALIDATED_KINDS: tuple[str, ...] = ()
# The Kubernetes Gateway API (gateway.networking.k8s.io, any served version). Its Gateway is
# `KubernetesGateway` here, as Istio's own code names it (pkg/config/schema/gvk), so that it
# never shares an ObjectRef with an Istio networking Gateway of the same name; one of class
# istio-waypoint is a `Waypoint` (ambient's L7 proxy, meshtui.mesh.dataplane).
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
KUBERNETES_GATEWAY = "KubernetesGateway"
WAYPOINT_CLASS = "istio-waypoint"
GATEWAY_API_ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute")
GATEWAY_API_KINDS = (*GATEWAY_API_ROUTE_KINDS, KUBERNETES_GATEWAY, "GatewayClass", "ReferenceGrant")
# What decides each client's data plane: Namespace labels, Sidecars and waypoints.
DATA_PLANE_KINDS = ("Namespace", "Sidecar", "Waypoint")
KNOWN_KINDS = (
    "Service",
    *ISTIO_KINDS,
    *WORKLOAD_KINDS,
    "Node",
    *GATEWAY_API_KINDS,
    *DATA_PLANE_KINDS,
)

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a resource came from: a file and line offline, a cluster context live."""

    file: str | None = None
    line: int | None = None
    cluster: str | None = None
    item: int | None = None  # index in a `kind: List` document

    def __str__(self) -> str:
        if self.file is None:
            return self.cluster or ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Identity of a resource: kind, namespace and name, as `kubectl` names them."""

    kind: str
    namespace: str
    name: str

    @property
    def namespaced_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Meta:
    """The metadata every resource carries that the analysis needs."""

    ref: ObjectRef
    origin: Origin
    creation_timestamp: str = ""
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    # What the schema says short of rejecting the resource (unknown fields, deprecations).
    issues: tuple[schema.Issue, ...] = field(default=(), compare=False, repr=False)
    # Only the annotations meshtui reads (READ_ANNOTATIONS), not every one of the object.
    annotations: Mapping[str, str] | None = field(default=None, compare=False, repr=False)
    # Set when the API server or Istio's webhook rejects the resource: what it holds besides
    # the rejected fields is still checked against the mesh, but it takes no part in routing.
    rejected: InvalidField | None = field(default=None, compare=False, repr=False)
    # What the reading of a rejected resource left out: fields, or list entries (a path
    # ending in an index).
    left_out: tuple[Path, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ServicePort:
    number: int
    name: str = ""
    protocol: str = ""


@dataclass(frozen=True, slots=True)
class Service:
    """A Kubernetes Service: its host is `name.namespace.svc.<domain>`."""

    meta: Meta
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    # Only the istio.io/use-waypoint* labels (which waypoint its ambient clients go through).
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    meta: Meta
    hosts: tuple[str, ...]
    ports: tuple[ServicePort, ...]
    workload_selector: Mapping[str, str] | None
    export_to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Workload:
    """A bare Pod or the pod template of a controller, with what the view shows of it."""

    meta: Meta
    labels: Mapping[str, str]
    replicas: int | None = None
    ready: int | None = None
    phase: str = ""
    pod_ip: str = ""
    node: str = ""
    owner: str = ""


@dataclass(frozen=True, slots=True)
class Subset:
    name: str
    labels: Mapping[str, str]
    traffic_policy: Mapping[str, Any] | None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class DestinationRule:
    meta: Meta
    host: str
    traffic_policy: Mapping[str, Any] | None
    subsets: tuple[Subset, ...]
    export_to: tuple[str, ...]
    workload_selector: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class Destination:
    """One `destination` of a route, as written (host not yet resolved)."""

    host: str
    subset: str
    port: int | None
    weight: int | None
    path: Path = ()
    # Why the destination answers 500 though it keeps its share (a Gateway API backend the
    # route may not refer to: conversion.go buildDestination); "" when it is sound.
    invalid: str = ""


@dataclass(frozen=True, slots=True)
class Route:
    """One entry of `http`, `tcp` or `tls`, reduced to what routing analysis needs."""

    kind: str  # "http", "tcp" or "tls"
    index: int
    name: str
    destinations: tuple[Destination, ...]
    mirrors: tuple[Destination, ...]
    match_gateways: tuple[str, ...]
    match: str
    delegate: ObjectRef | None = None
    # The `match` entries as written (mappings), for reachability and request traces.
    matches: tuple[Mapping[str, Any], ...] = ()
    # What an HTTP rule does besides routing (timeout, retries, fault, redirect, directResponse,
    # rewrite), as written: a request trace shows it.
    actions: Mapping[str, Any] = field(default_factory=dict)
    # For a rule pilot generates from a Gateway API route: the route it was written in, where.
    source: ObjectRef | None = None
    source_origin: Origin | None = None
    source_path: Path = ()  # the `rules[]` entry


@dataclass(frozen=True, slots=True)
class VirtualService:
    meta: Meta
    hosts: tuple[str, ...]
    gateways: tuple[str, ...]
    export_to: tuple[str, ...]
    routes: tuple[Route, ...]
    # Set on the VirtualServices pilot generates from Gateway API routes (route_collections.go):
    # the route kind ("HTTPRoute", ...), and the namespace of the parent Service or
    # ServiceEntry (a mesh route is used by clients of its own namespace, or of that one).
    source_kind: str = ""
    parent_namespace: str = ""

    @property
    def gateway_semantics(self) -> bool:
        """pilot's UseGatewaySemantics: generated from a Gateway API route."""
        return bool(self.source_kind)


@dataclass(frozen=True, slots=True)
class GatewayServer:
    """One `servers[]` entry of a Gateway: the hosts it accepts (`ns/host` as written)."""

    hosts: tuple[str, ...]
    port: int | None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Gateway:
    """An Istio Gateway: VirtualServices bind to it by `namespace/name` (or a short name)."""

    meta: Meta
    servers: tuple[GatewayServer, ...]
    selector: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class Node:
    """A Kubernetes Node, for the topology labels Istio adds to the endpoints of its pods."""

    meta: Meta
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ParentRef:
    """One `parentRefs[]` entry of a Gateway API route (namespace defaulted to the route's)."""

    group: str
    kind: str
    namespace: str
    name: str
    section: str = ""
    port: int | None = None
    path: Path = ()

    @property
    def mesh(self) -> bool:
        """A Service or ServiceEntry parent makes a mesh route (route_collections.go)."""
        return (self.group, self.kind) in (
            ("", "Service"),
            (ISTIO_NETWORKING_GROUP, "ServiceEntry"),
        )

    @property
    def gateway(self) -> bool:
        return (self.group, self.kind) == (GATEWAY_API_GROUP, "Gateway")

    @property
    def ref(self) -> ObjectRef:
        kind = KUBERNETES_GATEWAY if self.gateway else self.kind
        return ObjectRef(kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class BackendRef:
    """One `backendRefs[]` entry (or a RequestMirror's backend): weight defaults to 1."""

    group: str
    kind: str
    namespace: str
    name: str
    port: int | None
    weight: int
    path: Path = ()


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One `rules[]` entry of a Gateway API route, as written (matches in Gateway API form)."""

    index: int
    name: str
    matches: tuple[Mapping[str, Any], ...]
    backends: tuple[BackendRef, ...]
    filters: tuple[Mapping[str, Any], ...] = ()
    timeouts: Mapping[str, Any] | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class GatewayRoute:
    """An HTTPRoute, GRPCRoute, TCPRoute or TLSRoute."""

    meta: Meta
    parents: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[RouteRule, ...]
    # status.parents[] as the controller wrote it (live): conditions per parent.
    status: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Listener:
    """One listener of a Kubernetes Gateway, with the routes it admits."""

    name: str
    hostname: str
    port: int | None
    protocol: str
    allowed_from: str  # "Same" (the default), "All" or "Selector"
    allowed_kinds: tuple[str, ...]
    path: Path = ()


@dataclass(frozen=True, slots=True)
class KubernetesGateway:
    """A gateway.networking.k8s.io Gateway."""

    meta: Meta
    class_name: str
    listeners: tuple[Listener, ...]


@dataclass(frozen=True, slots=True)
class GatewayClass:
    meta: Meta
    controller: str


@dataclass(frozen=True, slots=True)
class ReferenceGrant:
    """Lets routes of the `from` namespaces and kinds refer to objects of this namespace."""

    meta: Meta
    sources: tuple[tuple[str, str, str], ...]  # (group, kind, namespace)
    targets: tuple[tuple[str, str, str], ...]  # (group, kind, name or "")


GatewayApiResource = GatewayRoute | KubernetesGateway | GatewayClass | ReferenceGrant


@dataclass(frozen=True, slots=True)
class Namespace:
    """A Namespace, for the labels that decide its clients' data plane (ref namespace "")."""

    meta: Meta
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Sidecar:
    """A Sidecar: which hosts its proxies import (`ns/host` of every egress listener)."""

    meta: Meta
    workload_selector: Mapping[str, str] | None
    egress_hosts: tuple[str, ...] | None  # None: no egress section, every host imported
    outbound_mode: str | None  # outboundTrafficPolicy.mode (None: the mesh config's)


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A Gateway API Gateway of class istio-waypoint (ambient's L7 proxy for a namespace)."""

    meta: Meta
    traffic_for: str  # istio.io/waypoint-for: service (default), workload, all, none
    ready: bool | None  # status.addresses set (None: no status, as in files): pilot needs one
    labels: Mapping[str, str] = field(default_factory=dict)


Resource = (
    Service
    | ServiceEntry
    | Workload
    | DestinationRule
    | VirtualService
    | Gateway
    | Node
    | Namespace
    | Sidecar
    | Waypoint
) | GatewayApiResource


@dataclass(frozen=True, slots=True)
class InvalidField:
    """A resource Istio (or the API server) would reject: the field and what is wrong."""

    ref: ObjectRef
    origin: Origin
    path: Path
    message: str


class _Invalid(Exception):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    float: "a number",
    type(None): "null",
}


def _describe(value: object) -> str:
    for cls, name in _TYPE_NAMES.items():
        if type(value) is cls:
            return name
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _mapping(value: object, path: Path, *, required: bool = False) -> Mapping[str, Any] | None:
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise _Invalid(path, f"must be a mapping, not {_describe(value)}")
    return value


def _list(value: object, path: Path) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(path, f"must be a list, not {_describe(value)}")
    return value


def _str(value: object, path: Path, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        if isinstance(value, str):
            raise _Invalid(path, "must not be empty")
        raise _Invalid(path, f"must be a string, not {_describe(value)}")
    return value


def _int(value: object, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(path, f"must be an integer, not {_describe(value)}")
    return value


def _labels(value: object, path: Path) -> dict[str, str]:
    m = _mapping(value, path)
    if m is None:
        return {}
    out: dict[str, str] = {}
    for k, v in m.items():
        if not isinstance(k, str):
            raise _Invalid(path, f"label keys must be strings, not {_describe(k)}")
        if isinstance(v, bool) or v is None or isinstance(v, Mapping | list):
            raise _Invalid((*path, k), f"label values must be strings, not {_describe(v)}")
        out[k] = str(v)
    return out


# An entry a salvaged parse leaves out: the webhook or the schema rejects it (see `_salvage`).
_PRUNED = object()


def _items(value: object, path: Path) -> list[tuple[int, Any]]:
    """The entries of a list with their indexes, without those a salvaged parse left out."""
    return [(i, v) for i, v in enumerate(_list(value, path)) if v is not _PRUNED]


def _str_list(value: object, path: Path) -> tuple[str, ...]:
    return tuple(_str(v, (*path, i), required=True) for i, v in _items(value, path))


_POLICY_FIELDS = ("loadBalancer", "connectionPool", "outlierDetection", "tls")
_TOP_POLICY_FIELDS = (*_POLICY_FIELDS, "tunnel", "proxyProtocol", "retryBudget")
# TrafficPolicy's schema is some eight levels deep; the policy is kept as written and merged
# and printed recursively later, so a deeper (or self-containing) value is refused here.
MAX_POLICY_DEPTH = 32


def _bounded_depth(value: object, path: Path, limit: int = MAX_POLICY_DEPTH) -> None:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise _Invalid(path, f"is nested deeper than {limit} levels")
        if isinstance(item, Mapping):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


def _traffic_policy(value: object, path: Path) -> Mapping[str, Any] | None:
    """Check the shape of a TrafficPolicy; its leaves stay as written."""
    policy = _mapping(value, path)
    if policy is None:
        return None
    _bounded_depth(policy, path)
    for key, sub in policy.items():
        if key == "portLevelSettings":
            for i, entry in _items(sub, (*path, key)):
                _port_traffic_policy(entry, (*path, key, i))
        elif key in _TOP_POLICY_FIELDS and sub is not None:
            _mapping(sub, (*path, key))  # an unknown key is the schema's UnknownField
    return policy


def _port_traffic_policy(value: object, path: Path) -> None:
    entry = _mapping(value, path, required=True)
    assert entry is not None
    port = _mapping(entry.get("port"), (*path, "port"), required=True)
    assert port is not None
    if _int(port.get("number"), (*path, "port", "number")) is None:
        raise _Invalid((*path, "port"), "must name a port number")
    for key in _POLICY_FIELDS:
        if entry.get(key) is not None:
            _mapping(entry[key], (*path, key))


def _ports(value: object, path: Path, number_key: str) -> tuple[ServicePort, ...]:
    ports = []
    for i, raw in _items(value, path):
        p = _mapping(raw, (*path, i), required=True)
        assert p is not None
        number = _int(p.get(number_key), (*path, i, number_key))
        if number is None:
            raise _Invalid((*path, i), f"must have a {number_key}")
        ports.append(
            ServicePort(
                number=number,
                name=_str(p.get("name"), (*path, i, "name")),
                protocol=_str(p.get("protocol"), (*path, i, "protocol")),
            )
        )
    return tuple(ports)


def _destination(value: object, path: Path) -> Destination:
    d = _mapping(value, path, required=True)
    assert d is not None
    port = _mapping(d.get("port"), (*path, "port"))
    return Destination(
        host=_str(d.get("host"), (*path, "host"), required=True),
        subset=_str(d.get("subset"), (*path, "subset")),
        port=_int(port.get("number"), (*path, "port", "number")) if port else None,
        weight=None,
        path=path,
    )


def _percentage(value: object, path: Path) -> int:
    """A mirror's share of traffic in whole percent (Istio's default is all of it)."""
    p = _mapping(value, path)
    if p is None or p.get("value") is None:
        return 100
    number = p["value"]
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise _Invalid((*path, "value"), f"must be a number, not {_describe(number)}")
    if not math.isfinite(number):
        raise _Invalid((*path, "value"), f"must be a finite number, not {number}")
    # An explicit 0 mirrors nothing; any share above 0 mirrors some traffic, so it stays >= 1.
    return max(1, round(number)) if number > 0 else 0


def _match_summary(kind: str, matches: list[Any]) -> str:
    """A one-line summary of a route's match conditions, for the detail pane."""
    parts = []
    for m in matches:
        if not isinstance(m, Mapping):
            continue
        bits = []
        uri = m.get("uri")
        if isinstance(uri, Mapping):
            bits += [f"uri {k} {v}" for k, v in uri.items()]
        for key in ("headers", "queryParams"):
            val = m.get(key)
            if isinstance(val, Mapping):
                bits += [f"{key[:-1] if key == 'headers' else 'query'} {h}" for h in val]
        for key in ("method", "authority", "scheme"):
            val = m.get(key)
            if isinstance(val, Mapping):
                bits += [f"{key} {k} {v}" for k, v in val.items()]
        for key in ("port", "sniHosts", "sourceLabels", "sourceNamespace"):
            if m.get(key) is not None:
                bits.append(f"{key} {m[key]}")
        parts.append(" & ".join(str(b) for b in bits) or "any")
    return " | ".join(parts) if parts else "any"


_ROUTE_ACTIONS = ("timeout", "retries", "fault", "redirect", "directResponse", "rewrite")


def _route(kind: str, index: int, value: object, path: Path, namespace: str) -> Route:
    r = _mapping(value, path, required=True)
    assert r is not None
    matches = [m for _, m in _items(r.get("match"), (*path, "match"))]
    gateways: list[str] = []
    written: list[Mapping[str, Any]] = []
    for i, m in _items(r.get("match"), (*path, "match")):
        mm = _mapping(m, (*path, "match", i), required=True)
        assert mm is not None
        gateways += _str_list(mm.get("gateways"), (*path, "match", i, "gateways"))
        written.append(mm)
    destinations = []
    for i, raw in _items(r.get("route"), (*path, "route")):
        rd = _mapping(raw, (*path, "route", i), required=True)
        assert rd is not None
        dest = _destination(rd.get("destination"), (*path, "route", i, "destination"))
        weight = _int(rd.get("weight"), (*path, "route", i, "weight"))
        destinations.append(
            Destination(dest.host, dest.subset, dest.port, weight, (*path, "route", i))
        )
    mirrors = []
    if kind == "http":
        if r.get("mirror") is not None:
            dest = _destination(r["mirror"], (*path, "mirror"))
            share = r.get("mirrorPercentage")
            if share is None and r.get("mirrorPercent") is not None:
                # The deprecated integer form counts when the new one is absent (as in pilot).
                share = {"value": r["mirrorPercent"]}
            percent = _percentage(share, (*path, "mirrorPercentage"))
            mirrors.append(Destination(dest.host, dest.subset, dest.port, percent, dest.path))
        for i, raw in _items(r.get("mirrors"), (*path, "mirrors")):
            m = _mapping(raw, (*path, "mirrors", i), required=True)
            assert m is not None
            dest = _destination(m.get("destination"), (*path, "mirrors", i, "destination"))
            percent = _percentage(m.get("percentage"), (*path, "mirrors", i, "percentage"))
            mirrors.append(Destination(dest.host, dest.subset, dest.port, percent, dest.path))
    delegate = None
    if kind == "http" and r.get("delegate") is not None:
        d = _mapping(r["delegate"], (*path, "delegate"))
        assert d is not None
        delegate = ObjectRef(
            "VirtualService",
            _str(d.get("namespace"), (*path, "delegate", "namespace")) or namespace,
            _str(d.get("name"), (*path, "delegate", "name"), required=True),
        )
    return Route(
        kind=kind,
        index=index,
        name=_str(r.get("name"), (*path, "name")),
        destinations=tuple(destinations),
        mirrors=tuple(mirrors),
        match_gateways=tuple(gateways),
        match=_match_summary(kind, matches),
        delegate=delegate,
        matches=tuple(written),
        actions={k: r[k] for k in _ROUTE_ACTIONS if r.get(k) is not None},
    )


def _parse_destination_rule(meta: Meta, spec: Mapping[str, Any]) -> DestinationRule:
    subsets = []
    for i, raw in _items(spec.get("subsets"), ("spec", "subsets")):
        path: Path = ("spec", "subsets", i)
        s = _mapping(raw, path, required=True)
        assert s is not None
        subsets.append(
            Subset(
                name=_str(s.get("name"), (*path, "name"), required=True),
                labels=_labels(s.get("labels"), (*path, "labels")),
                traffic_policy=_traffic_policy(s.get("trafficPolicy"), (*path, "trafficPolicy")),
                path=path,
            )
        )
    selector = _mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    return DestinationRule(
        meta=meta,
        host=_str(spec.get("host"), ("spec", "host"), required=True),
        traffic_policy=_traffic_policy(spec.get("trafficPolicy"), ("spec", "trafficPolicy")),
        subsets=tuple(subsets),
        export_to=_str_list(spec.get("exportTo"), ("spec", "exportTo")),
        workload_selector=(
            _labels(selector.get("matchLabels"), ("spec", "workloadSelector", "matchLabels"))
            if selector is not None
            else None
        ),
    )


def _parse_virtual_service(meta: Meta, spec: Mapping[str, Any]) -> VirtualService:
    routes = []
    for kind in ("http", "tls", "tcp"):
        for i, raw in _items(spec.get(kind), ("spec", kind)):
            routes.append(_route(kind, i, raw, ("spec", kind, i), meta.ref.namespace))
    return VirtualService(
        meta=meta,
        hosts=_str_list(spec.get("hosts"), ("spec", "hosts")),
        gateways=_str_list(spec.get("gateways"), ("spec", "gateways")),
        export_to=_str_list(spec.get("exportTo"), ("spec", "exportTo")),
        routes=tuple(routes),
    )


def _parse_service_entry(meta: Meta, spec: Mapping[str, Any]) -> ServiceEntry:
    selector = _mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    return ServiceEntry(
        meta=meta,
        hosts=_str_list(spec.get("hosts"), ("spec", "hosts")),
        ports=_ports(spec.get("ports"), ("spec", "ports"), "number"),
        workload_selector=(
            _labels(selector.get("labels"), ("spec", "workloadSelector", "labels"))
            if selector is not None
            else None
        ),
        export_to=_str_list(spec.get("exportTo"), ("spec", "exportTo")),
    )


def _parse_gateway(meta: Meta, spec: Mapping[str, Any]) -> Gateway:
    servers = []
    for i, raw in _items(spec.get("servers"), ("spec", "servers")):
        path: Path = ("spec", "servers", i)
        server = _mapping(raw, path, required=True)
        assert server is not None
        port = _mapping(server.get("port"), (*path, "port"))
        servers.append(
            GatewayServer(
                hosts=_str_list(server.get("hosts"), (*path, "hosts")),
                port=_int(port.get("number"), (*path, "port", "number")) if port else None,
                path=path,
            )
        )
    selector = spec.get("selector")
    return Gateway(
        meta=meta,
        servers=tuple(servers),
        selector=_labels(selector, ("spec", "selector")) if selector is not None else None,
    )


WAYPOINT_LABELS = (
    "istio.io/use-waypoint",
    "istio.io/use-waypoint-namespace",
    "istio.io/ingress-use-waypoint",
)


def _parse_service(meta: Meta, spec: Mapping[str, Any], metadata: Mapping[str, Any]) -> Service:
    selector = spec.get("selector")
    # Only the waypoint labels, read leniently: the Service's other labels are none of Istio's
    # routing business and must not make meshtui refuse it.
    labels = metadata.get("labels")
    waypoint = (
        {k: v for k in WAYPOINT_LABELS if isinstance(v := labels.get(k), str)}
        if isinstance(labels, Mapping)
        else {}
    )
    return Service(
        meta=meta,
        selector=_labels(selector, ("spec", "selector")) if selector is not None else None,
        ports=_ports(spec.get("ports"), ("spec", "ports"), "port"),
        labels=waypoint,
    )


def _parse_sidecar(meta: Meta, spec: Mapping[str, Any]) -> Sidecar:
    """Egress hosts of every listener together: the services and VirtualServices a proxy
    imports are those any listener imports (pilot/pkg/model/sidecar.go
    convertIstioListenerToWrapper, per listener; meshtui does not split them by port)."""
    selector = _mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    egress = spec.get("egress")
    hosts: list[str] | None = None
    if egress is not None:
        hosts = []
        for i, raw in _items(egress, ("spec", "egress")):
            listener = _mapping(raw, ("spec", "egress", i), required=True) or {}
            hosts += _str_list(listener.get("hosts"), ("spec", "egress", i, "hosts"))
    policy = _mapping(spec.get("outboundTrafficPolicy"), ("spec", "outboundTrafficPolicy"))
    mode = _str(policy.get("mode"), ("spec", "outboundTrafficPolicy", "mode")) if policy else ""
    return Sidecar(
        meta=meta,
        workload_selector=(
            _labels(selector.get("labels"), ("spec", "workloadSelector", "labels"))
            if selector is not None
            else None
        ),
        egress_hosts=tuple(hosts) if hosts is not None else None,
        outbound_mode=mode or None,
    )


def _parse_waypoint(meta: Meta, obj: Mapping[str, Any]) -> Waypoint:
    metadata = obj.get("metadata") or {}
    labels = _labels(metadata.get("labels"), ("metadata", "labels"))
    status = obj.get("status")
    addresses = status.get("addresses") if isinstance(status, Mapping) else None
    return Waypoint(
        meta=meta,
        traffic_for=labels.get("istio.io/waypoint-for", "service"),
        ready=None if not isinstance(status, Mapping) else bool(addresses),
        labels=labels,
    )


def _owner(metadata: Mapping[str, Any]) -> str:
    owners = metadata.get("ownerReferences")
    if isinstance(owners, list):
        for o in owners:
            if isinstance(o, Mapping) and o.get("controller"):
                return f"{o.get('kind', '')}/{o.get('name', '')}"
    return ""


def _parse_workload(meta: Meta, obj: Mapping[str, Any], spec: Mapping[str, Any]) -> Workload:
    kind = meta.ref.kind
    status = _mapping(obj.get("status"), ("status",)) or {}
    if kind == "Pod":
        ready = None
        conditions = status.get("conditions")
        if isinstance(conditions, list):
            ready = int(
                any(
                    isinstance(c, Mapping)
                    and c.get("type") == "Ready"
                    and c.get("status") == "True"
                    for c in conditions
                )
            )
        metadata = obj.get("metadata") or {}
        return Workload(
            meta=meta,
            labels=_labels(metadata.get("labels"), ("metadata", "labels")),
            replicas=1,
            ready=ready,
            phase=str(status.get("phase") or ""),
            pod_ip=str(status.get("podIP") or ""),
            node=str(spec.get("nodeName") or ""),
            owner=_owner(metadata),
        )
    template = _mapping(spec.get("template"), ("spec", "template")) or {}
    tmeta = _mapping(template.get("metadata"), ("spec", "template", "metadata")) or {}
    if kind == "DaemonSet":
        replicas = None
    elif kind == "Job":
        replicas = _int(spec.get("parallelism"), ("spec", "parallelism"))
        replicas = 1 if replicas is None else replicas
    else:
        replicas = _int(spec.get("replicas"), ("spec", "replicas"))
        replicas = 1 if replicas is None else replicas
    ready = status.get("readyReplicas") if status else None
    return Workload(
        meta=meta,
        labels=_labels(tmeta.get("labels"), ("spec", "template", "metadata", "labels")),
        replicas=replicas,
        ready=ready if isinstance(ready, int) and not isinstance(ready, bool) else None,
        owner=_owner(obj.get("metadata") or {}),
    )


_PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
_VALUE_TYPES = ("Exact", "RegularExpression")


def _enum(value: object, path: Path, allowed: tuple[str, ...], default: str) -> str:
    found = _str(value, path) or default
    if found not in allowed:
        raise _Invalid(path, f"must be one of {', '.join(allowed)}, not {found!r}")
    return found


def _name_values(value: object, path: Path) -> None:
    """Header and query param matches: a list of {type, name, value}."""
    for i, raw in _items(value, path):
        m = _mapping(raw, (*path, i), required=True)
        assert m is not None
        _enum(m.get("type"), (*path, i, "type"), _VALUE_TYPES, "Exact")
        _str(m.get("name"), (*path, i, "name"), required=True)
        _str(m.get("value"), (*path, i, "value"))


def _gateway_api_match(kind: str, value: object, path: Path) -> Mapping[str, Any]:
    """Check one `matches[]` entry's types (the CRD's schema) and keep it as written."""
    m = _mapping(value, path, required=True)
    assert m is not None
    if kind == "HTTPRoute":
        p = _mapping(m.get("path"), (*path, "path"))
        if p is not None:
            _enum(p.get("type"), (*path, "path", "type"), _PATH_TYPES, "PathPrefix")
            _str(p.get("value"), (*path, "path", "value"))
        _name_values(m.get("queryParams"), (*path, "queryParams"))
        _str(m.get("method"), (*path, "method"))
    else:  # GRPCRoute
        g = _mapping(m.get("method"), (*path, "method"))
        if g is not None:
            _enum(g.get("type"), (*path, "method", "type"), _VALUE_TYPES, "Exact")
            _str(g.get("service"), (*path, "method", "service"))
            _str(g.get("method"), (*path, "method", "method"))
    _name_values(m.get("headers"), (*path, "headers"))
    return m


def _backend(value: object, path: Path, namespace: str) -> BackendRef:
    b = _mapping(value, path, required=True)
    assert b is not None
    weight = _int(b.get("weight"), (*path, "weight"))
    if weight is not None and weight < 0:
        raise _Invalid((*path, "weight"), "must not be negative")
    return BackendRef(
        group=_str(b.get("group"), (*path, "group")),
        kind=_str(b.get("kind"), (*path, "kind")) or "Service",
        namespace=_str(b.get("namespace"), (*path, "namespace")) or namespace,
        name=_str(b.get("name"), (*path, "name"), required=True),
        port=_int(b.get("port"), (*path, "port")),
        weight=1 if weight is None else weight,
        path=path,
    )


def _parse_gateway_route(
    meta: Meta, obj: Mapping[str, Any], spec: Mapping[str, Any]
) -> GatewayRoute:
    kind, namespace = meta.ref.kind, meta.ref.namespace
    parents = []
    for i, raw in _items(spec.get("parentRefs"), ("spec", "parentRefs")):
        path: Path = ("spec", "parentRefs", i)
        p = _mapping(raw, path, required=True)
        assert p is not None
        group = p.get("group")
        parents.append(
            ParentRef(
                # The defaults are the Gateway API's: group gateway.networking.k8s.io, kind
                # Gateway; an explicit empty group is the core group (a Service).
                group=GATEWAY_API_GROUP if group is None else _str(group, (*path, "group")),
                kind=_str(p.get("kind"), (*path, "kind")) or "Gateway",
                namespace=_str(p.get("namespace"), (*path, "namespace")) or namespace,
                name=_str(p.get("name"), (*path, "name"), required=True),
                section=_str(p.get("sectionName"), (*path, "sectionName")),
                port=_int(p.get("port"), (*path, "port")),
                path=path,
            )
        )
    rules = []
    for i, raw in _items(spec.get("rules"), ("spec", "rules")):
        path = ("spec", "rules", i)
        r = _mapping(raw, path, required=True)
        assert r is not None
        matches: tuple[Mapping[str, Any], ...] = ()
        if kind in ("HTTPRoute", "GRPCRoute"):
            matches = tuple(
                _gateway_api_match(kind, m, (*path, "matches", j))
                for j, m in _items(r.get("matches"), (*path, "matches"))
            )
        filters = []
        for j, f in _items(r.get("filters"), (*path, "filters")):
            fm = _mapping(f, (*path, "filters", j), required=True)
            assert fm is not None
            _str(fm.get("type"), (*path, "filters", j, "type"), required=True)
            filters.append(fm)
        rules.append(
            RouteRule(
                index=i,
                name=_str(r.get("name"), (*path, "name")),
                matches=matches,
                backends=tuple(
                    _backend(b, (*path, "backendRefs", j), namespace)
                    for j, b in _items(r.get("backendRefs"), (*path, "backendRefs"))
                ),
                filters=tuple(filters),
                timeouts=_mapping(r.get("timeouts"), (*path, "timeouts")),
                path=path,
            )
        )
    status = _mapping(obj.get("status"), ("status",)) or {}
    return GatewayRoute(
        meta=meta,
        parents=tuple(parents),
        hostnames=_str_list(spec.get("hostnames"), ("spec", "hostnames")),
        rules=tuple(rules),
        status=tuple(
            p for p in _list(status.get("parents"), ("status", "parents")) if isinstance(p, Mapping)
        ),
    )


def _parse_kubernetes_gateway(meta: Meta, spec: Mapping[str, Any]) -> KubernetesGateway:
    listeners = []
    for i, raw in _items(spec.get("listeners"), ("spec", "listeners")):
        path: Path = ("spec", "listeners", i)
        listener = _mapping(raw, path, required=True)
        assert listener is not None
        allowed = _mapping(listener.get("allowedRoutes"), (*path, "allowedRoutes")) or {}
        namespaces = (
            _mapping(allowed.get("namespaces"), (*path, "allowedRoutes", "namespaces")) or {}
        )
        kinds = []
        for j, k in _items(allowed.get("kinds"), (*path, "allowedRoutes", "kinds")):
            km = _mapping(k, (*path, "allowedRoutes", "kinds", j), required=True)
            assert km is not None
            kinds.append(
                _str(km.get("kind"), (*path, "allowedRoutes", "kinds", j, "kind"), required=True)
            )
        listeners.append(
            Listener(
                name=_str(listener.get("name"), (*path, "name"), required=True),
                hostname=_str(listener.get("hostname"), (*path, "hostname")),
                port=_int(listener.get("port"), (*path, "port")),
                protocol=_str(listener.get("protocol"), (*path, "protocol")),
                allowed_from=_enum(
                    namespaces.get("from"),
                    (*path, "allowedRoutes", "namespaces", "from"),
                    ("Same", "All", "Selector"),
                    "Same",
                ),
                allowed_kinds=tuple(kinds),
                path=path,
            )
        )
    return KubernetesGateway(
        meta=meta,
        class_name=_str(spec.get("gatewayClassName"), ("spec", "gatewayClassName")),
        listeners=tuple(listeners),
    )


def _parse_reference_grant(meta: Meta, spec: Mapping[str, Any]) -> ReferenceGrant:
    def entries(key: str, last: str) -> tuple[tuple[str, str, str], ...]:
        out = []
        for i, raw in _items(spec.get(key), ("spec", key)):
            e = _mapping(raw, ("spec", key, i), required=True)
            assert e is not None
            out.append(
                (
                    _str(e.get("group"), ("spec", key, i, "group")),
                    _str(e.get("kind"), ("spec", key, i, "kind"), required=True),
                    _str(e.get(last), ("spec", key, i, last), required=last == "namespace"),
                )
            )
        return tuple(out)

    return ReferenceGrant(
        meta=meta, sources=entries("from", "namespace"), targets=entries("to", "name")
    )


EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"
SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress"
READ_ANNOTATIONS = (EXPORT_TO_ANNOTATION, SUPPRESS_ANNOTATION)


def _read_annotations(metadata: Mapping[str, Any]) -> dict[str, str] | None:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping):
        return None
    kept = {k: v for k in READ_ANNOTATIONS if isinstance(v := annotations.get(k), str)}
    return kept or None


def _rejection(issues: list[schema.Issue], ref: ObjectRef, origin: Origin) -> InvalidField | None:
    """The first error the API server would reject the spec for, naming the next few."""
    fatal = [i for i in issues if i.fatal]
    if not fatal:
        return None
    message = fatal[0].message
    if len(fatal) > 1:
        others = "; ".join(f"{format_path(i.path)} {i.message}" for i in fatal[1:4])
        message += f" (and {len(fatal) - 1} more: {others}{', ...' if len(fatal) > 4 else ''})"
    return InvalidField(ref, origin, fatal[0].path, message)


def object_kind(obj: object) -> str | None:
    """The kind meshtui reads this object as, or None for anything it ignores.

    Istio kinds count only in the networking.istio.io group (any served version); core kinds
    only in their own API group, so a CRD that happens to be called `Service` is skipped.
    """
    if not isinstance(obj, Mapping):
        return None
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return None
    group, _, version = api_version.rpartition("/")
    if group == GATEWAY_API_GROUP:
        if kind == "Gateway":
            spec = obj.get("spec")
            is_waypoint = (
                isinstance(spec, Mapping) and spec.get("gatewayClassName") == WAYPOINT_CLASS
            )
            return "Waypoint" if is_waypoint else KUBERNETES_GATEWAY
        return kind if kind in GATEWAY_API_KINDS else None
    if kind in ISTIO_KINDS or kind == "Sidecar":
        return kind if group == ISTIO_NETWORKING_GROUP else None
    if kind in ("Service", "Pod", "Node", "Namespace"):
        return kind if group == "" and version == "v1" else None
    if kind == "Job":
        return kind if group == "batch" else None
    if kind in WORKLOAD_KINDS:
        return kind if group in ("apps", "extensions") else None
    return None


def parse_object(
    obj: Mapping[str, Any],
    origin: Origin,
    *,
    default_namespace: str = "default",
    keep_raw: bool = True,
) -> Resource | InvalidField | None:
    """Turn one raw object into a typed resource; None when meshtui does not read its kind."""
    kind = object_kind(obj)
    if kind is None:
        return None
    metadata = obj.get("metadata")
    name = "?"
    namespace = default_namespace
    try:
        metadata = _mapping(metadata, ("metadata",), required=True)
        assert metadata is not None
        name = _str(metadata.get("name"), ("metadata", "name"), required=True)
        namespace = _str(metadata.get("namespace"), ("metadata", "namespace")) or default_namespace
        if kind in ("Node", "Namespace", "GatewayClass"):  # cluster-scoped
            namespace = ""
        created = metadata.get("creationTimestamp")
        ref = ObjectRef(kind, namespace, name)
        issues: tuple[schema.Issue, ...] = ()
        rejected = None
        if kind in schema.SPECS or kind in webhook.KINDS:
            # What the API server or Istio's webhook would refuse never reaches pilot: the
            # resource takes no part in the analysis; the rest of it is still checked.
            found = schema.validate(kind, obj.get("spec"))
            hooked = webhook.validate(kind, obj.get("spec"), namespace)
            if origin.cluster is not None and kind != "Sidecar":
                # Live, the resource is stored: pilot reads it without validating it again
                # (pilot/pkg/config/kube/crdclient), so it is in force though the webhook
                # would refuse it now (its rules tightened, or the webhook was bypassed).
                hooked = [replace(i, code=webhook.STORED) if i.fatal else i for i in hooked]
            found += hooked
            rejected = _rejection(found, ref, origin)
            spec_read = isinstance(obj.get("spec"), Mapping)
            if rejected is not None and (kind == "Sidecar" or not spec_read):
                return rejected
            issues = tuple(found)
        meta = Meta(
            ref=ref,
            origin=origin,
            creation_timestamp=str(created) if created is not None else "",
            raw=obj if keep_raw else None,
            issues=issues,
            annotations=_read_annotations(metadata),
            rejected=rejected,
        )
        if rejected is not None:
            return _salvage(meta, obj["spec"], [i.path for i in issues if i.fatal]) or rejected
        spec = _mapping(obj.get("spec"), ("spec",)) or {}
        if kind == "DestinationRule":
            return _parse_destination_rule(meta, spec)
        if kind == "VirtualService":
            return _parse_virtual_service(meta, spec)
        if kind == "ServiceEntry":
            return _parse_service_entry(meta, spec)
        if kind == "Gateway":
            return _parse_gateway(meta, spec)
        if kind == "Service":
            return _parse_service(meta, spec, metadata)
        if kind == "Node":
            return Node(meta, _labels(metadata.get("labels"), ("metadata", "labels")))
        if kind in GATEWAY_API_ROUTE_KINDS:
            return _parse_gateway_route(meta, obj, spec)
        if kind == KUBERNETES_GATEWAY:
            return _parse_kubernetes_gateway(meta, spec)
        if kind == "GatewayClass":
            return GatewayClass(meta, _str(spec.get("controllerName"), ("spec", "controllerName")))
        if kind == "ReferenceGrant":
            return _parse_reference_grant(meta, spec)
        if kind == "Namespace":
            return Namespace(meta, _labels(metadata.get("labels"), ("metadata", "labels")))
        if kind == "Sidecar":
            return _parse_sidecar(meta, spec)
        if kind == "Waypoint":
            return _parse_waypoint(meta, obj)
        return _parse_workload(meta, obj, spec)
    except _Invalid as err:
        return InvalidField(ObjectRef(kind, namespace, name), origin, err.path, err.message)
    except RecursionError:  # str() of a value nested past Python's recursion limit
        return InvalidField(
            ObjectRef(kind, namespace, name), origin, (), "holds a value nested too deeply to read"
        )


_PARSERS = {
    "DestinationRule": _parse_destination_rule,
    "VirtualService": _parse_virtual_service,
    "ServiceEntry": _parse_service_entry,
}


def _salvage(meta: Meta, spec: Mapping[str, Any], paths: list[Path]) -> Resource | None:
    """The resource without its rejected fields, for the reference checks of the rest (one
    invalid field must not hide the other findings of a resource); None if it cannot be read
    without them. A rejected field is left out alone, or, where the rest does not read without
    it, the list entry that holds it (a destination, a subset, a rule)."""
    parse = _PARSERS.get(meta.ref.kind)
    if parse is None:
        return None
    pruned: Any = copy.deepcopy(dict(spec))
    left_out = [p for p in paths if len(p) > 1]
    for path in sorted(paths, key=_path_order, reverse=True):
        _prune(pruned, path[1:] if path[:1] == ("spec",) else path, whole_entry=False)
    for _ in range(64):
        try:
            return parse(replace(meta, left_out=tuple(left_out)), pruned)
        except _Invalid as err:
            inner = err.path[1:] if err.path[:1] == ("spec",) else err.path
            entry = max((i for i, p in enumerate(inner) if isinstance(p, int)), default=None)
            if entry is None:
                return None
            _prune(pruned, inner, whole_entry=True)
            left_out.append(("spec", *inner[: entry + 1]))
        except RecursionError:
            return None
    return None


def _path_order(path: Path) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


def _prune(spec: Any, path: Path, whole_entry: bool) -> None:
    """Leave out the field at `path` (with `whole_entry`, the innermost list entry on it). A
    mapping entry of a list is replaced by a mark, so the entries after it keep their index."""
    if not path:
        return
    cut = len(path) - 1
    if whole_entry:
        cut = max(i for i, part in enumerate(path) if isinstance(part, int))
    node = spec
    for part in path[:cut]:
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                return
        elif not isinstance(node, Mapping) or part not in node:
            return
        node = node[part]
    last = path[cut]
    if isinstance(last, int) and isinstance(node, list) and 0 <= last < len(node):
        if isinstance(node[last], Mapping) or node[last] is None:
            node[last] = _PRUNED
        else:
            del node[last]
    elif isinstance(node, dict):
        node.pop(last, None)


def format_path(path: Path) -> str:
    """`spec.subsets[0].labels`, the way kubectl explain and istioctl name a field."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
