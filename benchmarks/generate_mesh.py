"""Write a realistic folder of Kubernetes and Istio YAML for a mesh of N hosts (fixed seed).

    python benchmarks/generate_mesh.py OUT_DIR --hosts 10000 [--subsets 3] [--workloads 5]

Namespaces of about 50 hosts; per host a Service, one Deployment per workload (version label
v1..vN), a DestinationRule with subsets (some with their own trafficPolicy, some host policies
with portLevelSettings) and, for most hosts, a VirtualService (weighted splits, weight-0
destinations, mirrors). Hosts without a VirtualService, or whose routes skip a subset, leave
subset policies dormant. Each namespace is a few multi-document files, some as `kind: List`,
a few VirtualService files as JSON. Importable: `generate(out_dir, hosts=...)` returns what it
wrote, including how many findings of each kind meshtui should report.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOSTS_PER_NAMESPACE = 50
PORT_HTTP = 8080
PORT_GRPC = 9090

_TEAMS = ("shop", "payments", "search", "identity", "media", "ledger", "growth", "ops")
_NOUNS = (
    "cart", "checkout", "catalog", "pricing", "inventory", "orders", "billing", "invoices",
    "accounts", "profile", "session", "tokens", "search", "ranking", "reviews", "ratings",
    "images", "thumbnails", "notify", "mailer", "shipping", "tracking", "quotes", "reports",
)  # fmt: skip
_ROLES = ("api", "svc", "worker", "gateway", "store", "cache", "query", "writer")
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:-]*")
_NOT_PLAIN = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


@dataclass
class GeneratedMesh:
    """What `generate` wrote, and the findings meshtui is expected to report on it."""

    hosts: int = 0
    namespaces: int = 0
    files: int = 0
    documents: int = 0
    bytes: int = 0
    subsets: int = 0
    workloads: int = 0
    virtual_services: int = 0
    dormant: int = 0  # SubsetPolicyNeverApplied
    selects_nothing: int = 0  # SubsetSelectsNothing
    undefined: int = 0  # UndefinedSubset
    merged: int = 0  # MultipleDestinationRules
    dormant_subsets: list[tuple[str, str]] = field(default_factory=list)  # (host, subset)


# -- a small YAML emitter in kubectl's layout (block style, list items not indented) --------


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if _PLAIN.fullmatch(value) and value.lower() not in _NOT_PLAIN and value[-1] != ":":
        return value
    return json.dumps(value)


def _emit(value: Any, pad: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                out.append(f"{pad}{key}:")
                _emit(item, pad + "  ", out)
            elif isinstance(item, list) and item:
                out.append(f"{pad}{key}:")
                _emit(item, pad, out)
            elif isinstance(item, dict | list):
                out.append(f"{pad}{key}: {'{}' if isinstance(item, dict) else '[]'}")
            else:
                out.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                start = len(out)
                _emit(item, pad + "  ", out)
                out[start] = f"{pad}- {out[start][len(pad) + 2 :]}"
            else:
                out.append(f"{pad}- {_scalar(item)}")


def to_yaml(obj: dict[str, Any]) -> str:
    out: list[str] = []
    _emit(obj, "", out)
    return "\n".join(out) + "\n"


# -- resources ---------------------------------------------------------------------------


def _meta(name: str, namespace: str, stamp: str, labels: dict[str, str] | None = None) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    meta["creationTimestamp"] = stamp
    return meta


def _stamp(rng: random.Random) -> str:
    return (
        f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
    )


def _service(name: str, ns: str, grpc: bool, rng: random.Random) -> dict[str, Any]:
    ports = [{"name": "http", "port": PORT_HTTP, "protocol": "TCP", "targetPort": PORT_HTTP}]
    if grpc:
        ports.append({"name": "grpc", "port": PORT_GRPC, "protocol": "TCP", "targetPort": 9090})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, ns, _stamp(rng), {"app": name, "team": ns.split("-")[0]}),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": name},
            "ports": ports,
        },
    }


def _deployment(name: str, ns: str, version: str, grpc: bool, rng: random.Random) -> dict:
    labels = {"app": name, "version": version}
    ports = [{"name": "http", "containerPort": PORT_HTTP, "protocol": "TCP"}]
    if grpc:
        ports.append({"name": "grpc", "containerPort": PORT_GRPC, "protocol": "TCP"})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"{name}-{version}", ns, _stamp(rng), labels),
        "spec": {
            "replicas": rng.choice((1, 2, 2, 3, 3, 5)),
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {
                    "labels": dict(labels),
                    "annotations": {"sidecar.istio.io/inject": "true"},
                },
                "spec": {
                    "serviceAccountName": name,
                    "containers": [
                        {
                            "name": name,
                            "image": f"registry.example.com/{ns}/{name}:1.{version[1:]}."
                            f"{rng.randint(0, 30)}",
                            "ports": ports,
                            "env": [
                                {"name": "LOG_LEVEL", "value": rng.choice(("info", "debug"))},
                                {"name": "SERVICE_VERSION", "value": version},
                            ],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": PORT_HTTP},
                                "periodSeconds": 10,
                            },
                        }
                    ],
                },
            },
        },
    }


def _policy(rng: random.Random, grpc: bool, level: str) -> dict[str, Any]:
    """A trafficPolicy as teams write them: a field or two, sometimes per port."""
    choices = {
        "loadBalancer": lambda: {"simple": rng.choice(("LEAST_REQUEST", "ROUND_ROBIN", "RANDOM"))},
        "connectionPool": lambda: {
            "tcp": {"maxConnections": rng.choice((50, 100, 200))},
            "http": {
                "http1MaxPendingRequests": rng.choice((32, 64)),
                "maxRequestsPerConnection": 10,
            },
        },
        "outlierDetection": lambda: {
            "consecutive5xxErrors": rng.choice((3, 5, 7)),
            "interval": "10s",
            "baseEjectionTime": "30s",
        },
    }
    policy: dict[str, Any] = {}
    if level == "host":
        policy["tls"] = {"mode": "ISTIO_MUTUAL"}
    for name in rng.sample(sorted(choices), rng.randint(1, 2)):
        policy[name] = choices[name]()
    if grpc and rng.random() < 0.3:
        policy["portLevelSettings"] = [
            {
                "port": {"number": PORT_GRPC},
                "loadBalancer": {"simple": "LEAST_REQUEST"},
                "connectionPool": {"http": {"http2MaxRequests": 1000}},
            }
        ]
    return policy


def _subset(version: str, labels_version: str, policy: dict | None) -> dict[str, Any]:
    subset: dict[str, Any] = {"name": version, "labels": {"version": labels_version}}
    if policy:
        subset["trafficPolicy"] = policy
    return subset


def _destination_rule(name: str, ns: str, host: str, spec: dict, rng: random.Random) -> dict:
    return {
        "apiVersion": rng.choice(("networking.istio.io/v1", "networking.istio.io/v1beta1")),
        "kind": "DestinationRule",
        "metadata": _meta(name, ns, _stamp(rng)),
        "spec": {"host": host, **spec},
    }


def _dest(host: str, subset: str | None, weight: int | None = None) -> dict[str, Any]:
    destination: dict[str, Any] = {"host": host}
    if subset:
        destination["subset"] = subset
    out: dict[str, Any] = {"destination": destination}
    if weight is not None:
        out["weight"] = weight
    return out


def _split(count: int, rng: random.Random) -> list[int]:
    """Weights summing to 100 for `count` destinations, the last sometimes 0 (a parked canary)."""
    if count == 1:
        return [100]
    if rng.random() < 0.35:
        head = _split(count - 1, rng)
        return [*head, 0]
    cuts = sorted(rng.sample(range(1, 100), count - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]


@dataclass
class _Host:
    name: str
    namespace: str
    fqdn: str
    grpc: bool
    subsets: list[str]
    subset_labels: dict[str, str]
    own_policy: dict[str, bool]
    carried: set[str] = field(default_factory=set)


def _virtual_service(h: _Host, rng: random.Random, stats: GeneratedMesh) -> dict[str, Any]:
    host = h.name if rng.random() < 0.7 else h.fqdn
    subsets = list(h.subsets)
    http: list[dict[str, Any]] = []
    # A canary route on a header to the newest subset, sometimes.
    if len(subsets) > 1 and rng.random() < 0.3:
        http.append(
            {
                "name": "canary",
                "match": [{"headers": {"x-canary": {"exact": "true"}}}],
                "route": [_dest(host, subsets[-1])],
            }
        )
        h.carried.add(subsets[-1])
    # The default route: a weighted split over some of the subsets.
    routed = subsets[: rng.randint(1, len(subsets))]
    weights = _split(len(routed), rng)
    default: dict[str, Any] = {
        "name": "default",
        "route": [
            _dest(host, s, w if len(routed) > 1 else None)
            for s, w in zip(routed, weights, strict=True)
        ],
        "retries": {"attempts": 3, "perTryTimeout": "2s"},
        "timeout": "10s",
    }
    for s, w in zip(routed, weights, strict=True):
        if w > 0 or len(routed) == 1:
            h.carried.add(s)
    rest = [s for s in subsets if s not in routed]
    if rest and rng.random() < 0.25:
        default["mirror"] = {"host": host, "subset": rest[0]}
        default["mirrorPercentage"] = {"value": rng.choice((1.0, 5.0, 10.0))}
        h.carried.add(rest[0])
    if rng.random() < 0.01:
        # A stale route to a subset no DestinationRule defines (UndefinedSubset).
        http.append(
            {
                "name": "legacy",
                "match": [{"uri": {"prefix": "/v0/"}}],
                "route": [_dest(host, "v0")],
            }
        )
        stats.undefined += 1
    http.append(default)
    return {
        "apiVersion": rng.choice(("networking.istio.io/v1", "networking.istio.io/v1beta1")),
        "kind": "VirtualService",
        "metadata": _meta(h.name, h.namespace, _stamp(rng)),
        "spec": {"hosts": [host], "http": http},
    }


def _namespace_names(hosts: int) -> Iterator[tuple[str, int]]:
    count = max(1, round(hosts / HOSTS_PER_NAMESPACE))
    base, extra = divmod(hosts, count)
    for i in range(count):
        yield f"{_TEAMS[i % len(_TEAMS)]}-{i:04d}", base + (1 if i < extra else 0)


def _host_names(count: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        name = f"{rng.choice(_NOUNS)}-{rng.choice(_ROLES)}"
        if name in names:
            name = f"{name}-{rng.randint(2, 99)}"
        names.add(name)
    return sorted(names)


def _write(path: Path, docs: list[dict], stats: GeneratedMesh, rng: random.Random) -> None:
    if path.suffix == ".json":
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=2) + "\n"
        stats.documents += 1
    elif rng.random() < 0.15:
        text = to_yaml({"apiVersion": "v1", "kind": "List", "items": docs})
        stats.documents += 1
    else:
        text = "---\n".join(to_yaml(d) for d in docs)
        stats.documents += len(docs)
    text = f"# {path.parent.name}/{path.name}: generated by benchmarks/generate_mesh.py\n{text}"
    path.write_text(text)
    stats.files += 1
    stats.bytes += len(text)


def generate(
    out_dir: str | Path,
    *,
    hosts: int = 10_000,
    subsets: int = 3,
    workloads: int = 5,
    seed: int = 1,
    domain: str = "cluster.local",
) -> GeneratedMesh:
    """Write the mesh into `out_dir` (created; existing files of the same names replaced)."""
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = GeneratedMesh()
    versions = [f"v{i + 1}" for i in range(max(subsets, workloads))]
    for ns, count in _namespace_names(hosts):
        stats.namespaces += 1
        folder = out / ns
        folder.mkdir(exist_ok=True)
        services, deployments, rules, virtual_services = [], [], [], []
        for name in _host_names(count, rng):
            fqdn = f"{name}.{ns}.svc.{domain}"
            grpc = rng.random() < 0.3
            stats.hosts += 1
            services.append(_service(name, ns, grpc, rng))
            deployed = versions[:workloads]
            for version in deployed:
                deployments.append(_deployment(name, ns, version, grpc, rng))
            stats.workloads += len(deployed)
            h = _Host(name, ns, fqdn, grpc, versions[:subsets], {}, {})
            subset_docs = []
            for version in h.subsets:
                # Now and then a subset still names a version that was retired.
                label = version if rng.random() > 0.02 else f"{version}-retired"
                h.subset_labels[version] = label
                policy = _policy(rng, grpc, "subset") if rng.random() < 0.4 else None
                h.own_policy[version] = policy is not None
                subset_docs.append(_subset(version, label, policy))
                if workloads and label not in deployed:
                    stats.selects_nothing += 1
            stats.subsets += len(h.subsets)
            host = name if rng.random() < 0.8 else fqdn
            spec: dict[str, Any] = {"trafficPolicy": _policy(rng, grpc, "host")}
            if len(subset_docs) > 1 and rng.random() < 0.02:
                # The newest subset kept in a DR of its own (merged: MultipleDestinationRules).
                rules.append(
                    _destination_rule(name, ns, host, {**spec, "subsets": subset_docs[:-1]}, rng)
                )
                rules.append(
                    _destination_rule(
                        f"{name}-canary", ns, host, {"subsets": subset_docs[-1:]}, rng
                    )
                )
                stats.merged += 1
            else:
                rules.append(
                    _destination_rule(name, ns, host, {**spec, "subsets": subset_docs}, rng)
                )
            if rng.random() < 0.8:
                virtual_services.append(_virtual_service(h, rng, stats))
            for version in h.subsets:
                if h.own_policy[version] and version not in h.carried:
                    stats.dormant += 1
                    stats.dormant_subsets.append((fqdn, version))
        stats.virtual_services += len(virtual_services)
        _write(folder / "services.yaml", services, stats, rng)
        _write(folder / "deployments.yaml", deployments, stats, rng)
        _write(folder / "destination-rules.yaml", rules, stats, rng)
        vs_name = "virtual-services.json" if rng.random() < 0.1 else "virtual-services.yaml"
        if virtual_services:
            _write(folder / vs_name, virtual_services, stats, rng)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    stats = generate(
        args.out_dir,
        hosts=args.hosts,
        subsets=args.subsets,
        workloads=args.workloads,
        seed=args.seed,
    )
    print(
        f"{args.out_dir}: {stats.hosts} hosts in {stats.namespaces} namespaces, "
        f"{stats.files} files, {stats.documents} documents, {stats.bytes / 1e6:.1f} MB; "
        f"expected findings: {stats.dormant} SubsetPolicyNeverApplied, "
        f"{stats.selects_nothing} SubsetSelectsNothing, {stats.undefined} UndefinedSubset, "
        f"{stats.merged} MultipleDestinationRules"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
