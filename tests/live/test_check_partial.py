"""`meshtui check` live when not everything can be read: a forbidden kind is exit 2, or with
--allow-partial a report that withholds what it cannot know and says so (text, JSON, SARIF);
server errors are retried before they are an exit 2."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from meshtui.cli import main
from meshtui.sources import kube
from tests.kubeapi import KubeAPIServer
from tests.live.cluster_fixtures import REVIEWS, load_bookinfo

DR_LISTS = "/apis/networking.istio.io/v1/destinationrules"


def run(capsys: pytest.CaptureFixture[str], server: KubeAPIServer, *args: str):
    status = main(["check", "--kubeconfig", str(server.kubeconfig), *args])
    out, err = capsys.readouterr()
    return status, out, err


def report(out: str) -> dict[str, Any]:
    return json.loads(out)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube, "RETRY_BACKOFF", (0.01, 0.02, 0.04, 0.08))


# -- a kind that cannot be read --------------------------------------------------------------


def test_forbidden_destination_rules_are_exit_2_naming_them(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")

    status, out, err = run(capsys, kube_api, "-o", "json")

    assert status == 2 and out == ""
    assert err.startswith("meshtui: could not read alpha: DestinationRules not readable")
    assert "forbidden cluster-wide (403)" in err and "--allow-partial" in err


@pytest.mark.parametrize(
    ("kind", "resource"),
    [
        ("DestinationRule", "destinationrules"),
        ("VirtualService", "virtualservices"),
        ("ServiceEntry", "serviceentries"),
        ("Gateway", "gateways"),
        ("Sidecar", "sidecars"),
        ("Service", "services"),
        ("Pod", "pods"),
    ],
)
def test_every_kind_forbidden_is_exit_2_or_named_unread_never_read_as_none(
    kube_api, capsys, kind, resource
):
    load_bookinfo(kube_api)
    kube_api.forbid(resource)

    status, out, err = run(capsys, kube_api, "-o", "json")
    assert status == 2 and out == ""
    assert "forbidden cluster-wide (403)" in err and "--allow-partial" in err

    status, out, _ = run(capsys, kube_api, "-o", "json", "--allow-partial")
    unread = report(out)["partial"]["unread"]
    assert [(u["kind"], u["reason"]) for u in unread] == [(kind, "forbidden cluster-wide (403)")]


def test_allow_partial_invents_no_undefined_subset_and_names_what_is_missing(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")

    status, out, _ = run(capsys, kube_api, "-o", "json", "--allow-partial")

    document = report(out)
    assert status == 0  # the routed subsets are not reported as 503s
    assert document["findings"] == []
    reviews = next(h for h in document["hosts"] if h["host"] == REVIEWS)
    # Unknown, not none: null where "[]" or "{}" would say there are no rules, no policy.
    assert reviews["unread"] == ["DestinationRule"]
    assert reviews["destinationRules"] is None and reviews["policy"] is None
    assert reviews["undefinedSubsets"] is None and reviews["subsets"] is None
    assert reviews["workloads"]  # the pods were read
    (unread,) = document["partial"]["unread"]
    assert (unread["kind"], unread["wholly"]) == ("DestinationRule", True)
    assert unread["reason"] == "forbidden cluster-wide (403)"
    (withheld,) = document["partial"]["withheld"]
    assert (
        withheld["code"] == "UndefinedSubset" and withheld["count"] == 4
    )  # reviews v1, v2; ratings v1; details v1
    assert "DestinationRules not readable" in withheld["because"]


def test_forbidden_virtual_services_withhold_policy_never_applied_only(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid("virtualservices")

    assert run(capsys, kube_api, "-o", "json")[0] == 2
    status, out, _ = run(capsys, kube_api, "-o", "json", "--allow-partial")

    document = report(out)
    assert status == 0
    assert [f["code"] for f in document["findings"]] == []
    assert [(w["code"], w["count"]) for w in document["partial"]["withheld"]] == [
        ("SubsetPolicyNeverApplied", 3)  # v1 and v2 would be false
    ]
    reviews = next(h for h in document["hosts"] if h["host"] == REVIEWS)
    assert [s["name"] for s in reviews["subsets"]] == ["v1", "v2", "v3"]  # what was read
    assert reviews["unread"] == ["VirtualService"] and reviews["routes"] is None
    assert {s["policyNeverApplied"] for s in reviews["subsets"]} == {None}
    assert isinstance(reviews["policy"], dict)  # the DestinationRules were read: it is known


def test_unreadable_pods_leave_subset_selects_nothing_not_judged(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid("pods")

    assert run(capsys, kube_api, "-o", "json")[0] == 2
    status, out, _ = run(capsys, kube_api, "-o", "json", "--allow-partial")

    document = report(out)
    assert status == 1  # the dormant v3 policy rests on no pod: still reported
    reviews = next(h for h in document["hosts"] if h["host"] == REVIEWS)
    assert reviews["unread"] == ["Pod"] and reviews["workloads"] is None
    assert {s["workloads"] for s in reviews["subsets"]} == {None}
    (withheld,) = document["partial"]["withheld"]
    assert withheld["code"] == "SubsetSelectsNothing" and withheld["notJudged"] is True
    assert withheld["count"] == 6  # every subset of bookinfo: reviews 3, the others 1 each
    assert withheld["because"] == (
        "alpha: SubsetSelectsNothing not judged for 6 subsets: "
        "Pods not readable (forbidden cluster-wide (403))"
    )


def test_the_text_report_opens_with_the_partial_notice(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")

    status, out, _ = run(capsys, kube_api, "--allow-partial")

    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("PARTIAL: not everything could be read")
    assert "  - alpha: DestinationRules not readable: forbidden cluster-wide (403)" in lines
    assert any("4 UndefinedSubset findings withheld (unknown)" in line for line in lines)
    assert "UndefinedSubset  subset" not in out  # no finding of it is reported


def test_sarif_says_the_partial_read_as_run_notifications(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")

    status, out, _ = run(capsys, kube_api, "-o", "sarif", "--allow-partial")

    (run_,) = json.loads(out)["runs"]
    assert status == 0 and run_["results"] == []
    (invocation,) = run_["invocations"]
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert texts[0] == "alpha: DestinationRules not readable: forbidden cluster-wide (403)"
    levels = {n["message"]["text"]: n["level"] for n in invocation["toolExecutionNotifications"]}
    # How the input was read is a note: this cluster serves no Gateway API.
    assert {t for t, level in levels.items() if level == "note"} == {
        "alpha: Gateway API not installed"
    }
    assert {level for level in levels.values()} == {"warning", "note"}


def test_pods_unseen_in_one_namespace_are_noticed_but_not_exit_2(kube_api, capsys):
    load_bookinfo(kube_api)
    kube_api.forbid_pods_cluster_wide()
    kube_api.forbid("pods", namespace="bookinfo")

    status, out, _ = run(capsys, kube_api, "-o", "json")

    # Pods read nowhere the Istio config is: that kind could not be read at all.
    assert status == 2 and out == ""
    kube_api.allow()
    kube_api.forbid_pods_cluster_wide()
    status, out, _ = run(capsys, kube_api, "-o", "json")
    document = report(out)
    assert status == 1  # read in bookinfo: the dormant v3 policy, as with every pod
    (unread,) = document["partial"]["unread"]
    assert (unread["kind"], unread["wholly"], unread["readIn"]) == ("Pod", False, ["bookinfo"])


def test_a_complete_read_has_no_partial_key(kube_api, capsys):
    load_bookinfo(kube_api)

    status, out, _ = run(capsys, kube_api, "-o", "json")

    assert status == 1 and "partial" not in report(out)


# -- retries ---------------------------------------------------------------------------------


def test_a_500_once_is_retried_and_the_report_is_whole(kube_api, capsys, quick_retries):
    load_bookinfo(kube_api)
    kube_api.fail_next(1, code=500, match=DR_LISTS)

    status, out, _ = run(capsys, kube_api, "-o", "json")

    assert status == 1
    assert [f["code"] for f in report(out)["findings"]] == ["SubsetPolicyNeverApplied"]
    lists = [r.status for r in kube_api.requests if r.path == DR_LISTS]
    assert lists == [500, 200]


def test_a_500_always_is_given_up_after_a_bounded_number_of_tries(kube_api, capsys, quick_retries):
    load_bookinfo(kube_api)
    kube_api.fail_for(30, code=500, match=DR_LISTS)

    status, out, err = run(capsys, kube_api, "-o", "json")

    assert status == 2 and out == ""
    assert err.startswith("meshtui: context alpha: /apis/networking.istio.io/v1/destinationrules")
    assert "500 InternalError" in err
    lists = [r.status for r in kube_api.requests if r.path == DR_LISTS]
    assert lists == [500] * (len(kube.RETRY_BACKOFF) + 1)


def test_a_429_is_retried_after_the_servers_retry_after(kube_api, capsys, quick_retries):
    load_bookinfo(kube_api)
    kube_api.fail_next(1, code=429, match=DR_LISTS)  # the server says Retry-After: 1

    status, _, _ = run(capsys, kube_api, "-o", "json")

    assert status == 1
    first, second = [r for r in kube_api.requests if r.path == DR_LISTS]
    assert (first.status, second.status) == (429, 200)
    assert 0.9 < second.at - first.at < 3  # not the test's 0.01 s backoff: the server's 1 s


def test_only_get_requests_were_sent(kube_api, capsys, quick_retries):
    load_bookinfo(kube_api)
    kube_api.forbid("destinationrules")
    kube_api.fail_next(2, code=503, match="/pods")
    began = time.monotonic()

    run(capsys, kube_api, "--allow-partial")

    assert time.monotonic() - began < 5
    assert kube_api.methods() == {"GET"}
