"""The situations of the data-plane issue (25) through `check -o json` and `trace`: ambient
clients without a waypoint apply nothing, a waypoint applies only its own and the service's
namespace's VirtualServices, Sidecar scope hides hosts and VirtualServices. Fixtures:
tests/fixtures/dataplane (the inspector's side is tests/tui/test_dataplane_view.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = "tests/fixtures/dataplane"


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def check_json(capsys, folder: str, *args: str) -> dict:
    main(["check", f"{FIXTURES}/{folder}", "-o", "json", "--max-fixes", "0", *args])
    return json.loads(capsys.readouterr().out)


def trace_json(capsys, folder: str, *args: str) -> dict:
    code = main(["trace", f"{FIXTURES}/{folder}", *args, "-o", "json"])
    assert code in (0, 1)
    return json.loads(capsys.readouterr().out)


def subset(doc: dict, name: str) -> dict:
    [host] = doc["hosts"]
    return next(s for s in host["subsets"] if s["name"] == name)


def by_client(doc: dict) -> list[tuple[list[str], list[str], list[str]]]:
    [host] = doc["hosts"]
    return [
        (v["destinationRules"], v["clientNamespaces"], v.get("exceptClientNamespaces", []))
        for v in host["destinationRulesByClient"]
    ]


def never_applied(doc: dict) -> list[str]:
    return [f["message"] for f in doc["findings"] if f["code"] == "SubsetPolicyNeverApplied"]


# -- ambient without a waypoint -------------------------------------------------------------------


def test_ambient_clients_without_a_waypoint_apply_no_route_and_no_destination_rule(capsys):
    doc = check_json(capsys, "ambient")
    # Sidecar clients (frontend, and every unlabelled namespace) apply shop/cart; web none.
    assert by_client(doc) == [(["shop/cart"], ["*"], ["web"]), ([], ["web"], [])]
    [route] = subset(doc, "v2")["routes"]
    assert (route["clientNamespaces"], route["exceptClientNamespaces"]) == (["*"], ["web"])
    assert never_applied(doc) == []


def test_the_ambient_namespace_view_says_ztunnel_applies_nothing(capsys):
    doc = check_json(capsys, "ambient", "--client-namespace", "web")
    assert by_client(doc) == [([], ["web"], [])]
    [dropped] = subset(doc, "v2")["droppedRoutes"]
    assert "ambient clients in web go through ztunnel" in dropped["dropped"]
    assert "the service has no waypoint" in dropped["dropped"]
    [message] = never_applied(doc)
    assert "ztunnel sends requests of ambient clients in web to any pod" in message
    assert "with no DestinationRule policy at all" in message

    t = trace_json(capsys, "ambient", "--from", "web", "--to", "cart.shop")
    assert t["proxy"].startswith("ztunnel: no L7 routing")
    assert t["virtualService"] is None
    assert [(d["subset"], d["destinationRule"]) for d in t["destinations"]] == [(None, None)]


def test_a_sidecar_client_of_the_same_service_applies_it_all(capsys):
    doc = check_json(capsys, "ambient", "--client-namespace", "frontend")
    assert by_client(doc) == [(["shop/cart"], ["frontend"], [])]
    assert [r["subset"] for r in subset(doc, "v2")["routes"]] == ["v2"]
    t = trace_json(capsys, "ambient", "--from", "frontend", "--to", "cart.shop")
    assert t["proxy"] == "sidecar in frontend"
    assert sorted(d["subset"] for d in t["destinations"]) == ["v1", "v2"]


# -- a waypoint ------------------------------------------------------------------------------------


def test_a_waypoint_ignores_a_consumer_virtual_service_so_its_subset_gets_nothing(capsys):
    doc = check_json(capsys, "waypoint")
    v3 = subset(doc, "v3")
    assert v3["routes"] == []
    [dropped] = v3["droppedRoutes"]
    assert dropped["virtualService"] == "web/cart-canary"
    assert "go through waypoint shop/waypoint" in dropped["dropped"]
    assert (
        "only VirtualServices of shop (the service's and the waypoint's namespace)"
        in (dropped["dropped"])
    )
    [message] = never_applied(doc)
    assert "subset 'v3'" in message
    # shop's own VirtualService is applied by the waypoint for every ambient client.
    [v2] = subset(doc, "v2")["routes"]
    assert v2["virtualService"] == "shop/cart"
    assert v2["clientNamespaces"] == ["*"]


def test_the_trace_says_the_waypoint_decides_and_which_virtual_service_it_applies(capsys):
    t = trace_json(capsys, "waypoint", "--from", "web", "--to", "cart.shop")
    assert t["proxy"] == "waypoint shop/waypoint applies VirtualService shop/cart"
    assert sorted((d["subset"], d["weight"]) for d in t["destinations"]) == [
        ("v1", 90),
        ("v2", 10),
    ]
    assert {d["destinationRule"] for d in t["destinations"]} == {"shop/cart"}


# -- Sidecar scope ---------------------------------------------------------------------------------


def test_a_sidecar_that_does_not_import_the_host_gets_no_route_and_no_destination_rule(capsys):
    doc = check_json(capsys, "sidecar-scope", "--client-namespace", "batch")
    assert by_client(doc) == [([], ["batch"], [])]
    [dropped] = subset(doc, "v1")["droppedRoutes"]
    assert (
        "the Sidecar of clients in batch does not import cart.shop.svc.cluster.local"
        in (dropped["dropped"])
    )
    t = trace_json(capsys, "sidecar-scope", "--from", "batch", "--to", "cart.shop")
    assert "its Sidecar does not import cart.shop.svc.cluster.local" in t["proxy"]
    assert t["destinations"][0]["destinationRule"] is None


def test_a_private_virtual_service_is_not_imported_when_the_sidecar_names_another_namespace(
    capsys,
):
    doc = check_json(capsys, "sidecar-scope")
    v2 = subset(doc, "v2")
    assert v2["routes"] == []
    [dropped] = v2["droppedRoutes"]
    assert dropped["virtualService"] == "team/cart-team"
    assert (
        "the Sidecar of clients in team does not import VirtualServices of namespace team"
        in (dropped["dropped"])
    )
    # team's clients use shop's VirtualService instead; web's Sidecar imports shop; the root
    # namespace's default Sidecar (`./*`) lets shop's own clients see it.
    [v1] = subset(doc, "v1")["routes"]
    assert v1["clientNamespaces"] == ["shop", "team", "web"]
    t = trace_json(capsys, "sidecar-scope", "--from", "team", "--to", "cart.shop")
    assert t["virtualService"] == "shop/cart"
    assert [d["subset"] for d in t["destinations"]] == ["v1"]


# -- one workload's view ---------------------------------------------------------------------------


def test_a_workload_view_takes_the_workloads_own_data_plane(capsys):
    # web is ambient, but web/legacy keeps a sidecar (its own label): it applies it all.
    doc = check_json(capsys, "ambient", "--client", "web/legacy")
    assert (doc["clientNamespace"], doc["clientDataPlane"]) == ("web", "Deployment legacy: sidecar")
    assert by_client(doc) == [(["shop/cart"], ["web"], [])]
    assert never_applied(doc) == []
    t = trace_json(capsys, "ambient", "--from", "web/legacy", "--to", "cart.shop")
    assert sorted(d["subset"] for d in t["destinations"]) == ["v1", "v2"]
    # web's other workloads are ambient: the namespace's view.
    doc = check_json(capsys, "ambient", "--client", "web/checkout")
    assert doc["clientDataPlane"].startswith("Deployment checkout: ambient")
    assert by_client(doc) == [([], ["web"], [])]


def test_a_workload_that_is_not_in_the_input_gives_the_namespace_view_and_says_so(capsys):
    doc = check_json(capsys, "ambient", "--client", "web/nothere")
    assert doc["clientDataPlane"].startswith("ambient")
    assert any("no workload nothere in namespace web" in n for n in doc["notes"])


# -- a namespace whose workloads are mixed ---------------------------------------------------------


def test_a_namespace_whose_workloads_are_mixed_says_so_in_every_view(capsys):
    # web is ambient, web/legacy has a sidecar by its own label: each pod has its own proxy
    # (or none), so the namespace's verdicts hold for checkout, not for legacy, and say so.
    mixed = (
        "web: workloads of mixed data planes, 1 ambient and 1 sidecar (Deployment legacy) of 2; "
        "views of web follow its Namespace's labels (ambient): --client web/WORKLOAD takes one "
        "workload's own"
    )
    doc = check_json(capsys, "ambient")
    assert mixed in doc["notes"]
    [host] = doc["hosts"]
    assert host["dataPlane"][-1] == mixed
    doc = check_json(capsys, "ambient", "--client-namespace", "web")
    assert doc["clientDataPlane"] == "ambient, mixed: 1 sidecar of 2 workloads"
    # frontend's workloads all follow its labels: nothing to say there.
    doc = check_json(capsys, "ambient", "--client-namespace", "frontend")
    assert not any("mixed" in n for n in doc.get("notes", ()))
    assert not any("mixed" in line for line in doc["hosts"][0]["dataPlane"])


# -- a waypoint takes its VirtualServices in a row --------------------------------------------


def test_a_catch_all_at_the_waypoint_hides_the_next_virtual_service_in_check_and_trace(capsys):
    # The waypoint's row: HTTPRoute cart-v1 (/v1), cart-default (no match: every request),
    # cart-beta (/beta to v2), which nothing reaches: v2's policy is never applied.
    for scope in ((), ("--client-namespace", "web")):
        doc = check_json(capsys, "waypoint-routes", *scope)
        v1, v2 = subset(doc, "v1"), subset(doc, "v2")
        assert [r["virtualService"] for r in v1["routes"]] == ["shop/cart-default"]
        assert v2["routes"] == []
        [dropped] = v2["droppedRoutes"]
        assert (
            "waypoint shop/waypoint for cart.shop.svc.cluster.local: shop/cart-default http[0], "
            "which has no match, before it takes every request"
        ) in dropped["dropped"]
        assert "SubsetPolicyNeverApplied" in {f["code"] for f in doc["findings"]}
    t = trace_json(
        capsys, "waypoint-routes", "--from", "web", "--to", "cart.shop", "--path", "/beta"
    )
    assert t["proxy"] == (
        "waypoint shop/waypoint applies VirtualService shop/cart-v1, shop/cart-default, "
        "shop/cart-beta"
    )
    assert (t["virtualService"], t["rule"]) == ("shop/cart-default", "http[0]")
    assert [d["subset"] for d in t["destinations"]] == ["v1"]
    # The HTTPRoute, first in the row, still takes its own paths at the waypoint.
    t = trace_json(
        capsys, "waypoint-routes", "--from", "web", "--to", "cart.shop", "--path", "/v1/x"
    )
    assert t["virtualService"] == "shop/cart-v1"
    # frontend's sidecars keep one: the HTTPRoute, the oldest; /beta matches nothing there.
    t = trace_json(
        capsys, "waypoint-routes", "--from", "frontend", "--to", "cart.shop", "--path", "/beta"
    )
    assert t["proxy"] == "sidecar in frontend" and t["rule"] is None
