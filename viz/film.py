"""The training film as pictures: one head's attention (or every head of a kind) at every recorded moment of training,
switched in the browser; the loss and BLEU curves with the moment marked; and every head's statistic over training.

Pure: arrays and lists in, Plotly figures out. The film's frames are Plotly frames: the slider and ▶ / ❚❚ play them in
the browser (plotly.js's `animate`), with no server round trip, and still work in an exported HTML file.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.attention import COLORSCALE, cell_size, heatmap_trace, hover_data, token_axis, top_title
from viz.labels import plain, safe_text

FRAME_MS = 500  # ▶ shows a frame this long: 60 frames in half a minute
ZERO_AT = 0.5  # update 0 on a log axis: drawn here, labelled "0"
TITLE_CHARS = 90  # a translation longer than this is cut in the frame's title
# The statistics whose every value lies in a fixed range (the others, entropy and mean distance, start at 0)
FIXED_RANGES = {
    "max_weight": (0.0, 1.0),
    "same": (0.0, 1.0),
    "previous": (0.0, 1.0),
    "next": (0.0, 1.0),
    "to_eos": (0.0, 1.0),
    "to_punctuation": (0.0, 1.0),
    "aer": (0.0, 1.0),
    "monotonicity": (-1.0, 1.0),
}
# Low is better for these: their colour scale is reversed, so that "became good" always reads as "became bright".
LOWER_IS_BETTER = {"aer", "entropy", "mean_distance"}


def cut(text: str, limit: int = TITLE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def frame_title(what: str, step: int, epoch: float, translation: str | None, size: int = 12) -> dict:
    """One frame's title: what is shown and when; under it (a subtitle: a second title line would be drawn above the
    figure's top) that moment's greedy translation, escaped: text, not markup."""
    title = {"text": f"<b>{plain(what)} · update {step} · epoch {epoch:.2f}</b>"}
    if translation is not None:
        title["subtitle"] = {"text": "→ " + (plain(cut(translation)) or "(empty)"), "font": {"size": size}}
    return title


# The grid's weights, in the first frame as in every other: its many small heatmaps are all sent with the page, and a
# cell too small to read needs no third digit.
GRID_DIGITS = 2


def rounded(z: np.ndarray, digits: int = 3) -> list:
    """As JSON numbers, short: float64 first, so 0.123 is written 0.123 (float32's 0.12300000339746475 is not)."""
    return np.round(np.asarray(z, dtype=np.float64), digits).tolist()


def animation_controls(n_frames: int, active: int, font_size: int, labels: list[str]) -> tuple[list, list]:
    """The slider (one step per frame, named by its update) and the ▶ / ❚❚ buttons, all plotly.js `animate` calls."""
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    slider = dict(
        active=active,
        currentvalue=dict(visible=False),
        pad=dict(t=10, l=90),
        len=1.0,
        x=0,
        y=0,
        yanchor="top",
        font=dict(size=max(10, font_size - 4)),
        steps=[dict(method="animate", label=labels[i], args=[[str(i)], still]) for i in range(n_frames)],
    )
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    buttons = dict(
        type="buttons",
        direction="right",
        showactive=False,
        x=0,
        y=0,
        xanchor="left",
        yanchor="top",
        pad=dict(t=18, r=8),
        font=dict(size=font_size),
        buttons=[
            dict(label="▶", method="animate", args=[None, play]),
            dict(label="❚❚", method="animate", args=[[None], still]),
        ],
    )
    return [slider], [buttons]


def slider_labels(steps: list[int]) -> list[str]:
    """Every frame's update, but so many labels would overlap: about eight are written, the others left blank."""
    every = max(1, math.ceil(len(steps) / 8))
    return [str(s) if i % every == 0 or i == len(steps) - 1 else "" for i, s in enumerate(steps)]


def frame_titles(
    n: int, what: str, steps: list[int], epochs: list[float], translations: list[str | None], size: int
) -> list[dict]:
    """Each of the `n` frames' title (`frame_title`), once its steps, epochs and translations are one per frame."""
    if not (len(steps) == len(epochs) == len(translations) == n):
        raise ValueError(
            f"{n} frames of attention, but {len(steps)} steps, {len(epochs)} epochs, {len(translations)} titles"
        )
    return [frame_title(what, steps[i], epochs[i], translations[i], size) for i in range(n)]


def animate(fig: go.Figure, frames: list[list[dict]], titles: list[dict], active: int, font_size: int, steps) -> None:
    """`fig`'s frames (each the new data of its traces, in order, and its title), their slider and ▶ / ❚❚ buttons, and
    the title of the frame shown first. Plain dicts: plotly.py checks them faster than it builds go.Frame and
    go.Heatmap objects (a second for a grid)."""
    fig.frames = [
        dict(name=str(i), data=data, traces=list(range(len(data))), layout=dict(title=titles[i]))
        for i, data in enumerate(frames)
    ]
    sliders, menus = animation_controls(len(frames), active, font_size, slider_labels(steps))
    fig.update_layout(
        title={**top_title(""), **titles[active], "font": dict(size=font_size + 2)},
        font=dict(size=font_size),
        sliders=sliders,
        updatemenus=menus,
    )


def film_heatmap(
    attention: np.ndarray,
    query_tokens: list[str],
    key_tokens: list[str],
    steps: list[int],
    epochs: list[float],
    translations: list[str | None],
    what: str,
    start: int = -1,
    colorscale=COLORSCALE,
    font_size: int = 12,
    height: int | None = None,
) -> go.Figure:
    """One head's attention [frames, queries, keys] at every frame, one frame shown at a time; `start` is the frame
    shown first (-1: the last). Each frame is titled with `what`, its update, epoch and that moment's translation."""
    n = attention.shape[0]
    titles = frame_titles(n, what, steps, epochs, translations, font_size)
    if attention.shape[1:] != (len(query_tokens), len(key_tokens)):
        raise ValueError(
            f"attention of shape {attention.shape[1:]} does not fit {len(query_tokens)} x {len(key_tokens)} tokens"
        )
    active = start % n
    trace = heatmap_trace(rounded(attention[active]), hover_data(query_tokens, key_tokens), colorscale=colorscale)
    fig = go.Figure([trace])
    animate(fig, [[dict(type="heatmap", z=rounded(attention[i]))] for i in range(n)], titles, active, font_size, steps)
    fig.update_layout(
        height=height or max(420, min(1000, 260 + cell_size(len(key_tokens)) * len(query_tokens))),
        margin=dict(l=10, r=10, t=80 + 7 * max(map(len, safe_text(key_tokens)), default=1), b=90),
        xaxis=token_axis(key_tokens, keys=True, font_size=font_size),
        yaxis=token_axis(query_tokens, keys=False, font_size=font_size),
        meta=dict(steps=list(steps)),
    )
    return fig


def film_grid(
    attention: np.ndarray,
    steps: list[int],
    epochs: list[float],
    translations: list[str | None],
    what: str,
    start: int = -1,
    colorscale=COLORSCALE,
    font_size: int = 12,
    height: int | None = None,
) -> go.Figure:
    """Every head of one kind, [frames, layers, heads, queries, keys], as a layers × heads grid of small heatmaps at
    every frame (no tick labels: too small to read; hovering names query and key by position)."""
    n, layers, heads = attention.shape[:3]
    titles = frame_titles(n, what, steps, epochs, translations, font_size)
    active = start % n
    fig = make_subplots(
        rows=layers,
        cols=heads,
        horizontal_spacing=0.01,
        vertical_spacing=0.03,
        row_titles=[f"layer {l}" for l in range(layers)],
        column_titles=[f"head {h}" for h in range(heads)],
    )
    for l in range(layers):
        for h in range(heads):
            fig.add_trace(
                go.Heatmap(
                    z=rounded(attention[active, l, h], GRID_DIGITS),
                    coloraxis="coloraxis",
                    name=f"layer {l}, head {h}",
                    hovertemplate=f"layer {l}, head {h}<br>query %{{y}}, key %{{x}}<br>"
                    f"weight %{{z:.{GRID_DIGITS}f}}<extra></extra>",
                ),
                row=l + 1,
                col=h + 1,
            )
    frames = [
        [dict(type="heatmap", z=rounded(attention[i, l, h], GRID_DIGITS)) for l in range(layers) for h in range(heads)]
        for i in range(n)
    ]
    animate(fig, frames, titles, active, font_size, steps)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    fig.update_layout(
        coloraxis=dict(colorscale=colorscale, cmin=0, cmax=1, colorbar=dict(title="weight")),
        height=height or max(420, 160 + 150 * layers),
        margin=dict(l=10, r=10, t=90, b=90),
        meta=dict(steps=list(steps), layers=layers, heads=heads),
    )
    return fig


def log_x(steps: list[int]) -> list[float]:
    """Updates on a log axis: update 0 (before the first) drawn at ZERO_AT."""
    return [float(s) if s > 0 else ZERO_AT for s in steps]


def log_ticks(last: int) -> tuple[list[float], list[str]]:
    """0 at ZERO_AT, then the powers of ten up to `last`."""
    values, labels, power = [ZERO_AT], ["0"], 1
    while power <= max(last, 1):
        values.append(float(power))
        labels.append(f"{power:,}")
        power *= 10
    return values, labels


def training_curves(
    steps: list[int],
    epochs: list[float],
    train_loss: list[float | None],
    val_loss: list[float | None],
    bleu: list[float | None],
    current: int = -1,
    font_size: int = 12,
    height: int = 300,
) -> go.Figure:
    """Training and validation loss (left axis) and validation BLEU (right axis) over updates, log x; the frame
    `current` marked by a vertical line. Frames without a value leave a gap in their series (never a zero)."""
    x = log_x(steps)
    current = current % len(steps)
    fig = go.Figure()
    series = (
        ("training loss", train_loss, "y", "#ff7f0e", "loss"),
        ("validation loss", val_loss, "y", "#d62728", "loss"),
        ("validation BLEU", bleu, "y2", "#1f77b4", "BLEU"),
    )
    for name, values, axis, colour, unit in series:
        keep = [i for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        if not keep:
            continue
        fig.add_scatter(
            x=[x[i] for i in keep],
            y=[values[i] for i in keep],
            customdata=[[steps[i], epochs[i]] for i in keep],
            name=name,
            yaxis=axis,
            mode="lines+markers",
            marker=dict(size=5),
            line=dict(color=colour, width=2),
            hovertemplate="update %{customdata[0]} (epoch %{customdata[1]:.2f})<br>"
            f"{unit} %{{y:.2f}}<extra>{name}</extra>",
        )
    tickvals, ticktext = log_ticks(steps[-1])
    fig.add_vline(x=x[current], line=dict(color="#888888", width=2, dash="dot"))
    fig.update_layout(
        height=height,
        font=dict(size=font_size),
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text=f"Loss and BLEU · the line: update {steps[current]}"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(title="update (log scale)", type="log", tickmode="array", tickvals=tickvals, ticktext=ticktext),
        yaxis=dict(title="loss", rangemode="tozero"),
        yaxis2=dict(title="BLEU", overlaying="y", side="right", showgrid=False, rangemode="tozero"),
        meta=dict(current=current),
    )
    return fig


def head_timeline(
    values: dict[str, np.ndarray],
    labels: dict[str, str],
    steps: list[int],
    statistic: str,
    current: int = -1,
    font_size: int = 12,
    height: int | None = None,
) -> go.Figure:
    """ "When each head became what it is": per kind (a panel each), one row per head (layer by layer), one column per
    frame, coloured by `statistic` ([frames, layers, heads] per kind in `values`; NaN where a frame has none). Kinds
    with no value at all (AER of self-attention) are left out. The frame `current` is outlined in every panel."""
    kinds = [k for k, v in values.items() if np.isfinite(v).any()]
    if not kinds:
        raise ValueError(f"the film has no {statistic} for any head")
    n = len(steps)
    current = current % n
    low, high = FIXED_RANGES.get(statistic, (0.0, max(float(np.nanmax(values[k])) for k in kinds) or 1.0))
    every = max(1, math.ceil(n / 6))
    ticks = [i for i in range(n) if i % every == 0] + ([n - 1] if (n - 1) % every else [])
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=[labels[k] for k in kinds], horizontal_spacing=0.06)
    for c, kind in enumerate(kinds, start=1):
        timeline_panel(fig, c, values[kind], labels[kind], steps, statistic, font_size)
        fig.update_xaxes(
            tickmode="array",
            tickvals=ticks,
            ticktext=[str(steps[i]) for i in ticks],
            showgrid=False,
            title="update",
            row=1,
            col=c,
        )
        outline_layers_and_frame(fig, c, *values[kind].shape[1:], current)
    rows_most = max(values[k].shape[1] * values[k].shape[2] for k in kinds)
    fig.update_layout(
        height=height or max(300, 120 + 14 * rows_most),
        font=dict(size=font_size),
        margin=dict(l=10, r=10, t=60, b=10),
        title=dict(
            text=f"When each head became what it is: {statistic} over training (outlined: update {steps[current]})"
        ),
        coloraxis=dict(
            colorscale="Viridis_r" if statistic in LOWER_IS_BETTER else "Viridis",
            cmin=low,
            cmax=high,
            colorbar=dict(title=statistic),
        ),
        meta=dict(kinds=kinds, current=current),
    )
    return fig


def timeline_panel(
    fig: go.Figure, col: int, v: np.ndarray, label: str, steps: list[int], statistic: str, font_size: int
) -> None:
    """One kind's panel of `head_timeline`: [frames, layers, heads] as one row per head, one column per frame."""
    frames, layers, heads = v.shape
    z = v.reshape(frames, layers * heads).T  # row layer * heads + head
    names = [f"L{l} H{h}" for l in range(layers) for h in range(heads)]
    custom = np.empty(z.shape + (2,), dtype=object)
    custom[..., 0] = np.array(names, dtype=object)[:, None]
    custom[..., 1] = np.array(steps, dtype=object)[None, :]
    fig.add_trace(
        go.Heatmap(
            z=np.where(np.isfinite(z), np.round(z, 4), None).tolist(),
            x=list(range(len(steps))),
            y=list(range(layers * heads)),
            customdata=custom,
            coloraxis="coloraxis",
            hovertemplate="%{customdata[0]}<br>update %{customdata[1]}<br>"
            f"{statistic} %{{z:.3f}}<extra>{label}</extra>",
        ),
        row=1,
        col=col,
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(layers * heads)),
        ticktext=names,
        autorange="reversed",
        showgrid=False,
        tickfont=dict(size=max(8, font_size - 3)),
        row=1,
        col=col,
    )


def outline_layers_and_frame(fig: go.Figure, col: int, layers: int, heads: int, current: int) -> None:
    """A white line between layers and a red outline round the frame `current`, in panel `col`."""
    xref = "x" if col == 1 else f"x{col}"
    yref = "y" if col == 1 else f"y{col}"
    for l in range(1, layers):
        fig.add_shape(
            type="line",
            xref=f"{xref} domain",
            x0=0,
            x1=1,
            yref=yref,
            y0=l * heads - 0.5,
            y1=l * heads - 0.5,
            line=dict(color="#ffffff", width=2),
        )
    fig.add_shape(
        type="rect",
        xref=xref,
        x0=current - 0.5,
        x1=current + 0.5,
        yref=f"{yref} domain",
        y0=0,
        y1=1,
        line=dict(color="#e41a1c", width=2),
    )
