"""The Istio networking API (v1) for DestinationRules and VirtualServices, declared once.

Each field of the two specs is described here with its type, as the CRD's OpenAPI schema and
the protobuf messages of istio/api (networking/v1alpha3/destination_rule.proto and
virtual_service.proto, served as v1) declare it. :func:`validate` walks a spec once and says
what the API server would reject (a wrong type, a value outside an enum, a malformed duration,
two members of a oneof, a missing required field) and what strict field validation refuses or
the server prunes (an unknown field, with the closest known name). Kept free of other meshtui
modules so the parser can call it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from meshtui.mesh.frozen import frozen

Path = tuple[str | int, ...]

INVALID = "InvalidResource"
UNKNOWN = "UnknownField"
DEPRECATED = "DeprecatedField"


@frozen
class Issue:
    """One problem in a spec: where, what, and which finding code it becomes."""

    path: Path
    message: str
    code: str = INVALID
    # What reading the rest leaves out for it, when not the field at `path` (the weights of a
    # route whose weights total 0, not its destinations).
    prune: tuple[Path, ...] | None = None

    @property
    def fatal(self) -> bool:
        """The API server rejects the resource: Istio never sees it."""
        return self.code == INVALID


def is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    """`isinstance(value, Mapping)`, answered for a dict (what YAML and JSON give) without the
    ABC's check, which costs several times as much and is asked millions of times."""
    return type(value) is dict or isinstance(value, Mapping)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if is_mapping(value):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


class Type:
    """A field type; `check` appends the issues of `value` at `path` to `out`."""

    __slots__ = ()
    name = "a value"

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        raise NotImplementedError

    def fine(self, value: Any) -> bool:
        """A fast yes for a valid leaf, so its path is built only for what has an issue."""
        return False

    def wrong(self, value: Any, path: Path, out: list[Issue]) -> None:
        out.append(Issue(path, f"must be {self.name}, not {_kind(value)}"))


class Str(Type):
    __slots__ = ()
    name = "a string"

    def fine(self, value: Any) -> bool:
        return value.__class__ is str

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, str):
            self.wrong(value, path, out)


class Bool(Type):
    __slots__ = ()
    name = "a boolean (true or false)"

    def fine(self, value: Any) -> bool:
        return value.__class__ is bool

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, bool):
            self.wrong(value, path, out)


class Int(Type):
    """A protobuf integer: the CRD says `type: integer`; a string is refused unless the
    field is 64-bit, which protobuf's JSON form writes as a string (int-or-string)."""

    __slots__ = ("high", "low", "or_string")

    def __init__(self, low: int, high: int, or_string: bool = False) -> None:
        self.low, self.high, self.or_string = low, high, or_string

    @property
    def name(self) -> str:  # type: ignore[override]
        return "an integer" + (" (or a string of digits)" if self.or_string else "")

    def fine(self, value: Any) -> bool:
        return value.__class__ is int and self.low <= value <= self.high

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if self.or_string and isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong(value, path, out)
        elif not self.low <= value <= self.high:
            out.append(Issue(path, f"must be between {self.low} and {self.high}, not {value}"))


INT32 = Int(-(2**31), 2**31 - 1)
UINT32 = Int(0, 2**32 - 1)
UINT64 = Int(0, 2**64 - 1, or_string=True)


class Double(Type):
    __slots__ = ()
    name = "a number"

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.wrong(value, path, out)
        elif isinstance(value, float) and not math.isfinite(value):
            out.append(Issue(path, f"must be a finite number, not {value}"))


# Istio reads durations with Go's syntax ("1h", "1m30s", "500ms"), as its docs and the CRD's
# `duration()` validation do.
_DURATION = re.compile(r"0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|ms|s|m|h))+")


class Duration(Type):
    __slots__ = ()
    name = 'a duration such as "1s", "500ms" or "1h30m"'

    def fine(self, value: Any) -> bool:
        return value.__class__ is str and _DURATION.fullmatch(value) is not None

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, str):
            self.wrong(value, path, out)
        elif not _DURATION.fullmatch(value):
            out.append(Issue(path, f"{value!r} is not {self.name}"))


class Enum(Type):
    __slots__ = ("deprecated", "values")

    def __init__(self, *values: str, deprecated: Mapping[str, str] | None = None) -> None:
        self.values = values
        self.deprecated = dict(deprecated or {})

    @property
    def name(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(self.values)

    def fine(self, value: Any) -> bool:
        return value.__class__ is str and value in self.values and value not in self.deprecated

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, str):
            self.wrong(value, path, out)
        elif value not in self.values:
            close = difflib.get_close_matches(value, self.values, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            out.append(Issue(path, f"{value!r} is not {self.name}{hint}"))
        elif value in self.deprecated:
            out.append(Issue(path, f"{value} is deprecated: {self.deprecated[value]}", DEPRECATED))


class List(Type):
    __slots__ = ("item",)

    def __init__(self, item: Type) -> None:
        self.item = item

    name = "a list"

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not isinstance(value, list):
            self.wrong(value, path, out)
            return
        item = self.item
        for i, v in enumerate(value):
            if v is not None and not item.fine(v):
                item.check(v, (*path, i), out)


class Map(Type):
    """A map with string keys (labels, headers): `map<string, T>` in the proto."""

    __slots__ = ("value",)

    def __init__(self, value: Type) -> None:
        self.value = value

    name = "a mapping"

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not is_mapping(value):
            self.wrong(value, path, out)
            return
        for k, v in value.items():
            if not isinstance(k, str):
                out.append(Issue(path, f"keys must be strings, not {_kind(k)}"))
            elif v is None:
                out.append(Issue((*path, k), "must not be null"))
            elif not self.value.fine(v):
                self.value.check(v, (*path, k), out)


class Obj(Type):
    """A protobuf message: its fields, which are required, and its oneofs."""

    __slots__ = ("fields", "oneofs", "required")

    def __init__(
        self,
        fields: Mapping[str, Type],
        required: tuple[str, ...] = (),
        oneofs: tuple[tuple[str, ...], ...] = (),
    ) -> None:
        self.fields = dict(fields)
        self.required = required
        self.oneofs = oneofs

    name = "a mapping"

    def check(self, value: Any, path: Path, out: list[Issue]) -> None:
        if not is_mapping(value):
            self.wrong(value, path, out)
            return
        fields = self.fields
        for key, sub in value.items():
            field = fields.get(key) if isinstance(key, str) else None
            if field is None:
                out.append(_unknown(key, fields, path))
            elif sub is not None and not field.fine(sub):  # the API server prunes nulls
                field.check(sub, (*path, key), out)
        for name in self.required:
            if value.get(name) in (None, ""):
                out.append(Issue((*path, name), "is required"))
        for group in self.oneofs:
            set_ = [k for k in group if value.get(k) is not None]
            if len(set_) > 1:
                out.append(Issue(path, f"sets {' and '.join(set_)}; only one of them may be set"))


def _unknown(key: object, fields: Mapping[str, Type], path: Path) -> Issue:
    name = str(key)
    close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return Issue(
        (*path, name),
        f"is not a field of the Istio API here{hint} (kubectl's strict validation rejects it, "
        "otherwise the API server drops it)",
        UNKNOWN,
    )


STR = Str()
BOOL = Bool()
DOUBLE = Double()
DURATION = Duration()
STRINGS = List(STR)
LABELS = Map(STR)

# -- DestinationRule (networking/v1alpha3/destination_rule.proto) ---------------------------

PORT_SELECTOR = Obj({"number": UINT32})

# LEAST_CONN is still in the enum (the CRD accepts it) but deprecated for LEAST_REQUEST.
SIMPLE_LB = Enum(
    "UNSPECIFIED",
    "LEAST_CONN",
    "RANDOM",
    "PASSTHROUGH",
    "ROUND_ROBIN",
    "LEAST_REQUEST",
    deprecated={"LEAST_CONN": "Istio reads it as LEAST_REQUEST; write LEAST_REQUEST"},
)

CONSISTENT_HASH = Obj(
    {
        "httpHeaderName": STR,
        "httpCookie": Obj(
            {
                "name": STR,
                "path": STR,
                "ttl": DURATION,
                "attributes": List(Obj({"name": STR, "value": STR})),
            },
            required=("name",),
        ),
        "useSourceIp": BOOL,
        "httpQueryParameterName": STR,
        "ringHash": Obj({"minimumRingSize": UINT64}),
        "maglev": Obj({"tableSize": UINT64}),
        "minimumRingSize": UINT64,
    },
    oneofs=(
        ("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"),
        ("ringHash", "maglev"),
    ),
)

LOCALITY_LB = Obj(
    {
        "distribute": List(Obj({"from": STR, "to": Map(UINT32)})),
        "failover": List(Obj({"from": STR, "to": STR})),
        "failoverPriority": STRINGS,
        "enabled": BOOL,
    }
)

LOAD_BALANCER = Obj(
    {
        "simple": SIMPLE_LB,
        "consistentHash": CONSISTENT_HASH,
        "localityLbSetting": LOCALITY_LB,
        "warmupDurationSecs": DURATION,
        "warmup": Obj({"duration": DURATION, "minimumPercent": DOUBLE, "aggression": DOUBLE}),
    },
    oneofs=(("simple", "consistentHash"),),
)

CONNECTION_POOL = Obj(
    {
        "tcp": Obj(
            {
                "maxConnections": INT32,
                "connectTimeout": DURATION,
                "tcpKeepalive": Obj({"probes": UINT32, "time": DURATION, "interval": DURATION}),
                "maxConnectionDuration": DURATION,
                "idleTimeout": DURATION,
            }
        ),
        "http": Obj(
            {
                "http1MaxPendingRequests": INT32,
                "http2MaxRequests": INT32,
                "maxRequestsPerConnection": INT32,
                "maxRetries": INT32,
                "idleTimeout": DURATION,
                "h2UpgradePolicy": Enum("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"),
                "useClientProtocol": BOOL,
                "maxConcurrentStreams": INT32,
            }
        ),
    }
)

OUTLIER_DETECTION = Obj(
    {
        "consecutiveErrors": INT32,
        "splitExternalLocalOriginErrors": BOOL,
        "consecutiveLocalOriginFailures": UINT32,
        "consecutiveGatewayErrors": UINT32,
        "consecutive5xxErrors": UINT32,
        "interval": DURATION,
        "baseEjectionTime": DURATION,
        "maxEjectionPercent": INT32,
        "minHealthPercent": INT32,
    }
)

CLIENT_TLS = Obj(
    {
        "mode": Enum("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"),
        "clientCertificate": STR,
        "privateKey": STR,
        "caCertificates": STR,
        "credentialName": STR,
        "subjectAltNames": STRINGS,
        "sni": STR,
        "insecureSkipVerify": BOOL,
        "caCrl": STR,
    }
)

PORT_TRAFFIC_POLICY = Obj(
    {
        "port": PORT_SELECTOR,
        "loadBalancer": LOAD_BALANCER,
        "connectionPool": CONNECTION_POOL,
        "outlierDetection": OUTLIER_DETECTION,
        "tls": CLIENT_TLS,
    }
)

TRAFFIC_POLICY = Obj(
    {
        "loadBalancer": LOAD_BALANCER,
        "connectionPool": CONNECTION_POOL,
        "outlierDetection": OUTLIER_DETECTION,
        "tls": CLIENT_TLS,
        "portLevelSettings": List(PORT_TRAFFIC_POLICY),
        "tunnel": Obj(
            {"protocol": STR, "targetHost": STR, "targetPort": UINT32},
            required=("targetHost", "targetPort"),
        ),
        "proxyProtocol": Obj({"version": Enum("V1", "V2")}),
        "retryBudget": Obj({"percent": Obj({"value": DOUBLE}), "minRetryConcurrency": UINT32}),
    }
)

DESTINATION_RULE = Obj(
    {
        "host": STR,
        "trafficPolicy": TRAFFIC_POLICY,
        "subsets": List(
            Obj(
                {"name": STR, "labels": LABELS, "trafficPolicy": TRAFFIC_POLICY},
                required=("name",),
            )
        ),
        "exportTo": STRINGS,
        "workloadSelector": Obj({"matchLabels": LABELS}),
    },
    required=("host",),
)

# -- VirtualService (networking/v1alpha3/virtual_service.proto) -----------------------------

STRING_MATCH = Obj(
    {"exact": STR, "prefix": STR, "regex": STR}, oneofs=(("exact", "prefix", "regex"),)
)
PERCENT = Obj({"value": DOUBLE})
DESTINATION = Obj({"host": STR, "subset": STR, "port": PORT_SELECTOR}, required=("host",))
HEADER_OPERATIONS = Obj({"set": LABELS, "add": LABELS, "remove": STRINGS})
HEADERS = Obj({"request": HEADER_OPERATIONS, "response": HEADER_OPERATIONS})

HTTP_MATCH = Obj(
    {
        "name": STR,
        "uri": STRING_MATCH,
        "scheme": STRING_MATCH,
        "method": STRING_MATCH,
        "authority": STRING_MATCH,
        "headers": Map(STRING_MATCH),
        "port": UINT32,
        "sourceLabels": LABELS,
        "gateways": STRINGS,
        "queryParams": Map(STRING_MATCH),
        "ignoreUriCase": BOOL,
        "withoutHeaders": Map(STRING_MATCH),
        "sourceNamespace": STR,
        "statPrefix": STR,
    }
)

HTTP_ROUTE = Obj(
    {
        "name": STR,
        "match": List(HTTP_MATCH),
        "route": List(Obj({"destination": DESTINATION, "weight": INT32, "headers": HEADERS})),
        "redirect": Obj(
            {
                "uri": STR,
                "authority": STR,
                "port": UINT32,
                "derivePort": Enum("FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"),
                "scheme": STR,
                "redirectCode": UINT32,
            },
            oneofs=(("port", "derivePort"),),
        ),
        "directResponse": Obj(
            {
                "status": UINT32,
                "body": Obj({"string": STR, "bytes": STR}, oneofs=(("string", "bytes"),)),
            },
            required=("status",),
        ),
        "delegate": Obj({"name": STR, "namespace": STR}),
        "rewrite": Obj(
            {
                "uri": STR,
                "authority": STR,
                "uriRegexRewrite": Obj({"match": STR, "rewrite": STR}),
            }
        ),
        "timeout": DURATION,
        "retries": Obj(
            {
                "attempts": INT32,
                "perTryTimeout": DURATION,
                "retryOn": STR,
                "retryRemoteLocalities": BOOL,
                "retryIgnorePreviousHosts": BOOL,
                "backoff": DURATION,
            }
        ),
        "fault": Obj(
            {
                "delay": Obj(
                    {
                        "fixedDelay": DURATION,
                        "exponentialDelay": DURATION,
                        "percentage": PERCENT,
                        "percent": INT32,
                    },
                    oneofs=(("fixedDelay", "exponentialDelay"),),
                ),
                "abort": Obj(
                    {
                        "httpStatus": INT32,
                        "grpcStatus": STR,
                        "http2Error": STR,
                        "percentage": PERCENT,
                    },
                    oneofs=(("httpStatus", "grpcStatus", "http2Error"),),
                ),
            }
        ),
        "mirror": DESTINATION,
        "mirrorPercent": UINT32,
        "mirrorPercentage": PERCENT,
        "mirrors": List(
            Obj({"destination": DESTINATION, "percentage": PERCENT}, required=("destination",))
        ),
        "corsPolicy": Obj(
            {
                "allowOrigins": List(STRING_MATCH),
                "allowOrigin": STRINGS,
                "allowMethods": STRINGS,
                "allowHeaders": STRINGS,
                "exposeHeaders": STRINGS,
                "maxAge": DURATION,
                "allowCredentials": BOOL,
                "unmatchedPreflights": Enum("UNSPECIFIED", "FORWARD", "IGNORE"),
            }
        ),
        "headers": HEADERS,
    },
    oneofs=(("redirect", "directResponse"),),
)

ROUTE_DESTINATION = Obj({"destination": DESTINATION, "weight": INT32}, required=("destination",))

TLS_ROUTE = Obj(
    {
        "match": List(
            Obj(
                {
                    "sniHosts": STRINGS,
                    "destinationSubnets": STRINGS,
                    "port": UINT32,
                    "sourceLabels": LABELS,
                    "gateways": STRINGS,
                    "sourceNamespace": STR,
                }
            )
        ),
        "route": List(ROUTE_DESTINATION),
    }
)

TCP_ROUTE = Obj(
    {
        "match": List(
            Obj(
                {
                    "destinationSubnets": STRINGS,
                    "port": UINT32,
                    "sourceSubnet": STR,
                    "sourceLabels": LABELS,
                    "gateways": STRINGS,
                    "sourceNamespace": STR,
                }
            )
        ),
        "route": List(ROUTE_DESTINATION),
    }
)

VIRTUAL_SERVICE = Obj(
    {
        "hosts": STRINGS,
        "gateways": STRINGS,
        "http": List(HTTP_ROUTE),
        "tls": List(TLS_ROUTE),
        "tcp": List(TCP_ROUTE),
        "exportTo": STRINGS,
    }
)

SPECS: dict[str, Type] = {"DestinationRule": DESTINATION_RULE, "VirtualService": VIRTUAL_SERVICE}


def validate(kind: str, spec: object) -> list[Issue]:
    """Every issue of `spec` for `kind` (empty for kinds without a schema here)."""
    schema = SPECS.get(kind)
    if schema is None or spec is None:
        return []
    out: list[Issue] = []
    schema.check(spec, ("spec",), out)
    return out
