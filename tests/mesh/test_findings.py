"""Every finding code, with a case that raises it and one that must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshtui.mesh.analysis import Mesh
from meshtui.mesh.findings import (
    RULES,
    SEVERITY,
    Code,
    Finding,
    Severity,
    markdown_table,
    reaches,
)
from meshtui.mesh.resources import Origin
from tests.helpers import (
    analyze,
    deployment,
    dest,
    dr,
    route,
    service,
    subset,
    svc_host,
    vs,
)

REVIEWS = svc_host("reviews")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}


def findings(analysis, code: Code):
    return [f for f in analysis.findings if f.code is code]


def test_severities_are_the_documented_ones():
    assert SEVERITY == {
        Code.SUBSET_POLICY_NEVER_APPLIED: Severity.WARNING,
        Code.UNDEFINED_SUBSET: Severity.ERROR,
        Code.SUBSET_SELECTS_NOTHING: Severity.WARNING,
        Code.DUPLICATE_SUBSET: Severity.WARNING,
        Code.MULTIPLE_DESTINATION_RULES: Severity.INFO,
        Code.CONFLICTING_VIRTUAL_SERVICES: Severity.ERROR,
        Code.VIRTUAL_SERVICE_OVERRIDE: Severity.INFO,
        Code.DELEGATE_RULE_DROPPED: Severity.WARNING,
        Code.ROUTE_WITHOUT_PARENT: Severity.WARNING,
        Code.ROUTE_PARENT_NOT_FOUND: Severity.ERROR,
        Code.UNSUPPORTED_REF_KIND: Severity.ERROR,
        Code.BACKEND_NOT_FOUND: Severity.ERROR,
        Code.BACKEND_REF_NOT_PERMITTED: Severity.ERROR,
        Code.ROUTE_NOT_ADMITTED: Severity.ERROR,
        Code.VIRTUAL_SERVICE_ON_KUBERNETES_GATEWAY: Severity.ERROR,
        Code.SUBSET_POLICY_BYPASSED: Severity.WARNING,
        Code.MIXED_ROUTE_SOURCES: Severity.WARNING,
        Code.ROUTE_CONDITION_FALSE: Severity.WARNING,
        Code.UNREACHABLE_RULE: Severity.WARNING,
        Code.INEFFECTIVE_MATCH: Severity.INFO,
        Code.UNKNOWN_GATEWAY: Severity.ERROR,
        Code.GATEWAY_ROUTE_BYPASSES_SUBSETS: Severity.WARNING,
        Code.INVALID_RESOURCE: Severity.ERROR,
        Code.PARSE_ERROR: Severity.ERROR,
        Code.UNKNOWN_FIELD: Severity.WARNING,
        Code.DEPRECATED_FIELD: Severity.INFO,
        Code.PORT_NOT_IN_SERVICE: Severity.WARNING,
        Code.UNKNOWN_HOST: Severity.ERROR,
        Code.UNKNOWN_PORT: Severity.ERROR,
        Code.DESTINATION_PORT_REQUIRED: Severity.ERROR,
        Code.UNKNOWN_DESTINATION_RULE_HOST: Severity.WARNING,
        Code.NO_CA_CERTIFICATES: Severity.INFO,
        Code.NO_CA_CERTIFICATES_PORT: Severity.INFO,
        Code.HOST_NOT_IN_GATEWAY: Severity.WARNING,
        Code.INTERNAL_GATEWAY_REFERENCE: Severity.WARNING,
        Code.SINGLE_DESTINATION_WEIGHT: Severity.INFO,
        Code.DUPLICATE_DESTINATION: Severity.WARNING,
        Code.SUBSET_WITHOUT_LABELS: Severity.WARNING,
        Code.IGNORED_FIELD: Severity.WARNING,
        Code.MERGED_POLICY_IGNORED: Severity.WARNING,
        Code.AMBIENT_WITHOUT_WAYPOINT: Severity.WARNING,
        Code.WAYPOINT_UNAVAILABLE: Severity.WARNING,
        Code.WAYPOINT_IGNORES_VIRTUAL_SERVICE: Severity.WARNING,
        Code.SIDECAR_HIDES_ROUTED_HOST: Severity.WARNING,
        Code.SIDECAR_SELECTS_AMBIENT: Severity.WARNING,
    }
    assert reaches(Severity.ERROR, Severity.WARNING)
    assert not reaches(Severity.INFO, Severity.WARNING)


# -- SubsetPolicyNeverApplied --------------------------------------------------------------


def test_subset_policy_without_route_is_never_applied():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
    )
    [finding] = findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert (finding.host, finding.subset) == (REVIEWS, "v2")
    assert str(finding.resource) == "DestinationRule default/reviews"
    assert finding.path == ("spec", "subsets", 1, "trafficPolicy")
    assert finding.severity is Severity.WARNING
    assert "no VirtualService route names it" in finding.message


def test_dormant_subset_policy_of_an_external_host_without_service_entry_is_reported():
    # No Service or ServiceEntry names api.example.com: the DR is still shown, as its own
    # namespace's clients see it, and its unrouted subset policy is still dead config.
    analysis = analyze(
        dr("ext", "api.example.com", namespace="shop", subsets=[subset("a", policy=RANDOM)]),
    )
    assert "api.example.com" in analysis.hosts
    [finding] = findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert (finding.host, finding.subset) == ("api.example.com", "a")
    assert str(finding.resource) == "DestinationRule shop/ext"


def test_default_route_to_the_service_does_not_apply_the_subset_policy():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v2", policy=RANDOM)]),
        vs("reviews", ["reviews"], http=[route(dest("reviews"))]),
    )
    assert [f.subset for f in findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)] == ["v2"]


def test_route_to_the_subset_applies_its_policy():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs("reviews", ["reviews"], http=[route(dest("reviews", "v2"))]),
    )
    assert findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED) == []


def test_subset_without_own_policy_is_not_reported():
    analysis = analyze(service("reviews"), dr("reviews", "reviews", subsets=[subset("v1")]))
    assert findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED) == []


def test_policy_at_host_level_is_not_reported():
    analysis = analyze(
        service("reviews"), dr("reviews", "reviews", policy=RANDOM, subsets=[subset("v2")])
    )
    assert findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED) == []


def test_only_weight_zero_routes_say_so():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=100), dest("reviews", "v2", weight=0))],
        ),
    )
    [finding] = findings(analysis, Code.SUBSET_POLICY_NEVER_APPLIED)
    assert "weight-0" in finding.message
    assert "VirtualService default/reviews" in finding.message


# -- UndefinedSubset -----------------------------------------------------------------------


def test_route_to_a_subset_the_dr_does_not_define_is_an_error():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs("reviews", ["reviews"], http=[route(dest("reviews", "v9"))]),
    )
    [finding] = findings(analysis, Code.UNDEFINED_SUBSET)
    assert (finding.host, finding.subset, finding.severity) == (REVIEWS, "v9", Severity.ERROR)
    assert str(finding.resource) == "VirtualService default/reviews"
    assert finding.path == ("spec", "http", 0, "route", 0)
    assert analysis.hosts[REVIEWS].undefined_subsets == ("v9",)


def test_route_to_a_subset_of_a_host_without_any_dr_is_an_error():
    analysis = analyze(
        service("reviews"), vs("r", ["reviews"], http=[route(dest("reviews", "v1"))])
    )
    assert [f.subset for f in findings(analysis, Code.UNDEFINED_SUBSET)] == ["v1"]


def test_route_to_a_subset_of_a_host_that_does_not_exist_is_an_error():
    analysis = analyze(vs("r", ["reviews"], http=[route(dest("reveiws", "v1"))]))
    [finding] = findings(analysis, Code.UNDEFINED_SUBSET)
    assert finding.host == svc_host("reveiws")


def test_mirror_to_an_undefined_subset_is_an_error():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs(
            "r",
            ["reviews"],
            http=[route(dest("reviews", "v1"), mirror={"host": "reviews", "subset": "v2"})],
        ),
    )
    [finding] = findings(analysis, Code.UNDEFINED_SUBSET)
    assert finding.path == ("spec", "http", 0, "mirror")


def test_defined_subset_is_not_reported():
    analysis = analyze(
        service("reviews"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        vs("r", ["reviews"], http=[route(dest("reviews", "v1"))]),
    )
    assert findings(analysis, Code.UNDEFINED_SUBSET) == []


BOOKINFO_REVIEWS = svc_host("reviews", "bookinfo")


def frontend_route_to(subset_name: str, *objs, export_to=None):
    """reviews in bookinfo (DR with v1), a VS in frontend routing to `subset_name`."""
    return analyze(
        service("reviews", namespace="bookinfo"),
        dr("reviews", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        *objs,
        vs(
            "r",
            [BOOKINFO_REVIEWS],
            namespace="frontend",
            export_to=export_to,
            http=[route(dest(BOOKINFO_REVIEWS, subset_name))],
        ),
    )


def test_subset_defined_by_the_dr_of_the_only_clients_of_the_route_is_not_reported():
    # The VS is exported to frontend alone, whose clients use frontend's DR: it defines v9.
    analysis = frontend_route_to(
        "v9",
        dr("local", BOOKINFO_REVIEWS, namespace="frontend", subsets=[subset("v9")]),
        export_to=["."],
    )
    assert findings(analysis, Code.UNDEFINED_SUBSET) == []


def test_exported_route_is_also_used_by_clients_that_see_the_service_dr():
    # Exported everywhere, the VS also routes clients of other namespaces (bookinfo's own,
    # say), whose DR is bookinfo's: it has no v9, so their requests fail.
    analysis = frontend_route_to(
        "v9", dr("local", BOOKINFO_REVIEWS, namespace="frontend", subsets=[subset("v9")])
    )
    [finding] = findings(analysis, Code.UNDEFINED_SUBSET)
    assert (finding.host, finding.subset) == (BOOKINFO_REVIEWS, "v9")


@pytest.mark.parametrize("export_to", [None, ["."]], ids=["exported", "private"])
def test_client_namespace_dr_without_the_subset_shadows_the_service_dr(export_to):
    # frontend's own DR for the host wins for frontend's clients, and it defines no v1: the
    # subset the service's DR defines does not exist for them (istioctl IST0101).
    analysis = frontend_route_to(
        "v1",
        dr("local", BOOKINFO_REVIEWS, namespace="frontend", policy={"tls": {"mode": "SIMPLE"}}),
        export_to=export_to,
    )
    [finding] = findings(analysis, Code.UNDEFINED_SUBSET)
    assert (finding.host, finding.subset) == (BOOKINFO_REVIEWS, "v1")
    assert str(finding.resource) == "VirtualService frontend/r"


def test_route_from_another_namespace_to_a_subset_of_the_service_dr_is_not_reported():
    analysis = frontend_route_to("v1")
    assert findings(analysis, Code.UNDEFINED_SUBSET) == []


def test_gateway_in_root_namespace_uses_the_service_dr_not_an_exported_root_dr():
    analysis = analyze(
        service("reviews", namespace="bookinfo"),
        dr("reviews", "reviews", namespace="bookinfo", subsets=[subset("v1")]),
        dr(
            "mesh",
            svc_host("reviews", "bookinfo"),
            namespace="istio-system",
            subsets=[subset("v9")],
        ),
        vs(
            "edge",
            ["reviews.example.com"],
            namespace="istio-system",
            gateways=["ingress"],
            http=[route(dest(svc_host("reviews", "bookinfo"), "v9"))],
        ),
    )
    assert [f.subset for f in findings(analysis, Code.UNDEFINED_SUBSET)] == ["v9"]


# -- SubsetSelectsNothing ------------------------------------------------------------------


def test_subset_whose_labels_match_no_workload_selects_nothing():
    analysis = analyze(
        service("reviews", selector={"app": "reviews"}),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v3")]),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
    )
    [finding] = findings(analysis, Code.SUBSET_SELECTS_NOTHING)
    assert (finding.subset, finding.severity) == ("v3", Severity.WARNING)
    assert finding.path == ("spec", "subsets", 1, "labels")
    assert "version=v3" in finding.message


def test_subset_with_matching_workload_selects_something():
    analysis = analyze(
        service("reviews", selector={"app": "reviews"}),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
    )
    assert findings(analysis, Code.SUBSET_SELECTS_NOTHING) == []


def test_subset_is_info_when_the_input_holds_no_workload():
    # istioctl reports IST0173 here (it assumes no pods exist); meshtui says it cannot tell.
    analysis = analyze(
        service("reviews", selector={"app": "reviews"}),
        dr("reviews", "reviews", subsets=[subset("v3")]),
    )
    [f] = [f for f in analysis.findings if f.code is Code.SUBSET_SELECTS_NOTHING]
    assert f.severity is Severity.INFO
    assert "the input holds no workload in namespace default" in f.message
    assert "cannot be confirmed" in f.message


def test_subset_is_not_judged_where_other_namespaces_have_workloads_but_not_its_own():
    analysis = analyze(
        service("reviews", selector={"app": "reviews"}),
        dr("reviews", "reviews", subsets=[subset("v3")]),
        deployment("web", {"app": "web"}, namespace="front"),
    )
    assert findings(analysis, Code.SUBSET_SELECTS_NOTHING) == []


# -- DuplicateSubset and MultipleDestinationRules ------------------------------------------


def test_merged_drs_defining_a_subset_twice_say_which_wins():
    analysis = analyze(
        service("reviews"),
        dr("a", "reviews", subsets=[subset("v1")]),
        dr("b", "reviews", subsets=[subset("v1", {"track": "canary"})]),
    )
    [finding] = findings(analysis, Code.DUPLICATE_SUBSET)
    assert (finding.subset, finding.severity) == ("v1", Severity.WARNING)
    assert str(finding.resource) == "DestinationRule default/b"
    assert finding.path == ("spec", "subsets", 0)
    assert "uses the one in default/a" in finding.message


def test_distinct_subset_names_are_no_duplicate():
    analysis = analyze(
        service("reviews"),
        dr("a", "reviews", subsets=[subset("v1")]),
        dr("b", "reviews", subsets=[subset("v2")]),
    )
    assert findings(analysis, Code.DUPLICATE_SUBSET) == []


def test_same_subset_name_in_drs_that_are_not_merged_is_no_duplicate():
    analysis = analyze(
        service("reviews"),
        dr("a", "reviews", export_to=["."], subsets=[subset("v1")]),
        dr("b", "reviews", export_to=["*"], subsets=[subset("v1")]),
    )
    assert findings(analysis, Code.DUPLICATE_SUBSET) == []


def test_several_drs_for_one_host_are_reported_as_merged():
    analysis = analyze(
        service("reviews"),
        dr("a", "reviews", subsets=[subset("v1")]),
        dr("b", "reviews", policy=RANDOM),
    )
    [finding] = findings(analysis, Code.MULTIPLE_DESTINATION_RULES)
    assert finding.severity is Severity.INFO
    assert finding.host == REVIEWS
    assert "default/a, default/b" in finding.message
    assert "top-level trafficPolicy from default/b" in finding.message


def test_one_dr_per_host_is_not_reported():
    analysis = analyze(
        service("reviews"),
        service("ratings"),
        dr("reviews", "reviews", subsets=[subset("v1")]),
        dr("ratings", "ratings", subsets=[subset("v1")]),
    )
    assert findings(analysis, Code.MULTIPLE_DESTINATION_RULES) == []


# -- the loading findings, as the core carries them ----------------------------------------


@pytest.mark.parametrize("code", [Code.INVALID_RESOURCE, Code.PARSE_ERROR])
def test_loading_findings_are_errors_with_their_file_and_line(code):
    mesh = Mesh()
    mesh.add_finding(Finding(code, "broken", origin=Origin(file="a.yaml", line=7)))
    [finding] = mesh.analyze().findings
    assert (finding.code, finding.severity, finding.file, finding.line) == (
        code,
        Severity.ERROR,
        "a.yaml",
        7,
    )


def test_findings_are_sorted_worst_first():
    analysis = analyze(
        service("reviews"),
        dr("a", "reviews", subsets=[subset("v1", policy=RANDOM)]),
        dr("b", "reviews", subsets=[subset("v2")]),
        vs("r", ["reviews"], http=[route(dest("reviews", "v9"))]),
    )
    ranks = [f.severity.rank for f in analysis.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert set(ranks) == {Severity.ERROR.rank, Severity.WARNING.rank, Severity.INFO.rank}


def test_readme_findings_table_is_the_table_of_rules():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown_table() in readme, (
        "README.md's findings table is out of date; renew it with: python -c "
        "'from meshtui.mesh.findings import markdown_table; print(markdown_table())'"
    )


def _level_settings() -> dict[str, set[str]]:
    """Where meshtui/mesh gives a finding a level of its own: the code, and the files."""
    import ast

    out: dict[str, set[str]] = {}
    for file in sorted((Path(__file__).resolve().parents[2] / "meshtui" / "mesh").rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            at = isinstance(func, ast.Attribute) and func.attr == "at"
            leveled = any(k.arg == "level" for k in node.keywords)
            if not (at or leveled):
                continue
            level = node.args[0] if at and node.args else None
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "Code"
                ):
                    if (
                        isinstance(level, ast.Attribute)
                        and isinstance(level.value, ast.Name)
                        and level.value.id == "Severity"
                        and RULES[getattr(Code, inner.attr)].severity.name == level.attr
                    ):
                        continue  # its own severity, written out
                    out.setdefault(inner.attr, set()).add(file.name)
                    break
    return out


def test_every_code_is_in_the_readme_with_its_severity_rule_and_fix():
    # Derived from the code: every Code has a row; a code the core gives another level than
    # its own says when (severity_rule); a code the fix modules offer fixes for says what they
    # do.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [c.value for c in Code if f"| `{c.value}` |" not in readme]
    assert not missing, f"README's findings table lacks {missing}"
    assert set(RULES) == set(Code)
    leveled = _level_settings()
    assert {"UNDEFINED_SUBSET", "SUBSET_SELECTS_NOTHING", "UNKNOWN_HOST"} <= set(leveled)
    unsaid = {c: files for c, files in leveled.items() if not RULES[getattr(Code, c)].severity_rule}
    assert not unsaid, f"codes given another severity without a severity_rule: {unsaid}"
    mesh = Path(__file__).resolve().parents[2] / "meshtui" / "mesh"
    fixes = "".join(p.read_text() for p in mesh.glob("fix*.py"))
    fixed = [c for c in Code if f"Code.{c.name}" in fixes]
    assert fixed and all(RULES[c].fix for c in fixed), [c for c in fixed if not RULES[c].fix]
