"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al., 2017), written out.

Every attention is computed explicitly (no nn.MultiheadAttention, no fused kernels) so that each
head's weights are exactly what the model used, and every intermediate passes through a named
`HookPoint` that `model.core.hooks.capture` can record or edit per call.

Read top down: positional encoding (§3.5), multi-head attention (§3.2), the feed-forward network (§3.3), the residual
connections, the encoder and decoder layers (§3.1), the embeddings (§3.4), the two stacks, then the whole model. How the
weights may be stored for faster inference (one stacked Q/K/V product, column-major or bfloat16/int8 weights) is in
model/core/weight_modes.py; the model reaches it in `MultiHeadAttention.project_qkv` and its own weight-mode switches.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from model.core import weight_modes
from model.core.config import ACTIVATIONS, TransformerConfig
from model.core.hooks import HookPoint
from model.core.interface import AttentionWeights, LayerNormWeights, OutputWeights


def sinusoidal_positional_encoding(n_positions: int, d_model: int, layout: str = "interleaved") -> Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(...) (paper §3.5).

    layout "halves" puts the same values as sin(pos * w_0..w_{d/2-1}) | cos(pos * w_0..), the order
    Marian and fairseq use; frequency i then sits in dims i and i + d_model/2.
    """
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
    if layout == "halves":
        half = (d_model + 1) // 2
        pe[:, :half] = torch.sin(position * inv_freq)
        pe[:, half:] = torch.cos(position * inv_freq[: d_model // 2])
    else:
        pe[:, 0::2] = torch.sin(position * inv_freq)
        pe[:, 1::2] = torch.cos(position * inv_freq[: d_model // 2])
    return pe.float()


def fairseq_positional_encoding(n_positions: int, d_model: int, padding_row: int | None = None) -> Tensor:
    """M2M-100/NLLB's table (fairseq, tensor2tensor): sin(pos w_i) | cos(pos w_i), w_i = exp(-i ln(10000) / (h - 1)),
    h = d_model // 2, so the slowest frequency is exactly 1/10000 (the paper's is 10000^(-(d-2)/d)).

    Row pos is position number pos; the padding row is zero. Computed in float32, step by step as fairseq and
    `transformers` do, so the values are theirs to the bit.
    """
    half = d_model // 2
    step = math.log(10000) / (half - 1)
    inv_freq = torch.exp(torch.arange(half, dtype=torch.int64).float() * -step)
    angles = torch.arange(n_positions, dtype=torch.int64).float()[:, None] * inv_freq[None, :]
    pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if d_model % 2:
        pe = torch.cat([pe, torch.zeros(n_positions, 1)], dim=1)
    if padding_row is not None and 0 <= padding_row < n_positions:
        pe[padding_row] = 0
    return pe


def position_table(cfg: TransformerConfig) -> Tensor:
    """The sinusoidal table [position_offset + max_len, d_model] by the config's formula; row p is position number p."""
    rows = cfg.position_offset + cfg.max_len
    if cfg.pe_formula == "fairseq":
        return fairseq_positional_encoding(rows, cfg.d_model, cfg.pad_id)
    return sinusoidal_positional_encoding(rows, cfg.d_model, cfg.pe_layout)


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1..head_h) W^O, head_i = softmax(Q_i K_i^T / sqrt(d_k)) V_i (§3.2.1, §3.2.2).

    Every intermediate passes through a hook point, so capture can record it and an edit can change it.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads, self.d_k = n_heads, d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.hook_q = HookPoint()  # [batch, head, q_pos, d_k]
        self.hook_k = HookPoint()  # [batch, head, k_pos, d_k]
        self.hook_v = HookPoint()  # [batch, head, k_pos, d_k]
        self.hook_scores = HookPoint()  # [batch, head, q_pos, k_pos]  Q K^T / sqrt(d_k)
        self.hook_masked_scores = HookPoint()  # [batch, head, q_pos, k_pos]  -inf where masked
        self.hook_weights = HookPoint()  # [batch, head, q_pos, k_pos]  softmax, before dropout
        self.hook_head_out = HookPoint()  # [batch, head, q_pos, d_k]  weights @ V; ablation zeroes here
        self.hook_out = HookPoint()  # [batch, q_pos, d_model]  the sub-layer's output, after W_O

    def forward(
        self,
        query: Tensor,
        key_value: Tensor | None,
        mask: Tensor | None = None,
        cache: dict | None = None,
        append_to_cache: bool = False,
    ) -> Tensor:
        """Each position of `query` [batch, q_pos, d_model] attends over `key_value` [batch, k_pos, d_model]: the same
        tensor in self-attention, the encoder's output in encoder-decoder attention (§3.2.3).

        mask: bool, broadcastable to [batch, head, q_pos, k_pos]; True where the query may attend.
        cache: this attention's keys and values across decode steps (`cached_keys_values`); key_value None reads them.
        """
        # 1. Linear projections: Q = query W^Q, K = key_value W^K, V = key_value W^V
        q, k, v = self.project_qkv(query, key_value)  # [batch, pos, d_model]
        # 2. Split d_model into n_heads heads of d_k
        q = self.hook_q(self.split_heads(q))  # [batch, head, q_pos, d_k]
        if key_value is not None:
            k, v = self.split_heads(k), self.split_heads(v)  # [batch, head, k_pos, d_k]
        if cache is not None:
            k, v = self.cached_keys_values(cache, k, v, append_to_cache)
        k, v = self.hook_k(k), self.hook_v(v)  # [batch, head, k_pos, d_k]
        # 3. Scaled dot products: how well each query matches each key
        scores = self.hook_scores(q @ k.transpose(-2, -1) / math.sqrt(self.d_k))  # [batch, head, q_pos, k_pos]
        # 4. Mask: -inf where the query may not attend (padding; in the decoder, later positions)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        scores = self.hook_masked_scores(scores)  # [batch, head, q_pos, k_pos]
        # 5. Softmax over the keys: each query's weights sum to 1
        weights = self.hook_weights(torch.softmax(scores, dim=-1))  # [batch, head, q_pos, k_pos]
        # 6. Each head's output: its weights times the values
        heads = self.hook_head_out(self.dropout(weights) @ v)  # [batch, head, q_pos, d_k]
        # 7. Concat the heads
        concat = heads.transpose(1, 2).flatten(2)  # [batch, q_pos, head * d_k = d_model]
        # 8. Output projection W^O
        return self.hook_out(self.w_o(concat))  # [batch, q_pos, d_model]

    def project_qkv(self, query: Tensor, key_value: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """query W^Q, key_value W^K, key_value W^V (biases added); K and V are None when key_value is.

        Self-attention at inference takes the three from one product with the stacked weights instead: the same
        values to float rounding, one pass over the input (model/core/weight_modes.py).
        """
        if key_value is query and not (self.training or torch.is_grad_enabled()):
            return weight_modes.fused_qkv(self, query)
        if key_value is None:
            return self.w_q(query), None, None
        return self.w_q(query), self.w_k(key_value), self.w_v(key_value)

    def split_heads(self, x: Tensor) -> Tensor:
        """[batch, pos, d_model] -> [batch, head, pos, d_k]."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, self.d_k).transpose(1, 2)

    @staticmethod
    def cached_keys_values(cache: dict, k: Tensor | None, v: Tensor | None, append: bool) -> tuple[Tensor, Tensor]:
        """Incremental decoding: `cache` {"k", "v"} keeps the keys and values [batch, head, k_pos, d_k] of the steps
        before, so each step projects only its new position.

        Encoder-decoder attention stores the memory's on the first step and reads them back afterwards (k, v None);
        masked self-attention appends each step's one position (`append`).
        """
        if k is None:
            return cache["k"], cache["v"]
        if append and "k" in cache:
            k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
        cache["k"], cache["v"] = k, v
        return k, v


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2 (§3.3); max(0, ·) may be another activation (Marian: swish)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: str = "relu") -> None:
        super().__init__()
        self.w_1, self.w_2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.activation = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(dropout)
        self.hook_out = HookPoint()  # [batch, pos, d_model]  the sub-layer's output, before it is added

    def forward(self, x: Tensor) -> Tensor:
        return self.hook_out(self.w_2(self.dropout(self.activation(self.w_1(x)))))


class SublayerConnection(nn.Module):
    """The residual connection around each sub-layer: LayerNorm(x + Dropout(Sublayer(x))) as in the paper (§3.1,
    §5.4); with norm_first (pre-norm), x + Dropout(Sublayer(LayerNorm(x)))."""

    def __init__(self, d_model: int, dropout: float, norm_first: bool, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm, self.dropout, self.norm_first = nn.LayerNorm(d_model, eps=eps), nn.Dropout(dropout), norm_first

    def forward(self, x: Tensor, sublayer) -> Tensor:
        if self.norm_first:
            return x + self.dropout(sublayer(self.norm(x)))
        return self.norm(x + self.dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each wrapped in a residual connection and LayerNorm (§3.1)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.attention_p)
        self.ffn = PositionwiseFeedForward(cfg.d_model, cfg.d_ff, cfg.activation_p, cfg.activation)
        self.sublayer_attn = SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.sublayer_ffn = SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.hook_resid_mid = HookPoint()  # [batch, pos, d_model]  after the attention sub-layer
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]  layer output

    def forward(self, x: Tensor, src_mask: Tensor) -> Tensor:
        x = self.hook_resid_mid(self.sublayer_attn(x, lambda y: self.self_attn(y, y, src_mask)))
        return self.hook_resid_post(self.sublayer_ffn(x, self.ffn))


class DecoderLayer(nn.Module):
    """Masked self-attention, encoder-decoder attention, feed-forward, each with residual + LayerNorm (§3.1)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.attention_p)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.attention_p)
        self.ffn = PositionwiseFeedForward(cfg.d_model, cfg.d_ff, cfg.activation_p, cfg.activation)
        self.sublayer_self = SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.sublayer_cross = SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.sublayer_ffn = SublayerConnection(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.hook_resid_self = HookPoint()  # [batch, pos, d_model]  after masked self-attention
        self.hook_resid_cross = HookPoint()  # [batch, pos, d_model]  after encoder-decoder attention
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]  layer output

    def forward(
        self,
        y: Tensor,
        memory: Tensor | None,
        src_mask: Tensor | None,
        tgt_mask: Tensor | None,
        cache: dict | None = None,
    ) -> Tensor:
        self_cache = cache["self"] if cache is not None else None
        cross_cache = cache["cross"] if cache is not None else None
        y = self.sublayer_self(y, lambda z: self.self_attn(z, z, tgt_mask, self_cache, append_to_cache=True))
        y = self.hook_resid_self(y)
        y = self.sublayer_cross(y, lambda z: self.cross_attn(z, memory, src_mask, cross_cache))
        y = self.hook_resid_cross(y)
        return self.hook_resid_post(self.sublayer_ffn(y, self.ffn))


class Embedding(nn.Module):
    """Token embedding scaled by sqrt(d_model), plus the sinusoidal positional encoding (§3.4, §3.5).

    `pe` holds one row per position number: a fixed table (a buffer, shared by both stacks) or, with learned
    positions, a parameter of this stack. The first piece takes row `first_position` (M2M-100: pad_id + 1, mBART: 2).
    With `norm` (mBART's layernorm_embedding) the sum is layer-normalised before it enters the first layer.
    """

    def __init__(
        self,
        token_embedding: nn.Embedding,
        pe: Tensor,
        dropout: float,
        scale: bool = True,
        learned: bool = False,
        first_position: int = 0,
        norm: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.token_embedding = token_embedding
        if learned:
            self.pe = nn.Parameter(pe)
        else:
            self.register_buffer("pe", pe, persistent=False)
        self.first_position = first_position
        self.scale = math.sqrt(token_embedding.embedding_dim) if scale else 1.0
        self.norm = norm if norm is not None else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.hook_tokens = HookPoint()  # [batch, pos, d_model]  token embedding * scale
        self.hook_pos = HookPoint()  # [pos, d_model]  the positional encoding added
        self.hook_sum = HookPoint()  # [batch, pos, d_model]  what enters the first layer (after the norm, if any)

    @property
    def positions(self) -> Tensor:
        """[max_len, d_model]: the rows added at positions 0, 1, ... of a sequence."""
        return self.pe.detach()[self.first_position :]

    def forward(self, ids: Tensor, offset: int = 0) -> Tensor:
        start, max_len = self.first_position + offset, self.pe.shape[0] - self.first_position
        if offset + ids.shape[1] > max_len:
            raise ValueError(f"sequence of {offset + ids.shape[1]} positions exceeds max_len={max_len}")
        tokens = self.hook_tokens(self.token_embedding(ids) * self.scale)
        pos = self.hook_pos(self.pe[start : start + ids.shape[1]])
        return self.dropout(self.hook_sum(self.norm(tokens + pos)))


class Encoder(nn.Module):
    """The embedded source through N encoder layers (§3.1); pre-norm models end with one more LayerNorm."""

    def __init__(self, cfg: TransformerConfig, embed: Embedding) -> None:
        super().__init__()
        self.embed = embed
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_encoder_layers))
        self.final_norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.has_final_norm else nn.Identity()

    def forward(self, src: Tensor, src_mask: Tensor) -> Tensor:
        x = self.embed(src)
        for layer in self.layers:
            x = layer(x, src_mask)
        return self.final_norm(x)


class Decoder(nn.Module):
    """The embedded target through N decoder layers, each also attending over the encoder's output (§3.1)."""

    def __init__(self, cfg: TransformerConfig, embed: Embedding) -> None:
        super().__init__()
        self.embed = embed
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_decoder_layers))
        self.final_norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.has_final_norm else nn.Identity()

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        src_mask: Tensor | None,
        tgt_mask: Tensor | None,
        caches=None,
        offset: int = 0,
    ) -> Tensor:
        y = self.embed(tgt, offset)
        for i, layer in enumerate(self.layers):
            y = layer(y, memory, src_mask, tgt_mask, caches[i] if caches is not None else None)
        return self.final_norm(y)


class Transformer(nn.Module):
    """The encoder-decoder Transformer (§3, Figure 1) over one vocabulary: source and target ids index the same
    table. `generator` is the output layer, the learned linear transformation before the softmax (§3.4)."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        learned = cfg.position_kind == "learned"
        pe = None if learned else position_table(cfg)
        src_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        tgt_tokens = (
            src_tokens if cfg.share_embeddings else nn.Embedding(cfg.vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        )

        def embedding(tokens: nn.Embedding) -> Embedding:
            table = torch.zeros(cfg.position_offset + cfg.max_len, cfg.d_model) if learned else pe
            norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.embedding_norm else None
            return Embedding(tokens, table, cfg.dropout, cfg.scale_embedding, learned, cfg.position_offset, norm)

        self.encoder = Encoder(cfg, embedding(src_tokens))
        self.decoder = Decoder(cfg, embedding(tgt_tokens))
        self.generator = nn.Linear(cfg.d_model, cfg.vocab_size, bias=cfg.output_bias)
        self._init_weights()
        if cfg.tie_embeddings:
            self.generator.weight = tgt_tokens.weight

    def _init_weights(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        with torch.no_grad():
            # Embeddings are multiplied by sqrt(d_model): keep them at unit scale after that.
            # dict, not set: a fixed order keeps the initialisation reproducible from the seed
            for emb in dict.fromkeys([self.encoder.embed.token_embedding, self.decoder.embed.token_embedding]):
                nn.init.normal_(emb.weight, std=self.cfg.d_model**-0.5)
                emb.weight[self.cfg.pad_id].zero_()

    def src_mask(self, src: Tensor) -> Tensor:
        """True where a key is a real piece, not padding."""
        return (src != self.cfg.pad_id)[:, None, None, :]  # [batch, 1, 1, k_pos]

    def tgt_mask(self, tgt: Tensor) -> Tensor:
        """True where a key is neither padding nor after the query: position i sees positions <= i only (§3.2.3)."""
        length = tgt.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=tgt.device).tril()
        not_pad = tgt != self.cfg.pad_id
        not_pad[:, 0] = True  # position 0 holds the start symbol, which may be <pad> itself (Marian)
        return not_pad[:, None, None, :] & causal  # [batch, 1, q_pos, k_pos]

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        src_mask = self.src_mask(src)
        return self.encoder(src, src_mask), src_mask

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits [batch, tgt_pos, vocab] for decoder inputs `tgt_in` (start symbol first)."""
        memory, src_mask = self.encode(src)
        return self.generator(self.decoder(tgt_in, memory, src_mask, self.tgt_mask(tgt_in)))

    def new_cache(self) -> list[dict]:
        return [{"self": {}, "cross": {}} for _ in range(self.cfg.n_decoder_layers)]

    def decode_step(
        self, last_token: Tensor, memory: Tensor | None, src_mask: Tensor | None, cache: list[dict], step: int
    ) -> Tensor:
        """Log-probabilities [batch, vocab] for the next token, reusing cached keys and values.

        Pass `memory` on the first step (it fills the cross-attention cache) and None afterwards.
        """
        y = self.decoder(last_token[:, None], memory, src_mask, None, cache, offset=step)
        return torch.log_softmax(self.generator(y[:, -1]).float(), dim=-1)

    @staticmethod
    def reorder_cache(cache: list[dict], order: Tensor) -> None:
        """Keep the cache rows of the surviving beams, in `order`."""
        for layer in cache:
            for part in layer.values():
                for key in part:
                    part[key] = part[key].index_select(0, order)

    # Weight modes for inference (model/core/weight_modes.py): the same model, its weights stored otherwise.

    def use_column_major_weights(self) -> Transformer:
        """Each linear weight stored transposed in memory, for faster decoding; values and checkpoints unchanged."""
        return weight_modes.use_column_major_weights(self)

    def use_low_precision_weights(self, dtype: torch.dtype = torch.bfloat16) -> Transformer:
        """Opt-in, CPU inference only: every linear weight stored in bfloat16 or int8; attention stays float32."""
        return weight_modes.use_low_precision_weights(self, dtype)

    # The interface's views of the parts (model/core/interface.py): what code outside model/core may read.

    @property
    def positional_encoding(self) -> Tensor:
        return self.encoder.embed.positions  # [max_len, d_model], the encoder's rows from its first position

    @torch.no_grad()
    def embedding_norms(self, ids: list[int]) -> list[float]:
        """|token embedding x sqrt(d_model)| of each source position, to set beside |PE|."""
        embed = self.encoder.embed
        vectors = embed.token_embedding(torch.tensor(ids, device=embed.pe.device)) * embed.scale
        return vectors.norm(dim=-1).tolist()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def named_hook_points(self) -> dict[str, HookPoint]:
        """Every hook point under the name `hook_name` gives it: here its module path, which the names follow."""
        return {name: module for name, module in self.named_modules() if isinstance(module, HookPoint)}

    def _attention(self, kind: str, layer: int) -> MultiHeadAttention:
        block = (self.encoder if kind == "encoder" else self.decoder).layers[layer]
        return block.cross_attn if kind == "cross" else block.self_attn

    def attention_weights(self, kind: str, layer: int) -> AttentionWeights:
        """One attention's projections per head in float32 (views of float32 parameters; low-precision weights
        dequantised)."""
        attn, (heads, d_k, d_model) = self._attention(kind, layer), (self.cfg.n_heads, self.cfg.d_k, self.cfg.d_model)

        def into_heads(linear: nn.Linear) -> tuple[Tensor, Tensor]:  # y = x W^T + b, W [heads * d_k, d_model]
            weight = weight_modes.float32_weight(linear).view(heads, d_k, d_model).transpose(1, 2)
            return weight, linear.bias.float().view(heads, d_k)

        (w_q, b_q), (w_k, b_k), (w_v, b_v) = (into_heads(x) for x in (attn.w_q, attn.w_k, attn.w_v))
        w_o = weight_modes.float32_weight(attn.w_o).view(d_model, heads, d_k).permute(1, 2, 0)  # [head, d_k, d_model]
        return AttentionWeights(w_q, w_k, w_v, w_o, b_q, b_k, b_v, attn.w_o.bias.float())

    def layer_norm(self, stack: str, layer: int | None, sublayer: str) -> LayerNormWeights | None:
        """The LayerNorm of a sub-layer ("self_attn", "cross_attn", "ffn"), or with layer None of the stack's
        "embed" or "final" position; None where this model has none."""
        part = self.encoder if stack == "encoder" else self.decoder
        if layer is None:
            norm = {"embed": part.embed.norm, "final": part.final_norm}[sublayer]
        else:
            block = part.layers[layer]
            if stack == "encoder":
                connections = {"self_attn": block.sublayer_attn, "ffn": block.sublayer_ffn}
            else:
                connections = {"self_attn": block.sublayer_self, "cross_attn": block.sublayer_cross}
                connections["ffn"] = block.sublayer_ffn
            norm = connections[sublayer].norm
        if not isinstance(norm, nn.LayerNorm):
            return None
        return LayerNormWeights(norm.weight.float(), norm.bias.float(), norm.eps)

    def output_weights(self) -> OutputWeights:
        bias = self.generator.bias
        return OutputWeights(weight_modes.float32_weight(self.generator).t(), None if bias is None else bias.float())

    def unembed(self, stream: Tensor) -> Tensor:
        """Logits [..., vocab] for a decoder residual stream [..., d_model]: the final norm, then the output layer."""
        return self.generator(self.decoder.final_norm(stream))
