"""The URL <-> session state, through the one parameter table (model/links/parameters.py).

Every value is read through the table's checks: a shared link cannot ask for a 999-wide beam, a negative head or a
step past the end; what was not usable as given is said in one sentence above the view.
"""

from __future__ import annotations

import streamlit as st

from model.core.config import TransformerConfig
from model.core.hf_tokenizers import check_language
from model.decoding.translation import Translation
from model.links.parameters import PARAMS, clamp_to_model, read_value
from ui.i18n import t
from ui.text import plain

NOTES = "_param_notes"  # sentences about values that were not usable as given, shown once
FROM_OUTSIDE = "_params_from_outside"  # set when a link or a deck slide has just set the values


def init_from_url(defaults: dict | None = None) -> None:
    """Seed the session from the URL once per session; `defaults` overrides the table's (e.g. the checkpoint that is
    there)."""
    if st.session_state.get("_url_loaded"):
        return
    defaults = defaults or {}
    params = st.query_params
    for param in PARAMS:
        raw = params.get(param.name)
        if raw is None:
            st.session_state.setdefault(param.name, defaults.get(param.name, param.default))
            continue
        value, problem = read_value(param.name, raw)
        st.session_state[param.name] = value
        if problem:
            add_note(problem)
    st.session_state["_url_loaded"] = True
    st.session_state[FROM_OUTSIDE] = True


def add_note(sentence: str) -> None:
    """A sentence, as plain text, for the warning above the view (escaped there: it may quote a link's value)."""
    st.session_state.setdefault(NOTES, []).append(sentence)


def settle_model_ranges(cfg: TransformerConfig, translation: Translation) -> None:
    """Layer, head and step that a link or a deck slide has just set, brought into what this model and translation
    have, with a sentence; values the page's own widgets set are kept in range by the widgets (ui/controls.py)."""
    s = st.session_state
    if not s.pop(FROM_OUTSIDE, False):
        return
    layers = cfg.layers(s.kind)
    for name, count in (("layer", layers), ("head", cfg.n_heads), ("step", max(len(translation.out_ids), 1))):
        value, problem = clamp_to_model(name, s[name], count)
        if problem:
            s[name] = value
            add_note(problem)


def settle_languages(name: str, languages: list[str], default_pair: tuple[str, str]) -> tuple[str, str] | None:
    """The (source, target) a multilingual checkpoint translates with: the session's `src`/`tgt` where the model knows
    them ("" means its default pair). A code it does not know (from a link, a deck slide, or another model's picker)
    becomes the default, and the page says so in one sentence. A bilingual checkpoint: None, and any code is let go
    with a sentence (it translates one pair only)."""
    s = st.session_state
    chosen = []
    for key, default in zip(("src", "tgt"), default_pair):
        code = s.get(key) or ""
        if code and not known_language(code, languages):
            pair = f"{default_pair[0]} → {default_pair[1]}"
            known = "app.unknown_lang" if languages else "app.bilingual_lang"
            add_note(t(known, param=key, code=code, name=name, pair=pair))
            s[key] = code = ""
        chosen.append(code or default)
    return (chosen[0], chosen[1]) if languages else None


def known_language(code: str, languages: list[str]) -> bool:
    """Whether the model knows `code`, by the library's one check (model.core.hf_tokenizers.check_language); the page
    says what it does instead in its own, translated, sentence."""
    try:
        check_language(code, languages)
    except ValueError:
        return False
    return True


def show_param_notes() -> None:
    """Each sentence once, on the run after the values were read (then they are the session's own)."""
    notes = st.session_state.pop(NOTES, [])
    if notes:
        st.warning(plain(" ".join(dict.fromkeys(notes))), icon="⚠️")


def write_url(**values) -> None:
    """Put each value in the URL; None takes its key out (a setting at its default needs no place in a shared link)."""
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
            continue
        value = str(int(value)) if isinstance(value, bool) else str(value)
        if st.query_params.get(key) != value:
            st.query_params[key] = value
