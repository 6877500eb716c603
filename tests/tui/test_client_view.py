"""The client view: `c` shows the mesh as sidecars in one namespace see it."""

from __future__ import annotations

from tests.tui.helpers import make_app, press, screen_text, settle

CLIENTS = "tests/tui/fixtures/clients"
SIZE = (120, 40)


async def test_c_switches_to_one_namespace_view_and_back():
    app = make_app(CLIENTS)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = screen_text(app)
        header = shown.splitlines()[0]
        assert "as clients in" not in header
        assert "✖ 1 error" in header
        # Every client: frontend's v2 beside pay's v1, each saying whose rule it is.
        assert "v1  no route  clients: all but frontend" in shown
        assert "v2  100%  clients: frontend" in shown
        assert "clients in frontend  frontend/payments-from-frontend" in shown
        assert "undefined subset v2" in shown

        await press(pilot, "c")
        await pilot.press(*"frontend", "enter")
        await settle(pilot)
        shown = screen_text(app)
        assert "as clients in frontend see it" in shown.splitlines()[0]
        assert "✔ no findings" in shown.splitlines()[0]
        assert "undefined subset" not in shown

        await press(pilot, "c")
        await pilot.press("ctrl+a", "ctrl+k", "enter")
        await settle(pilot)
        header = screen_text(app).splitlines()[0]
        assert "as clients in" not in header and "✖ 1 error" in header


async def test_esc_in_the_client_prompt_keeps_the_view():
    app = make_app(CLIENTS)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        await pilot.press(*"shop", "escape")
        await settle(pilot)
        assert app.source.client_namespace is None
        assert "as clients in" not in screen_text(app).splitlines()[0]


def test_client_view_snapshot(snap_compare):
    """frontend's view: its own DestinationRule, subset v2 with RANDOM, no 503."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("c", *"frontend", "enter")
        await settle(pilot)

    assert snap_compare(make_app(CLIENTS), terminal_size=(120, 30), run_before=run_before)


async def test_colon_client_sets_the_view_and_colon_client_all_clears_it():
    app = make_app(CLIENTS)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(":", *"client frontend", "enter")
        await settle(pilot)
        assert "as clients in frontend see it" in screen_text(app).splitlines()[0]
        await pilot.press(":", *"client all", "enter")
        await settle(pilot)
        assert app.source.client_namespace is None
        assert "as clients in" not in screen_text(app).splitlines()[0]


async def test_keys_typed_right_after_c_go_to_the_prompt_not_the_tree():
    app = make_app(CLIENTS)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sort, findings_only = app.options.sort, app.options.findings_only
        await pilot.press("c", *"frontends", "backspace", "enter")  # no pause after c
        await settle(pilot)
        # s (sort) and f (findings only) were letters of the namespace, not keys of the tree.
        assert (app.options.sort, app.options.findings_only) == (sort, findings_only)
        assert app.source.client_namespace == "frontend"


async def test_an_unknown_client_namespace_is_said_and_the_known_ones_offered():
    app = make_app(CLIENTS)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        await pilot.press(*"fronted", "enter")
        await pilot.pause()
        shown = screen_text(app)
        assert "No client in namespace fronted in the input" in shown
        assert "frontend" in shown  # the namespaces it knows
        assert app.source.client_namespace is None  # not applied yet
        await pilot.press("ctrl+a", "ctrl+k", *"fro", "tab", "enter")  # completed
        await settle(pilot)
        assert app.source.client_namespace == "frontend"
