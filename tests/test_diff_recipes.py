"""The README's `meshtui diff` recipes work as written: the pull-request job's diff step and
the pre-commit hooks, run in a git repository whose branch changes the target's mesh."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOKINFO = ROOT / "examples" / "bookinfo"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def branch(tmp_path: Path) -> Path:
    """A checkout of a pull request: `origin/main` has bookinfo; the branch routes reviews
    to a subset no DestinationRule defines."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    shutil.copytree(BOOKINFO, root / "manifests")
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "bookinfo")
    git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    vs = root / "manifests" / "virtual-services.yaml"
    vs.write_text(vs.read_text().replace("subset: v2}", "subset: v9}"))
    shutil.copy(ROOT / "examples" / "expectations" / "bookinfo.yaml", root / "routing-tests.yaml")
    return root


def test_the_pull_request_job_comments_markdown_and_fails_on_an_added_error(branch):
    readme = (ROOT / "README.md").read_text()
    [job] = [
        yaml.safe_load(b)
        for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
        if "meshtui diff" in b and "jobs:" in b
    ]
    steps = job["jobs"]["diff"]["steps"]
    [diff] = [s for s in steps if s.get("id") == "diff"]
    assert diff["continue-on-error"] is True
    assert job["jobs"]["diff"]["permissions"]["pull-requests"] == "write"
    run = diff["run"].replace("${{ github.base_ref }}", "main")
    done = subprocess.run(
        ["bash", "-c", run], cwd=branch, capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 1, done.stderr
    comment = (branch / "diff.md").read_text()
    assert comment.startswith("**meshtui diff** `origin/main:manifests` → `manifests`")
    assert "### Findings added" in comment and "`UndefinedSubset`" in comment
    [tests] = [s for s in steps if s.get("name") == "routing expectations"]
    done = subprocess.run(
        ["bash", "-c", tests["run"]],
        cwd=branch,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 1  # the canary case now sends 10% to v9
    assert "<failure" in (branch / "routing.xml").read_text()


@pytest.mark.parametrize("hook_id", ["meshtui-diff", "meshtui-test"])
def test_the_pre_commit_hooks_run_as_the_readme_configures_them(branch, hook_id):
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    readme = (ROOT / "README.md").read_text()
    [config] = [
        yaml.safe_load(b)
        for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
        if "id: meshtui-diff" in b
    ]
    [args] = [h["args"] for h in config["repos"][0]["hooks"] if h["id"] == hook_id]
    hook = hooks[hook_id]
    assert hook["pass_filenames"] is False
    command = [*shlex.split(hook["entry"]), *args]
    done = subprocess.run(
        command, cwd=branch, capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 1, done.stderr  # the commit is stopped
