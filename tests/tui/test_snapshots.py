"""What the screen shows, as SVG snapshots in the top-level `snapshots/` folder.

Update after looking at the result: `pytest tests/tui --snapshot-update`, then open the SVGs.
"""

from __future__ import annotations

from tests.tui.helpers import BOOKINFO, DORMANT, HOSTILE, make_app, settle


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
