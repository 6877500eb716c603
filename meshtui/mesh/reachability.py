"""Which rules of a VirtualService can ever match (istioctl IST0130 and IST0131).

Rules are tried in order and the first match wins. Following Istio's own check
(pkg/config/validation/validation.go analyzeUnreachableHTTPRules and its TCP/TLS twins):
- a rule after a rule without `match` never matches ("route without matches defined before"),
  and only the last rule may have no match;
- for HTTP, a rule after one with a match block that matches every request (`uri` absent,
  `prefix: /` or `regex: .*`, and no other condition) never matches either: Istio's validation
  does not say so, but pilot builds no route after it (route.go BuildHTTPRoutesForVirtualService
  stops at a route IsCatchAllRoute calls one); a block that holds for some proxies only (a
  `port`, `sourceLabels`, `sourceNamespace` or `gateways`) hides later rules only from those,
  which the routing table works out per client (meshtui.mesh.routing);
- a match entry equal to an earlier one (ignoring its `name`) is ineffective, and a rule all of
  whose entries are such duplicates never matches;
- for HTTP, a `uri.prefix` entry whose prefix extends an earlier entry's prefix, with the same
  other conditions, is ineffective too (Istio's coveredValidation). meshtui compares the other
  conditions strictly (equal, or an earlier prefix of a later value), so it never calls a match
  covered that can still be taken. A rule all of whose entries are covered this way cannot match
  either: Istio reports only IST0131 for it, meshtui also says the rule is unreachable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import Route


@frozen
class RuleIssue:
    """A rule (or one match entry of it) that can never take traffic, and why."""

    kind: str  # "http", "tcp" or "tls"
    index: int
    reason: str
    match_index: int | None = None  # set for one ineffective match entry (IST0131)
    by_prefix: bool = False  # decided by prefix coverage, which istioctl reports as IST0131 only
    after_catch_all: bool = False  # behind a catch-all match block: istioctl reports nothing

    @property
    def unreachable(self) -> bool:
        return self.match_index is None


# Conditions that keep a translated route from being a catch-all (route.go IsCatchAllRoute:
# headers, query parameters, dynamic metadata; method, authority and scheme are header matchers).
_NARROWING = ("headers", "withoutHeaders", "method", "authority", "scheme", "queryParams")
# Conditions pilot applies while translating a block, per proxy (route.go TranslateRoute).
_PER_PROXY = ("port", "sourceLabels", "sourceNamespace", "gateways")


def catch_all(match: Mapping[str, Any]) -> bool:
    """Whether the route pilot translates an HTTP block into matches every request
    (route.go IsCatchAllRoute: path prefix `/` or regex `.*`, no header or query matcher)."""
    uri = match.get("uri")
    if isinstance(uri, Mapping) and uri:
        if not (uri.get("prefix") == "/" or uri.get("regex") == ".*"):
            return False
    elif uri:
        return False
    return not any(match.get(k) for k in _NARROWING)


def catch_all_for_every_proxy(match: Mapping[str, Any]) -> bool:
    """A catch-all block that every proxy using the VirtualService builds."""
    return catch_all(match) and not any(match.get(k) for k in _PER_PROXY)


def _key(match: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in match.items() if k != "name"}, sort_keys=True, default=str)


def _string_match(value: Any) -> tuple[str, str] | None:
    """A StringMatch as (kind, text) for exact and prefix; None for anything else."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    (kind, text), *_ = value.items()
    if kind in ("exact", "prefix") and isinstance(text, str):
        return kind, text
    return None


def _covers_value(earlier: Any, later: Any) -> bool:
    if earlier == later:
        return True
    a, b = _string_match(earlier), _string_match(later)
    return a is not None and b is not None and a[0] == "prefix" and b[1].startswith(a[1])


def _covers_map(earlier: Any, later: Any) -> bool:
    if earlier is None or later is None:
        return earlier == later
    if not isinstance(earlier, Mapping) or not isinstance(later, Mapping):
        return False
    return set(earlier) == set(later) and all(_covers_value(earlier[k], later[k]) for k in earlier)


_PREFIX_FIELDS = ("method", "authority")
_MAP_FIELDS = ("headers", "queryParams")


def _prefix_covers(earlier: Mapping[str, Any], later: Mapping[str, Any]) -> bool:
    """Whether every request `later` matches is matched by `earlier` (uri prefix entries only)."""
    a, b = _string_match(earlier.get("uri")), _string_match(later.get("uri"))
    if a is None or b is None or a[0] != "prefix" or b[0] != "prefix":
        return False
    if a[1] == b[1] or not b[1].startswith(a[1]):
        return False  # equal prefixes are left to the duplicate check, as Istio does
    for key in set(earlier) | set(later):
        if key in ("uri", "name"):
            continue
        if key in _PREFIX_FIELDS:
            if key in earlier and not _covers_value(earlier[key], later.get(key)):
                return False
        elif key in _MAP_FIELDS:
            if not _covers_map(earlier.get(key), later.get(key)):
                return False
        elif earlier.get(key) != later.get(key):
            return False
    return True


def rule_issues(routes: Sequence[Route]) -> list[RuleIssue]:
    """The unreachable rules and ineffective match entries of one VS's `http`, `tcp`, `tls`."""
    issues: list[RuleIssue] = []
    for kind in ("http", "tcp", "tls"):
        issues += _kind_issues([r for r in routes if r.kind == kind], kind)
    return issues


def _name(route: Route) -> str:
    return route.written_as + (f" {route.name!r}" if route.name else "")


def _kind_issues(routes: list[Route], kind: str) -> list[RuleIssue]:
    issues: list[RuleIssue] = []
    seen: dict[str, Route] = {}
    prefixed: list[tuple[Mapping[str, Any], Route]] = []
    hiding = ""  # why every later rule is unreachable: the catch-all before it
    by_match = False  # a match block is the catch-all (not a rule without match)
    for route in routes:
        # Behind a catch-all block, a rule whose every block repeats an earlier one is said
        # to be that repeat, as istioctl says it (IST0130).
        repeats = by_match and route.matches and all(_key(m) in seen for m in route.matches)
        if hiding and not repeats:
            issues.append(RuleIssue(kind, route.index, hiding, after_catch_all=by_match))
            continue
        if not route.matches:
            hiding = f"{_name(route)} before it has no match"
            continue
        if (
            kind == "http"
            and route.delegate is None  # a delegate's rules bring their own matches
            and any(map(catch_all_for_every_proxy, route.matches))
        ):
            hiding = f"{_name(route)} before it matches every request"
            by_match = True
        covered_by_earlier = 0
        by_prefix = False
        last_reason = ""
        for n, match in enumerate(route.matches):
            key = _key(match)
            dup = seen.get(key)
            if dup is not None:
                issues.append(
                    RuleIssue(kind, route.index, f"the same match as {_name(dup)}", match_index=n)
                )
                covered_by_earlier += dup is not route
                last_reason = f"the same match as {_name(dup)}"
                continue
            seen[key] = route
            cover = next((r for m, r in prefixed if _prefix_covers(m, match)), None)
            if cover is not None and kind == "http":
                where = "an earlier match of this rule" if cover is route else _name(cover)
                issues.append(
                    RuleIssue(
                        kind,
                        route.index,
                        f"its uri prefix is covered by {where}",
                        match_index=n,
                        by_prefix=True,
                    )
                )
                if cover is not route:
                    covered_by_earlier += 1
                    by_prefix = True
                    last_reason = f"its uri prefix is covered by {where}"
            prefixed.append((match, route))
        if covered_by_earlier == len(route.matches):
            # A rule of one match (every rule pilot makes of a Gateway API route) is never
            # reached for that match's own reason.
            why = (
                last_reason
                if len(route.matches) == 1
                else "every match it has is taken by earlier rules"
            )
            issues.append(RuleIssue(kind, route.index, why, by_prefix=by_prefix))
    return issues
