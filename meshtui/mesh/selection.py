"""Label selection of workloads, indexed so a selector costs its smallest posting list."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Mapping

from meshtui.mesh.resources import ObjectRef, Workload


def closest_labels(
    wanted: Mapping[str, str], label_sets: Iterable[Mapping[str, str]]
) -> dict[str, str] | None:
    """The labels one of `label_sets` carries that `wanted` most likely means, each key and
    value the same or a near spelling (`verison: v2` for `version: v2`); None if no set
    matches every label of `wanted` that way."""
    best: tuple[float, dict[str, str]] | None = None
    for labels in label_sets:
        score = 0.0
        fixed: dict[str, str] = {}
        for key, value in wanted.items():
            # The best pair of key and value spellings, of those close enough to count: a key
            # at least 0.6 alike and 1.6 together (so the value too is at least 0.6 alike).
            pick = max(
                (
                    (key_score + value_score, k)
                    for k, v in labels.items()
                    if (key_score := _similar(key, k, 0.6))
                    and (value_score := _similar(value, v, 1.6 - key_score - 1e-9))
                    and key_score + value_score >= 1.6
                ),
                default=None,
            )
            if pick is None:
                break
            fixed[pick[1]] = labels[pick[1]]
            score += pick[0]
        else:
            if fixed and (best is None or score > best[0]):
                best = (score, fixed)
    return best[1] if best is not None else None


def _similar(a: str, b: str, floor: float) -> float:
    """How alike two spellings are (difflib's ratio), or 0.0 when below `floor`: the cheap
    upper bounds first, as difflib.get_close_matches does, since most pairs are far apart."""
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= floor else 0.0


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether `labels` hold every `key=value` of `selector` (an empty one selects all)."""
    return all(labels.get(k) == v for k, v in selector.items())


class WorkloadIndex:
    """Workloads by namespace and by `key=value` label, for subset and service selection."""

    def __init__(self) -> None:
        self._by_ref: dict[ObjectRef, Workload] = {}
        self._by_namespace: dict[str, set[ObjectRef]] = defaultdict(set)
        self._by_label: dict[tuple[str, str, str], set[ObjectRef]] = defaultdict(set)
        self._known_namespaces: set[str] = set()
        self._all_known = False
        self._present: frozenset[str] | None = None  # namespaces(), until the next change

    def __len__(self) -> int:
        return len(self._by_ref)

    def add(self, workload: Workload) -> None:
        ref = workload.meta.ref
        self.remove(ref)
        self._present = None
        self._by_ref[ref] = workload
        self._by_namespace[ref.namespace].add(ref)
        self._known_namespaces.add(ref.namespace)
        for key, value in workload.labels.items():
            self._by_label[(ref.namespace, key, value)].add(ref)

    def remove(self, ref: ObjectRef) -> Workload | None:
        old = self._by_ref.pop(ref, None)
        if old is None:
            return None
        self._present = None
        self._by_namespace[ref.namespace].discard(ref)
        for key, value in old.labels.items():
            postings = self._by_label.get((ref.namespace, key, value))
            if postings is not None:
                postings.discard(ref)
                if not postings:
                    del self._by_label[(ref.namespace, key, value)]
        return old

    def get(self, ref: ObjectRef) -> Workload | None:
        return self._by_ref.get(ref)

    def mark_known(self, namespaces: Iterable[str]) -> None:
        """Record that these namespaces' workloads were read (even if there are none)."""
        self._known_namespaces.update(namespaces)

    def mark_all_known(self) -> None:
        """Every namespace's workloads were read (a cluster-wide pod list)."""
        self._all_known = True

    def namespaces(self) -> frozenset[str]:
        """The namespaces that hold at least one workload of the input (asked per host)."""
        if self._present is None:
            self._present = frozenset(ns for ns, refs in self._by_namespace.items() if refs)
        return self._present

    def is_known(self, namespace: str) -> bool:
        return self._all_known or namespace in self._known_namespaces

    def select(self, namespace: str, *selectors: Mapping[str, str]) -> list[Workload]:
        """Workloads of `namespace` whose labels contain every selector's labels."""
        wanted = [(k, v) for sel in selectors for k, v in sel.items()]
        if not wanted:
            refs: Iterable[ObjectRef] = self._by_namespace.get(namespace, ())
        else:
            postings = [self._by_label.get((namespace, k, v), set()) for k, v in wanted]
            postings.sort(key=len)
            refs = postings[0].intersection(*postings[1:]) if postings[0] else ()
        return sorted(
            (self._by_ref[r] for r in refs), key=lambda w: (w.meta.ref.kind, w.meta.ref.name)
        )
