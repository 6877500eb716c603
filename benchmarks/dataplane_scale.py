"""Time the analysis with data planes against the same mesh without them (issue 25).

    python benchmarks/dataplane_scale.py [--hosts 10000] [--repeat 3] [--dir DIR]

Generates (benchmarks/generate_mesh.py, seed 1; cached under benchmarks/out/) a mesh of N
hosts in namespaces of 50 hosts (200 namespaces at 10,000 hosts), parses it once (not timed),
then loads and analyses, alternately and `--repeat` times each:

- the mesh as generated (every client a sidecar importing every host), and
- the same mesh with a Namespace object per namespace, half of them ambient (every fourth
  with a waypoint for its services), and a Sidecar in every namespace importing its own
  namespace, the root namespace and the next namespace (`./*`, `istio-system/*`, `next/*`).

Prints the best CPU time of each and their ratio (target: at most 1.5x).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_mesh import generate

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.resources import Origin, Resource, Workload, parse_object
from meshtui.sources.files import first_definitions, load, without_owned


def data_plane(namespaces: list[str]) -> list[Resource]:
    """Half the namespaces ambient (a quarter with a waypoint), a Sidecar in each."""
    objs = []
    for i, ns in enumerate(namespaces):
        labels = {"istio-injection": "enabled"}
        if i % 2:
            labels = {"istio.io/dataplane-mode": "ambient"}
            if i % 4 == 1:
                labels["istio.io/use-waypoint"] = "waypoint"
                objs.append(
                    {
                        "apiVersion": "gateway.networking.k8s.io/v1",
                        "kind": "Gateway",
                        "metadata": {"name": "waypoint", "namespace": ns},
                        "spec": {"gatewayClassName": "istio-waypoint"},
                    }
                )
        objs.append(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
        )
        following = namespaces[(i + 1) % len(namespaces)]
        objs.append(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "Sidecar",
                "metadata": {"name": "default", "namespace": ns},
                "spec": {"egress": [{"hosts": ["./*", "istio-system/*", f"{following}/*"]}]},
            }
        )
    out = []
    for obj in objs:
        parsed = parse_object(obj, Origin(file="data-plane.yaml", line=1))
        assert parsed is not None and hasattr(parsed, "meta"), parsed
        out.append(parsed)
    return out  # type: ignore[return-value]


def analyse(resources: list[Resource]) -> tuple[float, int, int]:
    gc.collect()
    cpu = time.process_time()
    mesh = Mesh()
    mesh.workloads.mark_known(r.meta.ref.namespace for r in resources if isinstance(r, Workload))
    mesh.load(resources)
    analysis = mesh.analyze()
    return time.process_time() - cpu, len(analysis.hosts), len(analysis.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    folder = Path(args.dir or Path(__file__).resolve().parent / "out" / f"mesh-{args.hosts}")
    if not folder.exists():
        generate(folder, hosts=args.hosts)
    result = load([folder])
    base = list(without_owned(first_definitions(result.resources, result.findings)))
    namespaces = sorted({r.meta.ref.namespace for r in base if r.meta.ref.kind == "Service"})
    planes = base + data_plane(namespaces)
    best = {"without": float("inf"), "with": float("inf")}
    sizes = {}
    for _ in range(args.repeat):
        for name, resources in (("without", base), ("with", planes)):
            cpu, hosts, findings = analyse(resources)
            best[name] = min(best[name], cpu)
            sizes[name] = (hosts, findings)
    print(
        f"{len(namespaces)} namespaces, {sizes['without'][0]} hosts; findings "
        f"{sizes['without'][1]} without data planes, {sizes['with'][1]} with"
    )
    print(
        f"analysis best CPU: {best['without']:.2f} s without, {best['with']:.2f} s with data "
        f"planes: {best['with'] / best['without']:.2f}x (target 1.5x)"
    )


if __name__ == "__main__":
    main()
