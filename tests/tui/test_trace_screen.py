"""The inspector's request trace: `t` on a host or subset, the form, the path, the marked tree."""

from __future__ import annotations

from textual.widgets import Input

from meshtui.tui.model import Kind, NodeRef
from meshtui.tui.screens.trace import TraceScreen
from tests.tui.helpers import (
    BOOKINFO,
    cursor_label,
    make_app,
    press,
    screen_text,
    settle,
    tree_text,
    widget_text,
)

SIZE = (120, 40)
REVIEWS = "reviews.bookinfo.svc.cluster.local"
RATINGS = "ratings.bookinfo.svc.cluster.local"


async def open_form(pilot, ref: NodeRef) -> TraceScreen:
    await settle(pilot)
    assert pilot.app.host_tree.reveal(ref)
    await press(pilot, "t")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, TraceScreen)
    return screen


def result_text(screen: TraceScreen) -> str:
    return widget_text(screen.query_one("#trace-result"))


async def test_t_on_a_host_traces_the_request_and_draws_its_path():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS))
        assert screen.query_one("#trace-namespace", Input).value == "bookinfo"
        assert screen.query_one("#trace-port", Input).value == "9080"

        await press(pilot, "enter")
        await pilot.pause()
        shown = result_text(screen)

        assert "client  a sidecar in namespace bookinfo" in shown
        assert "GET / → reviews.bookinfo.svc.cluster.local:9080 (http)" in shown
        assert "rule    VS bookinfo/reviews http[0] 'canary'" in shown
        assert (
            "90% → reviews.bookinfo.svc.cluster.local:9080 → subset v1 → DR bookinfo/reviews"
            in (shown)
        )
        assert 'policy loadBalancer {"simple": "ROUND_ROBIN"}  (subset)' in shown
        assert "pods   reviews-v1" in shown
        assert "10% → reviews.bookinfo.svc.cluster.local:9080 → subset v2" in shown
        assert "✓ the request gets through" in shown


async def test_closing_the_trace_marks_what_the_request_reaches_in_the_tree():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, NodeRef(Kind.SUBSET, 0, "bookinfo", REVIEWS, "v3"))
        await press(pilot, "enter", "escape")
        await pilot.pause()

        assert not isinstance(app.screen, TraceScreen)
        tree = tree_text(app)
        assert "◀ traced" in tree
        assert "◀ 90% of the trace" in tree
        assert "◀ 10% of the trace" in tree
        marked = [line for line in tree.splitlines() if "◀" in line]
        assert not any("v3" in line for line in marked)  # the canary never reaches v3
        assert cursor_label(app).startswith("v3")  # closing the trace leaves the cursor

        # A second trace, to ratings, unmarks reviews.
        await open_form(pilot, NodeRef(Kind.HOST, 0, "bookinfo", RATINGS))
        await press(pilot, "enter", "escape")
        await pilot.pause()
        marked = [line for line in tree_text(app).splitlines() if "◀" in line]
        assert len(marked) == 2
        assert any("ratings" in line for line in marked)
        assert any("v1" in line and "100% of the trace" in line for line in marked)


async def test_a_bad_port_is_said_in_the_form():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS))
        screen.query_one("#trace-port", Input).value = "http"
        await press(pilot, "enter")
        await pilot.pause()
        assert "port 'http' is not a number from 1 to 65535" in result_text(screen)
        await press(pilot, "escape")
        await pilot.pause()
        assert "◀" not in tree_text(app)


async def test_method_and_headers_from_the_form_reach_the_trace():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS))
        screen.query_one("#trace-method", Input).value = "post"
        screen.query_one("#trace-headers", Input).value = "End-User: jason"
        await press(pilot, "enter")
        await pilot.pause()
        assert "POST / → reviews" in result_text(screen)


async def test_t_outside_a_host_says_where_to_put_the_cursor():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert app.host_tree.reveal(NodeRef(Kind.NAMESPACE, 0, "bookinfo"))
        await press(pilot, "t")
        await pilot.pause()
        assert not isinstance(app.screen, TraceScreen)
        assert any("Put the cursor on a host" in str(n.message) for n in app._notifications)


def test_trace_screen_snapshot(snap_compare):
    """The trace of the bookinfo canary: the path, weights, subsets, DR, policy and pods."""

    async def run_before(pilot):
        await settle(pilot)
        pilot.app.host_tree.reveal(NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS))
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(make_app(BOOKINFO), terminal_size=SIZE, run_before=run_before)


async def test_the_form_starts_from_the_client_view_namespace():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.source.set_client_namespace("web")
        screen = await open_form(pilot, NodeRef(Kind.HOST, 0, "bookinfo", REVIEWS))
        assert screen.query_one("#trace-namespace", Input).value == "web"
        await press(pilot, "enter")
        await pilot.pause()
        assert "client  a sidecar in namespace web" in result_text(screen)


async def test_at_80x24_the_whole_path_can_be_read_and_closing_keeps_the_cursor():
    app = make_app(BOOKINFO)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot, NodeRef(Kind.SUBSET, 0, "bookinfo", REVIEWS, "v3"))
        await press(pilot, "enter")
        assert "esc close" in screen_text(app)  # the box's bottom border is on screen
        assert "90% → reviews" in screen_text(app)
        for _ in range(4):
            await press(pilot, "pagedown")
        assert "✓ the request gets through" in screen_text(app)
        await press(pilot, "pageup")
        await press(pilot, "escape")
        assert cursor_label(app).startswith("v3")
