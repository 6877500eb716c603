"""`:ctx`: the kubeconfig contexts a live view can switch to, and the source that reads them.

A switch builds a new cluster source with the same kubeconfig, namespaces and timeout, and the
inspector loads it in a worker: the old view (and its watches) stay until the new one has
loaded, so a context that cannot be reached changes nothing but a message.
"""

from __future__ import annotations

import os
from typing import Any

from meshtui.sources import Source


def is_cluster(source: Source) -> bool:
    return source.live and hasattr(source, "contexts") and hasattr(source, "kubeconfig")


def context_names(source: Source) -> list[str]:
    """Every context of the source's kubeconfig (as kubectl reads it); empty offline or when
    the kubeconfig cannot be read (completion is a convenience, never an error)."""
    if not is_cluster(source):
        return []
    kubeconfig: str | None = getattr(source, "kubeconfig", None)
    paths = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    try:
        from kubernetes import config

        contexts, _ = config.list_kube_config_contexts(config_file=os.path.expanduser(paths))
    except Exception:  # the kubernetes client raises many kinds for a bad file
        return []
    return [c["name"] for c in contexts or [] if isinstance(c, dict) and "name" in c]


def current_contexts(source: Source) -> list[str]:
    """The contexts a cluster source reads: the ones it was given, else the one it connected."""
    given: list[str] = list(getattr(source, "contexts", []) or [])
    if given:
        return given
    clusters: list[Any] = list(getattr(source, "clusters", []) or [])
    return [c.name for c in clusters if getattr(c, "name", "")]


def switched(source: Source, argument: str) -> Source:
    """A new cluster source for `:ctx NAME` (instead of the current contexts) or `:ctx +NAME`
    (beside them), keeping the kubeconfig, namespaces, request timeout and client view."""
    from meshtui.sources.cluster import ClusterSource

    assert isinstance(source, ClusterSource)
    name = argument.removeprefix("+").strip()
    contexts = [name]
    if argument.startswith("+"):
        contexts = [c for c in current_contexts(source) if c != name] + [name]
    new = ClusterSource(
        contexts=contexts,
        kubeconfig=source.kubeconfig,
        namespaces=source.namespaces,
        request_timeout=source.request_timeout,
        config=source.config,
    )
    new.client_namespace = source.client_namespace  # the client view carries over
    return new
