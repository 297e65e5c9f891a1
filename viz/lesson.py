"""Pictures and tables for the Lesson view: full matrices on hover, a few values in a table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.labels import plain, safe_text


def matrix_figure(
    values: np.ndarray,
    row_labels: list[str],
    title: str,
    highlight: int | None = None,
    column_labels: list[str] | None = None,
    colorscale: str = "RdBu_r",
    height: int = 260,
) -> go.Figure:
    """A matrix [rows, columns] as a heatmap (numeric axes, labels as ticks); −∞ shows as a gap, hover gives every
    value."""
    values = np.asarray(values, dtype=float)
    shown = np.where(np.isfinite(values), values, np.nan)
    bound = float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=np.arange(values.shape[1]),
            y=np.arange(values.shape[0]),
            colorscale=colorscale,
            zmid=0 if colorscale == "RdBu_r" else None,
            zmin=None if colorscale == "RdBu_r" else 0,
            zmax=None if colorscale == "RdBu_r" else bound,
            hovertemplate="row %{y}, column %{x}: %{z:.4f}<extra></extra>",
        )
    )
    x_axis = dict(showticklabels=column_labels is not None)
    if column_labels is not None:
        x_axis.update(
            tickmode="array", tickvals=list(range(len(column_labels))), ticktext=safe_text(column_labels), tickangle=-45
        )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=x_axis,
        yaxis=dict(
            tickmode="array",
            tickvals=list(range(len(row_labels))),
            ticktext=safe_text(row_labels),
            autorange="reversed",
        ),
    )
    if highlight is not None:
        fig.add_shape(
            type="rect",
            x0=-0.5,
            x1=values.shape[1] - 0.5,
            y0=highlight - 0.5,
            y1=highlight + 0.5,
            line=dict(color="#000", width=2),
        )
    return fig


def first_values(vectors: dict[str, np.ndarray], n: int = 6) -> pd.DataFrame:
    """A few leading values of named vectors side by side (the rest elided as '…')."""
    d = len(next(iter(vectors.values())))
    columns = [str(i) for i in range(min(n, d))] + (["…"] if d > n else [])
    rows = {name: [f"{x:+.3f}" for x in v[:n]] + (["…"] if d > n else []) for name, v in vectors.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def bars(labels: list[str], values: list[float], title: str, height: int = 260) -> go.Figure:
    """One bar per label; `title` is plain text, escaped here (it may name a piece)."""
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(labels)),
            y=values,
            hovertemplate="%{customdata}: %{y:.3f}<extra></extra>",
            customdata=safe_text(labels),
        )
    )
    fig.update_layout(
        title=plain(title),
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(tickmode="array", tickvals=list(range(len(labels))), ticktext=safe_text(labels), tickangle=-45),
    )
    return fig
