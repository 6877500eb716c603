"""`meshtui diff` of two large meshes, against one `meshtui check` of one of them.

    python benchmarks/diff_scale.py [--hosts 10000] [--changed 10] [--repeat 1] [--tmp]

Generates a mesh (benchmarks/generate_mesh.py, fixed seed; cached under benchmarks/out/ unless
--tmp), a copy that sends one route of `--changed` hosts to another subset, and an untouched
copy; then runs in separate processes, alternately: `meshtui check OLD -o json` (the
reference, as benchmarks/check_scale.py runs it), `meshtui diff OLD CHANGED -o json` and
`meshtui diff OLD SAME -o json`. It prints wall time, CPU time and peak memory of each, the
ratios to the check, and PASS/FAIL on CPU time against the targets (2.5x with changes, 2.2x
without). A benchmark, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_scale import CACHE, Run, _best, _meshtui, _run, _warm, machine, mesh_folder  # noqa: E402

CHANGED_TARGET = 2.5  # diff of meshes differing in --changed hosts / one check
SAME_TARGET = 2.2  # diff of identical meshes / one check
_FIRST_V1 = re.compile(r"(kind: VirtualService\n(?:.*\n)*?\s+subset: )v1\n")


def changed_copy(folder: Path, out: Path, hosts: int) -> list[str]:
    """A copy of `folder` where the first route to subset v1 of one VirtualService in each
    of `hosts` namespaces goes to v3 instead: the namespaces changed."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(folder, out)
    changed = []
    for ns in sorted(p for p in out.iterdir() if p.is_dir()):
        vs = ns / "virtual-services.yaml"
        if not vs.exists():
            continue
        text = vs.read_text()
        edited, count = _FIRST_V1.subn(r"\1v3\n", text, count=1)
        if count:
            vs.write_text(edited)
            changed.append(ns.name)
        if len(changed) == hosts:
            break
    return changed


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tmp", action="store_true", help="generate into a temporary folder")
    parser.add_argument("--root", type=Path, help="generate into (or reuse from) this folder")
    args = parser.parse_args(argv)
    root = args.root or (Path(tempfile.mkdtemp()) if args.tmp else CACHE)
    root.mkdir(parents=True, exist_ok=True)
    old, files, size = mesh_folder(args.hosts, args, root)
    new = root / f"{old.name}-changed{args.changed}"
    same = root / f"{old.name}-same"
    namespaces = changed_copy(old, new, args.changed)
    shutil.rmtree(same, ignore_errors=True)
    shutil.copytree(old, same)
    for folder in (old, new, same):
        _warm(folder)
    meshtui = _meshtui()
    found = subprocess.run(
        [*meshtui, "diff", str(old), str(new), "-o", "json"], capture_output=True, text=True
    )
    doc = json.loads(found.stdout)
    hosts_changed = len({c["host"] for c in doc["changes"]})
    checks: list[Run] = []
    diffs: list[Run] = []
    sames: list[Run] = []
    for _ in range(args.repeat):
        checks.append(_run([*meshtui, "check", str(old), "-o", "json"]))
        diffs.append(_run([*meshtui, "diff", str(old), str(new), "-o", "json"]))
        sames.append(_run([*meshtui, "diff", str(old), str(same), "-o", "json"]))
    check, changed, unchanged = _best(checks), _best(diffs), _best(sames)
    print(f"machine: {machine()}")
    print(
        f"mesh: {args.hosts} hosts, {files} files, {size:.1f} MB; the changed copy edits "
        f"{len(namespaces)} VirtualServices, and diff reports {hosts_changed} hosts changed"
    )
    print(f"{'run':<26} {'wall s':>8} {'cpu s':>7} {'MB':>6} | {'cpu x':>6} {'wall x':>6}")
    for name, r in (
        ("check OLD (reference)", check),
        (f"diff OLD CHANGED({args.changed})", changed),
        ("diff OLD SAME", unchanged),
    ):
        print(
            f"{name:<26} {r.seconds:>8.2f} {r.cpu:>7.2f} {r.rss_mb:>6.0f} | "
            f"{r.cpu / check.cpu:>6.2f} {r.seconds / check.seconds:>6.2f}"
        )
    print(
        f"diff with changes / check: cpu x{changed.cpu / check.cpu:.2f} "
        f"(target {CHANGED_TARGET}x) {_verdict(changed.cpu / check.cpu <= CHANGED_TARGET)}"
    )
    print(
        f"diff without changes / check: cpu x{unchanged.cpu / check.cpu:.2f} "
        f"(target {SAME_TARGET}x) {_verdict(unchanged.cpu / check.cpu <= SAME_TARGET)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
