"""The clients' data plane (meshtui.mesh.dataplane) as the routing table and the findings see
it. Cases written from pilot's rules: pilot/pkg/model/sidecar.go and virtualservice.go
(Sidecar scope), pilot/pkg/serviceregistry/ambient/waypoints.go (which waypoint),
pilot/pkg/networking/core/listener_waypoint.go (which VirtualServices a waypoint takes), and
pkg/config/analysis/analyzers/util/in_mesh.go and sidecar/selector.go (istioctl)."""

from __future__ import annotations

from typing import Any

import pytest

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.dataplane import Mode, mode_of
from meshtui.mesh.findings import Code, Severity
from meshtui.mesh.resources import Origin, parse_object
from tests.helpers import (
    analyze,
    build_mesh,
    deployment,
    dest,
    dr,
    route,
    service,
    subset,
    subset_of,
    svc_host,
    vs,
)

CART = svc_host("cart", "shop")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def sidecar(
    namespace: str, *hosts: str, name: str = "default", selector: dict | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"egress": [{"hosts": list(hosts)}], **spec}
    if selector:
        body["workloadSelector"] = {"labels": selector}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def waypoint(namespace: str, name: str = "waypoint", ready: bool | None = None, **labels: str):
    obj: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"gatewayClassName": "istio-waypoint", "listeners": []},
    }
    if ready is not None:
        obj["status"] = {"addresses": [{"value": "10.0.0.9"}] if ready else []}
    return obj


def cart(*extra: dict[str, Any], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """shop/cart with subsets v1 and v2 (v2 with its own policy), shop's VS to v2, and
    clients in web and frontend."""
    svc = service("cart", namespace="shop")
    if labels:
        svc["metadata"]["labels"] = labels
    return [
        svc,
        dr("cart", "cart", namespace="shop", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs("cart", ["cart"], namespace="shop", http=[route(dest("cart", "v2"))]),
        deployment("cart-v1", {"app": "cart", "version": "v1"}, namespace="shop"),
        deployment("cart-v2", {"app": "cart", "version": "v2"}, namespace="shop"),
        deployment("checkout", {"app": "checkout"}, namespace="web"),
        deployment("storefront", {"app": "storefront"}, namespace="frontend"),
        *extra,
    ]


def route_clients(analysis, name: str = "v2") -> ClientSet:
    [r] = subset_of(analysis, CART, name).routes
    return r.clients


def of(analysis, code: Code):
    return [f for f in analysis.findings if f.code is code]


# -- who is what -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "pod", "live", "expected"),
    [
        ({"istio-injection": "enabled"}, None, True, (Mode.SIDECAR, False)),
        ({"istio.io/rev": "canary"}, None, True, (Mode.SIDECAR, False)),
        ({"istio.io/dataplane-mode": "ambient"}, None, True, (Mode.AMBIENT, False)),
        # A sidecar wins: an injected pod is never ambient (in_mesh.go).
        (
            {"istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"},
            None,
            True,
            (Mode.SIDECAR, False),
        ),
        (
            {"istio.io/dataplane-mode": "ambient"},
            {"istio.io/dataplane-mode": "none"},
            True,
            (Mode.OUTSIDE, False),
        ),
        (
            {"istio-injection": "enabled"},
            {"sidecar.istio.io/inject": "false"},
            True,
            (Mode.OUTSIDE, False),
        ),
        (
            {"istio-injection": "disabled"},
            {"sidecar.istio.io/inject": "true"},
            True,
            (Mode.OUTSIDE, False),
        ),
        ({}, {"sidecar.istio.io/inject": "true"}, True, (Mode.SIDECAR, False)),
        # No label at all: out of the mesh on a cluster; in files, assumed to have sidecars.
        ({}, None, True, (Mode.OUTSIDE, False)),
        ({}, None, False, (Mode.SIDECAR, True)),
        ({"istio-injection": "disabled"}, None, False, (Mode.OUTSIDE, False)),
    ],
)
def test_the_labels_decide_the_data_plane(labels, pod, live, expected):
    assert mode_of(labels, pod, live) == expected


# -- ambient ---------------------------------------------------------------------------------------


def test_ambient_clients_without_a_waypoint_take_no_route_and_the_host_says_they_bypass_it():
    analysis = analyze(*cart(namespace("web", **{"istio.io/dataplane-mode": "ambient"})))
    assert route_clients(analysis) == ClientSet(True, frozenset({"web"}))
    # Sidecar clients in frontend and shop still apply it: no finding, the host says who.
    assert of(analysis, Code.AMBIENT_WITHOUT_WAYPOINT) == []
    assert analysis.hosts[CART].data_plane == (
        "applied by sidecar clients in every namespace but web",
        "bypassed: ambient clients in web go through ztunnel, which applies no VirtualService "
        "or DestinationRule (the service has no waypoint)",
    )


def test_when_every_client_is_ambient_and_there_is_no_waypoint_it_is_a_warning():
    ambient = {"istio.io/dataplane-mode": "ambient"}
    analysis = analyze(
        *cart(namespace("web", **ambient), namespace("frontend", **ambient)),
        namespace("shop", **ambient),
    )
    found = of(analysis, Code.AMBIENT_WITHOUT_WAYPOINT)
    assert sorted(str(f.resource) for f in found) == [
        "DestinationRule shop/cart",
        "VirtualService shop/cart",
    ]
    assert {f.severity for f in found} == {Severity.WARNING}
    assert all(f.clients == ClientSet.of(["frontend", "shop", "web"]) for f in found)
    assert "ambient clients in frontend, shop, web reach it through ztunnel" in found[0].message
    assert "no client in the input applies it" in found[0].message
    # Only clients of namespaces the input does not show (assumed sidecars) take the route.
    assert route_clients(analysis) == ClientSet(True, frozenset({"frontend", "shop", "web"}))


def test_a_waypoint_takes_the_service_namespace_virtual_service_for_ambient_clients():
    ambient = {"istio.io/dataplane-mode": "ambient"}
    analysis = analyze(
        *cart(namespace("web", **ambient)),
        namespace("shop", **ambient, **{"istio.io/use-waypoint": "waypoint"}),
        waypoint("shop"),
    )
    assert route_clients(analysis) == ClientSet.all()
    assert of(analysis, Code.AMBIENT_WITHOUT_WAYPOINT) == []


def test_a_waypoint_in_another_namespace_also_takes_its_own_namespace_virtual_services():
    ambient = {"istio.io/dataplane-mode": "ambient"}
    mesh_vs = vs("cart-edge", [CART], namespace="infra", http=[route(dest(CART, "v1"))])
    labels = {"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}
    analysis = analyze(
        *[
            o
            for o in cart(namespace("web", **ambient), labels=labels)
            if o["kind"] != "VirtualService"
        ],
        mesh_vs,
        waypoint("infra", "shared"),
    )
    [r] = subset_of(analysis, CART, "v1").routes
    assert "web" in r.clients
    assert of(analysis, Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE) == []


def test_a_consumer_virtual_service_is_ignored_by_the_waypoint():
    ambient = {"istio.io/dataplane-mode": "ambient"}
    consumer = vs(
        "cart-web", [CART], namespace="web", export_to=["."], http=[route(dest(CART, "v1"))]
    )
    analysis = analyze(
        *cart(namespace("web", **ambient), consumer, labels={"istio.io/use-waypoint": "wp"}),
        waypoint("shop", "wp"),
    )
    assert subset_of(analysis, CART, "v1").routes == ()
    [finding] = of(analysis, Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE)
    assert str(finding.resource) == "VirtualService web/cart-web"
    assert finding.clients == ClientSet.of(["web"])
    assert "go through waypoint shop/wp" in finding.message


def test_the_service_label_wins_over_the_namespace_and_none_opts_out():
    ambient = {"istio.io/dataplane-mode": "ambient"}
    analysis = analyze(
        *cart(namespace("web", **ambient), labels={"istio.io/use-waypoint": "none"}),
        namespace("shop", **{"istio.io/use-waypoint": "waypoint"}),
        waypoint("shop"),
    )
    assert "web" not in route_clients(analysis)
    assert of(analysis, Code.WAYPOINT_UNAVAILABLE) == []


@pytest.mark.parametrize(
    ("objs", "why"),
    [
        ((), "does not exist"),
        ((waypoint("shop", ready=False),), "is not ready (no address)"),
        (
            (waypoint("shop", **{"istio.io/waypoint-for": "workload"}),),
            "takes workload traffic, not service traffic",
        ),
    ],
)
def test_a_waypoint_that_cannot_be_used_is_a_finding_naming_the_ambient_clients(objs, why):
    ambient = {"istio.io/dataplane-mode": "ambient"}
    analysis = analyze(
        *cart(namespace("web", **ambient), labels={"istio.io/use-waypoint": "waypoint"}), *objs
    )
    [finding] = of(analysis, Code.WAYPOINT_UNAVAILABLE)
    assert str(finding.resource) == "Service shop/cart"
    assert why in finding.message
    assert "ambient clients in web get no waypoint" in finding.message
    assert "web" not in route_clients(analysis)


# -- out of the mesh -------------------------------------------------------------------------------


def test_an_explicitly_disabled_namespace_applies_nothing():
    analysis = analyze(*cart(namespace("web", **{"istio-injection": "disabled"})))
    assert "web" not in route_clients(analysis)
    [dropped] = (
        build_mesh(*cart(namespace("web", **{"istio-injection": "disabled"})))
        .table.routes_to(CART, ClientSet.of(["web"]))
        .dropped
    )
    assert "clients in web are out of the mesh (no proxy)" in dropped.dropped


# -- Sidecar scope ---------------------------------------------------------------------------------


def test_the_root_default_sidecar_reads_dot_as_the_client_namespace():
    analysis = analyze(*cart(sidecar("istio-system", "./*")))
    # Only shop's own clients import cart (`./*` in shop); web and frontend do not.
    assert route_clients(analysis) == ClientSet.of(["shop"])


def test_a_namespace_sidecar_replaces_the_root_default():
    analysis = analyze(*cart(sidecar("istio-system", "./*"), sidecar("web", "shop/*")))
    assert route_clients(analysis) == ClientSet.of(["shop", "web"])


def test_a_wildcard_namespace_imports_and_a_tilde_entry_excludes():
    analysis = analyze(*cart(sidecar("web", "*/*", f"~shop/{CART}")))
    assert "web" not in route_clients(analysis)
    assert "frontend" in route_clients(analysis)


def test_virtual_services_are_imported_by_their_own_namespace():
    private = vs(
        "cart-web", [CART], namespace="web", export_to=["."], http=[route(dest(CART, "v1"))]
    )
    # web imports shop's services and config, not its own: its private VS is not used.
    analysis = analyze(*cart(private, sidecar("web", "shop/*")))
    assert subset_of(analysis, CART, "v1").routes == ()
    assert "web" in route_clients(analysis)
    [finding] = of(analysis, Code.SIDECAR_HIDES_ROUTED_HOST)
    assert str(finding.resource) == "Sidecar web/default"
    assert "does not import VirtualServices of web" in finding.message
    # Importing its own namespace too (`./*`) brings the private override back.
    analysis = analyze(*cart(private, sidecar("web", "shop/*", "./*")))
    [r] = subset_of(analysis, CART, "v1").routes
    assert r.clients == ClientSet.of(["web"])
    assert of(analysis, Code.SIDECAR_HIDES_ROUTED_HOST) == []


def test_a_sidecar_that_hides_a_host_its_namespace_routes_is_a_finding():
    private = vs(
        "cart-web", [CART], namespace="web", export_to=["."], http=[route(dest(CART, "v1"))]
    )
    analysis = analyze(*cart(private, sidecar("web", "./*")))
    [finding] = of(analysis, Code.SIDECAR_HIDES_ROUTED_HOST)
    assert f"does not import {CART}" in finding.message
    assert finding.clients == ClientSet.of(["web"])


def test_a_sidecar_of_an_ambient_namespace_or_selecting_ambient_pods_has_no_effect():
    ambient = {"istio.io/dataplane-mode": "ambient"}
    analysis = analyze(
        *cart(namespace("web", **ambient), sidecar("web", "./*")),
        sidecar("frontend", "./*", name="storefront", selector={"app": "storefront"}),
        deployment(
            "storefront-ambient",
            {"app": "storefront", "istio.io/dataplane-mode": "ambient"},
            namespace="frontend",
        ),
    )
    found = of(analysis, Code.SIDECAR_SELECTS_AMBIENT)
    assert sorted(str(f.resource) for f in found) == [
        "Sidecar frontend/storefront",
        "Sidecar web/default",
    ]
    assert {f.istio for f in found} == {"IST0167"}


def test_sidecar_resources_are_read_with_every_egress_listener_and_the_outbound_policy():
    parsed = parse_object(
        sidecar(
            "web",
            "./*",
            outboundTrafficPolicy={"mode": "REGISTRY_ONLY"},
        )
        | {},
        Origin(file="s.yaml", line=1),
    )
    assert parsed.egress_hosts == ("./*",)
    assert parsed.outbound_mode == "REGISTRY_ONLY"


def test_an_inject_annotation_false_opts_a_pod_out_and_true_adds_nothing_without_the_label():
    """pkg/kube/inject/webhook.go injectRequired: the label wins over the annotation; the
    annotation is read only by a webhook already called (an injected namespace)."""
    out_of_mesh = deployment("batch", {"app": "batch"}, namespace="frontend")
    out_of_mesh["spec"]["template"]["metadata"]["annotations"] = {
        "sidecar.istio.io/inject": "false"
    }
    asked = deployment("asked", {"app": "asked"}, namespace="web")
    asked["spec"]["template"]["metadata"]["annotations"] = {"sidecar.istio.io/inject": "true"}
    mesh = build_mesh(
        *cart(out_of_mesh, asked),
        namespace("frontend", **{"istio-injection": "enabled"}),
        namespace("web", **{"istio.io/dataplane-mode": "ambient"}),
    )
    notes = mesh.analyze().notes
    assert any(
        n.startswith(
            "frontend: workloads of mixed data planes, 1 sidecar and 1 out of the mesh "
            "(Deployment batch) of 2"
        )
        for n in notes
    )
    assert not any(n.startswith("web:") for n in notes)  # the annotation alone calls no webhook
