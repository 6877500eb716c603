"""Keeping a cluster's mesh current: one watch per stream, reconnecting with backoff,
relisting on 410 Gone, and saying how current the view is (live, reconnecting, stale).

Split from listing.py, which reads a cluster (discovery, lists, what could not be read);
:class:`Watching` is the part of a :class:`~meshtui.sources.listing.Cluster` that follows it.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshtui.mesh.resources import InvalidField, ObjectRef
from meshtui.sources.kinds import Kind
from meshtui.sources.kube import ClusterError, Reader, WatchSilent

WATCH_SECONDS = 240  # server-side timeout of one watch request (timeoutSeconds); then resumed
# A watch that asked for bookmarks hears from the API server about once a minute even when
# nothing changes (kube-apiserver's cacher sends each bookmark-enabled watcher one a minute).
# One silent for longer is taken for a connection that died without a word (a network cut, a
# server that hung): the view says "reconnecting" at once and the watch is opened again.
WATCH_QUIET_SECONDS = 90
# Seconds between retries of a failing watch, each taken at 50-100 % (jitter): doubling from
# 0.5 s to the cap of 30 s, as client-go's reflector. One watch that gets through again ends
# every other's wait of the same cluster.
BACKOFF = (0.5, 1, 2, 4, 8, 16, 30)
STALE_AFTER = 10.0  # seconds of failed reconnects before the view is called stale


@dataclass
class Stream:
    """One list+watch of one kind in one scope (all namespaces, or one)."""

    kind: Kind
    path: str
    api_version: str
    namespace: str | None
    resource_version: str = ""
    versions: dict[ObjectRef, str] = field(default_factory=dict)  # what the mesh holds
    listed: bool = True  # False: found after start-up, to be listed before it is watched
    watching: bool = False  # a watch request of it was answered
    heard: float = 0.0  # when its watch last received something (epoch seconds)


class Watching:
    """Following a cluster's streams: the watch loop, its backoff and the status it gives.
    Mixed into listing.Cluster, whose lists, mesh and lock it uses."""

    name: str
    reader: Reader
    lock: threading.RLock
    streams: list[Stream]
    failing: dict[str, tuple[float, float]]
    last_error: str
    down: bool
    on_recovered: Callable[[Any], None] | None
    _wake: threading.Condition
    _round: int

    def follow(
        self, stream: Stream, stop: threading.Event, notify: Callable[[set[str]], None]
    ) -> None:
        """Watch one stream until `stop`: reconnect with backoff, relist on 410 Gone.

        `notify(hosts)` gets the hosts whose analysis changed; an empty set when only the
        findings of loading changed (a resource became readable or unreadable). A stream
        found after start-up (a new namespace) is listed first."""
        failures = 0
        while not stop.is_set():
            seen_round = self._round
            error: ClusterError | None
            try:
                if not stream.listed:
                    if not self._first_list(stream, notify):
                        return
                    continue
                events = self.reader.watch(
                    stream.path, stream.resource_version, stop, WATCH_SECONDS, WATCH_QUIET_SECONDS
                )
                stream.heard = time.time()
                if self._recovered(stream):
                    notify(set())  # the status changed (connecting or failing to live)
                failures = 0
                opened, count = time.monotonic(), 0
                with contextlib.closing(events):
                    for count, event in enumerate(events, 1):  # noqa: B007
                        stream.heard = time.time()
                        changed = self._apply(stream, event)
                        if changed is not None:
                            notify(changed)
                # The server ended the watch (timeoutSeconds): resume it, at once unless it
                # ends them as soon as they start.
                quick = count == 0 and time.monotonic() - opened < 1
                if stop.wait(BACKOFF[0] if quick else 0):
                    return
                continue
            except _Gone:
                error = self._relist(stream, notify)
            except WatchSilent as err:
                # A silent stream is a dead one: say so now, and open it again at once.
                self._failed(stream, err)
                continue
            except ClusterError as err:
                error = self._relist(stream, notify) if err.status == 410 else err
            if stop.is_set():
                return
            if error is None:
                continue
            self._failed(stream, error)
            self._pause(backoff(failures), stop, seen_round)
            failures += 1

    def _first_list(self, stream: Stream, notify: Callable[[set[str]], None]) -> bool:
        """List a stream found after start-up; False when it is forbidden (then said)."""
        try:
            changed = self._list(stream)
        except ClusterError as err:
            if err.status != 403:
                raise
            with self.lock:
                self.unseen.setdefault(stream.kind.kind, set()).add(stream.namespace or "")
            notify(set())
            return False
        with self.lock:
            stream.listed = True
            self.streams.append(stream)
            if stream.kind.kind == "Pod" and stream.namespace is not None:
                self.mesh.workloads.mark_known([stream.namespace])
                # Every host of the namespace now has known workloads: analyse them again.
                self.mesh.load(())
        notify(changed)
        return True

    def _pause(self, seconds: float, stop: threading.Event, seen_round: int) -> None:
        """Wait before a retry, cut short by `stop` or by another stream getting through."""
        deadline = time.monotonic() + seconds
        with self._wake:
            while not stop.is_set() and self._round == seen_round:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._wake.wait(left)

    def wake(self) -> None:
        """End every stream's backoff now (the server answered again, or stop)."""
        with self._wake:
            self._round += 1
            self._wake.notify_all()

    def _relist(self, stream: Stream, notify: Callable[[set[str]], None]) -> ClusterError | None:
        with self.lock:
            stream.watching = False  # not live while it is read again
        try:
            changed = self._list(stream)
        except ClusterError as err:
            return err
        self._recovered(stream)
        notify(changed)
        return None

    def _recovered(self, stream: Stream) -> bool:
        """The stream is read again; whether that changed the status of the cluster."""
        with self.lock:
            first = not stream.watching
            stream.watching = True
            was_failing = self.failing.pop(stream.path, None) is not None
        if was_failing:
            self.wake()  # the server answers again: the other streams retry at once
            if self.on_recovered is not None:
                self.on_recovered(self)  # and so may the other clusters (one network came back)
        return first or was_failing

    def _failed(self, stream: Stream, err: ClusterError) -> None:
        with self.lock:
            now = time.time()
            # Its data is current up to the last byte received: for a watch found silent that
            # is WATCH_QUIET_SECONDS before now, for one refused or dropped it is now.
            current = stream.heard if isinstance(err, WatchSilent) and stream.heard else now
            self.failing.setdefault(stream.path, (now, min(current, now)))
            self.last_error = str(err)

    def _apply(self, stream: Stream, event: Mapping[str, Any]) -> set[str] | None:
        """Apply one watch event; the hosts it changed, or None when nothing visible did."""
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, Mapping):
            return None
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise ClusterError(
                int(obj.get("code") or 500), str(obj.get("message") or "watch error")
            )
        meta = obj.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        if version:
            stream.resource_version = str(version)
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            return None  # BOOKMARK: only the resourceVersion moves on
        item = self._parse(stream, obj)
        if item is None:
            return None
        ref, rv, result = item
        if kind != "DELETED" and stream.kind.kind in ("DestinationRule", "VirtualService"):
            self._extend(ref.namespace)
        with self.lock:
            invalid_before = set(self.invalid)
            if kind == "DELETED":
                stream.versions.pop(ref, None)
                changed = self._forget(ref)
            else:
                stream.versions[ref] = rv
                changed = self._put(result)
            if set(self.invalid) != invalid_before or isinstance(result, InvalidField):
                self._sync_findings()
            elif not changed:
                return None
        return changed

    def status(self) -> str:
        """`live` only while every stream is watched; `connecting` before that; after
        STALE_AFTER seconds of failure, `stale since` the time its data was last current;
        `down` while it has never been read."""
        if self.down:
            return "down"
        since = self.stale_since()
        if since is not None:
            return "stale since " + time.strftime("%H:%M:%S", time.localtime(since))
        with self.lock:
            failing = bool(self.failing)
            watching = all(s.watching for s in self.streams)
        if failing:
            return "reconnecting"
        return "live" if watching else "connecting"

    def stale_since(self) -> float | None:
        """When the data was last known current, once failing for STALE_AFTER; else None."""
        if self.down:
            return None
        with self.lock:
            failing = list(self.failing.values())
        if not failing or time.time() - min(n for n, _ in failing) < STALE_AFTER:
            return None
        return min(current for _, current in failing)


def backoff(failures: int) -> float:
    """Seconds before the next try after `failures` failed ones: doubling up to the cap, with
    jitter (half to all of the step) so that watches do not retry in step."""
    return BACKOFF[min(failures, len(BACKOFF) - 1)] * random.uniform(0.5, 1.0)


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): relist."""
