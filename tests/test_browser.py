"""The app in headless Chromium (Debian's) via Playwright, against a real `streamlit run app.py`.

The README's screenshots (docs/screenshots) are retaken by `python -m harness.screenshots`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from harness.browser import CHROMIUM, CHROMIUM_ARGS, HEATMAP, MAIN_PLOT, shipped_or, streamlit_server
from harness.layout import SIZES, open_view, resize, view_url
from ui.figure import BUNDLE
from ui.views import VIEWS

playwright = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests (apt-get install chromium)")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def server(checkpoint_dir):
    with streamlit_server(shipped_or(checkpoint_dir.parent)) as (url, proc):
        yield url, proc


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def main_title(page) -> str:
    return page.locator(f"{MAIN_PLOT} .gtitle").first.text_content()


def wait_for_title_change(page, before: str, timeout_s: float = 20) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        title = main_title(page)
        if title and title != before:
            return title
        time.sleep(0.02)
    raise AssertionError(f"heatmap title stayed {before!r}")


def test_shared_link_shows_heatmap_then_controls_redraw(server, browser, tmp_path):
    url, proc = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    start = time.monotonic()
    page.goto(f"{url}/?text={quote('A dog runs.')}")
    page.wait_for_selector(HEATMAP, timeout=60_000)
    print(f"page load to first heatmap: {time.monotonic() - start:.2f} s")
    # The first screen draws with the app's own 1.2 MB plotly.js, never Streamlit's 4.7 MB chart bundle (ui/figure.py).
    assert any(u.endswith(f"/app/static/{BUNDLE}") for u in requested)
    assert not [u for u in requested if "PlotlyChart" in u]
    # The heatmap may be drawn before the widgets' own bundles have arrived: wait for the text box.
    page.wait_for_function(
        "() => document.querySelector('.st-key-text input')?.value === 'A dog runs.'", timeout=30_000
    )
    title = main_title(page)
    assert title.startswith("Encoder-decoder (cross) attention")

    # kind: the selectbox
    page.locator("[data-testid='stSelectbox']").filter(has_text="Attention").first.click()
    page.get_by_role("option", name="Encoder self-attention").click()
    title = wait_for_title_change(page, title)
    assert title.startswith("Encoder self-attention")

    # layer: the slider, by keyboard
    main_sliders = page.locator("[data-testid='stMainBlockContainer']").get_by_role("slider")
    layer = main_sliders.nth(0)
    layer.focus()
    page.keyboard.press("Home")
    title = wait_for_title_change(page, title)
    assert ", layer 0," in title

    # head: the select slider
    head = main_sliders.nth(1)
    head.focus()
    start = time.monotonic()
    page.keyboard.press("ArrowRight")
    title = wait_for_title_change(page, title)
    print(f"slider move to redraw: {(time.monotonic() - start) * 1000:.0f} ms")
    assert title.endswith("head 0")
    # the URL is written when the script run ends, which can be after the redrawn title
    page.wait_for_function(
        "() => location.search.includes('layer=0') && location.search.includes('kind=encoder')", timeout=20_000
    )
    assert proc.poll() is None
    page.close()


PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script> A dog runs.",
    "<b>bold</b> <a href=javascript:alert(1)>x</a>",
]


def test_html_payloads_stay_text(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{url}/?kind=encoder")
    page.wait_for_selector(HEATMAP, timeout=60_000)
    for payload in PAYLOADS:
        before = page.locator(f"{MAIN_PLOT} .xtick text").all_text_contents()
        box = page.locator(".st-key-text input")
        box.fill(payload)
        box.press("Enter")
        deadline = time.monotonic() + 30
        while page.locator(f"{MAIN_PLOT} .xtick text").all_text_contents() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        ticks = page.locator(f"{MAIN_PLOT} .xtick text").all_text_contents()
        assert ticks != before and ticks[-1] == "</s>"  # markup-like tokens are shown as text
        injected = page.evaluate("""() => ({
            img: document.querySelectorAll('img[src="x"]').length,
            script: [...document.scripts].filter(s => s.textContent.includes("alert")).length,
            bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length,
            link: document.querySelectorAll('a[href^="javascript"]').length,
        })""")
        assert injected == {"img": 0, "script": 0, "bold": 0, "link": 0}, (payload, injected)
        # hover the last column (the </s> key): the label must show the token as text
        page.locator(f"{MAIN_PLOT}").first.scroll_into_view_if_needed()
        plot = page.locator(f"{MAIN_PLOT} .nsewdrag").first.bounding_box()
        page.mouse.move(plot["x"] + plot["width"] / 2, plot["y"] + plot["height"] / 2, steps=3)
        hover = ""
        for attempt in range(40):  # hover events are throttled: wiggle over the last column until one lands
            page.mouse.move(plot["x"] + plot["width"] - 2 - attempt % 2, plot["y"] + plot["height"] / 2, steps=4)
            page.wait_for_timeout(150)
            label = page.locator(".hoverlayer .hovertext")
            hover = label.first.text_content() if label.count() else ""
            if "key: </s>" in hover:
                break
        assert "key: </s>" in hover, hover
    assert dialogs == []
    page.close()


def test_model_view_click_opens_the_head(server, browser):
    url, _ = server
    page = app_page(browser, url, f"view=model&kind=cross&layer=1&head=3&text={quote('A dog runs.')}", height=1100)
    titles = lambda: page.locator(f"{MAIN_PLOT} .gtitle").all_text_contents()  # noqa: E731
    # The head's own heatmap (the app's figure component) can be drawn before the clickable grid (Streamlit's chart,
    # whose bundle comes later): wait for the grid, then until its ticks stop moving.
    page.locator(f"{MAIN_PLOT} .xtick text", has_text="head 0").first.wait_for(timeout=60_000)
    page.wait_for_function(f"() => document.querySelectorAll('{MAIN_PLOT} .gtitle').length >= 2", timeout=30_000)
    assert titles()[1].endswith("layer 1, head 3")

    def boxes():
        return (
            page.locator(f"{MAIN_PLOT} .xtick text", has_text="head 0").first.bounding_box(),
            page.locator(f"{MAIN_PLOT} .ytick text", has_text="layer 0").first.bounding_box(),
        )

    before, deadline = None, time.monotonic() + 20
    while (now := boxes()) != before and time.monotonic() < deadline:
        before = now
        time.sleep(0.3)
    head0, layer0 = now
    x, y = head0["x"] + head0["width"] / 2, layer0["y"] + layer0["height"] / 2  # ticks sit at each head's middle
    page.mouse.move(x, y, steps=3)
    page.mouse.click(x, y)
    deadline = time.monotonic() + 20

    def opened():  # the URL is written when the script run ends, which can be after the redrawn title
        return titles()[-1].endswith("layer 0, head 0") and "layer=0" in page.url and "head=0" in page.url

    while not opened() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened(), (titles(), page.url)
    page.close()


def app_page(browser, url: str, query: str, height: int = 1000, **options):
    """A new page (1400 pixels wide) on the app at `query`, once its first heatmap is drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": height}, **options)
    page.goto(f"{url}/?{query}")
    page.wait_for_selector(HEATMAP, timeout=60_000)
    return page


def downloaded_figure(browser, url: str, query: str, folder: Path):
    """Open the app on `query`, download the figure as HTML into `folder`; return (page, file)."""
    page = app_page(browser, url, query, accept_downloads=True)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Figure (HTML, offline").click()
    html = folder / "figure.html"
    info.value.save_as(html)
    return page, html


def test_downloads_are_built_on_click(server, browser, tmp_path):
    url, _ = server
    page, html = downloaded_figure(browser, url, f"text={quote('A dog runs.')}&kind=cross", tmp_path)
    text = html.read_text(encoding="utf-8")
    assert len(text) > 1_000_000 and "Plotly.newPlot" in text  # plotly.js embedded: opens offline
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Whole trace (NPZ)").click()
    info.value.save_as(tmp_path / "trace.npz")
    import numpy as np

    with np.load(tmp_path / "trace.npz", allow_pickle=False) as npz:
        assert npz["cross"].shape[2:] == (len(npz["tgt_tokens"]), len(npz["src_tokens"]))
    page.close()


def test_what_if_beam_tree_click_and_forced_candidate(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/?view=whatif&beam=4&text={quote('A man drives a red car.')}")
    page.wait_for_selector(HEATMAP, timeout=60_000)
    page.get_by_role("tab", name="Beam tree").click()
    points = page.locator(MAIN_PLOT).filter(has_text="Beam search").locator(".scatterlayer .trace:last-child .point")
    points.first.wait_for(timeout=30_000)
    assert points.count() >= 4
    page.locator("[data-testid='stSelectbox']").filter(has_text="Open a hypothesis").click()
    page.get_by_role("option").nth(3).click()
    page.get_by_text("Partial hypothesis").wait_for(timeout=30_000)
    page.locator(f"{MAIN_PLOT} .gtitle", has_text="Its cross-attention").first.wait_for(timeout=30_000)
    # force another candidate at step 1: the header translation changes and says what was forced
    page.get_by_role("tab", name="Force the start").click()
    before = page.locator("h4").first.text_content()
    page.locator("[data-testid='stRadio']").filter(has_text="pick another candidate").get_by_role("radio").nth(1).check(
        force=True
    )
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Force").filter(has_text="and continue").click()
    page.get_by_text("pieces were forced").first.wait_for(timeout=30_000)
    assert page.locator("h4").first.text_content() != before and "prefix=" in page.url
    assert not errors
    page.close()


def test_exported_html_switches_heads_offline(server, browser, tmp_path):
    url, _ = server
    page, html = downloaded_figure(
        browser, url, f"text={quote('A man drives a red car.')}&kind=cross&layer=1&head=2", tmp_path
    )
    page.close()
    offline = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
    requests = []
    offline.route(
        "**/*",
        lambda route: (
            requests.append(route.request.url),
            route.continue_() if route.request.url.startswith("file:") else route.abort(),
        ),
    )
    page = offline.new_page()
    page.goto(html.as_uri())
    page.wait_for_selector(".heatmaplayer", timeout=30_000)
    title = lambda: page.locator(".gtitle").first.text_content()  # noqa: E731
    assert title().endswith("layer 1, head 2")
    page.locator(".updatemenu-button", has_text="Encoder self-attention").click()
    page.wait_for_function("() => document.querySelector('.gtitle').textContent.startsWith('Encoder self-attention')")
    rail = page.locator(".slider-rail-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] * 0.9, rail["y"] + rail["height"] / 2)
    page.wait_for_function("() => !document.querySelector('.gtitle').textContent.startsWith('Encoder self-attention')")
    assert title() and all(u.startswith("file:") for u in requests)
    offline.close()


@pytest.mark.parametrize("mode", ["normal", "present"])
def test_the_picture_comes_first_at_every_size(server, browser, mode):
    """Every view at 1280x720, 1366x768, 1440x900 and 1920x1080, each reached by resizing the window (ui/figure.js
    sizes the figures again). Normal mode: the first figure starts in the upper half of the window and, at 1366x768,
    figures cover at least 45% of it (but the lesson, where text comes with each picture). Presentation mode:
    the main figure's box fills the window from its top to the bottom edge, wholly inside it, tick labels >= 18 px,
    and the translation is in sight."""
    url, _ = server
    sentence = quote("A man in a blue shirt is playing the guitar on the street.")
    failures, errors = [], []
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for view in VIEWS:
        open_view(page, view_url(url, view, mode == "present", f"&text={sentence}&kind=cross"))
        if page.locator("[data-testid='stException']").count() or page.get_by_text("This view failed").count():
            failures.append(f"{mode} {view}: the view failed")
        for width, height in [SIZES[3], SIZES[0], SIZES[2], SIZES[1]]:  # shrinking and growing
            m = resize(page, width, height)
            first = min(m["boxes"], key=lambda b: b["top"]) if m["boxes"] else None
            where = f"{mode} {width}x{height} {view}"
            if first is None:
                failures.append(f"{where}: no figure")
                continue
            if mode == "normal":
                if first["top"] >= height / 2:
                    failures.append(f"{where}: first figure at {first['top']:.0f} px")
                if (width, height) == (1366, 768) and view != "lesson" and m["share"] < 0.45:
                    failures.append(f"{where}: figures cover {m['share']:.0%}")
            else:
                if not (first["top"] >= 0 and height - 40 <= first["bottom"] <= height + 1):
                    failures.append(f"{where}: main figure {first['top']:.0f}-{first['bottom']:.0f} px")
                translation = page.locator("h4").first.bounding_box()
                if not translation or translation["y"] < 0 or translation["y"] + translation["height"] > first["top"]:
                    failures.append(f"{where}: the translation is not above the figure")
                sizes = page.evaluate(f"""() => [...document.querySelectorAll('{MAIN_PLOT}')].slice(0, 1)
                    .flatMap(p => [...p.querySelectorAll('.xtick text, .ytick text')])
                    .map(t => parseFloat(getComputedStyle(t).fontSize))""")
                if sizes and min(sizes) < 18:
                    failures.append(f"{where}: tick labels {min(sizes)} px")
    page.close()
    assert not failures and not errors, (failures, errors)


def test_korean_on_every_view_leaves_no_english_label(server, browser):
    """?lang=ko: widget labels, tabs, buttons, captions and headings of the main area are Korean (or symbols);
    data (tokens, sentences, translations, tables) and figure internals are not labels."""
    import re

    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    main = "[data-testid='stMainBlockContainer']"
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for view in VIEWS:
        page.goto(f"{url}/?lang=ko&view={view}&text={quote('A man drives a red car.')}&ckpt=multi30k-en-fr&beam=2")
        page.wait_for_selector(MAIN_PLOT, timeout=60_000)
        page.wait_for_timeout(600)
        assert page.locator("[data-testid='stException']").count() == 0, view
        texts = page.evaluate(f"""() => [...document.querySelectorAll(
            "{main} [data-testid='stWidgetLabel'], {main} [role='tab'], {main} button, "
            + "{main} [data-testid='stCaptionContainer'], {main} h2, {main} h3:not(:first-of-type), "
            + "{main} [data-testid='stMetricLabel']")]
            .filter(e => !e.closest('.js-plotly-plot') && !e.closest('[data-testid=stDataFrame]'))
            .map(e => {{  // a popover's chevron is an icon font's ligature ("expand_more"), not a label
                const copy = e.cloneNode(true);
                copy.querySelectorAll("[data-testid='stIconMaterial']").forEach(i => i.remove());
                return copy.textContent.trim();
            }}).filter(Boolean)""")
        english = [
            x
            for x in texts
            if not hangul.search(x) and re.search(r"[A-Za-z]{4,}", x) and not re.match(r"^[A-Z]{2}: ", x)
        ]  # the translation heading is data
        assert not english, (view, english)
    assert not errors
    page.close()


def test_deck_steps_with_the_arrow_keys_in_presentation_mode(server, browser):
    """A clicker's keys (→ / Page Down, ← / Page Up) press ▶ / ◀; keys typed into a widget are left alone."""
    url, _ = server
    page = app_page(browser, url, f"ckpt=multi30k-en-fr&text={quote('A dog runs.')}")
    page.get_by_text("Deck (a talk as a list of views)").click()
    page.wait_for_timeout(800)  # the expander's opening animation
    decks = page.locator(".st-key-deck_shipped [role=combobox]").first
    # the sidebar's last widget: in the middle of the window, its menu has room to open below it
    decks.evaluate("box => box.scrollIntoView({block: 'center'})")
    decks.click()
    page.keyboard.type("in ten views")  # the menu filters as one types; Enter takes the one left
    page.get_by_role("option").filter(has_text="in ten views").first.wait_for(timeout=30_000)
    page.keyboard.press("Enter")
    page.locator(".st-key-deck_open button").click()
    page.wait_for_function("() => location.search.includes('view=positional')", timeout=30_000)
    page.locator(".st-key-present label").first.click()  # into presentation mode: ◀ ▶ in the top row
    page.wait_for_selector(".st-key-deck_next button", timeout=30_000)
    page.wait_for_function("() => document.headlightDeckKeys === true", timeout=30_000)  # the keys' frame listens
    page.mouse.click(5, 600)  # focus the page itself, as after a click on the slide
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => location.search.includes('view=translate') && location.search.includes('kind=encoder')", timeout=30_000
    )
    assert page.get_by_text("2/10 ·").count() >= 1
    page.keyboard.press("PageUp")
    page.wait_for_function("() => location.search.includes('view=positional')", timeout=30_000)
    page.locator(".st-key-view [role=combobox]").first.focus()  # a menu keeps its arrow keys
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(1500)
    assert "view=positional" in page.url and page.get_by_text("1/10 ·").count() >= 1
    page.close()
