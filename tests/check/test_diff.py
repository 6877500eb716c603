"""`meshtui diff OLD NEW`: each kind of change a reviewer meets, said for traffic and for
whom, on copies of examples/bookinfo edited the way a pull request would edit them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meshtui.cli import main

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ROOT / "examples" / "bookinfo"
REVIEWS = "reviews.bookinfo.svc.cluster.local"


def copy(tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    shutil.copytree(BOOKINFO, out)
    return out


def edit(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))


def diff_json(capsys, old: Path | str, new: Path | str, *args: str) -> tuple[int, dict]:
    code = main(["diff", str(old), str(new), "-o", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def changes(doc: dict, host: str = REVIEWS, kind: str | None = None) -> list[dict]:
    return [
        c
        for entry in doc["changes"]
        if entry["host"] == host
        for c in entry["changes"]
        if kind in (None, c["kind"])
    ]


def test_a_weight_shift_is_a_route_change_for_every_client(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(new, "virtual-services.yaml", "weight: 90", "weight: 50")
    edit(new, "virtual-services.yaml", "weight: 10", "weight: 50")
    code, doc = diff_json(capsys, old, new)
    [entry] = doc["changes"]
    assert entry["host"] == REVIEWS and entry["effective"] is True
    assert entry["clientNamespaces"] == ["*"]
    routes = [(c["route"], c["subset"], c["oldWeight"], c["newWeight"]) for c in entry["changes"]]
    assert routes == [
        ("bookinfo/reviews http[0] 'canary'", "v1", 90, 50),
        ("bookinfo/reviews http[0] 'canary'", "v2", 10, 50),
    ]
    assert doc["ineffective"] == [] and doc["findings"] == {"added": [], "resolved": []}
    assert code == 0

    main(["diff", str(old), str(new)])
    text = capsys.readouterr().out
    assert f"{REVIEWS}: clients in every namespace" in text
    assert "route bookinfo/reviews http[0] 'canary' to subset v1: 90% → 50%" in text


def test_a_client_namespace_destination_rule_makes_its_clients_requests_fail(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    # Harmless-looking: a connection pool for frontend's calls to reviews. But frontend's own
    # DR for the host wins for frontend's sidecars, and it defines no subset.
    (new / "frontend-dr.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        "metadata: {name: reviews-pool, namespace: frontend}\n"
        "spec:\n  host: reviews.bookinfo.svc.cluster.local\n"
        "  trafficPolicy:\n    connectionPool:\n      http: {idleTimeout: 30s}\n"
    )
    code, doc = diff_json(capsys, old, new)
    [entry] = doc["changes"]
    assert entry["clientNamespaces"] == ["frontend"]
    kinds = [(c["kind"], c.get("subset"), c["old"], c["new"]) for c in entry["changes"][:3]]
    assert kinds == [
        ("destinationRule", None, ["bookinfo/reviews"], ["frontend/reviews-pool"]),
        ("subset", "v1", "defined", None),
        ("subset", "v2", "defined", None),
    ]
    assert "fail with 503" in entry["changes"][1]["text"]
    added = doc["findings"]["added"]
    assert {(f["code"], f["subset"]) for f in added} == {
        ("UndefinedSubset", "v1"),
        ("UndefinedSubset", "v2"),
    }
    assert all(f["clientNamespaces"] == ["frontend"] for f in added)
    # Every other client keeps what it had; the unrouted v3's finding narrows, not new.
    assert doc["findings"]["resolved"] == []
    assert code == 0  # warnings (no frontend workload in the input); the threshold is error
    assert main(["diff", str(old), str(new), "--failure-threshold", "warning"]) == 1


def test_a_host_level_field_that_port_level_settings_replace_is_ineffective(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(new, "destination-rules.yaml", "tcp: {maxConnections: 100}", "tcp: {maxConnections: 5}")
    code, doc = diff_json(capsys, old, new)
    assert doc["changes"] == []
    [ineffective] = doc["ineffective"]
    assert ineffective["resource"] == "DestinationRule bookinfo/reviews"
    assert ineffective["effective"] is False
    assert (
        "port 9080's own portLevelSettings replace the host-level connectionPool"
        in (ineffective["why"])
    )
    assert code == 0


def test_a_subset_policy_edit_with_no_route_to_the_subset_is_ineffective(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(new, "destination-rules.yaml", "http1MaxPendingRequests: 10", "http1MaxPendingRequests: 1")
    _, doc = diff_json(capsys, old, new)
    assert doc["changes"] == []
    [ineffective] = doc["ineffective"]
    assert (
        "subset v3 changes, but no route sends any client's requests to it" in (ineffective["why"])
    )


def test_a_policy_field_change_names_the_subset_port_and_origin(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(new, "destination-rules.yaml", "consecutive5xxErrors: 5", "consecutive5xxErrors: 2")
    _, doc = diff_json(capsys, old, new)
    [change] = changes(doc)
    assert change["kind"] == "policy"
    assert (change["subset"], change["port"], change["field"]) == ("v2", 9080, "outlierDetection")
    assert change["old"]["consecutive5xxErrors"] == 5
    assert change["new"]["consecutive5xxErrors"] == 2
    assert change["oldOrigin"] == change["newOrigin"] == "subset"
    assert doc["ineffective"] == []


def test_a_routed_subset_removed_fails_with_503_and_fails_the_build(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(
        new,
        "destination-rules.yaml",
        "  - name: v2\n    labels: {version: v2}\n    trafficPolicy:\n      loadBalancer: "
        "{simple: RANDOM}\n      outlierDetection:\n        consecutive5xxErrors: 5\n"
        "        interval: 30s\n        baseEjectionTime: 1m\n",
        "",
    )
    code, doc = diff_json(capsys, old, new)
    [change] = changes(doc)
    assert (change["kind"], change["subset"], change["old"], change["new"]) == (
        "subset",
        "v2",
        "defined",
        None,
    )
    [added] = doc["findings"]["added"]
    assert (added["code"], added["severity"], added["subset"]) == ("UndefinedSubset", "error", "v2")
    assert added["file"].endswith("virtual-services.yaml") and added["line"] == 15
    assert code == 1


def test_a_rule_made_unreachable_stops_its_routes_and_says_why(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(
        new,
        "virtual-services.yaml",
        "  http:\n  - name: canary\n",
        "  http:\n  - name: everything\n    route:\n"
        "    - destination: {host: reviews, subset: v1}\n  - name: canary\n",
    )
    _, doc = diff_json(capsys, old, new)
    routes = changes(doc, kind="route")
    found = {(c["route"], c["subset"]): (c["oldWeight"], c["newWeight"]) for c in routes}
    assert found == {
        ("bookinfo/reviews http[0] 'everything'", "v1"): (None, 100),
        ("bookinfo/reviews http[1] 'canary'", "v1"): (90, None),  # where it now is
        ("bookinfo/reviews http[1] 'canary'", "v2"): (10, None),
    }
    gone = next(c for c in routes if c["subset"] == "v2")
    assert gone["why"] == "http[0] 'everything' before it has no match"
    # v2's own policy no longer counts: said as such, not as a policy edit.
    [lb] = [c for c in changes(doc, kind="policy") if c["field"] == "loadBalancer"]
    assert (lb["subset"], lb["old"], lb["new"]) == ("v2", {"simple": "RANDOM"}, None)
    assert lb["why"] == "subset v2 is no longer routed to"


def test_a_pure_rewrite_reports_nothing(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), tmp_path / "new"
    new.mkdir()
    # Documents reordered and split into one file each, flow style made block style,
    # defaults spelled out, the older API version.
    docs = []
    for file in sorted(BOOKINFO.glob("*.yaml")):
        docs += [d for d in file.read_text().split("\n---\n") if "kind:" in d]
    docs.reverse()
    for i, doc in enumerate(docs):
        doc = doc.replace("networking.istio.io/v1\n", "networking.istio.io/v1beta1\n")
        doc = doc.replace(
            "  - route:\n    - destination: {host: ratings, subset: v1}",
            "  - route:\n    - destination:\n        host: ratings\n        subset: v1\n"
            "      weight: 100",
        )
        doc = doc.replace("  hosts: [reviews]\n", "  hosts: [reviews]\n  exportTo: ['*']\n")
        (new / f"{i:02d}.yaml").write_text(doc + "\n")
    code, doc = diff_json(capsys, old, new)
    assert doc["changes"] == [] and doc["ineffective"] == []
    assert doc["findings"] == {"added": [], "resolved": []}
    assert code == 0
    main(["diff", str(old), str(new)])
    assert "No change to traffic for any client" in capsys.readouterr().out


def test_a_single_file_side(tmp_path, capsys):
    new = copy(tmp_path, "new")
    edit(new, "virtual-services.yaml", "weight: 90", "weight: 95")
    edit(new, "virtual-services.yaml", "weight: 10", "weight: 5")
    old_file = BOOKINFO / "virtual-services.yaml"
    _, doc = diff_json(capsys, old_file, new / "virtual-services.yaml")
    assert [(c["oldWeight"], c["newWeight"]) for c in changes(doc)] == [(90, 95), (10, 5)]


def test_a_destination_rule_file_alone_routes_nothing_so_its_subset_edits_do_nothing(
    tmp_path, capsys
):
    new = copy(tmp_path, "new")
    edit(new, "destination-rules.yaml", "simple: RANDOM", "simple: ROUND_ROBIN")
    _, doc = diff_json(capsys, BOOKINFO / "destination-rules.yaml", new / "destination-rules.yaml")
    assert doc["changes"] == []
    [ineffective] = doc["ineffective"]
    assert ineffective["why"].startswith("subset v2 changes, but no route sends")


def test_standard_input_is_one_side(tmp_path):
    new = copy(tmp_path, "new")
    edit(new, "virtual-services.yaml", "weight: 90", "weight: 80")
    edit(new, "virtual-services.yaml", "weight: 10", "weight: 20")
    stream = "\n---\n".join(p.read_text() for p in sorted(new.glob("*.yaml")))
    done = subprocess.run(
        [sys.executable, "-m", "meshtui", "diff", str(BOOKINFO), "-", "-o", "json"],
        input=stream,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["new"] == "<stdin>"
    assert [(c["oldWeight"], c["newWeight"]) for c in changes(doc)] == [(90, 80), (10, 20)]


def test_markdown_puts_added_findings_first_and_a_table_per_host(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(new, "virtual-services.yaml", "subset: v2}", "subset: v9}")
    code = main(["diff", str(old), str(new), "-o", "markdown"])
    text = capsys.readouterr().out
    assert code == 1
    first, *_ = text.splitlines()
    assert first.startswith("**meshtui diff**") and "3 findings added" in first
    assert text.index("### Findings added") < text.index(f"### `{REVIEWS}`")
    assert "| change | where | old | new |" in text
    assert "| route `bookinfo/reviews http[0] 'canary'` | subset v9 | no route | 10% |" in text
    # v3's SubsetPolicyNeverApplied message changes with the routes: resolved, folded away.
    assert text.index("<details><summary>Findings resolved</summary>") > text.index("| 10% |")


def test_a_side_that_does_not_exist_is_exit_2_with_its_name(tmp_path, capsys):
    assert main(["diff", str(tmp_path / "nope"), str(BOOKINFO)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nope'}: no such file or directory" in err


# -- git revisions ---------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(BOOKINFO, root / "mesh")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "bookinfo")
    monkeypatch.chdir(root)
    return root


def test_a_git_revision_against_the_working_tree(repo, capsys):
    edit(repo / "mesh", "virtual-services.yaml", "weight: 90", "weight: 0")
    edit(repo / "mesh", "virtual-services.yaml", "weight: 10", "weight: 100")
    code, doc = diff_json(capsys, "main:mesh", "mesh")
    assert doc["old"] == "main:mesh"
    assert [(c["subset"], c["oldWeight"], c["newWeight"]) for c in changes(doc, kind="route")] == [
        ("v1", 90, None),
        ("v2", 10, 100),
    ]
    assert code == 0
    # The same tree at the same revision: nothing; the work tree was never written.
    assert main(["diff", "main:mesh", "HEAD:mesh"]) == 0
    assert "No change to traffic" in capsys.readouterr().out
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout.split() == ["M", "mesh/virtual-services.yaml"]


def test_findings_of_a_revision_point_at_the_revision_and_line(repo, capsys):
    edit(repo / "mesh", "virtual-services.yaml", "subset: v2}", "subset: v9}")
    git(repo, "commit", "-q", "-am", "typo")
    code, doc = diff_json(capsys, "HEAD~1:mesh", "HEAD:mesh")
    [added] = [f for f in doc["findings"]["added"] if f["code"] == "UndefinedSubset"]
    assert (added["file"], added["line"]) == ("HEAD:mesh/virtual-services.yaml", 15)
    assert code == 1


def test_an_unknown_revision_or_path_is_exit_2(repo, capsys):
    assert main(["diff", "no-such-branch:mesh", "mesh"]) == 2
    assert "unknown revision 'no-such-branch'" in capsys.readouterr().err
    assert main(["diff", "main:nowhere", "mesh"]) == 2
    assert "main:nowhere: no YAML or JSON file at nowhere in main" in capsys.readouterr().err


def test_pods_a_subset_no_longer_selects(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(
        new,
        "deployments.yaml",
        "    metadata:\n      labels: {app: reviews, version: v2}",
        "    metadata:\n      labels: {app: reviews, version: v2-rc}",
    )
    edit(new, "deployments.yaml", "matchLabels: {app: reviews, version: v2}", "matchLabels: {}")
    code, doc = diff_json(capsys, old, new)
    pods = {c.get("subset"): (c["old"], c["new"]) for c in changes(doc, kind="workloads")}
    assert pods["v2"] == (["Deployment bookinfo/reviews-v2"], [])
    assert "subset v2 pods: Deployment bookinfo/reviews-v2 → none" in [
        c["text"] for c in changes(doc, kind="workloads")
    ]
    added = {(f["code"], f["subset"]) for f in doc["findings"]["added"]}
    assert ("SubsetSelectsNothing", "v2") in added
    assert code == 1


def test_a_shadowed_edit_beside_a_real_change_on_the_same_host_is_still_named(tmp_path, capsys):
    old, new = copy(tmp_path, "old"), copy(tmp_path, "new")
    edit(new, "virtual-services.yaml", "weight: 90", "weight: 80")
    edit(new, "virtual-services.yaml", "weight: 10", "weight: 20")
    edit(new, "destination-rules.yaml", "tcp: {maxConnections: 100}", "tcp: {maxConnections: 5}")
    _, doc = diff_json(capsys, old, new)
    assert [c["kind"] for c in changes(doc)] == ["route", "route"]
    [ineffective] = doc["ineffective"]
    assert ineffective["resource"] == "DestinationRule bookinfo/reviews"
    assert "replace the host-level connectionPool" in ineffective["why"]


def test_cluster_options_without_a_cluster_side_are_a_usage_error(capsys):
    assert main(["diff", str(BOOKINFO), str(BOOKINFO), "--context", "prod"]) == 2
    assert "name the cluster of a `cluster` side" in capsys.readouterr().err


def test_text_from_resources_is_inert_in_markdown():
    from meshtui.check.diff_report import md

    text = md("uri <img src=x onerror=alert(1)> [link](https://x) | cell `code` *b*")
    # Every character Markdown or HTML would act on is backslash-escaped: shown, not run.
    for special in "<>[]()|`*":
        assert all(text[i - 1] == "\\" for i, ch in enumerate(text) if ch == special)
