"""Headlight: translate a sentence and see what every attention head did. `streamlit run app.py`"""

from __future__ import annotations

import streamlit as st

from model.decoding.tidy import Tidied, tidy_input
from ui import (
    analysis_page,
    compare_page,
    corpus_heads_page,
    deck,
    inside_head_page,
    lesson_page,
    model_view_page,
    positional_page,
    steps_page,
    translate_page,
    whatif_page,
)
from ui.cache import available_checkpoints, cached_training_curve
from ui.context import PageContext
from ui.errors import guarded, load, run_translation, translate_first
from ui.examples import EXAMPLES, load_gallery
from ui.figure import preload_plotly, show_figure
from ui.i18n import LANGUAGES, t
from ui.text import DEFAULT_CHECKPOINT, DEFAULT_TEXT, card_summary, md_escape
from ui.theme import Theme
from ui.url import URL_KEYS, init_from_url, write_url

VIEWS = {  # the labels come from ui/i18n.py ("view.<name>")
    "translate": translate_page.render,
    "model": model_view_page.render,
    "compare": compare_page.render,
    "steps": steps_page.render,
    "head": inside_head_page.render,
    "positional": positional_page.render,
    "analysis": analysis_page.render,
    "whatif": whatif_page.render,
    "lesson": lesson_page.render,
    "heads": corpus_heads_page.render,
}

st.set_page_config(page_title="Headlight", layout="wide")
preload_plotly()
# Presentation mode: no sidebar or header, tight margins, large type; the main figure fills what is left of the screen.
PRESENT_CSS = """<style>
[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], [data-testid='stHeader'] {display: none}
html {font-size: 20px}
[data-testid='stMainBlockContainer'] {padding: 0.6rem 1.2rem 0 1.2rem; max-width: 100%}
[data-testid='stMainBlockContainer'] [data-testid='stVerticalBlock'] {gap: 0.4rem}
[data-testid='stMainBlockContainer'] h4 {margin: 0 !important; padding: 0.1rem 0 0.45rem 0 !important; line-height: 1.3}
</style>"""
SCREEN_HEIGHTS = (720, 768, 900, 1080, 1200, 1440)  # presentation mode sizes the main figure for the projector
checkpoints = available_checkpoints()
names = [p.name for p in checkpoints]
default_ckpt = DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT in names else (names[0] if names else "")
init_from_url(
    {
        "text": DEFAULT_TEXT,
        "ckpt": default_ckpt,
        "view": "translate",
        "kind": "cross",
        "layer": -1,
        "head": "mean",
        "step": 0,
        "beam": 1,
        "max_len": 0,
        "present": False,
        "prefix": "",
        "lang": "en",
        "screen": 1080,
        "tidy": True,
    }
)
for key in URL_KEYS + (
    "beam",
    "max_len",
    "present",
    "words",
    "lang",
    "screen",
    "tidy",
):  # keep values of widgets not drawn on this page
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
if st.session_state.view not in VIEWS:
    st.session_state.view = "translate"
if st.session_state.lang not in LANGUAGES:
    st.session_state.lang = "en"

if not checkpoints:
    st.error("No checkpoint found in checkpoints/. Train one with `python -m model.train` (see the README).")
    st.stop()
if st.session_state.ckpt not in names:
    st.session_state.ckpt = default_ckpt

present = st.session_state.present
if present:  # presentation mode: no sidebar, large type
    st.markdown(PRESENT_CSS, unsafe_allow_html=True)

path = str(checkpoints[names.index(st.session_state.ckpt)])
ckpt = load(path)
# What the model translates: the sentence as typed, tidied ("where is the bus stop" → "Where is the bus stop?").
source = (
    tidy_input(st.session_state.text, ckpt.src_lang, st.session_state.tidy)
    if ckpt is not None
    else Tidied(st.session_state.text, ())
)
if ckpt is not None:
    translate_first(path, source.text, st.session_state.beam, st.session_state.max_len, st.session_state.prefix)
# Two sidebar containers: the model's curve and card, shown below the controls by CSS; the controls, drawn last.
sidebar_model, sidebar_controls = st.sidebar.container(), st.sidebar.container()
SIDEBAR_CSS = """<style>
[data-testid='stSidebarUserContent'] > div > [data-testid='stVerticalBlock'] > div:first-child {order: 1}
.st-key-plotly_preload {display: none}
</style>"""
sidebar_model.markdown(SIDEBAR_CSS, unsafe_allow_html=True)
if ckpt is not None and ckpt.card.get("curve") and not present:
    try:
        show_figure(
            cached_training_curve(path),
            key="training_curve",
            config={"displayModeBar": False},
            container=sidebar_model,
            secondary=True,
        )
    except ValueError as exc:
        sidebar_model.caption(f"No training curve: {exc}")


def draw_sidebar() -> None:
    """The sidebar's controls, drawn last (and before any stop): the browser renders the main view, whose heatmap is
    what a visitor waits for, before them. Their values are in session_state from the start."""
    with sidebar_controls:
        st.title("Headlight")
        st.caption(t("app.caption"))
        st.selectbox(t("app.language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
        st.selectbox(t("app.model"), names, key="ckpt")
        st.slider(t("app.beam"), 1, 8, key="beam")
        st.slider(t("app.max_len"), 0, 256, key="max_len", help=t("app.max_len_help"))
        st.toggle(t("app.tidy"), key="tidy", help=t("app.tidy_help"))
        deck.sidebar()
        if ckpt is not None:
            st.caption(card_summary(ckpt))


if ckpt is not None:
    with sidebar_model.expander(t("app.model_card")):
        if st.toggle(t("app.show_card"), key="show_card"):  # the JSON viewer's bundle only when asked for
            st.json(ckpt.card or {"note": "no model card"}, expanded=False)

if present:  # one row: the view, the sentence on one line (edited in a popover), the mode switch
    widths = [2, 4, 2.2, 1] if st.session_state.get("deck") else [2, 5, 1]  # the deck's ◀ ▶ only when a deck is open
    top = st.columns(widths, vertical_alignment="center")
    top[0].selectbox(
        t("app.view"), list(VIEWS), format_func=lambda v: t(f"view.{v}"), key="view", label_visibility="collapsed"
    )
    if len(top) == 4:
        deck.navigation(top[2])
else:
    top = st.columns([6, 1])
    top[0].radio(
        t("app.view"),
        list(VIEWS),
        format_func=lambda v: t(f"view.{v}"),
        horizontal=True,
        key="view",
        label_visibility="collapsed",
    )
top[-1].toggle(t("app.present"), key="present", help=t("app.present_help"))


def use_example() -> None:
    if st.session_state.example:
        st.session_state.text = st.session_state.example
        st.session_state.prefix = ""


gallery = load_gallery(path)
examples = list(dict.fromkeys([g["text"] for g in gallery] + EXAMPLES))
if st.session_state.get("example") not in [""] + examples:  # picked under another model's gallery
    st.session_state.example = ""


def new_sentence() -> None:
    st.session_state.prefix = ""  # a forced start belongs to the sentence it was made for


if present:
    with top[1].popover(
        f"✎ {source.text[:80]}", use_container_width=True
    ):  # what was translated; the box holds what was typed
        st.text_area(t("app.sentence"), key="text", height=80, help=t("app.sentence_help"), on_change=new_sentence)
        st.selectbox(
            t("app.example"), [""] + examples, key="example", on_change=use_example, placeholder=t("app.choose")
        )
        if st.session_state.screen not in SCREEN_HEIGHTS:
            st.session_state.screen = 1080
        st.selectbox(
            "Screen height (px)",
            SCREEN_HEIGHTS,
            key="screen",
            help="The main figure fills the screen below the controls",
        )
else:
    st.text_area(t("app.sentence"), key="text", height=80, help=t("app.sentence_help"), on_change=new_sentence)
    st.selectbox(t("app.example"), [""] + examples, key="example", on_change=use_example, placeholder=t("app.choose"))

if ckpt is None:
    draw_sidebar()
    st.stop()
translation = run_translation(
    path, source.text, st.session_state.beam, st.session_state.max_len, st.session_state.prefix
)
write_url(
    text=st.session_state.text,
    ckpt=st.session_state.ckpt,
    view=st.session_state.view,
    prefix=st.session_state.prefix,
    lang=st.session_state.lang,
    tidy=None if st.session_state.tidy else False,
    **({"present": 1, "screen": st.session_state.screen} if present else {}),
)
if translation is None:
    draw_sidebar()
    st.stop()

heading = "####" if present else "###"
st.markdown(
    f"{heading} {md_escape(ckpt.tgt_lang.upper())}: {md_escape(translation.text)}"
    if translation.text
    else f"{heading} " + t("app.empty")
)
shown_changes = [change for change in source.changes if change != "spaces"]  # spaces change no piece
if shown_changes and not present:  # presentation mode shows the tidied sentence in its one row instead
    st.caption(t("app.tidied", text=md_escape(source.text), changes=", ".join(t(f"tidy.{c}") for c in shown_changes)))
look = next((g["look"] for g in gallery if g["text"] == source.text), None)
if look:
    st.caption(t("app.look", look=look))
if translation.forced:
    st.caption(t("app.forced", n=translation.forced))
if translation.truncated:
    kept = len(translation.src_ids) - 1
    st.warning(t("app.truncated", kept=kept, dropped=translation.truncated))

if present:
    deck.note()
context = PageContext(
    path=path,
    ckpt=ckpt,
    translation=translation,
    beam=st.session_state.beam,
    source=source.text,
    theme=Theme.for_mode(present, st.session_state.screen),
)
guarded(VIEWS[st.session_state.view])(context)  # one broken view must not take the page down
draw_sidebar()
