"""Fixtures of the live-source tests: every loopback API server they use is audited.

The live source must be strictly read-only: only GET requests, and never Secrets or
ConfigMaps. `kube_api` and `kube_api_pair` are wrapped here so that, when a test ends, every
request its servers saw is checked; at the end of the session the audit also checks that it
saw the whole suite's traffic (so the rule is proven over all of it, not over one test).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshtui.sources import watching
from tests.kubeapi import KubeAPIServer, RequestRecord
from tests.kubeapi.fixtures import _bypass_proxies
from tests.kubeapi.kinds import DEFAULT_KINDS, GATEWAY_API_KINDS

FORBIDDEN_RESOURCES = {"secrets", "configmaps"}


class RequestAudit:
    """Every request of every audited server, and those that broke the read-only rule."""

    def __init__(self) -> None:
        self.requests: list[RequestRecord] = []
        self.servers = 0

    def check(self, server: KubeAPIServer) -> None:
        requests = server.requests
        self.servers += 1
        self.requests += requests
        assert_read_only(requests)


def assert_read_only(requests: list[RequestRecord]) -> None:
    writes = [f"{r.method} {r.path}" for r in requests if r.method != "GET"]
    assert not writes, f"the live source sent requests other than GET: {writes}"
    touched = [f"{r.path}" for r in requests if r.resource in FORBIDDEN_RESOURCES]
    assert not touched, f"the live source asked for secrets or configmaps: {touched}"


@pytest.fixture(scope="session")
def request_audit() -> Iterator[RequestAudit]:
    audit = RequestAudit()
    yield audit
    # The whole run once more, so nothing slipped past a test's own teardown.
    assert_read_only(audit.requests)


@pytest.fixture
def kube_api(kube_api: KubeAPIServer, request_audit: RequestAudit) -> Iterator[KubeAPIServer]:
    """The loopback API server (contexts alpha and beta), audited when the test ends."""
    yield kube_api
    request_audit.check(kube_api)


@pytest.fixture
def kube_api_pair(
    kube_api_pair: tuple[KubeAPIServer, KubeAPIServer], request_audit: RequestAudit
) -> Iterator[tuple[KubeAPIServer, KubeAPIServer]]:
    """Two servers: context alpha on the first, beta on the second; both audited."""
    yield kube_api_pair
    for server in kube_api_pair:
        request_audit.check(server)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short backoff, a short stale threshold and watches the server ends every 2 s."""
    monkeypatch.setattr(watching, "BACKOFF", (0.05, 0.1, 0.2))
    monkeypatch.setattr(watching, "STALE_AFTER", 0.4)
    monkeypatch.setattr(watching, "WATCH_SECONDS", 2)


@pytest.fixture(autouse=True)
def _no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """Tests never read the developer's own kubeconfig or cluster."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def gateway_api(
    kube_api_tls, tmp_path_factory, monkeypatch, request_audit
) -> Iterator[KubeAPIServer]:
    _bypass_proxies(monkeypatch)
    with KubeAPIServer(tls=kube_api_tls, kinds=DEFAULT_KINDS + GATEWAY_API_KINDS) as server:
        server.kubeconfig = server.write_kubeconfig(tmp_path_factory.mktemp("gw") / "kubeconfig")
        yield server
        request_audit.check(server)
