"""Command-line parsing only: builds a Source and hands it to `check` or the TUI."""

from __future__ import annotations

import argparse
import os
import select
import shlex
import stat
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from meshtui import __version__
from meshtui.mesh.findings import Severity
from meshtui.sources import Source
from meshtui.sources.arguments import add_source_arguments, build_source, missing_paths
from meshtui.sources.discovery import LoadError

if TYPE_CHECKING:
    from meshtui.mesh.diff import MeshDiff

EXIT_USAGE = 2
OUTPUT_FORMATS = {
    "text": "for people (default)",
    "json": "a stable document for scripts",
    "sarif": "SARIF 2.1.0 for code-scanning tools",
}


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
            f"`{prog} check --help` for the non-interactive report; `{prog} diff OLD NEW` "
            f"for what a change does to traffic; `{prog} test FILE` for routing "
            f"expectations; `{prog} trace` for one request; `{prog} version`; "
            f"`{prog} completion bash|zsh|fish` prints a shell completion script.",
        )
        parser.add_argument("--version", action="version", version=f"meshtui {__version__}")
    add_source_arguments(parser)
    parser.add_argument(
        "--client-namespace",
        metavar="NS",
        help="analyse as sidecars in NS see the mesh: the DestinationRule and VirtualService "
        "they use (default: every client)",
    )
    parser.add_argument(
        "--client",
        metavar="NS/WORKLOAD",
        help="analyse as that workload's proxy sees the mesh: NS's view, with the workload's "
        "own labels deciding its data plane (sidecar, ambient) and its Sidecar",
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
            help="share of traffic a weight-split fix sends to a subset, 1-99 (default: 10; "
            "lowered where the route's destinations must each keep 1%%)",
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
            "--jobs",
            type=int,
            default=None,
            metavar="N",
            help="processes that analyse a JSON report, each a share of the hosts (default: "
            "one per core for a mesh of 2,000 hosts or more; 1: this process alone)",
        )
        parser.add_argument(
            "--allow-partial",
            action="store_true",
            help="live: when a kind cannot be read (403), report what can be, withholding "
            "the findings that depend on it, instead of exit status 2",
        )
    return parser


PIPE_WAIT_SECONDS = 1.0  # for the first byte (or the end) of a pipe on standard input


def piped_input(args: argparse.Namespace) -> bool:
    """Bare `meshtui` (or `meshtui check`) with YAML piped in (`kustomize build | meshtui`):
    read it, as `meshtui -` does, rather than the cluster. Only a pipe or a file counts, and
    only when it holds something: a CI job's /dev/null or an empty pipe still means the
    current context."""
    from meshtui.sources.files import STDIN, STDIN_NAME, keep

    if args.paths or args.context or args.kubeconfig:
        return False
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
        return False
    if stat.S_ISFIFO(mode) and not select.select([sys.stdin], [], [], PIPE_WAIT_SECONDS)[0]:
        return False  # a pipe held open with nothing in it: not input meant for meshtui
    data = sys.stdin.buffer.read()
    if not data.strip():
        return False
    keep(STDIN_NAME, data)
    args.paths = [STDIN]
    return True


def _keys_from_terminal() -> bool:
    """Read standard input's YAML now and take the inspector's keys from the terminal
    (/dev/tty), as `less` does; False when there is no terminal to read them from."""
    from meshtui.sources.files import STDIN_NAME, keep, kept

    if not kept(STDIN_NAME):
        keep(STDIN_NAME, sys.stdin.buffer.read())
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    os.dup2(tty, sys.stdin.fileno())
    os.close(tty)
    return True


def terminal_problem() -> str:
    """Why the inspector cannot draw here ("" when it can): it needs a terminal on stdout, and
    one that understands escape codes."""
    if not sys.stdout.isatty():
        return "standard output is not a terminal"
    if os.environ.get("TERM") == "dumb":
        return "TERM=dumb cannot show the inspector"
    return ""


def _inspect_diff(source: Source, diff: MeshDiff, label: str) -> int:
    """`meshtui diff` in a terminal: the inspector on the new side, the changes marked."""
    from meshtui.tui.app import run_app

    return run_app(source, diff, label)


def main(argv: Sequence[str] | None = None, prog: str = "meshtui") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "trace":
        from meshtui.check.trace_report import run_trace

        return run_trace(argv[1:])
    if argv[:1] == ["diff"]:
        from meshtui.check.diff_report import run_diff

        return run_diff(argv[1:], inspect=None if terminal_problem() else _inspect_diff)
    if argv[:1] == ["test"]:
        from meshtui.check.expectations_report import run_test

        return run_test(argv[1:])
    if argv[:1] == ["version"]:
        print(f"meshtui {__version__}")
        return 0
    if argv[:1] == ["completion"]:
        from meshtui.check import diff_report, expectations_report
        from meshtui.check.trace_report import trace_parser
        from meshtui.completion import completion_main

        parsers = {
            "": _parser(False, prog),
            "check": _parser(True, prog),
            "trace": trace_parser(),
            "diff": diff_report.parser(),
            "test": expectations_report.parser(),
        }
        return completion_main(argv[1:], parsers, prog)
    check = bool(argv) and argv[0] == "check"
    parser = _parser(check, prog)
    args = parser.parse_args(argv[1:] if check else argv)
    piped_input(args)
    for path in missing_paths(args.paths):
        print(f"meshtui: {path}: no such file or directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        source = build_source(args, parser, check, _keys_from_terminal)
        source.client_namespace = args.client_namespace or None
        if args.client:
            namespace, _, workload = args.client.partition("/")
            if not namespace or not workload:
                parser.error("--client takes NS/WORKLOAD")
            source.client_namespace, source.client_workload = namespace, workload
        source.preflight()
        if check:
            from meshtui.check import run_check
            from meshtui.mesh.suppress import SuppressRule

            try:
                rules = [SuppressRule.parse(text) for text in args.suppress]
            except ValueError as err:
                parser.error(str(err))
            if not 1 <= args.fix_weight <= 99:
                parser.error(
                    f"--fix-weight {args.fix_weight}: the share a weight-split fix sends to a "
                    "subset must be between 1 and 99 (percent)"
                )
            status = run_check(
                source,
                args.output,
                Severity(args.failure_threshold),
                fixes=not args.no_fixes,
                max_fixes=max(args.max_fixes, 0),
                fix_weight=args.fix_weight,
                allow_partial=args.allow_partial,
                suppress=rules,
                jobs=args.jobs,
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
