"""Shared fixtures: the Kubernetes API server on loopback for the live-source tests."""

from tests.kubeapi.fixtures import kube_api, kube_api_pair, kube_api_tls  # noqa: F401
