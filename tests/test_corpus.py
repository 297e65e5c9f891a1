"""Corpus runs: stored statistics equal a recomputation, an interrupted run resumes to the same result, the
diagonal pattern by hand, and the joint query/key projection puts a query near the keys it attends to."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis.corpus import corpus_summary, diagonal_pattern, joint_projection, qk_vectors, run_corpus
from model.analysis.head_statistics import STATS, trace_stats
from model.decoding.translation import translate
from tests.conftest import ROOT

SENTENCES = [
    "A dog runs.",
    "",
    "Two men play football on the beach.",
    "A woman reads.",
    "A child eats an apple.",
    "People walk in the park.",
    "A red car.",
]


class Ckpt:
    def __init__(self, model, tokenizer):
        self.model, self.tokenizer, self.name = model, tokenizer, "tiny"


def test_stored_statistics_equal_a_recomputation_and_a_resumed_run_equals_one_run(model, tokenizer, tmp_path):
    ckpt = Ckpt(model, tokenizer)
    whole = run_corpus(ckpt, SENTENCES, None, tmp_path / "whole", chunk_size=3)
    assert whole["done"] == 7 and whole["chunks"] == 3 and whole["peak_rss_mb"] > 0
    run_corpus(ckpt, SENTENCES[:4], None, tmp_path / "resumed", chunk_size=3)  # stopped after the first chunks
    resumed = run_corpus(ckpt, SENTENCES, None, tmp_path / "resumed", chunk_size=3)
    a, b = corpus_summary(tmp_path / "whole"), corpus_summary(tmp_path / "resumed")
    assert list(a["sentence"]) == list(b["sentence"]) == [0, 2, 3, 4, 5, 6]  # the empty line is left out
    np.testing.assert_array_equal(a["stats"], b["stats"])
    assert resumed["done"] == 7
    # the statistics of sentence 2 equal trace_stats of its translation, head by head, in all_heads order
    expected = trace_stats(translate(model, tokenizer, SENTENCES[2]).trace)[STATS].to_numpy()
    np.testing.assert_allclose(a["stats"][1], expected, atol=1e-6)
    assert str(a["source"][1]) == SENTENCES[2] and a["q"].shape[1:] == (len(expected), 3, model.cfg.d_k)


def test_diagonal_pattern_by_hand():
    weights = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    sums, counts = diagonal_pattern(weights, cross=False)
    mid = len(sums) // 2
    assert sums[mid] == pytest.approx(0.5 + 0.3 + 0.0) and counts[mid] == 3  # the diagonal
    assert sums[mid + 1] == pytest.approx(0.5 + 0.5) and counts[mid + 1] == 2  # one to the right
    assert sums[mid - 1] == pytest.approx(0.2 + 1.0) and counts[mid - 1] == 2  # one to the left


def test_translating_keys_changes_no_query_s_ranking():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(5, 8)), rng.normal(size=(7, 8)) + 3.0
    shift = q.mean(0) - k.mean(0)
    np.testing.assert_array_equal(np.argsort(q @ k.T, axis=1), np.argsort(q @ (k + shift).T, axis=1))


@pytest.mark.skipif(not (ROOT / "checkpoints" / "multi30k-en-fr").is_dir(), reason="needs the shipped model")
def test_in_the_projection_a_querys_nearest_key_ranks_high_in_its_real_weights():
    from model.core.checkpoint import load_checkpoint

    ckpt = load_checkpoint(ROOT / "checkpoints" / "multi30k-en-fr")
    hits = total = chance = 0
    for text in [
        "A man drives a red car.",
        "Two young men are playing football on a green field.",
        "A woman with a black dog walks in the park.",
    ]:
        result = translate(ckpt.model, ckpt.tokenizer, text)
        vectors = qk_vectors(ckpt.model, result.src_ids, result.out_ids)
        for kind, layer, head in [("cross", 2, 3), ("encoder", 2, 1), ("cross", 1, 0)]:
            q, k = (v[head] for v in vectors[(kind, layer)])
            weights = result.trace.attention(kind)[layer, head]
            q2, k2 = joint_projection(q, k)
            for i in range(len(q2)):
                nearest = np.linalg.norm(k2 - q2[i], axis=1).argmin()
                hits += (weights[i] > weights[i, nearest]).sum() < 3  # among the 3 keys it attends to most
                total += 1
                chance += min(3, len(k2)) / len(k2)
    assert hits / total >= 0.7 and hits / total > 2 * chance / total, (hits, total, chance)


def test_head_dashboard_renders_from_a_corpus_run(app_env, checkpoint_dir, model, tokenizer):
    from tests.test_app import charts, no_failures, open_app

    run_corpus(Ckpt(model, tokenizer), SENTENCES, None, checkpoint_dir / "corpus", chunk_size=4)
    try:
        at = open_app(text="A dog runs.", view="heads", kind="cross", layer=1, head=2)
        assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
        titles = [c["layout"]["title"]["text"] for c in charts(at)]
        assert any(t.startswith("This head") for t in titles) and any(t.startswith("Queries and keys") for t in titles)
        assert any(t.startswith("Typical pattern") for t in titles) and any(t.startswith("All heads") for t in titles)
        assert at.query_params["layer"] in ("1", ["1"]) and at.query_params["head"] in ("2", ["2"])
    finally:
        import shutil

        shutil.rmtree(checkpoint_dir / "corpus")
