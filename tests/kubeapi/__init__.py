"""A Kubernetes API server on loopback HTTPS, for testing the live source with the real client.

See server.KubeAPIServer; fixtures (kube_api, kube_api_pair, kube_api_tls) in fixtures.py.
"""

from .kinds import DEFAULT_KINDS, ISTIO_GROUP, KindSpec
from .kubeconfig import KubeContext, write_kubeconfig
from .server import KubeAPIServer, RequestRecord, Rule, status_body
from .tls import TLSMaterial, default_tls, generate_tls

__all__ = [
    "DEFAULT_KINDS",
    "ISTIO_GROUP",
    "KindSpec",
    "KubeAPIServer",
    "KubeContext",
    "RequestRecord",
    "Rule",
    "TLSMaterial",
    "default_tls",
    "generate_tls",
    "status_body",
    "write_kubeconfig",
]
