"""Translating many sentences fast: no capture, greedy and beam search in length-sorted batches."""
from __future__ import annotations

from typing import Iterable

from model.data import pad_sources
from model.decode import default_max_len, sequence_ids
from model.heads import head_masks
from model.hooks import capture
from model.interface import TranslationModel, TranslationTokenizer
from model.search import beam_search_batch, greedy_search


def translate_many(
    model: TranslationModel, tok: TranslationTokenizer, sentences: list[str], beam: int = 1, max_len: int | None = None,
    alpha: float = 0.6, batch_size: int = 64, ablate: Iterable[tuple[str, int, int]] = (),
) -> list[str]:
    """Translations of `sentences`, in order; an empty sentence gives an empty translation.

    `ablate` switches the given heads off throughout.
    """
    with capture(model, (), head_masks(model, ablate)):
        return _translate_many(model, tok, sentences, beam, max_len, alpha, batch_size)


def _translate_many(model, tok, sentences, beam, max_len, alpha, batch_size) -> list[str]:
    model_max = model.cfg.max_len
    encoded = [sequence_ids(model, tok, s) if s.strip() else None for s in sentences]
    results = [""] * len(sentences)
    todo = sorted((i for i, e in enumerate(encoded) if e is not None), key=lambda i: len(encoded[i]))
    device = next(model.parameters()).device
    step = batch_size if beam <= 1 else max(1, batch_size // beam)  # beam search holds beam rows per sentence
    for start in range(0, len(todo), step):
        chunk = todo[start : start + step]
        src = pad_sources([encoded[i] for i in chunk], model.cfg.pad_id).to(device)
        if beam <= 1:
            limit = min(max_len or default_max_len(model, src.shape[1]), model_max)
            hyps = [h.ids for h in greedy_search(model, src, limit)]
        else:
            limits = [min(max_len or default_max_len(model, len(encoded[i])), model_max) for i in chunk]
            hyps = beam_search_batch(model, src, beam, limits, alpha)
        for i, ids in zip(chunk, hyps):
            results[i] = tok.decode(ids)
    return results
