"""meshtui.mesh.partial: findings that rest on a kind that could not be read are withheld."""

from __future__ import annotations

from meshtui.mesh.findings import Code, Finding
from meshtui.mesh.partial import DEPENDS_ON, EVERY_KIND, depends_on, plural_kind, withhold
from meshtui.mesh.partial import withhold_analysis as withhold_in
from tests.helpers import analyze, deployment, dest, dr, route, service, subset, svc_host, vs

REVIEWS = svc_host("reviews")
RANDOM = {"loadBalancer": {"simple": "RANDOM"}}
FORBIDDEN = "forbidden cluster-wide (403)"


def mesh_with_every_finding():
    """v1 routed and defined; v2 with a dormant policy and no pod; v9 routed, undefined;
    a duplicate v1 in a second DestinationRule."""
    return analyze(
        service("reviews", selector={"app": "reviews"}),
        deployment("reviews-v1", {"app": "reviews", "version": "v1"}),
        dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", policy=RANDOM)]),
        dr("reviews-extra", "reviews", subsets=[subset("v1")], created="2030-01-01T00:00:00Z"),
        vs(
            "reviews",
            ["reviews"],
            http=[route(dest("reviews", "v1", weight=50), dest("reviews", "v9", weight=50))],
        ),
    )


def codes(findings) -> set[Code]:
    return {f.code for f in findings}


def test_every_finding_code_of_the_core_has_its_dependencies_written_down():
    assert set(DEPENDS_ON) == set(Code)


def test_a_code_not_in_the_table_needs_every_kind():
    class Future:  # a code a later analyzer adds, before the table knows it
        pass

    assert depends_on(Future()) == EVERY_KIND  # type: ignore[arg-type]


def test_the_mesh_has_every_finding_the_tests_below_withhold():
    assert codes(mesh_with_every_finding().findings) == {
        Code.UNDEFINED_SUBSET,
        Code.SUBSET_POLICY_NEVER_APPLIED,
        Code.SUBSET_SELECTS_NOTHING,
        Code.DUPLICATE_SUBSET,
        Code.MULTIPLE_DESTINATION_RULES,
    }


def test_without_destination_rules_no_subset_is_called_undefined():
    analysis, notes = withhold_in(mesh_with_every_finding(), {"DestinationRule": FORBIDDEN})

    assert Code.UNDEFINED_SUBSET not in codes(analysis.findings)
    assert analysis.hosts[REVIEWS].undefined_subsets == ()
    # What the DestinationRules that were read say still stands.
    assert Code.DUPLICATE_SUBSET in codes(analysis.findings)
    # A client namespace's own DR decides whether a subset policy is used, too.
    assert [n.code for n in notes] == [Code.SUBSET_POLICY_NEVER_APPLIED, Code.UNDEFINED_SUBSET]
    note = notes[1]
    assert (note.code, note.count, note.kinds) == (Code.UNDEFINED_SUBSET, 1, ("DestinationRule",))
    assert note.message == (
        "1 UndefinedSubset finding withheld (unknown): "
        "DestinationRules not readable (forbidden cluster-wide (403))"
    )


def test_without_virtual_services_no_subset_policy_is_called_never_applied():
    analysis, notes = withhold_in(mesh_with_every_finding(), {"VirtualService": FORBIDDEN})

    assert Code.SUBSET_POLICY_NEVER_APPLIED not in codes(analysis.findings)
    assert not analysis.hosts[REVIEWS].subset("v2").policy_never_applied
    # Which VirtualService a client uses decides which routes can fail with 503, too.
    assert [n.code for n in notes] == [Code.SUBSET_POLICY_NEVER_APPLIED, Code.UNDEFINED_SUBSET]
    assert Code.UNDEFINED_SUBSET not in codes(analysis.findings)
    assert Code.DUPLICATE_SUBSET in codes(analysis.findings)


def test_without_pods_or_services_no_subset_is_said_to_select_nothing():
    for kind in ("Pod", "Service"):
        analysis, notes = withhold_in(mesh_with_every_finding(), {kind: FORBIDDEN})

        assert Code.SUBSET_SELECTS_NOTHING not in codes(analysis.findings)
        assert not analysis.hosts[REVIEWS].subset("v2").selects_nothing
        assert [n.code for n in notes] == [Code.SUBSET_SELECTS_NOTHING]


def test_host_counts_follow_what_is_kept():
    full = mesh_with_every_finding()
    analysis, notes = withhold_in(full, {"DestinationRule": FORBIDDEN, "Pod": FORBIDDEN})

    assert len(analysis.findings) == len(full.findings) - sum(n.count for n in notes)
    assert len(analysis.hosts[REVIEWS].findings) == len(analysis.findings)


def test_nothing_unread_changes_nothing():
    full = mesh_with_every_finding()

    assert withhold_in(full, {}) == (full, [])
    kept, notes = withhold(full.findings, {})
    assert kept == full.findings and notes == []


def test_load_findings_stand_when_their_kinds_were_read():
    invalid = Finding(Code.INVALID_RESOURCE, "DestinationRule default/x is ignored")

    kept, notes = withhold([invalid], {"DestinationRule": FORBIDDEN})

    assert kept == [invalid] and notes == []


def test_plural_kind_names():
    assert [plural_kind(k) for k in ("DestinationRule", "ServiceEntry", "Pod")] == [
        "DestinationRules",
        "ServiceEntries",
        "Pods",
    ]
