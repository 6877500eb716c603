"""What Istio's validating webhook rejects beyond the CRD schema.

`kubectl apply` of a DestinationRule, VirtualService, ServiceEntry or Sidecar goes through
istiod's webhook, which runs pkg/config/validation (validation.go, virtualservice.go and
agent/validation.go in istio/istio): a resource it rejects never reaches pilot, as one the
CRD schema refuses. :func:`validate` applies those rules to a spec whose types the schema
(mesh/schema.py) has already checked, so it reads only values of the right type and skips
the rest. Each rule is named after the Istio function it follows (the table test in
tests/mesh/test_webhook.py cites them); the webhook's warnings are left out, except
`consecutiveErrors`, which pilot ignores (IgnoredField).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from meshtui.mesh.schema import DEPRECATED, Issue, Path

IGNORED = "IgnoredField"
# A webhook error on a resource already stored in a cluster: reported, not a rejection.
STORED = "InvalidResourceStored"

# pkg/config/labels/instance.go
_DNS1123_LABEL = r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
_LABEL = re.compile(f"^{_DNS1123_LABEL}$")
_WILDCARD_LABEL = re.compile(rf"^(\*|(\*|\*-)?{_DNS1123_LABEL})$")
_QUALIFIED = r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY = re.compile(rf"^({_DNS1123_LABEL}(?:\.{_DNS1123_LABEL})*/)?({_QUALIFIED})$")
_LABEL_VALUE = re.compile(rf"^({_QUALIFIED})?$")
# pkg/config/protocol/instance.go (Parse is case-insensitive)
_PROTOCOLS = {
    p.lower()
    for p in (
        "GRPC",
        "GRPC-Web",
        "HTTP",
        "HTTP_PROXY",
        "HTTP2",
        "HTTPS",
        "TCP",
        "TLS",
        "UDP",
        "Mongo",
        "Redis",
        "MySQL",
        "HBONE",
        "DoubleHBONE",
    )
}
# agent.ValidateHTTPRetry's supportedRetryOnPolicies
_RETRY_ON = {
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
}
# pilot/pkg/networking/grpcgen SupportedGRPCStatus: the canonical gRPC status names.
_GRPC_STATUS = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
}
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9}
_UNIT_NS["h"] = 3600 * 10**9
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")


class _Out:
    """The issues found, each naming the Istio rule it follows."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, path: Path, message: str, rule: str) -> None:
        self.issues.append(Issue(path, f"{message} (Istio's webhook rejects it: {rule})"))


def _m(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else iter(())


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return None


def duration_ns(text: object) -> int | None:
    """A Go duration string ("1m30s", "500ms", "0") in nanoseconds; None if not one."""
    if not isinstance(text, str):
        return None
    if text == "0":
        return 0
    total = 0
    pos = 0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            return None
        whole, _, frac = m.group(1).partition(".")
        unit = _UNIT_NS[m.group(2)]
        total += int(whole or 0) * unit + int(frac[:9].ljust(9, "0")) * unit // 10**9
        pos = m.end()
    return total if pos == len(text) and pos else None


def _duration(out: _Out, value: object, path: Path) -> None:
    """agent.ValidateDuration: at least 1ms, in whole milliseconds."""
    ns = duration_ns(value)
    if ns is None:
        return
    if ns < 10**6:
        out.add(path, f"is {value}: a duration must be at least 1ms", "agent.ValidateDuration")
    elif ns % 10**6:
        out.add(path, f"is {value}: only whole milliseconds", "agent.ValidateDuration")


def _port(out: _Out, value: object, path: Path, rule: str = "agent.ValidatePort") -> None:
    n = _int(value)
    if n is not None and not 1 <= n <= 65535:
        out.add(path, f"is {n}: a port number must be between 1 and 65535", rule)


def _dns_labels(domain: str) -> str | None:
    """agent.ValidateDNS1123Labels: why `domain` is no DNS name, or None."""
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f"top level domain {parts[-1]!r} cannot be all-numeric"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            continue  # a trailing dot
        if len(label) > 63 or not _LABEL.match(label):
            return f"label {label!r} is invalid"
    return None


def _domain_error(domain: str, wildcard: bool = True) -> str | None:
    """agent.ValidateWildcardDomain (or ValidateFQDN without `wildcard`)."""
    if not domain:
        return "an empty domain name is not allowed"
    if len(domain) > 255:
        return "the domain name is longer than 255 characters"
    if not wildcard:
        return _dns_labels(domain)
    first, _, rest = domain.partition(".")
    if len(first) > 63 or not _WILDCARD_LABEL.match(first):
        return f"label {first!r} is invalid"
    return _dns_labels(rest) if rest else None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host(out: _Out, value: object, path: Path, rule: str = "agent.ValidateWildcardDomain") -> None:
    if isinstance(value, str):
        why = _domain_error(value)
        if why:
            out.add(path, f"{value!r} is no valid host name: {why}", rule)


def _labels(out: _Out, value: object, path: Path) -> None:
    """labels.Instance.Validate: keys are qualified names, values label values."""
    for k, v in _m(value).items():
        if not isinstance(k, str) or not _LABEL_KEY.match(k) or len(k.rpartition("/")[2]) > 63:
            out.add((*path, str(k)), f"{k!r} is no valid label key", "labels.Instance.Validate")
        elif isinstance(v, str) and (len(v) > 63 or not _LABEL_VALUE.match(v)):
            out.add((*path, k), f"{v!r} is no valid label value", "labels.Instance.Validate")


def _percent(out: _Out, value: object, path: Path, rule: str = "ValidatePercent") -> None:
    n = _int(value)
    if n is not None and not 0 <= n <= 100:
        out.add(path, f"is {n}: a percentage must be between 0 and 100", rule)


def _percentage(out: _Out, value: object, path: Path) -> None:
    """validatePercentage: 0, or between 0.0001 and 100."""
    v = _m(value).get("value")
    number = isinstance(v, int | float) and not isinstance(v, bool)
    if number and (v < 0 or v > 100 or 0 < v < 0.0001):
        out.add(
            (*path, "value"),
            f"is {v}: must be 0 or between 0.0001 and 100",
            "validatePercentage",
        )


def _export_to(
    out: _Out, value: object, path: Path, namespace: str, service_entry: bool, selector: bool
) -> None:
    """validateExportTo: no duplicates (`.` is the namespace), `*` alone, `~` only alone
    and only for ServiceEntries, namespace names DNS labels; a DestinationRule with a
    workloadSelector only exported to its own namespace."""
    entries = [e for e in value if isinstance(e, str)] if isinstance(value, list) else []
    if not entries:
        return
    rule = "validateExportTo"
    seen: set[str] = set()
    for i, e in enumerate(entries):
        key = namespace if e == "." else e
        if key in seen:
            out.add((*path, i), f"{e!r} is exported to twice", rule)
            continue
        if e == "~" and not service_entry:
            out.add((*path, i), "~ (none) is allowed only for ServiceEntries", rule)
        elif e not in (".", "*", "~") and not (len(e) <= 63 and _LABEL.match(e)):
            out.add((*path, i), f"{e!r} is not ., *, ~ or a namespace name", rule)
        else:
            seen.add(key)
    if "*" in seen and len(entries) > 1:
        out.add(path, "* (every namespace) cannot be listed with other entries", rule)
    if "~" in seen and len(entries) > 1:
        out.add(path, "~ (no namespace) cannot be listed with other entries", rule)
    if selector and seen:
        if namespace not in seen:
            out.add(
                path,
                "a DestinationRule with a workloadSelector cannot be exported beyond its "
                "own namespace",
                rule,
            )
        elif len(seen) > 1:
            out.add(path, "a DestinationRule with a workloadSelector has one exportTo entry", rule)


# -- DestinationRule (validation.go ValidateDestinationRule) --------------------------------


def _traffic_policy(out: _Out, policy: object, path: Path, namespace: str) -> None:
    """validateTrafficPolicy."""
    if not isinstance(policy, Mapping):
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
    if isinstance(tunnel, Mapping):
        tp = (*path, "tunnel")
        protocol = tunnel.get("protocol")
        if protocol not in (None, "", "CONNECT", "POST"):
            out.add((*tp, "protocol"), "must be CONNECT or POST", "validateTunnelSettings")
        target = tunnel.get("targetHost")
        if isinstance(target, str) and _domain_error(target, False) and not _is_ip(target):
            out.add(
                (*tp, "targetHost"),
                f"{target!r} is neither a host name nor an IP address",
                "validateTunnelSettings",
            )
        _port(out, tunnel.get("targetPort"), (*tp, "targetPort"), "validateTunnelSettings")
    for i, entry in _items(policy.get("portLevelSettings")):
        ep = (*path, "portLevelSettings", i)
        if not isinstance(entry, Mapping):
            continue
        if entry.get("port") is None:
            out.add(
                (*ep, "port"), "is required in a port-level entry", "validatePortTrafficPolicies"
            )
        else:
            _port(out, _m(entry.get("port")).get("number"), (*ep, "port", "number"))
        if all(entry.get(f) is None for f in fields[:4]):
            out.add(ep, "a port-level entry must set a field", "validatePortTrafficPolicies")
        else:
            _policy_fields(out, entry, ep)


def _policy_fields(out: _Out, policy: Mapping[str, Any], path: Path) -> None:
    outlier = policy.get("outlierDetection")
    _outlier(out, outlier, (*path, "outlierDetection"))
    _connection_pool(out, policy.get("connectionPool"), (*path, "connectionPool"))
    _load_balancer(out, policy.get("loadBalancer"), outlier, (*path, "loadBalancer"))
    _tls(out, policy.get("tls"), (*path, "tls"))


def _outlier(out: _Out, outlier: object, path: Path) -> None:
    """validateOutlierDetection; consecutiveErrors is ignored by pilot (cluster_traffic_policy.go
    applyOutlierDetection reads consecutive5xxErrors and consecutiveGatewayErrors only)."""
    if not isinstance(outlier, Mapping):
        return
    for key in ("baseEjectionTime", "interval"):
        _duration(out, outlier.get(key), (*path, key))
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
    local = _int(outlier.get("consecutiveLocalOriginFailures"))
    if local and local > 0 and not outlier.get("splitExternalLocalOriginErrors"):
        out.add(
            (*path, "consecutiveLocalOriginFailures"),
            "needs splitExternalLocalOriginErrors: true",
            "validateOutlierDetection",
        )
    for key in ("maxEjectionPercent", "minHealthPercent"):
        _percent(out, outlier.get(key), (*path, key), "validateOutlierDetection")


def _connection_pool(out: _Out, pool: object, path: Path) -> None:
    """validateConnectionPool."""
    if not isinstance(pool, Mapping):
        return
    rule = "validateConnectionPool"
    http, tcp = pool.get("http"), pool.get("tcp")
    if http is None and tcp is None:
        out.add(path, "a connectionPool must set http or tcp", rule)
        return
    if isinstance(http, Mapping):
        hp = (*path, "http")
        for key in (
            "http1MaxPendingRequests",
            "http2MaxRequests",
            "maxRequestsPerConnection",
            "maxRetries",
            "maxConcurrentStreams",
        ):
            n = _int(http.get(key))
            if n is not None and n < 0:
                out.add((*hp, key), f"is {n}: must not be negative", rule)
        _duration(out, http.get("idleTimeout"), (*hp, "idleTimeout"))
        if http.get("h2UpgradePolicy") == "UPGRADE" and http.get("useClientProtocol") is True:
            out.add((*hp, "useClientProtocol"), "cannot be true with h2UpgradePolicy UPGRADE", rule)
    if isinstance(tcp, Mapping):
        tp = (*path, "tcp")
        n = _int(tcp.get("maxConnections"))
        if n is not None and n < 0:
            out.add((*tp, "maxConnections"), f"is {n}: must not be negative", rule)
        for key in ("connectTimeout", "maxConnectionDuration"):
            _duration(out, tcp.get(key), (*tp, key))
        if duration_ns(tcp.get("idleTimeout")) != 0:  # 0s disables the timeout
            _duration(out, tcp.get("idleTimeout"), (*tp, "idleTimeout"))
        keepalive = _m(tcp.get("tcpKeepalive"))
        for key in ("time", "interval"):
            _duration(out, keepalive.get(key), (*tp, "tcpKeepalive", key))


def _is_prime(n: int) -> bool:
    if 0 < n < 4:
        return True
    if n % 2 == 0:
        return False
    return all(n % f for f in range(3, int(n**0.5) + 1, 2))


def _load_balancer(out: _Out, lb: object, outlier: object, path: Path) -> None:
    """validateLoadBalancer and agent.ValidateLocalityLbSetting."""
    if not isinstance(lb, Mapping):
        return
    rule = "validateLoadBalancer"
    ch = lb.get("consistentHash")
    if isinstance(ch, Mapping):
        cp = (*path, "consistentHash")
        names: set[str] = set()
        for i, attr in _items(_m(ch.get("httpCookie")).get("attributes")):
            name = _m(attr).get("name")
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
        if isinstance(maglev, Mapping):
            size = _int(maglev.get("tableSize")) or 0
            mp = (*cp, "maglev", "tableSize")
            if size <= 0:
                out.add(mp, "must be set for maglev", rule)
            elif size >= 5000011:
                out.add(mp, f"is {size}: must be less than 5000011", rule)
            elif not _is_prime(size):
                out.add(mp, f"is {size}: must be a prime number", rule)
    warm = lb.get("warmup")
    if isinstance(warm, Mapping):
        wp = (*path, "warmup")
        if warm.get("duration") is None:
            out.add((*wp, "duration"), "is required", rule)
        _duration(out, warm.get("duration"), (*wp, "duration"))
        low = warm.get("minimumPercent")
        if isinstance(low, int | float) and low > 100:
            out.add((*wp, "minimumPercent"), f"is {low}: must be at most 100", rule)
        aggression = warm.get("aggression")
        if isinstance(aggression, int | float) and aggression <= 0:
            out.add((*wp, "aggression"), f"is {aggression}: must be greater than 0", rule)
    _locality(out, lb.get("localityLbSetting"), (*path, "localityLbSetting"))


def _locality(out: _Out, lb: object, path: Path) -> None:
    if not isinstance(lb, Mapping):
        return
    rule = "agent.ValidateLocalityLbSetting"
    distribute = [e for _, e in _items(lb.get("distribute"))]
    failover = [e for _, e in _items(lb.get("failover"))]
    if distribute and failover:
        out.add(path, "distribute and failover cannot be set together", rule)
        return
    for i, entry in _items(distribute):
        weights = _m(_m(entry).get("to"))
        numbers = [_int(w) for w in weights.values()]
        if any(n is None or not 1 <= n <= 100 for n in numbers):
            out.add((*path, "distribute", i, "to"), "each weight must be between 1 and 100", rule)
        elif sum(n for n in numbers if n is not None) != 100:
            total = sum(n for n in numbers if n is not None)
            out.add((*path, "distribute", i, "to"), f"weights total {total}, not 100", rule)
    for i, entry in _items(failover):
        src, dst = _m(entry).get("from"), _m(entry).get("to")
        fp = (*path, "failover", i)
        if src == dst:
            out.add(fp, "from and to must name different regions", rule)
        if any(isinstance(x, str) and "/" in x for x in (src, dst)):
            out.add(fp, "failover names regions only (no /)", rule)
        if any(isinstance(x, str) and "*" in x for x in (src, dst)):
            out.add(fp, "failover regions cannot hold a * wildcard", rule)


def _tls(out: _Out, tls: object, path: Path) -> None:
    """agent.ValidateTLS."""
    if not isinstance(tls, Mapping):
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


def _destination_rule(out: _Out, spec: Mapping[str, Any], namespace: str) -> None:
    rule = "ValidateDestinationRule"
    _host(out, spec.get("host"), ("spec", "host"))
    _traffic_policy(out, spec.get("trafficPolicy"), ("spec", "trafficPolicy"), namespace)
    names: set[str] = set()
    for i, subset in _items(spec.get("subsets")):
        sp: Path = ("spec", "subsets", i)
        s = _m(subset)
        name = s.get("name")
        if isinstance(name, str):
            if name in names:
                out.add((*sp, "name"), f"subset {name!r} is defined twice", rule)
            names.add(name)
            _subset_name(out, name, (*sp, "name"))
        _labels(out, s.get("labels"), (*sp, "labels"))
        _traffic_policy(out, s.get("trafficPolicy"), (*sp, "trafficPolicy"), namespace)
    selector = spec.get("workloadSelector")
    _export_to(
        out, spec.get("exportTo"), ("spec", "exportTo"), namespace, False, selector is not None
    )
    _labels(out, _m(selector).get("matchLabels"), ("spec", "workloadSelector", "matchLabels"))


def _subset_name(out: _Out, name: str, path: Path) -> None:
    """validateSubsetName: a DNS-1123 label."""
    if name and (len(name) > 63 or not _LABEL.match(name)):
        out.add(path, f"{name!r} is no valid subset name (a DNS-1123 label)", "validateSubsetName")


# -- VirtualService (validation.go ValidateVirtualService, virtualservice.go) ---------------


def _subset_of(sni: str, host: str) -> bool:
    """host.Name.SubsetOf: every name `sni` matches, `host` matches too."""
    if host.startswith("*"):
        return sni.endswith(host[1:]) if not sni.startswith("*") else sni[1:].endswith(host[1:])
    return sni == host


def _matches(a: str, b: str) -> bool:
    """host.Name.Matches: whether the two names share any host."""
    if a.startswith("*") and b.startswith("*"):
        return a[1:].endswith(b[1:]) or b[1:].endswith(a[1:])
    if a.startswith("*"):
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return a == b


def _gateway_names(out: _Out, value: object, path: Path) -> None:
    """validateGatewayNames: `namespace/name` of DNS labels, or a host name."""
    for i, name in _items(value):
        if not isinstance(name, str):
            continue
        ns, slash, short = name.partition("/")
        if not slash:
            why = _domain_error(name, False)
            if why:
                out.add((*path, i), f"{name!r} is no gateway name: {why}", "validateGatewayNames")
            continue
        for part, what in ((ns, "namespace"), (short, "gateway name")):
            if not part or len(part) > 63 or not _LABEL.match(part):
                out.add((*path, i), f"{part!r} is no valid {what}", "validateGatewayNames")


def _destination(out: _Out, d: object, path: Path) -> None:
    """validateDestination."""
    if not isinstance(d, Mapping):
        return
    host = d.get("host")
    if host == "*":
        out.add((*path, "host"), "* is not a destination host", "validateDestination")
    else:
        _host(out, host, (*path, "host"), "validateDestination")
    subset = d.get("subset")
    if isinstance(subset, str) and subset:
        _subset_name(out, subset, (*path, "subset"))
    _port(out, _m(d.get("port")).get("number"), (*path, "port", "number"))


def _weighted(out: _Out, route: object, path: Path, rule: str) -> None:
    """validateHTTPRouteDestinations / validateRouteDestinations: weights not negative and,
    with several destinations, not all 0."""
    total = 0
    entries = list(_items(route))
    for i, entry in entries:
        e = _m(entry)
        if e.get("destination") is None:
            out.add((*path, i, "destination"), "is required", rule)
        _destination(out, e.get("destination"), (*path, i, "destination"))
        w = _int(e.get("weight"))
        if w is not None and w < 0:
            out.add((*path, i, "weight"), f"is {w}: a weight cannot be negative", rule)
        total += w or 0
    if len(entries) > 1 and total == 0:
        out.add(
            path,
            "the destinations' weights total 0: give the share of traffic each gets",
            rule,
        )


def _string_matches(out: _Out, match: Mapping[str, Any], path: Path) -> None:
    """validateStringMatch: a prefix (outside uri) cannot be empty, nor can a regex."""
    rule = "validateHTTPRouteMatchRequest"
    for key in ("scheme", "method", "authority"):
        sm = _m(match.get(key))
        if sm.get("prefix") == "" or sm.get("regex") == "":
            out.add((*path, key), "an empty prefix or regex matches nothing", rule)
    if _m(match.get("uri")).get("regex") == "":
        out.add((*path, "uri"), "an empty regex matches nothing", rule)
    for key in ("headers", "queryParams", "withoutHeaders"):
        for name, sm in _m(match.get(key)).items():
            if _m(sm).get("prefix") == "" or _m(sm).get("regex") == "":
                out.add((*path, key, name), "an empty prefix or regex matches nothing", rule)


def _http(out: _Out, r: Mapping[str, Any], path: Path, delegate_vs: bool) -> None:
    """virtualservice.go validateHTTPRoute."""
    rule = "validateHTTPRouteConflict"
    route, redirect, direct = r.get("route"), r.get("redirect"), r.get("directResponse")
    if r.get("delegate") is not None and not delegate_vs:  # a root route: delegate only
        if redirect is not None:
            out.add((*path, "redirect"), "a rule with delegate cannot redirect", rule)
        if route is not None:
            out.add((*path, "route"), "a rule with delegate cannot have a route", rule)
    else:
        if delegate_vs and r.get("delegate") is not None:
            out.add((*path, "delegate"), "a delegate VirtualService cannot delegate again", rule)
        if redirect is not None:
            for key in ("route", "fault", "rewrite", "directResponse"):
                if r.get(key):
                    out.add((*path, key), f"a rule with redirect cannot have {key}", rule)
        elif direct is not None:
            for key in ("route", "fault", "rewrite"):
                if r.get(key):
                    out.add((*path, key), f"a rule with directResponse cannot have {key}", rule)
        elif not route:
            out.add(path, "a rule needs route, redirect or directResponse", rule)
    if r.get("mirror") is not None and r.get("mirrors"):
        out.add((*path, "mirrors"), "mirror and mirrors cannot be set together", rule)
    for i, match in _items(r.get("match")):
        m = _m(match)
        mp = (*path, "match", i)
        _string_matches(out, m, mp)
        if _int(m.get("port")):
            _port(out, m.get("port"), (*mp, "port"))
        _labels(out, m.get("sourceLabels"), (*mp, "sourceLabels"))
        _gateway_names(out, m.get("gateways"), (*mp, "gateways"))
        ns = m.get("sourceNamespace")
        if isinstance(ns, str) and ns and not _LABEL.match(ns):
            out.add((*mp, "sourceNamespace"), f"{ns!r} is no namespace name", "validateHTTPRoute")
    _fault(out, r.get("fault"), (*path, "fault"))
    mirror_percent = _int(r.get("mirrorPercent"))
    if mirror_percent is not None:
        # virtualservice.go validateHTTPRoute warns: deprecated for mirrorPercentage.
        out.issues.append(
            Issue(
                (*path, "mirrorPercent"),
                "is deprecated; write mirrorPercentage: {value: "
                f"{mirror_percent}}} (Istio reads mirrorPercent only without it)",
                DEPRECATED,
            )
        )
    if mirror_percent is not None and mirror_percent > 100:
        out.add((*path, "mirrorPercent"), f"is {mirror_percent}: at most 100", "validateHTTPRoute")
    share = _m(r.get("mirrorPercentage")).get("value")
    if isinstance(share, int | float) and not 0 <= share <= 100:
        out.add(
            (*path, "mirrorPercentage", "value"),
            f"is {share}: must be between 0 and 100",
            "validateHTTPRoute",
        )
    _destination(out, r.get("mirror"), (*path, "mirror"))
    for i, mirror in _items(r.get("mirrors")):
        mp = (*path, "mirrors", i)
        _destination(out, _m(mirror).get("destination"), (*mp, "destination"))
        v = _m(_m(mirror).get("percentage")).get("value")
        if isinstance(v, int | float) and not 0 <= v <= 100:
            out.add((*mp, "percentage", "value"), f"is {v}: not 0-100", "validateHTTPMirrors")
    _redirect(out, redirect, r.get("match"), (*path, "redirect"))
    if isinstance(direct, Mapping):
        status = _int(direct.get("status"))
        if status is not None and not 200 <= status <= 599:
            out.add(
                (*path, "directResponse", "status"),
                f"is {status}: an HTTP status must be between 200 and 599",
                "validateHTTPDirectResponse",
            )
    _retries(out, r.get("retries"), (*path, "retries"))
    _rewrite(out, r.get("rewrite"), (*path, "rewrite"))
    _weighted(out, route, (*path, "route"), "validateHTTPRouteDestinations")
    _duration(out, r.get("timeout"), (*path, "timeout"))


def _fault(out: _Out, fault: object, path: Path) -> None:
    """validateHTTPFaultInjection."""
    if not isinstance(fault, Mapping):
        return
    rule = "validateHTTPFaultInjection"
    abort, delay = fault.get("abort"), fault.get("delay")
    if abort is None and delay is None:
        out.add(path, "a fault needs an abort, a delay or both", rule)
    if isinstance(abort, Mapping):
        ap = (*path, "abort")
        _percentage(out, abort.get("percentage"), (*ap, "percentage"))
        status = _int(abort.get("httpStatus"))
        if status is not None and not 200 <= status <= 600:
            out.add((*ap, "httpStatus"), f"is {status}: must be between 200 and 599", rule)
        grpc = abort.get("grpcStatus")
        if isinstance(grpc, str) and grpc not in _GRPC_STATUS:
            out.add((*ap, "grpcStatus"), f"{grpc!r} is no gRPC status name (e.g. NOT_FOUND)", rule)
        if abort.get("http2Error") is not None:
            out.add((*ap, "http2Error"), "HTTP/2 abort faults are not supported yet", rule)
    if isinstance(delay, Mapping):
        dp = (*path, "delay")
        percent = _int(delay.get("percent"))
        if percent is not None:
            # route.go TranslateFault reads the integer percent only without percentage.
            read = "is ignored: percentage is set" if delay.get("percentage") else "is deprecated"
            out.issues.append(
                Issue(
                    (*dp, "percent"),
                    f"{read} (Istio reads the integer percent only when percentage is absent); "
                    f"write percentage: {{value: {percent}}}",
                    IGNORED if delay.get("percentage") else DEPRECATED,
                )
            )
        _percentage(out, delay.get("percentage"), (*dp, "percentage"))
        _duration(out, delay.get("fixedDelay"), (*dp, "fixedDelay"))
        if delay.get("exponentialDelay") is not None:
            out.add((*dp, "exponentialDelay"), "is not supported yet", rule)


def _redirect(out: _Out, redirect: object, matches: object, path: Path) -> None:
    """validateHTTPRedirect."""
    if not isinstance(redirect, Mapping):
        return
    rule = "validateHTTPRedirect"
    if not any(redirect.get(k) for k in ("uri", "authority", "scheme", "port", "derivePort")):
        out.add(path, "a redirect must set uri, authority, scheme or port", rule)
    code = _int(redirect.get("redirectCode"))
    if code and not 300 <= code <= 399:
        out.add((*path, "redirectCode"), f"is {code}: must be a 3xx code", rule)
    scheme = redirect.get("scheme")
    if scheme not in (None, "", "http", "https"):
        out.add((*path, "scheme"), f"{scheme!r} is neither http nor https", rule)
    if _int(redirect.get("port")):
        _port(out, redirect.get("port"), (*path, "port"), rule)


def _retries(out: _Out, retries: object, path: Path) -> None:
    """agent.ValidateHTTPRetry."""
    if not isinstance(retries, Mapping):
        return
    rule = "agent.ValidateHTTPRetry"
    attempts = _int(retries.get("attempts"))
    if attempts is not None and attempts < 0:
        out.add((*path, "attempts"), f"is {attempts}: cannot be negative", rule)
    if not attempts and any(
        retries.get(k) not in (None, "")
        for k in ("perTryTimeout", "retryOn", "retryRemoteLocalities")
    ):
        out.add(
            (*path, "attempts"),
            "is 0 (retries disabled) while perTryTimeout, retryOn or retryRemoteLocalities is set",
            rule,
        )
    _duration(out, retries.get("perTryTimeout"), (*path, "perTryTimeout"))
    _duration(out, retries.get("backoff"), (*path, "backoff"))
    retry_on = retries.get("retryOn")
    if isinstance(retry_on, str) and retry_on:
        for policy in retry_on.split(","):
            if policy not in _RETRY_ON and not (policy.isdigit() and 100 <= int(policy) <= 599):
                out.add((*path, "retryOn"), f"{policy!r} is no retryOn policy", rule)


def _rewrite(out: _Out, rewrite: object, path: Path) -> None:
    """validateHTTPRewrite."""
    if not isinstance(rewrite, Mapping):
        return
    rule = "validateHTTPRewrite"
    regex = rewrite.get("uriRegexRewrite")
    if rewrite.get("uri") and regex is not None:
        out.add(path, "uri and uriRegexRewrite cannot be set together", rule)
    if not rewrite.get("uri") and regex is None and not rewrite.get("authority"):
        out.add(path, "a rewrite must set uri, uriRegexRewrite or authority", rule)
    if isinstance(regex, Mapping) and not (regex.get("match") and regex.get("rewrite")):
        out.add((*path, "uriRegexRewrite"), "needs both match and rewrite", rule)


def _virtual_service(out: _Out, spec: Mapping[str, Any], namespace: str) -> None:
    hosts = _strs(spec.get("hosts"))
    gateways = _strs(spec.get("gateways"))
    rule = "ValidateVirtualService"
    if not hosts:  # a delegate
        for key in ("gateways", "tls", "tcp"):
            if spec.get(key):
                out.add(("spec", key), f"a delegate VirtualService cannot set {key}", rule)
    _gateway_names(out, spec.get("gateways"), ("spec", "gateways"))
    mesh = not gateways or "mesh" in gateways
    valid = True
    for i, h in enumerate(hosts):
        why = _domain_error(h)
        if why and not _is_ip(h):
            if not (not mesh and h.startswith("outbound_")):  # auto-generated SNI domains
                out.add(
                    ("spec", "hosts", i),
                    f"{h!r} is no valid host name: {why}",
                    "agent.ValidateWildcardDomain",
                )
                valid = False
        elif mesh and h == "*":
            out.add(("spec", "hosts", i), "* is not allowed for a mesh-bound VirtualService", rule)
            valid = False
    if valid:
        for i, a in enumerate(hosts):
            for b in hosts[i + 1 :]:
                if _matches(a, b):
                    out.add(("spec", "hosts", i), f"hosts {a} and {b} overlap", rule)
    if not any(spec.get(k) for k in ("http", "tcp", "tls")):
        out.add(("spec",), "needs http, tcp or tls routes", rule)
    for i, r in _items(spec.get("http")):
        if r is None:
            out.add(("spec", "http", i), "an http rule cannot be null", rule)
        elif isinstance(r, Mapping):
            _http(out, r, ("spec", "http", i), not hosts)
    for i, r in _items(spec.get("tls")):
        if isinstance(r, Mapping):
            _tls_route(out, r, ("spec", "tls", i), hosts, mesh)
    for i, r in _items(spec.get("tcp")):
        if isinstance(r, Mapping):
            _tcp_route(out, r, ("spec", "tcp", i))
    _export_to(out, spec.get("exportTo"), ("spec", "exportTo"), namespace, False, False)


def _tls_route(out: _Out, r: Mapping[str, Any], path: Path, hosts: list[str], mesh: bool) -> None:
    """validateTLSRoute, validateTLSMatch and validateSniHost."""
    rule = "validateTLSRoute"
    if not r.get("match"):
        out.add(path, "a tls rule needs at least one match", rule)
    for i, match in _items(r.get("match")):
        m = _m(match)
        mp = (*path, "match", i)
        sni = _strs(m.get("sniHosts"))
        if not sni:
            out.add(mp, "a tls match needs at least one sniHosts entry", "validateTLSMatch")
        for j, s in enumerate(sni):
            why = _domain_error(s)
            if why:
                if not _is_ip(s) and not (not mesh and s.startswith("outbound_")):
                    out.add((*mp, "sniHosts", j), f"{s!r} is no valid host name: {why}", rule)
            elif not any(_subset_of(s, h) for h in hosts):
                out.add(
                    (*mp, "sniHosts", j),
                    f"SNI host {s!r} is not covered by the VirtualService's hosts "
                    f"({', '.join(hosts) or 'none'})",
                    "validateSniHost",
                )
        if _int(m.get("port")):
            _port(out, m.get("port"), (*mp, "port"))
        _labels(out, m.get("sourceLabels"), (*mp, "sourceLabels"))
        _gateway_names(out, m.get("gateways"), (*mp, "gateways"))
    if not r.get("route"):
        out.add(path, "a tls rule needs a route", rule)
    _weighted(out, r.get("route"), (*path, "route"), "validateRouteDestinations")


def _tcp_route(out: _Out, r: Mapping[str, Any], path: Path) -> None:
    """validateTCPRoute and validateTCPMatch."""
    for i, match in _items(r.get("match")):
        m = _m(match)
        mp = (*path, "match", i)
        if _int(m.get("port")):
            _port(out, m.get("port"), (*mp, "port"))
        _labels(out, m.get("sourceLabels"), (*mp, "sourceLabels"))
        _gateway_names(out, m.get("gateways"), (*mp, "gateways"))
    if not r.get("route"):
        out.add(path, "a tcp rule needs a route", "validateTCPRoute")
    _weighted(out, r.get("route"), (*path, "route"), "validateRouteDestinations")


# -- ServiceEntry (validation.go ValidateServiceEntry) --------------------------------------


def _service_entry(out: _Out, spec: Mapping[str, Any], namespace: str) -> None:
    rule = "ValidateServiceEntry"
    hosts = _strs(spec.get("hosts"))
    if not hosts:
        out.add(("spec", "hosts"), "a ServiceEntry needs at least one host", rule)
    for i, h in enumerate(hosts):
        if h == "*":
            out.add(("spec", "hosts", i), "* is not a ServiceEntry host", rule)
        else:
            _host(out, h, ("spec", "hosts", i))
    selector = spec.get("workloadSelector")
    if selector is not None and spec.get("endpoints") is not None:
        out.add(("spec", "workloadSelector"), "cannot be set with endpoints", rule)
    _labels(out, _m(selector).get("labels"), ("spec", "workloadSelector", "labels"))
    names: set[str] = set()
    numbers: set[int] = set()
    for i, port in _items(spec.get("ports")):
        p = _m(port)
        pp = ("spec", "ports", i)
        name, number = p.get("name"), _int(p.get("number"))
        if isinstance(name, str):
            if name in names:
                out.add((*pp, "name"), f"port name {name!r} is used twice", rule)
            names.add(name)
            if not _LABEL.match(name) or len(name) > 63:
                out.add((*pp, "name"), f"{name!r} is no valid port name", "ValidatePortName")
        if number is not None:
            if number in numbers:
                out.add((*pp, "number"), f"port {number} is defined twice", rule)
            numbers.add(number)
            _port(out, number, (*pp, "number"))
        if _int(p.get("targetPort")):
            _port(out, p.get("targetPort"), (*pp, "targetPort"))
        _protocol(out, p.get("protocol"), (*pp, "protocol"))
    resolution = spec.get("resolution") or "NONE"
    addresses = _strs(spec.get("addresses"))
    if any("/" in a for a in addresses) and resolution not in ("NONE", "STATIC"):
        out.add(("spec", "addresses"), "CIDR addresses need resolution NONE or STATIC", rule)
    if resolution == "NONE" and spec.get("endpoints"):
        out.add(("spec", "endpoints"), "resolution NONE takes no endpoints", rule)
    if resolution in ("DNS", "DNS_ROUND_ROBIN") and not spec.get("endpoints"):
        for i, h in enumerate(hosts):
            if _domain_error(h, False):
                out.add(
                    ("spec", "hosts", i),
                    f"resolution {resolution} without endpoints needs host names, not {h!r}",
                    rule,
                )
                break
    _export_to(out, spec.get("exportTo"), ("spec", "exportTo"), namespace, True, False)


def _protocol(out: _Out, value: object, path: Path) -> None:
    """ValidateProtocol: one of pkg/config/protocol's names, any case."""
    if isinstance(value, str) and value and value.lower() not in _PROTOCOLS:
        out.add(path, f"{value!r} is no protocol Istio knows", "ValidateProtocol")


# -- Sidecar (validation.go ValidateSidecar) ------------------------------------------------


def _sidecar(out: _Out, spec: Mapping[str, Any], namespace: str) -> None:
    rule = "ValidateSidecar"
    _labels(out, _m(spec.get("workloadSelector")).get("labels"), ("spec", "workloadSelector"))
    keys = ("egress", "ingress", "outboundTrafficPolicy", "inboundConnectionPool")
    if not any(spec.get(k) for k in keys):
        out.add(("spec",), "a Sidecar needs egress, ingress or outboundTrafficPolicy", rule)
        return
    ports: set[int] = set()
    for i, listener in _items(spec.get("ingress")):
        lp = ("spec", "ingress", i)
        port = _m(listener).get("port")
        if port is None:
            out.add(lp, "an ingress listener needs a port", rule)
            continue
        number = _int(_m(port).get("number"))
        _port(out, number, (*lp, "port", "number"))
        _protocol(out, _m(port).get("protocol"), (*lp, "port", "protocol"))
        if number in ports:
            out.add((*lp, "port", "number"), f"port {number} is used twice", rule)
        ports.add(number or 0)
    ports = set()
    egress = list(_items(spec.get("egress")))
    for i, listener in egress:
        lp = ("spec", "egress", i)
        e = _m(listener)
        port = e.get("port")
        if port is None:
            if i != len(egress) - 1:
                out.add(lp, "the egress listener without a port must be the last one", rule)
        else:
            number = _int(_m(port).get("number"))
            if number:  # 0 is a Unix domain socket listener
                _port(out, number, (*lp, "port", "number"))
                if number in ports:
                    out.add((*lp, "port", "number"), f"port {number} is used twice", rule)
                ports.add(number)
            _protocol(out, _m(port).get("protocol"), (*lp, "port", "protocol"))
        hosts = _strs(e.get("hosts"))
        if not hosts:
            out.add((*lp, "hosts"), "an egress listener needs at least one host", rule)
        for j, h in enumerate(hosts):
            ns, slash, name = h.partition("/")
            if not slash or not ns or not name:
                out.add(
                    (*lp, "hosts", j),
                    f"{h!r} is not namespace/host (e.g. ./*, istio-system/*)",
                    "agent.ValidateNamespaceSlashWildcardHostname",
                )
            elif name != "*" and _domain_error(name):
                out.add(
                    (*lp, "hosts", j),
                    f"{name!r} is no valid host name",
                    "agent.ValidateNamespaceSlashWildcardHostname",
                )
    policy = _m(spec.get("outboundTrafficPolicy"))
    if policy.get("egressProxy") is not None and policy.get("mode") != "ALLOW_ANY":
        out.add(
            ("spec", "outboundTrafficPolicy", "egressProxy"),
            "needs outboundTrafficPolicy mode ALLOW_ANY",
            "validateSidecarOutboundTrafficPolicy",
        )


KINDS: dict[str, Callable[[_Out, Mapping[str, Any], str], None]] = {
    "DestinationRule": _destination_rule,
    "VirtualService": _virtual_service,
    "ServiceEntry": _service_entry,
    "Sidecar": _sidecar,
}


def validate(kind: str, spec: object, namespace: str) -> list[Issue]:
    """What Istio's webhook says of `spec` for `kind` (a resource in `namespace`): errors
    (fatal: the resource is rejected) and fields pilot ignores."""
    check = KINDS.get(kind)
    if check is None or not isinstance(spec, Mapping):
        return []
    out = _Out()
    check(out, spec, namespace)
    return out.issues
