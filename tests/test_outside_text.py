"""Text from outside is text: a value from a link, a deck, a checkpoint folder (config.json, card.json, gallery.json)
or a typed sentence, quoted by any message, caption, label or title, can show no image, no link and no HTML, so the
page fetches nothing and links nowhere because of it.

The AppTest half reads the markdown the page would send the browser and checks it against CommonMark's and
remark-gfm's rules (the autolink expressions are the ones in Streamlit's own markdown bundle); the Chromium half opens
the real page with a local listener and counts what reaches it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from model.links.decks import DeckError, parse_deck
from model.links.parameters import DECK_KEYS, PARAMS
from tests.conftest import ROOT
from tests.test_app import no_failures
from ui.views import VIEWS

HOST = "127.0.0.1:9"  # AppTest fetches nothing: the address only has to be recognisable in what is shown


def payloads(host: str = HOST) -> tuple[str, ...]:
    return (
        f"![x](http://{host}/img.png)",
        f"[a](http://{host}/l)",
        f"<img src=http://{host}/h>",
        f"http://{host}/bare",
        "www.example.com",
    )


ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation makes it text
SYNTAX = {  # looked for once escaped characters are masked: each would make markdown show an image, a link or HTML
    "image": re.compile(r"!\["),
    "link": re.compile(r"\]\s*\("),
    "html or autolink": re.compile(r"<[A-Za-z/!?]"),
}
# remark-gfm's literal autolinks, applied after escapes are resolved (so escaping cannot stop them)
LITERAL = re.compile(r"(https?://|www(?=\.))[-.A-Za-z0-9_]+", re.IGNORECASE)
EMAIL = re.compile(r"[-.A-Za-z0-9_+]+@[-A-Za-z0-9_]+(\.[-A-Za-z0-9_]+)+")
MARKER = re.compile(r"127\.0\.0\.1|example\.com")
MARKDOWN_FIELDS = {"body", "label", "help"}


def shown(at: AppTest) -> tuple[list[str], list[str]]:
    """(markdown, html) of every element and block of the page: bodies of markdown, captions and alerts, labels and
    help of widgets, popovers and expanders, radio options; bodies of st.html."""
    markdown, htmls = [], []

    def strings(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                yield from strings(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v, key)
        elif isinstance(value, str) and key in MARKDOWN_FIELDS:
            yield value

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            data = MessageToDict(proto)
            if getattr(node, "type", "") == "html":
                htmls.append(data.get("body", ""))
            else:
                markdown.extend(strings(data))
                if getattr(node, "type", "") == "radio":
                    markdown.extend(data.get("options", []))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return markdown, htmls


def as_text(markdown: str) -> str:
    """What markdown shows as text (escapes resolved, invisible spaces dropped)."""
    return ESCAPED.sub(r"\1", markdown).replace("\u200b", "")


def leaks(at: AppTest) -> list[tuple[str, str]]:
    """(what, text) for every shown text that quotes an outside value and would be an image, a link or HTML."""
    markdown, htmls = shown(at)
    found = []
    for text in markdown:
        if not MARKER.search(as_text(text)):
            continue
        masked = ESCAPED.sub("\0\0", text)
        found += [(name, text) for name, pattern in SYNTAX.items() if pattern.search(masked)]
        resolved = ESCAPED.sub(r"\1", text)
        if LITERAL.search(resolved) or EMAIL.search(resolved):
            found.append(("literal autolink", text))
    for body in htmls:
        if MARKER.search(html.unescape(body)) and re.search(r"<(img|a|script|iframe|object|embed)\b|href=", body, re.I):
            found.append(("html", body))
    return found


def quoted(at: AppTest) -> str:
    """All the text the page shows, as a reader sees it."""
    markdown, htmls = shown(at)
    return " ".join([as_text(m) for m in markdown] + [html.unescape(h) for h in htmls])


def run(at: AppTest) -> AppTest:
    at.run()
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    return at


def app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at


@pytest.mark.parametrize("payload", payloads(), ids=["image", "link", "html", "bare address", "www"])
def test_every_parameter_of_the_table_quotes_a_link_value_as_text(app_env, payload):
    """Every parameter of the table set to the payload at once: each note that quotes its value, the checkpoint
    sentence, the translated sentence and the sidebar show it as text."""
    at = run(app(**{p.name: payload for p in PARAMS}))
    assert not leaks(at), leaks(at)
    warnings = " ".join(as_text(w.value) for w in at.warning)
    assert "view=" in warnings and "kind=" in warnings and "no checkpoint named" in warnings  # quoted, not dropped
    assert payload[:20] in quoted(at)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_shows_a_typed_sentence_and_a_forced_start_as_text(app_env, view):
    at = run(app(text=" ".join(payloads()), prefix=payloads()[3], view=view, tgt=payloads()[4]))
    assert not leaks(at), leaks(at)


def test_presentation_mode_shows_the_sentence_as_text(app_env):
    at = run(app(text=" ".join(payloads()), present=1, view="steps", src=payloads()[1]))
    assert not leaks(at), leaks(at)
    assert any(payloads()[0] in as_text(text) for text in shown(at)[0])  # the popover's label quotes the sentence


def deck_with(texts: list[str]) -> dict:
    joined = " ".join(texts)
    params = {key: texts[n % len(texts)] for n, key in enumerate(DECK_KEYS)}
    return parse_deck(
        json.dumps(
            {
                "title": joined,
                "checkpoint": joined,
                "slides": [
                    {"title": joined, "note": joined, "params": {"view": "translate"}},
                    {"title": texts[0], "note": texts[1], "params": params},
                ],
            }
        ).encode()
    )


def test_every_deck_field_is_shown_as_text(app_env):
    at = run(app(present=1, text="A dog runs."))
    at.session_state["deck"] = deck_with(list(payloads()))
    at.session_state["deck_index"] = 0
    run(at)
    assert not leaks(at), leaks(at)
    assert payloads()[2] in quoted(at)  # the note, HTML-escaped
    at.button(key="deck_next").click()
    run(at)
    assert not leaks(at), leaks(at)
    warnings = " ".join(as_text(w.value) for w in at.warning)
    assert "Slide 2: view=" in warnings and "Slide 2: kind=" in warnings
    with pytest.raises(DeckError) as refused:  # a parameter's name is quoted by the sentence that refuses the deck
        parse_deck(json.dumps({"slides": [{"params": {p: 1 for p in payloads()}}]}).encode())
    at.session_state["deck_error"] = f"This deck cannot be used: {refused.value}"  # as ui/deck_panel.py keeps it
    at.session_state["present"] = False
    run(at)
    assert not leaks(at), leaks(at)
    assert "unknown parameters" in " ".join(as_text(e.value) for e in at.error)


@pytest.fixture()
def hostile_folder(tmp_path, checkpoint_dir, monkeypatch):
    """A copy of the test checkpoint whose folder name, config.json languages, card.json and gallery.json hold the
    payloads, alone in a checkpoints folder."""
    import streamlit as st

    folder = make_hostile_folder(tmp_path / "checkpoints", checkpoint_dir, HOST)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(folder.parent))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield folder
    st.cache_data.clear()
    st.cache_resource.clear()


def make_hostile_folder(parent: Path, checkpoint_dir: Path, host: str) -> Path:
    texts = payloads(host)
    folder = parent / "www.example.com"
    shutil.copytree(checkpoint_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(src_lang=texts[0], tgt_lang=texts[2])
    (folder / "config.json").write_text(json.dumps(config))
    card = {
        "note": " ".join(texts),
        "name": texts[1],
        "evaluation": {"tatoeba_test": {"beam4": {"bleu": 12.5, "note": texts[0]}}},
        "data": {"source": texts[3]},
    }
    (folder / "card.json").write_text(json.dumps(card))
    gallery = [{"text": texts[0], "look": " ".join(texts), "kind": texts[1], "expect": texts[3]}]
    (folder / "gallery.json").write_text(json.dumps(gallery))
    return folder


@pytest.mark.parametrize("present", [0, 1])
def test_every_checkpoint_folder_text_is_shown_as_text(hostile_folder, present):
    """The folder's name and languages (the sidebar's summary, the translation's heading, the bilingual note), its
    card (the summary's score) and its gallery (the example sentence and what to look at in it)."""
    at = run(app(ckpt=hostile_folder.name, text=payloads()[0], src="xx", present=present))
    assert not leaks(at), leaks(at)
    text = quoted(at)
    assert payloads()[0] in text and "www.example.com" in text  # the languages and the name are quoted
    if not present:
        assert "BLEU 12.5" in text and payloads()[3] in text  # the summary's score; what to look at (the gallery)


# The real page in Chromium: nothing reaches a listener that every payload names, and no link points at it.


class Counter(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Counter.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def listener():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    Counter.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", Counter.requests
    server.shutdown()
    server.server_close()


def test_in_chromium_no_payload_reaches_out_or_becomes_a_link(tmp_path, checkpoint_dir, listener):
    playwright = pytest.importorskip("playwright.sync_api")
    from harness.browser import CHROMIUM, CHROMIUM_ARGS, HEATMAP, streamlit_server

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    host, requests = listener
    texts = payloads(host)
    folder = make_hostile_folder(tmp_path / "checkpoints", checkpoint_dir, host)
    deck = tmp_path / "deck.json"
    slides = [{"title": t, "note": t, "params": {k: texts[n % 5] for n, k in enumerate(DECK_KEYS)}} for t in texts]
    deck.write_text(json.dumps({"title": " ".join(texts), "slides": slides}))
    query = {p.name: texts[n % 5] for n, p in enumerate(PARAMS)} | {"ckpt": folder.name, "text": texts[0]}
    query |= {"present": "0", "view": "translate", "src": texts[4][:16]}
    with streamlit_server(folder.parent) as (url, _), playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?{urlencode(query)}")
        page.wait_for_selector(HEATMAP, timeout=90_000)
        page.wait_for_selector("[data-testid='stAlert']", timeout=30_000)  # the notes quoting the link's values
        page.get_by_text("Deck", exact=False).first.click()  # the sidebar's deck panel
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(deck))
        page.wait_for_function("() => document.body.innerText.includes('Slide 1: ')", timeout=30_000)
        page.wait_for_selector(HEATMAP, timeout=60_000)
        time.sleep(2)  # an image the page would fetch has had time to be asked for
        links = page.eval_on_selector_all("a[href], img[src]", "els => els.map(e => e.href || e.src)")
        text = page.evaluate("() => document.body.innerText").replace("\u200b", "")
        page.screenshot(path=str(tmp_path / "outside-text.png"), full_page=True)
        browser.close()
    assert requests == [], requests
    # (the page's own links, such as a heading's anchor, carry the payloads in their query: only where they lead counts)
    assert not [link for link in links if urlsplit(link).netloc in (host, "www.example.com")], links
    assert texts[0] in text and texts[2] in text and "www.example.com" in text  # shown as text, not dropped
