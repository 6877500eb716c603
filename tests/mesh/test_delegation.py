"""Delegate VirtualServices merged into their root's rules (pilot virtualservice.go
mergeHTTPRoutes, mergeHTTPMatchRequest, hasConflict)."""

from __future__ import annotations

from meshtui.mesh.delegation import proxy_rules
from tests.helpers import build_mesh, dest, route, vs


def rules_of(*objs):
    mesh = build_mesh(*objs)
    root = next(v for v in mesh.routes if v.meta.ref.name == "root")
    return proxy_rules(mesh.routes, [root], "http")


def root_with(match, **extra):
    rule = {"delegate": {"name": "child", "namespace": "team"}, **extra}
    if match is not None:
        rule["match"] = match
    return vs("root", ["shop.example.com"], namespace="shop", http=[rule])


def child(*http, export_to=None):
    return vs("child", None, namespace="team", http=list(http), export_to=export_to)


def test_delegate_blocks_are_completed_by_the_root_block():
    [rule] = rules_of(
        root_with([{"uri": {"prefix": "/api"}, "headers": {"x-team": {"exact": "a"}}}]),
        child(
            route(dest("api"), match=[{"uri": {"prefix": "/api/v2"}, "method": {"exact": "GET"}}])
        ),
    )
    assert rule.problem == ""
    assert rule.matches == (
        {
            "uri": {"prefix": "/api/v2"},
            "method": {"exact": "GET"},
            "headers": {"x-team": {"exact": "a"}},
        },
    )
    assert rule.namespace == "team"  # the delegate's destinations resolve in its namespace


def test_a_delegate_block_that_widens_the_root_conflicts():
    rules = rules_of(
        root_with([{"uri": {"prefix": "/api"}}]),
        child(
            route(dest("a"), match=[{"uri": {"prefix": "/"}}]),
            route(dest("b"), match=[{"uri": {"exact": "/other"}}]),
            route(dest("c"), match=[{"uri": {"regex": "/api/.*"}}]),
            route(dest("d"), match=[{"uri": {"exact": "/api/x"}}]),
        ),
    )
    assert [r.problem != "" for r in rules] == [True, True, True, False]


def test_a_root_without_match_takes_the_delegate_blocks_as_they_are():
    [rule] = rules_of(root_with(None), child(route(dest("a"), match=[{"uri": {"exact": "/x"}}])))
    assert rule.matches == ({"uri": {"exact": "/x"}},)


def test_delegate_rules_inherit_what_they_leave_out():
    rules = rules_of(
        root_with(None, timeout="3s", retries={"attempts": 2}),
        child(route(dest("a"), timeout="1s"), route(dest("b"))),
    )
    assert [r.actions.get("timeout") for r in rules] == ["1s", "3s"]
    assert [r.actions.get("retries") for r in rules] == [{"attempts": 2}, {"attempts": 2}]


def test_a_delegate_not_exported_to_the_root_namespace_drops_the_rule():
    [rule] = rules_of(root_with(None), child(route(dest("a")), export_to=["."]))
    assert rule.problem == "delegate team/child is not exported to shop"
    assert rule.destinations == ()
