"""Command-line parsing only: builds a Source and hands it to `check` or the TUI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from meshtui import __version__
from meshtui.mesh.findings import Severity
from meshtui.sources import Source
from meshtui.sources.files import LoadError

EXIT_USAGE = 2


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="YAML/JSON files or folders (read recursively); - reads standard input (check only)",
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
        help="namespace to read; repeatable",
    )
    live.add_argument(
        "-A", "--all-namespaces", action="store_true", help="read every namespace (default)"
    )
    live.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="timeout of each API request (default: 30)",
    )


def _parser(check: bool) -> argparse.ArgumentParser:
    if check:
        parser = argparse.ArgumentParser(
            prog="meshtui check",
            description="Print the traffic-policy analysis for scripts and CI.",
            epilog="exit status: 0 no finding reaches the threshold, 1 one does, "
            "2 the input could not be read",
        )
    else:
        parser = argparse.ArgumentParser(
            prog="meshtui",
            description="Keyboard-driven inspector of Istio traffic policy. "
            "`meshtui check --help` for the non-interactive report.",
        )
        parser.add_argument("--version", action="version", version=f"meshtui {__version__}")
    _add_source_arguments(parser)
    if check:
        parser.add_argument(
            "-o", "--output", choices=("text", "json", "sarif"), default="text", help="format"
        )
        parser.add_argument(
            "--failure-threshold",
            choices=[s.value for s in Severity],
            default=Severity.WARNING.value,
            help="lowest severity that makes the exit status 1 (default: warning)",
        )
        parser.add_argument(
            "--no-fixes",
            action="store_true",
            help="leave out the verified fixes (text diffs, JSON and SARIF `fixes`)",
        )
        parser.add_argument(
            "--max-fixes",
            type=int,
            default=100,
            metavar="N",
            help="verify and show fixes for the first N findings (default: 100; each costs "
            "a re-analysis)",
        )
        parser.add_argument(
            "--fix-weight",
            type=int,
            default=10,
            metavar="PERCENT",
            help="share of traffic a weight-split fix sends to a subset (default: 10)",
        )
    return parser


def build_source(
    args: argparse.Namespace, parser: argparse.ArgumentParser, check: bool = False
) -> Source:
    live = bool(args.context or args.kubeconfig or args.namespace or args.all_namespaces)
    if args.paths and live:
        parser.error("give either PATHs or cluster options, not both")
    if args.paths:
        from meshtui.sources.files import STDIN, FileSource

        if STDIN in args.paths and not check:
            # The inspector reads its keys from the terminal: stdin cannot bring YAML too.
            parser.error("- (standard input) works with `meshtui check`; save it to a file first")
        return FileSource(args.paths)
    # No PATH: like kubectl and k9s, read the kubeconfig's current context.
    from meshtui.sources.cluster import ClusterSource

    return ClusterSource(
        contexts=args.context,
        kubeconfig=args.kubeconfig,
        namespaces=[] if args.all_namespaces else args.namespace,
        request_timeout=args.request_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    check = bool(argv) and argv[0] == "check"
    parser = _parser(check)
    args = parser.parse_args(argv[1:] if check else argv)
    try:
        source = build_source(args, parser, check)
        source.preflight()
        if check:
            from meshtui.check import run_check

            status = run_check(
                source,
                args.output,
                Severity(args.failure_threshold),
                fixes=not args.no_fixes,
                max_fixes=max(args.max_fixes, 0),
                fix_weight=args.fix_weight,
            )
            for warning in source.warnings:  # what a live source could not see, e.g. a 403
                print(f"meshtui: warning: {warning}", file=sys.stderr)
            return status
        from meshtui.tui.app import run_app

        return run_app(source)
    except LoadError as err:
        print(f"meshtui: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
