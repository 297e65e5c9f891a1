"""How the Transformer's linear weights may be stored and multiplied at inference, kept apart from the paper's model.

model/core/transformer.py writes every product as the paper does, x W^T + b with float32 weights. The ways inference
stores or groups those weights instead live here; none changes a state dict or a checkpoint:

- `fused_qkv`: self-attention at inference takes Q, K and V from one product with the stacked [W_Q; W_K; W_V] (one
  pass over the input instead of three). `MultiHeadAttention.project_qkv` is the one place the model calls it.
- `use_column_major_weights`: each weight kept transposed in memory, the layout a decode step's one-row product reads
  fastest. The checkpoint loader ships models this way; the values are unchanged.
- `use_low_precision_weights` (opt-in, CPU inference only): weights stored in bfloat16 or int8. Each nn.Linear becomes
  a `LowPrecisionLinear`, whose `project` multiplies in PyTorch's low-precision kernels; `float32_weight` gives the
  interface's accessors the weights back in float32.

What each buys, measured: docs/benchmarks.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def project(x: Tensor, weight: Tensor, bias: Tensor | None, scales: Tensor | None = None) -> Tensor:
    """x W^T + b. Weights stored in a lower precision multiply with bfloat16 inputs in their own kernels and the result
    comes back in x's dtype (float32), so attention is still computed and recorded in float32; `scales`: int8 weights'
    one scale per output row."""
    if weight.dtype == x.dtype:
        return F.linear(x, weight, bias)
    rows = x.reshape(-1, x.shape[-1]).to(torch.bfloat16)
    if weight.dtype == torch.int8:
        # PyTorch's weight-only int8 kernel (gpt-fast's)
        y = torch._weight_int8pack_mm(rows, weight, scales)
    elif rows.shape[0] == 1:
        # a decode step's one row: the matrix-vector kernel reads bfloat16 faster than F.linear does
        y = torch.mv(weight, rows[0])[None]
    else:
        y = F.linear(rows, weight)
    y = y.to(x.dtype).reshape(*x.shape[:-1], weight.shape[0])
    return y if bias is None else y + bias


class LowPrecisionLinear(nn.Linear):
    """An nn.Linear whose weight is stored in bfloat16 or int8 (with `weight_scales`) while its input, bias and output
    stay float32."""

    def forward(self, x: Tensor) -> Tensor:
        return project(x, self.weight, self.bias, getattr(self, "weight_scales", None))


def float32_weight(linear: nn.Linear) -> Tensor:
    """A linear's weight as float32 in every storage mode: int8 values times their row's scale, bfloat16 widened."""
    scales = getattr(linear, "weight_scales", None)
    weight = linear.weight.float()
    return weight if scales is None else weight * scales.float()[:, None]


def fused_qkv(attention: nn.Module, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """x W_Q^T + b_Q, x W_K^T + b_K, x W_V^T + b_V [batch, pos, d_model], from one product with the stacked weights."""
    weight, bias, *scales = stacked_qkv(attention)
    q, k, v = project(x, weight, bias, *scales).chunk(3, dim=-1)
    return q, k, v


def stacked_qkv(attention: nn.Module) -> tuple[Tensor, ...]:
    """[W_Q; W_K; W_V] and their biases (and int8 weights' scales), kept on the module and rebuilt whenever any of the
    three weights or biases is replaced or changed in place."""
    linears = (attention.w_q, attention.w_k, attention.w_v)
    params = [p for linear in linears for p in (linear.weight, linear.bias)]
    key = tuple((p.data_ptr(), p._version) for p in params)
    kept = getattr(attention, "_stacked_qkv", None)
    if kept is not None and kept[0] == key:
        return kept[1]
    # a normal tensor, usable outside inference mode too
    with torch.inference_mode(False):
        weight = torch.cat([p.detach() for p in params[0::2]])
        bias = torch.cat([p.detach() for p in params[1::2]])
        if params[0].stride(0) == 1:
            # keep the column-major layout of use_column_major_weights
            weight = weight.t().contiguous().t()
        stacked = (weight, bias)
        if hasattr(attention.w_q, "weight_scales"):
            stacked += (torch.cat([linear.weight_scales for linear in linears]),)
    # one assignment, so a thread reading it meanwhile sees the old pair or the new one, never half of each
    attention._stacked_qkv = (key, stacked)
    return stacked


@torch.no_grad()
def use_column_major_weights(model: nn.Module) -> nn.Module:
    """Store each linear weight of `model` transposed in memory (same values and shape) for faster decoding.

    F.linear computes x @ W^T; with W column-major, W^T is contiguous, and the CPU's one-row product (a decode step)
    reads it faster (docs/benchmarks.md, "What was optimised"). State dicts and checkpoints are unchanged.
    """
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.weight.data = module.weight.data.t().contiguous().t()
    return model


@torch.no_grad()
def use_low_precision_weights(model: nn.Module, dtype: torch.dtype = torch.bfloat16) -> nn.Module:
    """Store every linear weight of `model` in bfloat16 (halving the bytes a decode step reads; the tied embedding too)
    or int8 (a quarter; one scale per output row, the float32 embedding kept for the input side). For inference on
    the CPU only. Biases, activations, attention and layer norms stay float32, but attention then differs from
    float32's: bench/run.py's nllb_*_attention_max_diff rows say by how much."""
    if dtype not in (torch.bfloat16, torch.int8):
        raise ValueError(f"low-precision weights are bfloat16 or int8, not {dtype}")
    if any(isinstance(module, LowPrecisionLinear) for module in model.modules()):
        raise ValueError("the weights are already stored in a lower precision; start from a float32 model")
    for module in model.modules():
        if isinstance(module, nn.Linear):
            weight = module.weight.detach().float()
            if dtype == torch.int8:
                scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127
                quantised = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
                # a new Parameter: unties a tied output layer
                module.weight = nn.Parameter(quantised, requires_grad=False)
                module.register_buffer("weight_scales", scales.to(torch.bfloat16))
            else:
                # row-major: torch.mv's fast layout
                module.weight.data = weight.to(dtype).contiguous()
            module.__class__ = LowPrecisionLinear
    return model
