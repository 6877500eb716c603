"""The values Istio's webhook checks in every kind: durations, ports, host names, labels,
exportTo (istio/istio pkg/config/validation agent/validation.go, labels, visibility)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from meshtui.mesh.schema import Issue, Path, is_mapping

IGNORED = "IgnoredField"
# A webhook error on a resource already stored in a cluster: reported, not a rejection.
STORED = "InvalidResourceStored"

# pkg/config/labels/instance.go
_DNS1123_LABEL = r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?"
DNS_LABEL = re.compile(f"^{_DNS1123_LABEL}$")
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
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9}
_UNIT_NS["h"] = 3600 * 10**9
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")


class Out:
    """The issues found, each naming the Istio rule it follows."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(
        self, path: Path, message: str, rule: str, prune: tuple[Path, ...] | None = None
    ) -> None:
        self.issues.append(
            Issue(path, f"{message} (Istio's webhook rejects it: {rule})", prune=prune)
        )


def mapping_of(value: object) -> Mapping[str, Any]:
    return value if is_mapping(value) else {}


def entries_of(value: object) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else iter(())


def strings_of(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def int_of(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return None


def duration_ns(text: object) -> int | None:
    """A Go duration string ("1m30s", "500ms", "0") in nanoseconds; None if not one."""
    return _duration_ns(text) if isinstance(text, str) else None


@lru_cache(maxsize=1024)  # a mesh writes the same few durations in thousands of policies
def _duration_ns(text: str) -> int | None:
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


def check_duration(out: Out, value: object, path: Path) -> None:
    """agent.ValidateDuration: at least 1ms, in whole milliseconds."""
    ns = duration_ns(value)
    if ns is None:
        return
    if ns < 10**6:
        out.add(path, f"is {value}: a duration must be at least 1ms", "agent.ValidateDuration")
    elif ns % 10**6:
        out.add(path, f"is {value}: only whole milliseconds", "agent.ValidateDuration")


def check_port(out: Out, value: object, path: Path, rule: str = "agent.ValidatePort") -> None:
    n = int_of(value)
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
        if len(label) > 63 or not DNS_LABEL.match(label):
            return f"label {label!r} is invalid"
    return None


def domain_error(domain: str, wildcard: bool = True) -> str | None:
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


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_host(
    out: Out, value: object, path: Path, rule: str = "agent.ValidateWildcardDomain"
) -> None:
    if isinstance(value, str):
        why = domain_error(value)
        if why:
            out.add(path, f"{value!r} is no valid host name: {why}", rule)


def check_labels(out: Out, value: object, path: Path) -> None:
    """labels.Instance.Validate: keys are qualified names, values label values."""
    for k, v in mapping_of(value).items():
        if not isinstance(k, str) or not _LABEL_KEY.match(k) or len(k.rpartition("/")[2]) > 63:
            out.add((*path, str(k)), f"{k!r} is no valid label key", "labels.Instance.Validate")
        elif isinstance(v, str) and (len(v) > 63 or not _LABEL_VALUE.match(v)):
            out.add((*path, k), f"{v!r} is no valid label value", "labels.Instance.Validate")


def check_percent(out: Out, value: object, path: Path, rule: str = "ValidatePercent") -> None:
    n = int_of(value)
    if n is not None and not 0 <= n <= 100:
        out.add(path, f"is {n}: a percentage must be between 0 and 100", rule)


def check_percentage(out: Out, value: object, path: Path) -> None:
    """validatePercentage: 0, or between 0.0001 and 100."""
    v = mapping_of(value).get("value")
    number = isinstance(v, int | float) and not isinstance(v, bool)
    if number and (v < 0 or v > 100 or 0 < v < 0.0001):
        out.add(
            (*path, "value"),
            f"is {v}: must be 0 or between 0.0001 and 100",
            "validatePercentage",
        )


def check_export_to(
    out: Out, value: object, path: Path, namespace: str, service_entry: bool, selector: bool
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
        elif e not in (".", "*", "~") and not (len(e) <= 63 and DNS_LABEL.match(e)):
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


def check_subset_name(out: Out, name: str, path: Path) -> None:
    """validateSubsetName: a DNS-1123 label."""
    if name and (len(name) > 63 or not DNS_LABEL.match(name)):
        out.add(path, f"{name!r} is no valid subset name (a DNS-1123 label)", "validateSubsetName")


def check_protocol(out: Out, value: object, path: Path) -> None:
    """ValidateProtocol: one of pkg/config/protocol's names, any case."""
    if isinstance(value, str) and value and value.lower() not in _PROTOCOLS:
        out.add(path, f"{value!r} is no protocol Istio knows", "ValidateProtocol")
