"""Where `meshtui check -o json` spends its time, stage by stage, against the C-loader parse.

    python benchmarks/stages.py [--sizes 10000] [--shapes compact,block] [--repeat 3]

For each shape (benchmarks/shapes.py; block is benchmarks/generate_mesh.py's folder), in one
process and best of `--repeat` (CPU time): the floor (PyYAML's C loader parsing the files'
bytes into Python values, nothing else) and meshtui's stages on the same bytes: read (find
and read the files), parse (bytes to values: rapidyaml where it reads as PyYAML does, PyYAML
for the rest), build (values to resources and the indexed mesh), analyse (every host, and the
lines of the findings that name a field), render (the JSON report, without fixes). Each is
printed as a ratio to the floor. Then, in separate processes alternated `--repeat` times, the
whole `meshtui check DIR -o json` against the floor script of check_scale.py: wall time (what
a user waits for: check reads a large folder in worker processes, sources/parallel.py), CPU
time (workers' included) and peak memory. Targets: check at most 0.5x the floor's wall time
on the compact shape, 0.4x on block.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_scale import FLOOR, _best, _meshtui, _run, _warm, machine  # noqa: E402
from shapes import shape_folder  # noqa: E402

from meshtui.check.report import render_json, to_json  # noqa: E402
from meshtui.mesh.analysis import Mesh  # noqa: E402
from meshtui.mesh.batch import collector_paused  # noqa: E402
from meshtui.mesh.resources import Workload  # noqa: E402
from meshtui.sources.discovery import discover  # noqa: E402
from meshtui.sources.documents import content_line, read, split_documents  # noqa: E402
from meshtui.sources.lines import refine_lines  # noqa: E402
from meshtui.sources.reading import (  # noqa: E402
    LoadResult,
    _add_document,
    _parse_chunk,
    fast_reading,
    first_definitions,
    screen,
    without_owned,
)

TARGETS = {"compact": 0.5, "block": 0.4}
STAGES = ("read", "parse", "build", "analyse", "render")


class _Clock:
    """CPU seconds of each stage, timed in turn with the cyclic collector paused (as check
    runs them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        gc.collect()
        start = time.process_time()
        with collector_paused():
            yield
        self.seconds[name] = time.process_time() - start


def _parse(datas: dict[Path, bytes], result: LoadResult) -> list[tuple[Any, str, int]]:
    """Every document's value, as the loader parses it (JSON files by the json module)."""
    docs: list[tuple[Any, str, int]] = []
    for path, data in datas.items():
        name = str(path)
        if name.endswith(".json") or data.lstrip()[:1] in (b"{", b"["):
            try:  # as the loader does: JSON by the json module, YAML if it is not JSON
                docs.append((json.loads(data), name, 1))
                continue
            except ValueError:
                pass
        screened = screen(data, result)
        for line, chunk in split_documents(data):
            doc = _parse_chunk(chunk, name, line, result, screened)
            if doc is not None:
                docs.append((doc, name, content_line(line, chunk)))
    return docs


def _build(docs: list[tuple[Any, str, int]], result: LoadResult) -> Mesh:
    for doc, name, line in docs:
        _add_document(doc, name, line, result)
    resources = without_owned(first_definitions(result.resources, result.findings))
    mesh = Mesh()
    mesh.workloads.mark_known(r.meta.ref.namespace for r in resources if isinstance(r, Workload))
    mesh.load(resources)
    for finding in result.findings:
        mesh.add_finding(finding)
    return mesh


def _one_run(folder: Path) -> dict[str, float]:
    clock = _Clock()
    with clock.stage("read"):
        datas = {p: read(p) for p in discover([folder])}
    with clock.stage("floor"):  # as check_scale.py's floor: every file through the C loader
        for data in datas.values():
            list(yaml.load_all(data, Loader=yaml.CSafeLoader))
    result = LoadResult()
    with fast_reading(result, True), clock.stage("parse"):
        docs = _parse(datas, result)
    with clock.stage("build"):
        mesh = _build(docs, result)
    with clock.stage("analyse"):
        analysis = mesh.analyze()
        refined = refine_lines(analysis.findings)
    with clock.stage("render"):
        render_json(to_json([analysis], [refined], str(folder)))
    return clock.seconds


def stages(folder: Path, repeat: int) -> dict[str, float]:
    """Best CPU seconds of the floor and of each stage, in this process."""
    runs = [_one_run(folder) for _ in range(repeat)]
    return {name: min(run[name] for run in runs) for name in runs[0]}


def _before(checkout: str, folder: Path) -> list[str]:
    """`meshtui check` of another checkout, run by this interpreter."""
    code = f"import sys; sys.path.insert(0, {checkout!r}); from meshtui.cli import main; main()"
    return [sys.executable, "-c", code, "check", str(folder), "-o", "json"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--shapes", default="compact,block")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-check", action="store_true", help="stages only")
    parser.add_argument("--no-stages", action="store_true", help="the separate processes only")
    parser.add_argument(
        "--before",
        metavar="DIR",
        help="a checkout of another version: its check is timed too, alternated with this one",
    )
    args = parser.parse_args(argv)
    root = HERE / "out"
    root.mkdir(exist_ok=True)
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    inputs = [
        (hosts, shape, shape_folder(shape, hosts, args, root))
        for hosts in (int(s) for s in args.sizes.split(","))
        for shape in args.shapes.split(",")
    ]
    # The separate processes first: a child's peak memory counts pages it shares with this
    # process when it starts, which the stages below would make large.
    runs: dict[Path, tuple[Any, Any]] = {}
    if not args.no_check:
        for hosts, shape, folder in inputs:
            _warm(folder)
            floors, checks, befores = [], [], []
            for _ in range(args.repeat):
                floors.append(_run([sys.executable, "-c", FLOOR, str(folder)]))
                checks.append(_run([*_meshtui(), "check", str(folder), "-o", "json"]))
                if args.before:
                    befores.append(_run(_before(args.before, folder)))
            floor_run, check = _best(floors), _best(checks)
            runs[folder] = (floor_run, check)
            print(
                f"  {hosts} {shape}: check wall {check.seconds:.2f} s / floor wall "
                f"{floor_run.seconds:.2f} s = {check.seconds / floor_run.seconds:.2f}x; check "
                f"cpu {check.cpu:.2f} s / floor cpu {floor_run.cpu:.2f} s = "
                f"{check.cpu / floor_run.cpu:.2f}x; peak MB {check.rss_mb:.0f} / "
                f"{floor_run.rss_mb:.0f}",
                flush=True,
            )
            if befores:
                before = _best(befores)
                print(
                    f"  {hosts} {shape}: before ({args.before}) wall {before.seconds:.2f} s = "
                    f"{before.seconds / floor_run.seconds:.2f}x; cpu {before.cpu:.2f} s = "
                    f"{before.cpu / floor_run.cpu:.2f}x; peak MB {before.rss_mb:.0f}",
                    flush=True,
                )
    rows = []
    for hosts, shape, folder in [] if args.no_stages else inputs:
        best = stages(folder, args.repeat)
        floor = best["floor"]
        parts = ", ".join(f"{k} {best[k]:.2f} s ({best[k] / floor:.2f}x)" for k in STAGES)
        print(f"  {hosts} {shape}: floor {floor:.2f} s; {parts}", flush=True)
        floor_run, check = runs.get(folder, (None, None))
        rows.append((hosts, shape, best, floor_run, check))
    print()
    print(
        "| hosts | shape | read | parse | build | analyse | render | check wall s | floor wall s "
        "| check × floor (wall) | cpu × cpu | target | check MB | floor MB |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for hosts, shape, best, floor_run, check in rows:
        ratios = " | ".join(f"{best[k] / best['floor']:.2f}" for k in STAGES)
        target = TARGETS.get(shape)
        if check is None or floor_run is None:
            print(f"| {hosts:,} | {shape} | {ratios} | | | | | | |")
            continue
        # What a user waits for: wall time (check reads a large folder in worker processes,
        # whose CPU time the child's usage includes). CPU beside it, less disturbed by load.
        ratio = check.seconds / floor_run.seconds
        cpu = check.cpu / floor_run.cpu
        verdict = "" if target is None else f"{'PASS' if ratio <= target else 'FAIL'} ≤ {target}"
        print(
            f"| {hosts:,} | {shape} | {ratios} | {check.seconds:.2f} | {floor_run.seconds:.2f} "
            f"| {ratio:.2f} | {cpu:.2f} | {verdict} | {check.rss_mb:.0f} | {floor_run.rss_mb:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
