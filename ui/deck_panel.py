"""Decks in the app: add the current view, download and upload the deck, and step through it in presentation mode.

Keys: ← → and Page Up / Page Down (what presentation clickers send) press the ◀ ▶ buttons. Streamlit has no keyboard
events, but `components.html` runs a script in a same-origin iframe, which may listen on the page around it: no
frontend build needed. Keys typed into a text box, slider or menu are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from model.analysis.handout import HandoutError, handout_slides
from model.links.decks import PARAM_KEYS, DeckError, parse_deck
from model.links.parameters import read_value
from ui.cache import available_checkpoints, cached_checkpoint
from ui.figure import BUNDLE_JS
from ui.i18n import t
from ui.text import DEFAULT_CHECKPOINT, plain, plain_caption
from ui.url import FROM_OUTSIDE, add_note
from viz.handout import deck_handout, handout_html

ROOT = Path(__file__).resolve().parent.parent


@st.cache_data(max_entries=1, show_spinner=False)
def shipped_decks() -> dict[str, Path]:
    """Title (file stem) → path of each deck in decks/; read once, not on every rerun (they ship with the app)."""
    return {
        str(json.loads(p.read_text(encoding="utf-8")).get("title") or p.stem) + f" ({p.stem})": p
        for p in sorted((ROOT / "decks").glob("*.json"))
    }


@st.cache_data(max_entries=4, show_spinner="Making the handout…")
def cached_handout(deck_json: str, checkpoints: tuple[str, ...]) -> str:
    """The deck's handout (viz/handout.py), once per deck content and set of checkpoints; the models are the app's
    cached ones. A deck that cannot become a handout gives a page saying why in one sentence."""
    deck = json.loads(deck_json)
    folders = {Path(path).name: Path(path) for path in checkpoints}
    try:
        slides = handout_slides(deck, folders, DEFAULT_CHECKPOINT, load=lambda folder: cached_checkpoint(str(folder)))
    except HandoutError as exc:
        return handout_html(deck["title"], [], BUNDLE_JS, about=f"This deck cannot become a handout: {exc}")
    return deck_handout(deck["title"], slides, BUNDLE_JS, about=f"{len(slides)} slides, made with Headlight")


def current_params() -> dict:
    return {
        k: str(st.session_state[k])
        for k in PARAM_KEYS
        if k in st.session_state and st.session_state[k] not in ("", None)
    }


def go_to(index: int) -> None:
    """Open slide `index`: its parameters become the session's (and so the URL's)."""
    deck = st.session_state.deck
    index = max(0, min(index, len(deck["slides"]) - 1))
    st.session_state.deck_index = index
    slide = deck["slides"][index]
    for key, raw in slide["params"].items():
        st.session_state[key] = read_value(key, raw)[0]  # checked when the deck was read; typed here
    for problem in slide.get("problems", []):
        add_note(f"Slide {index + 1}: {problem}")
    st.session_state[FROM_OUTSIDE] = True
    st.session_state.example = ""


def load(deck: dict) -> None:
    st.session_state.deck = deck
    go_to(0)


def add_current_view() -> None:
    deck = st.session_state.get("deck") or {
        "title": "My deck",
        "checkpoint": st.session_state.get("ckpt", ""),
        "slides": [],
    }
    deck["slides"].append(
        {
            "title": f"{st.session_state.get('view', 'translate')} · {st.session_state.get('text', '')[:40]}",
            "note": "",
            "params": current_params(),
        }
    )
    st.session_state.deck = deck
    st.session_state.deck_index = len(deck["slides"]) - 1


def open_shipped(path: Path) -> None:
    try:
        load(parse_deck(path.read_bytes()))
        st.session_state.deck_error = ""
    except (DeckError, OSError) as exc:
        st.session_state.deck_error = t("deck.bad", error=exc)


def open_upload() -> None:
    """Callback of the uploader: runs before the widgets are drawn, so the slide can set their values."""
    upload = st.session_state.get("deck_upload")
    if upload is None:
        return
    try:
        load(parse_deck(upload.getvalue()))
        st.session_state.deck_error = ""
    except DeckError as exc:
        st.session_state.deck_error = t("deck.bad", error=exc)


def sidebar() -> None:
    with st.expander(t("deck.panel")):
        st.button(t("deck.add"), key="deck_add", on_click=add_current_view)
        decks = shipped_decks()
        if decks:
            choice = st.selectbox(t("deck.shipped"), [""] + list(decks), key="deck_shipped")
            if choice:
                st.button(t("deck.open"), key="deck_open", on_click=open_shipped, args=(decks[choice],))
        st.file_uploader(t("deck.upload"), type=["json"], key="deck_upload", on_change=open_upload)
        if st.session_state.get("deck_error"):
            st.error(plain(st.session_state.deck_error))
        deck = st.session_state.get("deck")
        if deck:
            plain_caption(st, t("deck.loaded", title=deck["title"], n=len(deck["slides"])))
            st.download_button(
                t("deck.download"),
                json.dumps(deck, indent=1, ensure_ascii=False),
                "headlight-deck.json",
                "application/json",
                key="deck_download",
                on_click="ignore",
            )
            deck_json = json.dumps(deck, sort_keys=True, ensure_ascii=False)
            # built when clicked: a deck's handout translates every slide
            st.download_button(
                t("deck.handout"),
                lambda: cached_handout(deck_json, tuple(str(p) for p in available_checkpoints())),
                "headlight-handout.html",
                "text/html",
                key="deck_handout",
                help=t("deck.handout_help"),
                on_click="ignore",
            )


def navigation(container) -> None:
    """Previous / Next and the slide's title, in presentation mode."""
    deck = st.session_state.get("deck")
    if not deck:
        return
    index = st.session_state.get("deck_index", 0)
    cols = container.columns([1, 3, 1], vertical_alignment="center")
    cols[0].button("◀", key="deck_prev", on_click=go_to, args=(index - 1,), disabled=index == 0, help=t("deck.prev"))
    plain_caption(cols[1], f"{index + 1}/{len(deck['slides'])} · {deck['slides'][index]['title']}")
    cols[2].button(
        "▶",
        key="deck_next",
        on_click=go_to,
        args=(index + 1,),
        disabled=index >= len(deck["slides"]) - 1,
        help=t("deck.next"),
    )
    components.html(KEYS_SCRIPT, height=0)


KEYS_SCRIPT = """<script>
const page = window.parent.document;
if (!page.headlightDeckKeys) {  // one listener per page, however often Streamlit redraws this frame
  page.headlightDeckKeys = true;
  const keys = {ArrowRight: "next", PageDown: "next", ArrowLeft: "prev", PageUp: "prev"};
  page.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target.closest && target.closest(
      "input, textarea, select, [contenteditable], [role=slider], [role=listbox], [role=combobox]");
    const step = keys[event.key];
    if (!step || typing || event.altKey || event.ctrlKey || event.metaKey) return;
    const button = page.querySelector(`.st-key-deck_${step} button`);
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });
}
</script>"""


def note() -> None:
    deck = st.session_state.get("deck")
    if deck:
        text = deck["slides"][st.session_state.get("deck_index", 0)]["note"]
        if text:
            plain_caption(st, text)  # plain text: a deck cannot show an image or a link
