"""The opt-in bfloat16 weight mode: weights stored in bfloat16, attention still computed and recorded in float32,
close to a float32 model whose weights PyTorch rounded to bfloat16; never on by default."""

from __future__ import annotations

import numpy as np
import torch

from model.core.transformer import LowPrecisionLinear
from model.decoding.translation import translate
from tests.conftest import tiny_model

TEXT = "A dog runs in the park."


def test_bfloat16_weights_compute_what_rounded_weights_compute_and_attention_stays_float32(tokenizer):
    fp32 = tiny_model(tokenizer.vocab_size)
    low = tiny_model(tokenizer.vocab_size).use_low_precision_weights(torch.bfloat16)
    linears = [m for m in low.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(isinstance(m, LowPrecisionLinear) and m.weight.dtype == torch.bfloat16 for m in linears)
    assert not any(isinstance(m, LowPrecisionLinear) for m in fp32.modules())  # off by default
    # Reference: float32 arithmetic on the same weights rounded to bfloat16 by PyTorch (layer norms stay float32).
    rounded = tiny_model(tokenizer.vocab_size)
    with torch.no_grad():
        for name, p in rounded.named_parameters():
            if "norm" not in name:
                p.copy_(p.bfloat16().float())
    src = torch.tensor([tokenizer.encode(TEXT) + [fp32.cfg.eos_id]])
    tgt = torch.tensor([[fp32.cfg.decoder_start_id] + tokenizer.encode_target("Ein Hund läuft.")])
    with torch.inference_mode():
        got, want, full = low(src, tgt), rounded(src, tgt), fp32(src, tgt)
    assert got.dtype == torch.float32
    # the mode also rounds each product's input to bfloat16 (relative error < 2^-8): the logits follow closely
    assert (got - want).abs().max() < 0.02 * want.abs().max()
    assert (got - full).abs().max() > 0  # and it is not the float32 model
    reference = translate(fp32, tokenizer, TEXT)
    trace = translate(low, tokenizer, TEXT, prefix=reference.out_ids).trace  # the same pieces, to compare attention
    for kind in ("encoder", "decoder", "cross"):
        assert trace.attention(kind).dtype == np.float32
        np.testing.assert_allclose(trace.attention(kind), reference.trace.attention(kind), atol=0.02)
