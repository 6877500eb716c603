"""Hostile folders for the loader: good, broken and noisy documents, with what each must yield.

A folder is built from `Doc`s, each one document of YAML text with its expectation: a good
document must be analysed (its evidence is in the JSON report), a bad one reported as an error
finding at its file and a line inside it, noise only must not break anything. `run_json` runs
the real `meshtui check -o json`, and `assert_sound` checks a run against the folder.
"""

from __future__ import annotations

import io
import random
import resource
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshtui.cli import main
from tests.hardening.meshgen import (
    Obj,
    deployment,
    destination,
    destination_rule,
    dump,
    fqdn,
    mutated,
    pod,
    service,
    service_entry,
    strict_json,
    virtual_service,
)

ERROR_CODES = {"ParseError", "InvalidResource"}
Report = dict[str, Any]


@dataclass
class Doc:
    """One document: its YAML text and what `check` must make of it."""

    text: str
    expect: str  # "good", "bad" or "noise"
    label: str = ""
    evidence: Callable[[Report], bool] | None = None


@dataclass
class Placed:
    doc: Doc
    file: str
    first: int  # line of the document's `---`
    last: int  # one past its last line: a parser may point just after the end


@dataclass
class Folder:
    root: Path
    placed: list[Placed] = field(default_factory=list)
    file_errors: dict[str, str] = field(default_factory=dict)  # file -> why it is unreadable
    documents: int = 0

    def write(self, name: str, docs: Sequence[Doc], newline: str = "\n", bom: bool = False) -> None:
        """Write documents to one file, each after its own `---` line."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text, line = "", 1
        for doc in docs:
            body = doc.text if doc.text.endswith("\n") else doc.text + "\n"
            chunk = "---\n" + body
            lines = chunk.count("\n")
            self.placed.append(Placed(doc, str(path), line, line + lines))
            text += chunk
            line += lines
        data = text.replace("\n", newline).encode()
        path.write_bytes(("\ufeff".encode() if bom else b"") + data)
        self.documents += len(docs)


# -- the report, indexed --------------------------------------------------------------------


def host(report: Report, name: str) -> Report | None:
    for h in report["hosts"]:
        if h["host"] == name:
            return h
    return None


def has_host(name: str) -> Callable[[Report], bool]:
    return lambda r: host(r, name) is not None


def has_workload(host_name: str, workload: str) -> Callable[[Report], bool]:
    def check(r: Report) -> bool:
        h = host(r, host_name)
        return h is not None and workload in (h["workloads"] or [])

    return check


def has_rule(host_name: str, rule: str) -> Callable[[Report], bool]:
    def check(r: Report) -> bool:
        h = host(r, host_name)
        return h is not None and rule in h["destinationRules"]

    return check


def has_route(host_name: str, vs: str) -> Callable[[Report], bool]:
    def check(r: Report) -> bool:
        h = host(r, host_name)
        if h is None:
            return False
        routes = h["routes"] + [x for s in h["subsets"] for x in s["routes"]]
        return any(x["virtualService"] == vs for x in routes)

    return check


# -- good documents -------------------------------------------------------------------------


def good_unit(i: int, rnd: random.Random) -> list[tuple[Obj, Callable[[Report], bool]]]:
    """A Service with a workload, a DR with subsets and a VS routing to one: each with proof."""
    ns, name = f"fz{i % 3}", f"s{i}"
    h = fqdn(name, ns)
    labels = {"app": name, "version": "v1"}
    out: list[tuple[Obj, Callable[[Report], bool]]] = [(service(name, ns), has_host(h))]
    if rnd.random() < 0.7:
        out.append(
            (deployment(f"{name}-v1", ns, labels, 2), has_workload(h, f"Deployment {ns}/{name}-v1"))
        )
    else:
        out.append((pod(f"{name}-p", ns, labels), has_workload(h, f"Pod {ns}/{name}-p")))
    subsets = [
        {"name": "v1", "labels": {"version": "v1"}, "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        {"name": "v2", "labels": {"version": "v2"}},
    ]
    out.append((destination_rule(f"{name}-dr", ns, name, subsets), has_rule(h, f"{ns}/{name}-dr")))
    route = {"route": [destination(name, "v1", 90), destination(name, "v2", 10)]}
    out.append(
        (virtual_service(f"{name}-vs", ns, [name], http=[route]), has_route(h, f"{ns}/{name}-vs"))
    )
    if rnd.random() < 0.2:
        external = f"ext{i}.example.com"
        out.append((service_entry(f"{name}-se", ns, [external]), has_host(external)))
    return out


# -- bad documents: a wrong type where meshtui reads a type ---------------------------------

WRONG = {
    "str": [5, 1.5, True, ["a"], {"a": 1}],
    "str_req": [5, True, ["a"], {"a": 1}, "", None],
    "int": ["5", 1.5, True, ["1"], {"n": 1}],
    "int_req": ["5", 1.5, True, ["1"], {"n": 1}, None],
    "mapping": ["x", 5, True, [1], ["a"]],
    "mapping_req": ["x", 5, True, [1], None],
    "list": ["x", 5, True, {"a": 1}],
    "str_list": ["x", 5, {"a": 1}, [5], [""], [None], [["a"]]],
    "labels": ["x", 5, True, ["a"], {5: "x"}, {"k": True}, {"k": None}, {"k": ["a"]}],
    "label_value": [True, None, ["a"], {"a": 1}],
}

# (kind, path, type): every field meshtui reads with a type, in the objects of `good_unit`.
TYPED_FIELDS: list[tuple[str, tuple[Any, ...], str]] = [
    ("Service", ("metadata",), "mapping_req"),
    ("Service", ("metadata", "name"), "str_req"),
    ("Service", ("metadata", "namespace"), "str"),
    ("Service", ("spec",), "mapping"),
    ("Service", ("spec", "selector"), "labels"),
    ("Service", ("spec", "selector", "app"), "label_value"),
    ("Service", ("spec", "ports"), "list"),
    ("Service", ("spec", "ports", 0), "mapping_req"),
    ("Service", ("spec", "ports", 0, "port"), "int_req"),
    ("Service", ("spec", "ports", 0, "name"), "str"),
    ("Deployment", ("spec", "replicas"), "int"),
    ("Deployment", ("spec", "template"), "mapping"),
    ("Deployment", ("spec", "template", "metadata"), "mapping"),
    ("Deployment", ("spec", "template", "metadata", "labels"), "labels"),
    ("Deployment", ("spec", "template", "metadata", "labels", "app"), "label_value"),
    ("Deployment", ("status",), "mapping"),
    ("Pod", ("metadata", "labels"), "labels"),
    ("Pod", ("status",), "mapping"),
    ("DestinationRule", ("spec", "host"), "str_req"),
    ("DestinationRule", ("spec", "subsets"), "list"),
    ("DestinationRule", ("spec", "subsets", 0), "mapping_req"),
    ("DestinationRule", ("spec", "subsets", 0, "name"), "str_req"),
    ("DestinationRule", ("spec", "subsets", 0, "labels"), "labels"),
    ("DestinationRule", ("spec", "subsets", 0, "trafficPolicy"), "mapping"),
    ("DestinationRule", ("spec", "subsets", 0, "trafficPolicy", "tls"), "mapping"),
    ("DestinationRule", ("spec", "trafficPolicy"), "mapping"),
    ("DestinationRule", ("spec", "trafficPolicy", "portLevelSettings"), "list"),
    ("DestinationRule", ("spec", "exportTo"), "str_list"),
    ("DestinationRule", ("spec", "workloadSelector"), "mapping"),
    ("VirtualService", ("spec", "hosts"), "str_list"),
    ("VirtualService", ("spec", "gateways"), "str_list"),
    ("VirtualService", ("spec", "exportTo"), "str_list"),
    ("VirtualService", ("spec", "http"), "list"),
    ("VirtualService", ("spec", "http", 0), "mapping_req"),
    ("VirtualService", ("spec", "http", 0, "route"), "list"),
    ("VirtualService", ("spec", "http", 0, "route", 0), "mapping_req"),
    ("VirtualService", ("spec", "http", 0, "route", 0, "destination"), "mapping_req"),
    ("VirtualService", ("spec", "http", 0, "route", 0, "destination", "host"), "str_req"),
    ("VirtualService", ("spec", "http", 0, "route", 0, "destination", "subset"), "str"),
    ("VirtualService", ("spec", "http", 0, "route", 0, "weight"), "int"),
    ("VirtualService", ("spec", "http", 0, "match"), "list"),
    ("VirtualService", ("spec", "http", 0, "mirror"), "mapping"),
    ("VirtualService", ("spec", "tcp"), "list"),
    ("ServiceEntry", ("spec", "hosts"), "str_list"),
    ("ServiceEntry", ("spec", "ports"), "list"),
    ("ServiceEntry", ("spec", "ports", 0, "number"), "int_req"),
    ("ServiceEntry", ("spec", "workloadSelector"), "mapping"),
]


def templates() -> dict[str, Obj]:
    """One valid object of each kind, named so that it clashes with no good document."""
    unit = [obj for obj, _ in good_unit(0, random.Random(0))]
    out = {obj["kind"]: obj for obj in unit}
    out["DestinationRule"]["spec"]["trafficPolicy"] = {
        "connectionPool": {"tcp": {"maxConnections": 1}}
    }
    out["Deployment"] = deployment("d", "fz0", {"app": "s0", "version": "v1"})
    out["Pod"] = pod("p", "fz0", {"app": "s0"})
    out["ServiceEntry"] = service_entry("se", "fz0", ["bad.example.com"])
    return out


_TEMPLATES = templates()


def wrong_type_doc(kind: str, path: tuple[Any, ...], value: Any, n: int) -> Doc:
    obj = mutated(_TEMPLATES[kind], ("metadata", "name"), f"bad{n}")
    obj = mutated(obj, path, value)
    return Doc(dump(obj), "bad", f"{kind} {'.'.join(map(str, path))} = {value!r}")


# -- bad documents: YAML Kubernetes would refuse --------------------------------------------

BROKEN_LINES = [
    "zz: [1, 2\n",
    "zz: {a: 1\n",
    'zz: "abc\n',
    "- item\n",
    "zz: *undefined\n",
    "zz: !!python/object:os.system x\n",
    "zz: 1.0e+999\n",
    "zz: -.inf\n",
    "zz: .nan\n",
    "\tzz: 1\n",
    "zz: x\n  yy: z\n",
    "zz: @x\n",
    "zz: \x07\n",
    "? [a]\n: x\n",
    "zz: &a [*a]\n",
    "zz: &a {k: *a}\n",
    "zz: !!binary\n  %%%%\n",
]


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level is `width` aliases of the one before."""
    lines = [f"lol0: &lol0 [{', '.join(['lol'] * width)}]"]
    for k in range(1, levels):
        refs = ", ".join([f"*lol{k - 1}"] * width)
        lines.append(f"lol{k}: &lol{k} [{refs}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 8, width: int = 8) -> str:
    """The same with merge keys: each mapping merges `width` copies of the one before."""
    lines = ["m0: &m0 {" + ", ".join(f"k{j}: x" for j in range(width)) + "}"]
    for k in range(1, levels):
        merged = ", ".join([f"*m{k - 1}"] * width)
        lines.append(f"m{k}: &m{k} {{<<: [{merged}], own{k}: y}}")
    return "\n".join(lines) + "\n"


def deep(depth: int, flow: bool = True) -> str:
    if flow:
        return "zz: " + "[" * depth + "]" * depth + "\n"
    # Compact block sequences: one line, one level per "- ", none of the indentation.
    return "zz:\n" + "- " * depth + "x\n"


def broken_doc(rnd: random.Random, n: int) -> Doc:
    """A valid object made invalid as YAML text: what kubectl refuses to read."""
    kind = rnd.choice(sorted(_TEMPLATES))
    text = dump(mutated(_TEMPLATES[kind], ("metadata", "name"), f"broken{n}"))
    how = rnd.randrange(6)
    if how == 0:  # a key written twice
        key = rnd.choice(["apiVersion", "kind", "metadata", "spec"])
        if key == "spec" and "spec:" not in text:
            key = "kind"
        text += f"{key}: again\n"
        label = f"duplicate {key}"
    elif how == 1:
        text = text.replace("metadata:\n", "metadata:\n  name: twice\n", 1)
        label = "duplicate metadata.name"
    elif how == 2:
        line = rnd.choice(BROKEN_LINES)
        text += line
        label = f"broken line {line!r}"
    elif how == 3:
        text += (
            alias_bomb(rnd.randint(4, 9), rnd.randint(8, 12))
            if rnd.random() < 0.7
            else merge_bomb()
        )
        label = "alias bomb"
    elif how == 4:
        depth = rnd.choice([201, 1_000, 30_000])
        text += deep(depth, flow=rnd.random() < 0.7)
        label = f"nested {depth} deep"
    else:
        text = (
            text.replace("  namespace:", "  namespace: .inf\n  ignored:", 1)
            if "  namespace:" in text
            else text + "zz: .inf\n"
        )
        label = "infinite number"
    return Doc(text, "bad", f"{kind}: {label}")


# -- noise ----------------------------------------------------------------------------------

# No lone \r: libyaml counts it as a line break and the document split does not, so lines
# reported inside such a document drift (noted, not a crash).
_NOISE_ALPHABET = "abcxyz019 :-_[]{},'\"#&*!|>%@`?~.\n\n\n\t\\/é€🙂"
_NOISE_FIXED = [
    "",
    "# only a comment\n",
    "[1, 2, 3]\n",
    "just a scalar\n",
    "~\n",
    "kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {a: b}\n",
    "kind: List\napiVersion: v1\nitems: 5\n",
    "kind: List\napiVersion: v1\nitems: [1, [2], {kind: Service}]\n",
    "apiVersion: v1\nkind: Service\n",
    "apiVersion: 5\nkind: [Service]\nmetadata: x\n",
    "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\n",
    "...\n",
]


def noise_doc(rnd: random.Random) -> Doc:
    if rnd.random() < 0.3:
        return Doc(rnd.choice(_NOISE_FIXED), "noise", "fixed noise")
    text = "".join(rnd.choice(_NOISE_ALPHABET) for _ in range(rnd.randint(1, 80)))
    return Doc(text, "noise", f"noise {text!r}")


def write_broken_files(folder: Path, seed: int, files: int, per_file: int) -> None:
    """`files` YAML files in `folder`, each of `per_file` broken documents and as many of
    noise, shuffled: input whose every finding must keep its file and line."""
    rnd = random.Random(seed)
    for i in range(files):
        docs = [broken_doc(rnd, i * 10 + n).text for n in range(per_file)]
        docs += [noise_doc(rnd).text for _ in range(per_file)]
        rnd.shuffle(docs)
        (folder / f"part-{i:02}.yaml").write_text("".join("---\n" + d for d in docs))


# -- running and judging --------------------------------------------------------------------


def run_json(folder: Path | str, *extra: str) -> tuple[int, Report, str]:
    """`meshtui check FOLDER -o json`, in process: exit code, the parsed JSON and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["check", str(folder), "-o", "json", *extra])
    return rc, strict_json(out.getvalue()), err.getvalue()


def run_output(folder: Path | str, output: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["check", str(folder), "-o", output])
    return rc, out.getvalue(), err.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def assert_sound(folder: Folder, time_limit: float = 60.0) -> Report:
    """Run check on the folder and hold it to every promise about hostile input."""
    started = time.monotonic()
    rc, report, stderr = run_json(folder.root)
    elapsed = time.monotonic() - started
    assert elapsed < time_limit, f"check took {elapsed:.1f}s"
    assert rc in (0, 1)
    assert stderr == ""
    assert report["summary"]["hosts"] == len(report["hosts"])
    errors = [f for f in report["findings"] if f["code"] in ERROR_CODES]
    for f in errors:
        assert f["file"] is not None and isinstance(f["line"], int) and f["line"] >= 1, f
    for p in folder.placed:
        if p.doc.expect == "bad":
            inside = [f for f in errors if f["file"] == p.file and p.first <= f["line"] <= p.last]
            assert inside, f"not reported: {p.doc.label} at {p.file}:{p.first}"
        elif p.doc.expect == "good":
            # Its own lines only: an error at the end of the document before it may point at
            # this document's `---` line.
            inside = [f for f in errors if f["file"] == p.file and p.first < f["line"] < p.last]
            assert not inside, f"good document reported: {inside}"
            if p.doc.evidence is not None:
                assert p.doc.evidence(report), f"good document not analysed: {p.doc.label}"
    for file, why in folder.file_errors.items():
        assert any(f["file"] == file for f in errors), f"{why}: {file} not reported"
    if any(f["severity"] == "error" for f in report["findings"]):
        assert rc == 1
    return report
