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
from collections.abc import Mapping, Sequence

from meshtui.mesh.frozen import frozen

SHELLS = ("bash", "zsh", "fish")
SUBCOMMANDS = {
    "check": "print the analysis for scripts and CI",
    "trace": "follow one request through the routing, as Istio would",
    "diff": "what a change does to traffic, and for whom",
    "test": "check routing expectations against the mesh",
    "version": "print the version",
    "completion": "print a shell completion script",
}
# The subcommands with options of their own ("" is the inspector: `meshtui [PATH ...]`).
WITH_OPTIONS = ("check", "trace", "diff", "test", "")
COMMANDS = ("meshtui", "kubectl-meshtui")
CONTEXTS = "kubectl config get-contexts -o name 2>/dev/null"
FILE_OPTIONS = ("--kubeconfig",)
CONTEXT_OPTIONS = ("--context",)


@frozen
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


Parsers = dict[str, list[Option]]  # each subcommand's options ("" for bare meshtui)


def _words(opts: Sequence[Option]) -> str:
    return " ".join(f for o in opts for f in o.flags)


def _bash_values(opts: Sequence[Option], pad: str) -> str:
    """`case "$prev"` arms that complete an option's value (choices, files, contexts)."""
    cases = []
    for o in opts:
        if not o.takes_value:
            continue
        pattern = "|".join(o.flags)
        if o.choices:
            reply = f'COMPREPLY=($(compgen -W {shlex.quote(" ".join(o.choices))} -- "$cur"))'
        elif set(o.flags) & set(FILE_OPTIONS):
            reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
        elif set(o.flags) & set(CONTEXT_OPTIONS):
            reply = f'COMPREPLY=($(compgen -W "$({CONTEXTS})" -- "$cur"))'
        else:
            reply = "COMPREPLY=()"
        cases.append(f"{pad}{pattern}) {reply}; return ;;")
    return "\n".join(cases)


def _arm(sub: str) -> str:
    return f"{sub})" if sub else "*)"


def bash(parsers: Parsers) -> str:
    values = "\n".join(
        f'        {_arm(sub)}\n            case "$prev" in\n'
        f"{_bash_values(parsers[sub], ' ' * 16)}\n            esac ;;"
        for sub in WITH_OPTIONS
    )
    flags = "\n".join(
        f'            {_arm(sub)} words="{_words(parsers[sub])}" ;;' for sub in WITH_OPTIONS
    )
    subcommands = " ".join(SUBCOMMANDS)
    shells = " ".join(SHELLS)
    return f"""# bash completion for meshtui: source <(meshtui completion bash)
_meshtui() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local sub="${{COMP_WORDS[1]}}" words
    case "$sub" in
{values}
    esac
    if [[ "$sub" == completion ]]; then
        [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "{shells}" -- "$cur"))
        return
    fi
    [[ "$sub" == version ]] && return
    if [[ "$cur" == -* ]]; then
        case "$sub" in
{flags}
        esac
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY+=($(compgen -W "{subcommands}" -- "$cur"))
    fi
}}
complete -o filenames -F _meshtui {" ".join(COMMANDS)}
"""


def zsh(parsers: Parsers) -> str:
    # zsh runs bash completion functions through bashcompinit, which ships with zsh.
    return (
        "# zsh completion for meshtui: source <(meshtui completion zsh)\n"
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(parsers).split("\n", 1)[1]
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


def fish(parsers: Parsers) -> str:
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
        for sub in WITH_OPTIONS:
            condition = f"__fish_seen_subcommand_from {sub}" if sub else first
            lines += [_fish_option(command, condition, o) for o in parsers[sub]]
    return "\n".join(lines) + "\n"


SCRIPTS = {"bash": bash, "zsh": zsh, "fish": fish}


def completion_main(
    argv: Sequence[str], parsers: Mapping[str, argparse.ArgumentParser], prog: str = "meshtui"
) -> int:
    """Print the script for the shell named in `argv`, made from each subcommand's parser
    (the command line hands them over: this module knows no command of its own)."""
    parser = argparse.ArgumentParser(
        prog=f"{prog} completion",
        description="Print a shell completion script: "
        "`source <(meshtui completion bash)`, or `meshtui completion fish | source`.",
    )
    parser.add_argument("shell", choices=SHELLS)
    args = parser.parse_args(argv)
    options_by_command = {name: options(p) for name, p in parsers.items()}
    sys.stdout.write(SCRIPTS[args.shell](options_by_command))
    return 0
