"""Translating many sentences fast: no capture, greedy and beam search in length-sorted batches."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from model.core.head_selection import head_masks
from model.core.hooks import capture
from model.core.interface import TranslationModel, TranslationTokenizer
from model.decoding.search import beam_search_batch, greedy_search
from model.decoding.translation import default_max_len, forced_language, sequence_ids


def translate_many(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    sentences: list[str],
    beam: int = 1,
    max_len: int | None = None,
    alpha: float = 0.6,
    batch_size: int = 64,
    ablate: Iterable[tuple[str, int, int]] = (),
) -> list[str]:
    """Translations of `sentences`, in order; an empty sentence gives an empty translation.

    `ablate` switches the given heads off throughout.
    """
    with capture(model, (), head_masks(model, ablate)):
        return _translate_many(model, tokenizer, sentences, beam, max_len, alpha, batch_size)


def _translate_many(model, tokenizer, sentences, beam, max_len, alpha, batch_size) -> list[str]:
    model_max = model.cfg.max_len
    encoded = [sequence_ids(model, tokenizer, s) if s.strip() else None for s in sentences]
    forced = forced_language(model, tokenizer)  # a multilingual model's target language code (the tokenizer's default)
    results = [""] * len(sentences)
    todo = sorted((i for i, e in enumerate(encoded) if e is not None), key=lambda i: len(encoded[i]))
    device = next(model.parameters()).device
    step = batch_size if beam <= 1 else max(1, batch_size // beam)  # beam search holds beam rows per sentence
    for start in range(0, len(todo), step):
        chunk = todo[start : start + step]
        src = pad_sources([encoded[i] for i in chunk], model.cfg.pad_id).to(device)
        if beam <= 1:
            limit = min(max_len or default_max_len(model, src.shape[1]), model_max)
            hyps = [h.ids for h in greedy_search(model, src, limit, forced=forced)]
        else:
            limits = [min(max_len or default_max_len(model, len(encoded[i])), model_max) for i in chunk]
            hyps = beam_search_batch(model, src, beam, limits, alpha, forced=forced)
        for i, ids in zip(chunk, hyps):
            results[i] = tokenizer.decode(ids)
    return results


def pad_sources(sources: list[list[int]], pad_id: int) -> torch.Tensor:
    width = max(len(s) for s in sources)
    out = torch.full((len(sources), width), pad_id, dtype=torch.long)
    for b, s in enumerate(sources):
        out[b, : len(s)] = torch.tensor(s)
    return out


def collate(
    pairs: list[tuple[list[int], list[int]]], pad_id: int, start_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(src [B, S], tgt_in [B, T] starting with the decoder's start symbol, tgt_out [B, T] ending with </s>), padded."""
    s_len = max(len(s) for s, _ in pairs)
    t_len = max(len(t) for _, t in pairs)
    src = torch.full((len(pairs), s_len), pad_id, dtype=torch.long)
    tgt_in = torch.full((len(pairs), t_len), pad_id, dtype=torch.long)
    tgt_out = torch.full((len(pairs), t_len), pad_id, dtype=torch.long)
    for b, (s, t) in enumerate(pairs):
        src[b, : len(s)] = torch.tensor(s)
        tgt_in[b, : len(t)] = torch.tensor([start_id] + t[:-1])
        tgt_out[b, : len(t)] = torch.tensor(t)
    return src, tgt_in, tgt_out
