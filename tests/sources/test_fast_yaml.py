"""rapidyaml's fast path gives what PyYAML's SafeLoader gives, or hands the document over.

The oracle is meshtui's PyYAML loader (yaml_loader.load_document: YAML 1.1 as Kubernetes
reads it). For every document of the repository's YAML, the hostile-input corpus and
generated tricky scalars, the fast path either returns the same Python value (types
included: True is not 1) or falls back; it never returns a value where PyYAML refuses the
document. Lines are compared where a user sees them: the resources and findings of a whole
read, fast and not.
"""

from __future__ import annotations

import io
import json
import math
import random
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshtui.cli import main
from meshtui.sources import fast_yaml
from meshtui.sources.fast_yaml import Fallback, FastParser
from meshtui.sources.files import load, split_documents
from meshtui.sources.yaml_loader import load_document
from tests.hardening.hostile import (
    BROKEN_LINES,
    alias_bomb,
    broken_doc,
    merge_bomb,
    noise_doc,
    write_broken_files,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted(
    p
    for folder in ("tests", "examples")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".yaml", ".yml") and p.is_file()
)
FOLDERS = sorted({p.parent for p in CORPUS})

pytestmark = pytest.mark.skipif(not fast_yaml.available(), reason="rapidyaml not installed")


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (1 == True == 1.0 in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(
            same(k, k2) and same(a[k], b[k2]) for k, k2 in zip(a, b, strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def agree(chunk: bytes, parser: FastParser) -> bool:
    """The fast path's answer for one document is PyYAML's; False if it fell back."""
    try:
        fast = parser.parse(chunk)
    except Fallback:
        return False
    try:
        slow = load_document(chunk)
    except (yaml.YAMLError, RecursionError) as err:
        pytest.fail(f"fast path read {chunk!r} as {fast!r}; PyYAML refuses it: {err}")
    assert same(fast, slow), (chunk, fast, slow)
    return True


@pytest.fixture(scope="module")
def parser() -> FastParser:
    return FastParser()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_document_of_the_repository_reads_as_pyyaml_reads_it(
    path: Path, parser: FastParser
) -> None:
    with fast_yaml.quiet_stderr():
        for _, chunk in split_documents(path.read_bytes()):
            agree(chunk, parser)


def test_the_fast_path_reads_most_of_the_examples(parser: FastParser) -> None:
    examples = [p for p in CORPUS if "examples" in p.parts]
    chunks = [c for p in examples for _, c in split_documents(p.read_bytes())]
    with fast_yaml.quiet_stderr():
        taken = sum(agree(c, parser) for c in chunks)
    assert taken >= 0.8 * len(chunks)


def test_hostile_documents_read_as_pyyaml_reads_them_or_fall_back(parser: FastParser) -> None:
    rnd = random.Random(24)
    texts = [line for line in BROKEN_LINES] + [alias_bomb(3, 3), merge_bomb(2, 2)]
    texts += [broken_doc(rnd, n).text for n in range(150)]
    texts += [noise_doc(rnd).text for _ in range(600)]
    with fast_yaml.quiet_stderr():
        for text in texts:
            chunk = text.encode("utf-8")
            if b"[" * 201 in chunk or b"- " * 201 in chunk:
                continue  # refused by the loader's nesting limit before any parser sees it
            agree(chunk, parser)


def test_broken_lines_never_take_the_fast_path(parser: FastParser) -> None:
    """Each is an error for PyYAML: the fast path must hand it over, so the error is reported
    with its line."""
    with fast_yaml.quiet_stderr():
        for line in BROKEN_LINES:
            with pytest.raises(Fallback):
                parser.parse(("kind: Service\n" + line).encode())


def _files_of(chunks: list[bytes]) -> list[bytes]:
    """Every document alone, and runs of them joined as files are (`---` lines between)."""
    files = [c for c in chunks]
    files += [b"---\n".join(chunks[i : i + 7]) for i in range(0, len(chunks), 3)]
    return files


def test_a_file_that_passes_the_screen_holds_only_documents_that_pass_it() -> None:
    """The loader skips each document's look at its bytes when its file's bytes passed it
    (fast_yaml.screen): that must never let a document through that would not pass alone."""
    rnd = random.Random(24)
    texts = [*BROKEN_LINES, alias_bomb(3, 3), merge_bomb(2, 2)]
    texts += [broken_doc(rnd, n).text for n in range(150)]
    texts += [noise_doc(rnd).text for _ in range(300)]
    texts += [f"a: {s}\nb: [{s}, x]\n" for s in TRICKY]
    chunks = [t.encode("utf-8") for t in texts]
    chunks += [c for p in CORPUS for _, c in split_documents(p.read_bytes())]
    rnd.shuffle(chunks)
    screened = 0
    for data in _files_of(chunks):
        if fast_yaml.screen(data):
            screened += 1
            for _, chunk in split_documents(data):
                assert fast_yaml.unsupported(chunk) is None, (data, chunk)
    assert screened > 100  # the property was tried on files that pass, not only on others


# -- tricky scalars -------------------------------------------------------------------------

TRICKY = [
    *[
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "y",
        "Y",
        "n",
        "N",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
    ],
    *[
        "null",
        "Null",
        "NULL",
        "~",
        "=",
        "<<",
        "-",
        "--",
        ".",
        "..",
        "...",
        "0",
        "-0",
        "+0",
        "00",
        "007",
        "0755",
        "0o17",
        "0x1F",
        "0X1F",
        "0b101",
        "1_000",
    ],
    *[
        "1:30",
        "190:20:30",
        "1:30.5",
        "-1:30",
        "1.5",
        "-1.5",
        "+1.5",
        ".5",
        "-.5",
        "1.",
        "1e3",
        "1E3",
        "1.0e3",
        "1.0e+3",
        "1.0E-3",
    ],
    *[
        ".inf",
        "-.inf",
        "+.inf",
        ".Inf",
        ".INF",
        ".nan",
        ".NaN",
        ".NAN",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
    ],
    *[
        "10.0.0.1",
        "1.2.3",
        "v1",
        "1Mi",
        "100m",
        "0.1",
        "123456789012345678901234567890",
        "1__2",
        "_1",
        "1_",
    ],
    "2001-12-14 21:59:43.10 -5",
    "",
]
_ALPHABET = "0123456789._+-:eExXbBoOinfaINFA~yYnNsStT "


def _quoted(text: str, style: str) -> str:
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _documents(scalar: str) -> list[str]:
    return [
        f"k: {scalar}\n",
        f"- {scalar}\n",
        f"{scalar}: v\n",
        f"[{scalar}, x]\n",
        f"{{a: {scalar}, b: 1}}\n",
        f"{{{scalar}: 1}}\n",
        f"k:\n  - {scalar}\n  - {{x: {scalar}}}\n",
    ]


@settings(max_examples=400, deadline=None)
@given(
    scalar=st.one_of(st.sampled_from(TRICKY), st.text(_ALPHABET, max_size=12)),
    style=st.sampled_from(["plain", "plain", "single", "double"]),
)
def test_tricky_scalars_read_as_pyyaml_reads_them_or_fall_back(scalar: str, style: str) -> None:
    parser = FastParser()
    with fast_yaml.quiet_stderr():
        for text in _documents(_quoted(scalar, style)):
            agree(text.encode(), parser)


@pytest.mark.parametrize("scalar", TRICKY)
def test_each_yaml_1_1_scalar_keeps_its_type(scalar: str, parser: FastParser) -> None:
    with fast_yaml.quiet_stderr():
        for style in ("plain", "single", "double"):
            for text in _documents(_quoted(scalar, style)):
                agree(text.encode(), parser)


def test_yaml_1_1_words_fall_back_and_keep_their_meaning(tmp_path: Path) -> None:
    """After JSON a quoted 'on' cannot be told from a plain on: both go to PyYAML."""
    parser = FastParser()
    for text in (b"k: on\n", b"k: 'on'\n"):
        with pytest.raises(Fallback):
            parser.parse(text)
    (tmp_path / "a.yaml").write_text(
        "kind: Service\nmetadata: {name: a, labels: {x: on, y: 'on'}}\n"
    )
    result = load([tmp_path], fast=True)
    assert result.objects == 1 and not result.findings
    assert len(result.fallbacks) == 1


def test_a_key_written_twice_falls_back_so_pyyaml_reports_it(parser: FastParser) -> None:
    with pytest.raises(Fallback, match="twice"):
        parser.parse(b"a: 1\nb: {c: 1, c: 2}\n")


# -- whole reads: the same resources, findings and lines ------------------------------------


def _read(folder: Path, fast: bool) -> tuple[list[Any], list[Any]]:
    result = load([folder], fast=fast)
    return (
        [(r.meta.ref, r.meta.origin) for r in result.resources],
        [(f.code, f.message, f.origin) for f in result.findings],
    )


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_folder_reads_to_the_same_resources_findings_and_lines(folder: Path) -> None:
    assert _read(folder, fast=True) == _read(folder, fast=False)


def test_a_hostile_folder_reads_to_the_same_findings_and_lines(tmp_path: Path) -> None:
    write_broken_files(tmp_path, seed=7, files=4, per_file=10)
    assert _read(tmp_path, fast=True) == _read(tmp_path, fast=False)


def test_fallbacks_name_file_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "kind: Service\nmetadata: {name: a}\n---\n# why\nkind: Service\nmetadata: &m {name: b}\n"
    )
    result = load([tmp_path], fast=True)
    assert result.fallbacks == [(str(tmp_path / "a.yaml"), 5, "an anchor")]


def test_broken_yaml_prints_nothing_on_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """ryml prints parse errors to C's stderr; the inspector draws on file descriptor 2, and a
    report must say the error once, as a finding with its line."""
    (tmp_path / "a.yaml").write_text("kind: Service\nmetadata: {name: a\n")
    result = load([tmp_path], fast=True)
    assert capfd.readouterr().err == ""
    assert [f.origin.line for f in result.findings if f.origin is not None] == [3]


def test_check_verbose_says_which_documents_pyyaml_read_and_why(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\n"
        "spec: {ports: [{port: 80, name: http}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: &m {name: b, namespace: x}\n"
        "spec: {ports: [{port: 80, name: http}]}\n"
    )
    for verbose in (False, True):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            main(["check", str(tmp_path), "-o", "json", *(["-v"] if verbose else [])])
        said = f"meshtui: {tmp_path / 'a.yaml'}: 1 document read by PyYAML (line 6: an anchor)"
        assert (said in err.getvalue()) is verbose
        hosts = [h["host"] for h in json.loads(out.getvalue())["hosts"]]
        assert hosts == ["a.x.svc.cluster.local", "b.x.svc.cluster.local"]


PAIRS = (b"[:", b"{:", b",:", b" ]", b" }", b" ,", b" :", b"\n]", b"\n}", b"\n,", b"\n:")


@pytest.mark.parametrize("pair", [*PAIRS, b'":', b"':", b"...", b" ---"])
def test_every_pair_that_may_part_the_readings_is_looked_at_closely(pair: bytes) -> None:
    """The one search for all the pairs (fast_yaml._paired) misses none of them."""
    assert fast_yaml._paired(b"\nkey: a" + pair + b"b\n")
