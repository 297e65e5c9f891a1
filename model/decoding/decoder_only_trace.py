"""A decoder-only translation read as a `Trace`: the three kinds cut from its one self-attention, and the whole.

Design. `DecoderOnlyTrace` is a `Trace` (a dataclass subclass), so a view that reads a trace through its
interface (`attention(kind)`, `axis_tokens(kind)`, `axis_word_starts(kind)`, `layers(kind)`, `heads(kind)`,
`src_pieces`, `tgt_pieces`, `out_pieces`, the `encoder`/`decoder`/`cross` arrays, `out_logprobs`) works on it
unchanged, and `dataclasses.replace` (the app's labelled trace) keeps its type. What differs is carried by the trace,
never decided by the view: `kind_labels` titles the slots honestly for this architecture (`DECODER_ONLY_LABELS`:
"Source self-attention", "Output self-attention", "Output → source attention", "Whole self-attention") where the
encoder-decoder's say encoder, decoder and cross; `kinds` adds "whole", the matrix over every piece, with the
template and the attention sink on the first piece, which `attention("whole")` and `axis_tokens("whole")` read.

The slots. The model read one sequence of N pieces, `tokens`: the prompt (chat template, instruction, the source
sentence at `src_span` = [a, b)) and then the output from `out_start` on; `whole` is its self-attention
[layers, query heads, N, N]. With S = b - a source pieces, T = N - out_start output pieces and p = out_start - 1:

- `encoder` = whole[:, :, a:b, a:b], [L, H, S, S]: the source sentence's pieces attending to each other;
- `decoder` = whole[:, :, p:N-1, p:N-1], [L, H, T, T], causal: the output's rows among themselves;
- `cross`   = whole[:, :, p:N-1, a:b], [L, H, T, S]: the output's rows on the source (the analogue of
  cross-attention; these rows do not sum to 1: the rest of their weight is on the template and the output).

The output's rows are the rows that PRODUCED each output piece, as the encoder-decoder's decoder rows are its input
positions (start symbol first): output piece j, at position out_start + j, was chosen from the row of position
out_start + j - 1, the piece read just before it (for j = 0 the prompt's last piece, the end of the assistant's
header, which plays the start symbol's part). So `tgt_pieces` = tokens[p : N-1] (what each row read) and
`out_pieces` = tokens[out_start:] (what it produced), and `cross[:, :, t]` holds the weights on the source while
out_pieces[t] was chosen. `LLMTranslation.output_to_source()` keeps instead the rows of the output pieces'
own positions (out_start .. N-1): cross[:, :, t] = output_to_source()[:, :, t - 1] for t >= 1, and cross row 0 is
the prompt's last row; the row of the last output piece (usually the end of turn), which produced nothing, is only
in `whole`.

`positional_encoding` is [max(S, T), 0]: nothing is added to these models' embeddings (their positions are rotary,
applied to q and k inside each attention), and the NPZ export (`npz_arrays`, docs/formats.md) leaves it out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from model.core.kinds import DECODER_ONLY_AXES, DECODER_ONLY_KINDS, DECODER_ONLY_LABELS, WHOLE
from model.decoding.decoder_only_search import LLMTranslation
from model.decoding.trace import Trace

__all__ = ["DECODER_ONLY_KINDS", "DECODER_ONLY_LABELS", "WHOLE", "DecoderOnlyTrace", "decoder_only_trace"]


def llm_word_starts(pieces: list[str], special: list[bool]) -> list[bool]:
    """True where a piece begins a word: the first piece, a special piece or the one after it, a piece starting with
    whitespace or following one that ends with it (pieces are text as `ChatTokenizer.pieces` gives them; an empty
    piece, the first bytes of a character, begins nothing)."""
    starts = []
    for i, piece in enumerate(pieces):
        after = i > 0 and (special[i - 1] or pieces[i - 1][-1:].isspace())
        starts.append(i == 0 or special[i] or (piece != "" and (piece[:1].isspace() or after)))
    return starts


@dataclass
class DecoderOnlyTrace(Trace):
    tokens: list[str] = field(default_factory=list)  # N: every piece of prompt and output
    whole: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 0), np.float32))  # [L, H, N, N]
    src_span: tuple[int, int] = (0, 0)  # the source sentence's pieces [start, end) in `tokens`
    out_start: int = 0  # where the output begins (the prompt's length)
    word_starts: list[bool] = field(default_factory=list)  # N, for merging pieces into words along "whole"

    kinds: ClassVar[tuple[str, ...]] = DECODER_ONLY_KINDS
    kind_labels: ClassVar[dict[str, str]] = DECODER_ONLY_LABELS

    def attention(self, kind: str) -> np.ndarray:
        if kind == WHOLE:
            return self.whole
        return super().attention(kind)

    def _axis(self, side: str) -> tuple[list[str], list[bool]]:
        return (self.tokens, self.word_starts) if side == "all" else super()._axis(side)

    def axis_tokens(self, kind: str) -> tuple[list[str], list[str]]:
        return tuple(self._axis(side)[0] for side in DECODER_ONLY_AXES[kind])

    def axis_word_starts(self, kind: str) -> tuple[list[bool], list[bool]]:
        return tuple(self._axis(side)[1] for side in DECODER_ONLY_AXES[kind])

    def validate(self) -> None:
        super().validate()
        n = len(self.tokens)
        a, b = self.src_span
        if not 0 <= a < b < self.out_start < n:
            raise ValueError(
                f"src_span {self.src_span} and out_start {self.out_start} do not fit {n} pieces: the source must lie "
                "in the prompt, before its last piece, and at least one output piece must follow"
            )
        if self.whole.ndim != 4 or self.whole.shape[2:] != (n, n) or self.whole.shape[:2] != self.decoder.shape[:2]:
            raise ValueError(
                f"the whole attention has shape {self.whole.shape}, expected {list(self.decoder.shape[:2]) + [n, n]}"
            )
        if self.word_starts and len(self.word_starts) != n:
            raise ValueError(f"word_starts has {len(self.word_starts)} entries for {n} pieces")
        p = self.out_start - 1
        expected = {
            "src_pieces": (self.src_pieces, self.tokens[a:b]),
            "tgt_pieces": (self.tgt_pieces, self.tokens[p : n - 1]),
            "out_pieces": (self.out_pieces, self.tokens[self.out_start :]),
        }
        for name, (given, cut) in expected.items():
            if len(given) != len(cut):  # (the app relabels pieces, so only their number must agree)
                raise ValueError(f"{name} has {len(given)} pieces, the span of `tokens` it comes from {len(cut)}")
        for kind, (rows, cols) in {
            "encoder": (slice(a, b), slice(a, b)),
            "decoder": (slice(p, n - 1), slice(p, n - 1)),
            "cross": (slice(p, n - 1), slice(a, b)),
        }.items():
            if not np.array_equal(self.attention(kind), self.whole[:, :, rows, cols]):
                raise ValueError(f"the {kind} attention is not the slice of the whole attention it stands for")

    def npz_arrays(self) -> dict[str, np.ndarray]:
        """The decoder-only NPZ (docs/formats.md): the three kinds and their tokens under the encoder-decoder's names,
        the whole matrix as `attention` with `tokens`, `src_span` and `out_start`; no positional encoding."""
        arrays = super().npz_arrays()
        del arrays["positional_encoding"]
        return {
            **arrays,
            "tokens": np.array(self.tokens, dtype=str),
            "attention": self.whole.astype(np.float32),
            "src_span": np.array(self.src_span, dtype=np.int64),
            "out_start": np.array(self.out_start, dtype=np.int64),
        }


def decoder_only_trace(translation: LLMTranslation, special_ids: Collection[int] = ()) -> DecoderOnlyTrace:
    """The trace of a decoder-only translation (made with its attention); `special_ids`: the tokenizer's special
    pieces (`ChatTokenizer.special_ids`), each a word of its own."""
    if translation.attention is None:
        raise ValueError("the translation was made without its attention, so it has no trace")
    whole = translation.attention.float().cpu().numpy()
    tokens, n = list(translation.tokens), len(translation.tokens)
    (a, b), start = translation.src_span, translation.out_start
    p = start - 1
    starts = llm_word_starts(tokens, [i in special_ids for i in translation.ids])
    return DecoderOnlyTrace(
        src_pieces=tokens[a:b],
        tgt_pieces=tokens[p : n - 1],
        out_pieces=tokens[start:],
        encoder=whole[:, :, a:b, a:b],
        decoder=whole[:, :, p : n - 1, p : n - 1],
        cross=whole[:, :, p : n - 1, a:b],
        positional_encoding=np.zeros((max(b - a, n - start), 0), np.float32),
        src_word_starts=[True, *starts[a + 1 : b]],
        tgt_word_starts=[True, *starts[p + 1 : n - 1]],
        out_logprobs=list(translation.logprobs),
        tokens=tokens,
        whole=whole,
        src_span=(a, b),
        out_start=start,
        word_starts=starts,
    )
