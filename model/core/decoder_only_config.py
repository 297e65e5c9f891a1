"""The hyper-parameters of a decoder-only language model (Qwen2/2.5, Qwen3, Llama 3.x, Gemma 3), saved in its
checkpoint's config.json beside `"architecture": "decoder-only"`.

Every field is type- and range-checked on construction, before anything is allocated: a config.json can hold any
JSON value, and a size out of bounds would otherwise allocate gigabytes before failing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

ARCHITECTURE = "decoder-only"  # the marker in a checkpoint's config.json
GATED_ACTIVATIONS = ("silu", "gelu_tanh")  # SwiGLU (Qwen, Llama) and GeGLU with tanh-approximated GELU (Gemma)
ROPE_TYPES = ("default", "linear", "llama3")
LAYER_TYPES = ("full", "sliding")

# Generous for the families (Llama 3.1 70B: 80 layers, d_model 8192, d_ff 28672, 64 heads; Gemma 3: 262,208 pieces,
# head_dim 256); the weights file's header must then agree with every shape these imply.
SIZE_LIMITS: dict[str, tuple[int, int]] = {
    "vocab_size": (4, 1 << 20),
    "d_model": (2, 16384),
    "n_layers": (1, 128),
    "n_heads": (1, 256),
    "n_kv_heads": (1, 256),
    "head_dim": (2, 1024),
    "d_ff": (1, 131072),
    "max_len": (1, 1 << 24),  # positions are rotated on the fly: nothing of this size is ever allocated
}
FLAGS = ("qkv_bias", "o_bias", "mlp_bias", "qk_norm", "sandwich_norms", "scale_embedding", "tie_embeddings")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@dataclass
class DecoderOnlyConfig:
    """One stack of n_layers blocks, each x + Attn(Norm(x)) then x + FFN(Norm(x)) (pre-norm, RMSNorm).

    The family's variants are flags: `qkv_bias` (Qwen2), `qk_norm` (Qwen3, Gemma 3: an RMSNorm over each head's
    query and key), `sandwich_norms` (Gemma: a norm on each sub-layer's output too), `norm_offset` 1 (Gemma's
    RMSNorm multiplies by 1 + w), `scale_embedding` (Gemma: embeddings times sqrt(d_model)), `query_scale` (Gemma:
    scores scaled by query_pre_attn_scalar^-1/2 instead of head_dim^-1/2), `layer_types` with `sliding_window` and
    `rope_local_theta` (Gemma 3: sliding-window layers with their own rotary base).
    """

    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int  # query heads
    n_kv_heads: int  # key/value heads, each shared by n_heads / n_kv_heads query heads (grouped-query attention)
    head_dim: int
    d_ff: int
    max_len: int = 32768  # the context the model was trained for (max_position_embeddings)
    activation: str = "silu"  # the gate's non-linearity: silu (SwiGLU) or gelu_tanh (GeGLU)
    rms_norm_eps: float = 1e-6
    norm_offset: float = 0.0  # RMSNorm(x) = x / rms(x) * (norm_offset + w): Gemma stores w - 1 (offset 1)
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    sandwich_norms: bool = False
    scale_embedding: bool = False
    query_scale: float | None = None  # scores = q k^T * query_scale; None: head_dim ** -0.5
    attn_softcap: float | None = None  # scores -> c tanh(scores / c) before the mask (Gemma 2's; None in Gemma 3)
    final_softcap: float | None = None  # the same on the logits
    rope_theta: float = 10000.0  # the rotary base of full-attention layers
    rope_type: str = "default"  # default; linear (frequencies / factor); llama3 (Llama 3.1's smooth band)
    rope_factor: float = 1.0
    rope_low_freq_factor: float = 1.0  # llama3 only
    rope_high_freq_factor: float = 4.0  # llama3 only
    rope_original_max_len: int = 8192  # llama3 only
    rope_local_theta: float | None = None  # sliding layers' base (Gemma 3: 10,000), unscaled; None: as full layers
    layer_types: list[str] = field(default_factory=list)  # per layer "full" or "sliding"; empty: all full
    sliding_window: int | None = None  # a sliding layer's query sees itself and the window - 1 pieces before it
    tie_embeddings: bool = False  # the output layer reuses the token embedding
    bos_id: int | None = None
    eos_ids: list[int] = field(default_factory=list)  # any of them ends a generation (the end-of-turn piece first)
    pad_id: int | None = None

    def __post_init__(self) -> None:
        """Refuse a field of the wrong type or out of range, in one sentence that names it."""
        for name, (low, high) in SIZE_LIMITS.items():
            value = getattr(self, name)
            if not (_whole(value) and low <= value <= high):
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim must be even for the rotation of pairs, got {self.head_dim}")
        if self.activation not in GATED_ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {', '.join(GATED_ACTIVATIONS)}")
        if self.rope_type not in ROPE_TYPES:
            raise ValueError(f"rope_type {self.rope_type!r} is not one of {', '.join(ROPE_TYPES)}")
        for name in FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not (_positive(self.rms_norm_eps) and self.rms_norm_eps < 1):
            raise ValueError(f"rms_norm_eps must be a number above 0 and below 1, got {self.rms_norm_eps!r}")
        if self.norm_offset not in (0, 1) or isinstance(self.norm_offset, bool):
            raise ValueError(f"norm_offset must be 0 or 1, got {self.norm_offset!r}")
        for name in ("rope_theta", "rope_factor", "rope_low_freq_factor", "rope_high_freq_factor"):
            if not _positive(getattr(self, name)):
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        if self.rope_type == "llama3" and not self.rope_low_freq_factor < self.rope_high_freq_factor:
            raise ValueError("rope_low_freq_factor must be below rope_high_freq_factor")
        if not (_whole(self.rope_original_max_len) and self.rope_original_max_len >= 1):
            raise ValueError(
                f"rope_original_max_len must be a whole number of at least 1, got {self.rope_original_max_len!r}"
            )
        for name in ("query_scale", "attn_softcap", "final_softcap", "rope_local_theta"):
            value = getattr(self, name)
            if value is not None and not _positive(value):
                raise ValueError(f"{name} must be a positive number or null, got {value!r}")
        if not isinstance(self.layer_types, list) or not all(t in LAYER_TYPES for t in self.layer_types):
            raise ValueError(f"layer_types must be a list of {' or '.join(LAYER_TYPES)}")
        if self.layer_types and len(self.layer_types) != self.n_layers:
            raise ValueError(f"layer_types lists {len(self.layer_types)} layers, the model has {self.n_layers}")
        if "sliding" in self.layer_types and not (_whole(self.sliding_window) and self.sliding_window >= 1):
            raise ValueError(f"sliding layers need a sliding_window of at least 1, got {self.sliding_window!r}")
        for name in ("bos_id", "pad_id"):
            value = getattr(self, name)
            if value is not None and not (_whole(value) and 0 <= value < self.vocab_size):
                raise ValueError(f"{name} must be a vocabulary id from 0 to {self.vocab_size - 1}, got {value!r}")
        if not (
            isinstance(self.eos_ids, list)
            and self.eos_ids
            and all(_whole(i) and 0 <= i < self.vocab_size for i in self.eos_ids)
        ):
            raise ValueError(f"eos_ids must list vocabulary ids (at least one), got {self.eos_ids!r}")

    @property
    def group_size(self) -> int:
        """Query heads per key/value head."""
        return self.n_heads // self.n_kv_heads

    def kv_head(self, head: int) -> int:
        """The key/value head query head `head` reads (heads are grouped in order, as `repeat_kv` in transformers)."""
        return head // self.group_size

    def layer_type(self, layer: int) -> str:
        return self.layer_types[layer] if self.layer_types else "full"

    def window(self, layer: int) -> int | None:
        """How many pieces a query of `layer` sees, itself included (None: all before it)."""
        return self.sliding_window if self.layer_type(layer) == "sliding" else None

    @property
    def scale(self) -> float:
        return self.head_dim**-0.5 if self.query_scale is None else self.query_scale

    @property
    def languages(self) -> list[str]:
        """No language codes: the languages are named in the prompt (as `TransformerConfig.languages` for the app)."""
        return []

    def layers(self, kind: str = "decoder") -> int:
        return self.n_layers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DecoderOnlyConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)
