"""The two sides of `meshtui diff`: each a folder, a file, `-` (standard input), a git
revision `REV:PATH`, or `cluster` (the live cluster of `--context`, or the current context).

Against `cluster`, a folder or revision on the other side is laid over the cluster's
resources, as `kubectl apply` would leave them: `meshtui diff cluster mesh/` is "what would
applying mesh/ do".
"""

from __future__ import annotations

import argparse
import os

from meshtui.sources import Source
from meshtui.sources.files import STDIN, LoadError

CLUSTER = "cluster"


def _cluster(args: argparse.Namespace) -> Source:
    from meshtui.sources.cluster import ClusterSource

    return ClusterSource(
        contexts=args.context,
        kubeconfig=args.kubeconfig,
        namespaces=[] if getattr(args, "all_namespaces", False) else args.namespace,
        request_timeout=args.request_timeout,
    )


def _files(spec: str, namespace: str | None) -> Source:
    from meshtui.sources.folder import FileSource
    from meshtui.sources.revision import RevisionSource, is_revision

    if spec != STDIN and is_revision(spec):
        return RevisionSource(spec, namespace=namespace)
    if spec != STDIN and not os.path.lexists(spec):
        raise LoadError(f"{spec}: no such file or directory (nor a git REV:PATH)")
    return FileSource([spec], namespace=namespace)


def side_sources(old: str, new: str, args: argparse.Namespace) -> tuple[Source, Source]:
    """The sources of both sides; LoadError for a side that cannot name anything."""
    if old == STDIN and new == STDIN:
        raise LoadError("- (standard input) can be one side only")
    with_cluster = CLUSTER in (old, new)
    if (args.context or args.kubeconfig) and not with_cluster:
        raise LoadError("--context and --kubeconfig name the cluster of a `cluster` side: give one")
    namespace = args.namespace[0] if args.namespace and not with_cluster else None
    sources = []
    for spec in (old, new):
        if spec == CLUSTER:
            sources.append(_cluster(args))
            continue
        files = _files(spec, namespace)
        if with_cluster:
            from meshtui.sources.cluster import ClusterSource
            from meshtui.sources.folder import FileSource
            from meshtui.sources.overlay import OverlaySource

            cluster = _cluster(args)
            assert isinstance(files, FileSource) and isinstance(cluster, ClusterSource)
            files = OverlaySource(files, cluster)
        sources.append(files)
    return sources[0], sources[1]
