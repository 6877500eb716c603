"""The other fix for a subset policy that is never applied: route traffic to the subset.

Route fixes edit the VirtualService in force for the subset's clients (a header-matched rule
first, the safe variant, then a weight split); a new VirtualService is created only when none
routes the host (a second one for a host is dropped by sidecars:
pilot/pkg/networking/core/httproute.go, "duplicate domain"; istioctl IST0109).
"""

from __future__ import annotations

from collections.abc import Mapping

from meshtui.mesh.analysis import UNNAMED_NAMESPACE, HostAnalysis, SubsetAnalysis
from meshtui.mesh.fix import Fix, FixedResource
from meshtui.mesh.fix_context import API_VERSION, FixContext, Obj
from meshtui.mesh.fix_docs import child, subset_destination
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.resources import ObjectRef, Service, VirtualService

# The header the safe route fix matches on: only requests that carry it reach the subset.
SUBSET_HEADER = "x-subset"


def _virtual_service_in_force(
    ctx: FixContext, host: HostAnalysis, subset: SubsetAnalysis
) -> VirtualService | None:
    """The VirtualService the subset's clients use for the host, as the routing table says:
    a route added there reaches them (one added to another would be dropped for them)."""
    clients = subset.clients
    if ctx.mesh.client_namespace is not None:
        namespace = ctx.mesh.client_namespace
    elif not clients.everyone and clients.names:
        namespace = sorted(clients.names)[0]
    elif host.namespace and host.namespace not in clients.names:
        namespace = host.namespace
    else:
        namespace = UNNAMED_NAMESPACE  # every namespace no resource names
    return ctx.mesh.virtual_service_for(host.host, namespace)


def route_fixes(ctx: FixContext, host: HostAnalysis, subset: SubsetAnalysis) -> list[Fix]:
    domain = ctx.mesh.config.domain
    vs = _virtual_service_in_force(ctx, host, subset)
    if vs is not None and vs.gateway_semantics:
        # The clients' route is a Gateway API route: its backends cannot name a subset.
        return []
    if vs is not None:
        doc = ctx.raw(vs)
        if doc is None:
            return []
        return [
            f
            for f in (
                _header_rule(ctx, host, subset, vs, doc),
                _weight_split(ctx, host, subset, vs, ctx.raw(vs) or {}),
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
    while ctx.mesh.get(ObjectRef("VirtualService", namespace, name)) is not None:
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
                    {**to_service, "weight": 100 - ctx.weight},
                    {**to_subset, "weight": ctx.weight},
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
            f"send {ctx.weight}% of the traffic to the subset",
            f"{where}. {ctx.weight}% of all requests to the host go to subset "
            f"{subset.name} (its policy applies to them), the rest to the whole service "
            f"as before. This moves real traffic: pick the share you want.",
            (FixedResource(weighted),),
        ),
    ]


def _header_rule(
    ctx: FixContext, host: HostAnalysis, subset: SubsetAnalysis, vs: VirtualService, doc: Obj
) -> Fix | None:
    spec = child(doc, "spec", {})
    http = spec.get("http")
    if not isinstance(http, list) or not http:
        return None  # tcp/tls only: no header to match on
    ns = vs.meta.ref.namespace
    domain = ctx.mesh.config.domain
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
        (ctx.replacing(vs, doc),),
    )


def _weight_split(
    ctx: FixContext, host: HostAnalysis, subset: SubsetAnalysis, vs: VirtualService, doc: Obj
) -> Fix | None:
    spec = doc.get("spec") or {}
    ns = vs.meta.ref.namespace
    domain = ctx.mesh.config.domain
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
        (e.get("weight") if len(route) > 1 else 100) or 0 for e in route if isinstance(e, Mapping)
    ]
    if len(old) != len(route) or sum(old) <= 0:
        return None
    # Each destination that has traffic keeps at least 1%, so the weights still total 100.
    kept = sum(1 for w in old if w > 0)
    share = min(ctx.weight, 100 - kept)
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
        f" ({ctx.weight}% asked; lowered to {share}% so that each of the {kept} "
        "destinations there keeps at least 1%)"
        if share != ctx.weight
        else ""
    )
    return Fix(
        f"send {share}% of the traffic to the subset",
        f"Sends {share}% of the traffic of rule {where} of VirtualService "
        f"{vs.meta.ref.namespaced_name} to subset {subset.name}{lowered} (its policy "
        f"applies to it), taken from the destinations there ({'; '.join(taken)}). This "
        f"moves real traffic: pick the share you want.",
        (ctx.replacing(vs, doc),),
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
