"""Reading Istio's networking kinds (DestinationRule, VirtualService, ServiceEntry, Gateway,
Sidecar) into meshtui's small frozen values: the shape the analysis needs, each field checked
where it is read (an `Invalid` names the field), policies kept as written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from meshtui.mesh import schema
from meshtui.mesh.fields import (
    Invalid,
    describe,
    integer,
    items_of,
    labels_of,
    mapping,
    mappings_of,
    ports,
    str_list,
    string,
)
from meshtui.mesh.objects import (
    Destination,
    DestinationRule,
    Gateway,
    GatewayServer,
    Meta,
    ObjectRef,
    Path,
    Route,
    ServiceEntry,
    Sidecar,
    Subset,
    VirtualService,
)

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
    gateways: list[str] = []
    written: list[Mapping[str, Any]] = []
    for _, at, mm in mappings_of(r.get("match"), (*path, "match")):
        gateways += str_list(mm.get("gateways"), (*at, "gateways"))
        written.append(mm)
    destinations = []
    for _, at, rd in mappings_of(r.get("route"), (*path, "route")):
        dest = _destination(rd.get("destination"), (*at, "destination"))
        weight = integer(rd.get("weight"), (*at, "weight"))
        destinations.append(Destination(dest.host, dest.subset, dest.port, weight, at))
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
        for _, at, m in mappings_of(r.get("mirrors"), (*path, "mirrors")):
            dest = _destination(m.get("destination"), (*at, "destination"))
            percent = _percentage(m.get("percentage"), (*at, "percentage"))
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
        match=_match_summary(kind, written),
        delegate=delegate,
        matches=tuple(written),
        actions={k: r[k] for k in _ROUTE_ACTIONS if r.get(k) is not None},
    )


def parse_destination_rule(meta: Meta, spec: Mapping[str, Any]) -> DestinationRule:
    subsets = []
    for _, path, s in mappings_of(spec.get("subsets"), ("spec", "subsets")):
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


def parse_virtual_service(meta: Meta, spec: Mapping[str, Any]) -> VirtualService:
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


def parse_service_entry(meta: Meta, spec: Mapping[str, Any]) -> ServiceEntry:
    selector = mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    return ServiceEntry(
        meta=meta,
        hosts=str_list(spec.get("hosts"), ("spec", "hosts")),
        ports=ports(spec.get("ports"), ("spec", "ports"), "number"),
        workload_selector=(
            labels_of(selector.get("labels"), ("spec", "workloadSelector", "labels"))
            if selector is not None
            else None
        ),
        export_to=str_list(spec.get("exportTo"), ("spec", "exportTo")),
    )


def parse_gateway(meta: Meta, spec: Mapping[str, Any]) -> Gateway:
    servers = []
    for _, path, server in mappings_of(spec.get("servers"), ("spec", "servers")):
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


def parse_sidecar(meta: Meta, spec: Mapping[str, Any]) -> Sidecar:
    """Egress hosts of every listener together: the services and VirtualServices a proxy
    imports are those any listener imports (pilot/pkg/model/sidecar.go
    convertIstioListenerToWrapper, per listener; meshtui does not split them by port)."""
    selector = mapping(spec.get("workloadSelector"), ("spec", "workloadSelector"))
    egress = spec.get("egress")
    hosts: list[str] | None = None
    if egress is not None:
        hosts = []
        for _, at, listener in mappings_of(egress, ("spec", "egress")):
            hosts += str_list(listener.get("hosts"), (*at, "hosts"))
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
