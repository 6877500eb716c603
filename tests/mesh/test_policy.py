"""Effective traffic policy: Istio's MergeTrafficPolicy / MergeSubsetTrafficPolicy.

Cases follow the DestinationRule reference (TrafficPolicy, portLevelSettings: "port-level
settings ... are not inherited") and pilot/pkg/networking/util's own test table.
"""

from __future__ import annotations

from meshtui.mesh.policy import Level, effective_policy, policy_ports, port_settings, sets_anything
from tests.helpers import port_policy

ISTIO_MUTUAL = {"mode": "ISTIO_MUTUAL"}
LEAST_REQUEST = {"simple": "LEAST_REQUEST"}
ROUND_ROBIN = {"simple": "ROUND_ROBIN"}
RANDOM = {"simple": "RANDOM"}


def test_default_route_gets_host_top_level_policy():
    host = {"tls": ISTIO_MUTUAL, "loadBalancer": RANDOM}
    policy = effective_policy(host)
    assert policy.as_dict() == {"tls": ISTIO_MUTUAL, "loadBalancer": RANDOM}
    assert policy.origins() == {"tls": "host", "loadBalancer": "host"}


def test_without_any_policy_every_field_is_istio_default():
    policy = effective_policy(None, None, 9080)
    assert policy.as_dict() == {}
    assert all(f.level is Level.DEFAULT and f.is_default for f in policy.fields)


def test_port_level_settings_replace_host_fields_on_that_port():
    host = {
        "loadBalancer": RANDOM,
        "portLevelSettings": [port_policy(9080, loadBalancer=LEAST_REQUEST)],
    }
    on_port = effective_policy(host, None, 9080)
    assert on_port.get("loadBalancer").value == LEAST_REQUEST
    assert on_port.get("loadBalancer").level is Level.HOST_PORT


def test_port_level_settings_fall_back_to_istio_defaults_not_host_values():
    host = {
        "tls": ISTIO_MUTUAL,
        "connectionPool": {"tcp": {"maxConnections": 100}},
        "outlierDetection": {"consecutive5xxErrors": 7},
        "portLevelSettings": [port_policy(9080, loadBalancer=LEAST_REQUEST)],
    }
    on_port = effective_policy(host, None, 9080)
    # tls, connectionPool and outlierDetection are not inherited from the host level.
    assert on_port.as_dict() == {"loadBalancer": LEAST_REQUEST}
    for name in ("tls", "connectionPool", "outlierDetection"):
        assert on_port.get(name).level is Level.DEFAULT


def test_port_level_settings_do_not_touch_other_ports():
    host = {"tls": ISTIO_MUTUAL, "portLevelSettings": [port_policy(9080, loadBalancer=RANDOM)]}
    assert effective_policy(host, None, 8080).as_dict() == {"tls": ISTIO_MUTUAL}
    assert effective_policy(host, None, 8080).origins() == {"tls": "host"}


def test_first_port_level_entry_for_a_port_wins():
    host = {
        "portLevelSettings": [
            port_policy(9080, loadBalancer=RANDOM),
            port_policy(9080, loadBalancer=ROUND_ROBIN),
        ]
    }
    assert effective_policy(host, None, 9080).as_dict() == {"loadBalancer": RANDOM}
    assert port_settings(host, 9080)["loadBalancer"] == RANDOM


def test_subset_field_replaces_host_field_and_the_others_are_inherited():
    host = {"tls": ISTIO_MUTUAL, "loadBalancer": RANDOM}
    subset = {"loadBalancer": ROUND_ROBIN}
    policy = effective_policy(host, subset)
    assert policy.as_dict() == {"tls": ISTIO_MUTUAL, "loadBalancer": ROUND_ROBIN}
    assert policy.origins() == {"tls": "host", "loadBalancer": "subset"}


def test_subset_connection_pool_replaces_host_connection_pool_whole():
    host = {"connectionPool": {"tcp": {"maxConnections": 100}, "http": {"maxRetries": 3}}}
    subset = {"connectionPool": {"http": {"http1MaxPendingRequests": 10}}}
    policy = effective_policy(host, subset)
    # No deep merge: the host's tcp settings are gone, and so is http.maxRetries.
    assert policy.get("connectionPool").value == {"http": {"http1MaxPendingRequests": 10}}


def test_subset_outlier_detection_replaces_host_outlier_detection_whole():
    host = {"outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s"}}
    subset = {"outlierDetection": {"baseEjectionTime": "1m"}}
    assert effective_policy(host, subset).get("outlierDetection").value == {
        "baseEjectionTime": "1m"
    }


def test_subset_inherits_host_port_level_settings_for_fields_it_leaves_out():
    host = {
        "tls": ISTIO_MUTUAL,
        "portLevelSettings": [port_policy(9080, loadBalancer=RANDOM, tls={"mode": "SIMPLE"})],
    }
    subset = {"loadBalancer": ROUND_ROBIN}
    on_port = effective_policy(host, subset, 9080)
    assert on_port.as_dict() == {"loadBalancer": ROUND_ROBIN, "tls": {"mode": "SIMPLE"}}
    assert on_port.origins() == {"loadBalancer": "subset", "tls": "host-port"}


def test_subset_port_level_settings_replace_the_four_fields_again():
    # pilot/pkg/networking/util TestMergeSubsetTrafficPolicy, "merge port level policy, and do
    # not inherit top-level fields" (with a parent policy): only the subset's port entry is left.
    host = {
        "loadBalancer": ROUND_ROBIN,
        "outlierDetection": {"consecutive5xxErrors": 20},
        "portLevelSettings": [port_policy(8080, outlierDetection={"consecutive5xxErrors": 15})],
    }
    subset = {
        "loadBalancer": ROUND_ROBIN,
        "connectionPool": {"http": {"maxRetries": 10}},
        "portLevelSettings": [port_policy(8080, outlierDetection={"consecutive5xxErrors": 13})],
    }
    on_port = effective_policy(host, subset, 8080)
    assert on_port.as_dict() == {"outlierDetection": {"consecutive5xxErrors": 13}}
    assert on_port.origins() == {"outlierDetection": "subset-port"}


def test_subset_port_level_settings_without_host_policy_do_not_inherit_subset_fields():
    subset = {
        "loadBalancer": ROUND_ROBIN,
        "connectionPool": {"http": {"maxRetries": 10}},
        "portLevelSettings": [port_policy(8080, loadBalancer=LEAST_REQUEST)],
    }
    assert effective_policy(None, subset, 8080).as_dict() == {"loadBalancer": LEAST_REQUEST}


def test_subset_policy_on_a_port_without_entries_merges_as_top_level():
    # The same table's "default cluster, non-matching port selector" case.
    host = {
        "loadBalancer": ROUND_ROBIN,
        "outlierDetection": {"consecutive5xxErrors": 20},
        "portLevelSettings": [port_policy(8080, outlierDetection={"consecutive5xxErrors": 15})],
    }
    subset = {
        "loadBalancer": ROUND_ROBIN,
        "connectionPool": {"http": {"maxRetries": 10}},
        "portLevelSettings": [port_policy(8080, outlierDetection={"consecutive5xxErrors": 13})],
    }
    assert effective_policy(host, subset, 9090).as_dict() == {
        "loadBalancer": ROUND_ROBIN,
        "connectionPool": {"http": {"maxRetries": 10}},
        "outlierDetection": {"consecutive5xxErrors": 20},
    }


def test_tunnel_and_proxy_protocol_follow_subset_over_host():
    host = {"tunnel": {"targetHost": "a.example.com", "targetPort": 8443}, "proxyProtocol": {}}
    subset = {"tunnel": {"targetHost": "b.example.com", "targetPort": 443}}
    policy = effective_policy(host, subset)
    assert policy.get("tunnel").value == {"targetHost": "b.example.com", "targetPort": 443}
    assert policy.get("tunnel").level is Level.SUBSET
    assert policy.get("proxyProtocol").level is Level.HOST


def test_retry_budget_of_subset_replaces_host_retry_budget():
    host = {"retryBudget": {"percent": 20, "minRetryConcurrency": 3}}
    subset = {"retryBudget": {"percent": 5}}
    assert effective_policy(host, subset).get("retryBudget").value == {"percent": 5}


def test_empty_subset_traffic_policy_changes_nothing():
    host = {"tls": ISTIO_MUTUAL}
    assert not sets_anything({})
    assert not sets_anything(None)
    assert effective_policy(host, {}) == effective_policy(host)


def test_subset_with_only_port_level_settings_sets_something():
    assert sets_anything({"portLevelSettings": [port_policy(80, loadBalancer=RANDOM)]})


def test_policy_ports_lists_every_port_named_in_port_level_settings():
    host = {"portLevelSettings": [port_policy(9080, loadBalancer=RANDOM)]}
    subset = {"portLevelSettings": [port_policy(15000, tls=ISTIO_MUTUAL)]}
    assert policy_ports(host, subset, None) == {9080, 15000}


def test_port_level_settings_leave_the_other_host_fields_at_istio_defaults_on_that_port():
    # On a port with an entry, pilot uses the entry alone as the level's policy
    # (GetPortLevelTrafficPolicy copies only the four port-level fields): the host's tunnel,
    # proxyProtocol and retryBudget are not in force on that port either.
    host = {
        "tunnel": {"targetHost": "a.example.com", "targetPort": 8443},
        "proxyProtocol": {"version": "V2"},
        "retryBudget": {"percent": 20},
        "portLevelSettings": [port_policy(9080, loadBalancer=RANDOM)],
    }
    assert effective_policy(host, None, 9080).as_dict() == {"loadBalancer": RANDOM}
    assert effective_policy(host, None, 8080).origins() == {
        "tunnel": "host",
        "proxyProtocol": "host",
        "retryBudget": "host",
    }


def test_subset_port_level_settings_keep_the_inherited_tunnel_not_the_subset_one():
    host = {"proxyProtocol": {"version": "V1"}}
    subset = {
        "proxyProtocol": {"version": "V2"},
        "portLevelSettings": [port_policy(9080, tls=ISTIO_MUTUAL)],
    }
    on_port = effective_policy(host, subset, 9080)
    assert on_port.as_dict() == {"proxyProtocol": {"version": "V1"}, "tls": ISTIO_MUTUAL}
    assert on_port.origins() == {"proxyProtocol": "host", "tls": "subset-port"}
    # Without a port entry the subset's own field wins as usual.
    assert effective_policy(host, subset, 8080).get("proxyProtocol").level is Level.SUBSET
