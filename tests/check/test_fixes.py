"""Fixes end to end: the JSON `resources` of every fix, written into the case's files, make
`meshtui check` lose the finding without a new error, dormant policy or second VirtualService.

Each case keeps one object per file (as many repositories do), so applying a fix is what
`kubectl apply` does: the file of each replaced resource gets the new object, a new resource
gets a file of its own.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from meshtui.check import run_check
from meshtui.cli import main
from meshtui.mesh.hosts import resolve_host
from meshtui.mesh.resources import Origin, VirtualService, parse_object
from meshtui.sources.files import FileSource
from tests.hardening.meshgen import meshes
from tests.helpers import Obj, deployment, dest, dr, port_policy, route, service, subset, vs

SERIOUS = "SubsetPolicyNeverApplied"


def write_case(folder: Path, objs: list[Obj]) -> dict[str, Path]:
    """One file per object; returns the file of each `Kind namespace/name`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, obj in enumerate(objs):
        meta = obj["metadata"]
        ref = f"{obj['kind']} {meta.get('namespace', 'default')}/{meta['name']}"
        path = folder / f"{i:03d}-{obj['kind'].lower()}-{meta['name']}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
        files[ref] = path
    return files


def check_json(folder: Path) -> dict[str, Any]:
    out = io.StringIO()
    run_check(FileSource([str(folder)]), "json", out=out)
    return json.loads(out.getvalue())


def apply_fix(files: dict[str, Path], folder: Path, fix: dict[str, Any]) -> None:
    """Write the fix's resources over the files of the resources they replace."""
    for obj, replaces in zip(fix["resources"], fix["replaces"], strict=True):
        if replaces is None:
            meta = obj["metadata"]
            path = folder / f"new-{obj['kind'].lower()}-{meta['namespace']}-{meta['name']}.yaml"
            assert not path.exists()
        else:
            path = files[replaces]
        path.write_text(yaml.safe_dump(obj, sort_keys=False))


def key(f: dict[str, Any]) -> tuple[str, str, str, str]:
    return (f["code"], f["host"] or "", f["subset"] or "", f["resource"] or "")


def serious(doc: dict[str, Any]) -> Counter[tuple[str, str, str, str]]:
    return Counter(
        key(f) for f in doc["findings"] if f["severity"] == "error" or f["code"] == SERIOUS
    )


def claimants(folder: Path, host: str) -> int:
    """Mesh-bound VirtualServices whose hosts claim `host` in the folder's files (not those
    Istio's webhook rejects: they never reach the cluster)."""
    n = 0
    for path in folder.glob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        if not isinstance(obj, dict) or obj.get("kind") != "VirtualService":
            continue
        parsed = parse_object(obj, Origin(file=str(path), line=1))
        if not isinstance(parsed, VirtualService) or parsed.meta.rejected is not None:
            continue
        spec = obj.get("spec") or {}
        ns = obj["metadata"].get("namespace", "default")
        gateways = spec.get("gateways") or ["mesh"]
        hosts = {resolve_host(h, ns) for h in spec.get("hosts") or ()}
        n += "mesh" in gateways and host in hosts
    return n


def policy_in_force(before: dict[str, Any], after: dict[str, Any], host: str, name: str) -> bool:
    """The dormant subset's own fields are in force after the fix on every port: for the
    subset's traffic if it is routed now, else for the host's default traffic."""
    b = next(h for h in before["hosts"] if h["host"] == host)
    a = next(h for h in after["hosts"] if h["host"] == host)
    was = next(s for s in b["subsets"] if s["name"] == name)
    now = next((s for s in a["subsets"] if s["name"] == name), None)
    routed = now is not None and any(r["weight"] > 0 for r in now["routes"])
    views = [(was["policy"], was["policyOrigins"], "policy", None)]
    views += [(was["ports"][p], was["portOrigins"][p], "ports", p) for p in was["ports"]]
    for policy, origins, kind, port in views:
        target = now if routed else a
        have = target["policy"] if kind == "policy" else target["ports"].get(port, {})
        for field, origin in origins.items():
            if origin in ("subset", "subset-port") and not contains(have.get(field), policy[field]):
                return False
    return True


def contains(have: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and contains(have[k], v) for k, v in want.items()
        )
    return have == want


def assert_fixes_verified(folder: Path, objs: list[Obj]) -> int:
    """Apply every fix `check -o json` offers, one at a time, and check it again."""
    files = write_case(folder, objs)
    before = check_json(folder)
    applied = 0
    for finding in before["findings"]:
        for fix in finding.get("fixes", []):
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "case"
                copied = write_case(copy, objs)
                assert copied.keys() == files.keys()
                apply_fix(copied, copy, fix)
                after = check_json(copy)
                same = [
                    f
                    for f in after["findings"]
                    if key(f) == key(finding) and f.get("field") == finding.get("field")
                ]
                assert not same, (fix["title"], same)
                new = serious(after) - serious(before)
                assert not new, (fix["title"], new)
                host = finding["host"]
                assert claimants(copy, host) <= max(claimants(folder, host), 1), fix["title"]
                if finding["code"] == SERIOUS:
                    assert policy_in_force(before, after, host, finding["subset"]), fix["title"]
                applied += 1
    return applied


def fixes_of(doc: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [fix for f in doc["findings"] if f["code"] == code for fix in f.get("fixes", [])]


# -- acceptance cases ------------------------------------------------------------------------

REVIEWS = "reviews.shop.svc.cluster.local"


def shadowed_port_case(with_vs: bool) -> list[Obj]:
    """A dormant subset connection pool on a host whose only port has port-level settings."""
    objs = [
        service("reviews", namespace="shop", ports=[9080]),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}, namespace="shop"),
        deployment("reviews-v3", {"app": "reviews", "version": "v3"}, namespace="shop"),
        dr(
            "reviews",
            "reviews",
            namespace="shop",
            policy={
                "tls": {"mode": "ISTIO_MUTUAL"},
                "connectionPool": {"tcp": {"maxConnections": 100}},
                "portLevelSettings": [port_policy(9080, loadBalancer={"simple": "LEAST_REQUEST"})],
            },
            subsets=[
                subset("v1"),
                subset("v3", policy={"connectionPool": {"http": {"http1MaxPendingRequests": 10}}}),
            ],
        ),
    ]
    if with_vs:
        objs.append(
            vs(
                "reviews",
                ["reviews"],
                namespace="shop",
                http=[route(dest("reviews", "v1"), name="primary")],
            )
        )
    return objs


def test_port_level_shadowing_moves_the_policy_into_the_port_entry_too(tmp_path: Path):
    objs = shadowed_port_case(with_vs=False)
    write_case(tmp_path / "case", objs)
    doc = check_json(tmp_path / "case")
    [move] = [
        f for f in fixes_of(doc, SERIOUS) if f["title"] == "move the policy to the host level"
    ]
    [rule] = move["resources"]
    top = rule["spec"]["trafficPolicy"]
    pool = {"tcp": {"maxConnections": 100}, "http": {"http1MaxPendingRequests": 10}}
    assert top["connectionPool"] == pool  # the host's tcp limit kept, not dropped
    [entry] = top["portLevelSettings"]
    assert entry["connectionPool"] == {"http": {"http1MaxPendingRequests": 10}}
    assert "portLevelSettings entry of port 9080" in move["description"]
    assert "traffic without a subset" in move["description"]
    assert move["replaces"] == ["DestinationRule shop/reviews"]
    assert assert_fixes_verified(tmp_path / "verify", objs) >= 3


def test_an_existing_virtual_service_is_edited_not_doubled(tmp_path: Path):
    objs = shadowed_port_case(with_vs=True)
    write_case(tmp_path / "case", objs)
    doc = check_json(tmp_path / "case")
    route_fixes = [f for f in fixes_of(doc, SERIOUS) if f["replaces"][0].startswith("Virtual")]
    assert [f["title"] for f in route_fixes] == [
        "route requests with header x-subset: v3 to the subset",
        "send 10% of the traffic to the subset",
    ]
    header, weighted = route_fixes
    assert header["replaces"] == weighted["replaces"] == ["VirtualService shop/reviews"]
    http = header["resources"][0]["spec"]["http"]
    assert http[0]["match"] == [{"headers": {"x-subset": {"exact": "v3"}}}]
    assert http[1]["name"] == "primary"  # the catch-all comes after, unchanged
    split = weighted["resources"][0]["spec"]["http"][0]["route"]
    assert [d.get("weight") for d in split] == [90, 10]
    assert assert_fixes_verified(tmp_path / "verify", objs) >= 3


def test_a_new_virtual_service_only_when_none_routes_the_host(tmp_path: Path):
    objs = shadowed_port_case(with_vs=False)
    write_case(tmp_path / "case", objs)
    doc = check_json(tmp_path / "case")
    [header] = [f for f in fixes_of(doc, SERIOUS) if "header" in f["title"]]
    assert header["replaces"] == [None]
    spec = header["resources"][0]["spec"]
    assert spec["http"][-1] == {"name": "default", "route": [{"destination": {"host": "reviews"}}]}
    assert "creates shop/reviews" in header["description"]


def client_dr_case() -> list[Obj]:
    """A frontend VirtualService routes to subset v2, which the service's DR defines but the
    frontend namespace's own DR for the host (the one its clients use) does not."""
    return [
        service("reviews", namespace="shop"),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}, namespace="shop"),
        deployment("reviews-v2", {"app": "reviews", "version": "v2"}, namespace="shop"),
        dr("reviews", "reviews", namespace="shop", subsets=[subset("v1"), subset("v2")]),
        dr(
            "reviews-frontend",
            REVIEWS,
            namespace="frontend",
            policy={"tls": {"mode": "ISTIO_MUTUAL"}},
            subsets=[subset("v1")],
        ),
        vs(
            "reviews",
            [REVIEWS],
            namespace="frontend",
            export_to=["."],
            http=[route(dest(REVIEWS, "v2"))],
        ),
    ]


def test_a_client_namespaces_own_rule_gets_the_subset(tmp_path: Path):
    objs = client_dr_case()
    write_case(tmp_path / "case", objs)
    doc = check_json(tmp_path / "case")
    fixes = fixes_of(doc, "UndefinedSubset")
    define = next(f for f in fixes if f["title"] == "define subset v2")
    assert define["replaces"] == ["DestinationRule frontend/reviews-frontend"]
    names = [s["name"] for s in define["resources"][0]["spec"]["subsets"]]
    assert names == ["v1", "v2"]
    assert define["resources"][0]["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}
    assert "clients in namespace frontend" in define["description"]
    assert "Deployment shop/reviews-v2" in define["description"]
    assert assert_fixes_verified(tmp_path / "verify", objs) >= 2


def test_a_subset_no_rule_defines_is_added_with_the_workloads_label(tmp_path: Path):
    objs = [
        service("ratings", namespace="shop"),
        deployment("ratings-v1", {"app": "ratings", "track": "stable"}, namespace="shop"),
        deployment("ratings-canary", {"app": "ratings", "track": "canary"}, namespace="shop"),
        dr("ratings", "ratings", namespace="shop", subsets=[subset("stable", {"track": "stable"})]),
        vs(
            "ratings",
            ["ratings"],
            namespace="shop",
            http=[
                route(dest("ratings", "stable", weight=80), dest("ratings", "canary", weight=20))
            ],
        ),
    ]
    write_case(tmp_path / "case", objs)
    doc = check_json(tmp_path / "case")
    titles = [f["title"] for f in fixes_of(doc, "UndefinedSubset")]
    assert titles == [
        "define subset canary",
        "route to subset stable instead",
        "route to the whole service instead",
    ]
    define = fixes_of(doc, "UndefinedSubset")[0]
    added = define["resources"][0]["spec"]["subsets"][-1]
    assert added == {"name": "canary", "labels": {"track": "canary"}}
    assert "--- a/" in define["diff"] and "+  - name: canary" in define["diff"]
    assert assert_fixes_verified(tmp_path / "verify", objs) == 3


def test_a_subset_of_a_host_without_any_rule_gets_a_new_rule(tmp_path: Path):
    objs = [
        service("ratings", namespace="shop"),
        deployment("ratings-v2", {"app": "ratings", "version": "v2"}, namespace="shop"),
        vs("ratings", ["ratings"], namespace="shop", http=[route(dest("ratings", "v2"))]),
    ]
    write_case(tmp_path / "case", objs)
    doc = check_json(tmp_path / "case")
    define = fixes_of(doc, "UndefinedSubset")[0]
    assert define["replaces"] == [None]
    assert define["resources"][0]["metadata"] == {"name": "ratings", "namespace": "shop"}
    assert define["diff"].startswith("--- /dev/null\n")
    assert assert_fixes_verified(tmp_path / "verify", objs) == 2


# -- every output ----------------------------------------------------------------------------


def test_text_report_prints_each_fix_with_its_diff_and_no_fixes_hides_them(tmp_path: Path, capsys):
    write_case(tmp_path, shadowed_port_case(with_vs=True))
    main(["check", str(tmp_path)])
    text = capsys.readouterr().out
    assert "fix 1: route requests with header x-subset: v3 to the subset" in text
    assert "+  - name: to-v3" in text
    # As git writes a path outside the working directory: never `a//tmp/...`.
    assert f"--- a/{str(tmp_path).lstrip('/')}/004-virtualservice-reviews.yaml" in text
    assert "a//" not in text and "b//" not in text
    main(["check", str(tmp_path), "--no-fixes"])
    assert "fix" not in capsys.readouterr().out


def test_sarif_carries_fixes_as_artifact_changes(tmp_path: Path, capsys, monkeypatch):
    write_case(tmp_path, shadowed_port_case(with_vs=True))
    monkeypatch.chdir(tmp_path)
    main(["check", ".", "-o", "sarif"])
    [result] = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    [change] = result["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "004-virtualservice-reviews.yaml"
    [replacement] = change["replacements"]
    assert replacement["deletedRegion"]["startLine"] == 1
    inserted = yaml.safe_load(replacement["insertedContent"]["text"])
    assert inserted["spec"]["http"][0]["name"] == "to-v3"


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_a_diff_applies_to_a_multi_document_file_with_patch(tmp_path: Path, monkeypatch):
    objs = shadowed_port_case(with_vs=True)
    text = "# comment kept\n" + "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objs)
    (tmp_path / "all.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    doc = check_json(Path("all.yaml"))
    for fix in fixes_of(doc, SERIOUS):
        assert fix["diff"].startswith("--- a/all.yaml\n+++ b/all.yaml\n@@ -")
        (tmp_path / "all.yaml").write_text(text)
        done = subprocess.run(["patch", "-p1", "-s"], input=fix["diff"], text=True)
        assert done.returncode == 0
        patched = list(yaml.safe_load_all((tmp_path / "all.yaml").read_text()))
        assert (tmp_path / "all.yaml").read_text().startswith("# comment kept\n")
        changed = [o for o in patched if o not in objs]
        assert changed == fix["resources"]
        assert len(patched) == len(objs)


# -- property: every fix offered on a generated mesh survives the round trip ------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(meshes())
def test_every_fix_offered_on_a_generated_mesh_passes_verification_through_files(objs):
    with tempfile.TemporaryDirectory() as tmp:
        assert_fixes_verified(Path(tmp) / "mesh", objs)


def test_max_fixes_bounds_how_many_findings_get_fixes(tmp_path: Path, capsys):
    objs = shadowed_port_case(with_vs=True)
    objs.append(vs("ratings", ["ratings"], namespace="shop", http=[route(dest("ratings", "v9"))]))
    write_case(tmp_path, objs)
    main(["check", str(tmp_path), "-o", "json", "--max-fixes", "1"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert len(findings) >= 2
    assert "fixes" in findings[0]
    assert sum("fixes" in f for f in findings) == 1  # not computed is not "none"
    main(["check", str(tmp_path), "--max-fixes", "1"])
    assert "fixes shown for the first 1 findings" in capsys.readouterr().out


def test_the_weight_split_takes_the_share_given_on_the_command_line(tmp_path: Path, capsys):
    write_case(tmp_path, shadowed_port_case(with_vs=True))
    main(["check", str(tmp_path), "-o", "json", "--fix-weight", "30"])
    doc = json.loads(capsys.readouterr().out)
    [split] = [f for f in fixes_of(doc, SERIOUS) if "%" in f["title"]]
    assert split["title"] == "send 30% of the traffic to the subset"
    assert [d["weight"] for d in split["resources"][0]["spec"]["http"][0]["route"]] == [70, 30]


def test_diff_headers_are_relative_to_the_working_directory(tmp_path: Path, capsys, monkeypatch):
    write_case(tmp_path, shadowed_port_case(with_vs=True))
    monkeypatch.chdir(tmp_path)
    main(["check", str(tmp_path)])
    text = capsys.readouterr().out
    assert "--- a/004-virtualservice-reviews.yaml" in text
    assert "+++ b/004-virtualservice-reviews.yaml" in text


COMPETING_CLAIMS = Path(__file__).parents[1] / "fixtures" / "fixes" / "competing-claims"


def test_a_fix_is_verified_with_the_virtual_services_competing_for_the_routes_own_hosts():
    # Found by the property above: nsq2/route0 routes gamma.nsq1's undefined subset v9, and
    # gamma.nsq1's DestinationRule defines only v2, which selects no pod. The verifier's copy
    # of the mesh lacked the VirtualServices competing with route0 for its own host, so
    # there route0 carried no traffic, and "route to subset v2 instead" passed; in the files
    # it turns v2's SubsetSelectsNothing into an error (503).
    objs = [
        o
        for f in sorted(COMPETING_CLAIMS.glob("*.yaml"))
        for o in yaml.safe_load_all(f.read_text())
    ]
    doc = check_json(COMPETING_CLAIMS)
    [undefined] = [
        f
        for f in doc["findings"]
        if f["code"] == "UndefinedSubset" and f["host"] == "gamma.nsq1.svc.cluster.local"
    ]
    assert [fix["title"] for fix in undefined["fixes"]] == ["route to the whole service instead"]
    with tempfile.TemporaryDirectory() as tmp:
        assert assert_fixes_verified(Path(tmp) / "mesh", objs) > 0


def test_defining_a_subset_in_a_rule_written_with_subsets_null(tmp_path: Path):
    # `subsets: null` reads as no subsets; the fix that defines one must write a list there
    # (it once crashed `check` on such a file: found by the loader's fuzz test).
    rule = dr("reviews", "reviews", namespace="shop")
    rule["spec"]["subsets"] = None
    objs = [
        service("reviews", namespace="shop", ports=[9080]),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}, namespace="shop"),
        rule,
        vs("reviews", ["reviews"], namespace="shop", http=[route(dest("reviews", "v1"))]),
    ]
    write_case(tmp_path, objs)
    doc = check_json(tmp_path)
    [define] = [
        fix for fix in fixes_of(doc, "UndefinedSubset") if fix["title"] == "define subset v1"
    ]
    [fixed] = define["resources"]
    assert fixed["spec"]["subsets"] == [{"name": "v1", "labels": {"version": "v1"}}]
    with tempfile.TemporaryDirectory() as tmp:
        assert assert_fixes_verified(Path(tmp) / "mesh", objs) > 0
