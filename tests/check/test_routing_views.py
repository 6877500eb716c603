"""The four situations of the "one routing model" issue through `check -o json` and `trace`:
each view gives pilot's answer, and the two never disagree (the inspector's side is in
tests/tui/test_routing_views.py; the fixtures are tests/fixtures/routing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.cli import main

ROOT = Path(__file__).resolve().parents[2]
ROUTING = "tests/fixtures/routing"


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def check_json(capsys, folder: str, *args: str) -> tuple[int, dict]:
    code = main(["check", f"{ROUTING}/{folder}", "-o", "json", "--max-fixes", "0", *args])
    return code, json.loads(capsys.readouterr().out)


def trace_json(capsys, folder: str, *args: str) -> dict:
    code = main(["trace", f"{ROUTING}/{folder}", *args, "-o", "json"])
    assert code in (0, 1)
    return json.loads(capsys.readouterr().out)


def subset_json(doc: dict, name: str) -> dict:
    [host] = doc["hosts"]
    return next(s for s in host["subsets"] if s["name"] == name)


def codes(doc: dict) -> list[tuple[str, str, str]]:
    return sorted((f["code"], f["severity"], f["resource"]) for f in doc["findings"])


def test_a_dropped_delegate_rule_routes_nothing_and_is_a_warning_on_the_delegate(capsys):
    code, doc = check_json(capsys, "delegate")
    v2 = subset_json(doc, "v2")
    assert v2["routes"] == []
    [dropped] = v2["droppedRoutes"]
    assert dropped["delegate"] == "shop/cart-rules"
    assert "conflicts with the root rule's match" in dropped["dropped"]
    assert v2["policyNeverApplied"] is True
    assert [r["subset"] for r in subset_json(doc, "v1")["routes"]] == ["v1"]
    assert codes(doc) == [
        ("DelegateRuleDropped", "warning", "VirtualService shop/cart-rules"),
        ("SubsetPolicyNeverApplied", "warning", "DestinationRule shop/cart"),
    ]
    assert code == 1

    # The trace agrees: a request the delegate's rule was written for goes to v1.
    for path in ("/checkout", "/cart/checkout"):
        t = trace_json(capsys, "delegate", "--from", "shop", "--to", "cart", "--path", path)
        assert [d["subset"] for d in t["destinations"]] == ["v1"]
        assert t["rule"] == "http[1]"


def test_a_rule_bound_only_to_a_missing_gateway_carries_no_weight(capsys):
    _, doc = check_json(capsys, "missing-gateway")
    v3 = subset_json(doc, "v3")
    assert v3["routes"] == []
    [dropped] = v3["droppedRoutes"]
    assert dropped["weight"] == 100
    assert "bound only to gateways that do not exist: edge" in dropped["dropped"]
    assert v3["policyNeverApplied"] is True
    [v1] = subset_json(doc, "v1")["routes"]
    assert (v1["weight"], v1["clientNamespaces"]) == (100, ["*"])

    t = trace_json(capsys, "missing-gateway", "--from", "shop", "--to", "catalog")
    assert [d["subset"] for d in t["destinations"]] == ["v1"]


def test_a_client_view_lists_only_routes_its_sidecars_import(capsys):
    code, everyone = check_json(capsys, "client-view")
    [route] = subset_json(everyone, "v2")["routes"]
    assert (route["virtualService"], route["clientNamespaces"]) == ("team/inventory-team", ["team"])
    assert code == 0

    code, jobs = check_json(capsys, "client-view", "--client-namespace", "jobs")
    v2 = subset_json(jobs, "v2")
    assert v2["routes"] == []
    [dropped] = v2["droppedRoutes"]
    assert dropped["dropped"] == "is used only by clients in team, not by clients in jobs"
    assert v2["policyNeverApplied"] is True
    [finding] = jobs["findings"]
    assert finding["code"] == "SubsetPolicyNeverApplied"
    assert "100%" not in finding["message"] and "used by no client" not in finding["message"]
    assert code == 1

    t = trace_json(capsys, "client-view", "--from", "jobs", "--to", "inventory.shop")
    assert t["virtualService"] is None  # default routing: the whole service
    assert [d["subset"] for d in t["destinations"]] == [None]
    t = trace_json(capsys, "client-view", "--from", "team", "--to", "inventory.shop")
    assert [d["subset"] for d in t["destinations"]] == ["v2"]


def test_a_consumer_override_is_info_and_check_passes(capsys):
    code, doc = check_json(capsys, "override")
    assert codes(doc) == [
        ("VirtualServiceOverride", "info", "VirtualService frontend/payments-beta"),
        ("VirtualServiceOverride", "info", "VirtualService payments/payments"),
    ]
    assert all(f["istio"] == "IST0109" for f in doc["findings"])
    beta = next(f for f in doc["findings"] if "frontend/payments-beta" in f["resource"])
    assert "overrides payments/payments for clients in frontend" in beta["message"]
    assert code == 0
    # Each subset is routed for exactly the clients that reach it.
    [v1] = subset_json(doc, "v1")["routes"]
    [v2] = subset_json(doc, "v2")["routes"]
    assert v1["clientNamespaces"] == ["*"] and v1["exceptClientNamespaces"] == ["frontend"]
    assert v2["clientNamespaces"] == ["frontend"]

    t = trace_json(capsys, "override", "--from", "frontend", "--to", "payments.payments")
    assert (t["virtualService"], [d["subset"] for d in t["destinations"]]) == (
        "frontend/payments-beta",
        ["v2"],
    )
    t = trace_json(capsys, "override", "--from", "shop", "--to", "payments.payments")
    assert (t["virtualService"], [d["subset"] for d in t["destinations"]]) == (
        "payments/payments",
        ["v1"],
    )


def test_a_creation_time_conflict_stays_an_error(capsys, tmp_path):
    text = (ROOT / ROUTING / "override" / "mesh.yaml").read_text()
    # Exported everywhere, the two claims are ordered by creation time alone: undefined offline.
    (tmp_path / "mesh.yaml").write_text(text.replace('exportTo: ["."]', 'exportTo: ["*"]'))
    code = main(["check", str(tmp_path), "-o", "json", "--max-fixes", "0"])
    doc = json.loads(capsys.readouterr().out)
    assert {f["code"] for f in doc["findings"] if f["severity"] == "error"} == {
        "ConflictingVirtualServices"
    }
    assert code == 1


def test_a_route_fix_goes_into_the_virtual_service_the_clients_use(capsys, tmp_path):
    text = (ROOT / ROUTING / "override" / "mesh.yaml").read_text()
    # frontend's override is the older one: jobs' sidecars still use payments' public one,
    # so a route to v2 for them goes there (one added to frontend's would never reach them).
    text = text.replace(
        "metadata: {name: payments-beta, namespace: frontend}",
        "metadata: {name: payments-beta, namespace: frontend, "
        "creationTimestamp: '2020-01-01T00:00:00Z'}",
    ).replace(
        "metadata: {name: payments, namespace: payments}\nspec:\n  hosts: [payments]",
        "metadata: {name: payments, namespace: payments, "
        "creationTimestamp: '2024-01-01T00:00:00Z'}\nspec:\n  hosts: [payments]",
    )
    assert text.count("creationTimestamp") == 2
    (tmp_path / "mesh.yaml").write_text(text)
    main(["check", str(tmp_path), "-o", "json", "--client-namespace", "jobs"])
    doc = json.loads(capsys.readouterr().out)
    [dead] = [f for f in doc["findings"] if f["code"] == "SubsetPolicyNeverApplied"]
    routed = [fix for fix in dead["fixes"] if "route" in fix["title"]]
    assert routed
    for fix in routed:
        names = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in fix["resources"]}
        assert names == {("payments", "payments")}, fix["title"]
