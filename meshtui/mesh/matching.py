"""Does one request match one VirtualService match block, and if not, why not.

pilot turns an `http[].match[]` entry into an Envoy RouteMatch (pilot/pkg/networking/core/route
route.go TranslateRouteMatch): the path specifier from `uri`, header matchers from `headers`,
`withoutHeaders` (inverted), `method` (`:method`), `authority` (`:authority`) and `scheme`
(`:scheme`), query-parameter matchers from `queryParams`. `port`, `sourceLabels`,
`sourceNamespace` and `gateways` are decided earlier, when pilot builds the client's routes
(translateRoute, sourceMatchHTTP): a block whose port or source does not fit is left out.
Conditions inside one block are ANDed; the blocks of one rule are ORed.

Regexes are RE2, as Envoy's safe_regex, and must match the whole value. The `google-re2`
package gives RE2 itself; without it, Python's `re` is used, which accepts what RE2 rejects
(backreferences, lookaround, possessive quantifiers) and reads `\\Z` and `$` differently, so a
regex Istio would refuse can match here: the result then says so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any
from urllib.parse import parse_qsl

from meshtui.mesh.frozen import frozen
from meshtui.mesh.hosts import matches as host_matches
from meshtui.mesh.resources import ObjectRef
from meshtui.mesh.routes import MESH_GATEWAY, gateway_ref

try:  # pragma: no cover - which branch runs depends on the machine
    import re2 as _regex

    RE2 = True
except ImportError:  # pragma: no cover
    import re as _regex  # type: ignore[no-redef]

    RE2 = False

# Headers pilot reads as JWT claims (translateMetadataMatch): a trace carries no token.
JWT_CLAIM_PREFIX = "@request.auth.claims"


@frozen
class Request:
    """One request as the client sends it; header names are lower-case, as HTTP/2 has them."""

    host: str
    port: int
    path: str = "/"  # may carry a ?query
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    scheme: str = "http"
    source_namespace: str = ""
    source_labels: Mapping[str, str] | None = None  # None: no workload named, labels unknown
    gateway: ObjectRef | None = None  # None: a sidecar (the `mesh` gateway)
    sni: str = ""  # TLS traffic: the server name the client asks for (default: the host)

    @property
    def uri_path(self) -> str:
        """The path without query and fragment: what Envoy's path matchers compare."""
        return self.path.split("?", 1)[0].split("#", 1)[0] or "/"

    @property
    def query(self) -> list[tuple[str, str]]:
        if "?" not in self.path:
            return []
        return parse_qsl(self.path.split("?", 1)[1].split("#", 1)[0], keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """A request header by name, including the pseudo-headers Envoy matches on."""
        name = name.lower()
        if name == ":method":
            return self.method
        if name in (":authority", "host"):
            return self.headers.get("host", self.host)
        if name == ":scheme":
            return self.scheme
        if name == ":path":
            return self.path
        return self.headers.get(name)


@frozen
class MatchResult:
    """Whether a block matches; `why` says what did not (empty when it matched)."""

    matched: bool
    why: str = ""

    def __bool__(self) -> bool:
        return self.matched


MATCHED = MatchResult(True)


def _no(why: str) -> MatchResult:
    return MatchResult(False, why)


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> Any:
    return _regex.compile(pattern)


def regex_fullmatch(pattern: str, value: str) -> bool | None:
    """Whether `pattern` matches all of `value` (Envoy's safe_regex); None if it is invalid."""
    try:
        return _compiled(pattern).fullmatch(value) is not None
    except Exception:  # re2.error and re.error have no common base but Exception
        return None


def _quote(value: str) -> str:
    return repr(value) if value else "''"


def describe(spec: Mapping[str, Any] | None) -> str:
    """A StringMatch as a reader writes it: `exact '/a'`, `prefix '/b'`, `present`."""
    if _is_present(spec):
        return "present"
    assert spec is not None
    for kind in ("exact", "prefix", "regex"):
        if spec.get(kind) is not None:
            return f"{kind} {_quote(str(spec[kind]))}"
    return "present"


def _is_present(spec: Mapping[str, Any] | None) -> bool:
    """pilot's canBeConvertedToPresentMatch: no match type, or the regex `*`, means present."""
    if not isinstance(spec, Mapping):
        return True
    if spec.get("regex") == "*":
        return True
    return all(spec.get(k) is None for k in ("exact", "prefix", "regex"))


def string_match(
    spec: Mapping[str, Any] | None, value: str | None, *, ignore_case: bool = False
) -> bool | None:
    """A StringMatch against a value (None: absent). None when the regex is invalid."""
    if value is None:
        return False
    if _is_present(spec):
        return True
    assert spec is not None
    if spec.get("exact") is not None:
        want = str(spec["exact"])
        return value.lower() == want.lower() if ignore_case else value == want
    if spec.get("prefix") is not None:
        want = str(spec["prefix"])
        return value.lower().startswith(want.lower()) if ignore_case else value.startswith(want)
    # Envoy's case_sensitive flag does not apply to safe_regex (route.proto RouteMatch).
    return regex_fullmatch(str(spec["regex"]), value)


def _invalid(what: str, spec: Mapping[str, Any]) -> MatchResult:
    return _no(f"{what} regex {_quote(str(spec.get('regex')))} is not valid RE2")


def _uri(match: Mapping[str, Any], request: Request) -> MatchResult:
    spec = match.get("uri")
    if not isinstance(spec, Mapping):
        return MATCHED
    ignore_case = bool(match.get("ignoreUriCase"))
    path = request.uri_path
    result = string_match(spec, path, ignore_case=ignore_case)
    if result is None:
        return _invalid("uri", spec)
    prefix = spec.get("prefix")
    if result and spec.get("pathSeparated") and isinstance(prefix, str) and prefix != "/":
        # A Gateway API PathPrefix matches whole path segments: /api matches /api and /api/x,
        # not /apix (Envoy's path_separated_prefix, pilot route.go translateURIMatch).
        result = len(path) == len(prefix) or path[len(prefix)] in "/?#"
    if result:
        return MATCHED
    case = ", ignoring case" if ignore_case and spec.get("regex") is None else ""
    return _no(f"uri {describe(spec)}{case} wanted, the path is {_quote(path)}")


def _header(name: str, spec: Mapping[str, Any] | None, request: Request, label: str) -> str:
    """Why header `name` fails `spec` (empty: it matches)."""
    value = request.header(name)
    result = string_match(spec, value)
    if result is None:
        return f"{label} regex {_quote(str((spec or {}).get('regex')))} is not valid RE2"
    if result:
        return ""
    if value is None:
        return f"{label} {describe(spec)} wanted, the request has no {name} header"
    return f"{label} {describe(spec)} wanted, the request has {_quote(value)}"


def _headers(match: Mapping[str, Any], request: Request) -> MatchResult:
    for name, spec in sorted((match.get("headers") or {}).items()):
        if str(name).startswith(JWT_CLAIM_PREFIX):
            return _no(f"header {name} matches a JWT claim, which a trace does not carry")
        why = _header(str(name), spec, request, f"header {name}:")
        if why:
            return _no(why)
    for name, spec in sorted((match.get("withoutHeaders") or {}).items()):
        if str(name).startswith(JWT_CLAIM_PREFIX):
            return _no(f"withoutHeaders {name} matches a JWT claim, which a trace does not carry")
        value = request.header(str(name))
        # pilot inverts the matcher and, unless it is a present match, treats a missing header
        # as empty (TranslateRouteMatch: TreatMissingHeaderAsEmpty).
        if value is None and not _is_present(spec):
            value = ""
        result = string_match(spec, value)
        if result is None:
            return _invalid(f"withoutHeaders {name}:", spec or {})
        if result:
            shown = "is present" if _is_present(spec) else f"is {_quote(value or '')}"
            return _no(f"withoutHeaders {name}: {describe(spec)} excludes it, the header {shown}")
    return MATCHED


def _pseudo(match: Mapping[str, Any], request: Request) -> MatchResult:
    for key, header in (("method", ":method"), ("authority", ":authority"), ("scheme", ":scheme")):
        spec = match.get(key)
        if spec is None:
            continue
        value = request.header(header)
        result = string_match(spec, value)
        if result is None:
            return _invalid(key, spec)
        if not result:
            return _no(f"{key} {describe(spec)} wanted, the request has {_quote(value or '')}")
    return MATCHED


def _query(match: Mapping[str, Any], request: Request) -> MatchResult:
    params = match.get("queryParams") or {}
    if not params:
        return MATCHED
    query: dict[str, str] = {}
    for k, v in request.query:
        query.setdefault(k, v)  # Envoy compares the first value of a repeated parameter
    for name, spec in sorted(params.items()):
        value = query.get(str(name))
        result = string_match(spec, value)
        if result is None:
            return _invalid(f"query {name}", spec)
        if not result:
            if value is None:
                return _no(f"query {name} {describe(spec)} wanted, the request has no ?{name}")
            return _no(f"query {name} {describe(spec)} wanted, the request has {_quote(value)}")
    return MATCHED


def _gateway_name(request: Request) -> str:
    return request.gateway.namespaced_name if request.gateway else MESH_GATEWAY


def _source(match: Mapping[str, Any], request: Request, namespace: str) -> MatchResult:
    """pilot's sourceMatchHTTP: `gateways` when given, else `sourceLabels` and
    `sourceNamespace` against the client proxy (a gateway's own labels are not known here)."""
    gateways = match.get("gateways") or []
    if gateways:
        if any(gateway_ref(str(g), namespace) == request.gateway for g in gateways):
            return MATCHED
        listed = ", ".join(str(g) for g in gateways)
        return _no(
            f"gateways [{listed}] wanted, the request comes through {_gateway_name(request)}"
        )
    labels = match.get("sourceLabels") or {}
    if labels:
        written = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        if request.source_labels is None:
            return _no(
                f"sourceLabels {written} wanted, the client's labels are not known "
                "(name a workload: --from NAMESPACE/WORKLOAD)"
            )
        missing = [k for k, v in labels.items() if request.source_labels.get(k) != str(v)]
        if missing:
            have = ", ".join(
                f"{k}={request.source_labels[k]}" if k in request.source_labels else f"no {k}"
                for k in sorted(missing)
            )
            return _no(f"sourceLabels {written} wanted, the client has {have}")
    wanted = match.get("sourceNamespace")
    if wanted and wanted != request.source_namespace:
        return _no(
            f"sourceNamespace {wanted} wanted, the client is in {request.source_namespace or '?'}"
        )
    return MATCHED


def _port(match: Mapping[str, Any], request: Request) -> MatchResult:
    port = match.get("port")
    if port and port != request.port:
        return _no(f"port {port} wanted, the request goes to port {request.port}")
    return MATCHED


def builds_route(match: Mapping[str, Any], request: Request, namespace: str) -> MatchResult:
    """Whether pilot builds this block into the client's routes at all (translateRoute drops a
    block whose `port` is not the request's or whose source is not this client)."""
    result = _source(match, request, namespace)
    return result if not result else _port(match, request)


_HTTP_CHECKS: tuple[Callable[[Mapping[str, Any], Request], MatchResult], ...] = (
    _port,
    _uri,
    _pseudo,
    _headers,
    _query,
)


def match_http(match: Mapping[str, Any], request: Request, namespace: str) -> MatchResult:
    """One `http[].match[]` block against the request; `namespace` is the VS's (for gateways)."""
    result = _source(match, request, namespace)
    if not result:
        return result
    for check in _HTTP_CHECKS:
        result = check(match, request)
        if not result:
            return result
    return MATCHED


def _sni(match: Mapping[str, Any], request: Request) -> MatchResult:
    hosts = match.get("sniHosts") or []
    if not hosts:
        return MATCHED
    sni = request.sni or request.host
    if any(host_matches(sni, str(h)) for h in hosts):
        return MATCHED
    return _no(f"sniHosts [{', '.join(str(h) for h in hosts)}] wanted, the SNI is {sni}")


def _subnets(match: Mapping[str, Any], request: Request) -> MatchResult:
    subnets = match.get("destinationSubnets") or []
    if subnets:
        return _no(
            f"destinationSubnets [{', '.join(str(s) for s in subnets)}] need the destination "
            "IP, which a trace by host name does not have"
        )
    return MATCHED


def match_l4(match: Mapping[str, Any], request: Request, namespace: str, kind: str) -> MatchResult:
    """One `tcp[].match[]` or `tls[].match[]` block (L4MatchAttributes, TLSMatchAttributes)."""
    for result in (
        _source(match, request, namespace),
        _port(match, request),
        _subnets(match, request),
        _sni(match, request) if kind == "tls" else MATCHED,
    ):
        if not result:
            return result
    return MATCHED


def match_any(
    matches: tuple[Mapping[str, Any], ...], request: Request, namespace: str, kind: str
) -> MatchResult:
    """A rule's match blocks, ORed: it matches when one block does (no block: every request).

    The reason given for a miss names each block's first failed condition.
    """
    if not matches:
        return MATCHED
    whys = []
    for i, m in enumerate(matches):
        result = (
            match_http(m, request, namespace)
            if kind == "http"
            else match_l4(m, request, namespace, kind)
        )
        if result:
            return MATCHED
        whys.append(f"match[{i}]: {result.why}" if len(matches) > 1 else result.why)
    return _no("; ".join(whys))
