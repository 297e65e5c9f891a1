"""The attention trace of one translation: plain NumPy arrays and piece lists (no torch).

Data contract (as in BertViz): for each kind an array [layers, heads, queries, keys], plus the
pieces along each axis. `encoder` is [L, H, S, S], `decoder` [L, H, T, T], `cross` [L, H, T, S],
where S counts the encoder's input positions and T the decoder's (start symbol first). The
encoder's L may differ from the decoder's: `layers(kind)` reads each kind's own array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np

from model.core.kinds import AXES, KIND_LABELS, KINDS, check_kind

__all__ = ["AXES", "KIND_LABELS", "Trace"]


@dataclass
class Trace:
    src_pieces: list[str]  # S encoder input pieces, ending with </s>
    tgt_pieces: list[str]  # T decoder input pieces, starting with <s>
    out_pieces: list[str]  # T pieces predicted at each decoder position (tgt_pieces shifted by one)
    encoder: np.ndarray  # [L, H, S, S]
    decoder: np.ndarray  # [L, H, T, T]
    cross: np.ndarray  # [L, H, T, S]
    positional_encoding: np.ndarray  # [max(S, T), d_model], the exact values added
    src_word_starts: list[bool] = field(default_factory=list)
    tgt_word_starts: list[bool] = field(default_factory=list)
    candidates: list[list[tuple[str, float]]] = field(default_factory=list)  # per decoder position: top-k (piece, prob)
    # per decoder position: log-probability of the piece produced
    out_logprobs: list[float] = field(default_factory=list)
    forced: int = 0  # the first `forced` output pieces were imposed by the user, not chosen by the model

    kinds: ClassVar[tuple[str, ...]] = KINDS  # the kinds `attention` reads (a decoder-only trace adds "whole")
    kind_labels: ClassVar[dict[str, str]] = KIND_LABELS  # each kind's title for this architecture

    def __post_init__(self) -> None:
        self.validate()

    def layers(self, kind: str) -> int:
        """Layer count of one kind, from its own array (the encoder and decoder stacks may differ)."""
        return self.attention(kind).shape[0]

    def heads(self, kind: str) -> int:
        return self.attention(kind).shape[1]

    def attention(self, kind: str) -> np.ndarray:
        check_kind(kind, self.kinds)
        return getattr(self, kind)

    def _axis(self, side: str) -> tuple[list[str], list[bool]]:
        return (self.src_pieces, self.src_word_starts) if side == "src" else (self.tgt_pieces, self.tgt_word_starts)

    def axis_tokens(self, kind: str) -> tuple[list[str], list[str]]:
        """(query tokens, key tokens) of one attention kind."""
        return tuple(self._axis(side)[0] for side in AXES[kind])

    def axis_word_starts(self, kind: str) -> tuple[list[bool], list[bool]]:
        """(query word starts, key word starts) of one attention kind, for merging pieces into words."""
        return tuple(self._axis(side)[1] for side in AXES[kind])

    def validate(self) -> None:
        S, T = len(self.src_pieces), len(self.tgt_pieces)
        length = {"src": S, "tgt": T}
        for kind, (q_side, k_side) in AXES.items():
            arr, q, k = getattr(self, kind), length[q_side], length[k_side]
            if arr.ndim != 4 or arr.shape[2:] != (q, k):
                raise ValueError(
                    f"{kind} attention has shape {arr.shape}, expected [layers, heads, {q}, {k}] for {S} source "
                    f"and {T} target tokens"
                )
        if self.cross.shape[:2] != self.decoder.shape[:2]:
            raise ValueError(
                f"cross attention has {self.cross.shape[:2]} layers/heads, the decoder has {self.decoder.shape[:2]}"
            )
        if self.encoder.shape[1] != self.decoder.shape[1]:
            raise ValueError(f"the encoder has {self.encoder.shape[1]} heads, the decoder {self.decoder.shape[1]}")
        if len(self.out_pieces) != T:
            raise ValueError(f"{len(self.out_pieces)} output tokens for {T} decoder positions")
        if self.positional_encoding.ndim != 2 or self.positional_encoding.shape[0] < max(S, T):
            raise ValueError(
                f"positional_encoding has shape {self.positional_encoding.shape}, needs at least {max(S, T)} rows"
            )
        for name, starts, n in (
            ("src_word_starts", self.src_word_starts, S),
            ("tgt_word_starts", self.tgt_word_starts, T),
        ):
            if starts and len(starts) != n:
                raise ValueError(f"{name} has {len(starts)} entries for {n} tokens")

    def npz_arrays(self) -> dict[str, np.ndarray]:
        """The NPZ export's arrays, under the names docs/formats.md gives them (`src_tokens`, `tgt_tokens`)."""
        return {
            "encoder": self.encoder.astype(np.float32),
            "decoder": self.decoder.astype(np.float32),
            "cross": self.cross.astype(np.float32),
            "src_tokens": np.array(self.src_pieces, dtype=str),
            "tgt_tokens": np.array(self.tgt_pieces, dtype=str),
            "positional_encoding": self.positional_encoding.astype(np.float32),
        }

    def save_npz(self, path: str | Path | BinaryIO) -> None:
        """Write the NPZ export format (docs/formats.md) to `path` as named (NumPy, given a name, would add ".npz"), or
        to an open binary file; strings are stored as unicode arrays, no pickles."""
        if isinstance(path, (str, Path)):
            with open(path, "wb") as f:
                np.savez_compressed(f, **self.npz_arrays())
        else:
            np.savez_compressed(path, **self.npz_arrays())
