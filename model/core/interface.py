"""The model seam: what decoding, capture, the analyses and the app use of a translator, written down once.

`TranslationModel` is everything code outside model/core reads of a model: running it (encode, decode_step,
the teacher-forced call), its config, its hook points under the names `model.core.hook_names.hook_name`
gives (as TransformerLens's `get_act_name`), and read-only views of its weights per layer and head
(`AttentionWeights`, `LayerNormWeights`, `OutputWeights`) in TransformerLens's orientation. Decoding
(`model.decoding`), capture (`model.core.hooks`), the analyses (`model.analysis`: lesson, attribution,
diagnostics, ...) and the app are written against it and never reach into a class's modules (only
bench/run.py times the Transformer's own parts, and the importers fill its state dict).

Two classes implement it: `model.core.transformer.Transformer`, for every model we load (our own trained
ones, and OPUS-MT, M2M-100/NLLB and mBART models imported into it), and, in tests/test_seam.py, a wrapper
that keeps every part under other names and delegates: translation, ablation, tracing, the lesson,
attribution and the diagnostics give the same numbers, bit for bit, on both. `Tokenizer` (one joint
SentencePiece model), `TokenizerPair` (source and target models with one id map) and the multilingual
tokenizers implement `TranslationTokenizer`; the multilingual ones also `MultilingualTranslationTokenizer` (their
language codes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch.nn.functional as F
from torch import Tensor

from model.core.config import TransformerConfig
from model.core.tokenizer import word_starts

Cache = list[dict]  # per decoder layer: {"self": {"k", "v"}, "cross": {"k", "v"}}, rows = batch (or beams)


@dataclass(frozen=True)
class AttentionWeights:
    """One attention's projections, per head (head h: q = x @ W_Q[h] + b_Q[h], likewise k and v; the
    sub-layer's output is sum over h of z_h @ W_O[h], plus b_O, where z_h is the head's weights @ v)."""

    W_Q: Tensor  # [head, d_model, d_k]
    W_K: Tensor  # [head, d_model, d_k]
    W_V: Tensor  # [head, d_model, d_k]
    W_O: Tensor  # [head, d_k, d_model]
    b_Q: Tensor  # [head, d_k]
    b_K: Tensor  # [head, d_k]
    b_V: Tensor  # [head, d_k]
    b_O: Tensor  # [d_model]


@dataclass(frozen=True)
class LayerNormWeights:
    """A LayerNorm: (x - mean) / sqrt(var + eps) * weight + bias over the last dimension; call it to apply it."""

    weight: Tensor  # [d_model]
    bias: Tensor  # [d_model]
    eps: float

    def __call__(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


@dataclass(frozen=True)
class OutputWeights:
    """The output layer: logits = x @ W_U + b_U, x the decoder's output after its final norm."""

    W_U: Tensor  # [d_model, vocab]
    b_U: Tensor | None  # [vocab]


@runtime_checkable  # isinstance checks that every member is there (not their signatures)
class TranslationModel(Protocol):
    cfg: TransformerConfig  # sizes, layer counts per stack (cfg.layers(kind)), special ids, decoder start

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """(memory [batch, S, d_model], source mask [batch, 1, 1, S]) for padded source ids [batch, S]."""

    def new_cache(self) -> Cache:
        """An empty key/value cache for `decode_step`."""

    def decode_step(
        self, last_token: Tensor, memory: Tensor | None, src_mask: Tensor | None, cache: Cache, step: int
    ) -> Tensor:
        """Log-probabilities [batch, vocab] of the next piece; `memory` on step 0 only (it fills the cross cache)."""

    def reorder_cache(self, cache: Cache, order: Tensor) -> None:
        """Keep the cache rows `order` (beam search), in that order."""

    def __call__(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits [batch, T, vocab]; `tgt_in` starts with cfg.decoder_start_id."""

    @property
    def positional_encoding(self) -> Tensor:
        """The exact table [max_len, d_model] added to the embeddings, in the model's own layout."""

    def embedding_norms(self, ids: list[int]) -> list[float]:
        """|scaled token embedding| of each source id, to compare with |PE|."""

    def num_parameters(self) -> int: ...

    # Reading the model: hook points and weights (views: do not write through them).

    def named_hook_points(self) -> Mapping[str, object]:
        """Every hook point (a `model.core.hooks.HookPoint`) under the name `hook_name` gives it."""

    def attention_weights(self, kind: str, layer: int) -> AttentionWeights:
        """The projections of one attention (kind: encoder, decoder or cross), per head, in float32."""

    def layer_norm(self, stack: str, layer: int | None, sublayer: str) -> LayerNormWeights | None:
        """The LayerNorm of a layer's sub-layer ("self_attn", "cross_attn", "ffn"; before it with pre-norm, after
        the residual sum with post-norm), or with layer None the stack's "embed" or "final" norm; None if absent."""

    def output_weights(self) -> OutputWeights: ...

    def unembed(self, stream: Tensor) -> Tensor:
        """Logits [..., vocab] of a decoder residual stream [..., d_model] (final norm, then the output layer),
        computed as the model's own forward pass does (the logit lens)."""

    # As torch.nn.Module: where the weights are (their device), and dropout off or on.

    def parameters(self) -> Iterator[Tensor]: ...

    training: bool

    def train(self, mode: bool = True): ...

    def eval(self): ...


class TranslationTokenizer(Protocol):
    pad_id: int
    unk_id: int
    eos_id: int
    files: tuple[str, ...]  # what it writes into a checkpoint folder

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]:
        """Model ids of a source sentence, no special symbols."""

    def encode_target(self, text: str) -> list[int]:
        """Model ids of a target sentence, no special symbols (teacher forcing, forced prefixes)."""

    def decode(self, ids: Iterable[int]) -> str:
        """Target text of model ids, special symbols left out."""

    def source_pieces(self, ids: Iterable[int]) -> list[str]: ...

    def target_pieces(self, ids: Iterable[int]) -> list[str]: ...

    def piece_to_id(self, piece: str) -> int:
        """The model id of a piece (e.g. a candidate the user picks); <unk> if unknown."""


@runtime_checkable  # isinstance tells a multilingual tokenizer from a bilingual one
class MultilingualTranslationTokenizer(TranslationTokenizer, Protocol):
    """A tokenizer whose vocabulary holds a piece per language code (M2M-100, mBART-50, NLLB), with a default pair."""

    codes: dict[str, str]  # language code -> its piece
    src_lang: str  # the default source language's code
    tgt_lang: str

    @property
    def languages(self) -> list[str]:
        """Its language codes."""

    def language_id(self, code: str) -> int:
        """The model id of a language's code piece."""

    def with_languages(
        self, src_lang: str | None = None, tgt_lang: str | None = None
    ) -> MultilingualTranslationTokenizer:
        """A copy with another default pair (None: keep that side's)."""


def language_codes(tokenizer: TranslationTokenizer) -> dict[str, str]:
    """A multilingual tokenizer's language codes and their pieces; {} for a bilingual one."""
    return tokenizer.codes if isinstance(tokenizer, MultilingualTranslationTokenizer) else {}


def piece_word_starts(tokenizer: TranslationTokenizer, pieces: list[str]) -> list[bool]:
    """Where each of `tokenizer`'s pieces begins a word (`word_starts`), a language code being a word of its own, like
    </s>: the words toggle never merges it with the piece after it (NLLB's source starts 'eng_Latn' then '▁…', its
    output 'kor_Hang' then a piece without '▁')."""
    return word_starts(pieces, language_codes(tokenizer).values())
