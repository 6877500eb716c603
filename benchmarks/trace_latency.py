"""How fast `meshtui trace` answers once a big mesh is loaded.

    python benchmarks/trace_latency.py [--hosts 10000] [--traces 200] [--keep DIR]

Writes the generated mesh of N hosts (benchmarks/generate_mesh.py, fixed seed) to a folder,
loads it with the offline source and indexes its VirtualServices' hosts for traces (not timed,
done once: `meshtui trace`, the inspector and a live source hold the mesh), then traces
requests to hosts picked at random, each from a namespace picked at random, with a path, and
measures each trace: resolving the target host and its port, selecting the VirtualService for
the client, matching the rules, the DestinationRule in force, the effective policy on the port
and the pods. Every host is traced cold: nothing about it was analysed before its trace.

Target: every trace within 50 ms on a 10,000-host mesh. A benchmark, not a test: it prints
the figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from meshtui.mesh.trace import Client, TraceError, default_port, prepare, target_host, trace
from meshtui.sources.files import FileSource

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_mesh import generate

TARGET = 0.050


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="write the mesh here and keep it")
    args = parser.parse_args(argv)

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="meshtui-trace-"))
    if not any(folder.glob("*/services.yaml")):
        generate(folder, hosts=args.hosts)
    start = time.perf_counter()
    [mesh] = FileSource([str(folder)]).load()
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    prepare(mesh)  # what `meshtui trace` does once after loading: index the VSs' hosts
    prepared = time.perf_counter() - start

    rng = random.Random(args.seed)
    hosts = [h for h in mesh.hosts() if not h.startswith("*")]
    namespaces = sorted({h.split(".")[1] for h in hosts})
    timings = []
    routed = with_problems = 0
    for _ in range(args.traces):
        written = rng.choice(hosts)
        client = Client(rng.choice(namespaces))
        path = rng.choice(["/", "/api/v1/items", "/static/app.js", "/healthz"])
        t0 = time.perf_counter()
        host = target_host(mesh, written, client.namespace)
        try:
            port = default_port(mesh, host, None)
        except TraceError:  # several ports: the request names one, as a user would
            port = rng.choice([8080, 9090])
        result = trace(mesh, client, host, port, path=path)
        timings.append(time.perf_counter() - t0)
        routed += result.rule is not None
        with_problems += bool(result.problems)

    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()}"
    )
    print(
        f"mesh: {len(hosts):,} hosts, loaded in {loaded:.1f} s, VirtualServices indexed for "
        f"traces in {prepared * 1000:.0f} ms (neither timed below)"
    )
    print(
        f"traces: {len(timings)} ({routed} matched a VirtualService rule, "
        f"{with_problems} with problems)"
    )
    print(
        f"per trace: median {statistics.median(timings) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, max {timings[-1] * 1000:.1f} ms "
        f"(target: every trace <= {TARGET * 1000:.0f} ms: "
        f"{'met' if timings[-1] <= TARGET else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
