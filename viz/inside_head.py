"""Inside one head: the real numbers of Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V for one query."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.attention import safe_text

FORMULA = r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V"
PIPELINE = ("q", "k", "v", "scores", "masked_scores", "weights", "head_out", "mask")


def check_detail(detail: dict[str, np.ndarray], query_pos: int) -> None:
    missing = [k for k in PIPELINE if k not in detail]
    if missing:
        raise ValueError(f"head detail lacks {', '.join(missing)}")
    if not 0 <= query_pos < detail["q"].shape[0]:
        raise ValueError(f"query position {query_pos} is outside 0..{detail['q'].shape[0] - 1}")


def pipeline_table(detail: dict[str, np.ndarray], query_pos: int, key_tokens: list[str]) -> pd.DataFrame:
    """One row per key: q·k, ÷√d_k, the mask (−∞ where masked), softmax, and the weight's share of the output."""
    check_detail(detail, query_pos)
    q, k = detail["q"][query_pos], detail["k"]
    if len(key_tokens) != k.shape[0]:
        raise ValueError(f"{len(key_tokens)} key tokens for {k.shape[0]} keys")
    d_k = q.shape[0]
    dot = k @ q
    allowed = detail["mask"][query_pos]
    return pd.DataFrame(
        {
            "key": key_tokens,
            "q·k": dot,
            "÷√d_k": dot / np.sqrt(d_k),
            "mask": np.where(allowed, 0.0, -np.inf),
            "masked score": detail["masked_scores"][query_pos],
            "softmax": detail["weights"][query_pos],
            "|weight × v|": np.linalg.norm(detail["weights"][query_pos][:, None] * detail["v"], axis=-1),
        }
    )


def pipeline_figure(
    detail: dict[str, np.ndarray], query_pos: int, query_tokens: list[str], key_tokens: list[str]
) -> go.Figure:
    """q_i, K, V and the head's output as heatmaps, with the softmax weights between them."""
    check_detail(detail, query_pos)
    q, k, v, out, w = (
        detail["q"][query_pos],
        detail["k"],
        detail["v"],
        detail["head_out"][query_pos],
        detail["weights"][query_pos],
    )
    d_k, n_keys = q.shape[0], k.shape[0]
    k_text = safe_text(key_tokens)
    fig = make_subplots(
        rows=1,
        cols=5,
        column_widths=[0.1, 0.3, 0.08, 0.3, 0.1],
        horizontal_spacing=0.04,
        subplot_titles=(f"q ({safe_text([query_tokens[query_pos]])[0]})", "K", "softmax", "V", "output"),
    )
    limit = float(max(np.abs(q).max(), np.abs(k).max(), np.abs(v).max(), np.abs(out).max(), 1e-6))
    common = dict(colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit, showscale=False)
    fig.add_trace(go.Heatmap(z=q[:, None], hovertemplate="q[%{y}] = %{z:.3f}<extra></extra>", **common), 1, 1)
    fig.add_trace(
        go.Heatmap(
            z=k.T,
            customdata=np.broadcast_to(np.array(k_text, dtype=object), (d_k, n_keys)),
            hovertemplate="k of %{customdata}, dim %{y}: %{z:.3f}<extra></extra>",
            **common,
        ),
        1,
        2,
    )
    fig.add_trace(
        go.Heatmap(
            z=w[:, None],
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            showscale=False,
            customdata=np.array(k_text, dtype=object)[:, None],
            hovertemplate="%{customdata}: %{z:.3f}<extra></extra>",
        ),
        1,
        3,
    )
    fig.add_trace(
        go.Heatmap(
            z=v,
            customdata=np.broadcast_to(np.array(k_text, dtype=object)[:, None], (n_keys, d_k)),
            hovertemplate="v of %{customdata}, dim %{x}: %{z:.3f}<extra></extra>",
            **common,
        ),
        1,
        4,
    )
    fig.add_trace(go.Heatmap(z=out[:, None], hovertemplate="output[%{y}] = %{z:.3f}<extra></extra>", **common), 1, 5)
    ticks = dict(tickmode="array", tickvals=list(range(n_keys)), ticktext=k_text)
    fig.update_xaxes(**ticks, tickangle=-60, row=1, col=2)
    fig.update_yaxes(**ticks, autorange="reversed", row=1, col=3)
    fig.update_yaxes(**ticks, autorange="reversed", row=1, col=4)
    for col in (1, 3, 5):
        fig.update_xaxes(showticklabels=False, row=1, col=col)
    for col in (1, 2, 5):
        fig.update_yaxes(title="dimension" if col == 1 else None, autorange="reversed", row=1, col=col)
    fig.update_layout(height=max(380, 14 * max(d_k, n_keys) + 120), margin=dict(l=10, r=10, t=50, b=10))
    return fig
