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
from tests.conftest import ROOT, app_checkpoints, figures
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
    folder = make_hostile_folder(tmp_path / "checkpoints", checkpoint_dir, HOST)
    with app_checkpoints(monkeypatch, folder.parent):
        yield folder


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


# A tokenizer that keeps whole tags as one piece: the pieces themselves are markup, so every label, option and title
# that names a piece is really exercised (the tiny test tokenizer splits a tag into letters).

TAG_PIECES = (
    f'<a\u00a0href="http://{HOST}/piece">click</a>',
    f'<span\u00a0style="font-size:60px">{HOST}</span>',
    f"[click](http://{HOST}/md)",
    f"![i](http://{HOST}/i.png)",
)
RAW_MARKUP = re.compile(r"<a\u00a0href|<span\u00a0style|<b>")  # what Plotly would draw as a link or style


@pytest.fixture(scope="module")
def tag_checkpoint(tmp_path_factory, corpus):
    import io

    import sentencepiece as spm
    import torch

    from model.core.checkpoint import save_checkpoint
    from model.core.tokenizer import BOS, EOS, PAD, UNK, Tokenizer
    from tests.conftest import tiny_model

    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus[0][:500] + corpus[1][:500]),
        model_writer=proto,
        vocab_size=300,
        character_coverage=1.0,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=PAD,
        unk_piece=UNK,
        bos_piece=BOS,
        eos_piece=EOS,
        minloglevel=2,
        normalization_rule_name="identity",
        user_defined_symbols=list(TAG_PIECES),
    )
    tok = Tokenizer(proto.getvalue())
    assert all(tok.sp.encode(piece, out_type=str)[-1] == piece for piece in TAG_PIECES)
    model = tiny_model(tok.vocab_size)
    with torch.no_grad():  # the output layer's bias makes the tag pieces the likeliest outputs and candidates
        bias = next(p for n, p in model.named_parameters() if n.endswith("bias") and p.shape == (tok.vocab_size,))
        for n, piece in enumerate(TAG_PIECES):
            bias[tok.sp.piece_to_id(piece)] += 6.0 - n * 0.5
    folder = tmp_path_factory.mktemp("tags") / "tags"
    save_checkpoint(folder, model, tok, "en", "de", card={"note": "a tokenizer whose pieces are whole tags"})
    return folder


def figure_markup(at: AppTest) -> list[str]:
    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    return [s[:120] for fig in figures(at) for s in strings(fig) if RAW_MARKUP.search(s)]


@pytest.mark.parametrize("view", ["whatif", "lesson"])
def test_pieces_that_are_whole_tags_are_text_in_options_labels_and_titles(tag_checkpoint, monkeypatch, view):
    import streamlit as st

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(tag_checkpoint.parent))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = run(app(ckpt="tags", text=" dog ".join(TAG_PIECES), view=view, tidy=0))
    st.cache_data.clear()
    st.cache_resource.clear()
    assert not leaks(at), leaks(at)
    assert figure_markup(at) == []
    if view == "whatif":  # the candidates to force are the tag pieces, as text
        options = [o for radio in at.radio if radio.key == "force_pick" for o in radio.options]
        assert any(TAG_PIECES[1][:12] in as_text(o) or TAG_PIECES[0][:12] in as_text(o) for o in options), options
    else:  # the softmax section's title names the query piece, escaped
        titles = [json.dumps(fig.get("layout", {}).get("title")) for fig in figures(at)]
        assert any("&lt;" in title for title in titles), titles


ALIGNMENT_ROWS = "0,mean,0.5\n0,0,0.4\n0,1,0.6\n1,0,0.3\n1,1,0.7\n"


def test_alignment_tables_names_and_columns_are_refused_or_shown_as_text(tmp_path, checkpoint_dir, monkeypatch):
    """A file name and column names from the folder reach the select box's label, the grid's title, colour bar and
    hover: names outside alignment_NAME.csv and aer_NAME are refused in one sentence, the rest escaped."""
    import streamlit as st

    folder = tmp_path / "checkpoints" / "tiny-en-de"
    shutil.copytree(checkpoint_dir, folder)
    (folder / f"alignment_![x](http:{HOST}).csv").write_text("layer,head,aer_argmax\n" + ALIGNMENT_ROWS)
    (folder / "alignment_good.csv").write_text(f"layer,head,aer_<b>{HOST}</b>\n" + ALIGNMENT_ROWS)
    (folder / "alignment__em_.csv").write_text("layer,head,aer_x\n" + ALIGNMENT_ROWS)  # "__" would break its keys
    (folder / "alignment_gold_v1.csv").write_text("layer,head,aer_x\n" + ALIGNMENT_ROWS)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(folder.parent))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(ckpt="tiny-en-de", view="heads", text="A dog.")
    at.run()
    st.cache_data.clear()
    assert not at.exception and not leaks(at), leaks(at)
    errors = [as_text(e.value) for e in at.error]
    assert len(errors) == 3, errors
    assert sum("is not named alignment_GOLD.csv" in e for e in errors) == 2, errors
    assert any("alignment_good.csv" in e and "an aer_* column's name is aer_ then" in e for e in errors), errors
    assert figure_markup(at) == [] and not any(f"<b>{HOST}" in json.dumps(fig) for fig in figures(at))
    labels = [box.label for box in at.selectbox if box.key == "aer_gold_v1"]
    assert labels and "gold\\_v1" in labels[0]  # the gold set's name is escaped like any outside text


def test_a_per_head_grid_shows_a_column_name_as_text_never_markup_or_template():
    import pandas as pd

    from viz.analysis import head_grid

    table = pd.DataFrame({"kind": "cross", "layer": [0, 0, 1, 1], "head": [0, 1, 0, 1], "v": [0.1, 0.2, 0.3, 0.4]})
    name = "aer_%{z}<b>x</b>"
    figure = head_grid(table.rename(columns={"v": name}), "cross", name, title=f"<a href='x'>{name}</a>").to_dict()
    trace, title = figure["data"][0], json.dumps(figure["layout"]["title"])
    assert "<b>" not in trace["colorbar"]["title"]["text"] and "&lt;b&gt;" in trace["colorbar"]["title"]["text"]
    assert "<a href" not in title and "&lt;a href=" in title
    assert name not in trace["hovertemplate"] and "%{z}<b>" not in trace["hovertemplate"]
    assert re.findall(r"%\{([^}]*)\}", trace["hovertemplate"]) == ["y", "x", "meta[0]", "z:.3f"]
