"""The command line: argument parsing, exit statuses, and what `check` imports."""

from __future__ import annotations

import json
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
