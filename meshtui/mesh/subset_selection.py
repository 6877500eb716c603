"""SubsetSelectsNothing: a subset whose labels select none of its service's workloads, and the
info finding where the input holds no workload to confirm the selection with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from meshtui.mesh.findings import Code, Finding, Severity
from meshtui.mesh.resources import (
    DestinationRule,
    Service,
    Subset,
    Workload,
)
from meshtui.mesh.routes import RouteRef
from meshtui.mesh.selection import closest_labels


def selects_nothing(
    host: str,
    subset: Subset,
    dr: DestinationRule,
    workloads: Sequence[Workload],
    routes: Iterable[RouteRef],
) -> Finding:
    """SubsetSelectsNothing (IST0173): no workload of the service carries the subset's
    labels. An error when a route that can match sends traffic to the subset (pilot builds the
    cluster with no endpoints: 503, no healthy upstream); the labels the pods carry that the
    subset most likely means are named (a typo in a key or value)."""
    labels = ", ".join(f"{k}={v}" for k, v in subset.labels.items())
    # In a fixed order: the message must not depend on the order resources were read in.
    routed = sorted((r for r in routes if r.carries_traffic and r.reachable), key=RouteRef.describe)
    message = (
        f"subset {subset.name!r} of {host} selects no workload: none of the {len(workloads)} "
        f"workload(s) of the service has labels {labels}"
    )
    close = closest_labels(subset.labels, [w.labels for w in workloads])
    if close is not None:
        message += f"; did you mean {', '.join(f'{k}={v}' for k, v in close.items())}?"
    if routed:
        message += (
            f"; {routed[0].describe()} sends it traffic, which fails with 503 (no healthy upstream)"
        )
    return Finding.at(
        Severity.ERROR if routed else Severity.WARNING,
        Code.SUBSET_SELECTS_NOTHING,
        message,
        host=host,
        subset=subset.name,
        resource=dr.meta.ref,
        origin=dr.meta.origin,
        path=(*subset.path, "labels") if subset.path else (),
    )


def selection_unconfirmed(
    host: str, subset: Subset, dr: DestinationRule, service: Service
) -> Finding:
    """SubsetSelectsNothing at info where the input holds no workload at all: istioctl's
    PodNotSelectedAnalyzer (destinationrule/subset.go) reports IST0173 there; meshtui cannot
    confirm the selection."""
    return Finding.at(
        Severity.INFO,
        Code.SUBSET_SELECTS_NOTHING,
        f"subset {subset.name!r} of {host}: the input holds no workload in namespace "
        f"{service.meta.ref.namespace}, so whether its labels select any pod cannot be "
        "confirmed (istioctl reports IST0173 here)",
        host=host,
        subset=subset.name,
        resource=dr.meta.ref,
        origin=dr.meta.origin,
        path=(*subset.path, "labels") if subset.path else (),
    )
