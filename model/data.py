"""Parallel text: reading (plain or gzip), and batching by token count."""
from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import torch

from model.interface import TranslationTokenizer


def read_lines(path: str | Path) -> list[str]:
    """One sentence per line; a trailing newline does not make an extra empty sentence."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").rstrip("\r") for line in f]


def sentence_key(text: str) -> str:
    """A sentence's words, case-folded, without punctuation: "Hello, how are you?" and "hello how are you" share one key
    (to tell whether a sentence is in a corpus however it is punctuated)."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def read_parallel(src_path: str | Path, tgt_path: str | Path) -> tuple[list[str], list[str]]:
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise ValueError(f"{src_path} has {len(src)} lines but {tgt_path} has {len(tgt)}")
    return src, tgt


def encode_pairs(tok: TranslationTokenizer, src: list[str], tgt: list[str], max_len: int) -> list[tuple[list[int], list[int]]]:
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


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int, start_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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


def pad_sources(sources: list[list[int]], pad_id: int) -> torch.Tensor:
    width = max(len(s) for s in sources)
    out = torch.full((len(sources), width), pad_id, dtype=torch.long)
    for b, s in enumerate(sources):
        out[b, : len(s)] = torch.tensor(s)
    return out
