"""The parser of the Kubernetes and Istio resources Istio reads, and their typed model.

Sources hand raw objects (dicts from YAML or JSON) to :func:`parse_object`; the core only ever
sees the small frozen values of meshtui.mesh.objects, which this module also names so that a
reader of resources needs one import.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh import schema, webhook
from meshtui.mesh.fields import (
    PRUNED,
    Invalid,
    describe,
    integer,
    items_of,
    labels_of,
    mapping,
    str_list,
    string,
)
from meshtui.mesh.gateway_api_parse import (
    parse_gateway_route,
    parse_kubernetes_gateway,
    parse_reference_grant,
)
from meshtui.mesh.objects import (
    DATA_PLANE_KINDS,
    EXPORT_TO_ANNOTATION,
    GATEWAY_API_GROUP,
    GATEWAY_API_KINDS,
    GATEWAY_API_ROUTE_KINDS,
    ISTIO_KINDS,
    ISTIO_NETWORKING_GROUP,
    ISTIO_NETWORKING_VERSIONS,
    KNOWN_KINDS,
    KUBERNETES_GATEWAY,
    READ_ANNOTATIONS,
    SIDECAR_INJECT,
    SUPPRESS_ANNOTATION,
    VALIDATED_KINDS,
    WAYPOINT_CLASS,
    WORKLOAD_KINDS,
    BackendRef,
    Destination,
    DestinationRule,
    Gateway,
    GatewayApiResource,
    GatewayClass,
    GatewayRoute,
    GatewayServer,
    InvalidField,
    KubernetesGateway,
    Listener,
    Meta,
    Namespace,
    Node,
    ObjectRef,
    Origin,
    ParentRef,
    Path,
    ReferenceGrant,
    Resource,
    Route,
    RouteRule,
    Service,
    ServiceEntry,
    ServicePort,
    Sidecar,
    Subset,
    VirtualService,
    Waypoint,
    Workload,
    format_path,
    pod_selector,
    rule_label,
)

__all__ = [
    "DATA_PLANE_KINDS",
    "EXPORT_TO_ANNOTATION",
    "GATEWAY_API_GROUP",
    "GATEWAY_API_KINDS",
    "GATEWAY_API_ROUTE_KINDS",
    "ISTIO_KINDS",
    "ISTIO_NETWORKING_GROUP",
    "ISTIO_NETWORKING_VERSIONS",
    "KNOWN_KINDS",
    "KUBERNETES_GATEWAY",
    "READ_ANNOTATIONS",
    "SUPPRESS_ANNOTATION",
    "VALIDATED_KINDS",
    "WAYPOINT_CLASS",
    "WORKLOAD_KINDS",
    "BackendRef",
    "Destination",
    "DestinationRule",
    "Gateway",
    "GatewayApiResource",
    "GatewayClass",
    "GatewayRoute",
    "GatewayServer",
    "InvalidField",
    "KubernetesGateway",
    "Listener",
    "Meta",
    "Namespace",
    "Node",
    "ObjectRef",
    "Origin",
    "ParentRef",
    "Path",
    "ReferenceGrant",
    "Resource",
    "Route",
    "RouteRule",
    "Service",
    "ServiceEntry",
    "ServicePort",
    "Sidecar",
    "Subset",
    "VirtualService",
    "Waypoint",
    "Workload",
    "format_path",
    "object_kind",
    "parse_object",
    "pod_selector",
    "rule_label",
]


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
            raise Invalid(path, f"is nested deeper than {limit} levels")
        if schema.is_mapping(item):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]


def _traffic_policy(value: object, path: Path) -> Mapping[str, Any] | None:
    """Check the shape of a TrafficPolicy; its leaves stay as written."""
    policy = mapping(value, path)
    if policy is None:
        return None
    _bounded_depth(policy, path)
    for key, sub in policy.items():
        if key == "portLevelSettings":
            for i, entry in items_of(sub, (*path, key)):
                _port_traffic_policy(entry, (*path, key, i))
        elif key in _TOP_POLICY_FIELDS and sub is not None:
            mapping(sub, (*path, key))  # an unknown key is the schema's UnknownField
    return policy


def _port_traffic_policy(value: object, path: Path) -> None:
    entry = mapping(value, path, required=True)
    assert entry is not None
    port = mapping(entry.get("port"), (*path, "port"), required=True)
    assert port is not None
    if integer(port.get("number"), (*path, "port", "number")) is None:
        raise Invalid((*path, "port"), "must name a port number")
    for key in _POLICY_FIELDS:
        if entry.get(key) is not None:
            mapping(entry[key], (*path, key))


def _ports(value: object, path: Path, number_key: str) -> tuple[ServicePort, ...]:
    ports = []
    for i, raw in items_of(value, path):
        p = mapping(raw, (*path, i), required=True)
        assert p is not None
        number = integer(p.get(number_key), (*path, i, number_key))
        if number is None:
            raise Invalid((*path, i), f"must have a {number_key}")
        ports.append(
            ServicePort(
                number=number,
                name=string(p.get("name"), (*path, i, "name")),
                protocol=string(p.get("protocol"), (*path, i, "protocol")),
            )
        )
    return tuple(ports)


def _destination(value: object, path: Path) -> Destination:
    d = mapping(value, path, required=True)
    assert d is not None
    port = mapping(d.get("port"), (*path, "port"))
    return Destination(
        host=string(d.get("host"), (*path, "host"), required=True),
        subset=string(d.get("subset"), (*path, "subset")),
        port=integer(port.get("number"), (*path, "port", "number")) if port else None,
        weight=None,
        path=path,
    )


def _percentage(value: object, path: Path) -> int:
    """A mirror's share of traffic in whole percent (Istio's default is all of it)."""
    p = mapping(value, path)
    if p is None or p.get("value") is None:
        return 100
    number = p["value"]
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise Invalid((*path, "value"), f"must be a number, not {describe(number)}")
    if not math.isfinite(number):
        raise Invalid((*path, "value"), f"must be a finite number, not {number}")
    # An explicit 0 mirrors nothing; any share above 0 mirrors some traffic, so it stays >= 1.
    return max(1, round(number)) if number > 0 else 0


def _match_summary(kind: str, matches: list[Any]) -> str:
    """A one-line summary of a route's match conditions, for the detail pane."""
    parts = []
    for m in matches:
        if not schema.is_mapping(m):
            continue
        bits = []
        uri = m.get("uri")
        if schema.is_mapping(uri):
            bits += [f"uri {k} {v}" for k, v in uri.items()]
        for key in ("headers", "queryParams"):
            val = m.get(key)
            if schema.is_mapping(val):
                bits += [f"{key[:-1] if key == 'headers' else 'query'} {h}" for h in val]
        for key in ("method", "authority", "scheme"):
            val = m.get(key)
            if schema.is_mapping(val):
                bits += [f"{key} {k} {v}" for k, v in val.items()]
        for key in ("port", "sniHosts", "sourceLabels", "sourceNamespace"):
            if m.get(key) is not None:
                bits.append(f"{key} {m[key]}")
        parts.append(" & ".join(str(b) for b in bits) or "any")
    return " | ".join(parts) if parts else "any"


_ROUTE_ACTIONS = ("timeout", "retries", "fault", "redirect", "directResponse", "rewrite")


def _route(kind: str, index: int, value: object, path: Path, namespace: str) -> Route:
    r = mapping(value, path, required=True)
    assert r is not None
    matches = [m for _, m in items_of(r.get("match"), (*path, "match"))]
    gateways: list[str] = []
    written: list[Mapping[str, Any]] = []
    for i, m in items_of(r.get("match"), (*path, "match")):
        mm = mapping(m, (*path, "match", i), required=True)
        assert mm is not None
        gateways += str_list(mm.get("gateways"), (*path, "match", i, "gateways"))
        written.append(mm)
    destinations = []
    for i, raw in items_of(r.get("route"), (*path, "route")):
        rd = mapping(raw, (*path, "route", i), required=True)
        assert rd is not None
        dest = _destination(rd.get("destination"), (*path, "route", i, "destination"))
        weight = integer(rd.get("weight"), (*path, "route", i, "weight"))
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
        for i, raw in items_of(r.get("mirrors"), (*path, "mirrors")):
            m = mapping(raw, (*path, "mirrors", i), required=True)
            assert m is not None
            dest = _destination(m.get("destination"), (*path, "mirrors", i, "destination"))
            percent = _percentage(m.get("percentage"), (*path, "mirrors", i, "percentage"))
            mirrors.append(Destination(dest.host, dest.subset, dest.port, percent, dest.path))
    delegate = None
    if kind == "http" and r.get("delegate") is not None:
        d = mapping(r["delegate"], (*path, "delegate"))
        assert d is not None
        delegate = ObjectRef(
            "VirtualService",
            string(d.get("namespace"), (*path, "delegate", "namespace")) or namespace,
            string(d.get("name"), (*path, "delegate", "name"), required=True),
        )
    return Route(
        kind=kind,
        index=index,
        name=string(r.get("name"), (*path, "name")),
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
    for i, raw in items_of(spec.get("subsets"), ("spec", "subsets")):
        path: Path = ("spec", "subsets", i)
        s = mapping(raw, path, required=True)
        assert s is not None
        subsets.append(
            Subset(
                name=string(s.get("name"), (*path, "name"), required=True),
                labels=labels_of(s.get("labels"), (*path, "labels")),
                traffic_policy=_traffic_policy(s.get("trafficPolicy"), (*path, "trafficPolicy")),
                path=path,
            )
        )
    selector = mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    return DestinationRule(
        meta=meta,
        host=string(spec.get("host"), ("spec", "host"), required=True),
        traffic_policy=_traffic_policy(spec.get("trafficPolicy"), ("spec", "trafficPolicy")),
        subsets=tuple(subsets),
        export_to=str_list(spec.get("exportTo"), ("spec", "exportTo")),
        workload_selector=(
            labels_of(selector.get("matchLabels"), ("spec", "workloadSelector", "matchLabels"))
            if selector is not None
            else None
        ),
    )


def _parse_virtual_service(meta: Meta, spec: Mapping[str, Any]) -> VirtualService:
    routes = []
    for kind in ("http", "tls", "tcp"):
        for i, raw in items_of(spec.get(kind), ("spec", kind)):
            routes.append(_route(kind, i, raw, ("spec", kind, i), meta.ref.namespace))
    return VirtualService(
        meta=meta,
        hosts=str_list(spec.get("hosts"), ("spec", "hosts")),
        gateways=str_list(spec.get("gateways"), ("spec", "gateways")),
        export_to=str_list(spec.get("exportTo"), ("spec", "exportTo")),
        routes=tuple(routes),
    )


def _parse_service_entry(meta: Meta, spec: Mapping[str, Any]) -> ServiceEntry:
    selector = mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    return ServiceEntry(
        meta=meta,
        hosts=str_list(spec.get("hosts"), ("spec", "hosts")),
        ports=_ports(spec.get("ports"), ("spec", "ports"), "number"),
        workload_selector=(
            labels_of(selector.get("labels"), ("spec", "workloadSelector", "labels"))
            if selector is not None
            else None
        ),
        export_to=str_list(spec.get("exportTo"), ("spec", "exportTo")),
    )


def _parse_gateway(meta: Meta, spec: Mapping[str, Any]) -> Gateway:
    servers = []
    for i, raw in items_of(spec.get("servers"), ("spec", "servers")):
        path: Path = ("spec", "servers", i)
        server = mapping(raw, path, required=True)
        assert server is not None
        port = mapping(server.get("port"), (*path, "port"))
        servers.append(
            GatewayServer(
                hosts=str_list(server.get("hosts"), (*path, "hosts")),
                port=integer(port.get("number"), (*path, "port", "number")) if port else None,
                path=path,
            )
        )
    selector = spec.get("selector")
    return Gateway(
        meta=meta,
        servers=tuple(servers),
        selector=labels_of(selector, ("spec", "selector")) if selector is not None else None,
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
        if schema.is_mapping(labels)
        else {}
    )
    return Service(
        meta=meta,
        selector=labels_of(selector, ("spec", "selector")) if selector is not None else None,
        ports=_ports(spec.get("ports"), ("spec", "ports"), "port"),
        labels=waypoint,
    )


def _parse_sidecar(meta: Meta, spec: Mapping[str, Any]) -> Sidecar:
    """Egress hosts of every listener together: the services and VirtualServices a proxy
    imports are those any listener imports (pilot/pkg/model/sidecar.go
    convertIstioListenerToWrapper, per listener; meshtui does not split them by port)."""
    selector = mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    egress = spec.get("egress")
    hosts: list[str] | None = None
    if egress is not None:
        hosts = []
        for i, raw in items_of(egress, ("spec", "egress")):
            listener = mapping(raw, ("spec", "egress", i), required=True) or {}
            hosts += str_list(listener.get("hosts"), ("spec", "egress", i, "hosts"))
    policy = mapping(spec.get("outboundTrafficPolicy"), ("spec", "outboundTrafficPolicy"))
    mode = string(policy.get("mode"), ("spec", "outboundTrafficPolicy", "mode")) if policy else ""
    return Sidecar(
        meta=meta,
        workload_selector=(
            labels_of(selector.get("labels"), ("spec", "workloadSelector", "labels"))
            if selector is not None
            else None
        ),
        egress_hosts=tuple(hosts) if hosts is not None else None,
        outbound_mode=mode or None,
    )


def _parse_waypoint(meta: Meta, obj: Mapping[str, Any]) -> Waypoint:
    metadata = obj.get("metadata") or {}
    labels = labels_of(metadata.get("labels"), ("metadata", "labels"))
    status = obj.get("status")
    addresses = status.get("addresses") if schema.is_mapping(status) else None
    return Waypoint(
        meta=meta,
        traffic_for=labels.get("istio.io/waypoint-for", "service"),
        ready=None if not schema.is_mapping(status) else bool(addresses),
        labels=labels,
    )


def _owner(metadata: Mapping[str, Any]) -> str:
    owners = metadata.get("ownerReferences")
    if isinstance(owners, list):
        for o in owners:
            if schema.is_mapping(o) and o.get("controller"):
                return f"{o.get('kind', '')}/{o.get('name', '')}"
    return ""


def _parse_workload(meta: Meta, obj: Mapping[str, Any], spec: Mapping[str, Any]) -> Workload:
    kind = meta.ref.kind
    status = mapping(obj.get("status"), ("status",)) or {}
    if kind == "Pod":
        ready = None
        conditions = status.get("conditions")
        if isinstance(conditions, list):
            ready = int(
                any(
                    schema.is_mapping(c) and c.get("type") == "Ready" and c.get("status") == "True"
                    for c in conditions
                )
            )
        metadata = obj.get("metadata") or {}
        return Workload(
            meta=meta,
            labels=labels_of(metadata.get("labels"), ("metadata", "labels")),
            replicas=1,
            ready=ready,
            phase=str(status.get("phase") or ""),
            pod_ip=str(status.get("podIP") or ""),
            node=str(spec.get("nodeName") or ""),
            owner=_owner(metadata),
            inject=_inject(metadata),
        )
    template = mapping(spec.get("template"), ("spec", "template")) or {}
    tmeta = mapping(template.get("metadata"), ("spec", "template", "metadata")) or {}
    if kind == "DaemonSet":
        replicas = None
    elif kind == "Job":
        replicas = integer(spec.get("parallelism"), ("spec", "parallelism"))
        replicas = 1 if replicas is None else replicas
    else:
        replicas = integer(spec.get("replicas"), ("spec", "replicas"))
        replicas = 1 if replicas is None else replicas
    ready = status.get("readyReplicas") if status else None
    return Workload(
        meta=meta,
        labels=labels_of(tmeta.get("labels"), ("spec", "template", "metadata", "labels")),
        replicas=replicas,
        ready=ready if isinstance(ready, int) and not isinstance(ready, bool) else None,
        owner=_owner(obj.get("metadata") or {}),
        inject=_inject(tmeta),
    )


def _inject(metadata: Mapping[str, Any]) -> str | None:
    """The `sidecar.istio.io/inject` annotation of a pod (or pod template), if a string."""
    annotations = metadata.get("annotations")
    found = annotations.get(SIDECAR_INJECT) if isinstance(annotations, Mapping) else None
    return found if isinstance(found, str) else None


def _read_annotations(metadata: Mapping[str, Any]) -> dict[str, str] | None:
    annotations = metadata.get("annotations")
    if not schema.is_mapping(annotations):
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
    if not schema.is_mapping(obj):
        return None
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return None
    group, _, version = api_version.rpartition("/")
    if group == GATEWAY_API_GROUP:
        if kind == "Gateway":
            spec = obj.get("spec")
            is_waypoint = schema.is_mapping(spec) and spec.get("gatewayClassName") == WAYPOINT_CLASS
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
        metadata = mapping(metadata, ("metadata",), required=True)
        assert metadata is not None
        name = string(metadata.get("name"), ("metadata", "name"), required=True)
        namespace = (
            string(metadata.get("namespace"), ("metadata", "namespace")) or default_namespace
        )
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
            pruned = [
                p for i in issues if i.fatal for p in ((i.path,) if i.prune is None else i.prune)
            ]
            return _salvage(meta, obj["spec"], pruned) or rejected
        spec = mapping(obj.get("spec"), ("spec",)) or {}
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
            return Node(meta, labels_of(metadata.get("labels"), ("metadata", "labels")))
        if kind in GATEWAY_API_ROUTE_KINDS:
            return parse_gateway_route(meta, obj, spec)
        if kind == KUBERNETES_GATEWAY:
            return parse_kubernetes_gateway(meta, spec)
        if kind == "GatewayClass":
            return GatewayClass(
                meta, string(spec.get("controllerName"), ("spec", "controllerName"))
            )
        if kind == "ReferenceGrant":
            return parse_reference_grant(meta, spec)
        if kind == "Namespace":
            return Namespace(meta, labels_of(metadata.get("labels"), ("metadata", "labels")))
        if kind == "Sidecar":
            return _parse_sidecar(meta, spec)
        if kind == "Waypoint":
            return _parse_waypoint(meta, obj)
        return _parse_workload(meta, obj, spec)
    except Invalid as err:
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
        except Invalid as err:
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
        elif not schema.is_mapping(node) or part not in node:
            return
        node = node[part]
    last = path[cut]
    if isinstance(last, int) and isinstance(node, list) and 0 <= last < len(node):
        if schema.is_mapping(node[last]) or node[last] is None:
            node[last] = PRUNED
        else:
            del node[last]
    elif isinstance(node, dict):
        node.pop(last, None)
