"""The collapse check: relative spread against hand-computed values, and the warning on a forced collapse."""

from __future__ import annotations

import math

import torch

from model.analysis.encoder_collapse import COLLAPSED, collapse_warning, encoder_spread, relative_spread
from model.core.hook_names import hook_name
from model.core.hooks import hook_points
from model.diagnostics import main as diagnostics_main


def test_relative_spread_matches_hand_computed_values():
    assert relative_spread(torch.ones(5, 8) * 3.0) == 0.0  # every position the same vector
    n = 4  # orthonormal rows: each is e_i − 1/n·1 from the mean, of norm sqrt((n − 1)/n); the rows' norm is 1
    assert math.isclose(relative_spread(torch.eye(n)), math.sqrt((n - 1) / n), rel_tol=1e-6)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]])
    assert math.isclose(
        relative_spread(x, torch.tensor([True, True, False])), math.sqrt(0.5), rel_tol=1e-6
    )  # masked row left out


def test_a_collapsed_encoder_is_reported(model, checkpoint_dir, tmp_path, capsys):
    tiny_model = model
    ids = [[5, 6, 7, 8, 3], [9, 10, 3]]
    healthy = encoder_spread(tiny_model, ids)
    assert (
        len(healthy) == tiny_model.cfg.n_encoder_layers + 1
        and healthy[-1] > COLLAPSED
        and collapse_warning(healthy) is None
    )
    last = hook_points(tiny_model)[hook_name("encoder", tiny_model.cfg.n_encoder_layers - 1, "resid_post")]
    hook = last.register_forward_pre_hook(  # the last layer's output: every position the mean
        lambda _m, inputs: (inputs[0].mean(1, keepdim=True).expand_as(inputs[0]),)
    )
    try:
        collapsed = encoder_spread(tiny_model, ids)
    finally:
        hook.remove()
    assert collapsed[-2] < 1e-6 and "nearly identical" in collapse_warning(collapsed)
    sentences = tmp_path / "s.txt"
    sentences.write_text("a dog runs\ntwo men\n")
    assert diagnostics_main(["--checkpoint", str(checkpoint_dir), "--input", str(sentences)]) == 0
    assert "encoder output: relative spread" in capsys.readouterr().out
