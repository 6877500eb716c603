"""Export an SVG of the inspector, for the README: `python -m meshtui.tui.screenshot`.

    python -m meshtui.tui.screenshot examples/bookinfo docs/screenshot.svg --press n

runs the app headless on the folder, waits for the analysis, presses the keys and writes what
the terminal shows as SVG (Textual's own export).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path

from meshtui.sources.files import FileSource
from meshtui.tui.app import MeshApp

DEFAULT_SIZE = (120, 36)


async def screenshot(
    paths: Sequence[str],
    press: Sequence[str] = ("n",),
    size: tuple[int, int] = DEFAULT_SIZE,
    title: str | None = None,
) -> str:
    """The SVG of the app on `paths` after pressing `press`."""
    app = MeshApp(FileSource(paths))
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        for key in press:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        return app.export_screenshot(title=title or f"meshtui {' '.join(paths)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshtui.tui.screenshot")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="YAML files or folders")
    parser.add_argument("out", metavar="OUT.svg", help="where to write the SVG")
    parser.add_argument("--press", default="n", help="keys to press first, space-separated")
    parser.add_argument("--size", default="120x36", help="terminal WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    svg = asyncio.run(screenshot(args.paths, args.press.split(), (width, height)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
