"""The rules a proxy has for a host, delegates merged in (pilot/pkg/model virtualservice.go
mergeHTTPRoutes): a root rule that delegates is replaced by each of the delegate's rules, whose
matches must narrow the root rule's (hasConflict) and are completed by them
(mergeHTTPMatchRequest); a delegate rule without timeout, retries, fault, mirror or rewrite
takes the root rule's. A missing delegate, or one not exported to the root's namespace, drops
the root rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import Destination, ObjectRef, Route, VirtualService


class VirtualServices(Protocol):
    """Where a root's delegates are looked up (the route index)."""

    def get(self, ref: ObjectRef) -> VirtualService | None: ...


def exported_to(vs: VirtualService, namespace: str) -> bool:
    """Whether `namespace` sees `vs` (a delegate is used only by roots it is exported to)."""
    own = vs.meta.ref.namespace
    return not vs.export_to or any(
        e == "*" or e == namespace or (e == "." and own == namespace) for e in vs.export_to
    )


@frozen
class ProxyRule:
    """A rule as the client's proxy has it: a root rule, or a delegate's merged into its root."""

    virtual_service: VirtualService
    route: Route
    matches: tuple[Mapping[str, Any], ...]
    destinations: tuple[Destination, ...]
    mirrors: tuple[Destination, ...]
    actions: Mapping[str, Any]
    namespace: str  # destinations resolve against the namespace they were written in
    name: str = ""
    delegate: ObjectRef | None = None
    delegate_route: Route | None = None
    problem: str = ""  # why the proxy has no such rule (a delegate that is missing)

    @property
    def label(self) -> str:
        """`http[0]`, or a Gateway API route's `rules[0]` (meshtui.mesh.objects Route.label)."""
        return self.route.label

    @property
    def delegate_label(self) -> str:
        r = self.delegate_route
        return r.label if r else ""

    @property
    def written_in(self) -> ObjectRef:
        """The resource the root rule is written in: the Gateway API route pilot generated
        the VirtualService from, else the VirtualService."""
        return self.route.source or self.virtual_service.meta.ref


def _string_conflict(root: Any, leaf: Any) -> bool:
    """pilot's stringMatchConflict: the delegate's condition must narrow the root's."""
    if not isinstance(root, Mapping) or not isinstance(leaf, Mapping):
        return False
    if root.get("regex") or leaf.get("regex"):
        return bool(
            leaf.get("regex") or leaf.get("prefix") or leaf.get("exact")
            if root.get("regex")
            else root.get("prefix") or root.get("exact")
        )
    if root.get("exact"):
        return bool(leaf.get("prefix")) or leaf.get("exact") != root["exact"]
    if root.get("prefix"):
        if leaf.get("prefix"):
            return not str(leaf["prefix"]).startswith(str(root["prefix"]))
        if leaf.get("exact"):
            return not str(leaf["exact"]).startswith(str(root["prefix"]))
    return True


def _has_conflict(root: Mapping[str, Any], leaf: Mapping[str, Any]) -> bool:
    """pilot's hasConflict (virtualservice.go): a delegate block that cannot narrow a root one."""
    for key in ("uri", "scheme", "method", "authority"):
        if _string_conflict(root.get(key), leaf.get(key)):
            return True
    for key in ("headers", "withoutHeaders", "queryParams"):
        theirs = root.get(key) or {}
        for name, spec in (leaf.get(key) or {}).items():
            if _string_conflict(theirs.get(name), spec):
                return True
    if bool(root.get("ignoreUriCase")) != bool(leaf.get("ignoreUriCase")):
        return True
    if root.get("port") and leaf.get("port") and root["port"] != leaf["port"]:
        return True
    if root.get("sourceNamespace") and leaf.get("sourceNamespace") != root["sourceNamespace"]:
        return True
    labels = root.get("sourceLabels") or {}
    if any(k in labels and labels[k] != v for k, v in (leaf.get("sourceLabels") or {}).items()):
        return True
    root_gw, leaf_gw = root.get("gateways") or [], leaf.get("gateways") or []
    return bool(root_gw and leaf_gw and not set(leaf_gw) <= set(root_gw))


def _merge_match(root: Mapping[str, Any], leaf: Mapping[str, Any]) -> dict[str, Any]:
    """pilot's mergeHTTPMatchRequest: the delegate's block, completed by the root's."""
    out = dict(leaf)
    for key in ("uri", "scheme", "method", "authority", "port", "sourceNamespace"):
        if not out.get(key) and root.get(key):
            out[key] = root[key]
    for key in ("headers", "withoutHeaders", "queryParams", "sourceLabels"):
        if root.get(key) or leaf.get(key):
            out[key] = {**(root.get(key) or {}), **(leaf.get(key) or {})}
    if not out.get("gateways") and root.get("gateways"):
        out["gateways"] = root["gateways"]
    return out


def _merge_matches(
    root: tuple[Mapping[str, Any], ...], leaf: tuple[Mapping[str, Any], ...]
) -> tuple[Mapping[str, Any], ...] | None:
    """pilot's mergeHTTPMatchRequests; None when a delegate block narrows no root block."""
    if not root:
        return leaf
    if not leaf:
        return root
    out = []
    for sub in leaf:
        merged = [_merge_match(r, sub) for r in root if not _has_conflict(r, sub)]
        if not merged:
            return None
        out += merged
    return tuple(out)


def proxy_rules(
    routes: VirtualServices, services: list[VirtualService], kind: str
) -> list[ProxyRule]:
    """Every rule of `kind` the proxy has for the host, in order, delegates merged in."""
    out: list[ProxyRule] = []
    for vs in services:
        own = vs.meta.ref.namespace
        for route in vs.routes:
            if route.kind != kind:
                continue
            if route.delegate is None:
                out.append(
                    ProxyRule(
                        vs,
                        route,
                        route.matches,
                        route.destinations,
                        route.mirrors,
                        route.actions,
                        own,
                        route.name,
                    )
                )
                continue
            child = routes.get(route.delegate)
            missing = ""
            if child is None:
                missing = f"delegate {route.delegate.namespaced_name} does not exist"
            elif child.hosts:
                missing = f"delegate {route.delegate.namespaced_name} has hosts (not a delegate)"
            elif not exported_to(child, own):
                missing = f"delegate {route.delegate.namespaced_name} is not exported to {own}"
            if child is None or missing:
                out.append(
                    ProxyRule(
                        vs, route, (), (), (), {}, own, route.name, route.delegate, None, missing
                    )
                )
                continue
            out += _delegated(vs, route, child)
    return out


def _delegated(vs: VirtualService, root: Route, child: VirtualService) -> list[ProxyRule]:
    """pilot's mergeHTTPRoutes: each delegate rule, narrowed by the root rule's matches."""
    out = []
    for sub in child.routes:
        if sub.kind != "http":
            continue
        merged = _merge_matches(root.matches, sub.matches)
        name = f"{root.name}-{sub.name}" if root.name and sub.name else root.name or sub.name
        problem = "" if merged is not None else "its match conflicts with the root rule's match"
        out.append(
            ProxyRule(
                vs,
                root,
                merged or (),
                sub.destinations,
                sub.mirrors or root.mirrors,
                {**root.actions, **sub.actions},
                child.meta.ref.namespace,
                name,
                child.meta.ref,
                sub,
                problem,
            )
        )
    return out
