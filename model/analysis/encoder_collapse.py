"""Whether the encoder has collapsed: does its output still tell source words apart (its relative spread per layer)?"""

from __future__ import annotations

import torch
from torch import Tensor

from model.core.hook_names import hook_name
from model.core.hooks import capture
from model.core.interface import TranslationModel

COLLAPSED = 0.05  # below this relative spread at the encoder's output, cross-attention cannot tell source words apart


def relative_spread(x: Tensor, mask: Tensor | None = None) -> float:
    """Mean distance of each row of `x` [pos, d] from the rows' mean, over the rows' mean norm (masked rows left
    out)."""
    if mask is not None:
        x = x[mask]
    centred = x - x.mean(0, keepdim=True)
    return float(centred.norm(dim=-1).mean() / x.norm(dim=-1).mean().clamp_min(1e-12))


@torch.no_grad()
def encoder_spread(model: TranslationModel, token_ids: list[list[int]]) -> list[float]:
    """Relative spread of each encoder layer's output (after the final norm for the last), averaged over sentences."""
    n_layers = model.cfg.n_encoder_layers
    names = [hook_name("encoder", i, "resid_post") for i in range(n_layers)]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    totals = [0.0] * (n_layers + 1)
    try:
        for ids in token_ids:
            with capture(model, names) as run:
                memory, _ = model.encode(torch.tensor([ids], device=device))
            for i, name in enumerate(names):
                totals[i] += relative_spread(run.tensor(name).float())
            totals[-1] += relative_spread(memory[0].float())
    finally:
        model.train(was_training)
    return [t / max(len(token_ids), 1) for t in totals]


def collapse_warning(spreads: list[float]) -> str | None:
    if spreads and spreads[-1] < COLLAPSED:
        return (
            f"warning: the encoder's output positions are nearly identical (relative spread {spreads[-1]:.4f} < "
            f"{COLLAPSED}): "
            "cross-attention cannot tell the source words apart. Try --pre-norm or a lower learning rate."
        )
    return None
