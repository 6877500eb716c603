"""Count the CPU instructions of the core's analysis, per checkout: a measure that other work
on the machine does not change (time does: on a shared 2-core machine the same analysis varied
from 2.6 to 4.0 s between runs).

    python benchmarks/analysis_instructions.py DIR CHECKOUT [CHECKOUT ...]

For each checkout (a directory holding `meshtui/`), the folder is parsed natively with that
checkout's code and its resources pickled; then, under valgrind's cachegrind, one run only
unpickles them and one unpickles and analyses them (a fresh Mesh, every host, all clients).
The analysis is the difference of the two runs' instruction counts (`I refs`), with
PYTHONHASHSEED fixed so that set and dict orders repeat. Ratios are to the first checkout.
Needs `valgrind`; a 2,000-host mesh takes about a minute per checkout.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _child(folder: str, mode: str, pickled: str) -> None:
    """In a child process whose PYTHONPATH is the checkout: dump, load or analyse."""
    from meshtui.mesh.analysis import Mesh
    from meshtui.mesh.resources import Workload

    if mode == "dump":
        from meshtui.sources.files import first_definitions, load, without_owned

        result = load([folder])
        resources = list(without_owned(first_definitions(result.resources, result.findings)))
        with open(pickled, "wb") as f:
            pickle.dump(resources, f, protocol=5)
        return
    with open(pickled, "rb") as f:
        resources = pickle.load(f)
    if mode == "analyze":
        mesh = Mesh()
        mesh.workloads.mark_known(
            r.meta.ref.namespace for r in resources if isinstance(r, Workload)
        )
        mesh.load(resources)
        analysis = mesh.analyze()
        print(f"{len(analysis.hosts)} hosts, {len(analysis.findings)} findings", file=sys.stderr)


def _run(checkout: str, folder: str, mode: str, pickled: str, *, valgrind: bool) -> str:
    env = {**os.environ, "PYTHONPATH": checkout, "PYTHONHASHSEED": "0"}
    command = [sys.executable, __file__, "--child", mode, folder, pickled]
    if valgrind:
        command = [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *command,
        ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return done.stderr


def instructions(checkout: str, folder: str) -> tuple[int, str]:
    """The analysis's instruction count with `checkout`'s code, and what it found."""
    with tempfile.TemporaryDirectory() as tmp:
        pickled = str(Path(tmp) / "resources.pickle")
        _run(checkout, folder, "dump", pickled, valgrind=False)
        counts, found = [], ""
        for mode in ("load", "analyze"):
            err = _run(checkout, folder, mode, pickled, valgrind=True)
            match = _REFS.search(err)
            if match is None:
                raise SystemExit(f"no instruction count from valgrind:\n{err}")
            counts.append(int(match.group(1).replace(",", "")))
            found = next((line for line in err.splitlines() if "hosts," in line), found)
    return counts[1] - counts[0], found


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[3], sys.argv[2], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder")
    parser.add_argument("checkouts", nargs="+")
    args = parser.parse_args()
    first = None
    for checkout in args.checkouts:
        count, found = instructions(os.path.abspath(checkout), args.folder)
        first = first or count
        print(f"{checkout}: {count / 1e9:.3f} G instructions ({count / first:.2f}x); {found}")


if __name__ == "__main__":
    main()
