"""The live source: clusters read through the official `kubernetes` client, list then watch.

Strictly read-only: every request is a GET (list, watch, discovery), and only the kinds the
analysis needs are asked for (never Secrets or ConfigMaps). Responses are read as raw JSON and
trimmed to the fields the core uses: building the client's generated models for 50,000 pods
costs far more than the analysis itself.

The parts: kubeconfig.py (contexts and credentials, as kubectl reads them), kube.py (raw GET
requests), listing.py (reading one cluster), watching.py (keeping it current); this module
holds the contexts together as one source (start-up, reload, contexts that are down).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.hosts import MeshConfig
from meshtui.sources import KindState, Source
from meshtui.sources.discovery import LoadError
from meshtui.sources.kinds import CORE_KINDS, ISTIO_KINDS, trim
from meshtui.sources.kube import PAGE_SIZE, ClusterError, Reader, _continue_token, _gc_paused
from meshtui.sources.kubeconfig import kube_client
from meshtui.sources.listing import Cluster
from meshtui.sources.watching import Stream, backoff

__all__ = [
    "CORE_KINDS",
    "ISTIO_KINDS",
    "PAGE_SIZE",
    "Cluster",
    "ClusterError",
    "ClusterSource",
    "Reader",
    "_continue_token",
    "_gc_paused",
    "backoff",
    "kube_client",
    "trim",
]


class ClusterSource(Source):
    """One or more kubeconfig contexts, each analysed as a mesh of its own."""

    live = True

    def __init__(
        self,
        contexts: list[str] | None = None,
        kubeconfig: str | None = None,
        namespaces: list[str] | None = None,
        request_timeout: float = 30.0,
        config: MeshConfig | None = None,
        open_partially: bool = False,
    ) -> None:
        super().__init__()
        # The inspector opens with the contexts it can reach and shows the others as down,
        # retrying them; a report (check) needs every context it was asked for.
        self.open_partially = open_partially
        self.contexts = list(contexts or [])
        self.kubeconfig = kubeconfig
        self.namespaces = list(namespaces or [])
        self.request_timeout = request_timeout
        self.config = config or MeshConfig()
        self.clusters: list[Cluster] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._notify: Callable[[set[str]], None] | None = None
        self._loaded = False
        scope = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        self.label = f"context {', '.join(self.contexts) or '(current)'} ({scope})"

    def _connect(self) -> list[Cluster]:
        """New clients for every context (the kubeconfig read again: credentials may have
        been renewed since the last load)."""
        return [self._connect_one(context) for context in self.contexts or [None]]

    def _connect_one(self, context: str | None) -> Cluster:
        api_client, name = kube_client(context, self.kubeconfig)
        reader = Reader(api_client, self.request_timeout)
        return Cluster(name, reader, self.namespaces, self.config, self.lock)

    def _tolerates(self, failed: int, total: int) -> bool:
        """Whether to open without `failed` of `total` contexts (shown as down)."""
        return self.open_partially and 0 < failed < total

    def _label(self, clusters: list[Cluster]) -> str:
        names = ", ".join(c.name for c in clusters)
        scope = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        return f"context {names} ({scope})"

    def preflight(self) -> None:
        clusters = self._connect()
        self.label = self._label(clusters)
        errors = []
        for cluster in clusters:
            try:
                cluster.reader.get("/version")
            except ClusterError as err:
                errors.append(LoadError(f"context {cluster.name}: {err}"))
        if errors and not self._tolerates(len(errors), len(clusters)):
            raise errors[0]

    def load(self) -> list[Mesh]:
        """Read every context anew. Only once that succeeded does it replace what is shown
        and watched: a failed reload raises LoadError and leaves the running source as it
        was, its watches still following (and retrying) the clusters."""
        clusters = self._connect()
        with ThreadPoolExecutor(max_workers=len(clusters), thread_name_prefix="cluster") as pool:
            futures = [pool.submit(cluster.load) for cluster in clusters]
        failed: list[tuple[int, ClusterError]] = []
        for i, future in enumerate(futures):
            try:
                future.result()
            except ClusterError as err:
                failed.append((i, err))
        if failed and not self._tolerates(len(failed), len(clusters)):
            i, err = failed[0]
            prefix = "reload failed: " if self._loaded else ""
            raise LoadError(f"{prefix}context {clusters[i].name}: {err}") from err
        for i, err in failed:
            clusters[i] = self._down(clusters[i], err)
        self.stop()
        self._stop = threading.Event()
        with self.lock:
            self.clusters = clusters
            self.label = self._label(clusters)
            self.meshes = [c.mesh for c in clusters]
            self.warnings = [w for c in clusters for w in c.warnings]
            self.notes = [n for c in clusters for n in c.notes]
        self._loaded = True
        if self._notify is not None:
            self.watch(self._notify)  # a reload while watching: follow the new clusters
        return self.meshes

    def _down(self, failed: Cluster, err: ClusterError) -> Cluster:
        """A context that could not be read at start-up: an empty mesh, said to be down."""
        cluster = Cluster(failed.name, failed.reader, self.namespaces, self.config, self.lock)
        cluster.down = True
        cluster.last_error = str(err)
        now = time.time()
        cluster.failing["(load)"] = (now, now)
        return cluster

    def _revive(self, index: int, stop: threading.Event) -> None:
        """Retry a down context with backoff (cut short when another cluster answers) until
        it loads; then it takes its place and is followed like the others."""
        failures = 0
        while not stop.is_set():
            down = self.clusters[index]
            down._pause(backoff(failures), stop, down._round)
            failures += 1
            if stop.is_set():
                return
            try:
                fresh = self._connect_one(self.contexts[index] if self.contexts else None)
                fresh.load()
            except (ClusterError, LoadError) as err:
                with self.lock:
                    down.last_error = str(err)
                continue
            with self.lock:
                if stop.is_set():
                    return
                self.clusters[index] = fresh
                self.meshes[index] = fresh.mesh
                self.warnings += fresh.warnings
            self.watch(self._notify or (lambda hosts: None))
            self._wake_others(fresh)
            if self._notify is not None:
                self._notify(set())
            return

    def watch(self, notify: Callable[[set[str]], None]) -> None:
        """Follow every stream of every cluster (once: calling it again changes nothing);
        retry the contexts that were down at start-up."""
        self._notify = notify
        for index, cluster in enumerate(self.clusters):
            if cluster.spawn is not None:
                continue
            stop = self._stop
            if cluster.down:
                cluster.spawn = lambda stream: None
                thread = threading.Thread(
                    target=self._revive,
                    args=(index, stop),
                    name=f"revive {cluster.name}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
                continue

            def spawn(stream: Stream, cluster: Cluster = cluster, stop=stop) -> None:
                thread = threading.Thread(
                    target=cluster.follow,
                    args=(stream, stop, notify),
                    name=f"watch {cluster.name} {stream.path}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

            cluster.spawn = spawn
            cluster.on_recovered = self._wake_others
            for stream in list(cluster.streams):
                spawn(stream)

    def _wake_others(self, recovered: Cluster) -> None:
        """One cluster answers again: the others retry now, not after their own backoff (an
        outage of the network in between hits them all, and ends for all at once)."""
        for cluster in list(self.clusters):
            if cluster is not recovered:
                cluster.wake()

    def stop(self) -> None:
        self._stop.set()
        for cluster in self.clusters:
            cluster.wake()
            cluster.reader.interrupt()
        for thread in self._threads:
            thread.join(timeout=1)
        self._threads = []

    @property
    def status(self) -> str:
        """The worst cluster's status; `stale since T (alpha, beta)` names the stale ones."""
        clusters = list(self.clusters)
        states = [c.status() for c in clusters]
        if not states:
            return ""
        stale = [(since, c.name) for c in clusters if (since := c.stale_since()) is not None]
        if stale:
            at = time.strftime("%H:%M:%S", time.localtime(min(stale)[0]))
            return f"stale since {at} ({', '.join(name for _, name in stale)})"
        down = [c.name for c in clusters if c.down]
        if down:
            return f"down: {', '.join(down)}"
        worst = next((s for s in states if s == "reconnecting"), None)
        worst = worst or next((s for s in states if s == "connecting"), None)
        return worst or "live"

    @property
    def problem(self) -> str:
        """What is wrong while the status is not live (for a banner), else ""."""
        return "; ".join(
            f"context {c.name}: {c.last_error}" for c in self.clusters if c.failing and c.last_error
        )

    def kind_states(self) -> list[KindState]:
        with self.lock:
            clusters = list(self.clusters)
        return [state for c in clusters for state in c.kind_states()]
