"""The fix Istio documents first for a subset policy that is never applied: move it to the
DestinationRule's top-level trafficPolicy ("Destination rules routing evaluation"), where it
applies to all traffic to the host, keeping what port-level settings would otherwise replace."""

from __future__ import annotations

from meshtui.mesh.analysis import HostAnalysis, SubsetAnalysis
from meshtui.mesh.fix import Fix
from meshtui.mesh.fix_context import FixContext
from meshtui.mesh.fix_docs import abridged, child, conflicts, listed, merge, plain, port
from meshtui.mesh.policy import POLICY_FIELDS, PORT_LEVEL_FIELDS

# Fields whose value is one choice (a oneof in Istio's API): a subset's value replaces the
# host's whole. The others (connectionPool, outlierDetection) are merged key by key.
_WHOLE_FIELDS = ("loadBalancer", "tls", "tunnel", "proxyProtocol")


def move_to_host_level(ctx: FixContext, host: HostAnalysis, subset: SubsetAnalysis) -> Fix | None:
    rule = host.rule
    own = subset.own_policy or {}
    if rule is None:
        return None
    dr = subset.destination_rule
    # The top-level trafficPolicy in force is the first merged DR's that has one
    # (pilot/pkg/model destination_rule.go mergeDestinationRule).
    target = rule.policy_rule or dr
    dr_doc = ctx.raw(dr)
    target_doc = dr_doc if target is dr else ctx.raw(target)
    if dr_doc is None or target_doc is None:
        return None
    spec = child(target_doc, "spec", {})
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
        + (f" and to subsets {listed(others)} where they do not set these fields" if others else "")
        + "."
    )
    docs = [target_doc] if target is dr else [target_doc, dr_doc]
    refs = [target] if target is dr else [target, dr]
    return Fix(
        "move the policy to the host level",
        " ".join(notes),
        tuple(ctx.replacing(r, d) for r, d in zip(refs, docs, strict=True)),
    )
