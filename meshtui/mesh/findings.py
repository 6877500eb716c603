"""Findings: what meshtui tells a person about their traffic policy, with stable codes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum

from meshtui.mesh.clients import ClientSet
from meshtui.mesh.frozen import frozen
from meshtui.mesh.resources import ObjectRef, Origin, Path, format_path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @property
    def icon(self) -> str:
        """The glyph every interface shows beside the severity."""
        return {"error": "✖", "warning": "⚠", "info": "ℹ"}[self.value]


class Code(StrEnum):
    SUBSET_POLICY_NEVER_APPLIED = "SubsetPolicyNeverApplied"
    UNDEFINED_SUBSET = "UndefinedSubset"
    SUBSET_SELECTS_NOTHING = "SubsetSelectsNothing"
    DUPLICATE_SUBSET = "DuplicateSubset"
    MULTIPLE_DESTINATION_RULES = "MultipleDestinationRules"
    CONFLICTING_VIRTUAL_SERVICES = "ConflictingVirtualServices"
    UNREACHABLE_RULE = "UnreachableRule"
    INEFFECTIVE_MATCH = "IneffectiveMatch"
    UNKNOWN_GATEWAY = "UnknownGateway"
    GATEWAY_ROUTE_BYPASSES_SUBSETS = "GatewayRouteBypassesSubsets"
    INVALID_RESOURCE = "InvalidResource"
    PARSE_ERROR = "ParseError"
    # Schema, references and analyzer parity (issue 10)
    UNKNOWN_FIELD = "UnknownField"
    DEPRECATED_FIELD = "DeprecatedField"
    PORT_NOT_IN_SERVICE = "PortNotInService"
    UNKNOWN_HOST = "UnknownHost"
    UNKNOWN_PORT = "UnknownPort"
    DESTINATION_PORT_REQUIRED = "DestinationPortRequired"
    UNKNOWN_DESTINATION_RULE_HOST = "UnknownDestinationRuleHost"
    NO_CA_CERTIFICATES = "NoCaCertificates"
    NO_CA_CERTIFICATES_PORT = "NoCaCertificatesPort"
    HOST_NOT_IN_GATEWAY = "HostNotInGateway"
    INTERNAL_GATEWAY_REFERENCE = "InternalGatewayReference"
    SINGLE_DESTINATION_WEIGHT = "SingleDestinationWeight"
    DUPLICATE_DESTINATION = "DuplicateDestination"
    SUBSET_WITHOUT_LABELS = "SubsetWithoutLabels"
    # Policy written but not applied, and false alarms (issue 23)
    IGNORED_FIELD = "IgnoredField"
    MERGED_POLICY_IGNORED = "MergedPolicyIgnored"
    # The routing table (issue 20)
    VIRTUAL_SERVICE_OVERRIDE = "VirtualServiceOverride"
    DELEGATE_RULE_DROPPED = "DelegateRuleDropped"
    # Gateway API routes (issue 21)
    ROUTE_WITHOUT_PARENT = "RouteWithoutParent"
    ROUTE_PARENT_NOT_FOUND = "RouteParentNotFound"
    UNSUPPORTED_REF_KIND = "UnsupportedRefKind"
    BACKEND_NOT_FOUND = "BackendNotFound"
    BACKEND_REF_NOT_PERMITTED = "BackendRefNotPermitted"
    ROUTE_NOT_ADMITTED = "RouteNotAdmitted"
    VIRTUAL_SERVICE_ON_KUBERNETES_GATEWAY = "VirtualServiceOnKubernetesGateway"
    SUBSET_POLICY_BYPASSED = "SubsetPolicyBypassedByGatewayRoute"
    MIXED_ROUTE_SOURCES = "HTTPRouteAndVirtualServiceClaimHost"
    ROUTE_CONDITION_FALSE = "RouteConditionFalse"
    # The client's data plane (issue 25)
    AMBIENT_WITHOUT_WAYPOINT = "AmbientWithoutWaypoint"
    WAYPOINT_UNAVAILABLE = "WaypointUnavailable"
    WAYPOINT_IGNORES_VIRTUAL_SERVICE = "WaypointIgnoresVirtualService"
    SIDECAR_HIDES_ROUTED_HOST = "SidecarHidesRoutedHost"
    SIDECAR_SELECTS_AMBIENT = "SidecarSelectsAmbient"


@frozen
class Rule:
    """What a finding code means: its severity, its equivalents elsewhere, one line to act on."""

    severity: Severity
    explanation: str
    istio: str | None = None  # the istioctl analyze message code (IST0101, ...)
    kiali: str | None = None  # the Kiali validation code (KIA1101, ...)
    # When a finding of the code takes another severity than `severity`, and why.
    severity_rule: str = ""
    # What a verified fix of the code does ("" when meshtui offers none).
    fix: str = ""
    # The Gateway API controller's word for it: the route status condition and reason.
    gateway_api: str | None = None


# The one table of finding codes: the README's findings table, SARIF rules and the help text
# all come from here.
RULES: dict[Code, Rule] = {
    Code.SUBSET_POLICY_NEVER_APPLIED: Rule(
        Severity.WARNING,
        "Istio applies a subset's trafficPolicy only to traffic that a route sends to that "
        "subset; with no such route, default routing goes to the whole service and the "
        "subset's policy is dead config.",
        fix="routes requests with header x-subset to the subset, or sends it a share of the "
        "traffic (--fix-weight), or moves the policy to the host level",
    ),
    Code.UNDEFINED_SUBSET: Rule(
        Severity.ERROR,
        "A route names a subset that no DestinationRule for that host defines; Istio has no "
        "cluster for it and requests fail with 503 (no healthy upstream).",
        istio="IST0101",
        kiali="KIA1107",
        severity_rule="a warning when the input holds workloads but none of the client "
        "namespaces that get the 503 has a client (a workload or a Gateway) in it, and in a "
        "delegate that no root VirtualService names (no traffic yet)",
        fix="routes to the nearest defined subset name first (did you mean ...?), defines the "
        "subset, or routes to the whole service",
    ),
    Code.SUBSET_SELECTS_NOTHING: Rule(
        Severity.WARNING,
        "No workload of the service carries all of the subset's labels, so traffic routed to "
        "the subset has no endpoints.",
        istio="IST0173",
        kiali="KIA0203",
        severity_rule="an error when a route that can match sends the subset traffic (503); "
        "info when the input holds no workload at all, so the selection cannot be confirmed",
        fix="selects the labels the service's pods carry, the nearest spelling first "
        "(version: v2 for verison: v2)",
    ),
    Code.DUPLICATE_SUBSET: Rule(
        Severity.WARNING,
        "Several merged DestinationRules define a subset of the same name; Istio keeps the "
        "first and ignores the others.",
        kiali="KIA0201",
    ),
    Code.MULTIPLE_DESTINATION_RULES: Rule(
        Severity.INFO,
        "Several DestinationRules for one host were merged: subsets are concatenated and the "
        "top-level trafficPolicy of the first one that has one wins.",
    ),
    Code.CONFLICTING_VIRTUAL_SERVICES: Rule(
        Severity.ERROR,
        "Several mesh-bound VirtualServices claim the same host; a sidecar uses the first one "
        "it sees and drops the others, so their routes carry no traffic for those clients.",
        istio="IST0109",
        kiali="KIA1106",
    ),
    Code.UNREACHABLE_RULE: Rule(
        Severity.WARNING,
        "Rules are tried in order and the first match wins; a rule after a catch-all, or "
        "whose every match an earlier rule already covers, never matches.",
        istio="IST0130",
    ),
    Code.INEFFECTIVE_MATCH: Rule(
        Severity.INFO,
        "One match clause of the rule is covered by an earlier rule, so it never matches.",
        istio="IST0131",
    ),
    Code.UNKNOWN_GATEWAY: Rule(
        Severity.ERROR,
        "The VirtualService binds to a Gateway that does not exist; its routes for that "
        "gateway carry no traffic.",
        istio="IST0101",
        kiali="KIA1102",
    ),
    Code.GATEWAY_ROUTE_BYPASSES_SUBSETS: Rule(
        Severity.WARNING,
        "A gateway-bound VirtualService routes the host without a subset while mesh routes "
        "use subsets: traffic from the gateway is not split by the subset routing.",
        istio="IST0140",
    ),
    Code.INVALID_RESOURCE: Rule(
        Severity.ERROR,
        "The resource has a field of the wrong type, a value outside its enum, a malformed "
        "duration or a missing required field, or breaks a rule of Istio's validating webhook "
        "(pkg/config/validation); the API server would reject it, so Istio never sees it.",
        istio="IST0106",
    ),
    Code.PARSE_ERROR: Rule(Severity.ERROR, "The file could not be read as YAML or JSON."),
    # -- schema, references and analyzer parity (issue 10) --
    Code.UNKNOWN_FIELD: Rule(
        Severity.WARNING,
        "The field is not part of the Istio API at this place: kubectl's strict field "
        "validation rejects the resource, and an API server without it drops the field, so "
        "what it was meant to set is not set (often a typo of the field named).",
    ),
    Code.DEPRECATED_FIELD: Rule(
        Severity.INFO,
        "The value is accepted but deprecated in the Istio API; Istio reads it as its "
        "replacement, which is what to write.",
    ),
    Code.PORT_NOT_IN_SERVICE: Rule(
        Severity.WARNING,
        "portLevelSettings name a port the Service or ServiceEntry does not expose; no "
        "traffic uses that port, so the settings never apply.",
    ),
    Code.UNKNOWN_HOST: Rule(
        Severity.ERROR,
        "A route or mirror sends traffic to a host that is no Service or ServiceEntry visible "
        "from the VirtualService's namespace; Istio has no cluster for it and the requests fail.",
        istio="IST0101",
        kiali="KIA1101",
        severity_rule="a warning offline, where the host is only not in these files (the "
        "cluster or another tool may create it at run time); the Services an Istio install "
        "creates (istiod, istio-ingressgateway, istio-egressgateway, istio-eastwestgateway in "
        "the root namespace) are known",
    ),
    Code.UNKNOWN_PORT: Rule(
        Severity.ERROR,
        "A destination names a port the host does not expose; Istio has no cluster for that "
        "host and port and the requests fail.",
        istio="IST0101",
    ),
    Code.DESTINATION_PORT_REQUIRED: Rule(
        Severity.ERROR,
        "The destination has no port but its host exposes several; name the port the route "
        "sends traffic to.",
        istio="IST0112",
    ),
    Code.UNKNOWN_DESTINATION_RULE_HOST: Rule(
        Severity.WARNING,
        "The DestinationRule's host is no Service or ServiceEntry visible from its namespace: "
        "Istio builds no cluster for it, so its traffic policy and subsets are never applied.",
        istio="IST0174",
        kiali="KIA0202",
        severity_rule="info when the input holds no Service at all, so whether the host "
        "exists cannot be confirmed",
    ),
    Code.NO_CA_CERTIFICATES: Rule(
        Severity.INFO,
        "TLS mode SIMPLE or MUTUAL without caCertificates: pilot has the proxy verify the "
        "server against the system root store (networking/core/cluster_tls.go, "
        'NonEmptyOrDefault(tls.CaCertificates, "system")), so a server with a private CA fails '
        "the handshake; pin a CA with caCertificates or credentialName.",
        istio="IST0128",
    ),
    Code.NO_CA_CERTIFICATES_PORT: Rule(
        Severity.INFO,
        "Port-level TLS mode SIMPLE or MUTUAL without caCertificates: on that port the proxy "
        "verifies the server against the system root store, so a server with a private CA "
        "fails the handshake; pin a CA with caCertificates or credentialName.",
        istio="IST0129",
    ),
    Code.HOST_NOT_IN_GATEWAY: Rule(
        Severity.WARNING,
        "No server of the Gateway accepts any of the VirtualService's hosts, so the gateway "
        "never uses its routes.",
        istio="IST0132",
    ),
    Code.INTERNAL_GATEWAY_REFERENCE: Rule(
        Severity.WARNING,
        "The VirtualService binds to a Gateway that Istio generates for a Kubernetes Gateway "
        "API gateway; that binding is internal and may change. Bind to the Gateway API "
        "resources instead.",
        istio="IST0165",
    ),
    Code.SINGLE_DESTINATION_WEIGHT: Rule(
        Severity.INFO,
        "A route with a single destination sends it all the traffic: Istio takes its weight "
        "as 100 whatever it says.",
        kiali="KIA1104",
    ),
    Code.DUPLICATE_DESTINATION: Rule(
        Severity.WARNING,
        "The same host and subset appear twice among one route's destinations; Istio builds "
        "one weighted cluster per entry, which is seldom what was meant.",
        kiali="KIA1105",
    ),
    Code.SUBSET_WITHOUT_LABELS: Rule(
        Severity.WARNING,
        "The subset has no labels, so it selects every endpoint of the service: it is the "
        "whole service under another name.",
        kiali="KIA0209",
        severity_rule="info on an egress gateway host (istio-egressgateway...), where Istio's "
        "documented egress pattern uses a label-less subset to carry per-destination TLS",
    ),
    # -- policy written but not applied (issue 23) --
    Code.IGNORED_FIELD: Rule(
        Severity.WARNING,
        "The API accepts the field but pilot ignores it (outlierDetection.consecutiveErrors: "
        "pilot reads consecutive5xxErrors and consecutiveGatewayErrors only), so what it was "
        "meant to set is not set; write the replacement named.",
    ),
    Code.MERGED_POLICY_IGNORED: Rule(
        Severity.WARNING,
        "Several DestinationRules of one namespace for one host are merged and only the first "
        "one's top-level trafficPolicy is kept: this DestinationRule's top-level trafficPolicy "
        "is dropped whole. Move the fields to the DestinationRule whose policy is in force.",
    ),
    # -- the routing table (issue 20) --
    Code.VIRTUAL_SERVICE_OVERRIDE: Rule(
        Severity.INFO,
        "A VirtualService private to (or exported by name to) some client namespaces claims a "
        "host another VirtualService routes for everyone: those clients' sidecars take it "
        "first, whatever the creation times, so the outcome is deterministic (a consumer "
        "override). istioctl reports it as a conflict.",
        istio="IST0109",
    ),
    Code.DELEGATE_RULE_DROPPED: Rule(
        Severity.WARNING,
        "A rule of a delegate VirtualService whose match does not narrow its root rule's "
        "match: merging the two yields nothing, so pilot drops the rule and its destinations "
        "get no traffic from it.",
    ),
    # -- Gateway API routes (issue 21) --
    Code.ROUTE_WITHOUT_PARENT: Rule(
        Severity.WARNING,
        "The Gateway API route has no parentRefs: it attaches to no Gateway and no Service, so "
        "no proxy ever uses it.",
    ),
    Code.ROUTE_PARENT_NOT_FOUND: Rule(
        Severity.ERROR,
        "A parentRef names a Service, ServiceEntry or Gateway that does not exist: pilot builds "
        "nothing from the route for that parent (route_collections.go).",
        gateway_api="Accepted=False, reason NoMatchingParent",
        severity_rule="a warning offline, where the parent is only not in these files",
    ),
    Code.UNSUPPORTED_REF_KIND: Rule(
        Severity.ERROR,
        "A parentRef or backendRef names a kind Istio does not support there (parents: Gateway, "
        "Service, ServiceEntry; backends: Service, Istio Hostname, ServiceEntry); that parent "
        "is skipped, that backend answers 500.",
        gateway_api="ResolvedRefs=False, reason InvalidKind",
    ),
    Code.BACKEND_NOT_FOUND: Rule(
        Severity.ERROR,
        "A backendRef names a Service that does not exist: pilot keeps the backend's share of "
        "the traffic and answers it with 500 (conversion.go buildDestination).",
        istio="IST0101",
        gateway_api="ResolvedRefs=False, reason BackendNotFound",
        severity_rule="a warning offline, where the Service is only not in these files",
    ),
    Code.BACKEND_REF_NOT_PERMITTED: Rule(
        Severity.ERROR,
        "A route attached to a Gateway sends to a Service of another namespace, and no "
        "ReferenceGrant there allows it: the backend's share answers 500. (Mesh routes are "
        "not checked for ReferenceGrants.)",
        gateway_api="ResolvedRefs=False, reason RefNotPermitted",
    ),
    Code.ROUTE_NOT_ADMITTED: Rule(
        Severity.ERROR,
        "No listener of the parent Gateway admits the route: its sectionName or port names no "
        "listener, the listener's hostname matches none of the route's hostnames, or its "
        "allowedRoutes leave out the route's namespace or kind. The gateway ignores it.",
        gateway_api="Accepted=False, reason NotAllowedByListeners / NoMatchingListenerHostname",
    ),
    Code.VIRTUAL_SERVICE_ON_KUBERNETES_GATEWAY: Rule(
        Severity.ERROR,
        "The VirtualService names a Kubernetes (Gateway API) Gateway in `gateways`: pilot "
        "looks gateway VirtualServices up by the Istio Gateway it generates for each listener "
        "(`ns/gw~istio-autogenerated-k8s-gateway~listener`), so this binds to nothing and its "
        "routes carry no gateway traffic. istioctl analyze reports nothing. Write an HTTPRoute "
        "with that Gateway as parent; binding to the generated name works but istioctl flags "
        "it (IST0165) because the name is internal and may change.",
        fix="an HTTPRoute with the Gateway as parentRef, carrying the VirtualService's rules",
    ),
    Code.SUBSET_POLICY_BYPASSED: Rule(
        Severity.WARNING,
        "Clients whose sidecars route the host by a Gateway API route never reach a "
        "DestinationRule subset (backendRefs name Services, never subsets), so the subset's "
        "trafficPolicy is dead for them; the DestinationRule's top-level and port-level policy "
        "still applies. Route to a Service per version (the Gateway API way) or use a "
        "VirtualService that names the subset.",
    ),
    Code.ROUTE_CONDITION_FALSE: Rule(
        Severity.WARNING,
        "Live, the Gateway API controller reports the route not Accepted or its references not "
        "resolved for a parent (status.parents[].conditions): its own verdict, shown as "
        "written, beside meshtui's.",
        gateway_api="Accepted=False or ResolvedRefs=False, with the controller's reason",
    ),
    Code.MIXED_ROUTE_SOURCES: Rule(
        Severity.WARNING,
        "A Gateway API route and a VirtualService claim one host for the same clients: a "
        "sidecar uses one route source per host (a Gateway API route of the client's own "
        "namespace first, else the older one) and ignores the other. Istio's documentation "
        "calls mixing them for one workload undefined; istioctl analyze is silent.",
    ),
    Code.AMBIENT_WITHOUT_WAYPOINT: Rule(
        Severity.WARNING,
        "The clients of a service without a waypoint are all ambient (in the input): ztunnel "
        "applies no VirtualService and no DestinationRule, so its routes, subsets and policy "
        "do nothing. Where sidecar clients still apply them, the host's data plane says who "
        "bypasses them.",
        kiali="KIA0210-0212, KIA1109/1113/1114",
    ),
    Code.WAYPOINT_UNAVAILABLE: Rule(
        Severity.WARNING,
        "istio.io/use-waypoint names a waypoint that does not exist, has no address yet or "
        "takes no service traffic: pilot gives the service no waypoint, and its ambient "
        "clients get no L7 routing or policy.",
    ),
    Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE: Rule(
        Severity.WARNING,
        "A waypoint applies only VirtualServices of the service's namespace or its own: one "
        "defined elsewhere (a consumer override in the client's namespace) routes nothing for "
        "ambient clients.",
        kiali="KIA1113/1114",
    ),
    Code.SIDECAR_HIDES_ROUTED_HOST: Rule(
        Severity.WARNING,
        "The namespace's Sidecar does not import a host (by the Service's namespace) or the "
        "VirtualService routing it (by the VirtualService's namespace), yet a VirtualService "
        "there routes it: its clients get no route and no DestinationRule for it.",
    ),
    Code.SIDECAR_SELECTS_AMBIENT: Rule(
        Severity.WARNING,
        "A Sidecar that selects ambient pods, or a namespace-wide Sidecar of an ambient "
        "namespace, configures nothing: ambient pods have no sidecar.",
        istio="IST0167",
    ),
}

SEVERITY = {code: rule.severity for code, rule in RULES.items()}
# One line a person can act on, shown in `check -o text`, SARIF rule help and the TUI.
EXPLANATION = {code: rule.explanation for code, rule in RULES.items()}


@frozen
class Finding:
    code: Code
    message: str
    host: str | None = None
    subset: str | None = None
    resource: ObjectRef | None = None
    origin: Origin | None = None
    path: Path = ()  # the field within the resource, for sources that can locate it
    clients: ClientSet | None = None  # whose requests it concerns; None: not client-specific
    beyond_istio: bool = False  # meshtui's own conclusion where istioctl reports another code
    level: Severity | None = None  # the severity when the code's severity rule says another

    @classmethod
    def at(cls, level: Severity, code: Code, message: str, **kw: object) -> Finding:
        """A finding at `level` (kept None when it is the code's own severity)."""
        return cls(code, message, level=None if level is SEVERITY[code] else level, **kw)  # type: ignore[arg-type]

    @property
    def field(self) -> str | None:
        return format_path(self.path) if self.path else None

    @property
    def severity(self) -> Severity:
        return self.level or SEVERITY[self.code]

    @property
    def istio(self) -> str | None:
        """The istioctl analyze code of the same problem, where istioctl has one."""
        return None if self.beyond_istio else RULES[self.code].istio

    @property
    def file(self) -> str | None:
        return self.origin.file if self.origin else None

    @property
    def line(self) -> int | None:
        return self.origin.line if self.origin else None

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (
            -self.severity.rank,
            self.host or "",
            self.subset or "",
            self.code.value,
            self.message,
        )


def location_probe(resource: ObjectRef, origin: Origin, path: Path) -> Finding:
    """A finding in form only, never shown: a field a source locates (Source.refine) the way
    it locates a finding's, e.g. the line of the rule a route or a trace names."""
    return Finding(Code.INVALID_RESOURCE, "", resource=resource, origin=origin, path=path)


def nearest_name(name: str, names: Iterable[str]) -> str | None:
    """The name of `names` that `name` most likely misspells (`canery` for `canary`)."""
    close = difflib.get_close_matches(name, sorted(set(names) - {name}), n=1, cutoff=0.6)
    return close[0] if close else None


def reaches(severity: Severity, threshold: Severity) -> bool:
    return severity.rank >= threshold.rank


def markdown_table() -> str:
    """The README's findings table, made from RULES so the two never disagree."""
    rows = [
        "| code | severity | istioctl | Kiali | means | a verified fix |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for code, rule in RULES.items():
        severity = rule.severity.value + (f"; {rule.severity_rule}" if rule.severity_rule else "")
        means = rule.explanation
        if rule.gateway_api:
            means += f" Gateway API route status: {rule.gateway_api}."
        rows.append(
            f"| `{code.value}` | {severity} | {rule.istio or ''} | "
            f"{rule.kiali or ''} | {means} | {rule.fix} |"
        )
    return "\n".join(rows)
