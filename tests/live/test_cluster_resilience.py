"""The live source never claims more than it knows: a failed reload keeps the running source,
the status is live only while every kind is watched, a stream that gets through wakes the
others, and pods are read in namespaces that gain Istio config after start-up."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshtui.sources import FORBIDDEN, WATCHING, kube, unread_kinds
from meshtui.sources import cluster as cluster_module
from meshtui.sources.cluster import ClusterSource, backoff
from meshtui.sources.files import LoadError
from tests.kubeapi import KubeAPIServer, generate_tls, write_kubeconfig
from tests.kubeapi.objects import pod, service, virtual_service
from tests.live.cluster_fixtures import REVIEWS, Notifications, eventually, load_bookinfo

pytestmark = pytest.mark.usefixtures("fast")
STREAMS = (
    len(cluster_module.ISTIO_KINDS)
    + len(cluster_module.CORE_KINDS)
    + len(cluster_module.EXTRA_KINDS)
)
# The figures as shipped, before the `fast` fixture shortens them.
DEFAULTS = {
    name: getattr(cluster_module, name)
    for name in ("BACKOFF", "WATCH_SECONDS", "WATCH_QUIET_SECONDS", "STALE_AFTER")
}
DEFAULT_BACKOFF = DEFAULTS["BACKOFF"]


@pytest.fixture
def live(kube_api: KubeAPIServer) -> Iterator[tuple[ClusterSource, Notifications]]:
    """Bookinfo, loaded and watched until every stream is live."""
    load_bookinfo(kube_api)
    src = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=2)
    src.load()
    notes = Notifications()
    src.watch(notes)
    eventually(lambda: src.status == "live", what="live")
    yield src, notes
    src.stop()


def reviews(src: ClusterSource):
    return src.snapshot()[0].hosts[REVIEWS]


def watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("watch alpha")]


# -- status -----------------------------------------------------------------------------------


def test_the_status_is_connecting_until_every_kind_is_watched(kube_api):
    load_bookinfo(kube_api)
    src = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=2)
    src.load()
    try:
        assert src.status == "connecting"  # listed, not watched yet
        assert {s.state for s in src.kind_states()} == {"listed"}
        kube_api.hang_next(1, match=lambda r: r.verb == "watch" and r.resource == "pods")
        src.watch(Notifications())
        eventually(
            lambda: len([r for r in kube_api.requests if r.verb == "watch"]) == STREAMS,
            what="every watch sent",
        )
        assert src.status == "connecting"  # the pods' watch is not answered yet
        eventually(lambda: src.status == "live", 3, "live")
        assert {s.state for s in src.kind_states()} == {WATCHING}
    finally:
        src.stop()


def test_watches_ask_for_bookmarks_and_a_server_side_timeout(kube_api, live):
    (first, *_) = [r for r in kube_api.requests if r.verb == "watch"]
    assert first.query["allowWatchBookmarks"] == "true"
    assert first.query["timeoutSeconds"] == str(cluster_module.WATCH_SECONDS)


# -- reload -----------------------------------------------------------------------------------


def test_a_failed_reload_keeps_the_watches_and_they_recover_with_the_server(kube_api, live):
    src, _ = live
    before = src.snapshot()[0]
    kube_api.stop()
    eventually(lambda: src.status != "live", 3, "not live")

    with pytest.raises(LoadError, match=r"^reload failed: context alpha: cannot reach"):
        src.load()

    assert src.status in ("reconnecting",) or src.status.startswith("stale since")
    assert src.status != "live"
    assert len(watch_threads()) == STREAMS  # still following, still retrying
    assert src.snapshot()[0].hosts.keys() == before.hosts.keys()  # the view is kept

    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
    kube_api.start()  # back on the same port, with a DestinationRule fewer
    eventually(lambda: src.status == "live", 5, "live again")
    eventually(lambda: reviews(src).subsets == (), 3, "the deletion seen")
    assert set(reviews(src).undefined_subsets) == {"v1", "v2"}


@pytest.mark.parametrize(
    ("failure", "said"), [("credentials", r"401"), ("tls", r"TLS error")], ids=["401", "tls"]
)
def test_a_reload_that_fails_keeps_the_live_source_live(kube_api, live, tmp_path, failure, said):
    src, notes = live
    context = kube_api.context("alpha")
    if failure == "credentials":
        context = dataclasses.replace(context, token="nobody")  # the server answers 401
    else:  # a certificate authority that did not sign the server's certificate
        context = dataclasses.replace(context, ca_data=generate_tls(tmp_path / "other").ca_data)
    good = src.kubeconfig
    src.kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", [context]))

    with pytest.raises(LoadError, match=rf"^reload failed: context alpha: .*{said}"):
        src.load()

    src.kubeconfig = good
    assert src.status == "live"
    mark = notes.mark()
    kube_api.delete("networking.istio.io/v1/VirtualService", "bookinfo", "reviews")
    notes.wait_for(mark, REVIEWS)  # the old watches still deliver
    assert [s.policy_never_applied for s in reviews(src).subsets] == [True, True, True]


def test_a_successful_reload_replaces_the_watches_once(kube_api, live):
    src, notes = live
    old = watch_threads()

    src.load()

    eventually(lambda: src.status == "live", 3, "live")
    assert not any(t.is_alive() for t in old)
    assert len(watch_threads()) == STREAMS
    src.watch(notes)  # as the inspector does after every load: nothing more is started
    assert len(watch_threads()) == STREAMS
    mark = notes.mark()
    kube_api.delete("networking.istio.io/v1/DestinationRule", "bookinfo", "reviews")
    notes.wait_for(mark, REVIEWS)
    assert reviews(src).subsets == ()


# -- recovery ---------------------------------------------------------------------------------


def test_backoff_doubles_to_its_cap_with_jitter(monkeypatch):
    monkeypatch.setattr(cluster_module, "BACKOFF", DEFAULT_BACKOFF)
    steps = DEFAULT_BACKOFF
    for failures in range(len(steps) + 3):
        step = steps[min(failures, len(steps) - 1)]
        delays = {backoff(failures) for _ in range(50)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jitter: watches do not retry in step
    assert steps[0] == 0.5 and max(steps) == 30


def test_one_stream_getting_through_wakes_the_others_and_live_is_back_within_2_s(
    kube_api, live, monkeypatch
):
    src, _ = live
    # Long waits after three failures: without the wake-up, each watch would wait its own.
    monkeypatch.setattr(cluster_module, "BACKOFF", (0.05, 0.1, 0.2, 4.0))
    outage = time.monotonic()
    kube_api.fail_for(1.5, code=500, match=lambda r: r.verb == "watch")
    kube_api.send_bookmarks()
    time.sleep(0.1)
    for cluster in src.clusters:
        cluster.reader.interrupt()  # every watch drops, reconnects fail for 1.5 s
    eventually(lambda: src.status != "live", 3, "not live")
    eventually(lambda: time.monotonic() - outage > 1.5, 3)

    back = eventually(
        lambda: next(
            (
                r
                for r in kube_api.requests
                if r.verb == "watch" and r.status == 200 and r.at > outage + 1.5
            ),
            None,
        ),
        10,
        "a watch through again",
    )
    eventually(lambda: src.status == "live", 5, "live again")
    live_at = time.monotonic()

    assert live_at - back.at < 2
    reopened = [
        r for r in kube_api.requests if r.verb == "watch" and r.status == 200 and r.at >= back.at
    ]
    assert len({r.path for r in reopened}) == STREAMS
    assert max(r.at for r in reopened) - back.at < 1  # the others did not wait their 2-4 s


# -- pods where Istio config appears ----------------------------------------------------------


def test_pods_of_a_namespace_that_gains_istio_config_are_listed_and_watched(kube_api):
    load_bookinfo(kube_api)
    kube_api.add(service("shop", "cart", selector={"app": "cart"}))
    kube_api.add(pod("shop", "cart-0", {"app": "cart"}))
    kube_api.forbid_pods_cluster_wide()
    kube_api.forbid("pods", namespace="web")
    src = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=2)
    src.load()
    notes = Notifications()
    src.watch(notes)
    cart = "cart.shop.svc.cluster.local"
    try:
        assert src.snapshot()[0].hosts[cart].workloads is None  # not known: not read there

        kube_api.add(virtual_service("shop", "cart", ["cart"]))
        eventually(lambda: src.snapshot()[0].hosts[cart].workloads is not None, 5, "pods read")
        assert [str(w.meta.ref) for w in src.snapshot()[0].hosts[cart].workloads] == [
            "Pod shop/cart-0"
        ]
        eventually(
            lambda: (
                {("list", 200), ("watch", 200)}
                <= {(r.verb, r.status) for r in kube_api.requests if r.namespace == "shop"}
            ),
            what="pods of shop listed, then watched",
        )

        kube_api.add(pod("shop", "cart-1", {"app": "cart"}))  # the new watch follows it
        eventually(lambda: len(src.snapshot()[0].hosts[cart].workloads) == 2, 5, "cart-1")

        kube_api.add(virtual_service("web", "front", ["front.web.svc.cluster.local"]))
        eventually(
            lambda: any(s.kind == "Pod" and "web" in s.unseen for s in src.kind_states()),
            5,
            "web unseen",
        )
        (pods,) = [s for s in src.kind_states() if s.kind == "Pod"]
        assert pods.read_in == ("bookinfo", "shop") and pods.unseen == ("web",)
        assert pods.describe() == (
            "alpha: Pods not readable cluster-wide (403), read in bookinfo, shop; "
            "not readable in web (403)"
        )
        assert unread_kinds(src.kind_states(), "alpha") == {}  # known per namespace
        assert kube_api.methods() == {"GET"}
    finally:
        src.stop()


def test_a_forbidden_istio_kind_is_unread(kube_api):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")
    src = ClusterSource(["alpha"], str(kube_api.kubeconfig), request_timeout=2)
    src.load()

    (rules,) = [s for s in src.kind_states() if s.kind == "DestinationRule"]
    assert (rules.state, rules.reason) == (FORBIDDEN, "forbidden cluster-wide (403)")
    assert unread_kinds(src.kind_states(), "alpha") == {
        "DestinationRule": "forbidden cluster-wide (403)"
    }


def test_the_readme_states_the_figures_the_source_uses():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"**{DEFAULTS['WATCH_QUIET_SECONDS']} s**" in readme
    assert f"after {DEFAULTS['WATCH_SECONDS']} s (`timeoutSeconds`)" in readme
    assert (
        f"retries after {DEFAULT_BACKOFF[0]} s, doubling to a cap of {DEFAULT_BACKOFF[-1]} s"
        in readme
    )
    assert f"still failing after {DEFAULTS['STALE_AFTER']:g} s" in readme
    delays = ", ".join(f"{d:g}" for d in kube.RETRY_BACKOFF)
    assert f"up to {len(kube.RETRY_BACKOFF)} times" in readme and f"{delays} s" in readme
    assert f"(at most {kube.RETRY_AFTER_CAP:g} s)" in readme
