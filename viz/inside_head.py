"""Inside one head: the real numbers of Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V for one query."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.labels import ROTATED_SIN, label_px, safe_text, short_label

FORMULA = r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V"
PIPELINE = ("q", "k", "v", "scores", "masked_scores", "weights", "head_out", "mask")


class HeadInside(Protocol):
    """What the figure and the table read: one head's arrays (model.decoding.trace_from_hooks.HeadInside)."""

    q: np.ndarray  # [q_pos, d_k]
    k: np.ndarray  # [k_pos, d_k]
    v: np.ndarray  # [k_pos, d_k]
    scores: np.ndarray  # [q_pos, k_pos]
    masked_scores: np.ndarray
    weights: np.ndarray
    head_out: np.ndarray  # [q_pos, d_k]
    mask: np.ndarray  # [q_pos, k_pos], True = may attend


def check_detail(detail: HeadInside, query_pos: int) -> None:
    missing = [k for k in PIPELINE if not hasattr(detail, k)]
    if missing:
        raise ValueError(f"head detail lacks {', '.join(missing)}")
    if not 0 <= query_pos < detail.q.shape[0]:
        raise ValueError(f"query position {query_pos} is outside 0..{detail.q.shape[0] - 1}")


def pipeline_table(detail: HeadInside, query_pos: int, key_tokens: list[str]) -> pd.DataFrame:
    """One row per key: q·k, ÷√d_k, the mask (−∞ where masked), softmax, and the weight's share of the output."""
    check_detail(detail, query_pos)
    q, k = detail.q[query_pos], detail.k
    if len(key_tokens) != k.shape[0]:
        raise ValueError(f"{len(key_tokens)} key tokens for {k.shape[0]} keys")
    d_k = q.shape[0]
    dot = k @ q
    allowed = detail.mask[query_pos]
    return pd.DataFrame(
        {
            "key": key_tokens,
            "q·k": dot,
            "÷√d_k": dot / np.sqrt(d_k),
            "mask": np.where(allowed, 0.0, -np.inf),
            "masked score": detail.masked_scores[query_pos],
            "softmax": detail.weights[query_pos],
            "|weight × v|": np.linalg.norm(detail.weights[query_pos][:, None] * detail.v, axis=-1),
        }
    )


# The figure's layout. Plotly places subplots in fractions of the plot area, and a tick label between two panels is
# drawn wherever it falls: the gaps are sized in px from the labels they hold, for the narrowest plot the figure is
# drawn at (`width`); a wider plot only widens them.
PANEL_SHARES = (0.1, 0.3, 0.08, 0.3, 0.1)  # q, K, softmax, V, output: what is left after the gaps
AXIS_PAD_PX = 4  # between a panel and its tick labels (the layout's margin.pad; the app's theme would make it 0.5rem)
TICK_LEN_PX = 5  # plotly.js's tick marks, between the pad and the label
LABEL_PAD_PX = 10  # between a tick label and the next panel
MIN_GAP_PX = 12  # between two panels with no labels between them
MIN_PANELS_SHARE = 0.4  # the panels keep this much of a plot too narrow for its labels (which then crowd)
MAX_LABEL_CHARS = 14  # a longer token is cut with … (its full text is in the hover and the table)
TITLE_PX = 50  # above the panels: their titles
RIGHT_PX = 10


def column_domains(gaps_px: list[float], plot_px: float) -> list[tuple[float, float]]:
    """The five panels' x domains: `gaps_px` (four, px) between them, the rest shared by PANEL_SHARES."""
    gaps = [g / plot_px for g in gaps_px]
    free = 1 - sum(gaps)
    if free < MIN_PANELS_SHARE:
        gaps = [g * (1 - MIN_PANELS_SHARE) / sum(gaps) for g in gaps]
        free = MIN_PANELS_SHARE
    domains, left = [], 0.0
    for i, share in enumerate(PANEL_SHARES):
        right = left + free * share / sum(PANEL_SHARES)
        domains.append((left, min(right, 1.0)))
        left = right + (gaps[i] if i < len(gaps) else 0)
    return domains


def every_kth(count: int, spacing_px: float, needed_px: float) -> int:
    """Label every k-th of `count` ticks `spacing_px` apart so that labels `needed_px` apart never overlap."""
    return max(1, math.ceil(needed_px / max(spacing_px, 1e-6))) if count else 1


@dataclass(frozen=True)
class PanelLayout:
    domains: list[tuple[float, float]]  # the five panels' x domains
    margin: dict  # px
    height: int
    every_x: int  # K's key labels: every k-th
    every_y: int  # the softmax's key labels: every k-th


def panel_layout(d_k: int, keys: list[str], tick_size: float, width: int, height: int | None) -> PanelLayout:
    """Where the panels go for `keys` (as shown) at `tick_size` px, in a figure at least `width` px wide: the gaps hold
    the labels between panels (K's dimensions left of K, the keys right of the softmax, the output's dimensions left of
    it); the bottom margin holds K's turned key labels. Without `height` the figure grows with the keys; with it (the
    projector's), key labels that would overlap are thinned."""
    beside = AXIS_PAD_PX + TICK_LEN_PX + LABEL_PAD_PX  # what a gap holds besides its labels
    dims_px = label_px([str(d_k - 1)], tick_size) + beside
    keys_px = label_px(keys, tick_size) + beside
    left_px = dims_px + 3.5 * tick_size  # q's dimension numbers and the axis title
    plot_w = width - left_px - RIGHT_PX
    domains = column_domains([dims_px, MIN_GAP_PX, keys_px, dims_px], plot_w)
    n = max(len(keys), 1)
    every_x = every_kth(len(keys), (domains[1][1] - domains[1][0]) * plot_w / n * ROTATED_SIN, tick_size)
    bottom_px = label_px(keys[::every_x], tick_size) * ROTATED_SIN + 2 * tick_size  # the labels shown under K
    height = height or max(380, int(max(14, 1.2 * tick_size) * max(d_k, n) + TITLE_PX + bottom_px))
    return PanelLayout(
        domains=domains,
        margin=dict(l=int(left_px), r=RIGHT_PX, t=TITLE_PX, b=int(bottom_px), pad=AXIS_PAD_PX),
        height=height,
        every_x=every_x,
        every_y=every_kth(len(keys), (height - TITLE_PX - bottom_px) / n, tick_size),
    )


def pipeline_traces(q, k, v, out, w, k_text: list[str]) -> list[go.Heatmap]:
    """The five panels' heatmaps, left to right: q_i, K (transposed), the softmax weights, V and the head's output,
    the vectors on one diverging scale around 0; `k_text`: the keys' escaped pieces, for the hover."""
    d_k, n_keys = q.shape[0], k.shape[0]
    limit = float(max(np.abs(q).max(), np.abs(k).max(), np.abs(v).max(), np.abs(out).max(), 1e-6))
    common = dict(colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit, showscale=False)
    return [
        go.Heatmap(z=q[:, None], hovertemplate="q[%{y}] = %{z:.3f}<extra></extra>", **common),
        go.Heatmap(
            z=k.T,
            customdata=np.broadcast_to(np.array(k_text, dtype=object), (d_k, n_keys)),
            hovertemplate="k of %{customdata}, dim %{y}: %{z:.3f}<extra></extra>",
            **common,
        ),
        go.Heatmap(
            z=w[:, None],
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            showscale=False,
            customdata=np.array(k_text, dtype=object)[:, None],
            hovertemplate="%{customdata}: %{z:.3f}<extra></extra>",
        ),
        go.Heatmap(
            z=v,
            customdata=np.broadcast_to(np.array(k_text, dtype=object)[:, None], (n_keys, d_k)),
            hovertemplate="v of %{customdata}, dim %{x}: %{z:.3f}<extra></extra>",
            **common,
        ),
        go.Heatmap(z=out[:, None], hovertemplate="output[%{y}] = %{z:.3f}<extra></extra>", **common),
    ]


def pipeline_figure(
    detail: HeadInside,
    query_pos: int,
    query_tokens: list[str],
    key_tokens: list[str],
    tick_size: int = 12,
    width: int = 900,
    height: int | None = None,
) -> go.Figure:
    """q_i, K, V and the head's output as heatmaps, with the softmax weights between them.

    `tick_size`: the tick labels' font size (px); `width`: the narrowest the figure is drawn (px), for which the gaps
    between panels are sized to hold their labels; `height`: a fixed height (presentation mode) for which key labels
    are thinned where they would overlap, else the figure grows with the number of keys."""
    check_detail(detail, query_pos)
    q, k, v, out, w = (
        detail.q[query_pos],
        detail.k,
        detail.v,
        detail.head_out[query_pos],
        detail.weights[query_pos],
    )
    d_k, n_keys = q.shape[0], k.shape[0]
    short = [short_label(token, MAX_LABEL_CHARS) for token in key_tokens]
    layout = panel_layout(d_k, short, tick_size, width, height)
    query = safe_text([short_label(query_tokens[query_pos], 10)])[0]
    fig = make_subplots(
        rows=1,
        cols=5,
        subplot_titles=(f"q ({query})", "K", "softmax", "V", "output"),
    )
    for col, trace in enumerate(pipeline_traces(q, k, v, out, w, safe_text(key_tokens)), start=1):
        fig.add_trace(trace, 1, col)
    labels = safe_text(short)

    def ticks(every: int) -> dict:
        kept = range(0, n_keys, every)
        return dict(tickmode="array", tickvals=list(kept), ticktext=[labels[i] for i in kept])

    for col, (lo, hi) in enumerate(layout.domains, start=1):
        fig.update_xaxes(domain=[lo, hi], tickfont_size=tick_size, row=1, col=col)
        fig.layout.annotations[col - 1].x = (lo + hi) / 2  # the panel's title, placed by make_subplots for its own
        fig.update_yaxes(tickfont_size=tick_size, autorange="reversed", row=1, col=col)
    fig.update_xaxes(**ticks(layout.every_x), tickangle=-60, row=1, col=2)
    # the keys' labels once, between the softmax and V, whose rows they name
    fig.update_yaxes(**ticks(layout.every_y), side="right", row=1, col=3)
    fig.update_yaxes(showticklabels=False, row=1, col=4)
    for col in (1, 3, 5):
        fig.update_xaxes(showticklabels=False, row=1, col=col)
    fig.update_yaxes(title="dimension", row=1, col=1)
    fig.update_layout(height=layout.height, margin=layout.margin)
    return fig
