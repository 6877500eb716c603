"""ClusterSource.watch: changes on the server reach the analysis host by host, and faults
(dropped watches, 410 Gone, 500s, hung requests, revoked tokens) are survived and said."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest

from meshtui.mesh.findings import Code
from meshtui.sources import STALE, cluster, watching
from meshtui.sources.cluster import ClusterSource
from tests.kubeapi import KubeAPIServer
from tests.kubeapi.objects import destination_rule, pod
from tests.live.cluster_fixtures import (
    DETAILS,
    RATINGS,
    REVIEWS,
    Notifications,
    bookinfo,
    eventually,
    load_bookinfo,
)

DR_PATH = "/apis/networking.istio.io/v1/destinationrules"
STREAMS = len(cluster.ISTIO_KINDS) + len(cluster.CORE_KINDS)  # one watch per kind

pytestmark = pytest.mark.usefixtures("fast")


@pytest.fixture
def watched(kube_api: KubeAPIServer) -> Iterator[tuple[ClusterSource, Notifications]]:
    """Bookinfo loaded by a source that is not watching yet (tests set faults first)."""
    load_bookinfo(kube_api)
    src = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=2)
    src.load()
    yield src, Notifications()
    src.stop()


def start(src: ClusterSource, notes: Notifications) -> None:
    src.watch(notes)


def reviews(src: ClusterSource):
    return src.snapshot()[0].hosts[REVIEWS]


def is_watch(path: str):
    return lambda r: r.verb == "watch" and r.path == path


def all_watched(server: KubeAPIServer):
    return lambda: len({r.path for r in server.requests if r.verb == "watch"}) == STREAMS


def watches(server: KubeAPIServer, path: str = DR_PATH):
    return [r for r in server.requests if r.verb == "watch" and r.path == path]


# -- changes, host by host -----------------------------------------------------------------


def test_a_changed_destination_rule_reanalyses_its_host_only(kube_api, watched):
    src, notes = watched
    start(src, notes)
    rule = bookinfo("DestinationRule", "reviews")
    del rule["spec"]["subsets"][2]["trafficPolicy"]  # v3 no longer has a policy of its own

    mark = notes.mark()
    kube_api.update(rule)

    assert notes.wait_for(mark, REVIEWS) == {REVIEWS}
    assert not reviews(src).subset("v3").policy_never_applied
    assert not src.snapshot()[0].findings
    assert all(REVIEWS in c or not c for c in notes.since(mark))


def test_an_added_destination_rule_reanalyses_its_host_only(kube_api, watched):
    src, notes = watched
    start(src, notes)
    canary = destination_rule(
        "bookinfo",
        "details-canary",
        "details",
        subsets=[{"name": "v2", "labels": {"version": "v2"}, "trafficPolicy": {"tls": None}}],
    )
    canary["spec"]["subsets"][0]["trafficPolicy"] = {"loadBalancer": {"simple": "RANDOM"}}

    mark = notes.mark()
    kube_api.add(canary)

    assert notes.wait_for(mark, DETAILS) == {DETAILS}
    codes = {f.code for f in src.snapshot()[0].hosts[DETAILS].findings}
    assert codes == {
        Code.MULTIPLE_DESTINATION_RULES,
        Code.SUBSET_POLICY_NEVER_APPLIED,
        Code.SUBSET_SELECTS_NOTHING,
    }


def test_a_deleted_destination_rule_leaves_its_routes_pointing_at_undefined_subsets(
    kube_api, watched
):
    src, notes = watched
    start(src, notes)

    mark = notes.mark()
    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "ratings")

    assert notes.wait_for(mark, RATINGS) == {RATINGS}
    host = src.snapshot()[0].hosts[RATINGS]
    assert host.subsets == () and host.undefined_subsets == ("v1",)


def test_deleting_the_virtual_service_makes_every_subset_policy_never_applied(kube_api, watched):
    src, notes = watched
    start(src, notes)
    assert [s.policy_never_applied for s in reviews(src).subsets] == [False, False, True]

    mark = notes.mark()
    kube_api.delete("networking.istio.io/v1/VirtualService", "bookinfo", "reviews")

    assert notes.wait_for(mark, REVIEWS) == {REVIEWS}
    assert [s.policy_never_applied for s in reviews(src).subsets] == [True, True, True]


def test_an_added_pod_joins_the_workloads_of_its_subset(kube_api, watched):
    src, notes = watched
    start(src, notes)
    labels = {"app": "reviews", "version": "v3"}

    mark = notes.mark()
    kube_api.add(pod("bookinfo", "reviews-v3-7f9c-1", labels))
    assert notes.wait_for(mark, REVIEWS) == {REVIEWS}
    v3 = reviews(src).subset("v3")
    assert [str(w.meta.ref) for w in v3.workloads] == [
        "Pod bookinfo/reviews-v3-7f9c-0",
        "Pod bookinfo/reviews-v3-7f9c-1",
    ]

    mark = notes.mark()
    kube_api.delete("Pod", "bookinfo", "reviews-v3-7f9c-0")
    kube_api.delete("Pod", "bookinfo", "reviews-v3-7f9c-1")
    eventually(lambda: reviews(src).subset("v3").selects_nothing, what="v3 selects nothing")
    # Only reviews changed; an empty notification is a status change (a watch that timed out
    # on a busy machine and was opened again), which names no host.
    assert all(c == {REVIEWS} for c in notes.since(mark) if c), notes.since(mark)


def test_a_resource_that_becomes_invalid_is_a_finding_until_it_is_fixed(kube_api, watched):
    src, notes = watched
    start(src, notes)
    broken = bookinfo("DestinationRule", "ratings")
    broken["spec"]["subsets"] = "v1"

    kube_api.update(broken)
    eventually(lambda: src.snapshot()[0].load_findings, what="an InvalidResource finding")
    (finding,) = src.snapshot()[0].load_findings
    assert finding.code is Code.INVALID_RESOURCE
    assert src.snapshot()[0].hosts[RATINGS].undefined_subsets == ("v1",)  # Istio ignores it

    kube_api.update(bookinfo("DestinationRule", "ratings"))
    eventually(lambda: not src.snapshot()[0].load_findings, what="the finding cleared")
    assert src.snapshot()[0].hosts[RATINGS].undefined_subsets == ()


# -- faults --------------------------------------------------------------------------------


def test_a_watch_dropped_mid_stream_reconnects_and_resumes(kube_api, watched):
    src, notes = watched
    kube_api.drop_watch_after(1, match=is_watch(DR_PATH))
    start(src, notes)
    first = bookinfo("DestinationRule", "reviews")
    first["spec"]["trafficPolicy"]["tls"]["mode"] = "DISABLE"

    stored = kube_api.update(first)  # delivered, then the connection is cut
    eventually(lambda: len(watches(kube_api)) >= 2, what="a second watch")
    second = bookinfo("DestinationRule", "reviews")
    second["spec"]["trafficPolicy"]["tls"]["mode"] = "SIMPLE"
    kube_api.update(second)

    eventually(lambda: reviews(src).policy.as_dict()["tls"]["mode"] == "SIMPLE", what="tls")
    eventually(lambda: src.status == "live", what="live again")
    resumed = watches(kube_api)[1].query["resourceVersion"]
    assert int(resumed) >= int(stored["metadata"]["resourceVersion"])
    assert len([r for r in kube_api.requests if r.verb == "list" and r.path == DR_PATH]) == 1


@pytest.mark.parametrize("gone", ["event", "http"])
def test_compacted_history_410_relists_and_the_mesh_is_correct(kube_api, watched, gone):
    src, notes = watched
    kube_api.watch_gone = gone
    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
    kube_api.compact()  # the watch from the list's resourceVersion is now too old

    start(src, notes)

    assert notes.wait_for(0, REVIEWS) == {REVIEWS}
    assert reviews(src).subsets == ()
    assert set(reviews(src).undefined_subsets) == {"v1", "v2"}
    dr_lists = [r for r in kube_api.requests if r.verb == "list" and r.path == DR_PATH]
    assert len(dr_lists) == 2
    eventually(lambda: src.status == "live", what="live")


def test_server_errors_for_a_while_are_reconnecting_then_stale_then_live_and_correct(
    kube_api, watched
):
    src, notes = watched
    kube_api.fail_for(1.2, code=500, match=lambda r: r.verb == "watch")
    start(src, notes)

    eventually(lambda: src.status == "reconnecting", what="reconnecting")
    assert "500" in src.problem
    stale = eventually(lambda: re.fullmatch(r"stale since \d\d:\d\d:\d\d \(alpha\)", src.status), 2)
    assert stale
    rule = bookinfo("DestinationRule", "reviews")
    del rule["spec"]["subsets"][2]["trafficPolicy"]
    kube_api.update(rule)  # made while the watches fail: seen once they resume

    eventually(lambda: src.status == "live", 5, "live again")
    eventually(lambda: not reviews(src).subset("v3").policy_never_applied, what="resumed")
    assert src.problem == ""


def test_a_watch_request_that_hangs_is_bounded_by_the_request_timeout(kube_api, watched):
    src, notes = watched
    src.clusters[0].reader.timeout = 0.3
    kube_api.hang_next(30, match=is_watch(DR_PATH))
    begun = time.monotonic()
    start(src, notes)

    eventually(lambda: src.status == "reconnecting", 2, "reconnecting")
    assert time.monotonic() - begun < 1.5
    assert "no answer within 0.3 s" in src.problem
    eventually(lambda: src.status == "live", 3, "live again")
    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
    eventually(lambda: reviews(src).subsets == (), what="the deletion seen")


@pytest.fixture
def long_watches(monkeypatch: pytest.MonkeyPatch, kube_api: KubeAPIServer) -> None:
    """Watches the server would end only after a minute, bookmarks every 0.1 s, and a watch
    silent for 1 s taken for a dead one."""
    monkeypatch.setattr(watching, "WATCH_SECONDS", 60)
    monkeypatch.setattr(watching, "WATCH_QUIET_SECONDS", 1)
    kube_api.bookmark_interval = 0.1


def test_a_server_gone_silent_is_reconnecting_after_the_silence_not_another_timeout(
    kube_api, watched, long_watches
):
    # The request timeout is long (5 s) and the documented silence short (1 s here, 90 s
    # by default): the view must say so after the silence, not after a reopened watch
    # also timed out.
    src, notes = watched
    src.clusters[0].reader.timeout = 5
    start(src, notes)
    eventually(all_watched(kube_api))
    eventually(lambda: src.status == "live", what="live")

    kube_api.stall()  # connections stay open, nothing comes: a hung server, a cut network
    began = time.monotonic()
    eventually(lambda: src.status == "reconnecting", 10, "reconnecting")
    assert time.monotonic() - began < 2.5  # 1 s of silence, polled; not 1 s + 5 s
    assert "nothing received for 1 s, not even a bookmark" in src.problem

    kube_api.clear_faults()
    eventually(lambda: src.status == "live", 8, "live again")
    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
    eventually(lambda: reviews(src).subsets == (), what="the deletion seen")


def test_quiet_watches_kept_alive_by_bookmarks_are_not_reopened(kube_api, watched, long_watches):
    src, notes = watched
    start(src, notes)
    eventually(all_watched(kube_api))

    time.sleep(2.5)  # nothing changes; only bookmarks come, more often than 1 s

    assert len([r for r in kube_api.requests if r.verb == "watch"]) == STREAMS
    assert src.status == "live"


def test_a_revoked_token_is_said_and_the_view_recovers_with_new_credentials(kube_api, watched):
    src, notes = watched
    start(src, notes)
    eventually(lambda: src.status == "live", what="live")

    kube_api.revoke_token("alpha-token")  # watches end every 2 s; reconnects get 401
    eventually(lambda: src.status != "live", 5, "not live")
    assert "rejected the credentials (401 Unauthorized)" in src.problem

    kube_api.add_token("alpha-token", "alpha")
    eventually(lambda: src.status == "live", 5, "live again")


def test_stop_ends_every_watch_at_once(kube_api, watched):
    src, notes = watched
    kube_api.bookmark_interval = 60  # quiet streams: only stop() can end them
    start(src, notes)
    eventually(all_watched(kube_api))
    time.sleep(0.2)

    begun = time.monotonic()
    src.stop()

    assert time.monotonic() - begun < 1
    assert not [t for t in threading.enumerate() if t.name.startswith("watch alpha")]


# -- several clusters ----------------------------------------------------------------------


def test_a_change_in_one_cluster_reanalyses_that_cluster_only(kube_api_pair):
    first, second = kube_api_pair
    load_bookinfo(first)
    load_bookinfo(second)
    src = ClusterSource(["alpha", "beta"], str(first.kubeconfig), request_timeout=2)
    src.load()
    notes = Notifications()
    src.watch(notes)
    try:
        second.delete("networking.istio.io/v1/VirtualService", "bookinfo", "reviews")

        assert notes.wait_for(0, REVIEWS) == {REVIEWS}
        alpha, beta = src.snapshot()
        assert (alpha.cluster, beta.cluster) == ("alpha", "beta")
        assert [s.policy_never_applied for s in alpha.hosts[REVIEWS].subsets] == [
            False,
            False,
            True,
        ]
        assert [s.policy_never_applied for s in beta.hosts[REVIEWS].subsets] == [True] * 3
    finally:
        src.stop()


def test_stale_since_is_the_last_byte_received_and_names_the_context(
    kube_api, watched, long_watches, monkeypatch
):
    monkeypatch.setattr(watching, "WATCH_QUIET_SECONDS", 2)
    src, notes = watched
    start(src, notes)
    eventually(all_watched(kube_api))
    eventually(lambda: src.status == "live", what="live")

    kube_api.stall()
    stalled = time.time()  # bookmarks came every 0.1 s until now
    status = eventually(lambda: src.status if src.status.startswith("stale") else "", 6)

    assert status.endswith("(alpha)")
    since = min(s.since for s in src.kind_states() if s.state == STALE)
    # The silence is noticed 2 s later; the view is out of date from the last byte, not then.
    assert stalled - 0.5 < since <= stalled + 0.2
    kube_api.clear_faults()
    eventually(lambda: src.status == "live", 8, "live again")


def test_one_cluster_answering_again_wakes_the_others_retries(kube_api_pair, monkeypatch):
    first, second = kube_api_pair
    for server in kube_api_pair:
        load_bookinfo(server)
    # After two quick retries a failing watch waits 5-10 s before it tries again.
    monkeypatch.setattr(watching, "BACKOFF", (0.05, 0.05, 10))
    src = ClusterSource(["alpha", "beta"], str(first.kubeconfig), request_timeout=2)
    src.load()
    src.watch(Notifications())
    try:
        eventually(lambda: src.status == "live", 5, "live")
        second.stop()  # beta's watches fail and settle into their long wait
        eventually(lambda: src.clusters[1].status() != "live", 5, "beta failing")
        time.sleep(1)
        first.stop()  # then the network goes for alpha too, briefly
        eventually(lambda: src.clusters[0].status() != "live", 5, "alpha failing")
        second.start()
        first.start()

        eventually(lambda: src.clusters[0].status() == "live", 5, "alpha live again")
        began = time.monotonic()
        eventually(lambda: src.clusters[1].status() == "live", 5, "beta live again")
        assert time.monotonic() - began < 2  # woken by alpha, not after its own 5-10 s
    finally:
        src.stop()
