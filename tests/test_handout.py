"""The deck handout: one HTML file of a whole deck that opens offline (model/analysis/handout.py, viz/handout.py,
`python -m model.deck DECK --handout HTML`)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from harness.browser import CHROMIUM, CHROMIUM_ARGS
from model.analysis.handout import handout_slides
from model.core.checkpoint import load_checkpoint
from model.deck import main
from model.decoding.translation import translate
from model.links.decks import validate_deck
from viz.handout import app_bundle, deck_handout

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_TRAP = "<script>alert(1)</script>"
MARKDOWN_TRAP = "**bold** [link](http://198.51.100.7/) ![pixel](http://198.51.100.7/track.png)"
SENTENCE = "A man drives a red car."
VIEWS_WITH_FIGURES = ("translate", "model", "steps", "inside", "positional", "analysis", "whatif", "lesson")


def small_deck(name: str) -> dict:
    """One slide per view (the corpus view has no figure in a handout), a hostile title and note, a hostile sentence
    and a slide naming a checkpoint that is not there."""
    slides = [
        {"title": f"{view} slide", "note": f"about {view}", "params": {"text": SENTENCE, "ckpt": name, "view": view}}
        for view in VIEWS_WITH_FIGURES
    ]
    slides[0]["params"] |= {"kind": "encoder", "layer": "1", "head": "2"}
    slides[0]["title"] = SCRIPT_TRAP + " " + MARKDOWN_TRAP
    slides[0]["note"] = MARKDOWN_TRAP + " <img src=x onerror=alert(2)> " + SCRIPT_TRAP
    slides.append({"title": "corpus", "note": "", "params": {"text": SENTENCE, "ckpt": name, "view": "corpus"}})
    slides.append(
        {"title": "markup in the sentence", "note": "", "params": {"text": "</script><b>x</b>", "ckpt": "no-such"}}
    )
    return validate_deck({"title": "A <b>talk</b> " + SCRIPT_TRAP, "checkpoint": name, "slides": slides})


@pytest.fixture(scope="module")
def handout(checkpoint_dir) -> tuple[dict, list, str]:
    deck = small_deck(checkpoint_dir.name)
    slides = handout_slides(deck, {checkpoint_dir.name: checkpoint_dir}, "general-en-de")
    return deck, slides, deck_handout(deck["title"], slides, app_bundle(), about="test")


def without_bundle(page: str) -> str:
    bundle = app_bundle()
    assert page.count(bundle) == 1
    return page.replace(bundle, "")


def outside_references(page: str) -> list[str]:
    """Every src=, href=, action=… of a tag, and every url(…) or @import of a style, that is not a #fragment (the page
    with plotly.js itself left out: what its code requests the browser test sees)."""
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)
    found = [
        ref
        for tag in tags
        for ref in re.findall(r"""\s(?:src|href|action|poster|data|srcset)\s*=\s*["']?([^"'\s>]*)""", tag, re.I)
    ]
    styles = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", page, flags=re.S | re.I))
    found += re.findall(r"""url\(\s*["']?([^"')]*)""", styles) + re.findall(r"@import\s+([^;]+)", styles)
    return [ref for ref in found if not ref.startswith("#")]


def figure_blocks(page: str) -> dict[str, dict]:
    blocks = re.findall(
        r'<script type="application/json" class="figure-data" data-target="([^"]+)">(.*?)</script>', page
    )
    return {target: json.loads(text) for target, text in blocks}


def test_plotly_js_is_embedded_once_and_nothing_points_outside(handout):
    _, slides, page = handout
    assert len(re.findall(r"\* plotly\.js [(v]", page)) == 1  # the bundle's banner: one plotly.js, whichever
    rest = without_bundle(page)
    assert outside_references(rest) == []
    assert not re.search(r"<script[^>]*\bsrc", rest, flags=re.I) and "<link" not in rest and "<iframe" not in rest
    # the check sees what it is for
    assert outside_references('<img src="http://198.51.100.7/x.png"><a href="#slide-1">') == [
        "http://198.51.100.7/x.png"
    ]
    assert outside_references("<style>body{background:url(https://198.51.100.7/b.png)}</style>") == [
        "https://198.51.100.7/b.png"
    ]


def test_deck_text_is_escaped_text_never_markup(handout):
    _, slides, page = handout
    rest = without_bundle(page)
    assert SCRIPT_TRAP not in rest and "<img" not in rest and "<b>" not in rest
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rest  # shown as written
    assert "**bold** [link](http://198.51.100.7/)" in rest and "<strong>" not in rest and "<em>" not in rest
    # the scripts are ours: the bundle, one JSON block per figure, the page's own code
    assert rest.count("<script") == 2 + sum(s.figure is not None for s in slides)
    raw = re.findall(r'class="figure-data" data-target="[^"]+">(.*?)</script>', rest, flags=re.S)
    assert len(raw) == sum(s.figure is not None for s in slides)
    assert not [text for text in raw if "<" in text or ">" in text]  # nothing in a figure can close its element
    tokens = json.dumps(figure_blocks(rest)["figure-10"], ensure_ascii=False)
    assert "&lt;unk&gt;" in tokens and "<unk>" not in tokens  # markup-like pieces are text to Plotly, never markup


def test_every_slide_is_there_with_its_figure_and_what_stood_in(handout, checkpoint_dir):
    deck, slides, page = handout
    assert [s.view for s in slides] == [*VIEWS_WITH_FIGURES, "corpus", "translate"]
    assert [s.figure is not None for s in slides] == [True] * len(VIEWS_WITH_FIGURES) + [False, True]
    assert f"There is no checkpoint named no-such here; showing {checkpoint_dir.name}." in slides[-1].lines
    blocks = figure_blocks(page)
    assert sorted(blocks) == sorted(f"figure-{n}" for n, s in enumerate(slides, start=1) if s.figure is not None)
    for n in range(1, len(slides) + 1):
        assert f'<li><a href="#slide-{n}">' in page and f'<section id="slide-{n}">' in page


def test_the_attention_figure_switches_every_head_and_opens_on_the_slides(handout, checkpoint_dir):
    """Its numbers are the model's own attention (a separate translation of the sentence), to 4 decimals."""
    _, _, page = handout
    figure = figure_blocks(page)["figure-1"]
    ckpt = load_checkpoint(checkpoint_dir)
    reference = translate(ckpt.model, ckpt.tokenizer, SENTENCE).trace.encoder  # [L, H, S, S]
    L, H = reference.shape[:2]
    heatmaps = [t for t in figure["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == L * (H + 1)  # every head and the mean of each layer
    assert [t["name"] for t in heatmaps if t.get("visible")] == ["Encoder self-attention, layer 1, head 2"]
    shown = next(t for t in heatmaps if t["name"] == "Encoder self-attention, layer 0, head 3")["z"]
    shape = [int(n) for n in str(shown["shape"]).split(",")]  # plotly.js's typed-array form: "rows, columns"
    z = np.frombuffer(base64.b64decode(shown["bdata"]), dtype=shown["dtype"]).reshape(shape)
    np.testing.assert_allclose(z, reference[0, 3], atol=6e-5)
    assert len(figure["layout"]["sliders"][0]["steps"]) == L * (H + 1)


def test_the_command_writes_the_handout_and_refuses_a_bad_output_in_one_sentence(
    checkpoint_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(checkpoint_dir.parent))
    deck_file = tmp_path / "deck.json"
    deck_file.write_text(json.dumps(small_deck(checkpoint_dir.name)), encoding="utf-8")
    for bad, says in ((tmp_path, "is a folder"), (tmp_path / "missing" / "talk.html", "does not exist")):
        assert main([str(deck_file), "--handout", str(bad)]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()
    out = tmp_path / "talk.html"
    out.write_text("the old file")
    bad_deck = tmp_path / "bad.json"
    bad_deck.write_text('{"slides": 3}')
    assert main([str(bad_deck), "--handout", str(out)]) == 2
    assert "list of slides" in capsys.readouterr().err and out.read_text() == "the old file"  # left as it was
    assert main([str(deck_file), "--handout", str(out)]) == 0
    assert "10 slides" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and len(figure_blocks(page)) == 9
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.slow
def test_the_shipped_decks_handout_is_small():
    """The shipped 10-slide deck on its own checkpoint: well under 15 MB (measured: about 1.7 MB)."""
    deck_file = ROOT / "decks" / "aiayn-multi30k-en-fr.json"
    folder = ROOT / "checkpoints" / "multi30k-en-fr"
    if not folder.is_dir():
        pytest.skip("the shipped checkpoint multi30k-en-fr is not here")
    from model.links.decks import parse_deck

    deck = parse_deck(deck_file.read_bytes())
    slides = handout_slides(deck, {folder.name: folder}, folder.name)
    page = deck_handout(deck["title"], slides, app_bundle())
    assert all(s.figure is not None for s in slides) and len(figure_blocks(page)) == 10
    assert len(page.encode("utf-8")) < 15e6


def wait_for_title(page, title: str) -> None:
    page.wait_for_function(
        "title => document.querySelector('#figure-1 .gtitle').textContent === title", arg=title, timeout=10_000
    )


@pytest.mark.browser
@pytest.mark.slow
def test_the_handout_opens_offline_draws_every_figure_and_switches_heads(handout, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    _, slides, page_html = handout
    file = tmp_path / "talk.html"
    file.write_text(page_html, encoding="utf-8")
    with_figures = sum(s.figure is not None for s in slides)
    last = figure_blocks(page_html)["figure-1"]["data"][-1]["name"]  # the slider's last step
    outside, errors = [], []

    def only_the_file(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
                page = browser.new_page(viewport=viewport)
                page.route("**/*", only_the_file)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(file.as_uri())
                page.wait_for_function(
                    f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {with_figures}",
                    timeout=60_000,
                )
                assert page.locator(".js-plotly-plot").count() == with_figures
                assert page.locator(".plotly").count() == with_figures
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"]  # nothing wider than the screen
                figure = page.locator("#figure-1")
                title = figure.locator(".gtitle").text_content()
                assert title == "Encoder self-attention, layer 1, head 2"
                if viewport["width"] > 600:  # the layer buttons beside the figure
                    figure.locator(".updatemenu-button").filter(has_text="layer 0").click()
                    wait_for_title(page, "Encoder self-attention, layer 0, mean of heads")
                else:  # a phone: the slider alone, the plot given the buttons' margin
                    assert figure.locator(".updatemenu-button").count() == 0
                # the slider walks every layer and head: its right end is the last head of the last layer
                figure.locator(".slider-rail-touch-rect").scroll_into_view_if_needed()
                rail = figure.locator(".slider-rail-touch-rect").bounding_box()
                page.mouse.click(rail["x"] + rail["width"] - 2, rail["y"] + rail["height"] / 2)
                wait_for_title(page, last)
                page.screenshot(path=str(tmp_path / f"handout-{viewport['width']}.png"))
                page.close()
        finally:
            browser.close()
    assert outside == [] and errors == []


def test_the_deck_panel_offers_the_handout_built_from_the_apps_models(app_env, checkpoint_dir):
    from tests.test_app import open_app
    from ui.deck_panel import cached_handout

    deck = small_deck(checkpoint_dir.name)
    at = open_app(text=SENTENCE)
    at.session_state["deck"] = deck
    at.session_state["deck_index"] = 0
    at.run()
    buttons = [b for b in at.get("download_button") if b.proto.label == "Download the handout (HTML)"]
    assert len(buttons) == 1 and not at.exception
    page = cached_handout(json.dumps(deck, sort_keys=True), (str(checkpoint_dir),))
    assert len(figure_blocks(page)) == sum(v != "corpus" for v in [*VIEWS_WITH_FIGURES, "corpus", "translate"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and without_bundle(page).count("<script") == 2 + 9
