"""The inspector's detail pane on what Istio would reject, policy written but not applied,
and the false alarms issue 23 removed: what a person reads when `n` reaches the finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.test_policy_not_applied import egress_pattern
from tests.helpers import dest, dr, route, service, subset, to_yaml, vs
from tests.tui.helpers import cursor_label, detail_text, make_app, press, settle

SIZE = (140, 50)


def deployments(*versions: str, app: str = "reviews") -> list[dict]:
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"{app}-{v}", "namespace": "default"},
            "spec": {"template": {"metadata": {"labels": {"app": app, "version": v}}}},
        }
        for v in versions
    ]


CASES = {
    "webhook": (
        [
            service("reviews"),
            dr("r", "reviews", policy={"connectionPool": {"tcp": {"connectTimeout": "0s"}}}),
        ],
        "InvalidResource",
        ["connectTimeout is 0s: a duration must be at least 1ms", "agent.ValidateDuration"],
    ),
    "merged": (
        [
            service("reviews"),
            dr("reviews-a", "reviews", policy={"tls": {"mode": "ISTIO_MUTUAL"}}),
            dr("reviews-b", "reviews", policy={"connectionPool": {"tcp": {"maxConnections": 5}}}),
        ],
        "MergedPolicyIgnored",
        ["(connectionPool) is dropped", "move these fields to default/reviews-a"],
    ),
    "no-ca": (
        [
            service("db"),
            *deployments("v1", app="db"),
            dr("db", "db", policy={"tls": {"mode": "SIMPLE"}}),
        ],
        "NoCaCertificates",
        ["info", "verified against the system roots", "private CA will fail the handshake"],
    ),
    "egress": (
        egress_pattern(),
        "SubsetWithoutLabels",
        ["info", "documented egress gateway pattern"],
    ),
    "label-typo": (
        [
            service("reviews", selector={"app": "reviews"}),
            *deployments("v1", "v2"),
            dr("reviews", "reviews", subsets=[subset("v1"), subset("v2", {"verison": "v2"})]),
            vs(
                "reviews",
                ["reviews"],
                http=[route(dest("reviews", "v1", weight=90), dest("reviews", "v2", weight=10))],
            ),
        ],
        "SubsetSelectsNothing",
        ["error", "did you mean version=v2?", "fails with 503", "select existing workloads"],
    ),
    "subset-typo": (
        [
            service("reviews", selector={"app": "reviews"}),
            *deployments("stable", "canary"),
            dr("reviews", "reviews", subsets=[subset("stable"), subset("canary")]),
            vs(
                "reviews",
                ["reviews"],
                http=[
                    route(
                        dest("reviews", "stable", weight=90), dest("reviews", "canery", weight=10)
                    )
                ],
            ),
        ],
        "UndefinedSubset",
        ["did you mean canary?", "route to subset canary instead"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_the_detail_pane_says_it(case: str, tmp_path: Path):
    objs, code, words = CASES[case]
    (tmp_path / "mesh.yaml").write_text(to_yaml(*objs))
    async with make_app(str(tmp_path)).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        seen = []
        for _ in range(12):
            await press(pilot, "n")
            text = " ".join(detail_text(app).split())
            seen.append(cursor_label(app))
            if code in text and all(w in text for w in words):
                break
        else:
            pytest.fail(f"no {code} with {words} after n: {seen}\n{detail_text(app)}")
