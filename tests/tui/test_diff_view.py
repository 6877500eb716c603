"""`meshtui diff OLD NEW` in a terminal: the inspector on NEW, the hosts the change changes
marked, `d` to see only them, and the detail pane saying old → new for a host or subset."""

from __future__ import annotations

from pathlib import Path

from meshtui.check.diff_report import compare, read_side
from meshtui.sources.files import FileSource
from meshtui.tui.app import MeshApp
from tests.tui.helpers import (
    BOOKINFO,
    ROOT,
    cursor_label,
    detail_text,
    editable_copy,
    press,
    screen_text,
    settle,
    tree_text,
)


def diff_app(tmp_path: Path, monkeypatch) -> MeshApp:
    """The bookinfo canary moved to 50/50 and subset v2's load balancer changed."""
    new = editable_copy(BOOKINFO, tmp_path, monkeypatch)
    old = tmp_path / "old"
    old.symlink_to(ROOT / BOOKINFO)
    vs = new / "virtual-services.yaml"
    vs.write_text(
        vs.read_text().replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50")
    )
    dr = new / "destination-rules.yaml"
    dr.write_text(dr.read_text().replace("simple: RANDOM", "simple: LEAST_REQUEST"))
    before = read_side(FileSource(["old"]), None, ())
    after = read_side(FileSource(["mesh"]), None, ())
    diff = compare(before, after)
    assert diff.hosts == ["reviews.bookinfo.svc.cluster.local"]
    return MeshApp(FileSource(["mesh"]), diff, "old → mesh")


async def test_changed_hosts_are_marked_and_d_keeps_only_them(tmp_path, monkeypatch):
    app = diff_app(tmp_path, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = tree_text(app)
        assert "reviews  Δ changed" in tree
        assert "ratings" in tree and "ratings  Δ" not in tree
        assert "diff old → mesh · 1 host changed" in screen_text(app)
        await press(pilot, "d")
        tree = tree_text(app)
        assert "reviews" in tree and "ratings" not in tree and "productpage" not in tree
        assert "changed only" in str(app.host_tree.border_title)
        await press(pilot, "d")
        assert "ratings" in tree_text(app)


async def test_the_detail_says_old_to_new_for_the_host_and_the_subset(tmp_path, monkeypatch):
    app = diff_app(tmp_path, monkeypatch)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        assert cursor_label(app).startswith("reviews  Δ changed")
        text = detail_text(app)
        assert "Changed by this diff  old → new" in text
        assert "clients in every namespace" in text
        assert "Δ route bookinfo/reviews http[0] 'canary' to subset v1: 90% → 50%" in text
        await press(pilot, "j", "j", "j")  # (no subset), v1, v2
        assert cursor_label(app).startswith("v2")
        text = detail_text(app)
        changed = text.split("Changed by this diff")[1].split("Effective policy")[0]
        assert "to subset v2: 10% → 50%" in changed
        assert "subset v2 port 9080 loadBalancer" in changed
        assert "LEAST_REQUEST" in changed
        assert "subset v1" not in changed


def test_diff_view_snapshot(snap_compare, tmp_path, monkeypatch):
    """`d` pressed: reviews alone, marked, and what the change does to it in the detail."""
    app = diff_app(tmp_path, monkeypatch)
    assert snap_compare(app, press=["d"], terminal_size=(120, 40), run_before=settle)
