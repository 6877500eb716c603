"""Typed model of the Kubernetes and Istio resources Istio reads: the small frozen values the
core sees (meshtui.mesh.resources turns raw objects into them). A wrong field is an
:class:`InvalidField` with the path to the field, so a source can turn it into a line number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from typing import Any, NamedTuple

from meshtui.mesh import schema
from meshtui.mesh.frozen import frozen

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


@frozen
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


class ObjectRef(NamedTuple):
    """Identity of a resource: kind, namespace and name, as `kubectl` names them.

    A tuple, not a dataclass: it is the key of most of the core's indexes, and a tuple
    hashes and compares in C (a 10,000-host mesh hashes references some million times
    while it is built)."""

    kind: str
    namespace: str
    name: str

    @property
    def namespaced_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@frozen
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


@frozen
class ServicePort:
    number: int
    name: str = ""
    protocol: str = ""


@frozen
class Service:
    """A Kubernetes Service: its host is `name.namespace.svc.<domain>`."""

    meta: Meta
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    # Only the istio.io/use-waypoint* labels (which waypoint its ambient clients go through).
    labels: Mapping[str, str] = field(default_factory=dict)


@frozen
class ServiceEntry:
    meta: Meta
    hosts: tuple[str, ...]
    ports: tuple[ServicePort, ...]
    workload_selector: Mapping[str, str] | None
    export_to: tuple[str, ...]


@frozen
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
    # The pod's `sidecar.istio.io/inject` annotation (the injector reads it where the label of
    # that name is absent): with the labels, it decides the workload's data plane.
    inject: str | None = None


@frozen
class Subset:
    name: str
    labels: Mapping[str, str]
    traffic_policy: Mapping[str, Any] | None
    path: Path = ()


@frozen
class DestinationRule:
    meta: Meta
    host: str
    traffic_policy: Mapping[str, Any] | None
    subsets: tuple[Subset, ...]
    export_to: tuple[str, ...]
    workload_selector: Mapping[str, str] | None


@frozen
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


@frozen
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
    # The `rules[]` entry, or its `matches[]` entry when pilot split a rule of several matches.
    source_path: Path = ()
    # The controller's Accepted and ResolvedRefs conditions for the parent the rule is
    # generated for, as (type, status, reason), when the route's status holds them (live).
    conditions: tuple[tuple[str, str, str], ...] = ()

    @property
    def label(self) -> str:
        """The rule as its author wrote it: `http[2]` of a VirtualService; of a Gateway API
        route its `rules[]` entry, not the place pilot gives it in the VirtualService it
        generates (a merge and the precedence sort renumber them)."""
        if self.source is None:
            return f"{self.kind}[{self.index}]"
        return rule_label(self.source_path)

    @property
    def written_at(self) -> Path:
        """The rule's field in the resource it is written in: `spec.http[i]` of the
        VirtualService, or the Gateway API route's `spec.rules[i]` (`.matches[j]`)."""
        return self.source_path if self.source is not None else ("spec", self.kind, self.index)

    @property
    def written_as(self) -> str:
        """`HTTPRoute ns/name rules[0]` for a Gateway API route's rule, else its label."""
        return f"{self.source} {self.label}" if self.source is not None else self.label


def rule_label(path: Path) -> str:
    """`rules[1]` for a path under spec.rules[1], `rules[1].matches[0]` under its matches[0]
    (route_collections.go HTTPRouteCollection splits a rule into one route per match)."""
    parts = path[1:5] if path[:2] == ("spec", "rules") else ()
    return ".".join(f"{key}[{index}]" for key, index in zip(parts[::2], parts[1::2], strict=False))


@frozen
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


@frozen
class GatewayServer:
    """One `servers[]` entry of a Gateway: the hosts it accepts (`ns/host` as written)."""

    hosts: tuple[str, ...]
    port: int | None
    path: Path = ()


@frozen
class Gateway:
    """An Istio Gateway: VirtualServices bind to it by `namespace/name` (or a short name)."""

    meta: Meta
    servers: tuple[GatewayServer, ...]
    selector: Mapping[str, str] | None


@frozen
class Node:
    """A Kubernetes Node, for the topology labels Istio adds to the endpoints of its pods."""

    meta: Meta
    labels: Mapping[str, str]


@frozen
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


@frozen
class BackendRef:
    """One `backendRefs[]` entry (or a RequestMirror's backend): weight defaults to 1."""

    group: str
    kind: str
    namespace: str
    name: str
    port: int | None
    weight: int
    path: Path = ()


@frozen
class RouteRule:
    """One `rules[]` entry of a Gateway API route, as written (matches in Gateway API form)."""

    index: int
    name: str
    matches: tuple[Mapping[str, Any], ...]
    backends: tuple[BackendRef, ...]
    filters: tuple[Mapping[str, Any], ...] = ()
    timeouts: Mapping[str, Any] | None = None
    path: Path = ()


@frozen
class GatewayRoute:
    """An HTTPRoute, GRPCRoute, TCPRoute or TLSRoute."""

    meta: Meta
    parents: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[RouteRule, ...]
    # status.parents[] as the controller wrote it (live): conditions per parent.
    status: tuple[Mapping[str, Any], ...] = ()


@frozen
class Listener:
    """One listener of a Kubernetes Gateway, with the routes it admits."""

    name: str
    hostname: str
    port: int | None
    protocol: str
    allowed_from: str  # "Same" (the default), "All" or "Selector"
    allowed_kinds: tuple[str, ...]
    path: Path = ()


@frozen
class KubernetesGateway:
    """A gateway.networking.k8s.io Gateway."""

    meta: Meta
    class_name: str
    listeners: tuple[Listener, ...]


@frozen
class GatewayClass:
    meta: Meta
    controller: str


@frozen
class ReferenceGrant:
    """Lets routes of the `from` namespaces and kinds refer to objects of this namespace."""

    meta: Meta
    sources: tuple[tuple[str, str, str], ...]  # (group, kind, namespace)
    targets: tuple[tuple[str, str, str], ...]  # (group, kind, name or "")


GatewayApiResource = GatewayRoute | KubernetesGateway | GatewayClass | ReferenceGrant


@frozen
class Namespace:
    """A Namespace, for the labels that decide its clients' data plane (ref namespace "")."""

    meta: Meta
    labels: Mapping[str, str]


@frozen
class Sidecar:
    """A Sidecar: which hosts its proxies import (`ns/host` of every egress listener)."""

    meta: Meta
    workload_selector: Mapping[str, str] | None
    egress_hosts: tuple[str, ...] | None  # None: no egress section, every host imported
    outbound_mode: str | None  # outboundTrafficPolicy.mode (None: the mesh config's)


@frozen
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


def keeping_ref(resource: Resource, ref: ObjectRef) -> Resource:
    """`resource` with `ref`, an equal ObjectRef object already held for it, as its own.

    A live update parses a new ObjectRef for an object the mesh holds; the dicts and sets
    that index it keep the first object (a key replaced by an equal one stays as it was), the
    new resource the second, and both lived on: one more per changed pod, tens of thousands in
    half an hour of churn (benchmarks/README.md, "Live churn")."""
    if resource.meta.ref is ref or resource.meta.ref != ref:
        return resource
    return replace(resource, meta=replace(resource.meta, ref=ref))  # type: ignore[type-var]


@frozen
class InvalidField:
    """A resource Istio (or the API server) would reject: the field and what is wrong."""

    ref: ObjectRef
    origin: Origin
    path: Path
    message: str


EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"
SUPPRESS_ANNOTATION = "galley.istio.io/analyze-suppress"
READ_ANNOTATIONS = (EXPORT_TO_ANNOTATION, SUPPRESS_ANNOTATION)
# A pod's own say on sidecar injection (label, or annotation where the label is absent).
SIDECAR_INJECT = "sidecar.istio.io/inject"


def format_path(path: Path) -> str:
    """`spec.subsets[0].labels`, the way kubectl explain and istioctl name a field."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def pod_selector(service: Service | ServiceEntry | None) -> Mapping[str, str] | None:
    """The labels that pick a host's pods: a Service's selector, a ServiceEntry's
    workloadSelector (None: the host selects no pods, or is not known)."""
    if isinstance(service, Service):
        return service.selector
    if isinstance(service, ServiceEntry):
        return service.workload_selector
    return None
