"""The arguments that name a source (PATHs, or a cluster by context, kubeconfig and namespace)
and the Source they build: shared by the inspector, `check` and `trace`."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Sequence

from meshtui.sources import Source

# kubectl's --request-timeout: a Go duration (1m30s, 500ms), or a plain number of seconds.
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def duration(text: str) -> float:
    """Seconds of `30s`, `1m`, `1m30s`, `500ms` or `30` (kubectl's forms); more than zero."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION_PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a duration: give e.g. 30s, 1m, 1m30s, 500ms or 30 (seconds)"
            ) from None
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the timeout must be more than zero")
    return seconds


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="YAML/JSON files or folders (read recursively); - reads standard input (check only)",
    )
    parser.add_argument(
        "--overlay",
        metavar="NAME",
        help="of kustomize overlays that build on one base (alternatives), the one to read: "
        "its path or last parts (overlays/prod); check reports each when not given",
    )
    live = parser.add_argument_group("live cluster (read-only)")
    live.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="CTX",
        help="kubeconfig context to read; repeat for several clusters (default: the current "
        "context when no PATH is given)",
    )
    live.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG)")
    live.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="namespace to read; repeatable. With PATHs: the namespace of resources written "
        "without one (as kubectl apply -n)",
    )
    live.add_argument(
        "-A", "--all-namespaces", action="store_true", help="read every namespace (default)"
    )
    live.add_argument(
        "--request-timeout",
        type=duration,
        default=30.0,
        metavar="DURATION",
        help="timeout of each API request, as kubectl takes it: 30s, 1m, 500ms, or seconds "
        "(default: 30s)",
    )


def build_source(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    check: bool = False,
    keys_elsewhere: Callable[[], bool] = lambda: False,
) -> Source:
    """The Source the arguments name. `keys_elsewhere` says whether the inspector can take its
    keys from somewhere other than standard input (the terminal), so that stdin may bring YAML."""
    if args.paths:
        return path_source(args, parser, check, keys_elsewhere)
    if getattr(args, "overlay", None):
        parser.error("--overlay chooses among the kustomize overlays of PATHs; give a PATH")
    # No PATH: like kubectl and k9s, read the kubeconfig's current context.
    from meshtui.sources.cluster import ClusterSource

    return ClusterSource(
        contexts=args.context,
        kubeconfig=args.kubeconfig,
        namespaces=[] if args.all_namespaces else args.namespace,
        request_timeout=args.request_timeout,
        open_partially=not check,  # a report needs every context; the inspector opens anyway
    )


def path_source(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    check: bool,
    keys_elsewhere: Callable[[], bool] = lambda: False,
) -> Source:
    """PATHs: read the files; `-n NS` is the namespace of resources written without one (as
    `kubectl apply -n`); with `--context`, the files are laid over that cluster's resources."""
    from meshtui.sources.files import STDIN, FileSource

    if STDIN in args.paths and not check and not keys_elsewhere():
        # The inspector reads its keys from the terminal: stdin cannot bring YAML too.
        parser.error("- (standard input) works with `meshtui check`; save it to a file first")
    if len(args.namespace) > 1:
        parser.error("with PATHs, give one -n/--namespace: the namespace of resources without one")
    overlay = bool(args.context or args.kubeconfig)
    if args.all_namespaces and not overlay:
        parser.error("-A/--all-namespaces reads a cluster; with PATHs alone give -n NS")
    files = FileSource(
        args.paths,
        namespace=args.namespace[0] if args.namespace else None,
        follow=not check,
        overlay=getattr(args, "overlay", None),
    )
    if not overlay:
        return files
    from meshtui.sources.cluster import ClusterSource
    from meshtui.sources.overlay import OverlaySource

    return OverlaySource(
        files,
        ClusterSource(
            contexts=args.context,
            kubeconfig=args.kubeconfig,
            namespaces=[] if args.all_namespaces else args.namespace,
            request_timeout=args.request_timeout,
        ),
    )


def missing_paths(paths: Sequence[str]) -> list[str]:
    """The PATHs that do not exist (`-` is standard input), found before anything starts."""
    from meshtui.sources.files import STDIN

    return [p for p in paths if p != STDIN and not os.path.lexists(p)]
