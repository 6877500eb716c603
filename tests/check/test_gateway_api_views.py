"""The two situations of the Gateway API issue through `check` (JSON, text, SARIF) and `trace`:
pilot's answer in every view (fixtures in tests/fixtures/routing; the inspector's side is in
tests/tui/test_gateway_api_views.py)."""

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
    code = main(["check", folder, "-o", "json", "--max-fixes", "0", *args])
    return code, json.loads(capsys.readouterr().out)


def trace_json(capsys, folder: str, *args: str) -> dict:
    code = main(["trace", folder, *args, "-o", "json"])
    assert code in (0, 1)
    return json.loads(capsys.readouterr().out)


def subset_json(doc: dict, name: str) -> dict:
    [host] = doc["hosts"]
    return next(s for s in host["subsets"] if s["name"] == name)


def codes(doc: dict) -> list[tuple[str, str, str]]:
    return sorted((f["code"], f["severity"], f["resource"]) for f in doc["findings"])


CONSUMER = f"{ROUTING}/httproute-consumer"
K8S_GATEWAY = f"{ROUTING}/vs-on-k8s-gateway"


def test_a_consumer_httproute_wins_for_its_namespace_and_bypasses_the_subset_policy(capsys):
    code, doc = check_json(capsys, CONSUMER)
    [host] = doc["hosts"]
    # The HTTPRoute's backend is the whole Service, for clients in bookinfo only.
    [route] = host["routes"]
    assert (route["routeKind"], route["gatewayApiRoute"], route["gatewayApiRule"]) == (
        "HTTPRoute",
        "bookinfo/reviews",
        "rules[0]",
    )
    assert "subset" not in route and route["weight"] == 100
    assert route["clientNamespaces"] == ["bookinfo"]
    # The VirtualService's 50/50 split reaches v1 and v2 for everyone else.
    for name in ("v1", "v2"):
        [vs_route] = subset_json(doc, name)["routes"]
        assert vs_route["weight"] == 50
        assert vs_route["clientNamespaces"] == ["*"]
        assert vs_route["exceptClientNamespaces"] == ["bookinfo"]
    assert codes(doc) == [
        ("HTTPRouteAndVirtualServiceClaimHost", "warning", "VirtualService reviews/reviews"),
        ("SubsetPolicyBypassedByGatewayRoute", "warning", "DestinationRule reviews/reviews"),
    ]
    bypass = next(f for f in doc["findings"] if f["code"] == "SubsetPolicyBypassedByGatewayRoute")
    assert bypass["subset"] == "v2"
    assert "never applied for clients in bookinfo" in bypass["message"]
    assert "a Service per version" not in bypass["message"]  # the fix is worded once, below
    assert "give each version its own Service" in bypass["message"]
    mixed = next(f for f in doc["findings"] if f["code"] == "HTTPRouteAndVirtualServiceClaimHost")
    assert "clients in bookinfo use HTTPRoute bookinfo/reviews" in mixed["message"]
    assert "own namespace comes first" in mixed["message"]
    assert code == 1

    # The trace agrees: bookinfo's request goes to the Service without a subset, with the
    # DestinationRule's top-level policy and without v2's outlierDetection.
    t = trace_json(capsys, CONSUMER, "--from", "bookinfo", "--to", "reviews.reviews")
    assert (t["routeKind"], t["virtualService"]) == ("HTTPRoute", "bookinfo/reviews")
    [hop] = t["destinations"]
    assert hop["subset"] is None and hop["weight"] == 100
    assert "connectionPool" in hop["policy"] and "outlierDetection" not in hop["policy"]
    t = trace_json(capsys, CONSUMER, "--from", "ratings", "--to", "reviews.reviews")
    assert (t["routeKind"], t["virtualService"]) == ("VirtualService", "reviews/reviews")
    assert sorted(d["subset"] for d in t["destinations"]) == ["v1", "v2"]


def test_a_client_view_of_another_namespace_sees_only_the_virtual_service(capsys):
    code, doc = check_json(capsys, CONSUMER, "--client-namespace", "ratings")
    [host] = doc["hosts"]
    assert host["routes"] == []
    [dropped] = host["droppedRoutes"]
    assert dropped["routeKind"] == "HTTPRoute"
    assert "is used only by clients in bookinfo" in dropped["dropped"]
    assert [f["code"] for f in doc["findings"]] == []
    assert code == 0


def test_check_text_and_sarif_name_the_httproute(capsys):
    main(["check", CONSUMER, "--max-fixes", "0"])
    text = capsys.readouterr().out
    assert "SubsetPolicyBypassedByGatewayRoute" in text and "HTTPRoute bookinfo/reviews" in text
    main(["check", CONSUMER, "-o", "sarif", "--max-fixes", "0"])
    sarif = json.loads(capsys.readouterr().out)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"SubsetPolicyBypassedByGatewayRoute", "HTTPRouteAndVirtualServiceClaimHost"} <= rules
    results = sarif["runs"][0]["results"]
    bypass = next(r for r in results if r["ruleId"] == "SubsetPolicyBypassedByGatewayRoute")
    location = bypass["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("httproute-consumer/mesh.yaml")


def test_a_virtual_service_naming_a_kubernetes_gateway_binds_to_nothing(capsys):
    code, doc = check_json(capsys, K8S_GATEWAY)
    v3 = subset_json(doc, "v3")
    assert v3["routes"] == []
    [dropped] = v3["droppedRoutes"]
    assert "bound only to ingress/web, a Kubernetes Gateway" in dropped["dropped"]
    assert v3["policyNeverApplied"] is True
    assert codes(doc) == [
        ("SubsetPolicyNeverApplied", "warning", "DestinationRule shop/catalog"),
        ("VirtualServiceOnKubernetesGateway", "error", "VirtualService shop/edge"),
    ]
    finding = next(f for f in doc["findings"] if f["code"] == "VirtualServiceOnKubernetesGateway")
    assert (
        "write an HTTPRoute with parentRefs [{name: web, namespace: ingress}]"
        in (finding["message"])
    )
    assert "ingress/web~istio-autogenerated-k8s-gateway~http" in finding["message"]
    assert finding["istio"] is None  # istioctl analyze is silent
    assert code == 1
    t = trace_json(
        capsys, K8S_GATEWAY, "--from", "shop", "--to", "catalog.shop", "--path", "/catalog"
    )
    assert [d["subset"] for d in t["destinations"]] == ["v1"]


# The shape of Istio's analyzer case "virtualServiceKubernetesGateways" (pkg/config/analysis/
# analyzers/analyzers_test.go): a Kubernetes Gateway with one listener, a VirtualService naming
# it whose host the listener serves, and one whose host it does not. Our own mesh, their rule.
ISTIO_ANALYZER_CASE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  gatewayClassName: istio
  listeners:
  - {name: web, hostname: shop.example, port: 80, protocol: HTTP}
---
apiVersion: v1
kind: Service
metadata: {name: store, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
  selector: {app: store}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: storefront, namespace: shop}
spec:
  hosts: [shop.example]
  gateways: [shop/edge]
  http:
  - route:
    - destination: {host: store, port: {number: 80}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: storefront-elsewhere, namespace: shop}
spec:
  hosts: [other.shop.example]
  gateways: [shop/edge]
  http:
  - route:
    - destination: {host: store, port: {number: 80}}
"""


def test_istios_analyzer_case_for_virtual_services_on_kubernetes_gateways(capsys, tmp_path):
    # istioctl (virtualservice.GatewayAnalyzer) reports IST0132 for the VirtualService whose
    # host no listener accepts, and no IST0101 (the Kubernetes Gateway exists). Compared per
    # code: meshtui adds that neither VirtualService binds at all.
    (tmp_path / "mesh.yaml").write_text(ISTIO_ANALYZER_CASE)
    _, doc = check_json(capsys, str(tmp_path))
    by_code: dict[str, set[str]] = {}
    for f in doc["findings"]:
        by_code.setdefault(f["code"], set()).add(f["resource"])
    assert by_code.get("HostNotInGateway") == {"VirtualService shop/storefront-elsewhere"}
    assert "UnknownGateway" not in by_code
    assert by_code["VirtualServiceOnKubernetesGateway"] == {
        "VirtualService shop/storefront",
        "VirtualService shop/storefront-elsewhere",
    }


def test_bad_gateway_api_input_gets_findings_by_file_and_line_and_the_rest_loads(capsys):
    code, doc = check_json(capsys, "tests/fixtures/gateway-api-bad")
    found = {(f["code"], f["resource"], f["line"]) for f in doc["findings"]}
    assert found == {
        ("RouteWithoutParent", "HTTPRoute shop/orphan", 12),
        ("UnsupportedRefKind", "HTTPRoute shop/odd-backend", 23),
        ("InvalidResource", "HTTPRoute shop/bad-match", 32),
    }
    invalid = next(f for f in doc["findings"] if f["code"] == "InvalidResource")
    assert "path.type must be one of Exact, PathPrefix, RegularExpression" in invalid["message"]
    assert [h["host"] for h in doc["hosts"]] == ["reviews.shop.svc.cluster.local"]
    assert code == 1


INGRESS = "tests/fixtures/gateway-api-ingress"


def test_gateway_routes_are_routed_per_listener_for_the_gateways_namespace(capsys):
    code, doc = check_json(capsys, INGRESS)
    hosts = {h["host"]: h for h in doc["hosts"]}
    listener = "ingress/web~istio-autogenerated-k8s-gateway~http"
    for name, weight in (("catalog-v1", 90), ("catalog-v2", 10)):
        [r] = hosts[f"{name}.shop.svc.cluster.local"]["routes"]
        assert (r["gatewayApiRoute"], r["weight"], r["gateways"]) == (
            "shop/shop",
            weight,
            [listener],
        )
        assert r["clientNamespaces"] == ["ingress"]  # the gateway's proxies
    # A backend of another namespace without a ReferenceGrant keeps its share and answers 500.
    billing = hosts["billing.billing.svc.cluster.local"]
    assert billing["routes"] == []
    [dropped] = billing["droppedRoutes"]
    assert "its share answers 500 (RefNotPermitted)" in dropped["dropped"]
    assert codes(doc) == [
        ("BackendRefNotPermitted", "error", "HTTPRoute shop/pay"),
        ("RouteNotAdmitted", "error", "HTTPRoute shop/admin"),
    ]
    admitted = next(f for f in doc["findings"] if f["code"] == "RouteNotAdmitted")
    assert (
        "hostname *.example.com matches none of the route's hostnames (admin.internal)"
        in (admitted["message"])
    )
    assert code == 1

    t = trace_json(
        capsys,
        INGRESS,
        "--gateway",
        "ingress/web",
        "--to",
        "shop.example.com",
        "--path",
        "/catalog/x",
    )
    assert t["gateway"] == listener
    assert sorted((d["host"], d["weight"]) for d in t["destinations"]) == [
        ("catalog-v1.shop.svc.cluster.local", 90),
        ("catalog-v2.shop.svc.cluster.local", 10),
    ]
    t = trace_json(capsys, INGRESS, "--gateway", "ingress/web", "--to", "pay.example.com")
    assert any("RefNotPermitted" in p for p in t["problems"])


def test_a_reference_grant_lets_the_gateway_route_across_namespaces(capsys, tmp_path):
    grant = """
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-shop, namespace: billing}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service}]
"""
    (tmp_path / "mesh.yaml").write_text((ROOT / INGRESS / "mesh.yaml").read_text() + grant)
    _, doc = check_json(capsys, str(tmp_path))
    billing = next(h for h in doc["hosts"] if h["host"].startswith("billing."))
    [r] = billing["routes"]
    assert r["clientNamespaces"] == ["ingress"]
    assert "BackendRefNotPermitted" not in {f["code"] for f in doc["findings"]}


def test_a_listener_admitting_only_its_own_namespace_rejects_the_route(capsys, tmp_path):
    text = (ROOT / INGRESS / "mesh.yaml").read_text().replace("{from: All}", "{from: Same}")
    (tmp_path / "mesh.yaml").write_text(text)
    _, doc = check_json(capsys, str(tmp_path))
    refused = {f["resource"] for f in doc["findings"] if f["code"] == "RouteNotAdmitted"}
    assert refused == {"HTTPRoute shop/shop", "HTTPRoute shop/admin", "HTTPRoute shop/pay"}
    assert all(h["routes"] == [] for h in doc["hosts"])


def test_the_gateway_api_example_is_clean_and_traces_its_routes(capsys):
    code, doc = check_json(capsys, "examples/gateway-api")
    assert (code, doc["findings"]) == (0, [])
    t = trace_json(
        capsys,
        "examples/gateway-api",
        "--gateway",
        "ingress/public",
        "--to",
        "www.bookstore.example",
        "--path",
        "/api/books",
    )
    assert [d["host"] for d in t["destinations"]] == ["catalog.bookstore.svc.cluster.local"]
    assert t["timeout"] == "5s"
    t = trace_json(capsys, "examples/gateway-api", "--from", "shop", "--to", "catalog.bookstore")
    assert sorted((d["host"].split(".")[0], d["weight"]) for d in t["destinations"]) == [
        ("catalog-v1", 90),
        ("catalog-v2", 10),
    ]


FILTERS = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews-v2, namespace: shop}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: shadow, namespace: shop}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /api}
      method: POST
      queryParams: [{name: beta, value: "1"}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 9080}}
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-from, value: mesh}]}
    timeouts: {request: 3s}
    backendRefs: [{name: reviews-v2, port: 9080}]
"""


def test_the_trace_follows_a_routes_matches_filters_and_timeout(capsys, tmp_path):
    (tmp_path / "mesh.yaml").write_text(FILTERS)
    args = ["--from", "shop", "--to", "reviews.shop", "--path", "/api/x?beta=1", "--method", "POST"]
    t = trace_json(capsys, str(tmp_path), *args)
    assert [d["host"] for d in t["destinations"]] == ["reviews-v2.shop.svc.cluster.local"]
    assert [m["host"] for m in t["mirror"]] == ["shadow.shop.svc.cluster.local"]
    assert t["timeout"] == "3s"
    assert t["rewrite"] == {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}
    assert t["headers"] == {"request": {"set": [{"name": "x-from", "value": "mesh"}]}}
    # The method and the query parameter are part of the match.
    t = trace_json(
        capsys, str(tmp_path), "--from", "shop", "--to", "reviews.shop", "--path", "/api/x?beta=1"
    )
    assert t["destinations"] == [] and "404" in t["problems"][0]
    _, doc = check_json(capsys, str(tmp_path))
    shadow = next(h for h in doc["hosts"] if h["host"].startswith("shadow."))
    [mirror] = shadow["routes"]
    assert (mirror["kind"], mirror["gatewayApiRoute"]) == ("mirror", "shop/reviews")


RULES = f"{ROUTING}/httproute-rules"


def test_the_trace_names_gateway_api_rules_as_written_with_file_and_line(capsys):
    # Two HTTPRoutes merged on one Service, a rule of two matches: the trace names each rule
    # by its route and `rules[i]` (`.matches[j]`), never the generated VirtualService's http[i].
    args = ["--from", "shop", "--to", "reviews.shop", "-H", "x-canary: 1", "--path", "/q"]
    assert main(["trace", RULES, *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:5] == [
        "HTTPRoutes shop/a, shop/b handle it: pilot merges their rules in precedence order.",
        "  skips HTTPRoute shop/b rules[1]: uri exact '/v2/x' wanted, the path is '/q'",
        "  skips HTTPRoute shop/a rules[0].matches[0]: uri prefix '/v2' wanted, the path is '/q'",
        f"  matches HTTPRoute shop/a rules[0].matches[1] ({RULES}/mesh.yaml:29).",
    ]
    t = trace_json(capsys, RULES, *args)
    assert (t["rule"], t["writtenIn"], t["location"]) == (
        "rules[0].matches[1]",
        {"kind": "HTTPRoute", "namespace": "shop", "name": "a"},
        f"{RULES}/mesh.yaml:29",
    )
    assert t["gatewayApiRoutes"] == ["HTTPRoute shop/b", "HTTPRoute shop/a"]
    assert [(s["writtenIn"]["name"], s["rule"]) for s in t["skipped"]] == [
        ("b", "rules[1]"),
        ("a", "rules[0].matches[0]"),
    ]
    # A rule of one match is its `rules[i]` entry, at that entry's line.
    t = trace_json(capsys, RULES, "--from", "shop", "--to", "reviews.shop", "--path", "/")
    assert (t["writtenIn"]["name"], t["rule"], t["location"]) == (
        "a",
        "rules[1]",
        f"{RULES}/mesh.yaml:31",
    )


def test_check_names_gateway_api_rules_as_written_in_text_json_and_sarif(capsys):
    code, doc = check_json(capsys, RULES)
    hosts = {h["host"]: h for h in doc["hosts"]}
    v2 = hosts["reviews-v2.shop.svc.cluster.local"]
    written = [(r["gatewayApiRoute"], r["gatewayApiRule"]) for r in v2["routes"]]
    assert written == [
        ("shop/b", "rules[1]"),
        ("shop/a", "rules[0].matches[0]"),
        ("shop/a", "rules[0].matches[1]"),
    ]
    [dropped] = v2["droppedRoutes"]
    assert (dropped["gatewayApiRoute"], dropped["gatewayApiRule"]) == ("shop/b", "rules[0]")
    # Both catch-alls are the CRD's default `path: {type: PathPrefix, value: /}`: b's repeats a's.
    assert dropped["dropped"] == "the same match as HTTPRoute shop/a rules[1]"
    # The rule that never matches is reported on the HTTPRoute, at its rule's line; istioctl
    # analyzes no generated VirtualService, so no IST0130.
    [finding] = doc["findings"]
    assert (finding["code"], finding["resource"], finding["line"], finding["istio"]) == (
        "UnreachableRule",
        "HTTPRoute shop/b",
        39,
        None,
    )
    assert finding["message"].startswith(
        "rule rules[0] of HTTPRoute shop/b can never match: the same match as HTTPRoute shop/a "
        "rules[1]"
    )
    assert code == 1  # a warning fails the check by default
    main(["check", RULES, "--max-fixes", "0"])
    text = capsys.readouterr().out
    assert f"HTTPRoute shop/b  ({RULES}/mesh.yaml:39)" in text
    assert "http[" not in text
    main(["check", RULES, "-o", "sarif", "--max-fixes", "0"])
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 39
    assert "http[" not in result["message"]["text"]


def test_diff_names_a_changed_gateway_api_rule_as_written(capsys, tmp_path):
    # HTTPRoute shop/b's exact rule now sends to reviews instead of reviews-v2.
    text = (ROOT / RULES / "mesh.yaml").read_text()
    changed = text.replace(
        "value: /v2/x}\n    backendRefs: [{name: reviews-v2",
        "value: /v2/x}\n    backendRefs: [{name: reviews",
    )
    assert changed != text
    (tmp_path / "mesh.yaml").write_text(changed)
    main(["diff", RULES, str(tmp_path)])
    out = capsys.readouterr().out
    assert "route HTTPRoute shop/b rules[1] to port 9080: 100% → no route" in out
    assert "route HTTPRoute shop/b rules[1] to port 9080: no route → 100%" in out
    assert "http[" not in out
