"""Gateway API routes at scale: N hosts routed by HTTPRoutes against the same mesh routed by
VirtualServices (fixed seed), loaded from files and analysed.

    python benchmarks/gateway_api_scale.py [--hosts 10000] [--repeat 3] [--out DIR]

Per host: the Service clients call, two Services per version behind it, and a route with a
header-matched canary rule and a 90/10 default split, written once as a VirtualService and
once as an HTTPRoute whose parent is the Service (the Gateway API way: backends are Services).
Each folder is loaded (meshtui's offline loader) and analysed `--repeat` times, alternately;
the best CPU time of each is printed with the ratio. Target: HTTPRoutes within 1.2x.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from pathlib import Path

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.resources import Workload
from meshtui.sources.files import first_definitions, load, without_owned

HOSTS_PER_NAMESPACE = 50


def _service(name: str, ns: str, version: str | None = None) -> str:
    selector = f"app: {name}" + (f", version: {version}" if version else "")
    full = f"{name}-{version}" if version else name
    return (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {full}, namespace: {ns}}}\n"
        f"spec:\n  selector: {{{selector}}}\n  ports: [{{name: http, port: 8080}}]\n"
    )


def _virtual_service(name: str, ns: str, stamp: str) -> str:
    return f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {ns}, creationTimestamp: "{stamp}"}}
spec:
  hosts: [{name}]
  http:
  - name: canary
    match: [{{headers: {{x-canary: {{exact: "true"}}}}}}]
    route: [{{destination: {{host: {name}-v2, port: {{number: 8080}}}}}}]
  - name: default
    route:
    - {{destination: {{host: {name}-v1, port: {{number: 8080}}}}, weight: 90}}
    - {{destination: {{host: {name}-v2, port: {{number: 8080}}}}, weight: 10}}
"""


def _httproute(name: str, ns: str, stamp: str) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {ns}, creationTimestamp: "{stamp}"}}
spec:
  parentRefs: [{{group: "", kind: Service, name: {name}, port: 8080}}]
  rules:
  - name: canary
    matches: [{{headers: [{{name: x-canary, value: "true"}}]}}]
    backendRefs: [{{name: {name}-v2, port: 8080}}]
  - name: default
    backendRefs:
    - {{name: {name}-v1, port: 8080, weight: 90}}
    - {{name: {name}-v2, port: 8080, weight: 10}}
"""


def generate(out: Path, hosts: int, gateway_api: bool, seed: int = 1) -> None:
    rng = random.Random(seed)
    route = _httproute if gateway_api else _virtual_service
    for start in range(0, hosts, HOSTS_PER_NAMESPACE):
        ns = f"team-{start // HOSTS_PER_NAMESPACE:04d}"
        folder = out / ns
        folder.mkdir(parents=True, exist_ok=True)
        services, routes = [], []
        for i in range(start, min(start + HOSTS_PER_NAMESPACE, hosts)):
            name = f"svc-{i:05d}"
            services += [_service(name, ns), _service(name, ns, "v1"), _service(name, ns, "v2")]
            stamp = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z"
            routes.append(route(name, ns, stamp))
        (folder / "services.yaml").write_text("---\n".join(services))
        (folder / "routes.yaml").write_text("---\n".join(routes))


def measure(folder: Path) -> tuple[float, int, int]:
    """CPU seconds to load the folder and analyse the mesh; hosts and live routes."""
    gc.collect()
    cpu = time.process_time()
    result = load([str(folder)])
    resources = list(without_owned(first_definitions(result.resources, result.findings)))
    mesh = Mesh()
    mesh.workloads.mark_known(r.meta.ref.namespace for r in resources if isinstance(r, Workload))
    mesh.load(resources)
    analysis = mesh.analyze()
    spent = time.process_time() - cpu
    routes = sum(len(h.routes) for h in analysis.hosts.values())
    return spent, len(analysis.hosts), routes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="where to write the meshes (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.out or tmp)
        folders = {"VirtualService": base / "virtual-services", "HTTPRoute": base / "httproutes"}
        for kind, folder in folders.items():
            generate(folder, args.hosts, gateway_api=kind == "HTTPRoute")
        best = dict.fromkeys(folders, float("inf"))
        seen: dict[str, tuple[int, int]] = {}
        for _ in range(args.repeat):
            for kind, folder in folders.items():
                spent, hosts, routes = measure(folder)
                best[kind] = min(best[kind], spent)
                seen[kind] = (hosts, routes)
        for kind in folders:
            hosts, routes = seen[kind]
            print(f"{kind:>14}: {hosts} hosts, {routes} live routes, best CPU {best[kind]:.2f} s")
        ratio = best["HTTPRoute"] / best["VirtualService"]
        print(f"HTTPRoute / VirtualService: {ratio:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
