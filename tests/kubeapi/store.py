"""In-memory object store with a global resourceVersion and a bounded event history.

Objects are serialised to compact JSON bytes once, when stored (without apiVersion/kind, which
depend on the version they are served under), so list pages are built by joining bytes.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .kinds import KindSpec

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Entry:
    """One stored object version: its serialised body and what selectors need."""

    __slots__ = ("body", "created", "fields", "labels", "name", "namespace", "rv", "uid")

    def __init__(self, namespace, name, rv, body, labels, fields, uid, created):
        self.namespace: str = namespace
        self.name: str = name
        self.rv: int = rv
        self.body: bytes = body  # JSON without apiVersion/kind
        self.labels: Mapping[str, str] = labels
        self.fields: Mapping[str, str] = fields
        self.uid: str = uid
        self.created: str = created

    def to_dict(self, spec: KindSpec, version: str | None = None) -> dict[str, Any]:
        obj = {"apiVersion": spec.api_version(version or spec.versions[0]), "kind": spec.kind}
        obj.update(json.loads(self.body))
        return obj


@dataclass(frozen=True, slots=True)
class Event:
    rv: int
    type: str
    spec: KindSpec
    entry: Entry


class Expired(Exception):
    """A resourceVersion older than the retained window (410)."""


class Conflict(Exception):
    """add() of an object that exists, update()/delete() of one that does not."""


# ---------------------------------------------------------------------------------------------
# selectors


class SelectorError(ValueError):
    pass


Predicate = Callable[[Entry], bool]


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str) -> Predicate | None:
    """Equality- and set-based label selectors: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x)."""
    if not text or not text.strip():
        return None
    tests: list[Callable[[Mapping[str, str]], bool]] = []
    for term in _split_top_level(text):
        if term.startswith("!"):
            key = term[1:].strip()
            tests.append(lambda labels, k=key: k not in labels)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "==" in term or "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=", 1).split("=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif " notin " in term or " in " in term:
            negate = " notin " in term
            key, rest = term.split(" notin " if negate else " in ", 1)
            rest = rest.strip()
            if not (rest.startswith("(") and rest.endswith(")")):
                raise SelectorError(f"unable to parse requirement: {term!r}")
            values = frozenset(v.strip() for v in rest[1:-1].split(",") if v.strip())
            key = key.strip()
            if negate:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
        else:
            tests.append(lambda labels, k=term: k in labels)
    return lambda entry: all(t(entry.labels) for t in tests)


def parse_field_selector(text: str, spec: KindSpec) -> Predicate | None:
    if not text or not text.strip():
        return None
    allowed = {"metadata.name", "metadata.namespace", *spec.field_labels}
    tests = []
    for term in _split_top_level(text):
        negate = "!=" in term
        key, value = (s.strip() for s in term.replace("==", "=", 1).split("!=" if negate else "="))
        if key not in allowed:
            raise SelectorError(f"field label not supported: {key}")
        tests.append((key, value, negate))

    def predicate(entry: Entry) -> bool:
        fields = entry.fields
        return all((fields.get(key, "") == value) != negate for key, value, negate in tests)

    return predicate


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if type(node) is not dict:
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if node is True or node is False:
        return "true" if node else "false"
    return node if type(node) is str else str(node)


# ---------------------------------------------------------------------------------------------
# the store


class Store:
    def __init__(
        self,
        kinds: Iterable[KindSpec],
        *,
        start_rv: int = 1000,
        history_limit: int = 100_000,
        auto_namespaces: bool = True,
    ) -> None:
        self.kinds = tuple(kinds)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._by_group_kind = {(k.group, k.kind): k for k in self.kinds}
        self._by_kind: dict[str, list[KindSpec]] = {}
        for k in self.kinds:
            self._by_kind.setdefault(k.kind, []).append(k)
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Entry]] = {
            k.resource_key: {} for k in self.kinds
        }
        self._sorted: dict[tuple[str, str], list[tuple[str, str]] | None] = {}
        self._rv = start_rv
        self.history_limit = history_limit
        self._history: list[Event] = []  # contiguous: _history[i].rv == _floor + 1 + i
        self._floor = start_rv  # every event with rv > _floor is in _history
        self.compacted_rv = start_rv  # continue tokens older than this are expired
        self.auto_namespaces = auto_namespaces and ("", "Namespace") in self._by_group_kind

    # -- lookup -----------------------------------------------------------------------------

    def spec_for(self, ref: str | Mapping[str, Any]) -> KindSpec:
        """Find a kind from an object, or "Kind", "v1/Kind", "group/version/Kind", "group/Kind"."""
        if isinstance(ref, Mapping):
            api_version, kind = ref.get("apiVersion", ""), ref.get("kind", "")
            group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
            try:
                return self._by_group_kind[(group, kind)]
            except KeyError:
                raise KeyError(f"unknown kind {api_version}/{kind}") from None
        parts = ref.split("/")
        kind = parts[-1]
        if len(parts) == 1:
            candidates = self._by_kind.get(kind, [])
            if len(candidates) != 1:
                raise KeyError(f"unknown or ambiguous kind {ref!r}")
            return candidates[0]
        group = "" if len(parts) == 2 and parts[0] == "v1" else parts[0]
        try:
            return self._by_group_kind[(group, kind)]
        except KeyError:
            raise KeyError(f"unknown kind {ref!r}") from None

    @property
    def resource_version(self) -> int:
        return self._rv

    def count(self, spec: KindSpec) -> int:
        return len(self._objects[spec.resource_key])

    def get(self, spec: KindSpec, namespace: str, name: str) -> Entry | None:
        return self._objects[spec.resource_key].get((namespace if spec.namespaced else "", name))

    # -- mutation ---------------------------------------------------------------------------

    def _entry(
        self, spec: KindSpec, obj: Mapping[str, Any], rv: int, previous: Entry | None
    ) -> Entry:
        body = {k: v for k, v in obj.items() if k != "apiVersion" and k != "kind"}
        md = dict(body.get("metadata") or {})
        name = md.get("name")
        if not name:
            raise ValueError(f"{spec.kind} without metadata.name")
        if spec.namespaced:
            namespace = md.get("namespace") or "default"
            md["namespace"] = namespace
        else:
            namespace = ""
            md.pop("namespace", None)
        uid = md.get("uid") or (previous.uid if previous else str(uuid.uuid4()))
        created = md.get("creationTimestamp") or (previous.created if previous else now_rfc3339())
        md["uid"], md["creationTimestamp"], md["resourceVersion"] = uid, created, str(rv)
        body["metadata"] = md
        labels = dict(md.get("labels") or {})
        fields = {"metadata.name": name, "metadata.namespace": namespace}
        for path in spec.field_labels:
            fields[path] = _field_value(body, path)
        return Entry(namespace, name, rv, _dumps(body).encode(), labels, fields, uid, created)

    def _record(self, etype: str, spec: KindSpec, entry: Entry) -> None:
        history = self._history
        history.append(Event(entry.rv, etype, spec, entry))
        excess = len(history) - self.history_limit
        if excess > 0 and (excess >= 1024 or excess * 8 >= self.history_limit):
            self._floor = history[excess - 1].rv
            del history[:excess]

    def _insert(self, spec: KindSpec, entry: Entry, *, keep_sorted: bool) -> None:
        key = (entry.namespace, entry.name)
        objects = self._objects[spec.resource_key]
        replacing = key in objects
        objects[key] = entry
        cached = self._sorted.get(spec.resource_key)
        if cached is not None and not replacing:  # a replaced key is already in the sorted list
            if keep_sorted:
                bisect.insort(cached, key)
            else:
                self._sorted[spec.resource_key] = None

    def _ensure_namespace(self, namespace: str) -> None:
        if not (namespace and self.auto_namespaces):
            return
        ns_spec = self._by_group_kind[("", "Namespace")]
        if ("", namespace) in self._objects[ns_spec.resource_key]:
            return
        self._rv += 1
        # An auto-created namespace is in the mesh with sidecars (as the clusters meshtui was
        # first tested against): a test about data planes labels its Namespaces itself.
        labels = {"kubernetes.io/metadata.name": namespace, "istio-injection": "enabled"}
        obj = {
            "metadata": {"name": namespace, "labels": labels},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        entry = self._entry(ns_spec, obj, self._rv, None)
        self._insert(ns_spec, entry, keep_sorted=True)
        self._record(ADDED, ns_spec, entry)

    def add(self, obj: Mapping[str, Any]) -> Entry:
        spec = self.spec_for(obj)
        with self.lock:
            entry = self._add_locked(spec, obj, keep_sorted=True)
            self.changed.notify_all()
        return entry

    def _add_locked(self, spec: KindSpec, obj: Mapping[str, Any], *, keep_sorted: bool) -> Entry:
        md = obj.get("metadata") or {}
        namespace = (md.get("namespace") or "default") if spec.namespaced else ""
        if (namespace, md.get("name")) in self._objects[spec.resource_key]:
            raise Conflict(f'{spec.qualified_plural} "{md.get("name")}" already exists')
        if spec.namespaced:
            self._ensure_namespace(namespace)
        self._rv += 1
        entry = self._entry(spec, obj, self._rv, None)
        self._insert(spec, entry, keep_sorted=keep_sorted)
        self._record(ADDED, spec, entry)
        return entry

    def add_many(self, objs: Iterable[Mapping[str, Any]]) -> int:
        """Add many objects under one lock and one wake-up: O(n), not O(n²)."""
        n = 0
        with self.lock:
            for obj in objs:
                self._add_locked(self.spec_for(obj), obj, keep_sorted=False)
                n += 1
            self.changed.notify_all()
        return n

    def update(self, obj: Mapping[str, Any]) -> Entry:
        spec = self.spec_for(obj)
        md = obj.get("metadata") or {}
        with self.lock:
            previous = self.get(spec, md.get("namespace") or "default", md.get("name", ""))
            if previous is None:
                raise Conflict(f'{spec.qualified_plural} "{md.get("name")}" not found')
            self._rv += 1
            entry = self._entry(spec, obj, self._rv, previous)
            self._insert(spec, entry, keep_sorted=True)
            self._record(MODIFIED, spec, entry)
            self.changed.notify_all()
        return entry

    def delete(self, spec: KindSpec, namespace: str | None, name: str) -> Entry:
        namespace = (namespace or "default") if spec.namespaced else ""
        with self.lock:
            objects = self._objects[spec.resource_key]
            previous = objects.pop((namespace, name), None)
            if previous is None:
                raise Conflict(f'{spec.qualified_plural} "{name}" not found')
            cached = self._sorted.get(spec.resource_key)
            if cached is not None:
                i = bisect.bisect_left(cached, (namespace, name))
                del cached[i]
            self._rv += 1
            body = json.loads(previous.body)
            body["metadata"]["resourceVersion"] = str(self._rv)
            entry = Entry(
                namespace,
                name,
                self._rv,
                _dumps(body).encode(),
                previous.labels,
                previous.fields,
                previous.uid,
                previous.created,
            )
            self._record(DELETED, spec, entry)
            self.changed.notify_all()
        return entry

    def compact(self) -> int:
        """Forget all history: watches and continue tokens from before now get 410."""
        with self.lock:
            self._history.clear()
            self._floor = self.compacted_rv = self._rv
            self.changed.notify_all()
            return self._rv

    # -- reading ----------------------------------------------------------------------------

    def select(
        self,
        spec: KindSpec,
        namespace: str | None,
        predicates: Iterable[Predicate] = (),
    ) -> tuple[int, list[Entry]]:
        """(current rv, entries in namespace/name order), consistent with each other."""
        predicates = [p for p in predicates if p is not None]
        with self.lock:
            objects = self._objects[spec.resource_key]
            keys = self._sorted.get(spec.resource_key)
            if keys is None:
                keys = self._sorted[spec.resource_key] = sorted(objects)
            if namespace:
                lo = bisect.bisect_left(keys, (namespace, ""))
                hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
                keys = keys[lo:hi]
            entries = [objects[k] for k in keys]
            rv = self._rv
        for predicate in predicates:
            entries = [e for e in entries if predicate(e)]
        return rv, entries

    def events_after(self, rv: int) -> list[Event]:
        """Events with resourceVersion > rv; raises Expired if some were already forgotten.

        Call with the lock held (or accept a racy answer).
        """
        if rv < self._floor:
            raise Expired(f"too old resource version: {rv} ({self._floor + 1})")
        return self._history[rv - self._floor :]

    def wait_for_events(self, rv: int, timeout: float) -> list[Event]:
        with self.lock:
            events = self.events_after(rv)
            if not events and timeout > 0:
                self.changed.wait(timeout)
                events = self.events_after(rv)
            return events

    def wake(self) -> None:
        with self.lock:
            self.changed.notify_all()
