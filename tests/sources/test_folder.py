"""The offline source as a whole: nothing read is an error, -n gives namespace-less resources a
namespace, and edits fed one file at a time give the mesh a fresh read gives."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from meshtui.check.report import to_json
from meshtui.cli import main
from meshtui.sources.files import FileSource, LoadError

ROOT = Path(__file__).resolve().parents[2]
DORMANT = ROOT / "tests" / "tui" / "fixtures" / "dormant-policy"
BOOKINFO = ROOT / "tests" / "tui" / "fixtures" / "bookinfo"


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["check", *args])
    out, err = capsys.readouterr()
    return status, out, err


# -- nothing read is an error --------------------------------------------------------------


def test_an_empty_folder_exits_2_saying_what_was_looked_at(tmp_path, capsys):
    (tmp_path / "README.md").write_text("# not YAML\n")
    status, out, err = check(capsys, str(tmp_path))
    assert (status, out) == (2, "")
    assert err.strip() == f"meshtui: 0 files with YAML or JSON under {tmp_path}"


def test_a_binary_file_exits_2_not_1(capsys):
    status, out, err = check(capsys, "/bin/ls")
    assert (status, out) == (2, "")
    assert err.startswith("meshtui: no Kubernetes resource in 1 file read from /bin/ls: ")
    assert "/bin/ls is a binary file, not YAML or JSON" in err


def test_only_broken_files_exit_2_with_their_errors(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("kind: [\n")
    (tmp_path / "b.yaml").write_text("\x00\x01")
    status, _, err = check(capsys, str(tmp_path))
    assert status == 2
    assert "no Kubernetes resource in 2 files read from" in err
    assert f"{tmp_path / 'a.yaml'}:2:" in err
    assert f"{tmp_path / 'b.yaml'} is a binary file" in err


def test_yaml_without_a_kubernetes_object_exits_2(tmp_path, capsys):
    (tmp_path / "values.yaml").write_text("replicas: 3\nimage: shop:1.0\n")
    status, _, err = check(capsys, str(tmp_path))
    assert status == 2
    assert "no Kubernetes resource in 1 file read from" in err


def test_empty_standard_input_exits_2():
    # `kustomize build . | meshtui check -` when kustomize fails: nothing comes through.
    done = subprocess.run(
        [sys.executable, "-m", "meshtui", "check", "-"],
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == "meshtui: no Kubernetes resource in 1 file read from <stdin>"


def test_kubernetes_objects_meshtui_does_not_model_are_still_input(tmp_path, capsys):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    status, out, _ = check(capsys, str(tmp_path))
    assert status == 0
    assert "0 hosts, no findings" in out


def test_a_broken_file_beside_a_good_one_is_still_a_finding(tmp_path, capsys):
    shutil.copytree(DORMANT, tmp_path / "mesh")
    (tmp_path / "mesh" / "broken.yaml").write_text("kind: [\n")
    status, out, _ = check(capsys, str(tmp_path / "mesh"), "--failure-threshold", "error")
    assert status == 1
    assert "ParseError" in out and "SubsetPolicyNeverApplied" in out


# -- -n with PATHs -------------------------------------------------------------------------


def _without_namespaces(folder: Path, to: Path) -> Path:
    """Helm-like output: the same manifests with no metadata.namespace."""
    to.mkdir()
    for path in folder.glob("*.yaml"):
        (to / path.name).write_text(path.read_text().replace("  namespace: shop\n", ""))
    return to


def test_namespace_option_gives_namespace_less_resources_a_namespace(tmp_path, capsys):
    folder = _without_namespaces(DORMANT, tmp_path / "helm")
    status, out, _ = check(capsys, str(folder), "-o", "json")
    assert [h["host"] for h in json.loads(out)["hosts"]] == ["checkout.default.svc.cluster.local"]

    status, out, err = check(capsys, str(folder), "-n", "shop", "-o", "json")
    document = json.loads(out)
    assert (status, err) == (1, "")
    assert [h["host"] for h in document["hosts"]] == ["checkout.shop.svc.cluster.local"]
    # with the data plane's: the files hold no Namespace labels for shop
    assert document["notes"][-1] == "namespace shop assumed for resources without one"
    assert document["notes"][0].startswith("no mesh labels in these files for shop")
    assert "(namespace shop for resources without one)" in document["source"]
    [finding] = document["findings"]
    assert finding["resource"] == "DestinationRule shop/checkout"


def test_namespace_option_keeps_a_namespace_written_in_the_file(tmp_path, capsys):
    _, out, _ = check(capsys, str(DORMANT), "-n", "other", "-o", "json")
    assert [h["host"] for h in json.loads(out)["hosts"]] == ["checkout.shop.svc.cluster.local"]


def test_assumed_namespace_is_said_in_text_and_sarif(tmp_path, capsys):
    folder = _without_namespaces(DORMANT, tmp_path / "helm")
    _, text, _ = check(capsys, str(folder), "-n", "shop")
    assert text.endswith("note: namespace shop assumed for resources without one\n")
    _, sarif, _ = check(capsys, str(folder), "-n", "shop", "-o", "sarif")
    [invocation] = json.loads(sarif)["runs"][0]["invocations"]
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    # with the data plane's: the files hold no Namespace labels for shop
    assert notes[-1] == "namespace shop assumed for resources without one"
    assert notes[0].startswith("no mesh labels in these files for shop")


# -- edits, one file at a time -------------------------------------------------------------

SERVICE = """apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 8080}}]
"""
RULE = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {name}, namespace: shop}}
spec:
  host: {host}
  subsets:
  - name: v1
    labels: {{version: v1}}
    trafficPolicy: {{loadBalancer: {{simple: {lb}}}}}
"""
ROUTE = """apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: shop}}
spec:
  hosts: [{host}]
  http:
  - route:
    - destination: {{host: {host}, subset: {subset}}}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: 2
  template:
    metadata: {{labels: {{app: {host}, version: v1}}}}
"""
POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}-pod
  namespace: shop
  labels: {{app: {host}, version: v1}}
  ownerReferences: [{{kind: Deployment, name: {name}, controller: true}}]
"""


def _document(rng: random.Random) -> str:
    host = rng.choice(["a", "b", "c"])
    name = rng.choice(["a", "b", "x"])  # names repeat across files: first definitions matter
    template = rng.choice([SERVICE, RULE, ROUTE, DEPLOYMENT, POD, "kind: [\n"])
    return template.format(
        name=name, host=host, lb=rng.choice(["RANDOM", "LEAST_REQUEST"]), subset="v1"
    )


def _report(source: FileSource) -> dict[str, Any]:
    analyses = source.snapshot()
    return to_json(analyses, [source.refine(a.findings) for a in analyses], "")


@pytest.mark.parametrize("seed", range(6))
def test_edits_fed_one_file_at_a_time_give_what_a_fresh_read_gives(tmp_path, seed):
    rng = random.Random(seed)
    folder = tmp_path / "mesh"
    (folder / "sub").mkdir(parents=True)
    names = ["a.yaml", "b.yaml", "sub/c.yaml", "sub/d.yml", "z.json"]
    (folder / "a.yaml").write_text(SERVICE.format(name="a"))
    source = FileSource([folder], follow=True)  # documents unchanged since are not re-parsed
    source.load()
    for _ in range(25):
        name = rng.choice(names)
        path = folder / name
        if rng.random() < 0.2 and path.exists():
            path.unlink()
        elif name.endswith(".json"):
            path.write_text(json.dumps({"kind": "Service", "metadata": {"name": "j"}}))
        else:
            docs = [_document(rng) for _ in range(rng.randint(1, 3))]
            if path.exists() and rng.random() < 0.5:  # keep the documents there, add one
                docs = [path.read_text(), *docs[:1]]
            path.write_text("---\n".join(docs))
        source._changed({path.resolve()})
        fresh = FileSource([folder])
        try:
            fresh.load()
        except LoadError:
            continue  # nothing left to read: a fresh read refuses, the followed one goes on
        assert _report(source) == _report(fresh), name


def test_a_folder_removed_and_added_back_is_read_again(tmp_path):
    folder = tmp_path / "mesh"
    shutil.copytree(BOOKINFO, folder / "bookinfo")
    shutil.copytree(DORMANT, folder / "dormant")
    source = FileSource([folder])
    source.load()
    before = _report(source)
    shutil.move(folder / "dormant", tmp_path / "away")
    source._changed({(folder / "dormant").resolve()})
    assert "checkout.shop.svc.cluster.local" not in {h["host"] for h in _report(source)["hosts"]}
    shutil.move(tmp_path / "away", folder / "dormant")
    source._changed({(folder / "dormant").resolve()})
    assert _report(source) == before


def test_after_missed_events_every_file_is_compared_again(tmp_path):
    folder = tmp_path / "mesh"
    shutil.copytree(DORMANT, folder)
    source = FileSource([folder])
    source.load()
    (folder / "service.yaml").unlink()
    (folder / "more.yaml").write_text(SERVICE.format(name="more"))
    rule = folder / "destination-rule.yaml"
    rule.write_text(rule.read_text().replace("LEAST_REQUEST", "RANDOM"))
    source._changed(None)  # what a watcher says after it failed and came back
    fresh = FileSource([folder])
    fresh.load()
    assert _report(source) == _report(fresh)


def test_a_file_given_by_name_is_followed_through_an_editor_s_rename(tmp_path, monkeypatch):
    shutil.copytree(DORMANT, tmp_path / "mesh")
    monkeypatch.chdir(tmp_path)
    source = FileSource(["mesh/service.yaml", "mesh/destination-rule.yaml"], follow=True)
    source.load()
    seen = threading.Event()
    source.watch(lambda hosts: seen.set())
    try:
        rule = Path("mesh/destination-rule.yaml")
        saved = Path("mesh/.destination-rule.yaml.swp")
        saved.write_text(rule.read_text().replace("name: v2", "name: v3"))
        os.replace(saved, rule)  # as vim and most editors save: a new file renamed over
        assert seen.wait(10)
        [analysis] = source.snapshot()
        host = analysis.hosts["checkout.shop.svc.cluster.local"]
        assert [s.name for s in host.subsets] == ["v1", "v3"]
        assert {f.file for f in analysis.findings} == {"mesh/destination-rule.yaml"}
    finally:
        source.stop()
