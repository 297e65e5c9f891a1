"""Inside one head's figure leaves room, between its panels, for the tick labels drawn there (read from the JSON)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from model.decoding.trace_from_hooks import HeadInside
from viz.inside_head import pipeline_figure

# A lower bound of a label's width: Source Sans draws lowercase letters and digits about half an em wide (measured in
# Chromium: 0.43-0.5 em), the piece marker ▁ about a whole em.
HALF_EM = 0.5


def shown_px(label: str, size: float) -> float:
    return size * sum(1.0 if c == "▁" else HALF_EM for c in label)


def panels(fig: go.Figure) -> list[tuple[float, float, object]]:
    """(left, right, y axis) of each panel, left to right, in fractions of the plot area."""
    out = []
    for trace in fig.data:
        x = fig.layout["xaxis" + trace.xaxis[1:]]
        y = fig.layout["yaxis" + trace.yaxis[1:]]
        out.append((x.domain[0], x.domain[1], y))
    return sorted(out, key=lambda p: p[0])


def crowded_labels(fig: go.Figure, width: int, tick_size: float) -> list[str]:
    """Tick labels between two panels wider than the gap between them, when the figure is `width` px wide."""
    m = fig.layout.margin
    plot_px = width - (m.l or 80) - (m.r or 80)  # plotly.js's default margins where none is set
    found = []
    sides = panels(fig)
    for i, (left, right, y) in enumerate(sides):
        if y.showticklabels is False:
            continue
        # token labels, or numbered rows (dimensions): the widest number
        texts = list(y.ticktext) if y.ticktext is not None else [str(len(fig.data[i].z) - 1)]
        need = max(shown_px(t, y.tickfont.size or tick_size) for t in texts)
        if y.side == "right":
            if i + 1 < len(sides):
                gap = (sides[i + 1][0] - right) * plot_px
                if gap < need:
                    found.append(f"panel {i}: labels of {need:.0f} px in a gap of {gap:.0f} px on its right")
        elif i > 0:
            gap = (left - sides[i - 1][1]) * plot_px
            if gap < need:
                found.append(f"panel {i}: labels of {need:.0f} px in a gap of {gap:.0f} px on its left")
    return found


def detail(n_keys: int, d_k: int = 32) -> HeadInside:
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, d_k)), rng.normal(size=(n_keys, d_k)), rng.normal(size=(n_keys, d_k))
    scores = q @ k.T / np.sqrt(d_k)
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    mask = np.ones((3, n_keys), bool)
    return HeadInside(q, k, v, scores, masked_scores=scores, weights=weights, head_out=weights @ v, mask=mask)


LONG = ["▁The", "▁international", "ization", "▁of", "▁telecommunications", "▁infrastructure", "▁fundamentally"]
SHORT = ["▁A", "▁little", "▁girl", "▁climb", "s", "▁into", "▁a", "▁wooden", "▁play", "house", ".", "</s>"]


def old_layout(d: HeadInside, keys: list[str]) -> go.Figure:
    """The layout the figure had: equal 4% gaps, the keys' labels left of the softmax and of V."""
    fig = make_subplots(rows=1, cols=5, column_widths=[0.1, 0.3, 0.08, 0.3, 0.1], horizontal_spacing=0.04)
    columns = (d.q[0][:, None], d.k.T, d.weights[0][:, None], d.v, d.head_out[0][:, None])
    for col, z in enumerate(columns, start=1):
        fig.add_trace(go.Heatmap(z=z), 1, col)
    ticks = dict(tickmode="array", tickvals=list(range(len(keys))), ticktext=keys)
    fig.update_yaxes(**ticks, row=1, col=3)
    fig.update_yaxes(**ticks, row=1, col=4)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10))
    return fig


def test_the_check_finds_the_old_layout_crowded():
    """The check can fail: the old layout's key labels did not fit between K and the softmax, nor the softmax and V
    (seen in the app's screenshot with the default sentence)."""
    d = detail(len(SHORT))
    assert len(crowded_labels(old_layout(d, SHORT), 984, 12)) >= 2
    d = detail(len(LONG))
    assert len(crowded_labels(old_layout(d, LONG), 1232, 18)) >= 2


@pytest.mark.parametrize(
    "keys, tick_size, width",
    [(SHORT, 12, 984), (LONG, 12, 984), (SHORT, 18, 1232), (LONG, 18, 1232), (LONG, 12, 600), (["▁a"], 12, 984)],
)
def test_every_gap_holds_its_labels(keys, tick_size, width):
    """Normal mode (12 px at 984 px, the main area of a 1280 px window beside the sidebar), presentation mode (18 px at
    1232 px), and a narrow handout: every label between two panels fits its gap; every key has its label."""
    d = detail(len(keys))
    fig = pipeline_figure(d, 0, ["<s>", "▁Ein", "▁Mann"], keys, tick_size=tick_size, width=width)
    assert crowded_labels(fig, width, tick_size) == []
    labelled = [a for a in fig.select_yaxes() if a.ticktext is not None]
    assert len(labelled) == 1 and len(labelled[0].ticktext) == len(keys)
    under_k = fig.layout.xaxis2  # turned labels, thinned only where their columns are narrower than a line
    assert under_k.tickvals[0] == 0 and len(under_k.ticktext) == (len(keys) if width >= 984 else len(under_k.tickvals))
    assert all(a.tickfont.size == tick_size for a in fig.select_yaxes())


def test_a_wider_figure_only_widens_the_gaps():
    d = detail(len(LONG))
    fig = pipeline_figure(d, 0, ["<s>", "▁Ein", "▁Mann"], LONG, tick_size=18, width=1232)
    assert crowded_labels(fig, 1872, 18) == []


def test_a_long_token_is_cut_and_escaped():
    keys = ["▁" + "x" * 40, "<b>"]
    fig = pipeline_figure(detail(2), 0, ["<s>", "a", "b"], keys)
    text = list(fig.layout.yaxis3.ticktext)
    assert text[0].endswith("…") and len(text[0]) < 20 and text[1] == "&lt;b&gt;"
    assert fig.data[2].customdata[0][0] == keys[0]  # the hover keeps the whole token


def test_at_a_fixed_height_key_labels_are_thinned_not_piled():
    """Presentation mode's fixed height: 60 keys in a few hundred px cannot each have an 18 px line; every k-th keeps
    its line (rows between labels at least the font size apart), and the first key is always labelled."""
    keys = [f"▁w{i}" for i in range(60)]
    fig = pipeline_figure(detail(60), 0, ["<s>", "a", "b"], keys, tick_size=18, width=1232, height=530)
    y = fig.layout.yaxis3
    m = fig.layout.margin
    row_px = (530 - m.t - m.b) / 60
    step = y.tickvals[1] - y.tickvals[0]
    assert y.tickvals[0] == 0 and step > 1 and step * row_px >= 18
    assert list(y.ticktext) == [keys[i] for i in y.tickvals]
    roomy = pipeline_figure(detail(8), 0, ["<s>", "a", "b"], keys[:8], tick_size=18, width=1232, height=530)
    assert list(roomy.layout.yaxis3.tickvals) == list(range(8))
