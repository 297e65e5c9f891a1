"""Figures for head analysis: statistic and importance grids, word alignments, translation diffs."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.attention import COLORSCALE
from viz.labels import plain, safe_text


def head_grid(
    table: pd.DataFrame, kind: str, value: str, title: str = "", colorscale=COLORSCALE, zmid: float | None = None
) -> go.Figure:
    """A layer x head heatmap of one column of a per-head table (rows with kind, layer, head). `value` and `title`
    are plain text, escaped here (a column may be named by a file from a checkpoint folder)."""
    rows = table[table["kind"] == kind]
    if rows.empty:
        raise ValueError(f"no rows for attention kind {kind!r}")
    if value not in rows:
        raise ValueError(f"no column {value!r}; have {', '.join(map(str, rows.columns))}")
    grid = rows.pivot(index="layer", columns="head", values=value).sort_index()
    labels = rows.pivot(index="layer", columns="head", values="label").sort_index() if "label" in rows else None
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(dtype=float),
            x=[f"head {h}" for h in grid.columns],
            y=[f"layer {l}" for l in grid.index],
            colorscale=colorscale,
            zmid=zmid,
            colorbar=dict(title=plain(value)),
            text=labels.to_numpy() if labels is not None else None,
            texttemplate="%{text}" if labels is not None else None,
            meta=[plain(value)],  # substituted into the template, never read as one (a name may hold "%{")
            hovertemplate="%{y}, %{x}<br>%{meta[0]} %{z:.3f}"
            + ("<br>%{text}" if labels is not None else "")
            + "<extra></extra>",
        )
    )
    fig.update_layout(
        title=plain(title),
        height=120 + 60 * len(grid),
        yaxis=dict(autorange="reversed"),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


def word_row(x: np.ndarray, y: float, words: list[str], textposition: str, color: str, side: str) -> go.Scatter:
    """One sentence's words as labelled markers along a line at height `y`."""
    return go.Scatter(
        x=x,
        y=np.full(len(x), float(y)),
        mode="markers+text",
        text=safe_text(words),
        textposition=textposition,
        marker=dict(size=8, color=color),
        showlegend=False,
        hovertemplate="%{text}<extra>" + side + "</extra>",
    )


def alignment_figure(
    weights: np.ndarray, src_words: list[str], tgt_words: list[str], threshold: float = 0.1, title: str = ""
) -> go.Figure:
    """Source words on top, target words below, a line for every link at or above `threshold`.

    Line width and opacity follow the weight, so the strongest alignments stand out.
    """
    if weights.shape != (len(tgt_words), len(src_words)):
        raise ValueError(
            f"alignment of shape {weights.shape} does not fit {len(tgt_words)} target x {len(src_words)} source words"
        )
    xs = np.linspace(0, 1, len(src_words)) if len(src_words) > 1 else np.array([0.5])
    xt = np.linspace(0, 1, len(tgt_words)) if len(tgt_words) > 1 else np.array([0.5])
    fig = go.Figure()
    for t, s in zip(*np.nonzero(weights >= threshold)):
        w = float(weights[t, s])
        fig.add_trace(
            go.Scatter(
                x=[xs[s], xt[t]],
                y=[1, 0],
                mode="lines",
                showlegend=False,
                hoverinfo="skip",
                line=dict(width=1 + 6 * w, color=f"rgba(222,73,104,{0.15 + 0.85 * w:.2f})"),
            )
        )
    fig.add_trace(word_row(xs, 1, src_words, "top center", "#3b0f70", "source"))
    fig.add_trace(word_row(xt, 0, tgt_words, "bottom center", "#de4968", "target"))
    fig.update_layout(
        title=title,
        height=320,
        margin=dict(l=20, r=20, t=60, b=40),
        xaxis=dict(visible=False, range=[-0.05, 1.05]),
        yaxis=dict(visible=False, range=[-0.35, 1.35]),
    )
    return fig


def token_diff(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    """The pieces of `after`, each tagged 'same' or 'changed' relative to `before`."""
    out = []
    for op, _, _, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        out += [(piece, "same" if op == "equal" else "changed") for piece in after[j1:j2]]
    return out
