"""What Istio's validating webhook rejects beyond the CRD schema.

`kubectl apply` of a DestinationRule, VirtualService, ServiceEntry or Sidecar goes through
istiod's webhook, which runs pkg/config/validation (validation.go, virtualservice.go and
agent/validation.go in istio/istio): a resource it rejects never reaches pilot, as one the
CRD schema refuses. :func:`validate` applies those rules to a spec whose types the schema
(mesh/schema.py) has already checked, so it reads only values of the right type and skips
the rest. Each rule is named after the Istio function it follows (the table test in
tests/mesh/test_webhook.py cites them); the webhook's warnings are left out, except
`consecutiveErrors`, which pilot ignores (IgnoredField).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from meshtui.mesh.schema import Issue, is_mapping
from meshtui.mesh.webhook.destination_rule import destination_rule
from meshtui.mesh.webhook.service_entry import service_entry, sidecar
from meshtui.mesh.webhook.values import IGNORED, STORED, Out, duration_ns
from meshtui.mesh.webhook.virtual_service import INTERNAL_GATEWAY, virtual_service

__all__ = ["IGNORED", "INTERNAL_GATEWAY", "KINDS", "STORED", "duration_ns", "validate"]

KINDS: dict[str, Callable[[Out, Mapping[str, Any], str], None]] = {
    "DestinationRule": destination_rule,
    "VirtualService": virtual_service,
    "ServiceEntry": service_entry,
    "Sidecar": sidecar,
}


def validate(kind: str, spec: object, namespace: str) -> list[Issue]:
    """What Istio's webhook says of `spec` for `kind` (a resource in `namespace`): errors
    (fatal: the resource is rejected) and fields pilot ignores."""
    check = KINDS.get(kind)
    if check is None or not is_mapping(spec):
        return []
    out = Out()
    check(out, spec, namespace)
    return out.issues
