"""What istioctl analyze's DestinationRule analyzers and Kiali's checkers say about one
DestinationRule, one function per rule: hosts that do not exist, subsets without labels, TLS
without a CA, port settings for ports the host does not have."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.registry import UNCONFIRMED, Known, Registry
from meshtui.mesh.resources import (
    DestinationRule,
    Path,
)


def rule_host(mesh: MeshIndex, rule: DestinationRule) -> str:
    """The host a DestinationRule is for, resolved in its namespace."""
    return resolve_host(rule.host, rule.meta.ref.namespace, mesh.config.domain)


_TLS_WITHOUT_CA = ("SIMPLE", "MUTUAL")


def destination_rule_findings(
    mesh: MeshIndex, rule: DestinationRule, known: Registry
) -> list[Finding]:
    host = rule_host(mesh, rule)
    ref = rule.meta.ref
    out: list[Finding] = []

    def finding(code: Code, message: str, path: Path, subset: str | None = None) -> Finding:
        return Finding(
            code,
            message,
            host=host,
            subset=subset,
            resource=ref,
            origin=rule.meta.origin,
            path=path,
        )

    target = known.lookup(ref.namespace, rule.export_to, rule.host, mesh.config.domain)
    if target is None:
        # destinationrule/subset.go (PodNotSelectedAnalyzer): NewUnknownDestinationRuleHost.
        out.append(
            finding(
                Code.UNKNOWN_DESTINATION_RULE_HOST,
                f"{ref}: host {rule.host!r} is no Service or ServiceEntry visible from namespace "
                f"{ref.namespace}; Istio builds no cluster for it, so its traffic policy and "
                "subsets are never applied",
                ("spec", "host"),
            )
        )
    elif target is UNCONFIRMED and not rule.host.startswith("*"):
        # istioctl reports IST0174 for a host no Service of its input defines; a folder of
        # Istio config alone says nothing about the cluster's Services: info, as IST0173 is
        # where the input holds no pods.
        message = (
            f"{ref}: host {rule.host!r}: the input holds no Service at all, so whether it "
            "exists cannot be confirmed (istioctl reports IST0174 here)"
        )
        unconfirmed = finding(Code.UNKNOWN_DESTINATION_RULE_HOST, message, ("spec", "host"))
        out.append(replace(unconfirmed, level=Severity.INFO))
    policies: list[tuple[Mapping[str, Any] | None, Path, str | None]] = [
        (rule.traffic_policy, ("spec", "trafficPolicy"), None)
    ]
    policies += [(s.traffic_policy, (*s.path, "trafficPolicy"), s.name) for s in rule.subsets]
    for policy, path, subset in policies:
        out += _tls_findings(rule, policy, path, subset, finding)
        if target is not None and not rule.host.startswith("*"):
            out += _port_findings(rule, policy, path, subset, target, finding)
    egress = _is_egress_gateway(host)
    for s in rule.subsets:
        if not s.labels:
            # Kiali business/checkers/destinationrules (KIA0209): a subset without labels.
            # Istio's egress gateway tasks (egress-gateway, egress-gateway-tls-origination)
            # give the egress gateway a label-less subset per destination to carry its TLS
            # settings: the whole gateway under another name is what is meant there.
            message = (
                f"subset {s.name!r} of {host} has no labels: it selects every endpoint of the "
                "service"
            )
            if egress:
                message += (
                    ", as Istio's documented egress gateway pattern means (a label-less subset "
                    "per destination carries its traffic policy)"
                )
            out.append(
                replace(
                    finding(Code.SUBSET_WITHOUT_LABELS, message, s.path, s.name),
                    level=Severity.INFO if egress else None,
                )
            )
    return out


def _is_egress_gateway(host: str) -> bool:
    """Whether `host` is an Istio egress gateway's Service (istio-egressgateway, or a named
    one such as istio-egressgateway-tls)."""
    return host.split(".", 1)[0].startswith("istio-egressgateway")


def _tls_findings(rule, policy, path, subset, finding) -> Iterator[Finding]:  # type: ignore[no-untyped-def]
    """destinationrule/ca-certificates.go (CaCertificateAnalyzer): TLS SIMPLE or MUTUAL with
    no caCertificates, unless credentialName is set on a DR with a workloadSelector (the
    credential then comes from the workload's own secret). Host and port level as istioctl;
    the subset's own policy as meshtui's addition."""
    if not isinstance(policy, Mapping):
        return
    where = f" of subset {subset!r}" if subset else ""
    tls = policy.get("tls")
    if _unverified(tls, rule):
        yield finding(
            Code.NO_CA_CERTIFICATES,
            f"{rule.meta.ref}: TLS mode {tls['mode']}{where} has no caCertificates: the "
            f"server certificate of {rule.host} is verified against the system roots; a server "
            "with a private CA will fail the handshake (pin a CA with caCertificates or "
            "credentialName)",
            (*path, "tls"),
            subset,
        )
    for i, entry in enumerate(policy.get("portLevelSettings") or ()):
        tls = entry.get("tls") if isinstance(entry, Mapping) else None
        if _unverified(tls, rule):
            number = (entry.get("port") or {}).get("number")
            yield finding(
                Code.NO_CA_CERTIFICATES_PORT,
                f"{rule.meta.ref}: TLS mode {tls['mode']} on port {number}{where} has no "
                f"caCertificates: there the server certificate of {rule.host} is verified "
                "against the system roots; a server with a private CA will fail the handshake "
                "(pin a CA with caCertificates or credentialName)",
                (*path, "portLevelSettings", i, "tls"),
                subset,
            )


def _unverified(tls: object, rule: DestinationRule) -> bool:
    if not isinstance(tls, Mapping) or tls.get("mode") not in _TLS_WITHOUT_CA:
        return False
    if tls.get("caCertificates"):
        return False
    return not (tls.get("credentialName") and rule.workload_selector is not None)


def _port_findings(rule, policy, path, subset, target: Known, finding) -> Iterator[Finding]:  # type: ignore[no-untyped-def]
    """portLevelSettings for a port the Service or ServiceEntry does not expose: pilot only
    builds clusters for the service's ports, so the settings are never used."""
    if not isinstance(policy, Mapping) or not target.ports:
        return
    for i, entry in enumerate(policy.get("portLevelSettings") or ()):
        number = (entry.get("port") or {}).get("number") if isinstance(entry, Mapping) else None
        if isinstance(number, int) and number not in target.ports:
            ports = ", ".join(str(p) for p in sorted(target.ports))
            where = f" of subset {subset!r}" if subset else ""
            yield finding(
                Code.PORT_NOT_IN_SERVICE,
                f"{rule.meta.ref}: portLevelSettings{where} for port {number}, which "
                f"{rule.host} does not expose (its ports: {ports}); they never apply",
                (*path, "portLevelSettings", i, "port", "number"),
                subset,
            )
