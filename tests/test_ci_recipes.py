"""The CI recipes work as written: the pre-commit hook definition and the README's job."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DORMANT = ROOT / "tests" / "tui" / "fixtures" / "dormant-policy"


def _env() -> dict[str, str]:
    """The installed console script first on PATH, as pre-commit's environment has it."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_pre_commit_hook_runs_the_installed_check_on_its_folders(tmp_path):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = [h for h in hooks if h["id"] == "meshtui-check"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert shlex.split(hook["entry"])[0] in scripts
    assert hook["pass_filenames"] is False  # the mesh is analysed whole
    assert re.search(hook["files"], "manifests/rule.yaml")
    shutil.copytree(DORMANT, tmp_path / "mesh")
    command = [*shlex.split(hook["entry"]), *hook["args"]]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=_env()
    )
    assert done.returncode == 1  # the dormant policy is a warning: the commit is stopped
    assert "SubsetPolicyNeverApplied" in done.stdout
    assert "(mesh/destination-rule.yaml:15)" in done.stdout


def test_readme_ci_job_writes_sarif_that_points_at_the_checkout(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    [job] = [yaml.safe_load(b) for b in blocks if "upload-sarif" in b]
    steps = next(iter(job["jobs"].values()))["steps"]
    [check] = [s for s in steps if s.get("id") == "check"]
    [upload] = [s for s in steps if "upload-sarif" in s.get("uses", "")]
    assert job["jobs"]["meshtui"]["permissions"]["security-events"] == "write"
    shutil.copytree(DORMANT, tmp_path / "manifests")
    done = subprocess.run(
        ["bash", "-c", check["run"]], cwd=tmp_path, capture_output=True, text=True, env=_env()
    )
    assert done.returncode == 1  # continue-on-error lets the upload run, the last step fails
    sarif = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    [result] = sarif["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "manifests/destination-rule.yaml"
    assert location["region"]["startLine"] == 15
