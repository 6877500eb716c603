"""What a kubectl and k9s user tries first: ctrl+c, `:` commands, paging every pane, `/` in the
detail and the YAML, narrow terminals. Driven through Pilot; assertions on what is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from meshtui.tui.app import MeshApp
from meshtui.tui.command_mode import CommandLine
from meshtui.tui.screens.help import HelpScreen
from tests.tui.helpers import (
    BOOKINFO,
    DORMANT,
    ROOT,
    cursor_label,
    detail_text,
    editable_copy,
    make_app,
    press,
    screen_text,
    settle,
    tree_text,
)

SIZE = (120, 40)


def footer(app: MeshApp) -> str:
    return screen_text(app).splitlines()[-1]


def notices(app: MeshApp) -> list[str]:
    return [f"{n.title or ''}: {n.message}" for n in app._notifications]


# -- ctrl+c -------------------------------------------------------------------------------


async def test_ctrl_c_quits_like_q():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_ctrl_c_in_the_filter_clears_it_first_then_quits():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"ratings")
        assert "details" not in tree_text(app)
        await press(pilot, "ctrl+c")
        assert app.is_running
        assert app.filter_input.value == ""
        assert "details" in tree_text(app) and "reviews" in tree_text(app)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_ctrl_c_over_the_help_quits():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_c_in_the_pane_search_and_the_palette_clears_them_first():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "tab", "slash", *"port", "ctrl+c")
        assert app.is_running and app.search_input.value == "" and not app.detail_pane.matches
        await press(pilot, "escape", "ctrl+p", *"sort", "ctrl+c")
        assert app.is_running and isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(Input).value == ""
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


# -- command mode -----------------------------------------------------------------------------


async def test_typed_command_keys_never_fire_single_key_actions():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        before = cursor_label(app)
        await press(pilot, "colon", *"ns fy/q?")
        assert isinstance(app.focused, CommandLine)
        assert app.command_line.value == "ns fy/q?"
        assert cursor_label(app) == before  # n did not go to a finding
        assert not app.options.findings_only and not app.show_yaml  # f, y did nothing
        assert app.options.sort.value == "findings first"  # s did not sort
        assert app.is_running and not isinstance(app.screen, HelpScreen)  # q, ? neither
        assert not app.filter_input.has_class("-visible")  # nor /
        await press(pilot, "escape")
        assert not app.command_line.has_class("-visible")
        assert app.focused is app.host_tree
        assert not app.options.namespace  # esc ran nothing


async def test_ns_shows_one_namespace_and_ns_alone_or_all_shows_every_one():
    async with make_app(BOOKINFO, DORMANT).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        assert "namespace shop" in tree_text(app) and "namespace bookinfo" in tree_text(app)
        await press(pilot, "colon", *"ns shop", "enter")
        tree = tree_text(app)
        assert "namespace shop" in tree and "bookinfo" not in tree
        assert "ns shop" in tree.splitlines()[0]  # the tree's title says so
        assert app.focused is app.host_tree
        await press(pilot, "colon", *"ns", "enter")
        assert "namespace bookinfo" in tree_text(app)
        await press(pilot, "colon", *"ns bookinfo", "enter")
        assert "shop" not in tree_text(app)
        await press(pilot, "colon", *"ns all", "enter")
        assert "namespace shop" in tree_text(app) and "namespace bookinfo" in tree_text(app)


async def test_ns_of_a_namespace_not_shown_says_so_and_changes_nothing():
    async with make_app(BOOKINFO).run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "colon", *"ns nowhere", "enter")
        assert "namespace bookinfo" in tree_text(app)
        assert any("No namespace nowhere in this view" in n for n in notices(app))


async def test_tab_completes_the_command_then_its_argument():
    async with make_app(BOOKINFO, DORMANT).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        line = app.command_line
        await press(pilot, "colon")
        assert "ns  ctx  client  q" in screen_text(app)  # what can be typed, under the line
        await press(pilot, "n", "tab")
        assert line.value == "ns "
        assert "all  bookinfo  shop" in screen_text(app)
        await press(pilot, "s", "tab")
        assert line.value == "ns shop"
        await press(pilot, "enter")
        assert "bookinfo" not in tree_text(app)


async def test_the_first_completion_shows_greyed_after_the_cursor():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "colon", *"ns b")
        await pilot.pause(0.1)
        assert ": ns bookinfo" in screen_text(app).replace("▎", "").replace("▊", "") or (
            "ns bookinfo" in screen_text(app)
        )


async def test_unknown_command_says_so():
    async with make_app(BOOKINFO).run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "colon", *"pods", "enter")
        assert any("Unknown command :pods" in n and ":ns" in n for n in notices(app))
        assert app.is_running and app.focused is app.host_tree


async def test_colon_q_quits():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon", "q")
        await pilot.press("enter")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_ctx_offline_says_it_needs_a_live_view():
    async with make_app(BOOKINFO).run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "colon", *"ctx prod", "enter")
        assert any("switches the context of a live view" in n for n in notices(app))
        assert "namespace bookinfo" in tree_text(app)


async def test_ctrl_c_in_the_command_line_clears_it_first():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "colon", *"ns book", "ctrl+c")
        assert app.is_running and app.command_line.value == ""
        assert isinstance(app.focused, CommandLine)


# -- paging every pane --------------------------------------------------------------------------


async def test_paging_keys_scroll_the_detail_pane():
    async with make_app(DORMANT).run_test(size=(100, 20)) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n", "tab")
        pane = app.detail_pane
        height = pane.scrollable_content_region.height
        assert pane.max_scroll_y > height  # more than a page to scroll
        await press(pilot, "ctrl+d")
        assert pane.scroll_y == height // 2
        await press(pilot, "ctrl+u")
        assert pane.scroll_y == 0
        await press(pilot, "space")
        assert pane.scroll_y == height - 1
        await press(pilot, "b")
        assert pane.scroll_y == 0
        await press(pilot, "pagedown", "pageup")
        assert pane.scroll_y == 0
        await press(pilot, "G")
        assert pane.scroll_y == pane.max_scroll_y
        await press(pilot, "g")
        assert pane.scroll_y == 0
        assert cursor_label(app).startswith("v2")  # the tree did not move


async def test_ctrl_d_and_ctrl_u_move_the_tree_half_a_page():
    async with make_app(BOOKINFO).run_test(size=(120, 14)) as pilot:
        await settle(pilot)
        app = pilot.app
        tree = app.host_tree
        await press(pilot, "g")
        half = tree.scrollable_content_region.height // 2
        await press(pilot, "ctrl+d")
        assert tree.cursor_line == half
        await press(pilot, "ctrl+u")
        assert tree.cursor_line == 0


async def test_paging_keys_scroll_the_help():
    async with make_app(BOOKINFO).run_test(size=(100, 20)) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "question_mark")
        scroll = app.screen.query_one("HelpScroll")
        await press(pilot, "j")
        assert scroll.scroll_y == 1
        await press(pilot, "space")
        assert scroll.scroll_y > 1
        await press(pilot, "G")
        assert scroll.scroll_y == scroll.max_scroll_y > 0
        await press(pilot, "g")
        assert scroll.scroll_y == 0


# -- `/` searches the focused pane ----------------------------------------------------------------


async def test_slash_in_the_detail_pane_searches_it_and_n_N_step_through_matches():
    async with make_app(DORMANT).run_test(size=(100, 20)) as pilot:
        await settle(pilot)
        app = pilot.app
        pane = app.detail_pane
        await press(pilot, "n", "tab", "slash", *"istio default")
        assert app.search_input.has_focus
        count = detail_text(app).lower().count("istio default")
        assert count >= 2 and len(pane.matches) == count
        assert f"match 1/{count}" in screen_text(app)
        await press(pilot, "enter")
        assert app.focused is pane
        first = pane.matches[pane.current][0]
        await press(pilot, "n")
        assert f"match 2/{count}" in screen_text(app)
        assert pane.matches[pane.current][0] >= first
        row = pane.matches[pane.current][0]
        assert pane.scroll_y <= row < pane.scroll_y + pane.scrollable_content_region.height
        await press(pilot, "N", "N")  # wraps around to the last
        assert f"match {count}/{count}" in screen_text(app)
        assert cursor_label(app).startswith("v2")  # n and N stayed in the pane
        assert app.options.query == ""  # the tree's filter was not touched
        await press(pilot, "escape")
        assert pane.matches == [] and "match" not in screen_text(app)
        await press(pilot, "n")  # without a search, n is the next finding again
        assert app.focused is app.host_tree and pane.current == -1


async def test_slash_searches_the_raw_yaml():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n", "y", "tab", "slash", *"ROUND_ROBIN", "enter")
        pane = app.detail_pane
        assert pane.matches and "match 1/" in screen_text(app)
        row = pane.matches[pane.current][0]
        assert "ROUND_ROBIN" in detail_text(app).splitlines()[row]


# -- raw YAML: the file's line numbers, never wrapped to column 0 ---------------------------------


def numbered_lines(text: str) -> list[tuple[int, str]]:
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*(\d+) │ (.*)$", line)
        if m:
            out.append((int(m.group(1)), m.group(2).rstrip()))
    return out


async def test_raw_yaml_has_the_line_numbers_of_the_file_and_is_not_wrapped():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "y")  # host reviews: its Service, DestinationRule and VirtualService
        text = detail_text(app)
        lines = numbered_lines(text)
        assert len(lines) > 40
        files = {
            name: (ROOT / BOOKINFO / name).read_text().splitlines()
            for name in ("services.yaml", "destination-rules.yaml", "virtual-services.yaml")
        }
        # Each numbered line is that line of its file (documents follow their headers).
        current = None
        for line in text.splitlines():
            header = re.match(r"# \w+ \S+ +\S*/(\S+\.yaml):\d+", line)
            if header:
                current = files[header.group(1)]
                continue
            m = re.match(r"\s*(\d+) │ (.*)$", line)
            if m and current is not None:
                assert current[int(m.group(1)) - 1].rstrip() == m.group(2).rstrip(), line
        assert any(n == 1 and "# The canary" in t for n, t in lines)  # the VS's leading comment
        # Nothing continues at column 0: every line is a header, blank, or numbered.
        body = [line for line in text.splitlines()[1:] if line.strip()]
        assert all(line.startswith("# ") or re.match(r"\s*\d+ │", line) for line in body)
        pane = app.detail_pane
        assert pane.max_scroll_x > 0  # a long comment scrolls sideways instead
        await press(pilot, "tab", "l")
        assert pane.scroll_x == 8
        await press(pilot, "h")
        assert pane.scroll_x == 0


# -- narrow terminals ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (40, 24)])
async def test_under_100_columns_the_panes_stack_and_help_and_quit_stay_in_the_footer(size):
    async with make_app(BOOKINFO).run_test(size=size) as pilot:
        await settle(pilot)
        app = pilot.app
        tree, pane = app.host_tree.region, app.detail_pane.region
        assert tree.bottom <= pane.y  # the detail is below the tree
        assert pane.width == tree.width == size[0]
        assert pane.height >= 5 and tree.height >= 5
        assert "? Help  q Quit" in footer(app)
        header = screen_text(app).splitlines()[0]
        assert "⚠ 1 warning" in header  # the counts give way first, then the source's name
        assert "bookinfo" in header


async def test_from_100_columns_the_panes_are_side_by_side():
    async with make_app(BOOKINFO).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app = pilot.app
        tree, pane = app.host_tree.region, app.detail_pane.region
        assert tree.right <= pane.x and tree.y == pane.y
        assert "? Help  q Quit" in footer(app)


# -- route weights and where a route is written ----------------------------------------------------


CANARY_VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http:
  - match:
    - headers: {x-canary: {exact: "true"}}
    route:
    - destination: {host: reviews, subset: v3}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v3}
      weight: 10
"""


async def test_weights_read_per_rule_and_a_route_points_at_its_rules_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = editable_copy(BOOKINFO, tmp_path, monkeypatch)
    (folder / "virtual-services.yaml").write_text(CANARY_VS)
    async with make_app("mesh").run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        app = pilot.app
        assert "v3  x-canary: 100% · default: 10%" in tree_text(app)
        await press(pilot, "s")  # by name: reviews is last; find it
        node = app.host_tree.node_for(app.host_tree.positions.groups[0].namespaces[0].hosts[-1].ref)
        app.host_tree.move_cursor(node)
        await settle(pilot)
        text = detail_text(app)
        assert "Routes  x-canary: 100% · default: 90% v1 / 10% v3" in text
        # http[0] is written at line 7 of the file, http[1] (two destinations) at line 11; only
        # the Source list names the VirtualService's own line 1.
        lines = [line.strip() for line in text.splitlines()]
        assert lines.count("mesh/virtual-services.yaml:7") == 1
        assert lines.count("mesh/virtual-services.yaml:11") == 2
        assert "VirtualService bookinfo/reviews  mesh/virtual-services.yaml:1" in lines
        assert "mesh/virtual-services.yaml:1" not in lines


# -- names in natural order ---------------------------------------------------------------------


async def test_hosts_sort_in_natural_order(tmp_path: Path):
    docs = [
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: ns}}\n"
        f"spec: {{ports: [{{port: 80}}]}}\n"
        for name in ("svc1000", "svc2", "svc10", "svc1")
    ]
    (tmp_path / "services.yaml").write_text("---\n".join(docs))
    async with make_app(str(tmp_path)).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        for _ in range(2):  # findings first (none), then by name: the same order
            tree = tree_text(app)
            order = [tree.index(f"{n} ") for n in ("svc1", "svc2", "svc10", "svc1000")]
            assert order == sorted(order)
            await press(pilot, "s")


# -- the palette lists Quit once ------------------------------------------------------------------


async def test_the_palette_lists_quit_once():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "ctrl+p", *"quit")
        await pilot.pause(0.3)
        shown = screen_text(app)
        assert shown.count("Leave meshtui") == 1
        assert "Quit the application" not in shown
