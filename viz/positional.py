"""Sinusoidal positional encoding (paper §3.5): pictures, and numbers for why sinusoids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go


def pe_heatmap(pe: np.ndarray, title: str = "Positional encoding PE(position, dimension)") -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=pe,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            colorbar=dict(title="value"),
            hovertemplate="position %{y}, dimension %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="dimension",
        yaxis=dict(title="position", autorange="reversed"),
        height=420,
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


def pe_waves(pe: np.ndarray, dims: list[int]) -> go.Figure:
    """Chosen dimensions as functions of position: low dimensions oscillate fast, high ones slowly."""
    bad = [d for d in dims if not 0 <= d < pe.shape[1]]
    if bad:
        raise ValueError(f"dimensions {bad} are outside 0..{pe.shape[1] - 1}")
    fig = go.Figure([go.Scatter(x=np.arange(pe.shape[0]), y=pe[:, d], mode="lines", name=f"dim {d}") for d in dims])
    return _line_chart(fig, "PE(position, dimension) for chosen dimensions", "position", "value")


def pe_dot_by_offset(pe: np.ndarray, anchors: list[int]) -> go.Figure:
    """PE(p)·PE(q) against the offset p − q for a few anchor positions q: it depends on the offset, not on q."""
    n = pe.shape[0]
    fig = go.Figure()
    for q in anchors:
        if not 0 <= q < n:
            raise ValueError(f"anchor {q} is outside 0..{n - 1}")
        offsets = np.arange(n) - q
        fig.add_trace(go.Scatter(x=offsets, y=pe @ pe[q], mode="lines", name=f"q = {q}"))
    return _line_chart(fig, "PE(p)·PE(q) against the offset p − q", "offset p − q", "dot product")


def _line_chart(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    """The layout both line charts share."""
    fig.update_layout(
        title=title, xaxis_title=x_title, yaxis_title=y_title, height=360, margin=dict(l=10, r=10, t=50, b=10)
    )
    return fig


def norms_chart(tokens: list[str], token_norms: np.ndarray, pe: np.ndarray) -> go.Figure:
    """|token embedding × √d_model| next to |PE| for each position of the current sentence."""
    if len(tokens) != len(token_norms) or pe.shape[0] < len(tokens):
        raise ValueError("tokens and token norms need one entry, and PE one row, per position")
    pe_norms = np.linalg.norm(pe[: len(tokens)], axis=-1)
    from viz.labels import safe_text

    x = np.arange(len(tokens))
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=token_norms,
                name="|embedding × √d_model|",
                customdata=safe_text(tokens),
                hovertemplate="%{customdata}: %{y:.2f}<extra></extra>",
            ),
            go.Bar(x=x, y=pe_norms, name="|PE(position)|", hovertemplate="position %{x}: %{y:.2f}<extra></extra>"),
        ]
    )
    fig.update_layout(
        title="What the first layer receives: token part vs position part",
        barmode="group",
        height=360,
        xaxis=dict(tickmode="array", tickvals=list(x), ticktext=safe_text(tokens), tickangle=-60),
        yaxis_title="L2 norm",
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig


def frequency_pairs(d_model: int, layout: str) -> list[tuple[int, int]]:
    """(sin dim, cos dim) of each frequency: neighbours (paper), or i and i + d/2 (Marian's "halves")."""
    half = d_model // 2
    return (
        [(2 * i, 2 * i + 1) for i in range(half)] if layout == "interleaved" else [(i, i + half) for i in range(half)]
    )


def frequencies(d_model: int, formula: str = "paper") -> np.ndarray:
    """The angular frequency of each sin/cos pair: the paper's 10000^(-2i/d), or fairseq's (M2M-100, NLLB-200)
    exp(-i ln(10000) / (d/2 - 1)), whose slowest is exactly 1/10000."""
    half = d_model // 2
    if formula == "fairseq":
        return np.exp(-np.log(10000.0) * np.arange(half) / (half - 1))
    return np.exp(-np.log(10000.0) * np.arange(0, d_model, 2) / d_model)


def rotation_for_offset(k: int, d_model: int, layout: str = "interleaved", formula: str = "paper") -> np.ndarray:
    """The fixed matrix R_k with PE(p + k) = R_k PE(p) for every p: a 2x2 rotation per frequency."""
    inv_freq = frequencies(d_model, formula)
    r = np.zeros((d_model, d_model))
    for w, (s_dim, c_dim) in zip(inv_freq, frequency_pairs(d_model, layout)):
        c, s = np.cos(k * w), np.sin(k * w)
        r[np.ix_([s_dim, c_dim], [s_dim, c_dim])] = [[c, s], [-s, c]]
    return r


def smallest_distance(pe: np.ndarray) -> float:
    """The smallest distance between two rows, from the n x n Gram matrix in float64: |a - b|^2 = |a|^2 + |b|^2 -
    2 a.b. Differencing every pair builds an n x n x d array instead (8 GB for a 1024-position, d = 1024 table)."""
    rows = pe.astype(np.float64)
    squared = (rows * rows).sum(axis=1)
    gram = squared[:, None] + squared[None, :] - 2 * rows @ rows.T
    np.fill_diagonal(gram, np.inf)
    return float(np.sqrt(max(gram.min(), 0.0)))


def why_sinusoids(
    pe: np.ndarray, train_max_len: int | None, offset: int = 3, layout: str = "interleaved", formula: str = "paper"
) -> pd.DataFrame:
    """Numbers for the comparison of position schemes (integers, [0, 1] ratios, sinusoids)."""
    n, d = pe.shape
    short, long_ = 10, min(n, 100)
    pos = 5
    min_distance = smallest_distance(pe)
    shifted = pe[: n - offset] @ rotation_for_offset(offset, d, layout, formula).T
    rotation_error = float(np.abs(shifted - pe[offset:]).max())
    rows = [
        (
            "integer position p",
            f"largest value in a {long_}-token sentence",
            str(long_ - 1),
            "grows without bound: swamps the embeddings",
        ),
        (
            "ratio p / (n − 1)",
            f"value of position {pos} in a {short}- vs a {long_}-token sentence",
            f"{pos / (short - 1):.3f} vs {pos / (long_ - 1):.3f}",
            "the same position means different things at different lengths",
        ),
        ("sinusoid PE(p)", "largest absolute value, any position", f"{np.abs(pe).max():.3f}", "bounded in [−1, 1]"),
        (
            "sinusoid PE(p)",
            f"smallest distance between two positions among 0..{n - 1}",
            f"{min_distance:.4f}",
            "every position is unique",
        ),
        (
            "sinusoid PE(p)",
            "defined beyond the longest training sentence"
            + (f" ({train_max_len} pieces)" if train_max_len else " (length not recorded in the model card)"),
            f"positions up to {n - 1}",
            "a formula, not a learned table",
        ),
        (
            "sinusoid PE(p)",
            f"max |R_{offset} PE(p) − PE(p + {offset})| over all p",
            f"{rotation_error:.1e}",
            "PE(p + k) is a fixed rotation of PE(p)",
        ),
    ]
    return pd.DataFrame(rows, columns=["scheme", "measure", "value", "meaning"])
