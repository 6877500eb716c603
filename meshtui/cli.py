"""Command-line parsing only: builds a Source and hands it to `check` or the TUI."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Sequence

from meshtui import __version__
from meshtui.mesh.findings import Severity
from meshtui.sources import Source
from meshtui.sources.discovery import LoadError

EXIT_USAGE = 2
OUTPUT_FORMATS = {
    "text": "for people (default)",
    "json": "a stable document for scripts",
    "sarif": "SARIF 2.1.0 for code-scanning tools",
}
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


def _parser(check: bool, prog: str = "meshtui") -> argparse.ArgumentParser:
    if check:
        parser = argparse.ArgumentParser(
            prog=f"{prog} check",
            description="Print the traffic-policy analysis for scripts and CI.",
            epilog="exit status: 0 no finding reaches the threshold, 1 one does, "
            "2 the input could not be read",
        )
    else:
        parser = argparse.ArgumentParser(
            prog=prog,
            description="Keyboard-driven inspector of Istio traffic policy. "
            f"`{prog} check --help` for the non-interactive report; `{prog} version`; "
            f"`{prog} completion bash|zsh|fish` prints a shell completion script.",
        )
        parser.add_argument("--version", action="version", version=f"meshtui {__version__}")
    _add_source_arguments(parser)
    parser.add_argument(
        "--client-namespace",
        metavar="NS",
        help="analyse as sidecars in NS see the mesh: the DestinationRule and VirtualService "
        "they use (default: every client)",
    )
    if check:
        parser.add_argument(
            "-o",
            "--output",
            choices=tuple(OUTPUT_FORMATS),
            default="text",
            help="output format: "
            + "; ".join(f"{name}: {what}" for name, what in OUTPUT_FORMATS.items()),
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
        parser.add_argument(
            "--suppress",
            action="append",
            default=[],
            metavar="CODE=KIND NS/NAME",
            help='suppress a finding, as istioctl analyze does: e.g. "IST0101=VirtualService '
            'shop/reviews" or "UnknownField=DestinationRule *"; * wildcards; repeatable '
            "(suppressed findings are counted in the summary)",
        )
        parser.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="say on standard error how the input was read: which documents PyYAML read "
            "instead of rapidyaml, and why",
        )
        parser.add_argument(
            "--allow-partial",
            action="store_true",
            help="live: when a kind cannot be read (403), report what can be, withholding "
            "the findings that depend on it, instead of exit status 2",
        )
    return parser


def build_source(
    args: argparse.Namespace, parser: argparse.ArgumentParser, check: bool = False
) -> Source:
    if args.paths:
        return _path_source(args, parser, check)
    # No PATH: like kubectl and k9s, read the kubeconfig's current context.
    from meshtui.sources.cluster import ClusterSource

    return ClusterSource(
        contexts=args.context,
        kubeconfig=args.kubeconfig,
        namespaces=[] if args.all_namespaces else args.namespace,
        request_timeout=args.request_timeout,
    )


def _path_source(args: argparse.Namespace, parser: argparse.ArgumentParser, check: bool) -> Source:
    """PATHs: read the files; `-n NS` is the namespace of resources written without one (as
    `kubectl apply -n`); with `--context`, the files are laid over that cluster's resources."""
    from meshtui.sources.files import STDIN, FileSource

    if STDIN in args.paths and not check:
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


def terminal_problem() -> str:
    """Why the inspector cannot draw here ("" when it can): it needs a terminal on stdout, and
    one that understands escape codes."""
    if not sys.stdout.isatty():
        return "standard output is not a terminal"
    if os.environ.get("TERM") == "dumb":
        return "TERM=dumb cannot show the inspector"
    return ""


def main(argv: Sequence[str] | None = None, prog: str = "meshtui") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "trace":
        from meshtui.check.trace_report import run_trace

        return run_trace(argv[1:])
    if argv[:1] == ["version"]:
        print(f"meshtui {__version__}")
        return 0
    if argv[:1] == ["completion"]:
        from meshtui.completion import completion_main

        return completion_main(argv[1:], prog)
    check = bool(argv) and argv[0] == "check"
    parser = _parser(check, prog)
    args = parser.parse_args(argv[1:] if check else argv)
    for path in missing_paths(args.paths):
        print(f"meshtui: {path}: no such file or directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        source = build_source(args, parser, check)
        source.client_namespace = args.client_namespace or None
        source.preflight()
        if check:
            from meshtui.check import run_check
            from meshtui.mesh.suppress import SuppressRule

            try:
                rules = [SuppressRule.parse(text) for text in args.suppress]
            except ValueError as err:
                parser.error(str(err))
            status = run_check(
                source,
                args.output,
                Severity(args.failure_threshold),
                fixes=not args.no_fixes,
                max_fixes=max(args.max_fixes, 0),
                fix_weight=args.fix_weight,
                allow_partial=args.allow_partial,
                suppress=rules,
            )
            for warning in source.warnings:  # what a live source could not see, e.g. a 403
                print(f"meshtui: warning: {warning}", file=sys.stderr)
            if args.verbose:
                for detail in source.details:
                    print(f"meshtui: {detail}", file=sys.stderr)
            return status
        problem = terminal_problem()
        if problem:
            report = f"{prog} check {shlex.join(argv)}".rstrip()
            print(f"meshtui: {problem}; for a report, run `{report}`", file=sys.stderr)
            return EXIT_USAGE
        from meshtui.tui.app import run_app

        return run_app(source)
    except LoadError as err:
        print(f"meshtui: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def kubectl_main() -> int:
    """`kubectl meshtui ...`: kubectl runs the `kubectl-meshtui` executable on PATH."""
    return main(prog="kubectl meshtui")
