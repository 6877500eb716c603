"""Suggested fixes for findings, each verified by re-analysis before it is offered.

A fix is the whole objects as they would be after it (ready for `kubectl apply`), each naming
the existing resource it replaces. Before a fix is offered, it is applied to an in-memory copy
of the resources that matter for the host (mesh/fix_verify.py: a small :class:`Mesh`, the
fixed objects read back with :func:`parse_object`) and the copy is analysed again: the fix is
kept only if the finding
is gone, no new error or SubsetPolicyNeverApplied appears, no second VirtualService claims the
host, and, for a dormant subset policy, that policy is in force afterwards on every port where
the subset would have used it.

For a subset policy that is never applied, Istio documents two fixes ("Destination rules
routing evaluation"): move the policy to the DestinationRule's top-level trafficPolicy, or
route traffic to the subset. Route fixes edit the VirtualService in force for the host (a
header-matched rule first, the safe variant, then a weight split); a new VirtualService is
created only when none routes the host (a second one for a host is dropped by sidecars:
pilot/pkg/networking/core/httproute.go, "duplicate domain"; istioctl IST0109).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from meshtui.mesh.analysis import UNNAMED_NAMESPACE, HostAnalysis, Mesh, SubsetAnalysis
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import Code, Finding, nearest_name
from meshtui.mesh.fix import Fix, FixedResource
from meshtui.mesh.fix_docs import (
    abridged,
    applyable,
    conflicts,
    listed,
    merge,
    node_at,
    plain,
    port,
    subset_destination,
)
from meshtui.mesh.fix_verify import Verifier, claimed_hosts
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.policy import POLICY_FIELDS, PORT_LEVEL_FIELDS
from meshtui.mesh.resources import (
    DestinationRule,
    ObjectRef,
    Resource,
    Service,
    VirtualService,
)
from meshtui.mesh.routes import RouteRef
from meshtui.mesh.routing import claiming
from meshtui.mesh.selection import closest_labels

API_VERSION = "networking.istio.io/v1"
# The header the safe route fix matches on: only requests that carry it reach the subset.
SUBSET_HEADER = "x-subset"
DEFAULT_WEIGHT = 10
# Fields whose value is one choice (a oneof in Istio's API): a subset's value replaces the
# host's whole. The others (connectionPool, outlierDetection) are merged key by key.
_WHOLE_FIELDS = ("loadBalancer", "tls", "tunnel", "proxyProtocol")

Obj = dict[str, Any]
RawLookup = Callable[[Resource], Mapping[str, Any] | None]


class Fixer:
    """Fixes for the findings of one mesh; indexes are built once, on the first fix asked."""

    def __init__(
        self, mesh: Mesh, raw: RawLookup | None = None, weight: int = DEFAULT_WEIGHT
    ) -> None:
        self.mesh = mesh
        self._raw_lookup = raw or (lambda r: r.meta.raw)
        if not 1 <= weight <= 99:
            raise ValueError(f"--fix-weight {weight}: the share must be between 1 and 99 percent")
        self.weight = weight
        self._raws: dict[ObjectRef, Obj | None] = {}

    # -- lookups -------------------------------------------------------------------------

    def raw(self, resource: Resource) -> Obj | None:
        """The resource as read (a deep copy to edit), or None when the source has none."""
        ref = resource.meta.ref
        if ref not in self._raws:
            try:
                found = self._raw_lookup(resource)
            except (OSError, ValueError):
                found = None
            self._raws[ref] = applyable(found) if isinstance(found, Mapping) else None
        found = self._raws[ref]
        return copy.deepcopy(found) if found is not None else None

    def virtual_services_for(self, host: str) -> list[VirtualService]:
        """Mesh-bound VirtualServices whose `hosts` claim `host`, the one in force first."""
        domain = self.mesh.config.domain
        found = [
            vs
            for vs in claiming(self.mesh.routes, host)
            # One generated from a Gateway API route is not editable.
            if not vs.gateway_semantics and claimed_hosts(vs, domain)
        ]
        # pilot's sortMergedVirtualServicesByCreationTime: the oldest wins a host.
        return sorted(found, key=_vs_order)

    # -- the entry point -----------------------------------------------------------------

    def fixes_for(self, finding: Finding) -> list[Fix]:
        """The verified fixes for a finding, the safest first; [] when none passes."""
        if not finding.host or not finding.subset:
            return []
        host = self.mesh.analyze_host(finding.host)
        if host is None:
            return []
        candidates: list[Fix] = []
        subset = host.subset(finding.subset)
        if finding.code is Code.SUBSET_POLICY_NEVER_APPLIED and subset is not None:
            candidates += self._route_fixes(host, subset)
            move = self._move_to_host_level(host, subset)
            candidates += [move] if move else []
        elif finding.code is Code.UNDEFINED_SUBSET:
            candidates += self._undefined_subset_fixes(host, finding)
        elif finding.code is Code.SUBSET_SELECTS_NOTHING and subset is not None:
            fix = self._select_workloads(host, subset)
            candidates += [fix] if fix else []
        verifier = Verifier(self.mesh, host, finding, self.virtual_services_for(host.host))
        return [fix for fix in candidates if verifier.passes(fix)]

    # -- SubsetPolicyNeverApplied: move the policy to the host level ----------------------

    def _move_to_host_level(self, host: HostAnalysis, subset: SubsetAnalysis) -> Fix | None:
        rule = host.rule
        own = subset.own_policy or {}
        if rule is None:
            return None
        dr = subset.destination_rule
        # The top-level trafficPolicy in force is the first merged DR's that has one
        # (pilot/pkg/model destination_rule.go mergeDestinationRule).
        target = rule.policy_rule or dr
        dr_doc = self.raw(dr)
        target_doc = dr_doc if target is dr else self.raw(target)
        if dr_doc is None or target_doc is None:
            return None
        spec = target_doc.setdefault("spec", {})
        top = spec.get("trafficPolicy")
        if not isinstance(top, dict):  # absent, or written `trafficPolicy: null`
            top = spec["trafficPolicy"] = {}
        notes: list[str] = []
        moved = [k for k in POLICY_FIELDS if own.get(k) is not None]
        changed: list[str] = []
        for name in moved:
            if top.get(name) is not None:
                if name in _WHOLE_FIELDS:
                    if top[name] != own[name]:
                        changed.append(f"{name} {abridged(top[name])} → {abridged(own[name])}")
                    top[name] = plain(own[name])
                else:
                    changed += conflicts(top[name], own[name], name)
                    top[name] = merge(top[name], own[name])
            else:
                top[name] = plain(own[name])
        # A top-level port entry replaces the four port-level fields on its port, so each
        # moved one also goes into every entry (pilot's GetPortLevelTrafficPolicy).
        own_ports = {port(e): e for e in own.get("portLevelSettings") or ()}
        entries = top.get("portLevelSettings") or []
        shadowed: list[str] = []
        for entry in entries:
            number = port(entry)
            if number in own_ports or not isinstance(entry, dict):
                continue
            added = []
            for name in moved:
                if name not in PORT_LEVEL_FIELDS:
                    continue
                if entry.get(name) is not None and name not in _WHOLE_FIELDS:
                    changed += conflicts(entry[name], own[name], f"port {number} {name}")
                    entry[name] = merge(entry[name], own[name])
                else:
                    if entry.get(name) is not None and entry[name] != own[name]:
                        changed.append(
                            f"port {number} {name} {abridged(entry[name])} → {abridged(own[name])}"
                        )
                    entry[name] = plain(own[name])
                added.append(name)
            if added:
                shadowed.append(f"{number} ({', '.join(added)})")
        # The subset's own port entries: merged into the host's entry for that port, or a new
        # entry that starts from what the host level puts in force there (else the new entry
        # would drop the host's fields on that port for all traffic).
        for number, own_entry in own_ports.items():
            fields = {k: v for k, v in own_entry.items() if k != "port" and v is not None}
            existing = next((e for e in entries if port(e) == number), None)
            if existing is None:
                existing = {"port": {"number": number}}
                existing.update({k: plain(top[k]) for k in PORT_LEVEL_FIELDS if top.get(k)})
                entries.append(existing)
            for name, value in fields.items():
                if existing.get(name) is not None and existing[name] != value:
                    changed.append(
                        f"port {number} {name} {abridged(existing[name])} → {abridged(value)}"
                    )
                existing[name] = plain(value)
        if entries:
            top["portLevelSettings"] = entries
        # The subset keeps its name and labels; its policy now lives at the host level.
        dr_subsets = dr_doc.get("spec", {}).get("subsets") or []
        for s in dr_subsets:
            if isinstance(s, dict) and s.get("name") == subset.name:
                s.pop("trafficPolicy", None)
                break
        where = dr.meta.ref.namespaced_name
        fields = ", ".join(moved + (["portLevelSettings"] if own_ports else []))
        notes.append(
            f"Moves subset {subset.name}'s trafficPolicy ({fields}) to the top-level "
            f"trafficPolicy of DestinationRule {target.meta.ref.namespaced_name}"
            + (f" and removes it from the subset in {where}." if target is not dr else ".")
        )
        if target is not dr:
            notes.append(
                f"The top-level trafficPolicy in force for the host comes from "
                f"{target.meta.ref.namespaced_name} (the first merged DestinationRule that has "
                f"one), so the fields go there."
            )
        if shadowed:
            notes.append(
                "Also sets them in the portLevelSettings entry of port "
                + listed(shadowed)
                + ", which would otherwise replace them on that port (port-level settings are "
                "not inherited)."
            )
        if changed:
            notes.append("Changes existing values: " + "; ".join(changed) + ".")
        kept = [k for k in moved if k not in _WHOLE_FIELDS and k in (target.traffic_policy or {})]
        if kept:
            notes.append(
                f"Keeps the rest of the host's {', '.join(kept)} (merged key by key, the "
                "subset's values win)."
            )
        others = [
            s.name
            for s in host.subsets
            if s.name != subset.name
            and any((s.own_policy or {}).get(k) is None for k in moved)
            and s.routed
        ]
        notes.append(
            "Now also applies to traffic without a subset"
            + (
                f" and to subsets {listed(others)} where they do not set these fields"
                if others
                else ""
            )
            + "."
        )
        docs = [target_doc] if target is dr else [target_doc, dr_doc]
        refs = [target] if target is dr else [target, dr]
        return Fix(
            "move the policy to the host level",
            " ".join(notes),
            tuple(self._replacing(r, d) for r, d in zip(refs, docs, strict=True)),
        )

    def _replacing(self, resource: Resource, doc: Obj) -> FixedResource:
        return FixedResource(doc, resource.meta.ref, resource.meta.origin, self.raw(resource))

    # -- SubsetPolicyNeverApplied: route traffic to the subset ----------------------------

    def _virtual_service_in_force(
        self, host: HostAnalysis, subset: SubsetAnalysis
    ) -> VirtualService | None:
        """The VirtualService the subset's clients use for the host, as the routing table says:
        a route added there reaches them (one added to another would be dropped for them)."""
        clients = subset.clients
        if self.mesh.client_namespace is not None:
            namespace = self.mesh.client_namespace
        elif not clients.everyone and clients.names:
            namespace = sorted(clients.names)[0]
        elif host.namespace and host.namespace not in clients.names:
            namespace = host.namespace
        else:
            namespace = UNNAMED_NAMESPACE  # every namespace no resource names
        return self.mesh.virtual_service_for(host.host, namespace)

    def _route_fixes(self, host: HostAnalysis, subset: SubsetAnalysis) -> list[Fix]:
        domain = self.mesh.config.domain
        vs = self._virtual_service_in_force(host, subset)
        if vs is not None and vs.gateway_semantics:
            # The clients' route is a Gateway API route: its backends cannot name a subset.
            return []
        if vs is not None:
            doc = self.raw(vs)
            if doc is None:
                return []
            return [
                f
                for f in (
                    self._header_rule(host, subset, vs, doc),
                    self._weight_split(host, subset, vs, self.raw(vs) or {}),
                )
                if f is not None
            ]
        # No VirtualService routes the host: a new one, in the service's namespace.
        namespace = host.namespace or subset.destination_rule.meta.ref.namespace
        base = (
            host.service.meta.ref.name
            if isinstance(host.service, Service)
            else subset.destination_rule.meta.ref.name
        )
        name = base
        n = 1
        while self.mesh.get(ObjectRef("VirtualService", namespace, name)) is not None:
            n += 1
            name = f"{base}-{n}"
        written = host.host
        if host.host == resolve_host(base, namespace, domain):
            written = base

        def new_vs(http: list[Obj]) -> Obj:
            return {
                "apiVersion": API_VERSION,
                "kind": "VirtualService",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"hosts": [written], "http": http},
            }

        to_subset = {"destination": {"host": written, "subset": subset.name}}
        to_service = {"destination": {"host": written}}
        header = new_vs(
            [
                {
                    "name": f"to-{subset.name}",
                    "match": [{"headers": {SUBSET_HEADER: {"exact": subset.name}}}],
                    "route": [to_subset],
                },
                {"name": "default", "route": [to_service]},
            ]
        )
        weighted = new_vs(
            [
                {
                    "name": "default",
                    "route": [
                        {**to_service, "weight": 100 - self.weight},
                        {**to_subset, "weight": self.weight},
                    ],
                }
            ]
        )
        where = f"No VirtualService routes {host.host}: creates {namespace}/{name}"
        return [
            Fix(
                f"route requests with header {SUBSET_HEADER}: {subset.name} to the subset",
                f"{where}. Requests with header {SUBSET_HEADER}: {subset.name} go to subset "
                f"{subset.name} (its policy applies to them); all other traffic goes to the "
                f"whole service as before.",
                (FixedResource(header),),
            ),
            Fix(
                f"send {self.weight}% of the traffic to the subset",
                f"{where}. {self.weight}% of all requests to the host go to subset "
                f"{subset.name} (its policy applies to them), the rest to the whole service "
                f"as before. This moves real traffic: pick the share you want.",
                (FixedResource(weighted),),
            ),
        ]

    def _header_rule(
        self, host: HostAnalysis, subset: SubsetAnalysis, vs: VirtualService, doc: Obj
    ) -> Fix | None:
        spec = doc.setdefault("spec", {})
        http = spec.get("http")
        if not isinstance(http, list) or not http:
            return None  # tcp/tls only: no header to match on
        ns = vs.meta.ref.namespace
        domain = self.mesh.config.domain
        destination = subset_destination(doc, host.host, subset.name, ns, domain)
        names = {r.get("name") for r in http if isinstance(r, Mapping)}
        name = f"to-{subset.name}"
        while name in names:
            name += "-header"
        # First in the list: rules are tried in order, so no earlier match can take these
        # requests, and only requests that carry the header are affected.
        http.insert(
            0,
            {
                "name": name,
                "match": [{"headers": {SUBSET_HEADER: {"exact": subset.name}}}],
                "route": [{"destination": destination}],
            },
        )
        return Fix(
            f"route requests with header {SUBSET_HEADER}: {subset.name} to the subset",
            f"Adds rule {name!r} before the other rules of VirtualService "
            f"{vs.meta.ref.namespaced_name}: requests with header {SUBSET_HEADER}: "
            f"{subset.name} go to subset {subset.name} (its policy applies to them); all other "
            f"traffic is routed as before.",
            (self._replacing(vs, doc),),
        )

    def _weight_split(
        self, host: HostAnalysis, subset: SubsetAnalysis, vs: VirtualService, doc: Obj
    ) -> Fix | None:
        spec = doc.get("spec") or {}
        ns = vs.meta.ref.namespace
        domain = self.mesh.config.domain
        rule = None
        where = ""
        for kind in ("http", "tcp", "tls"):
            rules = [r for r in spec.get(kind) or () if isinstance(r, dict)]
            # The rule that carries the default traffic: the catch-all, else the first that
            # routes to the host.
            catch_all = [r for r in rules if not r.get("match") and r.get("route")]
            routing = [
                r
                for r in rules
                if any(
                    isinstance(e, Mapping)
                    and resolve_host(str((e.get("destination") or {}).get("host", "")), ns, domain)
                    == host.host
                    for e in r.get("route") or ()
                )
            ]
            pick = (catch_all or routing or [None])[0]
            if pick is not None:
                rule = pick
                label = f" {pick['name']!r}" if pick.get("name") else ""
                where = f"{kind}[{spec[kind].index(pick)}]{label}"
                break
        if rule is None or not isinstance(rule.get("route"), list):
            return None
        route = rule["route"]
        old = [
            (e.get("weight") if len(route) > 1 else 100) or 0
            for e in route
            if isinstance(e, Mapping)
        ]
        if len(old) != len(route) or sum(old) <= 0:
            return None
        # Each destination that has traffic keeps at least 1%, so the weights still total 100.
        kept = sum(1 for w in old if w > 0)
        share = min(self.weight, 100 - kept)
        if share < 1:
            return None
        new = _scale([w for w in old], 100 - share)
        destination = subset_destination(doc, host.host, subset.name, ns, domain)
        taken = []
        for entry, before, after in zip(route, old, new, strict=True):
            entry["weight"] = after
            d = entry.get("destination") or {}
            label = str(d.get("host", "")) + (f" {d['subset']}" if d.get("subset") else "")
            taken.append(f"{label} {before} → {after}")
        route.append({"destination": destination, "weight": share})
        lowered = (
            f" ({self.weight}% asked; lowered to {share}% so that each of the {kept} "
            "destinations there keeps at least 1%)"
            if share != self.weight
            else ""
        )
        return Fix(
            f"send {share}% of the traffic to the subset",
            f"Sends {share}% of the traffic of rule {where} of VirtualService "
            f"{vs.meta.ref.namespaced_name} to subset {subset.name}{lowered} (its policy "
            f"applies to it), taken from the destinations there ({'; '.join(taken)}). This "
            f"moves real traffic: pick the share you want.",
            (self._replacing(vs, doc),),
        )

    # -- UndefinedSubset ----------------------------------------------------------------

    def _route_of(self, host: HostAnalysis, finding: Finding) -> RouteRef | None:
        for r in host.routes:
            if (
                r.subset == finding.subset
                and (r.delegate or r.virtual_service) == finding.resource
                and r.path == finding.path
            ):
                return r
        return None

    def _client_views(self, host: HostAnalysis, r: RouteRef, finding: Finding) -> list[str]:
        """The client namespaces whose DestinationRule lookups the route's clients make."""
        clients = finding.clients
        if clients is not None and not clients.everyone and clients.names:
            return sorted(clients.names)  # the analysis named the client namespaces
        vs = self.mesh.routes.get(r.virtual_service)
        own = r.virtual_service.namespace
        export = set(vs.export_to) if vs and vs.export_to else {"*"}
        views = []
        if export & {"*", ".", own} or not r.mesh_bound:
            views.append(own)
        # Exported further, its other clients use the service namespace's DR (their own
        # namespace's DR, when they have one, is not known offline).
        if (export - {".", own, "~"}) and host.namespace and host.namespace not in views:
            views.append(host.namespace)
        return views or [own]

    def _undefined_subset_fixes(self, host: HostAnalysis, finding: Finding) -> list[Fix]:
        r = self._route_of(host, finding)
        name = finding.subset or ""
        if r is None:
            return []
        views = self._client_views(host, r, finding)
        lookup = self.mesh.destination_rules.lookup
        out: list[Fix] = []
        define = self._define_subset(host, name, views)
        # Redirect the route: to a subset every view defines, or to the whole service.
        rules = [lookup(host.host, ns, host.namespace) for ns in views]
        common: list[str] | None = None
        for rule in rules:
            names = [s.name for s, _ in rule.subsets] if rule else []
            common = names if common is None else [n for n in common if n in names]
        clients = "clients in namespace" + ("s " if len(views) > 1 else " ") + listed(views)
        # The nearest name first: a misspelt subset (canery) most likely means canary, and
        # routing to another subset (the first, often the stable one) would hide the bug.
        near = nearest_name(name, common or [])
        for target in [near] if near else (common or [])[:1]:
            said = f"did you mean {target}? " if target == near else ""
            fix = self._edit_destination(
                finding,
                lambda d, t=target: d.__setitem__("subset", t),
                f"route to subset {target} instead",
                f"{said.capitalize()}The route sends this traffic to subset {target}, which "
                f"the DestinationRule in force defines, instead of {name}; serves every client "
                f"of the route ({clients}).",
            )
            out += [fix] if fix else []
        fix = self._edit_destination(
            finding,
            lambda d: d.pop("subset", None),
            "route to the whole service instead",
            f"The route sends this traffic to all of the service's pods (host-level policy) "
            f"instead of subset {name}; serves every client of the route ({clients}).",
        )
        out += [fix] if fix else []
        if define is not None:  # first, unless the route names a misspelt subset
            misspelt = bool(out) and out[0].title == f"route to subset {near} instead"
            out.insert(1 if misspelt else 0, define)
        return out

    def _edit_destination(
        self, finding: Finding, edit: Callable[[Obj], object], title: str, description: str
    ) -> Fix | None:
        if finding.resource is None:
            return None
        vs = self.mesh.routes.get(finding.resource)
        doc = self.raw(vs) if vs is not None else None
        if vs is None or doc is None:
            return None
        node = node_at(doc, finding.path)
        if isinstance(node, dict) and isinstance(node.get("destination"), dict):
            node = node["destination"]
        if not isinstance(node, dict) or node.get("subset") != finding.subset:
            return None
        edit(node)
        return Fix(title, description, (self._replacing(vs, doc),))

    def _define_subset(self, host: HostAnalysis, name: str, views: list[str]) -> Fix | None:
        labels, picked = _subset_labels(host, name)
        if labels is None:
            return None
        lookup = self.mesh.destination_rules.lookup
        targets: dict[ObjectRef, tuple[DestinationRule | None, Obj, list[str]]] = {}
        for ns in views:
            rule: ConsolidatedRule | None = lookup(host.host, ns, host.namespace)
            if rule is not None and any(s.name == name for s, _ in rule.subsets):
                continue
            if rule is not None and rule.rules:
                dr = rule.rules[0]
                if dr.meta.ref not in targets:
                    doc = self.raw(dr)
                    if doc is None:
                        return None
                    targets[dr.meta.ref] = (dr, doc, [])
                targets[dr.meta.ref][2].append(ns)
                continue
            # No DR for these clients at all: a new one in their namespace, which is the
            # first their lookup tries (PushContext.destinationRule).
            ref = ObjectRef("DestinationRule", ns, _free_name(self.mesh, host, ns))
            if ref not in targets:
                doc = {
                    "apiVersion": API_VERSION,
                    "kind": "DestinationRule",
                    "metadata": {"name": ref.name, "namespace": ns},
                    "spec": {"host": host.host},
                }
                targets[ref] = (None, doc, [])
            targets[ref][2].append(ns)
        if not targets:
            return None
        resources = []
        said = []
        for ref, (dr, doc, namespaces) in targets.items():
            subsets = doc.setdefault("spec", {}).setdefault("subsets", [])
            subsets.append({"name": name, "labels": dict(labels)})
            resources.append(self._replacing(dr, doc) if dr else FixedResource(doc))
            verb = "adds it to" if dr else "creates"
            said.append(
                f"{verb} DestinationRule {ref.namespaced_name} (in force for clients in "
                f"namespace{'s' if len(namespaces) > 1 else ''} {listed(namespaces)})"
            )
        label_text = ", ".join(f"{k}={v}" for k, v in labels.items())
        selects = f"selects {listed(picked)}" if picked else "the pods it selects are not known"
        return Fix(
            f"define subset {name}",
            f"Defines subset {name} with labels {label_text} ({selects}): " + "; ".join(said) + ".",
            tuple(resources),
        )

    # -- SubsetSelectsNothing --------------------------------------------------------------

    def _select_workloads(self, host: HostAnalysis, subset: SubsetAnalysis) -> Fix | None:
        """The subset's labels as the service's pods carry them: the nearest spelling of its
        keys and values first (a typo: `verison: v2` is `version: v2`), else the values in
        use for its keys."""
        workloads = host.workloads or ()
        close = closest_labels(subset.labels, [w.labels for w in workloads])
        seen: list[dict[str, str]] = [close] if close else []
        for w in workloads:
            labels = {k: v for k, v in w.labels.items() if k in subset.labels}
            if labels and labels not in seen:
                seen.append(labels)
        dr = subset.destination_rule
        doc = self.raw(dr)
        if not seen or doc is None:
            return None
        for s in doc.get("spec", {}).get("subsets") or []:
            if isinstance(s, dict) and s.get("name") == subset.name:
                if close:  # the misspelt keys go: they select nothing
                    s["labels"] = dict(close)
                else:
                    s["labels"] = {**(s.get("labels") or {}), **seen[0]}
                break
        others = ["; ".join(f"{k}={v}" for k, v in s.items()) for s in seen[1:]]
        label_text = ", ".join(f"{k}={v}" for k, v in seen[0].items())
        return Fix(
            "select existing workloads",
            f"Subset {subset.name} selects the workloads labelled {label_text} instead"
            + (f"; other values in use: {', '.join(others)}" if others else "")
            + ".",
            (self._replacing(dr, doc),),
        )


def _scale(weights: list[int], total: int) -> list[int]:
    """Weights scaled to sum to `total`, every positive weight staying at least 1."""
    s = sum(weights)
    out = [max(1, w * total // s) if w > 0 else 0 for w in weights]
    # Hand the rounding remainder to the largest weights first.
    order = sorted(range(len(out)), key=lambda i: -weights[i])
    i = 0
    while sum(out) != total and order:
        j = order[i % len(order)]
        if sum(out) < total:
            out[j] += 1
        elif out[j] > 1:
            out[j] -= 1
        i += 1
        if i > 10 * len(out) + 200:
            break
    return out


def _subset_labels(host: HostAnalysis, name: str) -> tuple[dict[str, str] | None, list[str]]:
    """Labels for a new subset `name`: a label of the service's workloads whose value is the
    name (`version` first). None when the workloads are known and none carries one."""
    if host.workloads is None:
        return {"version": name}, []
    keys: Counter[str] = Counter()
    for w in host.workloads:
        for k, v in w.labels.items():
            if v == name:
                keys[k] += 1
    if not keys:
        return None, []
    key = "version" if "version" in keys else sorted(keys, key=lambda k: (-keys[k], k))[0]
    picked = [str(w.meta.ref) for w in host.workloads if w.labels.get(key) == name]
    return {key: name}, picked


def _free_name(mesh: Mesh, host: HostAnalysis, namespace: str) -> str:
    base = host.host.split(".")[0] or "rule"
    name = base
    n = 1
    while mesh.get(ObjectRef("DestinationRule", namespace, name)) is not None:
        n += 1
        name = f"{base}-{n}"
    return name


def _vs_order(vs: VirtualService) -> tuple[str, str, str]:
    return (vs.meta.creation_timestamp, vs.meta.ref.name, vs.meta.ref.namespace)


def fixes_for(
    finding: Finding, mesh: Mesh, raw: RawLookup | None = None, weight: int = DEFAULT_WEIGHT
) -> list[Fix]:
    """The verified fixes for one finding (a :class:`Fixer` serves many at once)."""
    return Fixer(mesh, raw, weight).fixes_for(finding)
