"""The browser-switchable heatmap: every (kind, layer, head | mean) travels in one figure, one visible at a time."""

from __future__ import annotations

import numpy as np

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
