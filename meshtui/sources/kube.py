"""Talking to one API server: kubeconfig as kubectl reads it, and raw GET requests.

Every request is a GET through the official `kubernetes` client; answers are read as raw JSON
(building the client's generated models costs more than the analysis). Split from cluster.py,
which decides what to read and keeps the mesh current.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from meshtui.sources.discovery import LoadError

PAGE_SIZE = 500
# A GET answered 429 or 5xx is sent again, as client-go does for an answer with Retry-After:
# after the server's Retry-After (capped) or else this backoff (with jitter), then given up.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_BACKOFF = (0.5, 1.0, 2.0, 4.0)
RETRY_AFTER_CAP = 10.0

T = TypeVar("T")


class ClusterError(Exception):
    """An API request failed: `status` is the HTTP code, 0 when the server was not reached."""

    def __init__(
        self, status: int, message: str, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class WatchSilent(ClusterError):
    """A watch sent nothing, not even a bookmark, for longer than a live server would."""


# -- requests -------------------------------------------------------------------------------


class Reader:
    """Raw GET requests through the kubernetes client of one context."""

    def __init__(self, api_client: Any, timeout: float) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self._streams: set[Any] = set()  # open watch responses, for interrupt()
        self._streams_lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(getattr(self.api_client.configuration, "host", "") or "")

    def _request(self, path: str, query: list[tuple[str, Any]], timeout: Any) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        method, url, headers, _body, _post = self.api_client.param_serialize(
            method="GET",
            resource_path=path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api_client.call_api(
                method, url, header_params=headers, _request_timeout=timeout
            )
        except (urllib3.exceptions.HTTPError, ApiException) as err:
            # ApiException: the client turns some TLS failures into one, with status 0.
            raise ClusterError(
                0, f"cannot reach the API server at {self.host}: {_reason(err, self.timeout)}"
            ) from err
        if response.status >= 400:
            data = response.read()
            error = _status_error(response.status, data, path)
            error.retry_after = _retry_after(response.getheader("Retry-After"))
            raise error
        return response

    def _read(self, path: str, query: list[tuple[str, Any]]) -> bytes:
        """One GET's body; 429 and 5xx answers are retried a bounded number of times."""
        for attempt in range(len(RETRY_BACKOFF) + 1):
            try:
                return self._read_once(path, query)
            except ClusterError as err:
                if err.status not in RETRY_STATUSES or attempt == len(RETRY_BACKOFF):
                    raise
                if err.retry_after is not None:
                    delay = min(err.retry_after, RETRY_AFTER_CAP)
                else:
                    delay = RETRY_BACKOFF[attempt] * random.uniform(0.5, 1.0)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _read_once(self, path: str, query: list[tuple[str, Any]]) -> bytes:
        import urllib3

        response = self._request(path, query, self.timeout)
        try:
            return response.read()
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(
                0, f"connection lost reading {path}: {_reason(err, self.timeout)}"
            ) from err

    def get(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        return _decode(self._read(path, query or []), path)

    def list(self, path: str, convert: Callable[[Any], T | None]) -> tuple[list[T], str]:
        """Every item of a list, paginated, as `convert` makes it (None: dropped), and the
        list's resourceVersion. Pages are converted as they arrive, so only the kept form of
        the items is held; the next page is fetched while this one is decoded. A continue
        token that expired (410) restarts the list, as client-go's pager does."""
        for attempt in range(3):
            try:
                return self._list_pages(path, convert)
            except ClusterError as err:
                if err.status != 410 or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _list_pages(self, path: str, convert: Callable[[Any], T | None]) -> tuple[list[T], str]:
        out: list[T] = []
        prefetch: ThreadPoolExecutor | None = None
        try:
            data = self._read(path, [("limit", PAGE_SIZE)])
            while True:
                ahead = _continue_token(data)
                upcoming = None
                if ahead:
                    prefetch = prefetch or ThreadPoolExecutor(1, thread_name_prefix="page")
                    upcoming = prefetch.submit(self._read, path, _page_query(ahead))
                page = _decode(data, path)
                del data
                if not isinstance(page, Mapping):
                    raise ClusterError(500, f"{path}: the API server sent no list")
                for item in page.get("items") or ():
                    kept = convert(item)
                    if kept is not None:
                        out.append(kept)
                meta = page.get("metadata") if isinstance(page.get("metadata"), Mapping) else {}
                token = str(meta.get("continue") or "")
                if not token:
                    return out, str(meta.get("resourceVersion") or "")
                del page
                if upcoming is not None and token == ahead:
                    data = upcoming.result()
                else:
                    data = self._read(path, _page_query(token))
        finally:
            if prefetch is not None:
                prefetch.shutdown(wait=False, cancel_futures=True)

    def watch(
        self,
        path: str,
        resource_version: str,
        stop: threading.Event,
        seconds: int,
        quiet: float,
    ) -> Iterator[Any]:
        """Open one watch request (its answer bounded by the request timeout) and return its
        events, which run until the server ends the watch (after `seconds`, timeoutSeconds)
        or the connection drops. Bookmarks are asked for, so a live server sends something
        at least once a minute: `quiet` seconds without a byte raise WatchSilent."""
        query: list[tuple[str, Any]] = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", seconds),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        raw = self._request(path, query, (self.timeout, self.timeout)).response
        # The answer came in time; between events (and bookmarks) the stream may stay quiet
        # for a while: reads of the body have their own timeout, the documented silence.
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(quiet)
        with self._streams_lock:
            self._streams.add(raw)
        return self._events(path, raw, stop, quiet)

    def _events(self, path: str, raw: Any, stop: threading.Event, quiet: float) -> Iterator[Any]:
        import urllib3

        buffer = b""
        complete = False
        try:
            for chunk in raw.stream(65536, decode_content=True):
                if stop.is_set():
                    return
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
            complete = True
        except urllib3.exceptions.ReadTimeoutError as err:
            raise WatchSilent(
                0, f"watch of {path}: nothing received for {quiet:g} s, not even a bookmark"
            ) from err
        except urllib3.exceptions.HTTPError as err:
            raise ClusterError(0, f"watch of {path} dropped: {_reason(err, self.timeout)}") from err
        except ValueError as err:
            raise ClusterError(500, f"watch of {path}: invalid event") from err
        finally:
            with self._streams_lock:
                self._streams.discard(raw)
            if not complete:
                raw.close()  # never hand a half-read stream back to the connection pool
            raw.release_conn()

    def interrupt(self) -> None:
        """Cut every open watch stream (from another thread), so its reader returns now."""
        with self._streams_lock:
            streams = list(self._streams)
        for raw in streams:
            try:
                raw.shutdown()
            except (AttributeError, ValueError, OSError):
                sock = getattr(getattr(raw, "connection", None), "sock", None)
                with contextlib.suppress(OSError, AttributeError):
                    sock.shutdown(socket.SHUT_RDWR)


_gc_pauses = 0
_gc_was_enabled = False
_gc_lock = threading.Lock()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while lists are decoded (nestable, thread-safe).

    Decoding 50,000 pods allocates millions of dicts and lists, none of them in a cycle, and
    the allocations keep triggering collections that rescan everything kept so far: with the
    collector on, the pods took four times as long (benchmarks/README.md, "Live load")."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _page_query(token: str) -> list[tuple[str, Any]]:
    return [("limit", PAGE_SIZE), ("continue", token)]


_DECODER = json.JSONDecoder()


def _continue_token(data: bytes) -> str:
    """The continue token of a list page, read from the list's metadata without decoding the
    items (the API server writes metadata before items); "" when it is not found there."""
    start = data.find(b'"metadata"', 0, 4096)
    if start < 0 or 0 <= data.find(b'"items"', 0, start) < start:
        return ""
    colon = data.find(b":", start + 10, start + 64)
    if colon < 0:
        return ""
    try:
        text = data[colon + 1 : colon + 1 + 16384].decode("utf-8", "replace").lstrip()
        meta, _ = _DECODER.raw_decode(text)
    except ValueError:
        return ""
    return str(meta.get("continue") or "") if isinstance(meta, dict) else ""


def _decode(data: bytes, path: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as err:
        raise ClusterError(500, f"{path}: the API server sent invalid JSON") from err


def _reason(err: BaseException, timeout: float) -> str:
    """A short, readable cause: urllib3 wraps the socket error in a long repr."""
    import urllib3

    seen = err
    for _ in range(4):
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            break
        seen = inner
    # NewConnectionError derives from ConnectTimeoutError, but "refused" is no timeout.
    timed_out = isinstance(seen, urllib3.exceptions.TimeoutError | TimeoutError)
    if timed_out and not isinstance(seen, urllib3.exceptions.NewConnectionError):
        return f"no answer within {timeout:g} s (--request-timeout)"
    if isinstance(seen, urllib3.exceptions.SSLError | ssl.SSLError):
        return f"TLS error: {seen}"
    text = str(seen)
    if isinstance(seen, urllib3.exceptions.ProtocolError) and seen.args:
        # ("Connection aborted.", RemoteDisconnected("Remote end closed connection ...")): the
        # second part is the one that says what happened.
        cause = seen.args[1] if len(seen.args) > 1 else None
        text = str(seen.args[0]).rstrip(".")
        if isinstance(cause, BaseException) and str(cause):
            text = f"{text}: {cause}"
    for marker in ("Failed to establish a new connection: ", "Failed to resolve "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.replace("[Errno 111] ", "").replace("[Errno -2] ", "") or type(seen).__name__


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the API server sends whole seconds)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _status_error(status: int, data: bytes, path: str) -> ClusterError:
    message, reason = "", ""
    try:
        body = json.loads(data)
        if isinstance(body, Mapping):
            message = str(body.get("message") or "")
            reason = str(body.get("reason") or "")
    except ValueError:
        pass
    if status == 401:
        text = "the API server rejected the credentials (401 Unauthorized): log in again"
    elif status == 403:
        text = f"forbidden (403): {message or path}"
    elif status == 404:
        text = f"not found (404): {path}"
    else:
        text = f"{path}: {status} {reason or ''} {message}".strip()
    return ClusterError(status, text, reason)


# -- kubeconfig -----------------------------------------------------------------------------


def kube_client(context: str | None, kubeconfig: str | None) -> tuple[Any, str]:
    """An ApiClient for `context` (default: the current one) and the context's name.

    The kubeconfig is read as kubectl reads it: `kubeconfig` (--kubeconfig), else every file
    of KUBECONFIG merged (read now, not when the client library was imported), else
    ~/.kube/config; in a pod without one, the service account."""
    import urllib3
    from kubernetes import client, config

    paths = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    files = [os.path.expanduser(p) for p in paths.split(os.pathsep) if p]
    has_file = any(os.path.exists(p) for p in files)
    if not has_file and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return _api_client(configuration), "in-cluster"
    if not has_file:
        raise LoadError(f"no kubeconfig found at {paths}")
    try:
        contexts, current = config.list_kube_config_contexts(config_file=paths)
    except (config.ConfigException, OSError, ValueError) as err:
        raise LoadError(f"cannot read kubeconfig {paths}: {err}") from err
    names = [c["name"] for c in contexts or []]
    if context is not None and context not in names:
        raise LoadError(
            f"context {context!r} not found in kubeconfig; contexts: {', '.join(names) or 'none'}"
        )
    name = context or _first_current_context(files) or (current or {}).get("name")
    if not name:
        raise LoadError("the kubeconfig has no current context: give --context")
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=paths,
            context=name,
            client_configuration=configuration,
            persist_config=False,
        )
    except (config.ConfigException, OSError, ValueError, urllib3.exceptions.HTTPError) as err:
        raise LoadError(f"context {name!r}: {err}") from err
    return _api_client(configuration), name


def _first_current_context(files: list[str]) -> str | None:
    """kubectl takes current-context from the first file that sets it; the client library,
    merging KUBECONFIG, from the last."""
    import yaml

    for path in files:
        try:
            with open(path) as fh:
                data = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError):
            continue
        current = data.get("current-context") if isinstance(data, dict) else None
        if current:
            return str(current)
    return None


def _api_client(configuration: Any) -> Any:
    from kubernetes import client

    configuration.retries = _stale_connection_retry()
    return client.ApiClient(configuration)


def _stale_connection_retry() -> Any:
    """urllib3's retry policy for meshtui's GETs: one more try when the connection broke
    before an answer came, nothing else.

    urllib3 retries a GET three times by default, a timed-out read included: one request could
    then take four times --request-timeout. But a kept-alive connection that the server (or a
    load balancer) closed while it sat in the pool only fails once the request is on it
    ("Remote end closed connection without response"); client-go retries such a GET, and so
    does meshtui, once, on a new connection. A timeout, a refused connection or an error
    status fails at once; the watches reconnect with backoff on their own.
    """
    import urllib3

    class StaleConnectionRetry(urllib3.Retry):
        def _is_read_error(self, err: Exception) -> bool:
            # A read timeout then counts as an "other" error, of which none are retried.
            return isinstance(err, urllib3.exceptions.ProtocolError)

    # Answers with a status (429 and 5xx with Retry-After included) come back to Reader._read,
    # which retries them itself with its own bound.
    return StaleConnectionRetry(
        total=1,
        connect=0,
        read=1,
        status=0,
        other=0,
        redirect=0,
        respect_retry_after_header=False,
    )
