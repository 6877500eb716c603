"""The data plane under transformation (issue 25): what may and may not change verdicts.

- A namespace with no labels and no config changes no other namespace's verdicts (offline it
  is assumed to have sidecars, like an absent one; on a cluster it is out of the mesh, which
  concerns its own clients only).
- Replacing every ambient label by `istio-injection=enabled` and removing every Sidecar gives
  exactly the verdicts of the same mesh without any data-plane object: sidecar clients that
  import every host are what meshtui assumed before it read data planes.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.resources import InvalidField, Origin, Resource, Workload, parse_object
from tests.hardening.meshgen import NAMESPACES, Obj, canonical, meshes, report

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
AMBIENT = {"istio.io/dataplane-mode": "ambient"}
INJECTED = {"istio-injection": "enabled"}
EGRESS = ("./*", "*/*", "istio-system/*", *(f"{ns}/*" for ns in NAMESPACES), f"~{NAMESPACES[0]}/*")


def namespace(name: str, labels: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def sidecar(ns: str, hosts: list[str]) -> Obj:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": ns},
        "spec": {"egress": [{"hosts": hosts}]},
    }


def waypoint(ns: str) -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "waypoint", "namespace": ns},
        "spec": {"gatewayClassName": "istio-waypoint"},
    }


@st.composite
def data_planes(draw: st.DrawFn, *, out_of_mesh: bool = True) -> list[Obj]:
    """Labels, Sidecars and waypoints for the generated namespaces."""
    choices = [{}, INJECTED, AMBIENT, {**AMBIENT, "istio.io/use-waypoint": "waypoint"}]
    if out_of_mesh:
        choices.append({"istio-injection": "disabled"})
    objs: list[Obj] = []
    for ns in NAMESPACES:
        if draw(st.booleans()):
            objs.append(namespace(ns, dict(draw(st.sampled_from(choices)))))
        if draw(st.integers(0, 2)) == 0:
            objs.append(
                sidecar(ns, draw(st.lists(st.sampled_from(EGRESS), min_size=1, max_size=3)))
            )
        if draw(st.integers(0, 2)) == 0:
            objs.append(waypoint(ns))
    if draw(st.booleans()):
        objs.append(
            sidecar("istio-system", ["./*", *draw(st.lists(st.sampled_from(EGRESS), max_size=2))])
        )
    return objs


def mesh_of(objs: list[Obj], cluster: str | None = None, client: str | None = None) -> Mesh:
    resources: list[Resource] = []
    for i, obj in enumerate(objs):
        parsed = parse_object(obj, Origin(file="mesh.yaml", line=i + 1))
        if parsed is not None and not isinstance(parsed, InvalidField):
            resources.append(parsed)
    mesh = Mesh(cluster=cluster, client_namespace=client)
    mesh.workloads.mark_known(r.meta.ref.namespace for r in resources if isinstance(r, Workload))
    mesh.load(resources)
    return mesh


def verdicts(objs: list[Obj], cluster: str | None = None, client: str | None = None) -> Any:
    return canonical(report(mesh_of(objs, cluster, client).analyze()))


@PROPERTY
@given(meshes(), data_planes(), st.sampled_from([None, "alpha"]))
def test_a_namespace_with_no_labels_and_no_config_changes_no_other_namespace(objs, plane, cluster):
    mesh = [*copy.deepcopy(objs), *plane]
    lonely = [*copy.deepcopy(mesh), namespace("lonely", {})]
    for client in NAMESPACES:
        assert verdicts(lonely, cluster, client) == verdicts(mesh, cluster, client)
    if cluster is None:  # offline, an unlabelled namespace is assumed sidecar: nothing changes
        assert verdicts(lonely) == verdicts(mesh)


@PROPERTY
@given(meshes(), data_planes(out_of_mesh=False))
def test_sidecars_everywhere_and_no_sidecar_resources_give_todays_verdicts(objs, plane):
    today = verdicts(copy.deepcopy(objs))
    injected = []
    for obj in copy.deepcopy(plane):
        if obj["kind"] == "Sidecar":
            continue
        labels = obj["metadata"].get("labels")
        if obj["kind"] == "Namespace" and labels.get("istio.io/dataplane-mode") == "ambient":
            del labels["istio.io/dataplane-mode"]
            labels.update(INJECTED)
        injected.append(obj)
    assert verdicts([*copy.deepcopy(objs), *injected]) == today
