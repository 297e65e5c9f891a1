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

from viz.attention import COLORSCALE, cell_size, head_title, heatmap_trace, hover_data, token_axis, top_title
from viz.labels import ROTATED_SIN, label_px, plain


@dataclass
class Panel:
    """The attention of one kind: [layers, heads, queries, keys] and its axis tokens."""

    kind: str
    label: str
    attention: np.ndarray
    query_tokens: list[str]
    key_tokens: list[str]


@dataclass
class Step:
    """One heatmap the figure can show: its (kind, layer, head or None for the mean), slider label and the layout it
    needs (title, and the axes' labels of its kind)."""

    kind: str
    layer: int
    head: int | None
    label: str
    layout: dict


def heatmap_steps(panels: list[Panel], colorscale=COLORSCALE) -> tuple[list[go.Heatmap], list[Step]]:
    """Every (kind, layer, mean of heads, then each head) of `panels`: its heatmap, hidden, and its step."""
    traces, steps = [], []
    for panel in panels:
        L, H = panel.attention.shape[:2]
        custom = hover_data(panel.query_tokens, panel.key_tokens)
        x, y = token_axis(panel.key_tokens, keys=True), token_axis(panel.query_tokens, keys=False)
        for layer in range(L):
            for head in [None, *range(H)]:
                z = panel.attention[layer].mean(0) if head is None else panel.attention[layer, head]
                name = plain(head_title(panel.label, layer, head))
                z = np.round(z.astype(np.float32), 4)
                traces.append(
                    heatmap_trace(z, custom, colorscale=colorscale, visible=False, name=name, showscale=not steps)
                )
                layout = {
                    "title.text": name,
                    "xaxis.tickvals": x["tickvals"],
                    "xaxis.ticktext": x["ticktext"],
                    "yaxis.tickvals": y["tickvals"],
                    "yaxis.ticktext": y["ticktext"],
                }
                label = f"L{layer} " + ("mean" if head is None else f"H{head}")
                steps.append(Step(panel.kind, layer, head, label, layout))
    return traces, steps


def show_step(steps: list[Step], i: int, relabel: bool) -> list:
    """A slider step's or button's `update` arguments: show heatmap `i` alone, retitle, and with `relabel` (several
    kinds) relabel the axes; within one kind resending the same labels would redraw both axes on every step."""
    visible = [False] * len(steps)
    visible[i] = True
    layout = steps[i].layout if relabel else {"title.text": steps[i].layout["title.text"]}
    return [{"visible": visible, "showscale": visible}, {**layout, "sliders[0].active": i}]


def step_slider(steps: list[Step], active: int, font_size: int, relabel: bool) -> dict:
    return dict(
        active=active,
        currentvalue=dict(prefix="", visible=False),
        pad=dict(t=10),
        len=1.0,
        x=0,
        font=dict(size=max(10, font_size - 4)),
        steps=[dict(method="update", label=s.label, args=show_step(steps, i, relabel)) for i, s in enumerate(steps)],
    )


def kind_buttons(panels: list[Panel], steps: list[Step], active: int, font_size: int) -> dict:
    """One button per kind, jumping to its first step (the mean of its first layer's heads)."""
    labels = {p.kind: p.label for p in panels}
    kinds = list(labels)
    first = {k: next(i for i, s in enumerate(steps) if s.kind == k) for k in kinds}
    return dict(
        type="buttons",
        direction="right",
        x=0,
        xanchor="left",
        showactive=True,
        font=dict(size=font_size),
        active=kinds.index(steps[active].kind),
        buttons=[dict(method="update", label=labels[k], args=show_step(steps, first[k], True)) for k in kinds],
    )


def layer_buttons(steps: list[Step], font_size: int) -> dict:
    """One button per layer, right of the plot, jumping to the mean of its heads (one kind only: with several, the
    slider walks them all and a layer button would be ambiguous)."""
    layers = [(i, s) for i, s in enumerate(steps) if s.head is None]
    return dict(
        type="buttons",
        direction="down",
        x=1.17,
        y=1.0,
        xanchor="left",
        yanchor="top",
        showactive=False,
        font=dict(size=font_size),
        buttons=[dict(method="update", label=f"layer {s.layer}", args=show_step(steps, i, False)) for i, s in layers],
    )


def switchable_heatmap(
    panels: list[Panel],
    start: tuple[str, int, int | None] | None = None,
    colorscale=COLORSCALE,
    font_size: int = 12,
    height: int | None = None,
) -> go.Figure:
    """Heatmaps of every (kind, layer, head|mean) in `panels`, one visible at a time; `start` = (kind, layer, head or
    None)."""
    traces, steps = heatmap_steps(panels, colorscale)
    at = [(s.kind, s.layer, s.head) for s in steps]
    active = at.index(start) if start in at else 0
    several = len({p.kind for p in panels}) > 1
    fig = go.Figure(traces)
    fig.data[active].visible = True
    fig.data[active].showscale = True
    shown = next(p for p in panels if p.kind == steps[active].kind)
    Q, K = panels[0].attention.shape[2:]
    height = height or max(420, min(1400, 200 + cell_size(K) * Q))
    if several:
        menu = kind_buttons(panels, steps, active, font_size)
        margin, menu["y"] = kind_buttons_room(panels, font_size, height)
        menu["yanchor"] = "bottom"
    else:
        menu, margin = layer_buttons(steps, font_size), dict(l=10, r=160, t=110, b=10)
    fig.update_layout(
        title=top_title(steps[active].layout["title.text"]),
        font=dict(size=font_size),
        sliders=[step_slider(steps, active, font_size, several)],
        updatemenus=[menu],
        height=height,
        margin=margin,
        xaxis=token_axis(shown.key_tokens, keys=True, font_size=font_size),
        yaxis=token_axis(shown.query_tokens, keys=False, font_size=font_size),
        meta=dict(steps=at),
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
