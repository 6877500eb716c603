"""Client-aware verdicts on a live cluster equal those on the same objects in a folder.

The loopback API server (tests/kubeapi) holds the objects; `meshtui check --context` reads them
with the real kubernetes client. Creation times are set, as a cluster sets them, so which of two
VirtualServices for one host wins is defined, and the folder carries the same times.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshtui.cli import main
from tests.helpers import dest, dr, pod, route, service, subset, vs

RANDOM = {"loadBalancer": {"simple": "RANDOM"}}
OLD, NEW = "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"


def objects() -> list[dict[str, Any]]:
    payments = "payments.pay.svc.cluster.local"
    out = [
        service("payments", namespace="pay"),
        pod("payments-v1", {"app": "payments", "version": "v1"}, namespace="pay"),
        pod("payments-v2", {"app": "payments", "version": "v2"}, namespace="pay"),
        dr("payments", "payments", namespace="pay", subsets=[subset("v1")], created=OLD),
        dr(
            "payments-from-frontend",
            payments,
            namespace="frontend",
            subsets=[subset("v2", policy=RANDOM)],
            created=OLD,
        ),
        vs("payments", [payments], namespace="frontend", http=[route(dest(payments, "v2"))]),
        service("reviews"),
        pod("reviews-v1", {"app": "reviews", "version": "v1"}),
        pod("reviews-v2", {"app": "reviews", "version": "v2"}),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs("reviews-a", ["reviews"], http=[route(dest("reviews", "v1"))], created=OLD),
        vs("reviews-b", ["reviews"], http=[route(dest("reviews", "v2"))], created=NEW),
    ]
    for obj in out:
        obj["metadata"].setdefault("creationTimestamp", OLD)
    return out


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    status = main(["check", *args, "-o", "json"])
    out, _ = capsys.readouterr()
    return status, json.loads(out)


def verdicts(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            f["code"],
            f["host"],
            f["subset"] or "",
            f["resource"],
            tuple(f.get("clientNamespaces", ())),
            tuple(f.get("exceptClientNamespaces", ())),
        )
        for f in document["findings"]
    )


@pytest.mark.parametrize("client", [None, "frontend", "shop"])
def test_live_and_offline_give_the_same_client_aware_verdicts(kube_api, tmp_path, capsys, client):
    kube_api.add_many(copy.deepcopy(objects()))
    folder = tmp_path / "mesh"
    folder.mkdir()
    (folder / "mesh.yaml").write_text(yaml.safe_dump_all(objects()))
    scope = ["--client-namespace", client] if client else []

    live_status, live = check(
        capsys, "--context", "alpha", "--kubeconfig", str(kube_api.kubeconfig), *scope
    )
    offline_status, offline = check(capsys, str(folder), *scope)

    assert live_status == offline_status == 1
    assert verdicts(live) == verdicts(offline)
    codes = {(f["code"], f["subset"]) for f in live["findings"]}
    # reviews-b loses to the older reviews-a for every client: v2's policy is dead config.
    assert ("SubsetPolicyNeverApplied", "v2") in codes
    assert ("ConflictingVirtualServices", None) in codes
    # Only clients outside frontend get 503 for payments v2.
    assert (("UndefinedSubset", "v2") in codes) == (client != "frontend")
    assert live["clientNamespace"] == client
    assert all(r.method == "GET" for r in kube_api.requests)


def test_the_frontend_view_shows_its_own_rule(kube_api, capsys):
    kube_api.add_many(copy.deepcopy(objects()))
    _, live = check(
        capsys,
        "--context",
        "alpha",
        "--kubeconfig",
        str(kube_api.kubeconfig),
        "--client-namespace",
        "frontend",
    )
    [payments] = [h for h in live["hosts"] if h["host"].startswith("payments.")]
    assert payments["destinationRules"] == ["frontend/payments-from-frontend"]
    assert [(s["name"], s["policy"]) for s in payments["subsets"]] == [("v2", RANDOM)]


def test_the_text_report_names_the_view_and_the_istioctl_codes(tmp_path, capsys):
    folder = tmp_path / "mesh"
    folder.mkdir()
    (folder / "mesh.yaml").write_text(yaml.safe_dump_all(objects()))
    assert main(["check", str(folder)]) == 1
    text = capsys.readouterr().out
    assert "ConflictingVirtualServices (IST0109)" in text
    assert "UndefinedSubset (IST0101)" in text
    assert "affects clients in every namespace but frontend" in text
    assert main(["check", str(folder), "--client-namespace", "frontend"]) == 1
    assert "as clients in frontend see it" in capsys.readouterr().out


def test_sarif_relates_each_rule_to_its_istioctl_code(tmp_path, capsys):
    folder = Path(tmp_path)
    (folder / "mesh.yaml").write_text(yaml.safe_dump_all(objects()))
    main(["check", str(folder), "-o", "sarif"])
    run = json.loads(capsys.readouterr().out)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    [relation] = rules["ConflictingVirtualServices"]["relationships"]
    assert relation["target"]["id"] == "IST0109"
    assert "IST0109" in {r["id"] for r in run["tool"]["extensions"][0]["rules"]}
    undefined = [r for r in run["results"] if r["ruleId"] == "UndefinedSubset"]
    assert undefined[0]["properties"]["clientNamespaces"] == ["*"]
    assert undefined[0]["properties"]["exceptClientNamespaces"] == ["frontend"]
