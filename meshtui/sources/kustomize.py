"""kustomize folders: built as `kubectl apply -k` would build them, and the output read.

A folder holding a kustomization file means "build me": its `namespace:`, patches and
generators change the resources, so reading its YAML files one by one gives a mesh that is not
the one applied. meshtui runs `kustomize build DIR`, or `kubectl kustomize DIR` when only kubectl
is installed, and reads the output as it would read a file named `kustomize build DIR`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The names kustomize itself looks for (sigs.k8s.io/kustomize/api/konfig:
# RecognizedKustomizationFileNames).
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BUILD_TIMEOUT_SECONDS = 120
NO_TOOL = (
    "kustomize folders are read as plain YAML: neither kustomize nor kubectl is installed, "
    "so their namespace, patches and generators are not applied"
)


def is_kustomization(folder: Path) -> bool:
    """Does `folder` hold a kustomization file?"""
    return any((folder / name).is_file() for name in KUSTOMIZATION_FILES)


def kustomization_file(folder: Path) -> Path:
    """The kustomization file of a folder (the first kustomize recognises)."""
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    return folder / KUSTOMIZATION_FILES[0]


def build_command() -> list[str] | None:
    """How to build here: `kustomize build`, else `kubectl kustomize`, else None."""
    tool = shutil.which("kustomize")
    if tool:
        return [tool, "build"]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    return None


def build_name(folder: Path) -> str:
    """The name findings give the build output: what one would run to see it."""
    return f"kustomize build {folder}"


@dataclass(frozen=True)
class Build:
    """The output of one build, or why there is none."""

    output: bytes
    error: str = ""
    remote: str = ""  # a remote base the build could not fetch (offline), if that is why


# What a remote kustomize resource looks like (kustomize's remote targets: git URLs, go-getter
# style `github.com/org/repo//path?ref=`), and the stderr of a failed fetch.
_REMOTE = re.compile(
    r"(?:https?://|ssh://|git@|git::|(?:github\.com|gitlab\.com|bitbucket\.org)/)[^\s'\"]+"
)
_FETCH_FAILED = ("git fetch", "git clone", "Could not resolve host", "unable to access")


def build(folder: Path, command: list[str]) -> Build:
    """Run the build; a failure is its first line of error output, never an exception."""
    try:
        done = subprocess.run(
            [*command, os.fspath(folder)],
            capture_output=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Build(b"", f"did not finish within {BUILD_TIMEOUT_SECONDS} s")
    except OSError as err:
        return Build(b"", str(err.strerror or err))
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", errors="replace").strip()
        first = next((line for line in text.splitlines() if line.strip()), "")
        remote = _REMOTE.search(text) if any(m in text for m in _FETCH_FAILED) else None
        return Build(
            b"",
            first.removeprefix("Error: ") or f"exit status {done.returncode}",
            remote.group(0) if remote else "",
        )
    return Build(done.stdout)
