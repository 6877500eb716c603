"""The table of kinds the loopback API server knows about.

Data-driven on purpose: to serve another kind, add a `KindSpec` to a copy of `DEFAULT_KINDS`
and pass it as `KubeAPIServer(kinds=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
ISTIO_GROUP = "networking.istio.io"
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")


@dataclass(frozen=True)
class KindSpec:
    """One resource type as the API server sees it."""

    group: str  # "" for the core group
    versions: tuple[str, ...]  # every version the kind can be served under, preferred first
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # fieldSelector labels beyond metadata.name and metadata.namespace (dotted paths)
    field_labels: tuple[str, ...] = ()
    # custom resources keep apiVersion/kind on list items; built-in kinds drop them
    custom: bool = False
    verbs: tuple[str, ...] = ALL_VERBS

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def resource_key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified_plural(self) -> str:
        """`pods` or `destinationrules.networking.istio.io`, as used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version


_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)

CORE_KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "",
        ("v1",),
        "Namespace",
        "namespaces",
        namespaced=False,
        short_names=("ns",),
        field_labels=("status.phase",),
    ),
    KindSpec(
        "",
        ("v1",),
        "Pod",
        "pods",
        short_names=("po",),
        categories=("all",),
        field_labels=_POD_FIELDS,
    ),
    KindSpec("", ("v1",), "Service", "services", short_names=("svc",), categories=("all",)),
    KindSpec("", ("v1",), "Node", "nodes", namespaced=False, short_names=("no",)),
    KindSpec("", ("v1",), "Secret", "secrets", field_labels=("type",)),
    KindSpec("", ("v1",), "ConfigMap", "configmaps", short_names=("cm",)),
)

APPS_KINDS: tuple[KindSpec, ...] = tuple(
    KindSpec("apps", ("v1",), kind, plural, short_names=(short,), categories=("all",))
    for kind, plural, short in (
        ("Deployment", "deployments", "deploy"),
        ("ReplicaSet", "replicasets", "rs"),
        ("StatefulSet", "statefulsets", "sts"),
        ("DaemonSet", "daemonsets", "ds"),
    )
)

ISTIO_KINDS: tuple[KindSpec, ...] = tuple(
    KindSpec(
        ISTIO_GROUP,
        ISTIO_VERSIONS,
        kind,
        plural,
        short_names=(short,),
        categories=("istio-io", "networking-istio-io"),
        custom=True,
    )
    for kind, plural, short in (
        ("DestinationRule", "destinationrules", "dr"),
        ("VirtualService", "virtualservices", "vs"),
        ("ServiceEntry", "serviceentries", "se"),
        ("Gateway", "gateways", "gw"),
        ("Sidecar", "sidecars", "sidecar"),
    )
)

DEFAULT_KINDS: tuple[KindSpec, ...] = CORE_KINDS + APPS_KINDS + ISTIO_KINDS

# The Gateway API's CRDs, each kind at the versions an install of the standard and experimental
# channels serves (not served by default: a cluster without them is the common case).
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_KINDS: tuple[KindSpec, ...] = tuple(
    KindSpec(
        GATEWAY_API_GROUP,
        versions,
        kind,
        plural,
        namespaced=kind != "GatewayClass",
        categories=("gateway-api",),
        custom=True,
    )
    for kind, plural, versions in (
        ("HTTPRoute", "httproutes", ("v1", "v1beta1")),
        ("GRPCRoute", "grpcroutes", ("v1",)),
        ("TCPRoute", "tcproutes", ("v1alpha2",)),
        ("TLSRoute", "tlsroutes", ("v1alpha2",)),
        ("Gateway", "gateways", ("v1", "v1beta1")),
        ("GatewayClass", "gatewayclasses", ("v1", "v1beta1")),
        ("ReferenceGrant", "referencegrants", ("v1beta1",)),
    )
)
