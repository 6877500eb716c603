"""Raw resource documents as a fix edits them: deep plain copies without what the API server
sets, policies laid over one another, nodes found by path, and a destination written the way
the VirtualService already writes its hosts and ports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.resources import Path

Obj = dict[str, Any]


def subset_destination(doc: Obj, host: str, subset: str, namespace: str, domain: str) -> Obj:
    """A destination to `subset` of `host`, written as the VS writes the host, with the port
    its other destinations for the host name (a multi-port host needs one)."""
    destination: Obj = {"host": written_host(doc, host, namespace, domain), "subset": subset}
    port = destination_ports(doc, host, namespace, domain)
    if port is not None:
        destination["port"] = plain(port)
    return destination


def child(obj: Obj, key: str, empty: Obj | list[Any]) -> Any:
    """`obj[key]` to edit in place, made `empty` (a dict or list) where it is absent or written
    as something else (`subsets: null`, `spec: null`)."""
    found = obj.get(key)
    if not isinstance(found, type(empty)):
        found = obj[key] = empty
    return found


def plain(value: Any) -> Any:
    """Mappings and tuples from the model as plain dicts and lists (deep copies)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# Set by the API server, not by whoever applies the object: a fix leaves them out, as
# `kubectl apply` expects (a stale resourceVersion would make the apply a conflict).
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def applyable(obj: Mapping[str, Any]) -> Obj:
    """A deep copy of an object as read, without what the server sets (and its status)."""
    out = plain(obj)
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in _SERVER_METADATA:
            meta.pop(key, None)
        notes = meta.get("annotations")
        if isinstance(notes, dict):
            notes.pop(_LAST_APPLIED, None)
            if not notes:
                meta.pop("annotations")
    return out


def port(entry: Any) -> Any:
    return (entry.get("port") or {}).get("number") if isinstance(entry, Mapping) else None


def merge(base: Any, override: Any) -> Any:
    """`override` laid over `base` key by key (mappings only); override wins on conflicts."""
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return plain(override)
    out = plain(base)
    for k, v in override.items():
        out[k] = merge(out[k], v) if k in out else plain(v)
    return out


def conflicts(base: Any, override: Any, prefix: str) -> list[str]:
    """The leaves of `base` that laying `override` over it changes, as `a.b: old → new`."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = []
        for k, v in override.items():
            if k in base:
                out += conflicts(base[k], v, f"{prefix}.{k}")
        return out
    return [] if base == override else [f"{prefix} {abridged(base)} → {abridged(override)}"]


def abridged(value: Any) -> str:
    text = str(plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


def listed(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def node_at(obj: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or not -len(obj) <= part < len(obj):
                return None
            obj = obj[part]
        else:
            if not isinstance(obj, Mapping) or part not in obj:
                return None
            obj = obj[part]
    return obj


def destination_ports(vs: Mapping[str, Any], host: str, namespace: str, domain: str) -> Any:
    """The `port` the VirtualService's destinations to `host` name, if any does."""
    spec = vs.get("spec") or {}
    for kind in ("http", "tcp", "tls"):
        for rule in spec.get(kind) or ():
            for entry in rule.get("route") or () if isinstance(rule, Mapping) else ():
                d = entry.get("destination") if isinstance(entry, Mapping) else None
                if (
                    isinstance(d, Mapping)
                    and resolve_host(str(d.get("host", "")), namespace, domain) == host
                    and d.get("port") is not None
                ):
                    return d["port"]
    return None


def written_host(vs: Mapping[str, Any], host: str, namespace: str, domain: str) -> str:
    """The host as the VirtualService already writes it (short name or FQDN)."""
    spec = vs.get("spec") or {}
    for h in spec.get("hosts") or ():
        if isinstance(h, str) and resolve_host(h, namespace, domain) == host:
            return h
    return host
