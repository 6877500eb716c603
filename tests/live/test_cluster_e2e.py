"""Opt-in: `meshtui check` against a real cluster, when MESHTUI_E2E_CONTEXT names a context.

    MESHTUI_E2E_CONTEXT=kind-mesh pytest tests/live/test_cluster_e2e.py

It runs the installed command in a process of its own with the caller's environment
(KUBECONFIG, HOME) as it was when the tests were collected, and checks the report is whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CONTEXT = os.environ.get("MESHTUI_E2E_CONTEXT")
ENVIRONMENT = dict(os.environ)  # before conftest hides the kubeconfig from the other tests


@pytest.mark.skipif(not CONTEXT, reason="set MESHTUI_E2E_CONTEXT to a kubeconfig context")
def test_check_reads_a_real_cluster():
    command = [sys.executable, "-c", "import sys; from meshtui.cli import main; sys.exit(main())"]
    done = subprocess.run(
        [*command, "check", "--context", str(CONTEXT), "-o", "json"],
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        timeout=300,
        check=False,
    )

    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["source"].startswith(f"context {CONTEXT} ")
    assert report["summary"]["hosts"] == len(report["hosts"])
    assert all("host" in h and "subsets" in h for h in report["hosts"])
