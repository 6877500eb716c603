"""meshtui's live load against `kubectl get ... -A -o json`, on the same loopback API server.

    python benchmarks/live_load.py [--hosts 10000] [--repeat 3] [--models-pods 10000]

A loopback Kubernetes API server (tests/kubeapi) runs in a child process, so that its work
does not compete with the measured client for the interpreter lock. It serves the mesh of
benchmarks/generate_mesh.py (fixed seed: Services, DestinationRules, VirtualServices) with one
Pod per Deployment, built as the API server returns a sidecar-injected pod (10,000 hosts:
50,000 pods). In the same run it times

  (a) meshtui's full load: `ClusterSource(...).load()` and the analysis of the mesh;
  (b) `meshtui check --context alpha -o json`, a whole process (start-up and output included);
  (c) the floor: `kubectl get services,pods,destinationrules,virtualservices -A -o json`
      (skipped with a note when kubectl is missing);

and prints each (best of --repeat) and the ratio of (a) to (c); the target is at most 0.7.
A side measurement reads the first --models-pods pods twice, as raw JSON trimmed the way
meshtui keeps them and as the client's generated models (`CoreV1Api.list_pod_for_all_namespaces`),
and prints the time per 1,000 pods of each. A benchmark, not a test: it exits 0 whatever the
figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

RATIO_TARGET = 0.7
KUBECTL_KINDS = "services,pods,destinationrules,virtualservices"


# -- the mesh, as API objects ---------------------------------------------------------------


def mesh_objects(hosts: int, seed: int = 1) -> tuple[list[dict[str, Any]], Any]:
    """The objects of generate_mesh's mesh (same seed, same mesh), Deployments as Pods.

    generate() writes YAML; reading 70 MB of it back would dominate the set-up, so its file
    writer is swapped for one that keeps the documents (drawing the same random numbers)."""
    import generate_mesh

    docs: list[dict[str, Any]] = []

    def keep(path: Path, batch: list[dict], stats: Any, rng: Any) -> None:
        if path.suffix != ".json":
            rng.random()  # the writer's choice of layout, so the mesh matches the folder's
        docs.extend(batch)
        stats.files += 1
        stats.documents += len(batch)

    original = generate_mesh._write
    generate_mesh._write = keep
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stats = generate_mesh.generate(tmp, hosts=hosts, seed=seed)
    finally:
        generate_mesh._write = original
    objects = [pod_of(d, i) if d["kind"] == "Deployment" else d for i, d in enumerate(docs)]
    return objects, stats


def pod_of(deployment: dict[str, Any], index: int) -> dict[str, Any]:
    """One running, sidecar-injected pod of the Deployment, as `kubectl get pod -o json` shows
    one (about 4 KB: owner, injected containers and volumes, status with container states)."""
    meta = deployment["metadata"]
    template = deployment["spec"]["template"]
    name, namespace = meta["name"], meta["namespace"]
    hash_ = f"{index * 2654435761 % 16**10:010x}"[:10]
    labels = {
        **template["metadata"]["labels"],
        "pod-template-hash": hash_,
        "security.istio.io/tlsMode": "istio",
        "service.istio.io/canonical-name": template["metadata"]["labels"]["app"],
        "service.istio.io/canonical-revision": template["metadata"]["labels"]["version"],
    }
    ip = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    app = template["spec"]["containers"][0]
    stamp = "2024-05-01T12:00:00Z"
    proxy = {
        "name": "istio-proxy",
        "image": "docker.io/istio/proxyv2:1.24.0",
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "env": [
            {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
            {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
            {"name": "ISTIO_META_WORKLOAD_NAME", "value": name},
            {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
        ],
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
            "periodSeconds": 15,
            "failureThreshold": 4,
        },
        "resources": {
            "limits": {"cpu": "2", "memory": "1Gi"},
            "requests": {"cpu": "100m", "memory": "128Mi"},
        },
        "volumeMounts": [
            {"mountPath": "/var/run/secrets/workload-spiffe-uds", "name": "workload-socket"},
            {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
            {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"},
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-{hash_}-{index % 99991:05d}",
            "generateName": f"{name}-{hash_}-",
            "namespace": namespace,
            "uid": f"{index:08x}-0000-4000-8000-{index:012x}",
            "creationTimestamp": stamp,
            "labels": labels,
            "annotations": {
                "istio.io/rev": "default",
                "kubectl.kubernetes.io/default-container": app["name"],
                "prometheus.io/path": "/stats/prometheus",
                "prometheus.io/port": "15020",
                "sidecar.istio.io/status": json.dumps(
                    {
                        "initContainers": ["istio-init"],
                        "containers": ["istio-proxy"],
                        "volumes": ["workload-socket", "istio-envoy", "istio-token"],
                        "revision": "default",
                    }
                ),
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{name}-{hash_}",
                    "uid": f"{index:08x}-1111-4000-8000-{index:012x}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [app, proxy],
            "initContainers": [
                {
                    "name": "istio-init",
                    "image": "docker.io/istio/proxyv2:1.24.0",
                    "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337"],
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
                }
            ],
            "volumes": [
                {"name": "workload-socket", "emptyDir": {}},
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
                {
                    "name": "istio-token",
                    "projected": {
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "audience": "istio-ca",
                                    "expirationSeconds": 43200,
                                    "path": "istio-token",
                                }
                            }
                        ]
                    },
                },
            ],
            "nodeName": f"node-{index % 100:03d}",
            "serviceAccountName": template["spec"].get("serviceAccountName", "default"),
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "dnsPolicy": "ClusterFirst",
            "terminationGracePeriodSeconds": 30,
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "hostIP": f"192.168.{index % 100 // 10}.{index % 10 + 10}",
            "qosClass": "Burstable",
            "startTime": stamp,
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": stamp}
                for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
            ],
            "containerStatuses": [
                {
                    "name": c,
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "image": image,
                    "imageID": f"{image}@sha256:{index:064x}",
                    "containerID": f"containerd://{index:064x}",
                    "state": {"running": {"startedAt": stamp}},
                }
                for c, image in ((app["name"], app["image"]), ("istio-proxy", proxy["image"]))
            ],
        },
    }


# -- the server, in a child process ---------------------------------------------------------


def _serve(hosts: int, folder: str, conn: Any) -> None:
    from tests.kubeapi import KubeAPIServer

    objects, stats = mesh_objects(hosts)
    size = sum(len(json.dumps(o)) for o in objects if o["kind"] == "Pod")
    server = KubeAPIServer(bookmark_interval=60)
    with server:
        server.add_many(objects)
        kubeconfig = server.write_kubeconfig(Path(folder) / "kubeconfig")
        counts = {k: server.count(k) for k in ("Service", "Pod")}
        conn.send(
            {
                "kubeconfig": str(kubeconfig),
                "counts": counts,
                "pod_bytes": size,
                "dormant": stats.dormant,
                "undefined": stats.undefined,
            }
        )
        conn.recv()  # until the parent is done
        conn.send([r.method for r in server.requests])


# -- measurements ---------------------------------------------------------------------------


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def meshtui_load(kubeconfig: str) -> Any:
    from meshtui.sources.cluster import ClusterSource

    source = ClusterSource(contexts=["alpha"], kubeconfig=kubeconfig)
    meshes = source.load()
    return [mesh.analyze() for mesh in meshes]


def meshtui_check(kubeconfig: str) -> int:
    command = [sys.executable, "-c", "import sys; from meshtui.cli import main; sys.exit(main())"]
    command += ["check", "--context", "alpha"]
    command += ["--kubeconfig", kubeconfig, "-o", "json"]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"meshtui check failed: {done.stderr.decode()}")
    return done.returncode


def kubectl_get(kubectl: str, kubeconfig: str) -> int:
    command = [kubectl, "get", KUBECTL_KINDS, "-A", "-o", "json", "--kubeconfig", kubeconfig]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"kubectl failed: {done.stderr.decode()}")
    return len(done.stdout)


def models_vs_raw(kubeconfig: str, pods: int) -> dict[str, float]:
    """Seconds per 1,000 pods, kept as a load keeps them: raw JSON trimmed as meshtui does,
    and the client's generated models; each with the cyclic GC paused (as meshtui lists) and
    on (as a plain loop would run)."""
    from kubernetes import client

    from meshtui.sources.cluster import (
        CORE_KINDS,
        PAGE_SIZE,
        Reader,
        _gc_paused,
        kube_client,
        trim,
    )

    api_client, _ = kube_client("alpha", kubeconfig)
    pod_kind = next(k for k in CORE_KINDS if k.kind == "Pod")
    reader = Reader(api_client, 60)

    def raw() -> list[Any]:
        kept: list[Any] = []
        token = ""
        while len(kept) < pods:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if token:
                query.append(("continue", token))
            page = reader.get("/api/v1/pods", query)
            kept += [trim(item, pod_kind, "v1") for item in page["items"]]
            token = page["metadata"].get("continue")
        return kept

    def models() -> list[Any]:
        api = client.CoreV1Api(api_client)
        kept: list[Any] = []
        token = None
        while len(kept) < pods:
            page = api.list_pod_for_all_namespaces(limit=PAGE_SIZE, _continue=token)
            kept += page.items
            token = page.metadata._continue
        return kept

    def paused(run: Callable[[], list[Any]]) -> Callable[[], list[Any]]:
        def inner() -> list[Any]:
            with _gc_paused():
                return run()

        return inner

    out = {}
    for name, run in (
        ("raw JSON + trim, GC paused", paused(raw)),
        ("raw JSON + trim, GC on", raw),
        ("generated models, GC paused", paused(models)),
        ("generated models, GC on", models),
    ):
        seconds, _, kept = best(1, run)
        out[name] = seconds * 1000 / len(kept)
        del kept
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models-pods", type=int, default=10_000, metavar="N")
    args = parser.parse_args(argv)

    os.environ["no_proxy"] = ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1"]))
    print(f"machine: {machine()}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("fork").Process(
            target=_serve, args=(args.hosts, folder, child), daemon=True
        )
        server.start()
        info = parent.recv()
        kubeconfig = info["kubeconfig"]
        print(
            f"server: {info['counts']['Service']} services, {info['counts']['Pod']} pods "
            f"({info['pod_bytes'] / info['counts']['Pod'] / 1000:.1f} KB each), "
            f"ready in {time.perf_counter() - started:.1f} s"
        )

        load_s, load_all, analyses = best(args.repeat, lambda: meshtui_load(kubeconfig))
        analysis = analyses[0]
        codes = [f.code.value for f in analysis.findings]
        print(
            f"(a) meshtui load + analysis: {load_s:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in load_all)}); {len(analysis.hosts)} hosts, "
            f"{analysis.workload_count} pods, "
            f"{codes.count('SubsetPolicyNeverApplied')} SubsetPolicyNeverApplied "
            f"(generator expects {info['dormant']})"
        )
        check_s, check_all, _ = best(args.repeat, lambda: meshtui_check(kubeconfig))
        print(
            f"(b) meshtui check -o json (whole process): {check_s:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in check_all)})"
        )
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            print("(c) kubectl: not installed (apt-get install kubectl); no comparison")
        else:
            kubectl_s, kubectl_all, size = best(
                args.repeat, lambda: kubectl_get(kubectl, kubeconfig)
            )
            print(
                f"(c) kubectl get {KUBECTL_KINDS} -A -o json: {kubectl_s:.2f} s "
                f"(runs {', '.join(f'{t:.2f}' for t in kubectl_all)}; {size / 1e6:.0f} MB out)"
            )
            ratio = load_s / kubectl_s
            verdict = "meets" if ratio <= RATIO_TARGET else "misses"
            print(
                f"ratio (a)/(c): {ratio:.2f}, {verdict} the target {RATIO_TARGET}; "
                f"(b)/(c): {check_s / kubectl_s:.2f}"
            )
        if args.models_pods:
            print(f"pods, seconds per 1,000 (the first {args.models_pods}, kept):")
            for name, seconds in models_vs_raw(kubeconfig, args.models_pods).items():
                print(f"    {name:<28} {seconds:.3f}")
        parent.send("done")
        methods = set(parent.recv())
        server.join(10)
        print(f"methods the server saw: {', '.join(sorted(methods))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
