"""Attention heatmaps, word-level merging, the all-heads model view and head comparison.

Pure functions: NumPy arrays and token lists in, Plotly figures or DataFrames out. Axes are numeric
with token text as tick labels, so repeated pieces keep their own rows and columns; token text is
HTML-escaped wherever Plotly would interpret markup.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

COLORSCALE = "Viridis"
HIGH_CONTRAST = [[0.0, "#000000"], [0.25, "#3b0f70"], [0.5, "#de4968"], [0.75, "#fe9f6d"], [1.0, "#ffffff"]]
QUERY_AXIS = "query (attending) →"
KEY_AXIS = "key (attended to) →"


def safe_text(tokens: list[str]) -> list[str]:
    """Token text as Plotly shows it literally: markup escaped, never interpreted."""
    return [html.escape(str(t), quote=False) for t in tokens]


def check_matrix(weights: np.ndarray, query_tokens: list[str], key_tokens: list[str]) -> None:
    if weights.ndim != 2 or weights.shape != (len(query_tokens), len(key_tokens)):
        raise ValueError(
            f"attention of shape {weights.shape} does not fit {len(query_tokens)} query and {len(key_tokens)} key "
            "tokens"
        )


def top_title(text: str) -> dict:
    """A title at the figure's very top: the key axis's tick labels sit above the plot, where Plotly puts a title."""
    return dict(text=text, yref="container", y=1, yanchor="top")


def attention_heatmap(
    weights: np.ndarray,  # [queries, keys]
    query_tokens: list[str],
    key_tokens: list[str],
    title: str = "",
    colorscale=COLORSCALE,
    font_size: int = 12,
    zmin: float = 0.0,
    zmax: float = 1.0,
    produced: list[str] | None = None,  # decoder rows: the piece each row's step produced, for the hover
) -> go.Figure:
    """One attention matrix: rows are queries, columns keys; hover names both tokens and the weight."""
    check_matrix(weights, query_tokens, key_tokens)
    if produced is not None and len(produced) != len(query_tokens):
        raise ValueError(f"{len(produced)} produced pieces for {len(query_tokens)} query rows")
    q_text, k_text = safe_text(query_tokens), safe_text(key_tokens)
    custom = np.empty(weights.shape + (3,), dtype=object)
    custom[..., 0] = np.array(q_text, dtype=object)[:, None]
    custom[..., 1] = np.array(k_text, dtype=object)[None, :]
    custom[..., 2] = np.array(safe_text(produced) if produced else [""] * len(q_text), dtype=object)[:, None]
    query_hover = "query: %{customdata[0]}" + (" (this step produced %{customdata[2]})" if produced else "")
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=np.arange(len(key_tokens)),
            y=np.arange(len(query_tokens)),
            customdata=custom,
            zmin=zmin,
            zmax=zmax,
            colorscale=colorscale,
            colorbar=dict(title="weight"),
            hovertemplate=query_hover + "<br>key: %{customdata[1]}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    cell = max(8, min(28, 900 // max(len(key_tokens), 1)))
    fig.update_layout(
        title=top_title(title),
        font=dict(size=font_size),
        margin=dict(l=10, r=10, t=60 if title else 30, b=10),
        height=max(320, min(1400, 120 + cell * len(query_tokens))),
        xaxis=dict(
            title=KEY_AXIS,
            tickmode="array",
            tickvals=list(range(len(key_tokens))),
            ticktext=k_text,
            side="top",
            tickangle=-60,
            showgrid=False,
        ),
        yaxis=dict(
            title=QUERY_AXIS,
            tickmode="array",
            tickvals=list(range(len(query_tokens))),
            ticktext=q_text,
            autorange="reversed",
            showgrid=False,
        ),
    )
    return fig


# -- words -------------------------------------------------------------------------------------


def word_groups(word_starts: list[bool]) -> np.ndarray:
    """Index of the first piece of each word."""
    starts = np.flatnonzero(np.asarray(word_starts, dtype=bool))
    if len(word_starts) and (len(starts) == 0 or starts[0] != 0):
        starts = np.concatenate([[0], starts])
    return starts


def merge_tokens(tokens: list[str], word_starts: list[bool]) -> list[str]:
    """Join the pieces of each word, dropping SentencePiece's '▁' word marker."""
    starts = list(word_groups(word_starts)) + [len(tokens)]
    return ["".join(tokens[a:b]).replace("\u2581", "") or "\u2581" for a, b in zip(starts[:-1], starts[1:])]


def merge_words(weights: np.ndarray, query_starts: list[bool], key_starts: list[bool]) -> np.ndarray:
    """Word-level attention from piece-level [..., queries, keys].

    Rule: a word receives the sum of the weights on its pieces (so each row still sums to 1), and a
    word attends with the mean of its pieces' rows.
    """
    if weights.shape[-2:] != (len(query_starts), len(key_starts)):
        raise ValueError(
            f"attention of shape {weights.shape} does not fit {len(query_starts)} x {len(key_starts)} word marks"
        )
    k_groups, q_groups = word_groups(key_starts), word_groups(query_starts)
    summed = np.add.reduceat(weights, k_groups, axis=-1)
    counts = np.diff(np.append(q_groups, len(query_starts)))
    return np.add.reduceat(summed, q_groups, axis=-2) / counts[:, None]


# -- model view --------------------------------------------------------------------------------


def model_view(
    attention: np.ndarray,  # [layers, heads, queries, keys]
    query_tokens: list[str],
    key_tokens: list[str],
    title: str = "",
    colorscale=COLORSCALE,
) -> go.Figure:
    """Every layer x head as small multiples in one trace, one shared 0-1 colour scale.

    The heads are tiled into one matrix with blank gaps (one trace renders far faster than dozens
    of subplots); `model_view_cell` maps a clicked point back to its (layer, head).
    """
    if attention.ndim != 4:
        raise ValueError(f"model view needs [layers, heads, queries, keys], got shape {attention.shape}")
    L, H, Q, K = attention.shape
    check_matrix(attention[0, 0], query_tokens, key_tokens)
    gap = max(1, round(0.15 * max(Q, K)))
    rows, cols = L * (Q + gap) - gap, H * (K + gap) - gap
    tiled = np.full((rows, cols), np.nan, dtype=np.float32)
    for l in range(L):
        for h in range(H):
            r, c = l * (Q + gap), h * (K + gap)
            tiled[r : r + Q, c : c + K] = attention[l, h]
    # Hover shows positions within the head (numeric arrays stay compact); tokens are on the opened cell.
    x_in_head = np.tile(np.append(np.arange(K), np.full(gap, -1)), H)[:cols].astype(np.int16)
    y_in_head = np.tile(np.append(np.arange(Q), np.full(gap, -1)), L)[:rows].astype(np.int16)
    fig = go.Figure(
        go.Heatmap(
            z=tiled,
            zmin=0,
            zmax=1,
            colorscale=colorscale,
            hoverongaps=False,
            colorbar=dict(title="weight"),
            customdata=np.stack(np.broadcast_arrays(y_in_head[:, None], x_in_head[None, :]), axis=-1),
            hovertemplate="query %{customdata[0]} → key %{customdata[1]}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    # Streamlit returns no selection for heatmap clicks: one clickable, nearly invisible marker per head does.
    centres = [(l, h, h * (K + gap) + (K - 1) / 2, l * (Q + gap) + (Q - 1) / 2) for l in range(L) for h in range(H)]
    fig.add_trace(
        go.Scatter(
            x=[c[2] for c in centres],
            y=[c[3] for c in centres],
            mode="markers",
            showlegend=False,
            hoverinfo="none",
            customdata=[[c[0], c[1]] for c in centres],
            marker=dict(symbol="square", size=max(8, min(60, 4 * K)), opacity=0.01),
            name="pick",
        )
    )
    fig.update_layout(
        clickmode="event+select",
        title=title,
        margin=dict(l=10, r=10, t=60, b=10),
        height=max(360, min(1600, 110 * L + 40)),
        xaxis=dict(
            tickmode="array",
            tickvals=[h * (K + gap) + (K - 1) / 2 for h in range(H)],
            ticktext=[f"head {h}" for h in range(H)],
            side="top",
            showgrid=False,
            zeroline=False,
        ),
        yaxis=dict(
            tickmode="array",
            tickvals=[l * (Q + gap) + (Q - 1) / 2 for l in range(L)],
            ticktext=[f"layer {l}" for l in range(L)],
            autorange="reversed",
            showgrid=False,
            zeroline=False,
        ),
        meta=dict(layers=L, heads=H, queries=Q, keys=K, gap=gap),
    )
    return fig


def model_view_cell(fig_meta: dict, x: float, y: float) -> tuple[int, int] | None:
    """(layer, head) under a point of a `model_view` figure, or None in a gap."""
    Q, K, gap = fig_meta["queries"], fig_meta["keys"], fig_meta["gap"]
    layer, row = divmod(int(round(y)), Q + gap)
    head, col = divmod(int(round(x)), K + gap)
    if row >= Q or col >= K or not (0 <= layer < fig_meta["layers"] and 0 <= head < fig_meta["heads"]):
        return None
    return layer, head


# -- comparing heads ---------------------------------------------------------------------------


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint) along the last axis."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(a / np.where(b > 0, b, 1.0)), 0.0)
        return terms.sum(-1)

    return np.clip(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0, 1.0)


def mean_js(a: np.ndarray, b: np.ndarray) -> float:
    """JS divergence averaged over query rows of two [queries, keys] matrices."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare attention of shapes {a.shape} and {b.shape}")
    return float(js_divergence(a, b).mean())


def difference_heatmap(
    a: np.ndarray, b: np.ndarray, query_tokens: list[str], key_tokens: list[str], title: str = ""
) -> go.Figure:
    """a - b on a diverging scale from -1 to 1."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare attention of shapes {a.shape} and {b.shape}")
    return attention_heatmap(a - b, query_tokens, key_tokens, title=title, colorscale="RdBu", zmin=-1.0, zmax=1.0)


def head_similarity(attention: np.ndarray) -> np.ndarray:
    """[L*H, L*H] similarity (1 - mean JS divergence over query rows) between all heads of one kind."""
    L, H, Q, K = attention.shape
    flat = attention.reshape(L * H, Q, K)
    sim = np.ones((L * H, L * H))
    for i in range(L * H):
        d = js_divergence(flat[i][None], flat).mean(-1)  # [L*H]
        sim[i] = 1.0 - d
    return sim


def similarity_heatmap(similarity: np.ndarray, n_heads: int, title: str = "") -> go.Figure:
    labels = [f"L{i // n_heads} H{i % n_heads}" for i in range(similarity.shape[0])]
    fig = go.Figure(
        go.Heatmap(
            z=similarity,
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale=COLORSCALE,
            colorbar=dict(title="1 - JS"),
            hovertemplate="%{y} vs %{x}<br>similarity %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(400, 14 * len(labels) + 120),
        margin=dict(l=10, r=10, t=60, b=10),
        yaxis=dict(autorange="reversed"),
    )
    return fig


def attention_table(attention: np.ndarray, query_tokens: list[str], key_tokens: list[str], kind: str) -> pd.DataFrame:
    """Long format, one row per (layer, head, query, key): what the CSV download holds."""
    L, H, Q, K = attention.shape
    check_matrix(attention[0, 0], query_tokens, key_tokens)
    layer, head, q, k = np.meshgrid(np.arange(L), np.arange(H), np.arange(Q), np.arange(K), indexing="ij")
    return pd.DataFrame(
        {
            "kind": kind,
            "layer": layer.ravel(),
            "head": head.ravel(),
            "query_pos": q.ravel(),
            "query_token": np.asarray(query_tokens, dtype=object)[q.ravel()],
            "key_pos": k.ravel(),
            "key_token": np.asarray(key_tokens, dtype=object)[k.ravel()],
            "weight": attention.ravel(),
        }
    )
