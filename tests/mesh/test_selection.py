"""Pods of a subset: the service's endpoints whose labels contain all of the subset's labels."""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from meshtui.mesh.resources import Workload
from meshtui.mesh.selection import WorkloadIndex, closest_labels
from tests.helpers import (
    analyze,
    deployment,
    dr,
    host,
    parse,
    pod,
    service,
    service_entry,
    subset,
    subset_of,
    svc_host,
)

REVIEWS = svc_host("reviews")


def workload_names(workloads) -> list[str]:
    return sorted(str(w.meta.ref) for w in workloads)


def reviews_with(*objs, subsets=None):
    return analyze(
        service("reviews", selector={"app": "reviews"}),
        dr("reviews", "reviews", subsets=subsets or [subset("v1"), subset("v2")]),
        *objs,
    )


def test_subset_selects_pods_of_service_with_subset_labels():
    analysis = reviews_with(
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}, replicas=3),
        deployment("reviews-v2", {"app": "reviews", "version": "v2"}),
    )
    assert workload_names(subset_of(analysis, REVIEWS, "v1").workloads) == [
        "Deployment default/reviews-v1"
    ]
    assert subset_of(analysis, REVIEWS, "v1").workloads[0].replicas == 3
    assert workload_names(host(analysis, REVIEWS).workloads) == [
        "Deployment default/reviews-v1",
        "Deployment default/reviews-v2",
    ]


def test_subset_without_labels_selects_all_service_pods():
    analysis = reviews_with(
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
        pod("reviews-canary", {"app": "reviews", "track": "canary"}),
        subsets=[subset("all", labels={})],
    )
    assert workload_names(subset_of(analysis, REVIEWS, "all").workloads) == [
        "Deployment default/reviews-v1",
        "Pod default/reviews-canary",
    ]


def test_subset_labels_do_not_select_pods_outside_the_service_selector():
    analysis = reviews_with(
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
        deployment("ratings-v1", {"app": "ratings", "version": "v1"}),
    )
    assert workload_names(subset_of(analysis, REVIEWS, "v1").workloads) == [
        "Deployment default/reviews-v1"
    ]


def test_pods_of_another_namespace_are_not_selected():
    analysis = reviews_with(
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}, namespace="other"),
        deployment("reviews-v2", {"app": "reviews", "version": "v2"}),
    )
    assert subset_of(analysis, REVIEWS, "v1").workloads == ()


def test_subset_needs_every_one_of_its_labels():
    analysis = reviews_with(
        deployment("v1-blue", {"app": "reviews", "version": "v1", "color": "blue"}),
        deployment("v1-green", {"app": "reviews", "version": "v1", "color": "green"}),
        subsets=[subset("v1-blue", labels={"version": "v1", "color": "blue"})],
    )
    assert workload_names(subset_of(analysis, REVIEWS, "v1-blue").workloads) == [
        "Deployment default/v1-blue"
    ]


def test_every_workload_kind_is_selected():
    kinds = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
    analysis = reviews_with(
        *(deployment(f"w-{k.lower()}", {"app": "reviews", "version": "v1"}, kind=k) for k in kinds),
        pod("w-pod", {"app": "reviews", "version": "v1"}),
    )
    assert sorted(w.meta.ref.kind for w in subset_of(analysis, REVIEWS, "v1").workloads) == sorted(
        (*kinds, "Pod")
    )


def test_workloads_are_unknown_when_none_of_the_namespace_were_read():
    analysis = reviews_with()
    assert host(analysis, REVIEWS).workloads is None
    assert subset_of(analysis, REVIEWS, "v1").workloads is None


def test_service_without_selector_has_no_known_workloads():
    svc = service("reviews")
    del svc["spec"]["selector"]
    analysis = analyze(
        svc,
        dr("reviews", "reviews", subsets=[subset("v1")]),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
    )
    assert subset_of(analysis, REVIEWS, "v1").workloads is None


def test_service_entry_workload_selector_selects_workloads():
    analysis = analyze(
        service_entry("db", ["db.example.com"], selector={"app": "db"}),
        dr("db", "db.example.com", subsets=[subset("primary", {"role": "primary"})]),
        pod("db-0", {"app": "db", "role": "primary"}),
        pod("db-1", {"app": "db", "role": "replica"}),
    )
    assert workload_names(subset_of(analysis, "db.example.com", "primary").workloads) == [
        "Pod default/db-0"
    ]


def test_index_select_intersects_every_selector():
    index = WorkloadIndex()
    for w in (
        pod("a", {"app": "x", "version": "v1"}),
        pod("b", {"app": "x", "version": "v2"}),
        pod("c", {"app": "y", "version": "v1"}),
    ):
        workload = parse(w)
        assert isinstance(workload, Workload)
        index.add(workload)
    assert [w.meta.ref.name for w in index.select("default", {"app": "x"}, {"version": "v1"})] == [
        "a"
    ]
    assert [w.meta.ref.name for w in index.select("default")] == ["a", "b", "c"]
    assert index.select("default", {"app": "z"}) == []
    index.remove(parse(pod("a", {})).meta.ref)
    assert index.select("default", {"version": "v1"})[0].meta.ref.name == "c"


# -- closest_labels: the labels a subset most likely means ---------------------------------------


def _closest_by_exact_ratios(wanted, label_sets):
    """closest_labels as first written: difflib's ratio for every pair, then the thresholds."""

    def similar(a, b):
        return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()

    best = None
    for labels in label_sets:
        score, fixed = 0.0, {}
        for key, value in wanted.items():
            pick = max(
                ((similar(key, k) + similar(value, v), k) for k, v in labels.items()),
                default=(0.0, ""),
            )
            if pick[0] < 1.6 or similar(key, pick[1]) < 0.6:
                break
            fixed[pick[1]] = labels[pick[1]]
            score += pick[0]
        else:
            if fixed and (best is None or score > best[0]):
                best = (score, fixed)
    return best[1] if best is not None else None


_SPELLING = st.text(alphabet="versionapp12-", min_size=1, max_size=9)


@st.composite
def _typo(draw: st.DrawFn, word: str) -> str:
    """`word` with up to two edits (a letter changed, dropped, added or two swapped)."""
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, max(len(word) - 1, 0)))
        letter = draw(st.sampled_from("versionapp12-"))
        edit = draw(st.sampled_from(["change", "drop", "add", "swap"]))
        if edit == "change":
            word = word[:i] + letter + word[i + 1 :]
        elif edit == "drop" and len(word) > 1:
            word = word[:i] + word[i + 1 :]
        elif edit == "add":
            word = word[:i] + letter + word[i:]
        elif len(word) > i + 1:
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word


@st.composite
def _pods_near(draw: st.DrawFn) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Wanted labels, and pods' label sets spelt like them, with typos, and other labels."""
    wanted = draw(st.dictionaries(_SPELLING, _SPELLING, min_size=1, max_size=3))
    pods = []
    for _ in range(draw(st.integers(0, 4))):
        labels = {draw(_typo(k)): draw(_typo(v)) for k, v in wanted.items()}
        labels.update(draw(st.dictionaries(_SPELLING, _SPELLING, max_size=2)))
        pods.append(labels)
    return wanted, pods


@settings(max_examples=400, deadline=None)
@given(_pods_near())
def test_closest_labels_skips_only_pairs_too_far_apart_to_count(case):
    wanted, label_sets = case
    # The cheap bounds decide nothing by themselves: the same labels as exact ratios give.
    assert closest_labels(wanted, label_sets) == _closest_by_exact_ratios(wanted, label_sets)


def test_closest_labels_corrects_a_key_typo_and_a_value_typo():
    pods = [{"app": "reviews", "version": "v1"}, {"app": "reviews", "version": "v2"}]
    assert closest_labels({"verison": "v2"}, pods) == {"version": "v2"}
    assert closest_labels({"app": "reveiws"}, pods) == {"app": "reviews"}
    assert closest_labels({"team": "payments"}, pods) is None
