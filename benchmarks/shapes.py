"""`meshtui check -o json` against the bare C-loader parse, for every shape input comes in.

    python benchmarks/shapes.py [--sizes 10000,20000] [--repeat 1] [--shapes block,flow,...]

The same mesh (benchmarks/generate_mesh.py, seed 1) written five ways, cached under
benchmarks/out/shapes-N/:

- block: the generator's folder, kubectl's block layout, a few multi-document files and
  `kind: List`s per namespace (about 800 files at 10,000 hosts);
- flow: every object as one compact flow-style document (`{apiVersion: v1, kind: ...}`),
  in 500 files;
- compact: the shape users keep generated meshes in: 3 workloads per host, Deployments with
  only what routing reads (labels, container name, image and ports), every object one
  flow-style document of about 400 bytes (about 60,000 of them, 24 MB at 10,000 hosts), in
  500 files;
- one-file: every object as a block-style document, all in one file;
- many-files: one file per group of objects, each a single `kind: List` document
  (10,000 files at 10,000 hosts);
- json: 500 files, each one `kind: List` object as `kubectl get -o json` prints it.

For each, in separate processes and alternately: the floor (read every file, materialise every
document with PyYAML's C loader, as benchmarks/check_scale.py does) and `meshtui check DIR -o
json`. Verdicts on CPU time. Target: at most 1.0x the floor at 10,000 hosts, every shape.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_scale import FLOOR, _best, _meshtui, _run, _warm, machine, mesh_folder  # noqa: E402
from generate_mesh import to_yaml  # noqa: E402

SHAPES = ("block", "flow", "compact", "one-file", "many-files", "json")
COMPACT_WORKLOADS = 3
TARGET = 1.0
FLOW_FILES = 500
JSON_FILES = 500


def objects(folder: Path) -> list[dict[str, Any]]:
    """Every object of the generated folder, `kind: List` items flattened, in path order."""
    out: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        for doc in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader):
            if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
                out += doc["items"]
            elif isinstance(doc, dict):
                out.append(doc)
    return out


def _chunks(items: list[Any], count: int) -> list[list[Any]]:
    size = -(-len(items) // count)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _flow(obj: Any) -> str:
    return yaml.dump(obj, Dumper=yaml.CSafeDumper, default_flow_style=True, width=1 << 30)


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    """A Deployment with only the fields routing reads (labels, container name, image and
    ports); other objects as they are."""
    if obj.get("kind") != "Deployment":
        return obj
    template = obj["spec"]["template"]
    containers = [
        {"name": c["name"], "image": c["image"], "ports": c.get("ports", [])}
        for c in template["spec"]["containers"]
    ]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": "Deployment",
        "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "labels")},
        "spec": {
            "replicas": obj["spec"].get("replicas", 1),
            "selector": obj["spec"]["selector"],
            "template": {
                "metadata": {"labels": template["metadata"]["labels"]},
                "spec": {"containers": containers},
            },
        },
    }


def write_shape(shape: str, objs: list[dict[str, Any]], out: Path, hosts: int) -> None:
    out.mkdir(parents=True)
    if shape == "compact":
        for i, chunk in enumerate(_chunks([_compact(o) for o in objs], FLOW_FILES)):
            text = "".join("---\n" + _flow(o) for o in chunk)
            (out / f"part-{i:04d}.yaml").write_text(text)
    elif shape == "flow":
        for i, chunk in enumerate(_chunks(objs, FLOW_FILES)):
            text = "".join("---\n" + _flow(o) for o in chunk)
            (out / f"part-{i:04d}.yaml").write_text(text)
    elif shape == "one-file":
        (out / "all.yaml").write_text("".join("---\n" + to_yaml(o) for o in objs))
    elif shape == "many-files":
        for i, chunk in enumerate(_chunks(objs, hosts)):
            doc = {"apiVersion": "v1", "kind": "List", "items": chunk}
            (out / f"{i // 100:03d}").mkdir(exist_ok=True)
            (out / f"{i // 100:03d}" / f"host-{i:05d}.yaml").write_text(to_yaml(doc))
    elif shape == "json":
        for i, chunk in enumerate(_chunks(objs, JSON_FILES)):
            doc = {"apiVersion": "v1", "kind": "List", "items": chunk}
            (out / f"part-{i:04d}.json").write_text(json.dumps(doc, indent=4) + "\n")
    else:
        raise ValueError(shape)


_OBJECTS: dict[Path, list[dict[str, Any]]] = {}


def shape_folder(shape: str, hosts: int, args: argparse.Namespace, root: Path) -> Path:
    if shape == "compact":  # from a mesh of fewer workloads per host
        args = argparse.Namespace(**{**vars(args), "workloads": COMPACT_WORKLOADS})
    block, _, _ = mesh_folder(hosts, args, root)
    if shape == "block":
        return block
    base = root / f"shapes-{block.name}"
    folder = base / shape
    stamp = folder / ".generated"
    if not stamp.exists() or stamp.read_text() != (block / ".generated").read_text():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  writing {shape} shape of {hosts} hosts into {folder} ...", flush=True)
        if block not in _OBJECTS:  # read once for every shape written
            _OBJECTS[block] = objects(block)
        write_shape(shape, _OBJECTS[block], folder, hosts)
        stamp.write_text((block / ".generated").read_text())
    return folder


def _size(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--subsets", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    root = HERE / "out"
    root.mkdir(exist_ok=True)
    print(f"machine: {machine()}")
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = args.shapes.split(",")
    for hosts in sizes:  # every input first, so the measurements run back to back
        for shape in shapes:
            shape_folder(shape, hosts, args, root)
        _OBJECTS.clear()
    for hosts in sizes:
        for shape in shapes:
            folder = shape_folder(shape, hosts, args, root)
            _warm(folder)
            floors, checks = [], []
            for _ in range(args.repeat):
                floors.append(_run([sys.executable, "-c", FLOOR, str(folder)]))
                checks.append(_run([*_meshtui(), "check", str(folder), "-o", "json"]))
            floor, check = _best(floors), _best(checks)
            files, mb = _size(folder)
            rows.append((hosts, shape, files, mb, floor, check))
            print(
                f"  {hosts} {shape}: floor cpu {floor.cpu:.2f} s, check cpu {check.cpu:.2f} s: "
                f"x{check.cpu / floor.cpu:.2f} (wall {floor.seconds:.2f} / {check.seconds:.2f})",
                flush=True,
            )
    print()
    print("| hosts | shape | files | MB | floor cpu s | check cpu s | check × floor | verdict |")
    print("|------:|-------|------:|---:|------------:|------------:|--------------:|---------|")
    for hosts, shape, files, mb, floor, check in rows:
        ratio = check.cpu / floor.cpu
        verdict = "PASS" if ratio <= TARGET else "FAIL"
        print(
            f"| {hosts:,} | {shape} | {files:,} | {mb:.1f} | {floor.cpu:.2f} | {check.cpu:.2f} "
            f"| {ratio:.2f} | {verdict} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(os.sys.argv[1:]))
