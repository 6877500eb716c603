"""A request as a person writes it (`trace` flags, a `meshtui test` case), made traceable.

`meshtui trace --gateway NS/NAME --from NS[/WORKLOAD] --to HOST[:PORT]` and a case of
`meshtui test` name the same request the same way; both go through :func:`written_request`, so a
case asserts exactly what the trace shows (a Kubernetes Gateway's listener included).
"""

from __future__ import annotations

from collections.abc import Mapping

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.gateway_api import listener_gateway
from meshtui.mesh.resources import ObjectRef
from meshtui.mesh.trace import (
    Client,
    Trace,
    TraceError,
    default_port,
    find_workload,
    target_host,
    trace,
)


def gateway_ref(written: str) -> ObjectRef:
    """`NS/NAME` of a Gateway (Istio's, or a Kubernetes Gateway)."""
    namespace, sep, name = written.partition("/")
    if not sep or not namespace or not name:
        raise TraceError(f"gateway {written!r} is not NAMESPACE/NAME")
    return ObjectRef("Gateway", namespace, name)


def target(written: str) -> tuple[str, int | None]:
    """`HOST[:PORT]`: the host as written and the port, if one is given."""
    host, sep, port = written.rpartition(":")
    if not sep:
        return written, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise TraceError(f"{written!r}: the port must be a number from 1 to 65535")
    return host, int(port)


def written_request(
    mesh: Mesh,
    *,
    to: str,
    client: str = "",
    gateway: str = "",
    path: str = "/",
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> Trace:
    """Trace the request from `client` (`NS` or `NS/WORKLOAD`) or through `gateway` (`NS/NAME`)
    to `to` (`HOST[:PORT]`, completed as the client's DNS search path would)."""
    ref = gateway_ref(gateway) if gateway else None
    if not client and ref is None:
        raise TraceError("the client is required: NAMESPACE[/WORKLOAD] (or a gateway NS/NAME)")
    namespace, _, workload_name = (client or (ref.namespace if ref else "")).partition("/")
    workload = None
    if workload_name:
        workload = find_workload(mesh, namespace, workload_name)
        if workload is None:
            raise TraceError(f"no workload {workload_name!r} in namespace {namespace}")
    written, port = target(to)
    host = written.lower() if ref else target_host(mesh, written, namespace)
    if ref is not None and ref not in mesh.gateways:
        # A Kubernetes Gateway: the request goes through the listener that takes it.
        ref = listener_gateway(mesh.gateways, ref, host, port) or ref
    if port is None:
        port = default_port(mesh, host, mesh.gateways.get(ref) if ref else None)
    return trace(
        mesh,
        Client(namespace, workload, ref, workload_name),
        host,
        port,
        path=path,
        method=method,
        headers=dict(headers or {}),
    )
