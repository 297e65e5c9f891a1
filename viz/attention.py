"""Attention heatmaps, word-level merging, the all-heads model view and head comparison.

Pure functions: NumPy arrays and token lists in, Plotly figures or DataFrames out. Axes are numeric
with token text as tick labels, so repeated pieces keep their own rows and columns; token text is
HTML-escaped (viz.labels.plain) wherever Plotly would interpret markup.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.labels import plain, safe_text

COLORSCALE = "Viridis"
HIGH_CONTRAST = [[0.0, "#000000"], [0.25, "#3b0f70"], [0.5, "#de4968"], [0.75, "#fe9f6d"], [1.0, "#ffffff"]]
QUERY_AXIS = "query (attending) →"
KEY_AXIS = "key (attended to) →"


def check_matrix(weights: np.ndarray, query_tokens: list[str], key_tokens: list[str]) -> None:
    if weights.ndim != 2 or weights.shape != (len(query_tokens), len(key_tokens)):
        raise ValueError(
            f"attention of shape {weights.shape} does not fit {len(query_tokens)} query and {len(key_tokens)} key "
            "tokens"
        )


def head_title(label: str, layer: int, head: int | None) -> str:
    """A figure's title: "Encoder self-attention, layer 2, head 5", or "…, mean of heads" for head None."""
    return f"{label}, layer {layer}, " + ("mean of heads" if head is None else f"head {head}")


def top_title(text: str) -> dict:
    """A title at the figure's very top: the key axis's tick labels sit above the plot, where Plotly puts a title."""
    return dict(text=text, yref="container", y=1, yanchor="top")


# -- one token heatmap: its cells, hover text and axes, shared by every view that draws one -----


def cell_size(n_keys: int) -> int:
    """A heatmap row's height in px: the more keys (the wider each row), the smaller, from 28 down to 8."""
    return max(8, min(28, 900 // max(n_keys, 1)))


def token_axis(pieces: list[str], keys: bool, font_size: int | None = None, showgrid: bool | None = False) -> dict:
    """A heatmap's key axis (`keys`: labels turned, above the plot) or query axis (top to bottom). Positions are
    numbers with the escaped pieces as their labels: Plotly would merge repeated category labels into one."""
    axis = dict(
        title=KEY_AXIS if keys else QUERY_AXIS,
        tickmode="array",
        tickvals=list(range(len(pieces))),
        ticktext=safe_text(pieces),
    )
    axis.update(dict(side="top", tickangle=-60) if keys else dict(autorange="reversed"))
    if showgrid is not None:
        axis["showgrid"] = showgrid
    if font_size is not None:
        axis["tickfont"] = dict(size=font_size)
    return axis


def hover_data(query_pieces: list[str], key_pieces: list[str], produced: list[str] | None = None) -> np.ndarray:
    """[queries, keys, 2] escaped text for the hover: each cell's query and key piece; with `produced`, a third
    channel: the piece its row's step produced."""
    custom = np.empty((len(query_pieces), len(key_pieces), 2 if produced is None else 3), dtype=object)
    custom[..., 0] = np.array(safe_text(query_pieces), dtype=object)[:, None]
    custom[..., 1] = np.array(safe_text(key_pieces), dtype=object)[None, :]
    if produced is not None:
        custom[..., 2] = np.array(safe_text(produced), dtype=object)[:, None]
    return custom


def heatmap_trace(z, custom: np.ndarray, produced: bool = False, colorscale=COLORSCALE, **settings) -> go.Heatmap:
    """One [queries, keys] matrix at numeric positions, hovering with `custom` (`hover_data`): query, key and weight,
    and with `produced` the piece the row's step produced. `settings`: zmin/zmax (default 0-1) and any others."""
    query = "query: %{customdata[0]}" + (" (this step produced %{customdata[2]})" if produced else "")
    settings = dict(zmin=0, zmax=1, colorbar=dict(title="weight")) | settings
    return go.Heatmap(
        z=z,
        x=np.arange(custom.shape[1]),
        y=np.arange(custom.shape[0]),
        customdata=custom,
        colorscale=colorscale,
        hovertemplate=query + "<br>key: %{customdata[1]}<br>weight %{z:.3f}<extra></extra>",
        **settings,
    )


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
    custom = hover_data(query_tokens, key_tokens, produced or [""] * len(query_tokens))
    fig = go.Figure(heatmap_trace(weights, custom, bool(produced), colorscale, zmin=zmin, zmax=zmax))
    fig.update_layout(
        title=top_title(plain(title)),
        font=dict(size=font_size),
        margin=dict(l=10, r=10, t=60 if title else 30, b=10),
        height=max(320, min(1400, 120 + cell_size(len(key_tokens)) * len(query_tokens))),
        xaxis=token_axis(key_tokens, keys=True),
        yaxis=token_axis(query_tokens, keys=False),
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
    tiled = tile_heads(attention, gap)
    # Hover shows positions within the head (numeric arrays stay compact); tokens are on the opened cell.
    x_in_head, y_in_head = positions_in_head(K, H, gap), positions_in_head(Q, L, gap)
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
    fig.add_trace(head_picker(L, H, Q, K, gap))
    fig.update_layout(
        clickmode="event+select",
        title=plain(title),
        margin=dict(l=10, r=10, t=60, b=10),
        height=max(360, min(1600, 110 * L + 40)),
        xaxis=dict(band_axis("head", H, K, gap), side="top"),
        yaxis=dict(band_axis("layer", L, Q, gap), autorange="reversed"),
        meta=dict(layers=L, heads=H, queries=Q, keys=K, gap=gap),
    )
    return fig


def tile_heads(attention: np.ndarray, gap: int) -> np.ndarray:
    """[layers, heads, Q, K] as one matrix, layers down and heads across, `gap` blank (NaN) rows and columns between."""
    L, H, Q, K = attention.shape
    tiled = np.full((L * (Q + gap) - gap, H * (K + gap) - gap), np.nan, dtype=np.float32)
    for l in range(L):
        for h in range(H):
            r, c = l * (Q + gap), h * (K + gap)
            tiled[r : r + Q, c : c + K] = attention[l, h]
    return tiled


def positions_in_head(size: int, count: int, gap: int) -> np.ndarray:
    """Along one side of the tiled matrix: each row's (or column's) position within its head, -1 in the gaps."""
    return np.tile(np.append(np.arange(size), np.full(gap, -1)), count)[: count * (size + gap) - gap].astype(np.int16)


def band_axis(name: str, count: int, size: int, gap: int) -> dict:
    """An axis of the tiled matrix labelled once per band ("layer 0", "head 3"), at the band's middle."""
    return dict(
        tickmode="array",
        tickvals=[i * (size + gap) + (size - 1) / 2 for i in range(count)],
        ticktext=[f"{name} {i}" for i in range(count)],
        showgrid=False,
        zeroline=False,
    )


def head_picker(L: int, H: int, Q: int, K: int, gap: int) -> go.Scatter:
    """Streamlit returns no selection for heatmap clicks: one clickable, nearly invisible marker per head does."""
    centres = [(l, h, h * (K + gap) + (K - 1) / 2, l * (Q + gap) + (Q - 1) / 2) for l in range(L) for h in range(H)]
    return go.Scatter(
        x=[c[2] for c in centres],
        y=[c[3] for c in centres],
        mode="markers",
        showlegend=False,
        hoverinfo="none",
        customdata=[[c[0], c[1]] for c in centres],
        marker=dict(symbol="square", size=max(8, min(60, 4 * K)), opacity=0.01),
        name="pick",
    )


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
        title=plain(title),
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
