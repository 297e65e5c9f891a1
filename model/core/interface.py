"""The model seam: what decoding, capture and the views use of a translator, written down once.

`model.core.transformer.Transformer` implements `TranslationModel` for every model we load, our own
trained ones and OPUS-MT (Marian) models imported into it; `Tokenizer` (one joint SentencePiece
model) and `TokenizerPair` (source and target models with one id map) implement
`TranslationTokenizer`. Search (`model.decoding.search`), tracing (`model.decoding.trace_from_hooks`), ablation and the
app are
written against these two protocols, never against a class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from torch import Tensor

from model.core.config import TransformerConfig

Cache = list[dict]  # per decoder layer: {"self": {"k", "v"}, "cross": {"k", "v"}}, rows = batch (or beams)


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
