"""Coverage-guided fuzzing (atheris) of the offline loader and `meshtui check`.

Arbitrary bytes become one to three files (split at b"\\xff\\xfe\\xfd") of a folder, which is
loaded and reported as JSON and as text. Any exception, invalid JSON, an exit code other than
0 or 1, or a raw escape character in the text report is a crash atheris keeps.

    pip install atheris
    python tests/hardening/atheris_loader.py -runs=100000 -max_len=8192 CORPUS_DIR

`test_atheris_target_runs_clean` runs it briefly when atheris is installed.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import unicodedata

import atheris

with atheris.instrument_imports():
    from meshtui.check import run_check
    from meshtui.sources.files import FileSource

SEPARATOR = b"\xff\xfe\xfd"
NAMES = ("a.yaml", "b.json", "c.yml")
ROOT = tempfile.mkdtemp(prefix="meshtui-atheris-")
# Controls, format characters (bidi, zero-width), separators, surrogates, private, unassigned.
INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _refuse(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


def test_one_input(data: bytes) -> None:
    for name in os.listdir(ROOT):
        os.unlink(os.path.join(ROOT, name))
    for name, part in zip(NAMES, data.split(SEPARATOR, 2), strict=False):
        with open(os.path.join(ROOT, name), "wb") as f:
            f.write(part)
    out = io.StringIO()
    rc = run_check(FileSource([ROOT]), "json", out=out)
    if rc not in (0, 1):
        raise AssertionError(f"exit code {rc}")
    json.loads(out.getvalue(), parse_constant=_refuse)
    text = io.StringIO()
    run_check(FileSource([ROOT]), "text", out=text)
    hidden = [c for c in text.getvalue() if c != "\n" and unicodedata.category(c) in INVISIBLE]
    if hidden:
        raise AssertionError(f"raw {hidden[0]!r} in the text report")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
