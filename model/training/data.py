"""Parallel text as token ids, and batching by token count (reading the files is model.core.text_files)."""

from __future__ import annotations

import random

from model.core.interface import TranslationTokenizer


def encode_pairs(
    tok: TranslationTokenizer, src: list[str], tgt: list[str], max_len: int
) -> list[tuple[list[int], list[int]]]:
    """Token ids of each pair (each side ending with </s>), dropping empty or over-long pairs."""
    pairs = []
    for s, t in zip(src, tgt):
        s_ids, t_ids = tok.encode(s), tok.encode_target(t)
        if s_ids and t_ids and len(s_ids) < max_len and len(t_ids) < max_len:
            pairs.append((s_ids + [tok.eos_id], t_ids + [tok.eos_id]))
    return pairs


def make_batches(pairs: list[tuple[list[int], list[int]]], max_tokens: int, seed: int | None) -> list[list[int]]:
    """Indices grouped by similar length so each batch holds about `max_tokens` tokens per side.

    With a seed, lengths are bucketed with random tie-breaking and the batch order is shuffled, both
    reproducibly, so a resumed run sees exactly the batches an uninterrupted run would.
    """
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    if seed is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    batches, current, longest = [], [], 0
    for i in order:
        length = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if current and max(longest, length) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        batches.append(current)
    if seed is not None:
        rng.shuffle(batches)
    return batches
