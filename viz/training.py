"""The training curve from a model card: validation BLEU and loss by epoch."""

from __future__ import annotations

import plotly.graph_objects as go


def training_curve(curve: list[dict], height: int = 170) -> go.Figure:
    """Val BLEU (left axis) and val loss (right axis) per epoch, from the card's `curve` rows.

    Rows hold strings or numbers (the card copies the training CSV); rows without an epoch are skipped.
    """
    try:
        rows = [r for r in curve if str(r.get("epoch", "")).strip()]
        epochs = [float(r["epoch"]) for r in rows]  # fractional for a stop inside an epoch
        series = {column: [float(r[column]) for r in rows] for column in ("val_bleu", "val_loss")}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the training curve is malformed ({exc!r})") from None
    if not rows:
        raise ValueError("the training curve has no epochs")
    fig = go.Figure()
    for column, name, axis, colour in (
        ("val_bleu", "val BLEU", "y", "#1f77b4"),
        ("val_loss", "val loss", "y2", "#d62728"),
    ):
        fig.add_scatter(
            x=epochs,
            y=series[column],
            name=name,
            yaxis=axis,
            mode="lines" if len(rows) > 12 else "lines+markers",  # a short run: each epoch visible
            line={"color": colour, "width": 2},
            hovertemplate=f"epoch %{{x}}<br>{name} %{{y:.2f}}<extra></extra>",
        )
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 40, "t": 10, "b": 30},
        showlegend=False,
        xaxis={"title": {"text": "epoch"}, "dtick": 5 if max(epochs) > 10 else 1},
        yaxis={"title": {"text": "BLEU", "font": {"color": "#1f77b4"}}},
        yaxis2={
            "title": {"text": "loss", "font": {"color": "#d62728"}},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickmode": "auto",
            "nticks": 4,
        },  # plotly.js 3+ syncs an overlaying axis to the left grid: ticks like 2.992
    )
    return fig
