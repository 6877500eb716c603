"""Fuzz the offline loader and `meshtui check -o json` with hostile folders.

Every run must end without a traceback, print strict JSON, exit 0 or 1, report every bad
document as ParseError or InvalidResource at its file and a line inside it, still analyse every
good document of the same folder, and stay within time and memory bounds. Generated folders
are reproducible from the seed hypothesis prints on failure.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshtui.mesh.resources import format_path
from tests.hardening.hostile import (
    _TEMPLATES,
    TYPED_FIELDS,
    WRONG,
    Doc,
    Folder,
    alias_bomb,
    assert_sound,
    broken_doc,
    deep,
    good_unit,
    has_host,
    merge_bomb,
    noise_doc,
    peak_rss_mb,
    run_json,
    run_output,
    wrong_type_doc,
)
from tests.hardening.meshgen import dump, json_values, mutated, paths

# Documents and folders fed per test, summed up by test_fuzz_volume at the end of the module.
FED: dict[str, int] = {}
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RSS_AT_IMPORT = peak_rss_mb()


def _count(test: str, documents: int) -> None:
    FED[test] = FED.get(test, 0) + documents


def _temp_folder(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    return Folder(tmp_path_factory.mktemp("fuzz"))


# -- generated folders ----------------------------------------------------------------------


def _special_files(folder: Folder, rnd: random.Random) -> None:
    """Files that are not YAML at all, or not files: each reported or skipped, none fatal."""
    root = folder.root
    if rnd.random() < 0.5:
        (root / "binary.yaml").write_bytes(bytes(rnd.randrange(256) for _ in range(64)) + b"\x00")
        folder.file_errors[str(root / "binary.yaml")] = "binary file"
    if rnd.random() < 0.5:
        (root / "latin1.yaml").write_bytes("name: café\n".encode("latin-1"))
        folder.file_errors[str(root / "latin1.yaml")] = "non-UTF-8 file"
    if rnd.random() < 0.5:
        (root / "empty.yaml").write_bytes(b"")
        (root / "markers.yml").write_bytes(b"---\n---\n...\n")
    if rnd.random() < 0.3:
        (root / "self.yaml").symlink_to(root / "self.yaml")
        folder.file_errors[str(root / "self.yaml")] = "symlink to itself"
    if rnd.random() < 0.3:
        (root / "dangling.yaml").symlink_to(root / "missing" / "nothing.yaml")
        folder.file_errors[str(root / "dangling.yaml")] = "dangling symlink"
    if rnd.random() < 0.3:
        (root / "sub").mkdir(exist_ok=True)
        (root / "sub" / "loop").symlink_to(root)
    if rnd.random() < 0.2:
        os.mkfifo(root / "fifo.yaml")
    if rnd.random() < 0.3:
        (root / "deep.json").write_text("[" * rnd.choice([2_000, 100_000]))
        folder.file_errors[str(root / "deep.json")] = "deep JSON"
    if rnd.random() < 0.3:
        (root / "notes.txt").write_bytes(b"\x00\xff not read")
        (root / ".hidden.yaml").write_bytes(b"\x00 not read")


def build_folder(folder: Folder, seed: int) -> None:
    rnd = random.Random(seed)
    docs: list[Doc] = []
    for i in range(rnd.randint(8, 16)):
        for obj, evidence in good_unit(i, rnd):
            docs.append(
                Doc(dump(obj), "good", f"{obj['kind']} {obj['metadata']['name']}", evidence)
            )
    typed = rnd.sample(TYPED_FIELDS, rnd.randint(10, 25))
    for n, (kind, path, kind_of_value) in enumerate(typed):
        docs.append(wrong_type_doc(kind, path, rnd.choice(WRONG[kind_of_value]), n))
    docs += [broken_doc(rnd, n) for n in range(rnd.randint(5, 15))]
    docs += [noise_doc(rnd) for _ in range(rnd.randint(5, 20))]
    rnd.shuffle(docs)
    files = rnd.randint(2, 5)
    for k in range(files):
        part = docs[k::files]
        if k == 0 and rnd.random() < 0.3:
            folder.write(f"crlf-{k}.yaml", part, newline="\r\n")
        elif k == 1 and rnd.random() < 0.3:
            folder.write(f"nested/bom-{k}.yml", part, bom=True)
        else:
            folder.write(f"part-{k}.yaml", part)
    _special_files(folder, rnd)


@settings(FUZZ, max_examples=70)
@given(seed=st.integers(0, 2**32 - 1))
def test_fuzz_folders_of_good_bad_and_noisy_documents(tmp_path_factory, seed):
    folder = _temp_folder(tmp_path_factory)
    build_folder(folder, seed)
    assert_sound(folder)
    _count("folders", folder.documents + 1)


# -- every field, every wrong type ----------------------------------------------------------


def _accepts(kind_of_value: str, value: object) -> bool:
    """Whether meshtui reads `value` where it expects `kind_of_value` (a necessary condition)."""
    scalar_label = not isinstance(value, bool | dict | list) and value is not None
    return {
        "str": value is None or isinstance(value, str),
        "str_req": isinstance(value, str) and value != "",
        "int": value is None or (isinstance(value, int) and not isinstance(value, bool)),
        "int_req": isinstance(value, int) and not isinstance(value, bool),
        "mapping": value is None or isinstance(value, dict),
        "mapping_req": isinstance(value, dict),
        "list": value is None or isinstance(value, list),
        "str_list": value is None
        or (isinstance(value, list) and all(isinstance(v, str) and v for v in value)),
        "labels": value is None
        or (
            isinstance(value, dict)
            and all(
                isinstance(k, str) and not isinstance(v, bool | dict | list) and v is not None
                for k, v in value.items()
            )
        ),
        "label_value": scalar_label,
    }[kind_of_value]


def test_every_typed_field_with_every_wrong_type_is_reported_at_that_field(tmp_path):
    folder = Folder(tmp_path)
    good = [
        Doc(dump(obj), "good", obj["metadata"]["name"], evidence)
        for i in range(3)
        for obj, evidence in good_unit(i, random.Random(i))
    ]
    bad, fields = [], []
    for kind, path, kind_of_value in TYPED_FIELDS:
        for value in WRONG[kind_of_value]:
            bad.append(wrong_type_doc(kind, path, value, len(bad)))
            fields.append(format_path(path))
    folder.write("good.yaml", good)
    folder.write("bad.yaml", bad)
    report = assert_sound(folder)
    by_line = {f["line"]: f for f in report["findings"] if f["file"] == str(tmp_path / "bad.yaml")}
    for p, field in zip([p for p in folder.placed if p.doc.expect == "bad"], fields, strict=True):
        found = [f for line, f in by_line.items() if p.first <= line <= p.last]
        assert len(found) == 1, p.doc.label
        assert found[0]["code"] == "InvalidResource", p.doc.label
        # At the field, or at the entry that lacks it ("spec.ports[0] must have a port").
        reported = found[0].get("field") or ""
        assert reported.startswith(field) or field.startswith(reported), (p.doc.label, reported)
    _count("typed fields", folder.documents)


@settings(FUZZ, max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), values=st.lists(json_values, min_size=8, max_size=8))
def test_every_field_of_every_kind_with_random_values(tmp_path_factory, seed, values):
    """Each path of each kind's valid object gets a random value: reported if it is a wrong
    type where meshtui reads a type, never a crash, and good documents beside it unharmed."""
    rnd = random.Random(seed)
    folder = _temp_folder(tmp_path_factory)
    typed = {(kind, path): t for kind, path, t in TYPED_FIELDS}
    docs = [
        Doc(dump(obj), "good", obj["metadata"]["name"], evidence)
        for obj, evidence in good_unit(1, rnd)
    ]
    for kind, template in sorted(_TEMPLATES.items()):
        for n, path in enumerate(paths(template)):
            if path[0] in ("apiVersion", "kind"):
                continue  # another kind, or none: skipped by design
            value = rnd.choice(values)
            obj = mutated(mutated(template, ("metadata", "name"), f"any{n}"), path, value)
            t = typed.get((kind, path))
            expect = "bad" if t is not None and not _accepts(t, value) else "noise"
            docs.append(Doc(dump(obj), expect, f"{kind} {format_path(path)} = {value!r}"))
    rnd.shuffle(docs)
    folder.write("every-field.yaml", docs)
    assert_sound(folder)
    _count("every field", folder.documents)


# -- random YAML ----------------------------------------------------------------------------

yaml_ish = st.text(
    alphabet=st.sampled_from(list("abkindspecmetadata019 :-_[]{},'\"#&*!|>%@`?~.\n\t\\/é🙂<=")),
    max_size=120,
)


@settings(FUZZ, max_examples=60)
@given(
    texts=st.lists(yaml_ish, min_size=40, max_size=60), values=st.lists(json_values, max_size=20)
)
def test_random_yaml_text_and_values_beside_good_documents(tmp_path_factory, texts, values):
    folder = _temp_folder(tmp_path_factory)
    docs = [Doc(t, "noise", repr(t)) for t in texts] + [
        Doc(dump(v), "noise", repr(v)) for v in values
    ]
    rnd = random.Random(len(texts))
    for obj, evidence in good_unit(7, rnd):
        docs.insert(rnd.randrange(len(docs) + 1), Doc(dump(obj), "good", obj["kind"], evidence))
    folder.write("random.yaml", docs)
    assert_sound(folder)
    _count("random yaml", folder.documents)


# -- the worst single files -----------------------------------------------------------------


def _with_good_neighbours(folder: Folder, name: str, hostile: list[Doc]) -> None:
    rnd = random.Random(0)
    good = [Doc(dump(o), "good", o["kind"], e) for o, e in good_unit(0, rnd)]
    folder.write(name, [good[0], *hostile, *good[1:]])


def test_alias_bombs_are_refused_in_bounded_memory_and_time(tmp_path):
    folder = Folder(tmp_path)
    bombs = [
        Doc(alias_bomb(9, 9), "bad", "billion laughs, 9 levels of 9"),
        Doc(alias_bomb(30, 2), "bad", "2**30 laughs"),
        Doc(merge_bomb(8, 8), "bad", "merge-key bomb"),
        Doc("spec:\n  trafficPolicy: &p {loadBalancer: *p}\n", "bad", "recursive alias"),
    ]
    # Bombs just under the absolute cap, many of them: the ratio limit refuses them too.
    under_cap = alias_bomb(6, 7)
    bombs += [Doc(under_cap, "bad", f"bomb under the cap {i}") for i in range(200)]
    _with_good_neighbours(folder, "bombs.yaml", bombs)
    tracemalloc.start()
    started = time.monotonic()
    try:
        assert_sound(folder, time_limit=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 30
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB"
    _count("bombs", folder.documents)


def test_a_policy_reusing_an_anchor_a_few_times_still_loads(tmp_path):
    text = """apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: anchors, namespace: fz0}
spec:
  host: s0
  trafficPolicy:
    connectionPool: &pool {tcp: {maxConnections: 10}, http: {maxRetries: 3}}
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {connectionPool: *pool}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {connectionPool: *pool}}
"""
    (tmp_path / "dr.yaml").write_text(text)
    _, report, _ = run_json(tmp_path)
    # (and, with no Service in the input, the host's existence unconfirmed: info)
    codes = [f["code"] for f in report["findings"] if f["severity"] != "info"]
    assert codes == ["SubsetPolicyNeverApplied"] * 2
    assert report["hosts"][0]["destinationRules"] == ["fz0/anchors"]


def _run_in_subprocess(folder: Path) -> subprocess.CompletedProcess[str]:
    """A crash in C (a stack overflow in libyaml) would kill pytest: run check in a child."""
    return subprocess.run(
        [sys.executable, "-m", "meshtui", "check", str(folder), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("depth", [10_000, 100_000])
@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_very_deep_nesting_is_refused_without_crashing(tmp_path, depth, flow):
    folder = Folder(tmp_path)
    _with_good_neighbours(folder, "deep.yaml", [Doc(deep(depth, flow), "bad", "deep")])
    (tmp_path / "deep.json").write_text('{"a":' * depth + "1" + "}" * depth)
    (tmp_path / "open.yaml").write_text("x: " + "[" * depth)
    done = _run_in_subprocess(tmp_path)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert_sound(folder)
    _count("deep", 3)


def test_a_50_mb_scalar_is_read_within_bounds(tmp_path):
    big = "a" * (50 * 2**20)
    service_text = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: huge\n  namespace: fz1\n"
        f"  annotations:\n    note: {big}\nspec:\n  selector: {{app: huge}}\n"
        "  ports: [{port: 80}]\n"
    )
    folder = Folder(tmp_path)
    huge = Doc(service_text, "good", "huge annotation", has_host("huge.fz1.svc.cluster.local"))
    _with_good_neighbours(folder, "huge.yaml", [huge])
    del big, service_text
    before = peak_rss_mb()
    started = time.monotonic()
    assert_sound(folder, time_limit=90)
    assert time.monotonic() - started < 90
    # The file is read, decoded and parsed: a few copies of 50 MB, not hundreds.
    assert peak_rss_mb() - before < 1024
    _count("50 MB scalar", folder.documents)


def test_binary_non_utf8_and_empty_files_are_reported_or_skipped(tmp_path):
    folder = Folder(tmp_path)
    _with_good_neighbours(folder, "good.yaml", [])
    cases = {
        "nul.yaml": b"apiVersion: v1\x00kind: Service\n",
        "utf16.yaml": "kind: Service\n".encode("utf-16"),
        "latin1.yml": "metadata: {name: café}\n".encode("latin-1"),
        "truncated-utf8.yaml": "name: é".encode()[:-1],
        "random.json": random.Random(1).randbytes(4096).replace(b"\x00", b"\x01"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        folder.file_errors[str(tmp_path / name)] = name
    (tmp_path / "empty.yaml").write_bytes(b"")
    (tmp_path / "blank.yaml").write_bytes(b"\n\n   \n")
    (tmp_path / "empty.json").write_bytes(b"")
    report = assert_sound(folder)
    files = {f["file"] for f in report["findings"]}
    assert not files & {str(tmp_path / n) for n in ("empty.yaml", "blank.yaml")}
    _count("binary", len(cases) + 3)


def test_symlink_loops_fifos_and_devices_neither_hang_nor_crash(tmp_path):
    folder = Folder(tmp_path)
    _with_good_neighbours(folder, "a/good.yaml", [])
    (tmp_path / "a" / "up").symlink_to(tmp_path)
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a" / "self")
    (tmp_path / "x.yaml").symlink_to(tmp_path / "y.yaml")
    (tmp_path / "y.yaml").symlink_to(tmp_path / "x.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.yaml")
    folder.file_errors[str(tmp_path / "x.yaml")] = "symlink loop"
    report = assert_sound(folder, time_limit=20)
    assert not any(f["file"] and "zero" in f["file"] for f in report["findings"])
    _count("links", 6)


def test_unreadable_files_are_reported(tmp_path):
    folder = Folder(tmp_path)
    _with_good_neighbours(folder, "good.yaml", [])
    locked = tmp_path / "locked.yaml"
    locked.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: locked}\n")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: chmod 000 does not stop reads")
        folder.file_errors[str(locked)] = "unreadable"
        assert_sound(folder)
    finally:
        locked.chmod(0o644)
    _count("unreadable", 1)


@pytest.mark.parametrize("output", ["text", "sarif"])
def test_text_and_sarif_outputs_survive_a_hostile_folder(tmp_path, output):
    folder = Folder(tmp_path)
    build_folder(folder, seed=12345)
    rc, text, err = run_output(tmp_path, output)
    assert rc in (0, 1)
    assert err == ""
    assert "\x1b" not in text
    if output == "sarif":
        json.loads(text)


# -- coverage-guided ------------------------------------------------------------------------


def test_atheris_target_runs_clean(tmp_path):
    """A short coverage-guided run of atheris_loader.py, seeded with the examples."""
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    examples = Path(__file__).resolve().parents[2] / "examples"
    for i, path in enumerate(sorted(examples.rglob("*.yaml"))):
        (corpus / f"example-{i}").write_bytes(path.read_bytes())
    (corpus / "bomb").write_text(alias_bomb(5, 5))
    (corpus / "deep").write_text(deep(300))
    target = Path(__file__).with_name("atheris_loader.py")
    done = subprocess.run(
        [sys.executable, str(target), "-runs=1000", "-max_len=4096", str(corpus)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    _count("atheris", 1000)


# -- volume ---------------------------------------------------------------------------------


def test_fuzz_volume_and_memory():
    """Runs last in this module: the fuzz above fed at least 10,000 documents and folders."""
    if "folders" not in FED or "random yaml" not in FED:
        pytest.skip("run with the whole module to count what the fuzz fed")
    total = sum(FED.values())
    print(f"fuzz fed {total} documents and folders: {FED}")
    assert total >= 10_000, FED
    assert peak_rss_mb() - RSS_AT_IMPORT < 1536
