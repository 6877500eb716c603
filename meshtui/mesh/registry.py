"""Which hosts exist, and for whom: every Service and ServiceEntry host with the namespaces it
is visible in, as istioctl's analyzers build it (util.InitServiceEntryHostMap). The reference
checks of DestinationRules and VirtualServices look their hosts up here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.index import MeshIndex
from meshtui.mesh.resources import (
    EXPORT_TO_ANNOTATION,
)

ALL = "*"


@frozen
class Known:
    """A Service or ServiceEntry host as the analyzers see it: its ports (None: unknown)."""

    ports: tuple[int, ...] | None


# A host an Istio install creates: it exists, its ports are not judged.
UNJUDGED = Known(None)
# An in-cluster host in an input without any Service: meshtui cannot tell whether it exists
# (a distinct value, told apart by identity).
UNCONFIRMED = Known(None)


@dataclass
class Registry:
    """Hosts by visibility scope, as istioctl's util.InitServiceEntryHostMap builds them:
    (scope namespace or `*`, FQDN) for exact hosts, and the wildcard hosts apart."""

    exact: dict[tuple[str, str], Known] = field(default_factory=dict)
    wildcards: list[tuple[str, str, Known]] = field(default_factory=list)
    # Whether the input holds Services at all: a folder of Istio config alone says nothing
    # about which Kubernetes services exist (live, the API server always lists some).
    services_known: bool = True

    def add(self, scope: str, host: str, known: Known) -> None:
        if host.startswith("*"):
            self.wildcards.append((scope, host[1:], known))
        else:
            self.exact.setdefault((scope, host), known)

    def lookup(
        self, namespace: str, export_to: Iterable[str], host: str, domain: str
    ) -> Known | None:
        """The Service or ServiceEntry a resource in `namespace` reaches by `host`.

        istioctl's util.GetDestinationHost: a host exported to all namespaces; else one in the
        scopes the referring resource's own exportTo names (its namespace when it has none);
        else a wildcard ServiceEntry host visible to the namespace that covers it.
        """
        fqdn = resolve_host(host, namespace, domain)
        found = self.exact.get((ALL, fqdn))
        if found is not None:
            return found
        scopes = [namespace if e == "." else e for e in export_to] or [namespace]
        for scope in scopes:
            found = self.exact.get((scope, fqdn))
            if found is not None:
                return found
        bare = fqdn.removeprefix("*")
        for scope, suffix, known in self.wildcards:
            if scope in (ALL, namespace) and bare.endswith(suffix):
                return known
        if fqdn.startswith("*"):
            # A wildcard host (a mesh-wide `*.local` DR) covers every visible host under it,
            # as pilot applies it; istioctl's lookup misses these and reports IST0174.
            visible = {ALL, *scopes}
            for (scope, name), known in self.exact.items():
                if scope in visible and name.endswith(bare):
                    return known
        if not self.services_known and (fqdn.endswith(f".svc.{domain}") or fqdn == "*"):
            return UNCONFIRMED
        return None


def _scopes(export_to: Iterable[str], own: str) -> list[str]:
    scopes = []
    for e in export_to:
        e = e.strip()
        if e == ALL:
            return [ALL]
        scopes.append(own if e == "." else e)
    return scopes or [ALL]


# The Services an Istio install creates in its namespace (istioctl install's default and demo
# profiles, manifests/charts/gateways and istio-control): known to exist though the input
# rarely holds them, as the documented egress gateway pattern routes to the egress gateway.
ISTIO_INSTALL_SERVICES = (
    "istiod",
    "istio-ingressgateway",
    "istio-egressgateway",
    "istio-eastwestgateway",
)


def registry(mesh: MeshIndex) -> Registry:
    """Every Service and ServiceEntry host with the namespaces it is visible in, and the
    Services an Istio install creates (their ports are not judged)."""
    out = Registry(services_known=bool(mesh._hosts.services))
    domain = mesh.config.domain
    for name in ISTIO_INSTALL_SERVICES:
        host = f"{name}.{mesh.config.root_namespace}.svc.{domain}"
        if host not in mesh._hosts.services:
            out.add(ALL, host, UNJUDGED)
    for host, service in mesh._hosts.services.items():
        ns = service.meta.ref.namespace
        annotation = (service.meta.annotations or {}).get(EXPORT_TO_ANNOTATION)
        known = Known(tuple(p.number for p in service.ports))
        for scope in _scopes(annotation.split(",") if annotation else (), ns):
            out.add(scope, host, known)
    entries = {e.meta.ref: e for es in mesh._hosts.entries.values() for e in es}
    for entry in entries.values():
        ns = entry.meta.ref.namespace
        known = Known(tuple(p.number for p in entry.ports))
        for h in entry.hosts:
            for scope in _scopes(entry.export_to, ns):
                out.add(scope, resolve_host(h, ns, domain), known)
    return out
