"""One figure that carries every layer × head (and the mean of the heads) and switches between them in the browser.

Plotly's own slider and buttons change which heatmap is visible and relabel the axes, with no server
round trip: instant on a projector, and still working in an exported HTML file opened offline.
The slider walks (kind, layer, head) in order; the buttons jump to a layer (its mean of heads), or
to a kind when the figure holds several.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from viz.attention import COLORSCALE, KEY_AXIS, QUERY_AXIS, safe_text, top_title
from viz.labels import ROTATED_SIN, label_px


@dataclass
class Panel:
    """The attention of one kind: [layers, heads, queries, keys] and its axis tokens."""

    kind: str
    label: str
    attention: np.ndarray
    query_tokens: list[str]
    key_tokens: list[str]


def switchable_heatmap(
    panels: list[Panel],
    start: tuple[str, int, int | None] | None = None,
    colorscale=COLORSCALE,
    font_size: int = 12,
    height: int | None = None,
) -> go.Figure:
    """Heatmaps of every (kind, layer, head|mean) in `panels`, one visible at a time; `start` = (kind, layer, head or
    None)."""
    steps, traces = [], []
    for panel in panels:
        L, H = panel.attention.shape[:2]
        q_text, k_text = safe_text(panel.query_tokens), safe_text(panel.key_tokens)
        custom = np.empty(panel.attention.shape[2:] + (2,), dtype=object)
        custom[..., 0] = np.array(q_text, dtype=object)[:, None]
        custom[..., 1] = np.array(k_text, dtype=object)[None, :]
        for layer in range(L):
            for head in [None, *range(H)]:
                z = panel.attention[layer].mean(0) if head is None else panel.attention[layer, head]
                name = f"{panel.label}, layer {layer}, " + ("mean of heads" if head is None else f"head {head}")
                traces.append(
                    go.Heatmap(
                        z=np.round(z.astype(np.float32), 4),
                        x=np.arange(len(k_text)),
                        y=np.arange(len(q_text)),
                        customdata=custom,
                        zmin=0,
                        zmax=1,
                        colorscale=colorscale,
                        visible=False,
                        name=name,
                        showscale=not steps,
                        colorbar=dict(title="weight"),
                        hovertemplate="query: %{customdata[0]}<br>key: %{customdata[1]}<br>weight "
                        "%{z:.3f}<extra></extra>",
                    )
                )
                axes = {
                    "title.text": name,
                    "xaxis.tickvals": list(range(len(k_text))),
                    "xaxis.ticktext": k_text,
                    "yaxis.tickvals": list(range(len(q_text))),
                    "yaxis.ticktext": q_text,
                }
                steps.append(
                    {
                        "kind": panel.kind,
                        "layer": layer,
                        "head": head,
                        "label": f"L{layer} " + ("mean" if head is None else f"H{head}"),
                        "axes": axes,
                    }
                )
    n = len(traces)
    active = 0
    if start is not None:
        active = next((i for i, s in enumerate(steps) if (s["kind"], s["layer"], s["head"]) == start), 0)

    kinds = list(dict.fromkeys(s["kind"] for s in steps))

    def update(i: int) -> list:
        visible = [False] * n
        visible[i] = True
        # Within one kind only the title changes: resending the same tick labels would redraw both axes on every step.
        layout = steps[i]["axes"] if len(kinds) > 1 else {"title.text": steps[i]["axes"]["title.text"]}
        return [{"visible": visible, "showscale": visible}, {**layout, "sliders[0].active": i}]

    fig = go.Figure(traces)
    fig.data[active].visible = True
    fig.data[active].showscale = True
    slider = dict(
        active=active,
        currentvalue=dict(prefix="", visible=False),
        pad=dict(t=10),
        len=1.0,
        x=0,
        font=dict(size=max(10, font_size - 4)),
        steps=[dict(method="update", label=s["label"], args=update(i)) for i, s in enumerate(steps)],
    )
    menus = []
    if len(kinds) > 1:
        first = {k: next(i for i, s in enumerate(steps) if s["kind"] == k) for k in kinds}
        labels = {p.kind: p.label for p in panels}
        menus.append(
            dict(
                type="buttons",
                direction="right",
                x=0,
                xanchor="left",
                showactive=True,
                font=dict(size=font_size),
                active=kinds.index(steps[active]["kind"]),
                buttons=[dict(method="update", label=labels[k], args=update(first[k])) for k in kinds],
            )
        )
    layers = [(i, s) for i, s in enumerate(steps) if s["head"] is None]
    if len(kinds) == 1:  # with several kinds the slider walks them all; layer buttons would be ambiguous
        menus.append(
            dict(
                type="buttons",
                direction="down",
                x=1.17,
                y=1.0,
                xanchor="left",
                yanchor="top",
                showactive=False,
                font=dict(size=font_size),
                buttons=[dict(method="update", label=f"layer {s['layer']}", args=update(i)) for i, s in layers],
            )
        )
    Q, K = panels[0].attention.shape[2:]
    height = height or max(420, min(1400, 200 + max(8, min(28, 900 // max(K, 1))) * Q))
    margin = dict(l=10, r=160, t=110, b=10)
    if len(kinds) > 1:
        margin, menus[0]["y"] = kind_buttons_room(panels, font_size, height)
        menus[0]["yanchor"] = "bottom"
    fig.update_layout(
        title=top_title(steps[active]["axes"]["title.text"]),
        font=dict(size=font_size),
        sliders=[slider],
        updatemenus=menus,
        height=height,
        margin=margin,
        xaxis=dict(
            title=KEY_AXIS,
            tickmode="array",
            tickvals=steps[active]["axes"]["xaxis.tickvals"],
            ticktext=steps[active]["axes"]["xaxis.ticktext"],
            side="top",
            tickangle=-60,
            showgrid=False,
            tickfont=dict(size=font_size),
        ),
        yaxis=dict(
            title=QUERY_AXIS,
            tickmode="array",
            tickvals=steps[active]["axes"]["yaxis.tickvals"],
            ticktext=steps[active]["axes"]["yaxis.ticktext"],
            autorange="reversed",
            showgrid=False,
            tickfont=dict(size=font_size),
        ),
        meta=dict(steps=[(s["kind"], s["layer"], s["head"]) for s in steps]),
    )
    return fig


def kind_buttons_room(panels: list[Panel], font_size: int, height: int) -> tuple[dict, float]:
    """With several kinds, the top margin holds four bands, top down: the title, the kind buttons, the key axis's
    title and the key labels (turned 60°, as tall as the longest of any kind). Plotly places buttons in fractions of
    the plot's height, so the margins are set in full (the slider's below) and the buttons' `y` is reckoned from
    them. Returns the margins and the buttons' `y` (their bottom edge)."""
    labels = label_px([t for p in panels for t in p.key_tokens], font_size) * ROTATED_SIN + font_size
    axis_title, buttons, title = 2.5 * font_size, 3 * font_size, 2.5 * font_size
    slider = 6.5 * max(10, font_size - 4)  # its rail, ticks and step labels
    top = int(title + buttons + axis_title + labels)
    plot = max(height - top - slider, 1.0)
    return dict(l=10, r=10, t=top, b=int(slider)), 1 + (labels + axis_title) / plot
