"""Suggested fixes as YAML, generated from the analysis objects with `yaml.safe_dump`.

For a subset policy that is never applied, Istio documents two fixes ("Destination rules
routing evaluation"): move the policy to the DestinationRule's top-level trafficPolicy, so it
applies to all traffic to the host, or add a route that names the subset, so it applies to the
traffic that route sends there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshtui.mesh.analysis import HostAnalysis, SubsetAnalysis
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.policy import POLICY_FIELDS
from meshtui.mesh.resources import DestinationRule

API_VERSION = "networking.istio.io/v1"


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    yaml: str
    notes: tuple[str, ...] = field(default=())


def dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=80)


def _plain(value: Any) -> Any:
    """Mappings and tuples from the model as plain dicts and lists, for safe_dump."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _port(entry: Any) -> Any:
    return (entry.get("port") or {}).get("number") if isinstance(entry, Mapping) else None


def _subset_doc(name: str, labels: Mapping[str, str], policy: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": name}
    if labels:
        doc["labels"] = dict(labels)
    if policy:
        doc["trafficPolicy"] = _plain(policy)
    return doc


def _rule_doc(dr: DestinationRule, top: Mapping[str, Any] | None, subsets: list[Any]) -> Any:
    spec: dict[str, Any] = {"host": dr.host}
    if dr.export_to:
        spec["exportTo"] = list(dr.export_to)
    if dr.workload_selector is not None:
        spec["workloadSelector"] = {"matchLabels": dict(dr.workload_selector)}
    if top:
        spec["trafficPolicy"] = _plain(top)
    if subsets:
        spec["subsets"] = subsets
    return {
        "apiVersion": API_VERSION,
        "kind": "DestinationRule",
        "metadata": {"name": dr.meta.ref.name, "namespace": dr.meta.ref.namespace},
        "spec": spec,
    }


def move_to_host_level(host: HostAnalysis, subset: SubsetAnalysis) -> Fix:
    """Fix 1: the DestinationRule with the subset's trafficPolicy as its top-level policy."""
    dr = subset.destination_rule
    own = dict(subset.own_policy or {})
    top = dict(dr.traffic_policy or {})
    replaced = [k for k in POLICY_FIELDS if own.get(k) is not None and top.get(k) is not None]
    for name in POLICY_FIELDS:
        if own.get(name) is not None:
            top[name] = own[name]
    if own.get("portLevelSettings"):
        entries = {_port(e): e for e in top.get("portLevelSettings") or ()}
        for e in own["portLevelSettings"]:
            entries[_port(e)] = e
        top["portLevelSettings"] = list(entries.values())
    subsets = [
        _subset_doc(s.name, s.labels, None if s.name == subset.name else s.traffic_policy)
        for s in dr.subsets
    ]
    notes = []
    if replaced:
        notes.append(
            "replaces the host-level " + ", ".join(replaced) + " (fields are replaced whole)"
        )
    moved = [k for k in POLICY_FIELDS if own.get(k) is not None]
    inherit = [
        s.name
        for s in host.subsets
        if s.name != subset.name and not any((s.own_policy or {}).get(k) is not None for k in moved)
    ]
    others = f"{'subset' if len(inherit) == 1 else 'subsets'} {', '.join(inherit)} and to "
    notes.append(f"then also applies to {others if inherit else ''}traffic without a subset")
    policy_rule = host.rule.policy_rule if host.rule else None
    if policy_rule is not None and policy_rule.meta.ref != dr.meta.ref:
        notes.append(
            f"the top-level trafficPolicy in force comes from DestinationRule "
            f"{policy_rule.meta.ref.namespaced_name}: move the fields there instead"
        )
    return Fix(
        "move the policy to the host level",
        dump(_rule_doc(dr, top, subsets)),
        tuple(notes),
    )


def route_to_subset(host: HostAnalysis, subset: SubsetAnalysis) -> Fix:
    """Fix 2: a VirtualService whose http route sends traffic to the host and subset."""
    namespace = host.namespace or subset.destination_rule.meta.ref.namespace
    existing = sorted({r.virtual_service for r in host.routes if r.mesh_bound}, key=str)
    name = f"{subset.destination_rule.meta.ref.name}-{subset.name}"
    doc = {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": [host.host],
            "http": [
                {
                    "name": subset.name,
                    "route": [{"destination": {"host": host.host, "subset": subset.name}}],
                }
            ],
        },
    }
    notes = [
        "sends all traffic of this route to the subset; add weighted destinations or a match "
        "to send only part of it"
    ]
    if existing:
        notes.append(
            "VirtualService "
            + ", ".join(r.namespaced_name for r in existing)
            + " already routes this host: add the http route to it instead (sidecars use "
            "one VirtualService per host)"
        )
    return Fix("route traffic to the subset", dump(doc), tuple(notes))


def define_subset(host: HostAnalysis, name: str) -> Fix:
    """A route names a subset no DestinationRule defines: define it (or fix the route)."""
    entry = {"name": name, "labels": {"version": name}}
    defined = [s.name for s in host.subsets]
    notes = ["set labels that the pods of this subset carry"]
    if defined:
        notes.append("or make the route name a defined subset: " + ", ".join(defined))
    if host.rule is not None and host.rule.rules:
        dr = host.rule.rules[0]
        subsets = [_subset_doc(s.name, s.labels, s.traffic_policy) for s in dr.subsets]
        doc = _rule_doc(dr, dr.traffic_policy, [*subsets, entry])
        return Fix(f"define subset {name}", dump(doc), tuple(notes))
    namespace = host.namespace or "default"
    doc = {
        "apiVersion": API_VERSION,
        "kind": "DestinationRule",
        "metadata": {"name": host.host.split(".")[0] or "rule", "namespace": namespace},
        "spec": {"host": host.host, "subsets": [entry]},
    }
    return Fix(f"define subset {name}", dump(doc), tuple(notes))


def select_workloads(host: HostAnalysis, subset: SubsetAnalysis) -> Fix | None:
    """A subset that selects nothing: labels its service's workloads do carry."""
    seen: list[dict[str, str]] = []
    for w in host.workloads or ():
        labels = {k: v for k, v in w.labels.items() if k in subset.labels}
        if labels and labels not in seen:
            seen.append(labels)
    if not seen:
        return None
    doc = [_subset_doc(subset.name, seen[0], None)]
    others = ["; ".join(f"{k}={v}" for k, v in s.items()) for s in seen[1:]]
    notes = ["labels the service's workloads carry"]
    if others:
        notes.append("other label values in use: " + ", ".join(others))
    return Fix("select existing workloads", dump(doc), tuple(notes))


def fixes_for(finding: Finding, host: HostAnalysis | None) -> list[Fix]:
    """The fixes the detail pane suggests for a finding, most direct first."""
    if host is None or not finding.subset:
        return []
    subset = host.subset(finding.subset)
    if finding.code is Code.SUBSET_POLICY_NEVER_APPLIED and subset is not None:
        return [move_to_host_level(host, subset), route_to_subset(host, subset)]
    if finding.code is Code.UNDEFINED_SUBSET:
        return [define_subset(host, finding.subset)]
    if finding.code is Code.SUBSET_SELECTS_NOTHING and subset is not None:
        fix = select_workloads(host, subset)
        return [fix] if fix else []
    return []
