"""The opt-in low-precision weight modes: weights stored in bfloat16 or int8, attention still computed and recorded
in float32 and close to the float32 model's; each computes what a float32 model with the same weights rounded by
PyTorch computes (up to its bfloat16 inputs); never on by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.core.weight_modes import LowPrecisionLinear
from model.decoding.translation import translate
from tests.conftest import tiny_model

TEXT = "A dog runs in the park."


def rounded_like(model, dtype):
    """The float32 model with every linear weight rounded as the mode stores it: bfloat16 by PyTorch's cast, or int8
    with one scale per output row (largest |w| / 127), written out here."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                w = module.weight
                if dtype == torch.bfloat16:
                    w.copy_(w.bfloat16().float())
                else:
                    scale = w.abs().amax(dim=1, keepdim=True) / 127
                    w.copy_(torch.nan_to_num(torch.round(w / scale) * scale))  # a zero row (<pad>'s) stays zero
    return model


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.int8])
def test_low_precision_weights_compute_what_rounded_weights_compute_and_attention_stays_float32(tokenizer, dtype):
    fp32 = tiny_model(tokenizer.vocab_size)
    low = tiny_model(tokenizer.vocab_size).use_low_precision_weights(dtype)
    linears = [m for m in low.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(isinstance(m, LowPrecisionLinear) and m.weight.dtype == dtype for m in linears)
    assert not any(isinstance(m, LowPrecisionLinear) for m in fp32.modules())  # off by default
    reference = rounded_like(tiny_model(tokenizer.vocab_size), dtype)
    src = torch.tensor([tokenizer.encode(TEXT) + [fp32.cfg.eos_id]])
    tgt = torch.tensor([[fp32.cfg.decoder_start_id] + tokenizer.encode_target("Ein Hund läuft.")])
    with torch.inference_mode():
        got, want, full = low(src, tgt), reference(src, tgt), fp32(src, tgt)
        step = low.decode_step(tgt[:, 0], low.encode(src)[0], None, low.new_cache(), 0)  # one row: the mv path
        step_want = reference.decode_step(tgt[:, 0], reference.encode(src)[0], None, reference.new_cache(), 0)
    assert got.dtype == torch.float32
    # the modes also round each product's input to bfloat16 (relative error < 2^-8): the logits follow closely
    assert (got - want).abs().max() < 0.02 * want.abs().max()
    assert (step - step_want).abs().max() < 0.02 * step_want.abs().max()
    assert (got - full).abs().max() > 0  # and it is not the float32 model
    expected = translate(fp32, tokenizer, TEXT)
    trace = translate(low, tokenizer, TEXT, prefix=expected.out_ids).trace  # the same pieces, to compare attention
    for kind in ("encoder", "decoder", "cross"):
        assert trace.attention(kind).dtype == np.float32
        np.testing.assert_allclose(trace.attention(kind), expected.trace.attention(kind), atol=0.03)


def test_other_precisions_and_a_second_conversion_are_refused(tokenizer):
    with pytest.raises(ValueError, match="bfloat16 or int8"):
        tiny_model(tokenizer.vocab_size).use_low_precision_weights(torch.float16)
    with pytest.raises(ValueError, match="already stored in a lower precision"):
        tiny_model(tokenizer.vocab_size).use_low_precision_weights(torch.bfloat16).use_low_precision_weights(torch.int8)


def dequantised(linear):
    """The weight a low-precision linear stands for, written out: int8 values times their row's stored scale, or the
    bfloat16 values widened."""
    if linear.weight.dtype == torch.int8:
        return linear.weight.double() * linear.weight_scales.double()[:, None]
    return linear.weight.double()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.int8])
def test_weight_accessors_return_the_dequantised_weights_in_float32(tokenizer, dtype):
    low = tiny_model(tokenizer.vocab_size).use_low_precision_weights(dtype)
    # the reference: a float32 model holding the dequantised weights, read by the float32 accessors
    reference = tiny_model(tokenizer.vocab_size)
    with torch.no_grad():
        for ours, theirs in zip(low.modules(), reference.modules(), strict=True):
            if isinstance(ours, torch.nn.Linear):
                theirs.weight = torch.nn.Parameter(dequantised(ours).float())
    for kind in ("encoder", "decoder", "cross"):
        for layer in range(low.cfg.layers(kind)):
            got, want = low.attention_weights(kind, layer), reference.attention_weights(kind, layer)
            for field in ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"):
                assert getattr(got, field).dtype == torch.float32
                torch.testing.assert_close(getattr(got, field), getattr(want, field), rtol=0, atol=0)
    got, want = low.output_weights(), reference.output_weights()
    torch.testing.assert_close(got.W_U, want.W_U, rtol=0, atol=0)
    # and they are what PyTorch's own low-precision kernels multiply by (inputs exact in bfloat16)
    x = torch.randn(3, low.cfg.d_model).bfloat16().float()
    with torch.inference_mode():
        kernel = low.generator(x)
    by_hand = x @ got.W_U + (0 if got.b_U is None else got.b_U)
    assert (kernel - by_hand).abs().max() < 0.01 * by_hand.abs().max()
