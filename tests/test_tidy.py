"""Tidying typed English (model.decoding.tidy) and the app translating the tidied sentence, saying so."""

from __future__ import annotations

import pytest

from model.core.language_codes import means_english
from model.decoding.tidy import Tidied, casual_english, looks_like_question, tidy_english, tidy_input
from model.decoding.translation import translate
from model.importing.languages import M2M_100, MBART_50, NLLB_200, WMT_21
from tests.conftest import ROOT
from tests.test_app import heading, open_app
from ui.text import plain

CASES = [  # typed → (what the model gets, what changed), written by hand
    ("where is the nearest bus stop", "Where is the nearest bus stop?", ("capital", "question mark")),
    ("i need an umbrella because it is raining", "I need an umbrella because it is raining.", ("capital", "full stop")),
    ("when i get home, i'll call you", "When I get home, I'll call you.", ("capital", "I", "full stop")),
    ("hi anna, how was your weekend", "Hi anna, how was your weekend?", ("capital", "question mark")),
    ("good morning! did you sleep well", "Good morning! Did you sleep well?", ("capital", "question mark")),
    ("Hi! how are you?", "Hi! How are you?", ("capital",)),
    ("what's your name", "What's your name?", ("capital", "question mark")),
    ("how much do the tickets cost", "How much do the tickets cost?", ("capital", "question mark")),
    ("is the museum open today", "Is the museum open today?", ("capital", "question mark")),
    ("can you help me", "Can you help me?", ("capital", "question mark")),
    ("do it now", "Do it now.", ("capital", "full stop")),  # an imperative, not "do you ..."
    ("have a nice day", "Have a nice day.", ("capital", "full stop")),
    ("do you know him", "Do you know him?", ("capital", "question mark")),
    ("Tom and i are friends", "Tom and I are friends.", ("I", "full stop")),
    ("  two   spaces ", "Two spaces.", ("spaces", "capital", "full stop")),
    ("“hello there”", "“Hello there”.", ("capital", "full stop")),
    ("2 blond girls are sitting", "2 blond girls are sitting.", ("full stop",)),  # a digit first: no capital to make
    (
        "i.e. this one",
        "I.e. this one.",
        ("capital", "full stop"),
    ),  # "i.e." is no pronoun; the capital is the sentence's
    ("Where is the station?", "Where is the station?", ()),
    ("Stop!", "Stop!", ()),
    ("", "", ()),
    ("?!", "?!", ()),
]


@pytest.mark.parametrize("typed, expected, changes", CASES)
def test_tidy_english_makes_only_the_changes_it_names(typed, expected, changes):
    tidied = tidy_english(typed)
    assert (tidied.text, tidied.changes) == (expected, changes)
    assert tidy_english(tidied.text).text == tidied.text  # a second pass finds nothing to do
    assert tidy_english(tidied.text).changes in ((), ("spaces",))


def test_sentences_written_as_the_training_data_are_left_alone():
    demo = (ROOT / "checkpoints" / "samples" / "demo30.en.txt").read_text(encoding="utf-8").splitlines()
    assert [s for s in demo if tidy_english(s).changes] == []


def test_casual_typing_loses_what_tidying_puts_back():
    written = ["I don't know.", "Where is the bus stop?", "Is it yours?", "I'm sure I'll be fine.", "Tom is here!"]
    casual = [casual_english(s) for s in written]
    assert casual == ["i don't know", "where is the bus stop", "is it yours", "i'm sure i'll be fine", "tom is here"]
    assert [tidy_english(s).text for s in casual] == [
        "I don't know.",
        "Where is the bus stop?",
        "Is it yours?",
        "I'm sure I'll be fine.",
        "Tom is here.",
    ]  # "!" cannot be guessed


def test_questions_are_told_by_their_first_words():
    assert looks_like_question("how old are you") and looks_like_question("are they coming")
    assert not looks_like_question("when you are ready, tell me") and not looks_like_question("who")


def test_only_english_input_is_tidied_and_only_when_asked():
    assert tidy_input("wo ist der bahnhof", "de").text == "wo ist der bahnhof"
    assert tidy_input("where is it", "en", enabled=False).text == "where is it"
    assert tidy_input("where is it", "en").text == "Where is it?"


# English as each family spells it (from the families' own code lists), and codes that only look like it
ENGLISH = {"marian": "en", "m2m_100": "en", "wmt21": "en", "nllb": "eng_Latn", "mbart-50": "en_XX"}
NOT_ENGLISH = ["de", "kor_Hang", "ko_KR", "ben_Beng", "fr_XX", "deu_Latn", "", None]


@pytest.mark.parametrize("family", sorted(ENGLISH))
def test_english_is_tidied_under_every_familys_code_and_nothing_else_is(family):
    assert tidy_input("where is it", ENGLISH[family]).text == "Where is it?"
    codes = {"marian": ["en", "de", "fr"], "m2m_100": M2M_100, "wmt21": WMT_21, "nllb": NLLB_200, "mbart-50": MBART_50}
    # of all the family's languages, exactly its English is English
    assert [code for code in codes[family] if means_english(code)] == [ENGLISH[family]]


@pytest.mark.parametrize("code", NOT_ENGLISH)
def test_other_languages_are_left_as_typed(code):
    assert tidy_input("wo ist es", code) == Tidied("wo ist es", ())


def test_the_app_translates_the_tidied_sentence_and_says_so(app_env, model, tokenizer):
    tidied = translate(model, tokenizer, "Where is the station?", with_trace=False).text
    raw = translate(model, tokenizer, "where is the station", with_trace=False).text
    assert tidied != raw  # the random test model tells the two inputs apart, so the heading says which was translated
    at = open_app(text="where is the station")
    assert heading(at) == f"#### DE: {plain(tidied)}"
    notes = [c.value for c in at.caption]
    assert any("“Where is the station?”" in n and "capital letter, question mark" in n for n in notes), notes
    assert at.text_input(key="text").value == "where is the station"  # what was typed stays in the box
    assert "tidy" not in at.query_params

    at.toggle(key="tidy").set_value(False).run()  # exactly as typed
    assert heading(at) == f"#### DE: {plain(raw)}"
    assert not any("Translated as" in c.value for c in at.caption)
    assert at.query_params["tidy"] in ("0", ["0"])
    shared = open_app(text="where is the station", tidy=0)  # the shared link keeps it off
    assert shared.toggle(key="tidy").value is False and heading(shared) == f"#### DE: {plain(raw)}"

    presenting = open_app(
        text="where is the station", present=1
    )  # one row of controls: the tidied sentence is its label
    assert f"#### DE: {plain(tidied)}" in [m.value for m in presenting.markdown]
    assert not any("Translated as" in c.value for c in presenting.caption)
