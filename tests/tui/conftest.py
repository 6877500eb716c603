"""Fixtures for the inspector's tests: SVG snapshots kept in the top-level `snapshots/` folder.

pytest-textual-snapshot's `snap_compare` asks syrupy's `snapshot` fixture for its
`SVGImageExtension`, whose files would land in `tests/tui/__snapshots__/<module>/`. The
`snapshot` fixture here hands out an extension that stores them as `snapshots/<test>.svg`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy import SnapshotAssertion
from syrupy.extensions.amber import AmberSnapshotExtension
from syrupy.location import PyTestLocation

from tests.tui.helpers import ROOT

SNAPSHOTS = ROOT / "snapshots"


class TopLevelSVGExtension(SVGImageExtension):
    """The plugin's SVG snapshots, one file per test in `snapshots/`."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS)


class TopLevelSnapshot(SnapshotAssertion):
    """Whatever extension the plugin asks for, SVGs go to the top-level folder."""

    def use_extension(self, extension_class=None):  # type: ignore[no-untyped-def]
        if extension_class is not None and issubclass(extension_class, SVGImageExtension):
            extension_class = TopLevelSVGExtension
        return super().use_extension(extension_class)


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> SnapshotAssertion:
    return TopLevelSnapshot(
        update_snapshots=request.config.option.update_snapshots,
        extension_class=AmberSnapshotExtension,
        test_location=PyTestLocation(request.node),
        session=request.session.config._syrupy,
    )


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Paths on screen are relative to the repository, whatever the working directory."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return ROOT
