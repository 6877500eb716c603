"""The parser of the Kubernetes and Istio resources Istio reads, and their typed model.

Sources hand raw objects (dicts from YAML or JSON) to :func:`parse_object`, which decides the
kind, runs the schema and webhook checks, and hands the spec to the kind's reader
(istio_parse, kube_parse, gateway_api_parse); a resource the API server would reject is read
without its rejected fields, for the checks of the rest. The core only ever sees the small
frozen values of meshtui.mesh.objects, which this module also names so that a reader of
resources needs one import.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh import schema, webhook
from meshtui.mesh.fields import (
    PRUNED,
    Invalid,
    labels_of,
    mapping,
    string,
)
from meshtui.mesh.gateway_api_parse import (
    parse_gateway_route,
    parse_kubernetes_gateway,
    parse_reference_grant,
)
from meshtui.mesh.istio_parse import (
    parse_destination_rule,
    parse_gateway,
    parse_service_entry,
    parse_sidecar,
    parse_virtual_service,
)
from meshtui.mesh.kube_parse import parse_service, parse_waypoint, parse_workload
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
    keeping_ref,
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
    "keeping_ref",
    "object_kind",
    "parse_object",
    "pod_selector",
    "rule_label",
]


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
            return parse_destination_rule(meta, spec)
        if kind == "VirtualService":
            return parse_virtual_service(meta, spec)
        if kind == "ServiceEntry":
            return parse_service_entry(meta, spec)
        if kind == "Gateway":
            return parse_gateway(meta, spec)
        if kind == "Service":
            return parse_service(meta, spec, metadata)
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
            return parse_sidecar(meta, spec)
        if kind == "Waypoint":
            return parse_waypoint(meta, obj)
        return parse_workload(meta, obj, spec)
    except Invalid as err:
        return InvalidField(ObjectRef(kind, namespace, name), origin, err.path, err.message)
    except RecursionError:  # str() of a value nested past Python's recursion limit
        return InvalidField(
            ObjectRef(kind, namespace, name), origin, (), "holds a value nested too deeply to read"
        )


_PARSERS = {
    "DestinationRule": parse_destination_rule,
    "VirtualService": parse_virtual_service,
    "ServiceEntry": parse_service_entry,
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
