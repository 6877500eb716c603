"""Reading the Kubernetes kinds Istio's routing depends on: Services (ports, selector, waypoint
labels), workloads (the labels of their pods, readiness, the inject annotation) and waypoint
Gateways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh import schema
from meshtui.mesh.fields import (
    integer,
    labels_of,
    mapping,
    ports,
)
from meshtui.mesh.objects import (
    SIDECAR_INJECT,
    Meta,
    Service,
    Waypoint,
    Workload,
)

WAYPOINT_LABELS = (
    "istio.io/use-waypoint",
    "istio.io/use-waypoint-namespace",
    "istio.io/ingress-use-waypoint",
)


def parse_service(meta: Meta, spec: Mapping[str, Any], metadata: Mapping[str, Any]) -> Service:
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
        ports=ports(spec.get("ports"), ("spec", "ports"), "port"),
        labels=waypoint,
    )


def parse_waypoint(meta: Meta, obj: Mapping[str, Any]) -> Waypoint:
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


def parse_workload(meta: Meta, obj: Mapping[str, Any], spec: Mapping[str, Any]) -> Workload:
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
