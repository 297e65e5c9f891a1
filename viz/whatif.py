"""What if: the beam-search tree, contributions beside weights, and information-flow routes.

Pure functions: lists, arrays and DataFrames in, Plotly figures or DataFrames out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from viz.labels import plain, safe_text

START = (-1, 0.0)  # the start node, left of step 0


def beam_tree_layout(nodes: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The nodes with their height `y` (their beam row; a finished one below the beam, at its place among its step's
    finished ones), and the number of beam rows."""
    nodes = nodes.reset_index(drop=True)
    n_rows = int(nodes["row"].max()) + 1 if len(nodes) else 1
    y = np.where(nodes["finished"], n_rows + 0.5 + nodes.groupby("step").cumcount(), nodes["row"])
    return nodes.assign(y=y), n_rows


def beam_tree_edges(nodes: pd.DataFrame) -> tuple[tuple[list, list], tuple[list, list]]:
    """Line coordinates (x, y, with None between lines) from each node's parent (step 0: the start) to the node: the
    lost hypotheses', then the returned translation's. `nodes` as `beam_tree_layout` returns them."""
    position = {(int(r.step), int(r.row)): (int(r.step), float(r.y)) for r in nodes.itertuples() if not r.finished}
    lost, best = ([], []), ([], [])
    for r in nodes.itertuples():
        start = START if r.step == 0 else position.get((int(r.step) - 1, int(r.parent)))
        if start is None:
            continue
        xs, ys = best if r.best else lost
        xs += [start[0], int(r.step), None]
        ys += [start[1], float(r.y), None]
    return lost, best


def line_trace(xy: tuple[list, list], color: str, width: int, name: str | None = None) -> go.Scatter:
    """Lines without hover; in the legend under `name`, or not at all."""
    legend = {"name": name} if name else {"showlegend": False}
    return go.Scatter(x=xy[0], y=xy[1], mode="lines", line=dict(color=color, width=width), hoverinfo="skip", **legend)


def hypotheses_trace(nodes: pd.DataFrame, custom: np.ndarray, font_size: int) -> go.Scatter:
    """Every hypothesis as a marker labelled with its piece, coloured by its normalised score."""
    return go.Scatter(
        x=nodes["step"],
        y=nodes["y"],
        mode="markers+text",
        text=safe_text(list(nodes["piece"])),
        textposition="top center",
        textfont=dict(size=font_size),
        customdata=custom,
        hovertemplate="step %{x}: %{text}<br>log-prob %{customdata[0]:.3f}<br>normalised "
        "%{customdata[1]:.3f}<extra></extra>",
        marker=dict(
            size=11,
            symbol=np.where(nodes["finished"], "square", "circle"),
            color=nodes["normalised"],
            colorscale="Viridis",
            colorbar=dict(title="score / length penalty"),
        ),
        name="hypotheses",
    )


def beam_tree_figure(nodes: pd.DataFrame, font_size: int = 12) -> go.Figure:
    """Every hypothesis beam search kept (x: step, y: its beam row), joined to the hypothesis it extends.

    `nodes` columns: step, row, parent, piece, score, normalised, finished, best (on the returned path).
    Finished hypotheses (</s>) are drawn as squares beside their step; the winning path is thick.
    """
    nodes, n_rows = beam_tree_layout(nodes)
    lost, best = beam_tree_edges(nodes)
    custom = np.stack([nodes["score"].to_numpy(), nodes["normalised"].to_numpy(), nodes.index.to_numpy()], axis=1)
    start = go.Scatter(
        x=[START[0]],
        y=[START[1]],
        mode="markers+text",
        text=["start"],
        textposition="top center",
        marker=dict(size=11, color="#444"),
        hoverinfo="skip",
        showlegend=False,
    )
    # Streamlit returns clicks reliably only from plain marker traces: an almost invisible one carries hover and clicks.
    pick = go.Scatter(
        x=nodes["step"].tolist(),
        y=nodes["y"].tolist(),
        mode="markers",
        customdata=custom.tolist(),
        showlegend=False,
        name="pick",
        marker=dict(size=16, opacity=0.01, color="#000"),
        hoverinfo="none",
    )
    traces = [line_trace(lost, "#b0b0b0", 1), line_trace(best, "#d62728", 4, "returned translation")]
    fig = go.Figure([*traces, hypotheses_trace(nodes, custom, font_size), start, pick])
    steps = int(nodes["step"].max()) + 1 if len(nodes) else 1
    fig.update_layout(
        title="Beam search: every hypothesis kept at each step (squares: finished with &lt;/s&gt;); click one to "
        "see its attention",
        height=max(320, 46 * (n_rows + 3) + 120),
        margin=dict(l=10, r=10, t=60, b=10),
        xaxis=dict(title="step", range=[-1.5, steps + 0.5], dtick=1 if steps <= 40 else 5),
        yaxis=dict(title="beam row (finished below)", autorange="reversed", showticklabels=False),
        legend=dict(orientation="h", y=-0.05),
        clickmode="event+select",
    )
    return fig


def head_ranking(weights: np.ndarray, norms: np.ndarray) -> pd.DataFrame:
    """Heads of one kind ranked two ways for one query row: by raw attention, and by contribution norm.

    weights, norms: [L, H, K] for the chosen output piece. 'weight' is the largest weight of the head
    (where it looked hardest); 'contribution' the total norm it moved into the stream.
    """
    L, H, _ = weights.shape
    table = pd.DataFrame(
        {
            "layer": np.repeat(np.arange(L), H),
            "head": np.tile(np.arange(H), L),
            "max_weight": weights.max(axis=-1).reshape(-1),
            "contribution": norms.sum(axis=-1).reshape(-1),
        }
    )
    table["rank_by_weight"] = table["max_weight"].rank(ascending=False, method="min").astype(int)
    table["rank_by_contribution"] = table["contribution"].rank(ascending=False, method="min").astype(int)
    return table.sort_values("rank_by_contribution")


def routes_figure(edges: pd.DataFrame, labels: dict, columns: list[str], title: str) -> go.Figure:
    """Information-flow routes: nodes in columns (embeddings, layers), edges thick in proportion to their share.

    edges: columns source, target (node keys), weight. labels: node key -> (column index, row, text). `title` is
    plain text, escaped here (it may name a piece).
    """
    fig = go.Figure()
    for r in edges.itertuples():
        (x0, y0, _), (x1, y1, _) = labels[r.source], labels[r.target]
        share = min(max(float(r.weight), 0.0), 1.0)  # a share summed in float32 can come out as 1.0000000387
        fig.add_trace(
            go.Scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                line=dict(width=1 + 10 * share, color="#1f77b4"),
                opacity=0.35 + 0.65 * share,
                hoverinfo="text",
                text=f"share {r.weight:.2f}",
                showlegend=False,
            )
        )
    used = sorted({n for pair in zip(edges["source"], edges["target"]) for n in pair}, key=lambda n: labels[n][:2])
    fig.add_trace(
        go.Scatter(
            x=[labels[n][0] for n in used],
            y=[labels[n][1] for n in used],
            mode="markers+text",
            text=safe_text([labels[n][2] for n in used]),
            textposition="middle right",
            marker=dict(size=10, color="#333"),
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_layout(
        title=plain(title),
        height=520,
        margin=dict(l=10, r=10, t=60, b=10),
        xaxis=dict(tickmode="array", tickvals=list(range(len(columns))), ticktext=columns, range=[-0.5, len(columns)]),
        yaxis=dict(autorange="reversed", showticklabels=False, title="position"),
    )
    return fig
