"""A large folder read in worker processes gives exactly what reading it here gives.

sources/parallel.py sends all but this process's share of the files to worker processes; the
threshold that keeps small folders here is lowered to nothing, so that every corpus of the
repository (the tests' and examples' YAML, hostile documents, a generated mesh, a kustomize
build among files) is read both ways and compared where a user sees it: the resources with
their file and line, the findings, the notes and `check`'s whole report.
"""

from __future__ import annotations

import io
import json
import re
import threading
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from meshtui.cli import main
from meshtui.sources import kustomize, parallel
from meshtui.sources.folder import FileSource
from tests.hardening.hostile import write_broken_files

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted(  # as tests/sources/test_fast_yaml.py's: every YAML file of the repository
    p
    for folder in ("tests", "examples")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".yaml", ".yml") and p.is_file()
)


def _read(
    paths: list[Path], workers: int, monkeypatch: pytest.MonkeyPatch, follow: bool = False
) -> dict[str, Any]:
    """Everything a read shows, with `workers` processes reading beside this one. `follow`:
    as `meshtui -f` reads, keeping what each document gave for the edits to come."""
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "PARALLEL_BYTES", 0)
        patch.setattr(parallel, "BATCH_BYTES", 4096)  # many batches, so order is tested
        patch.setattr(parallel, "cores", lambda: workers + 1)
        source = FileSource(paths, follow=follow)
        meshes = source.load()
    assert source.contents is not None
    documents = {
        str(path): sorted(unit.documents or {}) for path, unit in source.contents.units.items()
    }
    return {
        "documents": documents,
        "resources": [(r.meta.ref, r.meta.origin, repr(r)) for r in source.contents.in_force()],
        "findings": [(f.code, f.message, f.origin) for f in source.contents.findings()],
        "hosts": [sorted(m.analyze().hosts) for m in meshes],
        "notes": source.notes,
        "details": [d for d in source.details if "worker process" not in d],
        "by workers": [d for d in source.details if "worker process" in d],
        "files": source.files,
    }


def _same_both_ways(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The read with one worker is the read without; the worker did read (`--verbose`)."""
    here = _read(paths, 0, monkeypatch)
    there = _read(paths, 1, monkeypatch)
    assert here.pop("by workers") == []
    said = there.pop("by workers")
    assert there == here
    assert len(said) == 1, said
    worker = r"1 worker process \(fork\w*\) beside this one"
    shown = re.fullmatch(rf"(\d+) of (\d+) files read by {worker}", said[0])
    assert shown and int(shown[1]) > 0 and int(shown[2]) == here["files"], said
    return here


def test_the_repositorys_yaml_reads_the_same_in_worker_processes(monkeypatch):
    read = _same_both_ways(CORPUS, monkeypatch)
    assert read["files"] == len(CORPUS)
    assert len(read["resources"]) > 100 and len(read["findings"]) > 100  # not an empty corpus


def test_a_followed_folder_keeps_the_same_documents_for_the_edits_to_come(monkeypatch):
    """Following, each file's unit keeps what each of its documents gave (by line and digest),
    so that an edit re-reads only what changed: a worker's units keep them too."""
    here = _read(CORPUS, 0, monkeypatch, follow=True)
    there = _read(CORPUS, 1, monkeypatch, follow=True)
    assert any(here["documents"].values())
    assert there.pop("by workers") and not here.pop("by workers")
    assert there == here


def test_hostile_documents_read_the_same_in_worker_processes(tmp_path, monkeypatch):
    write_broken_files(tmp_path, seed=11, files=12, per_file=8)
    read = _same_both_ways([tmp_path], monkeypatch)
    lines = [f[2].line for f in read["findings"] if f[2] is not None]
    assert lines and all(line > 0 for line in lines)  # broken documents keep file and line


def test_a_kustomize_build_among_files_is_read_here_in_its_place(tmp_path, monkeypatch):
    if kustomize.build_command() is None:
        pytest.skip("kustomize is not installed")
    for i in range(3):
        (tmp_path / f"a{i}.yaml").write_text((ROOT / "examples/bookinfo/services.yaml").read_text())
    app = tmp_path / "b-app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("resources: [svc.yaml]\nnamespace: other\n")
    (app / "svc.yaml").write_text((ROOT / "examples/bookinfo/services.yaml").read_text())
    read = _same_both_ways([tmp_path], monkeypatch)
    assert any("kustomize build" in str(r[1]) for r in read["resources"])


def test_check_reports_the_same_with_workers_forked_or_from_a_fork_server(monkeypatch):
    """check forks its workers (one thread); the inspector reads in a thread, and takes them
    from a fork server instead. Either way the report is the same, byte for byte."""
    example = str(ROOT / "examples" / "bookinfo")

    def report(workers: int, started: str = "") -> str:
        out, err = io.StringIO(), io.StringIO()
        with monkeypatch.context() as patch:
            patch.setattr(parallel, "PARALLEL_BYTES", 0)
            patch.setattr(parallel, "BATCH_BYTES", 1)
            patch.setattr(parallel, "cores", lambda: workers + 1)
            with redirect_stdout(out), redirect_stderr(err):
                main(["check", example, "-o", "json", "-v"])
        said = f" of 5 files read by 1 worker process ({started}) beside this one"
        assert (said in err.getvalue()) is bool(workers), err.getvalue()
        return out.getvalue()

    here = report(0)
    assert json.loads(here)["hosts"]
    assert report(1, "fork") == here
    done = threading.Event()
    holder = threading.Thread(target=done.wait)  # a second thread: no fork of this process
    holder.start()
    try:
        assert report(1, "forkserver") == here
    finally:
        done.set()
        holder.join()


def test_a_broken_pool_leaves_the_files_to_this_process(monkeypatch, tmp_path):
    for i in range(4):
        (tmp_path / f"s{i}.yaml").write_text((ROOT / "examples/bookinfo/services.yaml").read_text())
    here = _read([tmp_path], 0, monkeypatch)
    monkeypatch.setattr(parallel, "_read_batch", _explode)
    there = _read([tmp_path], 1, monkeypatch)
    assert there.pop("by workers") == []  # none came back from the workers
    here.pop("by workers")
    assert there == here


def _explode(*args: Any) -> list[Any]:
    raise RuntimeError("a worker died")


def test_the_inspector_leaves_all_but_its_preview_to_a_worker_on_every_core(monkeypatch):
    """The inspector reads in a thread beside its interface: it reads the first files itself
    (its preview) and leaves the rest to workers on every core, so that parsing never holds
    the interpreter lock its keys wait for. The read is the same."""
    here = _read(CORPUS, 0, monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(parallel, "PARALLEL_BYTES", 0)
        patch.setattr(parallel, "BATCH_BYTES", 4096)
        patch.setattr(parallel, "INTERACTIVE_OWN_BYTES", 4096)
        patch.setattr(parallel, "cores", lambda: 2)
        source = FileSource(CORPUS)
        previews: list[int] = []
        source.load_with_preview(lambda meshes, read, total: previews.append(read))
    assert source.contents is not None
    assert [(r.meta.ref, r.meta.origin, repr(r)) for r in source.contents.in_force()] == here[
        "resources"
    ]
    [said] = [d for d in source.details if "worker process" in d]
    shown = re.fullmatch(
        r"(\d+) of (\d+) files read by 2 worker processes \(\w+\) beside this one", said
    )
    assert shown and int(shown[2]) - int(shown[1]) < 10, said  # a few files read here only
