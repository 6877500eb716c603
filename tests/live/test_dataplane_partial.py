"""Live, Namespaces or Sidecars that cannot be read (403): the data plane is unknown, so the
findings that rest on it are withheld and said so, never judged on a label that was not read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshtui.cli import main
from meshtui.sources import cluster
from meshtui.tui.app import MeshApp
from meshtui.tui.model import Kind, NodeRef
from tests.live.test_dataplane_live import documents, load
from tests.tui.helpers import detail_text, screen_text, settle

CART = "cart.shop.svc.cluster.local"


@pytest.fixture
def kube_api(gateway_api):
    """Waypoints are Gateway API Gateways: these clusters serve the Gateway API."""
    return gateway_api


def check(capsys, server, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    status = main(
        [
            "check",
            *("--context", "alpha", "--kubeconfig", str(server.kubeconfig)),
            *("-o", "json", "--max-fixes", "0", *args),
        ]
    )
    out, err = capsys.readouterr()
    return status, (json.loads(out) if out else None), err


def codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def test_unreadable_namespaces_leave_the_waypoint_findings_unjudged_not_passing(kube_api, capsys):
    load(kube_api, documents("waypoint"))
    status, doc, _ = check(capsys, kube_api)
    assert "WaypointIgnoresVirtualService" in codes(doc)  # the labels read: web is ambient

    kube_api.forbid("namespaces")
    status, doc, err = check(capsys, kube_api)
    assert status == 2 and doc is None
    assert "Namespaces not readable: forbidden cluster-wide (403)" in err

    status, doc, err = check(capsys, kube_api, "--allow-partial")
    assert status in (0, 1)
    assert "the clients' data plane is unread" in err
    [unread] = doc["partial"]["unread"]
    assert (unread["kind"], unread["wholly"]) == ("Namespace", True)
    withheld = {w["code"]: w for w in doc["partial"]["withheld"]}
    # Not reported, and not passing either: judged on no labels, the check would be a guess.
    assert "WaypointIgnoresVirtualService" not in codes(doc)
    for code in ("WaypointIgnoresVirtualService", "AmbientWithoutWaypoint"):
        assert withheld[code]["notJudged"] is True
        assert "Namespaces not readable" in withheld[code]["because"]
    [cart] = [h for h in doc["hosts"] if h["host"] == CART]
    assert cart["dataPlane"][0] == (
        "data plane unread: Namespaces not readable (403) (clients taken to have sidecars)"
    )
    assert not any("no mesh labels" in note for note in doc["notes"])


def test_unreadable_namespaces_make_the_client_view_say_its_data_plane_is_assumed(kube_api, capsys):
    load(kube_api, documents("waypoint"))
    kube_api.forbid("namespaces")
    _, doc, _ = check(capsys, kube_api, "--allow-partial", "--client-namespace", "web")
    assert doc["clientDataPlane"] == "sidecar, assumed: Namespaces not readable (403)"


def test_unreadable_sidecars_withhold_the_sidecar_findings(kube_api, capsys):
    load(kube_api, documents("sidecar-scope"))
    status, doc, _ = check(capsys, kube_api)
    assert "SidecarHidesRoutedHost" in codes(doc)

    kube_api.forbid("sidecars")
    status, doc, err = check(capsys, kube_api)
    assert status == 2 and "Sidecars not readable" in err

    status, doc, _ = check(capsys, kube_api, "--allow-partial")
    assert "SidecarHidesRoutedHost" not in codes(doc)
    withheld = {w["code"]: w for w in doc["partial"]["withheld"]}
    assert "Sidecars not readable" in withheld["SidecarHidesRoutedHost"]["because"]
    assert any("data plane unread: Sidecars not readable (403)" in n for n in doc["notes"])


@pytest.mark.usefixtures("fast")
async def test_the_inspector_says_the_data_plane_is_unread(kube_api):
    load(kube_api, documents("waypoint"))
    kube_api.forbid("namespaces")
    source = cluster.ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=2)
    app = MeshApp(source)
    try:
        async with app.run_test(size=(200, 40)) as pilot:
            await settle(pilot)
            for _ in range(50):
                if "● live" in screen_text(app).splitlines()[0]:
                    break
                await pilot.pause(0.1)
            assert "partial: Namespaces" in screen_text(app).splitlines()[0]
            app.host_tree.reveal(NodeRef(Kind.HOST, 0, "shop", CART))
            await pilot.pause()
            detail = " ".join(detail_text(app).split())
            assert "data plane unread: Namespaces not readable (403)" in detail
    finally:
        source.stop()
