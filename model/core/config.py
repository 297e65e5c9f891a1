"""The Transformer's hyper-parameters, saved in every checkpoint's config.json."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch.nn.functional as F

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "swish": F.silu, "silu": F.silu}


PE_LAYOUTS = ("interleaved", "halves")
POSITION_KINDS = ("sinusoidal", "learned")
PE_FORMULAS = ("paper", "fairseq")
LANGUAGE_CODE_POSITIONS = ("none", "prefix", "suffix")
MAX_LANGUAGES = 1000

# Every field's type and range, checked on construction: a config.json can hold any JSON value, and a string where a
# number belongs would otherwise fail deep inside torch, or a string flag ("no") would read as true.
SIZES = ("vocab_size", "d_model", "n_heads", "d_ff", "n_encoder_layers", "n_decoder_layers", "max_len")  # >= 1
SPECIAL_IDS = ("pad_id", "unk_id", "bos_id", "eos_id", "decoder_start_id")  # ids of the vocabulary
PROBABILITIES = ("dropout", "attention_dropout", "activation_dropout")  # 0 to 1; the last two may be None
FLAGS = (
    "norm_first",
    "share_embeddings",
    "tie_embeddings",
    "scale_embedding",
    "output_bias",
    "embedding_norm",
    "force_target_language",
)
OPTIONAL_FLAGS = ("final_norm",)  # true, false or None
CHOICES = {
    "activation": tuple(ACTIVATIONS),
    "pe_layout": PE_LAYOUTS,
    "position_kind": POSITION_KINDS,
    "pe_formula": PE_FORMULAS,
    "language_code_position": LANGUAGE_CODE_POSITIONS,
}


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class TransformerConfig:
    """Hyper-parameters, named as in the paper, with the paper's choices as defaults; saved in every checkpoint.

    The options beyond the paper describe other members of the family exactly (Marian/OPUS-MT: swish,
    sin-half-then-cos-half positional encoding, the pad symbol as the decoder's start).
    """

    vocab_size: int
    d_model: int = 512
    n_heads: int = 8
    d_ff: int = 2048
    n_encoder_layers: int = 6  # N in the paper, for each stack
    n_decoder_layers: int = 6
    dropout: float = 0.1  # on each sub-layer's output and on embeddings + PE (§5.4, residual dropout)
    attention_dropout: float | None = None  # on the attention weights (None: as dropout; not in the paper)
    activation_dropout: float | None = None  # inside the FFN, after the activation (None: as dropout; not in the paper)
    max_len: int = 256  # longest sequence the positional-encoding table covers
    norm_first: bool = False  # False: post-norm as in the paper; True: pre-norm
    share_embeddings: bool = True  # one token embedding for source and target (paper §3.4)
    tie_embeddings: bool = True  # the output projection reuses the target embedding (paper §3.4)
    activation: str = "relu"  # the FFN's non-linearity: relu (paper), gelu, swish
    scale_embedding: bool = True  # token embeddings multiplied by sqrt(d_model) (paper §3.4)
    pe_layout: str = "interleaved"  # "interleaved": sin on even, cos on odd dims (paper §3.5); "halves": sin | cos
    output_bias: bool = True  # a bias added to the final logits
    layer_norm_eps: float = 1e-5
    pad_id: int = 0
    unk_id: int = 1
    bos_id: int = 2
    eos_id: int = 3
    decoder_start_id: int = 2  # the symbol fed to the decoder first (ours: <s>; Marian: <pad>; M2M-100, mBART: </s>)
    # Beyond Marian (M2M-100/NLLB-200, mBART-50); the defaults are the paper's and our own models'.
    position_kind: str = "sinusoidal"  # "learned": a trained table per stack (mBART)
    pe_formula: str = "paper"  # "paper": pos / 10000^(2i/d_model); "fairseq": pos * exp(-i ln(10000) / (d_model/2 - 1))
    position_offset: int = 0  # the position number of the first piece (M2M-100: pad_id + 1; mBART: 2)
    embedding_norm: bool = False  # LayerNorm on token embedding + position, before the first layer (mBART)
    final_norm: bool | None = None  # LayerNorm after each stack's last layer (None: exactly when norm_first)
    languages: list[str] = field(default_factory=list)  # language-code pieces of a multilingual model, e.g. kor_Hang
    language_code_position: str = "none"  # the source's language code: "prefix" [code] x </s>, "suffix" x </s> [code]
    force_target_language: bool = False  # the first output piece is the target's language code (forced BOS)

    def __post_init__(self) -> None:
        """Refuse a field of the wrong type or out of range, in one sentence that names it."""
        for name in SIZES:
            value = getattr(self, name)
            if not (_whole(value) and value >= 1):
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in SPECIAL_IDS:
            value = getattr(self, name)
            if not (_whole(value) and 0 <= value < self.vocab_size):
                raise ValueError(f"{name} must be a vocabulary id from 0 to {self.vocab_size - 1}, got {value!r}")
        if not _whole(self.position_offset) or not 0 <= self.position_offset <= 1_000_000:
            raise ValueError(f"position_offset must be an integer from 0 to 1000000, got {self.position_offset!r}")
        for name in PROBABILITIES:
            value = getattr(self, name)
            if not (value is None and name != "dropout") and not (_finite(value) and 0 <= value <= 1):
                raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
        if not (_finite(self.layer_norm_eps) and 0 < self.layer_norm_eps < 1):
            raise ValueError(f"layer_norm_eps must be a number above 0 and below 1, got {self.layer_norm_eps!r}")
        for name in (*FLAGS, *OPTIONAL_FLAGS):
            value = getattr(self, name)
            if not isinstance(value, bool) and not (value is None and name in OPTIONAL_FLAGS):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if not (isinstance(value, str) and value in allowed):
                raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if not isinstance(self.languages, list) or not all(isinstance(c, str) and c for c in self.languages):
            raise ValueError("languages must be a list of language codes (non-empty strings)")
        if len(self.languages) > MAX_LANGUAGES:
            raise ValueError(f"languages lists {len(self.languages)} codes; Headlight accepts at most {MAX_LANGUAGES}")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages lists a code twice")
        if (self.language_code_position != "none" or self.force_target_language) and not self.languages:
            raise ValueError("language codes are placed or forced, but the config lists no languages")

    @property
    def attention_p(self) -> float:
        return self.dropout if self.attention_dropout is None else self.attention_dropout

    @property
    def activation_p(self) -> float:
        return self.dropout if self.activation_dropout is None else self.activation_dropout

    @property
    def has_final_norm(self) -> bool:
        return self.norm_first if self.final_norm is None else self.final_norm

    @property
    def d_k(self) -> int:
        return self.d_model // self.n_heads

    def layers(self, kind: str) -> int:
        """Layer count of an attention kind: encoder self-attention, or decoder self/cross."""
        return self.n_encoder_layers if kind == "encoder" else self.n_decoder_layers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TransformerConfig:
        data = dict(data)
        if "n_layers" in data:  # a config with one depth for both stacks
            if "n_encoder_layers" in data or "n_decoder_layers" in data:
                raise ValueError("n_layers cannot be combined with n_encoder_layers / n_decoder_layers")
            n_layers = data.pop("n_layers")
            data.setdefault("n_encoder_layers", n_layers)
            data.setdefault("n_decoder_layers", n_layers)
            data.setdefault("share_embeddings", data.get("tie_embeddings", True))
            data.setdefault("decoder_start_id", data.get("bos_id", 2))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)
