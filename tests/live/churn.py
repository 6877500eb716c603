"""Churn on a loopback API server, as a busy cluster makes it: pods come, go and move between
subsets, and a DestinationRule is edited now and then. Used by the memory test and by
benchmarks/live_churn.py."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any, Protocol

Obj = dict[str, Any]


class Store(Protocol):
    """What churn needs of a server: KubeAPIServer, or the benchmark's child-process proxy."""

    def add(self, obj: Obj) -> Obj: ...
    def update(self, obj: Obj) -> Obj: ...
    def delete(self, ref: str, namespace: str | None, name: str) -> Obj: ...


class Churn:
    """Changes drawn from a fixed seed: relabel a pod to another version, add a pod, delete the
    oldest added one (so the mesh keeps its size: `extra_pods` added, give or take one), and
    edit a DestinationRule's policy to one of a few values (so what the mesh holds stays the
    same size however long it runs)."""

    def __init__(
        self,
        server: Store,
        pods: Sequence[Obj],
        rules: Sequence[Obj],
        *,
        seed: int = 1,
        versions: Sequence[str] = ("v1", "v2", "v3"),
        extra_pods: int = 20,
    ) -> None:
        self.server = server
        self.pods = [copy.deepcopy(p) for p in pods]
        self.rules = [copy.deepcopy(r) for r in rules]
        self.rng = random.Random(seed)
        self.versions = tuple(versions)
        self.extra_pods = extra_pods
        self.added: list[Obj] = []
        self.count = 0
        self.pod_changes = 0
        self.rule_changes = 0
        self.last: dict[str, int] = {}  # kind -> resourceVersion of its last change

    def _sent(self, kind: str, answer: Obj) -> None:
        self.last[kind] = int(answer["metadata"]["resourceVersion"])

    def pod_change(self) -> None:
        self.count += 1
        self.pod_changes += 1
        roll = self.rng.random()
        if roll < 0.5 or not self.pods:
            pod = self.rng.choice(self.pods)
            pod["metadata"]["labels"]["version"] = self.rng.choice(self.versions)
            self._sent("Pod", self.server.update(pod))
        elif len(self.added) < self.extra_pods or (
            roll < 0.75 and len(self.added) == self.extra_pods
        ):
            # Added pods stay within one of extra_pods: with adds and deletes equally likely
            # above it, their number was a random walk, and the mesh grew by hundreds of pods
            # over a long benchmark run (read as memory growth).
            pod = copy.deepcopy(self.rng.choice(self.pods))
            meta = pod["metadata"]
            meta["name"] = f"{meta['name']}-churn-{self.count}"
            for key in ("uid", "resourceVersion", "creationTimestamp"):
                meta.pop(key, None)
            self.added.append(pod)
            self._sent("Pod", self.server.add(pod))
        else:
            gone = self.added.pop(0)["metadata"]
            self._sent("Pod", self.server.delete("Pod", gone["namespace"], gone["name"]))

    def rule_change(self) -> None:
        self.count += 1
        self.rule_changes += 1
        rule = self.rng.choice(self.rules)
        pool = {"tcp": {"maxConnections": 100 + self.count % 5}}
        rule["spec"].setdefault("trafficPolicy", {})["connectionPool"] = pool
        self._sent("DestinationRule", self.server.update(rule))

    def round(self, pod_changes: int = 5, rule_changes: int = 1) -> dict[str, int]:
        """Some pod changes and rule edits; per kind, the resourceVersion to wait for."""
        for _ in range(pod_changes):
            self.pod_change()
        for _ in range(rule_changes):
            self.rule_change()
        return dict(self.last)
