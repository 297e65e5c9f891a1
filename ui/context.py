"""What every page receives: the request (what the model was asked), the model, the translation and its trace."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

from model.core.checkpoint import Checkpoint
from model.core.interface import TranslationTokenizer, language_codes
from model.core.tokenizer import word_starts
from model.decoding.search import BeamTreeRow
from model.decoding.trace import Trace
from model.decoding.translation import Translation
from ui.theme import Theme


@dataclass(frozen=True)
class Request:
    """The model's inputs for this page, read from the session once (app.py); pages read them here and nowhere else."""

    sentence: str  # as typed
    tidy: bool
    beam: int
    max_len: int  # 0: automatic
    prefix: str  # the translation is forced to start with it ("": not forced)
    checkpoint: str  # the checkpoint folder's name
    path: str  # the checkpoint folder, the caches' key
    # what the model translates: the sentence, tidied unless that is switched off (model.decoding.tidy)
    source: str = ""
    src_lang: str | None = None  # a multilingual model's chosen pair (checked codes); None: bilingual
    tgt_lang: str | None = None


def code_labels(tokenizer: TranslationTokenizer) -> dict[str, str]:
    """A multilingual tokenizer's language-code pieces and how the views show them: bracketed like </s>, by the code
    the sidebar picks (NLLB's kor_Hang as ⟨kor_Hang⟩, M2M-100's __ko__ as ⟨ko⟩); {} for a bilingual tokenizer."""
    return {piece: f"⟨{code}⟩" for code, piece in language_codes(tokenizer).items()}


def labelled_trace(trace: Trace, labels: dict[str, str]) -> Trace:
    """The trace with its language-code pieces labelled (`code_labels`); its word starts, made by
    `piece_word_starts`, already keep each code a word of its own. The attention arrays are shared, not copied. A
    bilingual model's trace is returned as it is."""
    if not labels:
        return trace

    def label(pieces: list[str]) -> list[str]:
        return [labels.get(piece, piece) for piece in pieces]

    return dataclasses.replace(
        trace,
        src_pieces=label(trace.src_pieces),
        tgt_pieces=label(trace.tgt_pieces),
        out_pieces=label(trace.out_pieces),
        candidates=[[(labels.get(piece, piece), p) for piece, p in row] for row in trace.candidates],
    )


@dataclass
class PageContext:
    request: Request
    loaded: Checkpoint  # the checkpoint as loaded: its model, tokenizer, languages and card
    translation: Translation
    beam_tree: list[BeamTreeRow] | None = None  # the search tree of the translation's own beam search (None: greedy)
    theme: Theme = field(default_factory=lambda: Theme.for_mode(False))

    @functools.cached_property
    def trace(self) -> Trace:
        """The translation's trace as the views show it: language-code pieces labelled, each a word of its own."""
        return labelled_trace(self.translation.trace, code_labels(self.loaded.tokenizer))

    def word_starts(self, shown_pieces: list[str]) -> list[bool]:
        """Word starts of pieces taken from `trace` (labelled): a language code is a word of its own."""
        return word_starts(shown_pieces, code_labels(self.loaded.tokenizer).values())

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def beam(self) -> int:
        return self.request.beam

    @property
    def source(self) -> str:
        return self.request.source
