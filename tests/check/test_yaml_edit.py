"""A fix written into its document's own text: only what changed changes, comments stay."""

from __future__ import annotations

import yaml

from meshtui.sources.yaml_edit import edit_document

DOC = """\
# the rule for reviews
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}  # mesh-wide mTLS
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      connectionPool:
        http: {http1MaxPendingRequests: 10}
"""


def test_a_moved_policy_changes_only_its_lines_and_keeps_comments_and_flow_style():
    before = yaml.safe_load(DOC)
    after = yaml.safe_load(DOC)
    pool = after["spec"]["subsets"][1].pop("trafficPolicy")["connectionPool"]
    after["spec"]["trafficPolicy"]["connectionPool"] = pool
    edited = edit_document(DOC, before, after)
    assert edited is not None
    assert yaml.safe_load(edited) == after
    assert "# the rule for reviews" in edited and "# mesh-wide mTLS" in edited
    assert "    tls: {mode: ISTIO_MUTUAL}  # mesh-wide mTLS\n" in edited
    removed = set(DOC.splitlines()) - set(edited.splitlines())
    assert removed == {"    trafficPolicy:", "        http: {http1MaxPendingRequests: 10}"} | {
        "      connectionPool:"
    } - set(edited.splitlines())


def test_a_list_item_inserted_first_and_a_weight_changed_in_place():
    text = "http:\n- name: canary\n  route:\n  - destination: {host: a}\n    weight: 90\n"
    before = yaml.safe_load(text)
    after = yaml.safe_load(text)
    after["http"][0]["route"][0]["weight"] = 80
    after["http"].insert(0, {"name": "first", "route": [{"destination": {"host": "a"}}]})
    edited = edit_document(text, before, after)
    assert edited is not None and yaml.safe_load(edited) == after
    assert "  - destination: {host: a}\n    weight: 80\n" in edited


def test_a_change_it_cannot_make_in_place_is_refused():
    # A block mapping that becomes a scalar: the caller re-dumps the whole object instead.
    assert edit_document("a:\n  b: 1\n", {"a": {"b": 1}}, {"a": 5}) is None
    # A removed key that is the first of a list item (its line carries the `- `).
    text = "- name: a\n  x: 1\n"
    assert edit_document(text, [{"name": "a", "x": 1}], [{"name": "a"}]) == "- name: a\n"
