"""pytest fixtures for the loopback API server.

To use them outside tests/kubeapi/, the root tests/conftest.py imports them:

    from tests.kubeapi.fixtures import kube_api, kube_api_pair, kube_api_tls  # noqa: F401
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .kubeconfig import write_kubeconfig
from .server import KubeAPIServer
from .tls import TLSMaterial, generate_tls

_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


def _bypass_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kubernetes client honours proxy environment variables; loopback must not use them.
    if any(os.environ.get(v) for v in _PROXY_VARS):
        for var in ("no_proxy", "NO_PROXY"):
            current = os.environ.get(var, "")
            monkeypatch.setenv(var, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))


@pytest.fixture(scope="session")
def kube_api_tls(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """One self-signed CA and server certificate for the whole session."""
    return generate_tls(tmp_path_factory.mktemp("kubeapi-tls"))


@pytest.fixture
def kube_api(
    kube_api_tls: TLSMaterial, tmp_path_factory: pytest.TempPathFactory, monkeypatch
) -> Iterator[KubeAPIServer]:
    """A started KubeAPIServer; `server.kubeconfig` is a kubeconfig with contexts alpha
    (current, token alpha-token, user alpha) and beta (beta-token, user beta)."""
    _bypass_proxies(monkeypatch)
    with KubeAPIServer(tls=kube_api_tls) as server:
        server.kubeconfig = server.write_kubeconfig(
            tmp_path_factory.mktemp("kubeapi") / "kubeconfig"
        )
        yield server


@pytest.fixture
def kube_api_pair(
    kube_api_tls: TLSMaterial, tmp_path_factory: pytest.TempPathFactory, monkeypatch
) -> Iterator[tuple[KubeAPIServer, KubeAPIServer]]:
    """Two servers (two clusters). Both carry the same `kubeconfig`: context alpha (current)
    points at the first server, context beta at the second."""
    _bypass_proxies(monkeypatch)
    with KubeAPIServer(tls=kube_api_tls) as first, KubeAPIServer(tls=kube_api_tls) as second:
        path = write_kubeconfig(
            tmp_path_factory.mktemp("kubeapi") / "kubeconfig",
            [first.context("alpha"), second.context("beta")],
        )
        first.kubeconfig = second.kubeconfig = path
        yield first, second
