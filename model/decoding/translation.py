"""Translate one sentence: search, with every layer's and head's attention captured on the way.

The parts live by job: `model.decoding.search` (greedy and beam search, and the per-step recording contract),
`model.decoding.trace_from_hooks` (hook records to a `Trace`, teacher-forced traces, one head's intermediates),
`model.core.head_selection` (hook names, head specs, ablation masks), `model.decoding.batch` (many sentences, no
capture).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from model.core.head_selection import head_masks
from model.core.hook_names import ALL_WEIGHTS
from model.core.hooks import capture
from model.core.interface import TranslationModel, TranslationTokenizer
from model.decoding.search import beam_search, greedy_search
from model.decoding.trace import Trace
from model.decoding.trace_from_hooks import arrays_from_steps, make_trace


class InputError(ValueError):
    """Input text that cannot be translated (e.g. empty); the message is meant for the user."""


@dataclass
class Translation:
    text: str
    src_ids: list[int]  # encoder input, ending with </s>
    out_ids: list[int]
    score: float
    truncated: int = 0  # source pieces dropped to fit the model's max_len
    trace: Trace | None = None
    forced: int = 0  # output pieces imposed by a forced prefix
    logprobs: list[float] = field(default_factory=list)  # log-probability of each output piece


def fit(model: TranslationModel, ids: list[int]) -> list[int]:
    """Piece ids cut to fit the model's max_len, ending with </s>."""
    return ids[: model.cfg.max_len - 1] + [model.cfg.eos_id]


def sequence_ids(model: TranslationModel, tok: TranslationTokenizer, text: str) -> list[int]:
    return fit(model, tok.encode(text))


def encode_source(model: TranslationModel, tok: TranslationTokenizer, text: str) -> tuple[list[int], int]:
    """Source ids ending with </s>, cut to the model's max_len; returns (ids, pieces dropped)."""
    if not text or not text.strip():
        raise InputError("Type a sentence to translate: the input is empty.")
    pieces = tok.encode(text)
    ids = fit(model, pieces)
    return ids, len(pieces) - (len(ids) - 1)


def default_max_len(model: TranslationModel, src_len: int) -> int:
    return min(model.cfg.max_len, 2 * src_len + 10)


def translate(
    model: TranslationModel,
    tok: TranslationTokenizer,
    text: str,
    beam: int = 1,
    max_len: int | None = None,
    alpha: float = 0.6,
    with_trace: bool = True,
    top_k: int = 5,
    ablate: Iterable[tuple[str, int, int]] = (),
    prefix: str | list[int] = "",
    tree: list | None = None,
) -> Translation:
    """Translate one sentence; with `with_trace`, capture every layer's and head's attention on the way.

    `prefix`: target text, or piece ids, the translation must start with (the model continues from it); `tree`: a list
    that receives every hypothesis beam search kept (`model.decoding.search.BeamNode`).
    """
    src_ids, dropped = encode_source(model, tok, text)
    limit = min(max_len or default_max_len(model, len(src_ids)), model.cfg.max_len)
    if limit < 1:
        raise InputError(f"max length must be at least 1, got {max_len}.")
    forced = (tok.encode_target(prefix) if isinstance(prefix, str) else list(prefix))[:limit]
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], device=device)
    patterns = ALL_WEIGHTS if with_trace else ()
    k = top_k if with_trace else 0
    with capture(model, patterns, head_masks(model, ablate)) as run:
        if beam <= 1:
            hyp = greedy_search(model, src, limit, top_k=k, forced=forced)[0]
        else:
            hyp = beam_search(model, src, beam, limit, alpha, top_k=k, forced=forced, tree=tree)
    trace = None
    if with_trace:
        trace = make_trace(
            model,
            tok,
            src_ids,
            hyp.ids,
            arrays_from_steps(model, run.records, hyp),
            hyp.candidates,
            hyp.logprobs,
            hyp.forced,
        )
    return Translation(tok.decode(hyp.ids), src_ids, hyp.ids, hyp.score, dropped, trace, hyp.forced, hyp.logprobs)
