"""The trimmed objects the live source keeps (sources/kinds.py): a pod changed by a watch
event costs no more memory than the pod it replaced, read from a list page."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from meshtui.mesh.objects import Origin
from meshtui.mesh.resources import parse_object
from meshtui.sources.kinds import CORE_KINDS, trim
from tests.kubeapi import objects as k

POD = next(kind for kind in CORE_KINDS if kind.kind == "Pod")
PODS = 1000


def _pod(i: int) -> dict[str, Any]:
    labels = {"app": "checkout", "version": f"v{i % 3}", "pod-template-hash": "7d9f"}
    pod = k.pod("shop", f"checkout-{i}", labels, ip=f"10.0.{i // 250}.{i % 250}")
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-7d9f"}
    pod["metadata"]["ownerReferences"] = [{**owner, "uid": "u1", "controller": True}]
    pod["status"]["conditions"] = [
        {"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    return pod


def _blocks_per_pod(decode: Callable[[], Iterable[Any]]) -> tuple[float, list[Any]]:
    """Blocks held per pod once its JSON is decoded, trimmed and parsed (the JSON dropped)."""
    gc.collect()
    before = sys.getallocatedblocks()
    kept = [parse_object(trim(o, POD, "v1"), Origin(cluster="alpha")) for o in decode()]
    gc.collect()
    return (sys.getallocatedblocks() - before) / PODS, kept


def test_a_pod_from_a_watch_event_is_as_small_as_one_from_a_list_page():
    # A list page is decoded in one call, which shares the keys of all its items; each watch
    # event is decoded alone. Kept as decoded, every changed pod held its own copies of its
    # labels', owner's and condition's keys, and memory grew under churn until every pod had
    # changed once.
    texts = [json.dumps(_pod(i)) for i in range(PODS)]
    page = "[" + ",".join(texts) + "]"
    listed, kept_listed = _blocks_per_pod(lambda: json.loads(page))
    watched, kept_watched = _blocks_per_pod(lambda: (json.loads(t) for t in texts))
    assert watched <= listed + 0.5, (listed, watched)
    assert [p.labels for p in kept_listed] == [p.labels for p in kept_watched]
    assert kept_watched[4].labels == {
        "app": "checkout",
        "version": "v1",
        "pod-template-hash": "7d9f",
    }
