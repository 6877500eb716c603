"""Contexts and credentials, read from kubeconfig as kubectl reads them, made into a client
of the official `kubernetes` library with meshtui's retry policy."""

from __future__ import annotations

import os
from typing import Any

from meshtui.sources.files import LoadError


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
