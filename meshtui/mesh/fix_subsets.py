"""Fixes for a subset that is named but not defined (UndefinedSubset: the nearest defined
name, the whole service, or defining it where the route's clients look it up) and for one that
selects no pod (SubsetSelectsNothing: the labels the service's pods really carry)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from meshtui.mesh.analysis import HostAnalysis, Mesh, SubsetAnalysis
from meshtui.mesh.destination_rules import ConsolidatedRule
from meshtui.mesh.findings import Finding, nearest_name
from meshtui.mesh.fix import Fix, FixedResource
from meshtui.mesh.fix_context import API_VERSION, FixContext, Obj
from meshtui.mesh.fix_docs import child, listed, node_at
from meshtui.mesh.resources import DestinationRule, ObjectRef
from meshtui.mesh.routes import RouteRef
from meshtui.mesh.selection import closest_labels


def _route_of(host: HostAnalysis, finding: Finding) -> RouteRef | None:
    for r in host.routes:
        if (
            r.subset == finding.subset
            and (r.delegate or r.virtual_service) == finding.resource
            and r.path == finding.path
        ):
            return r
    return None


def _client_views(ctx: FixContext, host: HostAnalysis, r: RouteRef, finding: Finding) -> list[str]:
    """The client namespaces whose DestinationRule lookups the route's clients make."""
    clients = finding.clients
    if clients is not None and not clients.everyone and clients.names:
        return sorted(clients.names)  # the analysis named the client namespaces
    vs = ctx.mesh.routes.get(r.virtual_service)
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


def undefined_subset_fixes(ctx: FixContext, host: HostAnalysis, finding: Finding) -> list[Fix]:
    r = _route_of(host, finding)
    name = finding.subset or ""
    if r is None:
        return []
    views = _client_views(ctx, host, r, finding)
    lookup = ctx.mesh.destination_rules.lookup
    out: list[Fix] = []
    define = _define_subset(ctx, host, name, views)
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
        fix = _edit_destination(
            ctx,
            finding,
            lambda d, t=target: d.__setitem__("subset", t),
            f"route to subset {target} instead",
            f"{said.capitalize()}The route sends this traffic to subset {target}, which "
            f"the DestinationRule in force defines, instead of {name}; serves every client "
            f"of the route ({clients}).",
        )
        out += [fix] if fix else []
    fix = _edit_destination(
        ctx,
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
    ctx: FixContext, finding: Finding, edit: Callable[[Obj], object], title: str, description: str
) -> Fix | None:
    if finding.resource is None:
        return None
    vs = ctx.mesh.routes.get(finding.resource)
    doc = ctx.raw(vs) if vs is not None else None
    if vs is None or doc is None:
        return None
    node = node_at(doc, finding.path)
    if isinstance(node, dict) and isinstance(node.get("destination"), dict):
        node = node["destination"]
    if not isinstance(node, dict) or node.get("subset") != finding.subset:
        return None
    edit(node)
    return Fix(title, description, (ctx.replacing(vs, doc),))


def _define_subset(ctx: FixContext, host: HostAnalysis, name: str, views: list[str]) -> Fix | None:
    labels, picked = _subset_labels(host, name)
    if labels is None:
        return None
    lookup = ctx.mesh.destination_rules.lookup
    targets: dict[ObjectRef, tuple[DestinationRule | None, Obj, list[str]]] = {}
    for ns in views:
        rule: ConsolidatedRule | None = lookup(host.host, ns, host.namespace)
        if rule is not None and any(s.name == name for s, _ in rule.subsets):
            continue
        if rule is not None and rule.rules:
            dr = rule.rules[0]
            if dr.meta.ref not in targets:
                doc = ctx.raw(dr)
                if doc is None:
                    return None
                targets[dr.meta.ref] = (dr, doc, [])
            targets[dr.meta.ref][2].append(ns)
            continue
        # No DR for these clients at all: a new one in their namespace, which is the
        # first their lookup tries (PushContext.destinationRule).
        ref = ObjectRef("DestinationRule", ns, _free_name(ctx.mesh, host, ns))
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
        subsets = child(child(doc, "spec", {}), "subsets", [])
        subsets.append({"name": name, "labels": dict(labels)})
        resources.append(ctx.replacing(dr, doc) if dr else FixedResource(doc))
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


def select_workloads(ctx: FixContext, host: HostAnalysis, subset: SubsetAnalysis) -> Fix | None:
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
    doc = ctx.raw(dr)
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
        (ctx.replacing(dr, doc),),
    )


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
