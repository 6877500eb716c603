"""Time the core's analysis alone (no parsing): build the indexed Mesh and analyse every host.

    python benchmarks/analysis_scale.py DIR [--repeat 5]

The folder is parsed once (not timed); then, `--repeat` times, a fresh Mesh is loaded from the
parsed resources and analysed. Prints the best CPU and wall time. Run it with another checkout
on PYTHONPATH to compare two versions of the core on the same input.
"""

from __future__ import annotations

import argparse
import gc
import time

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.resources import Workload
from meshtui.sources.files import first_definitions, load, without_owned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = load([args.folder])
    resources = list(without_owned(first_definitions(result.resources, result.findings)))
    best_cpu = best_wall = float("inf")
    hosts = findings = 0
    for _ in range(args.repeat):
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        mesh = Mesh()
        mesh.workloads.mark_known(
            r.meta.ref.namespace for r in resources if isinstance(r, Workload)
        )
        mesh.load(resources)
        analysis = mesh.analyze()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        hosts, findings = len(analysis.hosts), len(analysis.findings)
    print(
        f"{hosts} hosts, {findings} findings: analysis best CPU {best_cpu:.2f} s, "
        f"wall {best_wall:.2f} s (of {args.repeat})"
    )


if __name__ == "__main__":
    main()
