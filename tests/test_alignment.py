"""Alignment error rate on hand-made alignments with known AER, the gold readers' link counts, and word regrouping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.analysis.alignment import (
    GoldSentence,
    aer,
    aer_table,
    corpus_aer,
    head_alignments,
    links_from,
    read_hansards,
    read_rwth,
    word_matrix,
)
from model.core.paths import DATA_DIR

GOLD = DATA_DIR / "alignment"


def test_aer_by_hand():
    sure, possible = {(0, 0), (1, 1)}, {(2, 2)}
    assert aer({(0, 0), (1, 1)}, sure, possible) == 0.0  # exactly the sure links
    assert aer({(0, 0), (1, 1), (2, 2)}, sure, possible) == 0.0  # possible links cost nothing
    assert aer({(0, 0), (1, 1), (2, 1)}, sure, possible) == pytest.approx(
        1 - 4 / 5
    )  # one wrong link: 1 − (2 + 2)/(3 + 2)
    assert aer({(0, 1)}, sure, possible) == 1.0
    assert aer({(0, 0)}, sure, possible) == pytest.approx(1 - 2 / 3)  # a missed sure link


def test_corpus_aer_sums_counts_before_the_ratio():
    gold = [GoldSentence([], [], {(0, 0)}, {(0, 0)}), GoldSentence([], [], {(0, 0), (1, 1), (2, 2)}, set())]
    predicted = [{(0, 0)}, {(0, 0)}]
    # |A∩S| = 2, |A∩P| = 2, |A| = 2, |S| = 4: 1 − 4/6, not the mean of per-sentence AERs (0 and 0.5)
    assert corpus_aer(predicted, gold) == pytest.approx(1 - 4 / 6)


def test_gold_readers_reproduce_the_documented_link_counts():
    rwth = read_rwth(GOLD / "rwth-de-en")
    assert len(rwth) == 508
    assert sum(len(g.sure) for g in rwth) == 9613 and sum(len(g.possible - g.sure) for g in rwth) == 921
    assert rwth[0].target[:3] == ["Wir", "glauben", "nicht"] and (0, 0) in rwth[0].sure  # Wir-We, German first
    hansards = read_hansards(GOLD / "hansards-en-fr")
    assert len(hansards) == 447 and sum(len(g.sure) for g in hansards) == 4038
    assert sum(len(g.possible) for g in hansards) == 17438  # the shared task's 4,038 S + 13,400 P
    for g in rwth + hansards:
        assert all(t < len(g.target) and s < len(g.source) for t, s in g.possible)


def test_word_matrix_averages_rows_and_sums_columns_by_word():
    out = ["▁Ein", "▁Hun", "d", "</s>"]  # produced pieces: 2 target words, then </s>
    src = ["▁A", "▁do", "g", "</s>"]
    rows = np.array([[0.6, 0.3, 0.1, 0.0], [0.1, 0.5, 0.4, 0.0], [0.2, 0.2, 0.6, 0.0], [0.0, 0.0, 0.0, 1.0]])
    m = word_matrix(rows, out, src)
    np.testing.assert_allclose(m, [[0.6, 0.4], [0.15, 0.85]])
    assert links_from(m) == {(0, 0), (1, 1)}
    assert links_from(m, threshold=0.4) == {(0, 0), (0, 1), (1, 1)}


def test_head_alignments_run_on_a_model(model, tokenizer):
    gold = [
        GoldSentence(["A", "dog", "runs", "."], ["Ein", "Hund", "rennt", "."], {(0, 0), (1, 1), (2, 2), (3, 3)}, set())
    ]
    matrices, kept = head_alignments(model, tokenizer, gold)
    assert kept == [0] and matrices[0].shape == (2, 4, 4, 4)  # 2 layers, 4 heads, 4 German x 4 English words
    sums = matrices[0].sum(axis=-1)  # the </s> column is dropped: each word's row sums to at most 1
    assert (sums > 0).all() and (sums <= 1 + 1e-6).all()
    table = aer_table(matrices, gold)
    assert len(table) == 2 * 5 and all(0.0 <= row["aer_argmax"] <= 1.0 for row in table)


def test_eflomal_reference_on_a_tiny_parallel_text():
    pytest.importorskip("eflomal")
    from model.analysis.alignment import eflomal_gold, words

    src = ["the dog runs .", "the cat sleeps .", "a dog sleeps .", "the cat runs ."] * 20
    tgt = ["der Hund rennt .", "die Katze schläft .", "ein Hund schläft .", "die Katze rennt ."] * 20
    gold = eflomal_gold(src[:2], tgt[:2], src[2:], tgt[2:])
    assert len(gold) == 2 and gold[0].source == words(src[0]) and gold[0].target == words(tgt[0])
    assert (1, 1) in gold[0].possible and (3, 3) in gold[0].sure  # Hund–dog; the final full stops
    assert gold[0].sure <= gold[0].possible


def test_align_eval_scores_every_cross_attention_head_and_each_layers_mean(checkpoint_dir, tmp_path, capsys):
    from model.align_eval import main

    out = tmp_path / "aer.csv"
    assert main(["--checkpoint", str(checkpoint_dir), "--gold", "rwth", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    # the tiny model: 2 decoder layers of 4 heads, and each layer's mean
    assert list(zip(table["layer"], table["head"].astype(str))) == [
        (layer, head) for layer in (0, 1) for head in ("mean", "0", "1", "2", "3")
    ]
    scores = table.drop(columns=["layer", "head"]).to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    printed = capsys.readouterr().out
    best = table.loc[table["aer_argmax"].idxmin()]
    assert f"best head by argmax AER: layer {best['layer']} head {best['head']}: {best['aer_argmax']:.3f}" in printed
    assert main(["--checkpoint", str(checkpoint_dir), "--gold", "hansards"]) == 2
    assert capsys.readouterr().err == "error: hansards needs an en→fr model; tiny-en-de is en→de\n"
    assert main(["--checkpoint", str(checkpoint_dir), "--gold", "rwth", "--src-lang", "en"]) == 2
    assert capsys.readouterr().err == "error: --src-lang 'en' is not a language of tiny-en-de (it is bilingual)\n"


@pytest.mark.parametrize(
    "code, language",
    [("de", "de"), ("deu_Latn", "de"), ("de_DE", "de"), ("fr_XX", "fr"), ("fra_Latn", "fr"), ("ces_Latn", "cs")],
)
def test_a_gold_language_is_found_in_every_familys_spelling(code, language):
    """The codes model.align_eval reads the gold's languages in: M2M-100's, NLLB-200's, mBART-50's."""
    from model.core.language_codes import code_for, language_of, means_language
    from model.importing.languages import M2M_100, MBART_50, NLLB_200

    assert means_language(code, language) and language_of(code) == language
    assert not means_language(code, "en") and not means_language("ben_Beng", language)
    family = next(codes for codes in (M2M_100, NLLB_200, MBART_50) if code in codes)
    assert code_for(language, family) == code
