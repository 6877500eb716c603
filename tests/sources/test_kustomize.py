"""A kustomize folder is built (`kustomize build`, else `kubectl kustomize`) and its output read;
without either tool, that is said once and the files are read as they are."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from meshtui.cli import main
from meshtui.sources import kustomize
from meshtui.sources.files import FileSource

COMMAND = kustomize.build_command()
needs_tool = pytest.mark.skipif(
    COMMAND is None,
    reason="neither kustomize nor kubectl is installed: kustomize builds cannot be tested here",
)

SERVICE = """apiVersion: v1
kind: Service
metadata: {name: checkout}
spec:
  selector: {app: checkout}
  ports: [{port: 8080}]
"""
RULE = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: checkout}
spec:
  host: checkout
  subsets:
  - name: v1
    labels: {version: v1}
"""
ROUTE = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: checkout}
spec:
  hosts: [checkout]
  http:
  - route:
    - destination: {host: checkout, subset: v2}
"""
# The kustomization gives everything a namespace and patches subset v2 into the rule: read
# file by file, the route names a subset no rule defines (a false UndefinedSubset).
KUSTOMIZATION = """namespace: shop
resources: [service.yaml, rule.yaml, route.yaml]
patches:
- target: {kind: DestinationRule, name: checkout}
  patch: |-
    - op: add
      path: /spec/subsets/-
      value: {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: RANDOM}}}
"""


def kustomize_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for name, text in [
        ("service.yaml", SERVICE),
        ("rule.yaml", RULE),
        ("route.yaml", ROUTE),
        ("kustomization.yaml", KUSTOMIZATION),
    ]:
        (root / name).write_text(text)
    return root


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    status = main(["check", *args, "-o", "json"])
    out, err = capsys.readouterr()
    return status, json.loads(out) if out else {}, err


@needs_tool
def test_a_kustomize_folder_is_built_and_its_output_read(tmp_path, capsys):
    folder = kustomize_folder(tmp_path / "app")
    status, document, err = check_json(capsys, str(folder))
    assert (status, err) == (0, "")
    [host] = document["hosts"]
    assert host["host"] == "checkout.shop.svc.cluster.local"  # the kustomization's namespace
    assert [s["name"] for s in host["subsets"]] == ["v1", "v2"]  # and its patch
    # No workload in the build: whether v1 and v2 select pods cannot be confirmed (info only).
    assert {(f["code"], f["severity"]) for f in document["findings"]} == {
        ("SubsetSelectsNothing", "info")
    }


@needs_tool
def test_findings_point_into_the_build_output(tmp_path, capsys):
    folder = kustomize_folder(tmp_path / "app")
    (folder / "route.yaml").write_text(ROUTE.replace("subset: v2", "subset: v3"))
    status, document, _ = check_json(capsys, str(tmp_path))
    assert status == 1
    [finding] = [f for f in document["findings"] if f["code"] == "UndefinedSubset"]
    assert finding["file"] == f"kustomize build {folder}"
    # The line is that of the build output, as `kubectl kustomize DIR` prints it again.
    assert COMMAND is not None
    output = subprocess.run([*COMMAND, str(folder)], capture_output=True, text=True, check=True)
    lines = output.stdout.splitlines()[finding["line"] - 1 :]
    assert lines[0].strip() == "- destination:"  # the route's destination, as in a file
    assert "subset: v3" in "\n".join(lines[1:3])


@needs_tool
def test_the_raw_yaml_of_a_built_resource_is_the_built_document(tmp_path):
    folder = kustomize_folder(tmp_path / "app")
    source = FileSource([folder])
    [mesh] = source.load()
    rule = next(r for r in mesh.destination_rules if r.meta.ref.name == "checkout")
    text = source.document_text(rule.meta)
    assert text is not None
    assert "namespace: shop" in text and "name: v2" in text


@needs_tool
def test_a_failing_build_is_a_finding_at_the_kustomization(tmp_path, capsys):
    folder = kustomize_folder(tmp_path / "app")
    (folder / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    (tmp_path / "other.yaml").write_text(SERVICE)
    status, document, _ = check_json(capsys, str(tmp_path))
    assert status == 1
    [finding] = document["findings"]
    assert finding["code"] == "ParseError"
    assert finding["file"] == str(folder / "kustomization.yaml")
    assert finding["message"].startswith(f"kustomize build {folder} failed: ")


def test_without_a_tool_it_says_so_once_and_reads_the_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(kustomize, "build_command", lambda: None)
    kustomize_folder(tmp_path / "one")
    kustomize_folder(tmp_path / "two")
    status, document, err = check_json(capsys, str(tmp_path / "one"), str(tmp_path / "two"))
    assert err.count("meshtui: warning: ") == 1
    assert "neither kustomize nor kubectl is installed" in err
    # Read as plain files: no namespace, no patch (and the kustomization is not an object).
    assert {h["host"] for h in document["hosts"]} == {"checkout.default.svc.cluster.local"}
    assert "UndefinedSubset" in {f["code"] for f in document["findings"]}
    assert status == 1


@needs_tool
def test_a_remote_base_that_cannot_be_fetched_is_a_note_not_a_parse_error(tmp_path, capsys):
    # Offline (as these tests run), kustomize's git fetch of a remote base fails.
    (tmp_path / "local.yaml").write_text(SERVICE)
    overlay = tmp_path / "overlays" / "prod"
    overlay.mkdir(parents=True)
    (overlay / "service.yaml").write_text(SERVICE)
    (overlay / "kustomization.yaml").write_text(
        "resources:\n- https://github.invalid/example/repo//base?ref=v1\n- service.yaml\n"
    )
    status = main(["check", str(tmp_path), "-o", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert not [f for f in document["findings"] if f["code"] == "ParseError"]
    [note] = [n for n in document["notes"] if "remote base" in n]
    assert f"kustomize build {overlay}" in note
    assert "https://github.invalid/example/repo//base?ref=v1" in note
    assert "this kustomization is not analysed" in note


def test_an_overlay_without_a_tool_says_kustomize_is_needed(tmp_path, capsys, monkeypatch):
    # An overlay holds a kustomization and patches, no resource of its own: read as plain
    # files it has nothing, which says nothing about the overlay.
    monkeypatch.setattr(kustomize, "build_command", lambda: None)
    kustomize_folder(tmp_path / "base")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\n"
        "patches: [{path: patch.yaml, target: {kind: DestinationRule, name: checkout}}]\n"
    )
    (overlay / "patch.yaml").write_text("- {op: replace, path: /spec/host, value: till}\n")

    status = main(["check", str(overlay)])

    err = capsys.readouterr().err
    assert status == 2
    assert "kustomize is needed for this folder: install it" in err
    assert "rendered YAML" in err and "no Kubernetes resource" not in err


# -- Sibling overlays (kubeflow's layout): alternatives, each a mesh of its own -----------------

PATCH_B = """namespace: shop-b
resources: [../../base]
patches:
- target: {kind: VirtualService, name: checkout}
  patch: |-
    - op: replace
      path: /spec/http/0/route/0/destination/subset
      value: v9
"""


def sibling_overlays(root: Path) -> Path:
    """`base/` with the mesh, `overlays/a` (namespace shop-a) and `overlays/b` (namespace
    shop-b, routing to a subset no rule defines): two ways to apply one app."""
    base = kustomize_folder(root / "app" / "base")
    (base / "kustomization.yaml").write_text("resources: [service.yaml, rule.yaml, route.yaml]\n")
    (base / "route.yaml").write_text(ROUTE.replace("subset: v2", "subset: v1"))
    for name, text in [("a", "namespace: shop-a\nresources: [../../base]\n"), ("b", PATCH_B)]:
        (root / "app" / "overlays" / name).mkdir(parents=True)
        (root / "app" / "overlays" / name / "kustomization.yaml").write_text(text)
    (root / "plain.yaml").write_text(SERVICE.replace("checkout", "shared"))
    return root


@needs_tool
def test_sibling_overlays_are_separate_meshes_and_each_finding_says_its_overlay(tmp_path, capsys):
    root = sibling_overlays(tmp_path / "repo")
    (root / "broken.yaml").write_text("kind: [\n")  # a file every overlay's mesh reads
    status, document, _ = check_json(capsys, str(root))
    a, b = (str(root / "app" / "overlays" / n) for n in "ab")
    assert status == 1
    # Merged, the two overlays' objects were "defined more than once"; now each is its mesh,
    # with the plain files that are no alternative of anything.
    assert not [f for f in document["findings"] if "more than once" in f["message"]]
    assert sorted((h["host"], h["overlay"]) for h in document["hosts"]) == [
        ("checkout.shop-a.svc.cluster.local", a),
        ("checkout.shop-b.svc.cluster.local", b),
        ("shared.default.svc.cluster.local", a),
        ("shared.default.svc.cluster.local", b),
    ]
    [undefined] = [f for f in document["findings"] if f["code"] == "UndefinedSubset"]
    assert (undefined["overlay"], undefined["file"]) == (b, f"kustomize build {b}")
    # What every overlay has alike is said once, without an overlay.
    [parse] = [f for f in document["findings"] if f["code"] == "ParseError"]
    assert "overlay" not in parse and parse["file"] == str(root / "broken.yaml")
    [note] = [n for n in document["notes"] if "alternatives" in n]
    assert a in note and b in note and str(root / "app" / "base") in note

    main(["check", str(root)])
    text = capsys.readouterr().out
    assert f"== overlay {a} ==" in text and f"== overlay {b} ==" in text
    assert text.count("ParseError") == 1 and text.index("== every overlay ==") < text.index(a)
    assert text.index("UndefinedSubset") > text.index(f"== overlay {b} ==")


@needs_tool
def test_overlay_chooses_one_and_an_unknown_name_lists_them(tmp_path, capsys):
    root = sibling_overlays(tmp_path / "repo")
    status, document, _ = check_json(capsys, str(root), "--overlay", "overlays/b")
    assert status == 1
    assert {h["host"] for h in document["hosts"]} == {
        "checkout.shop-b.svc.cluster.local",
        "shared.default.svc.cluster.local",
    }
    assert main(["check", str(root), "--overlay", "prod"]) == 2
    err = capsys.readouterr().err
    assert "--overlay prod: no such overlay" in err
    assert str(root / "app" / "overlays" / "a") in err


@needs_tool
def test_builds_run_once_per_overlay_in_parallel_and_are_cached_by_content(tmp_path, monkeypatch):
    # The real build, through a wrapper that logs when each build starts and ends.
    log = tmp_path / "builds.log"
    wrapper = tmp_path / "build"
    assert COMMAND is not None
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "start $(date +%s.%N) $*" >> {log}\n'
        "sleep 0.5\n"
        f'{" ".join(COMMAND)} "$@"; status=$?\n'
        f'echo "end $(date +%s.%N) $*" >> {log}\n'
        "exit $status\n"
    )
    wrapper.chmod(0o755)
    monkeypatch.setattr(kustomize, "build_command", lambda: [str(wrapper)])
    monkeypatch.setattr(kustomize, "_CACHE", {})
    root = sibling_overlays(tmp_path / "repo")

    def builds() -> list[tuple[str, float, str]]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [(w, float(t), Path(p).name) for w, t, p in (line.split(" ", 2) for line in lines)]

    FileSource([root]).load()
    done = builds()
    # The two overlays, not the base (built inside each), each once...
    assert sorted(name for what, _, name in done if what == "start") == ["a", "b"]
    # ...and at the same time: each started before the other ended.
    starts = sorted(t for what, t, _ in done if what == "start")
    ends = sorted(t for what, t, _ in done if what == "end")
    assert starts[1] < ends[0]

    FileSource([root]).load()
    assert builds() == done  # nothing changed: both builds from the cache

    (root / "app" / "overlays" / "b" / "kustomization.yaml").write_text(PATCH_B.replace("v9", "v8"))
    FileSource([root]).load()
    assert [name for what, _, name in builds()[len(done) :] if what == "start"] == ["b"]
    (root / "app" / "base" / "rule.yaml").write_text(RULE.replace("v1", "v0"))
    FileSource([root]).load()
    again = [name for what, _, name in builds()[len(done) + 2 :] if what == "start"]
    assert sorted(again) == ["a", "b"]  # a base's edit rebuilds every overlay on it


def test_plan_groups_overlays_of_one_base_and_leaves_other_apps_alone():
    # The grouping alone, on a reference graph written here (no build needed).
    p = Path
    refs = {
        p("shop/base"): [],
        p("shop/overlays/a"): [p("shop/base")],
        p("shop/overlays/b"): [p("shop/overlays/common")],
        p("shop/overlays/common"): [p("shop/base")],
        p("auth"): [],  # an app of its own, applied beside the others
        p("loop/x"): [p("loop/y")],
        p("loop/y"): [p("loop/x")],  # a cycle stops
    }
    layout = kustomize.plan(list(refs), refs=lambda f: refs[f])
    assert layout.alternatives == (
        (p("shop/overlays/a"), p("shop/overlays/b")),
        (p("loop/x"), p("loop/y")),  # built, so kustomize's refusal is said
    )
    assert set(layout.bases) == {p("shop/base"), p("shop/overlays/common")}
    assert layout.shared == (p("auth"),)


@needs_tool
def test_diff_of_overlays_that_are_alternatives_asks_for_one(tmp_path, capsys):
    root = sibling_overlays(tmp_path / "repo")
    assert main(["diff", str(root), str(root / "app" / "overlays" / "b")]) == 2
    assert "2 kustomize overlays that are alternatives" in capsys.readouterr().err


@needs_tool
def test_a_followed_overlay_follows_edits_to_its_base_and_ignores_its_alternatives(tmp_path):
    from meshtui.check.report import to_json

    def report(source: FileSource) -> dict:
        analyses = source.snapshot()
        return to_json(analyses, [source.refine(a.findings) for a in analyses], "")

    root = sibling_overlays(tmp_path / "repo")
    source = FileSource([root], follow=True)  # as the inspector reads it: the first overlay
    source.load()
    base_rule = root / "app" / "base" / "rule.yaml"
    base_rule.write_text(RULE.replace("name: v1", "name: v0"))  # the route's v1 is gone
    source._changed({base_rule.resolve()})
    other = root / "app" / "overlays" / "b" / "kustomization.yaml"
    other.write_text(PATCH_B.replace("v9", "v8"))
    source._changed({other.resolve()})
    fresh = FileSource([root], overlay="overlays/a")
    fresh.load()
    got = report(source)
    assert got == report(fresh)
    assert "UndefinedSubset" in {f["code"] for f in got["findings"]}
    assert not [f for f in got["findings"] if "more than once" in f["message"]]


@needs_tool
def test_routing_expectations_over_alternatives_take_one_overlay(tmp_path, capsys):
    root = sibling_overlays(tmp_path / "repo")
    cases = tmp_path / "routing.yaml"
    cases.write_text(
        "tests:\n"
        "- name: checkout goes to v1\n"
        "  request: {from: shop-a, to: checkout.shop-a.svc.cluster.local}\n"
        "  expect: {subset: v1}\n"
    )
    assert main(["test", str(cases), str(root)]) == 2
    assert "2 kustomize overlays that are alternatives: give one --overlay" in (
        capsys.readouterr().err
    )
    assert main(["test", str(cases), str(root), "--overlay", "a"]) == 0
