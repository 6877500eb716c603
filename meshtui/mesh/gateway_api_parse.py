"""The Kubernetes Gateway API's objects read into meshtui's model (HTTPRoute, GRPCRoute,
TCPRoute, TLSRoute, Gateway, ReferenceGrant), field by field with their paths, as
meshtui.mesh.resources reads Istio's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh.fields import (
    Invalid,
    integer,
    items_of,
    list_of,
    mapping,
    mappings_of,
    str_list,
    string,
)
from meshtui.mesh.objects import (
    GATEWAY_API_GROUP,
    BackendRef,
    GatewayRoute,
    KubernetesGateway,
    Listener,
    Meta,
    ParentRef,
    Path,
    ReferenceGrant,
    RouteRule,
)

_PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
_VALUE_TYPES = ("Exact", "RegularExpression")


def _enum(value: object, path: Path, allowed: tuple[str, ...], default: str) -> str:
    found = string(value, path) or default
    if found not in allowed:
        raise Invalid(path, f"must be one of {', '.join(allowed)}, not {found!r}")
    return found


def _name_values(value: object, path: Path) -> None:
    """Header and query param matches: a list of {type, name, value}."""
    for _, at, m in mappings_of(value, path):
        _enum(m.get("type"), (*at, "type"), _VALUE_TYPES, "Exact")
        string(m.get("name"), (*at, "name"), required=True)
        string(m.get("value"), (*at, "value"))


# The HTTPRoute CRD's defaults, which the API server writes in on admission, so pilot always
# sees them: a rule without `matches` matches `path: {type: PathPrefix, value: /}`, and so
# does a match without `path` (gateway.networking.k8s.io CRD schema, `default:`). Offline
# files are read as the cluster would store them.
DEFAULT_PATH: Mapping[str, str] = {"type": "PathPrefix", "value": "/"}


def _gateway_api_match(kind: str, value: object, path: Path) -> Mapping[str, Any]:
    """Check one `matches[]` entry's types (the CRD's schema) and keep it as written, with
    the CRD's default path."""
    m = mapping(value, path, required=True)
    assert m is not None
    if kind == "HTTPRoute":
        p = mapping(m.get("path"), (*path, "path"))
        if p is not None:
            _enum(p.get("type"), (*path, "path", "type"), _PATH_TYPES, "PathPrefix")
            string(p.get("value"), (*path, "path", "value"))
        else:
            m = {**m, "path": DEFAULT_PATH}
        _name_values(m.get("queryParams"), (*path, "queryParams"))
        string(m.get("method"), (*path, "method"))
    else:  # GRPCRoute
        g = mapping(m.get("method"), (*path, "method"))
        if g is not None:
            _enum(g.get("type"), (*path, "method", "type"), _VALUE_TYPES, "Exact")
            string(g.get("service"), (*path, "method", "service"))
            string(g.get("method"), (*path, "method", "method"))
    _name_values(m.get("headers"), (*path, "headers"))
    return m


def _backend(value: object, path: Path, namespace: str) -> BackendRef:
    b = mapping(value, path, required=True)
    assert b is not None
    weight = integer(b.get("weight"), (*path, "weight"))
    if weight is not None and weight < 0:
        raise Invalid((*path, "weight"), "must not be negative")
    return BackendRef(
        group=string(b.get("group"), (*path, "group")),
        kind=string(b.get("kind"), (*path, "kind")) or "Service",
        namespace=string(b.get("namespace"), (*path, "namespace")) or namespace,
        name=string(b.get("name"), (*path, "name"), required=True),
        port=integer(b.get("port"), (*path, "port")),
        weight=1 if weight is None else weight,
        path=path,
    )


def parse_gateway_route(
    meta: Meta, obj: Mapping[str, Any], spec: Mapping[str, Any]
) -> GatewayRoute:
    kind, namespace = meta.ref.kind, meta.ref.namespace
    parents = []
    for _, path, p in mappings_of(spec.get("parentRefs"), ("spec", "parentRefs")):
        group = p.get("group")
        parents.append(
            ParentRef(
                # The defaults are the Gateway API's: group gateway.networking.k8s.io, kind
                # Gateway; an explicit empty group is the core group (a Service).
                group=GATEWAY_API_GROUP if group is None else string(group, (*path, "group")),
                kind=string(p.get("kind"), (*path, "kind")) or "Gateway",
                namespace=string(p.get("namespace"), (*path, "namespace")) or namespace,
                name=string(p.get("name"), (*path, "name"), required=True),
                section=string(p.get("sectionName"), (*path, "sectionName")),
                port=integer(p.get("port"), (*path, "port")),
                path=path,
            )
        )
    rules = []
    for i, path, r in mappings_of(spec.get("rules"), ("spec", "rules")):
        matches: tuple[Mapping[str, Any], ...] = ()
        if kind in ("HTTPRoute", "GRPCRoute"):
            matches = tuple(
                _gateway_api_match(kind, m, (*path, "matches", j))
                for j, m in items_of(r.get("matches"), (*path, "matches"))
            )
        if kind == "HTTPRoute" and r.get("matches") is None:
            matches = ({"path": DEFAULT_PATH},)  # the CRD's default (an explicit [] stays)
        filters = []
        for _, at, fm in mappings_of(r.get("filters"), (*path, "filters")):
            string(fm.get("type"), (*at, "type"), required=True)
            filters.append(fm)
        rules.append(
            RouteRule(
                index=i,
                name=string(r.get("name"), (*path, "name")),
                matches=matches,
                backends=tuple(
                    _backend(b, (*path, "backendRefs", j), namespace)
                    for j, b in items_of(r.get("backendRefs"), (*path, "backendRefs"))
                ),
                filters=tuple(filters),
                timeouts=mapping(r.get("timeouts"), (*path, "timeouts")),
                path=path,
            )
        )
    status = mapping(obj.get("status"), ("status",)) or {}
    return GatewayRoute(
        meta=meta,
        parents=tuple(parents),
        hostnames=str_list(spec.get("hostnames"), ("spec", "hostnames")),
        rules=tuple(rules),
        status=tuple(
            p
            for p in list_of(status.get("parents"), ("status", "parents"))
            if isinstance(p, Mapping)
        ),
    )


def parse_kubernetes_gateway(meta: Meta, spec: Mapping[str, Any]) -> KubernetesGateway:
    listeners = []
    for _, path, listener in mappings_of(spec.get("listeners"), ("spec", "listeners")):
        allowed = mapping(listener.get("allowedRoutes"), (*path, "allowedRoutes")) or {}
        namespaces = (
            mapping(allowed.get("namespaces"), (*path, "allowedRoutes", "namespaces")) or {}
        )
        kinds = []
        for _, at, km in mappings_of(allowed.get("kinds"), (*path, "allowedRoutes", "kinds")):
            kinds.append(string(km.get("kind"), (*at, "kind"), required=True))
        listeners.append(
            Listener(
                name=string(listener.get("name"), (*path, "name"), required=True),
                hostname=string(listener.get("hostname"), (*path, "hostname")),
                port=integer(listener.get("port"), (*path, "port")),
                protocol=string(listener.get("protocol"), (*path, "protocol")),
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
        class_name=string(spec.get("gatewayClassName"), ("spec", "gatewayClassName")),
        listeners=tuple(listeners),
    )


def parse_reference_grant(meta: Meta, spec: Mapping[str, Any]) -> ReferenceGrant:
    def entries(key: str, last: str) -> tuple[tuple[str, str, str], ...]:
        out = []
        for _, at, e in mappings_of(spec.get(key), ("spec", key)):
            out.append(
                (
                    string(e.get("group"), (*at, "group")),
                    string(e.get("kind"), (*at, "kind"), required=True),
                    string(e.get(last), (*at, last), required=last == "namespace"),
                )
            )
        return tuple(out)

    return ReferenceGrant(
        meta=meta, sources=entries("from", "namespace"), targets=entries("to", "name")
    )
