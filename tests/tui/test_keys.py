"""Every key of the inspector, driven through Textual's Pilot; assertions on what is shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from meshtui.tui.app import MeshApp
from meshtui.tui.command_mode import COMMANDS as COMMAND_TABLE
from meshtui.tui.commands import COMMANDS
from meshtui.tui.keys import KEYS
from meshtui.tui.screens.help import HelpScreen, key_text
from meshtui.tui.widgets import filter_line
from meshtui.tui.widgets.detail_pane import DetailPane
from meshtui.tui.widgets.mesh_tree import MeshTree
from tests.tui.helpers import (
    BOOKINFO,
    DORMANT,
    cursor_label,
    detail_text,
    editable_copy,
    make_app,
    press,
    screen_text,
    settle,
    tree_text,
    widget_text,
)

SIZE = (120, 40)


def block_after(text: str, title: str) -> str:
    """The indented lines under a line that starts with `title` (a fix's YAML and notes)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
    block = []
    for line in lines[start:]:
        if line and not line.startswith("  "):
            break
        block.append(line[2:])
    return "\n".join(block)


async def test_starts_on_the_host_with_findings_with_its_subsets_open():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        assert cursor_label(app).startswith("reviews")
        tree = tree_text(app)
        assert "v3  ⚠ policy never applied" in tree
        assert tree.index("reviews") < tree.index("details")  # findings sort first
        assert "host reviews.bookinfo.svc.cluster.local" in detail_text(app)
        header = screen_text(app).splitlines()[0]
        assert "4 hosts · 6 subsets · 6 workloads" in header
        assert "⚠ 1 warning" in header
        assert app.focused is app.host_tree


@pytest.mark.parametrize(("down", "up"), [("j", "k"), ("down", "up")])
async def test_j_k_and_arrows_move_the_cursor_and_the_detail_follows(down, up):
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, down)
        assert cursor_label(app).startswith("(no subset)")
        assert "(no subset) of reviews.bookinfo.svc.cluster.local" in detail_text(app)
        await press(pilot, down, down)
        assert cursor_label(app).startswith("v2")
        assert "subset v2 of reviews" in detail_text(app)
        await press(pilot, up)
        assert cursor_label(app).startswith("v1")
        assert "subset v1 of reviews" in detail_text(app)


@pytest.mark.parametrize("key", ["l", "right", "enter"])
async def test_l_right_and_enter_expand_then_step_into_the_children(key):
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "j", "j")  # onto subset v1, closed
        assert "Deployment bookinfo/reviews-v1" not in tree_text(app)
        await press(pilot, key)
        assert "Deployment bookinfo/reviews-v1" in tree_text(app)
        assert cursor_label(app).startswith("v1")
        await press(pilot, key)  # already open: into its first child
        assert cursor_label(app).startswith("Deployment bookinfo/reviews-v1")
        assert "status 3 replicas" in detail_text(app)


@pytest.mark.parametrize("key", ["h", "left"])
async def test_h_and_left_collapse_then_step_out_to_the_parent(key):
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "j")  # (no subset) of reviews
        await press(pilot, key)  # a closed node: out to its host
        assert cursor_label(app).startswith("reviews")
        await press(pilot, key)  # an open host: close it
        assert "policy never applied" not in tree_text(app)
        assert cursor_label(app).startswith("reviews")
        await press(pilot, key)  # and out to the namespace
        assert cursor_label(app).startswith("namespace bookinfo")


@pytest.mark.parametrize(("last", "first"), [("G", "g"), ("end", "home")])
async def test_g_and_G_jump_to_the_first_and_last_node(last, first):
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, last)
        assert cursor_label(app) == "ratings"
        await press(pilot, first)
        assert cursor_label(app).startswith("namespace bookinfo")


@pytest.mark.parametrize(("down", "up"), [("pagedown", "pageup"), ("space", "b")])
async def test_page_keys_move_a_page(down, up):
    async with make_app(BOOKINFO).run_test(size=(120, 12)) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "g", "j", "h")  # close reviews: a flat list of five nodes
        await press(pilot, "g")
        await press(pilot, down)
        assert cursor_label(app) == "ratings"
        await press(pilot, up)
        assert cursor_label(app).startswith("namespace bookinfo")


async def test_slash_filters_as_you_type_and_esc_clears():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "slash")
        assert app.focused is app.filter_input
        await press(pilot, "r", "a", "t")
        tree = tree_text(app)
        assert "ratings" in tree
        assert "reviews" not in tree
        assert "1 host · filter “rat”" in screen_text(app)
        await press(pilot, "escape")
        tree = tree_text(app)
        assert "reviews" in tree and "ratings" in tree
        assert app.focused is app.host_tree
        assert "filter" not in screen_text(app).splitlines()[1]


async def test_filter_matches_labels_and_workloads_and_opens_them():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "slash", *"=v2", "enter")
        tree = tree_text(app)
        assert "reviews" in tree and "details" not in tree
        assert app.focused is app.host_tree  # enter keeps the filter, back to the tree
        await press(pilot, "escape", "slash", *"gs-v1")
        assert "Deployment bookinfo/ratings-v1" in tree_text(app)


async def test_on_a_big_mesh_the_filter_waits_for_a_pause_in_the_typing(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(filter_line, "DEBOUNCE_HOSTS", 3)  # bookinfo's 4 hosts count as big
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await pilot.press("slash", "r", "a")
        assert app.options.query == ""  # typing: the tree is not rebuilt per key
        await pilot.pause(filter_line.DEBOUNCE_SECONDS + 0.1)
        assert app.options.query == "ra"
        assert "reviews" not in tree_text(app)
        await pilot.press("t", "enter")  # enter applies at once
        assert app.options.query == "rat"


async def test_slash_typed_in_the_filter_or_the_palette_is_a_character():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "slash", *"o/ra")
        assert app.filter_input.value == "o/ra"  # bookinfo/ratings-v1
        assert "Deployment bookinfo/ratings-v1" in tree_text(app)
        await press(pilot, "escape", "ctrl+p", "slash")
        assert app.screen.query_one("CommandInput").value == "/"


async def test_n_and_N_go_to_the_findings_in_tree_order_and_wrap():
    async with make_app(BOOKINFO, DORMANT).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n")
        first = cursor_label(app)
        await press(pilot, "n")
        second = cursor_label(app)
        assert {first.split()[0], second.split()[0]} == {"v3", "v2"}
        assert first != second
        await press(pilot, "n")  # two findings: wraps to the first
        assert cursor_label(app) == first
        await press(pilot, "N")
        assert cursor_label(app) == second
        assert "policy never applied" in detail_text(app)


async def test_n_drills_down_from_a_finding_to_both_fixes():
    """The path a person takes: n selects the dormant subset, the detail shows why and how."""
    async with make_app(DORMANT).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n")
        assert cursor_label(app).startswith("v2  ⚠ policy never applied")
        shown = screen_text(app)
        assert "⚠ policy never applied: no route names this subset" in shown
        assert "Subset policy  never applied: no route names this subset" in shown
        assert "SubsetPolicyNeverApplied" in shown
        text = detail_text(app)
        assert "▶ Fix 1 of 3: route requests with header x-subset: v2" in text
        assert "Fix 3 of 3: move the policy to the host level" in text
        await press(pilot, "C")  # the selected fix, as YAML for kubectl apply
        [vs] = yaml.safe_load_all(app.clipboard)
        assert vs["kind"] == "VirtualService"
        destination = vs["spec"]["http"][0]["route"][0]["destination"]
        assert destination == {"host": "checkout", "subset": "v2"}
        # The fixes are below the fold: tab to the pane and page down to read them.
        await press(pilot, "tab")
        assert app.focused is app.detail_pane
        for _ in range(6):
            if "+kind: VirtualService" in screen_text(app):
                break
            await press(pilot, "pagedown")
        assert "+kind: VirtualService" in screen_text(app)


async def test_f_shows_only_hosts_with_findings():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "f")
        tree = tree_text(app)
        assert "reviews" in tree and "details" not in tree and "ratings" not in tree
        assert "1 host · findings only" in screen_text(app)
        await press(pilot, "f")
        assert "details" in tree_text(app)


async def test_s_sorts_alphabetically_and_back():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "s")
        tree = tree_text(app)
        assert tree.index("details") < tree.index("productpage") < tree.index("reviews")
        assert "sort: alphabetical" in screen_text(app)
        assert cursor_label(app).startswith("reviews")  # the cursor stays on its node
        await press(pilot, "s")
        tree = tree_text(app)
        assert tree.index("reviews") < tree.index("details")
        assert "sort: findings first" in screen_text(app)


async def test_y_toggles_the_raw_yaml_of_the_resources_involved():
    async with make_app(DORMANT).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n", "y")
        text = detail_text(app)
        assert "Raw YAML" in text
        assert "# DestinationRule shop/checkout" in text
        assert "tests/tui/fixtures/dormant-policy/destination-rule.yaml" in text
        assert "simple: LEAST_REQUEST" in text
        assert "raw YAML" in screen_text(app).splitlines()[1]
        await press(pilot, "k")  # the raw view follows the cursor
        assert "# DestinationRule shop/checkout" in detail_text(app)
        await press(pilot, "y")
        assert "Raw YAML" not in detail_text(app)
        assert "subset v1 of checkout.shop.svc.cluster.local" in detail_text(app)


async def test_r_reloads_the_source_keeping_the_cursor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = editable_copy(DORMANT, tmp_path, monkeypatch)
    async with make_app("mesh").run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n")
        assert cursor_label(app).startswith("v2  ⚠ policy never applied")
        (folder / "virtual-service.yaml").write_text(
            "apiVersion: networking.istio.io/v1\n"
            "kind: VirtualService\n"
            "metadata: {name: checkout, namespace: shop}\n"
            "spec:\n"
            "  hosts: [checkout]\n"
            "  http:\n"
            "  - route:\n"
            "    - destination: {host: checkout, subset: v2}\n"
        )
        await press(pilot, "r")
        assert cursor_label(app) == "v2  100%"
        assert "✔ no findings" in screen_text(app).splitlines()[0]
        assert "✔ routed" in detail_text(app)


async def test_reload_of_a_vanished_folder_keeps_the_last_analysis(tmp_path: Path):
    folder = editable_copy(DORMANT, tmp_path)
    async with make_app(str(folder)).run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app = pilot.app
        shutil.rmtree(folder)
        await press(pilot, "r")
        assert "checkout" in tree_text(app)
        assert "no such file or directory" in app.load_error
        assert any("Reload failed" in (n.title or "") for n in app._notifications)


async def test_tab_switches_pane_and_j_k_g_G_scroll_the_detail():
    async with make_app(DORMANT).run_test(size=(100, 20)) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "n", "tab")
        pane = app.detail_pane
        assert app.focused is pane
        await press(pilot, "j", "j")
        assert pane.scroll_y == 2
        await press(pilot, "k")
        assert pane.scroll_y == 1
        await press(pilot, "G")
        assert pane.scroll_y == pane.max_scroll_y > 0
        await press(pilot, "g")
        assert pane.scroll_y == 0
        assert cursor_label(app).startswith("v2")  # the tree did not move
        await press(pilot, "tab")
        assert app.focused is app.host_tree


async def test_question_mark_lists_every_key_and_closes():
    async with make_app(BOOKINFO).run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = widget_text(app.screen.query_one("#help-keys"))
        for key in KEYS:
            assert f"{key_text(key.keys)}  " in shown, key.keys
            assert key.description in shown, key.description
        for binding in [*MeshTree.BINDINGS, *MeshApp.BINDINGS, *DetailPane.BINDINGS]:
            assert any(k.keys == binding.key and k.action == binding.action for k in KEYS)
        words = " ".join(shown.split())  # a long description wraps
        for command in COMMAND_TABLE:
            assert f":{command.name}" in shown and command.help in words
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_ctrl_p_palette_runs_an_inspector_command():
    async with make_app(BOOKINFO).run_test(size=SIZE) as pilot:
        await settle(pilot)
        app = pilot.app
        await press(pilot, "ctrl+p")
        await press(pilot, *"only hosts")
        assert "Show only hosts with findings" in screen_text(app)
        await press(pilot, "enter")
        assert app.options.findings_only
        assert "details" not in tree_text(app)


def test_the_palette_has_a_command_for_every_key():
    actions = {action for _, action, _ in COMMANDS}
    # Not in the palette: keys about where the focus is, and ctrl+c, which is q's twin.
    keys = {b.action for b in MeshApp.BINDINGS} - {"switch_pane", "interrupt"}
    keys |= {"expand", "collapse"}
    assert keys <= actions
    for action in actions:
        assert callable(getattr(MeshApp, f"action_{action}"))


def test_the_colon_key_names_every_command():
    [colon] = [k for k in KEYS if k.action == "command"]
    for command in COMMAND_TABLE:
        assert f":{command.name}" in colon.description
