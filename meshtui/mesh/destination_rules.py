"""Which DestinationRule applies to a host, and how several of them are merged.

Follows pilot/pkg/model: DRs of one namespace are merged per resolved host in order of
creationTimestamp then name (subsets concatenated, the first top-level trafficPolicy wins);
with ENABLE_ENHANCED_DESTINATIONRULE_MERGE (on by default) only DRs with equal exportTo merge.
A client in namespace C uses C's own DRs, else the service namespace's DRs exported to C,
else the root namespace's DRs exported to C.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshtui.mesh import schema
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import MeshConfig, is_wildcard, matches, resolve_host
from meshtui.mesh.resources import DestinationRule, ObjectRef, Subset
from meshtui.mesh.selection import selects


@frozen
class DuplicateSubset:
    name: str
    kept: ObjectRef
    ignored: ObjectRef
    subset: Subset


@dataclass(slots=True)
class ConsolidatedRule:
    """One or more DestinationRules merged the way Istio merges them."""

    host: str
    rules: list[DestinationRule]
    export_to: frozenset[str]
    workload_selector: Mapping[str, str] | None
    traffic_policy: Mapping[str, Any] | None = None
    policy_rule: DestinationRule | None = None
    subsets: list[tuple[Subset, DestinationRule]] = field(default_factory=list)
    duplicates: list[DuplicateSubset] = field(default_factory=list)

    @classmethod
    def of(cls, rule: DestinationRule, export_to: frozenset[str]) -> ConsolidatedRule:
        merged = cls(rule.host, [], export_to, rule.workload_selector)
        merged.merge(rule)
        return merged

    def copy(self) -> ConsolidatedRule:
        return ConsolidatedRule(
            self.host,
            list(self.rules),
            self.export_to,
            self.workload_selector,
            self.traffic_policy,
            self.policy_rule,
            list(self.subsets),
            list(self.duplicates),
        )

    def merge(self, rule: DestinationRule) -> None:
        self.rules.append(rule)
        names = {s.name: r for s, r in self.subsets}
        for subset in rule.subsets:
            if subset.name in names:
                self.duplicates.append(
                    DuplicateSubset(subset.name, names[subset.name].meta.ref, rule.meta.ref, subset)
                )
            else:
                self.subsets.append((subset, rule))
                names[subset.name] = rule
        if self.traffic_policy is None and rule.traffic_policy is not None:
            self.traffic_policy = rule.traffic_policy
            self.policy_rule = rule

    def visible_to(self, namespace: str, own_namespace: str) -> bool:
        if not self.export_to or "*" in self.export_to:
            return True
        return namespace in self.export_to or (namespace == own_namespace and "." in self.export_to)


def _export_set(rule: DestinationRule) -> frozenset[str]:
    # pilot's setDestinationRules: a DR with a workloadSelector is never exported, whatever
    # its exportTo says; it is private to its namespace.
    if rule.workload_selector is not None:
        return frozenset({"."})
    # Kept as written: an empty exportTo (the mesh default, all namespaces) is still a set
    # different from {"*"} when pilot's enhanced merge compares two DRs' exportTo.
    return frozenset(rule.export_to)


def _is_exported(rule: DestinationRule) -> bool:
    """Whether a DR is visible outside its namespace at all (pilot's exportedByNamespace)."""
    export = _export_set(rule)
    return not export or bool(export - {".", rule.meta.ref.namespace, "~"})


def _is_local(rule: DestinationRule) -> bool:
    """Whether clients of the DR's own namespace see it (pilot's namespaceLocal index)."""
    export = _export_set(rule)
    return not export or bool(export & {"*", ".", rule.meta.ref.namespace})


# Which of a namespace's DRs a lookup considers: its own clients' view, what it exports, and
# (for the root namespace's own clients) what it keeps private.
_SCOPES = {
    "local": _is_local,
    "exported": _is_exported,
    "private": lambda rule: not _is_exported(rule),
}


def consolidate(rules: list[DestinationRule]) -> list[ConsolidatedRule]:
    """Merge the DRs of one namespace for one resolved host, as pilot's mergeDestinationRule."""
    # pilot's sortConfigBySelectorAndCreationTime: DRs with a workloadSelector come first, so a
    # catch-all DR is never merged with one that only selected workloads use.
    ordered = sorted(
        rules,
        key=lambda r: (r.workload_selector is None, r.meta.creation_timestamp, r.meta.ref.name),
    )
    entries: list[ConsolidatedRule] = []
    for rule in ordered:
        export = _export_set(rule)
        if not entries:
            entries.append(ConsolidatedRule.of(rule, export))
            continue
        append_separately = True
        for i, existing in enumerate(entries):
            selector = rule.workload_selector
            both_without = selector is None and existing.workload_selector is None
            both_with = selector is not None and existing.workload_selector is not None
            selectors_match = both_with and dict(selector or {}) == dict(
                existing.workload_selector or {}
            )
            if export == existing.export_to:
                append_separately = not (both_without or selectors_match)
            elif existing.export_to and export >= existing.export_to:
                append_separately = True
            else:
                append_separately = True
                continue
            if both_with and not selectors_match:
                append_separately = True
                continue
            if both_without or selectors_match:
                append_separately = False
            merged = existing.copy()
            merged.merge(rule)
            entries[i] = merged
        if append_separately:
            entries.append(ConsolidatedRule.of(rule, export))
    return entries


def applicable(
    entries: list[ConsolidatedRule],
    labels: Mapping[str, str] | None = None,
    namespace: str | None = None,
) -> ConsolidatedRule | None:
    """The entry a proxy in `namespace` with `labels` uses (sidecar.go
    SidecarScope.DestinationRule): the first whose workloadSelector, in the proxy's own
    namespace, selects its labels; else the last catch-all. Without labels (a namespace's
    clients in general) only a catch-all applies."""
    catch_all = None
    for entry in entries:
        selector = entry.workload_selector
        if selector is None:
            catch_all = entry
        elif (
            labels is not None
            and entry.rules[0].meta.ref.namespace == namespace
            and selects(selector, labels)
        ):
            return entry
    return catch_all


class DestinationRuleIndex:
    """DestinationRules by namespace and resolved host, with cached consolidation."""

    def __init__(self, config: MeshConfig) -> None:
        self.config = config
        self._rules: dict[ObjectRef, DestinationRule] = {}
        # namespace -> resolved host -> rules
        self._exact: dict[str, dict[str, list[DestinationRule]]] = defaultdict(dict)
        self._wild: dict[str, dict[str, list[DestinationRule]]] = defaultdict(dict)
        # resolved host or wildcard -> the namespaces with DRs for it (for `matching`)
        self._namespaces_of: dict[str, set[str]] = defaultdict(set)
        self._cache: dict[tuple[str, str, str], list[ConsolidatedRule]] = {}
        self._wildcards: set[str] = set()  # the wildcard hosts of all DRs

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self):
        return iter(self._rules.values())

    def resolved_host(self, rule: DestinationRule) -> str:
        return resolve_host(rule.host, rule.meta.ref.namespace, self.config.domain)

    def add(self, rule: DestinationRule) -> DestinationRule | None:
        old = self.remove(rule.meta.ref)
        host = self.resolved_host(rule)
        self._rules[rule.meta.ref] = rule
        table = self._wild if is_wildcard(host) else self._exact
        table[rule.meta.ref.namespace].setdefault(host, []).append(rule)
        self._namespaces_of[host].add(rule.meta.ref.namespace)
        if is_wildcard(host):
            self._wildcards.add(host)
        self._invalidate(rule.meta.ref.namespace, host)
        return old

    def remove(self, ref: ObjectRef) -> DestinationRule | None:
        old = self._rules.pop(ref, None)
        if old is None:
            return None
        host = self.resolved_host(old)
        table = self._wild if is_wildcard(host) else self._exact
        rules = table[ref.namespace].get(host, [])
        rules[:] = [r for r in rules if r.meta.ref != ref]
        if not rules:
            table[ref.namespace].pop(host, None)
            self._namespaces_of[host].discard(ref.namespace)
            if not self._namespaces_of[host]:
                del self._namespaces_of[host]
                self._wildcards.discard(host)
        self._invalidate(ref.namespace, host)
        return old

    def _invalidate(self, namespace: str, host: str) -> None:
        for scope in _SCOPES:
            self._cache.pop((namespace, host, scope), None)

    def namespaces(self) -> list[str]:
        return sorted({*self._exact, *self._wild})

    def _most_specific(self, namespace: str, host: str, scope: str) -> list[ConsolidatedRule]:
        # pilot indexes a namespace's DRs twice: those its own clients see and those it exports.
        # The most specific host is picked within one index, so a DR the client cannot see
        # never hides a less specific one it can.
        visible = _SCOPES[scope]
        exact = self._exact.get(namespace, {})
        key = host if any(visible(r) for r in exact.get(host, ())) else None
        if key is None:
            best = None
            for pattern, rules in self._wild.get(namespace, {}).items():
                if (
                    matches(host, pattern)
                    and (best is None or len(pattern) > len(best))
                    and any(visible(r) for r in rules)
                ):
                    best = pattern
            key = best
        if key is None:
            return []
        cached = self._cache.get((namespace, key, scope))
        if cached is None:
            rules = exact.get(key) or self._wild[namespace][key]
            cached = consolidate([r for r in rules if visible(r)])
            self._cache[(namespace, key, scope)] = cached
        return cached

    def lookup(
        self,
        host: str,
        client_namespace: str,
        service_namespace: str | None,
        labels: Mapping[str, str] | None = None,
    ) -> ConsolidatedRule | None:
        """The merged DR a client in `client_namespace` applies to `host` (pilot's order);
        with the client proxy's `labels`, a workloadSelector DR that selects it first."""
        root = self.config.root_namespace
        # A client in the root namespace starts from the root's private DRs only; the root's
        # exported DRs come last, after the service namespace's (PushContext.destinationRule).
        scope = "private" if client_namespace == root else "local"
        local = self._most_specific(client_namespace, host, scope)
        if local:
            return applicable(local, labels, client_namespace)
        for owner in (service_namespace, root):
            if owner is None or (owner == client_namespace and owner != root):
                continue
            exported = [
                e
                for e in self._most_specific(owner, host, "exported")
                if e.visible_to(client_namespace, owner)
            ]
            if exported:
                return applicable(exported, labels, client_namespace)
        return None

    def matching(self, host: str) -> list[DestinationRule]:
        """Every DR in any namespace whose host covers `host` (for "seen elsewhere" notes)."""
        if is_wildcard(host):
            keys = [k for k in self._namespaces_of if is_wildcard(k) and matches(host, k)]
        elif len(self._wildcards) <= 32:
            # Few wildcard DR hosts (the usual case): test each against the host.
            keys = [host, *(k for k in self._wildcards if matches(host, k))]
        else:
            # The wildcards that cover a plain host are `*` followed by one of its suffixes:
            # look those up instead of scanning every namespace for every host.
            keys = [host, *("*" + host[i:] for i in range(len(host) + 1))]
        out: list[DestinationRule] = []
        for key in keys:
            table = self._wild if is_wildcard(key) else self._exact
            for namespace in self._namespaces_of.get(key, ()):
                out += table[namespace].get(key, [])
        return out

    def exact_hosts(self) -> set[str]:
        return {host for table in self._exact.values() for host in table}

    def hosts_for(self, rule: DestinationRule, known_hosts: set[str]) -> set[str]:
        """The hosts a DR can affect: its own, or every known host its wildcard covers."""
        host = self.resolved_host(rule)
        if not is_wildcard(host):
            return {host}
        return {h for h in known_hosts if matches(h, host)}


def merged_policy_findings(host: str, rule: ConsolidatedRule) -> list[Finding]:
    """MergedPolicyIgnored: a merged DestinationRule whose top-level trafficPolicy is dropped.

    pilot/pkg/model/destination_rule.go mergeDestinationRule: when DRs of one namespace for
    one host merge, the later one's subsets are added but its top-level trafficPolicy is kept
    only if no earlier one has one; so every field it sets that the policy in force does not
    set the same way is lost."""
    keeper = rule.policy_rule
    if keeper is None:
        return []
    in_force = _as_stored(keeper)
    out = []
    for dr in rule.rules:
        policy = _as_stored(dr)
        if dr is keeper or not policy:
            continue
        lost = [k for k, v in policy.items() if v is not None and in_force.get(k) != v]
        if not lost:
            continue
        where = keeper.meta.ref.namespaced_name
        out.append(
            Finding(
                Code.MERGED_POLICY_IGNORED,
                f"{dr.meta.ref}: its top-level trafficPolicy ({', '.join(lost)}) is dropped: "
                f"it is merged with DestinationRule {where} for {host}, and only the first "
                f"merged DestinationRule's top-level trafficPolicy ({where}'s) is kept; move "
                f"these fields to {where}",
                host=host,
                resource=dr.meta.ref,
                origin=dr.meta.origin,
                path=("spec", "trafficPolicy"),
            )
        )
    return out


def _as_stored(rule: DestinationRule) -> dict[str, Any]:
    """The top-level trafficPolicy as the API server stores it: without the unknown fields
    it prunes (schema.py UnknownField issues)."""
    pruned = [
        issue.path
        for issue in rule.meta.issues
        if issue.code == schema.UNKNOWN and issue.path[:2] == ("spec", "trafficPolicy")
    ]
    if not pruned:  # the common case: nothing to take out, so nothing to copy
        return dict(rule.traffic_policy or {})
    policy: Any = copy.deepcopy(dict(rule.traffic_policy or {}))
    for path in pruned:
        node = policy
        for part in path[2:-1]:
            if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return policy
