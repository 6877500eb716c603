"""`meshtui completion bash|zsh|fish`: shell completion scripts made from the parsers
themselves, so a new option completes without anyone editing a script.

    source <(meshtui completion bash)        # or zsh
    meshtui completion fish | source

Options and their fixed choices (-o, --failure-threshold) come from argparse; PATHs and
--kubeconfig complete as files; --context asks kubectl for the kubeconfig's contexts.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")
SUBCOMMANDS = {
    "check": "print the analysis for scripts and CI",
    "version": "print the version",
    "completion": "print a shell completion script",
}
COMMANDS = ("meshtui", "kubectl-meshtui")
CONTEXTS = "kubectl config get-contexts -o name 2>/dev/null"
FILE_OPTIONS = ("--kubeconfig",)
CONTEXT_OPTIONS = ("--context",)


@dataclass(frozen=True, slots=True)
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]


def options(parser: argparse.ArgumentParser) -> list[Option]:
    """Every optional argument of a parser (help included)."""
    out = []
    for action in parser._actions:
        if not action.option_strings:
            continue
        takes = action.nargs != 0
        choices = tuple(str(c) for c in action.choices or ())
        text = "" if action.help == argparse.SUPPRESS else (action.help or "")
        text = re.split(r":| \(", text, maxsplit=1)[0]  # the first words, for a menu
        out.append(Option(tuple(action.option_strings), text, takes, choices))
    return out


def _words(opts: Sequence[Option]) -> str:
    return " ".join(f for o in opts for f in o.flags)


def bash(inspector: list[Option], check: list[Option]) -> str:
    cases = []
    for o in {o.flags: o for o in [*inspector, *check] if o.takes_value}.values():
        pattern = "|".join(o.flags)
        if o.choices:
            reply = f'COMPREPLY=($(compgen -W {shlex.quote(" ".join(o.choices))} -- "$cur"))'
        elif set(o.flags) & set(FILE_OPTIONS):
            reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
        elif set(o.flags) & set(CONTEXT_OPTIONS):
            reply = f'COMPREPLY=($(compgen -W "$({CONTEXTS})" -- "$cur"))'
        else:
            reply = "COMPREPLY=()"
        cases.append(f"        {pattern}) {reply}; return ;;")
    case_lines = "\n".join(cases)
    subcommands = " ".join(SUBCOMMANDS)
    shells = " ".join(SHELLS)
    return f"""# bash completion for meshtui: source <(meshtui completion bash)
_meshtui() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local sub="${{COMP_WORDS[1]}}"
    case "$prev" in
{case_lines}
    esac
    if [[ "$sub" == completion ]]; then
        [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "{shells}" -- "$cur"))
        return
    fi
    [[ "$sub" == version ]] && return
    if [[ "$cur" == -* ]]; then
        if [[ "$sub" == check ]]; then
            COMPREPLY=($(compgen -W "{_words(check)}" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "{_words(inspector)}" -- "$cur"))
        fi
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY+=($(compgen -W "{subcommands}" -- "$cur"))
    fi
}}
complete -o filenames -F _meshtui {" ".join(COMMANDS)}
"""


def zsh(inspector: list[Option], check: list[Option]) -> str:
    # zsh runs bash completion functions through bashcompinit, which ships with zsh.
    return (
        "# zsh completion for meshtui: source <(meshtui completion zsh)\n"
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(inspector, check).split("\n", 1)[1]
    )


def _fish_option(command: str, condition: str, o: Option) -> str:
    parts = [f"complete -c {command} -n {shlex.quote(condition)}"]
    for flag in o.flags:
        if flag.startswith("--"):
            parts.append(f"-l {flag[2:]}")
        else:
            parts.append(f"-s {flag[1:]}")
    if o.choices:
        parts.append(f"-x -a {shlex.quote(' '.join(o.choices))}")
    elif set(o.flags) & set(CONTEXT_OPTIONS):
        parts.append(f"-x -a {shlex.quote(f'({CONTEXTS})')}")
    elif set(o.flags) & set(FILE_OPTIONS):
        parts.append("-r -F")
    elif o.takes_value:
        parts.append("-x")
    if o.help:
        parts.append(f"-d {shlex.quote(o.help)}")
    return " ".join(parts)


def fish(inspector: list[Option], check: list[Option]) -> str:
    lines = ["# fish completion for meshtui: meshtui completion fish | source"]
    first = "not __fish_seen_subcommand_from " + " ".join(SUBCOMMANDS)
    for command in COMMANDS:
        for name, what in SUBCOMMANDS.items():
            lines.append(
                f"complete -c {command} -n {shlex.quote(first)} -a {name} -d {shlex.quote(what)}"
            )
        lines.append(
            f"complete -c {command} -n '__fish_seen_subcommand_from completion' -x "
            f"-a {shlex.quote(' '.join(SHELLS))}"
        )
        lines += [_fish_option(command, first, o) for o in inspector]
        lines += [_fish_option(command, "__fish_seen_subcommand_from check", o) for o in check]
    return "\n".join(lines) + "\n"


SCRIPTS = {"bash": bash, "zsh": zsh, "fish": fish}


def completion_main(
    argv: Sequence[str],
    inspector: argparse.ArgumentParser,
    check: argparse.ArgumentParser,
    prog: str = "meshtui",
) -> int:
    """Print the script for the shell named in `argv`, made from the inspector's and check's
    parsers (the command line hands them over: this module knows no command of its own)."""
    parser = argparse.ArgumentParser(
        prog=f"{prog} completion",
        description="Print a shell completion script: "
        "`source <(meshtui completion bash)`, or `meshtui completion fish | source`.",
    )
    parser.add_argument("shell", choices=SHELLS)
    args = parser.parse_args(argv)
    sys.stdout.write(SCRIPTS[args.shell](options(inspector), options(check)))
    return 0
