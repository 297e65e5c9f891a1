"""The README's screenshots (docs/screenshots), retaken with the shipped models: `python -m harness.screenshots [DIR]`.

Each view at 1400x1000 (heads at 1400x1300: its dashboard is long), the lesson in Korean, Inside one head at 1280x720,
and presentation mode's translate, compare, lesson and Inside one head views at 1280x720 and 1920x1080.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from harness.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_server
from harness.layout import open_view
from ui.views import VIEWS

SENTENCE = quote("A little girl climbs into a wooden playhouse.")
PRESENT_SENTENCE = quote("A man in a blue shirt is playing the guitar on the street.")


def shots() -> list[tuple[str, tuple[int, int], str]]:
    """(file name, window size, query) of every screenshot."""
    out = [
        (f"{view}.png", (1400, 1300 if view == "corpus" else 1000), f"view={view}&text={SENTENCE}&layer=1&step=3")
        for view in VIEWS
    ]
    out.append(("lesson-ko.png", (1400, 1000), f"view=lesson&lang=ko&text={SENTENCE}"))
    out.append(("inside-1280x720.png", (1280, 720), f"view=inside&text={SENTENCE}&layer=1"))  # its narrowest layout
    presented = (("translate", "present"), ("compare", "present-compare"), ("lesson", "present-lesson"))
    for view, stem in (*presented, ("inside", "present-inside")):
        query = f"view={view}&present=1&text={PRESENT_SENTENCE}"
        out += [(f"{stem}-{w}x{h}.png", (w, h), query) for w, h in ((1280, 720), (1920, 1080))]
    return out


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    with streamlit_server(ROOT / "checkpoints") as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, (width, height), query in shots():
            page = browser.new_page(viewport={"width": width, "height": height})
            open_view(page, f"{url}/?{query}")
            page.screenshot(path=str(folder / name))
            page.close()
            print(folder / name, flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
