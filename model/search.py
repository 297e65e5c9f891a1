"""Greedy and beam search over a `TranslationModel`, with its key/value cache.

Recording contract (what `model.tracing` relies on to assemble a trace from a `capture()` run):
- the encoder runs once, so each encoder hook records one tensor with batch row 0 (beam search
  encodes one source and expands it);
- each search step makes exactly one `decode_step` call, so the decoder and cross hooks record one
  tensor per step, in step order, each [rows, heads, 1, keys];
- row b of step t is batch item b (greedy) or beam b after the reordering of step t - 1 (beam);
- `Hypothesis.path[t]` is the row that holds the returned hypothesis at step t.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from model.interface import TranslationModel


@dataclass
class Hypothesis:
    ids: list[int]  # output pieces, ending with </s> unless cut at max_len
    score: float  # sum of log-probabilities
    path: list[int]  # the row (batch item or beam) of each step, to read that row's attention
    candidates: list[tuple[list[int], list[float]]] = field(default_factory=list)  # per step: top-k ids, probs


def topk(logp: Tensor, k: int) -> tuple[Tensor, Tensor]:
    values, ids = logp.topk(min(k, logp.shape[-1]), dim=-1)
    return ids, values.exp()


def unless_all_true(mask: Tensor) -> Tensor | None:
    """None for a mask that hides nothing (no padding), so decode steps skip masking altogether."""
    return None if bool(mask.all()) else mask


def never_generate(model: TranslationModel, logp: Tensor) -> Tensor:
    """<pad> is never a prediction (Marian's generate bans it too; ours never learnt it)."""
    logp[:, model.cfg.pad_id] = float("-inf")
    return logp


@torch.inference_mode()
def greedy_search(model: TranslationModel, src: Tensor, max_len: int, top_k: int = 0) -> list[Hypothesis]:
    """Pick the most probable next token at every step, for a batch of padded sources [batch, S]."""
    cfg = model.cfg
    batch = src.shape[0]
    memory, src_mask = model.encode(src)
    src_mask = unless_all_true(src_mask)
    cache = model.new_cache()
    token = torch.full((batch,), cfg.decoder_start_id, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    scores = torch.zeros(batch, device=src.device)
    steps, tops = [], []
    for step in range(max_len):
        logp = never_generate(model, model.decode_step(token, memory if step == 0 else None, src_mask, cache, step))
        best, token = logp.max(dim=-1)
        scores += torch.where(done, torch.zeros_like(best), best)
        token = torch.where(done, torch.full_like(token, cfg.pad_id), token)
        steps.append(token)
        if top_k:
            tops.append(topk(logp, top_k))
        done |= token == cfg.eos_id
        if bool(done.all()):
            break
    out = torch.stack(steps, dim=1).tolist()
    hyps = []
    for b, ids in enumerate(out):
        n = ids.index(cfg.eos_id) + 1 if cfg.eos_id in ids else len(ids)
        cands = [(tops[t][0][b].tolist(), tops[t][1][b].tolist()) for t in range(n)] if top_k else []
        hyps.append(Hypothesis(ids[:n], float(scores[b]), [b] * n, cands))
    return hyps


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length normalisation ((5 + |Y|) / 6)^alpha (Wu et al., 2016)."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.inference_mode()
def beam_search(
    model: TranslationModel, src: Tensor, beam_size: int, max_len: int, alpha: float = 0.6, top_k: int = 0
) -> Hypothesis:
    """Keep the `beam_size` best prefixes of one source [1, S]; return the best finished one."""
    cfg = model.cfg
    memory, src_mask = model.encode(src)
    memory, src_mask = memory.expand(beam_size, -1, -1), unless_all_true(src_mask.expand(beam_size, -1, -1, -1))
    cache = model.new_cache()
    tokens = torch.full((beam_size,), cfg.decoder_start_id, dtype=torch.long, device=src.device)
    beam_scores = torch.full((beam_size,), float("-inf"), device=src.device)
    beam_scores[0] = 0.0  # all beams start identical: expand only the first
    parents, chosen, tops = [], [], []
    finished: list[tuple[float, float, int, int, int]] = []  # (normalised, raw, step, beam, last token)
    for step in range(max_len):
        logp = never_generate(model, model.decode_step(tokens, memory if step == 0 else None, src_mask, cache, step))
        if top_k:
            tops.append(topk(logp, top_k))
        flat = (beam_scores[:, None] + logp).view(-1)
        scores, idx = flat.topk(2 * beam_size)
        vocab = logp.shape[-1]
        next_beams = []
        for rank, (score, i) in enumerate(zip(scores.tolist(), idx.tolist())):
            beam, tok = divmod(i, vocab)
            if score == float("-inf"):
                break
            if tok == cfg.eos_id:
                if rank < beam_size:  # an ending ranked below the beam would not have been kept (as in HF generate)
                    finished.append((score / length_penalty(step + 1, alpha), score, step, beam, tok))
            else:
                next_beams.append((score, beam, tok))
            if len(next_beams) == beam_size:
                break
        if len(finished) >= beam_size or not next_beams:
            break
        next_beams += [next_beams[-1]] * (beam_size - len(next_beams))  # pad with a copy, rarely needed
        order = torch.tensor([b for _, b, _ in next_beams], device=src.device)
        tokens = torch.tensor([t for _, _, t in next_beams], device=src.device)
        beam_scores = torch.tensor([s for s, _, _ in next_beams], device=src.device)
        parents.append(order.tolist())
        chosen.append(tokens.tolist())
        model.reorder_cache(cache, order)
    if not finished:  # cut at max_len: the alive beams are the candidates
        step = len(parents) - 1
        for b, score in enumerate(beam_scores.tolist()):
            finished.append((score / length_penalty(step + 1, alpha), score, step, parents[step][b], chosen[step][b]))
    _, raw, last_step, beam, last_token = max(finished, key=lambda f: f[0])
    path, ids = [beam], [last_token]
    for r in range(last_step, 0, -1):
        ids.append(chosen[r - 1][path[-1]])
        path.append(parents[r - 1][path[-1]])
    path.reverse(), ids.reverse()
    cands = [(tops[r][0][path[r]].tolist(), tops[r][1][path[r]].tolist()) for r in range(len(path))] if top_k else []
    return Hypothesis(ids, raw, path, cands)
