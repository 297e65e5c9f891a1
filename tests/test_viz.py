"""viz/: pure figure and table functions, checked against hand-computed values."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from model.core.transformer import sinusoidal_positional_encoding
from model.decoding.trace_from_hooks import HeadInside
from viz.attention import (
    attention_heatmap,
    attention_table,
    head_similarity,
    js_divergence,
    mean_js,
    merge_tokens,
    merge_words,
    model_view,
    model_view_cell,
)
from viz.export import figure_html, npz_bytes
from viz.inside_head import pipeline_figure, pipeline_table
from viz.positional import norms_chart, pe_dot_by_offset, rotation_for_offset, why_sinusoids
from viz.steps import candidates_chart, step_cross_attention, step_self_attention
from viz.training import training_curve

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_heatmap_keeps_repeated_pieces_apart_and_escapes_markup():
    weights = np.eye(3)
    fig = attention_heatmap(weights, ["▁a", "▁a", PAYLOAD], ["▁a", "▁a", "."])
    trace = fig.data[0]
    assert list(fig.layout.yaxis.tickvals) == [0, 1, 2] and list(fig.layout.xaxis.tickvals) == [0, 1, 2]
    assert list(fig.layout.xaxis.ticktext) == ["▁a", "▁a", "."]
    assert fig.layout.yaxis.ticktext[2] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<img" not in json.dumps(fig.to_plotly_json(), default=str)
    assert trace.customdata[2][0][0] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "query" in fig.layout.yaxis.title.text and "key" in fig.layout.xaxis.title.text


def test_heatmap_rejects_mismatched_tokens():
    with pytest.raises(ValueError, match="does not fit 2 query and 3 key tokens"):
        attention_heatmap(np.ones((3, 3)), ["a", "b"], ["a", "b", "c"])
    with pytest.raises(ValueError, match="2 produced pieces for 3 query rows"):
        attention_heatmap(np.ones((3, 3)), ["a", "b", "c"], ["a", "b", "c"], produced=["b", "c"])


def test_decoder_heatmap_hover_names_the_piece_each_row_produced():
    fig = attention_heatmap(
        np.eye(3), ["<s>", "▁Ein", "▁Hund"], ["▁A", "▁dog", "</s>"], produced=["▁Ein", "▁Hund", PAYLOAD]
    )
    custom = fig.data[0].customdata
    assert [custom[row][0][2] for row in range(3)] == ["▁Ein", "▁Hund", "&lt;img src=x onerror=alert(1)&gt;"]
    assert "produced %{customdata[2]}" in fig.data[0].hovertemplate
    assert "produced" not in attention_heatmap(np.eye(3), ["a"] * 3, ["b"] * 3).data[0].hovertemplate


def test_merge_words_sums_keys_and_averages_queries():
    weights = np.array(
        [
            [0.1, 0.2, 0.3, 0.4],
            [0.4, 0.3, 0.2, 0.1],
            [0.25, 0.25, 0.25, 0.25],
        ]
    )
    # queries: word 0 = pieces 0, 1; word 1 = piece 2. keys: word 0 = piece 0; word 1 = pieces 1, 2, 3.
    merged = merge_words(weights, [True, False, True], [True, True, False, False])
    expected = np.array([[(0.1 + 0.4) / 2, (0.9 + 0.6) / 2], [0.25, 0.75]])
    np.testing.assert_allclose(merged, expected)
    np.testing.assert_allclose(merged.sum(-1), 1.0)
    assert merge_tokens(["▁play", "house", "▁."], [True, False, True]) == ["playhouse", "."]
    with pytest.raises(ValueError):
        merge_words(weights, [True, True], [True] * 4)


def test_js_divergence_against_hand_values():
    assert js_divergence([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert js_divergence([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    kl_p = math.log2(1 / 0.75)
    kl_q = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    assert js_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(0.5 * (kl_p + kl_q))
    a, b = np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([[0.0, 1.0], [0.5, 0.5]])
    assert mean_js(a, b) == pytest.approx(0.5)


def test_head_similarity_diagonal_and_identical_heads():
    rng = np.random.default_rng(0)
    att = rng.dirichlet(np.ones(5), size=(2, 3, 4))
    att[1, 2] = att[0, 0]
    sim = head_similarity(att)
    assert sim.shape == (6, 6)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    assert sim[0, 5] == pytest.approx(1.0) and sim[0, 1] < 1.0
    np.testing.assert_allclose(sim, sim.T, atol=1e-12)


def test_model_view_tiles_every_head_and_maps_clicks_back():
    rng = np.random.default_rng(1)
    att = rng.dirichlet(np.ones(4), size=(2, 3, 5)).astype(np.float32)  # [L=2, H=3, Q=5, K=4]
    fig = model_view(att, list("abcde"), list("wxyz"))
    z, meta = np.asarray(fig.data[0].z), fig.layout.meta
    gap = meta["gap"]
    for l in range(2):
        for h in range(3):
            r, c = l * (5 + gap), h * (4 + gap)
            np.testing.assert_array_equal(z[r : r + 5, c : c + 4], att[l, h])
            assert model_view_cell(meta, c + 3, r + 4) == (l, h)
    assert model_view_cell(meta, 4, 0) is None  # a gap between heads
    assert np.isnan(z[5, 0])
    with pytest.raises(ValueError):
        model_view(att[0], list("abcde"), list("wxyz"))


def test_attention_table_long_format():
    att = np.arange(2 * 1 * 2 * 3, dtype=float).reshape(2, 1, 2, 3)
    df = attention_table(att, ["q0", "q1"], ["k0", "k1", "k2"], "cross")
    assert len(df) == 12 and list(df.columns[:3]) == ["kind", "layer", "head"]
    row = df[(df.layer == 1) & (df.query_pos == 1) & (df.key_pos == 2)].iloc[0]
    assert row.weight == att[1, 0, 1, 2] and row.query_token == "q1" and row.key_token == "k2"


def test_steps_figures_show_the_right_rows():
    rng = np.random.default_rng(2)
    cross = rng.dirichlet(np.ones(4), size=(2, 3, 5))  # [L, H, T, S]
    fig = step_cross_attention(cross, 3, list("abcd"), "x")
    np.testing.assert_allclose(np.asarray(fig.data[0].z), cross[:, :, 3, :].reshape(6, 4))
    dec = np.tril(rng.random((2, 3, 5, 5)))
    fig = step_self_attention(dec, 2, list("ABCDE"))
    assert np.asarray(fig.data[0].z).shape == (6, 3)
    with pytest.raises(ValueError):
        step_cross_attention(cross, 5, list("abcd"), "x")
    bars = candidates_chart([("▁Ein", 0.9), ("▁Eine", 0.05)], "▁Ein")
    assert list(bars.data[0].x) == [0.05, 0.9] and bars.data[0].marker.color[1] == "#de4968"


def test_pipeline_table_follows_the_formula():
    q = np.array([[1.0, 0.0], [0.0, 2.0]])
    k = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    v = np.arange(6, dtype=float).reshape(3, 2)
    mask = np.array([[True, True, False], [True, True, True]])
    scores = q @ k.T / np.sqrt(2)
    masked = np.where(mask, scores, -np.inf)
    weights = np.exp(masked) / np.exp(masked).sum(-1, keepdims=True)
    detail = HeadInside(q, k, v, scores, masked, weights, head_out=weights @ v, mask=mask)
    table = pipeline_table(detail, 0, ["a", "b", "c"])
    np.testing.assert_allclose(table["q·k"], [1.0, 2.0, 0.0])
    np.testing.assert_allclose(table["÷√d_k"], np.array([1.0, 2.0, 0.0]) / np.sqrt(2))
    assert table["mask"].tolist() == [0.0, 0.0, -np.inf] and table["softmax"].iloc[2] == 0.0
    np.testing.assert_allclose(table["softmax"].sum(), 1.0)
    assert len(pipeline_figure(detail, 1, ["x", "y"], ["a", "b", "c"]).data) == 5
    with pytest.raises(ValueError):
        pipeline_table(detail, 2, ["a", "b", "c"])


def test_positional_figures_and_numbers():
    pe = sinusoidal_positional_encoding(64, 16).numpy().astype(np.float64)
    np.testing.assert_allclose(pe[:-7] @ rotation_for_offset(7, 16).T, pe[7:], atol=1e-6)
    fig = pe_dot_by_offset(pe, [0, 10])
    by_offset = [dict(zip(t.x, t.y)) for t in fig.data]
    for offset in (0, 5, 20):  # PE(p)·PE(q) depends only on p − q
        assert by_offset[0][offset] == pytest.approx(by_offset[1][offset], abs=1e-5)
    table = why_sinusoids(pe, train_max_len=40)
    assert table.iloc[2]["value"] == "1.000" and float(table.iloc[5]["value"]) < 1e-5
    fig = norms_chart(["▁a", "."], np.array([3.0, 4.0]), pe)
    np.testing.assert_allclose(fig.data[1].y, np.sqrt(16 / 2), atol=1e-6)  # |PE(p)| = sqrt(d/2) for every p


def test_exports_work_offline_without_pickles():
    html = figure_html(attention_heatmap(np.eye(2), ["a", "b"], ["c", "d"]))
    assert len(html) > 1_000_000 and "<script src=" not in html.replace('<script src="data:', "")
    small = figure_html(attention_heatmap(np.eye(2), ["a", "b"], ["c", "d"]), "window.Plotly = {newPlot() {}};")
    assert small.index("window.Plotly = ") < small.index("</head>") < small.index("Plotly.newPlot(")
    assert len(small) < 20_000 and "<script src=" not in small
    with pytest.raises(ValueError, match="</script"):
        figure_html(attention_heatmap(np.eye(2), ["a", "b"], ["c", "d"]), "x = '</script>';")
    data = npz_bytes({"x": np.ones((2, 2)), "tokens": np.array(["▁a", "<s>"])})
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        assert npz["tokens"].tolist() == ["▁a", "<s>"]


def test_training_curve_plots_the_card_columns_per_epoch():
    curve = [
        {"epoch": "1", "val_loss": "4.77", "val_bleu": "4.59"},
        {"epoch": "2", "val_loss": "3.78", "val_bleu": "8.43"},
        {"epoch": "", "val_loss": "", "val_bleu": ""},
    ]
    fig = training_curve(curve)
    bleu, loss = fig.data
    assert list(bleu.x) == [1, 2] and list(bleu.y) == [4.59, 8.43] and bleu.yaxis == "y"
    assert list(loss.y) == [4.77, 3.78] and loss.yaxis == "y2"
    assert "markers" in bleu.mode  # a run of a few epochs (or one) shows each point, not an invisible line
    stopped = training_curve(
        [{"epoch": "1", "val_loss": "3", "val_bleu": "19"}, {"epoch": "1.62", "val_loss": "2.5", "val_bleu": "25"}]
    )
    assert list(stopped.data[0].x) == [1.0, 1.62]  # a stop inside an epoch sits at its fraction
    with pytest.raises(ValueError, match="no epochs"):
        training_curve([])
    with pytest.raises(ValueError, match="malformed"):
        training_curve([{"epoch": "1", "val_loss": "n/a"}])


def test_for_projector_raises_every_text_size_and_never_shrinks():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from viz.projector import for_projector

    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Heatmap(z=[[0.1, 0.9], [0.5, 0.5]], colorbar=dict(title="weight")), 1, 1)
    fig.add_trace(go.Bar(x=[1, 2], y=[3, 4], text=["a", "b"]), 1, 2)
    fig.update_xaxes(tickfont_size=30, row=1, col=2)
    fig.add_annotation(text="note", x=0, y=0, font_size=9)
    fig = for_projector(fig, height=640, font_size=20, tick_size=18)
    assert fig.layout.height == 640 and fig.layout.font.size == 20
    assert fig.layout.xaxis.tickfont.size == 18 and fig.layout.yaxis2.tickfont.size == 18
    assert fig.layout.xaxis2.tickfont.size == 30  # larger than asked: kept
    assert fig.data[0].colorbar.tickfont.size == 18 and fig.layout.annotations[0].font.size == 18


def test_for_projector_keeps_room_for_rotated_top_labels_and_less_for_flat_ones():
    from viz.attention import attention_heatmap, model_view
    from viz.projector import TOP_MARGIN_FLAT_PX, TOP_MARGIN_PX, for_projector

    weights = np.full((3, 4), 0.25)
    tokens = for_projector(attention_heatmap(weights, list("abc"), list("defg"), "t"), 600)
    assert tokens.layout.xaxis.side == "top" and tokens.layout.xaxis.tickangle == -60
    assert tokens.layout.margin.t == TOP_MARGIN_PX
    grid = for_projector(model_view(np.full((2, 8, 3, 4), 0.25), list("abc"), list("defg"), "t"), 600)
    assert grid.layout.xaxis.side == "top" and list(grid.layout.xaxis.ticktext)[:2] == ["head 0", "head 1"]
    assert grid.layout.margin.t == TOP_MARGIN_FLAT_PX < TOP_MARGIN_PX


def test_for_projector_thins_row_labels_only_when_they_would_overlap():
    from viz.projector import TOP_LABELS_PX, for_projector
    from viz.steps import heads_rows

    rows = np.full((3, 8, 4), 0.25)  # 24 rows "L0 H0" … "L2 H7"
    height = 500
    fig = for_projector(heads_rows(rows, list("abcd"), "t"), height, thin_y=True)
    kept = list(fig.layout.yaxis.ticktext)
    usable = height - fig.layout.margin.t - fig.layout.margin.b - TOP_LABELS_PX
    assert kept[0] == "L0 H0" and usable / len(kept) >= 1.25 * 18 and len(kept) < 24
    assert len(set(np.diff(fig.layout.yaxis.tickvals))) == 1  # every k-th row, evenly
    tall = for_projector(heads_rows(rows, list("abcd"), "t"), 1400, thin_y=True)
    assert len(tall.layout.yaxis.ticktext) == 24  # room for every label: none dropped
