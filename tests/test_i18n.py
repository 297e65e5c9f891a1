"""Every text exists in every language, formats with the same fields, and the app and lesson run in Korean."""

from __future__ import annotations

import re
import string

import pytest

from tests.test_app import SENTENCE, charts, no_failures, open_app
from ui.i18n import EN, TEXTS


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_no_key_is_missing_in_any_language(lang):
    missing = sorted(set(EN) - set(TEXTS[lang]))
    extra = sorted(set(TEXTS[lang]) - set(EN))
    assert not missing and not extra, (missing, extra)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_every_translation_uses_the_same_placeholders(lang):
    for key, text in EN.items():
        assert fields(TEXTS[lang][key]) == fields(text), key


def test_korean_texts_are_korean():
    """A Korean text without Hangul may only be a formula or symbols (e.g. "8 · × V"), never English words."""
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for key, text in TEXTS["ko"].items():
        if not hangul.search(text):
            assert not re.search(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}", "", text)), (key, text)  # placeholders aside
    assert sum(bool(hangul.search(v)) for v in TEXTS["ko"].values()) > 0.9 * len(TEXTS["ko"])


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lesson_renders_in_both_languages(app_env, lang):
    at = open_app(text=SENTENCE, view="lesson", lang=lang)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    assert len(charts(at)) >= 8
    subheaders = [h.value for h in at.subheader]
    assert subheaders[0] == TEXTS[lang]["sec.pieces.title"] and TEXTS[lang]["sec.layer_by_layer.title"] in subheaders
    assert TEXTS[lang]["view.lesson"] in at.radio(key="view").options


KOREAN_VIEWS = (
    "translate",
    "model",
    "compare",
    "steps",
    "inside",
    "positional",
    "lesson",
    "analysis",
    "whatif",
    "corpus",
)


@pytest.mark.parametrize("view", KOREAN_VIEWS)
def test_views_in_korean_have_no_english_labels(app_env, view):
    at = open_app(text=SENTENCE, view=view, lang="ko", beam=2)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    hangul = re.compile(r"[\uac00-\ud7a3]")
    labels = [
        w.label
        for kind in ("selectbox", "slider", "select_slider", "toggle", "button", "multiselect", "text_area", "metric")
        for w in getattr(at, kind)
    ]
    labels += [e.value for kind in ("caption", "subheader", "info") for e in getattr(at, kind)]
    # the sidebar's model summary names the checkpoint, the sentence and its pieces are data: skip what is not a label
    labels = [x for x in labels if x and "parameters" not in x and SENTENCE not in x]
    english = [x for x in labels if not hangul.search(x) and re.search(r"[A-Za-z]{4,}", x)]
    assert not english, english
