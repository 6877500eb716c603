"""ServiceEntry and Sidecar: validation.go ValidateServiceEntry and ValidateSidecar."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshtui.mesh.webhook.values import (
    DNS_LABEL,
    Out,
    check_export_to,
    check_host,
    check_labels,
    check_port,
    check_protocol,
    domain_error,
    entries_of,
    int_of,
    mapping_of,
    strings_of,
)

# -- ServiceEntry (validation.go ValidateServiceEntry) --------------------------------------


def service_entry(out: Out, spec: Mapping[str, Any], namespace: str) -> None:
    rule = "ValidateServiceEntry"
    hosts = strings_of(spec.get("hosts"))
    if not hosts:
        out.add(("spec", "hosts"), "a ServiceEntry needs at least one host", rule)
    for i, h in enumerate(hosts):
        if h == "*":
            out.add(("spec", "hosts", i), "* is not a ServiceEntry host", rule)
        else:
            check_host(out, h, ("spec", "hosts", i))
    selector = spec.get("workloadSelector")
    if selector is not None and spec.get("endpoints") is not None:
        out.add(("spec", "workloadSelector"), "cannot be set with endpoints", rule)
    check_labels(out, mapping_of(selector).get("labels"), ("spec", "workloadSelector", "labels"))
    names: set[str] = set()
    numbers: set[int] = set()
    for i, port in entries_of(spec.get("ports")):
        p = mapping_of(port)
        pp = ("spec", "ports", i)
        name, number = p.get("name"), int_of(p.get("number"))
        if isinstance(name, str):
            if name in names:
                out.add((*pp, "name"), f"port name {name!r} is used twice", rule)
            names.add(name)
            if not DNS_LABEL.match(name) or len(name) > 63:
                out.add((*pp, "name"), f"{name!r} is no valid port name", "ValidatePortName")
        if number is not None:
            if number in numbers:
                out.add((*pp, "number"), f"port {number} is defined twice", rule)
            numbers.add(number)
            check_port(out, number, (*pp, "number"))
        if int_of(p.get("targetPort")):
            check_port(out, p.get("targetPort"), (*pp, "targetPort"))
        check_protocol(out, p.get("protocol"), (*pp, "protocol"))
    resolution = spec.get("resolution") or "NONE"
    addresses = strings_of(spec.get("addresses"))
    if any("/" in a for a in addresses) and resolution not in ("NONE", "STATIC"):
        out.add(("spec", "addresses"), "CIDR addresses need resolution NONE or STATIC", rule)
    if resolution == "NONE" and spec.get("endpoints"):
        out.add(("spec", "endpoints"), "resolution NONE takes no endpoints", rule)
    if resolution in ("DNS", "DNS_ROUND_ROBIN") and not spec.get("endpoints"):
        for i, h in enumerate(hosts):
            if domain_error(h, False):
                out.add(
                    ("spec", "hosts", i),
                    f"resolution {resolution} without endpoints needs host names, not {h!r}",
                    rule,
                )
                break
    check_export_to(out, spec.get("exportTo"), ("spec", "exportTo"), namespace, True, False)


# -- Sidecar (validation.go ValidateSidecar) ------------------------------------------------


def sidecar(out: Out, spec: Mapping[str, Any], namespace: str) -> None:
    rule = "ValidateSidecar"
    check_labels(
        out, mapping_of(spec.get("workloadSelector")).get("labels"), ("spec", "workloadSelector")
    )
    keys = ("egress", "ingress", "outboundTrafficPolicy", "inboundConnectionPool")
    if not any(spec.get(k) for k in keys):
        out.add(("spec",), "a Sidecar needs egress, ingress or outboundTrafficPolicy", rule)
        return
    ports: set[int] = set()
    for i, listener in entries_of(spec.get("ingress")):
        lp = ("spec", "ingress", i)
        port = mapping_of(listener).get("port")
        if port is None:
            out.add(lp, "an ingress listener needs a port", rule)
            continue
        number = int_of(mapping_of(port).get("number"))
        check_port(out, number, (*lp, "port", "number"))
        check_protocol(out, mapping_of(port).get("protocol"), (*lp, "port", "protocol"))
        if number in ports:
            out.add((*lp, "port", "number"), f"port {number} is used twice", rule)
        ports.add(number or 0)
    ports = set()
    egress = list(entries_of(spec.get("egress")))
    for i, listener in egress:
        lp = ("spec", "egress", i)
        e = mapping_of(listener)
        port = e.get("port")
        if port is None:
            if i != len(egress) - 1:
                out.add(lp, "the egress listener without a port must be the last one", rule)
        else:
            number = int_of(mapping_of(port).get("number"))
            if number:  # 0 is a Unix domain socket listener
                check_port(out, number, (*lp, "port", "number"))
                if number in ports:
                    out.add((*lp, "port", "number"), f"port {number} is used twice", rule)
                ports.add(number)
            check_protocol(out, mapping_of(port).get("protocol"), (*lp, "port", "protocol"))
        hosts = strings_of(e.get("hosts"))
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
            elif name != "*" and domain_error(name):
                out.add(
                    (*lp, "hosts", j),
                    f"{name!r} is no valid host name",
                    "agent.ValidateNamespaceSlashWildcardHostname",
                )
    policy = mapping_of(spec.get("outboundTrafficPolicy"))
    if policy.get("egressProxy") is not None and policy.get("mode") != "ALLOW_ANY":
        out.add(
            ("spec", "outboundTrafficPolicy", "egressProxy"),
            "needs outboundTrafficPolicy mode ALLOW_ANY",
            "validateSidecarOutboundTrafficPolicy",
        )
