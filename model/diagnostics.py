"""Health checks of a trained model: do the encoder's positions stay distinct? `python -m model.diagnostics --help`.

  python -m model.diagnostics --checkpoint checkpoints/multi30k-en-de --input sentences.txt

A deep post-norm encoder can collapse: each layer mixes the positions a little more until every position of its output
holds the same vector. Cross-attention is then uniform (all keys alike) and the decoder sees one vector per sentence, so
the attention pictures mean nothing although the translations are fluent. The relative spread below is 0 for identical
rows and about 1 for unrelated ones; healthy models keep it well above 0.1 at every layer.
"""
from __future__ import annotations

import argparse
import sys

import torch
from torch import Tensor

from model.checkpoint import CheckpointError, load_checkpoint
from model.cli import run
from model.data import read_lines

COLLAPSED = 0.05  # below this relative spread at the encoder's output, cross-attention cannot tell source words apart


def relative_spread(x: Tensor, mask: Tensor | None = None) -> float:
    """Mean distance of each row of `x` [pos, d] from the rows' mean, over the rows' mean norm (masked rows left out)."""
    if mask is not None:
        x = x[mask]
    centred = x - x.mean(0, keepdim=True)
    return float(centred.norm(dim=-1).mean() / x.norm(dim=-1).mean().clamp_min(1e-12))


@torch.no_grad()
def encoder_spread(model, token_ids: list[list[int]]) -> list[float]:
    """Relative spread of each encoder layer's output (after the final norm for the last), averaged over sentences."""
    outputs: dict[int, Tensor] = {}
    layers = list(model.encoder.layers)
    hooks = [layer.register_forward_hook(lambda _m, _i, out, i=i: outputs.__setitem__(i, out)) for i, layer in enumerate(layers)]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    totals = [0.0] * (len(layers) + 1)
    try:
        for ids in token_ids:
            src = torch.tensor([ids], device=device)
            memory, _ = model.encode(src)
            for i in range(len(layers)):
                totals[i] += relative_spread(outputs[i][0].float())
            totals[-1] += relative_spread(memory[0].float())
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return [t / max(len(token_ids), 1) for t in totals]


def collapse_warning(spreads: list[float]) -> str | None:
    if spreads and spreads[-1] < COLLAPSED:
        return (f"warning: the encoder's output positions are nearly identical (relative spread {spreads[-1]:.4f} < {COLLAPSED}): "
                "cross-attention cannot tell the source words apart. Try --pre-norm or a lower learning rate.")
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.diagnostics", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--max-sentences", type=int, default=64)
    args = p.parse_args(argv)
    try:
        ckpt = load_checkpoint(args.checkpoint)
        lines = [line for line in read_lines(args.input) if line.strip()][: args.max_sentences]
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    eos = ckpt.model.cfg.eos_id
    spreads = encoder_spread(ckpt.model, [ckpt.tokenizer.encode(line)[: ckpt.model.cfg.max_len - 1] + [eos] for line in lines])
    for i, value in enumerate(spreads[:-1]):
        print(f"encoder layer {i}: relative spread {value:.4f}")
    print(f"encoder output: relative spread {spreads[-1]:.4f}")
    warning = collapse_warning(spreads)
    if warning:
        print(warning)
    return 1 if warning else 0


if __name__ == "__main__":
    run(main)
