"""Head analysis against hand-computed values on constructed matrices; the analyze CLI; the page."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from model.analysis.ablation import importance_sweep, quality
from model.analysis.head_statistics import (
    STATS,
    alignment_pairs,
    attention_rollout,
    average_stats,
    head_stats,
    label_head,
    source_attribution,
)
from tests.conftest import ROOT, figures
from viz.analysis import alignment_figure, head_grid, token_diff

TOKENS = ["▁A", "▁dog", "▁.", "</s>"]


def stats_and_label(weights, q=TOKENS, k=TOKENS, cross=False):
    s = head_stats(np.asarray(weights, dtype=float), q, k, cross)
    return s, label_head(s)


def test_pure_diagonal():
    s, label = stats_and_label(np.eye(4))
    assert (s["entropy"], s["max_weight"], s["mean_distance"], s["same"], s["previous"], s["next"]) == (
        0,
        1,
        0,
        1,
        0,
        0,
    )
    assert s["to_eos"] == 0.25 and s["to_punctuation"] == 0.25 and math.isnan(s["monotonicity"])
    assert label == "same-token"


def test_uniform():
    s, label = stats_and_label(np.full((4, 4), 0.25))
    assert s["entropy"] == pytest.approx(2.0) and s["max_weight"] == 0.25
    assert s["mean_distance"] == pytest.approx((1.5 + 1 + 1 + 1.5) / 4)
    assert s["previous"] == pytest.approx(0.75 * 0.25) and s["same"] == 0.25
    assert label == "broad"


def test_previous_token():
    w = np.zeros((4, 4))
    w[0, 0] = 1
    w[np.arange(1, 4), np.arange(0, 3)] = 1
    s, label = stats_and_label(w)
    assert s["previous"] == 0.75 and s["same"] == 0.25 and s["mean_distance"] == 0.75
    assert label == "previous-token"


def test_to_eos_and_alignment_in_cross_attention():
    src = ["▁Ein", "▁Hund", "▁.", "</s>"]
    w = np.zeros((3, 4))
    w[:, 3] = 1
    s, label = stats_and_label(w, q=["<s>", "▁x", "▁y"], k=src, cross=True)
    assert s["to_eos"] == 1.0 and math.isnan(s["same"]) and label == "to-EOS"
    s, label = stats_and_label(np.eye(4), q=["<s>", "a", "b", "c"], k=src, cross=True)
    assert s["monotonicity"] == pytest.approx(1.0) and label == "aligning"
    s, _ = stats_and_label(np.eye(4)[::-1], q=["<s>", "a", "b", "c"], k=src, cross=True)
    assert s["monotonicity"] == pytest.approx(-1.0)


def test_rollout_on_a_two_layer_hand_example():
    layer1 = np.array([[1.0, 0.0], [1.0, 0.0]])
    layer2 = np.array([[0.0, 1.0], [0.0, 1.0]])
    # two heads per layer whose mean is the matrix above
    att = np.stack([np.stack([layer1, layer1]), np.stack([layer2 * 0.5 + 0.25, layer2 * 1.5 - 0.25])])
    # A1' = [[1, 0], [.5, .5]]; A2' = [[.5, .5], [0, 1]]; R = A2' A1'
    np.testing.assert_allclose(attention_rollout(att), [[0.75, 0.25], [0.5, 0.5]])
    with pytest.raises(ValueError):
        attention_rollout(att[:, :, :1])


def test_source_attribution_rows_are_distributions():
    rng = np.random.default_rng(0)
    enc = rng.dirichlet(np.ones(5), size=(2, 3, 5))
    cross = rng.dirichlet(np.ones(5), size=(2, 3, 4))
    np.testing.assert_allclose(source_attribution(cross, enc).sum(-1), 1.0)


def test_average_and_alignment_helpers():
    rows = [
        pd.DataFrame([{"kind": "encoder", "layer": 0, "head": 0, **{k: v for k, v in zip(STATS, [x] * 9)}}])
        for x in (1.0, 3.0)
    ]
    table = average_stats(rows)
    assert table.loc[0, "entropy"] == 2.0 and "label" in table
    w = np.array([[0.1, 0.9], [0.6, 0.4]])
    assert alignment_pairs(w, threshold=0.7) == [(0, 1, 0.9)]
    fig = alignment_figure(w, ["a", "b"], ["x", "y"], threshold=0.4)
    assert len(fig.data) == 3 + 2  # three links at or above 0.4, and the two word rows
    assert token_diff(["a", "b", "c"], ["a", "x", "c"]) == [("a", "same"), ("x", "changed"), ("c", "same")]
    grid = head_grid(
        pd.DataFrame({"kind": "cross", "layer": [0, 0, 1, 1], "head": [0, 1, 0, 1], "v": [1, 2, 3, 4]}), "cross", "v"
    )
    np.testing.assert_array_equal(grid.data[0].z, [[1, 2], [3, 4]])


def test_sweep_and_quality_on_a_tiny_model(model, tokenizer, corpus):
    src, ref = corpus[0][:4], corpus[1][:4]
    base = quality(model, tokenizer, src, ref)
    all_cross_off = quality(model, tokenizer, src, ref, [("cross", l, h) for l in range(2) for h in range(4)])
    assert base["logprob"] != all_cross_off["logprob"]
    table = importance_sweep(model, tokenizer, src, ref)
    assert len(table) == 3 * 2 * 4 and table.attrs["baseline"] == pytest.approx(base)
    assert np.isfinite(table[["bleu_drop", "chrf_drop", "logprob_drop"]].to_numpy()).all()


def test_analyze_cli(checkpoint_dir, tmp_path, corpus, capsys):
    from model.analyze import main

    src, ref = tmp_path / "src.txt", tmp_path / "ref.txt"
    src.write_text("\n".join(corpus[0][:3]) + "\n\n")
    ref.write_text("\n".join(corpus[1][:3]) + "\n\n")
    out, sweep = tmp_path / "stats.csv", tmp_path / "sweep.json"
    checkpoint, source = ["--checkpoint", str(checkpoint_dir)], ["--input", str(src)]
    written = ["--stats", str(out), "--sweep", str(sweep)]
    assert main([*checkpoint, *source, "--ref", str(ref), *written, "--max-sentences", "3"]) == 0
    assert "wrote 24 heads' statistics over 3 sentences" in capsys.readouterr().err
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["kind", "layer", "head", "entropy"] and len(table) == 24
    assert set(table["kind"]) == {"encoder", "decoder", "cross"}
    assert table[table.kind == "cross"]["same"].isna().all() and table["entropy"].between(0, 10).all()
    record = json.loads(sweep.read_text())
    assert record["sentences"] == 3 and len(record["heads"]) == 24
    with pytest.raises(SystemExit) as usage:
        main([*checkpoint, *source, "--sweep", str(sweep)])
    assert usage.value.code == 2 and "--sweep needs --ref" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    assert main([*checkpoint, "--input", str(empty), "--stats", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {empty} has no sentences\n"
    assert main([*checkpoint, *source, "--stats", str(out), "--tgt-lang", "de"]) == 2  # a bilingual checkpoint
    assert capsys.readouterr().err == "error: --tgt-lang 'de' is not a language of tiny-en-de (it is bilingual)\n"


def test_analysis_page(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs on the beach."
    at.query_params["view"] = "analysis"
    at.run()
    assert not at.exception and not at.error
    grid = figures(at)[0]
    assert "entropy" in grid["layout"]["title"]["text"]
    at.selectbox(key="stats_value").set_value("max_weight").run()
    assert "max_weight" in figures(at)[0]["layout"]["title"]["text"]
    at.multiselect(key="ablate_layers").set_value(["cross:0:*", "cross:1:*"]).run()
    assert not at.exception and not at.error
    assert any(m.label.startswith("Log-probability of the original") for m in at.metric)
    assert any(m.value.startswith("**After:**") for m in at.markdown)
