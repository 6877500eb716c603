"""Small, realistic object factories for feeding a KubeAPIServer."""

from __future__ import annotations

from typing import Any

from .kinds import ISTIO_GROUP

Obj = dict[str, Any]


def _meta(namespace: str | None, name: str, labels: dict[str, str] | None) -> Obj:
    md: Obj = {"name": name}
    if namespace is not None:
        md["namespace"] = namespace
    if labels:
        md["labels"] = dict(labels)
    return md


def namespace(name: str, labels: dict[str, str] | None = None) -> Obj:
    labels = {"kubernetes.io/metadata.name": name, **(labels or {})}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(None, name, labels),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def pod(
    namespace: str,
    name: str,
    labels: dict[str, str] | None = None,
    *,
    node: str = "node-1",
    ip: str = "10.0.0.1",
    image: str = "docker.io/istio/examples-bookinfo-reviews-v1:1.20.1",
    sidecar: bool = True,
) -> Obj:
    """A running pod of roughly the size the API server returns for a small workload."""
    containers = [
        {
            "name": "app",
            "image": image,
            "ports": [{"containerPort": 9080, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "terminationMessagePath": "/dev/termination-log",
            "imagePullPolicy": "IfNotPresent",
        }
    ]
    if sidecar:
        containers.append(
            {
                "name": "istio-proxy",
                "image": "docker.io/istio/proxyv2:1.24.0",
                "args": ["proxy", "sidecar"],
            }
        )
    labels = labels if labels is not None else {"app": name.rsplit("-", 1)[0]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(namespace, name, labels),
        "spec": {
            "containers": containers,
            "nodeName": node,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "hostIP": "192.168.0.10",
            "conditions": [{"type": "Ready", "status": "True"}],
            "startTime": "2024-05-01T12:00:00Z",
        },
    }


def service(namespace: str, name: str, port: int = 9080, selector: dict | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(namespace, name, {"app": name}),
        "spec": {
            "selector": selector if selector is not None else {"app": name},
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
            "type": "ClusterIP",
            "clusterIP": "10.96.0.10",
        },
    }


def secret(namespace: str, name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(namespace, name, None),
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg=="},
    }


def configmap(namespace: str, name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(namespace, name, None),
        "data": {"key": "value"},
    }


def deployment(namespace: str, name: str, replicas: int = 1) -> Obj:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(namespace, name, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            },
        },
    }


def destination_rule(
    namespace: str,
    name: str,
    host: str,
    subsets: list[Obj] | None = None,
    traffic_policy: Obj | None = None,
    version: str = "v1",
) -> Obj:
    spec: Obj = {"host": host}
    if traffic_policy is not None:
        spec["trafficPolicy"] = traffic_policy
    if subsets is not None:
        spec["subsets"] = subsets
    return {
        "apiVersion": f"{ISTIO_GROUP}/{version}",
        "kind": "DestinationRule",
        "metadata": _meta(namespace, name, None),
        "spec": spec,
    }


def virtual_service(
    namespace: str,
    name: str,
    hosts: list[str],
    http: list[Obj] | None = None,
    version: str = "v1",
) -> Obj:
    spec: Obj = {"hosts": hosts}
    if http is not None:
        spec["http"] = http
    return {
        "apiVersion": f"{ISTIO_GROUP}/{version}",
        "kind": "VirtualService",
        "metadata": _meta(namespace, name, None),
        "spec": spec,
    }


def service_entry(namespace: str, name: str, hosts: list[str], version: str = "v1") -> Obj:
    return {
        "apiVersion": f"{ISTIO_GROUP}/{version}",
        "kind": "ServiceEntry",
        "metadata": _meta(namespace, name, None),
        "spec": {
            "hosts": hosts,
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [{"number": 443, "name": "https", "protocol": "TLS"}],
        },
    }


def gateway(namespace: str, name: str, hosts: list[str], version: str = "v1") -> Obj:
    return {
        "apiVersion": f"{ISTIO_GROUP}/{version}",
        "kind": "Gateway",
        "metadata": _meta(namespace, name, None),
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
            ],
        },
    }


def many_pods(count: int, namespaces: int = 50, prefix: str = "pod") -> list[Obj]:
    """`count` pods spread over `namespaces` namespaces (ns-000...), for scale tests."""
    return [
        pod(
            f"ns-{i % namespaces:03d}",
            f"{prefix}-{i:06d}",
            {"app": f"app-{i % 200}"},
            node=f"node-{i % 100}",
            ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        )
        for i in range(count)
    ]
