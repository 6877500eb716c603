"""VirtualService: validation.go ValidateVirtualService and virtualservice.go validateHTTPRoute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh.schema import DEPRECATED, Issue, Path
from meshtui.mesh.webhook.values import (
    DNS_LABEL,
    IGNORED,
    Out,
    check_duration,
    check_export_to,
    check_host,
    check_labels,
    check_percentage,
    check_port,
    check_subset_name,
    domain_error,
    entries_of,
    int_of,
    is_ip,
    mapping_of,
    strings_of,
)

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


def _gateway_names(out: Out, value: object, path: Path) -> None:
    """validateGatewayNames: `namespace/name` of DNS labels, or a host name."""
    for i, name in entries_of(value):
        if not isinstance(name, str):
            continue
        ns, slash, short = name.partition("/")
        if not slash:
            why = domain_error(name, False)
            if why:
                out.add((*path, i), f"{name!r} is no gateway name: {why}", "validateGatewayNames")
            continue
        for part, what in ((ns, "namespace"), (short, "gateway name")):
            if not part or len(part) > 63 or not DNS_LABEL.match(part):
                out.add((*path, i), f"{part!r} is no valid {what}", "validateGatewayNames")


def _destination(out: Out, d: object, path: Path) -> None:
    """validateDestination."""
    if not isinstance(d, Mapping):
        return
    host = d.get("host")
    if host == "*":
        out.add((*path, "host"), "* is not a destination host", "validateDestination")
    else:
        check_host(out, host, (*path, "host"), "validateDestination")
    subset = d.get("subset")
    if isinstance(subset, str) and subset:
        check_subset_name(out, subset, (*path, "subset"))
    check_port(out, mapping_of(d.get("port")).get("number"), (*path, "port", "number"))


def _weighted(out: Out, route: object, path: Path, rule: str) -> None:
    """validateHTTPRouteDestinations / validateRouteDestinations: weights not negative and,
    with several destinations, not all 0."""
    total = 0
    entries = list(entries_of(route))
    for i, entry in entries:
        e = mapping_of(entry)
        if e.get("destination") is None:
            out.add((*path, i, "destination"), "is required", rule)
        _destination(out, e.get("destination"), (*path, i, "destination"))
        w = int_of(e.get("weight"))
        if w is not None and w < 0:
            out.add((*path, i, "weight"), f"is {w}: a weight cannot be negative", rule)
        total += w or 0
    if len(entries) > 1 and total == 0:
        out.add(
            path,
            "the destinations' weights total 0: give the share of traffic each gets",
            rule,
        )


def _string_matches(out: Out, match: Mapping[str, Any], path: Path) -> None:
    """validateStringMatch: a prefix (outside uri) cannot be empty, nor can a regex."""
    rule = "validateHTTPRouteMatchRequest"
    for key in ("scheme", "method", "authority"):
        sm = mapping_of(match.get(key))
        if sm.get("prefix") == "" or sm.get("regex") == "":
            out.add((*path, key), "an empty prefix or regex matches nothing", rule)
    if mapping_of(match.get("uri")).get("regex") == "":
        out.add((*path, "uri"), "an empty regex matches nothing", rule)
    for key in ("headers", "queryParams", "withoutHeaders"):
        for name, sm in mapping_of(match.get(key)).items():
            if mapping_of(sm).get("prefix") == "" or mapping_of(sm).get("regex") == "":
                out.add((*path, key, name), "an empty prefix or regex matches nothing", rule)


def _http(out: Out, r: Mapping[str, Any], path: Path, delegate_vs: bool) -> None:
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
    for i, match in entries_of(r.get("match")):
        m = mapping_of(match)
        mp = (*path, "match", i)
        _string_matches(out, m, mp)
        if int_of(m.get("port")):
            check_port(out, m.get("port"), (*mp, "port"))
        check_labels(out, m.get("sourceLabels"), (*mp, "sourceLabels"))
        _gateway_names(out, m.get("gateways"), (*mp, "gateways"))
        ns = m.get("sourceNamespace")
        if isinstance(ns, str) and ns and not DNS_LABEL.match(ns):
            out.add((*mp, "sourceNamespace"), f"{ns!r} is no namespace name", "validateHTTPRoute")
    _fault(out, r.get("fault"), (*path, "fault"))
    mirror_percent = int_of(r.get("mirrorPercent"))
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
    share = mapping_of(r.get("mirrorPercentage")).get("value")
    if isinstance(share, int | float) and not 0 <= share <= 100:
        out.add(
            (*path, "mirrorPercentage", "value"),
            f"is {share}: must be between 0 and 100",
            "validateHTTPRoute",
        )
    _destination(out, r.get("mirror"), (*path, "mirror"))
    for i, mirror in entries_of(r.get("mirrors")):
        mp = (*path, "mirrors", i)
        _destination(out, mapping_of(mirror).get("destination"), (*mp, "destination"))
        v = mapping_of(mapping_of(mirror).get("percentage")).get("value")
        if isinstance(v, int | float) and not 0 <= v <= 100:
            out.add((*mp, "percentage", "value"), f"is {v}: not 0-100", "validateHTTPMirrors")
    _redirect(out, redirect, r.get("match"), (*path, "redirect"))
    if isinstance(direct, Mapping):
        status = int_of(direct.get("status"))
        if status is not None and not 200 <= status <= 599:
            out.add(
                (*path, "directResponse", "status"),
                f"is {status}: an HTTP status must be between 200 and 599",
                "validateHTTPDirectResponse",
            )
    _retries(out, r.get("retries"), (*path, "retries"))
    _rewrite(out, r.get("rewrite"), (*path, "rewrite"))
    _weighted(out, route, (*path, "route"), "validateHTTPRouteDestinations")
    check_duration(out, r.get("timeout"), (*path, "timeout"))


def _fault(out: Out, fault: object, path: Path) -> None:
    """validateHTTPFaultInjection."""
    if not isinstance(fault, Mapping):
        return
    rule = "validateHTTPFaultInjection"
    abort, delay = fault.get("abort"), fault.get("delay")
    if abort is None and delay is None:
        out.add(path, "a fault needs an abort, a delay or both", rule)
    if isinstance(abort, Mapping):
        ap = (*path, "abort")
        check_percentage(out, abort.get("percentage"), (*ap, "percentage"))
        status = int_of(abort.get("httpStatus"))
        if status is not None and not 200 <= status <= 600:
            out.add((*ap, "httpStatus"), f"is {status}: must be between 200 and 599", rule)
        grpc = abort.get("grpcStatus")
        if isinstance(grpc, str) and grpc not in _GRPC_STATUS:
            out.add((*ap, "grpcStatus"), f"{grpc!r} is no gRPC status name (e.g. NOT_FOUND)", rule)
        if abort.get("http2Error") is not None:
            out.add((*ap, "http2Error"), "HTTP/2 abort faults are not supported yet", rule)
    if isinstance(delay, Mapping):
        dp = (*path, "delay")
        percent = int_of(delay.get("percent"))
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
        check_percentage(out, delay.get("percentage"), (*dp, "percentage"))
        check_duration(out, delay.get("fixedDelay"), (*dp, "fixedDelay"))
        if delay.get("exponentialDelay") is not None:
            out.add((*dp, "exponentialDelay"), "is not supported yet", rule)


def _redirect(out: Out, redirect: object, matches: object, path: Path) -> None:
    """validateHTTPRedirect."""
    if not isinstance(redirect, Mapping):
        return
    rule = "validateHTTPRedirect"
    if not any(redirect.get(k) for k in ("uri", "authority", "scheme", "port", "derivePort")):
        out.add(path, "a redirect must set uri, authority, scheme or port", rule)
    code = int_of(redirect.get("redirectCode"))
    if code and not 300 <= code <= 399:
        out.add((*path, "redirectCode"), f"is {code}: must be a 3xx code", rule)
    scheme = redirect.get("scheme")
    if scheme not in (None, "", "http", "https"):
        out.add((*path, "scheme"), f"{scheme!r} is neither http nor https", rule)
    if int_of(redirect.get("port")):
        check_port(out, redirect.get("port"), (*path, "port"), rule)


def _retries(out: Out, retries: object, path: Path) -> None:
    """agent.ValidateHTTPRetry."""
    if not isinstance(retries, Mapping):
        return
    rule = "agent.ValidateHTTPRetry"
    attempts = int_of(retries.get("attempts"))
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
    check_duration(out, retries.get("perTryTimeout"), (*path, "perTryTimeout"))
    check_duration(out, retries.get("backoff"), (*path, "backoff"))
    retry_on = retries.get("retryOn")
    if isinstance(retry_on, str) and retry_on:
        for policy in retry_on.split(","):
            if policy not in _RETRY_ON and not (policy.isdigit() and 100 <= int(policy) <= 599):
                out.add((*path, "retryOn"), f"{policy!r} is no retryOn policy", rule)


def _rewrite(out: Out, rewrite: object, path: Path) -> None:
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


def virtual_service(out: Out, spec: Mapping[str, Any], namespace: str) -> None:
    hosts = strings_of(spec.get("hosts"))
    gateways = strings_of(spec.get("gateways"))
    rule = "ValidateVirtualService"
    if not hosts:  # a delegate
        for key in ("gateways", "tls", "tcp"):
            if spec.get(key):
                out.add(("spec", key), f"a delegate VirtualService cannot set {key}", rule)
    _gateway_names(out, spec.get("gateways"), ("spec", "gateways"))
    mesh = not gateways or "mesh" in gateways
    valid = True
    for i, h in enumerate(hosts):
        why = domain_error(h)
        if why and not is_ip(h):
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
    for i, r in entries_of(spec.get("http")):
        if r is None:
            out.add(("spec", "http", i), "an http rule cannot be null", rule)
        elif isinstance(r, Mapping):
            _http(out, r, ("spec", "http", i), not hosts)
    for i, r in entries_of(spec.get("tls")):
        if isinstance(r, Mapping):
            _tls_route(out, r, ("spec", "tls", i), hosts, mesh)
    for i, r in entries_of(spec.get("tcp")):
        if isinstance(r, Mapping):
            _tcp_route(out, r, ("spec", "tcp", i))
    check_export_to(out, spec.get("exportTo"), ("spec", "exportTo"), namespace, False, False)


def _tls_route(out: Out, r: Mapping[str, Any], path: Path, hosts: list[str], mesh: bool) -> None:
    """validateTLSRoute, validateTLSMatch and validateSniHost."""
    rule = "validateTLSRoute"
    if not r.get("match"):
        out.add(path, "a tls rule needs at least one match", rule)
    for i, match in entries_of(r.get("match")):
        m = mapping_of(match)
        mp = (*path, "match", i)
        sni = strings_of(m.get("sniHosts"))
        if not sni:
            out.add(mp, "a tls match needs at least one sniHosts entry", "validateTLSMatch")
        for j, s in enumerate(sni):
            why = domain_error(s)
            if why:
                if not is_ip(s) and not (not mesh and s.startswith("outbound_")):
                    out.add((*mp, "sniHosts", j), f"{s!r} is no valid host name: {why}", rule)
            elif not any(_subset_of(s, h) for h in hosts):
                out.add(
                    (*mp, "sniHosts", j),
                    f"SNI host {s!r} is not covered by the VirtualService's hosts "
                    f"({', '.join(hosts) or 'none'})",
                    "validateSniHost",
                )
        if int_of(m.get("port")):
            check_port(out, m.get("port"), (*mp, "port"))
        check_labels(out, m.get("sourceLabels"), (*mp, "sourceLabels"))
        _gateway_names(out, m.get("gateways"), (*mp, "gateways"))
    if not r.get("route"):
        out.add(path, "a tls rule needs a route", rule)
    _weighted(out, r.get("route"), (*path, "route"), "validateRouteDestinations")


def _tcp_route(out: Out, r: Mapping[str, Any], path: Path) -> None:
    """validateTCPRoute and validateTCPMatch."""
    for i, match in entries_of(r.get("match")):
        m = mapping_of(match)
        mp = (*path, "match", i)
        if int_of(m.get("port")):
            check_port(out, m.get("port"), (*mp, "port"))
        check_labels(out, m.get("sourceLabels"), (*mp, "sourceLabels"))
        _gateway_names(out, m.get("gateways"), (*mp, "gateways"))
    if not r.get("route"):
        out.add(path, "a tcp rule needs a route", "validateTCPRoute")
    _weighted(out, r.get("route"), (*path, "route"), "validateRouteDestinations")
