"""Head dashboards: one head against all heads, its typical pattern, all heads on two statistics, queries and keys
together."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.labels import safe_text


def against_all_heads(table: pd.DataFrame, statistics: list[str], chosen: int) -> go.Figure:
    """Each statistic's distribution over all heads (dots), the chosen head as a red diamond; values scaled per
    statistic."""
    fig = go.Figure()
    for i, stat in enumerate(statistics):
        values = table[stat].to_numpy(dtype=float)
        finite = np.isfinite(values)
        if not finite.any():
            continue
        lo, hi = np.nanmin(values), np.nanmax(values)
        scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        fig.add_trace(
            go.Scatter(
                x=scaled[finite],
                y=[i] * int(finite.sum()),
                mode="markers",
                marker=dict(color="#9aa", size=8),
                text=table["name"][finite],
                customdata=values[finite],
                showlegend=False,
                hovertemplate="%{text}: %{customdata:.3f}<extra></extra>",
            )
        )
        if np.isfinite(values[chosen]):
            fig.add_trace(
                go.Scatter(
                    x=[scaled[chosen]],
                    y=[i],
                    mode="markers",
                    marker=dict(color="#d62728", size=15, symbol="diamond"),
                    showlegend=False,
                    hovertemplate=f"this head: {values[chosen]:.3f}<extra></extra>",
                )
            )
    fig.update_layout(
        title="This head (red) among all heads, each statistic from its lowest (left) to highest (right)",
        height=80 + 34 * len(statistics),
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(showticklabels=False, range=[-0.05, 1.05]),
        yaxis=dict(tickmode="array", tickvals=list(range(len(statistics))), ticktext=statistics, autorange="reversed"),
    )
    return fig


def typical_pattern(pattern: np.ndarray, cross: bool) -> go.Figure:
    offsets = np.arange(len(pattern)) - len(pattern) // 2
    fig = go.Figure(go.Bar(x=offsets, y=pattern, hovertemplate="offset %{x}: mean weight %{y:.3f}<extra></extra>"))
    fig.update_layout(
        title="Typical pattern around the " + ("length-scaled diagonal" if cross else "query's own position"),
        height=300,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis_title="key − query" + (" (scaled)" if cross else ""),
        yaxis_title="mean weight",
    )
    return fig


def heads_scatter(table: pd.DataFrame, x: str, y: str, chosen: int) -> go.Figure:
    colors = {"encoder": "#1f77b4", "decoder": "#2ca02c", "cross": "#ff7f0e"}
    fig = go.Figure()
    for kind, part in table.groupby("kind", sort=False):
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=part[y],
                mode="markers",
                name=kind,
                text=part["name"],
                marker=dict(size=10, color=colors.get(kind, "#777")),
                hovertemplate="%{text}<br>" + x + " %{x:.3f}<br>" + y + " %{y:.3f}<extra></extra>",
            )
        )
    row = table.iloc[chosen]
    fig.add_trace(
        go.Scatter(
            x=[row[x]],
            y=[row[y]],
            mode="markers",
            name="this head",
            marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color="#d62728", width=3)),
        )
    )
    fig.update_layout(
        title=f"All heads: {x} against {y}",
        height=420,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis_title=x,
        yaxis_title=y,
    )
    return fig


def extremes_table(stat: str, values: list[float], sentences: list[str], link: dict) -> pd.DataFrame:
    """One row per sentence: its value of `stat`, the sentence, and a link to the app that opens it with `link`'s
    parameters (e.g. view, checkpoint, head)."""
    rows = [
        {stat: float(value), "sentence": sentence, "open": "?" + urlencode({"text": sentence} | link)}
        for value, sentence in zip(values, sentences)
    ]
    return pd.DataFrame(rows)


def qk_projection(
    q2: np.ndarray,
    k2: np.ndarray,
    q_labels: list[str],
    k_labels: list[str],
    q_pos: np.ndarray,
    k_pos: np.ndarray,
    color_by: str = "query/key",
) -> go.Figure:
    """Queries and keys of many sentences in one 2-D space (AttentionViz); hover names the token and its sentence."""
    fig = go.Figure()
    for name, points, labels, pos, symbol in (
        ("queries", q2, q_labels, q_pos, "circle"),
        ("keys", k2, k_labels, k_pos, "x"),
    ):
        marker = dict(size=7, symbol=symbol, opacity=0.75)
        if color_by == "position":
            marker.update(color=pos, colorscale="Viridis", showscale=name == "queries", colorbar=dict(title="position"))
        fig.add_trace(
            go.Scatter(
                x=points[:, 0],
                y=points[:, 1],
                mode="markers",
                name=name,
                text=safe_text(labels),
                marker=marker,
                hovertemplate="%{text}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        title="Queries and keys in one space (keys translated onto the queries' centroid, then PCA): near means "
        "high attention",
        height=520,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(showticklabels=False),
        yaxis=dict(showticklabels=False),
    )
    return fig
