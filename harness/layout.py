"""Where the pictures are on the first screen: every view at the four screen sizes, normal and presentation mode.

`python -m harness.layout [--views translate,model] [--sizes 1366x768] [--shots DIR]` prints, per (mode, size, view),
the top of the main area's first figure (px from the top of the window) and the share of the first screen that the
main area's figures cover; tests/test_browser.py checks the same numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import quote

from harness.browser import ALL_FIGURES_DRAWN, CHROMIUM, CHROMIUM_ARGS, MAIN_PLOT, ROOT, streamlit_server

SIZES = ((1280, 720), (1366, 768), (1440, 900), (1920, 1080))
MODES = ("normal", "present")

# The boxes of the main area's figures, each cut to the window; the first figure's top; the covered share.
MEASURE = f"""() => {{
  const W = window.innerWidth, H = window.innerHeight;
  const boxes = [...document.querySelectorAll('{MAIN_PLOT}')]
    .map(p => p.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
  const seen = boxes.map(r => Math.max(0, Math.min(r.bottom, H) - Math.max(r.top, 0))
                            * Math.max(0, Math.min(r.right, W) - Math.max(r.left, 0)));
  return {{
    first_top: boxes.length ? Math.min(...boxes.map(r => r.top)) : null,
    share: seen.reduce((a, b) => a + b, 0) / (W * H),
    boxes: boxes.map(r => ({{top: r.top, bottom: r.bottom, left: r.left, right: r.right}})),
    height: H, width: W,
  }};
}}"""


def view_url(base: str, view: str, present: bool, extra: str = "") -> str:
    return f"{base}/?view={view}" + ("&present=1" if present else "") + extra


def open_view(page, url: str) -> dict:
    """Load `url`, wait until every figure of the main area is drawn and laid out, and measure."""
    page.goto(url)
    page.wait_for_selector(f"{MAIN_PLOT} .main-svg", timeout=60_000)
    page.wait_for_function(ALL_FIGURES_DRAWN, timeout=30_000)
    return settled(page)


def resize(page, width: int, height: int) -> dict:
    """Resize the window (ui/figure.js sizes the figures again) and measure once the page has settled."""
    page.set_viewport_size({"width": width, "height": height})
    return settled(page)


def settled(page, timeout_s: float = 8.0) -> dict:
    """The measurement once two in a row, 250 ms apart, agree (widgets and figures may still be moving)."""
    page.wait_for_timeout(300)
    before = page.evaluate(MEASURE)
    for _ in range(int(timeout_s / 0.25)):
        page.wait_for_timeout(250)
        now = page.evaluate(MEASURE)
        if now == before:
            return now
        before = now
    return before


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    from ui.views import VIEWS

    p = argparse.ArgumentParser(prog="python -m harness.layout", description=__doc__.split("\n")[0])
    p.add_argument("--views", default=",".join(VIEWS))
    p.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES))
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--text", default="", help="a sentence (default: the app's own)")
    p.add_argument("--ckpt", default="", help="a shipped checkpoint's name (default: the app's own)")
    p.add_argument("--shots", type=Path, help="a folder for a screenshot of each (mode, size, view)")
    args = p.parse_args(argv)
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    extra = (f"&text={quote(args.text)}" if args.text else "") + (f"&ckpt={quote(args.ckpt)}" if args.ckpt else "")
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    print("mode\tsize\tview\tfirst_top_px\tfirst_bottom_px\tshare")
    with streamlit_server(ROOT / "checkpoints") as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for mode in args.modes.split(","):
            for width, height in sizes:
                page = browser.new_page(viewport={"width": width, "height": height})
                for view in args.views.split(","):
                    m = open_view(page, view_url(url, view, mode == "present", extra))
                    first = min(m["boxes"], key=lambda b: b["top"]) if m["boxes"] else None
                    top, bottom = (f"{first['top']:.0f}", f"{first['bottom']:.0f}") if first else ("none", "none")
                    print(f"{mode}\t{width}x{height}\t{view}\t{top}\t{bottom}\t{m['share']:.0%}", flush=True)
                    if args.shots:
                        page.screenshot(path=str(args.shots / f"{mode}-{width}x{height}-{view}.png"))
                page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
