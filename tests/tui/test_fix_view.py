"""The fix view: the core's verified fixes, one selected with its diff, copied or written by key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.tui.helpers import BOOKINFO, editable_copy, make_app, press, settle, widget_text

SIZE = (120, 40)


async def test_c_copies_the_selected_fix_and_w_writes_it(tmp_path: Path, monkeypatch):
    folder = editable_copy(BOOKINFO, tmp_path, monkeypatch)
    app = make_app(str(folder.relative_to(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")  # subset v3 of reviews: its policy is never applied
        shown = widget_text(app.detail_pane.body)
        assert "▶ Fix 1 of 3: route requests with header x-subset: v3" in shown
        assert "+++ b/mesh/virtual-services.yaml" in shown
        await press(pilot, "C")
        copied = list(yaml.safe_load_all(app.clipboard))
        assert [(o["kind"], o["metadata"]["name"]) for o in copied] == [
            ("VirtualService", "reviews")
        ]
        assert copied[0]["spec"]["http"][0]["match"] == [{"headers": {"x-subset": {"exact": "v3"}}}]
        # Nothing confirms the terminal took it: said as sent, with the other ways out.
        said = [n.message for n in app._notifications][-1]
        assert said.startswith("Sent fix “route requests with header x-subset: v3")
        assert "(OSC 52)" in said and "w writes the fix to a file" in said and "$PAGER" in said
        assert "Copied" not in said
        # F selects the next fix: the weight split; w writes that one to a file.
        await press(pilot, "F", "F", "w")
        shown = widget_text(app.detail_pane.body)
        assert "▶ Fix 3 of 3: move the policy to the host level" in shown
        [written] = tmp_path.glob("meshtui-fix-*.yaml")
        assert written.name == "meshtui-fix-move-the-policy-to-the-host-level.yaml"
        [rule] = yaml.safe_load_all(written.read_text())
        assert rule["kind"] == "DestinationRule"
        port = rule["spec"]["trafficPolicy"]["portLevelSettings"][0]
        assert port["connectionPool"] == {"http": {"http1MaxPendingRequests": 10}}
        assert any(
            "Wrote fix" in n.message and written.name in n.message for n in app._notifications
        )


async def test_written_fix_applied_clears_the_finding_on_reload(tmp_path: Path, monkeypatch):
    folder = editable_copy(BOOKINFO, tmp_path, monkeypatch)
    app = make_app(str(folder.relative_to(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n", "w")
        [written] = tmp_path.glob("meshtui-fix-*.yaml")
        # kubectl apply of the VirtualService: it replaces the one in the folder.
        (folder / "virtual-services.yaml").write_text(
            written.read_text()
            + "---\n"
            + "---\n".join(
                yaml.safe_dump(o)
                for o in yaml.safe_load_all((folder / "virtual-services.yaml").read_text())
                if o["metadata"]["name"] != "reviews"
            )
        )
        await press(pilot, "r")
        assert app.mesh_view is not None
        assert all(n == 0 for n in app.mesh_view.counts().values())


async def test_keys_without_a_fix_say_so():
    app = make_app(BOOKINFO)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.host_tree.cursor_line = app.host_tree.last_line
        await pilot.pause()
        await press(pilot, "C")
        assert app.clipboard == ""
        assert any("No fix for this node" in n.message for n in app._notifications)


@pytest.mark.parametrize("keys", [["n"], ["n", "F", "F"]], ids=["first", "third"])
def test_fix_view_snapshot(snap_compare, keys):
    """The selected fix shows its diff with the file's line numbers before and after."""
    assert snap_compare(
        make_app(BOOKINFO),
        press=[*keys, "tab", "G"],
        terminal_size=(120, 50),
        run_before=settle,
    )
