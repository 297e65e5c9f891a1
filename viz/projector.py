"""Resize a finished figure for a projector: the height it is given, and type large enough to read from the back."""

from __future__ import annotations

import math

import plotly.graph_objects as go

TOP_LABELS_PX = 90  # rotated key labels and the axis title above a heatmap
TOP_MARGIN_PX = 170  # the figure's title, the axis title and rotated key labels, one above the other
TOP_MARGIN_FLAT_PX = 90  # the figure's title and one line of level labels ("head 0" ... in the model view)


def for_projector(
    fig: go.Figure, height: int, font_size: int = 20, tick_size: int = 18, thin_y: bool = False
) -> go.Figure:
    """Set `height` and raise every text size in `fig` to at least the given sizes (never shrinks any).

    Ticks, axis and colour-bar titles, annotations, legends and marker text are all covered, on every subplot axis.
    `thin_y`: where the y axis's listed ticks would overlap at that size, keep every k-th (for row labels such as
    "L0 H3" whose order is obvious; never for tokens).
    """

    def at_least(current, minimum: int) -> int:
        return max(int(current or 0), minimum)

    fig.update_layout(
        height=height,
        font_size=at_least(fig.layout.font.size, font_size),
        title_font_size=at_least(fig.layout.title.font.size, font_size + 2),
        legend_font_size=at_least(fig.layout.legend.font.size, tick_size),
    )
    fig.for_each_xaxis(
        lambda a: a.update(
            tickfont_size=at_least(a.tickfont.size, tick_size), title_font_size=at_least(a.title.font.size, tick_size)
        )
    )
    fig.for_each_yaxis(
        lambda a: a.update(
            tickfont_size=at_least(a.tickfont.size, tick_size), title_font_size=at_least(a.title.font.size, tick_size)
        )
    )
    for annotation in fig.layout.annotations or ():
        annotation.font.size = at_least(annotation.font.size, tick_size)
    for trace in fig.data:
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = at_least(trace.colorbar.tickfont.size, tick_size)
            trace.colorbar.title.font.size = at_least(trace.colorbar.title.font.size, tick_size)
        if "textfont" in trace and getattr(trace, "text", None) is not None:
            trace.textfont.size = at_least(trace.textfont.size, tick_size - 2)
    top_axes = [a for a in fig.select_xaxes() if a.side == "top" and a.ticktext is not None]
    if top_axes:  # room for the title above the labels: rotated tokens need far more than one level line
        rotated = any(a.tickangle not in (None, 0) for a in top_axes)
        fig.update_layout(
            margin_t=max(fig.layout.margin.t or 0, TOP_MARGIN_PX if rotated else TOP_MARGIN_FLAT_PX),
            title=dict(yref="container", y=1, yanchor="top", pad_t=4),
        )
    if thin_y:
        thin_y_ticks(fig, height, tick_size)
    return fig


def thin_y_ticks(fig: go.Figure, height: int, tick_size: int) -> None:
    axis = fig.layout.yaxis
    if axis.tickvals is None or axis.ticktext is None or len(axis.tickvals) < 2:
        return
    margin = fig.layout.margin
    usable = height - (margin.t or 0) - (margin.b or 0) - TOP_LABELS_PX
    every = max(1, math.ceil(1.25 * tick_size * len(axis.tickvals) / max(usable, 1)))
    if every > 1:
        axis.update(tickvals=list(axis.tickvals)[::every], ticktext=list(axis.ticktext)[::every])
