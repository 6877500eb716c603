"""The kinds the live source reads, and the trimmed form it keeps of each object.

Only the fields the core and the raw view use are kept: building the client's models, or
keeping whole objects, for 50,000 pods costs far more than the analysis itself.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import GATEWAY_API_GROUP, ISTIO_NETWORKING_GROUP


@frozen
class Kind:
    """A kind meshtui lists: its API group and plural resource name."""

    kind: str
    group: str
    plural: str
    namespaced: bool = True
    wire: str = ""  # the object's `kind` when meshtui names the kind otherwise

    @property
    def istio(self) -> bool:
        return self.group == ISTIO_NETWORKING_GROUP

    @property
    def gateway_api(self) -> bool:
        return self.group == GATEWAY_API_GROUP


ISTIO_KINDS = (
    Kind("DestinationRule", ISTIO_NETWORKING_GROUP, "destinationrules"),
    Kind("VirtualService", ISTIO_NETWORKING_GROUP, "virtualservices"),
    Kind("ServiceEntry", ISTIO_NETWORKING_GROUP, "serviceentries"),
    Kind("Gateway", ISTIO_NETWORKING_GROUP, "gateways"),
    # Sidecars scope what each client imports (meshtui.mesh.dataplane).
    Kind("Sidecar", ISTIO_NETWORKING_GROUP, "sidecars"),
)
# The Gateway API: optional CRDs, each kind served at its own versions (HTTPRoute v1, TCPRoute
# v1alpha2, ...). Its Gateway is `KubernetesGateway` here (never an Istio Gateway's name).
GATEWAY_API_KINDS = (
    Kind("HTTPRoute", GATEWAY_API_GROUP, "httproutes"),
    Kind("GRPCRoute", GATEWAY_API_GROUP, "grpcroutes"),
    Kind("TCPRoute", GATEWAY_API_GROUP, "tcproutes"),
    Kind("TLSRoute", GATEWAY_API_GROUP, "tlsroutes"),
    Kind("KubernetesGateway", GATEWAY_API_GROUP, "gateways", wire="Gateway"),
    Kind("GatewayClass", GATEWAY_API_GROUP, "gatewayclasses", namespaced=False),
    Kind("ReferenceGrant", GATEWAY_API_GROUP, "referencegrants"),
)
# Nodes for their topology labels only (subsets selecting on region, zone or hostname).
NODE = Kind("Node", "", "nodes", namespaced=False)
# Namespaces for the labels that decide their clients' data plane (sidecar, ambient, none).
NAMESPACE = Kind("Namespace", "", "namespaces", namespaced=False)
CORE_KINDS = (Kind("Service", "", "services"), Kind("Pod", "", "pods"), NODE, NAMESPACE)


# -- trimming: keep what the core and the raw view need, nothing else ----------------------

_DROP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def _shared(m: Any, values: bool = False) -> Any:
    """`m` with its keys (and, asked, its string values) interned: the same few strings in
    every object instead of a copy each.

    A list page's JSON is decoded in one call, which shares the keys of all its items; a watch
    event is decoded alone, so every changed pod carried its own copies of its labels', owner
    references' and conditions' keys, 13 small strings more than the pod it replaced. Under
    churn memory then grew until every pod had changed once (tens of MB at 50,000 pods)."""
    if not isinstance(m, dict):
        return m
    intern = sys.intern
    return {
        (intern(k) if isinstance(k, str) else k): (
            intern(v) if values and isinstance(v, str) else v
        )
        for k, v in m.items()
    }


def _trim_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        k: meta[k]
        for k in (
            "name",
            "namespace",
            "labels",
            "annotations",
            "creationTimestamp",
            "ownerReferences",
            "resourceVersion",
        )
        if k in meta
    }
    annotations = out.get("annotations")
    if isinstance(annotations, dict) and any(a in annotations for a in _DROP_ANNOTATIONS):
        annotations = {k: v for k, v in annotations.items() if k not in _DROP_ANNOTATIONS}
    if "annotations" in out:
        out["annotations"] = _shared(annotations)
    if "labels" in out:
        out["labels"] = _shared(out["labels"], values=True)
    owners = out.get("ownerReferences")
    if isinstance(owners, list):
        out["ownerReferences"] = [_shared(o, values=True) for o in owners]
    return out


def trim(obj: Mapping[str, Any], kind: Kind, api_version: str) -> dict[str, Any]:
    """A small copy of `obj` with kind and apiVersion set (list items come without them)."""
    meta = obj.get("metadata")
    out: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind.wire or kind.kind,
        "metadata": _trim_metadata(meta) if isinstance(meta, Mapping) else meta,
    }
    spec = obj.get("spec")
    if kind.kind == "Pod":
        status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
        assert isinstance(status, Mapping)
        conditions = status.get("conditions")
        out["spec"] = {"nodeName": spec.get("nodeName")} if isinstance(spec, Mapping) else {}
        out["status"] = {
            "phase": status.get("phase"),
            "podIP": status.get("podIP"),
            "conditions": [
                _shared(c, values=True)
                for c in conditions or ()
                if isinstance(c, Mapping) and c.get("type") == "Ready"
            ]
            if isinstance(conditions, list)
            else None,
        }
    elif kind.kind in ("Node", "Namespace"):
        out["spec"] = {}  # only its labels count
    elif kind.kind == "Service":
        out["spec"] = (
            {k: spec[k] for k in ("selector", "ports", "type") if k in spec}
            if isinstance(spec, Mapping)
            else spec
        )
    else:
        out["spec"] = spec
        status = obj.get("status")
        if kind.gateway_api and isinstance(status, Mapping) and "parents" in status:
            # The controller's verdict per parent (Accepted, ResolvedRefs), shown live.
            out["status"] = {"parents": status["parents"]}
        elif kind.wire == "Gateway":
            # A Gateway's addresses: a waypoint (class istio-waypoint) is ready with one, and
            # live a Gateway without any is not (yet) ready.
            out["status"] = {
                "addresses": (status.get("addresses") or []) if isinstance(status, Mapping) else []
            }
    return out
