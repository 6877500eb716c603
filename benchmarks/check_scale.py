"""How `meshtui check` scales with the mesh, against the bare YAML parse of the same folder.

    python benchmarks/check_scale.py [--sizes 1000,10000,20000] [--repeat 1] [--tmp]

For each size it generates a mesh (benchmarks/generate_mesh.py, fixed seed; cached under
benchmarks/out/ unless --tmp), then runs in separate processes (a) the floor: read every file
and materialise every document with PyYAML's C loader, and (b) `meshtui check DIR -o json`
with its output thrown away, alternately. It prints wall time, CPU time and peak memory (the
child's ru_maxrss) of each, the ratio of check to the floor, how both grow from one size to
the next, and PASS/FAIL per target (decided on CPU time, see `_verdicts`). A benchmark, not a
test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_mesh import generate  # noqa: E402

CACHE = HERE / "out"
RATIO_TARGET = 1.3  # check / floor at the reference size
GROWTH_TARGET = 2.2  # doubling the mesh at most doubles time and memory, +10%
REFERENCE = 10_000

# The floor: what any tool must pay to read the folder with PyYAML's C loader.
FLOOR = """
import os, sys, yaml
docs = []
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    for name in sorted(files):
        if name.endswith((".yaml", ".yml", ".json")):
            with open(os.path.join(folder, name), "rb") as fh:
                data = fh.read()
            docs.extend(yaml.load_all(data, Loader=yaml.CSafeLoader))
print(len(docs))
"""


@dataclass
class Run:
    seconds: float  # wall time
    cpu: float  # user + system time of the child: what other load on the machine disturbs least
    rss_mb: float


@dataclass
class Row:
    hosts: int
    files: int
    megabytes: float
    floor: Run
    check: Run

    @property
    def time_ratio(self) -> float:
        return self.check.seconds / self.floor.seconds

    @property
    def cpu_ratio(self) -> float:
        return self.check.cpu / self.floor.cpu

    @property
    def rss_ratio(self) -> float:
        return self.check.rss_mb / self.floor.rss_mb


def _run(argv: list[str]) -> Run:
    """Run a child with its output thrown away; its wall time and peak resident memory."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode not in (0, 1):  # check exits 1 when findings reach the threshold
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def _best(runs: list[Run]) -> Run:
    return Run(min(r.seconds for r in runs), min(r.cpu for r in runs), max(r.rss_mb for r in runs))


def measure(folder: Path, repeat: int) -> tuple[Run, Run]:
    """The floor and check on `folder`, alternated so both meet the same machine load."""
    floors, checks = [], []
    for _ in range(repeat):
        floors.append(_run([sys.executable, "-c", FLOOR, str(folder)]))
        checks.append(_run([*_meshtui(), "check", str(folder), "-o", "json"]))
    return _best(floors), _best(checks)


def _generator_version() -> str:
    return hashlib.sha256((HERE / "generate_mesh.py").read_bytes()).hexdigest()[:12]


def mesh_folder(hosts: int, args: argparse.Namespace, root: Path) -> tuple[Path, int, float]:
    """The generated folder for `hosts` (reused from the cache when the generator is unchanged)."""
    folder = root / f"mesh-{hosts}-s{args.subsets}-w{args.workloads}-seed{args.seed}"
    stamp = folder / ".generated"
    version = _generator_version()
    if not (stamp.exists() and stamp.read_text().split()[0] == version):
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  generating {hosts} hosts into {folder} ...", flush=True)
        stats = generate(
            folder, hosts=hosts, subsets=args.subsets, workloads=args.workloads, seed=args.seed
        )
        stamp.write_text(f"{version} {stats.files} {stats.bytes}\n")
    _, files, size = stamp.read_text().split()
    return folder, int(files), int(size) / 1e6


def _warm(folder: Path) -> None:
    """Read every file once so both measurements find the folder in the page cache."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def _meshtui() -> list[str]:
    exe = shutil.which("meshtui")
    return [exe] if exe else [sys.executable, "-m", "meshtui"]


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import yaml

    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__}), {platform.system()}"
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(rows: list[Row]) -> None:
    print()
    print(
        f"{'hosts':>7} {'files':>6} {'MB':>6} | {'floor s':>8} {'cpu s':>7} {'MB':>6} | "
        f"{'check s':>8} {'cpu s':>7} {'MB':>6} | {'time x':>6} {'cpu x':>6} {'mem x':>6}"
    )
    for r in rows:
        f, c = r.floor, r.check
        print(
            f"{r.hosts:>7} {r.files:>6} {r.megabytes:>6.1f} | {f.seconds:>8.2f} {f.cpu:>7.2f} "
            f"{f.rss_mb:>6.0f} | {c.seconds:>8.2f} {c.cpu:>7.2f} {c.rss_mb:>6.0f} | "
            f"{r.time_ratio:>6.2f} {r.cpu_ratio:>6.2f} {r.rss_ratio:>6.2f}"
        )
    print()
    for a, b in itertools.pairwise(rows):
        print(
            f"{a.hosts} -> {b.hosts} hosts (x{b.hosts / a.hosts:g}): "
            f"check time x{b.check.seconds / a.check.seconds:.2f} "
            f"(cpu x{b.check.cpu / a.check.cpu:.2f}), memory x{b.check.rss_mb / a.check.rss_mb:.2f}"
            f"; floor time x{b.floor.seconds / a.floor.seconds:.2f} "
            f"(cpu x{b.floor.cpu / a.floor.cpu:.2f}), memory x{b.floor.rss_mb / a.floor.rss_mb:.2f}"
        )
    print()
    by_size = {r.hosts: r for r in rows}
    ref = by_size.get(REFERENCE)
    if ref is None:
        print(f"SKIP  check <= {RATIO_TARGET}x floor at {REFERENCE} hosts (size not measured)")
    else:
        _verdicts(
            f"check <= {RATIO_TARGET}x floor at {REFERENCE} hosts",
            ref.time_ratio,
            ref.cpu_ratio,
            RATIO_TARGET,
        )
    double = by_size.get(2 * REFERENCE)
    if ref is None or double is None:
        print(f"SKIP  doubling {REFERENCE} hosts (sizes not measured)")
        return
    _verdicts(
        "doubling the mesh at most doubles the time (+10%)",
        double.check.seconds / ref.check.seconds,
        double.check.cpu / ref.check.cpu,
        GROWTH_TARGET,
    )
    rss_growth = double.check.rss_mb / ref.check.rss_mb
    print(
        f"{_verdict(rss_growth <= GROWTH_TARGET)}  doubling the mesh at most doubles the memory "
        f"(+10%): x{rss_growth:.2f}"
    )


def _verdicts(target: str, wall: float, cpu: float, limit: float) -> None:
    """One line per target, decided on the CPU time (user + system) of the children.

    Both children are single-threaded and read files from the page cache, so their CPU time is
    the work they do; wall time adds whatever else the machine runs meanwhile (on a shared
    2-core machine the floor alone took 48 to 137 s of wall time for 33 to 73 s of CPU)."""
    print(
        f"{_verdict(cpu <= limit)}  {target}: x{cpu:.2f} cpu "
        f"(wall x{wall:.2f}: {_verdict(wall <= limit)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,20000", help="host counts, comma-separated")
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best time)")
    parser.add_argument(
        "--tmp", action="store_true", help="generate into a temp dir, not the cache"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"machine: {machine()}")
    print(f"check:   {' '.join(_meshtui())} DIR -o json > /dev/null")
    tmp = tempfile.TemporaryDirectory(prefix="meshtui-bench-") if args.tmp else None
    root = Path(tmp.name) if tmp else CACHE
    rows = []
    try:
        for hosts in sizes:
            folder, files, megabytes = mesh_folder(hosts, args, root)
            _warm(folder)
            floor, check = measure(folder, args.repeat)
            row = Row(hosts, files, megabytes, floor, check)
            rows.append(row)
            print(
                f"  {hosts} hosts: floor {floor.seconds:.2f} s (cpu {floor.cpu:.2f}) "
                f"{floor.rss_mb:.0f} MB, check {check.seconds:.2f} s (cpu {check.cpu:.2f}) "
                f"{check.rss_mb:.0f} MB: x{row.time_ratio:.2f}",
                flush=True,
            )
    finally:
        if tmp:
            tmp.cleanup()
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
