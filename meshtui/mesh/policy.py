"""The effective traffic policy of a host, subset and port (Istio's MergeTrafficPolicy).

Istio does not deep-merge policies: a field set at a narrower level replaces the inherited
field as a whole, and a port-level entry replaces the four port-level fields, falling back to
Istio's defaults (not to the enclosing level) for those it leaves out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from meshtui.mesh.frozen import frozen
from meshtui.mesh.schema import is_mapping

# The fields a PortTrafficPolicy carries; on a port with an entry they are replaced together.
PORT_LEVEL_FIELDS = ("loadBalancer", "connectionPool", "outlierDetection", "tls")
# The other top-level TrafficPolicy fields: only the subset-over-host rule applies to them.
OTHER_FIELDS = ("tunnel", "proxyProtocol", "retryBudget")
POLICY_FIELDS = PORT_LEVEL_FIELDS + OTHER_FIELDS
# Fields the API accepts but pilot ignores, so they are not policy in force (IgnoredField):
# cluster_traffic_policy.go applyOutlierDetection reads consecutive5xxErrors and
# consecutiveGatewayErrors, never the deprecated consecutiveErrors.
IGNORED_BY_PILOT = {"outlierDetection": ("consecutiveErrors",)}


class Level(StrEnum):
    """Where an effective field came from."""

    HOST = "host"
    HOST_PORT = "host-port"
    SUBSET = "subset"
    SUBSET_PORT = "subset-port"
    DEFAULT = "default"


@frozen
class EffectiveField:
    name: str
    value: Any  # None means Istio's default
    level: Level

    @property
    def is_default(self) -> bool:
        return self.value is None


@frozen
class EffectivePolicy:
    """Every top-level field with its value and origin; unset fields are Istio's defaults."""

    fields: tuple[EffectiveField, ...]

    def get(self, name: str) -> EffectiveField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """The policy in Istio's YAML field names; fields left at Istio's default are absent."""
        return {f.name: f.value for f in self.fields if f.value not in _EMPTY}

    def origins(self) -> dict[str, str]:
        return {f.name: f.level.value for f in self.fields if f.level is not Level.DEFAULT}


_EMPTY = (None, {}, [])  # `in` compares by identity, then by ==: None, {} and [] alike


def _clean(value: Any) -> Any:
    """Drop nulls, so `loadBalancer: {simple: null}` reads as the default it means."""
    if is_mapping(value):
        # (A value that is not None stays not None: a mapping or list stays one.)
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def port_settings(policy: Mapping[str, Any] | None, port: int | None) -> Mapping[str, Any] | None:
    """The `portLevelSettings` entry of `policy` for `port`, if there is one (first wins)."""
    if policy is None or port is None:
        return None
    for entry in policy.get("portLevelSettings") or ():
        if is_mapping(entry) and (entry.get("port") or {}).get("number") == port:
            return entry
    return None


def sets_anything(policy: Mapping[str, Any] | None) -> bool:
    """Whether a subset's own trafficPolicy sets any field (an empty one changes nothing)."""
    if not policy:
        return False
    return any(policy.get(name) is not None for name in (*POLICY_FIELDS, "portLevelSettings"))


def effective_policy(
    host_policy: Mapping[str, Any] | None,
    subset_policy: Mapping[str, Any] | None = None,
    port: int | None = None,
) -> EffectivePolicy:
    """Merge host policy, host port settings, subset policy and subset port settings."""
    current: dict[str, tuple[Any, Level]] = {name: (None, Level.DEFAULT) for name in POLICY_FIELDS}
    # On a port with an entry, pilot takes the entry alone as that level's policy
    # (GetPortLevelTrafficPolicy): the level's top-level fields, tunnel, proxyProtocol and
    # retryBudget included, are not in force on that port.
    host_entry = port_settings(host_policy, port)
    if host_policy and host_entry is None:
        for name in POLICY_FIELDS:
            if host_policy.get(name) is not None:
                current[name] = (host_policy[name], Level.HOST)
    _apply_port(current, host_entry, Level.HOST_PORT)
    if subset_policy:
        subset_entry = port_settings(subset_policy, port)
        if subset_entry is None:
            for name in POLICY_FIELDS:
                if subset_policy.get(name) is not None:
                    current[name] = (subset_policy[name], Level.SUBSET)
        _apply_port(current, subset_entry, Level.SUBSET_PORT)
    return EffectivePolicy(
        tuple(_in_force(name, value, level) for name, (value, level) in current.items())
    )


def _in_force(name: str, value: Any, level: Level) -> EffectiveField:
    """The field as pilot applies it: without what pilot ignores (Istio's default if that
    leaves nothing)."""
    if value is None and level is Level.DEFAULT:  # most fields of most policies: shared
        return _DEFAULT_FIELDS[name]
    ignored = IGNORED_BY_PILOT.get(name)
    if ignored and is_mapping(value) and any(k in value for k in ignored):
        value = {k: v for k, v in value.items() if k not in ignored}
        if not any(v is not None for v in value.values()):
            return EffectiveField(name, None, Level.DEFAULT)
    return EffectiveField(name, _clean(value), level)


_DEFAULT_FIELDS = {name: EffectiveField(name, None, Level.DEFAULT) for name in POLICY_FIELDS}


def effective_policies(
    host_policy: Mapping[str, Any] | None,
    subset_policy: Mapping[str, Any] | None,
    ports: Iterable[int],
) -> tuple[EffectivePolicy, dict[int, EffectivePolicy]]:
    """The effective policy without a port, and on each of `ports`.

    A port that neither level has port-level settings for gets the policy without a port (the
    same value, merged once: a mesh has many ports and few port-level settings).
    """
    base = effective_policy(host_policy, subset_policy)
    return base, {
        port: (
            base
            if port_settings(host_policy, port) is None
            and port_settings(subset_policy, port) is None
            else effective_policy(host_policy, subset_policy, port)
        )
        for port in ports
    }


class PolicyMerges:
    """`effective_policies` on one host's ports, each pair of host and subset policy merged
    once: the host and its subsets without a trafficPolicy of their own share one merge (the
    common case), as do subsets that name the same policy. Each result is a fresh dict."""

    def __init__(self, ports: Iterable[int]) -> None:
        self.ports = tuple(ports)
        # Keyed by identity; the policies are kept beside the result so no id is reused.
        self._done: dict[tuple[int, int], tuple[Any, Any, EffectivePolicy, dict[int, Any]]] = {}

    def __call__(
        self, host_policy: Mapping[str, Any] | None, subset_policy: Mapping[str, Any] | None
    ) -> tuple[EffectivePolicy, dict[int, EffectivePolicy]]:
        subset_policy = subset_policy or None  # an empty policy changes nothing
        key = (id(host_policy), id(subset_policy))
        done = self._done.get(key)
        if done is None:
            base, by_port = effective_policies(host_policy, subset_policy, self.ports)
            done = self._done[key] = (host_policy, subset_policy, base, by_port)
        return done[2], dict(done[3])


def _apply_port(
    current: dict[str, tuple[Any, Level]], entry: Mapping[str, Any] | None, level: Level
) -> None:
    # Port-level settings are not inherited: a field the entry leaves out is Istio's default.
    if entry is None:
        return
    for name in PORT_LEVEL_FIELDS:
        value = entry.get(name)
        current[name] = (value, level) if value is not None else (None, Level.DEFAULT)


def policy_ports(*policies: Mapping[str, Any] | None) -> set[int]:
    """Every port named in the portLevelSettings of these policies."""
    ports: set[int] = set()
    for policy in policies:
        for entry in (policy or {}).get("portLevelSettings") or ():
            number = (entry.get("port") or {}).get("number") if is_mapping(entry) else None
            if isinstance(number, int):
                ports.add(number)
    return ports
