"""What the screen shows, as SVG snapshots in the top-level `snapshots/` folder.

Update after looking at the result: `pytest tests/tui --snapshot-update`, then open the SVGs.
"""

from __future__ import annotations

from tests.tui.helpers import BOOKINFO, DORMANT, GATEWAY_API, HOSTILE, make_app, settle


def test_bookinfo(snap_compare):
    """The bookinfo canary: reviews first (it has the finding), namespaces open."""
    assert snap_compare(make_app(BOOKINFO), terminal_size=(120, 40), run_before=settle)


def test_dormant_policy_finding_selected(snap_compare):
    """`n` selects subset v2, whose policy is never applied: struck through, with the fixes."""
    assert snap_compare(make_app(DORMANT), press=["n"], terminal_size=(120, 40), run_before=settle)


def test_filtered_view(snap_compare):
    """`/v3`: only reviews is left, with the subset and the workload that match opened."""
    assert snap_compare(
        make_app(BOOKINFO),
        press=["slash", "v", "3", "enter"],
        terminal_size=(120, 40),
        run_before=settle,
    )


def test_help_screen(snap_compare):
    assert snap_compare(
        make_app(BOOKINFO), press=["question_mark"], terminal_size=(120, 40), run_before=settle
    )


def test_narrow_terminal(snap_compare):
    """80x24 with the dormant subset selected: the policy fields stack instead of clipping."""
    assert snap_compare(make_app(BOOKINFO), press=["n"], terminal_size=(80, 24), run_before=settle)


def test_markup_and_escapes_show_literally(snap_compare):
    """Names and labels holding `[bold]`, `\\x1b[31m` and an OSC title sequence are text."""
    assert snap_compare(make_app(HOSTILE), press=["n"], terminal_size=(120, 40), run_before=settle)


def test_command_mode_completes_namespaces_80x24(snap_compare):
    """`:ns ` at 80x24: the line under the stacked panes, the namespaces it completes to."""
    assert snap_compare(
        make_app(BOOKINFO, DORMANT),
        press=["colon", "n", "s", "space"],
        terminal_size=(80, 24),
        run_before=settle,
    )


def test_help_screen_80x24(snap_compare):
    assert snap_compare(
        make_app(BOOKINFO), press=["question_mark"], terminal_size=(80, 24), run_before=settle
    )


def test_raw_yaml_with_the_files_line_numbers_120x40(snap_compare):
    """`y` on subset v3: its DestinationRule numbered as in the file, long lines not wrapped."""
    assert snap_compare(
        make_app(BOOKINFO), press=["n", "y"], terminal_size=(120, 40), run_before=settle
    )


def test_detail_search_200x60(snap_compare):
    """`/` in the focused detail pane: every match marked, the current one in yellow."""
    assert snap_compare(
        make_app(BOOKINFO),
        press=["n", "tab", "slash", "i", "s", "t", "i", "o", "enter", "n"],
        terminal_size=(200, 60),
        run_before=settle,
    )


def test_bookinfo_200x60(snap_compare):
    assert snap_compare(make_app(BOOKINFO), terminal_size=(200, 60), run_before=settle)


def test_httproute_beside_a_virtual_service_120x40(snap_compare):
    """The HTTPRoute's route to the whole service for bookinfo, the VirtualService's split for
    everyone else, and the finding that v2's policy is bypassed (issue 21)."""
    assert snap_compare(
        make_app("tests/fixtures/routing/httproute-consumer"),
        press=["j"],
        terminal_size=(120, 40),
        run_before=settle,
    )


def test_route_from_a_kubernetes_gateway_listener_120x40(snap_compare):
    """catalog's traffic without a subset: HTTPRoute bookstore/storefront's rule 0, bound to
    listener http of Gateway ingress/public, carries only the gateway's requests (issue 21)."""
    assert snap_compare(
        make_app(GATEWAY_API),
        press=["j", "j", "enter", "j"],
        terminal_size=(120, 40),
        run_before=settle,
    )


def test_mesh_httproute_split_120x40(snap_compare):
    """catalog-v2's traffic: the mesh HTTPRoute bookstore/catalog-canary's two rules, the
    x-canary match (100%) and the 90/10 split (10% here), with their lines (issue 21)."""
    assert snap_compare(
        make_app(GATEWAY_API),
        press=["j", "enter", "j"],
        terminal_size=(120, 40),
        run_before=settle,
    )


def test_virtual_service_on_a_kubernetes_gateway_120x40(snap_compare):
    """Subset v3, routed only by a VirtualService whose `gateways:` names a Kubernetes Gateway:
    the route is dropped (it binds to nothing), so v3's policy is never applied (issue 21)."""
    assert snap_compare(
        make_app("tests/fixtures/routing/vs-on-k8s-gateway"),
        press=["j", "j", "j"],
        terminal_size=(120, 40),
        run_before=settle,
    )
