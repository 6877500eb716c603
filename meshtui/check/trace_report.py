"""`meshtui trace`: which policy one request really gets, as text (a short story) or JSON.

Exit status: 0 the request gets through, 1 something makes it fail (the trace's problems),
2 the input could not be read or the request was not understood.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.printable import printable
from meshtui.mesh.resources import ObjectRef
from meshtui.mesh.trace import (
    Hop,
    Trace,
    TraceError,
    failing_share,
    located,
    prepare,
)
from meshtui.mesh.trace_request import written_request
from meshtui.sources.arguments import add_source_arguments, build_source

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_BAD = 2


def _printable(value: object) -> str:
    """Text from a resource, with control characters (terminal escapes) made visible."""
    return printable(str(value))


# -- JSON --------------------------------------------------------------------------------------


def _hop_json(hop: Hop, share: str = "weight") -> dict[str, Any]:
    dr = hop.destination_rule
    return {
        "host": hop.host,
        "subset": hop.subset or None,
        "port": hop.port,
        share: hop.weight,
        "destinationRule": dr.meta.ref.namespaced_name if dr else None,
        "policy": hop.policy.as_dict(),
        "policyOrigins": hop.policy.origins(),
        "workloads": (
            [str(w.meta.ref) for w in hop.workloads] if hop.workloads is not None else None
        ),
    }


def _written_in(ref: ObjectRef | None) -> dict[str, str] | None:
    return {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name} if ref else None


def to_json(t: Trace) -> dict[str, Any]:
    """The trace as the documented JSON contract (plus the request and the rule's actions)."""
    return {
        "from": t.client.written,
        "gateway": t.client.gateway.namespaced_name if t.client.gateway else None,
        "proxy": t.proxy,
        "host": t.host,
        "port": t.port,
        "protocol": t.protocol,
        "request": {
            "method": t.request.method,
            "path": t.request.path,
            "headers": dict(t.request.headers),
        },
        "virtualService": t.virtual_service.namespaced_name if t.virtual_service else None,
        # "HTTPRoute" etc. when the rule comes from a Gateway API route (pilot's generated VS).
        "routeKind": t.virtual_service.kind if t.virtual_service else None,
        "mergedVirtualServices": [r.namespaced_name for r in t.merged],
        "gatewayApiRoutes": [str(r) for r in t.gateway_api_routes],
        # The rule as written: `http[i]` of a VirtualService, `rules[i]` (`.matches[j]`) of
        # the Gateway API route `writtenIn` names; `location` is its file:line (null live).
        "rule": t.rule,
        "writtenIn": _written_in(t.written_in),
        "location": t.rule_location or None,
        "ruleName": t.rule_name or None,
        "delegate": t.delegate.namespaced_name if t.delegate else None,
        "delegateRule": t.delegate_rule or None,
        "skipped": [
            {
                "virtualService": s.virtual_service.namespaced_name,
                "rule": s.rule,
                "name": s.name or None,
                "delegate": s.delegate.namespaced_name if s.delegate else None,
                "delegateRule": s.delegate_rule or None,
                "writtenIn": _written_in(s.written_in),
                "why": s.why,
            }
            for s in t.skipped
        ],
        "destinations": [_hop_json(h) for h in t.destinations],
        "mirror": [_hop_json(h, "percentage") for h in t.mirrors],
        **{key: t.actions.get(key) for key in ("timeout", "retries", "fault")},
        **{
            key: t.actions[key]
            for key in ("redirect", "directResponse", "rewrite", "headers")
            if key in t.actions
        },
        "problems": list(t.problems),
    }


# -- text --------------------------------------------------------------------------------------


def _rule_text(
    vs: ObjectRef,
    rule: str,
    name: str,
    delegate: ObjectRef | None,
    sub: str,
    written_in: ObjectRef | None = None,
) -> str:
    """`ns/name http[0] 'name'`; a Gateway API route's rule as written, with its kind:
    `HTTPRoute ns/name rules[0]`, not the generated VirtualService's `http[i]`."""
    named = f" {_printable(name)!r}" if name else ""
    where = f" (delegate {delegate.namespaced_name} {sub})" if delegate else ""
    if written_in is not None and written_in.kind != "VirtualService":
        return f"{written_in} {rule}{named}"
    return f"{vs.namespaced_name} {rule}{named}{where}"


def _policy_text(hop: Hop) -> list[str]:
    fields = [f for f in hop.policy.fields if f.value not in (None, {}, [])]
    if not fields:
        return ["policy: Istio's defaults"]
    return [
        f"{f.name}: {_printable(json.dumps(f.value, sort_keys=True))}  (from {f.level.value})"
        for f in fields
    ]


def _hop_text(hop: Hop, lead: str) -> list[str]:
    subset = f" subset {_printable(hop.subset)}" if hop.subset else ""
    port = f":{hop.port}" if hop.port else ""
    lines = [f"{lead}{_printable(hop.host)}{port}{subset}"]
    dr = hop.destination_rule
    if hop.rule is None:
        lines.append("    no DestinationRule applies to this client")
    else:
        merged = ", ".join(r.meta.ref.namespaced_name for r in hop.rule.rules)
        lines.append(f"    DestinationRule in force: {_printable(merged)}")
        if dr is not None and hop.subset_rule is not None and len(hop.rule.rules) > 1:
            lines.append(f"    subset defined in {_printable(dr.meta.ref.namespaced_name)}")
    lines += [f"    {line}" for line in _policy_text(hop)]
    if hop.workloads is None:
        reach = "pods: not known (no selector, or not read)"
    elif not hop.workloads:
        reach = "pods: none"
    else:
        reach = "reaches " + ", ".join(_printable(w.meta.ref) for w in hop.workloads)
    lines.append(f"    {reach}")
    return lines


def render_text(t: Trace, cluster: str | None = None) -> str:
    """The trace as a short story: who asks, which rule answers, where the request goes."""
    r = t.request
    where = f" in {cluster}" if cluster else ""
    who = t.client.describe()
    if t.proxy and not t.proxy.startswith(("sidecar", "gateway")):
        who = who.replace("a sidecar in", "a client in", 1)  # ambient, or out of the mesh
    out = [
        f"{r.method} {_printable(r.path)} from {_printable(who)}{where} "
        f"to {_printable(t.host)}:{t.port} ({t.protocol})"
    ]
    if t.proxy and t.proxy != f"sidecar in {t.client.namespace}" and not t.client.gateway:
        out.append(f"Decided by: {_printable(t.proxy)}.")  # not the plain sidecar of old
    if t.default_route and t.skipped:
        out.append(
            "No VirtualService builds a route for this port and client (below): default route."
        )
    elif t.default_route:
        out.append("No VirtualService handles this host for the client: default route.")
    elif len(t.gateway_api_routes) > 1 and not t.client.gateway:
        kind = t.gateway_api_routes[0].kind
        names = ", ".join(sorted(r.namespaced_name for r in t.gateway_api_routes))
        out.append(
            f"{kind}s {_printable(names)} handle it: pilot merges their rules in precedence order."
        )
    elif len(t.merged) > 1:
        names = ", ".join(v.namespaced_name for v in t.merged)
        out.append(f"The gateway merges VirtualServices {_printable(names)}, in this order.")
    elif t.merged:
        out.append(f"{t.merged[0].kind} {_printable(t.merged[0].namespaced_name)} handles it.")
    for s in t.skipped:
        rule = _rule_text(
            s.virtual_service, s.rule, s.name, s.delegate, s.delegate_rule, s.written_in
        )
        out.append(f"  skips {_printable(rule)}: {_printable(s.why)}")
    if t.rule and t.virtual_service:
        rule = _rule_text(
            t.virtual_service, t.rule, t.rule_name, t.delegate, t.delegate_rule, t.written_in
        )
        at = f" ({_printable(t.rule_location)})" if t.rule_location else ""
        out.append(f"  matches {_printable(rule)}{at}.")
    for key in ("redirect", "directResponse"):
        if key in t.actions:
            out.append(f"It answers with a {key}: {_printable(json.dumps(t.actions[key]))}")
    if t.destinations:
        out.append("It goes to:")
        for hop in t.destinations:
            out += _hop_text(hop, f"  {hop.weight:>3}%  ")
    for hop in t.mirrors:
        out += _hop_text(hop, f"  mirrored ({hop.weight}%) to ")
    extras = [
        f"{key} {_printable(json.dumps(t.actions[key], sort_keys=True))}"
        for key in ("timeout", "retries", "fault", "rewrite", "headers")
        if key in t.actions
    ]
    if extras:
        out.append("The rule sets " + "; ".join(extras) + ".")
    if t.problems:
        share = failing_share(t)
        out.append("The request fails:" if share >= 100 else f"{share}% of these requests fail:")
        out += [f"  ✗ {_printable(p)}" for p in t.problems]
    else:
        out.append("The request gets through.")
    return "\n".join(out) + "\n"


# -- the command -------------------------------------------------------------------------------


def trace_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshtui trace",
        description="Which VirtualService rule, subset, DestinationRule, policy and pods one "
        "request gets, as Istio would configure the client that sends it.",
        epilog="exit status: 0 the request gets through, 1 something makes it fail, "
        "2 the input could not be read or the request was not understood",
    )
    add_source_arguments(parser)
    request = parser.add_argument_group("the request")
    request.add_argument(
        "--from",
        dest="client",
        metavar="NAMESPACE[/WORKLOAD]",
        help="the client: a namespace, or a workload in it (its labels count for sourceLabels); "
        "with --gateway, the gateway proxy's namespace (default: the Gateway's)",
    )
    request.add_argument("--to", required=True, metavar="HOST[:PORT]", help="the destination")
    request.add_argument("--path", default="/", help="request path, may carry ?query")
    request.add_argument("--method", default="GET")
    request.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a request header; repeatable",
    )
    request.add_argument(
        "--gateway", metavar="NS/NAME", help="trace as this Gateway's proxy, not a sidecar"
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    return parser


def _headers(written: list[str]) -> dict[str, str]:
    out = {}
    for item in written:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise TraceError(f"header {item!r} is not 'name: value'")
        out[name.strip().lower()] = value.strip()
    return out


def trace_mesh(mesh: Mesh, args: argparse.Namespace) -> Trace:
    """One trace from parsed arguments; TraceError for a request that cannot be traced."""
    if not args.client and not args.gateway:
        raise TraceError("--from NAMESPACE[/WORKLOAD] is required (or --gateway NS/NAME)")
    return written_request(
        mesh,
        to=args.to,
        client=args.client or "",
        gateway=args.gateway or "",
        path=args.path,
        method=args.method,
        headers=_headers(args.header),
    )


def run_trace(argv: Sequence[str], out: TextIO | None = None) -> int:
    """`meshtui trace ARGS`: read the source, trace, print; the exit status."""
    from meshtui.sources.files import LoadError

    out = out or sys.stdout
    parser = trace_parser()
    args = parser.parse_args(list(argv))
    try:
        source = build_source(args, parser, check=True)  # not interactive: stdin can be YAML
        source.preflight()
        meshes = source.load()
        for mesh in meshes:
            prepare(mesh)
        traces = [(mesh, trace_mesh(mesh, args)) for mesh in meshes]
    except LoadError as err:
        print(f"meshtui: {err}", file=sys.stderr)
        return EXIT_BAD
    except TraceError as err:
        print(f"meshtui trace: {err}", file=sys.stderr)
        return EXIT_BAD
    traces = [(m, located(t, lambda f: source.refine([f])[0])) for m, t in traces]
    if args.output == "json":
        docs = [{**to_json(t), "cluster": m.cluster} for m, t in traces]
        out.write(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n")
    else:
        out.write("\n".join(render_text(t, m.cluster) for m, t in traces))
    for warning in source.warnings:
        print(f"meshtui: warning: {warning}", file=sys.stderr)
    return EXIT_PROBLEMS if any(t.problems for _, t in traces) else EXIT_OK
