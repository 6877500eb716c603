"""Match blocks against one request, each kind with the reason it fails (pilot route.go
TranslateRouteMatch, sourceMatchHTTP; Envoy's RouteMatch semantics)."""

from __future__ import annotations

import pytest

from meshtui.mesh.matching import RE2, Request, match_any, match_http, match_l4, string_match
from meshtui.mesh.resources import ObjectRef


def req(**kw) -> Request:
    base = {"host": "reviews.default.svc.cluster.local", "port": 9080, "source_namespace": "web"}
    return Request(**{**base, **kw})


def http(match: dict, request: Request, namespace: str = "default"):
    return match_http(match, request, namespace)


# -- uri -----------------------------------------------------------------------------------------


def test_uri_exact_matches_the_path_without_its_query():
    assert http({"uri": {"exact": "/api"}}, req(path="/api?x=1"))
    result = http({"uri": {"exact": "/api"}}, req(path="/api/v2"))
    assert not result
    assert result.why == "uri exact '/api' wanted, the path is '/api/v2'"


def test_uri_prefix():
    assert http({"uri": {"prefix": "/static"}}, req(path="/static/app.js"))
    assert not http({"uri": {"prefix": "/static"}}, req(path="/Static/app.js"))


def test_uri_regex_must_match_the_whole_path():
    assert http({"uri": {"regex": "/v[0-9]+/.*"}}, req(path="/v2/items"))
    result = http({"uri": {"regex": "/v[0-9]+"}}, req(path="/v2/items"))
    assert not result
    assert "uri regex '/v[0-9]+' wanted" in result.why


def test_ignore_uri_case_applies_to_exact_and_prefix():
    assert http({"uri": {"exact": "/API"}, "ignoreUriCase": True}, req(path="/api"))
    assert http({"uri": {"prefix": "/Static"}, "ignoreUriCase": True}, req(path="/STATIC/x"))
    result = http({"uri": {"exact": "/API"}}, req(path="/api"))
    assert not result


def test_ignore_uri_case_does_not_apply_to_regex():
    # Envoy: case_sensitive does not apply to safe_regex matching.
    assert not http({"uri": {"regex": "/API"}, "ignoreUriCase": True}, req(path="/api"))


def test_invalid_re2_regex_never_matches_and_says_so():
    result = http({"uri": {"regex": "/(a)\\1"}}, req(path="/aa"))
    if RE2:
        assert not result
        assert "is not valid RE2" in result.why
    else:  # Python's re accepts backreferences; the docstring says where the two differ
        assert result


# -- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"exact": "jason"}, "jason", True),
        ({"exact": "jason"}, "Jason", False),
        ({"prefix": "ja"}, "jason", True),
        ({"regex": "j.*n"}, "jason", True),
        ({"regex": "j.*"}, "xjason", False),
        ({}, "anything", True),  # no match type: present
        ({"regex": "*"}, "", True),  # pilot turns regex `*` into a present match
    ],
)
def test_header_kinds(spec, value, expected):
    assert bool(http({"headers": {"end-user": spec}}, req(headers={"end-user": value}))) is expected


def test_header_missing_says_the_request_has_none():
    result = http({"headers": {"end-user": {"exact": "jason"}}}, req())
    assert result.why == "header end-user: exact 'jason' wanted, the request has no end-user header"


def test_header_present_match_fails_without_the_header():
    result = http({"headers": {"x-canary": {}}}, req())
    assert not result
    assert "present wanted" in result.why


def test_header_names_are_case_insensitive():
    assert http({"headers": {"end-user": {"exact": "jason"}}}, req(headers={"end-user": "jason"}))
    request = Request("h", 80, headers={"End-User": "jason"})
    assert request.header("end-user") is None  # the trace lower-cases names when it builds one


def test_without_headers_excludes_a_matching_header():
    match = {"withoutHeaders": {"x-debug": {"exact": "1"}}}
    assert http(match, req())  # a missing header is empty, and "" is not "1"
    assert http(match, req(headers={"x-debug": "0"}))
    result = http(match, req(headers={"x-debug": "1"}))
    assert not result
    assert result.why == "withoutHeaders x-debug: exact '1' excludes it, the header is '1'"


def test_without_headers_present_excludes_any_value():
    match = {"withoutHeaders": {"x-debug": {}}}
    assert http(match, req())
    assert not http(match, req(headers={"x-debug": ""}))


def test_jwt_claim_headers_are_not_matched_by_a_trace():
    result = http({"headers": {"@request.auth.claims.group": {"exact": "a"}}}, req())
    assert not result
    assert "JWT claim" in result.why


# -- method, authority, scheme, query ------------------------------------------------------------


def test_method():
    assert http({"method": {"exact": "POST"}}, req(method="POST"))
    result = http({"method": {"exact": "POST"}}, req())
    assert result.why == "method exact 'POST' wanted, the request has 'GET'"


def test_authority_is_the_host_unless_a_host_header_is_given():
    assert http({"authority": {"prefix": "reviews"}}, req())
    assert http({"authority": {"exact": "r.example"}}, req(headers={"host": "r.example"}))


def test_scheme():
    assert http({"scheme": {"exact": "http"}}, req())
    assert not http({"scheme": {"exact": "https"}}, req())


def test_query_params():
    match = {"queryParams": {"debug": {"exact": "true"}}}
    assert http(match, req(path="/p?debug=true"))
    assert http(match, req(path="/p?debug=true&debug=false"))  # the first value counts
    result = http(match, req(path="/p"))
    assert result.why == "query debug exact 'true' wanted, the request has no ?debug"
    assert http({"queryParams": {"debug": {}}}, req(path="/p?debug"))
    assert http({"queryParams": {"v": {"regex": "[0-9]+"}}}, req(path="/p?v=42"))


# -- port, source, gateways ----------------------------------------------------------------------


def test_port():
    assert http({"port": 9080}, req())
    result = http({"port": 9443}, req())
    assert result.why == "port 9443 wanted, the request goes to port 9080"


def test_source_namespace():
    assert http({"sourceNamespace": "web"}, req())
    assert http({"sourceNamespace": "batch"}, req()).why == (
        "sourceNamespace batch wanted, the client is in web"
    )


def test_source_labels_need_the_client_workload():
    match = {"sourceLabels": {"app": "productpage"}}
    assert http(match, req(source_labels={"app": "productpage", "version": "v1"}))
    assert "the client has app=ratings" in http(match, req(source_labels={"app": "ratings"})).why
    unknown = http(match, req())
    assert not unknown
    assert "--from NAMESPACE/WORKLOAD" in unknown.why


def test_gateways_in_a_match_replace_the_source_conditions():
    # sourceMatchHTTP: with gateways listed, sourceLabels and sourceNamespace are not looked at.
    match = {"gateways": ["mesh"], "sourceNamespace": "other"}
    assert http(match, req())
    gateway = ObjectRef("Gateway", "istio-system", "public")
    result = http(match, req(gateway=gateway))
    assert result.why == "gateways [mesh] wanted, the request comes through istio-system/public"
    assert http({"gateways": ["istio-system/public"]}, req(gateway=gateway))
    assert http({"gateways": ["public"]}, req(gateway=gateway), namespace="istio-system")


def test_every_condition_of_a_block_must_hold():
    match = {"uri": {"prefix": "/api"}, "method": {"exact": "POST"}}
    assert http(match, req(path="/api/x", method="POST"))
    assert not http(match, req(path="/api/x"))


# -- several blocks, tcp and tls -----------------------------------------------------------------


def test_blocks_are_ored_and_each_miss_is_explained():
    blocks = ({"uri": {"exact": "/a"}}, {"uri": {"exact": "/b"}})
    assert match_any(blocks, req(path="/b"), "default", "http")
    result = match_any(blocks, req(path="/c"), "default", "http")
    assert result.why.startswith("match[0]: uri exact '/a' wanted")
    assert "; match[1]: uri exact '/b' wanted" in result.why


def test_a_rule_without_match_takes_every_request():
    assert match_any((), req(), "default", "http")


def test_tls_sni_hosts():
    assert match_l4({"sniHosts": ["*.example.com"]}, req(host="api.example.com"), "d", "tls")
    result = match_l4({"sniHosts": ["a.example.com"]}, req(host="b.example.com"), "d", "tls")
    assert result.why == "sniHosts [a.example.com] wanted, the SNI is b.example.com"


def test_tcp_port_and_destination_subnets():
    assert match_l4({"port": 9080}, req(), "d", "tcp")
    assert not match_l4({"port": 27017}, req(), "d", "tcp")
    assert (
        "destination IP" in match_l4({"destinationSubnets": ["10.0.0.0/8"]}, req(), "d", "tcp").why
    )


def test_string_match_absent_value_never_matches():
    assert string_match({"prefix": ""}, None) is False
