"""The browser-switchable heatmap: every (kind, layer, head | mean) travels in one figure, one visible at a time."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from viz.switch import Panel, switchable_heatmap


def panels():
    rng = np.random.default_rng(0)
    enc = rng.dirichlet(np.ones(4), size=(3, 2, 4))  # 3 layers, 2 heads, 4 x 4
    cross = rng.dirichlet(np.ones(4), size=(1, 2, 5))  # 1 layer, 2 heads, 5 queries x 4 keys
    return [
        Panel("encoder", "Encoder", enc, list("abcd"), list("abcd")),
        Panel("cross", "Cross", cross, list("vwxyz"), list("abcd")),
    ]


def test_every_layer_and_head_and_the_mean_is_one_step():
    ps = panels()
    fig = switchable_heatmap(ps, start=("cross", 0, 1))
    assert len(fig.data) == 3 * 3 + 1 * 3  # (mean + 2 heads) per layer
    steps = fig.layout.sliders[0].steps
    assert len(steps) == len(fig.data)
    for i, step in enumerate(steps):
        visible = step.args[0]["visible"]
        assert visible.count(True) == 1 and visible[i]
        assert step.args[1]["sliders[0].active"] == i
    kinds_layers_heads = [tuple(s) for s in fig.layout.meta["steps"]]
    i = kinds_layers_heads.index(("cross", 0, 1))
    assert fig.data[i].visible is True and sum(bool(t.visible) for t in fig.data) == 1
    np.testing.assert_allclose(fig.data[i].z, ps[1].attention[0, 1], atol=1e-4)
    assert list(steps[i].args[1]["yaxis.ticktext"]) == list("vwxyz")  # the axes relabel with the kind
    mean_step = kinds_layers_heads.index(("encoder", 2, None))
    np.testing.assert_allclose(fig.data[mean_step].z, ps[0].attention[2].mean(0), atol=1e-4)
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["Encoder", "Cross"]


def test_one_kind_gets_layer_buttons():
    fig = switchable_heatmap(panels()[:1], start=("encoder", 1, None))
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["layer 0", "layer 1", "layer 2"]
    assert fig.layout.title.text == "Encoder, layer 1, mean of heads"


def kind_buttons_overlap(fig) -> list[str]:
    """Where the kind buttons meet the turned key labels with the key axis's title under them, or the figure's title
    above them, read from the figure's JSON: plotly places buttons in fractions of the plot's height. Label heights
    are a lower bound: half an em per character (Chromium draws lowercase letters 0.43-0.5 em wide), turned 60°."""
    m, menu = fig.layout.margin, fig.layout.updatemenus[0]
    size = menu.font.size or fig.layout.font.size or 12
    plot_h = fig.layout.height - m.t - m.b
    button_h = 2 * size  # a line and its padding, at least
    bottom = (menu.y - 1) * plot_h - (button_h if menu.yanchor in (None, "top") else 0)  # px above the plot
    keys = [t for step in menu.buttons for t in step.args[1].get("xaxis.ticktext", ())]
    under = 0.5 * size * max(len(t) for t in keys) * 0.866 + 1.2 * size  # labels, then the axis title
    found = []
    if bottom < under:
        found.append(f"buttons {bottom:.0f} px above the plot, labels and axis title {under:.0f} px")
    if bottom + button_h > m.t - 1.2 * size:
        found.append(f"buttons up to {bottom + button_h:.0f} px above the plot, the title below {m.t - 1.2 * size:.0f}")
    return found


@pytest.mark.parametrize("n_keys, length", [(4, 1), (15, 9), (30, 16)])
def test_the_kind_buttons_sit_between_the_title_and_the_key_labels(n_keys, length):
    rng = np.random.default_rng(1)
    keys = ["▁" + "w" * (length - 1) + str(i % 10) for i in range(n_keys)]
    self_weights = rng.dirichlet(np.ones(n_keys), (2, 2, n_keys))
    cross_weights = rng.dirichlet(np.ones(n_keys), (2, 2, 6))
    ps = [
        Panel("encoder", "Encoder self-attention", self_weights, keys, keys),
        Panel("cross", "Encoder-decoder (cross) attention", cross_weights, list("abcdef"), keys),
    ]
    fig = switchable_heatmap(ps, ("cross", 0, None))
    assert kind_buttons_overlap(fig) == []
    # the layout it had: the buttons at a fixed 16% of the plot's height above it, drawn over the key labels
    old = go.Figure(fig)
    old.update_layout(margin=dict(t=140, b=10))
    old.layout.updatemenus[0].update(y=1.16, yanchor=None)
    if length > 1:
        assert kind_buttons_overlap(old)
