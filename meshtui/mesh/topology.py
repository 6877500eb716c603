"""The node topology labels Istio adds to a pod's endpoint, for subset selection.

pilot's service registry gives each endpoint the labels of its pod plus the locality of its
node (region, zone, subzone) and the node's name as `kubernetes.io/hostname`, so a subset may
select on them (istioctl's destinationrule/subset.go augmentPodLabelsWithNodeTopology does
the same). A node label with an empty value is not a locality, and selects nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshtui.mesh.resources import Workload
from meshtui.mesh.selection import WorkloadIndex, selects

REGION = "topology.kubernetes.io/region"
ZONE = "topology.kubernetes.io/zone"
SUBZONE = "topology.istio.io/subzone"
HOSTNAME = "kubernetes.io/hostname"
LOCALITY = (REGION, ZONE, SUBZONE)
TOPOLOGY = (*LOCALITY, HOSTNAME)


def endpoint_labels(
    workload: Workload, nodes: Mapping[str, Mapping[str, str]]
) -> Mapping[str, str] | None:
    """The topology labels of the workload's endpoint; None when its node is not known (a
    pod template, or a node missing from the input)."""
    labels = nodes.get(workload.node) if workload.node else None
    if labels is None:
        return None
    out = {k: v for k in LOCALITY if (v := labels.get(k))}
    out[HOSTNAME] = workload.node
    return out


def select_subset(
    workloads: WorkloadIndex,
    nodes: Mapping[str, Mapping[str, str]],
    namespace: str,
    selector: Mapping[str, str],
    subset_labels: Mapping[str, str],
) -> list[Workload]:
    """The workloads a subset selects, topology labels read from their nodes.

    A workload whose node is not known may carry the subset's topology labels: it is kept,
    so a subset is said to select nothing only when that is certain.
    """
    topology = {k: v for k, v in subset_labels.items() if k in TOPOLOGY}
    if not topology:
        return workloads.select(namespace, selector, subset_labels)
    rest = {k: v for k, v in subset_labels.items() if k not in TOPOLOGY}
    out = []
    for w in workloads.select(namespace, selector, rest):
        endpoint = endpoint_labels(w, nodes)
        if endpoint is None:
            out.append(w)
            continue
        merged = {**w.labels, **endpoint}
        if selects(topology, merged):
            out.append(w)
    return out
