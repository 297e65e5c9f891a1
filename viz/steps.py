"""Decoding step by step: what every head looked at when one target token was produced."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz.attention import COLORSCALE, token_axis, top_title
from viz.labels import plain, safe_text


def heads_rows(
    rows: np.ndarray,
    key_tokens: list[str],
    title: str,
    colorscale=COLORSCALE,
    zmax: float = 1.0,
    measure: str = "weight",
) -> go.Figure:
    """[layers, heads, keys] as one row per (layer, head); `title` is plain text (escaped here: it may name a piece)."""
    L, H, K = rows.shape
    if len(key_tokens) != K:
        raise ValueError(f"{K} key positions for {len(key_tokens)} key tokens")
    labels = [f"L{l} H{h}" for l in range(L) for h in range(H)]
    k_text = safe_text(key_tokens)
    custom = np.broadcast_to(np.array(k_text, dtype=object)[None, :], (L * H, K))
    fig = go.Figure(
        go.Heatmap(
            z=rows.reshape(L * H, K),
            x=np.arange(K),
            y=np.arange(L * H),
            customdata=custom,
            zmin=0,
            zmax=zmax,
            colorscale=colorscale,
            colorbar=dict(title=measure),
            text=np.broadcast_to(np.array(labels, dtype=object)[:, None], (L * H, K)),
            hovertemplate="%{text}<br>key %{x}: %{customdata}<br>" + measure + " %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=top_title(plain(title)),
        height=max(300, 16 * L * H + 140),
        margin=dict(l=10, r=10, t=70, b=10),
        xaxis=token_axis(key_tokens, keys=True, showgrid=None),
        yaxis=dict(tickmode="array", tickvals=list(range(L * H)), ticktext=labels, autorange="reversed"),
    )
    return fig


def step_cross_attention(
    cross: np.ndarray, step: int, src_tokens: list[str], produced: str, colorscale=COLORSCALE
) -> go.Figure:
    """Every head's cross-attention to the source while producing the token at `step`."""
    if not 0 <= step < cross.shape[2]:
        raise ValueError(f"step {step} is outside the {cross.shape[2]} decoding steps")
    return heads_rows(
        cross[:, :, step, :],
        src_tokens,
        f"Step {step}: producing {produced}: cross-attention to the source",
        colorscale,
    )


def step_self_attention(decoder: np.ndarray, step: int, tgt_tokens: list[str], colorscale=COLORSCALE) -> go.Figure:
    """Every head's masked self-attention over the prefix (positions 0..step) at `step`."""
    if not 0 <= step < decoder.shape[2]:
        raise ValueError(f"step {step} is outside the {decoder.shape[2]} decoding steps")
    return heads_rows(
        decoder[:, :, step, : step + 1],
        tgt_tokens[: step + 1],
        f"Step {step}: decoder self-attention over the prefix",
        colorscale,
    )


def candidates_chart(candidates: list[tuple[str, float]], chosen: str, title: str = "") -> go.Figure:
    """Top-k next-token candidates with probabilities; the token actually produced is highlighted."""
    tokens = [t for t, _ in candidates][::-1]
    probs = [p for _, p in candidates][::-1]
    colors = ["#de4968" if t == chosen else "#7f7f7f" for t in tokens]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=list(range(len(tokens))),
            orientation="h",
            marker_color=colors,
            customdata=safe_text(tokens),
            text=[f"{p:.1%}" for p in probs],
            textposition="outside",
            hovertemplate="%{customdata}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=plain(title),
        height=80 + 32 * len(tokens),
        margin=dict(l=10, r=40, t=50, b=10),
        xaxis=dict(title="probability", range=[0, 1.15]),
        yaxis=dict(tickmode="array", tickvals=list(range(len(tokens))), ticktext=safe_text(tokens)),
    )
    return fig
