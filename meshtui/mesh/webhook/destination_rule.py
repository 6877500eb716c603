"""DestinationRule: validation.go ValidateDestinationRule and the traffic policy rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh.schema import Issue, Path, is_mapping
from meshtui.mesh.webhook.values import (
    IGNORED,
    Out,
    check_duration,
    check_export_to,
    check_host,
    check_labels,
    check_percent,
    check_port,
    check_subset_name,
    domain_error,
    duration_ns,
    entries_of,
    int_of,
    is_ip,
    mapping_of,
)


def _traffic_policy(out: Out, policy: object, path: Path, namespace: str) -> None:
    """validateTrafficPolicy."""
    if not is_mapping(policy):
        return
    fields = (
        "outlierDetection",
        "connectionPool",
        "loadBalancer",
        "tls",
        "portLevelSettings",
        "tunnel",
        "proxyProtocol",
        "retryBudget",
    )
    if all(policy.get(f) is None for f in fields):
        out.add(path, "a trafficPolicy must set at least one field", "validateTrafficPolicy")
        return
    if policy.get("tunnel") is not None and policy.get("proxyProtocol") is not None:
        out.add(path, "tunnel and proxyProtocol cannot be set together", "validateTrafficPolicy")
        return
    _policy_fields(out, policy, path)
    tunnel = policy.get("tunnel")
    if is_mapping(tunnel):
        tp = (*path, "tunnel")
        protocol = tunnel.get("protocol")
        if protocol not in (None, "", "CONNECT", "POST"):
            out.add((*tp, "protocol"), "must be CONNECT or POST", "validateTunnelSettings")
        target = tunnel.get("targetHost")
        if isinstance(target, str) and domain_error(target, False) and not is_ip(target):
            out.add(
                (*tp, "targetHost"),
                f"{target!r} is neither a host name nor an IP address",
                "validateTunnelSettings",
            )
        check_port(out, tunnel.get("targetPort"), (*tp, "targetPort"), "validateTunnelSettings")
    for i, entry in entries_of(policy.get("portLevelSettings")):
        ep = (*path, "portLevelSettings", i)
        if not is_mapping(entry):
            continue
        if entry.get("port") is None:
            out.add(
                (*ep, "port"), "is required in a port-level entry", "validatePortTrafficPolicies"
            )
        else:
            check_port(out, mapping_of(entry.get("port")).get("number"), (*ep, "port", "number"))
        if all(entry.get(f) is None for f in fields[:4]):
            out.add(ep, "a port-level entry must set a field", "validatePortTrafficPolicies")
        else:
            _policy_fields(out, entry, ep)


def _policy_fields(out: Out, policy: Mapping[str, Any], path: Path) -> None:
    outlier = policy.get("outlierDetection")
    _outlier(out, outlier, (*path, "outlierDetection"))
    _connection_pool(out, policy.get("connectionPool"), (*path, "connectionPool"))
    _load_balancer(out, policy.get("loadBalancer"), outlier, (*path, "loadBalancer"))
    _tls(out, policy.get("tls"), (*path, "tls"))


def _outlier(out: Out, outlier: object, path: Path) -> None:
    """validateOutlierDetection; consecutiveErrors is ignored by pilot (cluster_traffic_policy.go
    applyOutlierDetection reads consecutive5xxErrors and consecutiveGatewayErrors only)."""
    if not is_mapping(outlier):
        return
    for key in ("baseEjectionTime", "interval"):
        check_duration(out, outlier.get(key), (*path, key))
    if outlier.get("consecutiveErrors") not in (None, 0):
        out.issues.append(
            Issue(
                (*path, "consecutiveErrors"),
                "is ignored by Istio (deprecated; pilot's applyOutlierDetection reads only "
                "consecutive5xxErrors and consecutiveGatewayErrors): write consecutive5xxErrors "
                f"(or consecutiveGatewayErrors) instead, e.g. consecutive5xxErrors: "
                f"{outlier['consecutiveErrors']}",
                IGNORED,
            )
        )
    local = int_of(outlier.get("consecutiveLocalOriginFailures"))
    if local and local > 0 and not outlier.get("splitExternalLocalOriginErrors"):
        out.add(
            (*path, "consecutiveLocalOriginFailures"),
            "needs splitExternalLocalOriginErrors: true",
            "validateOutlierDetection",
        )
    for key in ("maxEjectionPercent", "minHealthPercent"):
        check_percent(out, outlier.get(key), (*path, key), "validateOutlierDetection")


def _connection_pool(out: Out, pool: object, path: Path) -> None:
    """validateConnectionPool."""
    if not is_mapping(pool):
        return
    rule = "validateConnectionPool"
    http, tcp = pool.get("http"), pool.get("tcp")
    if http is None and tcp is None:
        out.add(path, "a connectionPool must set http or tcp", rule)
        return
    if is_mapping(http):
        hp = (*path, "http")
        for key in (
            "http1MaxPendingRequests",
            "http2MaxRequests",
            "maxRequestsPerConnection",
            "maxRetries",
            "maxConcurrentStreams",
        ):
            n = int_of(http.get(key))
            if n is not None and n < 0:
                out.add((*hp, key), f"is {n}: must not be negative", rule)
        check_duration(out, http.get("idleTimeout"), (*hp, "idleTimeout"))
        if http.get("h2UpgradePolicy") == "UPGRADE" and http.get("useClientProtocol") is True:
            out.add((*hp, "useClientProtocol"), "cannot be true with h2UpgradePolicy UPGRADE", rule)
    if is_mapping(tcp):
        tp = (*path, "tcp")
        n = int_of(tcp.get("maxConnections"))
        if n is not None and n < 0:
            out.add((*tp, "maxConnections"), f"is {n}: must not be negative", rule)
        for key in ("connectTimeout", "maxConnectionDuration"):
            check_duration(out, tcp.get(key), (*tp, key))
        if duration_ns(tcp.get("idleTimeout")) != 0:  # 0s disables the timeout
            check_duration(out, tcp.get("idleTimeout"), (*tp, "idleTimeout"))
        keepalive = mapping_of(tcp.get("tcpKeepalive"))
        for key in ("time", "interval"):
            check_duration(out, keepalive.get(key), (*tp, "tcpKeepalive", key))


def _is_prime(n: int) -> bool:
    if 0 < n < 4:
        return True
    if n % 2 == 0:
        return False
    return all(n % f for f in range(3, int(n**0.5) + 1, 2))


def _load_balancer(out: Out, lb: object, outlier: object, path: Path) -> None:
    """validateLoadBalancer and agent.ValidateLocalityLbSetting."""
    if not is_mapping(lb):
        return
    rule = "validateLoadBalancer"
    ch = lb.get("consistentHash")
    if is_mapping(ch):
        cp = (*path, "consistentHash")
        names: set[str] = set()
        for i, attr in entries_of(mapping_of(ch.get("httpCookie")).get("attributes")):
            name = mapping_of(attr).get("name")
            ap = (*cp, "httpCookie", "attributes", i, "name")
            if not isinstance(name, str) or not name:
                out.add(ap, "a cookie attribute needs a name", rule)
            elif name in names:
                out.add(ap, f"cookie attribute {name!r} is set twice", rule)
            names.add(str(name))
        if ch.get("minimumRingSize") not in (None, 0, "0") and (
            ch.get("ringHash") is not None or ch.get("maglev") is not None
        ):
            out.add(cp, "minimumRingSize cannot be set with ringHash or maglev", rule)
        maglev = ch.get("maglev")
        if is_mapping(maglev):
            size = int_of(maglev.get("tableSize")) or 0
            mp = (*cp, "maglev", "tableSize")
            if size <= 0:
                out.add(mp, "must be set for maglev", rule)
            elif size >= 5000011:
                out.add(mp, f"is {size}: must be less than 5000011", rule)
            elif not _is_prime(size):
                out.add(mp, f"is {size}: must be a prime number", rule)
    warm = lb.get("warmup")
    if is_mapping(warm):
        wp = (*path, "warmup")
        if warm.get("duration") is None:
            out.add((*wp, "duration"), "is required", rule)
        check_duration(out, warm.get("duration"), (*wp, "duration"))
        low = warm.get("minimumPercent")
        if isinstance(low, int | float) and low > 100:
            out.add((*wp, "minimumPercent"), f"is {low}: must be at most 100", rule)
        aggression = warm.get("aggression")
        if isinstance(aggression, int | float) and aggression <= 0:
            out.add((*wp, "aggression"), f"is {aggression}: must be greater than 0", rule)
    _locality(out, lb.get("localityLbSetting"), (*path, "localityLbSetting"))


def _locality(out: Out, lb: object, path: Path) -> None:
    if not is_mapping(lb):
        return
    rule = "agent.ValidateLocalityLbSetting"
    distribute = [e for _, e in entries_of(lb.get("distribute"))]
    failover = [e for _, e in entries_of(lb.get("failover"))]
    if distribute and failover:
        out.add(path, "distribute and failover cannot be set together", rule)
        return
    for i, entry in entries_of(distribute):
        weights = mapping_of(mapping_of(entry).get("to"))
        numbers = [int_of(w) for w in weights.values()]
        if any(n is None or not 1 <= n <= 100 for n in numbers):
            out.add((*path, "distribute", i, "to"), "each weight must be between 1 and 100", rule)
        elif sum(n for n in numbers if n is not None) != 100:
            total = sum(n for n in numbers if n is not None)
            out.add((*path, "distribute", i, "to"), f"weights total {total}, not 100", rule)
    for i, entry in entries_of(failover):
        src, dst = mapping_of(entry).get("from"), mapping_of(entry).get("to")
        fp = (*path, "failover", i)
        if src == dst:
            out.add(fp, "from and to must name different regions", rule)
        if any(isinstance(x, str) and "/" in x for x in (src, dst)):
            out.add(fp, "failover names regions only (no /)", rule)
        if any(isinstance(x, str) and "*" in x for x in (src, dst)):
            out.add(fp, "failover regions cannot hold a * wildcard", rule)


def _tls(out: Out, tls: object, path: Path) -> None:
    """agent.ValidateTLS."""
    if not is_mapping(tls):
        return
    rule = "agent.ValidateTLS"
    mode = tls.get("mode")
    if tls.get("insecureSkipVerify") is True:
        if mode == "SIMPLE" and (
            tls.get("caCertificates") or tls.get("credentialName") or tls.get("subjectAltNames")
        ):
            out.add(
                (*path, "insecureSkipVerify"),
                "cannot be true with caCertificates, credentialName or subjectAltNames",
                rule,
            )
        if mode == "MUTUAL" and (tls.get("caCertificates") or tls.get("subjectAltNames")):
            out.add(
                (*path, "insecureSkipVerify"),
                "cannot be true with caCertificates or subjectAltNames",
                rule,
            )
    if mode in ("SIMPLE", "MUTUAL") and tls.get("credentialName"):
        if any(tls.get(k) for k in ("clientCertificate", "caCertificates", "privateKey", "caCrl")):
            out.add(
                (*path, "credentialName"),
                "cannot be set with clientCertificate, privateKey, caCertificates or caCrl",
                rule,
            )
        return
    if mode == "MUTUAL":
        for key in ("clientCertificate", "privateKey"):
            if not tls.get(key):
                out.add((*path, key), "is required for tls mode MUTUAL", rule)


def destination_rule(out: Out, spec: Mapping[str, Any], namespace: str) -> None:
    rule = "ValidateDestinationRule"
    check_host(out, spec.get("host"), ("spec", "host"))
    _traffic_policy(out, spec.get("trafficPolicy"), ("spec", "trafficPolicy"), namespace)
    names: set[str] = set()
    for i, subset in entries_of(spec.get("subsets")):
        sp: Path = ("spec", "subsets", i)
        s = mapping_of(subset)
        name = s.get("name")
        if isinstance(name, str):
            if name in names:
                out.add((*sp, "name"), f"subset {name!r} is defined twice", rule)
            names.add(name)
            check_subset_name(out, name, (*sp, "name"))
        check_labels(out, s.get("labels"), (*sp, "labels"))
        _traffic_policy(out, s.get("trafficPolicy"), (*sp, "trafficPolicy"), namespace)
    selector = spec.get("workloadSelector")
    check_export_to(
        out, spec.get("exportTo"), ("spec", "exportTo"), namespace, False, selector is not None
    )
    check_labels(
        out, mapping_of(selector).get("matchLabels"), ("spec", "workloadSelector", "matchLabels")
    )
