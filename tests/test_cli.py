"""The command line: argument parsing, exit statuses, and what `check` imports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui import __version__
from meshtui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshtui", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"meshtui {__version__}"


def test_check_help_names_the_formats_and_exit_statuses(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: meshtui check" in out
    assert "{text,json,sarif}" in out
    assert "--failure-threshold" in out
    assert "exit status" in out


@pytest.mark.parametrize(
    "args",
    [
        ["check", "examples/bookinfo", "-o", "yaml"],
        ["check", "examples/bookinfo", "--failure-threshold", "critical"],
        ["check", "examples/bookinfo", "-n", "shop", "-n", "payments"],
        ["check", "examples/bookinfo", "-A"],
    ],
    ids=["unknown-format", "unknown-threshold", "paths-and-two-namespaces", "paths-and-all"],
)
def test_usage_errors_exit_2(capsys, monkeypatch, args):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "usage: meshtui check" in capsys.readouterr().err


def test_missing_path_among_good_ones_exits_2(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["check", "examples/bookinfo", "missing.yaml"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == "meshtui: missing.yaml: no such file or directory"


def test_several_paths_are_checked_together(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(
        [
            "check",
            "examples/dormant-policy/fix-route",
            "examples/dormant-policy/fix-host-level",
        ]
    )
    assert code == 0
    assert "2 hosts, no findings" in capsys.readouterr().out


def test_python_dash_m_runs_check():
    proc = run("check", "examples/dormant-policy/fix-route", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert '"findings": []' in proc.stdout


def test_check_does_not_import_textual():
    code = (
        "import sys\n"
        "from meshtui.cli import main\n"
        "status = main(['check', 'examples/bookinfo', '-o', 'json'])\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(status, loaded, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.stderr.strip().splitlines()[-1] == "1 []"


def test_check_reads_standard_input_given_as_a_dash():
    # `kustomize build . | meshtui check -`, as `kubectl apply -f -` reads it.
    files = sorted((ROOT / "examples" / "bookinfo").glob("*.yaml"))
    stream = "".join("---\n" + f.read_text() for f in files)
    piped = subprocess.run(
        [sys.executable, "-m", "meshtui", "check", "-", "-o", "json"],
        cwd=ROOT,
        input=stream,
        capture_output=True,
        text=True,
        timeout=120,
    )
    from_folder = run("check", "examples/bookinfo", "-o", "json")

    assert piped.returncode == from_folder.returncode == 1
    assert piped.stderr == ""
    piped_json, folder_json = json.loads(piped.stdout), json.loads(from_folder.stdout)
    assert piped_json["source"] == "<stdin>"
    assert piped_json["hosts"] == folder_json["hosts"]
    assert piped_json["summary"] == folder_json["summary"]
    [finding] = piped_json["findings"]
    assert finding["code"] == "SubsetPolicyNeverApplied"
    assert finding["file"] == "<stdin>"
    # The line in the stream of the subset's trafficPolicy, as in a file.
    lines = stream.splitlines()
    assert lines[finding["line"] - 1].strip().startswith("trafficPolicy:")
    assert "name: v3" in lines[finding["line"] - 3]


def test_the_inspector_refuses_standard_input_with_a_reason():
    result = run("-")
    assert result.returncode == 2
    assert "works with `meshtui check`" in result.stderr


# -- before the inspector starts: version, paths, a terminal -------------------------------------


def console_script(name: str) -> str:
    """An installed console script, next to this Python."""
    return str(Path(sys.executable).with_name(name))


def test_version_subcommand_prints_the_version_without_opening_the_ui():
    proc = run("version")
    assert proc.returncode == 0
    assert proc.stdout == f"meshtui {__version__}\n"
    assert proc.stderr == ""


def test_a_missing_path_is_one_line_and_exit_2_before_any_escape_code():
    proc = run("examples/bookinfo", "no/such/dir")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "meshtui: no/such/dir: no such file or directory\n"


def test_the_inspector_refuses_a_piped_stdout_and_names_the_check_command():
    proc = run("examples/bookinfo")  # stdout is a pipe here
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "meshtui: standard output is not a terminal; "
        "for a report, run `meshtui check examples/bookinfo`\n"
    )


def test_the_inspector_refuses_term_dumb_even_on_a_terminal():
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "meshtui", "examples/bookinfo"],
            cwd=ROOT,
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env={**os.environ, "TERM": "dumb"},
        )
        os.set_blocking(leader, False)
        try:
            written = os.read(leader, 65536)
        except BlockingIOError:
            written = b""
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 2
    assert written == b""  # not one escape code on the terminal
    assert proc.stderr.startswith("meshtui: TERM=dumb cannot show the inspector;")
    assert "`meshtui check examples/bookinfo`" in proc.stderr


def test_output_help_lists_each_format_with_what_it_is_for(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "output format: text: for people (default); json: a stable document for scripts;" in out
    assert "sarif: SARIF 2.1.0 for code-scanning tools" in out


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("1m", 60),
        ("1m30s", 90),
        ("500ms", 0.5),
        ("2h", 7200),
        ("45", 45),
        ("0.5", 0.5),
    ],
)
def test_request_timeout_takes_kubectl_durations(text, seconds):
    from meshtui.cli import _parser

    args = _parser(True).parse_args(["--request-timeout", text])
    assert args.request_timeout == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1x", "m", "30s5", "-1s", "0", "0s"])
def test_request_timeout_rejects_what_is_not_a_duration(capsys, text):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", f"--request-timeout={text}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --request-timeout" in err and repr(text) in err


# -- shell completion and the kubectl plugin ---------------------------------------------------


def complete_in_bash(script: str, *words: str) -> list[str]:
    """What bash offers for the last of `words` (the cursor's word), using the script."""
    line = " ".join(f"'{w}'" for w in words)
    call = f"COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _meshtui"
    code = f'{script}\n{call}\nprintf "%s\\n" "${{COMPREPLY[@]}}"\n'
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_completion_offers_subcommands_options_choices_and_files():
    script = run("completion", "bash").stdout
    assert "complete -o filenames -F _meshtui meshtui kubectl-meshtui" in script
    assert "check" in complete_in_bash(script, "meshtui", "ch")
    assert complete_in_bash(script, "meshtui", "check", "-o", "") == ["text", "json", "sarif"]
    assert complete_in_bash(script, "meshtui", "check", "--failure-threshold", "w") == ["warning"]
    assert "--request-timeout" in complete_in_bash(script, "meshtui", "--req")
    assert "--failure-threshold" in complete_in_bash(script, "meshtui", "check", "--fail")
    assert "--failure-threshold" not in complete_in_bash(script, "meshtui", "--fail")
    assert complete_in_bash(script, "meshtui", "completion", "") == ["bash", "zsh", "fish"]
    assert "examples/bookinfo" in complete_in_bash(script, "meshtui", "examples/b")


def test_fish_and_zsh_scripts_cover_the_same_options():
    fish = run("completion", "fish").stdout
    assert "complete -c meshtui" in fish and "complete -c kubectl-meshtui" in fish
    assert "-s o -l output -x -a 'text json sarif' -d 'output format'" in fish
    assert "-l request-timeout" in fish and "-l context" in fish
    zsh = run("completion", "zsh").stdout
    assert "bashcompinit" in zsh and "_meshtui()" in zsh
    assert run("completion", "tcsh").returncode == 2


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_the_completion_script():
    zsh = run("completion", "zsh").stdout
    done = subprocess.run(
        ["zsh", "-f", "-c", zsh + "\nwhence -w _meshtui"], capture_output=True, text=True
    )
    assert "_meshtui: function" in done.stdout


def test_kubectl_meshtui_is_installed_as_a_kubectl_plugin():
    plugin = console_script("kubectl-meshtui")
    version = subprocess.run([plugin, "version"], capture_output=True, text=True, timeout=60)
    assert version.stdout == f"meshtui {__version__}\n"
    usage = subprocess.run([plugin, "--help"], capture_output=True, text=True, timeout=60)
    assert usage.stdout.startswith("usage: kubectl meshtui")
    check = subprocess.run(
        [plugin, "check", "examples/dormant-policy/fix-route"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0 and "no findings" in check.stdout


def test_yaml_piped_into_check_without_a_path_is_read_as_standard_input():
    files = sorted((ROOT / "examples" / "bookinfo").glob("*.yaml"))
    stream = "".join("---\n" + f.read_text() for f in files)
    piped = subprocess.run(
        [sys.executable, "-m", "meshtui", "check", "-o", "json"],
        cwd=ROOT,
        input=stream,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 1 and piped.stderr == ""
    assert json.loads(piped.stdout)["source"] == "<stdin>"


def test_an_empty_standard_input_still_means_the_cluster(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "meshtui", "check"],
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 2
    assert "no kubeconfig found" in done.stderr


def test_completion_covers_trace_and_every_option_of_each_parser():
    from meshtui.check import diff_report, expectations_report
    from meshtui.check.trace_report import trace_parser
    from meshtui.cli import _parser
    from meshtui.completion import SUBCOMMANDS

    assert set(SUBCOMMANDS) == {"check", "trace", "diff", "test", "version", "completion"}
    assert "diff" in complete_in_bash(run("completion", "bash").stdout, "meshtui", "di")
    script = run("completion", "bash").stdout
    assert "trace" in complete_in_bash(script, "meshtui", "tr")
    assert complete_in_bash(script, "meshtui", "trace", "-o", "") == ["text", "json"]
    assert complete_in_bash(script, "meshtui", "check", "-o", "") == ["text", "json", "sarif"]
    fish = run("completion", "fish").stdout
    for sub, parser in (
        ("trace", trace_parser()),
        ("check", _parser(True)),
        ("diff", diff_report.parser()),
        ("test", expectations_report.parser()),
        ("", _parser(False)),
    ):
        offered = complete_in_bash(script, "meshtui", *([sub] if sub else []), "-")
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in offered, (sub or "meshtui", flag)
    assert "-n '__fish_seen_subcommand_from trace' -l to -x" in fish
    assert "-n '__fish_seen_subcommand_from trace' -s o -l output -x -a 'text json'" in fish
