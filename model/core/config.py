"""The Transformer's hyper-parameters, saved in every checkpoint's config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch.nn.functional as F

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "swish": F.silu, "silu": F.silu}


PE_LAYOUTS = ("interleaved", "halves")


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
    decoder_start_id: int = 2  # the symbol fed to the decoder first (ours: <s>; Marian: <pad>)

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if self.pe_layout not in PE_LAYOUTS:
            raise ValueError(f"pe_layout {self.pe_layout!r} is not one of {', '.join(PE_LAYOUTS)}")

    @property
    def attention_p(self) -> float:
        return self.dropout if self.attention_dropout is None else self.attention_dropout

    @property
    def activation_p(self) -> float:
        return self.dropout if self.activation_dropout is None else self.activation_dropout

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
        if "n_layers" in data:  # configs written before the two stacks had their own depth
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
