"""The offline source: files and folders read into one mesh, and followed as they are edited.

What each input (a file, or a kustomize folder's build) contributed is kept, so a change to one
file re-reads that file only and feeds the difference through `Mesh.add`/`Mesh.remove`, the
path a live cluster's watch events take. The mesh that results is the one a fresh read of the
whole input gives: the first definition of a name in path order wins (later ones are findings),
and Pods or ReplicaSets whose controller is in the input are left out.
"""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.batch import collector_paused
from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.hosts import MeshConfig
from meshtui.mesh.resources import Meta, ObjectRef, Resource, Workload
from meshtui.sources import Preview, Source
from meshtui.sources import kustomize as kz
from meshtui.sources.discovery import LoadError, discover, is_input
from meshtui.sources.documents import STDIN, STDIN_NAME, document_text
from meshtui.sources.lines import refine_lines
from meshtui.sources.parallel import Reading, read_units
from meshtui.sources.reading import (
    LoadResult,
    fallback_notes,
    fast_reading,
    first_definitions,
    skipped_note,
)
from meshtui.sources.units import Unit, read_unit, stamp

Key = tuple[int, tuple[tuple[int, str], ...]]
# A large folder's first files are handed to a preview after this long (the inspector lists
# their hosts while the rest is read): long enough for a screen of hosts, short enough to
# show them within a second or so of launch.
PREVIEW_SECONDS = 0.05


def _controller(resource: Resource) -> tuple[str, str]:
    ref = resource.meta.ref
    return ref.namespace, f"{ref.kind}/{ref.name}"


class Contents:
    """Which input defines which resource, and the mesh fed with the resources in force."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self._reset()
        self.layers: list[Any] = []  # overlay meshes fed too (sources/overlay.py: LaidMesh)

    def _reset(self) -> None:
        self.units: dict[Path, Unit] = {}
        self.keys: dict[Path, Key] = {}
        self.defs: dict[ObjectRef, list[tuple[Key, int, Resource]]] = {}
        self.duplicates: dict[ObjectRef, list[Finding]] = {}
        self.winners: dict[ObjectRef, Resource] = {}
        self.controllers: set[tuple[str, str]] = set()
        self.owned: dict[tuple[str, str], set[ObjectRef]] = {}
        self.builds: set[Path] = set()  # kustomize folders among the inputs
        # Workloads read per namespace (any definition): where there are some, the workloads
        # of the namespace's hosts are known, where there are none, they are not.
        self.workload_namespaces: Counter[str] = Counter()

    def in_force(self) -> list[Resource]:
        """The resources the mesh holds: first definitions, less Pods their controller covers."""
        return [r for ref, r in self.winners.items() if self._visible(ref)]

    def findings(self) -> list[Finding]:
        """The findings of reading: each input's, and every definition after the first."""
        out = [f for unit in self.units.values() for f in unit.findings]
        out += [f for found in self.duplicates.values() for f in found]
        return out

    @property
    def objects(self) -> int:
        return sum(u.objects for u in self.units.values())

    def fill(self, units: Iterable[tuple[Path, Key, Unit]]) -> None:
        """The first read: everything at once (`Mesh.load`, no per-host bookkeeping)."""
        for path, key, unit in units:
            self.units[path] = unit
            self.keys[path] = key
            if unit.built:
                self.builds.add(path)
            self._index(path, unit)
        for ref, defs in self.defs.items():
            defs.sort(key=_def_order)
            self._set_winner(ref, defs[0][2])
            if len(defs) > 1:
                self._duplicates(ref)
        self.workload_namespaces = +self.workload_namespaces
        self.mesh.workloads.mark_known(self.workload_namespaces)
        self.mesh.load(self.in_force())
        self._sync_findings()

    def update(self, changed: dict[Path, tuple[Key, Unit | None]]) -> set[str]:
        """Replace what these inputs contributed (None: gone); the hosts whose analysis changed."""
        touched: set[ObjectRef] = set()
        for path, (key, unit) in changed.items():
            old = self.units.pop(path, None)
            self.keys.pop(path, None)
            self.builds.discard(path)
            if old is not None:
                touched |= self._unindex(path, old)
            if unit is not None:
                self.units[path] = unit
                self.keys[path] = key
                if unit.built:
                    self.builds.add(path)
                touched |= self._index(path, unit)
        if not self.layers and any(n <= 0 for n in self.workload_namespaces.values()):
            return self._rebuild()
        hosts = self._apply(touched)
        self._sync_findings()
        return hosts

    def _rebuild(self) -> set[str]:
        """Read everything into a new mesh: a namespace whose last workload went is no longer
        one whose workloads are known, which `Mesh` cannot undo in place (rare)."""
        units = [(path, self.keys[path], unit) for path, unit in self.units.items()]
        hosts = set(self.mesh.analyze().hosts)
        self.mesh = Mesh(self.mesh.config, self.mesh.cluster)
        self._reset()
        self.fill(units)
        return hosts | set(self.mesh.analyze().hosts)

    def _index(self, path: Path, unit: Unit) -> set[ObjectRef]:
        key = self.keys[path]
        refs = set()
        for i, resource in enumerate(unit.resources):
            ref = resource.meta.ref
            self.defs.setdefault(ref, []).append((key, i, resource))
            refs.add(ref)
            if isinstance(resource, Workload):
                self.workload_namespaces[ref.namespace] += 1
        return refs

    def _unindex(self, path: Path, unit: Unit) -> set[ObjectRef]:
        refs = {r.meta.ref for r in unit.resources}
        ids = {id(r) for r in unit.resources}
        for resource in unit.resources:
            if isinstance(resource, Workload):
                self.workload_namespaces[resource.meta.ref.namespace] -= 1
        for ref in refs:
            kept = [d for d in self.defs.get(ref, []) if id(d[2]) not in ids]
            if kept:
                self.defs[ref] = kept
            else:
                self.defs.pop(ref, None)
        return refs

    def _set_winner(self, ref: ObjectRef, resource: Resource | None) -> None:
        old = self.winners.pop(ref, None)
        if isinstance(old, Workload):
            self.controllers.discard(_controller(old))
            if old.owner:
                owned = self.owned.get((ref.namespace, old.owner))
                if owned is not None:
                    owned.discard(ref)
        if resource is None:
            return
        self.winners[ref] = resource
        if isinstance(resource, Workload):
            self.controllers.add(_controller(resource))
            if resource.owner:
                self.owned.setdefault((ref.namespace, resource.owner), set()).add(ref)

    def _visible(self, ref: ObjectRef) -> bool:
        """In force: a Pod or ReplicaSet whose controller is in the input is left out (the
        controller's template already stands for it, with its replica count)."""
        resource = self.winners.get(ref)
        if resource is None:
            return False
        return not (
            isinstance(resource, Workload)
            and resource.owner
            and (ref.namespace, resource.owner) in self.controllers
        )

    def _duplicates(self, ref: ObjectRef) -> None:
        defs = self.defs.get(ref, [])
        found: list[Finding] = []
        if len(defs) > 1:
            first_definitions([d[2] for d in defs], found)
        if found:
            self.duplicates[ref] = found
        else:
            self.duplicates.pop(ref, None)

    def _apply(self, touched: set[ObjectRef]) -> set[str]:
        affected = set(touched)
        for ref in touched:
            defs = self.defs.get(ref)
            if defs:
                defs.sort(key=_def_order)
            winner = defs[0][2] if defs else None
            old = self.winners.get(ref)
            for resource in (old, winner):
                if isinstance(resource, Workload):  # its Pods' visibility may change
                    affected |= self.owned.get(_controller(resource), set())
            self._set_winner(ref, winner)
            self._duplicates(ref)
        for ref in touched:
            winner = self.winners.get(ref)
            if isinstance(winner, Workload):
                affected |= self.owned.get(_controller(winner), set())
        hosts: set[str] = set()
        for ref in sorted(affected, key=str):
            want = self.winners.get(ref) if self._visible(ref) else None
            have = self.mesh.get(ref)
            if want is None and have is None:
                continue
            if want is not None and have is not None and have == want:
                continue  # saved again as it was: nothing to re-analyse
            hosts |= self.mesh.remove(ref) if want is None else self.mesh.add(want)
            for layer in self.layers:
                hosts |= layer.put(ref, want)
        return hosts

    def _sync_findings(self) -> None:
        findings = self.findings()
        self.mesh.clear_findings()
        for finding in findings:
            self.mesh.add_finding(finding)
        for layer in self.layers:
            layer.put_findings(findings)


def _def_order(d: tuple[Key, int, Resource]) -> tuple[Key, int]:
    return d[0], d[1]


def nothing_read(
    paths: list[str], files: int, findings: Iterable[Finding], warnings: Iterable[str] = ()
) -> str:
    """Why there is nothing to analyse, with what was looked at."""
    if kz.NO_TOOL in warnings:
        # A kustomize overlay holds patches and a kustomization, no resources of its own:
        # read as plain files it has nothing, which is no verdict on the overlay.
        return (
            "kustomize is needed for this folder: install it (or kubectl), or pass the "
            "rendered YAML (kustomize build DIR | meshtui check -)"
        )
    if files == 0:
        where = ", ".join(paths)
        return f"0 files with YAML or JSON under {where}"
    where = ", ".join(STDIN_NAME if p == STDIN else p for p in paths)
    head = f"no Kubernetes resource in {files} file{'s' if files != 1 else ''} read from {where}"
    problems = [f.message for f in findings if f.code is Code.PARSE_ERROR]
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        head += ": " + "; ".join(problems[:3]) + more
    return head


def _members(layout: kz.Plan) -> set[Path]:
    return {p for family in layout.alternatives for p in family}


def _pick(name: str, overlays: list[Path]) -> list[Path]:
    """The overlay `--overlay NAME` means: its path, or the last parts of it (`overlays/a`,
    `a`); anything else is a LoadError naming the overlays there are."""
    wanted = Path(name).parts
    found = [p for p in overlays if str(p) == name or p.parts[-len(wanted) :] == wanted]
    if len(found) == 1:
        return found
    names = ", ".join(map(str, overlays))
    if found:
        raise LoadError(f"--overlay {name} is ambiguous: it names {', '.join(map(str, found))}")
    raise LoadError(
        f"--overlay {name}: no such overlay; the overlays that are alternatives: {names}"
    )


class FileSource(Source):
    """Files and folders given on the command line; with `follow`, they are watched and each
    change is read as it is saved."""

    settle = 0.01  # the watcher already gathers a save's events (a timer needs > 0)

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        config: MeshConfig | None = None,
        *,
        namespace: str | None = None,
        follow: bool = False,
        overlay: str | None = None,
    ) -> None:
        super().__init__()
        self.paths = [str(p) for p in paths]
        # Of kustomize overlays that are alternatives, the one to show (None: each is a mesh
        # of its own when not following, else the first); see `_choices`.
        self.overlay = overlay
        self._left_out: set[Path] = set()  # the overlays and bases not read for this view
        self.config = config
        self.namespace = namespace
        self.live = follow and STDIN not in self.paths
        self.label = " ".join(STDIN_NAME if p == STDIN else p for p in self.paths)
        if namespace:
            self.notes.append(f"namespace {namespace} assumed for resources without one")
            self.label += f" (namespace {namespace} for resources without one)"
        self._label = self.label  # without the overlay shown (load adds it)
        self.files = 0
        self._read_notes: list[str] = []  # the notes the last read gave (kinds skipped, ...)
        self.contents: Contents | None = None
        self._watcher: object | None = None
        self._notify: Callable[[set[str]], None] | None = None

    # -- reading -------------------------------------------------------------------------

    def _roots(self) -> list[tuple[int, Path, bool]]:
        """Each path given, with whether it is a folder (searched) or one input."""
        out = []
        for i, raw in enumerate(self.paths):
            if raw == STDIN:
                out.append((i, Path(STDIN_NAME), False))
            else:
                out.append((i, Path(raw), Path(raw).is_dir()))
        return out

    def _inputs(self, warnings: list[str]) -> list[Path]:
        """The inputs to read (a git revision lists them another way: sources.revision)."""
        return discover(self.paths, warnings)

    def _choices(self, inputs: list[Path]) -> tuple[list[tuple[str | None, list[Path]]], str]:
        """The meshes to build from `inputs`, each with its overlay's name (None: the only
        mesh), and a note on how the kustomize folders were grouped ("" when they were not).

        Kustomize folders that build on a common base are alternatives (kubeflow's `base/`
        with `overlays/a` and `overlays/b`): one applies one of them, so each is a mesh of
        its own with the files and kustomizations that are no alternative of anything; a
        base is built only inside its overlays (kustomize.plan)."""
        folders = [p for p in inputs if p.is_dir()]
        if len(folders) < 2:
            if self.overlay:
                raise LoadError(f"--overlay {self.overlay}: no kustomize overlays to choose from")
            return [(None, inputs)], ""
        layout = kz.plan(folders)
        bases = set(layout.bases)
        rest = [p for p in inputs if p not in bases and p not in _members(layout)]
        said = ", ".join(str(b) for b in layout.bases)
        note = f"kustomize bases built inside the overlays that use them: {said}" if said else ""
        alternatives = [p for family in layout.alternatives for p in family]
        if not alternatives:
            if self.overlay:
                raise LoadError(f"--overlay {self.overlay}: no kustomize overlays to choose from")
            self._left_out = bases
            return [(None, rest)], note
        names = ", ".join(map(str, alternatives))
        if self.overlay is not None:
            chosen = _pick(self.overlay, alternatives)
        elif self.live:
            chosen = [alternatives[0]]
        else:
            chosen = alternatives
        self._left_out = bases | (set(alternatives) - set(chosen))
        if len(chosen) > 1:
            note = (
                f"kustomize overlays {names} build on a common base and are alternatives: "
                "each is analysed as a mesh of its own"
            ) + (f"; {note}" if note else "")
        else:
            others = ", ".join(str(p) for p in alternatives if p != chosen[0])
            note = (
                f"overlay {chosen[0]} shown; its alternatives {others} are not (choose with "
                "--overlay)"
            ) + (f"; {note}" if note else "")
        return [(str(c), [*rest, c]) for c in chosen], note

    def key(self, path: Path) -> Key | None:
        """Where `path` comes in the order of a whole read (folders walked in sorted order,
        a folder's files before its subfolders); None when no path given contains it."""
        for i, root, folder in self._roots():
            if path == root:
                return (i, ())
            if folder:
                try:
                    rel = path.relative_to(root)
                except ValueError:
                    continue
                if any(p.startswith(".") for p in rel.parts):
                    return None
                if path.is_dir():
                    return (i, tuple((1, p) for p in rel.parts))
                *dirs, name = rel.parts
                return (i, (*((1, d) for d in dirs), (0, name)))
        return None

    def load(self) -> list[Mesh]:
        return self.load_with_preview(None)

    def load_with_preview(self, preview: Preview | None) -> list[Mesh]:
        """Read every file; `preview` is given what the first PREVIEW_SECONDS of reading
        read, if more remains to read."""
        self.stop()
        namespace = self.namespace or "default"
        warnings: list[str] = []
        reading = LoadResult(namespace=namespace)  # rapidyaml where it reads as PyYAML does
        with collector_paused(), fast_reading(reading, True):
            choices, grouping = self._choices(self._inputs(warnings))
            inputs = list(dict.fromkeys(p for _, paths in choices for p in paths))
            command = kz.build_command()
            if command is not None:  # every build at once; read_unit takes them from the cache
                kz.build_all([p for p in inputs if p.is_dir()], command)
            units = {}
            start = time.monotonic()

            def here(path: Path) -> Unit:
                return read_unit(path, namespace, follow=self.live, fast=reading.fast)

            fast = reading.fast is not None
            tally = Reading()
            interactive = preview is not None  # the inspector: its keys go first
            reading_units = read_units(inputs, here, namespace, self.live, fast, tally, interactive)
            for path, unit in reading_units:
                key = self.key(path) or (len(self.paths), ())
                units[path] = (path, key, unit)
                if (
                    preview is not None
                    and len(units) < len(inputs)
                    and time.monotonic() - start >= PREVIEW_SECONDS
                ):
                    preview(self._early(choices[0], units), len(units), len(inputs))
                    preview = None
            meshes = []
            for overlay, paths in choices:
                mesh = Mesh(self.config)
                mesh.overlay = overlay
                every = Contents(mesh)
                every.fill(units[p] for p in paths)
                meshes.append(every)
            contents = meshes[0]
        self.files = len(inputs)
        read = [u for _, _, u in units.values()]
        if all(c.objects == 0 for c in meshes):
            findings = [f for u in read for f in u.findings]
            said = [n for u in read for n in u.notes]
            raise LoadError(
                "; ".join([nothing_read(self.paths, len(inputs), findings, warnings), *said])
            )
        skipped: Counter[str] = Counter()
        read_notes: list[str] = []
        for unit in read:
            skipped.update(unit.skipped)
            read_notes += unit.notes
        note = skipped_note(skipped)
        if len(choices) == 1 and choices[0][0] is not None:
            self.label = f"{self._label} (overlay {choices[0][0]})"
        self.notes = [n for n in self.notes if n not in self._read_notes]
        self._read_notes = read_notes + [n for n in (note, grouping) if n]
        self.notes += self._read_notes
        with self.lock:
            self.contents = contents
            self.meshes = [c.mesh for c in meshes]
            self.warnings = warnings
            self.details = fallback_notes(f for _, _, u in units.values() for f in u.fallbacks)
            self.details += [n for n in (tally.note(),) if n]
        return list(self.meshes)

    def _early(
        self, choice: tuple[str | None, list[Path]], units: dict[Path, tuple[Path, Key, Unit]]
    ) -> list[Mesh]:
        """A mesh of the inputs read so far (of the first overlay, which the inspector shows
        when there are several)."""
        overlay, paths = choice
        mesh = Mesh(self.config)
        mesh.overlay = overlay
        Contents(mesh).fill(units[p] for p in paths if p in units)
        return [mesh]

    def refine(self, findings: Iterable[Finding]) -> list[Finding]:
        return refine_lines(findings)

    def document_text(self, meta: Meta) -> str | None:
        return document_text(meta.origin)

    # -- following -----------------------------------------------------------------------

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        from meshtui.sources.watch import Watcher

        if not self.live:
            return
        self.stop()
        self._notify = notify
        # The watcher reports absolute paths (links resolved for a file given as a link);
        # `_local` names them as the paths given do.
        roots = [(root, folder) for _, root, folder in self._roots()]
        watcher = Watcher(
            [r for r, folder in roots if folder],
            [
                r.resolve() if r.is_symlink() else Path(os.path.abspath(r))
                for r, f in roots
                if not f
            ],
            self._changed,
        )
        self._watcher = watcher
        watcher.start()

    def stop(self) -> None:
        watcher = self._watcher
        self._watcher = None
        if watcher is not None:
            watcher.stop()  # type: ignore[attr-defined]

    @property
    def status(self) -> str:
        watcher = self._watcher
        if getattr(watcher, "missing", None):
            return "folder missing"
        since = getattr(watcher, "failing_since", None)
        if since is None:
            return ""
        return "stale since " + time.strftime("%H:%M:%S", time.localtime(since))

    @property
    def problem(self) -> str:
        watcher = self._watcher
        missing = sorted(getattr(watcher, "missing", None) or ())
        if missing:
            names = ", ".join(str(self._local(m)) for m in missing)
            return (
                f"folder missing: {names} was moved or deleted; showing what it held until a "
                "folder is at that path again"
            )
        error = getattr(watcher, "last_error", "") if watcher is not None else ""
        if not error or self.status == "":
            return ""
        return f"cannot follow edits in {' '.join(self.paths)}: {error}"

    def _changed(self, paths: set[Path] | None) -> None:
        """From the watcher's thread: read what changed, then update the mesh under the lock."""
        contents = self.contents
        if contents is None:
            return
        if paths is not None:
            paths = {self._local(p) for p in paths}
        with collector_paused():
            changed = self._reread(contents, paths)
            if not changed:
                return
            with self.lock:
                hosts = contents.update(changed)
                self.files = len(contents.units)
                self.meshes = [contents.mesh]
        if self._notify is not None:
            self._notify(hosts)

    def _local(self, path: Path) -> Path:
        """A path as the watcher reports it (absolute), as the paths given name it (findings
        keep the names the person typed)."""
        for _, root, _ in self._roots():
            for base in {Path(os.path.abspath(root)), root.resolve()}:
                if path == base:
                    return root
                if base in path.parents:
                    return root / path.relative_to(base)
        return path

    def _reread(
        self, contents: Contents, paths: set[Path] | None
    ) -> dict[Path, tuple[Key, Unit | None]]:
        namespace = self.namespace or "default"
        todo: set[Path] = set()
        gone: set[Path] = set()
        if paths is None:  # changes may have been missed: compare every input's identity
            found = set(discover(self.paths)) - self._left_out
            gone = set(contents.units) - found
            todo = {p for p in found if p.is_dir() or contents.units.get(p) is None}
            todo |= {
                p for p in found if p in contents.units and contents.units[p].stamp != stamp(p)
            }
        else:
            for path in paths:
                self._classify(contents, path, todo, gone)
        out: dict[Path, tuple[Key, Unit | None]] = {}
        for path in gone - todo:
            out[path] = ((0, ()), None)
        for path in sorted(todo):
            key = self.key(path)
            if key is None:
                continue
            out[path] = (key, read_unit(path, namespace, contents.units.get(path), self.live))
        return out

    def _classify(self, contents: Contents, path: Path, todo: set[Path], gone: set[Path]) -> None:
        """Which inputs a changed path is part of: itself, the kustomize build it feeds, or
        (a folder appearing, vanishing, or gaining a kustomization) everything under it."""
        for known in contents.builds:
            if path == known or known in path.parents:
                if path.parent == known and path.name in kz.KUSTOMIZATION_FILES:
                    # No longer built, or built from another file: look at the folder again.
                    self._rescan(contents, known, todo, gone)
                else:
                    todo.add(known)
                return
        for folder in self._left_out:
            if path == folder or folder in path.parents:
                # A base: the overlays built on it are built again (unchanged ones come from
                # the cache); an overlay not shown: nothing to do.
                todo |= {b for b in contents.builds if folder in kz.closure(b)}
                return
        if path.name in kz.KUSTOMIZATION_FILES and path.exists():
            self._rescan(contents, path.parent, todo, gone)
            return
        if self.key(path) is None:
            return
        explicit = any(path == root for _, root, _ in self._roots())
        if explicit or (is_input(path.name) and _regular(path)):
            todo.add(path)
        elif path in contents.units:
            gone.add(path)
        elif path.is_dir() or any(path in u.parents for u in contents.units):
            self._rescan(contents, path, todo, gone)

    def _rescan(self, contents: Contents, folder: Path, todo: set[Path], gone: set[Path]) -> None:
        found = set(discover([folder])) - self._left_out if folder.is_dir() else set()
        gone |= {u for u in contents.units if u == folder or folder in u.parents} - found
        todo |= found


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
