"""The decoder-only language model (Qwen2/2.5, Qwen3, Llama 3.x, Gemma 3), written out.

One stack of blocks and no encoder: the prompt and the output are one sequence, and a piece attends to every piece
before it in one causal self-attention (Radford et al., 2018). What these models changed since the paper, each a few
lines below:

- RMSNorm before each sub-layer (Zhang & Sennrich, 2019): x / sqrt(mean(x^2) + eps) * w, no mean, no bias;
  Gemma multiplies by 1 + w, and also normalises each sub-layer's output before it is added ("sandwich" norms).
- Rotary position embedding, RoPE (Su et al., 2021): nothing is added to the embeddings; each query and key is
  rotated by an angle proportional to its position, pair (i, i + head_dim/2) by pos * theta^(-2i/head_dim), so
  q_m . k_n depends on the positions only through m - n. The paper's sinusoid frequencies, multiplied, not added.
- Grouped-query attention (Ainslie et al., 2023): n_kv_heads key/value heads, each shared by n_heads / n_kv_heads
  consecutive query heads (`DecoderOnlyConfig.kv_head`); the keys and values are stored and cached once per group.
- A gated feed-forward (Shazeer, 2020): W_down (act(x W_gate) * x W_up), act = SiLU (SwiGLU) or GELU (GeGLU).
- Qwen2's query/key/value biases, Qwen3's and Gemma 3's RMSNorm over each head's query and key (before the
  rotation), Gemma's embeddings times sqrt(d_model), Gemma 3's sliding-window layers (a query sees itself and the
  sliding_window - 1 pieces before it) with their own rotary base.

Every attention is computed explicitly (no fused kernel, no scaled_dot_product_attention), so each head's weights
are exactly what the model used, and every intermediate passes through a named `HookPoint`. The hook points are
named by `decoder_only_hook_name`, which spells the ones this model shares with the encoder-decoder's decoder
exactly as `model.core.hook_names.hook_name("decoder", layer, what)` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.core.decoder_only_config import DecoderOnlyConfig
from model.core.hook_names import HEAD_PIPELINE, hook_name
from model.core.hooks import HookPoint
from model.core.interface import AttentionWeights, OutputWeights

# Per layer: the attention's points (HEAD_PIPELINE, plus q and k before the rotation, and "out" after W_O) and the
# residual stream's; "tokens" is the embedding (times sqrt(d_model) for Gemma) entering the first layer.
ROTATION_POINTS = ("q_unrotated", "k_unrotated")  # [batch, heads (query or key/value), pos, head_dim]
ATTENTION_POINTS = (*HEAD_PIPELINE, *ROTATION_POINTS, "out")
STREAM_POINTS = ("resid_self", "resid_post", "ffn_out")  # after attention, after the layer, the FFN's output
EMBEDDING_POINTS = ("tokens",)
NORM_PLACES = ("attn", "attn_out", "ffn", "ffn_out")  # before attention, on its output, before the FFN, on its output


def decoder_only_hook_name(layer: int | str | None, what: str = "weights") -> str:
    """The name of one hook point of a `DecoderOnlyTransformer`; `layer` may be "*" to make a glob for `capture`.

    Shapes: q, q_unrotated, head_out [batch, n_heads, q_pos, head_dim]; k, v, k_unrotated [batch, n_kv_heads, k_pos,
    head_dim] (keys after the rotation, the whole cached sequence); scores, masked_scores, weights [batch, n_heads,
    q_pos, k_pos]; out, resid_self, resid_post, ffn_out, tokens [batch, pos, d_model]. During decoding, each
    `decode_step` call records one tensor: the prompt's (q_pos = the prompt) first, then one per new piece.
    """
    if what in ROTATION_POINTS:
        if layer is None:
            raise ValueError(f"{what!r} is recorded per layer: give a layer")
        return f"decoder.layers.{layer}.self_attn.hook_{what}"
    if what in ATTENTION_POINTS or what in STREAM_POINTS or what in EMBEDDING_POINTS:
        return hook_name("decoder", layer, what)
    known = ", ".join((*ATTENTION_POINTS, *STREAM_POINTS, *EMBEDDING_POINTS))
    raise ValueError(f"a decoder-only model has no hook point {what!r}; expected one of {known}")


def every_decoder_only_hook_name(cfg: DecoderOnlyConfig) -> list[str]:
    names = [decoder_only_hook_name(None, what) for what in EMBEDDING_POINTS]
    for layer in range(cfg.n_layers):
        names += [decoder_only_hook_name(layer, what) for what in (*ATTENTION_POINTS, *STREAM_POINTS)]
    return names


# --- the parts --------------------------------------------------------------------------------------------------


def rope_inverse_frequencies(cfg: DecoderOnlyConfig, layer_type: str = "full") -> Tensor:
    """theta_i = base^(-2i/head_dim), i < head_dim/2, in float32 as `transformers` computes them (so the angles are
    its own to the bit); "linear" divides every frequency by the factor, "llama3" only the slow ones, blending the
    band between (Llama 3.1). Sliding layers with their own base (Gemma 3) are never scaled."""
    dim = cfg.head_dim
    local = layer_type == "sliding" and cfg.rope_local_theta is not None
    base = cfg.rope_local_theta if local else cfg.rope_theta
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if local or cfg.rope_type == "default":
        return inv_freq
    if cfg.rope_type == "linear":
        return inv_freq / cfg.rope_factor
    factor, low, high, old = (
        cfg.rope_factor,
        cfg.rope_low_freq_factor,
        cfg.rope_high_freq_factor,
        cfg.rope_original_max_len,
    )
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)  # slow: divided; fast: kept
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled)


def rotation(inv_freq: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
    """(cos, sin) [pos, head_dim] of the angles pos * theta_i, each frequency twice (for dims i and i + head_dim/2)."""
    angles = positions.float()[:, None] * inv_freq[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotate_half(x: Tensor) -> Tensor:
    """(x1, x2) -> (-x2, x1) over the two halves of the last dimension."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rotation(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate each pair (x_i, x_{i+d/2}) of x [..., pos, head_dim] by its angle: x cos + rotate_half(x) sin."""
    return x * cos + rotate_half(x) * sin


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * (offset + w) over the last dimension, in float32 (offset 1: Gemma)."""

    def __init__(self, dim: int, eps: float, offset: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((dim,), 1.0 - offset))
        self.eps, self.offset = eps, offset

    def forward(self, x: Tensor) -> Tensor:
        x = x.float()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * (self.offset + self.weight.float())


@dataclass(frozen=True)
class RMSNormWeights:
    """An RMSNorm: x / sqrt(mean(x^2) + eps) * gain over the last dimension (gain = offset + the stored weight);
    call it to apply it."""

    gain: Tensor  # [dim]
    eps: float

    def __call__(self, x: Tensor) -> Tensor:
        x = x.float()
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.gain


@dataclass(frozen=True)
class GroupedAttentionWeights:
    """One layer's projections per head, in float32 (head h: q = x @ W_Q[h] + b_Q[h]; its keys and values come from
    key/value head kv_head[h]: k = x @ W_K[kv_head[h]] + b_K[...]; the output is sum over h of z_h @ W_O[h] + b_O).

    q_norm and k_norm (Qwen3, Gemma 3) are applied to each head's q and k before the rotation; then both are
    rotated by the angles `DecoderOnlyTransformer.rotary(layer, positions)` gives, and the scores are
    q . k * scale."""

    W_Q: Tensor  # [n_heads, d_model, head_dim]
    W_K: Tensor  # [n_kv_heads, d_model, head_dim]
    W_V: Tensor  # [n_kv_heads, d_model, head_dim]
    W_O: Tensor  # [n_heads, head_dim, d_model]
    b_Q: Tensor  # [n_heads, head_dim] (zeros where the model has none)
    b_K: Tensor  # [n_kv_heads, head_dim]
    b_V: Tensor  # [n_kv_heads, head_dim]
    b_O: Tensor  # [d_model]
    kv_head: tuple[int, ...]  # per query head: the key/value head it shares
    q_norm: RMSNormWeights | None
    k_norm: RMSNormWeights | None
    scale: float

    def per_query_head(self) -> AttentionWeights:
        """The interface's per-head view (model/core/interface.py): each query head with its group's key and value
        projections repeated, as if every head had its own (norms and rotation aside)."""
        index = torch.tensor(self.kv_head)
        return AttentionWeights(
            self.W_Q, self.W_K[index], self.W_V[index], self.W_O, self.b_Q, self.b_K[index], self.b_V[index], self.b_O
        )


class GroupedQueryAttention(nn.Module):
    """head_h = softmax(rot(q_h) rot(k_g)^T * scale + mask) v_g, g = the key/value head of h; then Concat W_O."""

    def __init__(self, cfg: DecoderOnlyConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.scale, self.softcap = cfg.scale, cfg.attn_softcap
        self.w_q = nn.Linear(cfg.d_model, cfg.n_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.w_k = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.w_v = nn.Linear(cfg.d_model, cfg.n_kv_heads * cfg.head_dim, bias=cfg.qkv_bias)
        self.w_o = nn.Linear(cfg.n_heads * cfg.head_dim, cfg.d_model, bias=cfg.o_bias)
        self.q_norm = RMSNorm(cfg.head_dim, cfg.rms_norm_eps, cfg.norm_offset) if cfg.qk_norm else None
        self.k_norm = RMSNorm(cfg.head_dim, cfg.rms_norm_eps, cfg.norm_offset) if cfg.qk_norm else None
        self.register_buffer("kv_index", torch.arange(cfg.n_heads) // cfg.group_size, persistent=False)
        self.hook_q_unrotated = HookPoint()  # [batch, n_heads, q_pos, head_dim]  after q_norm, before the rotation
        self.hook_k_unrotated = HookPoint()  # [batch, n_kv_heads, new k_pos, head_dim]  this call's keys
        self.hook_q = HookPoint()  # [batch, n_heads, q_pos, head_dim]  rotated
        self.hook_k = HookPoint()  # [batch, n_kv_heads, k_pos, head_dim]  rotated, cached ones included
        self.hook_v = HookPoint()  # [batch, n_kv_heads, k_pos, head_dim]
        self.hook_scores = HookPoint()  # [batch, n_heads, q_pos, k_pos]  q k^T * scale (softcapped, Gemma 2)
        self.hook_masked_scores = HookPoint()  # [batch, n_heads, q_pos, k_pos]  -inf where masked
        self.hook_weights = HookPoint()  # [batch, n_heads, q_pos, k_pos]  softmax
        self.hook_head_out = HookPoint()  # [batch, n_heads, q_pos, head_dim]  weights @ v; ablation zeroes here
        self.hook_out = HookPoint()  # [batch, q_pos, d_model]  the sub-layer's output, after W_O

    def _split(self, x: Tensor, heads: int) -> Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, heads, self.head_dim).transpose(1, 2)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, cache: dict | None = None) -> Tensor:
        """x [batch, q_pos, d_model] at the positions cos/sin [q_pos, head_dim] rotate by; mask [q_pos, k_pos] bool,
        True = may attend; `cache` {"k", "v"} grows by this call's keys and values."""
        q = self._split(self.w_q(x), self.n_heads)
        k, v = self._split(self.w_k(x), self.n_kv_heads), self._split(self.w_v(x), self.n_kv_heads)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = self.hook_q_unrotated(q), self.hook_k_unrotated(k)
        q, k = self.hook_q(apply_rotation(q, cos, sin)), apply_rotation(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        k, v = self.hook_k(k), self.hook_v(v)
        k_h, v_h = k.index_select(1, self.kv_index), v.index_select(1, self.kv_index)  # each query head's group
        scores = q @ k_h.transpose(-2, -1) * self.scale
        if self.softcap is not None:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        scores = self.hook_masked_scores(self.hook_scores(scores).masked_fill(~mask, float("-inf")))
        weights = self.hook_weights(torch.softmax(scores, dim=-1))
        heads = self.hook_head_out(weights @ v_h)
        batch, _, q_len, _ = heads.shape
        return self.hook_out(self.w_o(heads.transpose(1, 2).reshape(batch, q_len, self.n_heads * self.head_dim)))


GATES = {"silu": F.silu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh")}


class GatedFeedForward(nn.Module):
    """FFN(x) = (act(x W_gate) * x W_up) W_down: SwiGLU with SiLU, GeGLU with GELU (Shazeer, 2020)."""

    def __init__(self, cfg: DecoderOnlyConfig) -> None:
        super().__init__()
        self.w_gate = nn.Linear(cfg.d_model, cfg.d_ff, bias=cfg.mlp_bias)
        self.w_up = nn.Linear(cfg.d_model, cfg.d_ff, bias=cfg.mlp_bias)
        self.w_down = nn.Linear(cfg.d_ff, cfg.d_model, bias=cfg.mlp_bias)
        self.activation = GATES[cfg.activation]
        self.hook_out = HookPoint()  # [batch, pos, d_model]  the sub-layer's output, before it is added

    def forward(self, x: Tensor) -> Tensor:
        return self.hook_out(self.w_down(self.activation(self.w_gate(x)) * self.w_up(x)))


class DecoderOnlyLayer(nn.Module):
    """x + Attn(Norm(x)), then + FFN(Norm(.)); with sandwich norms (Gemma) each sub-layer's output is normalised too."""

    def __init__(self, cfg: DecoderOnlyConfig) -> None:
        super().__init__()
        self.self_attn = GroupedQueryAttention(cfg)
        self.ffn = GatedFeedForward(cfg)

        def norm() -> RMSNorm:
            return RMSNorm(cfg.d_model, cfg.rms_norm_eps, cfg.norm_offset)

        self.norm_attn, self.norm_ffn = norm(), norm()
        self.norm_attn_out = norm() if cfg.sandwich_norms else nn.Identity()
        self.norm_ffn_out = norm() if cfg.sandwich_norms else nn.Identity()
        self.hook_resid_self = HookPoint()  # [batch, pos, d_model]  after the attention sub-layer
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]  the layer's output

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, cache: dict | None = None) -> Tensor:
        x = self.hook_resid_self(x + self.norm_attn_out(self.self_attn(self.norm_attn(x), cos, sin, mask, cache)))
        return self.hook_resid_post(x + self.norm_ffn_out(self.ffn(self.norm_ffn(x))))


class TokenEmbedding(nn.Module):
    """The token embedding, times sqrt(d_model) for Gemma; no position is added (the rotation carries it)."""

    def __init__(self, cfg: DecoderOnlyConfig) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.scale = math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0
        self.hook_tokens = HookPoint()  # [batch, pos, d_model]  what enters the first layer

    def forward(self, ids: Tensor) -> Tensor:
        return self.hook_tokens(self.token_embedding(ids) * self.scale)


class DecoderStack(nn.Module):
    def __init__(self, cfg: DecoderOnlyConfig) -> None:
        super().__init__()
        self.embed = TokenEmbedding(cfg)
        self.layers = nn.ModuleList(DecoderOnlyLayer(cfg) for _ in range(cfg.n_layers))
        self.final_norm = RMSNorm(cfg.d_model, cfg.rms_norm_eps, cfg.norm_offset)


def causal_mask(positions: Tensor, keys: int, window: int | None) -> Tensor:
    """[q_pos, k_pos] bool: query at position p may see key j <= p, and with a window only j > p - window."""
    key_positions = torch.arange(keys, device=positions.device)
    allowed = key_positions[None, :] <= positions[:, None]
    if window is not None:
        allowed &= key_positions[None, :] > positions[:, None] - window
    return allowed


class DecoderOnlyTransformer(nn.Module):
    """A decoder-only language model over one sequence (prompt, then output), with a key/value cache per layer."""

    def __init__(self, cfg: DecoderOnlyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.decoder = DecoderStack(cfg)
        self.generator = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        for layer_type in ("full", "sliding"):
            self.register_buffer(f"inv_freq_{layer_type}", rope_inverse_frequencies(cfg, layer_type), persistent=False)
        if cfg.tie_embeddings:
            self.generator.weight = self.decoder.embed.token_embedding.weight

    def rotary_frequencies(self, layer: int) -> Tensor:
        """theta_i [head_dim/2] of a layer's rotation (sliding layers may have their own base)."""
        return getattr(self, f"inv_freq_{self.cfg.layer_type(layer)}")

    def rotary(self, layer: int, positions: Tensor) -> tuple[Tensor, Tensor]:
        """(cos, sin) [pos, head_dim] that rotate a layer's queries and keys at `positions`."""
        return rotation(self.rotary_frequencies(layer), positions)

    def _run(self, ids: Tensor, cache: list[dict] | None) -> Tensor:
        """The final norm's output [batch, t, d_model] for ids [batch, t] at the positions after the cache's."""
        start = cache[0]["k"].shape[2] if cache is not None and "k" in cache[0] else 0
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.decoder.embed(ids)
        angles = {t: rotation(getattr(self, f"inv_freq_{t}"), positions) for t in ("full", "sliding")}
        masks: dict[int | None, Tensor] = {}
        for i, layer in enumerate(self.decoder.layers):
            window = self.cfg.window(i)
            if window not in masks:
                masks[window] = causal_mask(positions, start + ids.shape[1], window)
            cos, sin = angles[self.cfg.layer_type(i)]
            x = layer(x, cos, sin, masks[window], cache[i] if cache is not None else None)
        return self.decoder.final_norm(x)

    def _logits(self, x: Tensor) -> Tensor:
        logits = self.generator(x).float()
        if self.cfg.final_softcap is not None:
            logits = torch.tanh(logits / self.cfg.final_softcap) * self.cfg.final_softcap
        return logits

    def forward(self, ids: Tensor) -> Tensor:
        """Logits [batch, T, vocab] of the next piece after each position of ids [batch, T] (positions 0..T-1)."""
        return self._logits(self._run(ids, None))

    def attend(self, ids: Tensor, cache: list[dict] | None = None) -> Tensor:
        """The final norm's output [batch, t, d_model] for ids [batch, t] continuing the cache (or from position 0):
        every hook point records as in `decode_step`, and no logits are computed."""
        return self._run(ids, cache)

    def new_cache(self) -> list[dict]:
        """An empty key/value cache: per layer {"k", "v"} [rows, n_kv_heads, pos, head_dim] once filled."""
        return [{} for _ in range(self.cfg.n_layers)]

    def decode_step(self, ids: Tensor, cache: list[dict]) -> Tensor:
        """Log-probabilities [batch, vocab] of the piece after ids [batch, t], which continue the cached sequence:
        the whole prompt on the first call, then one new piece per call."""
        return torch.log_softmax(self._logits(self._run(ids, cache)[:, -1]), dim=-1)

    @staticmethod
    def reorder_cache(cache: list[dict], order: Tensor) -> None:
        """Keep the cache rows `order` (beam search), in that order; repeated rows copy one (a prompt into beams)."""
        for layer in cache:
            for key in layer:
                layer[key] = layer[key].index_select(0, order)

    # Reading the model: hook points and weights (views of float32 parameters; do not write through them).

    def named_hook_points(self) -> dict[str, HookPoint]:
        """Every hook point under the name `decoder_only_hook_name` gives it: its module path."""
        return {name: module for name, module in self.named_modules() if isinstance(module, HookPoint)}

    def attention_weights(self, layer: int) -> GroupedAttentionWeights:
        attn, cfg = self.decoder.layers[layer].self_attn, self.cfg
        d, hd = cfg.d_model, cfg.head_dim

        def into_heads(linear: nn.Linear, heads: int) -> tuple[Tensor, Tensor]:  # y = x W^T + b, W [heads*hd, d]
            bias = linear.bias.float().view(heads, hd) if linear.bias is not None else torch.zeros(heads, hd)
            return linear.weight.float().view(heads, hd, d).transpose(1, 2), bias

        (w_q, b_q), (w_k, b_k), (w_v, b_v) = (
            into_heads(attn.w_q, cfg.n_heads),
            into_heads(attn.w_k, cfg.n_kv_heads),
            into_heads(attn.w_v, cfg.n_kv_heads),
        )
        w_o = attn.w_o.weight.float().view(d, cfg.n_heads, hd).permute(1, 2, 0)
        b_o = attn.w_o.bias.float() if attn.w_o.bias is not None else torch.zeros(d)
        q_norm, k_norm = (self._norm_weights(n) if n is not None else None for n in (attn.q_norm, attn.k_norm))
        kv_head = tuple(cfg.kv_head(h) for h in range(cfg.n_heads))
        return GroupedAttentionWeights(w_q, w_k, w_v, w_o, b_q, b_k, b_v, b_o, kv_head, q_norm, k_norm, cfg.scale)

    @staticmethod
    def _norm_weights(norm: RMSNorm) -> RMSNormWeights:
        return RMSNormWeights(norm.offset + norm.weight.float(), norm.eps)

    def rms_norm(self, layer: int | None, place: str) -> RMSNormWeights | None:
        """A layer's RMSNorm at `place` (NORM_PLACES: "attn" before attention, "attn_out" on its output, "ffn",
        "ffn_out"), or with layer None the "final" one; None where this model has none (the *_out ones but Gemma's)."""
        if layer is None:
            if place != "final":
                raise ValueError(f"the stack's only norm outside a layer is 'final', not {place!r}")
            return self._norm_weights(self.decoder.final_norm)
        if place not in NORM_PLACES:
            raise ValueError(f"a layer's norms are {', '.join(NORM_PLACES)}, not {place!r}")
        norm = getattr(self.decoder.layers[layer], f"norm_{place}")
        return self._norm_weights(norm) if isinstance(norm, RMSNorm) else None

    def output_weights(self) -> OutputWeights:
        return OutputWeights(self.generator.weight.float().t(), None)

    def unembed(self, stream: Tensor) -> Tensor:
        """Logits [..., vocab] of a residual stream [..., d_model] (final norm, then the output layer), as the
        forward pass computes them (the logit lens)."""
        return self._logits(self.decoder.final_norm(stream))

    @torch.no_grad()
    def embedding_norms(self, ids: list[int]) -> list[float]:
        """|token embedding x scale| of each id."""
        embed = self.decoder.embed
        weight = embed.token_embedding.weight
        return (embed.token_embedding(torch.tensor(ids, device=weight.device)) * embed.scale).norm(dim=-1).tolist()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
