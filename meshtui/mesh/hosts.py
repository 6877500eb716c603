"""Host names as Istio resolves and matches them (pilot's ResolveShortnameToFQDN, host.Name)."""

from __future__ import annotations

from collections.abc import Iterable

from meshtui.mesh.frozen import frozen

DEFAULT_DOMAIN = "cluster.local"


@frozen
class MeshConfig:
    """The few mesh-wide settings the semantics depend on."""

    domain: str = DEFAULT_DOMAIN
    root_namespace: str = "istio-system"


def resolve_host(host: str, namespace: str, domain: str = DEFAULT_DOMAIN) -> str:
    """Resolve a host as written in a resource of `namespace`.

    A name without dots is a short name of a Service in the resource's own namespace; a name
    with dots (`reviews.bookinfo`) is taken as written, and so are `*` and IP addresses.
    """
    if not host or host == "*" or "." in host or ":" in host:
        return host
    return f"{host}.{namespace}.svc.{domain}"


def service_host(name: str, namespace: str, domain: str = DEFAULT_DOMAIN) -> str:
    return f"{name}.{namespace}.svc.{domain}"


def host_namespace(host: str, domain: str = DEFAULT_DOMAIN) -> str | None:
    """The namespace of a Kubernetes service host (`name.ns.svc.<domain>`), else None."""
    suffix = f".svc.{domain}"
    if not host.endswith(suffix):
        return None
    parts = host[: -len(suffix)].split(".")
    return parts[1] if len(parts) == 2 else None


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


def matches(host: str, pattern: str) -> bool:
    """Whether `pattern` (a DestinationRule host, maybe a wildcard) covers `host`."""
    if host == pattern or pattern == "*":
        return True
    if not pattern.startswith("*"):
        return False
    suffix = pattern[1:]  # ".bookinfo.svc.cluster.local"
    if host.startswith("*"):
        return host[1:].endswith(suffix) and len(host) > len(pattern)
    return host.endswith(suffix)


def overlap(a: str, b: str) -> bool:
    """Whether two host names share any host, either may be a wildcard (Istio's
    host.Name.Matches, which is symmetric, unlike `matches`)."""
    if a.startswith("*") and b.startswith("*"):
        return a[1:].endswith(b[1:]) or b[1:].endswith(a[1:])
    if a.startswith("*"):
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return a == b


def most_specific(host: str, patterns: Iterable[str]) -> str | None:
    """The pattern Istio picks for `host`: an exact match, else the longest wildcard."""
    best: str | None = None
    for pattern in patterns:
        if pattern == host:
            return pattern
        if matches(host, pattern) and (best is None or len(pattern) > len(best)):
            best = pattern
    return best
