"""`meshtui check` on what Istio would reject, policy written but never applied, and the
findings a user should not have to dismiss (issue 23), as `check -o json` reports them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshtui.cli import main
from tests.helpers import dest, dr, route, service, subset, to_yaml, vs


def check_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "-o", "json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def write(tmp_path: Path, *objs: dict) -> Path:
    (tmp_path / "mesh.yaml").write_text(to_yaml(*objs))
    return tmp_path / "mesh.yaml"


def line_of(path: Path, needle: str, after: int = 0) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, text in enumerate(lines, 1) if i > after and needle in text)


def found(report: dict, code: str) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == code]


@pytest.mark.parametrize(
    ("policy", "needle", "words"),
    [
        ({"connectionPool": {"tcp": {"connectTimeout": "0s"}}}, "connectTimeout", "at least 1ms"),
        (
            {"portLevelSettings": [{"port": {"number": 70000}, "tls": {"mode": "DISABLE"}}]},
            "70000",
            "between 1 and 65535",
        ),
    ],
)
def test_what_the_webhook_rejects_is_an_invalid_resource_at_its_line(
    tmp_path, capsys, policy, needle, words
):
    path = write(tmp_path, service("reviews"), dr("reviews", "reviews", policy=policy))
    code, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert code == 1
    assert invalid["severity"] == "error"
    assert invalid["line"] == line_of(path, needle)
    assert words in invalid["message"]
    assert "Istio's webhook rejects it" in invalid["message"]


def test_weights_totalling_zero_and_an_sni_host_outside_the_hosts_are_rejected(tmp_path, capsys):
    path = write(
        tmp_path,
        service("reviews"),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", weight=0), dest("reviews", weight=0))],
            tls=[
                {
                    "match": [{"sniHosts": ["shop.example.com"]}],
                    "route": [{"destination": {"host": "reviews"}}],
                }
            ],
        ),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert invalid["field"] == "spec.http[0].route"
    assert "weights total 0" in invalid["message"]
    assert "SNI host 'shop.example.com' is not covered" in invalid["message"]
    assert invalid["line"] == line_of(path, "route:")


def test_one_invalid_route_does_not_hide_the_other_findings_of_its_virtual_service(
    tmp_path, capsys
):
    path = write(
        tmp_path,
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs(
            "reviews",
            ["reviews"],
            http=[
                {"match": [{"uri": {"prefix": "/a"}}], "route": [{}]},
                route(dest("ratings-typo")),
            ],
        ),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert invalid["field"] == "spec.http[0].route[0].destination"
    [unknown] = found(report, "UnknownHost")
    assert unknown["resource"] == "VirtualService default/reviews"
    assert unknown["line"] == line_of(path, "ratings-typo")


# -- policy written but not applied ------------------------------------------------------------


def test_the_later_merged_rules_top_level_policy_is_reported_lost_naming_its_fields(
    tmp_path, capsys
):
    mtls = {"tls": {"mode": "ISTIO_MUTUAL"}}
    pool = {"connectionPool": {"tcp": {"maxConnections": 10}}}
    path = write(
        tmp_path,
        service("reviews"),
        dr("reviews-a", "reviews", policy=mtls, subsets=[subset("v1")]),
        dr("reviews-b", "reviews", policy={"tls": {"mode": "SIMPLE"}, **pool}),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [lost] = found(report, "MergedPolicyIgnored")
    assert lost["severity"] == "warning"
    assert lost["resource"] == "DestinationRule default/reviews-b"
    assert "(tls, connectionPool) is dropped" in lost["message"]
    assert "move these fields to default/reviews-a" in lost["message"]
    assert lost["line"] == line_of(path, "trafficPolicy", after=line_of(path, "reviews-b"))
    [host] = [h for h in report["hosts"] if h["host"] == "reviews.default.svc.cluster.local"]
    assert host["policy"] == mtls


def test_consecutive_errors_is_ignored_and_not_shown_as_policy_in_force(tmp_path, capsys):
    outlier = {"consecutiveErrors": 5, "interval": "10s"}
    write(tmp_path, service("reviews"), dr("r", "reviews", policy={"outlierDetection": outlier}))
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [ignored] = found(report, "IgnoredField")
    assert ignored["severity"] == "warning"
    assert ignored["field"] == "spec.trafficPolicy.outlierDetection.consecutiveErrors"
    assert "write consecutive5xxErrors" in ignored["message"]
    [host] = [h for h in report["hosts"] if h["host"] == "reviews.default.svc.cluster.local"]
    assert host["policy"] == {"outlierDetection": {"interval": "10s"}}


# -- findings a user should not have to dismiss -----------------------------------------------


def test_tls_without_ca_certificates_is_info_saying_the_system_roots_verify(tmp_path, capsys):
    write(tmp_path, service("db"), dr("db", "db", policy={"tls": {"mode": "SIMPLE"}}))
    code, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [f] = found(report, "NoCaCertificates")
    assert (f["severity"], f["istio"]) == ("info", "IST0128")
    assert "verified against the system roots" in f["message"]
    assert "private CA will fail the handshake" in f["message"]
    assert code == 0


EGRESS = "istio-egressgateway.istio-system.svc.cluster.local"


def egress_pattern() -> list[dict]:
    """Istio's egress gateway task: the app's namespace routes edition.cnn.com through the
    egress gateway, with a label-less subset of the gateway carrying the policy."""
    return [
        service("web", namespace="shop", selector={"app": "web"}),
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}}},
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "cnn", "namespace": "shop"},
            "spec": {
                "hosts": ["edition.cnn.com"],
                "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                "resolution": "DNS",
            },
        },
        dr("egressgateway-for-cnn", EGRESS, namespace="shop", subsets=[{"name": "cnn"}]),
        vs(
            "cnn-through-egress",
            ["edition.cnn.com"],
            namespace="shop",
            http=[route(dest(EGRESS, "cnn", port=80))],
        ),
    ]


def test_the_egress_gateway_pattern_is_not_an_error(tmp_path, capsys):
    write(tmp_path, *egress_pattern())
    code, report = check_json(capsys, str(tmp_path), "--no-fixes")
    # The egress gateway's Service comes with the Istio install: known, though not in the files.
    assert not found(report, "UnknownHost")
    assert not found(report, "UnknownDestinationRuleHost")
    [labels] = found(report, "SubsetWithoutLabels")
    assert labels["severity"] == "info"
    assert "documented egress gateway pattern" in labels["message"]
    # The DestinationRule lives in shop: clients of other namespaces (none in the input) would
    # get no subset cnn; a warning, not an error.
    [undefined] = found(report, "UndefinedSubset")
    assert undefined["severity"] == "warning"
    assert "none of these namespaces has a client" in undefined["message"]
    assert code == 1  # the warning


def test_an_unknown_host_offline_is_a_warning_not_in_these_files(tmp_path, capsys):
    write(
        tmp_path,
        service("reviews"),
        vs("reviews", ["reviews"], http=[route(dest("reviews")), route(dest("federated.remote"))]),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [unknown] = found(report, "UnknownHost")
    assert (unknown["severity"], unknown["istio"]) == ("warning", "IST0101")
    assert "is not in these files" in unknown["message"]


def test_a_routed_subset_whose_labels_are_misspelt_is_an_error_naming_the_pods_labels(
    tmp_path, capsys
):
    write(
        tmp_path,
        service("reviews", selector={"app": "reviews"}),
        *(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"reviews-{v}", "namespace": "default"},
                "spec": {"template": {"metadata": {"labels": {"app": "reviews", "version": v}}}},
            }
            for v in ("v1", "v2")
        ),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", {"verison": "v2"})]),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=90), dest("reviews", "v2", weight=10))],
        ),
    )
    code, report = check_json(capsys, str(tmp_path))
    [nothing] = found(report, "SubsetSelectsNothing")
    assert nothing["severity"] == "error"
    assert "did you mean version=v2?" in nothing["message"]
    assert "fails with 503" in nothing["message"]
    [fix] = nothing["fixes"]
    assert fix["resources"][0]["spec"]["subsets"][1]["labels"] == {"version": "v2"}
    assert code == 1


# -- fixes a person would make ----------------------------------------------------------------


def test_a_misspelt_subset_is_fixed_to_the_nearest_name_first(tmp_path, capsys):
    write(
        tmp_path,
        service("reviews", selector={"app": "reviews"}),
        *(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"reviews-{v}", "namespace": "default"},
                "spec": {"template": {"metadata": {"labels": {"app": "reviews", "version": v}}}},
            }
            for v in ("stable", "canary")
        ),
        dr("reviews", "reviews", subsets=[subset("stable"), subset("canary")]),
        vs(
            "reviews",
            ["reviews"],
            http=[
                route(dest("reviews", "stable", weight=90), dest("reviews", "canery", weight=10))
            ],
        ),
    )
    _, report = check_json(capsys, str(tmp_path))
    [undefined] = found(report, "UndefinedSubset")
    assert "did you mean canary?" in undefined["message"]
    titles = [f["title"] for f in undefined["fixes"]]
    assert titles[0] == "route to subset canary instead"
    assert "route to subset stable instead" not in titles
    assert undefined["fixes"][0]["description"].startswith("Did you mean canary?")
    route_after = undefined["fixes"][0]["resources"][0]["spec"]["http"][0]["route"]
    assert [d["destination"]["subset"] for d in route_after] == ["stable", "canary"]


def test_suppress_accepts_code_equals_star_for_every_resource(tmp_path, capsys):
    write(tmp_path, service("reviews"), vs("r", ["reviews"], http=[route(dest("ghost"))]))
    code, report = check_json(capsys, str(tmp_path), "--suppress", "UnknownHost=*")
    assert not found(report, "UnknownHost")
    assert report["summary"]["suppressed"] == 1
    assert code == 0


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("--suppress=IST9999=*", "no finding has code 'IST9999'"),
        ("--suppress=UnknwonHost=*", "did you mean UnknownHost?"),
        ("--fix-weight=101", "must be between 1 and 99"),
        ("--fix-weight=0", "must be between 1 and 99"),
    ],
)
def test_a_suppression_or_weight_that_cannot_do_what_it_says_is_refused(
    tmp_path, capsys, flag, words
):
    write(tmp_path, service("reviews"))
    with pytest.raises(SystemExit) as exit_:
        main(["check", str(tmp_path), flag])
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err


def test_a_weight_split_lowered_so_every_destination_keeps_a_share_says_so(tmp_path, capsys):
    write(
        tmp_path,
        service("reviews"),
        dr(
            "reviews",
            "reviews",
            subsets=[subset(v, policy=None) for v in ("v1", "v2")]
            + [subset("v3", policy={"loadBalancer": {"simple": "RANDOM"}})],
        ),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=50), dest("reviews", "v2", weight=50))],
        ),
    )
    _, report = check_json(capsys, str(tmp_path), "--fix-weight", "99")
    [dormant] = found(report, "SubsetPolicyNeverApplied")
    [split] = [f for f in dormant["fixes"] if "% of the traffic" in f["title"]]
    assert split["title"] == "send 98% of the traffic to the subset"
    assert (
        "99% asked; lowered to 98% so that each of the 2 destinations there keeps at least 1%"
        in split["description"]
    )
    weights = [d["weight"] for d in split["resources"][0]["spec"]["http"][0]["route"]]
    assert weights == [1, 1, 98]


def test_kinds_meshtui_skips_are_named_in_the_notes_as_partial(tmp_path, capsys):
    template = {
        "apiVersion": "template.openshift.io/v1",
        "kind": "Template",
        "metadata": {"name": "app"},
        "objects": [dr("reviews", "reviews", subsets=[subset("v1")])],
    }
    sidecar = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "default"},
        "spec": {"egress": [{"hosts": ["./*"]}]},
    }
    write(tmp_path, service("reviews"), template, sidecar)
    _, report = check_json(capsys, str(tmp_path))
    [note] = [n for n in report["notes"] if n.startswith("skipped")]
    # Sidecars scope the clients' imports (meshtui.mesh.dataplane): read, not skipped.
    assert "skipped 1 object(s)" in note
    assert "Template (template.openshift.io)" in note and "Sidecar" not in note
    assert "the analysis is partial for them" in note


def test_a_rule_whose_weights_total_zero_does_not_hide_the_next_rules_findings(tmp_path, capsys):
    write(
        tmp_path,
        service("reviews"),
        vs(
            "reviews",
            ["reviews"],
            http=[
                route(dest("reviews", weight=0), dest("reviews", weight=0)),
                route(dest("ghost")),
            ],
        ),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    [invalid] = found(report, "InvalidResource")
    assert invalid["field"] == "spec.http[0].route"
    [unknown] = found(report, "UnknownHost")
    assert unknown["field"] == "spec.http[1].route[0].destination.host"


def test_merged_rules_that_differ_only_by_an_unknown_field_lose_nothing(tmp_path, capsys):
    # The API server prunes the unknown field: both top-level policies are the same.
    lb = {"loadBalancer": {"simple": "RANDOM"}}
    pruned = {"loadBalancer": {"simple": "RANDOM", "simpel": "ROUND_ROBIN"}}
    write(
        tmp_path,
        service("reviews"),
        dr("a", "reviews", policy=lb),
        dr("b", "reviews", policy=pruned),
    )
    _, report = check_json(capsys, str(tmp_path), "--no-fixes")
    assert not found(report, "MergedPolicyIgnored")
    assert found(report, "UnknownField")
