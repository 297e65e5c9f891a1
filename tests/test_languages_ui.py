"""Languages as a choice in the app: the sidebar's source and target reach the translation, links
and decks carry them, an unknown code falls back with one sentence, language-code pieces are labelled and never merged
into a word, and the positional view and the lesson show the formula the model really uses.

The models are tiny random NLLB-200 and mBART-50 ones built from transformers' own config classes with the family's
own tokenizer (tests/test_hf_families.py), imported with model.import_hf; the piece ids expected for the language codes
come from that tokenizer, not from ours.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from model.core.positions import PAPER, position_formula  # noqa: E402
from model.core.text_files import read_lines  # noqa: E402
from model.decoding.trace import Trace  # noqa: E402
from model.import_hf import main as import_main  # noqa: E402
from tests.test_app import VIEWS, charts, no_failures, open_app  # noqa: E402
from tests.test_hf_families import DATA, family_model, family_tokenizer, quiet, train_spm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "Two young men are playing football on a green field."


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """{"folder": the checkpoints' folder, "nllb": NLLB's own tokenizer, "mbart": mBART-50's}."""
    root = tmp_path_factory.mktemp("languages")
    lines = (
        read_lines(DATA / "multi30k/train.en.gz")[:400]
        + read_lines(DATA / "multi30k/train.de.gz")[:300]
        + read_lines(DATA / "flores/devtest.kor_Hang.gz")[:300]
    )
    theirs = {}
    for family, name, model_type in (("nllb", "nllb-tiny", "bpe"), ("mbart-50", "mbart-tiny", "unigram")):
        folder = root / "hf" / name
        tok = family_tokenizer(family, train_spm(lines, model_type), folder)
        vocab_size = max(tok.get_vocab().values()) + 1 + (2 if family == "nllb" else 0)
        quiet(family_model(family, vocab_size, seed=5).save_pretrained, str(folder))
        assert import_main([str(folder), "--dest", str(root / "ckpts" / name)]) == 0
        theirs[family.split("-")[0]] = tok
    return {"folder": root / "ckpts", **theirs}


@pytest.fixture()
def multi_env(built, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(built["folder"]))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield built
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture()
def translations(monkeypatch) -> list:
    """(keyword arguments, Translation) of every translation the app runs."""
    from ui import cache

    calls, real = [], cache.translate
    monkeypatch.setattr(cache, "translate", lambda *a, **k: calls.append((k, real(*a, **k))) or calls[-1][1])
    return calls


def link(at, key: str):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def test_the_pickers_languages_reach_the_translation(multi_env, translations):
    theirs = multi_env["nllb"]
    at = open_app(ckpt="nllb-tiny", text=SENTENCE, view="translate", tgt="deu_Latn")
    assert no_failures(at) and at.selectbox(key="tgt_pick").value == "deu_Latn"
    kwargs, result = translations[-1]
    assert (kwargs["src_lang"], kwargs["tgt_lang"]) == ("eng_Latn", "deu_Latn")
    assert result.src_ids[0] == theirs.convert_tokens_to_ids("eng_Latn")  # NLLB: [code] pieces </s>
    assert result.out_ids[0] == theirs.convert_tokens_to_ids("deu_Latn")  # the target's code, forced first
    at.selectbox(key="src_pick").set_value("kor_Hang").run()
    at.selectbox(key="tgt_pick").set_value("fra_Latn").run()
    kwargs, result = translations[-1]
    assert (kwargs["src_lang"], kwargs["tgt_lang"]) == ("kor_Hang", "fra_Latn") and no_failures(at)
    assert result.src_ids[0] == theirs.convert_tokens_to_ids("kor_Hang")
    assert result.out_ids[0] == theirs.convert_tokens_to_ids("fra_Latn")
    assert (link(at, "src"), link(at, "tgt")) == ("kor_Hang", "fra_Latn")
    assert any(m.value.startswith(("#### FRA\\_LATN: ", "#### (")) for m in at.markdown)  # or "(empty translation)"


def test_an_unknown_code_falls_back_with_one_sentence(multi_env, translations):
    at = open_app(ckpt="nllb-tiny", text=SENTENCE, tgt="xx_Yyyy", src="eng_Latn")
    notes = [w.value for w in at.warning]
    assert len(notes) == 1 and notes[0].count(".") == 1 and "xx\\_Yyyy" in notes[0] and "nllb-tiny" in notes[0]
    assert translations[-1][0]["tgt_lang"] == "kor_Hang"  # the checkpoint's default target
    assert translations[-1][1].out_ids[0] == multi_env["nllb"].convert_tokens_to_ids("kor_Hang")
    assert at.session_state.tgt == "" and link(at, "tgt") is None and no_failures(at)
    at.run()
    assert not at.warning  # said once


def test_a_share_link_round_trips_the_pair_and_the_default_pair_stays_out(multi_env, translations):
    at = open_app(ckpt="nllb-tiny", text=SENTENCE, src="deu_Latn", tgt="fra_Latn")
    assert (link(at, "src"), link(at, "tgt")) == ("deu_Latn", "fra_Latn")
    again = open_app(**{key: link(at, key) for key in at.query_params})
    assert (again.selectbox(key="src_pick").value, again.selectbox(key="tgt_pick").value) == ("deu_Latn", "fra_Latn")
    assert translations[-1][0]["src_lang"] == "deu_Latn" and no_failures(again)
    again.selectbox(key="src_pick").set_value("eng_Latn").run()  # the checkpoint's default: no place in a link
    again.selectbox(key="tgt_pick").set_value("kor_Hang").run()
    assert link(again, "src") is None and link(again, "tgt") is None and again.session_state.src == ""
    assert translations[-1][0]["tgt_lang"] == "kor_Hang"


def test_a_deck_slide_sets_the_target_and_a_new_slide_keeps_it(multi_env, translations):
    from model.links.decks import parse_deck

    slides = [
        {"title": "default", "params": {"view": "translate", "ckpt": "nllb-tiny"}},
        {"title": "to German", "params": {"view": "steps", "ckpt": "nllb-tiny", "tgt": "deu_Latn", "step": 0}},
    ]
    deck = parse_deck(json.dumps({"title": "languages", "slides": slides}).encode())
    at = open_app(present=1, ckpt="nllb-tiny", text=SENTENCE)
    at.session_state["deck"] = deck
    at.session_state["deck_index"] = 0
    at.run()
    at.button(key="deck_next").click().run()
    assert translations[-1][0]["tgt_lang"] == "deu_Latn" and no_failures(at)
    at.button(key="deck_add").click().run()
    assert at.session_state.deck["slides"][-1]["params"]["tgt"] == "deu_Latn"


def test_code_pieces_are_labelled_and_never_merged_into_a_word(multi_env):
    theirs = multi_env["nllb"]
    at = open_app(ckpt="nllb-tiny", text=SENTENCE, view="translate", kind="cross")
    at.toggle(key="words").set_value(True).run()
    heatmap = charts(at)[0]["layout"]
    # the words by hand from NLLB's own pieces: a new word at each '▁'
    words = []
    for piece in theirs.tokenize(SENTENCE):
        words.append(piece[1:]) if piece.startswith("▁") else words.__setitem__(-1, words[-1] + piece)
    assert list(heatmap["xaxis"]["ticktext"]) == ["⟨eng_Latn⟩", *words, "&lt;/s&gt;"]
    rows = list(heatmap["yaxis"]["ticktext"])
    assert rows[:2] == ["&lt;/s&gt;", "⟨kor_Hang⟩"]  # the start symbol, then the forced code as a word of its own


def test_the_step_view_shows_the_code_as_the_forced_first_piece(multi_env):
    from ui.i18n import t

    at = open_app(ckpt="nllb-tiny", text=SENTENCE, view="steps", step=0, tgt="deu_Latn")
    line = next(m.value for m in at.markdown if "Step 0" in m.value)
    assert "⟨deu\\_Latn⟩" in line and t("st.forced") in line and no_failures(at)


def test_a_code_followed_by_a_piece_without_a_word_mark_stays_apart():
    import numpy as np

    from model.core.interface import MultilingualTranslationTokenizer, piece_word_starts
    from ui.context import code_labels, labelled_trace

    class Codes(MultilingualTranslationTokenizer):  # a multilingual tokenizer with two code pieces, nothing else
        pad_id, unk_id, eos_id, files = 0, 1, 3, ()
        codes = {"kor_Hang": "kor_Hang", "ko": "__ko__"}
        src_lang, tgt_lang = "ko", "kor_Hang"

    zeros = np.zeros((1, 1, 4, 4))
    trace = Trace(
        ["__ko__", "나", "는", "</s>"],
        ["</s>", "kor_Hang", "나", "는"],
        ["kor_Hang", "나", "는", "</s>"],
        zeros,
        zeros,
        zeros,
        np.zeros((4, 2)),
        # as make_trace computes them
        src_word_starts=piece_word_starts(Codes(), ["__ko__", "나", "는", "</s>"]),
        tgt_word_starts=piece_word_starts(Codes(), ["</s>", "kor_Hang", "나", "는"]),
        candidates=[[("kor_Hang", 1.0)]] * 4,
    )
    assert trace.src_word_starts == [True, True, False, True]  # 나 is not merged into the code before it
    assert trace.tgt_word_starts == [True, True, True, False]
    shown = labelled_trace(trace, code_labels(Codes()))
    assert shown.src_pieces == ["⟨ko⟩", "나", "는", "</s>"] and shown.out_pieces[0] == "⟨kor_Hang⟩"
    assert (shown.src_word_starts, shown.tgt_word_starts) == (trace.src_word_starts, trace.tgt_word_starts)
    assert shown.candidates[0] == [("⟨kor_Hang⟩", 1.0)] and shown.encoder is trace.encoder  # not copied
    assert labelled_trace(trace, code_labels(object())) is trace  # bilingual: as it is


@pytest.mark.parametrize("name", ["nllb-tiny", "mbart-tiny"])
@pytest.mark.parametrize("view", ["positional", "lesson"])
def test_the_formula_shown_is_the_models_beside_the_papers(multi_env, name, view):
    from model.core.checkpoint import load_checkpoint

    cfg = load_checkpoint(multi_env["folder"] / name).model.cfg
    formula = position_formula(cfg)
    assert formula.latex != PAPER  # fairseq's frequencies with an offset; a learned table
    at = open_app(ckpt=name, text=SENTENCE, view=view)
    shown = [latex.value.strip("$\n") for latex in at.latex]  # st.latex wraps it in $$
    assert formula.latex in shown and PAPER in shown and no_failures(at)


def test_a_bilingual_checkpoint_has_no_picker_and_lets_a_code_go(app_env, translations):
    at = open_app(text="A dog runs.", tgt="kor_Hang")
    keys = [s.key for s in at.selectbox]
    assert "tgt_pick" not in keys and "src_pick" not in keys
    assert translations[-1][0]["tgt_lang"] is None and "kor\\_Hang" in at.warning[0].value and no_failures(at)
    at = open_app(text="A dog runs.", view="positional")
    shown = [latex.value.strip("$\n") for latex in at.latex]
    assert shown.count(PAPER) == 1  # the paper's formula is this model's: shown once


def test_the_validation_sample_is_found_under_any_familys_code():
    from ui.cache import validation_sample

    folder = ROOT / "checkpoints" / "samples"
    english, german = (read_lines(folder / f"val200.{lang}.txt")[:3] for lang in ("en", "de"))
    assert validation_sample("eng_Latn", "deu_Latn", 3) == (english, german)
    assert validation_sample("en_XX", "de_DE", 3) == validation_sample("en", "de", 3) == (english, german)
    assert validation_sample("eng_Latn", "kor_Hang", 3) is None  # no Korean shipped


def test_the_positional_views_smallest_distance_is_every_pairs_without_an_n_by_n_by_d_array():
    """At NLLB's size (1024 positions, d = 1024) differencing every pair took 8 GB and 30 s in the view."""
    import numpy as np

    from model.core.transformer import fairseq_positional_encoding
    from viz.positional import smallest_distance

    tables = [fairseq_positional_encoding(130, 64).numpy()[2:], np.random.default_rng(0).normal(size=(40, 8))]
    for pe in tables:
        pairs = [np.linalg.norm(pe[i].astype(float) - pe[j]) for i in range(len(pe)) for j in range(i)]
        assert smallest_distance(pe) == pytest.approx(min(pairs), rel=1e-9)
    assert smallest_distance(np.array([[0.0, 1.0], [3.0, 5.0], [0.0, 1.0]])) == 0.0  # a repeated row


def test_the_lessons_logit_lens_computed_once_per_translation_is_the_full_lessons(model, tokenizer):
    """The app computes the lens apart (once per translation, not per head): the same numbers as the full lesson."""
    import numpy as np

    from model.analysis.lesson import LessonChoice, lens_numbers, lesson_numbers
    from model.decoding.translation import translate

    translated = translate(model, tokenizer, "A dog runs on the beach.")
    choice = LessonChoice("cross", 1, 2, 1)
    full = lesson_numbers(model, translated.src_ids, translated.out_ids, choice)
    apart = lesson_numbers(model, translated.src_ids, translated.out_ids, choice, with_lens=False)
    lens = lens_numbers(model, translated.src_ids, translated.out_ids)
    assert apart.per_layer == [] and len(lens) == len(full.per_layer) == model.cfg.n_decoder_layers
    for mine, theirs in zip(lens, full.per_layer):
        assert mine.layer == theirs.layer
        for key in ("top_ids", "top_probs", "stream"):
            np.testing.assert_array_equal(getattr(mine, key), getattr(theirs, key))
    np.testing.assert_array_equal(apart.head_steps.weights, full.head_steps.weights)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_opens_on_a_multilingual_model_with_a_chosen_pair(multi_env, view):
    at = open_app(ckpt="nllb-tiny", text=SENTENCE, view=view, src="deu_Latn", tgt="fra_Latn", beam=2)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    if any(toggle.key == "words" for toggle in at.toggle):  # pieces merged into words, the codes kept apart
        at.toggle(key="words").set_value(True).run()
        assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]


def test_views_and_lesson_choices_never_retranslate_nor_redo_the_logit_lens(multi_env, translations, monkeypatch):
    """What keeps a 600M model responsive: one translation per request, one logit lens per translation."""
    from ui import lesson_page

    lenses, real = [], lesson_page.lens_numbers
    monkeypatch.setattr(lesson_page, "lens_numbers", lambda *a, **k: lenses.append(a) or real(*a, **k))
    at = open_app(ckpt="nllb-tiny", text=SENTENCE, view="translate")
    for view in ("model", "lesson", "steps", "positional", "lesson"):
        at.radio(key="view").set_value(view).run()
    at.selectbox(key="lesson_head").set_value(3).run()
    at.selectbox(key="lesson_layer").set_value(0).run()
    assert len(translations) == 1 and len(lenses) == 1 and no_failures(at)
