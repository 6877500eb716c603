"""Hostile names: markup, escape sequences and control characters are shown, never run.

Names, labels, annotations, route names and file names that carry Rich markup, ANSI/OSC escape
sequences or control characters must reach `check -o text` escaped (nothing a terminal would
act on) and `-o json` exactly (as JSON escapes), so a resource cannot recolour, retitle or
hyperlink the user's terminal, nor forge report lines.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.hostile import run_json, run_output
from tests.hardening.meshgen import (
    deployment,
    destination,
    destination_rule,
    dump,
    service,
    virtual_service,
)

HOSTILE = {
    "rich-markup": "[bold red]x[/]",
    "rich-link": "[link=https://evil.example]click[/link]",
    "ansi-colour": "\x1b[31mred\x1b[0m",
    "osc-title": "\x1b]0;pwned\x07",
    "osc-hyperlink": "\x1b]8;;http://x\x1b\\label\x1b]8;;\x1b\\",
    "c1-csi": "\x9b31mred",
    "carriage-return": "fake\rline",
    "backspace": "ab\b\bcd",
    "nul": "a\x00b",
    "bell": "ding\x07",
    "newline": "two\nlines",
    "bidi-override": "abc\u202edcb",
    "line-separator": "a\u2028b",
    "delete": "x\x7fy",
}
# What a terminal acts on: C0 and C1 controls (newline aside), DEL, bidi and line separators.
RAW = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)) if c != 0x0A]
RAW += ["\u202e", "\u2066", "\u2028", "\u2029", "\ufeff"]
INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _mesh(name: str) -> list[dict]:
    """A mesh where `name` is everywhere the report can show it, with findings that show it.

    Istio's webhook rejects a host or subset name that is no DNS name, so the findings of
    the analysis are on host `web`, in resources whose names are `name`; the DestinationRule
    for `name`'s own host is an InvalidResource quoting the host and subset name."""
    ns = "hostile"
    host = f"{name}.{ns}.svc.cluster.local"  # written out: a name with dots is not short
    web = f"web.{ns}.svc.cluster.local"
    svc = service(name, ns)
    svc["metadata"]["annotations"] = {"note": name}
    svc["metadata"]["labels"] = {"tier": name}
    subsets = [
        # Dormant policy (SubsetPolicyNeverApplied) selecting nothing (SubsetSelectsNothing).
        {
            "name": "dormant",
            "labels": {"version": "v9"},
            "trafficPolicy": {"tls": {"mode": "DISABLE"}},
        },
        {"name": "plain", "labels": {"version": "v1"}},
    ]
    first = destination_rule(f"{name}-a", ns, web, subsets)
    again = destination_rule(f"{name}-b", ns, web, [{"name": "dormant", "labels": {"x": "y"}}])
    route = {"name": name, "route": [destination(web, "undefined")]}
    return [
        svc,
        service("web", ns),
        deployment("workload", ns, {"app": name, "version": "v1"}),
        deployment("web-v1", ns, {"app": "web", "version": "v1"}),
        first,
        again,  # MultipleDestinationRules and DuplicateSubset
        virtual_service(f"{name}-vs", ns, [web], http=[route]),  # UndefinedSubset
        # Istio's webhook rejects its host and subset name: an InvalidResource quoting them.
        destination_rule(f"{name}-c", ns, host, [{"name": name, "labels": {"version": name}}]),
        {  # InvalidResource naming it
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": f"{name}-bad", "namespace": ns},
            "spec": {"host": 5},
        },
    ]


def _write(tmp_path: Path, name: str, file_name: str = "mesh.yaml") -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / file_name).write_text("---\n".join(dump(o) for o in _mesh(name)))
    (folder / f"broken-{file_name}").write_text(f"kind: {json.dumps(name)}\nkey: [unclosed\n")
    return folder


def _assert_inert(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"raw {ch!r} in output"
    # Controls, format characters (bidi, zero-width), separators, surrogates, private or
    # unassigned code points: nothing a terminal may act on or that reorders or hides text.
    # (A no-break space is shown as it is: it is a space, not an instruction.)
    hidden = [ch for ch in text if ch != "\n" and unicodedata.category(ch) in INVISIBLE]
    assert not hidden, hidden


def _file_name(name: str) -> str:
    """`name` as part of a file name (Linux allows every byte but / and NUL)."""
    return name.replace("/", "_").replace("\x00", "_") + ".yaml"


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_text_output_shows_hostile_names_escaped_never_raw(tmp_path, name):
    folder = _write(tmp_path, name, _file_name(name))
    rc, text, err = run_output(folder, "text")
    assert rc == 1
    assert err == ""
    _assert_inert(text)
    # Every finding is there, and the name is shown: escaped where it must be, else as is.
    for code in (
        "SubsetPolicyNeverApplied",
        "SubsetSelectsNothing",
        "UndefinedSubset",
        "DuplicateSubset",
        "MultipleDestinationRules",
        "InvalidResource",
        "ParseError",
    ):
        assert code in text
    # Printable characters as they are (markup is printed, never rendered), the others
    # spelled out as Python escapes.
    shown = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in name
    )
    assert f"DestinationRule hostile/{shown}-a" in text
    assert f"DestinationRule hostile/{shown}-c" in text
    assert f"DestinationRule hostile/{shown}-bad" in text


def test_rich_markup_reaches_the_text_report_verbatim(tmp_path):
    folder = _write(tmp_path, HOSTILE["rich-link"])
    _, text, _ = run_output(folder, "text")
    assert "[link=https://evil.example]click[/link]" in text
    assert "'[link=https://evil.example]click[/link].hostile.svc.cluster.local'" in text


def test_escape_sequences_are_spelled_out_in_the_text_report(tmp_path):
    folder = _write(tmp_path, HOSTILE["ansi-colour"], _file_name(HOSTILE["osc-title"]))
    _, text, _ = run_output(folder, "text")
    assert "\\x1b[31mred\\x1b[0m" in text
    assert "\\x1b]0;pwned\\x07.yaml" in text  # the file name, in each location


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_json_output_is_ascii_and_keeps_hostile_names_exact(tmp_path, name):
    folder = _write(tmp_path, name, _file_name(name))
    rc, report, _ = run_json(folder)
    assert rc == 1
    host = f"{name}.hostile.svc.cluster.local"
    hosts = {h["host"]: h for h in report["hosts"]}
    assert host in hosts
    web = hosts["web.hostile.svc.cluster.local"]
    assert web["destinationRules"] == [f"hostile/{name}-a", f"hostile/{name}-b"]
    assert {s["name"] for s in web["subsets"]} == {"dormant", "plain"}
    assert web["undefinedSubsets"] == ["undefined"]
    files = {f["file"] for f in report["findings"]}
    assert str(folder / _file_name(name)) in files
    assert str(folder / f"broken-{_file_name(name)}") in files
    _, raw, _ = run_output(folder, "json")
    assert raw.isascii()
    _assert_inert(raw)


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_sarif_output_is_ascii(tmp_path, name):
    _, raw, _ = run_output(_write(tmp_path, name), "sarif")
    assert raw.isascii()
    _assert_inert(raw)
    json.loads(raw)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(min_size=1, max_size=16).filter(lambda s: s not in ("-", ".", "web")))
def test_any_name_leaves_the_text_report_inert_and_the_json_exact(tmp_path_factory, name):
    folder = _write(tmp_path_factory.mktemp("names"), name)
    _, text, err = run_output(folder, "text")
    assert err == ""
    _assert_inert(text)
    _, report, _ = run_json(folder)
    rules = {r for h in report["hosts"] for r in h["destinationRules"]}
    assert f"hostile/{name}-a" in rules
