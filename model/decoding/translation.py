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
from model.core.hf_tokenizers import check_language
from model.core.hook_names import ALL_WEIGHTS
from model.core.hooks import capture
from model.core.interface import (
    MultilingualTranslationTokenizer,
    TranslationModel,
    TranslationTokenizer,
    language_codes,
)
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


def languages(
    model: TranslationModel, tokenizer: TranslationTokenizer, src_lang: str | None = None, tgt_lang: str | None = None
) -> tuple[str | None, str | None]:
    """The (source, target) language codes a multilingual model translates with: the given ones, else the
    tokenizer's defaults; (None, None) for a bilingual model. A code the model does not know is an InputError."""
    if not model.cfg.languages:
        return None, None
    multilingual = isinstance(tokenizer, MultilingualTranslationTokenizer)
    chosen = []
    for given, default, side in (
        (src_lang, tokenizer.src_lang if multilingual else None, "source"),
        (tgt_lang, tokenizer.tgt_lang if multilingual else None, "target"),
    ):
        code = given or default
        try:
            check_language(code, model.cfg.languages, f"the {side} language")
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if code not in language_codes(tokenizer):  # a config and tokenizer from different checkpoints
            raise InputError(
                f"the tokenizer has no piece for {code!r}, a language of the model: they do not belong together."
            )
        chosen.append(code)
    return chosen[0], chosen[1]


def source_ids(
    model: TranslationModel, tokenizer: TranslationTokenizer, pieces: list[int], src_lang: str | None = None
) -> list[int]:
    """The encoder's input: the pieces cut to max_len, </s>, and the source language's code where the model expects
    it (M2M-100, mBART-50, NLLB: [code] pieces </s>; NLLB's legacy order: pieces </s> [code])."""
    cfg = model.cfg
    if cfg.language_code_position == "none":
        return fit(model, pieces)
    code = tokenizer.language_id(languages(model, tokenizer, src_lang)[0])
    kept = pieces[: cfg.max_len - 2] + [cfg.eos_id]
    return [code, *kept] if cfg.language_code_position == "prefix" else [*kept, code]


def forced_language(model: TranslationModel, tokenizer: TranslationTokenizer, tgt_lang: str | None = None) -> list[int]:
    """[the target language's code] when the model is told its target by a forced first piece, else []."""
    if not model.cfg.force_target_language:
        return []
    return [tokenizer.language_id(languages(model, tokenizer, None, tgt_lang)[1])]


def reference_ids(
    model: TranslationModel, tokenizer: TranslationTokenizer, text: str, tgt_lang: str | None = None
) -> list[int]:
    """The output pieces of a given target sentence, for teacher forcing: a multilingual model's target language code,
    the pieces cut to max_len, </s> (what the model's own translation would hold)."""
    forced = forced_language(model, tokenizer, tgt_lang)
    pieces = tokenizer.encode_target(text)[: model.cfg.max_len - len(forced) - 1]
    return [*forced, *pieces, model.cfg.eos_id]


def sequence_ids(
    model: TranslationModel, tokenizer: TranslationTokenizer, text: str, src_lang: str | None = None
) -> list[int]:
    return source_ids(model, tokenizer, tokenizer.encode(text), src_lang)


def encode_source(
    model: TranslationModel, tokenizer: TranslationTokenizer, text: str, src_lang: str | None = None
) -> tuple[list[int], int]:
    """Source ids ending with </s> (and the language code of a multilingual model), cut to the model's max_len;
    returns (ids, pieces dropped)."""
    if not text or not text.strip():
        raise InputError("Type a sentence to translate: the input is empty.")
    pieces = tokenizer.encode(text)
    ids = source_ids(model, tokenizer, pieces, src_lang)
    specials = 1 + (model.cfg.language_code_position != "none")
    return ids, len(pieces) - (len(ids) - specials)


def default_max_len(model: TranslationModel, src_len: int) -> int:
    return min(model.cfg.max_len, 2 * src_len + 10)


def translate(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    text: str,
    beam: int = 1,
    max_len: int | None = None,
    alpha: float = 0.6,
    with_trace: bool = True,
    top_k: int = 5,
    ablate: Iterable[tuple[str, int, int]] = (),
    prefix: str | list[int] = "",
    tree: list | None = None,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> Translation:
    """Translate one sentence; with `with_trace`, capture every layer's and head's attention on the way.

    `prefix`: target text, or piece ids, the translation must start with (the model continues from it); `tree`: a list
    that receives every hypothesis beam search kept (`model.decoding.search.BeamNode`). `src_lang`, `tgt_lang`: the
    languages of a multilingual model (codes from `model.cfg.languages`; default: the tokenizer's pair); its target
    language's code is then the first, forced, output piece.
    """
    src_lang, tgt_lang = languages(model, tokenizer, src_lang, tgt_lang)
    src_ids, dropped = encode_source(model, tokenizer, text, src_lang)
    limit = min(max_len or default_max_len(model, len(src_ids)), model.cfg.max_len)
    if limit < 1:
        raise InputError(f"max length must be at least 1, got {max_len}.")
    forced = forced_language(model, tokenizer, tgt_lang)
    forced = (forced + (tokenizer.encode_target(prefix) if isinstance(prefix, str) else list(prefix)))[:limit]
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
            tokenizer,
            src_ids,
            hyp.ids,
            arrays_from_steps(model, run, hyp),
            hyp.candidates,
            hyp.logprobs,
            hyp.forced,
        )
    return Translation(tokenizer.decode(hyp.ids), src_ids, hyp.ids, hyp.score, dropped, trace, hyp.forced, hyp.logprobs)
