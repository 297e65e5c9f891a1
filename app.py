"""Headlight: translate a sentence and see what every attention head did. `streamlit run app.py`

The page: the views and the model's settings in the sidebar; one line at the top with the sentence, its translation
and a help popover; then the view, whose first figure starts in the upper half of the screen. Presentation mode has no
sidebar: one row (view, sentence, mode) and the main figure sized to the browser window (ui/figure.js).
"""

from __future__ import annotations

import streamlit as st

from model.core.checkpoint import Checkpoint, with_languages
from model.decoding.tidy import Tidied, tidy_input
from model.links.parameters import MAX_BEAM, MAX_OUTPUT_PIECES, MAX_TEXT_CHARS, PARAMS, link_value
from ui import deck_panel
from ui.cache import available_checkpoints, cached_training_curve
from ui.context import PageContext, Request
from ui.errors import guarded
from ui.examples import EXAMPLES, load_gallery
from ui.figure import preload_plotly, show_figure
from ui.i18n import LANGUAGES, t
from ui.requests import load, run_search, translate_first
from ui.text import DEFAULT_CHECKPOINT, PLAIN_CSS, card_summary, plain
from ui.theme import Theme
from ui.url import add_note, init_from_url, settle_languages, settle_model_ranges, show_param_notes, write_url
from ui.views import VIEWS

# Normal mode: less padding, a narrower sidebar, the header out of the way; the sentence bar's translation on one line.
SHELL_CSS = """<style>
[data-testid='stMainBlockContainer'] {padding: 2.6rem 1.5rem 2rem 1.5rem; max-width: 100%}
[data-testid='stHeader'] {background: transparent; height: 2.5rem}
section[data-testid='stSidebar'] {width: 15.5rem !important; min-width: 15.5rem !important}
[data-testid='stSidebarHeader'] {height: 2.5rem; margin-bottom: 0}
[data-testid='stSidebarUserContent'] {padding-top: 0; padding-bottom: 1rem}
[data-testid='stSidebarUserContent'] [data-testid='stVerticalBlock'] {gap: 0.55rem}
[data-testid='stMainBlockContainer'] [data-testid='stVerticalBlock'] {gap: 0.6rem}
[data-testid='stMainBlockContainer'] h3 {padding: 0.5rem 0 0.4rem 0}
.st-key-sentence_bar h4 {margin: 0 !important; padding: 0 !important; line-height: 1.3; font-size: 1.3rem}
.st-key-plotly_preload {display: none}
</style>"""
# Presentation mode: no sidebar or header, tight margins, large type; the main figure fills what is left of the window.
PRESENT_CSS = """<style>
[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], [data-testid='stHeader'] {display: none}
html {font-size: 20px}
[data-testid='stMainBlockContainer'] {padding: 0.6rem 1.2rem 0 1.2rem; max-width: 100%}
[data-testid='stMainBlockContainer'] [data-testid='stVerticalBlock'] {gap: 0.4rem}
[data-testid='stMainBlockContainer'] h4 {margin: 0 !important; padding: 0.1rem 0 0.45rem 0 !important; line-height: 1.3}
.st-key-plotly_preload {display: none}
[data-testid='stColumn']:has(.st-key-present) {flex: 0 0 auto !important; width: auto !important} /* fits its label */
</style>"""
# The sidebar's model curve and card are drawn first but shown below its controls (drawn last: the view comes first).
SIDEBAR_CSS = """<style>
[data-testid='stSidebarUserContent'] > div > [data-testid='stVerticalBlock'] > div:first-child {order: 1}
</style>"""


def main() -> None:
    st.set_page_config(page_title="Headlight", layout="wide")
    preload_plotly()
    checkpoints = {p.name: p for p in available_checkpoints()}
    default = DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT in checkpoints else next(iter(checkpoints), "")
    init_from_url({"ckpt": default})
    settle_session(list(checkpoints), default)
    present = st.session_state.present
    st.markdown((PRESENT_CSS if present else SHELL_CSS) + PLAIN_CSS, unsafe_allow_html=True)
    if not checkpoints:
        st.error("No checkpoint found in checkpoints/. Train one with `python -m model.train` (docs/training.md).")
        st.stop()
    path = str(checkpoints[st.session_state.ckpt])
    loaded = load(path)
    default_pair = (loaded.src_lang, loaded.tgt_lang) if loaded is not None else None
    pair = settle_languages(loaded.name, loaded.languages, default_pair) if loaded is not None else None
    if pair:  # a multilingual model: from here on its tokenizer, src_lang and tgt_lang are the chosen pair
        loaded = with_languages(loaded, *pair)
    source = (
        tidy_input(st.session_state.text, loaded.src_lang, st.session_state.tidy)
        if loaded is not None
        else Tidied(st.session_state.text, ())
    )
    request = current_request(path, source.text, pair)
    if loaded is not None:
        translate_first(request)
    gallery = load_gallery(path)
    examples = list(dict.fromkeys([g["text"] for g in gallery] + EXAMPLES))
    look = next((g["look"] for g in gallery if g["text"] == request.source), None)
    sidebar = Sidebar(list(checkpoints), loaded, request, present, default_pair, examples, look)
    bar, notes = top_bar(present, examples, source.text)
    if loaded is None:
        sidebar.draw_controls()
        st.stop()
    searched = run_search(request)
    write_share_link(present)
    if searched is None:
        sidebar.draw_controls()
        st.stop()
    translation = searched.translation
    sentence_bar(bar, notes, loaded, request, source, translation, look)
    settle_model_ranges(loaded.model.cfg, translation)
    show_param_notes()
    if present:
        deck_panel.note()
    context = PageContext(
        request=request,
        loaded=loaded,
        translation=translation,
        beam_tree=searched.beam_tree,
        theme=Theme.for_mode(present, st.session_state.screen),
    )
    guarded(VIEWS[st.session_state.view])(context)  # one broken view must not take the page down
    sidebar.draw_controls()


def settle_session(names: list[str], default_checkpoint: str) -> None:
    """Keep the values of widgets not drawn on this run (Streamlit forgets them otherwise); a checkpoint that is not
    there becomes the default, and the page says so (view, kind, language… were checked when read: ui/url.py)."""
    for key in [p.name for p in PARAMS] + ["words"]:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    if st.session_state.ckpt not in names:
        if names and st.session_state.ckpt:
            add_note(t("app.no_checkpoint", name=st.session_state.ckpt, default=default_checkpoint))
        st.session_state.ckpt = default_checkpoint


def current_request(path: str, source: str, pair: tuple[str, str] | None = None) -> Request:
    """What the model is asked: read from the session once, here; the views get it in their context. `pair`: a
    multilingual model's (source, target), checked (ui.url.settle_languages)."""
    s = st.session_state
    return Request(
        sentence=s.text,
        tidy=s.tidy,
        beam=s.beam,
        max_len=s.max_len,
        prefix=s.prefix,
        checkpoint=s.ckpt,
        path=path,
        source=source,
        src_lang=pair[0] if pair else None,
        tgt_lang=pair[1] if pair else None,
    )


class Sidebar:
    """The sidebar: the model's curve and card (drawn first, shown last), then the controls, drawn after the view so
    that the browser renders the view's heatmap, what a visitor waits for, before them."""

    def __init__(
        self,
        names: list[str],
        loaded: Checkpoint | None,
        request: Request,
        present: bool,
        default_pair: tuple[str, str] | None = None,
        examples: list[str] | None = None,
        look: str | None = None,
    ):
        self.names, self.loaded, self.default_pair = names, loaded, default_pair
        self.examples, self.look = examples or [], look  # the example picker, and what to look at in its sentence
        model_part, self.controls = st.sidebar.container(), st.sidebar.container()
        if present or loaded is None:
            return
        model_part.markdown(SIDEBAR_CSS, unsafe_allow_html=True)
        if loaded.card.get("curve"):
            try:
                show_figure(
                    cached_training_curve(request.path),
                    key="training_curve",
                    config={"displayModeBar": False},
                    container=model_part,
                    secondary=True,
                )
            except ValueError as exc:
                model_part.caption(f"No training curve: {plain(exc)}")
        with model_part.expander(t("app.model_card")):
            if st.toggle(t("app.show_card"), key="show_card"):  # the JSON viewer's bundle only when asked for
                st.json(loaded.card or {"note": "no model card"}, expanded=False)

    def draw_controls(self) -> None:
        with self.controls:
            st.markdown("**Headlight** · " + t("app.caption"))
            if not st.session_state.present:  # presentation mode: both are in the top bar
                st.radio(t("app.view"), list(VIEWS), format_func=lambda v: t(f"view.{v}"), key="view")
                example_picker(st, self.examples, t("app.examples"))
                if self.look:  # right under the picker that chose the sentence
                    st.caption(t("app.look", look=plain(self.look)))
            st.selectbox(t("app.model"), self.names, key="ckpt")
            if self.loaded is not None and self.loaded.languages:
                self.language_pickers()
            st.slider(t("app.beam"), 1, MAX_BEAM, key="beam")
            st.slider(t("app.max_len"), 0, MAX_OUTPUT_PIECES, key="max_len", help=t("app.max_len_help"))
            st.toggle(t("app.tidy"), key="tidy", help=t("app.tidy_help"))
            st.selectbox(t("app.language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
            deck_panel.sidebar()
            if self.loaded is not None:
                st.caption(plain(card_summary(self.loaded)))
                for note in self.loaded.notes:  # what loading noticed (an older format, a part of the card left out)
                    st.caption("ⓘ " + plain(note))

    def language_pickers(self) -> None:
        """Source and target of a multilingual model; the session keeps "" for its default pair (no place in a link)."""
        codes = self.loaded.languages
        help_text = t("app.lang_help", n=len(codes))
        chosen_pair = (self.loaded.src_lang, self.loaded.tgt_lang)
        for key, chosen, default in zip(("src", "tgt"), chosen_pair, self.default_pair):
            st.session_state[f"{key}_pick"] = chosen
            st.selectbox(
                t(f"app.{key}_lang"),
                codes,
                key=f"{key}_pick",
                on_change=pick_language,
                args=(key, default),
                help=help_text,
            )


def pick_language(key: str, default: str) -> None:
    chosen = st.session_state[f"{key}_pick"]
    st.session_state[key] = "" if chosen == default else chosen
    st.session_state.prefix = ""  # a forced start belongs to the language it was written in


def top_bar(present: bool, examples: list[str], source_text: str) -> tuple[list, object]:
    """The page's first line. Normal mode: the sentence, its translation, a place for the ⓘ popover of notes about the
    translation (drawn only when there is one), the mode switch; the examples are in the sidebar, under the views.
    Presentation mode: the view, the sentence (edited in a popover with the examples and the notes), the deck's ◀ ▶,
    the mode switch."""
    # the picker names the sentence when it is an example, as typed or as tidied
    st.session_state.example = next((x for x in (st.session_state.get("text"), source_text) if x in examples), "")
    if present:
        widths = [2, 4, 2.2, 1] if st.session_state.get("deck") else [2, 5, 1]
        bar = st.columns(widths, vertical_alignment="center")
        bar[0].selectbox(
            t("app.view"), list(VIEWS), format_func=lambda v: t(f"view.{v}"), key="view", label_visibility="collapsed"
        )
        if len(bar) == 4:
            deck_panel.navigation(bar[2])
        # what was translated (tidied); the box inside holds what was typed
        notes = bar[1].popover(f"✎ {plain(source_text[:80])}", use_container_width=True)
        notes.text_area(t("app.sentence"), key="text", height=80, help=t("app.sentence_help"), on_change=new_sentence)
        example_picker(notes, examples, t("app.example"))
        # an override: 0 sizes the figure to the window itself
        notes.number_input(t("app.screen"), 0, 4320, key="screen", step=60, help=t("app.screen_help"))
    else:
        bar = st.container(key="sentence_bar").columns([4, 5, 0.8, 1.6], vertical_alignment="center")
        bar[0].text_input(
            t("app.sentence"),
            key="text",
            max_chars=MAX_TEXT_CHARS,
            help=t("app.sentence_help"),
            label_visibility="collapsed",
            placeholder=t("app.sentence"),
            on_change=new_sentence,
        )
        notes = bar[2].empty()
    bar[-1].toggle(t("app.present"), key="present", help=t("app.present_help"))
    return bar, notes


def example_picker(where, examples: list[str], label: str) -> None:
    where.selectbox(
        label,
        [""] + examples,
        key="example",
        on_change=use_example,
        placeholder=t("app.choose"),
        help=t("app.examples_help"),
    )


def new_sentence() -> None:
    st.session_state.prefix = ""  # a forced start belongs to the sentence it was made for


def use_example() -> None:
    if st.session_state.example:
        st.session_state.text = st.session_state.example
        st.session_state.prefix = ""


def sentence_bar(bar: list, notes, loaded: Checkpoint, request: Request, source: Tidied, translation, look) -> None:
    """The translation beside the sentence (presentation mode: below its row); the notes about it in a popover: in
    normal mode an ⓘ beside the translation, there only when there is a note; in presentation mode the sentence's."""
    heading = (
        f"#### {plain(loaded.tgt_lang.upper())}: {plain(translation.text)}"
        if translation.text
        else "#### " + t("app.empty")
    )
    present = st.session_state.present
    (st if present else bar[1]).markdown(heading)
    lines = []
    shown_changes = [change for change in source.changes if change != "spaces"]  # spaces change no piece
    if shown_changes and not present:  # presentation mode: the popover's label is the tidied text
        lines.append(t("app.tidied", text=plain(source.text), changes=", ".join(t(f"tidy.{c}") for c in shown_changes)))
    if look and present:  # normal mode: under the example picker in the sidebar
        lines.append(t("app.look", look=plain(look)))
    code_forced = int(bool(request.tgt_lang) and loaded.model.cfg.force_target_language)  # the target's code piece
    if code_forced:
        lines.append(t("app.forced_code", code=plain(request.tgt_lang)))
    if translation.forced > code_forced:
        lines.append(t("app.forced", n=translation.forced - code_forced))
    if lines and not present:
        notes = notes.popover("", icon=":material/info:", help=t("app.notes_help"))  # no font lacks this icon
    for line in lines:
        notes.caption(line)
    if translation.truncated:
        st.warning(t("app.truncated", kept=len(translation.src_ids) - 1, dropped=translation.truncated))


def write_share_link(present: bool) -> None:
    """The share link carries the request and the view; the views add their own kind / layer / head / step."""
    s = st.session_state
    keys = ["text", "ckpt", "view", "prefix", "lang", "tidy", "beam", "max_len", "src", "tgt"]
    if present:
        keys += ["present", "screen"]
    values = {key: link_value(key, s[key]) for key in keys}
    if not present:
        values.update(present=None, screen=None)
    write_url(**values)


if __name__ == "__main__":
    main()
