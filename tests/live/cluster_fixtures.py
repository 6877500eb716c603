"""What the live tests put on the loopback API server, and how they wait for a watch."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.kubeapi import KubeAPIServer
from tests.kubeapi.objects import configmap, pod, secret

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOOKINFO = EXAMPLES / "bookinfo"
REVIEWS = "reviews.bookinfo.svc.cluster.local"
DETAILS = "details.bookinfo.svc.cluster.local"
RATINGS = "ratings.bookinfo.svc.cluster.local"

T = TypeVar("T")


def bookinfo_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(BOOKINFO.glob("*.yaml")):
        with path.open() as fh:
            docs += [d for d in yaml.safe_load_all(fh) if d]
    return docs


def pods_of(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The Deployment's running pods, named and labelled as its ReplicaSet makes them."""
    meta = deployment["metadata"]
    labels = {**deployment["spec"]["template"]["metadata"]["labels"], "pod-template-hash": "7f9c"}
    pods = []
    for i in range(deployment["spec"].get("replicas", 1)):
        p = pod(meta["namespace"], f"{meta['name']}-7f9c-{i}", labels, ip=f"10.1.0.{i + 10}")
        p["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": f"{meta['name']}-7f9c",
                "uid": f"rs-{meta['name']}",
                "controller": True,
            }
        ]
        pods.append(p)
    return pods


def bookinfo_objects() -> list[dict[str, Any]]:
    """examples/bookinfo as a cluster holds it: Deployments become their Pods."""
    out = []
    for doc in bookinfo_documents():
        out += pods_of(doc) if doc["kind"] == "Deployment" else [doc]
    return out


def load_bookinfo(server: KubeAPIServer) -> None:
    """Bookinfo, plus a Secret and a ConfigMap the live source must never ask for."""
    server.add_many(bookinfo_objects())
    server.add(secret("bookinfo", "reviews-credentials"))
    server.add(configmap("bookinfo", "reviews-settings"))


def bookinfo(kind: str, name: str) -> dict[str, Any]:
    """A fresh copy of one bookinfo document, to change and send to the server."""
    for doc in bookinfo_documents():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return copy.deepcopy(doc)
    raise KeyError(f"{kind} {name}")


def eventually(check: Callable[[], T], timeout: float = 5.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy (and return that), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        time.sleep(0.02)


class Notifications:
    """A `notify` for ClusterSource.watch that keeps every call (from watch threads)."""

    def __init__(self) -> None:
        self.calls: list[set[str]] = []
        self._lock = threading.Lock()

    def __call__(self, hosts: set[str]) -> None:
        with self._lock:
            self.calls.append(set(hosts))

    def since(self, start: int) -> list[set[str]]:
        with self._lock:
            return list(self.calls[start:])

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def wait_for(self, start: int, host: str, timeout: float = 5.0) -> set[str]:
        """The first call after `start` that names `host`."""
        return eventually(
            lambda: next((c for c in self.since(start) if host in c), None),
            timeout,
            f"a notification naming {host}",
        )
