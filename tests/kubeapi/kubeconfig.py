"""Write kubeconfig files pointing at loopback API servers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class KubeContext:
    """One context: a server URL, its CA (base64 PEM, as certificate-authority-data) and a
    bearer token. Its cluster and user entries are named "<name>-cluster" and "<name>-user"."""

    name: str
    server: str
    ca_data: str
    token: str
    namespace: str | None = "default"


def write_kubeconfig(
    path: str | Path,
    contexts: Sequence[KubeContext],
    current_context: str | None = None,
) -> Path:
    """Write a kubeconfig with the given contexts; current-context defaults to the first."""
    if not contexts:
        raise ValueError("a kubeconfig needs at least one context")
    path = Path(path)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": f"{c.name}-cluster",
                "cluster": {"server": c.server, "certificate-authority-data": c.ca_data},
            }
            for c in contexts
        ],
        "users": [{"name": f"{c.name}-user", "user": {"token": c.token}} for c in contexts],
        "contexts": [
            {
                "name": c.name,
                "context": {
                    "cluster": f"{c.name}-cluster",
                    "user": f"{c.name}-user",
                    **({"namespace": c.namespace} if c.namespace else {}),
                },
            }
            for c in contexts
        ],
        "current-context": current_context or contexts[0].name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
